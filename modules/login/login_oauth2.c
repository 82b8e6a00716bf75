/*
 * login_oauth2.c - the OAuth 2.0 authorization code flow (RFC 6749) with
 * PKCE (RFC 7636, S256), as GitHub and Facebook speak it, and the same
 * start and code exchange for OpenID Connect (which then checks the ID
 * token instead of asking for the profile).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "login.h"

/* The redirect URI: the setting, else this host's start route followed by
 * "/callback". */
static const char *login_oauth2_redirect_uri(struct login_flow *fl)
{
    if (fl->p->redirect_uri)
        return fl->p->redirect_uri;
    return gale_request_printf(fl->r, "%s://%s%s/callback", gale_request_scheme(fl->r),
                               gale_request_host(fl->r), gale_request_path(fl->r));
}

static const char *login_oauth2_challenge(struct login_flow *fl, const char *verifier)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    char *c = login_encode_b64url(md, sizeof(md));
    const char *out = gale_request_strdup(fl->r, c);
    free(c);
    return out;
}

void login_oauth2_start(struct login_flow *fl)
{
    struct login_provider *p = fl->p;
    const char *state = login_flow_token(fl, 33), *verifier = login_flow_token(fl, 65);
    const char *nonce = login_flow_token(fl, 33);
    const char *authorize = login_oidc_endpoint(p, "authorization_endpoint", p->authorize_url);
    const char *redirect = login_oauth2_redirect_uri(fl);
    if (!state || !verifier || !nonce || !authorize)
        return login_flow_fail(fl, 500, "no random numbers or no authorization endpoint");
    json_t *cookie = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "p", p->name, "s", state, "v",
                               verifier, "n", nonce, "x", fl->next, "r", redirect);
    int rc = cookie ? login_flow_cookie_set(fl, cookie) : -1;
    json_decref(cookie);
    if (rc < 0)
        return login_flow_fail(fl, 500, "the login cookie cannot be set (no cookie_secret?)");
    const char *url = gale_request_printf(
        fl->r,
        "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s"
        "&code_challenge=%s&code_challenge_method=S256%s%s",
        authorize, strchr(authorize, '?') ? '&' : '?', login_flow_enc(fl, p->client_id),
        login_flow_enc(fl, redirect), login_flow_enc(fl, p->scopes), state,
        login_oauth2_challenge(fl, verifier), p->kind == LOGIN_OIDC ? "&nonce=" : "",
        p->kind == LOGIN_OIDC ? nonce : "");
    fl->answered = 1;
    gale_response_redirect(fl->r, 302, url);
}

static void login_oauth2_profile(struct login_flow *fl, gale_fetch *f)
{
    json_t *profile = gale_fetch_json(f);
    if (!json_is_object(profile)) {
        json_decref(profile);
        return login_flow_fail(fl, 502, "the provider's profile is not a JSON object");
    }
    login_flow_done(fl, profile);
}

static void login_oauth2_token(struct login_flow *fl, gale_fetch *f)
{
    json_t *j = gale_fetch_json(f);
    if (!json_is_object(j)) { /* GitHub's form answer, for a client that asks no JSON */
        size_t len;
        const char *body = gale_fetch_body(f, &len);
        json_decref(j);
        j = login_flow_form(body, len);
    }
    const char *access = json_string_value(json_object_get(j, "access_token"));
    const char *id_token = json_string_value(json_object_get(j, "id_token"));
    if (!access || (fl->p->kind == LOGIN_OIDC && !id_token)) {
        json_decref(j);
        return login_flow_fail(fl, 502, "the provider's token answer has no %s",
                               access ? "id_token" : "access_token");
    }
    access = gale_request_strdup(fl->r, access);
    id_token = id_token ? gale_request_strdup(fl->r, id_token) : NULL;
    json_decref(j);
    if (fl->p->kind == LOGIN_OIDC) {
        fl->access_token = access;
        return login_oidc_id_token(fl, id_token);
    }
    gale_fetch *u = login_flow_fetch(fl, "GET", fl->p->userinfo_url);
    if (u)
        gale_fetch_set_header(u, "Authorization", gale_request_printf(fl->r, "Bearer %s", access));
    login_flow_start(fl, u, "the profile request", login_oauth2_profile);
}

/* The state was this visitor's and is now used: exchange the code. */
static void login_oauth2_exchange(struct login_flow *fl)
{
    struct login_provider *p = fl->p;
    const char *url = login_oidc_endpoint(p, "token_endpoint", p->token_url);
    gale_fetch *f = url ? login_flow_fetch(fl, "POST", url) : NULL;
    const char *body = gale_request_printf(
        fl->r,
        "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s"
        "&client_secret=%s&code_verifier=%s",
        login_flow_enc(fl, gale_request_query(fl->r, "code")),
        login_flow_enc(fl, login_flow_cookie_str(fl, "r")), login_flow_enc(fl, p->client_id),
        login_flow_enc(fl, p->client_secret), login_flow_enc(fl, login_flow_cookie_str(fl, "v")));
    if (f) {
        gale_fetch_set_header(f, "Content-Type", "application/x-www-form-urlencoded");
        gale_fetch_set_body(f, body, strlen(body));
    }
    login_flow_start(fl, f, "the token request", login_oauth2_token);
}

void login_oauth2_callback(struct login_flow *fl)
{
    gale_request *r = fl->r;
    const char *error = gale_request_query(r, "error");
    const char *state = gale_request_query(r, "state");
    const char *code = gale_request_query(r, "code");
    if (login_flow_cookie_get(fl) < 0)
        return;
    const char *want = login_flow_cookie_str(fl, "s");
    if (!state || strlen(state) != strlen(want) || CRYPTO_memcmp(state, want, strlen(want)))
        return login_flow_fail(fl, 400, "the state is not this browser's (a forged callback?)");
    if (error)
        return login_flow_fail(fl, 403, "the provider said: %s", error);
    if (!code || !*code)
        return login_flow_fail(fl, 400, "the callback has no code");
    login_flow_once(fl, state, login_oauth2_exchange);
}
