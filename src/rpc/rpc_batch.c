/*
 * rpc_batch.c - batch.write (EXTENSIONS.md section 2):
 *
 *	["batch.write", [ENTRY, ...], OPTIONS?]
 *	ENTRY   {"stream", "type", "data", "metadata"?, "id"?}
 *	OPTIONS {"expect": [{"stream", "expectedVersion"}, ...]}
 *
 * Several messages, across any streams, written all or nothing by
 * store_write_batch() as one unit of the group commit.  Each entry is
 * validated as stream.write validates its arguments (rpc_message.c); a bad
 * entry or expectation is 400 with details {"index"}.  The answer is a
 * list of {"globalPosition", "position"}, in entry order.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/json_out.h"
#include "http/metrics.h"
#include "rpc/rpc_internal.h"

/* What names entry or expectation i in messages: "entries[i]". */
static const char *
rpc_batch_what(char *buf, size_t size, const char *list, size_t i)
{
	snprintf(buf, size, "%s[%zu]", list, i);
	return buf;
}

/* Adds {"index": i} to the error just recorded (which has no details). */
static void
rpc_batch_index(struct rpc_call *call, size_t i)
{
	char details[48];

	if (!call->failed || call->details != NULL)
		return;
	snprintf(details, sizeof(details), "{\"index\":%zu}", i);
	call->details = arena_strndup(call->req->arena, details, strlen(details));
}

/*
 * Parses OPTIONS.expect into *expect (arena) and its expectations as given
 * into *given.  No options or no "expect" is no expectation.
 */
static bool
rpc_batch_expect(struct rpc_call *call, struct json_object *opts, size_t max,
    struct store_stream_expect **expect, struct rpc_expected **given, size_t *n)
{
	struct json_object *list = NULL, *item, *stream;
	char what[48];
	size_t i;

	*expect = NULL;
	*given = NULL;
	*n = 0;
	if (opts == NULL || !json_object_object_get_ex(opts, "expect", &list))
		return true;
	if (list == NULL || !json_object_is_type(list, json_type_array))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.expect must be an array");
	*n = json_object_array_length(list);
	if (*n > max)
		return rpc_fail(call, RPC_INVALID_REQUEST, "options.expect must hold"
		    " at most %zu expectations (--batch-max)", max);
	*expect = arena_alloc(call->req->arena, (*n > 0 ? *n : 1) * sizeof(**expect));
	*given = arena_alloc(call->req->arena, (*n > 0 ? *n : 1) * sizeof(**given));
	for (i = 0; i < *n; i++) {
		struct store_stream_expect *x = &(*expect)[i];

		memset(x, 0, sizeof(*x));
		item = json_object_array_get_idx(list, i);
		rpc_batch_what(what, sizeof(what), "options.expect", i);
		if (item == NULL || !json_object_is_type(item, json_type_object)) {
			rpc_fail(call, RPC_INVALID_REQUEST, "%s must be an object", what);
			goto bad;
		}
		stream = NULL;
		(void)json_object_object_get_ex(item, "stream", &stream);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ".stream");
		if (!rpc_write_stream(call, stream, what, &x->stream, &x->stream_len))
			goto bad;
		rpc_batch_what(what, sizeof(what), "options.expect", i);
		if (!rpc_write_expected(call, item, what, &(*given)[i]))
			goto bad;
		x->expect = (*given)[i].expect;
		x->expected_version = (*given)[i].version;
	}
	return true;
bad:
	rpc_batch_index(call, i);
	return false;
}

/* Validates entry i of the list into *in (its id into idbuf). */
static bool
rpc_batch_entry(struct rpc_call *call, struct json_object *e, size_t i,
    struct store_message_in *in, char idbuf[UUID_STR_LEN + 1])
{
	struct json_object *stream = NULL;
	char what[48], swhat[56];

