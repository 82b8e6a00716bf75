/*
 * fuzz_config.c - libFuzzer target for the config checker: libconfig's
 * parser, every setter, the settings-to-JSON conversion and the route
 * pattern check, on arbitrary text. It must never crash, hang or leak,
 * whether the text is accepted or not.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/config.c src/router.c \
 *       tests/fuzz/fuzz_config.c $(pkg-config --cflags --libs libconfig jansson libpcre2-8)
 *   ./a.out tests/fuzz/corpus_config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* By its path: the build puts autoconf's own config.h first in the
 * include path, and this file is not in src/. */
#include "core/config.h"
#include "daemon/settings.h"

/*
 * @include would read whatever file the input names (a fifo blocks, a big
 * file is slow, and the results would depend on the machine). libconfig 1.5
 * joins every include path, absolute ones too, to the include folder, which
 * config_load_string sets to `dir`: a folder that does not exist makes every
 * @include fail the same way, as an error the fuzzer still exercises.
 */
#define FUZZ_DIR "/nonexistent/gale-fuzz"

/*
 * libconfig 1.5 (Debian 12) leaks the value of a string token that is the
 * parser's lookahead when a syntax error is found, as in `a = 1; "x"` or
 * `""` alone: hyperrealm/libconfig#142, fixed upstream by #155 (a bison
 * %destructor), released in 1.7.3. Nothing outside the library can free it.
 * The scanner allocates only token values, which a parse that succeeds
 * hands over to settings that config_destroy frees, so these two stacks
 * are not reported; any other leak, ours or libconfig's, still is.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\n"
           "leak:libconfig_yylex\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *errors = NULL;
    struct config *cfg;

    if (text == NULL)
        return 0;
    settings_register(); /* registering again is nothing */
    memcpy(text, data, size);
    text[size] = '\0'; /* libconfig reads a C string: an inner NUL ends it */
    cfg = config_load_string(text, "fuzz.conf", FUZZ_DIR, &errors);
    /* Exactly one of the two, always. */
    if ((cfg == NULL) == (errors == NULL))
        abort();
    config_free(cfg);
    free(errors);
    free(text);
    return 0;
}
