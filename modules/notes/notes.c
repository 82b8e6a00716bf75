/*
 * notes.c - the framework demo: a small notes app.
 *
 * Sign up and log in with a form (passwords hashed with PBKDF2-HMAC-SHA256
 * on the worker's thread pool, never on the event loop), XSRF-protected
 * posts (the config turns xsrf_cookies on), the user in the session, each
 * user's notes in the shared store (LMDB or Redis: every worker and every
 * instance sees them), logout. Every store call may answer at once or later,
 * so each step is a callback.
 *
 * Settings: iterations (PBKDF2 rounds, default 200000), keep_days (how long
 * users and notes are kept unused, default 365).
 *
 * Store keys: "user:NAME" -> {"salt": hex, "hash": hex, "iter": n};
 * "notes:NAME" -> ["text", ...].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define NOTES_SALT 16
#define NOTES_HASH 32
#define NOTES_MAX 200 /* notes kept per user */

struct notes_conf {
    int iterations;
    unsigned keep; /* seconds */
};

static int notes_init(gale_ctx *ctx, const json_t *settings)
{
    static struct notes_conf conf;
    json_t *it = json_object_get(settings, "iterations");
    json_t *days = json_object_get(settings, "keep_days");
    conf.iterations = json_is_integer(it) ? (int)json_integer_value(it) : 200000;
    conf.keep = (unsigned)(json_is_integer(days) ? json_integer_value(days) : 365) * 86400u;
    if (conf.iterations < 1000 || conf.keep == 0)
        return -1;
    gale_ctx_set_data(ctx, &conf);
    return 0;
}

/* ---- small helpers ---- */

static void notes_page(gale_request *r, const char *title)
{
    gale_response_header(r, "Content-Type", "text/html; charset=utf-8");
    gale_response_puts(r, "<!doctype html><meta charset=\"utf-8\"><title>");
    gale_response_puts_html(r, title);
    gale_response_puts(r, "</title><h1>");
    gale_response_puts_html(r, title);
    gale_response_puts(r, "</h1>\n");
}

static void notes_xsrf(gale_request *r)
{
    gale_response_puts(r, "<input type=\"hidden\" name=\"_xsrf\" value=\"");
    gale_response_puts_html(r, gale_request_xsrf_token(r));
    gale_response_puts(r, "\">");
}

static int notes_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void notes_hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- the hash, on a pool thread ---- */

struct notes_hash {
    char user[33];
    char password[256];
    unsigned char salt[NOTES_SALT];
    unsigned char want[NOTES_HASH]; /* login: the stored hash */
    unsigned char got[NOTES_HASH];
    int iterations;
    int ok;
};

static void notes_hash_work(void *data)
{
    struct notes_hash *h = data;
    h->ok = PKCS5_PBKDF2_HMAC(h->password, (int)strlen(h->password), h->salt, NOTES_SALT,
                              h->iterations, EVP_sha256(), NOTES_HASH, h->got) == 1;
    OPENSSL_cleanse(h->password, sizeof(h->password));
}

