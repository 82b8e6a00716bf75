/*
 * metrics.c - the master's side of the metrics (see metrics.h).
 */
#include "daemon/metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "daemon/metrics_settings.h"

struct metrics_map {
    void *region;
    int nslots;
    size_t nroutes;
    char **routes; /* [0] "" (no module route), then the config's patterns in order */
    int refs;
};

/* A request count of one worker label, route and status. */
struct metrics_count {
    int worker;
    const char *route;
    int code;
    uint64_t n;
};

/* Everything else of one worker label, summed. */
struct metrics_worker {
    int seen;
    uint64_t connections, websockets, published, repeats, delivered, latency_us;
    uint64_t buckets[METRICS_BOUNDS + 1];
};

/* What workers that ended had counted: request routes are owned strings. */
static struct {
    struct metrics_count *req;
    size_t nreq, capreq;
    struct metrics_worker *w;
    size_t nw;
} R;

/* ---- the regions ---- */

struct metrics_map *metrics_map_new(const struct config *cfg)
{
    if (!metrics_settings(cfg)->line)
        return NULL;
    struct metrics_map *map = xcalloc(1, sizeof(*map));
    for (size_t i = 0; i < cfg->nmodules; i++)
        map->nroutes += cfg->modules[i].nroutes;
    map->routes = xcalloc(map->nroutes + 1, sizeof(char *));
    map->routes[0] = xstrdup("");
    size_t k = 1;
    for (size_t i = 0; i < cfg->nmodules; i++)
        for (size_t j = 0; j < cfg->modules[i].nroutes; j++)
            map->routes[k++] = xstrdup(cfg->modules[i].routes[j].path);
    map->nslots = cfg->workers;
    map->refs = 1;
    map->region = metrics_region_new((size_t)map->nslots, map->nroutes);
    if (!map->region) {
        log_error("metrics: cannot map %zu bytes of shared memory: this generation goes uncounted",
                  (size_t)map->nslots * metrics_slot_size(map->nroutes));
        map->refs = 0;
        metrics_map_drop(map);
        return NULL;
    }
    return map;
}

struct metrics_map *metrics_map_hold(struct metrics_map *map)
{
    if (map)
        map->refs++;
    return map;
}

void metrics_map_drop(struct metrics_map *map)
{
    if (!map || --map->refs > 0)
        return;
    metrics_region_free(map->region, (size_t)map->nslots, map->nroutes);
    for (size_t i = 0; i <= map->nroutes; i++)
        free(map->routes[i]);
    free(map->routes);
    free(map);
}

struct metrics_slot *metrics_map_slot(struct metrics_map *map, int slot)
{
    if (!map || slot < 0 || slot >= map->nslots)
        return NULL;
    return metrics_region_slot(map->region, map->nroutes, (size_t)slot);
}

/* ---- the retired totals ---- */

static struct metrics_worker *metrics_worker_at(struct metrics_worker **w, size_t *n, int worker)
{
    if ((size_t)worker >= *n) {
        *w = xrealloc(*w, sizeof(**w) * ((size_t)worker + 1));
        memset(*w + *n, 0, sizeof(**w) * ((size_t)worker + 1 - *n));
        *n = (size_t)worker + 1;
    }
    (*w)[worker].seen = 1;
    return &(*w)[worker];
}

static void metrics_retire_request(int worker, const char *route, int code, uint64_t n)
{
    for (size_t i = 0; i < R.nreq; i++) {
        struct metrics_count *c = &R.req[i];
        if (c->worker == worker && c->code == code && !strcmp(c->route, route)) {
            c->n += n;
            return;
        }
    }
    if (R.nreq == R.capreq) {
        R.capreq = R.capreq ? R.capreq * 2 : 64;
        R.req = xrealloc(R.req, R.capreq * sizeof(*R.req));
    }
    R.req[R.nreq++] = (struct metrics_count){worker, xstrdup(route), code, n};
}

