/*
 * cgi.h - the CGI module (RFC 3875): its parts share these.
 */
#ifndef GALE_MODULE_CGI_H
#define GALE_MODULE_CGI_H

#include <stddef.h>

#include <gale/gale.h>

/* What a URL maps to: the script, and the variables naming it. */
struct cgi_target {
    const char *uri;         /* path and query: the request's, or a local redirect's */
    const char *root;        /* the route's root, absolute */
    const char *script;      /* the script's file, absolute, inside root */
    const char *script_name; /* the URL path that named it */
    const char *path_info;   /* the rest of the URL path ("" when none) */
    int redirected;          /* a local redirect: GET, no body */
};

/* One request handed to a CGI program or a FastCGI server. */
struct cgi_run {
    gale_request *r;
    gale_process *p;           /* CGI: the program */
    struct fastcgi_conn *fcgi; /* FastCGI: the connection */
    /* Stop (1) or go on (0) reading the answer: back-pressure. */
    void (*pause)(struct cgi_run *run, int paused);
    /* Start again for run->t (a local redirect): 0, or -1 after answering. */
    int (*start)(struct cgi_run *run);
    struct cgi_target t;
    int redirects; /* local redirects followed */
    char *local;   /* a local redirect's URI, to follow when the child ends */
    char *head;    /* the answer's head as it comes (until its blank line) */
    size_t head_len;
    int head_done; /* the head was parsed: what comes is body */
    int flushing;  /* a gale_response_flush_then is pending */
    int unflushed; /* body bytes were written since the last flush */
    /* The answer comes in batches (FastCGI: the records of one read): the
     * caller flushes at the end of each (cgi_flush), so that an answer
     * whose end is in the same batch goes out whole, with a
     * Content-Length, with no pause and resume of the reading. */
    int flush_later;
    int failed;           /* an error answer was given */
    struct cgi_run *next; /* the runs of the worker whose body still comes */
    /* The body as it arrives (NULL: its end); 0, or -1 when it cannot go on. */
    int (*body)(struct cgi_run *run, const char *data, size_t len);
};

/* A run for r, in r's memory (its head buffer freed with r). */
struct cgi_run *cgi_run_new(gale_request *r, void (*pause)(struct cgi_run *, int),
                            int (*start)(struct cgi_run *),
                            int (*body)(struct cgi_run *, const char *, size_t));
/* The script r's URL (t->uri) names: 0, or -1 (answer 404). */
int cgi_resolve(gale_request *r, struct cgi_target *t);
/* Answer status with what (and log it); r and run are gone after it. */
void cgi_fail(struct cgi_run *run, int status, const char *what);
/* Bytes of the answer (head, then body) as they come. */
void cgi_output(struct cgi_run *run, const char *data, size_t len);
/* Send what cgi_output wrote (when flush_later), reading no more until
 * the client took it. */
void cgi_flush(struct cgi_run *run);
/* The answer ended; timeout: it ran past its time. */
void cgi_done(struct cgi_run *run, int timeout, int code);
/* A line of the program's stderr, to the error log. */
void cgi_log_stderr(struct cgi_run *run, const char *data, size_t len);

/* The handler's callbacks: prepare starts the run (cgi_prepare_run with
 * the kind's functions), data_received streams the body to it, the method's
 * callback ends the body. */
int cgi_prepare_run(gale_request *r, void (*pause)(struct cgi_run *, int),
                    int (*start)(struct cgi_run *),
                    int (*body)(struct cgi_run *, const char *, size_t));
int cgi_data(gale_request *r, const char *data, size_t len);
int cgi_end(gale_request *r);
int fastcgi_prepare(gale_request *r); /* fastcgi.c */

struct bufferevent;
struct fastcgi_conn;
/* fastcgi_pool.c: at most cap connections to a server per worker. 1: c
 * may open one now; 0: c waits its turn (fastcgi_resume). */
int fastcgi_pool_enter(struct fastcgi_conn *c, const char *server, int cap);
/* A connection whose answer ended: to the request waiting longest, or
 * closed. */
void fastcgi_pool_pass(const char *server, struct bufferevent *bev);
/* A connection closed or lost: the request waiting longest opens one. */
void fastcgi_pool_leave(const char *server);
/* c waits no more (its request went away). */
void fastcgi_pool_forget(struct fastcgi_conn *c, const char *server);
void fastcgi_pool_free_all(void);
/* fastcgi.c: c's turn came, with bev (a connection that served another
 * request) or NULL (open a new one). */
void fastcgi_resume(struct fastcgi_conn *c, struct bufferevent *bev);

/* A meta-variable: name and value, in r's memory. */
struct cgi_var {
    const char *name, *value;
};
/* The meta-variables (RFC 3875 section 4.1) for r and t, *n of them, in
 * r's memory (FastCGI's PARAMS). */
const struct cgi_var *cgi_env_vars(gale_request *r, const struct cgi_target *t, size_t *n);
/* The same as "NAME=value" strings, NULL-ended (a program's environment). */
const char *const *cgi_env(gale_request *r, const struct cgi_target *t);
/* The strings given, up to a NULL, joined in r's memory. */
char *cgi_cat(gale_request *r, ...) __attribute__((sentinel));

/* The answer's head is complete in head[0..len) (modified in place): set
 * the status and headers of r from it. 0; 1 for a local redirect (*local
 * set to its URI, nothing set on r); -1 for a head that is not CGI's, with
 * *why saying what is wrong. */
int cgi_head_apply(gale_request *r, char *head, size_t len, char **local, const char **why);
/* Where the head ends in data[0..len): the offset past its blank line, or 0. */
size_t cgi_head_end(const char *data, size_t len);

#endif
