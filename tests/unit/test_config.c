/*
 * test_config.c - unit tests of src/config.c: every setting read, every
 * default, the JSON of module settings, and each class of error with its
 * "FILE:LINE: where: what" message.
 */
#include <CUnit/Basic.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By its path: the build puts autoconf's own config.h first in the
 * include path, and this file is not in src/. */
#include "core/config.h"
#include "daemon/settings.h"
#include "pubsub/pubsub_settings.h"
#include "ws/ws_settings.h"

#define NAME "t.conf"
#define DIR "/etc/gale"

/* The smallest valid config, to append a setting under test to. */
#define LISTEN "listen = ( { port = 8080; } );\n"

static struct config *load(const char *text)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(text, NAME, DIR, &errors);

    if (cfg == NULL)
        fprintf(stderr, "\nunexpected errors:\n%s", errors ? errors : "(none)\n");
    CU_ASSERT_PTR_NULL(errors);
    free(errors);
    return cfg;
}

/* Load text that must fail; returns the error text (caller frees). */
static char *fail(const char *text)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(text, NAME, DIR, &errors);

    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(errors);
    config_free(cfg);
    return errors ? errors : strdup("");
}

static size_t count_lines(const char *text)
{
    size_t n = 0;

    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* The config fails with exactly one error, the line `want` (no newline). */
static void expect_error(const char *text, const char *want)
{
    char *errors = fail(text);
    size_t len = strlen(errors);
    int ok = count_lines(errors) == 1 && len > 0 && strncmp(errors, want, len - 1) == 0 &&
             strlen(want) == len - 1;

    if (!ok)
        fprintf(stderr, "\nwanted: %s\ngot:    %s", want, errors);
    CU_ASSERT(ok);
    free(errors);
}

/* ---- valid configs ---- */

static const char full[] =
    "workers = 3;\n"
    "user = \"nobody\"; group = \"nogroup\";\n"
    "pid_file = \"/run/gale.pid\";\n"
    "error_log = \"/var/log/gale/error.log\"; log_level = \"debug\";\n"
    "access_log = \"off\";\n"
    "server_header = \"gale/test\";\n"
    "grace_period = 12.5;\n"
    "listen = ( { address = \"0.0.0.0\"; port = 8888; backlog = 128; },\n"
    "           { address = \"::1\"; port = 8889; } );\n"
    "limits = { max_header_size = 4096; max_uri_size = 2048; max_headers = 50;\n"
    "           max_body_size = 1048576; header_timeout = 5; body_timeout = 6.5;\n"
    "           idle_timeout = 7; send_timeout = 8.25; keepalive_requests = 100;\n"
    "           max_connections = 500; };\n"
    "modules = (\n"
    "  { path = \"modules/hello.so\";\n"
    "    settings = { greeting = \"Hello, world\"; };\n"
    "    routes = ( { path = \"/\"; handler = \"hello\"; },\n"
    "               { path = \"/greet/([a-z]+)\"; handler = \"greet\"; name = \"greet\"; } ); },\n"
    "  { path = \"/opt/gale/other.so\"; } );\n";

static void test_full(void)
{
    struct config *cfg = load(full);
    const struct config_limits *l;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->file, NAME);
    CU_ASSERT_STRING_EQUAL(cfg->dir, DIR);
    CU_ASSERT_EQUAL(cfg->workers, 3);
    CU_ASSERT_STRING_EQUAL(cfg->user, "nobody");
    CU_ASSERT_STRING_EQUAL(cfg->group, "nogroup");
    CU_ASSERT_STRING_EQUAL(cfg->pid_file, "/run/gale.pid");
    CU_ASSERT_STRING_EQUAL(cfg->error_log, "/var/log/gale/error.log");
    CU_ASSERT_EQUAL(cfg->log_level, CONFIG_LOG_DEBUG);
    CU_ASSERT_STRING_EQUAL(cfg->access_log, "off");
    CU_ASSERT_STRING_EQUAL(cfg->server_header, "gale/test");
    CU_ASSERT_DOUBLE_EQUAL(cfg->grace_period, 12.5, 1e-9);

    CU_ASSERT_EQUAL_FATAL(cfg->nlistens, 2);
    CU_ASSERT_STRING_EQUAL(cfg->listens[0].address, "0.0.0.0");
    CU_ASSERT_EQUAL(cfg->listens[0].port, 8888);
    CU_ASSERT_EQUAL(cfg->listens[0].backlog, 128);
    CU_ASSERT_EQUAL(cfg->listens[0].line, 8);
    CU_ASSERT_STRING_EQUAL(cfg->listens[1].address, "::1");
    CU_ASSERT_EQUAL(cfg->listens[1].port, 8889);
    CU_ASSERT_EQUAL(cfg->listens[1].backlog, 511);
    CU_ASSERT_EQUAL(cfg->listens[1].line, 9);

    l = &cfg->limits;
    CU_ASSERT_EQUAL(l->max_header_size, 4096);
    CU_ASSERT_EQUAL(l->max_uri_size, 2048);
    CU_ASSERT_EQUAL(l->max_headers, 50);
    CU_ASSERT_EQUAL(l->max_body_size, 1048576);
    CU_ASSERT_DOUBLE_EQUAL(l->header_timeout, 5.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->body_timeout, 6.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->idle_timeout, 7.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->send_timeout, 8.25, 1e-9);
    CU_ASSERT_EQUAL(l->keepalive_requests, 100);
    CU_ASSERT_EQUAL(l->max_connections, 500);

    CU_ASSERT_EQUAL_FATAL(cfg->nmodules, 2);
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].path, DIR "/modules/hello.so");
    CU_ASSERT_EQUAL(cfg->modules[0].line, 15);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cfg->modules[0].settings, "greeting")),
                           "Hello, world");
    CU_ASSERT_EQUAL_FATAL(cfg->modules[0].nroutes, 2);
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].routes[0].path, "/");
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].routes[0].handler, "hello");
    CU_ASSERT_PTR_NULL(cfg->modules[0].routes[0].name);
    CU_ASSERT_EQUAL(cfg->modules[0].routes[0].line, 17);
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].routes[1].path, "/greet/([a-z]+)");
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].routes[1].handler, "greet");
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].routes[1].name, "greet");
    CU_ASSERT_EQUAL(cfg->modules[0].routes[1].line, 18);

    CU_ASSERT_STRING_EQUAL(cfg->modules[1].path, "/opt/gale/other.so");
    CU_ASSERT(json_is_object(cfg->modules[1].settings));
    CU_ASSERT_EQUAL(json_object_size(cfg->modules[1].settings), 0);
    CU_ASSERT_EQUAL(cfg->modules[1].nroutes, 0);
    CU_ASSERT_PTR_NULL(cfg->modules[1].routes);
    config_free(cfg);
}

