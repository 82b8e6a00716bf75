/*
 * ws_message.c - a message framed (and compressed) once, sent to many
 * WebSockets: see ws_message.h.
 */
#include "ws/ws_message.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/util.h"
#include "ws/ws_deflate.h"
#include "ws/ws_frame.h"

/* Below this, copying the rest of a frame costs less than a reference
 * (an evbuffer chain of its own and a callback when it is sent). */
#define WS_MESSAGE_REF_MIN 2048
/* server_max_window_bits 9..15: one compressed frame for each. */
#define WS_MESSAGE_WINDOWS 7

enum ws_message_z { WS_Z_UNTRIED, WS_Z_DONE, WS_Z_PLAIN };

struct ws_message_deflated {
    enum ws_message_z state;
    unsigned char hdr[10];
    size_t hlen;
    unsigned char *data; /* owned */
    size_t len;
};

struct gale_ws_message {
    unsigned refs;
    int opcode;
    unsigned char hdr[10];
    size_t hlen;
    unsigned char *data; /* owned copy of the payload */
    size_t len;
    struct ws_message_deflated z[WS_MESSAGE_WINDOWS];
};

gale_ws_message *gale_ws_message_new(const void *data, size_t len, int binary)
{
    if (!data && len)
        return NULL;
    gale_ws_message *m = xcalloc(1, sizeof(*m));
    m->refs = 1;
    m->opcode = binary ? WS_FRAME_BINARY : WS_FRAME_TEXT;
    m->hlen = ws_frame_header(m->hdr, 1, m->opcode, len, 0);
    m->data = xmalloc(len ? len : 1);
    if (len)
        memcpy(m->data, data, len);
    m->len = len;
    return m;
}

static void ws_message_unref(gale_ws_message *m)
{
    if (--m->refs > 0)
        return;
    for (size_t i = 0; i < WS_MESSAGE_WINDOWS; i++)
        free(m->z[i].data);
    free(m->data);
    free(m);
}

void gale_ws_message_free(gale_ws_message *m)
{
    if (m)
        ws_message_unref(m);
}

void ws_message_plain(gale_ws_message *m, struct ws_message_frame *f)
{
    f->hdr = m->hdr;
    f->hlen = m->hlen;
    f->data = m->data;
    f->len = m->len;
    f->rsv1 = 0;
    f->binary = m->opcode == WS_FRAME_BINARY;
}

/* Compress m once for window bits p->server_max_window_bits. */
static void ws_message_compress(gale_ws_message *m, struct ws_message_deflated *z,
                                const struct ws_deflate_params *p, int level)
{
    struct ws_deflate_params one = *p;
    one.server_no_context_takeover = 1;
    struct ws_deflate *d = ws_deflate_new(&one, level);
    struct evbuffer *out = evbuffer_new();
    z->state = WS_Z_PLAIN;
    if (d && out && ws_deflate_compress(d, m->data, m->len, out) == 0) {
        z->len = evbuffer_get_length(out);
        z->data = xmalloc(z->len ? z->len : 1);
        evbuffer_remove(out, z->data, z->len);
        z->hlen = ws_frame_header(z->hdr, 1, m->opcode, z->len, 1);
        z->state = WS_Z_DONE;
    }
    if (out)
        evbuffer_free(out);
    ws_deflate_free(d);
}

int ws_message_deflated(gale_ws_message *m, const struct ws_deflate_params *p, int level,
                        size_t min_len, struct ws_message_frame *f)
{
    int bits = p->server_max_window_bits;
    if (!p->server_no_context_takeover || m->len < min_len || bits < 9 || bits > 15)
        return -1;
    struct ws_message_deflated *z = &m->z[bits - 9];
    if (z->state == WS_Z_UNTRIED)
        ws_message_compress(m, z, p, level);
    if (z->state != WS_Z_DONE)
        return -1;
    f->hdr = z->hdr;
    f->hlen = z->hlen;
    f->data = z->data;
    f->len = z->len;
    f->rsv1 = 1;
    f->binary = m->opcode == WS_FRAME_BINARY;
    return 0;
}

static void ws_message_release(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    ws_message_unref(arg);
}

void ws_message_add_to(gale_ws_message *m, const struct ws_message_frame *f, size_t skip,
                       struct evbuffer *out)
{
    if (skip < f->hlen) {
        evbuffer_add(out, f->hdr + skip, f->hlen - skip);
        skip = 0;
    } else {
        skip -= f->hlen;
    }
    size_t rest = f->len - skip;
    if (!m || rest < WS_MESSAGE_REF_MIN) {
        evbuffer_add(out, f->data + skip, rest);
        return;
    }
    m->refs++;
    if (evbuffer_add_reference(out, f->data + skip, rest, ws_message_release, m) < 0)
        util_oom();
}
