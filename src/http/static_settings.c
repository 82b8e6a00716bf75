/*
 * static_settings.c - the `static` list of the top level, as a config part.
 */
#include "http/static_settings.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config_table.h"

/* A prefix is a whole path segment or more ("/static/"), so that "/staticx"
 * never matches it; the folder must exist now (`gale -t` says so), and
 * prefixes and names are unique. */
static void static_settings_check_root(struct config_ctx *ctx, const config_setting_t *s,
                                       void *entries, size_t i)
{
    struct static_root *all = entries, *e = &all[i];
    struct stat st;
    size_t n = e->prefix ? strlen(e->prefix) : 0;
    /* each error at its setting's own line when the entry spans several */
    const config_setting_t *ps = config_setting_get_member(s, "path");
    const config_setting_t *xs = config_setting_get_member(s, "prefix");
    const config_setting_t *ds = config_setting_get_member(s, "default");

    if (e->prefix && (n == 0 || e->prefix[0] != '/' || e->prefix[n - 1] != '/'))
        config_error(ctx, xs, "prefix: expected a URL path that starts and ends with '/'");
    if (e->path && stat(e->path, &st) < 0)
        config_error(ctx, ps, "path: cannot use %s: %s", e->path, strerror(errno));
    else if (e->path && !S_ISDIR(st.st_mode))
        config_error(ctx, ps, "path: %s is not a folder", e->path);
    if (e->index && (strchr(e->index, '/') || e->index[0] == '.' || !e->index[0]))
        config_error(ctx, ds, "default: expected a file name without '/' (\"index.html\")");
    for (size_t j = 0; j < i; j++) {
        if (e->prefix && all[j].prefix && !strcmp(all[j].prefix, e->prefix))
            config_error(ctx, xs, "prefix %s is already served at line %d", e->prefix, all[j].line);
        if (e->name && all[j].name && !strcmp(all[j].name, e->name))
            config_error(ctx, s, "name %s is already used at line %d", e->name, all[j].line);
    }
}

static const struct config_directive static_settings_root_table[] = {
    CONFIG_STRING(struct static_root, prefix, CONFIG_REQUIRED, NULL),
    CONFIG_PATH(struct static_root, path, CONFIG_REQUIRED, NULL, NULL),
    /* "default" is a C keyword: the field is `index` */
    {.name = "default",
     .set = config_set_string,
     .release = config_release_string,
     .offset = offsetof(struct static_root, index),
     .def.s = "index.html"},
    CONFIG_INT(struct static_root, max_age, 0, 0, 0, 31536000),
    CONFIG_STRING(struct static_root, name, 0, NULL),
    CONFIG_STRING(struct static_root, charset, 0, NULL),
    CONFIG_BOOL(struct static_root, hidden, 0),
    CONFIG_BOOL(struct static_root, precompressed, 1),
    CONFIG_END,
};

static const struct config_directive static_settings_table[] = {
    CONFIG_LIST("static", struct static_settings, roots, nroots, 0, 0, struct static_root,
                static_settings_root_table, static_settings_check_root),
    CONFIG_END,
};

struct config_part static_settings_part = {
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct static_settings),
    .table = static_settings_table,
};
