/*
 * sqlite_lifecycle_list.c - store_lifecycle_list() on a namespace file:
 * the stream_state rows, with each stream's highest stored position and
 * count, then the category_retention rows (store.h, "lifecycle listing";
 * store.c derives the version).  Read-only; statements are prepared per
 * call (evdb report).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "store/sqlite/sqlite_internal.h"

/* A column that may be NULL, as -1. */
static int64_t
ll_int64(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, col);
}

/* Calls fn for each row of s (prepared on h->db, its ?1 the limit). */
static enum evdb_status
ll_rows(struct sqlite_conn *c, struct ns_handle *h, sqlite3_stmt *s,
    bool category, store_lifecycle_fn fn, void *ctx)
{
	struct store_lifecycle_row r;
	enum evdb_status rs = EVDB_OK;
	int rc;

	while (rs == EVDB_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.category = category;
		r.name = (const char *)sqlite3_column_text(s, 0);
		r.name_len = (size_t)sqlite3_column_bytes(s, 0);
		r.max_age = ll_int64(s, 1);
		r.max_count = ll_int64(s, 2);
		r.version = r.floor = r.changed_us = -1;
		r.soft_at = r.last_position = -1;
		if (!category) {
			r.floor = ll_int64(s, 3);
			r.soft_at = ll_int64(s, 4);
			r.hard = sqlite3_column_int(s, 5) != 0;
			r.changed_us = ll_int64(s, 6);
			r.message_count = sqlite3_column_int64(s, 7);
			r.last_position = ll_int64(s, 8);
		}
		rs = fn(ctx, &r);
	}
	if (rs == EVDB_OK && rc != SQLITE_DONE)
		rs = sqlite_fail(c, h->db, rc, "list lifecycle");
	return rs;
}

enum evdb_status
sqlite_lifecycle_list(struct sqlite_conn *c, const char *ns, int64_t limit,
    store_lifecycle_fn fn, void *ctx)
{
	static const char *const sql[2] = {
		"SELECT l.stream_name, l.max_age, l.max_count, l.floor,"
		" l.soft_at, l.hard, l.changed_us,"
		" (SELECT count(*) FROM messages m"
		"  WHERE m.stream_name = l.stream_name),"
		" (SELECT max(position) FROM messages m"
		"  WHERE m.stream_name = l.stream_name)"
		" FROM stream_state l ORDER BY l.stream_name LIMIT ?1",
		"SELECT category, max_age, max_count FROM category_retention"
		" ORDER BY category LIMIT ?1"
	};
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	int i, rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	for (i = 0; i < 2 && rs == EVDB_OK; i++) {
		if ((rc = sqlite3_prepare_v2(h->db, sql[i], -1, &s, NULL)) !=
		    SQLITE_OK)
			return sqlite_fail(c, h->db, rc, "prepare lifecycle list");
		sqlite3_bind_int64(s, 1, limit);
		rs = ll_rows(c, h, s, i == 1, fn, ctx);
		sqlite3_finalize(s);
	}
	return rs;
}
