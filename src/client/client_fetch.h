/*
 * client_fetch.h - one outgoing transfer (the gale_fetch of gale.h): its
 * request as the module set it up, its libcurl easy handle, and the answer
 * gathered so far. client.c runs it; client_fetch.c makes, fills and
 * finishes it.
 */
#ifndef GALE_CLIENT_FETCH_H
#define GALE_CLIENT_FETCH_H

#include <curl/curl.h>
#include <stddef.h>

#include "gale/gale.h"

enum client_fetch_state { FETCH_NEW, FETCH_QUEUED, FETCH_RUNNING, FETCH_DONE };

struct client_header {
    char *name, *value; /* owned */
};

struct gale_fetch {
    gale_ctx *ctx;
    struct client *client;
    gale_request *req; /* bound: cancelled when it goes away */
    CURL *easy;
    enum client_fetch_state state;
    unsigned cancelled : 1; /* cancelled inside libcurl: reap once it returns */
    unsigned oversize : 1;  /* the write callback stopped it at the limit */
    unsigned stopped : 1;   /* an upload or download callback returned -1 */
    unsigned bound : 1;     /* holds a cleanup on req's arena, is on req's list */
    unsigned gone : 1;      /* its client went away: done tells CANCELLED */
    unsigned paused : 1;    /* a callback returned GALE_FETCH_PAUSE */

    char *method, *url;
    struct curl_slist *headers;
    char *body; /* the request body (owned), NULL when none or streamed */
    size_t body_len;
    long long upload_len; /* streamed: total or -1 */
    long (*upload)(gale_fetch *f, void *arg, char *buf, size_t size);
    void *upload_arg;
    int (*download)(gale_fetch *f, void *arg, const char *data, size_t len);
    void *download_arg;
    double connect_timeout, timeout;
    int max_redirects;
    size_t max_size;
    gale_fetch_done_fn done;
    void *done_arg;

    /* the answer */
    int error;
    char *message; /* owned, "" when OK */
    int status;
    char *last_url;
    struct client_header *rh; /* the last answer's headers */
    size_t nrh, rh_cap;
    char *rbody; /* NUL-terminated */
    size_t rbody_len, rbody_cap, received;
    char errbuf[CURL_ERROR_SIZE];

    gale_fetch *prev, *next;   /* on the client's running list or its queue */
    gale_fetch *rprev, *rnext; /* on req->fetches while bound */
};

/* Apply f's request to its easy handle (at start). 0 or -1. */
int client_fetch_prepare(gale_fetch *f);
/* The transfer ended with libcurl's code: set the outcome, call done
 * (unless cancelled), free f. */
void client_fetch_finish(gale_fetch *f, CURLcode code);
/* The client of f's request went away: end f (started) with
 * GALE_FETCH_CANCELLED (done is called, so that the module finishes the
 * request). */
void client_fetch_gone(gale_fetch *f);
/* Free f and all it holds, without a callback; unbinds it from its request. */
void client_fetch_free(gale_fetch *f);

#endif
