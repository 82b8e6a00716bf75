/*
 * client_error.h - what a finished libcurl transfer's code means to a
 * module: one enum gale_fetch_error, and the words a log line starts with.
 * Pure: no transfer, no loop (unit-tested).
 */
#ifndef GALE_CLIENT_ERROR_H
#define GALE_CLIENT_ERROR_H

/* The enum gale_fetch_error of a CURLcode (0 for CURLE_OK). */
int client_error_kind(int curl_code);
/* A short phrase for an enum gale_fetch_error ("name not resolved"). */
const char *client_error_what(int kind);

#endif
