/*
 * pg_lifecycle.c - stream.delete, stream.truncate, retention settings,
 * stream.info and the retention sweep on PostgreSQL (store.h, "stream
 * lifecycle").
 *
 * Deleted rows are deleted from Message DB's messages table; the state
 * that must outlive them is in the namespace schema's evdb_stream_state
 * and evdb_category_retention (pg_schema.c).  Every change runs in one
 * transaction holding the namespace lock (PG_LOCK_KEY1, namespace id), the
 * lock evdb's write batches take, so a delete and a write of the namespace
 * never interleave: expectedVersion checks and the kept floor stay exact.
 * Global positions come from a sequence and are never handed out twice,
 * so a deleted head needs no care here.  The space of deleted rows is
 * reclaimed by autovacuum, and after a sweep that left many dead rows by a
 * plain VACUUM of the messages table (lc_vacuum; docs/operations.md).
 *
 * Several processes may share the database: the sweep of a namespace
 * takes the session lock (PG_LOCK_SWEEP, namespace id) with
 * pg_try_advisory_lock, and a process that does not get it skips the
 * namespace, so one process sweeps it at a time.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/streamname.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* First key of the sweep's advisory lock (the second is the namespace id). */
#define PG_LOCK_SWEEP 0x65766473

/* The stream's version as ITEM_SQL (pg_write.c) computes it. */
#define LC_VERSION_SQL \
	"SELECT b.v, CASE WHEN coalesce(l.hard, false) OR b.v <= l.soft_at" \
	"  THEN -1 ELSE b.v END, coalesce(l.hard, false), b.n," \
	"  l.stream_name IS NOT NULL" \
	" FROM (SELECT greatest(coalesce(max(position), -1)," \
	"  coalesce((SELECT floor FROM %1$s.evdb_stream_state" \
	"  WHERE stream_name = $1), -1)) AS v, count(*) AS n" \
	"  FROM %1$s.messages WHERE stream_name = $1) b" \
	" LEFT JOIN %1$s.evdb_stream_state l ON l.stream_name = $1"

struct lc_version {
	int64_t base;		/* last position handed out, -1: none */
	int64_t visible;	/* as readers see it */
	bool hard;		/* tombstoned */
	int64_t count;		/* messages stored */
	bool has_state;		/* a row in evdb_stream_state */
};

/*
 * Runs tmpl (with %1$s for the schema) and answers its result.  lens may
 * be NULL; a length of -1 stands for a C string's.
 */
static enum evdb_status
lc_query(struct pg_conn *c, const struct pg_ns *e, const char *what,
    const char *tmpl, int n, const char *const *vals, const int *lens,
    PGresult **res)
{
	int len[PG_PARAMS_MAX];
	struct buf sql;
	enum evdb_status rs;
	int i;

	for (i = 0; lens != NULL && i < n && i < PG_PARAMS_MAX; i++)
		len[i] = lens[i] >= 0 || vals[i] == NULL ? lens[i] :
		    (int)strlen(vals[i]);
	buf_init(&sql);
	pg_sql_schema(&sql, tmpl, e->schema);
	rs = pg_query(c, what, buf_cstr(&sql), n, vals, lens != NULL ? len : NULL,
	    res);
	buf_free(&sql);
	return rs;
}

static enum evdb_status
lc_exec(struct pg_conn *c, const struct pg_ns *e, const char *what,
    const char *tmpl, int n, const char *const *vals, const int *lens)
{
	PGresult *res = NULL;
	enum evdb_status rs = lc_query(c, e, what, tmpl, n, vals, lens, &res);

	PQclear(res);
	return rs;
}

/* BEGIN, then the namespace lock that evdb's writers take. */
static enum evdb_status
lc_begin(struct pg_conn *c, const struct pg_ns *e)
{
	enum evdb_status rs;
	char sql[96];

	if ((rs = pg_exec(c, "begin", "BEGIN", 0, NULL, NULL)) != EVDB_OK)
		return rs;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %lld)",
	    PG_LOCK_KEY1, (long long)e->id);
	return pg_exec(c, "namespace lock", sql, 0, NULL, NULL);
}

