/*
 * store.c - store.h's functions: pick a backend at store_open() and forward
 * every call to it through its struct store_backend (store_backend.h).
 *
 * This file is the only one above the backends that knows there is more
 * than one; it holds no storage logic.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_backend.h"
#include "core/xalloc.h"

/* The backend that location names, and the location as it hands it on
 * (NULL: the SQLite data directory of the options). */
static const struct store_backend *
store_pick(const char *location, const char **rest)
{
	*rest = NULL;
	if (location == NULL || location[0] == '\0')
		return &store_sqlite_backend;
	if (strncmp(location, "sqlite:", 7) == 0) {
		*rest = location + 7;
		return store_sqlite_backend.accepts(*rest) ? &store_sqlite_backend :
		    NULL;
	}
	if (store_postgres_backend.accepts(location)) {
		*rest = location;
		return &store_postgres_backend;
	}
	return NULL;
}

enum evdb_status
store_open(const struct store_options *opt, struct store **out)
{
	const struct store_backend *be;
	struct store_options o = *opt;
	const char *rest;

	*out = NULL;
	if ((be = store_pick(opt->location, &rest)) == NULL) {
		/* Never log the location itself: a conninfo may hold a password. */
		log_error(opt->log, "store: --store takes sqlite:DIR, a"
		    " postgresql:// URL or a libpq conninfo (key=value ...)");
		return EVDB_ERR_CONFIG;
	}
	o.location = rest;
	if (be == &store_sqlite_backend && rest != NULL)
		o.data_dir = rest;
	return be->open(&o, out);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->backend->close(st);
}

const char *
store_backend_name(const struct store *st)
{
	return st->backend->name;
}

enum evdb_status
store_conn_open(struct store *st, struct store_conn **out)
{
	return st->backend->conn_open(st, out);
}

void
store_conn_close(struct store_conn *c)
{
	if (c != NULL)
		c->backend->conn_close(c);
}

void
store_conn_request_begin(struct store_conn *c)
{
	if (c->backend->conn_request_begin != NULL)
		c->backend->conn_request_begin(c);
}

void
store_conn_request_end(struct store_conn *c)
{
	if (c->backend->conn_request_end != NULL)
		c->backend->conn_request_end(c);
}

const char *
store_conn_errmsg(const struct store_conn *c)
{
	return c->backend->conn_errmsg(c);
}

struct store *
store_conn_store(const struct store_conn *c)
{
	return c->store;
}

int64_t
store_checkpoint_count(const struct store *st)
{
	return st->backend->checkpoint_count != NULL ?
	    st->backend->checkpoint_count(st) : 0;
}

int64_t
store_connection_count(const struct store *st)
{
	return st->backend->connection_count(st);
}

enum evdb_status
store_health(struct store_conn *c, char *why, size_t why_size)
{
	if (why_size > 0)
		why[0] = '\0';
	return c->backend->health != NULL ?
	    c->backend->health(c, why, why_size) : EVDB_OK;
}

enum evdb_status
store_ns_token_hash(struct store_conn *c, const char *ns,
    char hash[TOKEN_HASH_HEX_LEN + 1])
{
	return c->backend->ns_token_hash(c, ns, hash);
}

bool
store_ns_refresh(struct store_conn *c, const char *ns)
{
	return c->backend->ns_refresh != NULL && c->backend->ns_refresh(c, ns);
}

enum evdb_status
store_ns_create(struct store_conn *c, const char *ns, const char *token_hash,
    const char *description, const char *metadata, int64_t created_us)
{
	return c->backend->ns_create(c, ns, token_hash, description, metadata,
	    created_us);
}

enum evdb_status
store_ns_delete(struct store_conn *c, const char *ns, int64_t *messages_deleted)
{
	return c->backend->ns_delete(c, ns, messages_deleted);
}

enum evdb_status
store_ns_list(struct store_conn *c, store_ns_fn fn, void *ctx)
{
	return c->backend->ns_list(c, fn, ctx);
}

enum evdb_status
store_ns_get(struct store_conn *c, const char *ns, store_ns_fn fn, void *ctx)
{
	return c->backend->ns_get(c, ns, fn, ctx);
}

enum evdb_status
store_ns_streams(struct store_conn *c, const char *ns, const char *prefix,
    size_t prefix_len, const char *cursor, size_t cursor_len, int64_t limit,
    store_stream_fn fn, void *ctx)
{
	return c->backend->ns_streams(c, ns, prefix, prefix_len, cursor,
	    cursor_len, limit, fn, ctx);
}

enum evdb_status
store_ns_categories(struct store_conn *c, const char *ns, store_category_fn fn,
    void *ctx)
{
	return c->backend->ns_categories(c, ns, fn, ctx);
}

