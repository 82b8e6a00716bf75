/*
 * handler.h - a module's handler as HTTP dispatch sees it.
 */
#ifndef GALE_HANDLER_H
#define GALE_HANDLER_H

#include <stddef.h>

#include "gale/gale.h"

/* The callback of `h` for a method (enum http_method), or NULL: HEAD falls
 * back to get, every method to `any`. */
gale_handler_fn handler_fn(const gale_handler *h, int method);
/* "GET, HEAD, POST" for the methods h implements (into buf); OPTIONS always,
 * since gale answers it itself when the handler does not. */
void handler_allow(const gale_handler *h, char *buf, size_t cap);

#endif
