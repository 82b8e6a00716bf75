/*
 * render.c - a test and benchmark driver of the template engine alone:
 *
 *   render FOLDER NAME CONTEXT.json [COUNT]
 *
 * renders template NAME of FOLDER with the JSON context to stdout; with
 * COUNT, renders it COUNT times and prints renders per second of CPU time
 * instead (CPU time, not wall time: the figure holds on a busy machine).
 * Exit status 1 and the error on stderr when it fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "page/template.h"

int main(int argc, char **argv)
{
    struct template_err err = {.msg = ""};
    json_error_t jerr;
    if (argc < 4) {
        fprintf(stderr, "usage: render FOLDER NAME CONTEXT.json [COUNT]\n");
        return 2;
    }
    json_t *ctx = json_load_file(argv[3], 0, &jerr);
    if (ctx == NULL) {
        fprintf(stderr, "%s:%d: %s\n", argv[3], jerr.line, jerr.text);
        return 2;
    }
    struct template_cache *cache = template_cache_new(argv[1], 0);
    struct template_env env = {.cache = cache};
    const struct template *t = template_cache_get(cache, argv[2], &err);
    long count = argc > 4 ? atol(argv[4]) : 0;
    struct template_buf out = {0};
    struct timespec a, b;
    int rc = t ? 0 : -1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (long i = 0; rc == 0 && i < (count ? count : 1); i++) {
        out.len = 0;
        rc = template_render(t, ctx, &env, &out, &err);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
    } else if (count) {
        double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        printf("%.0f\n", (double)count / secs);
    } else {
        fwrite(out.s ? out.s : "", 1, out.len, stdout);
    }
    template_buf_free(&out);
    template_cache_free(cache);
    json_decref(ctx);
    return rc < 0;
}
