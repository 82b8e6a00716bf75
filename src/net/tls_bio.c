/*
 * tls_bio.c - the connection's socket BIO (tls_bio.h).
 *
 * A descriptor BIO of our own in place of OpenSSL's socket BIO, which
 * libevent's OpenSSL bufferevent takes the same way (BIO_get_fd). Reads are
 * read(2); writes are kept in `held` while gathering, else sent with send(2)
 * (MSG_MORE when asked). Bytes held are always sent before anything is read
 * or written after them; while the socket does not take them, reads and
 * writes say "retry when writable" (BIO_set_retry_write), which OpenSSL
 * reports as SSL_ERROR_WANT_WRITE, and libevent then waits for writability
 * and tries again, as it does for a socket BIO's short write.
 */
#include "net/tls_bio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

struct tls_bio {
    int fd;
    int gather; /* keep writes in held */
    int more;   /* send with MSG_MORE */
    int eof;    /* a read found the end of the stream */
    int close;  /* BIO_set_close: the BIO closes fd when freed */
    char *held; /* malloc'd; NULL when empty */
    size_t len, off, cap;
};

static BIO_METHOD *tls_bio_method;
static int tls_bio_type;
static pthread_once_t tls_bio_once = PTHREAD_ONCE_INIT;

/* ssl's BIO, or NULL when it is not ours. */
static struct tls_bio *tls_bio_of(SSL *ssl)
{
    BIO *b = SSL_get_wbio(ssl);
    return b && tls_bio_method && BIO_method_type(b) == tls_bio_type ? BIO_get_data(b) : NULL;
}

static int tls_bio_retryable(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Send what is held. 0: nothing left; 1: the socket is full (retry flags
 * set on b); -1: a socket error (errno kept for OpenSSL's report). */
static int tls_bio_drain(BIO *b, struct tls_bio *t)
{
    while (t->off < t->len) {
        ssize_t n =
            send(t->fd, t->held + t->off, t->len - t->off, MSG_NOSIGNAL | (t->more ? MSG_MORE : 0));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (!tls_bio_retryable(errno))
                return -1;
            BIO_set_retry_write(b);
            return 1;
        }
        t->off += (size_t)n;
    }
    free(t->held); /* a connection holds nothing once its handshake is out */
    t->held = NULL;
    t->len = t->off = t->cap = 0;
    return 0;
}

static int tls_bio_keep(struct tls_bio *t, const char *data, size_t dlen)
{
    if (t->len + dlen > t->cap) {
        size_t cap = t->cap ? t->cap : 2048;
        while (cap < t->len + dlen)
            cap *= 2;
        char *p = realloc(t->held, cap);
        if (!p)
            return -1;
        t->held = p;
        t->cap = cap;
    }
    memcpy(t->held + t->len, data, dlen);
    t->len += dlen;
    return 0;
}

static int tls_bio_write(BIO *b, const char *data, size_t dlen, size_t *written)
{
    struct tls_bio *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *written = 0;
    if (t->gather) {
        if (tls_bio_keep(t, data, dlen) < 0)
            return 0;
        *written = dlen;
        return 1;
    }
    if (t->held && tls_bio_drain(b, t) != 0)
        return 0;
    ssize_t n;
    do
        n = send(t->fd, data, dlen, MSG_NOSIGNAL | (t->more ? MSG_MORE : 0));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (tls_bio_retryable(errno))
            BIO_set_retry_write(b);
        return 0;
    }
    *written = (size_t)n;
    return 1;
}

/* The peer sends nothing before it has what we wrote: send it first. Its
 * answer to that comes a round trip later, so a read(2) now would find
 * nothing: say "retry when readable" at once, and the poll that follows
 * (level-triggered: bytes already there are reported at once) tells. */
static int tls_bio_read(BIO *b, char *out, size_t outl, size_t *readbytes)
{
    struct tls_bio *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *readbytes = 0;
    if (t->held) {
        if (tls_bio_drain(b, t) == 0)
            BIO_set_retry_read(b);
        return 0;
    }
    ssize_t n;
    do
        n = read(t->fd, out, outl);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        *readbytes = (size_t)n;
        return 1;
    }
    if (n == 0)
        t->eof = 1;
    else if (tls_bio_retryable(errno))
        BIO_set_retry_read(b);
    return 0;
}

/* What OpenSSL and libevent ask of a socket BIO; OpenSSL asks about kernel
 * TLS at every record, which a socket BIO without it answers 0 to. */
static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tls_bio *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_C_GET_FD:
        if (ptr)
            *(int *)ptr = t->fd;
        return t->fd;
    case BIO_CTRL_GET_CLOSE:
        return t->close;
    case BIO_CTRL_SET_CLOSE:
        t->close = (int)num;
        return 1;
    case BIO_CTRL_EOF:
        return t->eof;
    case BIO_CTRL_WPENDING:
        return (long)(t->len - t->off);
    case BIO_CTRL_FLUSH: /* held bytes go at the next read or write */
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

static int tls_bio_create(BIO *b)
{
    struct tls_bio *t = calloc(1, sizeof(*t));
    if (!t)
        return 0;
    t->fd = -1;
    BIO_set_data(b, t);
    BIO_set_init(b, 1);
    return 1;
}

static int tls_bio_destroy(BIO *b)
{
    struct tls_bio *t = BIO_get_data(b);
    if (t) {
        if (t->close && t->fd >= 0)
            close(t->fd);
        free(t->held);
        free(t);
    }
    BIO_set_data(b, NULL);
    return 1;
}

static void tls_bio_method_init(void)
{
    int index = BIO_get_new_index();
    if (index == -1)
        return;
    int type = index | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
    BIO_METHOD *m = BIO_meth_new(type, "gale socket");
    if (!m || !BIO_meth_set_write_ex(m, tls_bio_write) || !BIO_meth_set_read_ex(m, tls_bio_read) ||
        !BIO_meth_set_ctrl(m, tls_bio_ctrl) || !BIO_meth_set_create(m, tls_bio_create) ||
        !BIO_meth_set_destroy(m, tls_bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    tls_bio_type = type;
    tls_bio_method = m;
}

int tls_bio_attach(SSL *ssl, int fd)
{
    pthread_once(&tls_bio_once, tls_bio_method_init);
    BIO *b = tls_bio_method ? BIO_new(tls_bio_method) : NULL;
    if (!b)
        return -1;
    struct tls_bio *t = BIO_get_data(b);
    t->fd = fd;
    t->gather = 1;
    SSL_set_bio(ssl, b, b); /* ssl owns it */
    return 0;
}

int tls_bio_release(SSL *ssl)
{
    struct tls_bio *t = tls_bio_of(ssl);
    if (!t)
        return 0;
    t->gather = 0;
    return t->held ? tls_bio_drain(SSL_get_wbio(ssl), t) : 0;
}

void tls_bio_more(SSL *ssl, int on)
{
    struct tls_bio *t = tls_bio_of(ssl);
    if (t)
        t->more = on != 0;
}
