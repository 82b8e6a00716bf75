#!/usr/bin/env python3
"""07-config-check: the command line (-v, -h, bad options) and `gale -t -c FILE`
on valid and broken configs: every error is printed to stderr as
FILE:LINE: what was expected, and the exit status is 1."""

import os
import re
import shutil
import socket
import tempfile

from galetest import check, eq, free_port, hello_so, lc_str, main, module_path, run_gale


def base_lines(port=None, module=None, handler2="greet", extra_top=(), extra_limits=()):
    """A valid config as a list of lines; line numbers are index + 1."""
    port = port or free_port()
    lines = [
        "workers = 1;",                                              # 1
        'error_log = "stderr";',                                     # 2
        'log_level = "info";',                                       # 3
        "listen = (",                                                # 4
        '  { address = "127.0.0.1"; port = %d; }' % port,            # 5
        ");",                                                        # 6
        "limits = {",                                                # 7
        "  max_header_size = 16384;",                                # 8
        "  idle_timeout = 60.0;",                                    # 9
        "};",                                                        # 10
        "modules = (",                                               # 11
        "  { path = %s;" % lc_str(module or hello_so()),            # 12
        '    settings = { greeting = "hi"; };',                      # 13
        "    routes = (",                                            # 14
        '      { path = "/"; handler = "hello"; },',                 # 15
        '      { path = "/greet/([a-z]+)"; handler = %s; }' % lc_str(handler2),  # 16
        "    );",                                                    # 17
        "  }",                                                       # 18
        ");",                                                        # 19
    ]
    return lines


