/*
 * login.h - the login module: its parts share these. See README.
 */
#ifndef GALE_MODULE_LOGIN_H
#define GALE_MODULE_LOGIN_H

#include <stddef.h>

#include <gale/gale.h>

#include "login_pure.h"

enum login_kind { LOGIN_OAUTH2, LOGIN_OIDC, LOGIN_OAUTH1 };

/* One provider of the settings. Strings are borrowed from the module's
 * settings (valid until shutdown); NULL when not set. */
struct login_provider {
    const char *name; /* its key in `providers` */
    int kind;         /* enum login_kind */
    const char *client_id, *client_secret, *scopes;
    const char *authorize_url, *token_url, *userinfo_url; /* OAuth 2.0 (OIDC: discovered) */
    const char *discovery, *issuer, *jwks_url;            /* OpenID Connect */
    const char *request_token_url, *access_token_url;     /* OAuth 1.0a */
    const char *redirect_uri; /* NULL: this host's start route + "/callback" */
    const char *user_field;   /* the profile's member that names the user */
    const char *user_prefix;  /* put before it: "github:" */
    const char *after_login;  /* NULL: the module's */
    int userinfo;             /* OpenID Connect: also ask the userinfo endpoint (default 1) */
    /* OpenID Connect, per worker: the discovery document and the key set,
     * owned, and when they were fetched (seconds since 1970). */
    json_t *disc;
    double disc_at;
    json_t *jwks;
    double jwks_at;
};

/* The module's settings, checked by login_settings_parse. */
struct login_conf {
    struct login_provider *providers;
    size_t n;
    double timeout;   /* seconds for each call to a provider */
    double leeway;    /* seconds of clock skew allowed on ID tokens */
    double cache_ttl; /* seconds a discovery document and key set are kept */
    const char *session_key, *after_login, *after_logout, *cookie;
    const char *demo_secret; /* the demo provider's; NULL: it is off */
};

/* One login in progress, in the request's memory. */
struct login_flow {
    gale_request *r;
    struct login_conf *conf;
    struct login_provider *p;
    json_t *cookie; /* the login cookie's object: state, verifier, nonce... */
    const char *next;
    int jwks_refetched;                  /* the key set was fetched again for an unknown kid */
    void (*then)(struct login_flow *fl); /* what follows the discovery */
    const char *id_token;                /* waiting for the key set */
    const char *access_token;            /* OpenID Connect: for the userinfo request */
    json_t *claims;                      /* the ID token's, while userinfo is asked; owned */
    int answered;
};

/* ---- login_settings.c (no gale call: the check hook uses it) ---- */
/* Fill c from the module's settings; 0, or -1 with err. Free with
 * login_settings_free. */
int login_settings_parse(const json_t *settings, struct login_conf *c, char *err, size_t errlen);
void login_settings_free(struct login_conf *c);
struct login_provider *login_settings_provider(struct login_conf *c, const char *name);

/* ---- login_flow.c: what every flow shares ---- */
/* The failure page (status, "Login failed" and why), one log line, the
 * login cookie cleared; finishes the request. */
void login_flow_fail(struct login_flow *fl, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The user is in: a new session id, the user (prefix and profile's
 * user_field) and the profile in the session, a redirect to where the
 * visitor was going. profile is a new reference, taken. */
void login_flow_done(struct login_flow *fl, json_t *profile);
/* Sign the cookie's object and set it on the answer; 0 or -1. */
int login_flow_cookie_set(struct login_flow *fl, json_t *cookie);
/* Read the login cookie of this provider into fl->cookie; 0, or -1 after
 * answering. */
int login_flow_cookie_get(struct login_flow *fl);
/* A string member of fl->cookie ("" when absent). */
const char *login_flow_cookie_str(struct login_flow *fl, const char *name);
/* Mark key (a state, a token) used, then next(fl); a key already used is a
 * replay: answered 400. */
void login_flow_once(struct login_flow *fl, const char *key, void (*next)(struct login_flow *fl));
/* A transfer to a provider with the module's timeout, for r. */
gale_fetch *login_flow_fetch(struct login_flow *fl, const char *method, const char *url);
/* Start f; done(fl, f) runs when it ended with a 2xx answer, otherwise the
 * login fails (502) saying `what` failed. */
void login_flow_start(struct login_flow *fl, gale_fetch *f, const char *what,
                      void (*done)(struct login_flow *fl, gale_fetch *f));
/* Percent-encoded s, in the request's memory. */
const char *login_flow_enc(struct login_flow *fl, const char *s);
/* An application/x-www-form-urlencoded body as an object of strings (new
 * reference; NULL when malformed). */
json_t *login_flow_form(const char *body, size_t len);
/* A random token of n - 1 characters, in the request's memory. */
const char *login_flow_token(struct login_flow *fl, size_t n);
/* Seconds since 1970. */
double login_flow_now(void);

/* ---- login_oauth2.c: authorization code with PKCE (and OIDC's start) ---- */
void login_oauth2_start(struct login_flow *fl);
void login_oauth2_callback(struct login_flow *fl);

/* ---- login_oidc.c: discovery, the key set, the ID token ---- */
/* The discovery document fetched (or cached), then then(fl). */
void login_oidc_discover(struct login_flow *fl, void (*then)(struct login_flow *fl));
/* An endpoint: the provider's own setting, else the discovered one. */
const char *login_oidc_endpoint(struct login_provider *p, const char *member, const char *own);
/* Validate the ID token (fetching the key set as needed), then done. */
void login_oidc_id_token(struct login_flow *fl, const char *id_token);

/* ---- login_demo.c: the demo config's mock provider ---- */
int login_demo(gale_request *r);

/* ---- login_oauth1.c: RFC 5849 ---- */
void login_oauth1_start(struct login_flow *fl);
void login_oauth1_callback(struct login_flow *fl);

#endif
