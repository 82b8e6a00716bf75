/*
 * test_metrics.c - unit tests of src/core/metrics.c and src/daemon/metrics.c:
 * what a request counts, the exposition text (label escaping, per-worker
 * series and their sums, cumulative buckets) and the retired totals.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/config.h"
#include "core/metrics.h"
#include "daemon/metrics.h"
#include "daemon/settings.h"

static const char *conf_text =
    "workers = 2;\n"
    "listen = ( { port = 8080; } );\n"
    "metrics = { port = 9145; };\n"
    "modules = ( { path = \"/nonexistent/m.so\";\n"
    "  routes = ( { path = \"/a\"; handler = \"h\"; },\n"
    "             { path = \"/q\\\"(\\\\d+)\"; handler = \"h\"; } ); } );\n";

static struct config *load(const char *text)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(text, "t.conf", "/etc/gale", &errors);
    if (!cfg)
        fprintf(stderr, "\nunexpected errors:\n%s", errors ? errors : "(none)\n");
    free(errors);
    return cfg;
}

/* The exposition for the live workers of map (slots 0 and 1), as a string. */
static char *render(struct metrics_map *map, size_t n)
{
    struct metrics_source src[2] = {{0, map, 0}, {1, map, 1}};
    struct evbuffer *out = evbuffer_new();
    metrics_render(out, src, n);
    size_t len = evbuffer_get_length(out);
    char *text = malloc(len + 1);
    evbuffer_remove(out, text, len);
    text[len] = '\0';
    evbuffer_free(out);
    return text;
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    fprintf(stderr, "\nmissing line: %s\n", line);
    return 0;
}

static void test_request_counts(void)
{
    struct config *cfg = load(conf_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct metrics_map *map = metrics_map_new(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    struct metrics_slot *m = metrics_map_slot(map, 0);
    CU_ASSERT_PTR_NULL(metrics_map_slot(map, 2)); /* two workers, two slots */
    metrics_request(m, 1, 200, 0.005);            /* on the bound: in its bucket */
    metrics_request(m, 1, 200, 0.0051);
    metrics_request(m, 0, 404, 11.0); /* above every bound */
    metrics_request(m, 2, 42, 0);     /* an odd status: the last counter */
    metrics_request(NULL, 1, 200, 0); /* metrics off: nothing */
    CU_ASSERT_EQUAL(m->buckets[0], 2);
    CU_ASSERT_EQUAL(m->buckets[1], 1);
    CU_ASSERT_EQUAL(m->buckets[METRICS_BOUNDS], 1);
    CU_ASSERT_EQUAL(m->requests[1 * METRICS_CODES + 100], 2);
    CU_ASSERT_EQUAL(m->requests[0 * METRICS_CODES + 304], 1);
    CU_ASSERT_EQUAL(m->requests[2 * METRICS_CODES + METRICS_CODES - 1], 1);
    CU_ASSERT_EQUAL(m->latency_us, 5000 + 5100 + 11000000);
    METRICS_ADD(m, websockets, 1);
    METRICS_ADD(m, websockets, -1);
    CU_ASSERT_EQUAL(m->websockets, 0);
    metrics_map_drop(map);
    config_free(cfg);
}

static void test_render(void)
{
    struct config *cfg = load(conf_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct metrics_map *map = metrics_map_new(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    struct metrics_slot *a = metrics_map_slot(map, 0), *b = metrics_map_slot(map, 1);
    metrics_request(a, 1, 200, 0.001);
    metrics_request(a, 1, 200, 0.2);
    metrics_request(b, 1, 200, 0.001);
    metrics_request(b, 2, 500, 0.001);
    METRICS_ADD(a, connections, 3);
    METRICS_ADD(b, published, 2);
    METRICS_ADD(b, repeats, 1);
    char *t = render(map, 2);
    CU_ASSERT(!strncmp(t, "# HELP gale_http_requests_total ", 32));
    CU_ASSERT(has_line(t, "# TYPE gale_http_requests_total counter"));
    CU_ASSERT(has_line(t, "gale_http_requests_total{worker=\"0\",route=\"/a\",code=\"200\"} 2"));
    CU_ASSERT(has_line(t, "gale_http_requests_total{worker=\"1\",route=\"/a\",code=\"200\"} 1"));
    CU_ASSERT(has_line(t, "gale_http_requests_total{route=\"/a\",code=\"200\"} 3"));
    /* the pattern /q"(\d+) with its quote and backslash escaped */
    CU_ASSERT(has_line(t, "gale_http_requests_total{route=\"/q\\\"(\\\\d+)\",code=\"500\"} 1"));
    CU_ASSERT(has_line(t, "# TYPE gale_http_request_duration_seconds histogram"));
    CU_ASSERT(
        has_line(t, "gale_http_request_duration_seconds_bucket{worker=\"0\",le=\"0.005\"} 1"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_bucket{worker=\"0\",le=\"0.25\"} 2"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_bucket{le=\"+Inf\"} 4"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_count{worker=\"1\"} 2"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_count 4"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_sum 0.203000"));
    CU_ASSERT(has_line(t, "gale_open_connections{worker=\"0\"} 3"));
    CU_ASSERT(has_line(t, "gale_open_connections 3"));
    CU_ASSERT(has_line(t, "gale_pubsub_published_total{worker=\"1\"} 2"));
    CU_ASSERT(has_line(t, "gale_pubsub_repeats_total{worker=\"1\"} 1"));
    CU_ASSERT(has_line(t, "gale_pubsub_repeats_total 1"));
    CU_ASSERT(has_line(t, "gale_pubsub_delivered_total 0"));
    free(t);
    metrics_map_drop(map);
    config_free(cfg);
}

/* A worker that ends leaves its counts in the totals; gauges go. */
static void test_retire(void)
{
    struct config *cfg = load(conf_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct metrics_map *map = metrics_map_new(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    struct metrics_slot *a = metrics_map_slot(map, 0);
    metrics_request(a, 1, 200, 0.001);
    METRICS_ADD(a, connections, 5);
    METRICS_ADD(a, delivered, 7);
    metrics_retire(map, 0, 0);
    CU_ASSERT_EQUAL(a->requests[METRICS_CODES + 100], 0);
    CU_ASSERT_EQUAL(a->connections, 0);
    metrics_request(a, 1, 200, 0.001); /* its replacement */
    char *t = render(map, 1);
    CU_ASSERT(has_line(t, "gale_http_requests_total{worker=\"0\",route=\"/a\",code=\"200\"} 2"));
    CU_ASSERT(has_line(t, "gale_http_requests_total{route=\"/a\",code=\"200\"} 2"));
    CU_ASSERT(has_line(t, "gale_http_request_duration_seconds_count 2"));
    CU_ASSERT(has_line(t, "gale_open_connections 0"));
    CU_ASSERT(has_line(t, "gale_pubsub_delivered_total{worker=\"0\"} 7"));
    free(t);
    /* every worker of the region gone, the region too: the totals stay */
    metrics_retire(map, 0, 0);
    metrics_map_drop(map);
    t = render(NULL, 0);
    CU_ASSERT(has_line(t, "gale_http_requests_total{route=\"/a\",code=\"200\"} 2"));
    free(t);
    metrics_free();
    config_free(cfg);
}

static void test_off(void)
{
    struct config *cfg = load("listen = ( { port = 8080; } );\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NULL(metrics_map_new(cfg));
    config_free(cfg);
}

int main(void)
{
    settings_register();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "a request's counters", test_request_counts);
    CU_add_test(s, "the exposition", test_render);
    CU_add_test(s, "retired totals", test_retire);
    CU_add_test(s, "off without the group", test_off);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
