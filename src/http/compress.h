/*
 * compress.h - the response compression output stage: gzip or Brotli for
 * the answers worth it (compress_settings.h says which), on the fly.
 */
#ifndef GALE_COMPRESS_H
#define GALE_COMPRESS_H

struct http_stage;

/* Added by the worker with pipeline_stage_add, after the ETag stage (which
 * hashes and compares the body as the handler wrote it). */
extern const struct http_stage compress_stage;

#endif
