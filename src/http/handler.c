/*
 * handler.c - a module's handler as HTTP dispatch sees it: the callback
 * for a request method, and the methods it allows (the Allow header).
 */
#include "http/handler.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "http/http_parser.h"

gale_handler_fn handler_fn(const gale_handler *h, int method)
{
    gale_handler_fn f = NULL;
    switch (method) {
    case HTTP_M_GET:
        f = h->get;
        break;
    case HTTP_M_HEAD:
        f = h->head ? h->head : h->get;
        break;
    case HTTP_M_POST:
        f = h->post;
        break;
    case HTTP_M_PUT:
        f = h->put;
        break;
    case HTTP_M_PATCH:
        f = h->patch;
        break;
    case HTTP_M_DELETE:
        f = h->del;
        break;
    case HTTP_M_OPTIONS:
        f = h->options;
        break;
    default:
        break;
    }
    return f ? f : h->any;
}

void handler_allow(const gale_handler *h, char *buf, size_t cap)
{
    static const struct {
        size_t off;
        const char *name;
    } methods[] = {
        {offsetof(gale_handler, get), "GET, HEAD"}, {offsetof(gale_handler, post), "POST"},
        {offsetof(gale_handler, put), "PUT"},       {offsetof(gale_handler, patch), "PATCH"},
        {offsetof(gale_handler, del), "DELETE"},    {offsetof(gale_handler, options), "OPTIONS"},
    };
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        gale_handler_fn f;
        memcpy(&f, (const char *)h + methods[i].off, sizeof(f));
        if (!f)
            continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", methods[i].name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (!h->options && n + 9 < cap)
        snprintf(buf + n, cap - n, "%sOPTIONS", n ? ", " : ""); /* gale answers it itself */
}
