/*
 * tests/e2e/harness.h - the end-to-end test harness: a private nginx + evdb
 * stack per test program, an HTTP client on top of it, a minimal FastCGI
 * client, and TAP assertion helpers (named *_ok) for RPC calls.
 *
 * Every test program owns one stack: harness_start() picks a free loopback
 * port, makes a temporary directory, runs
 *	$EVDB_SRCDIR/deploy/evdb-local start --port P --data-dir D \
 *	    --token HARNESS_ADMIN_TOKEN --evdb $EVDB_BUILDDIR/evdb
 * and arranges for "evdb-local stop" plus removal of the directory at exit,
 * on SIGINT/SIGTERM/SIGHUP/SIGALRM, and on SIGSEGV/SIGABRT.  So programs run
 * in parallel under "make -j check" without sharing anything.  Without an
 * nginx binary the program prints "1..0 # SKIP" and exits 0.
 *
 * Memory: every string and json_object a helper returns belongs to the
 * harness and stays valid until harness_stop(); callers never free them.
 * Objects filled by the caller (struct http_resp) are released with
 * http_resp_free().
 *
 * Threads: the helpers that take a struct harness use its single curl handle
 * and are for the main thread only.  Worker threads make their own
 * struct hconn (hconn_new) and use hconn_rpc()/fcgi_rpc(), which touch no
 * shared state.
 *
 * TAP: the *_ok helpers report through the ok()/tap_diag() functions of the
 * calling program's tests/tap.h, handed over by the harness_start() macro, so
 * one program keeps one count and one plan.  Include "../tap.h" before this
 * header.  Environment: EVDB_SRCDIR, EVDB_BUILDDIR (set by make check);
 * EVDB_E2E_KEEP=1 keeps the temporary directory; EVDB_E2E_TIMEOUT (seconds,
 * default 600) bounds the whole program.
 */
#ifndef EVDB_E2E_HARNESS_H
#define EVDB_E2E_HARNESS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The admin token: namespace "default" (base64url "ZGVmYXVsdA") + 64 hex. */
#define HARNESS_ADMIN_TOKEN \
	"ns_ZGVmYXVsdA_" \
	"e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"

/* Sentinel jpath_int() returns when the value is missing or not an integer. */
#define JPATH_NOINT INT64_MIN

/** The ok() of tests/tap.h: records one result, returns cond. */
typedef int (*harness_ok_fn)(int cond, const char *fmt, ...);
/** The tap_diag() of tests/tap.h: prints one "# " comment line. */
typedef void (*harness_diag_fn)(const char *fmt, ...);

struct harness;
struct hconn;

/* One HTTP (or FastCGI) response. */
struct http_resp {
	long		 status;	/* HTTP status; 0 if no answer at all */
	char		*body;		/* body bytes + a NUL; never NULL after a call */
	size_t		 len;		/* body length, without the added NUL */
	char		*ctype;		/* Content-Type value, or NULL when absent */
	char		*headers;	/* all response header lines, raw */
	struct json_object *json;	/* the parsed body; NULL if JSON null */
	int		 json_ok;	/* 1 if the body is exactly one valid JSON
					 * value: strict syntax, valid UTF-8,
					 * finite numbers, only whitespace around */
	char		 err[512];	/* transport error text, "" when none */
};

/*
 * Starts a private stack or bails out ("Bail out!", exit 1).  okf/diagf are
 * the calling program's TAP functions; use the harness_start() macro.  Only
 * one harness per process.  The returned harness is freed by harness_stop(),
 * which also runs automatically at exit.
 */
struct harness	*harness_start_with(harness_ok_fn okf, harness_diag_fn diagf);
#define harness_start() harness_start_with(ok, tap_diag)

/** Stops the stack, removes the temporary directory, frees h.  NULL ok. */
void		 harness_stop(struct harness *h);

/**
 * Stops the stack and starts it again on the same data directory (on a new
 * port: harness_url changes, connections from hconn_new go stale).  Returns
 * 0, or -1 with diagnostics if it did not come back.
 */
int		 harness_restart(struct harness *h);

/** The --store the stack runs on (a libpq conninfo), or NULL for SQLite. */
const char	*harness_store(struct harness *h);

