/*
 * master.h - the master process.
 */
#ifndef GALE_MASTER_H
#define GALE_MASTER_H

/* Run gale on the config at `path` until stopped. Returns the exit status. */
int master_run(const char *path);
/* gale -t: check the config and its modules; print errors. Returns the exit status. */
int master_check(const char *path);

#endif
