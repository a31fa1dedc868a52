/*
 * poller.h - the thread that owns the listening socket and every idle
 * FastCGI connection, and hands workers only connections with input.
 *
 * libfcgi's own loop (FCGX_Accept_r on a kept connection) makes the worker
 * that served a request block on the connection until nginx sends the
 * next one, so with nginx's upstream keep-alive every idle kept connection
 * used to park a worker, and an nginx holding more idle connections than
 * evdb had workers stalled evdb.  Here one thread accepts every connection
 * and watches it with epoll until it is readable; only then is it queued
 * for a worker (poller_next).  A worker reads one request from it with
 * libfcgi and, when nginx keeps the connection, gives it back
 * (poller_return) instead of waiting on it.  Idle connections cost a
 * descriptor and an epoll entry, never a thread, whatever nginx's
 * `keepalive` is.
 *
 * Ownership: a connection belongs to the poller while it is watched or
 * queued, and to one worker from poller_next() until it gives it back,
 * closes it, or hands it on (the SSE hub and the long-poll loop take
 * sockets for good; the gate parks requests with their connection).  A
 * connection that is closed leaves the epoll set by itself; a taken one
 * stays in it disarmed (EPOLLONESHOT), so it never fires again.
 *
 * A connection whose peer hung up with nothing left to read is closed by
 * the poller: nginx closes idle kept connections so (keepalive_timeout,
 * keepalive_requests, a reload), and no worker needs to see that.
 *
 * Thread safety: poller_next and poller_return may be called from any
 * thread; poller_stop and poller_free from the thread that
 * called poller_start.
 */
#ifndef EVDB_POLLER_H
#define EVDB_POLLER_H

#include "core/log.h"
#include "core/status.h"

/** What a poller watches. */
struct poller_options {
	int listen_fd;		/* listening socket, non-blocking; not owned
				 * (it may be systemd's), never closed here */
	const char *allowed;	/* FCGI_WEB_SERVER_ADDRS: comma-separated IPv4
				 * addresses a TCP peer must have, as libfcgi
				 * enforced it; NULL or "" lets every peer in.
				 * Copied. */
	struct log *log;	/* where accept failures go */
};

struct poller;

/**
 * Starts the poller thread on *opt (copied).  EVDB_OK with *out set, or
 * EVDB_ERR_IO / EVDB_ERR_NOMEM (logged) with *out NULL.
 */
enum evdb_status poller_start(const struct poller_options *opt,
    struct poller **out);

/**
 * Waits until a connection has input and returns it, now owned by the
 * caller (blocking I/O).  Returns -1 once poller_stop() was called.
 */
int poller_next(struct poller *p);

/**
 * Gives back fd, a connection from poller_next() that nginx keeps for its
 * next request.  The caller must not touch fd afterwards.  fd is closed
 * when it cannot be watched.
 */
void poller_return(struct poller *p, int fd);

/**
 * Stops accepting and wakes every poller_next() (they return -1), then
 * joins the thread.  Connections still watched or queued stay open until
 * poller_free().  Accepts NULL.
 */
void poller_stop(struct poller *p);

/**
 * Frees p after poller_stop(), closing the connections still queued.
 * Idle connections in the epoll set are closed with the process (the
 * server exits after it).  Accepts NULL.
 */
void poller_free(struct poller *p);

#endif /* EVDB_POLLER_H */
