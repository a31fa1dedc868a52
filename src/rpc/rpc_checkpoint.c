/*
 * rpc_checkpoint.c - consumer checkpoints kept by the server
 * (EXTENSIONS.md section 6, docs/api.md section 6.15): checkpoint.commit,
 * checkpoint.get, checkpoint.list and checkpoint.delete, and the
 * "checkpoint" option of category.get (rpc_checkpoint_start).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/json_out.h"
#include "core/timefmt.h"
#include "rpc/rpc_internal.h"
#include "store/store.h"

#define RPC_NAME_RULE "1 to 200 bytes of [A-Za-z0-9:._-]"

/* Argument i as a checkpoint name. */
static bool
rpc_checkpoint_name(struct rpc_call *call, size_t i, const char **s,
    size_t *len)
{
	if (!rpc_arg_string(call, i, true, "name must be a string of "
	    RPC_NAME_RULE, s, len))
		return false;
	if (!store_consumer_name_valid(*s, *len))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "name must be " RPC_NAME_RULE);
	return true;
}

/*
 * options.member and options.size into key (size 0: no group), with the
 * checks and the order of category.get's consumerGroup.
 */
static bool
rpc_checkpoint_member(struct rpc_call *call, struct json_object *opts,
    struct store_consumer_key *key)
{
	bool has_member, has_size;
	int64_t member = 0, size = 0;

	if (!rpc_opt_int(call, opts, "member", "options.member must be a number",
	    &has_member, &member) ||
	    !rpc_opt_int(call, opts, "size", "options.size must be a number",
	    &has_size, &size))
		return false;
	if (has_member != has_size)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options requires both member and size, or neither");
	if (!has_member)
		return true;
	if (member < 0)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.member must be non-negative");
	if (size <= 0)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.size must be positive");
	if (member >= size)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.member must be < size");
	key->member = member;
	key->size = size;
	return true;
}

static void
rpc_put_checkpoint_value(struct buf *out, int64_t position, int64_t updated_us)
{
	buf_puts(out, "{\"position\":");
	json_out_int(out, position);
	buf_puts(out, ",\"updatedAt\":");
	json_out_time(out, updated_us);
	buf_putc(out, '}');
}

void
rpc_checkpoint_commit(struct rpc_call *call)
{
	struct store_consumer_commit in;
	struct json_object *opts, *force = NULL;
	enum evdb_status rs;
	int64_t actual;
	bool backwards;
	char details[96];

	if (call->argc < 2) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "checkpoint.commit requires at least 2 arguments: name and position");
		return;
	}
	memset(&in, 0, sizeof(in));
	if (!rpc_checkpoint_name(call, 0, &in.key.name, &in.key.name_len) ||
	    !rpc_arg_int(call, 1, "position must be a number", &in.position))
		return;
	if (in.position < 0 || in.position > STORE_POSITION_MAX) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "position must be from 0 to %lld", (long long)STORE_POSITION_MAX);
		return;
	}
	if (!rpc_arg_options(call, 2, NULL, &opts) ||
	    !rpc_checkpoint_member(call, opts, &in.key) ||
	    !rpc_opt_int(call, opts, "expectedPosition",
	    "options.expectedPosition must be a number", &in.has_expected,
	    &in.expected))
		return;
	if (in.has_expected && (in.expected < -1 ||
	    in.expected > STORE_POSITION_MAX)) {
		rpc_fail(call, RPC_INVALID_REQUEST, "options.expectedPosition must be"
		    " -1 (no checkpoint yet) or from 0 to %lld",
		    (long long)STORE_POSITION_MAX);
		return;
	}
	if (opts != NULL && json_object_object_get_ex(opts, "force", &force)) {
		if (force == NULL || !json_object_is_type(force, json_type_boolean)) {
			rpc_fail(call, RPC_INVALID_REQUEST,
			    "options.force must be a boolean");
			return;
		}
		in.force = json_object_get_boolean(force);
	}
	in.updated_us = timefmt_now_us();
	rs = store_consumer_commit(call->req->store, call->req->ns, &in, &actual,
	    &backwards);
	switch (rs) {
	case EVDB_OK:
		rpc_put_checkpoint_value(call->out, in.position, in.updated_us);
		return;
	case EVDB_ERR_VERSION_CONFLICT:
		if (backwards) {
			snprintf(details, sizeof(details),
			    "{\"actual\":%lld,\"position\":%lld}", (long long)actual,
			    (long long)in.position);
			rpc_fail_details(call, RPC_POSITION_CONFLICT, details,
			    "Checkpoint is at %lld: committing %lld would move it"
			    " backwards (\"force\": true allows it)", (long long)actual,
			    (long long)in.position);
		} else {
			snprintf(details, sizeof(details),
			    "{\"actual\":%lld,\"expected\":%lld}", (long long)actual,
			    (long long)in.expected);
			rpc_fail_details(call, RPC_POSITION_CONFLICT, details,
			    "Expected checkpoint position %lld, checkpoint is at %lld",
			    (long long)in.expected, (long long)actual);
		}
		return;
	case EVDB_ERR_LIMIT:
		rpc_fail(call, RPC_STORAGE_FULL, "Failed to commit checkpoint: the"
		    " namespace holds %d checkpoints, the most it may; delete some",
		    STORE_CONSUMER_MAX);
		return;
	default:
		rpc_fail_store(call, rs, "commit checkpoint");
		return;
	}
}

