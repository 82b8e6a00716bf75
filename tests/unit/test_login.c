/*
 * test_login.c - the pure parts of modules/login: base64url, ID token
 * validation (keys made here with OpenSSL, tokens signed here: RS256 and
 * ES256, bad signatures, the claims' checks) and OAuth 1.0a signatures
 * against RFC 5849's own examples (section 1.2's three requests, whose
 * signatures Tornado's _oauth10a_signature gives too, and section 3.4.1's
 * base string).
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "login/login_pure.h"

#define NOW 1700000000.0

static EVP_PKEY *rsa_key, *ec_key;

static void test_b64url(void)
{
    size_t n;
    char *s = login_encode_b64url((const unsigned char *)"\xfb\xff\xbf", 3);
    CU_ASSERT_STRING_EQUAL(s, "-_-_");
    free(s);
    s = login_encode_b64url((const unsigned char *)"ab", 2);
    CU_ASSERT_STRING_EQUAL(s, "YWI");
    unsigned char *d = login_encode_b64url_decode(s, strlen(s), &n);
    CU_ASSERT(n == 2 && !memcmp(d, "ab", 2));
    free(s);
    free(d);
    CU_ASSERT_PTR_NULL(login_encode_b64url_decode("YWI=", 4, &n)); /* JWS has no padding */
    CU_ASSERT_PTR_NULL(login_encode_b64url_decode("Y+I", 3, &n));
    CU_ASSERT_PTR_NULL(login_encode_b64url_decode("YWIYW", 5, &n));
    s = login_encode_percent("a b~&=\xc3\xa9", 8);
    CU_ASSERT_STRING_EQUAL(s, "a%20b~%26%3D%C3%A9");
    free(s);
    s = login_encode_percent_decode("a+b%2B%7e", 9);
    CU_ASSERT_STRING_EQUAL(s, "a b+~");
    free(s);
    CU_ASSERT_PTR_NULL(login_encode_percent_decode("%2", 2));
    CU_ASSERT_PTR_NULL(login_encode_percent_decode("%00", 3));
}

/* ---- tokens made here ---- */

static char *b64(const void *p, size_t n)
{
    return login_encode_b64url(p, n);
}

static char *bn64(EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, name, &bn);
    unsigned char buf[512];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64(buf, (size_t)n);
}

/* The JWK Set of both keys: kid "r1" (RSA) and "e1" (EC). */
static json_t *jwks(void)
{
    unsigned char pt[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(ec_key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len);
    CU_ASSERT(len == 65 && pt[0] == 4);
    char *n = bn64(rsa_key, OSSL_PKEY_PARAM_RSA_N), *e = bn64(rsa_key, OSSL_PKEY_PARAM_RSA_E);
    char *x = b64(pt + 1, 32), *y = b64(pt + 33, 32);
    json_t *set = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s}]}", "keys", "kty",
                            "RSA", "kid", "r1", "use", "sig", "n", n, "e", e, "kty", "EC", "kid",
                            "e1", "crv", "P-256", "x", x, "y", y);
    free(n);
    free(e);
    free(x);
    free(y);
    return set;
}

/* header.payload signed by key as alg; ES256 as r||s. */
static char *sign(const char *alg, const char *kid, EVP_PKEY *key, json_t *claims)
{
    json_t *hdr = json_pack("{s:s,s:s,s:s}", "alg", alg, "typ", "JWT", "kid", kid);
    char *h = json_dumps(hdr, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT);
    char *h64 = b64(h, strlen(h)), *c64 = b64(c, strlen(c));
    char *data = malloc(strlen(h64) + strlen(c64) + 2);
    sprintf(data, "%s.%s", h64, c64);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024], raw[64];
    size_t slen = sizeof(sig);
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(md, sig, &slen, (unsigned char *)data, strlen(data));
    EVP_MD_CTX_free(md);
    const unsigned char *s = sig;
    if (!strcmp(alg, "ES256")) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        s = raw;
        slen = 64;
    }
    char *s64 = b64(s, slen);
    char *tok = malloc(strlen(data) + strlen(s64) + 2);
    sprintf(tok, "%s.%s", data, s64);
    free(h);
    free(c);
    free(h64);
    free(c64);
    free(data);
    free(s64);
    json_decref(hdr);
    return tok;
}

