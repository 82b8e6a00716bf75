/*
 * fuzz_login.c - libFuzzer target for modules/login's pure parts: ID tokens
 * (login_jwt.c: JWS split, base64url, JWK keys, signatures, claims), the
 * OAuth 1.0a base string's URL and query parsing (login_oauth1_sign.c) and
 * form decoding (login_encode.c).
 *
 * Input: a JWK Set (JSON) up to the first LF, then an ID token. The whole
 * input also goes through the base string (as a URL) and form decoding. A
 * token may be accepted only when its claims pass login_jwt_claims; a
 * decoded form never holds a NUL.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Imodules \
 *       modules/login/login_encode.c modules/login/login_jwt.c \
 *       modules/login/login_oauth1_sign.c tests/fuzz/fuzz_login.c \
 *       $(pkg-config --cflags --libs jansson libcrypto) -o fuzz_login
 *   ./fuzz_login tests/fuzz/corpus_login
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "login/login_pure.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static void fuzz_login_jwt(const char *text, size_t size)
{
    const char *nl = memchr(text, '\n', size);
    if (!nl)
        return;
    json_t *jwks = json_loadb(text, (size_t)(nl - text), 0, NULL);
    const struct login_jwt_expect e = {"https://id.example", "client1", "n0nce", 1700000000.0, 60};
    json_t *claims = NULL;
    const char *why = NULL;
    int rc = login_jwt_validate(nl + 1, jwks, &e, &claims, &why);
    CHECK((rc == LOGIN_JWT_OK) == (claims != NULL));
    CHECK(rc == LOGIN_JWT_OK || why != NULL);
    if (claims)
        CHECK(login_jwt_claims(claims, &e) == NULL);
    json_decref(claims);
    json_decref(jwks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    size_t len = strlen(text); /* the C strings the module is given stop at a NUL */
    fuzz_login_jwt(text, len);
    const struct login_param p[] = {{"oauth_nonce", text}, {text, ""}};
    char *base = login_oauth1_sign_base("POST", text, p, 2);
    if (base) {
        char *sig = login_oauth1_sign(base, text, NULL);
        CHECK(sig && strlen(sig) == 28);
        free(sig);
    }
    free(base);
    char *form = login_encode_percent_decode(text, len);
    if (form)
        CHECK(strlen(form) <= len);
    free(form);
    size_t n;
    unsigned char *raw = login_encode_b64url_decode(text, len, &n);
    if (raw) {
        /* what it decodes to encodes back to a text that decodes the same */
        char *again = login_encode_b64url(raw, n);
        size_t n2;
        unsigned char *raw2 = login_encode_b64url_decode(again, strlen(again), &n2);
        CHECK(raw2 && n2 == n && memcmp(raw, raw2, n) == 0);
        free(again);
        free(raw2);
    }
    free(raw);
    free(text);
    return 0;
}
