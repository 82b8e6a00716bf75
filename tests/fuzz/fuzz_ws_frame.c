/*
 * fuzz_ws_frame.c - libFuzzer target for the WebSocket frame parser and
 * UTF-8 validator.
 *
 * Input: byte 0 picks the options (bit 0: permessage-deflate, bits 1-7: the
 * frame size limit), the rest is a client byte stream. The stream is parsed
 * whole and byte by byte, and both must tell the same story; every text
 * payload is checked against a separate, plainly written UTF-8 decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a run saw, in order; payload bytes are hashed so slicing does not
 * matter. */
struct fuzz_log {
    uint64_t h;
    int events;
};

static void fuzz_ws_frame_mix(struct fuzz_log *l, uint64_t v)
{
    l->h = (l->h ^ v) * 0x100000001b3ull;
}

/* The reference: decode each code point and check its value. */
static int fuzz_ws_frame_utf8_ref(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len, cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        if (len == 0 || c >= 0xf8 || i + len > n)
            return 0;
        cp = c & (0xff >> (len + 1));
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return 0;
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        i += len;
    }
    return 1;
}

static void fuzz_ws_frame_utf8(const unsigned char *s, size_t n)
{
    struct ws_utf8 u;
    size_t split = n ? s[0] % (n + 1) : 0;
    int ok;

    ws_frame_utf8_init(&u);
    ok = ws_frame_utf8_feed(&u, s, split) == 0 &&
         ws_frame_utf8_feed(&u, s + split, n - split) == 0 && ws_frame_utf8_finish(&u) == 0;
    if (ok != fuzz_ws_frame_utf8_ref(s, n))
        abort();
}

/* Feed in chunks of `step` (0: all at once) and log every event. */
static void fuzz_ws_frame_run(unsigned char *buf, size_t len, size_t step, uint64_t max,
                              int deflate, struct fuzz_log *l)
{
    struct ws_frame_parser p;
    struct ws_frame_event ev;
    size_t off = 0, used;

    ws_frame_parser_init(&p, max, deflate);
    memset(l, 0, sizeof(*l));
    while (off < len) {
        size_t chunk = step && len - off > step ? step : len - off, pos = 0;
        for (;;) {
            enum ws_frame_result r = ws_frame_parse(&p, buf + off + pos, chunk - pos, &used, &ev);
            if (used > chunk - pos)
                abort();
            pos += used;
            if (r == WS_FRAME_MORE)
                break;
            if (r == WS_FRAME_DATA) {
                /* Slices differ between feeding styles; their bytes do not. */
                if (ev.data_len == 0 || ev.data != buf + off + pos - used)
                    abort();
                for (size_t i = 0; i < ev.data_len; i++)
                    fuzz_ws_frame_mix(l, ev.data[i]);
                continue;
            }
            fuzz_ws_frame_mix(l, (uint64_t)r);
            l->events++;
            if (r == WS_FRAME_ERROR) {
                fuzz_ws_frame_mix(l, (uint64_t)ev.close_code);
                return;
            }
            fuzz_ws_frame_mix(l, ev.length);
            fuzz_ws_frame_mix(
                l, (uint64_t)(ev.fin | ev.opcode << 1 | ev.msg_opcode << 5 | ev.rsv1 << 9));
            if (ev.opcode >= WS_FRAME_CLOSE && ev.length > 125)
                abort();
            if (ev.length > max)
                abort();
        }
        off += chunk;
    }
}

/* Whatever is sent with a valid UTF-8 reason must parse back. */
static void fuzz_ws_frame_close(const unsigned char *s, size_t n)
{
    unsigned char out[125];
    size_t out_len, rl;
    int code = n >= 2 ? (s[0] << 8 | s[1]) % 5000 : 1000, back;
    const char *r;

    if (ws_frame_close_payload(out, &out_len, code, (const char *)s, n) < 0 || code == 0)
        return;
    if (out_len > 125)
        abort();
    if (!fuzz_ws_frame_utf8_ref(s, n))
        return;
    if (ws_frame_close_parse(out, out_len, &back, &r, &rl) < 0 || back != code)
        abort();
    if (rl > n || memcmp(r, s, rl) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_log whole, bytes;
    unsigned char *a, *b;
    uint64_t max;

    if (size < 1)
        return 0;
    max = (uint64_t)(data[0] >> 1) * 1000;
    a = malloc(size);
    b = malloc(size);
    if (a == NULL || b == NULL)
        abort();
    memcpy(a, data + 1, size - 1);
    memcpy(b, data + 1, size - 1);
    fuzz_ws_frame_run(a, size - 1, 0, max, data[0] & 1, &whole);
    fuzz_ws_frame_run(b, size - 1, 1, max, data[0] & 1, &bytes);
    if (whole.h != bytes.h || whole.events != bytes.events)
        abort();
    fuzz_ws_frame_utf8(data + 1, size - 1);
    fuzz_ws_frame_close(data + 1, size - 1);
    int code;
    const char *r;
    size_t rl;
    (void)ws_frame_close_parse(data + 1, size - 1, &code, &r, &rl);
    free(a);
    free(b);
    return 0;
}
