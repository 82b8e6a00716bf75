/*
 * process.h - the programs a worker runs (gale_process_* of gale.h): spawned
 * without a shell, their pipes and their end watched on the worker's loop
 * (a pidfd each, so no SIGCHLD handler: the master, which reaps its workers
 * through its own signalfd, and a worker never compete for a child).
 */
#ifndef GALE_PROCESS_H
#define GALE_PROCESS_H

struct loop;

/* Kill (SIGKILL, to the group) and reap every child of the worker, without
 * callbacks: the worker exits. Called after the connections are closed. */
void process_free_all(struct loop *loop);

#endif
