/*
 * locale_csv.c - Tornado's CSV catalogs: rows "message","translation"
 * [,"plural"|"singular"|"unknown"|""], read as Python's csv module reads
 * the excel dialect (quotes doubled inside quoted fields, newlines allowed
 * in them, text after a closing quote kept), each cell stripped.
 *
 * Stricter than Tornado where it would only log: a row with another plural
 * indicator, an unterminated quote, a NUL byte or text that is not UTF-8
 * fail the load, with the line, so that `gale -t` shows them.
 */
#include "page/locale_catalog.h"

#include <stdlib.h>
#include <string.h>

#define LOCALE_CSV_MAX_CELLS 3

struct locale_csv_row {
    char *cell[LOCALE_CSV_MAX_CELLS];
    size_t len[LOCALE_CSV_MAX_CELLS];
    size_t n; /* cells seen, may exceed LOCALE_CSV_MAX_CELLS (the rest is ignored) */
};

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs or surrogates). */
static int locale_csv_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i], need, min;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        if (len - i <= need)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int locale_csv_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Python's str.strip() on a cell (ASCII whitespace), in place. */
static void locale_csv_strip(char **s, size_t *len)
{
    while (*len > 0 && locale_csv_space(**s))
        (*s)++, (*len)--;
    while (*len > 0 && locale_csv_space((*s)[*len - 1]))
        (*len)--;
}

static int locale_csv_store(struct locale *l, struct locale_csv_row *row, const char **why)
{
    size_t n = row->n < LOCALE_CSV_MAX_CELLS ? row->n : LOCALE_CSV_MAX_CELLS;
    enum locale_csv_table t = LOCALE_CSV_UNKNOWN;
    const char *form[1];

    if (n < 2)
        return 0; /* Tornado skips short rows */
    for (size_t i = 0; i < n; i++)
        locale_csv_strip(&row->cell[i], &row->len[i]);
    if (n == 3 && row->len[2] > 0) {
        if (row->len[2] == 6 && memcmp(row->cell[2], "plural", 6) == 0)
            t = LOCALE_CSV_PLURAL;
        else if (row->len[2] == 8 && memcmp(row->cell[2], "singular", 8) == 0)
            t = LOCALE_CSV_SINGULAR;
        else if (!(row->len[2] == 7 && memcmp(row->cell[2], "unknown", 7) == 0)) {
            *why = "expected the plural indicator \"plural\", \"singular\" or \"unknown\"";
            return -1;
        }
    }
    form[0] = row->cell[1];
    if (locale_catalog_add(&l->csv[t], row->cell[0], row->len[0], form, &row->len[1], 1) < 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/* The cells of the row that starts at *pos, decoded into buf (which has
 * room for the whole text); *pos moves past its end of line and *line
 * counts the lines it spans. 1 for a row, 0 at the end, -1 on error. */
static int locale_csv_row(const char *s, size_t len, size_t *pos, char *buf,
                          struct locale_csv_row *row, int *line, const char **why)
{
    size_t i = *pos, out = 0, start = 0;
    int quoted = 0, in_quotes = 0;

    if (i >= len)
        return 0;
    row->n = 0;
    for (;; i++) {
        char c = i < len ? s[i] : '\n';
        if (in_quotes) {
            if (i >= len) {
                *why = "a quoted field is not closed";
                return -1;
            }
            if (c == '"' && i + 1 < len && s[i + 1] == '"')
                buf[out++] = '"', i++;
            else if (c == '"')
                in_quotes = 0;
            else {
                if (c == '\n')
                    (*line)++;
                buf[out++] = c;
            }
            continue;
        }
        if (c == '"' && out == start && !quoted) {
            quoted = in_quotes = 1;
            continue;
        }
        if (c == ',' || c == '\n') {
            if (row->n < LOCALE_CSV_MAX_CELLS) {
                row->cell[row->n] = buf + start;
                row->len[row->n] = out - start;
            }
            /* an empty line is a row of no cells, as Python's reader has it */
            if (!(c == '\n' && row->n == 0 && out == start && !quoted))
                row->n++;
            start = out;
            quoted = 0;
            if (c == '\n')
                break;
            continue;
        }
        buf[out++] = c;
    }
    *pos = i + 1;
    return 1;
}

int locale_csv_parse(struct locale *l, const char *text, size_t len, int *line, const char **why)
{
    char *copy = malloc(len + 1), *buf = malloc(len + 1);
    struct locale_csv_row row;
    size_t pos = 0, n = 0;
    int rc = 0, next = 1;

    *line = 0;
    if (len >= 2 &&
        ((text[0] == '\xff' && text[1] == '\xfe') || (text[0] == '\xfe' && text[1] == '\xff'))) {
        free(copy);
        free(buf);
        *why = "UTF-16 is not supported: save the file as UTF-8";
        return -1;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        text += 3, len -= 3;
    if (copy == NULL || buf == NULL) {
        *why = "out of memory";
        rc = -1;
    }
    /* universal newlines, as Python's text files: \r\n and \r are \n */
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (text[i] == '\0') {
            *why = "a NUL byte";
            rc = -1;
        } else if (text[i] == '\r') {
            copy[n++] = '\n';
            if (i + 1 < len && text[i + 1] == '\n')
                i++;
        } else
            copy[n++] = text[i];
    }
    if (rc == 0 && !locale_csv_utf8((const unsigned char *)copy, n)) {
        *why = "the file is not UTF-8";
        rc = -1;
    }
    while (rc == 0) {
        *line = next;
        int got = locale_csv_row(copy, n, &pos, buf, &row, &next, why);
        next++;
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = locale_csv_store(l, &row, why);
    }
    for (int t = 0; t < 3; t++)
        locale_catalog_finish(&l->csv[t]);
    l->kind = LOCALE_CSV;
    free(copy);
    free(buf);
    return rc;
}
