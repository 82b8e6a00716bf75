/*
 * rlimit.h - the descriptor limit the workers run with: raised at start,
 * and a warning when max_connections cannot fit in it.
 */
#ifndef GALE_RLIMIT_H
#define GALE_RLIMIT_H

#include "core/config.h"

struct rlimit_settings {
    long long worker_rlimit_nofile; /* 0: raise the soft limit to the hard one; else this */
};

extern struct config_part rlimit_settings_part;

/* Set RLIMIT_NOFILE as cfg asks, in the master before it forks workers (they
 * inherit it), and warn when max_connections needs more. Never fails: a
 * limit that cannot be raised is logged and the old one kept. */
void rlimit_apply(const struct config *cfg);

#endif
