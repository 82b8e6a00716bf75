/*
 * client_error.c - libcurl's many codes folded into the few a module acts
 * on (see client_error.h). A code not named here is GALE_FETCH_FAILED: the
 * message still carries libcurl's own text.
 */
#include "client/client_error.h"

#include <curl/curl.h>

#include "gale/gale.h"

int client_error_kind(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return GALE_FETCH_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return GALE_FETCH_DNS;
    case CURLE_COULDNT_CONNECT:
        return GALE_FETCH_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return GALE_FETCH_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        return GALE_FETCH_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return GALE_FETCH_TOO_LARGE;
    case CURLE_TOO_MANY_REDIRECTS:
        return GALE_FETCH_REDIRECTS;
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return GALE_FETCH_BROKEN;
    case CURLE_ABORTED_BY_CALLBACK:
        return GALE_FETCH_CANCELLED;
    default:
        return GALE_FETCH_FAILED;
    }
}

const char *client_error_what(int kind)
{
    static const char *const what[] = {
        [GALE_FETCH_OK] = "ok",
        [GALE_FETCH_DNS] = "name not resolved",
        [GALE_FETCH_REFUSED] = "could not connect",
        [GALE_FETCH_TIMEOUT] = "timed out",
        [GALE_FETCH_TLS] = "TLS failed",
        [GALE_FETCH_TOO_LARGE] = "answer too large",
        [GALE_FETCH_REDIRECTS] = "too many redirects",
        [GALE_FETCH_BROKEN] = "connection broken",
        [GALE_FETCH_CANCELLED] = "cancelled",
        [GALE_FETCH_FAILED] = "failed",
    };
    if (kind < 0 || kind >= (int)(sizeof(what) / sizeof(what[0])))
        return "failed";
    return what[kind];
}
