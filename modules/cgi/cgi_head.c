/*
 * cgi_head.c - the head of a CGI answer (RFC 3875 section 6): header lines
 * up to a blank line, with the CGI fields Status, Location and
 * Content-Type; a local redirect (a Location path, alone) is for the
 * server to follow, a client redirect becomes a 302.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"

size_t cgi_head_end(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        if (i + 1 < len && data[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* "NNN reason": the status, or -1. */
static int cgi_head_status(gale_request *r, const char *v)
{
    char *end;
    long code = strtol(v, &end, 10);
    if (end - v != 3 || (*end && *end != ' ') || code < 100 || code > 599)
        return -1;
    gale_response_status(r, (int)code);
    while (*end == ' ')
        end++;
    if (*end)
        gale_response_reason(r, end); /* refused when odd: the standard one stays */
    return 0;
}

static char *cgi_head_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

int cgi_head_apply(gale_request *r, char *head, size_t len, char **local, const char **why)
{
    head[len] = 0;
    int fields = 0, status = 0, others = 0;
    char *location = NULL;
    for (char *line = strtok(head, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!strcmp(cgi_head_trim(line), ""))
            continue;
        if (!colon) {
            *why = "a head line without a colon";
            return -1;
        }
        *colon = 0;
        char *name = cgi_head_trim(line), *value = cgi_head_trim(colon + 1);
        if (!strcasecmp(name, "Status")) {
            if (cgi_head_status(r, value) < 0) {
                *why = "a bad Status";
                return -1;
            }
            status = fields = 1;
            continue;
        }
        if (!strcasecmp(name, "Location"))
            location = value;
        else
            others = 1;
        if (!strcasecmp(name, "Content-Type") || !strcasecmp(name, "Location"))
            fields = 1;
        /* gale's own framing headers are refused: gale frames the body */
        gale_response_header(r, name, value);
    }
    if (!fields) {
        *why = "no Content-Type, Location or Status";
        return -1;
    }
    if (location && location[0] == '/' && location[1] != '/' && !status && !others) {
        *local = location;
        return 1;
    }
    if (location && !status)
        gale_response_status(r, 302);
    return 0;
}
