/*
 * realip.c - client address and scheme behind trusted proxies.
 */
#include "http/realip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

static int realip_in_block(const struct config_cidr *c, int family, const unsigned char *a)
{
    if (c->family != family)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, a, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (a[full] & mask);
}

static int realip_parse(const char *ip, unsigned char *a)
{
    if (inet_pton(AF_INET, ip, a) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, ip, a) == 1)
        return AF_INET6;
    return -1;
}

int realip_trusted(const struct config_cidr *blocks, size_t n, const char *ip)
{
    unsigned char a[16];
    int family = realip_parse(ip, a);
    for (size_t i = 0; family > 0 && i < n; i++)
        if (realip_in_block(&blocks[i], family, a))
            return 1;
    return 0;
}

/* Copy the trimmed token s[0..len) into out when it is a numeric address. */
static int realip_take(const char *s, size_t len, char *out, size_t cap)
{
    unsigned char a[16];
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= cap)
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return realip_parse(out, a) > 0 ? 0 : -1;
}

void realip_client(const struct config_cidr *blocks, size_t n, const char *peer,
                   const char *real_ip, const char *forwarded_for, char *out, size_t cap)
{
    snprintf(out, cap, "%s", peer);
    if (!realip_trusted(blocks, n, peer))
        return;
    if (real_ip && realip_take(real_ip, strlen(real_ip), out, cap) == 0)
        return;
    snprintf(out, cap, "%s", peer);
    if (!forwarded_for)
        return;
    /* From the right: each hop appended the address it saw; the first one
     * that is not one of our proxies is the client. */
    const char *end = forwarded_for + strlen(forwarded_for);
    char hop[64];
    while (end > forwarded_for) {
        const char *start = end;
        while (start > forwarded_for && start[-1] != ',')
            start--;
        if (realip_take(start, (size_t)(end - start), hop, sizeof(hop)) < 0)
            return; /* garbage: believe nothing further left */
        snprintf(out, cap, "%s", hop);
        if (!realip_trusted(blocks, n, hop))
            return;
        end = start > forwarded_for ? start - 1 : start;
    }
}

const char *realip_scheme(const char *forwarded_proto)
{
    if (!forwarded_proto)
        return NULL;
    const char *last = strrchr(forwarded_proto, ',');
    last = last ? last + 1 : forwarded_proto;
    last += strspn(last, " \t");
    size_t len = strcspn(last, " \t");
    if (len == 5 && !strncasecmp(last, "https", 5))
        return "https";
    if (len == 4 && !strncasecmp(last, "http", 4))
        return "http";
    return NULL;
}