void metrics_retire(struct metrics_map *map, int slot, int worker)
{
    struct metrics_slot *m = metrics_map_slot(map, slot);
    if (!m || worker < 0)
        return;
    struct metrics_worker *w = metrics_worker_at(&R.w, &R.nw, worker);
    w->published += m->published;
    w->repeats += m->repeats;
    w->delivered += m->delivered;
    w->latency_us += m->latency_us;
    for (int b = 0; b <= METRICS_BOUNDS; b++)
        w->buckets[b] += m->buckets[b];
    for (size_t r = 0; r <= map->nroutes; r++)
        for (int c = 0; c < METRICS_CODES; c++)
            if (m->requests[r * METRICS_CODES + (size_t)c])
                metrics_retire_request(worker, map->routes[r], c + METRICS_CODE_FIRST,
                                       m->requests[r * METRICS_CODES + (size_t)c]);
    memset(m, 0, metrics_slot_size(map->nroutes));
}

void metrics_free(void)
{
    for (size_t i = 0; i < R.nreq; i++)
        free((char *)R.req[i].route);
    free(R.req);
    free(R.w);
    memset(&R, 0, sizeof(R));
}

/* ---- the text ---- */

/* A label value: backslash, double quote and newline escaped (0.0.4). */
static void metrics_label(struct evbuffer *out, const char *name, const char *value)
{
    evbuffer_add_printf(out, "%s=\"", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            evbuffer_add_printf(out, "\\%c", *p);
        else if (*p == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, p, 1);
    }
    evbuffer_add(out, "\"", 1);
}

