/*
 * notes.c - the framework demo: a small notes app.
 *
 * Sign up and log in with a form (passwords hashed with PBKDF2-HMAC-SHA256
 * on the worker's thread pool, never on the event loop), XSRF-protected
 * posts, the user in the session, each user's notes in the shared store
 * (LMDB or Redis: every worker and every instance sees them), written,
 * edited and deleted; logout. Pages are templates (www/templates/notes/),
 * translated (www/translations/); a form with a mistake comes back with the
 * mistake said in place, and what was done is said once on the next page
 * (a flash message kept in the session). Every store call may answer at
 * once or later, so each step is a callback.
 *
 * Settings: iterations (PBKDF2 rounds, default 200000), keep_days (how long
 * users and notes are kept unused, default 365).
 *
 * Store keys: "user:NAME" -> {"salt": hex, "hash": hex, "iter": n};
 * "notes:NAME" -> [{"id": n, "text": "...", "time": seconds}, ...], oldest
 * first (a plain string, as version 1 stored notes, reads as a note).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/gale.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define NOTES_SALT 16
#define NOTES_HASH 32
#define NOTES_MAX 200 /* notes kept per user */
#define NOTES_TEXT_MAX 1000

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

/* ---- pages ---- */

/* Say something once, on the next page this visitor sees. */
static void notes_flash(gale_request *r, const char *message)
{
    json_t *session = gale_session(r);
    if (session)
        json_object_set_new(session, "flash", json_string(message));
}

/* Render `page` with `ctx` (stolen) as the answer, with `status`, which
 * finishes it (or answers 500); the session's flash message goes into the
 * page and out of the session. */
static void notes_render(gale_request *r, int status, const char *page, json_t *ctx)
{
    json_t *session = gale_session(r);
    json_t *flash = json_object_get(session, "flash");
    json_object_set_new(ctx, "flash", flash ? json_incref(flash) : json_string(""));
    if (flash)
        json_object_del(session, "flash");
    if (!json_object_get(ctx, "error"))
        json_object_set_new(ctx, "error", json_string(""));
    gale_response_status(r, status);
    gale_template_render(r, page, ctx);
    json_decref(ctx);
}

static int notes_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The log-in or sign-up form, again with `error` said when not NULL. */
static void notes_account(gale_request *r, int status, int signup, const char *error)
{
    const char *next = gale_request_argument(r, "next");
    json_t *user = json_string(gale_request_argument(r, "user")); /* NULL unless UTF-8 */
    json_t *ctx = json_pack("{s:s, s:s, s:b, s:s, s:o}", "title", signup ? "Sign up" : "Log in",
                            "action", signup ? "/signup" : "/login", "signup", signup, "next",
                            next ? next : "", "user", user ? user : json_string(""));
    if (error)
        json_object_set_new(ctx, "error", json_string(error));
    /* "Log in with ..." buttons: the login module's providers named in the
     * settings (login_with = ( { name = "demo"; label = "..."; } )) */
    json_t *with = json_object_get(gale_ctx_settings(gale_request_ctx(r)), "login_with");
    json_object_set_new(ctx, "login_with", json_is_array(with) ? json_incref(with) : json_array());
    notes_render(r, status, "notes/account.html", ctx);
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

/* A hashed request: the fields it came with, for the form to show again. */
static struct notes_hash *notes_hash_new(gale_request *r, const char *user, const char *password)
{
    struct notes_hash *h = gale_request_alloc(r, sizeof(*h));
    memset(h, 0, sizeof(*h));
    snprintf(h->user, sizeof(h->user), "%s", user);
    snprintf(h->password, sizeof(h->password), "%s", password);
    return h;
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
        notes_account(r, 409, 1, "That name is taken.");
        return;
    }
    if (status < 0 || RAND_bytes(h->salt, NOTES_SALT) != 1 ||
        gale_request_blocking(r, notes_hash_work, notes_signup_hashed, h, sizeof(*h)) < 0)
        gale_response_error(r, 503, "cannot sign up now");
}

static int notes_signup_post(gale_request *r)
{
    struct notes_conf *conf = gale_request_module_data(r);
    const char *user = gale_request_argument(r, "user");
    const char *password = gale_request_argument(r, "password");
    if (!user || !password || !notes_name_ok(user) || strlen(password) < 8 ||
        strlen(password) > 255) {
        notes_account(r, 400, 1,
                      "Names are 1 to 32 of a-z 0-9 _ -, passwords 8 to 255 characters.");
        return GALE_OK;
    }
    struct notes_hash *h = notes_hash_new(r, user, password);
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
    } else {
        notes_account(r, 403, 0, "Wrong name or password.");
    }
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
        notes_account(r, 403, 0, "Wrong name or password.");
}