static void test_defaults(void)
{
    struct config *cfg = load(LISTEN);
    const struct config_limits *l;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->workers, cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus);
    CU_ASSERT_PTR_NULL(cfg->user);
    CU_ASSERT_PTR_NULL(cfg->group);
    CU_ASSERT_PTR_NULL(cfg->pid_file);
    CU_ASSERT_STRING_EQUAL(cfg->error_log, "stderr");
    CU_ASSERT_EQUAL(cfg->log_level, CONFIG_LOG_INFO);
    CU_ASSERT_STRING_EQUAL(cfg->access_log, "stderr");
    CU_ASSERT_STRING_EQUAL(cfg->server_header, "gale");
    CU_ASSERT_DOUBLE_EQUAL(cfg->grace_period, 30.0, 1e-9);
    CU_ASSERT_EQUAL_FATAL(cfg->nlistens, 1);
    CU_ASSERT_STRING_EQUAL(cfg->listens[0].address, "0.0.0.0");
    CU_ASSERT_EQUAL(cfg->listens[0].port, 8080);
    CU_ASSERT_EQUAL(cfg->listens[0].backlog, 511);
    CU_ASSERT_EQUAL(cfg->listens[0].line, 1);
    l = &cfg->limits;
    CU_ASSERT_EQUAL(l->max_header_size, 16384);
    CU_ASSERT_EQUAL(l->max_uri_size, 8192);
    CU_ASSERT_EQUAL(l->max_headers, 100);
    CU_ASSERT_EQUAL(l->max_body_size, 10485760);
    CU_ASSERT_DOUBLE_EQUAL(l->header_timeout, 10.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->body_timeout, 30.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->idle_timeout, 60.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(l->send_timeout, 30.0, 1e-9);
    CU_ASSERT_EQUAL(l->keepalive_requests, 0);
    CU_ASSERT_EQUAL(l->max_connections, 10000);
    CU_ASSERT_EQUAL(cfg->nmodules, 0);
    CU_ASSERT_PTR_NULL(cfg->modules);
    config_free(cfg);

    /* An empty limits group is all defaults too; empty module lists are fine. */
    cfg = load(LISTEN "limits = {};\nmodules = ();\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->limits.max_headers, 100);
    CU_ASSERT_EQUAL(cfg->nmodules, 0);
    config_free(cfg);
    cfg = load(LISTEN "modules = [];\n");
    CU_ASSERT_PTR_NOT_NULL(cfg);
    config_free(cfg);
}

static void test_workers(void)
{
    struct config *cfg = load(LISTEN "workers = \"auto\";\n");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->workers, cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus);
    config_free(cfg);
    cfg = load(LISTEN "workers = 1024;\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->workers, 1024);
    config_free(cfg);
    cfg = load(LISTEN "workers = 1L;\n"); /* a 64-bit literal is still an integer */
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->workers, 1);
    config_free(cfg);
}

