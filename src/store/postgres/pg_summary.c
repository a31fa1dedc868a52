/*
 * pg_summary.c - store_ns_summary() on PostgreSQL: a namespace's messages
 * grouped by stream, category or type (evdb report).
 *
 * The grouping query and the totals run in one REPEATABLE READ, READ ONLY
 * transaction, so they see one snapshot and block no writer.  Categories
 * are the namespace's own category() (Message DB's), names are compared
 * with COLLATE "C" so that they sort by bytes as on SQLite, and times are
 * exact microseconds (extract gives a numeric).  The queries scan the
 * table: they are for an operator's tool, and not prepared.
 */
#include "config.h"

#include <stdio.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"

#define SUMMARY_LAST \
	" (extract(epoch FROM max(time)) * 1000000)::bigint FROM %1$s.messages"

/* name, message count, stream count, version, last activity; $1 = limit
 * (negative: no limit). */
static const char *const summary_sql[] = {
	[STORE_SUMMARY_STREAMS] =
	    "SELECT stream_name COLLATE \"C\", count(*), 1, max(position),"
	    SUMMARY_LAST " GROUP BY 1 ORDER BY 1",
	[STORE_SUMMARY_CATEGORIES] =
	    "SELECT %1$s.category(stream_name) COLLATE \"C\", count(*),"
	    " count(DISTINCT stream_name), -1," SUMMARY_LAST " GROUP BY 1 ORDER BY 1",
	[STORE_SUMMARY_TYPES] =
	    "SELECT type COLLATE \"C\", count(*), -1, -1," SUMMARY_LAST
	    " GROUP BY 1 ORDER BY 1",
};

/* Runs template tmpl ("%1$s": the schema) with the limit as $1 (or none). */
static enum evdb_status
summary_query(struct pg_conn *c, const char *what, const char *tmpl,
    const char *schema, const char *limit, PGresult **res)
{
	enum evdb_status rs;
	struct buf sql;

	buf_init(&sql);
	pg_sql_schema(&sql, tmpl, schema);
	if (limit != NULL)
		buf_puts(&sql, " LIMIT CASE WHEN $1::bigint < 0 THEN NULL"
		    " ELSE $1::bigint END");
	rs = pg_query(c, what, buf_cstr(&sql), limit != NULL ? 1 : 0, &limit,
	    NULL, res);
	buf_free(&sql);
	return rs;
}

enum evdb_status
pg_ns_summary(struct store_conn *base, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals)
{
	struct pg_conn *c = pg_conn_of(base);
	struct store_summary_row r;
	struct pg_ns *e;
	enum evdb_status rs;
	PGresult *res = NULL;
	char lim[24];
	int i;

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if ((rs = pg_exec(c, "summary: begin", "BEGIN ISOLATION LEVEL REPEATABLE"
	    " READ, READ ONLY", 0, NULL, NULL)) != EVDB_OK)
		return rs;
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	if ((rs = summary_query(c, "summary", summary_sql[kind], e->schema, lim,
	    &res)) != EVDB_OK)
		goto out;
	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		r.name = PQgetvalue(res, i, 0);
		r.name_len = (size_t)PQgetlength(res, i, 0);
		r.message_count = pg_value_int64(res, i, 1);
		r.stream_count = pg_value_int64(res, i, 2);
		r.version = pg_value_int64(res, i, 3);
		r.last_activity_us = pg_value_int64(res, i, 4);
		rs = fn(ctx, &r);
	}
	PQclear(res);
	res = NULL;
	if (rs != EVDB_OK || (rs = summary_query(c, "summary: totals",
	    "SELECT count(*), count(DISTINCT stream_name) FROM %1$s.messages",
	    e->schema, NULL, &res)) != EVDB_OK)
		goto out;
	totals->message_count = pg_value_int64(res, 0, 0);
	totals->stream_count = pg_value_int64(res, 0, 1);
out:
	PQclear(res);
	/* Ends the read-only transaction (after a failure, PostgreSQL rolls
	 * it back); what was read stays true whatever this answers. */
	(void)pg_exec(c, "summary: end", "COMMIT", 0, NULL, NULL);
	return rs;
}
