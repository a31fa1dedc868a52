/*
 * rpc_lifecycle.c - the stream lifecycle methods (EXTENSIONS.md section 5,
 * docs/api.md "Stream lifecycle"): stream.delete, stream.truncate,
 * stream.setRetention, category.setRetention and stream.info.
 *
 * Every change is logged at info level with the request id, the namespace,
 * the caller (the token's namespace, and whether it is the admin token)
 * and what it removed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/json_out.h"
#include "core/streamname.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "rpc/rpc_internal.h"
#include "store/store.h"

/* Largest maxAge accepted, in seconds (100 years): age * 10^6 stays in range. */
#define RPC_MAX_AGE_MAX INT64_C(3153600000)

/* Logs a lifecycle change: what, on which name, by whom, with what effect. */
static void
rpc_lifecycle_log(struct rpc_call *call, const char *method, const char *name,
    size_t name_len, const char *effect)
{
	struct request *r = call->req;
	struct buf q;

	buf_init(&q);
	json_out_string(&q, name, name_len);	/* quoted and escaped */
	log_info(r->log, "req=%s %s ns=%s name=%s caller=%s%s %s", r->request_id,
	    method, r->ns, buf_cstr(&q), r->ns, auth_is_admin(r) ? " (admin)" : "",
	    effect);
	buf_free(&q);
}

/* Option key of opts as a boolean; *v is left alone when absent. */
static bool
rpc_opt_bool(struct rpc_call *call, struct json_object *opts, const char *key,
    const char *msg, bool *v)
{
	struct json_object *o = NULL;

	if (opts == NULL || !json_object_object_get_ex(opts, key, &o))
		return true;
	if (o == NULL || !json_object_is_type(o, json_type_boolean))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	*v = json_object_get_boolean(o);
	return true;
}

/*
 * Option key of opts as a non-negative integer up to max: *present says
 * whether the key exists, *v is -1 for null when allow_null.
 */
static bool
rpc_opt_count(struct rpc_call *call, struct json_object *opts, const char *key,
    bool allow_null, int64_t max, const char *msg, bool *present, int64_t *v)
{
	struct json_object *o = NULL;

	*present = false;
	if (opts == NULL || !json_object_object_get_ex(opts, key, &o))
		return true;
	*present = true;
	if (o == NULL && allow_null) {
		*v = -1;
		return true;
	}
	if (o == NULL || !json_object_is_type(o, json_type_int) ||
	    json_object_get_int64(o) < 0 || json_object_get_int64(o) > max ||
	    (json_object_get_int64(o) == INT64_MAX && max == INT64_MAX))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	*v = json_object_get_int64(o);
	return true;
}

void
rpc_stream_delete(struct rpc_call *call)
{
	struct store_delete_req req;
	struct json_object *opts;
	enum evdb_status rs;
	int64_t deleted = 0, actual = -1;
	struct rpc_expected x;
	bool hard = false;
	char effect[96];

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.delete requires at least 1 argument: streamName");
		return;
	}
	memset(&req, 0, sizeof(req));
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &req.stream, &req.stream_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_write_expected(call, opts, "options", &x) ||
	    !rpc_opt_bool(call, opts, "hard", "options.hard must be a boolean", &hard))
		return;
	req.kind = hard ? STORE_DELETE_HARD : STORE_DELETE_SOFT;
	req.expect = x.expect;
	req.expected_version = x.version;
	rs = store_stream_delete(call->req->store, call->req->ns, &req, &deleted,
	    &actual);
	if (rs == EVDB_ERR_VERSION_CONFLICT) {
		metrics_conflict(call->req->metrics);
		rpc_write_version_conflict(call, req.stream, req.stream_len, &x,
		    actual, -1);
		return;
	}
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "delete stream");
		return;
	}
	snprintf(effect, sizeof(effect), "%s messagesDeleted=%lld",
	    hard ? "hard" : "soft", (long long)deleted);
	rpc_lifecycle_log(call, "stream.delete", req.stream, req.stream_len, effect);
	buf_puts(call->out, "{\"messagesDeleted\":");
	json_out_int(call->out, deleted);
	buf_putc(call->out, '}');
}

void
rpc_stream_truncate(struct rpc_call *call)
{
	struct store_delete_req req;
	struct json_object *opts;
	enum evdb_status rs;
	int64_t deleted = 0, actual = -1;
	bool present;
	char effect[96];

	if (call->argc < 2) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.truncate requires 2 arguments: streamName and {\"before\": position}");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = STORE_DELETE_TRUNCATE;
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &req.stream, &req.stream_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_opt_count(call, opts, "before", false, STORE_POSITION_MAX + 1,
	    "options.before must be a non-negative integer", &present, &req.before))
		return;
	if (!present) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.before must be a non-negative integer");
		return;
	}
	rs = store_stream_delete(call->req->store, call->req->ns, &req, &deleted,
	    &actual);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "truncate stream");
		return;
	}
	snprintf(effect, sizeof(effect), "before=%lld messagesDeleted=%lld",
	    (long long)req.before, (long long)deleted);
	rpc_lifecycle_log(call, "stream.truncate", req.stream, req.stream_len,
	    effect);
	buf_puts(call->out, "{\"messagesDeleted\":");
	json_out_int(call->out, deleted);
	buf_putc(call->out, '}');
}

