/*
 * login_oauth1_sign.c - OAuth 1.0a request signatures (RFC 5849 section
 * 3.4): the signature base string and its HMAC-SHA1. Twitter/X still signs
 * this way; Tornado's tornado.auth does the same (its _oauth10a_signature).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "login_pure.h"

/* One parameter, both halves encoded: the form sorted and joined. */
struct login_oauth1_sign_pair {
    char *name, *value;
};

static int login_oauth1_sign_cmp(const void *a, const void *b)
{
    const struct login_oauth1_sign_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The base string URI (section 3.4.1.2) of url, its query in *query. */
static char *login_oauth1_sign_uri(const char *url, const char **query)
{
    size_t scheme = strncasecmp(url, "https://", 8) == 0  ? 8
                    : strncasecmp(url, "http://", 7) == 0 ? 7
                                                          : 0;
    if (!scheme)
        return NULL;
    const char *host = url + scheme;
    size_t hlen = strcspn(host, "/?#");
    const char *path = host + hlen;
    size_t plen = strcspn(path, "?#");
    *query = path[plen] == '?' ? path + plen + 1 : "";
    /* the default port is not part of it */
    const char *dflt = scheme == 8 ? ":443" : ":80";
    if (hlen > strlen(dflt) && !strncmp(host + hlen - strlen(dflt), dflt, strlen(dflt)))
        hlen -= strlen(dflt);
    if (!hlen)
        return NULL;
    char *out = malloc(scheme + hlen + plen + 2);
    if (!out)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < scheme + hlen; i++)
        out[o++] = (char)tolower((unsigned char)url[i]);
    if (!plen)
        out[o++] = '/';
    memcpy(out + o, path, plen);
    out[o + plen] = 0;
    return out;
}

/* The pairs of a query string, decoded then encoded; the count, or -1. */
static long login_oauth1_sign_query(const char *q, struct login_oauth1_sign_pair *out)
{
    long n = 0;
    size_t qlen = strcspn(q, "#");
    for (size_t i = 0; i < qlen;) {
        size_t len = strcspn(q + i, "&#");
        if (len > qlen - i)
            len = qlen - i;
        if (len) {
            size_t eq = strcspn(q + i, "=&#");
            if (eq > len)
                eq = len;
            char *name = login_encode_percent_decode(q + i, eq);
            char *value =
                login_encode_percent_decode(q + i + eq + (eq < len), len - eq - (eq < len));
            if (!name || !value) {
                free(name);
                free(value);
                return -1;
            }
            if (out) {
                out[n].name = login_encode_percent(name, strlen(name));
                out[n].value = login_encode_percent(value, strlen(value));
            }
            free(name);
            free(value);
            n++;
        }
        i += len + 1;
    }
    return n;
}

/* The normalized parameters (section 3.4.1.3.2), not yet encoded again. */
static char *login_oauth1_sign_params(const char *query, const struct login_param *p, size_t n)
{
    long nq = login_oauth1_sign_query(query, NULL);
    if (nq < 0)
        return NULL;
    size_t total = (size_t)nq + n, len = 1;
    struct login_oauth1_sign_pair *pairs = calloc(total + 1, sizeof(*pairs));
    if (!pairs)
        abort();
    login_oauth1_sign_query(query, pairs);
    for (size_t i = 0; i < n; i++) {
        pairs[nq + i].name = login_encode_percent(p[i].name, strlen(p[i].name));
        pairs[nq + i].value = login_encode_percent(p[i].value, strlen(p[i].value));
    }
    qsort(pairs, total, sizeof(*pairs), login_oauth1_sign_cmp);
    for (size_t i = 0; i < total; i++)
        len += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
    char *out = malloc(len), *o = out;
    if (!out)
        abort();
    *o = 0;
    for (size_t i = 0; i < total; i++) {
        o += sprintf(o, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return out;
}

char *login_oauth1_sign_base(const char *method, const char *url, const struct login_param *p,
                             size_t n)
{
    const char *query;
    char *uri = login_oauth1_sign_uri(url, &query);
    char *params = uri ? login_oauth1_sign_params(query, p, n) : NULL;
    if (!params) {
        free(uri);
        return NULL;
    }
    char *m = login_encode_percent(method, strlen(method));
    char *u = login_encode_percent(uri, strlen(uri));
    char *q = login_encode_percent(params, strlen(params));
    char *out = malloc(strlen(m) + strlen(u) + strlen(q) + 3);
    if (!out)
        abort();
    sprintf(out, "%s&%s&%s", m, u, q);
    for (char *c = out; *c && *c != '&'; c++)
        *c = (char)toupper((unsigned char)*c);
    free(m);
    free(u);
    free(q);
    free(uri);
    free(params);
    return out;
}

char *login_oauth1_sign(const char *base, const char *consumer_secret, const char *token_secret)
{
    char *cs = login_encode_percent(consumer_secret, strlen(consumer_secret));
    char *ts = login_encode_percent(token_secret ? token_secret : "",
                                    token_secret ? strlen(token_secret) : 0);
    size_t klen = strlen(cs) + strlen(ts) + 1;
    char *key = malloc(klen + 1);
    if (!key)
        abort();
    sprintf(key, "%s&%s", cs, ts);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char *out = NULL;
    if (HMAC(EVP_sha1(), key, (int)klen, (const unsigned char *)base, strlen(base), md, &md_len))
        out = login_encode_b64(md, md_len);
    free(cs);
    free(ts);
    free(key);
    return out;
}
