/*
 * locale_mo.c - gettext's binary catalogs (.mo, as msgfmt writes them),
 * read as Python's gettext.GNUTranslations reads them: magic 0x950412de in
 * either byte order, major revision 0 or 1, a table of original strings
 * and one of translations whose every string must end inside the file.
 * The entry with an empty msgid is the header; its Plural-Forms gives the
 * plural rule. A plural entry's msgid is "SINGULAR\0PLURAL" and its
 * translation holds the forms NUL-separated. Strings are taken as UTF-8.
 */
#include "page/locale_catalog.h"

#include <stdint.h>
#include <strings.h>
#include <string.h>

#define LOCALE_MO_MAGIC 0x950412deU

struct locale_mo {
    const unsigned char *data;
    size_t len;
    int swap; /* the file's byte order is big-endian */
};

static uint32_t locale_mo_word(const struct locale_mo *m, size_t off)
{
    const unsigned char *p = m->data + off;

    if (m->swap)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* String i of the table at `table`: its bytes, which must end (with the
 * NUL msgfmt writes after them) inside the file. */
static int locale_mo_string(const struct locale_mo *m, uint32_t table, uint32_t i, const char **s,
                            size_t *len)
{
    size_t at = (size_t)table + (size_t)i * 8;
    uint32_t n, off;

    if (at > m->len || m->len - at < 8)
        return -1;
    n = locale_mo_word(m, at);
    off = locale_mo_word(m, at + 4);
    if ((size_t)off + n >= m->len)
        return -1;
    *s = (const char *)m->data + off;
    *len = n;
    return 0;
}

/* 1 when a Content-Type header line names UTF-8 (or ASCII, a subset) or
 * no charset: gale hands the strings out as they are. */
static int locale_mo_utf8(const char *line, size_t len)
{
    const char *cs = memmem(line, len, "charset=", 8), *end = line + len;
    size_t n;

    if (cs == NULL)
        return 1;
    cs += 8;
    for (n = 0; cs + n < end && cs[n] != ';' && cs[n] != ' ' && cs[n] != '\t'; n++)
        ;
    return (n == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
           (n == 4 && strncasecmp(cs, "utf8", 4) == 0) ||
           (n == 5 && strncasecmp(cs, "ascii", 5) == 0) ||
           (n == 8 && strncasecmp(cs, "us-ascii", 8) == 0) ||
           (n == 7 && strncasecmp(cs, "charset", 7) == 0);
}

/* The header's Plural-Forms: "nplurals=N; plural=EXPR;" */
static int locale_mo_header(struct locale *l, const char *h, size_t len, const char **why)
{
    const char *end = h + len, *line = h;

    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end, *semi, *expr, *exprend;
        while (line < stop && (*line == ' ' || *line == '\t'))
            line++;
        if ((size_t)(stop - line) >= 13 && strncasecmp(line, "content-type:", 13) == 0 &&
            !locale_mo_utf8(line, (size_t)(stop - line))) {
            *why = "the catalog's charset is not UTF-8 (convert it with msgconv -t UTF-8)";
            return -1;
        }
        if ((size_t)(stop - line) >= 13 && strncasecmp(line, "plural-forms:", 13) == 0) {
            semi = memchr(line, ';', (size_t)(stop - line));
            expr = semi ? memmem(semi, (size_t)(stop - semi), "plural=", 7) : NULL;
            if (expr == NULL) {
                *why = "the Plural-Forms header has no plural=";
                return -1;
            }
            expr += 7;
            exprend = memchr(expr, ';', (size_t)(stop - expr));
            if (exprend == NULL)
                exprend = stop;
            if (locale_plural_compile(&l->plural, expr, (size_t)(exprend - expr), why) < 0)
                return -1;
        }
        line = stop + 1;
    }
    return 0;
}

/* Entry i: the header, a message, or a plural message. */
static int locale_mo_entry(struct locale *l, const struct locale_mo *m, uint32_t orig,
                           uint32_t trans, uint32_t i, const char **why)
{
    const char *id, *tr, *forms[64];
    size_t idlen, trlen, lens[64], n = 0;
    const char *nul;

    if (locale_mo_string(m, orig, i, &id, &idlen) < 0 ||
        locale_mo_string(m, trans, i, &tr, &trlen) < 0) {
        *why = "the file is corrupt (a string lies outside it)";
        return -1;
    }
    if (idlen == 0)
        return locale_mo_header(l, tr, trlen, why);
    nul = memchr(id, '\0', idlen);
    if (nul != NULL) {
        if (memchr(nul + 1, '\0', idlen - (size_t)(nul + 1 - id)) != NULL) {
            *why = "a msgid has more than one plural";
            return -1;
        }
        idlen = (size_t)(nul - id);
    }
    for (const char *p = tr, *end = tr + trlen;; n++) {
        const char *z = nul ? memchr(p, '\0', (size_t)(end - p)) : NULL;
        if (n == 64) {
            *why = "a message has more than 64 plural forms";
            return -1;
        }
        forms[n] = p;
        lens[n] = (size_t)((z ? z : end) - p);
        if (z == NULL) {
            n++;
            break;
        }
        p = z + 1;
    }
    if (locale_catalog_add(&l->mo, id, idlen, forms, lens, n) < 0) {
        *why = "out of memory";
        return -1;
    }
    l->mo.v[l->mo.n - 1].is_plural = nul != NULL;
    return 0;
}

int locale_mo_parse(struct locale *l, const unsigned char *data, size_t len, const char **why)
{
    struct locale_mo m = {data, len, 0};
    uint32_t magic, count, orig, trans;

    l->kind = LOCALE_MO;
    locale_plural_default(&l->plural);
    if (len < 20) {
        *why = "not a .mo file (too short)";
        return -1;
    }
    magic = locale_mo_word(&m, 0);
    if (magic != LOCALE_MO_MAGIC) {
        m.swap = 1;
        if (locale_mo_word(&m, 0) != LOCALE_MO_MAGIC) {
            *why = "not a .mo file (bad magic number)";
            return -1;
        }
    }
    if (locale_mo_word(&m, 4) >> 16 > 1) {
        *why = "unsupported .mo revision";
        return -1;
    }
    count = locale_mo_word(&m, 8);
    orig = locale_mo_word(&m, 12);
    trans = locale_mo_word(&m, 16);
    if ((uint64_t)count * 8 > len) {
        *why = "the file is corrupt (too many strings)";
        return -1;
    }
    for (uint32_t i = 0; i < count; i++)
        if (locale_mo_entry(l, &m, orig, trans, i, why) < 0)
            return -1;
    locale_catalog_finish(&l->mo);
    return 0;
}