static void
lc_rollback(struct pg_conn *c)
{
	if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

static enum evdb_status
lc_version(struct pg_conn *c, const struct pg_ns *e, const char *stream,
    int stream_len, struct lc_version *v)
{
	PGresult *res = NULL;
	enum evdb_status rs;

	if ((rs = lc_query(c, e, "stream version", LC_VERSION_SQL, 1, &stream,
	    &stream_len, &res)) != EVDB_OK)
		return rs;
	v->base = pg_value_int64(res, 0, 0);
	v->visible = pg_value_int64(res, 0, 1);
	v->hard = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	v->count = pg_value_int64(res, 0, 3);
	v->has_state = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	PQclear(res);
	return EVDB_OK;
}

/*
 * Deletes, in the open transaction, the messages of stream below position
 * `before` or older than age_us (-1: no age rule), at most limit rows (-1:
 * all), and raises the stream's floor to v->base.  *n: rows deleted.
 */
static enum evdb_status
lc_delete_rows(struct pg_conn *c, const struct pg_ns *e, const char *stream,
    int stream_len, const struct lc_version *v, int64_t before, int64_t age_us,
    int64_t limit, int64_t *n)
{
	char b[24], a[24], l[24], base[24], now[24];
	const char *vals[5];
	int lens[5] = { stream_len, -1, -1, -1, -1 };
	PGresult *res = NULL;
	enum evdb_status rs;

	*n = 0;
	if (v->count == 0)
		return EVDB_OK;
	snprintf(b, sizeof(b), "%" PRId64, before);
	snprintf(a, sizeof(a), "%" PRId64, age_us);
	snprintf(l, sizeof(l), "%" PRId64, limit);
	vals[0] = stream;
	vals[1] = b;
	vals[2] = a;
	vals[3] = l;
	if ((rs = lc_query(c, e, "delete messages",
	    "DELETE FROM %1$s.messages WHERE global_position IN"
	    " (SELECT global_position FROM %1$s.messages WHERE stream_name = $1"
	    "  AND (position < $2::bigint OR ($3::bigint >= 0 AND time <"
	    "  timestamp '1970-01-01' + $3::bigint * interval '1 microsecond'))"
	    "  ORDER BY position"
	    "  LIMIT CASE WHEN $4::bigint < 0 THEN NULL ELSE $4::bigint END)",
	    4, vals, lens, &res)) != EVDB_OK)
		return rs;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (*n == 0)
		return EVDB_OK;
	snprintf(base, sizeof(base), "%" PRId64, v->base);
	snprintf(now, sizeof(now), "%" PRId64, timefmt_now_us());
	vals[1] = base;
	vals[2] = now;
	return lc_exec(c, e, "keep the stream's version",
	    "INSERT INTO %1$s.evdb_stream_state(stream_name, floor, changed_us)"
	    " VALUES($1, $2::bigint, $3::bigint) ON CONFLICT (stream_name) DO UPDATE"
	    " SET floor = greatest(%1$s.evdb_stream_state.floor, excluded.floor),"
	    " changed_us = excluded.changed_us", 3, vals, lens);
}

enum evdb_status
pg_stream_delete(struct store_conn *base, const char *ns,
    const struct store_delete_req *req, int64_t *deleted, int64_t *actual)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	struct lc_version v;
	enum evdb_status rs;
	int len = (int)req->stream_len;
	char vb[24], now[24];
	const char *vals[4];
	int lens[4] = { len, -1, -1, -1 };

	*deleted = 0;
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if (pg_params_have_nul(1, &req->stream, &len))
		return EVDB_OK;		/* no stored stream has such a name */
	if ((rs = lc_begin(c, e)) != EVDB_OK ||
	    (rs = lc_version(c, e, req->stream, len, &v)) != EVDB_OK)
		goto out;
	if (v.hard) {
		rs = req->kind == STORE_DELETE_HARD ? EVDB_OK : EVDB_ERR_GONE;
		goto out;
	}
	if (req->kind != STORE_DELETE_TRUNCATE &&
	    !store_expect_met(req->expect, req->expected_version, v.visible)) {
		*actual = v.visible;
		rs = EVDB_ERR_VERSION_CONFLICT;
		goto out;
	}
	if ((rs = lc_delete_rows(c, e, req->stream, len, &v,
	    req->kind == STORE_DELETE_TRUNCATE ? req->before : INT64_MAX, -1, -1,
	    deleted)) != EVDB_OK)
		goto out;
	if (req->kind != STORE_DELETE_TRUNCATE) {
		snprintf(vb, sizeof(vb), "%" PRId64, v.base);
		snprintf(now, sizeof(now), "%" PRId64, timefmt_now_us());
		vals[0] = req->stream;
		vals[1] = vb;
		vals[2] = req->kind == STORE_DELETE_HARD ? "t" : "f";
		vals[3] = now;
		if ((rs = lc_exec(c, e, "mark stream deleted",
		    "INSERT INTO %1$s.evdb_stream_state(stream_name, floor, soft_at,"
		    " hard, changed_us) VALUES($1, $2::bigint, $2::bigint,"
		    " $3::boolean, $4::bigint) ON CONFLICT (stream_name) DO UPDATE SET"
		    " floor = greatest(%1$s.evdb_stream_state.floor, excluded.floor),"
		    " soft_at = excluded.soft_at, hard = excluded.hard,"
		    " changed_us = excluded.changed_us", 4, vals, lens)) != EVDB_OK)
			goto out;
	}
	rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
out:
	lc_rollback(c);		/* after COMMIT: nothing to do */
	return rs;
}

