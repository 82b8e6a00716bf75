# common.sh - shared by scripts/run, scripts/test and scripts/bench: what gale
# needs from Debian, and how it is built. Sourced, not run.

# Packages to build and run gale.
GALE_BUILD_PKGS="build-essential autoconf automake pkg-config libevent-dev libssl-dev
libconfig-dev libjansson-dev libpcre2-dev libsystemd-dev liblmdb-dev libhiredis-dev zlib1g-dev"
# Packages the tests need on top: CUnit, the clients they drive, clang for fuzzing.
GALE_TEST_PKGS="libcunit1-dev curl python3 openssl clang libclang-rt-14-dev procps testssl.sh redis-server python3-tornado chromium"

# Install the Debian packages that are missing (as root; with sudo otherwise).
gale_install_packages() {
    local missing=() p
    for p in $*; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "== installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Build in the source tree (where conf/gale.conf finds modules/hello.so).
gale_build_here() {
    [ -x ./configure ] || autoreconf -fi >/dev/null
    [ -f Makefile ] || ./configure -q "$@"
    make -s -j"$(nproc)"
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
    (cd "$dir" && autoreconf -fi >/dev/null && ./configure -q "$@" && make -s -j"$(nproc)")
}

# The JavaScript clients the tests drive (the ws package, playwright-core for
# Debian's chromium), from the npm registry into tests/node/node_modules, as
# package-lock.json pins them. Node.js itself from Debian when it is missing.
gale_node_deps() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        gale_install_packages nodejs npm || return 1
    fi
    [ -d tests/node/node_modules/ws ] && [ -d tests/node/node_modules/playwright-core ] && return 0
    echo "== npm ci (tests/node)"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
