/*
 * server.h - the FastCGI server: listening socket, worker threads, signals.
 *
 * server_run() binds (or inherits) the listening socket, starts
 * settings->workers threads and then waits for signals on the calling
 * thread.  The caller must have blocked SIGTERM, SIGINT and SIGHUP (and
 * ignored SIGPIPE) before starting any thread, so that every thread
 * inherits the mask and the signals are taken here, with sigwait().
 *   SIGTERM, SIGINT  stop accepting, let each worker finish the request it
 *                    is serving, join them, return EVDB_OK
 *   SIGHUP           reopen the log file
 * Each worker owns a store connection, a request arena and reusable body
 * and response buffers.
 *
 * The accept model and nginx: one poller thread (poller.h) accepts every
 * FastCGI connection and watches the idle ones with epoll; a worker is
 * handed a connection only once it has input, reads and serves one request
 * on it, and gives it back to the poller when nginx keeps it
 * (fastcgi_keep_conn on).  An idle kept-alive connection therefore holds a
 * descriptor, never a worker, whatever nginx's upstream `keepalive` is;
 * the shipped conf/ keeps connections (docs/configuration.md, "Workers").
 */
#ifndef EVDB_SERVER_H
#define EVDB_SERVER_H

#include "core/log.h"
#include "core/settings.h"
#include "core/status.h"
#include "store/store.h"

/**
 * Runs the server until SIGTERM/SIGINT.  Returns EVDB_ERR_CONFIG or
 * EVDB_ERR_IO when the socket cannot be set up (logged).
 */
enum evdb_status server_run(const struct settings *s, struct store *st,
    struct log *log);

#endif /* EVDB_SERVER_H */