class Conf:
    def __init__(self, lines):
        self.dir = tempfile.mkdtemp(prefix="gale-conf-")
        self.path = os.path.join(self.dir, "gale.conf")
        with open(self.path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def check_conf(lines):
    with Conf(lines) as c:
        return c.path, run_gale(["-t", "-c", c.path])


def expect_error(lines, line, *mentions, what=""):
    """gale -t exits 1 and stderr has FILE:LINE: and each of mentions."""
    path, p = check_conf(lines)
    what = what or "config error at line %d" % line
    eq(p.returncode, 1, "%s: exit status of gale -t (stderr %r)" % (what, p.stderr))
    where = "%s:%d:" % (path, line)
    check(where in p.stderr, "%s: stderr does not name %r:\n%s" % (what, where, p.stderr))
    for m in mentions:
        ms = m if isinstance(m, tuple) else (m,)
        check(any(x.lower() in p.stderr.lower() for x in ms),
              "%s: stderr does not mention %s:\n%s" % (what, " or ".join(map(repr, ms)), p.stderr))
    return p


def replace(lines, i, text):
    out = list(lines)
    out[i - 1] = text
    return out


def insert(lines, i, text):
    """Insert text so that it becomes line i."""
    out = list(lines)
    out.insert(i - 1, text)
    return out


# ------------------------------------------------------------------ command line


def test_version():
    p = run_gale(["-v"])
    eq(p.returncode, 0, "gale -v exit status (stderr %r)" % p.stderr)
    out = p.stdout + p.stderr
    check(re.search(r"\bgale \d+\.\d+\.\d+", out), "gale -v printed %r" % out)


def test_help():
    p = run_gale(["-h"])
    eq(p.returncode, 0, "gale -h exit status (stderr %r)" % p.stderr)
    out = p.stdout + p.stderr
    check("usage" in out.lower(), "gale -h printed no usage: %r" % out)
    check("-c" in out and "-t" in out, "usage does not mention -c and -t: %r" % out)


def test_unknown_option():
    for args in (["-Z"], ["--no-such-option"]):
        p = run_gale(args)
        check(p.returncode in (1, 2), "gale %s: exit status %d, expected 2 (or 1)"
              % (args[0], p.returncode))
        check("usage" in p.stderr.lower(), "gale %s: no usage on stderr: %r" % (args[0], p.stderr))


def test_missing_option_argument():
    p = run_gale(["-c"])
    check(p.returncode in (1, 2), "gale -c without a file: exit status %d" % p.returncode)
    check(p.stderr.strip(), "gale -c without a file: nothing on stderr")


# ------------------------------------------------------------------ gale -t


def test_check_valid():
    path, p = check_conf(base_lines())
    eq(p.returncode, 0, "gale -t on a valid config (stderr %r)" % p.stderr)


def test_check_does_not_bind():
    """-t runs next to a live server: the port in use is no error, and -t
    leaves nothing listening."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        path, p = check_conf(base_lines(port=port))
        eq(p.returncode, 0, "gale -t with its port in use (stderr %r)" % p.stderr)
    finally:
        s.close()
    port = free_port()
    path, p = check_conf(base_lines(port=port))
    eq(p.returncode, 0, "gale -t (stderr %r)" % p.stderr)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))  # fails if -t left something bound
    finally:
        s.close()


def test_check_missing_file():
    p = run_gale(["-t", "-c", "/nonexistent/gale/gale.conf"])
    eq(p.returncode, 1, "gale -t on a missing file")
    check("/nonexistent/gale/gale.conf" in p.stderr, "error does not name the file: %r" % p.stderr)


def test_check_syntax_error():
    expect_error(replace(base_lines(), 3, 'log_level = = "info";'), 3, what="syntax error")


def test_check_unknown_setting():
    expect_error(insert(base_lines(), 4, "no_such_setting = 5;"), 4, "no_such_setting",
                 what="unknown top-level setting")


def test_check_unknown_limit():
    expect_error(replace(base_lines(), 9, "  no_such_limit = 3;"), 9, "no_such_limit",
                 what="unknown setting in limits")


def test_check_unknown_listen_setting():
    lines = replace(base_lines(), 5, '  { address = "127.0.0.1"; port = 8080; colour = "red"; }')
    expect_error(lines, 5, "colour", what="unknown setting in a listen entry")


def test_check_unknown_route_setting():
    lines = replace(base_lines(), 15, '      { path = "/"; handler = "hello"; verb = "GET"; },')
    expect_error(lines, 15, "verb", what="unknown setting in a route")


def test_check_bad_port():
    for bad in ("70000", "0", "-1", '"80"'):
        lines = replace(base_lines(), 5, '  { address = "127.0.0.1"; port = %s; }' % bad)
        expect_error(lines, 5, "port", what="port = %s" % bad)


def test_check_bad_address():
    lines = replace(base_lines(), 5, '  { address = "localhost.invalid"; port = 8080; }')
    expect_error(lines, 5, "address", what="non-numeric address")


def test_check_bad_workers():
    for bad in ("0", "-2", '"many"', "2.5"):
        expect_error(replace(base_lines(), 1, "workers = %s;" % bad), 1, "workers",
                     what="workers = %s" % bad)


def test_check_bad_log_level():
    expect_error(replace(base_lines(), 3, 'log_level = "loud";'), 3, "log_level",
                 what="log_level = loud")


def test_check_bad_limit_type():
    expect_error(replace(base_lines(), 8, '  max_header_size = "big";'), 8, "max_header_size",
                 what="string for a size")
    expect_error(replace(base_lines(), 9, "  idle_timeout = -1.0;"), 9, "idle_timeout",
                 what="negative timeout")


def test_check_missing_module_file():
    lines = base_lines(module="/nonexistent/gale/nothere.so")
    expect_error(lines, 12, "/nonexistent/gale/nothere.so", what="missing module file")


def test_check_module_bad_abi():
    so = module_path("badabi")
    expect_error(base_lines(module=so), 12, so, "built for module API 1", "rebuild",
                 what="module built for API 1")


def test_check_module_without_descriptor():
    so = module_path("nodesc")
    expect_error(base_lines(module=so), 12, so, what="module without gale_module_entry")


def test_check_module_not_a_shared_object():
    with Conf([]) as c:
        bogus = os.path.join(c.dir, "bogus.so")
        with open(bogus, "w") as f:
            f.write("not an ELF file\n")
        expect_error(base_lines(module=bogus), 12, bogus, what="module that is not an ELF file")


def test_check_unknown_handler():
    expect_error(base_lines(handler2="nosuchhandler"), 16, "nosuchhandler",
                 what="route naming a handler hello.so lacks")


def test_check_bad_route_regex():
    lines = replace(base_lines(), 15, '      { path = "/([a-z"; handler = "hello"; },')
    expect_error(lines, 15, what="route with a broken regular expression")


def test_check_every_error_reported():
    """Three independent errors in the settings: each is printed. (Module
    errors are checked once the settings are valid, so they are not mixed in.)"""
    lines = replace(base_lines(), 1, "workers = 0;")
    lines = replace(lines, 3, 'log_level = "loud";')
    lines = replace(lines, 5, '  { address = "127.0.0.1"; port = 70000; }')
    path, p = check_conf(lines)
    eq(p.returncode, 1, "exit status")
    for line in (1, 3, 5):
        check("%s:%d:" % (path, line) in p.stderr,
              "error at line %d missing from:\n%s" % (line, p.stderr))


def test_check_relative_module_path():
    """A relative module path is resolved against the config's folder."""
    with Conf([]) as c:
        shutil.copy(hello_so(), os.path.join(c.dir, "copy.so"))
        path = os.path.join(c.dir, "gale.conf")
        with open(path, "w") as f:
            f.write("\n".join(base_lines(module="copy.so")) + "\n")
        p = run_gale(["-t", "-c", path])
        eq(p.returncode, 0, "gale -t with module path relative to the config (stderr %r)"
           % p.stderr)


def test_run_with_invalid_config_exits():
    """gale -c BROKEN (not -t) prints the error and exits 1 instead of serving."""
    lines = insert(base_lines(), 4, "no_such_setting = 5;")
    with Conf(lines) as c:
        p = run_gale(["-c", c.path], timeout=15)
        eq(p.returncode, 1, "gale -c on a broken config (stderr %r)" % p.stderr)
        check("%s:4:" % c.path in p.stderr, "error does not name %s:4:\n%s" % (c.path, p.stderr))


if __name__ == "__main__":
    main()
