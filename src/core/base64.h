/*
 * base64.h - base64 (RFC 4648 section 4: the standard alphabet, padded) and
 * base64url (section 5: the URL-safe alphabet, unpadded, as JWS, PKCE and
 * gale's own tokens use it), both ways. The module API's
 * gale_base64url_encode and gale_base64url_decode are these.
 */
#ifndef GALE_BASE64_H
#define GALE_BASE64_H

#include <stddef.h>

/* Characters base64_encode writes for n bytes (no NUL counted). */
size_t base64_encoded_len(size_t n, int url);
/* n bytes of in as text into out: base64_encoded_len(n, url) characters,
 * no NUL; url: base64url unpadded, else the standard alphabet padded.
 * Returns the length written. */
size_t base64_encode(char *out, const void *in, size_t n, int url);
/* Strict decoding of n characters into out (n / 4 * 3 + 3 bytes): the
 * standard form in whole padded quanta, base64url without padding (any
 * length but 4k + 1). 0 with *out_len set, or -1 on anything else. */
int base64_decode(unsigned char *out, size_t *out_len, const char *in, size_t n, int url);

#endif
