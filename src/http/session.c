/*
 * session.c - sessions over the session store.
 *
 * A session is loaded before the handler runs (asynchronously with Redis)
 * and saved, when the handler changed it, just before the answer's head is
 * sent, so that a new session's cookie goes out with it. Ids are 64 random
 * hex digits (256 bits); the cookie holds the id signed with the cookie
 * secret, so a forged or guessed cookie never reaches the store.
 */
#include "http/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/random.h"
#include "http/request.h"
#include "store/store.h"
#include "http/http_settings.h"

#define SESSION_ID_LEN 64

static struct store *session_store;

int session_prepare(const struct config *cfg, uid_t uid, gid_t gid, int drop)
{
    const struct http_sessions *ss = &http_settings(cfg)->sessions;
    if (!ss->line || ss->store != HTTP_STORE_LMDB)
        return 0;
    if (mkdir(ss->dir, 0700) < 0 && errno != EEXIST) {
        log_error("sessions: cannot make %s: %s", ss->dir, strerror(errno));
        return -1;
    }
    if (!drop)
        return 0;
    /* Under systemd's unit the master has no CAP_CHOWN: even a chown to the
     * owner the folder already has fails there. A folder made for the
     * workers beforehand (tmpfiles.d, the package) needs none. */
    struct stat st;
    if (stat(ss->dir, &st) < 0) {
        log_error("sessions: cannot stat %s: %s", ss->dir, strerror(errno));
        return -1;
    }
    if (st.st_uid == uid)
        return 0;
    if (chown(ss->dir, uid, gid) < 0) {
        log_error("sessions: cannot give %s (owned by uid %u) to the workers' uid %u: %s; make "
                  "it theirs beforehand (chown, or systemd-tmpfiles)",
                  ss->dir, (unsigned)st.st_uid, (unsigned)uid, strerror(errno));
        return -1;
    }
    return 0;
}

int session_init(const struct config *cfg, struct event_base *base)
{
    const struct http_sessions *ss = &http_settings(cfg)->sessions;
    char err[512];
    if (!ss->line)
        return 0;
    if (ss->store == HTTP_STORE_LMDB) {
        session_store = store_lmdb_open(ss->dir, ss->map_size, err, sizeof(err));
    } else {
        struct store_redis_conf rc = {ss->redis.host, ss->redis.port, ss->redis.password,
                                      ss->redis.db, ss->redis.prefix};
        session_store = store_redis_open(base, &rc, err, sizeof(err));
    }
    if (!session_store) {
        log_error("sessions: %s", err);
        return -1;
    }
    return 0;
}

void session_shutdown(void)
{
    store_close(session_store);
    session_store = NULL;
}

struct store *session_store_of(const gale_request *r)
{
    return session_store;
}

int session_enabled(const gale_request *r)
{
    return session_store != NULL;
}

static int session_id_ok(const char *id)
{
    if (strlen(id) != SESSION_ID_LEN)
        return 0;
    return strspn(id, "0123456789abcdef") == SESSION_ID_LEN;
}

static void session_fresh(gale_request *r)
{
    r->session = json_object();
    r->session_orig = json_object();
}

static void session_loaded(void *arg, int status, const char *value, size_t len)
{
    gale_request *r = arg;
    r->session_op = NULL;
    json_t *obj = status == 0 ? json_loadb(value, len, 0, NULL) : NULL;
    if (obj && json_is_object(obj)) {
        r->session = obj;
        r->session_orig = json_deep_copy(obj);
    } else {
        json_decref(obj);
        r->session_id = NULL; /* gone or expired: a new session, a new id */
        session_fresh(r);
    }
    r->session_done(r);
}

