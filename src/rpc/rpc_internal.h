/*
 * rpc_internal.h - what the RPC method handlers share: the call context,
 * error reporting and argument validation (rpc_args.c).  Not a public
 * contract; only rpc*.c include it.
 */
#ifndef EVDB_RPC_INTERNAL_H
#define EVDB_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "http/request.h"
#include "core/status.h"

/* Wire error codes, each with its HTTP status (table in rpc.c). */
enum rpc_error {
	RPC_INVALID_REQUEST,
	RPC_METHOD_NOT_FOUND,
	RPC_AUTH_UNAUTHORIZED,
	RPC_NAMESPACE_NOT_FOUND,
	RPC_NAMESPACE_EXISTS,
	RPC_STREAM_VERSION_CONFLICT,
	RPC_MESSAGE_ID_CONFLICT,
	RPC_STORAGE_FULL,
	RPC_BACKEND_BUSY,
	RPC_BACKEND_ERROR,
	RPC_INTERNAL_ERROR,
	RPC_BACKEND_UNAVAILABLE,
	RPC_STREAM_DELETED,
	RPC_ERROR_COUNT
};

struct rpc_call {
	struct request *req;		/* the HTTP request (namespace, store, log) */
	struct json_object **args;	/* arguments after the method name (borrowed) */
	size_t argc;			/* number of arguments */
	struct buf *out;		/* the result is appended here */
	bool failed;			/* an error was recorded */
	enum rpc_error error;		/* recorded error code */
	const char *message;		/* recorded message (arena) */
	const char *details;		/* recorded details JSON (arena) or NULL */
};

/* A method handler: appends the result JSON to call->out, or records an error. */
typedef void (*rpc_handler_fn)(struct rpc_call *call);

/** Records error e with a printf-style message; returns false for chaining. */
bool rpc_fail(struct rpc_call *call, enum rpc_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Like rpc_fail, with details JSON text (copied). */
bool rpc_fail_details(struct rpc_call *call, enum rpc_error e,
    const char *details, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** Records the error for a store failure st while doing `what`. */
bool rpc_fail_store(struct rpc_call *call, enum evdb_status st,
    const char *what);

/** The argument at index i, or NULL when absent (JSON null is present). */
struct json_object *rpc_arg(const struct rpc_call *call, size_t i);
/** True when argument i exists (even if it is JSON null). */
bool rpc_has_arg(const struct rpc_call *call, size_t i);

/**
 * Argument i as a string.  Fails with message `msg` when it is not a string,
 * or when nonempty is set and it is "".
 */
bool rpc_arg_string(struct rpc_call *call, size_t i, bool nonempty,
    const char *msg, const char **s, size_t *len);

/** Argument i as a stream name: a non-empty string that streamname_valid accepts. */
bool rpc_arg_stream(struct rpc_call *call, size_t i, const char *msg,
    const char **s, size_t *len);

/**
 * Argument i as an options object: *opts is NULL when absent.  Fails with
 * "options must be an object" (or msg when given) otherwise.
 */
bool rpc_arg_options(struct rpc_call *call, size_t i, const char *msg,
    struct json_object **opts);

/**
 * Option key of opts as an integer (JSON numbers are truncated toward
 * zero, and clamped to the int64 range).  *present says whether the key
 * exists; when it does and is not a number (null included), fails with msg.
 */
bool rpc_opt_int(struct rpc_call *call, struct json_object *opts,
    const char *key, const char *msg, bool *present, int64_t *v);

/** Option key of opts as a string; as rpc_opt_int. */
bool rpc_opt_string(struct rpc_call *call, struct json_object *opts,
    const char *key, const char *msg, bool *present, const char **s,
    size_t *len);

/**
 * Option "batchSize" per CONTRACT.md point 10: default def; -1 unlimited
 * (*limit = -1); 0 gives *limit = 0; above 10000 or below -1 fails.
 */
bool rpc_opt_batch_size(struct rpc_call *call, struct json_object *opts,
    int64_t def, int64_t *limit);

/* Handlers (rpc_stream.c, rpc_ns.c). */
void rpc_stream_write(struct rpc_call *call);
void rpc_stream_get(struct rpc_call *call);
void rpc_stream_last(struct rpc_call *call);
void rpc_stream_version(struct rpc_call *call);
void rpc_category_get(struct rpc_call *call);
void rpc_ns_create(struct rpc_call *call);
void rpc_ns_delete(struct rpc_call *call);
void rpc_ns_list(struct rpc_call *call);
void rpc_ns_info(struct rpc_call *call);
void rpc_ns_streams(struct rpc_call *call);
void rpc_ns_categories(struct rpc_call *call);
void rpc_sys_version(struct rpc_call *call);
void rpc_sys_health(struct rpc_call *call);
/* Stream lifecycle (rpc_lifecycle.c, EXTENSIONS.md section 5). */
void rpc_stream_delete(struct rpc_call *call);
void rpc_stream_truncate(struct rpc_call *call);
void rpc_stream_set_retention(struct rpc_call *call);
void rpc_category_set_retention(struct rpc_call *call);
void rpc_stream_info(struct rpc_call *call);

/** Serialises a json-c value (data/metadata) exactly, without slash escaping. */
const char *rpc_json_text(struct json_object *v, size_t *len);

#endif /* EVDB_RPC_INTERNAL_H */
