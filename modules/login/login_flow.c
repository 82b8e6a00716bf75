/*
 * login_flow.c - what every login flow shares: the login cookie that binds
 * a flow to the visitor, single use of states and tokens, calls to the
 * provider, the failure page and the end (the user in the session).
 *
 * The login cookie is signed (the config's cookie_secret, Tornado's signed
 * value format) and lives 10 minutes: it carries the state, the PKCE
 * verifier, the nonce (or OAuth 1.0a's request token and secret), where to
 * go after the login, and the redirect URI. A callback whose state is not
 * the cookie's is refused, and each state is marked used in the shared
 * store, so that a callback replayed with the same cookie is refused too.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "login.h"

#define LOGIN_FLOW_COOKIE_AGE 600 /* seconds a login may take */

double login_flow_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void login_flow_cookie_options(struct login_flow *fl, gale_cookie_options *o, int clear)
{
    memset(o, 0, sizeof(*o));
    o->path = "/";
    o->httponly = 1;
    /* Lax: the provider's redirect back is a top-level GET, which carries it */
    o->samesite = GALE_SAMESITE_LAX;
    o->secure = !strcmp(gale_request_scheme(fl->r), "https");
    o->has_max_age = !clear;
    o->max_age = LOGIN_FLOW_COOKIE_AGE;
}

static void login_flow_cookie_clear(struct login_flow *fl)
{
    gale_cookie_options o;
    login_flow_cookie_options(fl, &o, 1);
    if (gale_request_cookie(fl->r, fl->conf->cookie))
        gale_response_clear_cookie(fl->r, fl->conf->cookie, &o);
}

void login_flow_fail(struct login_flow *fl, int status, const char *fmt, ...)
{
    gale_request *r = fl->r;
    va_list ap;
    char why[512];
    if (fl->answered)
        return;
    fl->answered = 1;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    gale_request_log(r, GALE_LOG_WARN, "login with %s failed: %s", fl->p ? fl->p->name : "?", why);
    login_flow_cookie_clear(fl);
    gale_response_status(r, status);
    gale_response_set_header(r, "Content-Type", "text/html; charset=utf-8");
    gale_response_set_header(r, "Cache-Control", "no-store");
    gale_response_puts(r, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                          "<title>Login failed</title></head>\n<body><h1>Login failed</h1>\n<p>");
    gale_response_puts_html(r, why);
    gale_response_puts(r, "</p>\n<p><a href=\"/\">Back</a></p></body></html>\n");
    gale_response_finish(r);
}

/* The user's name: the profile's user_field (a string or a number). */
static const char *login_flow_user(struct login_flow *fl, const json_t *profile)
{
    const json_t *v = json_object_get(profile, fl->p->user_field);
    if (json_is_string(v) && *json_string_value(v))
        return gale_request_printf(fl->r, "%s%s", fl->p->user_prefix, json_string_value(v));
    if (json_is_integer(v))
        return gale_request_printf(fl->r, "%s%lld", fl->p->user_prefix,
                                   (long long)json_integer_value(v));
    return NULL;
}

/* The profile kept in the session: its scalar members only (a provider's
 * nested objects and lists would only grow every session). Takes profile. */
static json_t *login_flow_profile(json_t *profile)
{
    json_t *out = json_object(), *v;
    const char *k;
    json_object_foreach(profile, k, v)
    {
        if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
            json_object_set(out, k, v);
    }
    json_decref(profile);
    return out;
}

void login_flow_done(struct login_flow *fl, json_t *profile)
{
    gale_request *r = fl->r;
    json_t *session = gale_session(r);
    const char *user = login_flow_user(fl, profile);
    json_t *name = user ? json_string(user) : NULL; /* NULL unless UTF-8 */
    if (!session || !name) {
        json_decref(profile);
        json_decref(name);
        if (!session)
            return login_flow_fail(fl, 500, "the config has no sessions");
        return login_flow_fail(fl, 502, "the provider's profile has no %s", fl->p->user_field);
    }
    json_t *login =
        json_pack("{s:s, s:o}", "provider", fl->p->name, "profile", login_flow_profile(profile));
    if (gale_session_regenerate(r) < 0) {
        json_decref(name);
        json_decref(login);
        return login_flow_fail(fl, 500, "the session could not be renewed");
    }
    json_object_set_new(session, fl->conf->session_key, name);
    json_object_set_new(session, "login", login);
    fl->answered = 1;
    gale_request_log(r, GALE_LOG_INFO, "login: %s logged in with %s", user, fl->p->name);
    login_flow_cookie_clear(fl);
    gale_response_redirect(r, 302, fl->next);
}

int login_flow_cookie_set(struct login_flow *fl, json_t *cookie)
{
    gale_cookie_options o;
    login_flow_cookie_options(fl, &o, 0);
    char *text = json_dumps(cookie, JSON_COMPACT);
    int rc = text ? gale_response_set_signed_cookie(fl->r, fl->conf->cookie, text, &o) : -1;
    free(text);
    return rc;
}

