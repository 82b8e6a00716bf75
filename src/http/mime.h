/*
 * mime.h - the media type of a file, by its extension: /etc/mime.types as
 * Debian ships it (what nginx's mime.types and Python's mimetypes, hence
 * Tornado, also read), or a built-in table of the common web types when
 * that file is absent.
 */
#ifndef GALE_MIME_H
#define GALE_MIME_H

/* Read the table from `file` (NULL: the built-in table only), replacing
 * (and freeing) the one in use: strings mime_type returned before are gone.
 * Returns 0, or -1 when the file cannot be read (the built-in table is used
 * then). mime_type() calls it with /etc/mime.types on first use; tests call
 * it before. */
int mime_load(const char *file);

/* The type of a file named `name` (its last extension, case-insensitive),
 * or NULL when unknown. The string is the table's: never freed. */
const char *mime_type(const char *name);

/* Whether `type` is text that a charset parameter applies to (text/...,
 * JavaScript, JSON, XML, SVG). */
int mime_is_text(const char *type);

#endif
