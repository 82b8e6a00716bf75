/*
 * loop.c - the per-worker loop context (see loop.h).
 */
#include "core/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/util.h"

const struct timeval *loop_timeout(struct loop *loop, double seconds)
{
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    return event_base_init_common_timeout(loop->base, &tv);
}

static int loop_init_timeouts(struct loop *loop)
{
    const struct config_limits *l = &loop->cfg->limits;
    loop->tv[LOOP_TV_HEADER] = loop_timeout(loop, l->header_timeout);
    loop->tv[LOOP_TV_BODY] = loop_timeout(loop, l->body_timeout);
    loop->tv[LOOP_TV_IDLE] = loop_timeout(loop, l->idle_timeout);
    loop->tv[LOOP_TV_SEND] = loop_timeout(loop, l->send_timeout);
    loop->tv[LOOP_TV_LINGER] = loop_timeout(loop, 2.0);
    /* While draining, an idle keep-alive connection gets this long to send
     * its next request (answered with Connection: close) before it is closed:
     * closing at once would race with a request already on the wire. */
    loop->tv[LOOP_TV_DRAIN_IDLE] =
        loop_timeout(loop, l->idle_timeout < 2.0 ? l->idle_timeout : 2.0);
    for (size_t i = 0; i < LOOP_TV_COUNT; i++)
        if (!loop->tv[i])
            return -1;
    return 0;
}

int loop_init(struct loop *loop, struct event_base *base, const struct config *cfg, int id)
{
    loop->base = base;
    loop->cfg = cfg;
    loop->id = id;
    size_t n = strlen(cfg->server_header) + 11;
    loop->server = xmalloc(n);
    loop->server_len = (size_t)snprintf(loop->server, n, "Server: %s\r\n", cfg->server_header);
    return loop_init_timeouts(loop);
}

void loop_free(struct loop *loop)
{
    free(loop->server);
    loop->server = NULL;
}

const char *loop_date_header(struct loop *loop, size_t *len)
{
    struct timeval now;
    event_base_gettimeofday_cached(loop->base, &now);
    if (now.tv_sec != loop->date_sec) {
        struct tm tm;
        loop->date_sec = now.tv_sec;
        gmtime_r(&now.tv_sec, &tm);
        loop->date_len =
            strftime(loop->date, sizeof(loop->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    }
    *len = loop->date_len;
    return loop->date;
}
