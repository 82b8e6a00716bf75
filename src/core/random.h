/*
 * random.h - random text from the OS's CSPRNG (OpenSSL's RAND_bytes): session
 * ids, and the tokens modules ask for (gale_random_token).
 */
#ifndef GALE_RANDOM_H
#define GALE_RANDOM_H

#include <stddef.h>

#define RANDOM_HEX "0123456789abcdef"
/* RFC 4648's base64url alphabet: safe in URLs, cookies and file names. */
#define RANDOM_URLSAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* len characters of alphabet (its length a power of two, up to 256, so
 * that every character is equally likely), then a NUL, into out (len + 1
 * bytes). 0, or -1 when the generator failed (out is then ""). */
int random_text(char *out, size_t len, const char *alphabet);

#endif
