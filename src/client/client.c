/*
 * client.c - a worker's libcurl multi handle on its libevent loop (see
 * client.h). libcurl says which sockets to watch (socket callback) and when
 * to call it back (timer callback); each becomes an event on the worker's
 * base, and each event hands control back with curl_multi_socket_action.
 * The multi handle keeps the connection cache, so transfers to the same
 * server reuse its connections.
 *
 * Nothing may be removed from the multi handle while libcurl runs one of
 * our callbacks (a module's download callback can finish its request, whose
 * cleanup cancels other transfers): such a cancel only marks the transfer,
 * and client_settle reaps it once libcurl has returned.
 */
#include "client/client.h"

#include <stdlib.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "client/client_fetch.h"
#include "client/client_settings.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"

struct client_sock {
    struct event ev;
    struct client *c;
    struct client_sock *prev, *next;
};

struct client {
    struct loop *loop;
    CURLM *multi;
    struct event timer;
    int active, max;
    int in_curl; /* inside curl_multi_socket_action: removals wait */
    gale_fetch *running;
    gale_fetch *qhead, *qtail; /* above the cap, first come first started */
    struct client_sock *socks;
};

static void client_settle(struct client *c);

/* ---- the two lists ---- */

static void client_list_add(gale_fetch **head, gale_fetch *f)
{
    f->prev = NULL;
    f->next = *head;
    if (*head)
        (*head)->prev = f;
    *head = f;
}

static void client_list_del(gale_fetch **head, gale_fetch **tail, gale_fetch *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        *head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else if (tail)
        *tail = f->prev;
    f->prev = f->next = NULL;
}

static void client_enqueue(struct client *c, gale_fetch *f)
{
    f->next = NULL;
    f->prev = c->qtail;
    if (c->qtail)
        c->qtail->next = f;
    else
        c->qhead = f;
    c->qtail = f;
    f->state = FETCH_QUEUED;
}

/* ---- running transfers ---- */

static int client_run(struct client *c, gale_fetch *f)
{
    if (client_fetch_prepare(f) < 0 || curl_multi_add_handle(c->multi, f->easy) != CURLM_OK)
        return -1;
    client_list_add(&c->running, f);
    f->state = FETCH_RUNNING;
    c->active++;
    return 0;
}

/* Take a running transfer off the multi handle (never inside libcurl). */
static void client_stop(struct client *c, gale_fetch *f)
{
    client_list_del(&c->running, NULL, f);
    curl_multi_remove_handle(c->multi, f->easy);
    c->active--;
}

/* Start queued transfers while there is room. One that cannot start ends
 * at once with its error (a bad option), as if it had run. */
static void client_pump(struct client *c)
{
    while (c->qhead && c->active < c->max) {
        gale_fetch *f = c->qhead;
        client_list_del(&c->qhead, &c->qtail, f);
        if (client_run(c, f) < 0)
            client_fetch_finish(f, CURLE_FAILED_INIT);
    }
}

int client_add(struct client *c, gale_fetch *f)
{
    f->client = c;
    if (c->active < c->max && !c->qhead)
        return client_run(c, f);
    client_enqueue(c, f);
    return 0;
}

int client_cancel(struct client *c, gale_fetch *f)
{
    if (f->state == FETCH_QUEUED) {
        client_list_del(&c->qhead, &c->qtail, f);
        return 0;
    }
    if (f->state != FETCH_RUNNING)
        return 0;
    if (c->in_curl) {
        f->cancelled = 1;
        return 1;
    }
    client_stop(c, f);
    client_pump(c);
    return 0;
}

void client_end(struct client *c, gale_fetch *f)
{
    if (f->state == FETCH_RUNNING && c->in_curl) {
        f->cancelled = 1; /* client_settle ends it (f->gone says how) */
        return;
    }
    if (f->state == FETCH_QUEUED)
        client_list_del(&c->qhead, &c->qtail, f);
    else if (f->state == FETCH_RUNNING)
        client_stop(c, f);
    client_fetch_finish(f, CURLE_ABORTED_BY_CALLBACK);
    client_pump(c);
}

