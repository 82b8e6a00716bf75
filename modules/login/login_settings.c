/*
 * login_settings.c - the module's settings: providers and their endpoints,
 * checked once by the check hook (in the master, at `gale -t`, start and
 * reload) and read again by each worker's init. Calls no gale function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login.h"

static const char *login_settings_str(const json_t *o, const char *name, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s && *s ? s : dflt;
}

static double login_settings_num(const json_t *o, const char *name, double dflt)
{
    const json_t *v = json_object_get(o, name);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static int login_settings_kind(const char *kind)
{
    if (!kind)
        return -1;
    if (!strcmp(kind, "oauth2"))
        return LOGIN_OAUTH2;
    if (!strcmp(kind, "oidc"))
        return LOGIN_OIDC;
    if (!strcmp(kind, "oauth1"))
        return LOGIN_OAUTH1;
    return -1;
}

/* What a provider of its kind lacks, or NULL. */
static const char *login_settings_missing(const struct login_provider *p)
{
    if (!p->client_id || !p->client_secret)
        return "client_id and client_secret";
    switch (p->kind) {
    case LOGIN_OAUTH2:
        if (!p->authorize_url || !p->token_url || !p->userinfo_url)
            return "authorize_url, token_url and userinfo_url";
        break;
    case LOGIN_OIDC:
        if (!p->discovery && (!p->issuer || !p->authorize_url || !p->token_url || !p->jwks_url))
            return "discovery (or issuer, authorize_url, token_url and jwks_url)";
        break;
    default:
        if (!p->request_token_url || !p->authorize_url || !p->access_token_url)
            return "request_token_url, authorize_url and access_token_url";
    }
    return NULL;
}

static const char *login_settings_user_field(int kind)
{
    return kind == LOGIN_OIDC ? "sub" : kind == LOGIN_OAUTH1 ? "screen_name" : "id";
}

static int login_settings_provider_parse(struct login_provider *p, const char *name,
                                         const json_t *o, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->kind = login_settings_kind(login_settings_str(o, "kind", NULL));
    if (!json_is_object(o) || p->kind < 0) {
        snprintf(err, errlen, "providers.%s: kind must be \"oauth2\", \"oidc\" or \"oauth1\"",
                 name);
        return -1;
    }
    p->client_id = login_settings_str(o, "client_id", NULL);
    p->client_secret = login_settings_str(o, "client_secret", NULL);
    p->scopes =
        login_settings_str(o, "scopes", p->kind == LOGIN_OIDC ? "openid email profile" : "");
    p->authorize_url = login_settings_str(o, "authorize_url", NULL);
    p->token_url = login_settings_str(o, "token_url", NULL);
    p->userinfo_url = login_settings_str(o, "userinfo_url", NULL);
    p->discovery = login_settings_str(o, "discovery", NULL);
    p->issuer = login_settings_str(o, "issuer", NULL);
    p->jwks_url = login_settings_str(o, "jwks_url", NULL);
    p->request_token_url = login_settings_str(o, "request_token_url", NULL);
    p->access_token_url = login_settings_str(o, "access_token_url", NULL);
    p->redirect_uri = login_settings_str(o, "redirect_uri", NULL);
    p->user_field = login_settings_str(o, "user_field", login_settings_user_field(p->kind));
    p->user_prefix = login_settings_str(o, "user_prefix", "");
    p->after_login = login_settings_str(o, "after_login", NULL);
    p->userinfo = !json_is_false(json_object_get(o, "userinfo"));
    const char *missing = login_settings_missing(p);
    if (missing) {
        snprintf(err, errlen, "providers.%s: a provider of kind %s needs %s", name,
                 login_settings_str(o, "kind", ""), missing);
        return -1;
    }
    return 0;
}

int login_settings_parse(const json_t *settings, struct login_conf *c, char *err, size_t errlen)
{
    const json_t *providers = json_object_get(settings, "providers");
    memset(c, 0, sizeof(*c));
    if (!json_is_object(providers) || !json_object_size(providers)) {
        snprintf(err, errlen, "providers: a group of one or more providers is needed");
        return -1;
    }
    c->timeout = login_settings_num(settings, "timeout", 10);
    c->leeway = login_settings_num(settings, "leeway", 60);
    c->cache_ttl = login_settings_num(settings, "cache_ttl", 3600);
    if (c->timeout <= 0 || c->leeway < 0 || c->cache_ttl < 0) {
        snprintf(err, errlen, "timeout must be > 0, leeway and cache_ttl >= 0");
        return -1;
    }
    c->session_key = login_settings_str(settings, "session_key", "user");
    c->after_login = login_settings_str(settings, "after_login", "/");
    c->after_logout = login_settings_str(settings, "after_logout", "/");
    c->cookie = login_settings_str(settings, "cookie", "gale_login");
    c->demo_secret = login_settings_str(settings, "demo_provider", NULL);
    c->providers = calloc(json_object_size(providers), sizeof(*c->providers));
    if (!c->providers) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *name;
    const json_t *o;
    json_object_foreach((json_t *)providers, name, o)
    {
        if (login_settings_provider_parse(&c->providers[c->n], name, o, err, errlen) < 0) {
            login_settings_free(c);
            return -1;
        }
        c->n++;
    }
    return 0;
}

void login_settings_free(struct login_conf *c)
{
    for (size_t i = 0; i < c->n; i++) {
        json_decref(c->providers[i].disc);
        json_decref(c->providers[i].jwks);
    }
    free(c->providers);
    c->providers = NULL;
    c->n = 0;
}

struct login_provider *login_settings_provider(struct login_conf *c, const char *name)
{
    for (size_t i = 0; name && i < c->n; i++)
        if (!strcmp(c->providers[i].name, name))
            return &c->providers[i];
    return NULL;
}