enum evdb_status
pg_set_retention(struct store_conn *base, const char *ns, bool category,
    const char *name, size_t name_len, const struct store_retention_change *r)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	struct lc_version v;
	enum evdb_status rs;
	int len = (int)name_len;
	char age[24], count[24], now[24];
	const char *vals[6];
	int lens[6] = { len, -1, -1, -1, -1, -1 };

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if (pg_params_have_nul(1, &name, &len))
		return EVDB_ERR_INVALID;
	if ((rs = lc_begin(c, e)) != EVDB_OK)
		goto out;
	if (!category) {
		if ((rs = lc_version(c, e, name, len, &v)) != EVDB_OK)
			goto out;
		if (v.hard) {
			rs = EVDB_ERR_GONE;
			goto out;
		}
	}
	snprintf(age, sizeof(age), "%" PRId64, r->set_max_age ? r->max_age : -1);
	snprintf(count, sizeof(count), "%" PRId64,
	    r->set_max_count ? r->max_count : -1);
	snprintf(now, sizeof(now), "%" PRId64, timefmt_now_us());
	vals[0] = name;
	vals[1] = age;
	vals[2] = r->set_max_age ? "t" : "f";
	vals[3] = count;
	vals[4] = r->set_max_count ? "t" : "f";
	vals[5] = now;
	if (!category)
		rs = lc_exec(c, e, "set retention",
		    "INSERT INTO %1$s.evdb_stream_state(stream_name, max_age,"
		    " max_count, changed_us) VALUES($1,"
		    " CASE WHEN $2::bigint >= 0 THEN $2::bigint END,"
		    " CASE WHEN $4::bigint >= 0 THEN $4::bigint END, $6::bigint)"
		    " ON CONFLICT (stream_name) DO UPDATE SET"
		    " max_age = CASE WHEN $3::boolean THEN excluded.max_age"
		    "  ELSE %1$s.evdb_stream_state.max_age END,"
		    " max_count = CASE WHEN $5::boolean THEN excluded.max_count"
		    "  ELSE %1$s.evdb_stream_state.max_count END,"
		    " changed_us = $6::bigint", 6, vals, lens);
	else if ((rs = lc_exec(c, e, "set retention",
	    "INSERT INTO %1$s.evdb_category_retention(category, max_age, max_count)"
	    " VALUES($1, CASE WHEN $2::bigint >= 0 THEN $2::bigint END,"
	    " CASE WHEN $4::bigint >= 0 THEN $4::bigint END)"
	    " ON CONFLICT (category) DO UPDATE SET"
	    " max_age = CASE WHEN $3::boolean THEN excluded.max_age"
	    "  ELSE %1$s.evdb_category_retention.max_age END,"
	    " max_count = CASE WHEN $5::boolean THEN excluded.max_count"
	    "  ELSE %1$s.evdb_category_retention.max_count END",
	    5, vals, lens)) == EVDB_OK)
		rs = lc_exec(c, e, "set retention",
		    "DELETE FROM %1$s.evdb_category_retention"
		    " WHERE max_age IS NULL AND max_count IS NULL", 0, NULL, NULL);
	if (rs == EVDB_OK)
		rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
