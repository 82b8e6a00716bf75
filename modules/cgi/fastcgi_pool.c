/*
 * fastcgi_pool.c - idle FastCGI connections kept for the next request to
 * the same server (FCGI_KEEP_CONN), a few per worker: a connect and
 * php-fpm's accept saved on every request. An idle connection the server
 * closes, or that says anything, is dropped at once.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cgi.h"

#define FASTCGI_POOL_MAX 8 /* idle connections per worker */

struct fastcgi_idle {
    const char *server; /* the route's setting: lives as long as the worker */
    struct bufferevent *bev;
    struct fastcgi_idle *next;
};

static struct fastcgi_idle *fastcgi_pool;
static int fastcgi_pool_count;

static void fastcgi_pool_drop(struct fastcgi_idle *idle)
{
    for (struct fastcgi_idle **p = &fastcgi_pool; *p; p = &(*p)->next)
        if (*p == idle) {
            *p = idle->next;
            fastcgi_pool_count--;
            break;
        }
    bufferevent_free(idle->bev);
    free(idle);
}

static void fastcgi_pool_read_cb(struct bufferevent *bev, void *arg)
{
    fastcgi_pool_drop(arg); /* nothing is due on an idle connection */
}

static void fastcgi_pool_event_cb(struct bufferevent *bev, short what, void *arg)
{
    fastcgi_pool_drop(arg);
}

void fastcgi_pool_put(const char *server, struct bufferevent *bev)
{
    if (fastcgi_pool_count >= FASTCGI_POOL_MAX ||
        evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
        bufferevent_free(bev);
        return;
    }
    struct fastcgi_idle *idle = calloc(1, sizeof(*idle));
    if (!idle)
        abort();
    idle->server = server;
    idle->bev = bev;
    idle->next = fastcgi_pool;
    fastcgi_pool = idle;
    fastcgi_pool_count++;
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_setcb(bev, fastcgi_pool_read_cb, NULL, fastcgi_pool_event_cb, idle);
    bufferevent_enable(bev, EV_READ);
}

struct bufferevent *fastcgi_pool_take(const char *server)
{
    for (struct fastcgi_idle **p = &fastcgi_pool; *p; p = &(*p)->next) {
        struct fastcgi_idle *idle = *p;
        if (strcmp(idle->server, server))
            continue;
        *p = idle->next;
        fastcgi_pool_count--;
        struct bufferevent *bev = idle->bev;
        free(idle);
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        return bev;
    }
    return NULL;
}

void fastcgi_pool_free_all(void)
{
    while (fastcgi_pool)
        fastcgi_pool_drop(fastcgi_pool);
}