/* ---- libcurl's callbacks and the events they set ---- */

static void client_action(struct client *c, evutil_socket_t fd, int flags)
{
    int running;
    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    c->in_curl--;
    client_settle(c);
}

int client_resume(struct client *c, gale_fetch *f)
{
    c->in_curl++;
    CURLcode rc = curl_easy_pause(f->easy, CURLPAUSE_CONT);
    c->in_curl--;
    client_settle(c);
    return rc == CURLE_OK ? 0 : -1;
}

static void client_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client_sock *cs = arg;
    int flags =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    client_action(cs->c, fd, flags);
}

static void client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static void client_sock_free(struct client *c, struct client_sock *cs)
{
    event_del(&cs->ev);
    if (cs->prev)
        cs->prev->next = cs->next;
    else
        c->socks = cs->next;
    if (cs->next)
        cs->next->prev = cs->prev;
    free(cs);
}

static int client_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct client *c = userp;
    struct client_sock *cs = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (cs) {
            curl_multi_assign(c->multi, s, NULL);
            client_sock_free(c, cs);
        }
        return 0;
    }
    if (!cs) {
        cs = xcalloc(1, sizeof(*cs));
        cs->c = c;
        cs->next = c->socks;
        if (c->socks)
            c->socks->prev = cs;
        c->socks = cs;
        curl_multi_assign(c->multi, s, cs);
    } else {
        event_del(&cs->ev);
    }
    short ev = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
               ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (event_assign(&cs->ev, c->loop->base, s, ev, client_event_cb, cs) < 0 ||
        event_add(&cs->ev, NULL) < 0)
        return -1;
    return 0;
}

static int client_timer_set(CURLM *multi, long ms, void *userp)
{
    struct client *c = userp;
    (void)multi;
    if (ms < 0) {
        evtimer_del(&c->timer);
        return 0;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return evtimer_add(&c->timer, &tv);
}

/* A transfer off the multi handle: cancelled ones are freed silently,
 * except those whose client went away (done tells them CANCELLED). */
static void client_reap(gale_fetch *f, CURLcode code)
{
    if (f->cancelled && !f->gone)
        client_fetch_free(f);
    else
        client_fetch_finish(f, code);
}

/* After libcurl returned: end the finished transfers (their done callbacks
 * may start or cancel others, which is safe now), reap the ones cancelled
 * meanwhile, then start queued ones. */
static void client_settle(struct client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        gale_fetch *f = NULL;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        client_stop(c, f);
        client_reap(f, code);
    }
    for (gale_fetch *f = c->running, *next; f; f = next) {
        next = f->next;
        if (f->cancelled) {
            client_stop(c, f);
            client_reap(f, CURLE_ABORTED_BY_CALLBACK);
            next = c->running; /* done may have changed the list: start over */
        }
    }
    client_pump(c);
}

/* ---- the loop's client ---- */

struct client *client_get(struct loop *loop)
{
    static int global_done;
    if (loop->client)
        return loop->client;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_done = 1;
    }
    struct client *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->max = client_settings(loop->cfg)->max_concurrent;
    c->multi = curl_multi_init();
    if (!c->multi || evtimer_assign(&c->timer, loop->base, client_timer_cb, c) < 0) {
        if (c->multi)
            curl_multi_cleanup(c->multi);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, client_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, client_timer_set);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    loop->client = c;
    return c;
}

void client_free(struct loop *loop)
{
    struct client *c = loop->client;
    if (!c)
        return;
    while (c->qhead) {
        gale_fetch *f = c->qhead;
        client_list_del(&c->qhead, &c->qtail, f);
        client_fetch_free(f);
    }
    while (c->running) {
        gale_fetch *f = c->running;
        client_stop(c, f);
        client_fetch_free(f);
    }
    curl_multi_cleanup(c->multi);
    while (c->socks)
        client_sock_free(c, c->socks);
    evtimer_del(&c->timer);
    free(c);
    loop->client = NULL;
}
