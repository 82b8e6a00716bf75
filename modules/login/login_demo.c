/*
 * login_demo.c - a mock OAuth 2.0 provider for the demo config, so that
 * "Log in with ..." can be tried without an account anywhere: its
 * authorize page asks for any name and logs in as it. It is off unless the
 * module's `demo_provider` secret is set, and says on its page that it is a
 * demo. It keeps nothing: codes and access tokens are signed with the
 * secret (HMAC-SHA256) and carry what they stand for, so any worker
 * answers any step. Routes: "/mockauth/(authorize|token|user)".
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "login.h"

#define LOGIN_DEMO_CODE_AGE 120   /* seconds a code is good for */
#define LOGIN_DEMO_TOKEN_AGE 3600 /* seconds an access token is good for */

static const char *login_demo_mac(gale_request *r, const char *secret, const char *payload)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)payload, strlen(payload),
         md, &len);
    char *m = login_encode_b64url(md, len);
    const char *out = gale_request_strdup(r, m);
    free(m);
    return out;
}

/* obj as PAYLOAD.MAC, both base64url. */
static const char *login_demo_sign(gale_request *r, const char *secret, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        return NULL;
    char *p = login_encode_b64url((const unsigned char *)text, strlen(text));
    const char *out = gale_request_printf(r, "%s.%s", p, login_demo_mac(r, secret, p));
    free(text);
    free(p);
    return out;
}

/* What a signed value carries (borrowed from the request), when its MAC is
 * right and it has not expired; else NULL. */
static json_t *login_demo_open(gale_request *r, const char *secret, const char *value)
{
    const char *dot = value ? strchr(value, '.') : NULL;
    if (!dot)
        return NULL;
    const char *payload = gale_request_printf(r, "%.*s", (int)(dot - value), value);
    const char *mac = login_demo_mac(r, secret, payload);
    if (strlen(dot + 1) != strlen(mac) || CRYPTO_memcmp(dot + 1, mac, strlen(mac)))
        return NULL;
    size_t len;
    unsigned char *raw = login_encode_b64url_decode(payload, strlen(payload), &len);
    json_t *obj = raw ? json_loadb((const char *)raw, len, 0, NULL) : NULL;
    free(raw);
    if (!obj)
        return NULL;
    gale_request_cleanup(r, (void (*)(void *))json_decref, obj);
    if (json_integer_value(json_object_get(obj, "e")) < (json_int_t)login_flow_now())
        return NULL;
    return obj;
}

static int login_demo_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static const char *const login_demo_fields[] = {
    "client_id",     "redirect_uri",          "scope", "state", "code_challenge",
    "response_type", "code_challenge_method", NULL};

static int login_demo_page(gale_request *r, const char *error)
{
    gale_response_status(r, error ? 400 : 200);
    gale_response_puts(r, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                          "<title>Demo provider</title></head>\n<body>\n"
                          "<h1>Demo login provider</h1>\n<p><strong>This is a demo: it is not "
                          "a real login service.</strong> Any name logs in as that name.</p>\n");
    if (error) {
        gale_response_puts(r, "<p class=\"error\" role=\"alert\">");
        gale_response_puts_html(r, error);
        gale_response_puts(r, "</p>\n");
    }
    gale_response_puts(r, "<form method=\"get\" action=\"");
    gale_response_puts_html(r, gale_request_path(r));
    gale_response_puts(r, "\">\n");
    for (size_t i = 0; login_demo_fields[i]; i++) {
        const char *v = gale_request_query(r, login_demo_fields[i]);
        gale_response_printf(r, "<input type=\"hidden\" name=\"%s\" value=\"",
                             login_demo_fields[i]);
        gale_response_puts_html(r, v ? v : "");
        gale_response_puts(r, "\">\n");
    }
    gale_response_puts(r, "<label>Name <input name=\"name\" required maxlength=\"32\" "
                          "pattern=\"[a-z0-9_\\-]+\" autofocus></label>\n"
                          "<button id=\"allow\">Log in as this name</button>\n</form>\n"
                          "</body></html>\n");
    return GALE_OK;
}