static int notes_login_post(gale_request *r)
{
    const char *user = gale_request_argument(r, "user");
    const char *password = gale_request_argument(r, "password");
    if (!user || !password || !notes_name_ok(user) || strlen(password) > 255) {
        notes_account(r, 403, 0, "Wrong name or password.");
        return GALE_OK;
    }
    struct notes_hash *h = notes_hash_new(r, user, password);
    if (gale_store_get(r, gale_request_printf(r, "user:%s", user), notes_login_found, h) < 0)
        gale_response_error(r, 503, "the config has no sessions store");
    return GALE_ASYNC;
}

static int notes_login_get(gale_request *r)
{
    notes_account(r, 200, 0, NULL);
    return GALE_OK;
}

static int notes_signup_get(gale_request *r)
{
    notes_account(r, 200, 1, NULL);
    return GALE_OK;
}

static int notes_logout(gale_request *r)
{
    gale_session_destroy(r);
    gale_response_redirect(r, 303, "/login");
    return GALE_OK;
}

/* ---- the notes (routes marked authenticated: there is a user) ---- */

/* What a store call on the user's notes goes on with. */
typedef void (*notes_step)(gale_request *r, json_t *list, void *arg);

struct notes_load {
    notes_step next;
    void *arg;
};

/* The user's notes as an array of {id, text, time}, oldest first. */
static json_t *notes_parse(const char *value, size_t len)
{
    json_t *stored = value ? json_loadb(value, len, 0, NULL) : NULL;
    json_t *list = json_array();
    size_t i;
    json_t *note;
    json_array_foreach(stored, i, note)
    {
        if (json_is_string(note)) /* as version 1 stored them */
            json_array_append_new(list, json_pack("{s:I, s:O, s:i}", "id", (json_int_t)i + 1,
                                                  "text", note, "time", 0));
        else if (json_is_integer(json_object_get(note, "id")) &&
                 json_is_string(json_object_get(note, "text")))
            json_array_append(list, note);
    }
    json_decref(stored);
    return list;
}

static void notes_loaded(gale_request *r, void *arg, int status, const char *value, size_t len)
{
    struct notes_load *load = arg;
    if (status < 0) {
        gale_response_error(r, 503, "the store is not available");
        return;
    }
    json_t *list = notes_parse(status == 0 ? value : NULL, len);
    load->next(r, list, load->arg);
    json_decref(list);
}

/* Read the user's notes, then next(r, list, arg). */
static int notes_load(gale_request *r, notes_step next, void *arg)
{
    struct notes_load *load = gale_request_alloc(r, sizeof(*load));
    load->next = next;
    load->arg = arg;
    const char *key = gale_request_printf(r, "notes:%s", gale_request_user(r));
    if (gale_store_get(r, key, notes_loaded, load) < 0) {
        gale_response_error(r, 503, "the config has no sessions store");
        return GALE_OK;
    }
    return GALE_ASYNC;
}

static void notes_saved(gale_request *r, void *arg, int status)
{
    if (status < 0) {
        gale_response_error(r, 503, "the store is not available");
        return;
    }
    notes_flash(r, arg);
    gale_response_redirect(r, 303, "/notes");
    gale_response_finish(r);
}

/* Store `list`, then say `done` on the notes page. */
static void notes_store(gale_request *r, json_t *list, const char *done)
{
    struct notes_conf *conf = gale_request_module_data(r);
    while (json_array_size(list) > NOTES_MAX)
        json_array_remove(list, 0);
    char *text = json_dumps(list, JSON_COMPACT);
    const char *key = gale_request_printf(r, "notes:%s", gale_request_user(r));
    if (!text ||
        gale_store_set(r, key, text, strlen(text), conf->keep, notes_saved, (void *)done) < 0)
        gale_response_error(r, 503, "the store is not available");
    free(text);
}

/* "N notes" in the visitor's language. */
static const char *notes_count(gale_request *r, size_t n)
{
    static const char slot[] = "%(count)d";
    const char *said = gale_ntranslate(r, "%(count)d note", "%(count)d notes", (long)n);
    const char *at = strstr(said, slot);
    if (!at)
        return said;
    return gale_request_printf(r, "%.*s%zu%s", (int)(at - said), said, n, at + strlen(slot));
}

