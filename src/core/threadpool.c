/*
 * threadpool.c - the blocking-work thread pool of a worker.
 *
 * Jobs go to a queue guarded by a mutex; pool threads take them, run them,
 * and put them on a done queue, then write to an eventfd the loop watches.
 * The loop runs each finished job's done callback, unless it was cancelled.
 * Only the loop thread touches gale; pool threads touch only their job.
 */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/util.h"

#define THREADPOOL_MAX_THREADS 16

struct threadpool_job {
    void (*work)(void *);
    void (*done)(void *, void *);
    void *ctx;     /* the loop's, handed to done */
    void *arg;     /* the job's own copy of the caller's data */
    int cancelled; /* set by the loop; read by the loop only */
    struct threadpool_job *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct threadpool_job *todo, **todo_tail;
    struct threadpool_job *finished;
    pthread_t threads[THREADPOOL_MAX_THREADS];
    int nthreads;
    int want; /* threads to start with the first job */
    int stopping;
    int efd;
    struct event *ev;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .efd = -1};

static void *threadpool_thread(void *unused)
{
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!pool.todo && !pool.stopping)
            pthread_cond_wait(&pool.cv, &pool.mu);
        if (pool.stopping)
            break;
        struct threadpool_job *job = pool.todo;
        pool.todo = job->next;
        if (!pool.todo)
            pool.todo_tail = &pool.todo;
        pthread_mutex_unlock(&pool.mu);
        job->work(job->arg);
        pthread_mutex_lock(&pool.mu);
        job->next = pool.finished;
        pool.finished = job;
        uint64_t one = 1;
        ssize_t w = write(pool.efd, &one, sizeof(one));
        (void)w;
    }
    pthread_mutex_unlock(&pool.mu);
    return unused;
}

/* On the loop: run the done callbacks of the finished jobs. */
static void threadpool_finished_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    ssize_t r = read(pool.efd, &n, sizeof(n));
    (void)r;
    pthread_mutex_lock(&pool.mu);
    struct threadpool_job *jobs = pool.finished;
    pool.finished = NULL;
    pthread_mutex_unlock(&pool.mu);
    while (jobs) {
        struct threadpool_job *job = jobs;
        jobs = job->next;
        if (!job->cancelled)
            job->done(job->arg, job->ctx);
        free(job->arg);
        free(job);
    }
}

int threadpool_init(struct event_base *base, int threads)
{
    pool.todo_tail = &pool.todo;
    pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool.efd < 0)
        return -1;
    pool.ev = event_new(base, pool.efd, EV_READ | EV_PERSIST, threadpool_finished_cb, NULL);
    if (!pool.ev || event_add(pool.ev, NULL) < 0)
        return -1;
    pool.want = threads < THREADPOOL_MAX_THREADS ? threads : THREADPOOL_MAX_THREADS;
    return pool.want > 0 ? 0 : -1;
}

/* The threads start with the first job, not before: once a process has a
 * second thread, glibc's malloc takes its arena lock on every call (and
 * stdio its stream locks), which cost a worker that never runs blocking
 * work some 2% of the CPU of a full TLS handshake (OpenSSL allocates
 * hundreds of times in one). */
static int threadpool_start(void)
{
    while (pool.nthreads < pool.want &&
           pthread_create(&pool.threads[pool.nthreads], NULL, threadpool_thread, NULL) == 0)
        pool.nthreads++;
    pool.want = pool.nthreads; /* no second try of what failed */
    return pool.nthreads > 0 ? 0 : -1;
}

void threadpool_shutdown(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    pool.nthreads = 0;
    while (pool.todo) {
        struct threadpool_job *j = pool.todo;
        pool.todo = j->next;
        free(j->arg);
        free(j);
    }
    while (pool.finished) {
        struct threadpool_job *j = pool.finished;
        pool.finished = j->next;
        free(j->arg);
        free(j);
    }
    if (pool.ev)
        event_free(pool.ev);
    pool.ev = NULL;
    if (pool.efd >= 0)
        close(pool.efd);
    pool.efd = -1;
}

struct threadpool_job *threadpool_run(void (*work)(void *data), void (*done)(void *data, void *ctx),
                                      void *ctx, const void *data, size_t size)
{
    if (pool.nthreads == 0 && threadpool_start() < 0)
        return NULL;
    struct threadpool_job *job = xcalloc(1, sizeof(*job));
    job->work = work;
    job->done = done;
    job->ctx = ctx;
    job->arg = xmalloc(size);
    memcpy(job->arg, data, size);
    pthread_mutex_lock(&pool.mu);
    *pool.todo_tail = job;
    pool.todo_tail = &job->next;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    return job;
}

void threadpool_cancel(struct threadpool_job *job)
{
    if (job)
        job->cancelled = 1;
}
