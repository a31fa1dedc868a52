/*
 * rpc_ns.c - the namespace and system methods: ns.create, ns.delete,
 * ns.list, ns.info, ns.streams, ns.categories, sys.version, sys.health.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "sse/hub.h"
#include "core/json_out.h"
#include "rpc/rpc_internal.h"
#include "core/timefmt.h"
#include "core/version.h"

#define RPC_NS_NAME_RULE "[A-Za-z0-9][A-Za-z0-9_-]{0,63}"

/* State of a listing that appends objects to a JSON array. */
struct rpc_list {
	struct buf *out;	/* response buffer */
	size_t count;		/* entries written so far */
};

/* Reads the namespace ID argument (index 0) into a C string. */
static bool
rpc_ns_arg(struct rpc_call *call, const char *usage, const char **ns)
{
	const char *s;
	size_t len;

	if (call->argc < 1)
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", usage);
	if (!rpc_arg_string(call, 0, true, "namespace ID must be a non-empty string",
	    &s, &len))
		return false;
	if (memchr(s, '\0', len) != NULL)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "namespace ID must match " RPC_NS_NAME_RULE);
	*ns = s;
	return true;
}

static void
rpc_put_time_or_null(struct buf *out, int64_t us)
{
	if (us < 0)
		buf_puts(out, "null");
	else
		json_out_time(out, us);
}

void
rpc_ns_create(struct rpc_call *call)
{
	struct json_object *opts, *meta = NULL;
	char token[TOKEN_MAX_LEN + 128], err[160], tns[TOKEN_NS_MAX + 1];
	char hash[TOKEN_HASH_HEX_LEN + 1];
	const char *ns, *desc = NULL, *given = NULL, *meta_text = NULL;
	size_t desc_len = 0, given_len = 0, meta_len = 0;
	enum evdb_status rs;
	bool present;
	int64_t now;

	if (!rpc_ns_arg(call, "ns.create requires at least 1 argument: namespace ID", &ns))
		return;
	if (!store_ns_name_valid(ns)) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "namespace ID must match " RPC_NS_NAME_RULE);
		return;
	}
	if (!rpc_arg_options(call, 1, NULL, &opts) ||
	    !rpc_opt_string(call, opts, "description",
	    "options.description must be a string", &present, &desc, &desc_len) ||
	    !rpc_opt_string(call, opts, "token", "options.token must be a string",
	    &present, &given, &given_len))
		return;
	if (opts != NULL && json_object_object_get_ex(opts, "metadata", &meta)) {
		if (meta == NULL || !json_object_is_type(meta, json_type_object)) {
			rpc_fail(call, RPC_INVALID_REQUEST, "options.metadata must be an object");
			return;
		}
		meta_text = rpc_json_text(meta, &meta_len);
	}
	if (desc != NULL && memchr(desc, '\0', desc_len) != NULL) {
		rpc_fail(call, RPC_INVALID_REQUEST, "options.description must not contain NUL");
		return;
	}
	if (given != NULL) {
		if (token_parse(given, given_len, tns, sizeof(tns), err, sizeof(err)) != EVDB_OK) {
			rpc_fail(call, RPC_INVALID_REQUEST, "Invalid token format: %s", err);
			return;
		}
		if (strcmp(tns, ns) != 0) {
			/* The token's namespace may be any bytes: name it only if valid. */
			if (store_ns_name_valid(tns))
				rpc_fail(call, RPC_INVALID_REQUEST,
				    "Token is for namespace '%s', not '%s'", tns, ns);
			else
				rpc_fail(call, RPC_INVALID_REQUEST,
				    "Token is for another namespace, not '%s'", ns);
			return;
		}
		/* A chosen secret must not be guessable (docs/security.md). */
		if (token_check_secret(given, given_len, err, sizeof(err)) != EVDB_OK) {
			rpc_fail(call, RPC_INVALID_REQUEST, "options.token is too weak: %s; "
			    "use 32 random bytes, or omit options.token to have one "
			    "generated", err);
			return;
		}
		snprintf(token, sizeof(token), "%.*s", (int)given_len, given);
	} else if ((rs = token_generate(ns, token, sizeof(token))) != EVDB_OK) {
		rpc_fail(call, RPC_INTERNAL_ERROR, "Failed to generate a token: %s",
		    evdb_strerror(rs));
		return;
	}
	token_hash(token, strlen(token), hash);
	now = timefmt_now_us();
	rs = store_ns_create(call->req->store, ns, hash, desc, meta_text, now);
	if (rs == EVDB_ERR_EXISTS) {
		rpc_fail(call, RPC_NAMESPACE_EXISTS, "Namespace '%s' already exists", ns);
		return;
	}
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "create namespace");
		return;
	}
	log_info(call->req->log, "req=%s namespace %s created", call->req->request_id, ns);
	buf_puts(call->out, "{\"createdAt\":");
	json_out_time(call->out, now);
	buf_puts(call->out, ",\"namespace\":");
	json_out_cstr(call->out, ns);
	buf_puts(call->out, ",\"token\":");
	json_out_cstr(call->out, token);
	buf_putc(call->out, '}');
}

