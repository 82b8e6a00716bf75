/*
 * ws_frame.c - WebSocket (RFC 6455) handshake key, frame parser, UTF-8
 * validator and frame encoders. See ws_frame.h for the contracts.
 */
#include <string.h>

#include <openssl/evp.h>

#include "ws/ws_frame.h"

#define WS_FRAME_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_FRAME_KEY_LEN 24

enum ws_frame_state { WS_FRAME_S_HEADER, WS_FRAME_S_PAYLOAD, WS_FRAME_S_END, WS_FRAME_S_ERROR };

/* ---- handshake ---- */

static int ws_frame_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* 16 bytes encode to 21 full sextets, one holding the last 2 bits, and
 * "=="; that sextet's low 4 bits must be zero or the key is not canonical. */
static int ws_frame_key_valid(const char *key, size_t len)
{
    if (len != WS_FRAME_KEY_LEN || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (ws_frame_b64_value(key[i]) < 0)
            return 0;
    return (ws_frame_b64_value(key[21]) & 0x0f) == 0;
}

int ws_frame_accept_key(const char *client_key, size_t len, char out[29])
{
    unsigned char in[WS_FRAME_KEY_LEN + sizeof(WS_FRAME_GUID) - 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (client_key == NULL || !ws_frame_key_valid(client_key, len))
        return -1;
    memcpy(in, client_key, WS_FRAME_KEY_LEN);
    memcpy(in + WS_FRAME_KEY_LEN, WS_FRAME_GUID, sizeof(WS_FRAME_GUID) - 1);
    if (EVP_Digest(in, sizeof(in), md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, md, 20) == 28 ? 0 : -1;
}

/* ---- frame parser ---- */

void ws_frame_parser_init(struct ws_frame_parser *p, uint64_t max_frame_payload, int allow_rsv1)
{
    memset(p, 0, sizeof(*p));
    p->max_payload = max_frame_payload;
    p->allow_rsv1 = allow_rsv1 != 0;
    p->hdr_need = 2;
    p->state = WS_FRAME_S_HEADER;
}

static int ws_frame_fail(struct ws_frame_parser *p, int code, const char *reason)
{
    p->state = WS_FRAME_S_ERROR;
    p->err_code = (uint16_t)code;
    p->err_reason = reason;
    return -1;
}

static int ws_frame_is_control(int opcode)
{
    return (opcode & 0x8) != 0;
}

/* The fragmentation rules of RFC 6455 5.4: a continuation needs an open
 * message, a new data frame needs none; control frames may come between. */
static int ws_frame_check_sequence(struct ws_frame_parser *p, int opcode, int fin)
{
    if (opcode == WS_FRAME_CONT) {
        if (p->msg_opcode == 0)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "continuation without a message");
        p->frame_msg_op = p->msg_opcode;
        if (fin)
            p->msg_opcode = 0;
        return 0;
    }
    if (p->msg_opcode != 0)
        return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "new message inside a fragmented one");
    p->frame_msg_op = (uint8_t)opcode;
    if (!fin)
        p->msg_opcode = (uint8_t)opcode;
    return 0;
}

/* Everything the first two bytes decide, checked before reading more so a
 * bad peer is stopped early. Sets hdr_need to the full header's size. */
static int ws_frame_check_first(struct ws_frame_parser *p)
{
    int fin = p->hdr[0] >> 7, rsv1 = (p->hdr[0] >> 6) & 1, opcode = p->hdr[0] & 0x0f;
    int len7 = p->hdr[1] & 0x7f;

    if (p->hdr[0] & 0x30)
        return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "reserved bit set");
    if (rsv1 && (!p->allow_rsv1 || opcode == WS_FRAME_CONT || ws_frame_is_control(opcode)))
        return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "reserved bit set");
    if ((opcode > WS_FRAME_BINARY && opcode < WS_FRAME_CLOSE) || opcode > WS_FRAME_PONG)
        return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "unknown opcode");
    if (!(p->hdr[1] & 0x80))
        return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "client frame not masked");
    if (ws_frame_is_control(opcode)) {
        if (!fin)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "fragmented control frame");
        if (len7 > 125)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "control frame too long");
        p->frame_msg_op = (uint8_t)opcode;
    } else if (ws_frame_check_sequence(p, opcode, fin) < 0) {
        return -1;
    }
    p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
    return 0;
}

/* Decode the length once the whole header is in; RFC 6455 5.2 asks for
 * the minimal encoding and a clear top bit in the 64-bit form. */
