/*
 * fastcgi_pool.c - how many connections a worker opens to each FastCGI
 * server (the route's `connections`), and the requests waiting for one.
 *
 * php-fpm gives a connection kept with FCGI_KEEP_CONN one child for as long
 * as it is open: a kept idle connection holds a child that then accepts no
 * other. Connections beyond the children wait in php-fpm's accept queue,
 * and when the kept ones hold every child they wait there for good (gale
 * used to keep up to 8 idle: a burst of 12 requests on 4 children left 4 to
 * 8 of them hanging until the timeout). So a connection is never kept idle:
 * when its answer ends it goes straight to the request waiting longest, or
 * is closed, which frees its child for the accept queue. Under load every
 * connection thus serves request after request (no connect, no accept),
 * and at rest none holds a child.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>

#include "cgi.h"

/* A request waiting for a connection, oldest first. */
struct fastcgi_waiter {
    struct fastcgi_conn *c;
    struct fastcgi_waiter *next;
};

/* One server of the routes (its `fastcgi` setting). */
struct fastcgi_server {
    const char *address; /* the route's setting: lives as long as the worker */
    int open;            /* connections open (or opening) */
    struct fastcgi_waiter *head, *tail;
    struct fastcgi_server *next;
};

static struct fastcgi_server *fastcgi_servers;

static struct fastcgi_server *fastcgi_pool_server(const char *address)
{
    struct fastcgi_server *s;
    for (s = fastcgi_servers; s; s = s->next)
        if (!strcmp(s->address, address))
            return s;
    s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->address = address;
    s->next = fastcgi_servers;
    fastcgi_servers = s;
    return s;
}

int fastcgi_pool_enter(struct fastcgi_conn *c, const char *address, int cap)
{
    struct fastcgi_server *s = fastcgi_pool_server(address);
    if (s->open < cap) {
        s->open++;
        return 1;
    }
    struct fastcgi_waiter *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->c = c;
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    return 0;
}

static struct fastcgi_conn *fastcgi_pool_next(struct fastcgi_server *s)
{
    struct fastcgi_waiter *w = s->head;
    if (!w)
        return NULL;
    s->head = w->next;
    if (!s->head)
        s->tail = NULL;
    struct fastcgi_conn *c = w->c;
    free(w);
    return c;
}

void fastcgi_pool_pass(const char *address, struct bufferevent *bev)
{
    struct fastcgi_server *s = fastcgi_pool_server(address);
    struct fastcgi_conn *c = fastcgi_pool_next(s);
    if (c)
        return fastcgi_resume(c, bev);
    bufferevent_free(bev);
    s->open--;
}

void fastcgi_pool_leave(const char *address)
{
    struct fastcgi_server *s = fastcgi_pool_server(address);
    struct fastcgi_conn *c = fastcgi_pool_next(s);
    if (c)
        return fastcgi_resume(c, NULL); /* the place is its: a new connection */
    s->open--;
}

void fastcgi_pool_forget(struct fastcgi_conn *c, const char *address)
{
    struct fastcgi_server *s = fastcgi_pool_server(address);
    struct fastcgi_waiter *prev = NULL;
    for (struct fastcgi_waiter *w = s->head; w; prev = w, w = w->next) {
        if (w->c != c)
            continue;
        if (prev)
            prev->next = w->next;
        else
            s->head = w->next;
        if (s->tail == w)
            s->tail = prev;
        free(w);
        return;
    }
}

void fastcgi_pool_free_all(void)
{
    while (fastcgi_servers) {
        struct fastcgi_server *s = fastcgi_servers;
        fastcgi_servers = s->next;
        while (fastcgi_pool_next(s))
            ;
        free(s);
    }
}
