/*
 * fuzz_template.c - libFuzzer target for the template engine
 * (src/page/template*.c): the parser, the expression compiler and the
 * renderer.
 *
 * The input is compiled as "f.html"; a template that compiles is rendered
 * with a small context, from a cache that also holds it as "self.html" and
 * a base with blocks, so that extends, include and Template() run (into
 * themselves too: the depth limits must hold). A syntax error must name the
 * template and a line inside the input; a failed render must say why.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude \
 *       -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION tests/fuzz/fuzz_template.c \
 *       src/page/template*.c (but template_settings.c) -ljansson -lm \
 *       -o fuzz_template
 *   ./fuzz_template tests/fuzz/corpus_template
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page/template.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static const char fuzz_ctx[] =
    "{\"title\": \"<T&'\\\"\", \"n\": 7, \"f\": 2.5, \"xs\": [1, \"a\", null, true, 1.5],"
    " \"d\": {\"k\": \"v\", \"l\": [1, 2]}, \"empty\": [], \"s\": \"h\\u00e9llo\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct template_err err = {.msg = ""};
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';

    struct template *t = template_compile("f.html", text, size, NULL, &err);
    if (t == NULL) {
        CHECK(strncmp(err.msg, "f.html:", 7) == 0);
        CHECK(err.line >= 1 && (size_t)err.line <= lines);
        free(text);
        return 0;
    }
    template_free(t);

    struct template_cache *cache = template_cache_new("/nonexistent", 0);
    struct template_err e2;
    CHECK(template_cache_put(cache, "base.html",
                             "<{% block a %}A{% end %}|{% block b %}B{% end %}>", &e2) == 0);
    if (strlen(text) == size && template_cache_put(cache, "self.html", text, &e2) == 0) {
        json_t *ctx = json_loads(fuzz_ctx, 0, NULL);
        struct template_env env = {.cache = cache};
        struct template_buf out = {0};
        const struct template *self = template_cache_get(cache, "self.html", &e2);
        CHECK(self != NULL);
        if (template_render(self, ctx, &env, &out, &err) < 0)
            CHECK(err.msg[0] != '\0');
        template_buf_free(&out);
        json_decref(ctx);
    }
    template_cache_free(cache);
    free(text);
    return 0;
}