static json_t *claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:f,s:f,s:s}", "iss", "https://id.example", "sub", "u42", "aud",
                     "client1", "iat", NOW - 10, "exp", NOW + 300, "nonce", "n0nce");
}

static const struct login_jwt_expect EXPECT = {"https://id.example", "client1", "n0nce", NOW, 60};

/* validate a token of claims c signed as alg/kid: the result, *why. */
static int check(const char *alg, const char *kid, json_t *c, const char **why)
{
    json_t *set = jwks(), *got = NULL;
    char *tok = sign(alg, kid, alg[0] == 'R' ? rsa_key : ec_key, c);
    int rc = login_jwt_validate(tok, set, &EXPECT, &got, why);
    if (rc == LOGIN_JWT_OK)
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(got, "sub")), "u42");
    json_decref(got);
    json_decref(set);
    json_decref(c);
    free(tok);
    return rc;
}

static void test_jwt_good(void)
{
    const char *why = NULL;
    CU_ASSERT_EQUAL(check("RS256", "r1", claims(), &why), LOGIN_JWT_OK);
    CU_ASSERT_EQUAL(check("ES256", "e1", claims(), &why), LOGIN_JWT_OK);
    json_t *c = claims(); /* a list of audiences, with azp */
    json_object_set_new(c, "aud", json_pack("[s,s]", "other", "client1"));
    json_object_set_new(c, "azp", json_string("client1"));
    CU_ASSERT_EQUAL(check("RS256", "r1", c, &why), LOGIN_JWT_OK);
    c = claims(); /* expired, but within the leeway */
    json_object_set_new(c, "exp", json_real(NOW - 30));
    CU_ASSERT_EQUAL(check("ES256", "e1", c, &why), LOGIN_JWT_OK);
}

