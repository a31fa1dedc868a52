/*
 * rpc_args.c - validating RPC arguments and options the way the reference
 * does: its exact messages, JSON null counted as "present but wrong type",
 * numbers truncated toward zero.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rpc/rpc_internal.h"
#include "core/streamname.h"

#define RPC_BATCH_MAX 10000

struct json_object *
rpc_arg(const struct rpc_call *call, size_t i)
{
	return i < call->argc ? call->args[i] : NULL;
}

bool
rpc_has_arg(const struct rpc_call *call, size_t i)
{
	return i < call->argc;
}

bool
rpc_arg_string(struct rpc_call *call, size_t i, bool nonempty, const char *msg,
    const char **s, size_t *len)
{
	struct json_object *v = rpc_arg(call, i);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (nonempty && *len == 0)
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	return true;
}

bool
rpc_arg_stream(struct rpc_call *call, size_t i, const char *msg,
    const char **s, size_t *len)
{
	const char *why;

	if (!rpc_arg_string(call, i, true, msg, s, len))
		return false;
	if (!streamname_valid(*s, *len, &why))
		return rpc_fail(call, RPC_INVALID_REQUEST, "streamName %s", why);
	return true;
}

bool
rpc_arg_options(struct rpc_call *call, size_t i, const char *msg,
    struct json_object **opts)
{
	*opts = NULL;
	if (!rpc_has_arg(call, i))
		return true;
	*opts = rpc_arg(call, i);
	if (*opts == NULL || !json_object_is_type(*opts, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s",
		    msg != NULL ? msg : "options must be an object");
	return true;
}

/* A JSON number as an integer (truncated, clamped); false for anything else. */
static bool
rpc_json_int(struct json_object *o, int64_t *v)
{
	double d;

	switch (o != NULL ? json_object_get_type(o) : json_type_null) {
	case json_type_int:
		/* json-c keeps 64-bit integers exact; uint64 clamps to INT64_MAX. */
		*v = json_object_get_int64(o);
		return true;
	case json_type_double:
		d = trunc(json_object_get_double(o));
		if (d >= 9223372036854775807.0)
			*v = INT64_MAX;
		else if (d <= -9223372036854775808.0)
			*v = INT64_MIN;
		else
			*v = (int64_t)d;
		return true;
	default:
		return false;
	}
}

bool
rpc_opt_int(struct rpc_call *call, struct json_object *opts, const char *key,
    const char *msg, bool *present, int64_t *v)
{
	struct json_object *o = NULL;

	*present = opts != NULL && json_object_object_get_ex(opts, key, &o);
	if (!*present)
		return true;
	return rpc_json_int(o, v) || rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
}

bool
rpc_arg_int(struct rpc_call *call, size_t i, const char *msg, int64_t *v)
{
	return rpc_json_int(rpc_arg(call, i), v) ||
	    rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
}

bool
rpc_opt_string(struct rpc_call *call, struct json_object *opts, const char *key,
    const char *msg, bool *present, const char **s, size_t *len)
{
	struct json_object *o = NULL;

	*present = opts != NULL && json_object_object_get_ex(opts, key, &o);
	if (!*present)
		return true;
	if (o == NULL || !json_object_is_type(o, json_type_string))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	*s = json_object_get_string(o);
	*len = (size_t)json_object_get_string_len(o);
	return true;
}

bool
rpc_opt_batch_size(struct rpc_call *call, struct json_object *opts, int64_t def,
    int64_t *limit)
{
	bool present;
	int64_t v;

	*limit = def;
	if (!rpc_opt_int(call, opts, "batchSize", "options.batchSize must be a number",
	    &present, &v))
		return false;
	if (!present)
		return true;
	if (v > RPC_BATCH_MAX)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.batchSize must be <= 10000 or -1 for unlimited");
	if (v < -1)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.batchSize must be >= -1 (-1 for unlimited)");
	*limit = v;
	return true;
}

const char *
rpc_json_text(struct json_object *v, size_t *len)
{
	return json_object_to_json_string_length(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

bool
rpc_arg_text(const struct rpc_call *call, size_t i, struct json_span *v)
{
	const struct buf *body = call->req->body;

	return body != NULL && body->data != NULL &&
	    json_slice_element(body->data, body->len, i + 1, v);
}
