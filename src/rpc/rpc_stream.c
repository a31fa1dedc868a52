/*
 * rpc_stream.c - the message methods: stream.write, stream.get,
 * stream.last, stream.version and category.get.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/json_out.h"
#include "http/metrics.h"
#include "rpc/rpc_internal.h"
#include "core/streamname.h"
#include "core/uuid.h"

/* Longest message type accepted, in bytes. */
#define RPC_TYPE_MAX 1024

/*
 * State of a read that appends messages to a JSON array.  A read stops
 * early, as a short page, once its messages would pass max_bytes
 * (--max-response-bytes): the answer of one request never grows with the
 * size of what is stored.  The first message always goes in, so a client
 * paging from its last position makes progress whatever one message weighs.
 */
struct rpc_rows {
	struct buf *out;	/* response buffer */
	bool with_stream;	/* category shape: include the stream name */
	size_t count;		/* rows written so far */
	size_t start;		/* out->len where the first row goes */
	size_t max_bytes;	/* bytes of rows at most (0: no cap) */
	bool full;		/* the read stopped at max_bytes */
};

/* Starts rows for call's answer; with_stream selects the category shape. */
static void
rpc_rows_init(struct rpc_rows *rows, struct rpc_call *call, bool with_stream)
{
	const struct settings *s = call->req->settings;

	memset(rows, 0, sizeof(*rows));
	rows->out = call->out;
	rows->with_stream = with_stream;
	rows->start = call->out->len;
	rows->max_bytes = s != NULL && s->max_response_bytes > 0 ?
	    (size_t)s->max_response_bytes : 0;
}

/*
 * The status of a read that fed rows: a read stopped by the byte cap
 * (rpc_rows_add's EVDB_ERR_LIMIT) succeeded, with a short page.
 */
static enum evdb_status
rpc_rows_status(const struct rpc_rows *rows, enum evdb_status rs)
{
	return rs == EVDB_ERR_LIMIT && rows->full ? EVDB_OK : rs;
}

static void
rpc_put_message(struct buf *out, const struct store_message *m, bool with_stream)
{
	buf_putc(out, '[');
	json_out_string(out, m->id, m->id_len);
	buf_putc(out, ',');
	if (with_stream) {
		json_out_string(out, m->stream, m->stream_len);
		buf_putc(out, ',');
	}
	json_out_string(out, m->type, m->type_len);
	buf_putc(out, ',');
	json_out_int(out, m->position);
	buf_putc(out, ',');
	json_out_int(out, m->global_position);
	buf_putc(out, ',');
	if (m->data != NULL)
		json_out_raw(out, m->data, m->data_len);
	else
		buf_puts(out, "null");
	buf_putc(out, ',');
	if (m->metadata != NULL)
		json_out_raw(out, m->metadata, m->metadata_len);
	else
		buf_puts(out, "null");
	buf_putc(out, ',');
	json_out_time(out, m->time_us);
	buf_putc(out, ']');
}

/* Bytes m takes in an answer at least: its texts unescaped, no punctuation. */
static size_t
rpc_message_min_size(const struct store_message *m)
{
	return m->id_len + m->type_len + m->data_len + m->metadata_len;
}

static enum evdb_status
rpc_rows_add(void *ctx, const struct store_message *m)
{
	struct rpc_rows *rows = ctx;
	size_t mark = rows->out->len;

	/*
	 * Over the cap, this message opens the next page instead.  Checked
	 * first on the raw sizes (a lower bound of the JSON), so the buffer
	 * does not grow past the cap for a message that will not stay, then
	 * exactly once it is written (escapes can make it longer).
	 */
	if (rows->count > 0 && rows->max_bytes > 0 &&
	    mark - rows->start + rpc_message_min_size(m) > rows->max_bytes)
		goto full;
	if (rows->count > 0)
		buf_putc(rows->out, ',');
	rpc_put_message(rows->out, m, rows->with_stream);
	if (rows->count > 0 && rows->max_bytes > 0 &&
	    rows->out->len - rows->start > rows->max_bytes) {
		buf_truncate(rows->out, mark);
		goto full;
	}
	rows->count++;
	return EVDB_OK;
full:
	rows->full = true;
	return EVDB_ERR_LIMIT;
}

/*
 * Answers 409 MESSAGE_ID_CONFLICT: the id of in is stored with another
 * stream, type, data or metadata (res->conflict says which), so the write
 * is neither new nor a retry.  details name the id and the field.
 */
static void
rpc_write_id_conflict(struct rpc_call *call, const struct store_message_in *in,
    const struct store_write_result *res)
{
	const char *field = res->conflict != NULL ? res->conflict : "stream";
	char details[96];

	snprintf(details, sizeof(details), "{\"id\":\"%.*s\",\"field\":\"%s\"}",
	    (int)in->id_len, in->id, field);
	if (strcmp(field, "stream") == 0)
		rpc_fail_details(call, RPC_MESSAGE_ID_CONFLICT, details,
		    "Message id %.*s already exists in another stream",
		    (int)in->id_len, in->id);
	else
		rpc_fail_details(call, RPC_MESSAGE_ID_CONFLICT, details,
		    "Message id %.*s already exists with a different %s",
		    (int)in->id_len, in->id, field);
}

