/*
 * sqlite_registry.c - namespaces: the registry rows and their files.
 *
 * Creating a namespace inserts its registry row and creates its file in one
 * registry transaction, so a failure leaves neither.  Deleting removes the
 * row first, then the file: a namespace is gone the moment its row is, and
 * other connections notice through PRAGMA data_version (store.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

enum evdb_status
sqlite_ns_token_hash(struct sqlite_conn *c, const char *ns,
    char hash[TOKEN_HASH_HEX_LEN + 1])
{
	struct ns_entry *e;
	enum evdb_status rs;

	if ((rs = sqlite_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	memcpy(hash, e->token_hash, TOKEN_HASH_HEX_LEN + 1);
	return EVDB_OK;
}

static enum evdb_status
registry_exec(struct sqlite_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->reg, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? EVDB_OK : sqlite_fail(c, c->reg, rc, sql);
}

static void
registry_unlink_files(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "-poke", "" };
	char tmp[4096];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(tmp, sizeof(tmp), "%s%s", path, suffixes[i]);
		(void)unlink(tmp);
	}
}

enum evdb_status
sqlite_ns_create(struct sqlite_conn *c, const char *ns, const char *token_hash,
    const char *description, const char *metadata, int64_t created_us)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	enum evdb_status rs;
	char *path = NULL;
	char err[512];
	int rc;

	if (!store_ns_name_valid(ns))
		return EVDB_ERR_INVALID;
	if ((rs = registry_exec(c, "BEGIN IMMEDIATE")) != EVDB_OK)
		return rs;
	if ((rs = sqlite_reg_stmt(c, REG_INSERT, &s)) != EVDB_OK)
		goto out;
	sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, description ? description : "", -1, SQLITE_STATIC);
	if (metadata != NULL)
		sqlite3_bind_text(s, 4, metadata, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, created_us);
	rc = sqlite3_step(s);
	sqlite_stmt_done(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		rs = EVDB_ERR_EXISTS;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rs = sqlite_fail(c, c->reg, rc, "insert namespace");
		goto out;
	}
	path = sqlite_ns_path(c->st, ns, sqlite3_last_insert_rowid(c->reg));
	/* A leftover file of a crashed create would hold stale data. */
	registry_unlink_files(path);
	if ((rs = sqlite_open_db(c->st, path, true, &db, err, sizeof(err))) != EVDB_OK ||
	    (rs = sqlite_schema_namespace(c->st, db, err, sizeof(err))) != EVDB_OK) {
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", err);
		log_error(c->st->log, "store: create namespace %s: %s", ns, err);
		goto out;
	}
	rs = registry_exec(c, "COMMIT");
out:
	sqlite_close_db(c->st, db);
	if (rs != EVDB_OK) {
		if (!sqlite3_get_autocommit(c->reg))
			(void)registry_exec(c, "ROLLBACK");
		if (path != NULL)
			registry_unlink_files(path);
	}
	free(path);
	return rs;
}

/* Reads the running totals of a namespace file into info. */
static enum evdb_status
registry_ns_stats(struct sqlite_conn *c, const char *ns,
    struct store_ns_info *info)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	info->message_count = 0;
	info->stream_count = 0;
	info->last_activity_us = -1;
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_STATS_GET, &s)) != EVDB_OK)
		return rs;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		info->message_count = sqlite3_column_int64(s, 0);
		info->stream_count = sqlite3_column_int64(s, 1);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			info->last_activity_us = sqlite3_column_int64(s, 2);
		rs = EVDB_OK;
	} else
		rs = sqlite_fail(c, h->db, rc, "namespace stats");
	sqlite_stmt_done(s);
	return rs;
}

enum evdb_status
sqlite_ns_delete(struct sqlite_conn *c, const char *ns, int64_t *messages_deleted)
{
	struct store_ns_info info;
	struct ns_entry *e;
	sqlite3_stmt *s;
	enum evdb_status rs;
	char *path;
	int rc;

	*messages_deleted = 0;
	if ((rs = sqlite_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	path = sqlite_ns_path(c->st, ns, e->generation);
	if ((rs = registry_ns_stats(c, ns, &info)) == EVDB_OK)
		*messages_deleted = info.message_count;
	sqlite_ns_forget(c, ns);
	if ((rs = sqlite_reg_stmt(c, REG_DELETE, &s)) != EVDB_OK)
		goto out;
	sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite_stmt_done(s);
	if (rc != SQLITE_DONE) {
		rs = sqlite_fail(c, c->reg, rc, "delete namespace");
		goto out;
	}
	if (sqlite3_changes(c->reg) == 0) {
		rs = EVDB_ERR_NOT_FOUND;	/* another process won the race */
		goto out;
	}
	registry_unlink_files(path);
	sqlite_write_queue_release(c->st, path);
	rs = EVDB_OK;
out:
	free(path);
	return rs;
}

/* What registry_each hands each row: the caller's callback, and a mark. */
struct registry_cb {
	struct sqlite_conn *c;		/* for the namespace's stats */
	store_ns_fn fn;
	void *ctx;
	bool *found;			/* set once a row was seen */
};

/* A row of REG_LIST/REG_GET, with the namespace's stats filled in. */
static enum evdb_status
registry_row(sqlite3_stmt *s, void *arg)
{
	struct registry_cb *cb = arg;
	struct store_ns_info info;
	enum evdb_status rs;
	char name[TOKEN_NS_MAX + 1];
	char *desc;

	*cb->found = true;
	snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(s, 0));
	desc = xstrdup((const char *)sqlite3_column_text(s, 2));
	info.name = name;
	info.description = desc;
	info.created_us = sqlite3_column_int64(s, 3);
	/* A namespace whose file cannot be read still lists, with zeros. */
	(void)registry_ns_stats(cb->c, name, &info);
	rs = cb->fn(cb->ctx, &info);
	free(desc);
	return rs;
}

/* Steps a REG_LIST/REG_GET statement, calling fn with stats filled in. */
static enum evdb_status
registry_each(struct sqlite_conn *c, sqlite3_stmt *s, store_ns_fn fn, void *ctx,
    bool *found)
{
	struct registry_cb cb = { c, fn, ctx, found };

	*found = false;
	return sqlite_step_rows(c, c->reg, s, -1, "list namespaces",
	    registry_row, &cb);
}

enum evdb_status
sqlite_ns_list(struct sqlite_conn *c, store_ns_fn fn, void *ctx)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	bool found;

	if ((rs = sqlite_reg_stmt(c, REG_LIST, &s)) != EVDB_OK)
		return rs;
	return registry_each(c, s, fn, ctx, &found);
}

enum evdb_status
sqlite_ns_get(struct sqlite_conn *c, const char *ns, store_ns_fn fn, void *ctx)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	bool found;

	if (!store_ns_name_valid(ns))
		return EVDB_ERR_NOT_FOUND;
	if ((rs = sqlite_reg_stmt(c, REG_GET, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
	rs = registry_each(c, s, fn, ctx, &found);
	if (rs == EVDB_OK && !found)
		return EVDB_ERR_NOT_FOUND;
	return rs;
}
