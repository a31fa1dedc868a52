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

void
rpc_stream_write(struct rpc_call *call)
{
	struct json_object *opts;
	struct store_message_in in;
	struct store_write_result res;
	struct rpc_expected x;
	enum evdb_status rs;
	char idbuf[UUID_STR_LEN + 1];
	struct json_span msg_text;
	bool have_text;

	if (call->argc < 2) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "stream.write requires at least 2 arguments: streamName and message");
		return;
	}
	memset(&in, 0, sizeof(in));
	have_text = rpc_arg_text(call, 1, &msg_text);
	if (!rpc_arg_stream(call, 0, "streamName must be a non-empty string",
	    &in.stream, &in.stream_len) ||
	    !rpc_write_message(call, rpc_arg(call, 1),
	    have_text ? &msg_text : NULL, "message", &in) ||
	    !rpc_arg_options(call, 2, NULL, &opts) ||
	    !rpc_write_id(call, opts, "options", idbuf, &in) ||
	    !rpc_write_expected(call, opts, "options", &x))
		return;
	in.expect = x.expect;
	in.expected_version = x.version;

	rs = store_write(call->req->store, call->req->ns, &in, &res);
	switch (rs) {
	case EVDB_OK:
		if (!res.duplicate)
			metrics_writes(call->req->metrics, 1);
		break;
	case EVDB_ERR_VERSION_CONFLICT:
		metrics_conflict(call->req->metrics);
		rpc_write_version_conflict(call, in.stream, in.stream_len, &x,
		    res.actual_version, -1);
		return;
	case EVDB_ERR_ID_CONFLICT:
		rpc_write_id_conflict(call, &in, res.conflict != NULL ?
		    res.conflict : "stream", -1);
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

/* ---- evdb's read options: direction and types (EXTENSIONS.md section 4) -- */

/*
 * Option "direction" of stream.get: "forward" (the default) or
 * "backward" sets *backward.
 */
static bool
rpc_opt_direction(struct rpc_call *call, struct json_object *opts,
    bool *backward)
{
	struct json_object *o = NULL;
	const char *v;

	*backward = false;
	if (opts == NULL || !json_object_object_get_ex(opts, "direction", &o))
		return true;
	v = o != NULL && json_object_is_type(o, json_type_string) ?
	    json_object_get_string(o) : NULL;
	if (v != NULL && strcmp(v, "backward") == 0 &&
	    json_object_get_string_len(o) == 8)
		*backward = true;
	else if (v == NULL || strcmp(v, "forward") != 0 ||
	    json_object_get_string_len(o) != 7)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.direction must be \"forward\" or \"backward\"");
	return true;
}

/*
 * category.get reads forward only: an option "direction" other than
 * "forward" is refused rather than ignored, so that nobody takes a
 * forward page for a backward one.
 */
static bool
rpc_opt_forward_only(struct rpc_call *call, struct json_object *opts)
{
	struct json_object *o = NULL;

	if (opts == NULL || !json_object_object_get_ex(opts, "direction", &o))
		return true;
	if (o != NULL && json_object_is_type(o, json_type_string) &&
	    strcmp(json_object_get_string(o), "forward") == 0 &&
	    json_object_get_string_len(o) == 7)
		return true;
	return rpc_fail(call, RPC_INVALID_REQUEST, "options.direction of"
	    " category.get must be \"forward\": category reads go forward only");
}

/* A parsed "types" option: names point into the request's JSON. */
struct rpc_types {
	struct store_type v[STORE_TYPES_MAX];	/* distinct, in the order given */
	size_t n;				/* 0: no filter */
};

/*
 * Option "types" of stream.get and category.get: an array of 1 to
 * STORE_TYPES_MAX message types, each as message.type must be.  A name
 * given twice counts once.
 */
static bool
rpc_opt_types(struct rpc_call *call, struct json_object *opts,
    struct rpc_types *t)
{
	struct json_object *o = NULL, *e;
	const char *name;
	size_t i, j, n, len;

	t->n = 0;
	if (opts == NULL || !json_object_object_get_ex(opts, "types", &o))
		return true;
	if (o == NULL || !json_object_is_type(o, json_type_array))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.types must be an array of 1 to %d message types",
		    STORE_TYPES_MAX);
	n = json_object_array_length(o);
	if (n == 0 || n > STORE_TYPES_MAX)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.types must hold 1 to %d message types, not %zu",
		    STORE_TYPES_MAX, n);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(o, i);
		if (e == NULL || !json_object_is_type(e, json_type_string) ||
		    (len = (size_t)json_object_get_string_len(e)) == 0 ||
		    len > RPC_TYPE_MAX ||
		    memchr(json_object_get_string(e), '\0', len) != NULL)
			return rpc_fail(call, RPC_INVALID_REQUEST,
			    "options.types[%zu] must be a non-empty string of at most"
			    " %d bytes, without NUL", i, RPC_TYPE_MAX);
		name = json_object_get_string(e);
		for (j = 0; j < t->n; j++)
			if (t->v[j].len == len && memcmp(t->v[j].name, name, len) == 0)
				break;
		if (j == t->n) {
			t->v[t->n].name = name;
			t->v[t->n].len = len;
			t->n++;
		}
	}
	return true;
}

void
rpc_stream_get(struct rpc_call *call)
{
	struct store_stream_query q;
	struct rpc_rows rows;
	struct rpc_types types;
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
	    !rpc_opt_batch_size(call, opts, 1000, &q.limit) ||
	    !rpc_opt_direction(call, opts, &q.backward) ||
	    !rpc_opt_types(call, opts, &types) ||
	    !rpc_opt_wait(call, opts, STORE_POKE_STREAM, q.stream, q.stream_len))
		return;
	/* Backward without a position starts at the end of the stream. */
	if (q.backward && !present && !q.by_global)
		q.position = INT64_MAX;
	if (types.n > 0) {
		q.types = types.v;
		q.ntypes = types.n;
	}
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
	call->wait.empty = q.limit != 0 && rows.count == 0;	/* rpc_wait_hold */
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
	struct rpc_types types;
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
	    !rpc_consumer_group(call, opts, &q) ||
	    !rpc_opt_forward_only(call, opts) ||
	    !rpc_opt_types(call, opts, &types) ||
	    !rpc_opt_wait(call, opts, STORE_POKE_CATEGORY, q.category,
	    q.category_len))
		return;
	if (types.n > 0) {
		q.types = types.v;
		q.ntypes = types.n;
	}
	call->wait.group_member = q.group_member;
	call->wait.group_size = q.group_size;
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
	call->wait.empty = q.limit != 0 && rows.count == 0;	/* rpc_wait_hold */
}