void
rpc_stream_write(struct rpc_call *call)
{
	struct json_object *msg, *opts, *type = NULL, *data = NULL, *meta = NULL;
	struct store_message_in in;
	struct store_write_result res;
	enum evdb_status rs;
	const char *id = NULL;
	size_t id_len = 0;
	bool present;
	char details[96], idbuf[UUID_STR_LEN + 1];

	if (call->argc < 2) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.write requires at least 2 arguments: streamName and message");
		return;
	}
	memset(&in, 0, sizeof(in));
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &in.stream, &in.stream_len))
		return;
	msg = rpc_arg(call, 1);
	if (msg == NULL || !json_object_is_type(msg, json_type_object)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "message must be an object");
		return;
	}
	if (!json_object_object_get_ex(msg, "type", &type) || type == NULL ||
	    !json_object_is_type(type, json_type_string) ||
	    json_object_get_string_len(type) == 0) {
		rpc_fail(call, RPC_INVALID_REQUEST, "message.type must be a non-empty string");
		return;
	}
	in.type = json_object_get_string(type);
	in.type_len = (size_t)json_object_get_string_len(type);
	if (in.type_len > RPC_TYPE_MAX || memchr(in.type, '\0', in.type_len) != NULL) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "message.type must be at most %d bytes, without NUL", RPC_TYPE_MAX);
		return;
	}
	if (!json_object_object_get_ex(msg, "data", &data) || data == NULL ||
	    !json_object_is_type(data, json_type_object)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "message.data must be an object");
		return;
	}
	/* CONTRACT.md point 6: an explicit null means "no metadata". */
	if (json_object_object_get_ex(msg, "metadata", &meta) && meta != NULL &&
	    !json_object_is_type(meta, json_type_object)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "message.metadata must be an object");
		return;
	}
	if (!rpc_arg_options(call, 2, NULL, &opts) ||
	    !rpc_opt_string(call, opts, "id", "options.id must be a string", &present,
	    &id, &id_len) ||
	    !rpc_opt_int(call, opts, "expectedVersion",
	    "options.expectedVersion must be a number", &in.has_expected_version,
	    &in.expected_version))
		return;
	if (present && id_len > 0) {
		/* One UUID is one id, however it is spelled (docs/api.md). */
		if (uuid_canonical(id, id_len, idbuf) != EVDB_OK) {
			rpc_fail(call, RPC_INVALID_REQUEST, "options.id must be a UUID: "
			    "8-4-4-4-12 hex digits, optionally in {} or after urn:uuid:, "
			    "or 32 hex digits");
			return;
		}
		in.id = idbuf;
		in.id_len = UUID_STR_LEN;
	}
	in.data = rpc_json_text(data, &in.data_len);
	if (meta != NULL)
		in.metadata = rpc_json_text(meta, &in.metadata_len);

	rs = store_write(call->req->store, call->req->ns, &in, &res);
	switch (rs) {
	case EVDB_OK:
		if (!res.duplicate)
			metrics_writes(call->req->metrics, 1);
		break;
	case EVDB_ERR_VERSION_CONFLICT:
		metrics_conflict(call->req->metrics);
		snprintf(details, sizeof(details), "{\"actual\":%lld,\"expected\":%lld}",
		    (long long)res.actual_version, (long long)in.expected_version);
		rpc_fail_details(call, RPC_STREAM_VERSION_CONFLICT, details,
		    "Expected version %lld, stream is at version %lld",
		    (long long)in.expected_version, (long long)res.actual_version);
		return;
	case EVDB_ERR_ID_CONFLICT:
		rpc_write_id_conflict(call, &in, &res);
		return;
	case EVDB_ERR_LIMIT:
		rpc_fail(call, RPC_STORAGE_FULL, "Failed to write message: the stream"
		    " or the namespace has reached the highest position (%lld)",
		    (long long)STORE_POSITION_MAX);
		return;
	default:
		rpc_fail_store(call, rs, "write message");
		return;
	}
	buf_puts(call->out, "{\"globalPosition\":");
	json_out_int(call->out, res.global_position);
	buf_puts(call->out, ",\"position\":");
	json_out_int(call->out, res.position);
	buf_putc(call->out, '}');
}

void
rpc_stream_get(struct rpc_call *call)
{
	struct store_stream_query q;
	struct rpc_rows rows;
	struct json_object *opts;
	enum evdb_status rs;
	bool present;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.get requires at least 1 argument: streamName");
		return;
	}
	memset(&q, 0, sizeof(q));
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &q.stream, &q.stream_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_opt_int(call, opts, "position", "options.position must be a number",
	    &present, &q.position) ||
	    !rpc_opt_int(call, opts, "globalPosition",
	    "options.globalPosition must be a number", &q.by_global,
	    &q.global_position) ||
	    !rpc_opt_batch_size(call, opts, 1000, &q.limit))
		return;
	metrics_read(call->req->metrics);
	buf_putc(call->out, '[');
	rpc_rows_init(&rows, call, false);
	if (q.limit != 0 && (rs = rpc_rows_status(&rows,
	    store_read_stream(call->req->store, call->req->ns, &q, rpc_rows_add,
	    &rows))) != EVDB_OK) {
		rpc_fail_store(call, rs, "read stream");
		return;
	}
	buf_putc(call->out, ']');
}

