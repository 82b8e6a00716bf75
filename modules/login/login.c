/*
 * login.c - the login module: "Log in with ..." for OAuth 2.0 (GitHub,
 * Facebook), OpenID Connect (Google and any standard provider) and OAuth
 * 1.0a (Twitter/X) providers named in its settings. A start route sends the
 * visitor to the provider; its callback route checks what comes back,
 * asks the provider who the visitor is, and puts the user in the session
 * (so gale_request_user and `authenticated = true` routes see them); a
 * logout route ends the session. Every failure is a "Login failed" page
 * and one log line, and never a logged-in visitor. See README.
 *
 *     routes = ( { path = "/auth/([a-z0-9_]+)"; handler = "login"; },
 *                { path = "/auth/([a-z0-9_]+)/callback"; handler = "callback"; },
 *                { path = "/logout"; handler = "logout"; } );
 */
#include <stdlib.h>
#include <string.h>

#include "login.h"

static int login_check(const json_t *settings, char *err, size_t errlen)
{
    struct login_conf c;
    if (login_settings_parse(settings, &c, err, errlen) < 0)
        return -1;
    login_settings_free(&c);
    return 0;
}

static int login_init(gale_ctx *ctx, const json_t *settings)
{
    char err[256];
    struct login_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    if (login_settings_parse(settings, c, err, sizeof(err)) < 0) {
        gale_log(GALE_LOG_ERROR, "login: %s", err);
        free(c);
        return -1;
    }
    gale_ctx_set_data(ctx, c);
    return 0;
}

static void login_shutdown(gale_ctx *ctx)
{
    struct login_conf *c = gale_ctx_data(ctx);
    if (c)
        login_settings_free(c);
    free(c);
}

/* A local path to go to after the login: "/..." but not "//host" nor
 * "/\host" (browsers read both as another site). */
static const char *login_next(gale_request *r, const char *dflt)
{
    const char *next = gale_request_query(r, "next");
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strpbrk(next, "\r\n\t"))
        return dflt;
    return next;
}

/* The flow of the route's provider: its `provider` setting, else the first
 * capture of the route; NULL after answering 404. */
static struct login_flow *login_flow_of(gale_request *r)
{
    struct login_conf *c = gale_request_module_data(r);
    const char *name =
        json_string_value(json_object_get(gale_request_route_settings(r), "provider"));
    if (!name)
        name = gale_request_capture(r, 1);
    struct login_provider *p = login_settings_provider(c, name);
    if (!p) {
        gale_response_error(r, 404, "no such login provider");
        return NULL;
    }
    struct login_flow *fl = gale_request_alloc(r, sizeof(*fl));
    memset(fl, 0, sizeof(*fl));
    fl->r = r;
    fl->conf = c;
    fl->p = p;
    fl->next = login_next(r, p->after_login ? p->after_login : c->after_login);
    return fl;
}

static void login_started(struct login_flow *fl)
{
    if (fl->p->kind == LOGIN_OAUTH1)
        login_oauth1_start(fl);
    else
        login_oauth2_start(fl);
}

static int login_start(gale_request *r)
{
    struct login_flow *fl = login_flow_of(r);
    if (!fl)
        return GALE_OK;
    if (!gale_session(r)) {
        login_flow_fail(fl, 500, "the config has no sessions");
        return GALE_ASYNC;
    }
    login_oidc_discover(fl, login_started);
    return GALE_ASYNC; /* every path answers, now or when the provider did */
}

static void login_called_back(struct login_flow *fl)
{
    if (fl->p->kind == LOGIN_OAUTH1)
        login_oauth1_callback(fl);
    else
        login_oauth2_callback(fl);
}

static int login_callback(gale_request *r)
{
    struct login_flow *fl = login_flow_of(r);
    if (!fl)
        return GALE_OK;
    login_oidc_discover(fl, login_called_back);
    return GALE_ASYNC;
}

static int login_logout(gale_request *r)
{
    struct login_conf *c = gale_request_module_data(r);
    const char *user = gale_request_user(r);
    if (user)
        gale_request_log(r, GALE_LOG_INFO, "login: %s logged out", user);
    gale_session_destroy(r);
    gale_response_redirect(r, 303, login_next(r, c->after_logout));
    return GALE_OK;
}

static const gale_handler login_handlers[] = {
    {.name = "login", .get = login_start},
    {.name = "callback", .get = login_callback},
    {.name = "logout", .get = login_logout, .post = login_logout},
    {.name = "demo", .get = login_demo, .post = login_demo},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "login",
    .version = "1",
    .init = login_init,
    .shutdown = login_shutdown,
    .handlers = login_handlers,
    .check = login_check,
    .default_content_type = "text/html; charset=utf-8",
};
