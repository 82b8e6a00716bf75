/*
 * hello.c - the demo module: greetings, an answer that comes later, an echo
 * (also over WebSocket) and a streamed answer. Each handler shows one part
 * of the module API.
 *
 * Settings: greeting (string, default "Hello, world"), delay (seconds the
 * `slow` handler waits, default 0.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/gale.h>

struct hello {
    char *greeting;
    double delay;
};

static int hello_init(gale_ctx *ctx, const json_t *settings)
{
    struct hello *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    const char *g = json_string_value(json_object_get(settings, "greeting"));
    h->greeting = strdup(g ? g : "Hello, world");
    json_t *d = json_object_get(settings, "delay");
    h->delay = json_is_number(d) ? json_number_value(d) : 0.5;
    if (!h->greeting) {
        free(h);
        return -1;
    }
    gale_ctx_set_data(ctx, h);
    return 0;
}

static void hello_shutdown(gale_ctx *ctx)
{
    struct hello *h = gale_ctx_data(ctx);
    if (h)
        free(h->greeting);
    free(h);
}

/* GET /: the greeting from the config. */
static int hello(gale_request *r)
{
    struct hello *h = gale_request_module_data(r);
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_puts(r, h->greeting);
    return GALE_OK;
}

/* GET /: for browsers the home page, from the template home.html, with the
 * greeting from the config and a card for each demo; for other clients the
 * greeting as text. */
static int home(gale_request *r)
{
    struct hello *h = gale_request_module_data(r);
    const char *accept = gale_request_header(r, "Accept");
    if (!accept || !strstr(accept, "text/html"))
        return hello(r); /* curl and scripts: the greeting as text */
    json_t *ctx = json_pack(
        "{s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, "
        "{s:s, s:s, s:s}]}",
        "greeting", h->greeting, "flash", "", "demos", /* titles and texts are translated */
        "url", "/notes", "title", "Notes", "text", "A notes app with accounts, sessions and forms.",
        "url", "/chat/", "title", "Chat", "text", "A chat over long polling or WebSockets.", "url",
        "/greet/visitor", "title", "Greeting", "text", "A route with a capture: /greet/NAME.",
        "url", "/stream", "title", "Streaming", "text", "An answer sent in pieces as it is made.",
        "url", "/php/", "title", "PHP", "text", "A PHP page run by php-cgi through gale.");
    gale_template_render(r, "home.html", ctx); /* finishes, or answers 500 */
    json_decref(ctx);
    return GALE_OK;
}

/* GET /lang?locale=CODE&next=PATH: remember the visitor's language in the
 * cookie gale reads it from, then back to the page. */
static int lang(gale_request *r)
{
    const char *code = gale_request_argument(r, "locale");
    const char *next = gale_request_argument(r, "next");
    gale_cookie_options o = {.path = "/",
                             .expires = (long long)time(NULL) + 365 * 86400,
                             .httponly = 1,
                             .samesite = GALE_SAMESITE_LAX};
    if (code &&
        strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == strlen(code))
        gale_response_set_cookie(r, "locale", code, &o);
    int local = next && next[0] == '/' && next[1] != '/' && next[1] != '\\';
    gale_response_redirect(r, 303, local ? next : "/");
    return GALE_OK;
}

/* GET /greet/NAME: a route capture. */
static int greet(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "Hello, %s", gale_request_capture(r, 1));
    return GALE_OK;
}

/* GET /slow[?delay=SECONDS]: answers later from a timer; the worker serves
 * other requests meanwhile. */
static void slow_done(gale_request *r, void *arg)
{
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_puts(r, "slow");
    gale_response_finish(r);
}

static int slow(gale_request *r)
{
    struct hello *h = gale_request_module_data(r);
    double delay = h->delay;
    const char *q = gale_request_query(r, "delay");
    if (q)
        delay = strtod(q, NULL);
    if (!(delay >= 0))
        delay = 0;
    if (delay > 10)
        delay = 10;
    if (gale_request_later(r, delay, slow_done, NULL) < 0)
        return GALE_ERROR;
    return GALE_ASYNC;
}