void
rpc_ns_delete(struct rpc_call *call)
{
	const char *ns;
	enum evdb_status rs;
	int64_t deleted;

	if (!rpc_ns_arg(call, "ns.delete requires 1 argument: namespace ID", &ns))
		return;
	if (strcmp(ns, AUTH_ADMIN_NAMESPACE) == 0) {
		rpc_fail(call, RPC_INVALID_REQUEST,
		    "The default namespace holds the admin token and cannot be deleted");
		return;
	}
	rs = store_ns_delete(call->req->store, ns, &deleted);
	if (rs == EVDB_ERR_NOT_FOUND) {
		rpc_fail(call, RPC_NAMESPACE_NOT_FOUND, "Namespace '%s' not found", ns);
		return;
	}
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "delete namespace");
		return;
	}
	log_info(call->req->log, "req=%s namespace %s deleted (%lld messages)",
	    call->req->request_id, ns, (long long)deleted);
	buf_puts(call->out, "{\"deletedAt\":");
	json_out_time(call->out, timefmt_now_us());
	buf_puts(call->out, ",\"messagesDeleted\":");
	json_out_int(call->out, deleted);
	buf_puts(call->out, ",\"namespace\":");
	json_out_cstr(call->out, ns);
	buf_putc(call->out, '}');
}

static enum evdb_status
rpc_ns_list_add(void *ctx, const struct store_ns_info *ns)
{
	struct rpc_list *l = ctx;

	if (l->count++ > 0)
		buf_putc(l->out, ',');
	buf_puts(l->out, "{\"createdAt\":");
	json_out_time(l->out, ns->created_us);
	buf_puts(l->out, ",\"description\":");
	json_out_cstr(l->out, ns->description);
	buf_puts(l->out, ",\"lastActivity\":");
	rpc_put_time_or_null(l->out, ns->last_activity_us);
	buf_puts(l->out, ",\"messageCount\":");
	json_out_int(l->out, ns->message_count);
	buf_puts(l->out, ",\"namespace\":");
	json_out_cstr(l->out, ns->name);
	buf_puts(l->out, ",\"streamCount\":");
	json_out_int(l->out, ns->stream_count);
	buf_putc(l->out, '}');
	return EVDB_OK;
}

void
rpc_ns_list(struct rpc_call *call)
{
	struct rpc_list l = { call->out, 0 };
	enum evdb_status rs;

	buf_putc(call->out, '[');
	if ((rs = store_ns_list(call->req->store, rpc_ns_list_add, &l)) != EVDB_OK) {
		rpc_fail_store(call, rs, "list namespaces");
		return;
	}
	buf_putc(call->out, ']');
}

void
rpc_ns_info(struct rpc_call *call)
{
	struct rpc_list l = { call->out, 0 };
	const char *ns;
	enum evdb_status rs;

	if (!rpc_ns_arg(call, "ns.info requires 1 argument: namespace ID", &ns))
		return;
	/* CONTRACT.md point 2: the admin, or a namespace asking about itself. */
	if (!auth_is_admin(call->req) && strcmp(ns, call->req->ns) != 0) {
		rpc_fail(call, RPC_AUTH_UNAUTHORIZED,
		    "Token not authorized for namespace '%s'", ns);
		return;
	}
	rs = store_ns_get(call->req->store, ns, rpc_ns_list_add, &l);
	if (rs == EVDB_ERR_NOT_FOUND) {
		rpc_fail(call, RPC_NAMESPACE_NOT_FOUND, "Namespace '%s' not found", ns);
		return;
	}
	if (rs != EVDB_OK)
		rpc_fail_store(call, rs, "read namespace");
}

