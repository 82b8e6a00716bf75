/*
 * upgrade.c - starting the new binary with the sockets (see upgrade.h).
 */
#include "daemon/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "net/listen.h"

#define UPGRADE_ENV "GALE_INHERIT"

static struct {
    char **argv;
    char *self; /* argv[0] made absolute when it was relative: the binary to start */
} U;

void upgrade_init(int argc, char **argv)
{
    (void)argc;
    U.argv = argv;
    const char *arg0 = argv[0];
    char cwd[4096];
    if (strchr(arg0, '/') && arg0[0] != '/' && getcwd(cwd, sizeof(cwd))) {
        struct strbuf b = {0};
        strbuf_addf(&b, "%s/%s", cwd, arg0);
        U.self = strbuf_take(&b);
    } else {
        U.self = xstrdup(arg0); /* absolute, or found on PATH again */
    }
}

/* ---- the old master ---- */

static void upgrade_pass(struct strbuf *b, int fd)
{
    /* the one descriptor flag exec looks at; the parent's copy keeps it */
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    strbuf_addf(b, " %d", fd);
}

/* In the child: the environment entry, every socket made inheritable. */
static char *upgrade_describe(const struct listen_set *ls, int fd, const char *address, int port)
{
    struct strbuf b = {0};
    strbuf_addf(&b, "%s=", UPGRADE_ENV);
    for (size_t i = 0; i < ls->n; i++) {
        strbuf_addf(&b, "%s %d", ls->socks[i].address, ls->socks[i].port);
        for (int k = 0; k < ls->slots; k++)
            if (ls->socks[i].fds[k] >= 0)
                upgrade_pass(&b, ls->socks[i].fds[k]);
        strbuf_addf(&b, ";");
    }
    if (fd >= 0) {
        strbuf_addf(&b, "%s %d", address, port);
        upgrade_pass(&b, fd);
        strbuf_addf(&b, ";");
    }
    return strbuf_take(&b);
}

pid_t upgrade_start(const struct listen_set *ls, int fd, const char *address, int port)
{
    log_flush();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child: the master's blocked signals (its signalfd) would stay
     * blocked across exec. Nothing else of the master's state matters:
     * every descriptor but the sockets is close-on-exec. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    putenv(upgrade_describe(ls, fd, address, port));
    if (strchr(U.self, '/'))
        execv(U.self, U.argv);
    else
        execvp(U.self, U.argv);
    fprintf(stderr, "gale: upgrade: cannot start %s: %s\n", U.self, strerror(errno));
    _exit(127);
}

/* ---- the new master ---- */

/* One "ADDRESS PORT FD ..." entry into s; -1 when it is malformed. */
static int upgrade_parse_one(char *entry, struct listen_sock *s, int *nfds)
{
    char *save = NULL;
    char *address = strtok_r(entry, " ", &save);
    char *port = strtok_r(NULL, " ", &save);
    if (!address || !port)
        return -1;
    s->address = xstrdup(address);
    s->port = atoi(port);
    *nfds = 0;
    for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int fd = atoi(t), listening = 0;
        socklen_t len = sizeof(listening);
        /* only a listening socket: a stray variable must not hand us a file */
        if (fd < 3 || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
            return -1;
        fcntl(fd, F_SETFD, FD_CLOEXEC); /* not into the workers, nor a later upgrade */
        s->fds = xrealloc(s->fds, sizeof(int) * (size_t)(*nfds + 1));
        s->fds[(*nfds)++] = fd;
    }
    return 0;
}

void upgrade_inherited(struct listen_set *ls)
{
    memset(ls, 0, sizeof(*ls));
    const char *env = getenv(UPGRADE_ENV);
    if (!env)
        return;
    char *copy = xstrdup(env), *save = NULL;
    unsetenv(UPGRADE_ENV);
    int *counts = NULL;
    for (char *e = strtok_r(copy, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        ls->socks = xrealloc(ls->socks, sizeof(*ls->socks) * (ls->n + 1));
        counts = xrealloc(counts, sizeof(int) * (ls->n + 1));
        struct listen_sock *s = memset(&ls->socks[ls->n], 0, sizeof(*s));
        ls->n++;
        if (upgrade_parse_one(e, s, &counts[ls->n - 1]) < 0)
            log_warn("upgrade: a malformed %s entry: its sockets are bound again", UPGRADE_ENV);
        if (counts[ls->n - 1] > ls->slots)
            ls->slots = counts[ls->n - 1];
    }
    /* one number of slots for the whole set: the missing ones are -1 */
    for (size_t i = 0; i < ls->n; i++) {
        ls->socks[i].fds = xrealloc(ls->socks[i].fds, sizeof(int) * (size_t)(ls->slots + 1));
        for (int k = counts[i]; k < ls->slots; k++)
            ls->socks[i].fds[k] = -1;
        if (!ls->socks[i].address)
            ls->socks[i].address = xstrdup("");
    }
    free(counts);
    free(copy);
    log_info("upgrade: took over %zu listening sockets from the old master", ls->n);
}
