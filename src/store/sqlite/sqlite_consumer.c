/*
 * sqlite_consumer.c - consumer checkpoints on SQLite: the table
 * consumer_checkpoints of the namespace file (sqlite_schema.c, migration
 * 1 -> 2), so that a backup or a copy of the file carries them.
 *
 * A commit runs on the calling thread's own connection to the file, in a
 * BEGIN IMMEDIATE transaction: the write lock is taken before the stored
 * position is read, so two conditional commits can never both see the
 * position they expect.  It does not go through the group commit of
 * messages (sqlite_write.c): a checkpoint is one small row, and the lock
 * is held for one lookup and one upsert.
 */
#include "config.h"

#include <string.h>

#include "store/sqlite/sqlite_internal.h"

/* Fills cp from a row (name, member, size, position, updated_us). */
static void
consumer_row(sqlite3_stmt *s, struct store_consumer_checkpoint *cp)
{
	cp->name = (const char *)sqlite3_column_text(s, 0);
	cp->name_len = (size_t)sqlite3_column_bytes(s, 0);
	cp->member = sqlite3_column_int64(s, 1);
	cp->size = sqlite3_column_int64(s, 2);
	cp->position = sqlite3_column_int64(s, 3);
	cp->updated_us = sqlite3_column_int64(s, 4);
}

static void
consumer_bind_key(sqlite3_stmt *s, const struct store_consumer_key *k)
{
	sqlite3_bind_text(s, 1, k->name, (int)k->name_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, k->size);
	sqlite3_bind_int64(s, 3, k->size > 0 ? k->member : 0);
}

/* The stored position of key (-1: none), inside the caller's transaction. */
static enum evdb_status
consumer_stored(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_consumer_key *key, int64_t *pos)
{
	struct store_consumer_checkpoint cp;
	enum evdb_status rs;
	sqlite3_stmt *s;
	int rc;

	*pos = -1;
	if ((rs = sqlite_ns_stmt(c, h, NS_CONSUMER_GET, &s)) != EVDB_OK)
		return rs;
	consumer_bind_key(s, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		consumer_row(s, &cp);
		*pos = cp.position;
	} else if (rc != SQLITE_DONE)
		rs = sqlite_fail(c, h->db, rc, "read checkpoint");
	sqlite_stmt_done(s);
	return rs;
}

enum evdb_status
sqlite_consumer_commit(struct sqlite_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards)
{
	struct ns_handle *h;
	enum evdb_status rs;
	sqlite3_stmt *s;
	int64_t n;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK)
		return rs;
	if ((rs = consumer_stored(c, h, &in->key, actual)) != EVDB_OK)
		goto fail;
	if (in->has_expected && *actual != in->expected) {
		rs = EVDB_ERR_VERSION_CONFLICT;
		goto fail;
	}
	if (!in->force && *actual > in->position) {
		*backwards = true;
		rs = EVDB_ERR_VERSION_CONFLICT;
		goto fail;
	}
	if (*actual < 0) {
		if ((rs = sqlite_ns_stmt(c, h, NS_CONSUMER_COUNT, &s)) != EVDB_OK ||
		    (rs = sqlite_step_int64(c, h->db, s, "count checkpoints", 0,
		    &n)) != EVDB_OK)
			goto fail;
		if (n >= STORE_CONSUMER_MAX) {
			rs = EVDB_ERR_LIMIT;
			goto fail;
		}
	}
	if ((rs = sqlite_ns_stmt(c, h, NS_CONSUMER_UPSERT, &s)) != EVDB_OK)
		goto fail;
	consumer_bind_key(s, &in->key);
	sqlite3_bind_int64(s, 4, in->position);
	sqlite3_bind_int64(s, 5, in->updated_us);
	rc = sqlite3_step(s);
	sqlite_stmt_done(s);
	if (rc != SQLITE_DONE) {
		rs = sqlite_fail(c, h->db, rc, "write checkpoint");
		goto fail;
	}
	if ((rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		goto fail;
	return EVDB_OK;
fail:
	sqlite_ns_rollback(c, h);
	return rs;
}

/* A checkpoint callback and its context, as sqlite_step_rows' arg. */
struct consumer_cb {
	store_consumer_fn fn;
	void *ctx;
};

static enum evdb_status
consumer_each(sqlite3_stmt *s, void *arg)
{
	struct consumer_cb *cb = arg;
	struct store_consumer_checkpoint cp;

	consumer_row(s, &cp);
	return cb->fn(cb->ctx, &cp);
}

/* Steps s, calling fn for each row; resets s. */
static enum evdb_status
consumer_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s,
    store_consumer_fn fn, void *ctx)
{
	struct consumer_cb cb = { fn, ctx };

	return sqlite_step_rows(c, db, s, -1, "read checkpoints", consumer_each,
	    &cb);
}

enum evdb_status
sqlite_consumer_get(struct sqlite_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx)
{
	struct ns_handle *h;
	enum evdb_status rs;
	sqlite3_stmt *s;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_CONSUMER_GET, &s)) != EVDB_OK)
		return rs;
	consumer_bind_key(s, key);
	return consumer_rows(c, h->db, s, fn, ctx);
}

enum evdb_status
sqlite_consumer_list(struct sqlite_conn *c, const char *ns, int64_t limit,
    store_consumer_fn fn, void *ctx)
{
	struct ns_handle *h;
	enum evdb_status rs;
	sqlite3_stmt *s;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_CONSUMER_LIST, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_int64(s, 1, limit);
	return consumer_rows(c, h->db, s, fn, ctx);
}

enum evdb_status
sqlite_consumer_delete(struct sqlite_conn *c, const char *ns, const char *name,
    size_t name_len, int64_t *deleted)
{
	struct ns_handle *h;
	enum evdb_status rs;
	sqlite3_stmt *s;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_CONSUMER_DELETE, &s)) != EVDB_OK)
		return rs;
	/* One statement in autocommit: SQLite takes the write lock for it. */
	sqlite3_bind_text(s, 1, name, (int)name_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite_stmt_done(s);
	if (rc != SQLITE_DONE)
		return sqlite_fail(c, h->db, rc, "delete checkpoints");
	*deleted = sqlite3_changes64(h->db);
	return EVDB_OK;
}

enum evdb_status
sqlite_consumer_namespaces(struct sqlite_conn *c, store_name_fn fn, void *ctx)
{
	enum evdb_status rs;
	sqlite3_stmt *s;
	int rc;

	/* The registry's listing, its first column only: no file is opened. */
	if ((rs = sqlite_reg_stmt(c, REG_LIST, &s)) != EVDB_OK)
		return rs;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((rs = fn(ctx, (const char *)sqlite3_column_text(s, 0))) != EVDB_OK)
			break;
	if (rs == EVDB_OK && rc != SQLITE_DONE)
		rs = sqlite_fail(c, c->reg, rc, "list namespaces");
	sqlite_stmt_done(s);
	return rs;
}
