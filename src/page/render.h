/*
 * render.h - templates for requests: the engine (template.h) bound to a
 * gale_request, behind gale_template_render() and
 * gale_template_render_string() of the module API.
 *
 * Each worker keeps one template cache per template folder, made on first
 * use: workers are processes, so the cache is the worker's own and a
 * template is compiled once per worker.
 */
#ifndef GALE_PAGE_RENDER_H
#define GALE_PAGE_RENDER_H

#include "gale/gale.h"
#include "page/template.h"

/* Free every cache (a worker that exits). */
void render_caches_free(void);

#endif
