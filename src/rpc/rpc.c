/*
 * rpc.c - the /rpc envelope: parse the JSON array, find the method in the
 * dispatch table, run it, and answer with its result or its error.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "core/json_out.h"
#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"
#include "core/json_guard.h"

struct rpc_method {
	const char *name;	/* wire name, matched exactly */
	rpc_handler_fn fn;	/* handler */
	bool admin_only;	/* only the admin token may call it (CONTRACT.md 1) */
};

static const struct rpc_method rpc_methods[] = {
	{ "stream.write", rpc_stream_write, false },
	{ "stream.get", rpc_stream_get, false },
	{ "stream.last", rpc_stream_last, false },
	{ "stream.version", rpc_stream_version, false },
	{ "category.get", rpc_category_get, false },
	{ "ns.create", rpc_ns_create, true },
	{ "ns.delete", rpc_ns_delete, true },
	{ "ns.list", rpc_ns_list, true },
	{ "ns.info", rpc_ns_info, false },
	{ "ns.streams", rpc_ns_streams, false },
	{ "ns.categories", rpc_ns_categories, false },
	{ "sys.version", rpc_sys_version, false },
	{ "sys.health", rpc_sys_health, false },
	/* extensions (EXTENSIONS.md) */
	{ "batch.write", rpc_batch_write, false },
	/* consumer checkpoints (rpc_checkpoint.c) */
	{ "checkpoint.commit", rpc_checkpoint_commit, false },
	{ "checkpoint.get", rpc_checkpoint_get, false },
	{ "checkpoint.list", rpc_checkpoint_list, false },
	{ "checkpoint.delete", rpc_checkpoint_delete, false },
	/* Stream lifecycle (rpc_lifecycle.c). */
	{ "stream.delete", rpc_stream_delete, false },
	{ "stream.truncate", rpc_stream_truncate, false },
	{ "stream.setRetention", rpc_stream_set_retention, false },
	{ "category.setRetention", rpc_category_set_retention, false },
	{ "stream.info", rpc_stream_info, false },
};

static const struct {
	const char *code;	/* wire code */
	int status;		/* HTTP status */
} rpc_errors[RPC_ERROR_COUNT] = {
	[RPC_INVALID_REQUEST] = { "INVALID_REQUEST", 400 },
	[RPC_METHOD_NOT_FOUND] = { "METHOD_NOT_FOUND", 404 },
	[RPC_AUTH_UNAUTHORIZED] = { "AUTH_UNAUTHORIZED", 403 },
	[RPC_NAMESPACE_NOT_FOUND] = { "NAMESPACE_NOT_FOUND", 404 },
	[RPC_NAMESPACE_EXISTS] = { "NAMESPACE_EXISTS", 409 },
	[RPC_STREAM_VERSION_CONFLICT] = { "STREAM_VERSION_CONFLICT", 409 },
	[RPC_MESSAGE_ID_CONFLICT] = { "MESSAGE_ID_CONFLICT", 409 },
	[RPC_STORAGE_FULL] = { "STORAGE_FULL", 507 },
	[RPC_BACKEND_BUSY] = { "BACKEND_BUSY", 503 },
	[RPC_BACKEND_ERROR] = { "BACKEND_ERROR", 500 },
	[RPC_INTERNAL_ERROR] = { "INTERNAL_ERROR", 500 },
	[RPC_BACKEND_UNAVAILABLE] = { "BACKEND_UNAVAILABLE", 503 },
	[RPC_POSITION_CONFLICT] = { "POSITION_CONFLICT", 409 },
	[RPC_STREAM_DELETED] = { "STREAM_DELETED", 410 },
};

static bool
rpc_vfail(struct rpc_call *call, enum rpc_error e, const char *details,
    const char *fmt, va_list ap)
{
	char msg[512];

	if (call->failed)
		return false;	/* the first error wins */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	call->failed = true;
	call->error = e;
	call->message = arena_strndup(call->req->arena, msg, strlen(msg));
	call->details = details != NULL ?
	    arena_strndup(call->req->arena, details, strlen(details)) : NULL;
	return false;
}

bool
rpc_fail(struct rpc_call *call, enum rpc_error e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_vfail(call, e, NULL, fmt, ap);
	va_end(ap);
	return false;
}