/* stream.setRetention and category.setRetention. */
static void
rpc_set_retention(struct rpc_call *call, bool category)
{
	const char *method = category ? "category.setRetention" :
	    "stream.setRetention";
	struct store_retention_change ch;
	struct json_object *opts;
	enum evdb_status rs;
	const char *name;
	size_t name_len;
	char effect[96];

	if (call->argc < 2) {
		rpc_fail(call, RPC_INVALID_REQUEST, "%s requires 2 arguments: %s and"
		    " {\"maxAge\"?, \"maxCount\"?}", method,
		    category ? "categoryName" : "streamName");
		return;
	}
	memset(&ch, 0, sizeof(ch));
	if (category) {
		if (!rpc_arg_string(call, 0, true,
		    "categoryName must be a non-empty string", &name, &name_len))
			return;
		if (name_len > STREAMNAME_MAX_LEN ||
		    memchr(name, '-', name_len) != NULL ||
		    memchr(name, '\0', name_len) != NULL) {
			rpc_fail(call, RPC_INVALID_REQUEST, "categoryName must be a"
			    " category: at most %d bytes, no '-' and no NUL",
			    STREAMNAME_MAX_LEN);
			return;
		}
	} else if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &name, &name_len))
		return;
	if (!rpc_arg_options(call, 1, "retention must be an object", &opts))
		return;
	if (opts == NULL) {
		rpc_fail(call, RPC_INVALID_REQUEST, "retention must be an object");
		return;
	}
	if (!rpc_opt_count(call, opts, "maxAge", true, RPC_MAX_AGE_MAX,
	    "options.maxAge must be null or a whole number of seconds, 0 to 3153600000",
	    &ch.set_max_age, &ch.max_age) ||
	    !rpc_opt_count(call, opts, "maxCount", true, STORE_POSITION_MAX,
	    "options.maxCount must be null or a non-negative integer",
	    &ch.set_max_count, &ch.max_count))
		return;
	rs = store_set_retention(call->req->store, call->req->ns, category, name,
	    name_len, &ch);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "set retention");
		return;
	}
	snprintf(effect, sizeof(effect), "maxAge=%lld%s maxCount=%lld%s",
	    (long long)ch.max_age, ch.set_max_age ? "" : "(kept)",
	    (long long)ch.max_count, ch.set_max_count ? "" : "(kept)");
	rpc_lifecycle_log(call, method, name, name_len, effect);
	buf_puts(call->out, "true");
}

void
rpc_stream_set_retention(struct rpc_call *call)
{
	rpc_set_retention(call, false);
}

void
rpc_category_set_retention(struct rpc_call *call)
{
	rpc_set_retention(call, true);
}

/* An integer, or null when v is negative. */
static void
rpc_put_opt_int(struct buf *out, int64_t v)
{
	if (v < 0)
		buf_puts(out, "null");
	else
		json_out_int(out, v);
}

void
rpc_stream_info(struct rpc_call *call)
{
	static const char *const deleted[] = { "false", "\"soft\"", "\"hard\"" };
	struct store_stream_state si;
	struct buf *out = call->out;
	enum evdb_status rs;
	const char *stream;
	size_t stream_len;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.info requires 1 argument: streamName");
		return;
	}
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &stream, &stream_len))
		return;
	rs = store_stream_info(call->req->store, call->req->ns, stream, stream_len,
	    &si);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "read stream info");
		return;
	}
	if (!si.exists) {
		buf_puts(out, "null");
		return;
	}
	buf_puts(out, "{\"stream\":");
	json_out_string(out, stream, stream_len);
	buf_puts(out, ",\"version\":");
	rpc_put_opt_int(out, si.version);
	buf_puts(out, ",\"firstPosition\":");
	rpc_put_opt_int(out, si.first_position);
	buf_puts(out, ",\"messageCount\":");
	json_out_int(out, si.message_count);
	buf_puts(out, ",\"deleted\":");
	buf_puts(out, deleted[si.deleted >= 0 && si.deleted <= 2 ? si.deleted : 0]);
	buf_puts(out, ",\"retention\":");
	if (si.max_age < 0 && si.max_count < 0)
		buf_puts(out, "null");
	else {
		buf_puts(out, "{\"maxAge\":");
		rpc_put_opt_int(out, si.max_age);
		buf_puts(out, ",\"maxCount\":");
		rpc_put_opt_int(out, si.max_count);
		buf_putc(out, '}');
	}
	buf_puts(out, ",\"lastActivity\":");
	if (si.last_activity_us >= 0)
		json_out_time(out, si.last_activity_us);
	else
		buf_puts(out, "null");
	buf_putc(out, '}');
}