static void test_paths(void)
{
    struct config *cfg;

    cfg = load(LISTEN "pid_file = \"run/gale.pid\";\n"
                      "error_log = \"stderr\"; access_log = \"logs/access.log\";\n"
                      "modules = ( { path = \"../modules/hello.so\"; },\n"
                      "            { path = \"/abs/x.so\"; } );\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->pid_file, DIR "/run/gale.pid");
    CU_ASSERT_STRING_EQUAL(cfg->error_log, "stderr");
    CU_ASSERT_STRING_EQUAL(cfg->access_log, DIR "/logs/access.log");
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].path, DIR "/../modules/hello.so");
    CU_ASSERT_STRING_EQUAL(cfg->modules[1].path, "/abs/x.so");
    config_free(cfg);

    /* A folder given with its slash does not double it. */
    cfg =
        config_load_string(LISTEN "modules = ( { path = \"m.so\"; } );", NAME, "/x/", &(char *){0});
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].path, "/x/m.so");
    config_free(cfg);
}

static void test_settings_json(void)
{
    struct config *cfg = load(
        LISTEN
        "modules = ( { path = \"m.so\"; settings = {\n"
        "  i = 42; big = 9000000000L; hex = 0x10; neg = -7;\n"
        "  f = 0.5; g = -1e3; yes = true; no = false;\n"
        "  s = \"text\"; empty = \"\";\n"
        "  nested = { inner = { deep = 1; }; list = ( 1, \"two\", { three = 3; }, [ 4, 5 ] ); };\n"
        "  array = [ 1.5, 2.5 ]; nothing = ( ); none = [ ]; group = { };\n"
        "}; } );\n");
    json_t *want, *got;
    json_error_t jerr;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    got = cfg->modules[0].settings;
    want = json_loads("{\"i\": 42, \"big\": 9000000000, \"hex\": 16, \"neg\": -7,"
                      " \"f\": 0.5, \"g\": -1000.0, \"yes\": true, \"no\": false,"
                      " \"s\": \"text\", \"empty\": \"\","
                      " \"nested\": {\"inner\": {\"deep\": 1},"
                      "   \"list\": [1, \"two\", {\"three\": 3}, [4, 5]]},"
                      " \"array\": [1.5, 2.5], \"nothing\": [], \"none\": [], \"group\": {}}",
                      0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(json_equal(want, got));
    /* Types, not only values: integers stay integers (int64), floats reals. */
    CU_ASSERT(json_is_integer(json_object_get(got, "i")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(got, "big")), 9000000000LL);
    CU_ASSERT(json_is_real(json_object_get(got, "g")));
    CU_ASSERT(json_is_true(json_object_get(got, "yes")));
    CU_ASSERT(json_is_false(json_object_get(got, "no")));
    CU_ASSERT(json_is_array(json_object_get(got, "nothing")));
    json_decref(want);
    config_free(cfg);
}

/* ---- errors, one class at a time ---- */

static void test_unknown_settings(void)
{
    expect_error(LISTEN "wokers = 4;", "t.conf:2: unknown setting 'wokers'");
    expect_error("listen = ( { port = 80; tsl = { }; } );",
                 "t.conf:1: listen[0]: unknown setting 'tsl'");
    expect_error("listen = ( { port = 80; tls = { }; } );",
                 "t.conf:1: listen[0].tls: expected certificate and key (PEM files)");
    expect_error("listen = ( { port = 80; tls = { certificate = \"c\"; key = \"k\";\n"
                 " verify_client = \"require\"; }; } );",
                 "t.conf:1: listen[0].tls: verify_client needs client_ca (the CAs to verify "
                 "against)");
    expect_error("listen = ( { port = 80; tls = { certificate = \"c\"; key = \"k\";\n"
                 " session_tickets = 1; }; } );",
                 "t.conf:2: listen[0].tls.session_tickets: expected true or false");
    expect_error(LISTEN "limits = {\n max_header = 10; };",
                 "t.conf:3: limits: unknown setting 'max_header'");
    expect_error(LISTEN "modules = ( { path = \"m.so\";\n handlers = 1; } );",
                 "t.conf:3: modules[0]: unknown setting 'handlers'");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        " { path = \"/\"; handler = \"h\"; method = \"GET\"; } ); } );",
                 "t.conf:3: modules[0].routes[0]: unknown setting 'method'");
}

