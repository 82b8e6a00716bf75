/*
 * cookie_api.h - the module API's cookies, signed cookies and XSRF tokens
 * (gale_request_cookie ... gale_request_xsrf_token), over the pure logic of
 * cookie.c and xsrf.c, with the config's keys.
 */
#ifndef GALE_COOKIE_API_H
#define GALE_COOKIE_API_H

#include "gale/gale.h"

/* With xsrf_cookies on: 0 when r may go on (a safe method, a route that
 * opted out, or a submitted token matching the cookie's), -1 when it must be
 * refused with 403 (the reason in *why). */
int cookie_api_xsrf_check(gale_request *r, int route_opted_in, const char **why);

#endif
