/*
 * settings.h - which features' settings a config holds: the daemon
 * registers every part (http, tls, websocket, pubsub) before it reads one.
 */
#ifndef GALE_SETTINGS_H
#define GALE_SETTINGS_H

/* Register every feature's config part, in the order their errors and
 * defaults are read. Call once, before the first config_load. */
void settings_register(void);

#endif