static void test_wrong_types(void)
{
    expect_error("listen = ( { port = \"80\"; } );",
                 "t.conf:1: listen[0].port: expected an integer from 1 to 65535");
    expect_error("listen = ( { port = 80.0; } );",
                 "t.conf:1: listen[0].port: expected an integer from 1 to 65535");
    expect_error(LISTEN "workers = 2.5;",
                 "t.conf:2: workers: expected a number from 1 to 1024 or \"auto\"");
    expect_error(LISTEN "workers = \"many\";",
                 "t.conf:2: workers: expected a number from 1 to 1024 or \"auto\"");
    expect_error(LISTEN "log_level = 3;",
                 "t.conf:2: log_level: expected one of \"error\", \"warn\", \"info\", \"debug\"");
    expect_error(LISTEN "log_level = \"verbose\";",
                 "t.conf:2: log_level: expected one of \"error\", \"warn\", \"info\", \"debug\"");
    expect_error(LISTEN "user = 0;", "t.conf:2: user: expected a non-empty string");
    expect_error(LISTEN "user = \"\";", "t.conf:2: user: expected a non-empty string");
    expect_error(LISTEN "server_header = \"gale\\r\\nX-Evil: 1\";",
                 "t.conf:2: server_header: expected a string without control characters");
    expect_error(LISTEN "limits = 5;", "t.conf:2: limits: expected a group { name = value; ... }");
    expect_error(
        LISTEN "limits = { header_timeout = \"10s\"; };",
        "t.conf:2: limits.header_timeout: expected a number of seconds from 0.001 to 86400");
    expect_error(LISTEN "limits = { max_headers = true; };",
                 "t.conf:2: limits.max_headers: expected an integer from 1 to 10000");
    expect_error("listen = { port = 80; };",
                 "t.conf:1: listen: expected a list ( { ... }, { ... } )");
    expect_error("listen = ( 80 );", "t.conf:1: listen[0]: expected a group { name = value; ... }");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = ( 1 ); } );",
                 "t.conf:2: modules[0].settings: expected a group { name = value; ... }");
    expect_error(LISTEN "modules = ( { path = 5; } );",
                 "t.conf:2: modules[0].path: expected a non-empty string");
}