/* The notes page, newest first, with `error` about the text being added. */
static void notes_show(gale_request *r, json_t *list, const char *error)
{
    json_t *newest = json_array();
    for (size_t i = json_array_size(list); i-- > 0;)
        json_array_append(newest, json_array_get(list, i));
    /* the text sent with a mistake, again in the form (NULL unless UTF-8) */
    json_t *text = error ? json_string(gale_request_argument(r, "text")) : NULL;
    json_t *ctx = json_pack("{s:o, s:s, s:s, s:o, s:s}", "notes", newest, "user",
                            gale_request_user(r), "count", notes_count(r, json_array_size(list)),
                            "text", text ? text : json_string(""), "error", error ? error : "");
    notes_render(r, error ? 400 : 200, "notes/list.html", ctx);
}

static void notes_list(gale_request *r, json_t *list, void *arg)
{
    notes_show(r, list, arg);
}

static int notes_get(gale_request *r)
{
    return notes_load(r, notes_list, NULL);
}

/* The text of a note from the form, or NULL when it is not one. */
static const char *notes_text(gale_request *r)
{
    const char *text = gale_request_argument(r, "text");
    json_t *utf8 = text ? json_string(text) : NULL; /* NULL unless valid UTF-8 */
    json_decref(utf8);
    if (!utf8 || !*text || strlen(text) > NOTES_TEXT_MAX)
        return NULL;
    return text;
}

/* The note whose id the form names, or -1. */
static long notes_find(gale_request *r, json_t *list)
{
    const char *id = gale_request_argument(r, "id");
    long want = id ? strtol(id, NULL, 10) : 0;
    size_t i;
    json_t *note;
    json_array_foreach(list, i, note)
    {
        if (want > 0 && json_integer_value(json_object_get(note, "id")) == want)
            return (long)i;
    }
    return -1;
}

static void notes_append(gale_request *r, json_t *list, void *arg)
{
    json_int_t id = 1;
    size_t i;
    json_t *note;
    json_array_foreach(list, i, note)
    {
        if (json_integer_value(json_object_get(note, "id")) >= id)
            id = json_integer_value(json_object_get(note, "id")) + 1;
    }
    json_array_append_new(list, json_pack("{s:I, s:s, s:I}", "id", id, "text", (char *)arg, "time",
                                          (json_int_t)time(NULL)));
    notes_store(r, list, "Note added.");
}

static int notes_add(gale_request *r)
{
    const char *text = notes_text(r);
    if (!text)
        return notes_load(r, notes_list, "A note is 1 to 1000 characters.");
    return notes_load(r, notes_append, (void *)text);
}

static void notes_gone(gale_request *r)
{
    notes_flash(r, "That note is gone.");
    gale_response_redirect(r, 303, "/notes");
    gale_response_finish(r);
}

static void notes_edit_form(gale_request *r, json_t *list, void *arg)
{
    long at = notes_find(r, list);
    if (at < 0) {
        notes_gone(r);
        return;
    }
    json_t *note = json_deep_copy(json_array_get(list, (size_t)at));
    const char *sent = gale_request_argument(r, "text");
    json_t *again = arg && sent ? json_string(sent) : NULL; /* NULL unless UTF-8 */
    if (again) /* the text as sent, with what is wrong with it */
        json_object_set_new(note, "text", again);
    json_t *ctx = json_pack("{s:o, s:s, s:s}", "note", note, "user", gale_request_user(r), "error",
                            arg ? (const char *)arg : "");
    notes_render(r, arg ? 400 : 200, "notes/edit.html", ctx);
}

static int notes_edit_get(gale_request *r)
{
    return notes_load(r, notes_edit_form, NULL);
}

static void notes_change(gale_request *r, json_t *list, void *arg)
{
    long at = notes_find(r, list);
    if (at < 0) {
        notes_gone(r);
        return;
    }
    json_t *note = json_array_get(list, (size_t)at);
    if (arg)
        json_object_set_new(note, "text", json_string(arg));
    else
        json_array_remove(list, (size_t)at);
    notes_store(r, list, arg ? "Note saved." : "Note deleted.");
}

static int notes_edit_post(gale_request *r)
{
    const char *text = notes_text(r);
    if (!text)
        return notes_load(r, notes_edit_form, "A note is 1 to 1000 characters.");
    return notes_load(r, notes_change, (void *)text);
}

static int notes_delete(gale_request *r)
{
    return notes_load(r, notes_change, NULL);
}

static const gale_handler notes_handlers[] = {
    {.name = "signup", .get = notes_signup_get, .post = notes_signup_post},
    {.name = "login", .get = notes_login_get, .post = notes_login_post},
    {.name = "logout", .post = notes_logout},
    {.name = "notes", .get = notes_get},
    {.name = "add", .post = notes_add},
    {.name = "edit", .get = notes_edit_get, .post = notes_edit_post},
    {.name = "delete", .post = notes_delete},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,         .name = "notes", .version = GALE_VERSION_STRING, .init = notes_init,
    .handlers = notes_handlers,
};
