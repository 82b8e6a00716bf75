# common.sh - shared by scripts/run, scripts/test and scripts/bench: what gale
# needs from Debian, and how it is built. Sourced, not run.

# Packages to build and run gale.
GALE_BUILD_PKGS="build-essential autoconf automake pkg-config libevent-dev libssl-dev
libconfig-dev libjansson-dev libpcre2-dev libsystemd-dev liblmdb-dev libhiredis-dev zlib1g-dev
libbrotli-dev libcurl4-openssl-dev libnghttp2-dev"
# What scripts/run installs on top: php-cgi runs the PHP demo page (/php/).
GALE_RUN_PKGS="php-cgi"
# Packages scripts/deb needs on top of the build's to make the Debian packages.
GALE_DEB_PKGS="debhelper dpkg-dev fakeroot lintian"
# Packages the tests need on top: CUnit, the clients they drive, clang for fuzzing,
# clang-format for tests/source/format.py.
GALE_TEST_PKGS="libcunit1-dev curl python3 openssl clang clang-format libclang-rt-14-dev procps testssl.sh redis-server python3-tornado chromium gettext python3-brotli python3-html5lib php-cgi php-fpm nghttp2-client python3-h2 python3-cryptography"

# Install the Debian packages that are missing (as root; with sudo otherwise).
# apt's own output goes to a log shown only when it fails; what is shown is a
# line per phase and a count as packages are set up, so that a newcomer can
# tell it is working.
gale_install_packages() {
    local missing=() p
    for p in $*; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local SUDO="" log
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log=$(mktemp)
    echo "== installing ${#missing[@]} Debian packages: ${missing[*]}"
    echo "   apt-get update"
    if ! $SUDO apt-get update -q >"$log" 2>&1; then
        tail -20 "$log"; rm -f "$log"
        echo "apt-get update failed: check the network and /etc/apt/sources.list" >&2
        return 1
    fi
    echo "   apt-get install (a few minutes on a new machine)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" 2>&1 | tee "$log" |
        awk '/newly installed/ { for (i = 2; i <= NF; i++) if ($i == "upgraded," || $i == "newly") total += $(i - 1) }
             /^Get:/ && !got { got = 1; print "   downloading"; fflush() }
             /^Setting up / { n++; if (n % 40 == 0) { printf "   %d of %d set up\n", n, total; fflush() } }
             END { if (n) printf "   %d set up\n", n }'
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { tail -20 "$log"; echo "apt-get install failed (above)" >&2; }
    rm -f "$log"
    return "$rc"
}

# The arm64 cross build (a Raspberry Pi's architecture): Debian's cross
# compiler, qemu-user to run the unit tests, and the arm64 build of every
# library gale links (multiarch: they sit beside the machine's own). All but
# libevent-dev: Debian 12's cannot sit beside the machine's (its
# event-config.h is in /usr/include), and installing it would remove the
# native one; its arm64 runtime libraries are installed, and
# gale_cross_libevent unpacks its headers into a folder of the build.
GALE_CROSS_ARCH=arm64
GALE_CROSS_HOST=aarch64-linux-gnu
gale_cross_packages() {
    local p a=$GALE_CROSS_ARCH
    local pkgs="crossbuild-essential-$a qemu-user libcunit1-dev:$a libevent-2.1-7:$a"
    pkgs="$pkgs libevent-openssl-2.1-7:$a"
    for p in $GALE_BUILD_PKGS; do
        case $p in libevent-dev) ;; lib*-dev | zlib1g-dev) pkgs="$pkgs $p:$a" ;; esac
    done
    if ! dpkg --print-foreign-architectures | grep -qx "$GALE_CROSS_ARCH"; then
        local SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO dpkg --add-architecture "$GALE_CROSS_ARCH" || return 1
    fi
    # shellcheck disable=SC2086 # one argument per package
    gale_install_packages $pkgs
}

# Unpack the arm64 libevent-dev into DIR and print the configure variables
# that use its headers with the installed arm64 libraries.
gale_cross_libevent() {
    local dir=$1 lib=/usr/lib/$GALE_CROSS_HOST
    rm -rf "$dir" && mkdir -p "$dir" &&
        (cd "$dir" && apt-get download -q "libevent-dev:$GALE_CROSS_ARCH" >/dev/null) &&
        dpkg-deb -x "$dir"/libevent-dev_*.deb "$dir/root" || return 1
    echo "LIBEVENT_CFLAGS=-I$dir/root/usr/include"
    echo "LIBEVENT_LIBS=$lib/libevent-2.1.so.7 $lib/libevent_openssl-2.1.so.7"
}

