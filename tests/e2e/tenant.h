/*
 * tests/e2e/tenant.h - helpers of the tests in which one tenant attacks
 * what all tenants share (issue 15: tenant_*_t.c): raw connections to
 * nginx and to evdb's own socket, timing, and reading nginx's and evdb's
 * state from /proc and the stack's files.
 *
 * Include "../tap.h" and "harness.h" first.  Every function is for the
 * main thread unless it says otherwise; none reports a TAP result.
 */
#ifndef EVDB_E2E_TENANT_H
#define EVDB_E2E_TENANT_H

#include <stddef.h>
#include <stdint.h>

struct harness;

/** The TCP port nginx of h listens on. */
int		 tenant_port(const struct harness *h);

/**
 * A new TCP connection to 127.0.0.1:port, or -1.  rcvbuf > 0 shrinks the
 * receive buffer first (a client that does not read fills it sooner).
 * Thread-safe.
 */
int		 tenant_connect(int port, int rcvbuf);

/** A new connection to the unix socket at path (evdb's own), or -1. */
int		 tenant_connect_unix(const char *path);

/** Sends all of p[0..len); 0 on success, -1 on an error.  Thread-safe. */
int		 tenant_send(int fd, const void *p, size_t len);

/**
 * Reads what arrives on fd until it closes or timeout_ms pass, into a
 * harness-owned string (*len its length, may be NULL).
 */
char		*tenant_read(struct harness *h, int fd, int timeout_ms,
		    size_t *len);

/**
 * Reads an HTTP response head from fd (up to its blank line) within
 * timeout_ms and returns its status, or 0.  The bytes after the head that
 * were read with it go to *rest (harness-owned; rest may be NULL).
 */
long		 tenant_http_status(struct harness *h, int fd, int timeout_ms,
		    char **rest);

/**
 * Collects the STDOUT of a FastCGI answer on fd until END_REQUEST or
 * timeout_ms (harness-owned; NULL when no END_REQUEST arrived).
 */
char		*tenant_fcgi_stdout(struct harness *h, int fd, int timeout_ms);

/**
 * Writes one message of token to stream through nginx; returns the HTTP
 * status (0 without an answer) and the time it took in *ms.
 */
long		 tenant_timed_write(struct harness *h, const char *token,
		    const char *stream, int64_t *ms);
/** GET /health; returns the status and the time it took in *ms. */
long		 tenant_timed_health(struct harness *h, int64_t *ms);

/** The pid in the stack's D/run/<name> (evdb.pid, nginx.pid), or -1. */
long		 tenant_stack_pid(struct harness *h, const char *name);

/**
 * The value of the counter or gauge "name value" in evdb's /metrics (read
 * with the admin token), or -1.
 */
int64_t		 tenant_metric(struct harness *h, const char *name);

#endif /* EVDB_E2E_TENANT_H */