/* Any method on /echo: the request body back, as it came. */
static int echo(gale_request *r)
{
    size_t len;
    const char *body = gale_request_body(r, &len);
    const char *type = gale_request_header(r, "Content-Type");
    gale_response_header(r, "Content-Type", type ? type : "application/octet-stream");
    gale_response_write(r, body, len);
    return GALE_OK;
}

/* GET /stream[?n=N]: N lines, each flushed on its own (chunked), 10 ms apart. */
struct stream_state {
    int i, n;
};

static void stream_next(gale_request *r, void *arg)
{
    struct stream_state *s = arg;
    gale_response_printf(r, "chunk %d\n", ++s->i);
    if (s->i >= s->n) {
        gale_response_finish(r);
        return;
    }
    if (gale_response_flush(r) < 0 || gale_request_later(r, 0.01, stream_next, s) < 0)
        gale_response_finish(r);
}

static int stream(gale_request *r)
{
    struct stream_state *s = gale_request_alloc(r, sizeof(*s));
    const char *q = gale_request_query(r, "n");
    s->i = 0;
    s->n = q ? atoi(q) : 5;
    if (s->n < 1 || s->n > 100000)
        s->n = 5;
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (gale_response_flush(r) < 0)
        return GALE_ERROR;
    stream_next(r, s);
    return GALE_ASYNC;
}

/* GET /info: what gale knows of the connection (scheme, client, TLS client
 * certificate) and which worker answered. */
static int info(gale_request *r)
{
    const char *cert = gale_request_client_cert(r);
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "scheme: %s\nclient: %s\nclient_cert: %s\nworker: %d\n",
                         gale_request_scheme(r), gale_request_client(r), cert ? cert : "-",
                         gale_ctx_worker_id(gale_request_ctx(r)));
    return GALE_OK;
}

/* POST /json: the JSON body back inside {"got": ...}, or 400; GET: a sample
 * whose text holds "</script>" to show the escaping. */
static int json_post(gale_request *r)
{
    json_t *body = gale_request_json(r);
    if (!body) {
        gale_response_error(r, 400, "the body is not JSON");
        return GALE_OK;
    }
    json_t *answer = json_pack("{s:O}", "got", body);
    gale_response_json(r, answer);
    json_decref(answer);
    return GALE_OK;
}

static int json_get(gale_request *r)
{
    json_t *answer = json_pack("{s:s, s:i}", "text", "</script><b>", "n", 42);
    gale_response_json(r, answer);
    json_decref(answer);
    return GALE_OK;
}

/* GET /go[?to=NAME]: a redirect to the route named "greet", its URL made by
 * gale_url_for. */
static int go(gale_request *r)
{
    const char *to = gale_request_query(r, "to");
    const char *url = gale_url_for(r, "greet", to ? to : "world", NULL);
    if (!url || gale_response_redirect(r, 302, url) < 0)
        gale_response_error(r, 500, "no URL for the route named greet");
    return GALE_OK;
}

/* POST /form: the arguments and uploaded files it received, one per line
 * (a required `who` argument; 400 naming it when missing). */
static int form(gale_request *r)
{
    const char *who = gale_request_require_argument(r, "who");
    if (!who)
        return GALE_OK;
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "who=%s\n", who);
    for (size_t i = 0; gale_request_argument_at(r, "tag", i); i++)
        gale_response_printf(r, "tag=%s\n", gale_request_argument_at(r, "tag", i));
    const gale_file *f;
    for (size_t i = 0; (f = gale_request_file(r, NULL, i)) != NULL; i++)
        gale_response_printf(r, "file %s %s %s %zu %s\n", f->name, f->filename, f->content_type,
                             f->size, f->path ? "disk" : "memory");
    return GALE_OK;
}

