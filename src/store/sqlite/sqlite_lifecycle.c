/*
 * sqlite_lifecycle.c - stream.delete, stream.truncate, retention settings,
 * stream.info and the retention sweep, on a namespace file (store.h,
 * "stream lifecycle").
 *
 * Deleted rows leave the messages table; what must outlive them is in
 * stream_state (one row per stream that was deleted, truncated or given a
 * retention) and category_retention (sqlite_schema.c, migration 1 -> 2).
 * Every change runs in one BEGIN IMMEDIATE transaction on the handle's
 * connection, which also:
 *   - raises stream_state.floor to the stream's last position, so that
 *     the next write continues after it (NS_STREAM_VERSION);
 *   - raises stats.deleted_head to the namespace's head, so that a
 *     deleted head's global position is never handed out again (NS_INSERT);
 *   - keeps stats' message and stream counts (ns.info, ns.list) true.
 * The sweep deletes at most `batch` rows per transaction, so that a
 * writer waits behind it a few milliseconds at most, then runs
 * incremental_vacuum in small steps outside any transaction.
 *
 * Statements here are prepared per call: none of this is on the hot path.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/streamname.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* Pages given back per incremental_vacuum step (4 KiB pages: 1 MiB). */
#define LC_VACUUM_STEP 256

/* The stream's state before a change, from NS_STREAM_VERSION. */
struct lc_version {
	int64_t base;		/* last position handed out, -1: none */
	int64_t visible;	/* as readers see it */
	bool hard;		/* tombstoned */
	bool empty;		/* no message stored */
};

static enum evdb_status
lc_prepare(struct sqlite_conn *c, struct ns_handle *h, const char *sql,
    sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? EVDB_OK :
	    sqlite_fail(c, h->db, rc, "prepare lifecycle statement");
}

/* Steps a statement that returns no row, and finalizes it. */
static enum evdb_status
lc_done(struct sqlite_conn *c, struct ns_handle *h, sqlite3_stmt *s,
    const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? EVDB_OK : sqlite_fail(c, h->db, rc, what);
}

static enum evdb_status
lc_version(struct sqlite_conn *c, struct ns_handle *h, const char *stream,
    size_t stream_len, struct lc_version *v)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_stmt(c, h, NS_STREAM_VERSION, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v->base = sqlite3_column_int64(s, 0);
		v->visible = sqlite3_column_int64(s, 1);
		v->hard = sqlite3_column_int64(s, 2) != 0;
		v->empty = sqlite3_column_int64(s, 3) != 0;
	} else
		rs = sqlite_fail(c, h->db, rc, "stream version");
	sqlite_stmt_done(s);
	return rs;
}

/*
 * Deletes, inside the open transaction, the messages of stream at
 * positions below `before` (INT64_MAX: all) and, when age_us >= 0, those
 * older than age_us, at most limit rows (-1: no limit).  Raises the
 * stream's floor and the namespace's deleted head first, then fixes the
 * totals.  *n receives the rows deleted.
 */
