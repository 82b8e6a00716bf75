/*
 * ws_frame.h - WebSocket (RFC 6455) pure logic: the opening handshake's
 * accept key, an incremental parser for frames from a client, an incremental
 * UTF-8 validator for text messages, and encoders for frames to a client.
 *
 * No I/O and no allocation. Functions return 0 on success and -1 on error
 * unless they say otherwise.
 */
#ifndef GALE_WS_FRAME_H
#define GALE_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum ws_frame_opcode {
    WS_FRAME_CONT = 0x0,
    WS_FRAME_TEXT = 0x1,
    WS_FRAME_BINARY = 0x2,
    WS_FRAME_CLOSE = 0x8,
    WS_FRAME_PING = 0x9,
    WS_FRAME_PONG = 0xa,
};

/* Close codes the parser and validators answer with (RFC 6455 7.4.1). */
#define WS_FRAME_CLOSE_NORMAL 1000
#define WS_FRAME_CLOSE_PROTOCOL 1002
#define WS_FRAME_CLOSE_INVALID_DATA 1007
#define WS_FRAME_CLOSE_POLICY 1008
#define WS_FRAME_CLOSE_TOO_BIG 1009

/*
 * The handshake: write the Sec-WebSocket-Accept value for the client's
 * Sec-WebSocket-Key (client_key[0..len), not NUL-terminated) into out, as 28
 * characters and a NUL. -1 when the key is not the base64 of 16 bytes
 * (24 characters ending in "==", canonical padding bits), which RFC 6455
 * 4.2.1 item 5 asks the server to refuse with 400.
 */
int ws_frame_accept_key(const char *client_key, size_t len, char out[29]);

/*
 * The frame parser, for frames FROM a client.
 *
 * Feed it whatever bytes arrived, split anywhere. Each call returns one
 * event; call again with the rest of the input (buf + *used) until it
 * returns WS_FRAME_MORE, which means every byte given was consumed and it
 * needs more. A frame gives one HEADER, zero or more DATA (none when the
 * payload is empty), then one END.
 *
 * Payload is unmasked IN PLACE: ev->data points into buf, which is why buf
 * is not const. A DATA slice is valid until the caller reuses buf.
 *
 * Errors are final: once ERROR is returned, every later call returns it
 * again. The caller then sends a close frame with ev->close_code and
 * ev->reason and stops reading, as RFC 6455 7.1.7 asks.
 *
 * The parser enforces the framing rules, not message content: text
 * payloads go through struct ws_utf8, close payloads through
 * ws_frame_close_parse, and the total size of a fragmented message is the
 * caller's to limit.
 */
enum ws_frame_result {
    WS_FRAME_ERROR = -1,
    WS_FRAME_MORE = 0,
    WS_FRAME_HEADER,
    WS_FRAME_DATA,
    WS_FRAME_END,
};

struct ws_frame_event {
    int fin;             /* HEADER, DATA, END: this frame ends its message */
    int opcode;          /* HEADER, DATA, END: the frame's opcode */
    int msg_opcode;      /* TEXT or BINARY for data frames, continuations
                          * included; the opcode itself for control frames */
    int rsv1;            /* HEADER: compressed (permessage-deflate only) */
    uint64_t length;     /* HEADER, DATA, END: the frame's payload length */
    unsigned char *data; /* DATA: unmasked bytes, inside the caller's buf */
    size_t data_len;
    int close_code;     /* ERROR: 1002 or 1009 */
    const char *reason; /* ERROR: static, short, for the close frame */
};

struct ws_frame_parser {
    uint64_t max_payload; /* larger frames get 1009 */
    uint64_t length;      /* of the current frame's payload */
    uint64_t done;        /* payload bytes already delivered */
    unsigned char hdr[14];
    uint8_t hdr_len, hdr_need;
    uint8_t state;
    uint8_t allow_rsv1;
    uint8_t msg_opcode;   /* of the fragmented message still open, or 0 */
    uint8_t frame_msg_op; /* the current frame's message opcode */
    uint16_t err_code;
    const char *err_reason;
};

/* allow_rsv1: the connection negotiated permessage-deflate (RFC 7692),
 * so RSV1 may be set on the first frame of a data message. */
void ws_frame_parser_init(struct ws_frame_parser *p, uint64_t max_frame_payload, int allow_rsv1);
enum ws_frame_result ws_frame_parse(struct ws_frame_parser *p, unsigned char *buf, size_t len,
                                    size_t *used, struct ws_frame_event *ev);

/*
 * The UTF-8 validator, for a text message that arrives in slices split
 * anywhere, code points included. Rejects what RFC 3629 rejects: overlong
 * forms, surrogates (U+D800-DFFF), code points above U+10FFFF, bytes C0,
 * C1, F5-FF, and stray continuation bytes. A failure is final. Answer a
 * failure with close code 1007.
 */
struct ws_utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* the range the next continuation byte must be in */
    uint8_t bad;
};

void ws_frame_utf8_init(struct ws_utf8 *u);
/* -1 as soon as the bytes so far cannot begin valid UTF-8. */
int ws_frame_utf8_feed(struct ws_utf8 *u, const unsigned char *buf, size_t len);
/* At the end of the message: -1 also when a code point is cut short. */
int ws_frame_utf8_finish(const struct ws_utf8 *u);

/*
 * Encoders, for frames TO a client, which are never masked.
 *
 * ws_frame_header writes the 2 to 10 byte header and returns its length.
 */
size_t ws_frame_header(unsigned char out[10], int fin, int opcode, uint64_t len, int rsv1);

/*
 * A close frame's payload: the code, then the reason (UTF-8, which the
 * caller vouches for) cut to 123 bytes without splitting a character, so
 * the payload fits a control frame's 125. code 0 means no code and no
 * reason (an empty payload). -1 for a code that may not be sent (see
 * ws_frame_close_code_ok).
 */
int ws_frame_close_payload(unsigned char out[125], size_t *out_len, int code, const char *reason,
                           size_t reason_len);

/* 1: code may appear in a close frame (1000-1003, 1007-1014, 3000-4999). */
int ws_frame_close_code_ok(int code);

/*
 * A received close frame's payload. On success *code is the code, or 1005
 * ("no status", RFC 6455 7.1.5) for an empty payload, and the reason points
 * into payload. On -1 *code is what to answer: 1002 for a 1-byte payload or
 * a bad code, 1007 for a reason that is not UTF-8.
 */
int ws_frame_close_parse(const unsigned char *payload, size_t len, int *code, const char **reason,
                         size_t *reason_len);

#endif
