/*
 * login_pure.h - the parts of the login module that know no request: text
 * encodings, JSON Web Tokens, OAuth 1.0a signatures. They call no gale
 * function but base64url's, so the unit tests link them with
 * src/core/base64.c alone. Every string they return is malloc'd: the
 * caller frees it.
 */
#ifndef GALE_MODULE_LOGIN_PURE_H
#define GALE_MODULE_LOGIN_PURE_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

/* ---- login_encode.c ---- */

/* base64url without padding (RFC 4648 section 5, as JWS and PKCE use it). */
char *login_encode_b64url(const unsigned char *in, size_t n);
/* Its inverse; NULL on a character outside the alphabet, padding, or a
 * length no encoder makes. *out_len gets the byte count (a NUL follows). */
unsigned char *login_encode_b64url_decode(const char *in, size_t n, size_t *out_len);
/* Standard base64 with padding (the OAuth 1.0a signature). */
char *login_encode_b64(const unsigned char *in, size_t n);
/* RFC 3986 percent-encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX
 * (upper case), as OAuth 1.0a (RFC 5849 section 3.6) requires. */
char *login_encode_percent(const char *s, size_t n);
/* Form decoding of n bytes: %XX and '+' as a space; NULL on a bad escape
 * or an escaped NUL. */
char *login_encode_percent_decode(const char *s, size_t n);

/* ---- login_jwt.c: ID tokens (JWS compact serialization, RFC 7515/7519) ---- */

/* What an ID token must say (OpenID Connect Core 3.1.3.7). */
struct login_jwt_expect {
    const char *issuer;    /* iss must equal it */
    const char *client_id; /* in aud; azp when aud lists several */
    const char *nonce;     /* nonce must equal it; NULL: not checked */
    double now;            /* seconds since 1970 */
    double leeway;         /* seconds of clock skew allowed on exp and iat */
};

enum login_jwt_result {
    LOGIN_JWT_OK = 0,
    LOGIN_JWT_BAD = -1,   /* malformed, bad signature or claims: *why says which */
    LOGIN_JWT_NO_KEY = 1, /* no key of the set has its kid: fetch the set again */
};

/* Check token (header.payload.signature) against the key set jwks (a JWK
 * Set: {"keys": [...]}) and e: RS256 or ES256 (P-256) only. On
 * LOGIN_JWT_OK, *claims is a new reference to the payload (json_decref it);
 * otherwise *why is a static text for the log and page. */
int login_jwt_validate(const char *token, const json_t *jwks, const struct login_jwt_expect *e,
                       json_t **claims, const char **why);
/* The public key of a JWK: RSA (n, e) or EC P-256 (x, y); NULL otherwise. */
EVP_PKEY *login_jwt_key(const json_t *jwk);
/* Whether sig is a valid alg ("RS256" or "ES256") signature of data by key:
 * 0 when it is, -1 otherwise. ES256's sig is JWS's raw r||s (64 bytes). */
int login_jwt_verify(const char *alg, EVP_PKEY *key, const char *data, size_t len,
                     const unsigned char *sig, size_t sig_len);
/* The claims check alone: NULL when they satisfy e, else why not. */
const char *login_jwt_claims(const json_t *claims, const struct login_jwt_expect *e);

/* ---- login_oauth1_sign.c: RFC 5849 section 3.4 ---- */

/* One request parameter, decoded (the oauth_* ones, the form body's). */
struct login_param {
    const char *name;
    const char *value;
};

/* The signature base string of a request: method, the base string URI of
 * url (scheme and host in lower case, default port dropped, no query) and
 * the normalized parameters: those of url's query and the n given, sorted
 * by encoded name then value. NULL for a url that is not http(s)://HOST... */
char *login_oauth1_sign_base(const char *method, const char *url, const struct login_param *p,
                             size_t n);
/* HMAC-SHA1 of base keyed by the encoded secrets joined by '&', in base64
 * (token_secret NULL: ""). */
char *login_oauth1_sign(const char *base, const char *consumer_secret, const char *token_secret);

#endif
