/*
 * login_oidc.c - OpenID Connect: the provider's discovery document
 * (/.well-known/openid-configuration) and its key set (JWKS), both fetched
 * on first use and kept per worker for cache_ttl seconds, and the ID
 * token's check. A token signed with a key id the kept set lacks makes one
 * fetch of the set again (the provider rotated its keys), not more.
 *
 * Then, when the provider has a userinfo endpoint (and the provider's
 * `userinfo` setting is not false), its claims are asked with the access
 * token and merged into the ID token's. Core 5.3.4: the answer's sub must
 * be the ID token's, or it belongs to someone else (a token substitution)
 * and the login fails. A userinfo endpoint that fails makes the login fail
 * too, rather than go on with fewer claims: the config asked for them, and
 * a user_field the ID token lacks would otherwise name nobody, or a
 * profile would silently differ from one login to the next.
 */
#include <string.h>

#include "login.h"

const char *login_oidc_endpoint(struct login_provider *p, const char *member, const char *own)
{
    if (own)
        return own;
    return json_string_value(json_object_get(p->disc, member));
}

static int login_oidc_fresh(const struct login_flow *fl, double at)
{
    return login_flow_now() - at < fl->conf->cache_ttl;
}

static void login_oidc_discovered(struct login_flow *fl, gale_fetch *f)
{
    json_t *disc = gale_fetch_json(f);
    if (!json_is_string(json_object_get(disc, "issuer")) ||
        !json_is_string(json_object_get(disc, "authorization_endpoint")) ||
        !json_is_string(json_object_get(disc, "token_endpoint")) ||
        !json_is_string(json_object_get(disc, "jwks_uri"))) {
        json_decref(disc);
        return login_flow_fail(fl, 502,
                               "the provider's discovery document lacks issuer, "
                               "authorization_endpoint, token_endpoint or jwks_uri");
    }
    json_decref(fl->p->disc);
    fl->p->disc = disc;
    fl->p->disc_at = login_flow_now();
    fl->then(fl);
}

void login_oidc_discover(struct login_flow *fl, void (*then)(struct login_flow *fl))
{
    struct login_provider *p = fl->p;
    if (p->kind != LOGIN_OIDC || !p->discovery || (p->disc && login_oidc_fresh(fl, p->disc_at)))
        return then(fl);
    fl->then = then;
    login_flow_start(fl, login_flow_fetch(fl, "GET", p->discovery),
                     "the discovery document's fetch", login_oidc_discovered);
}

static void login_oidc_check(struct login_flow *fl);

static void login_oidc_keys(struct login_flow *fl, gale_fetch *f)
{
    json_t *jwks = gale_fetch_json(f);
    if (!json_is_array(json_object_get(jwks, "keys"))) {
        json_decref(jwks);
        return login_flow_fail(fl, 502, "the provider's key set is not a JWK Set");
    }
    json_decref(fl->p->jwks);
    fl->p->jwks = jwks;
    fl->p->jwks_at = login_flow_now();
    login_oidc_check(fl);
}

static void login_oidc_fetch_keys(struct login_flow *fl)
{
    const char *url = login_oidc_endpoint(fl->p, "jwks_uri", fl->p->jwks_url);
    login_flow_start(fl, url ? login_flow_fetch(fl, "GET", url) : NULL, "the key set's fetch",
                     login_oidc_keys);
}

/* The ID token's members that only it may say: its protocol, not the
 * user's profile. */
static int login_oidc_protocol_claim(const char *name)
{
    static const char *const own[] = {"iss", "sub",       "aud",     "exp", "iat", "nonce",
                                      "azp", "auth_time", "at_hash", "acr", "amr", NULL};
    for (size_t i = 0; own[i]; i++)
        if (!strcmp(own[i], name))
            return 1;
    return 0;
}

static void login_oidc_userinfo_done(struct login_flow *fl, gale_fetch *f)
{
    json_t *info = gale_fetch_json(f), *v;
    const char *sub = json_string_value(json_object_get(info, "sub"));
    const char *want = json_string_value(json_object_get(fl->claims, "sub"));
    if (!json_is_object(info) || !sub || !want || strcmp(sub, want)) {
        const char *why = json_is_object(info) ? "the userinfo answer's sub is not the ID token's"
                                               : "the userinfo answer is not a JSON object";
        json_decref(info);
        return login_flow_fail(fl, 502, "%s", why);
    }
    const char *k;
    json_object_foreach(info, k, v)
    {
        if (!login_oidc_protocol_claim(k))
            json_object_set(fl->claims, k, v);
    }
    json_decref(info);
    json_t *claims = fl->claims;
    fl->claims = NULL;
    login_flow_done(fl, claims);
}

static void login_oidc_claims_free(void *arg)
{
    struct login_flow *fl = arg;
    json_decref(fl->claims);
    fl->claims = NULL;
}

/* The ID token is good: ask the userinfo endpoint, when there is one. */
static void login_oidc_userinfo(struct login_flow *fl, json_t *claims)
{
    struct login_provider *p = fl->p;
    const char *url =
        p->userinfo ? login_oidc_endpoint(p, "userinfo_endpoint", p->userinfo_url) : NULL;
    if (!url || !fl->access_token)
        return login_flow_done(fl, claims);
    fl->claims = claims;
    gale_request_cleanup(fl->r, login_oidc_claims_free, fl);
    gale_fetch *f = login_flow_fetch(fl, "GET", url);
    if (f)
        gale_fetch_set_header(f, "Authorization",
                              gale_request_printf(fl->r, "Bearer %s", fl->access_token));
    login_flow_start(fl, f, "the userinfo request", login_oidc_userinfo_done);
}

/* The profile of the claims: the ID token's own names (sub, name, email),
 * with the userinfo endpoint's. */
static void login_oidc_check(struct login_flow *fl)
{
    struct login_provider *p = fl->p;
    struct login_jwt_expect e = {
        .issuer = login_oidc_endpoint(p, "issuer", p->issuer),
        .client_id = p->client_id,
        .nonce = login_flow_cookie_str(fl, "n"),
        .now = login_flow_now(),
        .leeway = fl->conf->leeway,
    };
    json_t *claims = NULL;
    const char *why = NULL;
    int rc = login_jwt_validate(fl->id_token, p->jwks, &e, &claims, &why);
    if (rc == LOGIN_JWT_NO_KEY && !fl->jwks_refetched) {
        fl->jwks_refetched = 1;
        return login_oidc_fetch_keys(fl);
    }
    if (rc != LOGIN_JWT_OK)
        return login_flow_fail(fl, 502, "%s", why);
    login_oidc_userinfo(fl, claims);
}

void login_oidc_id_token(struct login_flow *fl, const char *id_token)
{
    fl->id_token = id_token;
    if (fl->p->jwks && login_oidc_fresh(fl, fl->p->jwks_at))
        return login_oidc_check(fl);
    fl->jwks_refetched = 1; /* a fresh set: an unknown kid is final */
    login_oidc_fetch_keys(fl);
}
