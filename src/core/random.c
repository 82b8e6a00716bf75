/*
 * random.c - random text (see random.h).
 *
 * One random byte per character, masked to the alphabet's size: with a
 * power-of-two alphabet no character is likelier than another (a modulo of
 * another size would favour the first ones).
 */
#include "core/random.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gale/gale.h"

int random_text(char *out, size_t len, const char *alphabet)
{
    unsigned char raw[64];
    size_t mask = strlen(alphabet) - 1;
    int rc = 0;
    for (size_t done = 0; done < len && rc == 0;) {
        size_t n = len - done < sizeof(raw) ? len - done : sizeof(raw);
        if (RAND_bytes(raw, (int)n) != 1) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n; i++)
            out[done + i] = alphabet[raw[i] & mask];
        done += n;
    }
    OPENSSL_cleanse(raw, sizeof(raw)); /* the bytes of someone's session id */
    out[rc == 0 ? len : 0] = '\0';
    return rc;
}

int gale_random_token(char *out, size_t size)
{
    if (!out || size < 2) {
        if (out && size)
            out[0] = '\0';
        return -1;
    }
    return random_text(out, size - 1, RANDOM_URLSAFE);
}
