/*
 * sqlite_backend.c - the SQLite backend's struct store_backend: the seam
 * between store.h and the sqlite_*.c files.
 *
 * The SQLite code works on its own types (struct sqlite_store, struct
 * sqlite_conn, sqlite_internal.h); each adaptor here turns the seam's base
 * pointer back into the SQLite object it heads (store_backend.h) and calls
 * the function of the same name.  This file holds no logic of its own.
 */
#include "config.h"

#include <string.h>

#include "store/sqlite/sqlite_internal.h"

static struct sqlite_conn *
sq_conn(struct store_conn *c)
{
	return (struct sqlite_conn *)c;
}

static const struct sqlite_conn *
sq_conn_c(const struct store_conn *c)
{
	return (const struct sqlite_conn *)c;
}

static struct sqlite_store *
sq_store(struct store *st)
{
	return (struct sqlite_store *)st;
}

static const struct sqlite_store *
sq_store_c(const struct store *st)
{
	return (const struct sqlite_store *)st;
}

/* "sqlite:DIR" was stripped to DIR by store_open; anything without a
 * PostgreSQL scheme or conninfo is taken as a directory. */
static bool
be_accepts(const char *location)
{
	return location != NULL && location[0] != '\0';
}

static enum evdb_status
be_open(const struct store_options *opt, struct store **out)
{
	struct sqlite_store *st = NULL;
	enum evdb_status rs = sqlite_open(opt, &st);

	*out = st != NULL ? &st->base : NULL;
	return rs;
}

static void
be_close(struct store *st)
{
	sqlite_close(sq_store(st));
}

static enum evdb_status
be_conn_open(struct store *st, struct store_conn **out)
{
	struct sqlite_conn *c = NULL;
	enum evdb_status rs = sqlite_conn_open(sq_store(st), &c);

	*out = c != NULL ? &c->base : NULL;
	return rs;
}

static void
be_conn_close(struct store_conn *c)
{
	sqlite_conn_close(sq_conn(c));
}

static void
be_conn_request_begin(struct store_conn *c)
{
	sqlite_conn_request_begin(sq_conn(c));
}

static void
be_conn_request_end(struct store_conn *c)
{
	sqlite_conn_request_end(sq_conn(c));
}

static const char *
be_conn_errmsg(const struct store_conn *c)
{
	return sqlite_conn_errmsg(sq_conn_c(c));
}

static int64_t
be_connection_count(const struct store *st)
{
	return sqlite_connection_count(sq_store_c(st));
}

static int64_t
be_checkpoint_count(const struct store *st)
{
	return sqlite_checkpoint_count(sq_store_c(st));
}

static enum evdb_status
be_ns_token_hash(
    struct store_conn *c, const char *ns, char hash[TOKEN_HASH_HEX_LEN + 1])
{
	return sqlite_ns_token_hash(sq_conn(c), ns, hash);
}

static enum evdb_status
be_ns_create(struct store_conn *c, const char *ns, const char *token_hash,
    const char *description, const char *metadata, int64_t created_us)
{
	return sqlite_ns_create(
	    sq_conn(c), ns, token_hash, description, metadata, created_us);
}

static enum evdb_status
be_ns_delete(struct store_conn *c, const char *ns, int64_t *messages_deleted)
{
	return sqlite_ns_delete(sq_conn(c), ns, messages_deleted);
}

static enum evdb_status
be_ns_list(struct store_conn *c, store_ns_fn fn, void *ctx)
{
	return sqlite_ns_list(sq_conn(c), fn, ctx);
}

static enum evdb_status
be_ns_get(struct store_conn *c, const char *ns, store_ns_fn fn, void *ctx)
{
	return sqlite_ns_get(sq_conn(c), ns, fn, ctx);
}

static enum evdb_status
be_ns_streams(struct store_conn *c, const char *ns, const char *prefix,
    size_t prefix_len, const char *cursor, size_t cursor_len, int64_t limit,
    store_stream_fn fn, void *ctx)
{
	return sqlite_ns_streams(sq_conn(c), ns, prefix, prefix_len, cursor,
	    cursor_len, limit, fn, ctx);
}

static enum evdb_status
be_ns_categories(
    struct store_conn *c, const char *ns, store_category_fn fn, void *ctx)
{
	return sqlite_ns_categories(sq_conn(c), ns, fn, ctx);
}

static enum evdb_status
be_write(struct store_conn *c, const char *ns, const struct store_message_in *m,
    struct store_write_result *r)
{
	return sqlite_write(sq_conn(c), ns, m, r);
}

static enum evdb_status
be_write_batch(struct store_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br)
{
	return sqlite_write_batch(sq_conn(c), ns, msgs, n, expect, n_expect, res,
	    br);
}

static enum evdb_status
be_read_stream(struct store_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	return sqlite_read_stream(sq_conn(c), ns, q, fn, ctx);
}

static enum evdb_status
be_read_last(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, const char *type, size_t type_len, store_message_fn fn,
    void *ctx)
{
	return sqlite_read_last(
	    sq_conn(c), ns, stream, stream_len, type, type_len, fn, ctx);
}

static enum evdb_status
be_stream_version(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, int64_t *version)
{
	return sqlite_stream_version(
	    sq_conn(c), ns, stream, stream_len, version);
}

static enum evdb_status
be_read_category(struct store_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx)
{
	return sqlite_read_category(sq_conn(c), ns, q, fn, ctx);
}

static enum evdb_status
be_import_clear(struct store_conn *c, const char *ns)
{
	return sqlite_import_clear(sq_conn(c), ns);
}

static enum evdb_status
be_import_batch(struct store_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out)
{
	return sqlite_import_batch(sq_conn(c), ns, recs, n, clear, out);
}

