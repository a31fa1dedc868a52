/*
 * request.h - one FastCGI request as the handlers see it.
 *
 * server.c fills a struct request for every request it accepts, hands it to
 * router_dispatch(), then calls request_finish().  The request borrows the
 * worker's reusable buffers and arena; nothing in it outlives the request.
 *
 * Handlers answer with request_send*(), which only record the response
 * (status, content type, body in r->out): the first answer wins, later ones
 * are ignored.  request_finish() then writes the CGI headers ("Status:",
 * "Content-Type:", "Content-Length:") and the body in one go.  Handlers that
 * stream (SSE, import progress) call request_stream_begin() instead, which
 * writes the headers at once.
 *
 * A request with fcgi == NULL is a detached one, for unit tests and fuzz
 * harnesses: the body is preloaded into r->body, parameters are absent, and
 * streamed output is appended to r->out.
 */
#ifndef EVDB_REQUEST_H
#define EVDB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/settings.h"
#include "store/store.h"
#include "core/token.h"

struct gate;
struct hub;
struct longpoll;
struct metrics;
struct metrics_gauges;

/**
 * Reads the process-wide gauges that /metrics reports into *g; ctx is the
 * request's gauges_ctx.  Set by the server, which owns what they count.
 */
typedef void (*request_gauges_fn)(const void *ctx, struct metrics_gauges *g);

struct request {
	FCGX_Request *fcgi;		/* libfcgi request (streams, params) */
	struct arena *arena;		/* freed after the response */
	struct store_conn *store;	/* this worker's store connection */
	const struct settings *settings; /* process settings */
	struct log *log;		/* process log */
	struct metrics *metrics;	/* process counters, or NULL (not counted) */
	struct hub *hub;		/* process SSE hub, or NULL (detached request) */
	request_gauges_fn gauges;	/* reads /metrics gauges, or NULL */
	const void *gauges_ctx;		/* argument of gauges */
	int worker_id;			/* for logs */
	struct buf *body;		/* request body (worker-owned, reused) */
	struct buf *out;		/* response body (worker-owned, reused) */
	struct json_tokener *tok;	/* the worker's JSON tokener (reset and
					 * reused by rpc), or NULL: rpc makes one
					 * for the request */
	const char *method;		/* REQUEST_METHOD, never NULL */
	const char *path;		/* DOCUMENT_URI, never NULL */
	const char *query;		/* QUERY_STRING, never NULL */
	const char *authorization;	/* HTTP_AUTHORIZATION or NULL */
	const char *request_id;		/* nginx $request_id, or "-" */
	int64_t content_length;		/* CONTENT_LENGTH, or -1 when absent */
	int status;			/* HTTP status answered, 0 before answering */
	const char *content_type;	/* content type of the answer (static string) */
	bool streaming;			/* headers already written by request_stream_begin */
	const char *label;		/* what was served, for the log ("stream.write") */
	char ns[TOKEN_NS_MAX + 1];	/* authenticated namespace, "" before auth */
	struct gate *gate;		/* per-token admission, or NULL (no limits) */
	bool admitted;			/* holds a gate slot for ns (set by the
					 * server for a request resumed from the
					 * gate's queue) */
	bool import_slot;		/* that slot is also an import slot */
	bool parked;			/* handed to the gate's queue: not answered */
	/* Long-poll reads ("wait", docs/api.md; sse/longpoll.h): */
	struct longpoll *longpoll;	/* process long-poll loop, or NULL: a read
					 * that finds nothing answers at once */
	bool wait_empty;		/* set by rpc: the read asked to wait and
					 * found nothing (it was answered, or held
					 * when longpoll is set) */
};

/** The reason phrase of an HTTP status ("OK", "Not Found"; "Unknown"). */
const char *request_reason(int status);

/** Returns FastCGI parameter name, or NULL. */
const char *request_param(const struct request *r, const char *name);

/**
 * Reads the whole body into r->body.  EVDB_ERR_INVALID when it exceeds
 * max bytes (nothing more is read), EVDB_ERR_CLOSED when the stream ended
 * before CONTENT_LENGTH bytes arrived.
 */
enum evdb_status request_read_body(struct request *r, size_t max);

/**
 * Finds key in the query string and returns its form-decoded value
 * ('+' is a space, %XX a byte), allocated in r->arena; NULL when absent.
 * *len receives its length (the value may contain NUL bytes).
 */
char *request_query(struct request *r, const char *key, size_t *len);

/**
 * Answers with status and body[0..len) (copied into r->out unless it is
 * r->out's own data) of the given content type, which must be a static
 * string.  Ignored when the request was already answered.
 */
void request_send(struct request *r, int status, const char *content_type,
    const char *body, size_t len);
/** Answers with r->out as application/json with the given status. */
void request_send_out(struct request *r, int status);
/**
 * Sends the error envelope {"error":{"code","message","details"?}}\n.
 * details is raw JSON text or NULL.  Uses r->out as scratch.
 */
void request_send_error(struct request *r, int status, const char *code,
    const char *message, const char *details);

/** Room for the head request_format_head writes. */
#define REQUEST_HEAD_MAX 256

/**
 * Writes the head of a whole answer into out: Status (with its reason),
 * Content-Type (a static string), Content-Length, Cache-Control: no-store
 * and the blank line.  Returns its length, at most REQUEST_HEAD_MAX.
 * request_finish sends it; the long-poll loop, which answers outside a
 * request, too.
 */
size_t request_format_head(char out[REQUEST_HEAD_MAX], int status,
    const char *content_type, size_t content_length);

/**
 * Starts a streamed answer: writes "Status:", the content type, the extra
 * header lines in headers (each ending in "\r\n", may be NULL) and the blank
 * line, and flushes.  EVDB_ERR_CLOSED when the client is gone.
 */
enum evdb_status request_stream_begin(struct request *r, int status,
    const char *content_type, const char *headers);
/** Writes data of a streamed answer and flushes it. */
enum evdb_status request_stream_write(struct request *r, const char *data,
    size_t len);

/**
 * Takes the FastCGI connection away from libfcgi, for a loop that answers
 * it later (SSE hub, long-poll) and owns the returned descriptor from then
 * on; -1 on failure (nothing changed).  libfcgi is given /dev/null in its
 * place, so what it writes in FCGX_Finish_r() goes nowhere.  The request
 * must have a FastCGI connection.
 */
int request_take_socket(struct request *r);

/**
 * Writes the recorded answer to the client (a 500 when there is none);
 * does nothing for a streamed or detached request.
 */
void request_finish(struct request *r);

#endif /* EVDB_REQUEST_H */
