/*
 * h1.h - the HTTP/1 wire (RFC 9112) on a connection.
 */
#ifndef GALE_H1_H
#define GALE_H1_H

struct conn;

/* Start speaking HTTP/1 on a new connection: it reads, parses and answers
 * requests through the pipeline until it closes or is handed over. */
void h1_conn_start(struct conn *c);
/* At worker exit, before the loop is freed: log the slow clients counted
 * since the last report, and free the report's timer. */
void h1_shutdown(void);

#endif