static void test_out_of_range(void)
{
    expect_error("listen = ( { port = 0; } );",
                 "t.conf:1: listen[0].port: expected an integer from 1 to 65535");
    expect_error("listen = ( { port = 65536; } );",
                 "t.conf:1: listen[0].port: expected an integer from 1 to 65535");
    expect_error("listen = ( { port = 80; backlog = 0; } );",
                 "t.conf:1: listen[0].backlog: expected an integer from 1 to 65535");
    expect_error(LISTEN "workers = 0;",
                 "t.conf:2: workers: expected a number from 1 to 1024 or \"auto\"");
    expect_error(LISTEN "workers = 1025;",
                 "t.conf:2: workers: expected a number from 1 to 1024 or \"auto\"");
    expect_error(LISTEN "workers = 4294967297L;",
                 "t.conf:2: workers: expected a number from 1 to 1024 or \"auto\"");
    expect_error(LISTEN "limits = { max_header_size = 0; };",
                 "t.conf:2: limits.max_header_size: expected a size in bytes from 1 to 1048576");
    expect_error(LISTEN "limits = { max_body_size = -1; };",
                 "t.conf:2: limits.max_body_size: expected a size in bytes from 1 to "
                 "1099511627776");
    expect_error(LISTEN "limits = { idle_timeout = 0; };",
                 "t.conf:2: limits.idle_timeout: expected a number of seconds from 0.001 to 86400");
    expect_error(LISTEN "limits = { send_timeout = 86400.5; };",
                 "t.conf:2: limits.send_timeout: expected a number of seconds from 0.001 to 86400");
    expect_error(LISTEN "limits = { keepalive_requests = -1; };",
                 "t.conf:2: limits.keepalive_requests: expected an integer from 0 to 4294967295");
    expect_error(LISTEN "limits = { max_connections = 1000001; };",
                 "t.conf:2: limits.max_connections: expected an integer from 1 to 1000000");
    expect_error(LISTEN "grace_period = -1;",
                 "t.conf:2: grace_period: expected a number of seconds from 0 to 86400");
    expect_error("listen = ( );", "t.conf:1: listen: expected at least 1 entry");
}

static void test_listen_errors(void)
{
    expect_error("listen = ( { address = \"localhost\"; port = 80; } );",
                 "t.conf:1: listen[0].address: expected a numeric IPv4 or IPv6 address such as "
                 "\"0.0.0.0\", \"127.0.0.1\", \"::\" or \"::1\"");
    expect_error("listen = ( { address = \"1.2.3\"; port = 80; } );",
                 "t.conf:1: listen[0].address: expected a numeric IPv4 or IPv6 address such as "
                 "\"0.0.0.0\", \"127.0.0.1\", \"::\" or \"::1\"");
    expect_error("listen = ( { address = \"::1\"; port = 80; },\n"
                 "           { address = \"::2\"; port = 80; },\n"
                 "           { address = \"0:0::1\"; port = 80; } );",
                 "t.conf:3: listen[2]: address 0:0::1 port 80 is already in listen[0] at line 1");
    expect_error("listen = ( { port = 80; },\n { address = \"0.0.0.0\"; port = 80; } );",
                 "t.conf:2: listen[1]: address 0.0.0.0 port 80 is already in listen[0] at line 1");
    expect_error("listen = ( { address = \"::1\"; } );",
                 "t.conf:1: listen[0]: missing required setting 'port'");
    expect_error("workers = 2;\n", "t.conf:1: missing required setting 'listen'");
    expect_error("", "t.conf:1: missing required setting 'listen'");
}

static void test_listen_ok(void)
{
    /* The same port on other addresses, the same address on other ports. */
    struct config *cfg = load("listen = ( { address = \"127.0.0.1\"; port = 80; },\n"
                              "  { address = \"127.0.0.2\"; port = 80; },\n"
                              "  { address = \"127.0.0.1\"; port = 81; },\n"
                              "  { address = \"::\"; port = 80; } );");

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->nlistens, 4);
    config_free(cfg);
}

static void test_route_errors(void)
{
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"/ok\"; handler = \"h\"; },\n"
                        "  { path = \"/(a\"; handler = \"h\"; } ); } );",
                 "t.conf:4: modules[0].routes[1].path: bad regular expression at offset 3: "
                 "missing closing parenthesis");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)\";"
                        " handler = \"h\"; } ); } );",
                 "t.conf:3: modules[0].routes[0].path: too many capture groups (17, at most 16); "
                 "use (?:...) for groups that need not be captured");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"/\"; } ); } );",
                 "t.conf:3: modules[0].routes[0]: missing required setting 'handler'");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { handler = \"h\"; } ); } );",
                 "t.conf:3: modules[0].routes[0]: missing required setting 'path'");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"/\"; handler = \"\"; } ); } );",
                 "t.conf:3: modules[0].routes[0].handler: expected a non-empty string");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"\"; handler = \"h\"; } ); } );",
                 "t.conf:3: modules[0].routes[0].path: expected a non-empty string");
    expect_error(LISTEN "modules = ( { routes = ( ); } );",
                 "t.conf:2: modules[0]: missing required setting 'path'");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; routes = { }; } );",
                 "t.conf:2: modules[0].routes: expected a list ( { ... }, { ... } )");
}

