/*
 * module.c - handler modules: load, check, resolve, init, shutdown.
 */
#include "core/module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"

static const gale_module *module_descriptor(struct module *m, const char *file, struct strbuf *err)
{
    const struct config_module *cm = m->conf;
    const gale_module *d = dlsym(m->dl, GALE_MODULE_SYMBOL);
    if (!d) {
        strbuf_addf(err, "%s:%d: module %s exports no '%s' descriptor (is it a gale module?)\n",
                    file, cm->line, cm->path, GALE_MODULE_SYMBOL);
        return NULL;
    }
    if (d->magic != GALE_MODULE_MAGIC) {
        strbuf_addf(err, "%s:%d: module %s: '%s' is not a gale module descriptor\n", file, cm->line,
                    cm->path, GALE_MODULE_SYMBOL);
        return NULL;
    }
    /* magic and abi_version sit first in every version of the descriptor:
     * they are safe to read whatever the module was built against. */
    if (d->abi_version != GALE_ABI_VERSION) {
        strbuf_addf(err,
                    "%s:%d: %s was built for module API %u, this gale has %u: rebuild it "
                    "against this gale's <gale/gale.h>\n",
                    file, cm->line, cm->path, (unsigned)d->abi_version, GALE_ABI_VERSION);
        return NULL;
    }
    return d;
}

static const gale_handler *module_find_handler(const gale_module *d, const char *name)
{
    for (const gale_handler *h = d->handlers; h && h->name; h++)
        if (!strcmp(h->name, name))
            return h;
    return NULL;
}

static int module_load_one(struct module *m, const char *file, struct strbuf *err)
{
    m->dl = dlopen(m->conf->path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        strbuf_addf(err, "%s:%d: cannot load module: %s\n", file, m->conf->line, dlerror());
        return -1;
    }
    m->desc = module_descriptor(m, file, err);
    if (!m->desc)
        return -1;
    m->ctx.module = m;
    return 0;
}

static int module_bind_routes(struct module_set *ms, struct module *m, const char *file,
                              struct strbuf *err)
{
    int r = 0;
    for (size_t i = 0; i < m->conf->nroutes; i++) {
        const struct config_route *cr = &m->conf->routes[i];
        const gale_handler *h = module_find_handler(m->desc, cr->handler);
        if (!h) {
            strbuf_addf(err, "%s:%d: module %s has no handler '%s'\n", file, cr->line,
                        m->conf->path, cr->handler);
            r = -1;
            continue;
        }
        if (cr->websocket != (h->websocket != NULL)) {
            strbuf_addf(err,
                        cr->websocket ? "%s:%d: handler '%s' has no WebSocket callbacks (route "
                                        "marked websocket = true)\n"
                                      : "%s:%d: handler '%s' is a WebSocket handler: mark the "
                                        "route websocket = true\n",
                        file, cr->line, cr->handler);
            r = -1;
            continue;
        }
        struct route *rt = &ms->routes[ms->nroutes++];
        rt->conf = cr;
        rt->handler = h;
        rt->module = m;
    }
    return r;
}

struct module_set *module_load_all(const struct config *cfg, char **errors)
{
    struct module_set *ms = xcalloc(1, sizeof(*ms));
    struct strbuf err = {0};
    size_t nroutes = 0;
    ms->mods = xcalloc(cfg->nmodules, sizeof(struct module));
    ms->nmods = cfg->nmodules;
    for (size_t i = 0; i < cfg->nmodules; i++)
        nroutes += cfg->modules[i].nroutes;
    ms->routes = xcalloc(nroutes, sizeof(struct route));
    for (size_t i = 0; i < cfg->nmodules; i++) {
        struct module *m = &ms->mods[i];
        m->conf = &cfg->modules[i];
        if (module_load_one(m, cfg->file, &err) == 0)
            module_bind_routes(ms, m, cfg->file, &err);
    }
    if (err.len) {
        *errors = strbuf_take(&err);
        module_free_all(ms);
        return NULL;
    }
    return ms;
}

/* The module's own check of its settings, in gale's words when it gives
 * none. */
static int module_check_one(const struct module *m, size_t i, const char *file, struct strbuf *err)
{
    char why[512] = "";
    if (!m->desc->check || m->desc->check(m->conf->settings, why, sizeof(why)) == 0)
        return 0;
    why[sizeof(why) - 1] = '\0'; /* the module may have filled it to the brim */
    strbuf_addf(err, "%s:%d: modules[%zu].settings: %s\n", file, m->conf->line, i,
                *why ? why : "refused by the module's check (it gave no reason)");
    return -1;
}

int module_check_all(const struct module_set *ms, const struct config *cfg, char **errors)
{
    struct strbuf err = {0};
    for (size_t i = 0; i < ms->nmods; i++)
        module_check_one(&ms->mods[i], i, cfg->file, &err);
    if (!err.len)
        return 0;
    *errors = strbuf_take(&err);
    return -1;
}

int module_init_all(struct module_set *ms, struct loop *loop)
{
    for (size_t i = 0; i < ms->nmods; i++) {
        struct module *m = &ms->mods[i];
        m->ctx.loop = loop;
        if (m->desc->init && m->desc->init(&m->ctx, m->conf->settings) < 0) {
            log_error("module %s (%s): init failed", m->desc->name ? m->desc->name : "?",
                      m->conf->path);
            return -1;
        }
        m->initialised = 1;
    }
    return 0;
}

void module_shutdown_all(struct module_set *ms)
{
    for (size_t i = ms->nmods; i-- > 0;) {
        struct module *m = &ms->mods[i];
        if (m->initialised && m->desc->shutdown)
            m->desc->shutdown(&m->ctx);
        m->initialised = 0;
    }
}

void module_free_all(struct module_set *ms)
{
    if (!ms)
        return;
    for (size_t i = 0; i < ms->nmods; i++)
        if (ms->mods[i].dl)
            dlclose(ms->mods[i].dl);
    free(ms->mods);
    free(ms->routes);
    free(ms);
}

const struct route *module_route_named(const struct module_set *ms, const char *name)
{
    for (size_t i = 0; i < ms->nroutes; i++) {
        const struct route *r = &ms->routes[i];
        if (r->conf->name && !strcmp(r->conf->name, name))
            return r;
    }
    return NULL;
}

/* ---- gale_ctx: the module's view of itself in a worker ---- */

void gale_ctx_set_data(gale_ctx *ctx, void *data)
{
    ctx->data = data;
}

void *gale_ctx_data(const gale_ctx *ctx)
{
    return ctx->data;
}

const json_t *gale_ctx_settings(const gale_ctx *ctx)
{
    return ctx->module->conf->settings;
}

struct event_base *gale_ctx_base(const gale_ctx *ctx)
{
    return ctx->loop->base;
}

int gale_ctx_worker_id(const gale_ctx *ctx)
{
    return ctx->loop->id;
}
