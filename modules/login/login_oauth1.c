/*
 * login_oauth1.c - the OAuth 1.0a flow (RFC 5849 section 2) as Twitter/X
 * speaks it: a request token (temporary credentials) asked with the
 * callback, the visitor sent to authorize it, then the access token asked
 * with the verifier the provider gave the callback. Every call is signed
 * with HMAC-SHA1 (login_oauth1_sign.c). The request token plays the part
 * of OAuth 2.0's state: the callback's must be the one in this visitor's
 * login cookie, and it is used once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "login.h"

#define LOGIN_OAUTH1_MAX 8 /* oauth_* parameters of one request */

/* The Authorization header of a POST to url with the extra oauth_*
 * parameters (token, callback, verifier), signed with token_secret. */
static const char *login_oauth1_header(struct login_flow *fl, const char *url,
                                       const struct login_param *extra, size_t n_extra,
                                       const char *token_secret)
{
    struct login_param p[LOGIN_OAUTH1_MAX + 1];
    char ts[32];
    size_t n = 0;
    const char *nonce = login_flow_token(fl, 33);
    if (!nonce)
        return NULL;
    snprintf(ts, sizeof(ts), "%lld", (long long)login_flow_now());
    p[n++] = (struct login_param){"oauth_consumer_key", fl->p->client_id};
    p[n++] = (struct login_param){"oauth_nonce", nonce};
    p[n++] = (struct login_param){"oauth_signature_method", "HMAC-SHA1"};
    p[n++] = (struct login_param){"oauth_timestamp", gale_request_strdup(fl->r, ts)};
    p[n++] = (struct login_param){"oauth_version", "1.0"};
    for (size_t i = 0; i < n_extra && n < LOGIN_OAUTH1_MAX; i++)
        p[n++] = extra[i];
    char *base = login_oauth1_sign_base("POST", url, p, n);
    char *sig = base ? login_oauth1_sign(base, fl->p->client_secret, token_secret) : NULL;
    free(base);
    if (!sig)
        return NULL;
    p[n++] = (struct login_param){"oauth_signature", gale_request_strdup(fl->r, sig)};
    free(sig);
    const char *h = "OAuth ";
    for (size_t i = 0; i < n; i++)
        h = gale_request_printf(fl->r, "%s%s%s=\"%s\"", h, i ? ", " : "", p[i].name,
                                login_flow_enc(fl, p[i].value));
    return h;
}

/* A POST to url with an empty body, signed in its Authorization header with
 * the extra oauth_* parameters; done(fl, f) gets a 2xx answer. */
static void login_oauth1_post(struct login_flow *fl, const char *url, const char *what,
                              const struct login_param *extra, size_t n, const char *token_secret,
                              void (*done)(struct login_flow *fl, gale_fetch *f))
{
    const char *auth = login_oauth1_header(fl, url, extra, n, token_secret);
    gale_fetch *f = auth ? login_flow_fetch(fl, "POST", url) : NULL;
    if (f) {
        gale_fetch_set_header(f, "Authorization", auth);
        gale_fetch_set_header(f, "Content-Type", "application/x-www-form-urlencoded");
        gale_fetch_set_body(f, "", 0);
    }
    login_flow_start(fl, f, what, done);
}

/* The answer's form (owned by the request), or NULL after failing. */
static json_t *login_oauth1_form(struct login_flow *fl, gale_fetch *f)
{
    size_t len;
    const char *body = gale_fetch_body(f, &len);
    json_t *form = login_flow_form(body, len);
    if (!form || !json_is_string(json_object_get(form, "oauth_token")) ||
        !json_is_string(json_object_get(form, "oauth_token_secret"))) {
        json_decref(form);
        login_flow_fail(fl, 502, "the provider's token answer has no oauth_token and secret");
        return NULL;
    }
    gale_request_cleanup(fl->r, (void (*)(void *))json_decref, form);
    return form;
}

static const char *login_oauth1_get(json_t *form, const char *name)
{
    const char *s = json_string_value(json_object_get(form, name));
    return s ? s : "";
}

static void login_oauth1_requested(struct login_flow *fl, gale_fetch *f)
{
    json_t *form = login_oauth1_form(fl, f);
    if (!form)
        return;
    if (strcmp(login_oauth1_get(form, "oauth_callback_confirmed"), "true"))
        return login_flow_fail(fl, 502, "the provider did not confirm the callback");
    const char *token = login_oauth1_get(form, "oauth_token");
    json_t *cookie = json_pack("{s:s, s:s, s:s, s:s}", "p", fl->p->name, "s", token, "t",
                               login_oauth1_get(form, "oauth_token_secret"), "x", fl->next);
    int rc = cookie ? login_flow_cookie_set(fl, cookie) : -1;
    json_decref(cookie);
    if (rc < 0)
        return login_flow_fail(fl, 500, "the login cookie cannot be set (no cookie_secret?)");
    const char *a = fl->p->authorize_url;
    fl->answered = 1;
    gale_response_redirect(fl->r, 302,
                           gale_request_printf(fl->r, "%s%coauth_token=%s", a,
                                               strchr(a, '?') ? '&' : '?',
                                               login_flow_enc(fl, token)));
}

void login_oauth1_start(struct login_flow *fl)
{
    const char *callback =
        fl->p->redirect_uri
            ? fl->p->redirect_uri
            : gale_request_printf(fl->r, "%s://%s%s/callback", gale_request_scheme(fl->r),
                                  gale_request_host(fl->r), gale_request_path(fl->r));
    struct login_param cb = {"oauth_callback", callback};
    login_oauth1_post(fl, fl->p->request_token_url, "the request token's request", &cb, 1, NULL,
                      login_oauth1_requested);
}

/* The access token's answer names the user (Twitter: user_id, screen_name). */
static void login_oauth1_accessed(struct login_flow *fl, gale_fetch *f)
{
    json_t *form = login_oauth1_form(fl, f);
    if (!form)
        return;
    json_t *profile = json_deep_copy(form);
    json_object_del(profile, "oauth_token");
    json_object_del(profile, "oauth_token_secret");
    login_flow_done(fl, profile);
}

static void login_oauth1_access(struct login_flow *fl)
{
    struct login_param p[] = {
        {"oauth_token", login_flow_cookie_str(fl, "s")},
        {"oauth_verifier", gale_request_query(fl->r, "oauth_verifier")},
    };
    login_oauth1_post(fl, fl->p->access_token_url, "the access token's request", p, 2,
                      login_flow_cookie_str(fl, "t"), login_oauth1_accessed);
}

void login_oauth1_callback(struct login_flow *fl)
{
    gale_request *r = fl->r;
    const char *token = gale_request_query(r, "oauth_token");
    const char *verifier = gale_request_query(r, "oauth_verifier");
    if (login_flow_cookie_get(fl) < 0)
        return;
    const char *want = login_flow_cookie_str(fl, "s");
    if (gale_request_query(r, "denied"))
        return login_flow_fail(fl, 403, "the visitor did not authorize the login");
    if (!token || !*want || strlen(token) != strlen(want) ||
        CRYPTO_memcmp(token, want, strlen(want)))
        return login_flow_fail(fl, 400, "the request token is not this browser's");
    if (!verifier || !*verifier)
        return login_flow_fail(fl, 400, "the callback has no oauth_verifier");
    login_flow_once(fl, token, login_oauth1_access);
}
