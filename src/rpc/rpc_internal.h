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
#include "core/json_slice.h"
#include "http/request.h"
#include "core/status.h"
#include "core/uuid.h"
#include "store/store.h"

/* Longest message type accepted, in bytes (written, or named in "types"). */
#define RPC_TYPE_MAX 1024

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
	RPC_POSITION_CONFLICT,		/* checkpoint.commit (rpc_checkpoint.c) */
	RPC_STREAM_DELETED,
	RPC_ERROR_COUNT
};

/* A read's "wait" option (long-poll, rpc_wait.c). */
struct rpc_wait {
	int64_t ms;			/* options.wait; 0: answer at once */
	enum store_poke_kind kind;	/* STREAM or CATEGORY: what the read follows */
	const char *name;		/* stream or category (borrowed from args) */
	size_t name_len;
	int64_t group_member;		/* consumer group (category only) */
	int64_t group_size;		/* 0: none */
	bool empty;			/* the read returned no message */
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
	struct rpc_wait wait;		/* options.wait of a read (rpc_wait.c) */
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

/**
 * Argument i as an integer, as rpc_opt_int converts it; fails with msg when
 * it is absent or not a number.
 */
bool rpc_arg_int(struct rpc_call *call, size_t i, const char *msg,
    int64_t *v);

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

/* ---- long-poll reads (rpc_wait.c) ---- */

/**
 * Option "wait" of opts into call->wait.ms: absent is 0; otherwise an
 * integer from 0 to RPC_WAIT_MAX, or the call fails.  kind and name say
 * what the read follows (name is borrowed).
 */
bool rpc_opt_wait(struct rpc_call *call, struct json_object *opts,
    enum store_poke_kind kind, const char *name, size_t name_len);

/**
 * Called once the handler succeeded: when the read asked to wait and
 * call->wait.empty, hands the request to the long-poll loop (r->longpoll)
 * and returns true (it is answered there, or with 429 LONGPOLL_LIMIT here).
 * Returns false when the answer is to go out now (sets r->wait_empty when
 * the read asked to wait and found nothing).
 */
bool rpc_wait_hold(struct rpc_call *call);

/** Largest options.wait, in milliseconds. */
#define RPC_WAIT_MAX 30000
/** Largest body of a request with options.wait above 0 (it is kept while held). */
#define RPC_WAIT_BODY_MAX 16384
/* Consumer checkpoints (rpc_checkpoint.c). */
void rpc_checkpoint_commit(struct rpc_call *call);
void rpc_checkpoint_get(struct rpc_call *call);
void rpc_checkpoint_list(struct rpc_call *call);
void rpc_checkpoint_delete(struct rpc_call *call);
/**
 * Option "checkpoint" of a read (category.get): a checkpoint name, checked.
 * When present and !explicit_start (the read gave no position), sets
 * *start to the global position after the checkpoint of that name and of
 * the read's consumer-group member (size 0: no group), or to 1 when there
 * is no such checkpoint.  *start is left alone otherwise.
 */
bool rpc_checkpoint_start(struct rpc_call *call, struct json_object *opts,
    int64_t member, int64_t size, bool explicit_start, int64_t *start);

/** Serialises a json-c value (data/metadata) exactly, without slash escaping. */
const char *rpc_json_text(struct json_object *v, size_t *len);

/* ---- writes: what stream.write and batch.write share (rpc_message.c) ----
 * Each check fails with 400 INVALID_REQUEST, its message starting with
 * `what` ("message", "options", "entries[3]"): stream.write keeps the
 * reference's messages, batch.write names the entry at fault. */

/** An expectedVersion as given (EXTENSIONS.md section 1). */
struct rpc_expected {
	enum store_expect expect;	/* STORE_EXPECT_ANY when absent */
	int64_t version;		/* with STORE_EXPECT_VERSION: the number */
	const char *word;		/* "any", "noStream" or "exists" as given
					 * (static), or NULL for a number */
};

/** v as a stream name: a non-empty string that streamname_valid accepts. */
bool rpc_write_stream(struct rpc_call *call, struct json_object *v,
    const char *what, const char **s, size_t *len);

/**
 * The message object msg ({"type", "data", "metadata"?}) into in's type,
 * data and metadata.  msg_text, when not NULL, is msg's own text in the
 * request body (rpc_arg_text): data and metadata are then copied from it
 * into the arena instead of serialised again from json-c's tree, with the
 * same resulting bytes (json_slice.h).  The texts are owned by msg's json-c
 * objects or by the request's arena.
 */
bool rpc_write_message(struct rpc_call *call, struct json_object *msg,
    const struct json_span *msg_text, const char *what,
    struct store_message_in *in);

/**
 * The text of argument i (from 0, after the method name) in the request
 * body, for json_slice.h.  False when the body does not have it.
 */
bool rpc_arg_text(const struct rpc_call *call, size_t i, struct json_span *v);

/**
 * obj's "id" (obj may be NULL) into in->id: absent or "" leaves it NULL (a
 * new id), a UUID in any accepted spelling is canonicalised into idbuf.
 */
bool rpc_write_id(struct rpc_call *call, struct json_object *obj,
    const char *what, char idbuf[UUID_STR_LEN + 1], struct store_message_in *in);

/**
 * obj's "expectedVersion" (obj may be NULL) into *x: absent or "any" is
 * STORE_EXPECT_ANY, "noStream" and "exists" their kinds, a number (as
 * EventoDB reads it: truncated, -1 for an empty stream) STORE_EXPECT_VERSION.
 * A non-string that is no number keeps the reference's message.
 */
bool rpc_write_expected(struct rpc_call *call, struct json_object *obj,
    const char *what, struct rpc_expected *x);

/**
 * Answers 409 STREAM_VERSION_CONFLICT for stream, expected x, found at
 * version actual (-1: no message).  index >= 0: the expectation's place
 * in batch.write's options.expect.  stream.write with a number keeps
 * EventoDB's details {"actual","expected"}; every other form adds
 * "stream" (and "index").
 */
void rpc_write_version_conflict(struct rpc_call *call, const char *stream,
    size_t stream_len, const struct rpc_expected *x, int64_t actual,
    int64_t index);

/**
 * Answers 409 MESSAGE_ID_CONFLICT for in's id: stored with another value
 * of field ("stream", "type", "data", "metadata"), or, for field NULL, a
 * batch.write entry whose id is stored while other entries are new.
 * index >= 0: the entry's place in batch.write.
 */
void rpc_write_id_conflict(struct rpc_call *call,
    const struct store_message_in *in, const char *field, int64_t index);

/* batch.write (rpc_batch.c) */
void rpc_batch_write(struct rpc_call *call);

#endif /* EVDB_RPC_INTERNAL_H */