static void test_jwt_bad(void)
{
    const char *why = NULL;
    CU_ASSERT_EQUAL(check("RS256", "zz", claims(), &why), LOGIN_JWT_NO_KEY);
    CU_ASSERT_EQUAL(check("RS256", "e1", claims(), &why), LOGIN_JWT_BAD); /* EC key for RS256 */
    json_t *c = claims();
    json_object_set_new(c, "exp", json_real(NOW - 61));
    CU_ASSERT_EQUAL(check("RS256", "r1", c, &why), LOGIN_JWT_BAD);
    CU_ASSERT_STRING_EQUAL(why, "the ID token has expired");
    c = claims();
    json_object_set_new(c, "iat", json_real(NOW + 120));
    CU_ASSERT_EQUAL(check("ES256", "e1", c, &why), LOGIN_JWT_BAD);
    c = claims();
    json_object_set_new(c, "aud", json_string("client2"));
    CU_ASSERT_EQUAL(check("RS256", "r1", c, &why), LOGIN_JWT_BAD);
    c = claims(); /* several audiences and no azp */
    json_object_set_new(c, "aud", json_pack("[s,s]", "client1", "other"));
    CU_ASSERT_EQUAL(check("RS256", "r1", c, &why), LOGIN_JWT_BAD);
    c = claims();
    json_object_set_new(c, "iss", json_string("https://evil.example"));
    CU_ASSERT_EQUAL(check("ES256", "e1", c, &why), LOGIN_JWT_BAD);
    c = claims();
    json_object_set_new(c, "nonce", json_string("other"));
    CU_ASSERT_EQUAL(check("ES256", "e1", c, &why), LOGIN_JWT_BAD);
    CU_ASSERT_STRING_EQUAL(why, "the ID token's nonce is not this login's");

    /* a payload changed after signing; alg none; not three parts */
    json_t *set = jwks(), *got = NULL, *c2 = claims();
    char *tok = sign("RS256", "r1", rsa_key, c2);
    json_decref(c2);
    char *dot = strchr(tok, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    CU_ASSERT_EQUAL(login_jwt_validate(tok, set, &EXPECT, &got, &why), LOGIN_JWT_BAD);
    CU_ASSERT_PTR_NULL(got);
    free(tok);
    c2 = claims();
    tok = sign("none", "r1", rsa_key, c2);
    json_decref(c2);
    CU_ASSERT_EQUAL(login_jwt_validate(tok, set, &EXPECT, &got, &why), LOGIN_JWT_BAD);
    free(tok);
    CU_ASSERT_EQUAL(login_jwt_validate("a.b", set, &EXPECT, &got, &why), LOGIN_JWT_BAD);
    CU_ASSERT_EQUAL(login_jwt_validate("", set, &EXPECT, &got, &why), LOGIN_JWT_BAD);
    json_decref(set);
}

/* ---- OAuth 1.0a ---- */

static void test_oauth1_rfc5849_base_string(void)
{
    /* section 3.4.1.1: the query, the form body "c2&a3=2+q" and the
     * oauth_* parameters of the Authorization header */
    const struct login_param p[] = {
        {"c2", ""},
        {"a3", "2 q"},
        {"oauth_consumer_key", "9djdj82h48djs9d2"},
        {"oauth_token", "kkk9d7dh3k39sjv7"},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", "137131201"},
        {"oauth_nonce", "7d8f3e4a"},
    };
    char *base = login_oauth1_sign_base(
        "post", "http://EXAMPLE.COM:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", p, 7);
    CU_ASSERT_STRING_EQUAL(
        base, "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%"
              "3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_"
              "nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%"
              "3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7");
    free(base);
    CU_ASSERT_PTR_NULL(login_oauth1_sign_base("GET", "ftp://example.com/", p, 1));
    CU_ASSERT_PTR_NULL(login_oauth1_sign_base("GET", "http:///x", p, 1));
}

/* sign method url (params) with the client's secret and token_secret */
static void expect_sig(const char *method, const char *url, const struct login_param *p, size_t n,
                       const char *token_secret, const char *want)
{
    char *base = login_oauth1_sign_base(method, url, p, n);
    char *sig = base ? login_oauth1_sign(base, "kd94hf93k423kf44", token_secret) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
    CU_ASSERT_STRING_EQUAL(sig, want);
    free(base);
    free(sig);
}

static void test_oauth1_rfc5849_example(void)
{
    /* section 1.2: temporary credentials, token credentials, a resource */
    const struct login_param initiate[] = {
        {"oauth_consumer_key", "dpf43f3p2l4k3l03"},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", "137131200"},
        {"oauth_nonce", "wIjqoS"},
        {"oauth_callback", "http://printer.example.com/ready"},
    };
    expect_sig("POST", "https://photos.example.net/initiate", initiate, 5, NULL,
               "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");
    const struct login_param token[] = {
        {"oauth_consumer_key", "dpf43f3p2l4k3l03"},
        {"oauth_token", "hh5s93j4hdidpola"},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", "137131201"},
        {"oauth_nonce", "walatlh"},
        {"oauth_verifier", "hfdp7dh39dks9884"},
    };
    expect_sig("POST", "https://photos.example.net/token", token, 6, "hdhd0244k9j7ao03",
               "gKgrFCywp7rO0OXSjdot/IHF7IU=");
    const struct login_param photo[] = {
        {"oauth_consumer_key", "dpf43f3p2l4k3l03"},
        {"oauth_token", "nnch734d00sl2jdk"},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", "137131202"},
        {"oauth_nonce", "chapoH"},
    };
    expect_sig("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", photo, 5,
               "pfkkdhi9sl3r4s00", "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
}

int main(void)
{
    rsa_key = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    if (!rsa_key || !ec_key || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("login", NULL, NULL);
    CU_add_test(s, "base64url and percent-encoding", test_b64url);
    CU_add_test(s, "ID tokens that are valid", test_jwt_good);
    CU_add_test(s, "ID tokens that are not", test_jwt_bad);
    CU_add_test(s, "RFC 5849 3.4.1 base string", test_oauth1_rfc5849_base_string);
    CU_add_test(s, "RFC 5849 1.2 signatures", test_oauth1_rfc5849_example);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    return fails ? 1 : 0;
}