void session_load(gale_request *r, void (*done)(gale_request *r))
{
    if (!session_store) {
        done(r);
        return;
    }
    const struct http_sessions *ss = &http_settings(r->loop->cfg)->sessions;
    const char *id = gale_request_signed_cookie(r, ss->cookie, ss->max_age / 86400.0);
    if (!id || !session_id_ok(id)) {
        session_fresh(r);
        done(r);
        return;
    }
    r->session_id = id;
    r->session_done = done;
    /* LMDB answers before store_get returns, and done(r) may finish and free
     * r: nothing may touch r after store_get unless an answer is pending. */
    struct store_op *op = store_get(session_store, id, session_loaded, r);
    if (op)
        r->session_op = op;
}

void session_cancel(gale_request *r)
{
    store_cancel(r->session_op);
    r->session_op = NULL;
}

static char *session_new_id(gale_request *r)
{
    char *id = gale_request_alloc(r, SESSION_ID_LEN + 1);
    return random_text(id, SESSION_ID_LEN, RANDOM_HEX) == 0 ? id : NULL;
}

static void session_cookie(gale_request *r, const char *id)
{
    const struct http_sessions *ss = &http_settings(r->loop->cfg)->sessions;
    gale_cookie_options o = {.path = "/",
                             .httponly = 1,
                             .samesite = GALE_SAMESITE_LAX,
                             .secure = r->https,
                             .has_max_age = 1,
                             .max_age = (long long)ss->max_age};
    if (!id) {
        gale_response_clear_cookie(r, ss->cookie, &o);
        return;
    }
    if (gale_response_set_signed_cookie(r, ss->cookie, id, &o) < 0)
        log_error("sessions: cannot set the session cookie");
}

static void session_written(void *arg, int status)
{
    gale_request *r = arg;
    r->session_op = NULL;
    if (status < 0)
        log_error("sessions: the session could not be stored");
    if (!r->session_writing) /* a later answer (Redis): the request waits for it */
        r->session_done(r);
}

/* Store the session under r->session_id: when done is given, call it once
 * the store confirms (returns 1 then, or 0 when that happened at once). */
static int session_write(gale_request *r, void (*done)(gale_request *r))
{
    const struct http_sessions *ss = &http_settings(r->loop->cfg)->sessions;
    char *text = json_dumps(r->session, JSON_COMPACT);
    if (!text)
        return 0;
    r->session_done = done;
    r->session_writing = 1; /* LMDB calls back before store_set returns */
    struct store_op *op = store_set(session_store, r->session_id, text, strlen(text),
                                    (unsigned)ss->max_age, done ? session_written : NULL, r);
    r->session_writing = 0;
    free(text);
    if (!done || !op)
        return 0;
    r->session_op = op;
    return 1;
}

int session_save(gale_request *r, void (*done)(gale_request *r))
{
    if (!session_store || !r->session || r->session_saved)
        return 0;
    r->session_saved = 1;
    if (r->session_destroy) {
        if (r->session_id)
            store_del(session_store, r->session_id, NULL, NULL);
        if (r->session_id && !r->head_sent)
            session_cookie(r, NULL);
        return 0;
    }
    int changed = !json_equal(r->session, r->session_orig);
    if (!changed && !r->session_regenerate)
        return 0;
    if (r->session_regenerate && r->session_id)
        store_del(session_store, r->session_id, NULL, NULL); /* the old id dies: no fixation */
    if (r->session_regenerate || !r->session_id) {
        if (r->head_sent) {
            log_warn("sessions: a new session after the answer started cannot be kept");
            return 0;
        }
        r->session_id = session_new_id(r);
        if (!r->session_id)
            return 0;
        session_cookie(r, r->session_id);
    }
    return session_write(r, done);
}

/* ---- the module API ---- */

json_t *gale_session(gale_request *r)
{
    return r->session;
}

int gale_session_regenerate(gale_request *r)
{
    if (!r->session)
        return -1;
    r->session_regenerate = 1;
    return 0;
}

void gale_session_destroy(gale_request *r)
{
    if (r->session)
        r->session_destroy = 1;
}
