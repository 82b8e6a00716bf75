/*
 * module.h - loading handler modules (.so): dlopen, descriptor and ABI
 * check, handler lookup, and the per-worker init/shutdown hooks.
 */
#ifndef GALE_MODULE_H
#define GALE_MODULE_H

#include <stddef.h>

#include "gale/gale.h"

struct config;
struct config_module;
struct config_route;
struct loop;

struct gale_ctx {
    struct module *module;
    struct loop *loop;
    void *data;
};

struct module {
    const struct config_module *conf; /* borrowed from the config */
    void *dl;
    const gale_module *desc;
    struct gale_ctx ctx;
    int initialised;
};

/* A route bound to its handler: what the router hands back on a match. */
struct route {
    const struct config_route *conf;
    const gale_handler *handler;
    struct module *module;
};

struct module_set {
    struct module *mods;
    size_t nmods;
    struct route *routes; /* in config order: modules in order, their routes in order */
    size_t nroutes;
};

/* dlopen every module of cfg, check its descriptor and resolve every route's
 * handler. Returns the set, or NULL with *errors set ("FILE:LINE: ...\n"
 * lines, caller frees). */
struct module_set *module_load_all(const struct config *cfg, char **errors);
/* Run every module's check hook on its settings: -1 with *errors set
 * ("FILE:LINE: modules[I].settings: ...\n" lines, caller frees) when one
 * refuses. The master runs it on every config it checks; workers need not. */
int module_check_all(const struct module_set *ms, const struct config *cfg, char **errors);
/* Call every init hook in order; -1 (logged) when one fails. */
int module_init_all(struct module_set *ms, struct loop *loop);
/* Call the shutdown hooks of the initialised modules, in reverse order. */
void module_shutdown_all(struct module_set *ms);
/* dlclose and free. */
void module_free_all(struct module_set *ms);

/* The route whose config gives it this name, or NULL. */
const struct route *module_route_named(const struct module_set *ms, const char *name);

#endif
