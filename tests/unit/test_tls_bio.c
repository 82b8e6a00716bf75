/*
 * test_tls_bio.c - src/net/tls_bio.c over a socket pair: writes are held
 * while gathering and sent before the next read or at the release, in
 * order, and a socket that takes only part makes reads and writes ask to be
 * retried when writable (what OpenSSL turns into SSL_ERROR_WANT_WRITE)
 * until the held bytes are out. The descriptor is found below it, as
 * libevent's OpenSSL bufferevent looks for it.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "net/tls_bio.h"

static SSL_CTX *ctx;
static SSL *ssl;
static int sv[2]; /* sv[0] under the BIO, sv[1] the peer */

static void set_up(void)
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    ssl = SSL_new(ctx);
    CU_ASSERT_FATAL(ssl != NULL);
    CU_ASSERT_FATAL(tls_bio_attach(ssl, sv[0]) == 0);
}

static void tear_down(void)
{
    SSL_free(ssl); /* the BIO does not close the socket */
    CU_ASSERT(fcntl(sv[0], F_GETFD) != -1);
    close(sv[0]);
    close(sv[1]);
}

/* What the peer has received so far. */
static size_t peer_read(char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;
    while (got < cap && (n = read(sv[1], buf + got, cap - got)) > 0)
        got += (size_t)n;
    return got;
}

static int bio_write(const char *s, size_t len)
{
    size_t w = 0;
    return BIO_write_ex(SSL_get_wbio(ssl), s, len, &w) ? (int)w : -1;
}

static void test_gathers_until_read(void)
{
    set_up();
    BIO *b = SSL_get_wbio(ssl);
    int fd = -1;
    CU_ASSERT(BIO_get_fd(b, &fd) == sv[0] && fd == sv[0]);
    CU_ASSERT_EQUAL(SSL_get_fd(ssl), sv[0]);
    CU_ASSERT_EQUAL(BIO_get_close(b), BIO_NOCLOSE);
    char buf[64];
    CU_ASSERT_EQUAL(bio_write("flight ", 7), 7);
    CU_ASSERT_EQUAL(BIO_flush(b), 1);
    CU_ASSERT_EQUAL(bio_write("one", 3), 3);
    CU_ASSERT_EQUAL(BIO_wpending(b), 10);
    CU_ASSERT_EQUAL(peer_read(buf, sizeof(buf)), 0); /* nothing sent yet */
    CU_ASSERT(write(sv[1], "hi", 2) == 2);
    size_t n = 0;
    /* the read sends the flight and reads nothing: the answer to it comes
     * later, and the poll tells (here: the bytes already there) */
    CU_ASSERT(BIO_read_ex(b, buf, sizeof(buf), &n) == 0 && BIO_should_retry(b) &&
              BIO_should_read(b));
    CU_ASSERT_EQUAL(BIO_wpending(b), 0);
    CU_ASSERT(peer_read(buf, sizeof(buf)) == 10 && !memcmp(buf, "flight one", 10));
    CU_ASSERT(BIO_read_ex(b, buf, sizeof(buf), &n) == 1 && n == 2 && !memcmp(buf, "hi", 2));
    /* still gathering after the read */
    CU_ASSERT_EQUAL(bio_write("tickets", 7), 7);
    CU_ASSERT_EQUAL(peer_read(buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(tls_bio_release(ssl), 0);
    CU_ASSERT(peer_read(buf, sizeof(buf)) == 7 && !memcmp(buf, "tickets", 7));
    /* released: writes go straight out, with MSG_MORE or not */
    tls_bio_more(ssl, 1);
    CU_ASSERT_EQUAL(bio_write("answer", 6), 6);
    tls_bio_more(ssl, 0);
    CU_ASSERT_EQUAL(bio_write(" bye", 4), 4);
    CU_ASSERT(peer_read(buf, sizeof(buf)) == 10 && !memcmp(buf, "answer bye", 10));
    /* a read that finds nothing asks to be retried when readable */
    CU_ASSERT(BIO_read_ex(b, buf, sizeof(buf), &n) == 0 && BIO_should_retry(b) &&
              BIO_should_read(b));
    tear_down();
}

/* A flight larger than the socket takes: the release sends part; reads and
 * writes then want writability until the rest is out, and bytes keep their
 * order. */
static void test_socket_full(void)
{
    set_up();
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    BIO *b = SSL_get_wbio(ssl);
    size_t total = 1 << 20;
    char *data = malloc(total), *got = malloc(total + 16);
    CU_ASSERT_FATAL(data && got);
    for (size_t i = 0; i < total; i++)
        data[i] = (char)(i * 7 + i / 251);
    for (size_t off = 0; off < total; off += 16384)
        CU_ASSERT_EQUAL(bio_write(data + off, 16384), 16384);
    CU_ASSERT_EQUAL(tls_bio_release(ssl), 1);
    CU_ASSERT(bio_write("x", 1) == -1 && BIO_should_retry(b) && BIO_should_write(b));
    char c;
    size_t n;
    CU_ASSERT(BIO_read_ex(b, &c, 1, &n) == 0 && BIO_should_retry(b) && BIO_should_write(b));
    size_t have = 0;
    int tail = 0; /* taken once the held bytes are out */
    for (int spins = 0; have < total + 4 && spins < 1000000; spins++) {
        have += peer_read(got + have, total + 16 - have);
        if (!tail && bio_write("tail", 4) == 4)
            tail = 1;
    }
    CU_ASSERT(tail);
    CU_ASSERT_EQUAL(have, total + 4);
    CU_ASSERT(memcmp(got, data, total) == 0 && memcmp(got + total, "tail", 4) == 0);
    free(data);
    free(got);
    tear_down();
}

/* A peer that is gone: the write fails and does not ask for a retry. */
static void test_peer_gone(void)
{
    set_up();
    CU_ASSERT_EQUAL(bio_write("flight", 6), 6);
    close(sv[1]);
    sv[1] = open("/dev/null", O_RDONLY);
    CU_ASSERT_EQUAL(tls_bio_release(ssl), -1);
    BIO *b = SSL_get_wbio(ssl);
    CU_ASSERT(bio_write("x", 1) == -1 && !BIO_should_retry(b));
    tear_down();
}

/* The peer's EOF: a read returns nothing, asks for no retry, and the BIO
 * says it is at the end (OpenSSL's "unexpected EOF" test). */
static void test_eof(void)
{
    set_up();
    BIO *b = SSL_get_rbio(ssl);
    char buf[8];
    size_t n = 0;
    CU_ASSERT_EQUAL(BIO_eof(b), 0);
    CU_ASSERT(write(sv[1], "x", 1) == 1);
    shutdown(sv[1], SHUT_WR);
    CU_ASSERT(BIO_read_ex(b, buf, sizeof(buf), &n) == 1 && n == 1);
    CU_ASSERT(BIO_read_ex(b, buf, sizeof(buf), &n) == 0 && !BIO_should_retry(b));
    CU_ASSERT_EQUAL(BIO_eof(b), 1);
    tear_down();
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite("tls_bio", NULL, NULL);
    CU_add_test(suite, "writes held until a read or the release", test_gathers_until_read);
    CU_add_test(suite, "a socket that takes only part", test_socket_full);
    CU_add_test(suite, "a peer that is gone", test_peer_gone);
    CU_add_test(suite, "the end of the stream", test_eof);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    SSL_CTX_free(ctx);
    return failed ? 1 : 0;
}