bool
rpc_fail_details(struct rpc_call *call, enum rpc_error e, const char *details,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_vfail(call, e, details, fmt, ap);
	va_end(ap);
	return false;
}

bool
rpc_fail_store(struct rpc_call *call, enum evdb_status st, const char *what)
{
	switch (st) {
	case EVDB_ERR_NOT_FOUND:
		return rpc_fail(call, RPC_NAMESPACE_NOT_FOUND,
		    "Failed to %s: namespace not found", what);
	case EVDB_ERR_STORAGE_FULL:
		return rpc_fail(call, RPC_STORAGE_FULL,
		    "Failed to %s: storage is full", what);
	case EVDB_ERR_BUSY:
		return rpc_fail(call, RPC_BACKEND_BUSY,
		    "Failed to %s: database is busy, retry later", what);
	case EVDB_ERR_UNAVAILABLE:
		if (store_conn_unavailable_why(call->req->store) != NULL)
			return rpc_fail(call, RPC_BACKEND_UNAVAILABLE,
			    "Failed to %s: %s", what,
			    store_conn_unavailable_why(call->req->store));
		return rpc_fail(call, RPC_BACKEND_UNAVAILABLE,
		    "Failed to %s: the database is unavailable, retry later", what);
	case EVDB_ERR_GONE:
		/* A tombstoned stream (stream.delete with hard, rpc_lifecycle.c). */
		return rpc_fail(call, RPC_STREAM_DELETED,
		    "Failed to %s: the stream was deleted for ever (hard delete)",
		    what);
	case EVDB_ERR_INVALID:
		/* A value the backend cannot store (PostgreSQL: \u0000 in jsonb). */
		return rpc_fail(call, RPC_INVALID_REQUEST, "Failed to %s: %s", what,
		    store_conn_errmsg(call->req->store));
	default:
		log_error(call->req->log, "req=%s %s failed: %s: %s",
		    call->req->request_id, what, evdb_strerror(st),
		    store_conn_errmsg(call->req->store));
		return rpc_fail(call, RPC_BACKEND_ERROR, "Failed to %s: %s", what,
		    evdb_strerror(st));
	}
}

static void
rpc_send_error(struct request *r, enum rpc_error e, const char *message,
    const char *details)
{
	request_send_error(r, rpc_errors[e].status, rpc_errors[e].code, message,
	    details);
}

/* Go's wording for a JSON value that is not an array. */
static const char *
rpc_go_type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object: return "object";
	case json_type_string: return "string";
	case json_type_boolean: return "bool";
	default: return "number";
	}
}

struct json_tokener *
rpc_tokener_new(void)
{
	return json_tokener_new_ex(RPC_MAX_DEPTH);
}

void
rpc_tokener_free(struct json_tokener *tok)
{
	if (tok != NULL)
		json_tokener_free(tok);
}

static void
rpc_put_tokener(void *arg)
{
	rpc_tokener_free(arg);
}

static void
rpc_put_json(void *arg)
{
	json_object_put(arg);
}

/*
 * Parses the body as one JSON value with nothing but white space after it.
 * On failure sends the 400 response and returns false.
 */
static bool
rpc_parse(struct request *r, struct json_object **root)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const char *p, *end, *why;
	char details[256], why_buf[96];
	size_t off;

	*root = NULL;
	if (r->tok != NULL) {
		/* The worker's: json_tokener_reset keeps its stack and printbuf. */
		tok = r->tok;
		json_tokener_reset(tok);
	} else if ((tok = rpc_tokener_new()) == NULL) {
		request_send_error(r, 500, "INTERNAL_ERROR", "Out of memory", NULL);
		return false;
	} else
		arena_cleanup_add(r->arena, rpc_put_tokener, tok);
	/* UTF-8 was checked, more strictly than json-c can, by json_guard_check. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	p = r->body->data != NULL ? r->body->data : "";
	end = p + r->body->len;
	if (!json_guard_check(p, r->body->len, why_buf, sizeof(why_buf))) {
		snprintf(details, sizeof(details), "{\"error\":\"%s\"}", why_buf);
		request_send_error(r, 400, "INVALID_REQUEST", "Malformed JSON request",
		    details);
		return false;
	}
	/* json-c reads up to the length given; it does not stop at a NUL. */
	*root = json_tokener_parse_ex(tok, p, (int)r->body->len);
	jerr = json_tokener_get_error(tok);
	if (*root == NULL && jerr == json_tokener_continue && r->body->len > 0) {
		/* A bare literal or number at the very end ("null", "12") waits for
		 * a delimiter; give it one.  Truly unfinished text stays unfinished. */
		*root = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success) {
			if (*root != NULL)
				arena_cleanup_add(r->arena, rpc_put_json, *root);
			return true;
		}
	}
	if (*root != NULL)
		arena_cleanup_add(r->arena, rpc_put_json, *root);
	if (jerr == json_tokener_success) {
		off = json_tokener_get_parse_end(tok);
		for (p += off; p < end; p++)
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				break;
		if (p == end)
			return true;
		why = "invalid character after top-level value";
	} else if (jerr == json_tokener_continue)
		why = "unexpected end of JSON input";
	else
		why = json_tokener_error_desc(jerr);
	snprintf(details, sizeof(details), "{\"error\":\"%s\"}", why);
	request_send_error(r, 400, "INVALID_REQUEST", "Malformed JSON request", details);
	return false;
}