# autoreconf prints what it installs (build-aux/compile, ...) on stderr at
# every run; that is not an error, so its output is shown only on failure.
gale_autoreconf() {
    local out
    out=$(autoreconf -fi 2>&1) || { echo "$out" >&2; return 1; }
}

# Build in the source tree (where conf/gale.conf finds modules/hello.so),
# configured with the arguments given (scripts/test: --enable-werror). A tree
# configured before without one of them, or before a library configure looks
# for was installed (scripts/run configures before scripts/test installs
# CUnit: the unit tests would be left out unseen), is configured again,
# keeping the arguments it had, and rebuilt whole (make does not see changed
# flags), so that a build made by scripts/run is not taken as it is.
gale_build_here() {
    [ -x ./configure ] || gale_autoreconf || return 1
    if [ ! -f Makefile ] || ! gale_configured_with "$@"; then
        local had=()
        [ -x ./config.status ] && eval "had=($(./config.status --config))"
        ./configure -q "${had[@]}" "$@" || return 1
        make -s clean >/dev/null
    fi
    gale_make
}

# Whether ./config.status was made by a configure given every argument, and
# after the libraries it looks for were installed.
gale_configured_with() {
    local had=() a h found
    [ -x ./config.status ] || return 1
    grep -q '^HAVE_CUNIT_TRUE = #' Makefile 2>/dev/null && pkg-config --exists cunit && return 1
    eval "had=($(./config.status --config))"
    for a in "$@"; do
        found=no
        for h in "${had[@]}"; do [ "$h" = "$a" ] && found=yes; done
        [ "$found" = yes ] || return 1
    done
}

# make, showing what matters (warnings, errors) but not a line per file.
gale_make() {
    make -s -j"$(nproc)" "$@" 2>&1 | awk '!/^  (CC|CCLD|GEN|AR) /'
    return "${PIPESTATUS[0]}"
}

# A copy of the sources in folder $1 (the work tree as it is, not ignored
# files), built there with the configure arguments that follow. Automake
# refuses a second build directory beside an in-tree build, hence the copy.
gale_build_copy() {
    local dir="$1"
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && echo "$f"; done |
            tar -cf - -T - | tar -xf - -C "$dir"
    else
        tar --exclude=./build -cf - . | tar -xf - -C "$dir"
    fi
    (cd "$dir" && gale_autoreconf && ./configure -q "$@" && gale_make)
}

# The JavaScript clients the tests drive (the ws package, playwright-core for
# Debian's chromium), from the npm registry into tests/node/node_modules, as
# package-lock.json pins them. Node.js itself from Debian when it is missing.
# Every package the lock pins must accept the node that will run it (its
# `engines`): checked first, so that a pin too new for this machine's node (as
# playwright-core 1.65 for Debian 12's node 18) stops here with the fix named,
# not later in a browser test. npm ci runs with --engine-strict for the same
# reason, and with its warnings shown.
gale_node_deps() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        gale_install_packages nodejs npm || return 1
    fi
    local v lock=tests/node/package-lock.json stamp=tests/node/node_modules/.gale-lock
    v=$(node --version)
    if ! python3 scripts/lib/check_engines.py "$lock" "$v"; then
        echo "$lock pins packages that do not run on node $v ($(command -v node))." >&2
        echo "Pin versions that accept it in tests/node/package.json, then run" >&2
        echo "'npm install --package-lock-only' in tests/node; or install a newer Node.js." >&2
        return 1
    fi
    cmp -s "$lock" "$stamp" && return 0
    echo "== npm ci (tests/node: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["packages"]; print(", ".join("%s %s" % (k.rsplit("/",1)[-1], v["version"]) for k, v in sorted(d.items()) if k))' "$lock"); node $v)"
    (cd tests/node && npm ci --no-audit --no-fund --engine-strict) || {
        echo "npm ci failed in tests/node (above): check that registry.npmjs.org is reachable" >&2
        return 1
    }
    cp "$lock" "$stamp"
}