enum evdb_status
store_write(struct store_conn *c, const char *ns,
    const struct store_message_in *m, struct store_write_result *r)
{
	return c->backend->write(c, ns, m, r);
}

enum evdb_status
store_read_stream(struct store_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	return c->backend->read_stream(c, ns, q, fn, ctx);
}

enum evdb_status
store_read_last(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, const char *type, size_t type_len, store_message_fn fn,
    void *ctx)
{
	return c->backend->read_last(c, ns, stream, stream_len, type, type_len,
	    fn, ctx);
}

enum evdb_status
store_stream_version(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, int64_t *version)
{
	return c->backend->stream_version(c, ns, stream, stream_len, version);
}

enum evdb_status
store_read_category(struct store_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx)
{
	return c->backend->read_category(c, ns, q, fn, ctx);
}

enum evdb_status
store_import_clear(struct store_conn *c, const char *ns)
{
	return c->backend->import_clear(c, ns);
}

enum evdb_status
store_import_batch(struct store_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out)
{
	return c->backend->import_batch(c, ns, recs, n, clear, out);
}

enum evdb_status
store_import_finish(struct store_conn *c, const char *ns)
{
	return c->backend->import_finish(c, ns);
}

enum evdb_status
store_head(struct store_conn *c, const char *ns, int64_t *gpos)
{
	return c->backend->head(c, ns, gpos);
}

enum evdb_status
store_poke_range(struct store_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx)
{
	return c->backend->poke_range(c, ns, q, fn, ctx);
}

enum evdb_status
store_poke_tail(struct store_conn *c, const char *ns, int64_t after_gpos,
    int64_t limit, store_poke_fn fn, void *ctx)
{
	return c->backend->poke_tail(c, ns, after_gpos, limit, fn, ctx);
}

enum evdb_status
store_watch_open(struct store *st, struct store_watch **out)
{
	*out = NULL;
	return st->backend->watch_open(st, out);
}

int
store_watch_fd(const struct store_watch *w)
{
	return w->backend->watch_fd(w);
}

enum evdb_status
store_watch_add(struct store_watch *w, struct store_conn *c, const char *ns,
    int64_t *id)
{
	return w->backend->watch_add(w, c, ns, id);
}

void
store_watch_remove(struct store_watch *w, int64_t id)
{
	w->backend->watch_remove(w, id);
}

enum evdb_status
store_watch_read(struct store_watch *w, store_watch_fn fn, void *ctx)
{
	return w->backend->watch_read(w, fn, ctx);
}

void
store_watch_close(struct store_watch *w)
{
	if (w != NULL)
		w->backend->watch_close(w);
}

enum evdb_status
store_ns_summary(struct store_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals)
{
	if (kind != STORE_SUMMARY_STREAMS && kind != STORE_SUMMARY_CATEGORIES &&
	    kind != STORE_SUMMARY_TYPES)
		return EVDB_ERR_INVALID;
	return c->backend->ns_summary(c, ns, kind, limit, fn, ctx, totals);
}

bool
store_expect_met(enum store_expect expect, int64_t expected_version,
    int64_t version)
{
	switch (expect) {
	case STORE_EXPECT_VERSION:
		return version == expected_version;
	case STORE_EXPECT_NO_STREAM:
		return version == -1;
	case STORE_EXPECT_EXISTS:
		return version >= 0;
	case STORE_EXPECT_ANY:
	default:
		return true;
	}
}

/* ---- batches (batch.write) ---- */

enum evdb_status
store_write_batch(struct store_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br)
{
	size_t first;

	memset(br, 0, sizeof(*br));
	if (n == 0)
		return EVDB_ERR_INVALID;
	/* Checked here, not in the backends: the contract's precondition. */
	if (!store_batch_ids_distinct(msgs, n, &first, &br->index))
		return EVDB_ERR_INVALID;
	return c->backend->write_batch(c, ns, msgs, n, expect, n_expect, res, br);
}

/* An entry's id and place, for sorting (store_batch_ids_distinct). */
struct store_batch_id {
	const char *id;
	size_t len;
	size_t index;
};

static int
store_batch_id_cmp(const void *a, const void *b)
{
	const struct store_batch_id *x = a, *y = b;
	size_t len = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->id, y->id, len);

	if (d != 0)
		return d;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

