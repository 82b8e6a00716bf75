/*
 * upload.h - request bodies as form arguments: application/x-www-form-
 * urlencoded, and multipart/form-data fed while the body arrives, its
 * fields kept in the request's arena and its files in memory up to a limit,
 * then in a temporary file (removed with the request).
 */
#ifndef GALE_UPLOAD_H
#define GALE_UPLOAD_H

#include <stddef.h>

#include "gale/gale.h"

struct upload;

/* A collector for r's multipart body with this Content-Type value, or NULL
 * when the value is not multipart/form-data with a usable boundary. Files
 * above mem_limit bytes go to a temporary file in dir. */
struct upload *upload_new(gale_request *r, const char *ctype, size_t mem_limit, const char *dir);
/* Feed body bytes as they arrive. Returns 0, or -1 (upload_error says why). */
int upload_feed(struct upload *u, const char *data, size_t len);
/* The body is complete: 0, or -1 when the multipart body was cut short. */
int upload_finish(struct upload *u);
const char *upload_error(const struct upload *u);

/* The form fields and files collected (valid with the request). */
size_t upload_nfields(const struct upload *u);
void upload_field(const struct upload *u, size_t i, const char **name, const char **value);
size_t upload_nfiles(const struct upload *u);
const gale_file *upload_file(const struct upload *u, size_t i);

#endif