void
rpc_serve(struct request *r)
{
	struct json_object *root, *name;
	struct rpc_call call;
	const struct rpc_method *m = NULL;
	const char *method;
	size_t i, n;
	enum evdb_status rs;

	r->label = "rpc";
	if (strcmp(r->method, "POST") != 0) {
		request_send_error(r, 405, "INVALID_REQUEST", "Only POST method allowed", NULL);
		return;
	}
	rs = request_read_body(r, (size_t)r->settings->max_body);
	if (rs == EVDB_ERR_INVALID) {
		request_send_error(r, 413, "PAYLOAD_TOO_LARGE",
		    "Request body exceeds the limit", NULL);
		return;
	}
	if (rs != EVDB_OK) {
		request_send_error(r, 400, "INVALID_REQUEST",
		    "Request body ended before Content-Length bytes arrived", NULL);
		return;
	}
	if (!rpc_parse(r, &root))
		return;
	if (root != NULL && !json_object_is_type(root, json_type_array)) {
		char details[128];

		snprintf(details, sizeof(details), "{\"error\":\"json: cannot unmarshal %s"
		    " into Go value of type []interface {}\"}", rpc_go_type_name(root));
		request_send_error(r, 400, "INVALID_REQUEST", "Malformed JSON request",
		    details);
		return;
	}
	n = root != NULL ? json_object_array_length(root) : 0;
	if (n == 0) {
		request_send_error(r, 400, "INVALID_REQUEST", "Missing method name", NULL);
		return;
	}
	name = json_object_array_get_idx(root, 0);
	if (!json_object_is_type(name, json_type_string) || name == NULL) {
		request_send_error(r, 400, "INVALID_REQUEST", "Method name must be a string",
		    NULL);
		return;
	}
	method = json_object_get_string(name);
	for (i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++) {
		if ((size_t)json_object_get_string_len(name) == strlen(rpc_methods[i].name) &&
		    strcmp(method, rpc_methods[i].name) == 0) {
			m = &rpc_methods[i];
			break;
		}
	}
	if (m == NULL) {
		buf_reset(r->out);
		buf_puts(r->out, "Unknown method: ");
		buf_append(r->out, method, (size_t)json_object_get_string_len(name));
		/* request_send_error reuses r->out: keep the message in the arena. */
		method = arena_strndup(r->arena, r->out->data, r->out->len);
		request_send_error(r, 404, "METHOD_NOT_FOUND", method, NULL);
		return;
	}
	r->label = m->name;
	if (m->admin_only && !auth_is_admin(r)) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s requires the admin token", m->name);
		request_send_error(r, 403, "AUTH_UNAUTHORIZED", msg, NULL);
		return;
	}

	memset(&call, 0, sizeof(call));
	call.req = r;
	call.argc = n - 1;
	call.args = arena_alloc(r->arena, sizeof(*call.args) * (call.argc + 1));
	for (i = 1; i < n; i++)
		call.args[i - 1] = json_object_array_get_idx(root, i);
	call.out = r->out;
	buf_reset(r->out);
	m->fn(&call);
	if (!call.failed && rpc_wait_hold(&call))
		return;		/* held by the long-poll loop, or refused 429 */
	if (call.failed) {
		rpc_send_error(r, call.error, call.message, call.details);
		return;
	}
	buf_putc(r->out, '\n');
	request_send_out(r, 200);
}