static void test_duplicate_route_name(void)
{
    /* Names are global: the clash is across modules. */
    expect_error(LISTEN "modules = (\n"
                        "  { path = \"a.so\"; routes = ( { path = \"/a\"; handler = \"h\";\n"
                        "      name = \"home\"; } ); },\n"
                        "  { path = \"b.so\"; routes = ( { path = \"/b\"; handler = \"h\"; },\n"
                        "      { path = \"/c\"; handler = \"h\";\n"
                        "      name = \"home\"; } ); } );",
                 "t.conf:7: modules[1].routes[1]: route name 'home' is already used by the route "
                 "at line 3");
    expect_error(LISTEN "modules = ( { path = \"a.so\"; routes = (\n"
                        "  { path = \"/a\"; handler = \"h\"; name = \"x\"; },\n"
                        "  { path = \"/b\"; handler = \"h\"; name = \"x\"; } ); } );",
                 "t.conf:4: modules[0].routes[1]: route name 'x' is already used by the route at "
                 "line 3");
}

static void test_settings_errors(void)
{
    char deep[1024] = LISTEN "modules = ( { path = \"m.so\"; settings = ";
    char *errors;

    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = {\n s = \"\xff\"; }; } );",
                 "t.conf:3: modules[0].settings.s: expected UTF-8 text");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = {\n"
                        " l = ( 1, { f = 1e999; } ); }; } );",
                 "t.conf:3: modules[0].settings.l[1].f: expected a finite number");
    for (int i = 0; i < 70; i++)
        strcat(deep, "{ a = ");
    strcat(deep, "1;");
    for (int i = 0; i < 70; i++)
        strcat(deep, "};");
    strcat(deep, "} );");
    errors = fail(deep);
    CU_ASSERT_PTR_NOT_NULL(strstr(errors, "nested deeper than 64 levels"));
    free(errors);
}

/* libconfig 1.5 would silently keep the low 32 bits of these. */
/* Redis hosts are stored as addresses: names are resolved at load, not by
 * a worker's loop. "localhost" comes from /etc/hosts, no network needed. */
static void test_redis_hosts(void)
{
    struct config *cfg = load(LISTEN "pubsub = { backend = \"redis\"; redis = { host = "
                                     "\"localhost\"; }; };\n"
                                     "websocket = { origins = [\"https://a.example\"]; };\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT(strcmp(pubsub_settings(cfg)->redis.host, "127.0.0.1") == 0 ||
              strcmp(pubsub_settings(cfg)->redis.host, "::1") == 0);
    CU_ASSERT_EQUAL(pubsub_settings(cfg)->backend, PUBSUB_REDIS);
    CU_ASSERT_STRING_EQUAL(pubsub_settings(cfg)->redis.prefix, "gale:pubsub:");
    CU_ASSERT_EQUAL(ws_settings(cfg)->origins.n, 1);
    CU_ASSERT_EQUAL(ws_settings(cfg)->max_message_size, 16777216);
    config_free(cfg);
    cfg = load(LISTEN "pubsub = { redis = { host = \"::1\"; }; };\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(pubsub_settings(cfg)->redis.host, "::1");
    CU_ASSERT_EQUAL(pubsub_settings(cfg)->backend, PUBSUB_LOCAL);
    config_free(cfg);
    expect_error(LISTEN "pubsub = { redis = { host = \"\"; }; };",
                 "t.conf:2: pubsub.redis.host: expected a host name or address");
    expect_error(LISTEN "pubsub = { backend = \"carrier-pigeon\"; };",
                 "t.conf:2: pubsub.backend: expected one of \"local\", \"redis\"");
}

static void test_wide_integers(void)
{
    struct config *cfg;
    char *errors;

    expect_error(LISTEN "limits = { max_body_size = 5000000000; };",
                 "t.conf:2: integer 5000000000 does not fit in 32 bits: write it 5000000000L for a "
                 "64-bit one");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = {\n"
                        " a = [ -2147483649 ]; }; } );",
                 "t.conf:3: integer -2147483649 does not fit in 32 bits: write it -2147483649L for "
                 "a 64-bit one");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = { a = 0x80000000; }; } );",
                 "t.conf:2: integer 0x80000000 does not fit in 32 bits: write it 0x80000000L for a "
                 "64-bit one");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; settings = {\n"
                        " a = 9223372036854775808L; }; } );",
                 "t.conf:3: integer 9223372036854775808 does not fit in 64 bits");

    /* The L suffix, the 32-bit extremes, and digits in floats, strings,
     * comments and names are all fine. */
    cfg = load(LISTEN
               "limits = { max_body_size = 5000000000L; keepalive_requests = 4294967295L; };\n"
               "modules = ( { path = \"m.so\"; settings = {\n"
               "  a = 2147483647; b = -2147483648; c = 0x7FFFFFFF; d = 1.5e10; e = .12345678901;\n"
               "  f = \"99999999999\"; g99999999999 = 1; # 99999999999\n"
               "  /* 99999999999 */ h = -9223372036854775808L; i = 1e+300; }; } );\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->limits.max_body_size, 5000000000ULL);
    CU_ASSERT_EQUAL(cfg->limits.keepalive_requests, 4294967295U);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(cfg->modules[0].settings, "b")),
                    -2147483648LL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(cfg->modules[0].settings, "h")), INT64_MIN);
    config_free(cfg);

    /* Every one is reported, with its own line. */
    errors = fail(LISTEN "workers = 4294967297;\nlimits = {\n max_body_size = 3000000000; };\n");
    CU_ASSERT(strstr(errors, "t.conf:2: integer 4294967297 does not fit in 32 bits") != NULL);
    CU_ASSERT(strstr(errors, "t.conf:4: integer 3000000000 does not fit in 32 bits") != NULL);
    free(errors);
}

