/*
 * login_jwt.c - OpenID Connect ID tokens: a JWS in compact serialization
 * (RFC 7515) whose signature is checked with OpenSSL against the provider's
 * JWK Set (RFC 7517), then its claims (OpenID Connect Core 3.1.3.7). Only
 * RS256 and ES256 are accepted: the algorithm is the key's, never chosen by
 * the token alone ("none" and HMAC with a public key are the classic
 * forgeries).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>

#include "login_pure.h"

/* The bytes of a base64url member of a JWK; NULL when absent or bad. */
static unsigned char *login_jwt_member(const json_t *jwk, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    return s ? login_encode_b64url_decode(s, strlen(s), len) : NULL;
}

static EVP_PKEY *login_jwt_fromdata(const char *type, OSSL_PARAM_BLD *b)
{
    EVP_PKEY *key = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

static EVP_PKEY *login_jwt_rsa(const json_t *jwk)
{
    size_t nl = 0, el = 0;
    unsigned char *n = login_jwt_member(jwk, "n", &nl), *e = login_jwt_member(jwk, "e", &el);
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL,
           *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
        key = login_jwt_fromdata("RSA", b);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return key;
}

static EVP_PKEY *login_jwt_ec(const json_t *jwk)
{
    size_t xl = 0, yl = 0;
    unsigned char *x = login_jwt_member(jwk, "x", &xl), *y = login_jwt_member(jwk, "y", &yl);
    unsigned char point[65];
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (x && y && xl == 32 && yl == 32 && b && crv && !strcmp(crv, "P-256")) {
        point[0] = 4; /* uncompressed: 04 || x || y (SEC 1) */
        memcpy(point + 1, x, 32);
        memcpy(point + 33, y, 32);
        if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
            key = login_jwt_fromdata("EC", b);
    }
    OSSL_PARAM_BLD_free(b);
    free(x);
    free(y);
    return key;
}

EVP_PKEY *login_jwt_key(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty && !strcmp(kty, "RSA"))
        return login_jwt_rsa(jwk);
    if (kty && !strcmp(kty, "EC"))
        return login_jwt_ec(jwk);
    return NULL;
}

/* JWS's ES256 signature is r||s, 32 bytes each; OpenSSL wants DER. */
static unsigned char *login_jwt_ecdsa_der(const unsigned char *sig, size_t len, size_t *der_len)
{
    if (len != 64)
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        int n = i2d_ECDSA_SIG(es, &der);
        *der_len = n > 0 ? (size_t)n : 0;
        if (n <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

int login_jwt_verify(const char *alg, EVP_PKEY *key, const char *data, size_t len,
                     const unsigned char *sig, size_t sig_len)
{
    int ec = !strcmp(alg, "ES256");
    if (!ec && strcmp(alg, "RS256"))
        return -1;
    if (EVP_PKEY_is_a(key, ec ? "EC" : "RSA") != 1)
        return -1;
    unsigned char *der = NULL;
    size_t der_len = 0;
    if (ec) {
        der = login_jwt_ecdsa_der(sig, sig_len, &der_len);
        if (!der)
            return -1;
        sig = der;
        sig_len = der_len;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)data, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

static int login_jwt_audience(const json_t *claims, const char *client_id)
{
    const json_t *aud = json_object_get(claims, "aud");
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    if (azp && strcmp(azp, client_id))
        return 0;
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), client_id);
    size_t i, found = 0;
    const json_t *v;
    json_array_foreach(aud, i, v) found |=
        json_is_string(v) && !strcmp(json_string_value(v), client_id);
    /* several audiences: the party it was issued to must be named (azp) */
    return found && (json_array_size(aud) == 1 || azp);
}

const char *login_jwt_claims(const json_t *claims, const struct login_jwt_expect *e)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    if (!json_is_string(json_object_get(claims, "sub")))
        return "the ID token has no subject";
    if (!iss || !e->issuer || strcmp(iss, e->issuer))
        return "the ID token's issuer is not the provider";
    if (!login_jwt_audience(claims, e->client_id))
        return "the ID token was issued to another client (audience)";
    if (!json_is_number(exp) || !json_is_number(iat))
        return "the ID token has no exp or iat";
    if (e->now > json_number_value(exp) + e->leeway)
        return "the ID token has expired";
    if (json_number_value(iat) > e->now + e->leeway)
        return "the ID token was issued in the future";
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    if (e->nonce && (!nonce || strcmp(nonce, e->nonce)))
        return "the ID token's nonce is not this login's";
    return NULL;
}