void
rpc_stream_last(struct rpc_call *call)
{
	struct rpc_rows rows;
	struct json_object *opts;
	const char *stream, *type = NULL;
	size_t stream_len, type_len = 0;
	enum evdb_status rs;
	bool present;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.last requires at least 1 argument: streamName");
		return;
	}
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &stream, &stream_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_opt_string(call, opts, "type", "options.type must be a string",
	    &present, &type, &type_len))
		return;
	if (type_len == 0)
		type = NULL;	/* "" means no filter */
	metrics_read(call->req->metrics);
	rpc_rows_init(&rows, call, false);	/* one row: the cap never applies */
	rs = store_read_last(call->req->store, call->req->ns, stream, stream_len,
	    type, type_len, rpc_rows_add, &rows);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "read stream");
		return;
	}
	if (rows.count == 0)
		buf_puts(call->out, "null");
}

void
rpc_stream_version(struct rpc_call *call)
{
	const char *stream;
	size_t stream_len;
	enum evdb_status rs;
	int64_t version;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.version requires 1 argument: streamName");
		return;
	}
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &stream, &stream_len))
		return;
	rs = store_stream_version(call->req->store, call->req->ns, stream, stream_len,
	    &version);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "read stream version");
		return;
	}
	if (version < 0)
		buf_puts(call->out, "null");
	else
		json_out_int(call->out, version);
}

/* Parses options.consumerGroup into q; the reference's checks, in its order. */
static bool
rpc_consumer_group(struct rpc_call *call, struct json_object *opts,
    struct store_category_query *q)
{
	struct json_object *g = NULL;
	bool has_member, has_size;
	int64_t member = 0, size = 0;

	if (opts == NULL || !json_object_object_get_ex(opts, "consumerGroup", &g))
		return true;
	if (g == NULL || !json_object_is_type(g, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.consumerGroup must be an object");
	if (!rpc_opt_int(call, g, "member", "options.consumerGroup.member must be a number",
	    &has_member, &member) ||
	    !rpc_opt_int(call, g, "size", "options.consumerGroup.size must be a number",
	    &has_size, &size))
		return false;
	if (has_member && has_size) {
		if (member < 0)
			return rpc_fail(call, RPC_INVALID_REQUEST,
			    "options.consumerGroup.member must be non-negative");
		if (size <= 0)
			return rpc_fail(call, RPC_INVALID_REQUEST,
			    "options.consumerGroup.size must be positive");
		if (member >= size)
			return rpc_fail(call, RPC_INVALID_REQUEST,
			    "options.consumerGroup.member must be < size");
		q->group_member = member;
		q->group_size = size;
	} else if (has_member || has_size)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.consumerGroup requires both member and size");
	return true;
}

/*
 * options.checkpoint of category.get: without a position, start after the
 * checkpoint of the read's consumer-group member (rpc_checkpoint.c).
 */
static bool
rpc_category_checkpoint(struct rpc_call *call, struct json_object *opts,
    struct store_category_query *q, bool explicit_start)
{
	return rpc_checkpoint_start(call, opts, q->group_member, q->group_size,
	    explicit_start, &q->global_position);
}

void
rpc_category_get(struct rpc_call *call)
{
	struct store_category_query q;
	struct rpc_rows rows;
	struct json_object *opts;
	enum evdb_status rs;
	bool present, has_global, has_position;
	int64_t position = 1, global = 0;
	const char *corr = NULL;
	size_t corr_len = 0;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "category.get requires at least 1 argument: categoryName");
		return;
	}
	memset(&q, 0, sizeof(q));
	if (!rpc_arg_string(call, 0, false, "categoryName must be a string",
	    &q.category, &q.category_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_opt_int(call, opts, "position", "options.position must be a number",
	    &has_position, &position) ||
	    !rpc_opt_int(call, opts, "globalPosition",
	    "options.globalPosition must be a number", &has_global, &global) ||
	    !rpc_opt_batch_size(call, opts, 1000, &q.limit) ||
	    !rpc_opt_string(call, opts, "correlation",
	    "options.correlation must be a string", &present, &corr, &corr_len) ||
	    !rpc_consumer_group(call, opts, &q))
		return;
	q.global_position = has_global ? global : position;
	if (!rpc_category_checkpoint(call, opts, &q, has_position || has_global))
		return;
	if (corr_len > 0) {
		q.correlation = corr;
		q.correlation_len = corr_len;
	}
	metrics_read(call->req->metrics);
	buf_putc(call->out, '[');
	rpc_rows_init(&rows, call, true);
	if (q.limit != 0 && (rs = rpc_rows_status(&rows,
	    store_read_category(call->req->store, call->req->ns, &q, rpc_rows_add,
	    &rows))) != EVDB_OK) {
		rpc_fail_store(call, rs, "read category");
		return;
	}
	buf_putc(call->out, ']');
}
