/*
 * sqlite_summary.c - store_ns_summary() on SQLite: a namespace's messages
 * grouped by stream, category or type (evdb report).
 *
 * The grouping statement and the stats row are read in one deferred read
 * transaction on the calling thread's connection to the namespace file, so
 * the rows and the totals are one WAL snapshot and no writer waits.  The
 * grouping statement is prepared for the call only: reports are rare, and
 * it would only take room among the handle's cached statements.  SQLite's
 * BINARY collation orders the names by bytes.
 */
#include "config.h"

#include "store/sqlite/sqlite_internal.h"

/* name, message count, stream count, version, last activity; ?1 = limit
 * (negative: no limit). */
static const char *const summary_sql[] = {
	[STORE_SUMMARY_STREAMS] =
	    "SELECT stream_name, count(*), 1, max(position), max(time_us)"
	    " FROM messages GROUP BY stream_name ORDER BY stream_name LIMIT ?1",
	[STORE_SUMMARY_CATEGORIES] =
	    "SELECT category, count(*), count(DISTINCT stream_name), -1,"
	    " max(time_us) FROM messages GROUP BY category ORDER BY category"
	    " LIMIT ?1",
	[STORE_SUMMARY_TYPES] =
	    "SELECT type, count(*), -1, -1, max(time_us)"
	    " FROM messages GROUP BY type ORDER BY type LIMIT ?1",
};

/* Steps the grouping statement s, calling fn for each row. */
static enum evdb_status
summary_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s,
    store_summary_fn fn, void *ctx)
{
	struct store_summary_row r;
	enum evdb_status rs = EVDB_OK;
	int rc;

	while (rs == EVDB_OK && (rc = sqlite3_step(s)) != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			return sqlite_fail(c, db, rc, "summary");
		r.name = (const char *)sqlite3_column_text(s, 0);
		r.name_len = (size_t)sqlite3_column_bytes(s, 0);
		r.message_count = sqlite3_column_int64(s, 1);
		r.stream_count = sqlite3_column_int64(s, 2);
		r.version = sqlite3_column_int64(s, 3);
		r.last_activity_us = sqlite3_column_int64(s, 4);
		rs = fn(ctx, &r);
	}
	return rs;
}

enum evdb_status
sqlite_ns_summary(struct sqlite_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals)
{
	struct ns_handle *h;
	sqlite3_stmt *s = NULL, *stats = NULL;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((rc = sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return sqlite_fail(c, h->db, rc, "summary: begin");
	if ((rc = sqlite3_prepare_v2(h->db, summary_sql[kind], -1, &s, NULL)) !=
	    SQLITE_OK) {
		rs = sqlite_fail(c, h->db, rc, "summary: prepare");
		goto out;
	}
	sqlite3_bind_int64(s, 1, limit);
	if ((rs = summary_rows(c, h->db, s, fn, ctx)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_STATS_GET, &stats)) != EVDB_OK)
		goto out;
	if ((rc = sqlite3_step(stats)) == SQLITE_ROW) {
		totals->message_count = sqlite3_column_int64(stats, 0);
		totals->stream_count = sqlite3_column_int64(stats, 1);
	} else if (rc == SQLITE_DONE) {
		totals->message_count = 0;
		totals->stream_count = 0;
	} else
		rs = sqlite_fail(c, h->db, rc, "summary: stats");
out:
	sqlite_stmt_done(stats);
	sqlite3_finalize(s);
	/* Ends the read transaction; a read has nothing to roll back. */
	(void)sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
	return rs;
}