static enum evdb_status
rpc_ns_streams_add(void *ctx, const struct store_stream_info *s)
{
	struct rpc_list *l = ctx;

	if (l->count++ > 0)
		buf_putc(l->out, ',');
	buf_puts(l->out, "{\"lastActivity\":");
	json_out_time(l->out, s->last_activity_us);
	buf_puts(l->out, ",\"stream\":");
	json_out_string(l->out, s->name, s->name_len);
	buf_puts(l->out, ",\"version\":");
	json_out_int(l->out, s->version);
	buf_putc(l->out, '}');
	return EVDB_OK;
}

void
rpc_ns_streams(struct rpc_call *call)
{
	struct rpc_list l = { call->out, 0 };
	struct json_object *opts;
	const char *prefix = NULL, *cursor = NULL;
	size_t prefix_len = 0, cursor_len = 0;
	enum evdb_status rs;
	bool present;
	int64_t limit = 100;

	if (!rpc_arg_options(call, 0, NULL, &opts) ||
	    !rpc_opt_string(call, opts, "prefix", "prefix must be a string", &present,
	    &prefix, &prefix_len) ||
	    !rpc_opt_string(call, opts, "cursor", "cursor must be a string", &present,
	    &cursor, &cursor_len) ||
	    !rpc_opt_int(call, opts, "limit", "limit must be a number", &present, &limit))
		return;
	if (limit < 1 || limit > 1000) {
		rpc_fail(call, RPC_INVALID_REQUEST, "limit must be between 1 and 1000");
		return;
	}
	buf_putc(call->out, '[');
	rs = store_ns_streams(call->req->store, call->req->ns, prefix, prefix_len,
	    cursor, cursor_len, limit, rpc_ns_streams_add, &l);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "list streams");
		return;
	}
	buf_putc(call->out, ']');
}

static enum evdb_status
rpc_ns_categories_add(void *ctx, const struct store_category_info *c)
{
	struct rpc_list *l = ctx;

	if (l->count++ > 0)
		buf_putc(l->out, ',');
	buf_puts(l->out, "{\"category\":");
	json_out_string(l->out, c->name, c->name_len);
	buf_puts(l->out, ",\"messageCount\":");
	json_out_int(l->out, c->message_count);
	buf_puts(l->out, ",\"streamCount\":");
	json_out_int(l->out, c->stream_count);
	buf_putc(l->out, '}');
	return EVDB_OK;
}

void
rpc_ns_categories(struct rpc_call *call)
{
	struct rpc_list l = { call->out, 0 };
	enum evdb_status rs;

	buf_putc(call->out, '[');
	rs = store_ns_categories(call->req->store, call->req->ns,
	    rpc_ns_categories_add, &l);
	if (rs != EVDB_OK) {
		rpc_fail_store(call, rs, "list categories");
		return;
	}
	buf_putc(call->out, ']');
}

void
rpc_sys_version(struct rpc_call *call)
{
	json_out_cstr(call->out, EVDB_VERSION);
}

void
rpc_sys_health(struct rpc_call *call)
{
	const struct store *st = store_conn_store(call->req->store);
	struct store_pool_stats pool;
	char why[256];

	/* Not "ok" over a store that cannot open its files (as /health). */
	if (store_health(call->req->store, why, sizeof(why)) != EVDB_OK) {
		rpc_fail(call, RPC_BACKEND_ERROR, "%s", why);
		return;
	}
	buf_puts(call->out, "{\"backend\":");
	json_out_cstr(call->out, store_backend_name(st));
	buf_puts(call->out, ",\"connections\":");
	json_out_int(call->out, store_connection_count(st));
	if (store_pool_stats(st, &pool)) {
		buf_printf(call->out, ",\"pool\":{\"failures\":%lld,\"idle\":%lld,"
		    "\"inUse\":%lld,\"open\":%lld,\"reconnects\":%lld,"
		    "\"refused\":%lld,\"waits\":%lld}", (long long)pool.failures,
		    (long long)pool.idle, (long long)pool.in_use,
		    (long long)pool.open, (long long)pool.reconnects,
		    (long long)pool.refused, (long long)pool.waits);
	}
	buf_puts(call->out, ",\"status\":\"ok\",\"subscribers\":");
	json_out_int(call->out, hub_subscriber_count(call->req->hub));
	buf_puts(call->out, ",\"version\":");
	json_out_cstr(call->out, EVDB_VERSION);
	buf_putc(call->out, '}');
}
