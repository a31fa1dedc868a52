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
 * and response buffers, and accepts connections itself, one at a time.
 *
 * The accept model and nginx: a worker serves one FastCGI connection at a
 * time.  nginx's conf/ in this repository does not use fastcgi_keep_conn, so
 * every request arrives on its own connection and no worker ever sits idle on
 * a kept-alive upstream connection while others queue.  With keep_conn on, a
 * worker waits on its kept connection outside the accept lock, so the pool
 * stalls only when it has fewer workers than nginx holds connections
 * (docs/configuration.md gives the rule).
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