/* What store_consumer_get() found. */
struct rpc_checkpoint_found {
	bool found;			/* the checkpoint exists */
	int64_t position;
	int64_t updated_us;
};

/* store_consumer_fn of checkpoint.get and rpc_checkpoint_start. */
static enum evdb_status
rpc_checkpoint_found(void *ctx, const struct store_consumer_checkpoint *cp)
{
	struct rpc_checkpoint_found *out = ctx;

	out->found = true;
	out->position = cp->position;
	out->updated_us = cp->updated_us;
	return EVDB_OK;
}

void
rpc_checkpoint_get(struct rpc_call *call)
{
	struct store_consumer_key key;
	struct rpc_checkpoint_found found;
	struct json_object *opts;
	enum evdb_status rs;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "checkpoint.get requires at least 1 argument: name");
		return;
	}
	memset(&key, 0, sizeof(key));
	memset(&found, 0, sizeof(found));
	if (!rpc_checkpoint_name(call, 0, &key.name, &key.name_len) ||
	    !rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_checkpoint_member(call, opts, &key))
		return;
	rs = store_consumer_get(call->req->store, call->req->ns, &key,
	    rpc_checkpoint_found, &found);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "read checkpoint");
		return;
	}
	if (!found.found)
		buf_puts(call->out, "null");
	else
		rpc_put_checkpoint_value(call->out, found.position, found.updated_us);
}

/* State of checkpoint.list's answer. */
struct rpc_checkpoint_rows {
	struct buf *out;		/* the answer */
	size_t count;			/* entries written */
};

static enum evdb_status
rpc_checkpoint_row(void *ctx, const struct store_consumer_checkpoint *cp)
{
	struct rpc_checkpoint_rows *rows = ctx;
	struct buf *out = rows->out;

	if (rows->count++ > 0)
		buf_putc(out, ',');
	buf_puts(out, "{\"name\":");
	json_out_string(out, cp->name, cp->name_len);
	if (cp->size > 0) {
		buf_puts(out, ",\"member\":");
		json_out_int(out, cp->member);
		buf_puts(out, ",\"size\":");
		json_out_int(out, cp->size);
	} else
		buf_puts(out, ",\"member\":null,\"size\":null");
	buf_puts(out, ",\"position\":");
	json_out_int(out, cp->position);
	buf_puts(out, ",\"updatedAt\":");
	json_out_time(out, cp->updated_us);
	buf_putc(out, '}');
	return EVDB_OK;
}

void
rpc_checkpoint_list(struct rpc_call *call)
{
	struct rpc_checkpoint_rows rows = { call->out, 0 };
	enum evdb_status rs;

	buf_putc(call->out, '[');
	/* At most STORE_CONSUMER_MAX rows: the answer is bounded. */
	rs = store_consumer_list(call->req->store, call->req->ns, -1,
	    rpc_checkpoint_row, &rows);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "list checkpoints");
		return;
	}
	buf_putc(call->out, ']');
}

void
rpc_checkpoint_delete(struct rpc_call *call)
{
	const char *name;
	size_t len;
	enum evdb_status rs;
	int64_t deleted;

	if (call->argc < 1) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "checkpoint.delete requires 1 argument: name");
		return;
	}
	if (!rpc_checkpoint_name(call, 0, &name, &len))
		return;
	rs = store_consumer_delete(call->req->store, call->req->ns, name, len,
	    &deleted);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "delete checkpoints");
		return;
	}
	buf_puts(call->out, "{\"deleted\":");
	json_out_int(call->out, deleted);
	buf_putc(call->out, '}');
}

bool
rpc_checkpoint_start(struct rpc_call *call, struct json_object *opts,
    int64_t member, int64_t size, bool explicit_start, int64_t *start)
{
	struct store_consumer_key key;
	struct rpc_checkpoint_found found;
	enum evdb_status rs;
	bool present;

	memset(&key, 0, sizeof(key));
	memset(&found, 0, sizeof(found));
	if (!rpc_opt_string(call, opts, "checkpoint",
	    "options.checkpoint must be a string", &present, &key.name,
	    &key.name_len))
		return false;
	if (!present)
		return true;
	if (!store_consumer_name_valid(key.name, key.name_len))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "options.checkpoint must be " RPC_NAME_RULE);
	if (explicit_start)
		return true;	/* a position given wins */
	key.member = size > 0 ? member : 0;
	key.size = size > 0 ? size : 0;
	rs = store_consumer_get(call->req->store, call->req->ns, &key,
	    rpc_checkpoint_found, &found);
	if (rs != EVDB_OK)
		return rpc_fail_store(call, rs, "read checkpoint");
	/* No checkpoint yet: from the beginning. */
	*start = found.found ? found.position + 1 : 1;
	return true;
}
