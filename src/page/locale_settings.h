/*
 * locale_settings.h - the translation settings: where the catalogs are,
 * the default locale, and the argument and cookie that choose a locale.
 * The catalogs are loaded when the config is read (a bad one is a config
 * error naming its file), and shared read-only by the workers.
 */
#ifndef GALE_LOCALE_SETTINGS_H
#define GALE_LOCALE_SETTINGS_H

#include "core/config.h"

struct locale_set;

struct locale_settings {
    char *translation_domain; /* the .mo files' name: LANG/LC_MESSAGES/DOMAIN.mo; "messages" */
    char *default_locale;     /* the language the messages are written in; "en_US" */
    char *locale_argument;    /* argument naming the locale; "off": none; default "locale" */
    char *locale_cookie;      /* cookie naming the locale; "off": none; default "locale" */
    char *translations;       /* folder of LANG.csv and LANG/LC_MESSAGES/; NULL: none */
    struct locale_set *set;   /* owned: loaded with translations, always set */
};

extern struct config_part locale_settings_part;

static inline const struct locale_settings *locale_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &locale_settings_part);
}

#endif
