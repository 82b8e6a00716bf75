/*
 * locale_catalog.h - a catalog of messages (struct locale_catalog in
 * locale.h): built entry by entry while a file is parsed, then sorted once
 * for binary search. A key added again replaces the earlier entry, as a
 * Python dict does. Everything is malloc'd and freed by
 * locale_catalog_free.
 */
#ifndef GALE_LOCALE_CATALOG_H
#define GALE_LOCALE_CATALOG_H

#include <stddef.h>

#include "page/locale.h"

/* Add key (klen bytes) with nforms forms (forms[i], lens[i] bytes each),
 * copied. 0, or -1 when out of memory. */
int locale_catalog_add(struct locale_catalog *c, const char *key, size_t klen,
                       const char *const *forms, const size_t *lens, size_t nforms);
/* Sort and keep the last entry of each key. */
void locale_catalog_finish(struct locale_catalog *c);
const struct locale_entry *locale_catalog_find(const struct locale_catalog *c, const char *key);
/* The entry of key "CONTEXT\x04MSG" (gettext's msgctxt), or NULL. */
const struct locale_entry *locale_catalog_find_context(const struct locale_catalog *c,
                                                       const char *context, const char *msg);
void locale_catalog_free(struct locale_catalog *c);

/* Parse Tornado CSV text into l's three tables (l->kind becomes
 * LOCALE_CSV). 0, or -1 with *line and a static reason in *why. */
int locale_csv_parse(struct locale *l, const char *text, size_t len, int *line, const char **why);

/* Parse a gettext .mo file (either byte order) into l->mo and l->plural
 * (l->kind becomes LOCALE_MO). 0, or -1 with a static reason in *why. */
int locale_mo_parse(struct locale *l, const unsigned char *data, size_t len, const char **why);

#endif
