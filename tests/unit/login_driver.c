/*
 * login_driver.c - signs OAuth 1.0a requests with modules/login's
 * login_oauth1_sign for the differential test against Tornado
 * (tests/unit/login_tornado.py): one JSON object a line on stdin,
 *   {"method": M, "url": U, "consumer_secret": C, "token_secret": T or null,
 *    "params": [[NAME, VALUE], ...]}
 * and one line out: the signature, or "ERROR".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login/login_pure.h"

static char *login_driver_sign(const json_t *req)
{
    const json_t *params = json_object_get(req, "params");
    size_t n = json_array_size(params);
    struct login_param *p = calloc(n + 1, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        p[i].name = json_string_value(json_array_get(json_array_get(params, i), 0));
        p[i].value = json_string_value(json_array_get(json_array_get(params, i), 1));
    }
    char *base = login_oauth1_sign_base(json_string_value(json_object_get(req, "method")),
                                        json_string_value(json_object_get(req, "url")), p, n);
    char *sig =
        base ? login_oauth1_sign(base, json_string_value(json_object_get(req, "consumer_secret")),
                                 json_string_value(json_object_get(req, "token_secret")))
             : NULL;
    free(base);
    free(p);
    return sig;
}

int main(void)
{
    char line[65536];
    while (fgets(line, sizeof(line), stdin)) {
        json_t *req = json_loads(line, 0, NULL);
        char *sig = req ? login_driver_sign(req) : NULL;
        printf("%s\n", sig ? sig : "ERROR");
        free(sig);
        json_decref(req);
    }
    return 0;
}