out:
	lc_rollback(c);
	return rs;
}

enum evdb_status
pg_stream_info(struct store_conn *base, const char *ns, const char *stream,
    size_t stream_len, struct store_stream_state *out)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	struct lc_version v;
	enum evdb_status rs;
	PGresult *res = NULL;
	int lens[2] = { (int)stream_len, 0 };
	const char *vals[2];

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if (pg_params_have_nul(1, &stream, lens))
		return EVDB_OK;		/* never stored: null */
	lens[1] = (int)streamname_category_len(stream, stream_len);
	vals[0] = stream;
	vals[1] = stream;
	if ((rs = lc_version(c, e, stream, lens[0], &v)) != EVDB_OK ||
	    (rs = lc_query(c, e, "stream info",
	    "SELECT m.lo, m.t, coalesce(l.max_age, r.max_age),"
	    " coalesce(l.max_count, r.max_count), l.changed_us"
	    " FROM (SELECT min(position) AS lo, (extract(epoch FROM max(time))"
	    "  * 1000000)::bigint AS t FROM %1$s.messages WHERE stream_name = $1) m"
	    " LEFT JOIN %1$s.evdb_stream_state l ON l.stream_name = $1"
	    " LEFT JOIN %1$s.evdb_category_retention r ON r.category = $2",
	    2, vals, lens, &res)) != EVDB_OK)
		return rs;
	out->message_count = v.count;
	out->exists = v.count > 0 || v.has_state;
	out->version = v.visible;
	out->deleted = v.hard ? 2 : v.base >= 0 && v.visible < 0 ? 1 : 0;
	if (!PQgetisnull(res, 0, 0))
		out->first_position = pg_value_int64(res, 0, 0);
	if (!PQgetisnull(res, 0, 1))
		out->last_activity_us = pg_value_int64(res, 0, 1);
	else if (!PQgetisnull(res, 0, 4))
		out->last_activity_us = pg_value_int64(res, 0, 4);
	if (!PQgetisnull(res, 0, 2))
		out->max_age = pg_value_int64(res, 0, 2);
	if (!PQgetisnull(res, 0, 3))
		out->max_count = pg_value_int64(res, 0, 3);
	PQclear(res);
	return EVDB_OK;
}

/* One stream's retention, batch rows per transaction. */
static enum evdb_status
lc_sweep_stream(struct pg_conn *c, const struct pg_ns *e, const char *stream,
    int stream_len, int64_t max_age, int64_t max_count, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	struct lc_version v;
	enum evdb_status rs;
	PGresult *res = NULL;
	char off[24];
	const char *vals[2] = { stream, off };
	int lens[2] = { stream_len, -1 };
	int64_t before, n;

	for (;;) {
		before = -1;
		if ((rs = lc_begin(c, e)) != EVDB_OK ||
		    (rs = lc_version(c, e, stream, stream_len, &v)) != EVDB_OK)
			goto fail;
		if (max_count >= 0) {
			snprintf(off, sizeof(off), "%" PRId64,
			    max_count > 0 ? max_count - 1 : 0);
			if ((rs = lc_query(c, e, "retention count",
			    "SELECT position FROM %1$s.messages WHERE stream_name = $1"
			    " ORDER BY position DESC LIMIT 1 OFFSET $2::bigint",
			    2, vals, lens, &res)) != EVDB_OK)
				goto fail;
			if (PQntuples(res) == 1)
				before = max_count > 0 ? pg_value_int64(res, 0, 0) :
				    INT64_MAX;
			PQclear(res);
		}
		if ((rs = lc_delete_rows(c, e, stream, stream_len, &v, before,
		    max_age >= 0 ? now_us - max_age * 1000000 : -1, batch, &n)) !=
		    EVDB_OK ||
		    (rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL)) != EVDB_OK)
			goto fail;
		*removed += n;
		if (n < batch)
			return EVDB_OK;
	}
fail:
	lc_rollback(c);
	return rs;
}