static void test_syntax_error(void)
{
    expect_error(LISTEN "workers = = 4;", "t.conf:2: syntax error");
    expect_error(LISTEN "modules = ( { path = \"m.so\"; }\n\n;", "t.conf:4: syntax error");
    expect_error(LISTEN "workers = 1;\nworkers = 2;", "t.conf:3: duplicate setting name");
}

static void test_multiple_errors(void)
{
    char *errors = fail("wokers = 4;\n"
                        "listen = ( { address = \"nowhere\"; port = 0; } );\n"
                        "limits = { max_headers = 0; };\n"
                        "modules = ( { path = \"m.so\"; routes = (\n"
                        "  { path = \"/(\"; }, { path = \"/\"; handler = \"h\"; x = 1; } ); } );\n"
                        "log_level = \"loud\";\n");
    const char *want =
        "t.conf:1: unknown setting 'wokers'\n"
        "t.conf:2: listen[0].address: expected a numeric IPv4 or IPv6 address such as "
        "\"0.0.0.0\", \"127.0.0.1\", \"::\" or \"::1\"\n"
        "t.conf:2: listen[0].port: expected an integer from 1 to 65535\n"
        "t.conf:3: limits.max_headers: expected an integer from 1 to 10000\n"
        "t.conf:5: modules[0].routes[0].path: bad regular expression at offset 2: missing closing "
        "parenthesis\n"
        "t.conf:5: modules[0].routes[0]: missing required setting 'handler'\n"
        "t.conf:5: modules[0].routes[1]: unknown setting 'x'\n"
        "t.conf:6: log_level: expected one of \"error\", \"warn\", \"info\", \"debug\"\n";

    /* All of them, in the order of the file. */
    if (strcmp(errors, want) != 0)
        fprintf(stderr, "\nwanted:\n%sgot:\n%s", want, errors);
    CU_ASSERT_STRING_EQUAL(errors, want);
    free(errors);
}

