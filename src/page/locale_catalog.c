/*
 * locale_catalog.c - a sorted table of messages and their forms.
 */
#include "page/locale_catalog.h"

#include <stdlib.h>
#include <string.h>

int locale_catalog_add(struct locale_catalog *c, const char *key, size_t klen,
                       const char *const *forms, const size_t *lens, size_t nforms)
{
    struct locale_entry e = {0};

    /* grow by doubling: n is a power of two or not yet full */
    if ((c->n & (c->n - 1)) == 0) {
        struct locale_entry *v = realloc(c->v, (c->n ? c->n * 2 : 16) * sizeof(*v));
        if (v == NULL)
            return -1;
        c->v = v;
    }
    e.key = strndup(key, klen);
    e.forms = calloc(nforms ? nforms : 1, sizeof(char *));
    if (e.key == NULL || e.forms == NULL)
        goto fail;
    for (e.nforms = 0; e.nforms < nforms; e.nforms++)
        if ((e.forms[e.nforms] = strndup(forms[e.nforms], lens[e.nforms])) == NULL)
            goto fail;
    e.seq = c->n;
    c->v[c->n++] = e;
    return 0;
fail:
    for (size_t i = 0; i < e.nforms; i++)
        free(e.forms[i]);
    free(e.forms);
    free(e.key);
    return -1;
}

static int locale_catalog_cmp(const void *x, const void *y)
{
    const struct locale_entry *a = x, *b = y;
    int c = strcmp(a->key, b->key);

    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void locale_catalog_entry_free(struct locale_entry *e)
{
    for (size_t i = 0; i < e->nforms; i++)
        free(e->forms[i]);
    free(e->forms);
    free(e->key);
}

void locale_catalog_finish(struct locale_catalog *c)
{
    size_t out = 0;

    if (c->n == 0)
        return;
    qsort(c->v, c->n, sizeof(*c->v), locale_catalog_cmp);
    for (size_t i = 0; i < c->n; i++) {
        if (i + 1 < c->n && strcmp(c->v[i].key, c->v[i + 1].key) == 0) {
            locale_catalog_entry_free(&c->v[i]);
            continue;
        }
        c->v[out++] = c->v[i];
    }
    c->n = out;
}

static int locale_catalog_key_cmp(const void *key, const void *e)
{
    return strcmp(key, ((const struct locale_entry *)e)->key);
}

const struct locale_entry *locale_catalog_find(const struct locale_catalog *c, const char *key)
{
    if (c->n == 0)
        return NULL;
    return bsearch(key, c->v, c->n, sizeof(*c->v), locale_catalog_key_cmp);
}

/* What bsearch looks for in locale_catalog_find_context: the key
 * "CONTEXT\x04MSG", compared piece by piece instead of being built. */
struct locale_catalog_pair {
    const char *context, *msg;
};

static int locale_catalog_pair_cmp(const void *key, const void *e)
{
    const struct locale_catalog_pair *k = key;
    const unsigned char *s = (const unsigned char *)((const struct locale_entry *)e)->key;
    const unsigned char *parts[3] = {(const unsigned char *)k->context,
                                     (const unsigned char *)"\x04", (const unsigned char *)k->msg};

    for (int i = 0; i < 3; i++)
        for (const unsigned char *p = parts[i]; *p != '\0'; p++, s++)
            if (*p != *s)
                return *p < *s ? -1 : 1;
    return *s == '\0' ? 0 : -1;
}

const struct locale_entry *locale_catalog_find_context(const struct locale_catalog *c,
                                                       const char *context, const char *msg)
{
    struct locale_catalog_pair k = {context, msg};

    if (c->n == 0)
        return NULL;
    return bsearch(&k, c->v, c->n, sizeof(*c->v), locale_catalog_pair_cmp);
}

void locale_catalog_free(struct locale_catalog *c)
{
    for (size_t i = 0; i < c->n; i++)
        locale_catalog_entry_free(&c->v[i]);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
