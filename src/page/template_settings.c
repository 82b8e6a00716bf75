/*
 * template_settings.c - the template settings, as config parts, and the
 * check of every template that `gale -t` runs.
 */
#include "page/template_settings.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config_table.h"
#include "page/template.h"

static const struct config_directive template_settings_table[] = {
    CONFIG_PATH(struct template_settings, template_path, 0, "templates", NULL),
    CONFIG_BOOL(struct template_settings, debug, 0),
    CONFIG_END,
};

struct config_part template_settings_part = {
    .name = NULL,
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct template_settings),
    .table = template_settings_table,
};

static const struct config_directive template_route_settings_table[] = {
    CONFIG_PATH(struct template_route_settings, template_path, 0, NULL, NULL),
    CONFIG_END,
};

struct config_part template_route_settings_part = {
    .name = NULL,
    .scope = CONFIG_SCOPE_ROUTE,
    .size = sizeof(struct template_route_settings),
    .table = template_route_settings_table,
};

static void template_settings_report(void *arg, const char *msg)
{
    fprintf(arg, "%s\n", msg);
}

/* One folder, unless an earlier one was the same. */
static int template_settings_check_dir(const char *dir, const char *const *seen, size_t nseen,
                                       int optional, FILE *f)
{
    struct stat st;
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i], dir) == 0)
            return 0;
    if (stat(dir, &st) < 0 && errno == ENOENT && optional)
        return 0; /* the default folder of a server without templates */
    return template_cache_check(dir, template_settings_report, f);
}

int template_settings_check(const struct config *cfg, FILE *f)
{
    const char *seen[64];
    size_t nseen = 0;
    const char *main_path = template_settings(cfg)->template_path;
    /* the top level's folder is only required when the file names it:
     * compare with the default, joined to the config's folder */
    char dflt[4096];
    size_t dlen = strlen(cfg->dir);
    snprintf(dflt, sizeof(dflt), "%s%stemplates", cfg->dir,
             dlen > 0 && cfg->dir[dlen - 1] == '/' ? "" : "/");
    int errors = template_settings_check_dir(main_path, seen, 0, strcmp(main_path, dflt) == 0, f);
    seen[nseen++] = main_path;
    for (size_t m = 0; m < cfg->nmodules; m++)
        for (size_t i = 0; i < cfg->modules[m].nroutes; i++) {
            const char *p = template_route_settings(&cfg->modules[m].routes[i])->template_path;
            if (p == NULL)
                continue;
            errors += template_settings_check_dir(p, seen, nseen, 0, f);
            if (nseen < sizeof(seen) / sizeof(seen[0]))
                seen[nseen++] = p;
        }
    return errors;
}
