/*
 * metrics_server.c - the master's scrape listener (see metrics_server.h).
 *
 * A scrape is one small GET a few times a minute from a known client: the
 * server reads one request head, answers it with Connection: close and
 * closes. It runs in the master, which is root; it therefore parses no more
 * than a request line, in a bounded buffer, with a timeout.
 */
#include "daemon/metrics_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "daemon/metrics_settings.h"
#include "net/listen.h"

#define METRICS_SERVER_MAX_HEAD 8192 /* bytes of a request head */
#define METRICS_SERVER_TIMEOUT 10    /* seconds a scrape may take */
#define METRICS_SERVER_BACKLOG 64
#define METRICS_SERVER_CLIENTS 32 /* at a time: the master's descriptors are not for a flood */

struct metrics_client {
    struct bufferevent *bev;
    struct metrics_client *prev, *next;
};

static struct {
    struct evconnlistener *lsn;
    char *address;
    int port;
    char *path;
    metrics_server_render_fn render;
    struct metrics_client *clients;
    int nclients;
    int next_fd;   /* made ready by prepare, -1: none */
    int next_keep; /* prepare found the running socket right */
} S = {.next_fd = -1};

/* ---- one scrape ---- */

static void metrics_server_client_free(struct metrics_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        S.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    S.nclients--;
    bufferevent_free(c->bev);
    free(c);
}

static void metrics_server_sent_cb(struct bufferevent *bev, void *arg)
{
    metrics_server_client_free(arg);
}

static void metrics_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
    metrics_server_client_free(arg); /* EOF, error or timeout: nothing more to do */
}

static void metrics_server_answer(struct metrics_client *c, int status, const char *text,
                                  struct evbuffer *body, int head_only)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                        status, text,
                        status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                      : "text/plain; charset=utf-8",
                        evbuffer_get_length(body));
    if (!head_only)
        evbuffer_add_buffer(out, body);
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setcb(c->bev, NULL, metrics_server_sent_cb, metrics_server_event_cb, c);
}

/* Answer the request line `line` ("GET /metrics HTTP/1.1"). */
static void metrics_server_request(struct metrics_client *c, char *line)
{
    char *save = NULL;
    const char *method = strtok_r(line, " ", &save);
    char *target = strtok_r(NULL, " ", &save);
    const char *version = strtok_r(NULL, " ", &save);
    struct evbuffer *body = evbuffer_new();
    if (!body)
        util_oom();
    if (target)
        target[strcspn(target, "?")] = '\0'; /* a query changes nothing */
    if (!method || !target || !version || strncmp(version, "HTTP/1.", 7)) {
        evbuffer_add_printf(body, "bad request\n");
        metrics_server_answer(c, 400, "Bad Request", body, 0);
    } else if (strcmp(target, S.path)) {
        evbuffer_add_printf(body, "not found: the metrics are at %s\n", S.path);
        metrics_server_answer(c, 404, "Not Found", body, 0);
    } else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        evbuffer_add_printf(body, "only GET\n");
        metrics_server_answer(c, 405, "Method Not Allowed", body, 0);
    } else {
        S.render(body);
        metrics_server_answer(c, 200, "OK", body, !strcmp(method, "HEAD"));
    }
    evbuffer_free(body);
}

static void metrics_server_read_cb(struct bufferevent *bev, void *arg)
{
    struct metrics_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > METRICS_SERVER_MAX_HEAD)
            metrics_server_client_free(c);
        return;
    }
    char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
    metrics_server_request(c, line ? line : xstrdup(""));
    free(line);
}

static void metrics_server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                                     struct sockaddr *sa, int socklen, void *arg)
{
    struct event_base *base = evconnlistener_get_base(l);
    struct bufferevent *bev = NULL;
    if (S.nclients >= METRICS_SERVER_CLIENTS ||
        !(bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE))) {
        close(fd);
        return;
    }
    S.nclients++;
    struct metrics_client *c = xcalloc(1, sizeof(*c));
    c->bev = bev;
    c->next = S.clients;
    if (S.clients)
        S.clients->prev = c;
    S.clients = c;
    struct timeval tv = {METRICS_SERVER_TIMEOUT, 0};
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_setcb(bev, metrics_server_read_cb, NULL, metrics_server_event_cb, c);
    bufferevent_enable(bev, EV_READ);
}

/* ---- the listener ---- */

static void metrics_server_stop(void)
{
    if (S.lsn)
        evconnlistener_free(S.lsn);
    S.lsn = NULL;
    free(S.address);
    free(S.path);
    S.address = S.path = NULL;
}

int metrics_server_prepare(const struct config *cfg, struct listen_set *inherited, char **err)
{
    const struct metrics_settings *ms = metrics_settings(cfg);
    metrics_server_abort();
    if (!ms->line)
        return 0;
    if (S.lsn && S.port == ms->port && !strcmp(S.address, ms->address)) {
        S.next_keep = 1;
        return 0;
    }
    struct listen_sock *old = listen_find(inherited, ms->address, ms->port);
    if (old && old->fds[0] >= 0)
        S.next_fd = fcntl(old->fds[0], F_DUPFD_CLOEXEC, 3);
    else
        S.next_fd = listen_socket(ms->address, ms->port, METRICS_SERVER_BACKLOG, 0);
    if (S.next_fd >= 0)
        return 0;
    struct strbuf b = {0};
    strbuf_addf(&b, "%s:%d: metrics: cannot listen on %s port %d: %s", cfg->file, ms->line,
                ms->address, ms->port, strerror(errno));
    *err = strbuf_take(&b);
    return -1;
}

void metrics_server_commit(struct event_base *base, const struct config *cfg,
                           metrics_server_render_fn render)
{
    const struct metrics_settings *ms = metrics_settings(cfg);
    S.render = render;
    if (!ms->line) {
        metrics_server_stop();
        return;
    }
    if (S.next_keep) {
        S.next_keep = 0;
        free(S.path);
        S.path = xstrdup(ms->path);
        return;
    }
    metrics_server_stop();
    /* backlog 0: listen_socket's listen(2) stands */
    S.lsn = evconnlistener_new(base, metrics_server_accept_cb, NULL,
                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, S.next_fd);
    if (!S.lsn) {
        log_error("metrics: cannot watch the socket on %s port %d", ms->address, ms->port);
        close(S.next_fd);
    } else {
        S.address = xstrdup(ms->address);
        S.port = ms->port;
        S.path = xstrdup(ms->path);
        log_info("metrics at http://%s%s%s:%d%s", strchr(ms->address, ':') ? "[" : "", ms->address,
                 strchr(ms->address, ':') ? "]" : "", ms->port, ms->path);
    }
    S.next_fd = -1;
}

void metrics_server_abort(void)
{
    if (S.next_fd >= 0)
        close(S.next_fd);
    S.next_fd = -1;
    S.next_keep = 0;
}

int metrics_server_fd(void)
{
    return S.lsn ? evconnlistener_get_fd(S.lsn) : -1;
}

void metrics_server_child(void)
{
    for (struct metrics_client *c = S.clients; c; c = c->next)
        close(bufferevent_getfd(c->bev));
    if (S.lsn)
        close(evconnlistener_get_fd(S.lsn));
    if (S.next_fd >= 0)
        close(S.next_fd);
}

void metrics_server_close(void)
{
    while (S.clients)
        metrics_server_client_free(S.clients);
    metrics_server_abort();
    metrics_server_stop();
}
