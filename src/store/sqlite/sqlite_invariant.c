/*
 * sqlite_invariant.c - the commit-time position check (see sqlite_invariant.h).
 *
 * One query over the rows above the old head: those are the rows the
 * transaction added (rowids only grow), so the check costs one index
 * lookup per added row, whatever the size of the namespace.
 */
#include "config.h"

#include <stdio.h>

#include "store/sqlite/sqlite_invariant.h"

static const char invariant_sql[] =
    "SELECT count(*),"
    " coalesce(sum(m.position < 0 OR m.position > ?2 OR m.global_position > ?2), 0),"
    " coalesce(sum(m.position > 0 AND NOT EXISTS (SELECT 1 FROM messages p"
    "   WHERE p.stream_name = m.stream_name AND p.position = m.position - 1"
    "   AND p.global_position < m.global_position)"
    /* A stream whose messages up to its floor were deleted (stream_state). */
    "   AND NOT EXISTS (SELECT 1 FROM stream_state l"
    "   WHERE l.stream_name = m.stream_name AND l.floor >= m.position - 1)), 0)"
    " FROM messages m WHERE m.global_position > ?1";

enum evdb_status
sqlite_invariant_verify(sqlite3 *db, int64_t head, int64_t added, char *err,
    size_t err_size)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs = EVDB_ERR_BACKEND;
	int64_t above, out_of_range, holes;
	int rc;

	rc = sqlite3_prepare_v2(db, invariant_sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "invariant check: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(s, 1, head);
	sqlite3_bind_int64(s, 2, STORE_POSITION_MAX);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		snprintf(err, err_size, "invariant check: %s", sqlite3_errmsg(db));
		goto out;
	}
	above = sqlite3_column_int64(s, 0);
	out_of_range = sqlite3_column_int64(s, 1);
	holes = sqlite3_column_int64(s, 2);
	if (above != added)
		snprintf(err, err_size, "%lld messages above the head %lld, %lld added"
		    " (a message went at or below the head)", (long long)above,
		    (long long)head, (long long)added);
	else if (out_of_range > 0)
		snprintf(err, err_size, "%lld new messages have a position outside"
		    " 0..%lld", (long long)out_of_range, (long long)STORE_POSITION_MAX);
	else if (holes > 0)
		snprintf(err, err_size, "%lld new messages do not follow their stream's"
		    " previous position (a hole in a stream)", (long long)holes);
	else
		rs = EVDB_OK;
out:
	sqlite3_finalize(s);
	return rs;
}

enum evdb_status
sqlite_invariant_commit(struct sqlite_conn *c, struct ns_handle *h, int64_t head,
    int64_t added, const char *what)
{
	char err[384];

	if (!c->st->invariants)
		return EVDB_OK;
	if (sqlite_invariant_verify(h->db, head, added, err, sizeof(err)) == EVDB_OK)
		return EVDB_OK;
	snprintf(c->errmsg, sizeof(c->errmsg), "invariant violated: %s", err);
	log_error(c->st->log, "store: INVARIANT VIOLATED by %s in %s: %s;"
	    " the commit is refused", what, sqlite3_db_filename(h->db, "main"), err);
	return EVDB_ERR_BACKEND;
}