static int ws_frame_check_length(struct ws_frame_parser *p)
{
    int len7 = p->hdr[1] & 0x7f;
    uint64_t len = (uint64_t)len7;

    if (len7 == 126) {
        len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
        if (len < 126)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "length not minimally encoded");
    } else if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = (len << 8) | p->hdr[i];
        if (len >> 63)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "length has its top bit set");
        if (len <= 0xffff)
            return ws_frame_fail(p, WS_FRAME_CLOSE_PROTOCOL, "length not minimally encoded");
    }
    if (len > p->max_payload)
        return ws_frame_fail(p, WS_FRAME_CLOSE_TOO_BIG, "frame too big");
    p->length = len;
    p->done = 0;
    return 0;
}

static void ws_frame_describe(const struct ws_frame_parser *p, struct ws_frame_event *ev)
{
    ev->fin = p->hdr[0] >> 7;
    ev->opcode = p->hdr[0] & 0x0f;
    ev->msg_opcode = p->frame_msg_op;
    ev->rsv1 = (p->hdr[0] >> 6) & 1;
    ev->length = p->length;
}

static enum ws_frame_result ws_frame_parse_header(struct ws_frame_parser *p,
                                                  const unsigned char *buf, size_t len,
                                                  size_t *used, struct ws_frame_event *ev)
{
    size_t i = 0;

    while (p->hdr_len < p->hdr_need && i < len) {
        p->hdr[p->hdr_len++] = buf[i++];
        if (p->hdr_len == 2 && ws_frame_check_first(p) < 0)
            break;
    }
    *used = i;
    if (p->state == WS_FRAME_S_ERROR)
        return WS_FRAME_ERROR;
    if (p->hdr_len < p->hdr_need)
        return WS_FRAME_MORE;
    if (ws_frame_check_length(p) < 0)
        return WS_FRAME_ERROR;
    p->state = p->length ? WS_FRAME_S_PAYLOAD : WS_FRAME_S_END;
    ws_frame_describe(p, ev);
    return WS_FRAME_HEADER;
}

/* Payload byte n is XORed with key byte n % 4; `done` is n of buf[0].
 * Eight bytes at a time (memcpy: buf need not be aligned), as masking
 * costs as much as the rest of receiving a big message. */
static void ws_frame_unmask(unsigned char *buf, size_t n, const unsigned char key[4], uint64_t done)
{
    unsigned char k8[8];
    uint64_t k, w;
    size_t i = 0;

    for (int j = 0; j < 8; j++)
        k8[j] = key[(done + (uint64_t)j) & 3];
    memcpy(&k, k8, sizeof(k));
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, buf + i, sizeof(w));
        w ^= k;
        memcpy(buf + i, &w, sizeof(w));
    }
    for (; i < n; i++)
        buf[i] ^= key[(done + i) & 3];
}

/* The key is the last 4 header bytes. */
static enum ws_frame_result ws_frame_parse_payload(struct ws_frame_parser *p, unsigned char *buf,
                                                   size_t len, size_t *used,
                                                   struct ws_frame_event *ev)
{
    const unsigned char *key = p->hdr + p->hdr_need - 4;
    uint64_t left = p->length - p->done;
    size_t n = len < left ? len : (size_t)left;

    *used = n;
    if (n == 0)
        return WS_FRAME_MORE;
    ws_frame_unmask(buf, n, key, p->done);
    p->done += n;
    if (p->done == p->length)
        p->state = WS_FRAME_S_END;
    ws_frame_describe(p, ev);
    ev->data = buf;
    ev->data_len = n;
    return WS_FRAME_DATA;
}

static enum ws_frame_result ws_frame_parse_end(struct ws_frame_parser *p, struct ws_frame_event *ev)
{
    ws_frame_describe(p, ev);
    p->state = WS_FRAME_S_HEADER;
    p->hdr_len = 0;
    p->hdr_need = 2;
    return WS_FRAME_END;
}

enum ws_frame_result ws_frame_parse(struct ws_frame_parser *p, unsigned char *buf, size_t len,
                                    size_t *used, struct ws_frame_event *ev)
{
    enum ws_frame_result r = WS_FRAME_ERROR;

    memset(ev, 0, sizeof(*ev));
    *used = 0;
    switch (p->state) {
    case WS_FRAME_S_HEADER:
        r = ws_frame_parse_header(p, buf, len, used, ev);
        break;
    case WS_FRAME_S_PAYLOAD:
        r = ws_frame_parse_payload(p, buf, len, used, ev);
        break;
    case WS_FRAME_S_END:
        r = ws_frame_parse_end(p, ev);
        break;
    }
    if (p->state == WS_FRAME_S_ERROR) {
        ev->close_code = p->err_code;
        ev->reason = p->err_reason;
        return WS_FRAME_ERROR;
    }
    return r;
}