static void metrics_family(struct evbuffer *out, const char *name, const char *type,
                           const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int metrics_count_cmp(const void *a, const void *b)
{
    const struct metrics_count *x = a, *y = b;
    int c = strcmp(x->route, y->route);
    if (c)
        return c;
    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return x->worker < y->worker ? -1 : x->worker > y->worker;
}

static void metrics_request_line(struct evbuffer *out, int worker, const struct metrics_count *c,
                                 uint64_t n)
{
    evbuffer_add_printf(out, "gale_http_requests_total{");
    if (worker >= 0)
        evbuffer_add_printf(out, "worker=\"%d\",", worker);
    metrics_label(out, "route", c->route);
    evbuffer_add_printf(out, ",code=\"%d\"} %" PRIu64 "\n", c->code, n);
}

/* The request counts, retired and live, sorted so that each route and
 * status gives its workers' lines and then their sum. */
static void metrics_render_requests(struct evbuffer *out, const struct metrics_source *src,
                                    size_t nsrc)
{
    size_t n = R.nreq, cap = R.nreq + 64;
    struct metrics_count *v = xmalloc(cap * sizeof(*v));
    if (R.nreq) /* R.req is NULL until a worker retired */
        memcpy(v, R.req, R.nreq * sizeof(*v));
    for (size_t s = 0; s < nsrc; s++) {
        const struct metrics_map *map = src[s].map;
        const struct metrics_slot *m = metrics_map_slot((struct metrics_map *)map, src[s].slot);
        for (size_t r = 0; m && r <= map->nroutes; r++)
            for (int c = 0; c < METRICS_CODES; c++) {
                uint64_t k = m->requests[r * METRICS_CODES + (size_t)c];
                if (!k)
                    continue;
                if (n == cap)
                    v = xrealloc(v, (cap *= 2) * sizeof(*v));
                v[n++] = (struct metrics_count){src[s].worker, map->routes[r],
                                                c + METRICS_CODE_FIRST, k};
            }
    }
    qsort(v, n, sizeof(*v), metrics_count_cmp);
    metrics_family(out, "gale_http_requests_total", "counter",
                   "Requests answered, by route pattern and status code.");
    for (size_t i = 0; i < n;) {
        uint64_t sum = 0;
        size_t j = i;
        while (j < n && !strcmp(v[j].route, v[i].route) && v[j].code == v[i].code) {
            uint64_t w = 0;
            size_t k = j;
            for (; k < n && metrics_count_cmp(&v[k], &v[j]) == 0; k++)
                w += v[k].n;
            metrics_request_line(out, v[j].worker, &v[j], w);
            sum += w;
            j = k;
        }
        metrics_request_line(out, -1, &v[i], sum);
        i = j;
    }
    free(v);
}

/* Per worker label: the retired totals plus every live worker of it. */
static struct metrics_worker *metrics_gather(const struct metrics_source *src, size_t nsrc,
                                             size_t *nw)
{
    struct metrics_worker *w = NULL;
    *nw = 0;
    if (R.nw) {
        w = xmalloc(R.nw * sizeof(*w));
        memcpy(w, R.w, R.nw * sizeof(*w));
        *nw = R.nw;
    }
    for (size_t s = 0; s < nsrc; s++) {
        const struct metrics_slot *m =
            metrics_map_slot((struct metrics_map *)src[s].map, src[s].slot);
        if (!m)
            continue;
        struct metrics_worker *x = metrics_worker_at(&w, nw, src[s].worker);
        x->connections += m->connections;
        x->websockets += m->websockets;
        x->published += m->published;
        x->repeats += m->repeats;
        x->delivered += m->delivered;
        x->latency_us += m->latency_us;
        for (int b = 0; b <= METRICS_BOUNDS; b++)
            x->buckets[b] += m->buckets[b];
    }
    return w;
}

static void metrics_histogram(struct evbuffer *out, int worker, const struct metrics_worker *x)
{
    char who[32] = "";
    if (worker >= 0)
        snprintf(who, sizeof(who), "worker=\"%d\",", worker);
    uint64_t cum = 0;
    for (int b = 0; b <= METRICS_BOUNDS; b++) {
        cum += x->buckets[b];
        if (b < METRICS_BOUNDS)
            evbuffer_add_printf(
                out, "gale_http_request_duration_seconds_bucket{%sle=\"%g\"} %" PRIu64 "\n", who,
                (double)metrics_bounds_us[b] / 1e6, cum);
        else
            evbuffer_add_printf(
                out, "gale_http_request_duration_seconds_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", who,
                cum);
    }
    who[worker >= 0 ? strlen(who) - 1 : 0] = '\0'; /* no trailing comma */
    const char *open = worker >= 0 ? "{" : "", *close = worker >= 0 ? "}" : "";
    evbuffer_add_printf(out, "gale_http_request_duration_seconds_sum%s%s%s %.6f\n", open, who,
                        close, (double)x->latency_us / 1e6);
    evbuffer_add_printf(out, "gale_http_request_duration_seconds_count%s%s%s %" PRIu64 "\n", open,
                        who, close, cum);
}

/* A family with one value per worker label and their sum. */
static void metrics_simple(struct evbuffer *out, const struct metrics_worker *w, size_t nw,
                           size_t field, const char *name, const char *type, const char *help)
{
    uint64_t sum = 0;
    metrics_family(out, name, type, help);
    for (size_t i = 0; i < nw; i++) {
        if (!w[i].seen)
            continue;
        uint64_t v = *(const uint64_t *)((const char *)&w[i] + field);
        evbuffer_add_printf(out, "%s{worker=\"%zu\"} %" PRIu64 "\n", name, i, v);
        sum += v;
    }
    evbuffer_add_printf(out, "%s %" PRIu64 "\n", name, sum);
}

void metrics_render(struct evbuffer *out, const struct metrics_source *src, size_t nsrc)
{
    metrics_render_requests(out, src, nsrc);
    size_t nw;
    struct metrics_worker *w = metrics_gather(src, nsrc, &nw);
    struct metrics_worker all = {0};
    metrics_family(out, "gale_http_request_duration_seconds", "histogram",
                   "Time from the start of a request to the end of its answer.");
    for (size_t i = 0; i < nw; i++) {
        if (!w[i].seen)
            continue;
        metrics_histogram(out, (int)i, &w[i]);
        all.latency_us += w[i].latency_us;
        for (int b = 0; b <= METRICS_BOUNDS; b++)
            all.buckets[b] += w[i].buckets[b];
    }
    metrics_histogram(out, -1, &all);
    metrics_simple(out, w, nw, offsetof(struct metrics_worker, connections),
                   "gale_open_connections", "gauge", "Client connections open now.");
    metrics_simple(out, w, nw, offsetof(struct metrics_worker, websockets), "gale_open_websockets",
                   "gauge", "WebSockets open now.");
    metrics_simple(out, w, nw, offsetof(struct metrics_worker, published),
                   "gale_pubsub_published_total", "counter",
                   "Pub/sub messages published by the workers' modules.");
    metrics_simple(out, w, nw, offsetof(struct metrics_worker, repeats),
                   "gale_pubsub_repeats_total", "counter",
                   "Keyed pub/sub messages dropped as repeats of a key already published.");
    metrics_simple(out, w, nw, offsetof(struct metrics_worker, delivered),
                   "gale_pubsub_delivered_total", "counter",
                   "Pub/sub messages handed to subscribers (one per subscription).");
    free(w);
}