	memset(in, 0, sizeof(*in));
	rpc_batch_what(what, sizeof(what), "entries", i);
	if (e == NULL || !json_object_is_type(e, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s must be an object", what);
	(void)json_object_object_get_ex(e, "stream", &stream);
	snprintf(swhat, sizeof(swhat), "%s.stream", what);
	if (!rpc_write_stream(call, stream, swhat, &in->stream, &in->stream_len) ||
	    !rpc_write_message(call, e, NULL, what, in) ||
	    !rpc_write_id(call, e, what, idbuf, in))
		return false;
	/* Not silently dropped: a batch's expectations are in options.expect. */
	if (json_object_object_get_ex(e, "expectedVersion", NULL))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s.expectedVersion is not"
		    " taken by batch.write: use options.expect", what);
	return true;
}

/* Answers a failed store_write_batch(). */
static void
rpc_batch_fail(struct rpc_call *call, enum evdb_status rs,
    const struct store_message_in *msgs, const struct store_stream_expect *expect,
    const struct rpc_expected *given, const struct store_batch_result *br)
{
	switch (rs) {
	case EVDB_ERR_VERSION_CONFLICT:
		metrics_conflict(call->req->metrics);
		rpc_write_version_conflict(call, expect[br->index].stream,
		    expect[br->index].stream_len, &given[br->index],
		    br->actual_version, (int64_t)br->index);
		return;
	case EVDB_ERR_ID_CONFLICT:
		rpc_write_id_conflict(call, &msgs[br->index], br->conflict,
		    (int64_t)br->index);
		return;
	case EVDB_ERR_LIMIT:
		rpc_fail(call, RPC_STORAGE_FULL, "Failed to write batch: a stream or"
		    " the namespace would pass the highest position (%lld)",
		    (long long)STORE_POSITION_MAX);
		return;
	case EVDB_ERR_INVALID:
	case EVDB_ERR_GONE:	/* entry br->index names a hard-deleted stream */
		rpc_fail_store(call, rs, "write batch");
		rpc_batch_index(call, br->index);
		return;
	default:
		rpc_fail_store(call, rs, "write batch");
		return;
	}
}

void
rpc_batch_write(struct rpc_call *call)
{
	const struct settings *s = call->req->settings;
	struct json_object *list, *opts;
	struct store_message_in *msgs;
	struct store_write_result *res;
	struct store_stream_expect *expect;
	struct store_batch_result br;
	struct rpc_expected *given;
	enum evdb_status rs;
	char (*ids)[UUID_STR_LEN + 1];
	size_t i, n, n_expect, max, first, second;

	max = s != NULL && s->batch_max > 0 ? (size_t)s->batch_max : 1000;
	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "batch.write requires at least 1 argument: a list of entries");
		return;
	}
	list = rpc_arg(call, 0);
	if (list == NULL || !json_object_is_type(list, json_type_array)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "entries must be an array");
		return;
	}
	n = json_object_array_length(list);
	if (n == 0) {
		rpc_fail(call, RPC_INVALID_REQUEST, "entries must not be empty");
		return;
	}
	if (n > max) {
		rpc_fail(call, RPC_INVALID_REQUEST, "entries must hold at most %zu"
		    " entries (--batch-max), not %zu", max, n);
		return;
	}
	if (!rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_batch_expect(call, opts, max, &expect, &given, &n_expect))
		return;
	msgs = arena_alloc(call->req->arena, n * sizeof(*msgs));
	res = arena_alloc(call->req->arena, n * sizeof(*res));
	ids = arena_alloc(call->req->arena, n * sizeof(*ids));
	for (i = 0; i < n; i++)
		if (!rpc_batch_entry(call, json_object_array_get_idx(list, i), i,
		    &msgs[i], ids[i])) {
			rpc_batch_index(call, i);
			return;
		}
	if (!store_batch_ids_distinct(msgs, n, &first, &second)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "entries[%zu].id repeats the id of"
		    " entries[%zu]", second, first);
		rpc_batch_index(call, second);
		return;
	}

	rs = store_write_batch(call->req->store, call->req->ns, msgs, n, expect,
	    n_expect, res, &br);
	if (rs != EVDB_OK) {
		rpc_batch_fail(call, rs, msgs, expect, given, &br);
		return;
	}
	if (!br.duplicate)
		metrics_writes(call->req->metrics, (int64_t)n);
	buf_putc(call->out, '[');
	for (i = 0; i < n; i++) {
		buf_puts(call->out, i > 0 ? ",{\"globalPosition\":" :
		    "{\"globalPosition\":");
		json_out_int(call->out, res[i].global_position);
		buf_puts(call->out, ",\"position\":");
		json_out_int(call->out, res[i].position);
		buf_putc(call->out, '}');
	}
	buf_putc(call->out, ']');
}