/* ---- UTF-8 ---- */

void ws_frame_utf8_init(struct ws_utf8 *u)
{
    memset(u, 0, sizeof(*u));
}

/* A lead byte sets how many continuations follow and the range of the
 * first one; the narrowed ranges are what exclude overlongs (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4), per RFC 3629 4. */
static int ws_frame_utf8_lead(struct ws_utf8 *u, unsigned char b)
{
    u->lo = 0x80;
    u->hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf)
        u->need = 1;
    else if (b >= 0xe0 && b <= 0xef)
        u->need = 2;
    else if (b >= 0xf0 && b <= 0xf4)
        u->need = 3;
    else
        return -1;
    if (b == 0xe0)
        u->lo = 0xa0;
    else if (b == 0xed)
        u->hi = 0x9f;
    else if (b == 0xf0)
        u->lo = 0x90;
    else if (b == 0xf4)
        u->hi = 0x8f;
    return 0;
}

/* Whether buf[0..8) is all ASCII: most text is, and is then checked a
 * word at a time. */
static int ws_frame_ascii8(const unsigned char *buf)
{
    uint64_t w;

    memcpy(&w, buf, sizeof(w));
    return (w & 0x8080808080808080ULL) == 0;
}

int ws_frame_utf8_feed(struct ws_utf8 *u, const unsigned char *buf, size_t len)
{
    size_t i = 0;

    while (i < len && !u->bad) {
        unsigned char b;
        if (u->need == 0 && buf[i] < 0x80) {
            while (len - i >= 8 && ws_frame_ascii8(buf + i))
                i += 8;
            while (i < len && buf[i] < 0x80)
                i++;
        } else if (u->need == 0) {
            if (ws_frame_utf8_lead(u, buf[i++]) < 0)
                u->bad = 1;
        } else if ((b = buf[i++]) < u->lo || b > u->hi) {
            u->bad = 1;
        } else {
            u->need--;
            u->lo = 0x80;
            u->hi = 0xbf;
        }
    }
    return u->bad ? -1 : 0;
}

int ws_frame_utf8_finish(const struct ws_utf8 *u)
{
    return u->bad || u->need ? -1 : 0;
}

/* ---- encoders and close frames ---- */

size_t ws_frame_header(unsigned char out[10], int fin, int opcode, uint64_t len, int rsv1)
{
    size_t n = 2;

    out[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (unsigned char)len;
        return n;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

int ws_frame_close_code_ok(int code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014) /* 1012-1014: registered with IANA since RFC 6455 */
        return 1;
    return code >= 3000 && code <= 4999;
}

int ws_frame_close_payload(unsigned char out[125], size_t *out_len, int code, const char *reason,
                           size_t reason_len)
{
    *out_len = 0;
    if (code == 0)
        return 0;
    if (!ws_frame_close_code_ok(code))
        return -1;
    if (reason_len > 123) {
        /* Back up over continuation bytes so no character is cut. */
        reason_len = 123;
        while (reason_len > 0 && ((unsigned char)reason[reason_len] & 0xc0) == 0x80)
            reason_len--;
    }
    out[0] = (unsigned char)(code >> 8);
    out[1] = (unsigned char)code;
    if (reason_len)
        memcpy(out + 2, reason, reason_len);
    *out_len = 2 + reason_len;
    return 0;
}

int ws_frame_close_parse(const unsigned char *payload, size_t len, int *code, const char **reason,
                         size_t *reason_len)
{
    struct ws_utf8 u;

    *reason = NULL;
    *reason_len = 0;
    if (len == 0) {
        *code = 1005;
        return 0;
    }
    *code = WS_FRAME_CLOSE_PROTOCOL;
    if (len == 1 || !ws_frame_close_code_ok((payload[0] << 8) | payload[1]))
        return -1;
    ws_frame_utf8_init(&u);
    if (ws_frame_utf8_feed(&u, payload + 2, len - 2) < 0 || ws_frame_utf8_finish(&u) < 0) {
        *code = WS_FRAME_CLOSE_INVALID_DATA;
        return -1;
    }
    *code = (payload[0] << 8) | payload[1];
    *reason = (const char *)payload + 2;
    *reason_len = len - 2;
    return 0;
}