/* GET /visits: counts this browser's visits in a signed cookie. */
static int visits(gale_request *r)
{
    const char *seen = gale_request_signed_cookie(r, "visits", 0);
    int n = seen ? atoi(seen) + 1 : 1;
    char value[16];
    snprintf(value, sizeof(value), "%d", n);
    gale_cookie_options o = {.path = "/", .httponly = 1, .samesite = GALE_SAMESITE_LAX};
    if (gale_response_set_signed_cookie(r, "visits", value, &o) < 0)
        return GALE_ERROR; /* no cookie_secret in the config */
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "visits: %d\n", n);
    return GALE_OK;
}

/* GET /note: a form carrying the XSRF token; POST /note: accepted only with a
 * matching token when xsrf_cookies is on (gale checks before this runs). */
static int note_get(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/html; charset=utf-8");
    gale_response_printf(r,
                         "<form method=\"post\" action=\"/note\">"
                         "<input type=\"hidden\" name=\"_xsrf\" value=\"%s\">"
                         "<input name=\"text\"><button>Save</button></form>\n",
                         gale_request_xsrf_token(r));
    return GALE_OK;
}

static int note_post(gale_request *r)
{
    const char *text = gale_request_require_argument(r, "text");
    if (!text)
        return GALE_OK;
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "saved: %s\n", text);
    return GALE_OK;
}

/* GET /login: a form; POST /login: logs `user` in (no password in this
 * demo: see modules/notes for that) under a new session id, then goes to
 * `next`. */
static int login_get(gale_request *r)
{
    const char *next = gale_request_argument(r, "next");
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "log in, then back to %s\n", next ? next : "/");
    return GALE_OK;
}

static int login_post(gale_request *r)
{
    json_t *session = gale_session(r);
    const char *user = gale_request_require_argument(r, "user");
    if (!user)
        return GALE_OK;
    if (!session) {
        gale_response_error(r, 500, "sessions are not configured");
        return GALE_OK;
    }
    json_object_set_new(session, "user", json_string(user));
    gale_session_regenerate(r);
    const char *next = gale_request_argument(r, "next");
    gale_response_redirect(r, 303, next && next[0] == '/' && next[1] != '/' ? next : "/whoami");
    return GALE_OK;
}

static int logout(gale_request *r)
{
    gale_session_destroy(r);
    gale_response_puts(r, "bye\n");
    return GALE_OK;
}

/* GET /whoami: the user, and a per-session counter kept in the session. */
static int whoami(gale_request *r)
{
    const char *user = gale_request_user(r);
    json_t *session = gale_session(r);
    json_int_t n = 0;
    if (session) {
        n = json_integer_value(json_object_get(session, "n")) + 1;
        json_object_set_new(session, "n", json_integer(n));
    }
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "user: %s\nn: %lld\n", user ? user : "-", (long long)n);
    return GALE_OK;
}

/* A WebSocket that sends every message back as it came (text or binary):
 * the usual target of WebSocket conformance suites (Autobahn's
 * fuzzingclient) and of quick tests with any client. */
static void wsecho_message(gale_ws *ws, const char *data, size_t len, int binary)
{
    gale_ws_send(ws, data, len, binary);
}

static const gale_websocket wsecho_ws = {
    .message = wsecho_message,
};

static const gale_handler hello_handlers[] = {
    {.name = "hello", .get = hello},
    {.name = "home", .get = home},
    {.name = "lang", .get = lang},
    {.name = "greet", .get = greet},
    {.name = "slow", .get = slow},
    {.name = "echo", .any = echo},
    {.name = "stream", .get = stream},
    {.name = "info", .get = info},
    {.name = "json", .get = json_get, .post = json_post},
    {.name = "go", .get = go},
    {.name = "form", .get = form, .post = form},
    {.name = "visits", .get = visits},
    {.name = "note", .get = note_get, .post = note_post},
    {.name = "login", .get = login_get, .post = login_post},
    {.name = "logout", .post = logout, .get = logout},
    {.name = "whoami", .get = whoami},
    {.name = "wsecho", .websocket = &wsecho_ws},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "hello",
    .version = GALE_VERSION_STRING,
    .init = hello_init,
    .shutdown = hello_shutdown,
    .handlers = hello_handlers,
};