static enum evdb_status
be_import_finish(struct store_conn *c, const char *ns)
{
	return sqlite_import_finish(sq_conn(c), ns);
}

static enum evdb_status
be_head(struct store_conn *c, const char *ns, int64_t *gpos)
{
	return sqlite_head(sq_conn(c), ns, gpos);
}

static enum evdb_status
be_poke_range(struct store_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx)
{
	return sqlite_poke_range(sq_conn(c), ns, q, fn, ctx);
}

static enum evdb_status
be_poke_tail(struct store_conn *c, const char *ns, int64_t after_gpos,
    int64_t limit, store_poke_fn fn, void *ctx)
{
	return sqlite_poke_tail(sq_conn(c), ns, after_gpos, limit, fn, ctx);
}

static enum evdb_status
be_health(struct store_conn *c, char *why, size_t why_size)
{
	return sqlite_health(sq_conn(c), why, why_size);
}

static enum evdb_status
be_watch_open(struct store *st, struct store_watch **out)
{
	return sqlite_watch_open(sq_store(st), out);
}

static enum evdb_status
be_watch_add(
    struct store_watch *w, struct store_conn *c, const char *ns, int64_t *id)
{
	return sqlite_watch_add(w, sq_conn(c), ns, id);
}

static enum evdb_status
be_ns_summary(struct store_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals)
{
	return sqlite_ns_summary(sq_conn(c), ns, kind, limit, fn, ctx, totals);
}

static enum evdb_status
be_consumer_commit(struct store_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards)
{
	return sqlite_consumer_commit(sq_conn(c), ns, in, actual, backwards);
}

static enum evdb_status
be_consumer_get(struct store_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx)
{
	return sqlite_consumer_get(sq_conn(c), ns, key, fn, ctx);
}

static enum evdb_status
be_consumer_list(struct store_conn *c, const char *ns, int64_t limit,
    store_consumer_fn fn, void *ctx)
{
	return sqlite_consumer_list(sq_conn(c), ns, limit, fn, ctx);
}

static enum evdb_status
be_consumer_delete(struct store_conn *c, const char *ns, const char *name,
    size_t name_len, int64_t *deleted)
{
	return sqlite_consumer_delete(sq_conn(c), ns, name, name_len, deleted);
}

static enum evdb_status
be_consumer_namespaces(struct store_conn *c, store_name_fn fn, void *ctx)
{
	return sqlite_consumer_namespaces(sq_conn(c), fn, ctx);
}

static enum evdb_status
be_stream_delete(struct store_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted, int64_t *actual)
{
	return sqlite_stream_delete(sq_conn(c), ns, req, deleted, actual);
}

static enum evdb_status
be_set_retention(struct store_conn *c, const char *ns, bool category,
    const char *name, size_t name_len, const struct store_retention_change *r)
{
	return sqlite_set_retention(sq_conn(c), ns, category, name, name_len, r);
}

static enum evdb_status
be_stream_info(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, struct store_stream_state *out)
{
	return sqlite_stream_info(sq_conn(c), ns, stream, stream_len, out);
}

static enum evdb_status
be_lifecycle_list(struct store_conn *c, const char *ns, int64_t limit,
    store_lifecycle_fn fn, void *ctx)
{
	return sqlite_lifecycle_list(sq_conn(c), ns, limit, fn, ctx);
}

static enum evdb_status
be_retention_sweep(struct store_conn *c, const char *ns, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	enum evdb_status rs = sqlite_retention_sweep(sq_conn(c), ns, now_us,
	    batch, removed);

	/* A pass visits each namespace once: keep none of its files open. */
	sqlite_ns_forget(sq_conn(c), ns);
	return rs;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.accepts = be_accepts,
	.open = be_open,
	.close = be_close,
	.conn_open = be_conn_open,
	.conn_close = be_conn_close,
	.conn_request_begin = be_conn_request_begin,
	.conn_request_end = be_conn_request_end,
	.conn_errmsg = be_conn_errmsg,
	.connection_count = be_connection_count,
	.checkpoint_count = be_checkpoint_count,
	.health = be_health,
	.ns_token_hash = be_ns_token_hash,
	.ns_create = be_ns_create,
	.ns_delete = be_ns_delete,
	.ns_list = be_ns_list,
	.ns_get = be_ns_get,
	.ns_streams = be_ns_streams,
	.ns_categories = be_ns_categories,
	.write = be_write,
	.read_stream = be_read_stream,
	.read_last = be_read_last,
	.stream_version = be_stream_version,
	.read_category = be_read_category,
	.import_clear = be_import_clear,
	.import_batch = be_import_batch,
	.import_finish = be_import_finish,
	.head = be_head,
	.poke_range = be_poke_range,
	.poke_tail = be_poke_tail,
	.watch_open = be_watch_open,
	.watch_fd = sqlite_watch_fd,
	.watch_add = be_watch_add,
	.watch_remove = sqlite_watch_remove,
	.watch_read = sqlite_watch_read,
	.watch_close = sqlite_watch_close,
	.ns_summary = be_ns_summary,
	.write_batch = be_write_batch,
	.consumer_commit = be_consumer_commit,
	.consumer_get = be_consumer_get,
	.consumer_list = be_consumer_list,
	.consumer_delete = be_consumer_delete,
	.consumer_namespaces = be_consumer_namespaces,
	/* Files, no server: no pool (store_pool_stats answers false). */
	.pool_stats = NULL,
	.conn_unavailable_why = NULL,
	.stream_delete = be_stream_delete,
	.set_retention = be_set_retention,
	.stream_info = be_stream_info,
	.retention_sweep = be_retention_sweep,
	.lifecycle_list = be_lifecycle_list,
};
