/*
 * realip.h - requests that come through trusted reverse proxies: their
 * client address and scheme are taken from X-Real-IP, X-Forwarded-For and
 * X-Forwarded-Proto, but only when the connection comes from an address the
 * config trusts (trusted_proxies); from anyone else those headers are
 * ignored, since any client can send them.
 */
#ifndef GALE_REALIP_H
#define GALE_REALIP_H

#include <stddef.h>

struct config_cidr;

/* Whether the numeric address `ip` lies in one of the blocks. */
int realip_trusted(const struct config_cidr *blocks, size_t n, const char *ip);

/* The client address a request from `peer` stands for: `peer` when it is not
 * trusted; else X-Real-IP when it is an address (spaces and tabs around it
 * ignored); else X-Forwarded-For walked from the right, each entry that is an
 * address becoming the client, until one that is not a trusted proxy (the
 * leftmost when all are) or one that is not an address (nothing left of it is
 * believed); `peer` when the headers give nothing usable. Writes into out
 * (cap >= 46). tests/fuzz/fuzz_realip.c checks this. */
void realip_client(const struct config_cidr *blocks, size_t n, const char *peer,
                   const char *real_ip, const char *forwarded_for, char *out, size_t cap);

/* "https", "http" or NULL from an X-Forwarded-Proto value (its last entry). */
const char *realip_scheme(const char *forwarded_proto);

#endif