/*
 * Once enough dead rows have piled up, vacuums the messages table so that
 * their space is reused by the next inserts at once, instead of when
 * autovacuum's thresholds (20% of the table by default) are reached.  A
 * plain VACUUM takes no lock that blocks writers or readers; SKIP_LOCKED
 * gives up rather than wait for a DDL lock.  Failures only delay reuse.
 */
static void
lc_vacuum(struct pg_conn *c, const struct pg_ns *e)
{
	PGresult *res = NULL;
	struct buf sql;
	bool due;

	if (lc_query(c, e, "dead rows",
	    "SELECT coalesce(n_dead_tup >= greatest(1000, n_live_tup / 20), false)"
	    " FROM pg_stat_user_tables WHERE relid = '%1$s.messages'::regclass",
	    0, NULL, NULL, &res) != EVDB_OK)
		return;
	due = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!due)
		return;
	buf_init(&sql);
	pg_sql_schema(&sql, "VACUUM (SKIP_LOCKED) %1$s.messages", e->schema);
	(void)pg_exec(c, "vacuum", buf_cstr(&sql), 0, NULL, NULL);
	buf_free(&sql);
}

/*
 * Every stream with a retention of its own, then every stream of a category
 * with one that has none of its own for that key.  The second half reads
 * messages in a LATERAL subquery per row of evdb_category_retention, behind
 * OFFSET 0 so that the planner cannot pull it up: joined plainly, it chose
 * a sequential scan of messages, every message of the namespace read at
 * every sweep, though most namespaces have no category retention at all
 * (tests/unit/pg_read_t checks that messages is never read then).
 */
const char pg_retention_list_sql[] =
    "SELECT l.stream_name, coalesce(l.max_age, r.max_age, -1),"
    "  coalesce(l.max_count, r.max_count, -1)"
    " FROM %1$s.evdb_stream_state l LEFT JOIN %1$s.evdb_category_retention r"
    "  ON r.category = %1$s.category(l.stream_name)"
    " WHERE NOT l.hard AND (l.max_age IS NOT NULL OR l.max_count IS NOT NULL)"
    " UNION ALL"
    " SELECT DISTINCT m.stream_name, coalesce(r.max_age, -1),"
    "  coalesce(r.max_count, -1)"
    " FROM %1$s.evdb_category_retention r CROSS JOIN LATERAL"
    "  (SELECT s.stream_name FROM %1$s.messages s"
    "   WHERE %1$s.category(s.stream_name) = r.category OFFSET 0) m"
    " LEFT JOIN %1$s.evdb_stream_state l ON l.stream_name = m.stream_name"
    " WHERE l.stream_name IS NULL OR (NOT l.hard"
    "  AND l.max_age IS NULL AND l.max_count IS NULL)";

enum evdb_status
pg_retention_sweep(struct store_conn *base, const char *ns, int64_t now_us,
    int64_t batch, int64_t *removed)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	enum evdb_status rs;
	PGresult *res = NULL, *list = NULL;
	char sql[96];
	bool locked = false;
	int i;

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d, %lld)",
	    PG_LOCK_SWEEP, (long long)e->id);
	if ((rs = pg_query(c, "sweep lock", sql, 0, NULL, NULL, &res)) != EVDB_OK)
		return rs;
	locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!locked)
		return EVDB_OK;		/* another process sweeps it now */
	if ((rs = lc_query(c, e, "retention list", pg_retention_list_sql,
	    0, NULL, NULL, &list)) != EVDB_OK)
		goto out;
	for (i = 0; i < PQntuples(list) && rs == EVDB_OK; i++) {
		int64_t age = pg_value_int64(list, i, 1);
		int64_t count = pg_value_int64(list, i, 2);

		if (age >= 0 || count >= 0)
			rs = lc_sweep_stream(c, e, PQgetvalue(list, i, 0),
			    PQgetlength(list, i, 0), age, count, now_us, batch,
			    removed);
	}
	if (rs == EVDB_OK && *removed > 0)
		lc_vacuum(c, e);
out:
	PQclear(list);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %lld)",
	    PG_LOCK_SWEEP, (long long)e->id);
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
		(void)pg_exec(c, "sweep unlock", sql, 0, NULL, NULL);
	return rs;
}