/* ---- from a file ---- */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_load_file(void)
{
    char cwd[PATH_MAX], path[256], real[PATH_MAX], want[PATH_MAX + 256];
    char *errors = NULL;
    struct config *cfg;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gale-test-config-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(tmpdir, real));
    write_file("listen.inc", "listen = ( { port = 8000; } );\n");
    write_file("gale.conf", "@include \"listen.inc\"\n"
                            "modules = ( { path = \"mods/m.so\"; } );\n");
    write_file("bad.conf", "workers = 1;\n@include \"bad.inc\"\n");
    write_file("bad.inc", "\nlisten = ( { port = 0; } );\n");

    /* A relative file name: the folder is made absolute. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    CU_ASSERT_EQUAL_FATAL(chdir("/tmp"), 0);
    cfg = config_load(tmpdir + 5, &errors);
    CU_ASSERT_PTR_NULL(cfg); /* a folder, not a file */
    CU_ASSERT(errors && strstr(errors, "cannot read: Is a directory"));
    free(errors);
    snprintf(path, sizeof(path), "%s/gale.conf", tmpdir + 5);
    cfg = config_load(path, &errors);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    CU_ASSERT_PTR_NULL(errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->file, path);
    CU_ASSERT_STRING_EQUAL(cfg->dir, real);
    CU_ASSERT_EQUAL(cfg->listens[0].port, 8000); /* @include is relative to the folder */
    snprintf(want, sizeof(want), "%s/mods/m.so", real);
    CU_ASSERT_STRING_EQUAL(cfg->modules[0].path, want);
    config_free(cfg);

    /* An error in an included file names that file and its line. */
    snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
    cfg = config_load(path, &errors);
    CU_ASSERT_PTR_NULL(cfg);
    snprintf(want, sizeof(want), "%s/bad.inc:2: listen[0].port: expected an integer", real);
    CU_ASSERT(errors && strstr(errors, want));
    free(errors);

    /* Integers that would be cut are found in included files too. */
    write_file("wide.conf", "@include \"wide.inc\"\n");
    write_file("wide.inc",
               "listen = ( { port = 80; } );\n\nlimits = { max_body_size = 8589934593; };\n");
    snprintf(path, sizeof(path), "%s/wide.conf", tmpdir);
    cfg = config_load(path, &errors);
    CU_ASSERT_PTR_NULL(cfg);
    snprintf(want, sizeof(want),
             "%s/wide.inc:3: integer 8589934593 does not fit in 32 bits: write it 8589934593L for "
             "a 64-bit one\n",
             real);
    CU_ASSERT_STRING_EQUAL(errors, want);
    free(errors);

    /* So does a syntax error there; a missing include is an error too. */
    write_file("syntax.conf", "@include \"syntax.inc\"\n");
    write_file("syntax.inc", "listen = ( { port = 80; } );\nworkers = = 1;\n");
    snprintf(path, sizeof(path), "%s/syntax.conf", tmpdir);
    cfg = config_load(path, &errors);
    CU_ASSERT_PTR_NULL(cfg);
    snprintf(want, sizeof(want), "%s/syntax.inc:2: syntax error\n", real);
    CU_ASSERT_STRING_EQUAL(errors, want);
    free(errors);
    write_file("syntax.conf", "listen = ( { port = 80; } );\n@include \"missing.inc\"\n");
    cfg = config_load(path, &errors);
    CU_ASSERT_PTR_NULL(cfg);
    snprintf(want, sizeof(want), "%s:2: cannot open include file\n", path);
    CU_ASSERT_STRING_EQUAL(errors, want);
    free(errors);

    cfg = config_load("/nonexistent/gale.conf", &errors);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_STRING_EQUAL(errors,
                           "/nonexistent/gale.conf: cannot read: No such file or directory\n");
    free(errors);

    for (const char *const *f =
             (const char *const[]){"listen.inc", "gale.conf", "bad.conf", "bad.inc", "syntax.conf",
                                   "syntax.inc", "wide.conf", "wide.inc", NULL};
         *f; f++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, *f);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    settings_register();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "full config", test_full);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "workers", test_workers);
    CU_add_test(s, "relative paths", test_paths);
    CU_add_test(s, "settings to JSON", test_settings_json);
    CU_add_test(s, "unknown settings", test_unknown_settings);
    CU_add_test(s, "wrong types", test_wrong_types);
    CU_add_test(s, "out of range", test_out_of_range);
    CU_add_test(s, "listen errors", test_listen_errors);
    CU_add_test(s, "listen without clashes", test_listen_ok);
    CU_add_test(s, "route errors", test_route_errors);
    CU_add_test(s, "duplicate route name", test_duplicate_route_name);
    CU_add_test(s, "settings errors", test_settings_errors);
    CU_add_test(s, "wide integers", test_wide_integers);
    CU_add_test(s, "redis hosts, pubsub and websocket groups", test_redis_hosts);
    CU_add_test(s, "syntax errors", test_syntax_error);
    CU_add_test(s, "multiple errors", test_multiple_errors);
    CU_add_test(s, "load a file", test_load_file);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