/** The backend the stack runs on: "sqlite" or "postgres" (sys.health's name). */
const char	*harness_backend(struct harness *h);

/**
 * 1 when the stack stores JSON as text and reads back keys in the order
 * written (SQLite); 0 on PostgreSQL, whose jsonb keeps values but not key
 * order or duplicate keys (docs/storage.md).  Tests of key order ask.
 */
int		 harness_keeps_key_order(struct harness *h);

/** Milliseconds of CLOCK_MONOTONIC: for deadlines and durations.  Thread-safe. */
int64_t		 harness_now_ms(void);

/** "http://127.0.0.1:<port>", owned by h. */
const char	*harness_url(const struct harness *h);
/** The stack's data directory D given to evdb-local, owned by h. */
const char	*harness_datadir(const struct harness *h);
/**
 * 1 if a line of evdb's log (D/log/evdb.log) holds text, and also
 * when that is not NULL (the start-up line "evdb ready ..." and a setting in it).
 */
int		 harness_log_has(struct harness *h, const char *text,
		    const char *also);

/** printf into a harness-owned string. */
const char	*hstr(struct harness *h, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/** Copies len bytes (plus a NUL) into harness-owned memory. */
char		*hmem(struct harness *h, const void *p, size_t len);
/** Hands json to the harness: it is put at harness_stop(); returns json. */
struct json_object *harness_keep(struct harness *h, struct json_object *json);

/*
 * Low-level HTTP on the harness's keep-alive connection.  method is any
 * verb; path starts with "/" and may carry a query; headers is a
 * NULL-terminated array of "Name: value" lines (NULL for none); body/len
 * may be NULL/0.  Fills *out (call http_resp_free after).  Returns 0 when an
 * HTTP answer arrived, -1 otherwise (out->err says why).
 */
int		 http_request(struct harness *h, const char *method,
		    const char *path, const char *const *headers,
		    const void *body, size_t len, struct http_resp *out);
/** GET path. */
int		 http_get(struct harness *h, const char *path,
		    const char *const *headers, struct http_resp *out);
/** POST of arbitrary bytes, e.g. hostile bodies. */
int		 http_post_raw(struct harness *h, const char *path,
		    const char *const *headers, const void *body, size_t len,
		    struct http_resp *out);
/** Frees what a request put into *r and zeroes it.  NULL ok. */
void		 http_resp_free(struct http_resp *r);

/**
 * Sends raw bytes over a fresh TCP connection to nginx; if shut_wr, closes
 * the sending half afterwards.  Collects whatever comes back within
 * timeout_ms into a harness-owned string (*outlen its length).  Returns
 * NULL if it could not connect.
 */
char		*http_raw_exchange(struct harness *h, const void *req, size_t len,
		    int shut_wr, int timeout_ms, size_t *outlen);

/**
 * Opens an SSE subscription on a raw socket: a new TCP connection to nginx
 * and "GET /subscribe?stream=<stream>&token=<token> HTTP/1.0" sent on it
 * (HTTP/1.0: the frames come without chunked framing).  stream and token
 * go into the query as they are, unescaped.  rcvbuf > 0 sets the socket's
 * receive buffer to that many bytes before it connects (a client that does
 * not read fills it sooner); 0 keeps the system's default.  Returns the
 * socket, which the caller reads and closes, or -1.  No TAP result.
 */
int		 http_sse_open(struct harness *h, const char *token,
		    const char *stream, int rcvbuf);

/**
 * The "subscribers" gauge of sys.health, asked with the admin token, or -1
 * without an answer.  No TAP result.
 */
int64_t		 harness_subscribers(struct harness *h);

/*
 * POST body to /rpc with "Authorization: Bearer <token>" (no header when
 * token is NULL).  Returns the parsed body (harness-owned) or NULL; *out
 * (may be NULL) receives the full response, which the caller frees.
 */
struct json_object *rpc_call(struct harness *h, const char *token,
		    const char *body, struct http_resp *out);

/**
 * One TAP result: POSTs body to /rpc with token and checks that the status
 * is want_status, the answer is JSON with Content-Type application/json and,
 * when want_code is non-NULL, the error envelope {"error":{"code":want_code,
 * "message":"<non-empty>"[,"details":{...}]}} (when NULL and the status is
 * 2xx: no error envelope).  Failures print the request and the response as
 * diagnostics.  Returns the parsed body (harness-owned) or NULL.
 */
struct json_object *rpc_ok(struct harness *h, const char *token,
		    const char *body, long want_status, const char *want_code,
		    const char *desc);

/**
 * The body of the last rpc_call/rpc_ok answer with surrounding whitespace
 * removed (harness-owned), e.g. "null" where the parsed value is NULL.
 */
const char	*rpc_last_body(struct harness *h);

/**
 * One TAP result: checks that r is an error answer with want_status, JSON
 * Content-Type and envelope code want_code (any code when NULL).
 */
int		 error_envelope_ok(struct harness *h, const struct http_resp *r,
		    long want_status, const char *want_code, const char *desc);

/**
 * One TAP result: writes {"type":type,"data":data[,"metadata":meta]} to
 * stream with options (raw JSON or NULL) and expects 200 with integer
 * position and globalPosition.  data/meta are raw JSON texts.  Returns the
 * result object (harness-owned) or NULL; *pos and *gpos (may be NULL) receive
 * the positions (-1 on failure).
 */
struct json_object *write_ok(struct harness *h, const char *token,
		    const char *stream, const char *type, const char *data,
		    const char *meta, const char *options, int64_t *pos,
		    int64_t *gpos, const char *desc);

/**
 * Like write_ok but reports no TAP result (diagnostics only, on failure):
 * for setting up data.  Returns 0 on success, -1 otherwise.
 */
int		 write_quiet(struct harness *h, const char *token,
		    const char *stream, const char *type, const char *data,
		    const char *meta, const char *options, int64_t *pos,
		    int64_t *gpos);

/**
 * Reads the whole stream through stream.get (batchSize -1), page after
 * page as a client must since answers are capped in bytes
 * (--max-response-bytes), without reporting a result; returns the message
 * array (harness-owned) or NULL on any error.
 */
struct json_object *stream_read_all(struct harness *h, const char *token,
		    const char *stream);

/**
 * Creates namespace ns through the admin token (one TAP result) and returns
 * its token (harness-owned) or NULL.
 */
const char	*ns_create_ok(struct harness *h, const char *ns, const char *desc);

/**
 * Builds the token "ns_<base64url(ns)>_<hex>" for namespace ns into a
 * harness-owned string.  hex64 must be 64 characters (not checked, so that
 * tests can build malformed tokens).
 */
const char	*token_make(struct harness *h, const char *ns, const char *hex64);

/*
 * JSON navigation.  path is a dot-separated list of object keys and array
 * indexes ("error.code", "0.4.nested"); "" is o itself.  All accept NULL.
 */
/** The value at path, or NULL when absent. */
struct json_object *jpath_get(struct json_object *o, const char *path);
/** Integer at path, or JPATH_NOINT if absent or not an integer. */
int64_t		 jpath_int(struct json_object *o, const char *path);
/** String at path (owned by o), or NULL if absent or not a string. */
const char	*jpath_str(struct json_object *o, const char *path);
/** Length of the array at path, or -1 if absent or not an array. */
int		 jpath_len(struct json_object *o, const char *path);
/** 1 if the value at path exists and is JSON null. */
int		 jpath_is_null(struct json_object *o, const char *path);
/** Compact JSON text of the value at path, harness-owned ("<absent>"). */
const char	*jpath_text(struct harness *h, struct json_object *o,
		    const char *path);

/**
 * Deep JSON value equality: objects as key sets (and, when key_order, the
 * same key order), arrays element-wise, strings byte for byte, numbers by
 * value (integers exactly, otherwise as doubles).  Returns 1 when equal.
 */
int		 jvalue_equal(struct json_object *a, struct json_object *b,
		    int key_order);
/** Parses text into a harness-owned json_object, or NULL. */
struct json_object *jparse(struct harness *h, const char *text);

/**
 * 1 if s is a UTC timestamp "YYYY-MM-DDTHH:MM:SS.ffffffZ" (exactly six
 * fraction digits, valid calendar fields); *epoch (may be NULL) receives
 * its seconds since 1970.
 */
int		 timestamp_valid(const char *s, int64_t *epoch);
/** 1 if s is a canonical lowercase UUID whose version nibble is ver. */
int		 uuid_valid(const char *s, int ver);

/*
 * Connections for worker threads.  A struct hconn is one curl easy handle
 * (keep-alive) to the harness's nginx; use it from one thread at a time.
 */
/** A new connection to h's nginx, or NULL.  Freed by hconn_free. */
struct hconn	*hconn_new(const struct harness *h);
/** Closes c.  NULL ok. */
void		 hconn_free(struct hconn *c);
/**
 * POSTs body to /rpc on c (Bearer token).  Fills *out, whose json the
 * caller owns through http_resp_free.  Returns 0 when an answer arrived.
 */
int		 hconn_rpc(struct hconn *c, const char *token, const char *body,
		    struct http_resp *out);

/**
 * Starts a second evdb process on the stack's data directory, listening on
 * 127.0.0.1:<port> (FastCGI over TCP); logs go to a file in the temporary
 * directory.  Waits until the port accepts connections.  The process is
 * killed at harness_stop.  Returns its pid, or -1 (with a diagnostic).
 */
pid_t		 harness_spawn_evdb(struct harness *h, int *port);

/**
 * One FastCGI request (new connection, RESPONDER role) to 127.0.0.1:port:
 * POST /rpc with body and Bearer token.  Fills *out like an HTTP response
 * (Status header → status; caller frees).  Thread-safe.  Returns 0 when a
 * complete response arrived.
 */
int		 fcgi_rpc(int port, const char *token, const char *body,
		    struct http_resp *out);

/**
 * fcgi_rpc, and then waits up to wait_ms for the server to close the
 * connection entirely (*closed), without closing or shutting down this
 * side first.
 */
int		 fcgi_rpc_closing(int port, const char *token, const char *body,
		    struct http_resp *out, int wait_ms, bool *closed);

/**
 * The bytes of one FastCGI request as nginx would send it (harness-owned;
 * *outlen their length): BEGIN_REQUEST, the parameters of a POST to
 * path?query with "Authorization: Bearer <token>" (none when token is
 * NULL) and CONTENT_LENGTH content_length (empty when negative), then body
 * as STDIN records, ended by the empty STDIN record only when stdin_end.
 * For tests that send a request in pieces, or never finish it.
 */
char		*fcgi_request_bytes(struct harness *h, const char *path,
		    const char *query, const char *token, const char *body,
		    size_t blen, long content_length, bool stdin_end,
		    size_t *outlen);
/** A free loopback TCP port (bind 127.0.0.1:0, read, close), or -1. */
int		 harness_free_port(void);

/*
 * Several evdb hosts (issue 10).  harness_start_instances(n) starts the
 * stack with "evdb-local start --instances n": n evdb processes behind one
 * nginx upstream, on the store harness_start would pick (give them
 * PostgreSQL: EVDB_E2E_PGDIR or EVDB_E2E_STORE).  Instances are numbered
 * from 1.  A request with "X-Evdb-Instance: i" reaches instance i only.
 */
struct harness	*harness_start_instances_with(harness_ok_fn okf,
		    harness_diag_fn diagf, int instances);
#define harness_start_instances(n) \
	harness_start_instances_with(ok, tap_diag, (n))

/** The number of instances the stack runs (1 for harness_start). */
int		 harness_instances(const struct harness *h);

/** The pid of instance i as its pid file says, or -1. */
pid_t		 harness_instance_pid(struct harness *h, int i);

/**
 * Sends sig to instance i (remembering its command line for
 * harness_instance_restart) and, for SIGKILL and SIGTERM, waits up to 10 s
 * for it to be gone.  Returns 0, or -1 when it is not running.
 */
int		 harness_instance_signal(struct harness *h, int i, int sig);

/**
 * Starts instance i again, with the command line and environment it had,
 * after harness_instance_signal stopped it; waits until it answers GET
 * /health pinned to it.  Returns 0, or -1 with diagnostics.
 */
int		 harness_instance_restart(struct harness *h, int i);

/**
 * hconn_rpc pinned to instance i ("X-Evdb-Instance: i"); instance 0 lets
 * nginx choose.  Fills *out (caller frees).  Returns 0 when an answer came.
 */
int		 hconn_rpc_to(struct hconn *c, int instance, const char *token,
		    const char *body, struct http_resp *out);

#endif /* EVDB_E2E_HARNESS_H */
