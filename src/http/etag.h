/*
 * etag.h - the ETag and conditional-request output stage.
 */
#ifndef GALE_ETAG_H
#define GALE_ETAG_H

struct http_stage;

/* Added by the worker with pipeline_stage_add. */
extern const struct http_stage etag_stage;

#endif