static enum evdb_status
lc_delete_rows(struct sqlite_conn *c, struct ns_handle *h, const char *stream,
    size_t stream_len, int64_t before, int64_t age_us, int64_t limit,
    int64_t *n)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	struct lc_version v;
	int64_t left, head;

	*n = 0;
	if ((rs = lc_version(c, h, stream, stream_len, &v)) != EVDB_OK)
		return rs;
	if (v.empty)
		return EVDB_OK;
	if ((rs = sqlite_ns_stmt(c, h, NS_HEAD, &s)) != EVDB_OK ||
	    (rs = sqlite_step_int64(c, h->db, s, "head", 0, &head)) != EVDB_OK)
		return rs;
	if ((rs = lc_prepare(c, h, "DELETE FROM messages WHERE global_position IN"
	    " (SELECT global_position FROM messages WHERE stream_name = ?1"
	    "  AND (position < ?2 OR time_us < ?3) ORDER BY position LIMIT ?4)",
	    &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, before);
	sqlite3_bind_int64(s, 3, age_us >= 0 ? age_us : INT64_MIN);
	sqlite3_bind_int64(s, 4, limit);
	if ((rs = lc_done(c, h, s, "delete messages")) != EVDB_OK)
		return rs;
	*n = sqlite3_changes64(h->db);
	if (*n == 0)
		return EVDB_OK;
	if ((rs = lc_prepare(c, h, "UPDATE stats SET deleted_head ="
	    " max(deleted_head, ?1) WHERE id = 1", &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_int64(s, 1, head);
	if ((rs = lc_done(c, h, s, "keep the head")) != EVDB_OK)
		return rs;
	if ((rs = lc_prepare(c, h, "INSERT INTO stream_state(stream_name, floor,"
	    " changed_us) VALUES(?1, ?2, ?3) ON CONFLICT(stream_name) DO UPDATE SET"
	    " floor = max(floor, excluded.floor), changed_us = excluded.changed_us",
	    &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v.base);
	sqlite3_bind_int64(s, 3, timefmt_now_us());
	if ((rs = lc_done(c, h, s, "keep the stream's version")) != EVDB_OK)
		return rs;
	if ((rs = lc_prepare(c, h, "SELECT count(*) FROM messages WHERE"
	    " stream_name = ?1", &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	rs = sqlite_step_int64(c, h->db, s, "count stream", 0, &left);
	sqlite3_finalize(s);
	if (rs != EVDB_OK)
		return rs;
	if ((rs = lc_prepare(c, h, "UPDATE stats SET message_count ="
	    " message_count - ?1, stream_count = stream_count - ?2 WHERE id = 1",
	    &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_int64(s, 1, *n);
	sqlite3_bind_int64(s, 2, left == 0 ? 1 : 0);
	return lc_done(c, h, s, "update stats");
}

enum evdb_status
sqlite_stream_delete(struct sqlite_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted, int64_t *actual)
{
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	struct lc_version v;

	*deleted = 0;
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	c->errmsg[0] = '\0';
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK ||
	    (rs = lc_version(c, h, req->stream, req->stream_len, &v)) != EVDB_OK)
		goto out;
	if (v.hard) {
		/* Erasing a tombstone again is a no-op; anything else is refused. */
		rs = req->kind == STORE_DELETE_HARD ? EVDB_OK : EVDB_ERR_GONE;
		goto out;
	}
	if (req->kind != STORE_DELETE_TRUNCATE &&
	    !store_expect_met(req->expect, req->expected_version, v.visible)) {
		*actual = v.visible;
		rs = EVDB_ERR_VERSION_CONFLICT;
		goto out;
	}
	if ((rs = lc_delete_rows(c, h, req->stream, req->stream_len,
	    req->kind == STORE_DELETE_TRUNCATE ? req->before : INT64_MAX, -1, -1,
	    deleted)) != EVDB_OK)
		goto out;
	if (req->kind != STORE_DELETE_TRUNCATE) {
		if ((rs = lc_prepare(c, h, "INSERT INTO stream_state(stream_name,"
		    " floor, soft_at, hard, changed_us) VALUES(?1, ?2, ?2, ?3, ?4)"
		    " ON CONFLICT(stream_name) DO UPDATE SET"
		    " floor = max(floor, excluded.floor), soft_at = excluded.soft_at,"
		    " hard = excluded.hard, changed_us = excluded.changed_us",
		    &s)) != EVDB_OK)
			goto out;
		sqlite3_bind_text(s, 1, req->stream, (int)req->stream_len,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, v.base);
		sqlite3_bind_int(s, 3, req->kind == STORE_DELETE_HARD);
		sqlite3_bind_int64(s, 4, timefmt_now_us());
		if ((rs = lc_done(c, h, s, "mark stream deleted")) != EVDB_OK)
			goto out;
	}
	rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit");
out:
	if (rs != EVDB_OK || !sqlite3_get_autocommit(h->db))
		sqlite_ns_rollback(c, h);
	return rs;
}

enum evdb_status
sqlite_set_retention(struct sqlite_conn *c, const char *ns, bool category,
    const char *name, size_t name_len, const struct store_retention_change *r)
{
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	struct lc_version v;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	c->errmsg[0] = '\0';
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK)
		goto out;
	if (!category) {
		if ((rs = lc_version(c, h, name, name_len, &v)) != EVDB_OK)
			goto out;
		if (v.hard) {
			rs = EVDB_ERR_GONE;
			goto out;
		}
		rs = lc_prepare(c, h, "INSERT INTO stream_state(stream_name,"
		    " max_age, max_count, changed_us) VALUES(?1,"
		    " CASE WHEN ?2 >= 0 THEN ?2 END, CASE WHEN ?4 >= 0 THEN ?4 END, ?6)"
		    " ON CONFLICT(stream_name) DO UPDATE SET"
		    " max_age = CASE WHEN ?3 THEN excluded.max_age ELSE max_age END,"
		    " max_count = CASE WHEN ?5 THEN excluded.max_count ELSE max_count END,"
		    " changed_us = ?6", &s);
	} else
		rs = lc_prepare(c, h, "INSERT INTO category_retention(category,"
		    " max_age, max_count) VALUES(?1,"
		    " CASE WHEN ?2 >= 0 THEN ?2 END, CASE WHEN ?4 >= 0 THEN ?4 END)"
		    " ON CONFLICT(category) DO UPDATE SET"
		    " max_age = CASE WHEN ?3 THEN excluded.max_age ELSE max_age END,"
		    " max_count = CASE WHEN ?5 THEN excluded.max_count ELSE max_count END",
		    &s);
	if (rs != EVDB_OK)
		goto out;
	sqlite3_bind_text(s, 1, name, (int)name_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->set_max_age ? r->max_age : -1);
	sqlite3_bind_int(s, 3, r->set_max_age);
	sqlite3_bind_int64(s, 4, r->set_max_count ? r->max_count : -1);
	sqlite3_bind_int(s, 5, r->set_max_count);
	if (!category)
		sqlite3_bind_int64(s, 6, timefmt_now_us());
	if ((rs = lc_done(c, h, s, "set retention")) != EVDB_OK)
		goto out;
	/* A category left with no setting needs no row. */
	if (category && (rs = lc_prepare(c, h, "DELETE FROM category_retention"
	    " WHERE max_age IS NULL AND max_count IS NULL", &s)) == EVDB_OK)
		rs = lc_done(c, h, s, "set retention");
	if (rs == EVDB_OK)
		rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit");
out:
	if (rs != EVDB_OK || !sqlite3_get_autocommit(h->db))
		sqlite_ns_rollback(c, h);
	return rs;
}

enum evdb_status
sqlite_stream_info(struct sqlite_conn *c, const char *ns, const char *stream,
    size_t stream_len, struct store_stream_state *out)
{
	static const char sql[] =
	    "SELECT m.n, m.lo, m.t, l.stream_name IS NOT NULL, l.hard, l.soft_at,"
	    " coalesce(l.max_age, r.max_age), coalesce(l.max_count, r.max_count),"
	    " l.changed_us"
	    " FROM (SELECT count(*) AS n, min(position) AS lo, max(time_us) AS t"
	    "  FROM messages WHERE stream_name = ?1) m"
	    " LEFT JOIN stream_state l ON l.stream_name = ?1"
	    " LEFT JOIN category_retention r ON r.category = ?2";
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	struct lc_version v;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = lc_version(c, h, stream, stream_len, &v)) != EVDB_OK ||
	    (rs = lc_prepare(c, h, sql, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, stream,
	    (int)streamname_category_len(stream, stream_len), SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		rs = sqlite_fail(c, h->db, rc, "stream info");
		goto out;
	}
	out->message_count = sqlite3_column_int64(s, 0);
	out->exists = out->message_count > 0 || sqlite3_column_int(s, 3) != 0;
	if (out->message_count > 0)
		out->first_position = sqlite3_column_int64(s, 1);
	out->version = v.visible;
	out->deleted = v.hard ? 2 : v.base >= 0 && v.visible < 0 ? 1 : 0;
	if (sqlite3_column_type(s, 6) != SQLITE_NULL)
		out->max_age = sqlite3_column_int64(s, 6);
	if (sqlite3_column_type(s, 7) != SQLITE_NULL)
		out->max_count = sqlite3_column_int64(s, 7);
	if (sqlite3_column_type(s, 2) != SQLITE_NULL)
		out->last_activity_us = sqlite3_column_int64(s, 2);
	else if (sqlite3_column_type(s, 8) != SQLITE_NULL)
		out->last_activity_us = sqlite3_column_int64(s, 8);
	/* A category retention alone does not make a stream exist. */
out:
	sqlite3_finalize(s);
	return rs;
}

/*
 * Deletes, in transactions of at most batch rows, what the retention
 * (max_age seconds, max_count; -1: none) no longer keeps of one stream.
 */
static enum evdb_status
lc_sweep_stream(struct sqlite_conn *c, struct ns_handle *h, const char *stream,
    size_t stream_len, int64_t max_age, int64_t max_count, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	int64_t before, n;
	int rc;

	for (;;) {
		before = -1;
		if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK)
			return rs;
		if (max_count >= 0) {
			/* The position of the max_count-th newest: keep it and above. */
			if ((rs = lc_prepare(c, h, "SELECT position FROM messages"
			    " WHERE stream_name = ?1 ORDER BY position DESC"
			    " LIMIT 1 OFFSET ?2", &s)) != EVDB_OK)
				goto fail;
			sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, max_count > 0 ? max_count - 1 : 0);
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW)
				before = max_count > 0 ? sqlite3_column_int64(s, 0) :
				    INT64_MAX;
			else if (rc != SQLITE_DONE) {
				rs = sqlite_fail(c, h->db, rc, "retention count");
				sqlite3_finalize(s);
				goto fail;
			}
			sqlite3_finalize(s);
		}
		if ((rs = lc_delete_rows(c, h, stream, stream_len, before,
		    max_age >= 0 ? now_us - max_age * 1000000 : -1, batch, &n)) !=
		    EVDB_OK ||
		    (rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
			goto fail;
		*removed += n;
		if (n < batch)
			return EVDB_OK;
	}
fail:
	sqlite_ns_rollback(c, h);
	return rs;
}

/*
 * Gives free pages back to the filesystem, a step at a time, then runs a
 * PASSIVE checkpoint (which never waits for a writer or a reader) so that
 * the shrunk database reaches the file now rather than at the next
 * checkpoint the writes ask for (sqlite_checkpoint.c).
 */
static void
lc_vacuum(struct ns_handle *h)
{
	char sql[64];
	int i;

	sqlite3_stmt *m = NULL;
	int mode = 0;

	/* A file made before auto_vacuum (mode 0) keeps its free pages. */
	if (sqlite3_prepare_v2(h->db, "PRAGMA auto_vacuum", -1, &m, NULL) ==
	    SQLITE_OK && sqlite3_step(m) == SQLITE_ROW)
		mode = sqlite3_column_int(m, 0);
	sqlite3_finalize(m);
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", LC_VACUUM_STEP);
	/* Bounded: a huge freelist comes back over several sweeps; each step
	 * is a transaction of its own, so writers wait one step at most. */
	for (i = 0; mode == 2 && i < 64; i++) {
		sqlite3_stmt *s = NULL;
		int64_t free_pages = 0;

		if (sqlite3_prepare_v2(h->db, "PRAGMA freelist_count", -1, &s,
		    NULL) != SQLITE_OK)
			break;
		if (sqlite3_step(s) == SQLITE_ROW)
			free_pages = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		if (free_pages == 0 ||
		    sqlite3_exec(h->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			break;
	}
	/* A checkpoint copies the WAL back, and truncates the file once the
	 * WAL holds no frame a reader still needs. */
	(void)sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
}

/*
 * Every stream with a retention of its own, then every stream of a category
 * with one that has none of its own for that key.  The second half starts
 * from category_retention (CROSS JOIN keeps it the outer loop) and seeks
 * messages_category_group per category: left to itself SQLite's planner
 * chose a scan of messages_stream, every message of the namespace read at
 * every sweep, though category_retention is empty in most namespaces (the
 * plan is checked by tests/unit/sqlite_read_t).
 */
const char sqlite_retention_list_sql[] =
    "SELECT l.stream_name, coalesce(l.max_age, r.max_age, -1),"
    "  coalesce(l.max_count, r.max_count, -1)"
    " FROM stream_state l LEFT JOIN category_retention r ON r.category ="
    "  CASE WHEN instr(l.stream_name, '-') > 0"
    "  THEN substr(l.stream_name, 1, instr(l.stream_name, '-') - 1)"
    "  ELSE l.stream_name END"
    " WHERE l.hard = 0 AND (l.max_age IS NOT NULL OR l.max_count IS NOT NULL)"
    " UNION ALL"
    " SELECT DISTINCT m.stream_name, coalesce(l.max_age, r.max_age, -1),"
    "  coalesce(l.max_count, r.max_count, -1)"
    " FROM category_retention r CROSS JOIN messages m ON m.category = r.category"
    " LEFT JOIN stream_state l ON l.stream_name = m.stream_name"
    " WHERE l.stream_name IS NULL OR (l.hard = 0"
    "  AND l.max_age IS NULL AND l.max_count IS NULL)";

enum evdb_status
sqlite_retention_sweep(struct sqlite_conn *c, const char *ns, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	/* The names are copied out first: the deletes run in their own
	 * transactions. */
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	struct work {
		char *name;
		int len;
		int64_t age, count;
	} *w = NULL;
	size_t n = 0, cap = 0, i;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = lc_prepare(c, h, sqlite_retention_list_sql, &s)) != EVDB_OK)
		return rs;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			w = xrealloc(w, xmul(cap, sizeof(*w)));
		}
		w[n].len = sqlite3_column_bytes(s, 0);
		w[n].name = xmalloc((size_t)w[n].len + 1);
		memcpy(w[n].name, sqlite3_column_text(s, 0), (size_t)w[n].len);
		w[n].age = sqlite3_column_int64(s, 1);
		w[n].count = sqlite3_column_int64(s, 2);
		n++;
	}
	if (rc != SQLITE_DONE)
		rs = sqlite_fail(c, h->db, rc, "retention list");
	sqlite3_finalize(s);
	for (i = 0; i < n && rs == EVDB_OK; i++)
		if (w[i].age >= 0 || w[i].count >= 0)
			rs = lc_sweep_stream(c, h, w[i].name, (size_t)w[i].len,
			    w[i].age, w[i].count, now_us, batch, removed);
	for (i = 0; i < n; i++)
		free(w[i].name);
	free(w);
	/*
	 * Every sweep, not only one that removed rows: a stream.delete frees
	 * pages too, and a checkpoint that a reader held back last time must
	 * be tried again.  On an idle file both steps are a few page reads.
	 */
	if (rs == EVDB_OK)
		lc_vacuum(h);
	return rs;
}

enum evdb_status
sqlite_lifecycle_reset(struct sqlite_conn *c, struct ns_handle *h)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;

	if ((rs = lc_prepare(c, h, "UPDATE stats SET deleted_head = 0 WHERE id = 1",
	    &s)) != EVDB_OK || (rs = lc_done(c, h, s, "reset head")) != EVDB_OK ||
	    (rs = lc_prepare(c, h, "DELETE FROM stream_state", &s)) != EVDB_OK)
		return rs;
	return lc_done(c, h, s, "reset stream state");
}