static int notes_unhex(unsigned char *out, size_t n, const char *s)
{
    if (!s || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* The user is in: a new session id (no fixation), then to where they were going. */
static void notes_logged_in(gale_request *r, const char *user)
{
    json_object_set_new(gale_session(r), "user", json_string(user));
    gale_session_regenerate(r);
    const char *next = gale_request_argument(r, "next");
    int local = next && next[0] == '/' && next[1] != '/' && next[1] != '\\';
    gale_response_redirect(r, 303, local ? next : "/notes");
}

static void notes_refuse(gale_request *r, int status, const char *why)
{
    gale_response_status(r, status);
    notes_page(r, why);
    gale_response_puts(r, "<p><a href=\"/login\">log in</a> or <a href=\"/signup\">sign up</a>\n");
    gale_response_finish(r);
}

/* ---- sign up ---- */

static void notes_user_saved(gale_request *r, void *arg, int status)
{
    if (status < 0) {
        gale_response_error(r, 503, "the store is not available");
        return;
    }
    notes_logged_in(r, arg);
    gale_response_finish(r);
}

static void notes_signup_hashed(gale_request *r, void *data)
{
    struct notes_hash *h = data;
    struct notes_conf *conf = gale_request_module_data(r);
    char salt[2 * NOTES_SALT + 1], hash[2 * NOTES_HASH + 1];
    if (!h->ok) {
        gale_response_error(r, 500, "hashing failed");
        return;
    }
    notes_hex(salt, h->salt, NOTES_SALT);
    notes_hex(hash, h->got, NOTES_HASH);
    json_t *rec = json_pack("{s:s, s:s, s:i}", "salt", salt, "hash", hash, "iter", h->iterations);
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    char *user = gale_request_strdup(r, h->user);
    if (!text || gale_store_set(r, gale_request_printf(r, "user:%s", user), text, strlen(text),
                                conf->keep, notes_user_saved, user) < 0)
        gale_response_error(r, 503, "the store is not available");
    free(text);
}

static void notes_signup_checked(gale_request *r, void *arg, int status, const char *value,
                                 size_t len)
{
    struct notes_hash *h = arg;
    if (status == 0) {
        notes_refuse(r, 409, "that name is taken");
        return;
    }
    if (status < 0 || RAND_bytes(h->salt, NOTES_SALT) != 1 ||
        gale_request_blocking(r, notes_hash_work, notes_signup_hashed, h, sizeof(*h)) < 0)
        gale_response_error(r, 503, "cannot sign up now");
}

static int notes_signup_post(gale_request *r)
{
    struct notes_conf *conf = gale_request_module_data(r);
    const char *user = gale_request_require_argument(r, "user");
    const char *password = user ? gale_request_require_argument(r, "password") : NULL;
    if (!user || !password)
        return GALE_OK;
    if (!notes_name_ok(user) || strlen(password) < 8 || strlen(password) > 255) {
        notes_refuse(r, 400, "names are 1-32 of a-z 0-9 _ -, passwords 8-255 characters");
        return GALE_OK;
    }
    struct notes_hash *h = gale_request_alloc(r, sizeof(*h));
    memset(h, 0, sizeof(*h));
    snprintf(h->user, sizeof(h->user), "%s", user);
    snprintf(h->password, sizeof(h->password), "%s", password);
    h->iterations = conf->iterations;
    if (gale_store_get(r, gale_request_printf(r, "user:%s", user), notes_signup_checked, h) < 0)
        gale_response_error(r, 503, "the config has no sessions store");
    return GALE_ASYNC;
}

/* ---- log in ---- */

static void notes_login_hashed(gale_request *r, void *data)
{
    struct notes_hash *h = data;
    if (h->ok && CRYPTO_memcmp(h->got, h->want, NOTES_HASH) == 0) {
        notes_logged_in(r, h->user);
        gale_response_finish(r);
        return;
    }
    notes_refuse(r, 403, "wrong name or password");
}

static void notes_login_found(gale_request *r, void *arg, int status, const char *value, size_t len)
{
    struct notes_hash *h = arg;
    json_t *rec = status == 0 ? json_loadb(value, len, 0, NULL) : NULL;
    json_t *iter = json_object_get(rec, "iter");
    int ok =
        rec && json_is_integer(iter) &&
        notes_unhex(h->salt, NOTES_SALT, json_string_value(json_object_get(rec, "salt"))) == 0 &&
        notes_unhex(h->want, NOTES_HASH, json_string_value(json_object_get(rec, "hash"))) == 0;
    if (ok)
        h->iterations = (int)json_integer_value(iter);
    json_decref(rec);
    if (status < 0) {
        gale_response_error(r, 503, "the store is not available");
        return;
    }
    /* an unknown name gets the same answer as a wrong password */
    if (!ok || gale_request_blocking(r, notes_hash_work, notes_login_hashed, h, sizeof(*h)) < 0)
        notes_refuse(r, 403, "wrong name or password");
}

static int notes_login_post(gale_request *r)
{
    const char *user = gale_request_require_argument(r, "user");
    const char *password = user ? gale_request_require_argument(r, "password") : NULL;
    if (!user || !password)
        return GALE_OK;
    if (!notes_name_ok(user) || strlen(password) > 255) {
        notes_refuse(r, 403, "wrong name or password");
        return GALE_OK;
    }
    struct notes_hash *h = gale_request_alloc(r, sizeof(*h));
    memset(h, 0, sizeof(*h));
    snprintf(h->user, sizeof(h->user), "%s", user);
    snprintf(h->password, sizeof(h->password), "%s", password);
    if (gale_store_get(r, gale_request_printf(r, "user:%s", user), notes_login_found, h) < 0)
        gale_response_error(r, 503, "the config has no sessions store");
    return GALE_ASYNC;
}

static void notes_form(gale_request *r, const char *title, const char *action)
{
    const char *next = gale_request_argument(r, "next");
    notes_page(r, title);
    gale_response_printf(r, "<form method=\"post\" action=\"%s\">", action);
    notes_xsrf(r);
    if (next) {
        gale_response_puts(r, "<input type=\"hidden\" name=\"next\" value=\"");
        gale_response_puts_html(r, next);
        gale_response_puts(r, "\">");
    }
    gale_response_puts(r, "<p><label>Name <input name=\"user\" autocomplete=\"username\"></label>"
                          "<p><label>Password <input name=\"password\" type=\"password\"></label>"
                          "<p><button>Go</button></form>\n");
}

static int notes_login_get(gale_request *r)
{
    notes_form(r, "Log in", "/login");
    gale_response_puts(r, "<p>No account? <a href=\"/signup\">Sign up</a>\n");
    return GALE_OK;
}

static int notes_signup_get(gale_request *r)
{
    notes_form(r, "Sign up", "/signup");
    return GALE_OK;
}

static int notes_logout(gale_request *r)
{
    gale_session_destroy(r);
    gale_response_redirect(r, 303, "/login");
    return GALE_OK;
}

/* ---- the notes (routes marked authenticated: there is a user) ---- */

static void notes_list(gale_request *r, void *arg, int status, const char *value, size_t len)
{
    json_t *list = status == 0 ? json_loadb(value, len, 0, NULL) : NULL;
    size_t i;
    json_t *note;
    notes_page(r, "Notes");
    gale_response_puts(r, "<ul>\n");
    json_array_foreach(list, i, note)
    {
        gale_response_puts(r, "<li>");
        gale_response_puts_html(r, json_string_value(note) ? json_string_value(note) : "");
        gale_response_puts(r, "</li>\n");
    }
    gale_response_puts(r, "</ul>\n<form method=\"post\" action=\"/notes/add\">");
    notes_xsrf(r);
    gale_response_puts(r, "<input name=\"text\"><button>Add</button></form>\n"
                          "<form method=\"post\" action=\"/logout\">");
    notes_xsrf(r);
    gale_response_puts(r, "<button>Log out ");
    gale_response_puts_html(r, gale_request_user(r));
    gale_response_puts(r, "</button></form>\n");
    json_decref(list);
    gale_response_finish(r);
}

static int notes_get(gale_request *r)
{
    const char *key = gale_request_printf(r, "notes:%s", gale_request_user(r));
    if (gale_store_get(r, key, notes_list, NULL) < 0)
        gale_response_error(r, 503, "the config has no sessions store");
    return GALE_ASYNC;
}

static void notes_added(gale_request *r, void *arg, int status)
{
    if (status < 0)
        gale_response_error(r, 503, "the store is not available");
    else
        gale_response_redirect(r, 303, "/notes");
}

static void notes_append(gale_request *r, void *arg, int status, const char *value, size_t len)
{
    struct notes_conf *conf = gale_request_module_data(r);
    json_t *list = status == 0 ? json_loadb(value, len, 0, NULL) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    json_array_append_new(list, json_string(arg));
    while (json_array_size(list) > NOTES_MAX)
        json_array_remove(list, 0);
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    const char *key = gale_request_printf(r, "notes:%s", gale_request_user(r));
    if (!text || gale_store_set(r, key, text, strlen(text), conf->keep, notes_added, NULL) < 0)
        gale_response_error(r, 503, "the store is not available");
    free(text);
}

static int notes_add(gale_request *r)
{
    const char *text = gale_request_require_argument(r, "text");
    if (!text)
        return GALE_OK;
    json_t *utf8 = json_string(text); /* NULL unless valid UTF-8 */
    json_decref(utf8);
    if (!*text || strlen(text) > 1000 || !utf8) {
        gale_response_error(r, 400, "a note is 1 to 1000 characters of UTF-8");
        return GALE_OK;
    }
    const char *key = gale_request_printf(r, "notes:%s", gale_request_user(r));
    if (gale_store_get(r, key, notes_append, (void *)text) < 0)
        gale_response_error(r, 503, "the config has no sessions store");
    return GALE_ASYNC;
}

static const gale_handler notes_handlers[] = {
    {.name = "signup", .get = notes_signup_get, .post = notes_signup_post},
    {.name = "login", .get = notes_login_get, .post = notes_login_post},
    {.name = "logout", .post = notes_logout},
    {.name = "notes", .get = notes_get},
    {.name = "add", .post = notes_add},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,         .name = "notes", .version = GALE_VERSION_STRING, .init = notes_init,
    .handlers = notes_handlers,
};