bool
store_batch_ids_distinct(const struct store_message_in *msgs, size_t n,
    size_t *first, size_t *second)
{
	struct store_batch_id *ids;
	size_t i, k = 0;
	bool distinct = true;

	ids = xcalloc(n > 0 ? n : 1, sizeof(*ids));
	for (i = 0; i < n; i++)
		if (msgs[i].id != NULL) {
			ids[k].id = msgs[i].id;
			ids[k].len = msgs[i].id_len;
			ids[k++].index = i;
		}
	/* O(n log n): a batch may be large (--batch-max). */
	qsort(ids, k, sizeof(*ids), store_batch_id_cmp);
	for (i = 1; i < k; i++) {
		if (ids[i].len != ids[i - 1].len ||
		    memcmp(ids[i].id, ids[i - 1].id, ids[i].len) != 0)
			continue;
		/* Equal ids sort by index: ids[i - 1] is the earlier entry. */
		if (distinct || ids[i].index < *second) {
			*first = ids[i - 1].index;
			*second = ids[i].index;
		}
		distinct = false;
	}
	free(ids);
	return distinct;
}

/* ---- consumer checkpoints ---- */

enum evdb_status
store_consumer_commit(struct store_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards)
{
	*actual = -1;
	*backwards = false;
	return c->backend->consumer_commit(c, ns, in, actual, backwards);
}

enum evdb_status
store_consumer_get(struct store_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx)
{
	return c->backend->consumer_get(c, ns, key, fn, ctx);
}

enum evdb_status
store_consumer_list(struct store_conn *c, const char *ns, int64_t limit,
    store_consumer_fn fn, void *ctx)
{
	return c->backend->consumer_list(c, ns, limit, fn, ctx);
}

enum evdb_status
store_consumer_delete(struct store_conn *c, const char *ns, const char *name,
    size_t name_len, int64_t *deleted)
{
	*deleted = 0;
	return c->backend->consumer_delete(c, ns, name, name_len, deleted);
}

enum evdb_status
store_consumer_namespaces(struct store_conn *c, store_name_fn fn, void *ctx)
{
	return c->backend->consumer_namespaces(c, fn, ctx);
}

/* ---- connection pool ---- */

bool
store_pool_stats(const struct store *st, struct store_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (st->backend->pool_stats == NULL)
		return false;
	st->backend->pool_stats(st, out);
	return true;
}

const char *
store_conn_unavailable_why(const struct store_conn *c)
{
	return c->backend->conn_unavailable_why != NULL ?
	    c->backend->conn_unavailable_why(c) : NULL;
}

/* ---- stream lifecycle ---------------------------------------------------- */

enum evdb_status
store_stream_delete(struct store_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted,
    int64_t *actual_version)
{
	*deleted = 0;
	*actual_version = -1;
	return c->backend->stream_delete(c, ns, req, deleted, actual_version);
}

enum evdb_status
store_set_retention(struct store_conn *c, const char *ns, bool category,
    const char *name, size_t name_len, const struct store_retention_change *r)
{
	return c->backend->set_retention(c, ns, category, name, name_len, r);
}

enum evdb_status
store_stream_info(struct store_conn *c, const char *ns, const char *stream,
    size_t stream_len, struct store_stream_state *out)
{
	memset(out, 0, sizeof(*out));
	out->version = out->first_position = out->max_age = out->max_count =
	    out->last_activity_us = -1;
	return c->backend->stream_info(c, ns, stream, stream_len, out);
}

enum evdb_status
store_retention_sweep(struct store_conn *c, const char *ns, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	*removed = 0;
	return c->backend->retention_sweep(c, ns, now_us, batch, removed);
}

/* ---- lifecycle listing --------------------------------------------------- */

/* The caller's callback, behind store_lifecycle_derive. */
struct store_lifecycle_ctx {
	store_lifecycle_fn fn;
	void *ctx;
};

/* Fills a stream row's version and deleted as the write path reads them:
 * the last position handed out is the stored head or the floor. */
static enum evdb_status
store_lifecycle_derive(void *ctx, const struct store_lifecycle_row *in)
{
	const struct store_lifecycle_ctx *lc = ctx;
	struct store_lifecycle_row r = *in;
	int64_t base;

	if (!r.category) {
		base = r.last_position > r.floor ? r.last_position : r.floor;
		r.version = r.hard || (r.soft_at >= 0 && base <= r.soft_at) ? -1 :
		    base;
		r.deleted = r.hard ? 2 : base >= 0 && r.version < 0 ? 1 : 0;
	}
	return lc->fn(lc->ctx, &r);
}

enum evdb_status
store_lifecycle_list(struct store_conn *c, const char *ns, int64_t limit,
    store_lifecycle_fn fn, void *ctx)
{
	struct store_lifecycle_ctx lc = { fn, ctx };

	return c->backend->lifecycle_list(c, ns, limit, store_lifecycle_derive,
	    &lc);
}
