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

/* The client address a request from `peer` stands for: X-Real-IP when valid,
 * else the rightmost X-Forwarded-For entry that is not itself a trusted
 * proxy; `peer` when it is not trusted or the headers say nothing usable.
 * Writes into out (cap >= 46). */
void realip_client(const struct config_cidr *blocks, size_t n, const char *peer,
                   const char *real_ip, const char *forwarded_for, char *out, size_t cap);

/* "https", "http" or NULL from an X-Forwarded-Proto value (its last entry). */
const char *realip_scheme(const char *forwarded_proto);

#endif
