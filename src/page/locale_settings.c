/*
 * locale_settings.c - the translation settings, as a config part of the
 * file's top level. `translations` comes last in the table: its setter
 * loads the catalogs with the domain and default read before it.
 */
#include "page/locale_settings.h"

#include <stdlib.h>

#include "core/config_table.h"
#include "page/locale.h"

static int locale_settings_set_translations(struct config_ctx *ctx, const config_setting_t *s,
                                            const struct config_directive *d, void *base)
{
    struct locale_settings *ls = base;
    char *err = NULL;

    if (config_set_path(ctx, s, d, base) < 0)
        return -1;
    if (ls->default_locale == NULL || ls->default_locale[0] == '\0')
        return config_error(ctx, s, "default_locale must not be empty");
    ls->set = locale_set_load(ls->translations, ls->translation_domain, ls->default_locale, &err);
    if (ls->set == NULL) {
        config_error(ctx, s, "%s", err ? err : "out of memory");
        free(err);
        return -1;
    }
    return 0;
}

static void locale_settings_release(const struct config_directive *d, void *base)
{
    struct locale_settings *ls = base;

    config_release_string(d, base);
    locale_set_free(ls->set);
    ls->set = NULL;
}

static const struct config_directive locale_settings_table[] = {
    CONFIG_STRING(struct locale_settings, translation_domain, 0, "messages"),
    CONFIG_STRING(struct locale_settings, default_locale, 0, "en_US"),
    CONFIG_STRING(struct locale_settings, locale_argument, 0, "locale"),
    CONFIG_STRING(struct locale_settings, locale_cookie, 0, "locale"),
    {.name = "translations",
     .set = locale_settings_set_translations,
     .release = locale_settings_release,
     .offset = offsetof(struct locale_settings, translations)},
    CONFIG_END,
};

struct config_part locale_settings_part = {
    .name = NULL,
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct locale_settings),
    .table = locale_settings_table,
};
