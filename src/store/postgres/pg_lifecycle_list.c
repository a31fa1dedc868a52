/*
 * pg_lifecycle_list.c - store_lifecycle_list() on a namespace schema: the
 * evdb_stream_state rows, with each stream's highest stored position and
 * count, then the evdb_category_retention rows (store.h, "lifecycle
 * listing"; store.c derives the version).  Names are ordered COLLATE
 * "C", that is bytewise, as on SQLite.  Read-only and off the hot path
 * (evdb report).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"

/* A column that may be NULL, as -1. */
static int64_t
ll_int64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1 : pg_value_int64(res, row, col);
}

/* Calls fn for each row of res (one of sql[] below). */
static enum evdb_status
ll_rows(const PGresult *res, bool category, store_lifecycle_fn fn, void *ctx)
{
	struct store_lifecycle_row r;
	enum evdb_status rs = EVDB_OK;
	int i;

	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		memset(&r, 0, sizeof(r));
		r.category = category;
		r.name = PQgetvalue(res, i, 0);
		r.name_len = (size_t)PQgetlength(res, i, 0);
		r.max_age = ll_int64(res, i, 1);
		r.max_count = ll_int64(res, i, 2);
		r.version = r.floor = r.changed_us = -1;
		r.soft_at = r.last_position = -1;
		if (!category) {
			r.floor = ll_int64(res, i, 3);
			r.soft_at = ll_int64(res, i, 4);
			r.hard = PQgetvalue(res, i, 5)[0] == 't';
			r.changed_us = ll_int64(res, i, 6);
			r.message_count = pg_value_int64(res, i, 7);
			r.last_position = ll_int64(res, i, 8);
		}
		rs = fn(ctx, &r);
	}
	return rs;
}

enum evdb_status
pg_lifecycle_list(struct store_conn *base, const char *ns, int64_t limit,
    store_lifecycle_fn fn, void *ctx)
{
	static const char *const sql[2] = {
		"SELECT l.stream_name, l.max_age, l.max_count, l.floor,"
		" l.soft_at, l.hard, l.changed_us,"
		" (SELECT count(*) FROM %1$s.messages m"
		"  WHERE m.stream_name = l.stream_name),"
		" (SELECT max(position) FROM %1$s.messages m"
		"  WHERE m.stream_name = l.stream_name)"
		" FROM %1$s.evdb_stream_state l"
		" ORDER BY l.stream_name COLLATE \"C\" LIMIT $1::bigint",
		"SELECT category, max_age, max_count"
		" FROM %1$s.evdb_category_retention"
		" ORDER BY category COLLATE \"C\" LIMIT $1::bigint"
	};
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	enum evdb_status rs;
	PGresult *res = NULL;
	struct buf q;
	char t[24];
	const char *val;
	int i;

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	/* LIMIT NULL is no limit. */
	snprintf(t, sizeof(t), "%lld", (long long)limit);
	val = limit < 0 ? NULL : t;
	for (i = 0; i < 2 && rs == EVDB_OK; i++) {
		buf_init(&q);
		pg_sql_schema(&q, sql[i], e->schema);
		rs = pg_query(c, "list lifecycle", buf_cstr(&q), 1, &val, NULL,
		    &res);
		buf_free(&q);
		if (rs != EVDB_OK)
			return rs;
		rs = ll_rows(res, i == 1, fn, ctx);
		PQclear(res);
	}
	return rs;
}