int login_flow_cookie_get(struct login_flow *fl)
{
    const char *text =
        gale_request_signed_cookie(fl->r, fl->conf->cookie, LOGIN_FLOW_COOKIE_AGE / 86400.0);
    json_t *c = text ? json_loads(text, 0, NULL) : NULL;
    const char *p = json_string_value(json_object_get(c, "p"));
    if (!p || strcmp(p, fl->p->name)) {
        json_decref(c);
        login_flow_fail(fl, 400,
                        "no login with %s was started in this browser, or it took "
                        "more than 10 minutes",
                        fl->p->name);
        return -1;
    }
    fl->cookie = c;
    gale_request_cleanup(fl->r, (void (*)(void *))json_decref, c);
    const char *next = login_flow_cookie_str(fl, "x");
    if (*next)
        fl->next = next;
    return 0;
}

const char *login_flow_cookie_str(struct login_flow *fl, const char *name)
{
    const char *s = json_string_value(json_object_get(fl->cookie, name));
    return s ? s : "";
}

/* What login_flow_once goes on with. */
struct login_flow_step {
    struct login_flow *fl;
    void (*next)(struct login_flow *fl);
};

static void login_flow_marked(gale_request *r, void *arg, int status)
{
    struct login_flow_step *s = arg;
    (void)r;
    if (status == GALE_STORE_EXISTS)
        return login_flow_fail(s->fl, 400, "this login was already used (a replayed callback)");
    if (status != GALE_STORE_OK)
        return login_flow_fail(s->fl, 503, "the session store failed");
    s->next(s->fl);
}

/* One atomic add, not a get then a set: two callbacks with the same state
 * at the same instant (on two workers, or two instances sharing Redis)
 * would otherwise both find it unused. */
void login_flow_once(struct login_flow *fl, const char *key, void (*next)(struct login_flow *fl))
{
    struct login_flow_step *s = gale_request_alloc(fl->r, sizeof(*s));
    s->fl = fl;
    s->next = next;
    if (gale_store_add(fl->r, gale_request_printf(fl->r, "login:used:%s", key), "used", 4,
                       2 * LOGIN_FLOW_COOKIE_AGE, login_flow_marked, s) < 0)
        login_flow_fail(fl, 500, "the config has no sessions store");
}

gale_fetch *login_flow_fetch(struct login_flow *fl, const char *method, const char *url)
{
    gale_fetch *f = gale_request_fetch(fl->r, method, url);
    if (!f)
        return NULL;
    gale_fetch_set_timeouts(f, fl->conf->timeout, fl->conf->timeout);
    gale_fetch_set_max_size(f, 1 << 20);
    gale_fetch_set_header(f, "Accept", "application/json");
    /* GitHub's API refuses requests without one */
    gale_fetch_set_header(f, "User-Agent", "gale-login/" GALE_VERSION_STRING);
    return f;
}

/* What login_flow_start goes on with. */
struct login_flow_call {
    struct login_flow *fl;
    const char *what;
    void (*done)(struct login_flow *fl, gale_fetch *f);
};

/* The provider's own word on an error answer: OAuth's "error" and
 * "error_description" (RFC 6749 5.2), else the start of the body. */
static const char *login_flow_provider_error(struct login_flow *fl, gale_fetch *f)
{
    json_t *j = gale_fetch_json(f);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));
    const char *out = e ? gale_request_printf(fl->r, "%s%s%s", e, d ? ": " : "", d ? d : "")
                        : gale_request_printf(fl->r, "%.80s", gale_fetch_body(f, NULL));
    json_decref(j);
    return out;
}

static void login_flow_ended(gale_fetch *f, void *arg)
{
    struct login_flow_call *c = arg;
    int status = gale_fetch_status(f);
    if (gale_fetch_error(f) != GALE_FETCH_OK)
        return login_flow_fail(c->fl, 502, "%s failed: %s", c->what, gale_fetch_message(f));
    if (status < 200 || status > 299)
        return login_flow_fail(c->fl, 502, "%s was refused (status %d): %s", c->what, status,
                               login_flow_provider_error(c->fl, f));
    c->done(c->fl, f);
}

void login_flow_start(struct login_flow *fl, gale_fetch *f, const char *what,
                      void (*done)(struct login_flow *fl, gale_fetch *f))
{
    struct login_flow_call *c = gale_request_alloc(fl->r, sizeof(*c));
    c->fl = fl;
    c->what = what;
    c->done = done;
    if (!f || gale_fetch_start(f, login_flow_ended, c) < 0)
        login_flow_fail(fl, 502, "%s could not start (a bad URL in the settings?)", what);
}

const char *login_flow_enc(struct login_flow *fl, const char *s)
{
    char *e = login_encode_percent(s, strlen(s));
    const char *out = gale_request_strdup(fl->r, e);
    free(e);
    return out;
}

json_t *login_flow_form(const char *body, size_t len)
{
    json_t *o = json_object();
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(body + i, "&");
        if (n > len - i)
            n = len - i;
        const char *eq = memchr(body + i, '=', n);
        size_t kn = eq ? (size_t)(eq - body - i) : n;
        char *k = login_encode_percent_decode(body + i, kn);
        char *v = login_encode_percent_decode(eq ? eq + 1 : "", eq ? n - kn - 1 : 0);
        json_t *js = v ? json_string(v) : NULL;
        if (!k || !js) {
            free(k);
            free(v);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, k, js);
        free(k);
        free(v);
        i += n + 1;
    }
    return o;
}

const char *login_flow_token(struct login_flow *fl, size_t n)
{
    char *t = gale_request_alloc(fl->r, n);
    if (gale_random_token(t, n) < 0)
        return NULL;
    return t;
}