/* The key of jwks the header names (kid), or the first of its algorithm's
 * type when the header names none. */
static const json_t *login_jwt_find(const json_t *jwks, const char *kid, const char *kty)
{
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        const char *id = json_string_value(json_object_get(k, "kid"));
        const char *type = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        if (use && strcmp(use, "sig"))
            continue;
        if (kid ? id && !strcmp(id, kid) : type && !strcmp(type, kty))
            return k;
    }
    return NULL;
}

/* The parts of a compact JWS: the header and claims decoded, the signature. */
struct login_jwt_parts {
    json_t *header, *claims;
    unsigned char *sig;
    size_t sig_len;
    size_t signed_len; /* header.payload */
};

static json_t *login_jwt_json(const char *s, size_t n)
{
    size_t len;
    unsigned char *raw = login_encode_b64url_decode(s, n, &len);
    json_t *j = raw ? json_loadb((const char *)raw, len, 0, NULL) : NULL;
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int login_jwt_split(const char *token, struct login_jwt_parts *p)
{
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    memset(p, 0, sizeof(*p));
    if (!dot2 || strchr(dot2 + 1, '.'))
        return -1;
    p->header = login_jwt_json(token, (size_t)(dot1 - token));
    p->claims = login_jwt_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    p->sig = login_encode_b64url_decode(dot2 + 1, strlen(dot2 + 1), &p->sig_len);
    p->signed_len = (size_t)(dot2 - token);
    return p->header && p->claims && p->sig ? 0 : -1;
}

static void login_jwt_parts_free(struct login_jwt_parts *p)
{
    json_decref(p->header);
    json_decref(p->claims);
    free(p->sig);
}

static int login_jwt_signed(const char *token, const struct login_jwt_parts *p, const json_t *jwks,
                            const char **why)
{
    const char *alg = json_string_value(json_object_get(p->header, "alg"));
    const char *kid = json_string_value(json_object_get(p->header, "kid"));
    if (!alg || (strcmp(alg, "RS256") && strcmp(alg, "ES256"))) {
        *why = "the ID token's algorithm is not RS256 or ES256";
        return LOGIN_JWT_BAD;
    }
    const json_t *jwk = login_jwt_find(jwks, kid, alg[0] == 'R' ? "RSA" : "EC");
    if (!jwk) {
        *why = "no key of the provider has the ID token's key id";
        return LOGIN_JWT_NO_KEY;
    }
    EVP_PKEY *key = login_jwt_key(jwk);
    int rc = key ? login_jwt_verify(alg, key, token, p->signed_len, p->sig, p->sig_len) : -1;
    EVP_PKEY_free(key);
    if (rc < 0)
        *why = key ? "the ID token's signature is not valid" : "the provider's key is not usable";
    return rc < 0 ? LOGIN_JWT_BAD : LOGIN_JWT_OK;
}

int login_jwt_validate(const char *token, const json_t *jwks, const struct login_jwt_expect *e,
                       json_t **claims, const char **why)
{
    struct login_jwt_parts p;
    *claims = NULL;
    if (login_jwt_split(token, &p) < 0) {
        login_jwt_parts_free(&p);
        *why = "the ID token is malformed";
        return LOGIN_JWT_BAD;
    }
    int rc = login_jwt_signed(token, &p, jwks, why);
    if (rc == LOGIN_JWT_OK && (*why = login_jwt_claims(p.claims, e)) != NULL)
        rc = LOGIN_JWT_BAD;
    if (rc == LOGIN_JWT_OK)
        *claims = json_incref(p.claims);
    login_jwt_parts_free(&p);
    return rc;
}