/* The redirect URI must be on this server: the demo sends nobody elsewhere. */
static int login_demo_local(gale_request *r, const char *uri)
{
    const char *self =
        gale_request_printf(r, "%s://%s/", gale_request_scheme(r), gale_request_host(r));
    return uri && !strncmp(uri, self, strlen(self));
}

static int login_demo_authorize(gale_request *r, const char *secret)
{
    const char *name = gale_request_query(r, "name");
    const char *uri = gale_request_query(r, "redirect_uri");
    const char *state = gale_request_query(r, "state");
    const char *challenge = gale_request_query(r, "code_challenge");
    if (!login_demo_local(r, uri) || !state || !challenge)
        return login_demo_page(r, "This is not a login request from this server.");
    if (!name)
        return login_demo_page(r, NULL);
    if (!login_demo_name_ok(name))
        return login_demo_page(r, "A name is 1 to 32 of a-z, 0-9, _ and -.");
    const char *code =
        login_demo_sign(r, secret,
                        json_pack("{s:s, s:s, s:s, s:I}", "u", name, "c", challenge, "r", uri, "e",
                                  (json_int_t)login_flow_now() + LOGIN_DEMO_CODE_AGE));
    char *s = login_encode_percent(state, strlen(state));
    const char *to =
        gale_request_printf(r, "%s%ccode=%s&state=%s", uri, strchr(uri, '?') ? '&' : '?', code, s);
    free(s);
    gale_response_redirect(r, 302, to);
    return GALE_OK;
}

static int login_demo_refuse(gale_request *r, int status, const char *error)
{
    json_t *j = json_pack("{s:s}", "error", error);
    gale_response_status(r, status);
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

static int login_demo_token(gale_request *r, const char *secret)
{
    const char *given = gale_request_argument(r, "client_secret");
    const char *verifier = gale_request_argument(r, "code_verifier");
    json_t *code = login_demo_open(r, secret, gale_request_argument(r, "code"));
    if (!given || strcmp(given, secret))
        return login_demo_refuse(r, 401, "invalid_client");
    const char *uri = json_string_value(json_object_get(code, "r"));
    const char *want = json_string_value(json_object_get(code, "c"));
    const char *redirect = gale_request_argument(r, "redirect_uri");
    if (!code || !verifier || !redirect || strcmp(redirect, uri))
        return login_demo_refuse(r, 400, "invalid_grant");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    char *got = login_encode_b64url(md, sizeof(md));
    int ok = want && !strcmp(got, want);
    free(got);
    if (!ok)
        return login_demo_refuse(r, 400, "invalid_grant");
    const char *token =
        login_demo_sign(r, secret,
                        json_pack("{s:s, s:I}", "u", json_string_value(json_object_get(code, "u")),
                                  "e", (json_int_t)login_flow_now() + LOGIN_DEMO_TOKEN_AGE));
    json_t *j = json_pack("{s:s, s:s}", "access_token", token, "token_type", "bearer");
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

static int login_demo_user(gale_request *r, const char *secret)
{
    const char *auth = gale_request_header(r, "Authorization");
    json_t *token =
        auth && !strncmp(auth, "Bearer ", 7) ? login_demo_open(r, secret, auth + 7) : NULL;
    const char *name = json_string_value(json_object_get(token, "u"));
    if (!name)
        return login_demo_refuse(r, 401, "invalid_token");
    json_t *j = json_pack("{s:s, s:s, s:s}", "id", name, "login", name, "name", name);
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

int login_demo(gale_request *r)
{
    struct login_conf *c = gale_request_module_data(r);
    const char *step = gale_request_capture(r, 1);
    int post = !strcmp(gale_request_method(r), "POST");
    if (!c->demo_secret || !step) {
        gale_response_error(r, 404, "no demo provider here");
        return GALE_OK;
    }
    if (!strcmp(step, "authorize") && !post)
        return login_demo_authorize(r, c->demo_secret);
    if (!strcmp(step, "token") && post)
        return login_demo_token(r, c->demo_secret);
    if (!strcmp(step, "user") && !post)
        return login_demo_user(r, c->demo_secret);
    gale_response_error(r, 404, "no such step of the demo provider");
    return GALE_OK;
}
