/*
 * pg_consumer.c - consumer checkpoints on PostgreSQL: the table
 * evdb_checkpoints of the namespace's schema, beside Message DB's messages
 * table (pg_schema.c creates it; Message DB's functions never look at it).
 *
 * A commit is one statement: it locks the stored row (SELECT ... FOR
 * UPDATE), decides, and upserts with the same conditions repeated in the
 * ON CONFLICT's WHERE.  Under READ COMMITTED a commit that waited for
 * another one's row lock sees the row as that one left it, so of two
 * conditional commits expecting the same position exactly one finds it.
 * When the row did not exist and another commit inserted it meanwhile,
 * the upsert writes nothing; the statement then runs again, and sees that
 * row.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"

/* Times a commit that lost an insert race runs again before giving up. */
#define CONSUMER_RETRIES 3

/* $1 name, $2 size, $3 member, $4 position, $5 has_expected, $6 expected,
 * $7 force, $8 updated_us, $9 the most checkpoints of a namespace.
 * Answers (verdict, stored position or -1, rows written). */
#define COMMIT_SQL \
	"WITH cur AS (SELECT position FROM %1$s.evdb_checkpoints" \
	"  WHERE name = $1 AND size = $2::bigint AND member = $3::bigint" \
	"  FOR UPDATE)," \
	" v AS (SELECT coalesce((SELECT position FROM cur), -1) AS a)," \
	" verdict AS (SELECT CASE" \
	"  WHEN $5::boolean AND (SELECT a FROM v) <> $6::bigint THEN 'expected'" \
	"  WHEN NOT $7::boolean AND (SELECT a FROM v) > $4::bigint THEN 'backwards'" \
	"  WHEN NOT EXISTS (SELECT 1 FROM cur) AND" \
	"   (SELECT count(*) FROM %1$s.evdb_checkpoints) >= $9::bigint THEN 'full'" \
	"  ELSE 'ok' END AS k)," \
	" up AS (INSERT INTO %1$s.evdb_checkpoints AS t" \
	"  (name, size, member, position, updated_us)" \
	"  SELECT $1, $2::bigint, $3::bigint, $4::bigint, $8::bigint" \
	"  FROM verdict WHERE k = 'ok'" \
	"  ON CONFLICT (name, size, member) DO UPDATE" \
	"  SET position = excluded.position, updated_us = excluded.updated_us" \
	"  WHERE (NOT $5::boolean OR t.position = $6::bigint)" \
	"  AND ($7::boolean OR t.position <= $4::bigint)" \
	"  RETURNING 1)" \
	" SELECT k, (SELECT a FROM v), (SELECT count(*) FROM up) FROM verdict"

#define COLS "name, member, size, position, updated_us"

enum consumer_query {
	CQ_COMMIT,
	CQ_GET,
	CQ_LIST,
	CQ_DELETE,
	CQ_COUNT
};

static const char *const consumer_sql[CQ_COUNT] = {
	[CQ_COMMIT] = COMMIT_SQL,
	[CQ_GET] = "SELECT " COLS " FROM %1$s.evdb_checkpoints"
	    " WHERE name = $1 AND size = $2::bigint AND member = $3::bigint",
	[CQ_LIST] = "SELECT " COLS " FROM %1$s.evdb_checkpoints"
	    " ORDER BY name COLLATE \"C\", size, member LIMIT $1::bigint",
	[CQ_DELETE] = "DELETE FROM %1$s.evdb_checkpoints WHERE name = $1",
};

static const int consumer_nparams[CQ_COUNT] = {
	[CQ_COMMIT] = 9, [CQ_GET] = 3, [CQ_LIST] = 1, [CQ_DELETE] = 1,
};

/* Runs query q of ns through a statement prepared once per connection. */
static enum evdb_status
consumer_query(struct pg_conn *c, const char *ns, const char *what,
    enum consumer_query q, const char *const *vals, const int *lens,
    PGresult **res)
{
	struct pg_ns *e;
	enum evdb_status rs;

	*res = NULL;
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	return pg_query_ns(c, e, what, "cp", (int)q, consumer_sql[q],
	    consumer_nparams[q], vals, lens, res);
}

static const char *
consumer_num(char *t, int64_t v)
{
	snprintf(t, 24, "%lld", (long long)v);
	return t;
}

enum evdb_status
pg_consumer_commit(struct store_conn *base, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards)
{
	struct pg_conn *c = pg_conn_of(base);
	const char *vals[9];
	int lens[9];
	char t[6][24];
	enum evdb_status rs;
	PGresult *res;
	const char *k;
	int i, attempt;

	vals[0] = in->key.name;
	lens[0] = (int)in->key.name_len;
	vals[1] = consumer_num(t[0], in->key.size);
	vals[2] = consumer_num(t[1], in->key.size > 0 ? in->key.member : 0);
	vals[3] = consumer_num(t[2], in->position);
	vals[4] = in->has_expected ? "t" : "f";
	vals[5] = consumer_num(t[3], in->has_expected ? in->expected : -1);
	vals[6] = in->force ? "t" : "f";
	vals[7] = consumer_num(t[4], in->updated_us);
	vals[8] = consumer_num(t[5], STORE_CONSUMER_MAX);
	for (i = 1; i < 9; i++)
		lens[i] = (int)strlen(vals[i]);
	for (attempt = 0; attempt < CONSUMER_RETRIES; attempt++) {
		if ((rs = consumer_query(c, ns, "commit checkpoint", CQ_COMMIT, vals,
		    lens, &res)) != EVDB_OK)
			return rs;
		k = PQgetvalue(res, 0, 0);
		*actual = pg_value_int64(res, 0, 1);
		*backwards = strcmp(k, "backwards") == 0;
		if (strcmp(k, "expected") == 0 || *backwards)
			rs = EVDB_ERR_VERSION_CONFLICT;
		else if (strcmp(k, "full") == 0)
			rs = EVDB_ERR_LIMIT;
		else if (pg_value_int64(res, 0, 2) == 1)
			rs = EVDB_OK;
		else
			rs = EVDB_ERR_BUSY;	/* lost an insert race: look again */
		PQclear(res);
		if (rs != EVDB_ERR_BUSY)
			return rs;
	}
	snprintf(c->errmsg, sizeof(c->errmsg), "checkpoint commit kept racing");
	return EVDB_ERR_BUSY;
}

/* Calls fn for every row of res. */
static enum evdb_status
consumer_rows(PGresult *res, store_consumer_fn fn, void *ctx)
{
	struct store_consumer_checkpoint cp;
	enum evdb_status rs = EVDB_OK;
	int i, n = PQntuples(res);

	for (i = 0; i < n && rs == EVDB_OK; i++) {
		cp.name = PQgetvalue(res, i, 0);
		cp.name_len = (size_t)PQgetlength(res, i, 0);
		cp.member = pg_value_int64(res, i, 1);
		cp.size = pg_value_int64(res, i, 2);
		cp.position = pg_value_int64(res, i, 3);
		cp.updated_us = pg_value_int64(res, i, 4);
		rs = fn(ctx, &cp);
	}
	return rs;
}

enum evdb_status
pg_consumer_get(struct store_conn *base, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx)
{
	const char *vals[3];
	int lens[3];
	char t[2][24];
	enum evdb_status rs;
	PGresult *res;

	vals[0] = key->name;
	lens[0] = (int)key->name_len;
	vals[1] = consumer_num(t[0], key->size);
	vals[2] = consumer_num(t[1], key->size > 0 ? key->member : 0);
	lens[1] = (int)strlen(vals[1]);
	lens[2] = (int)strlen(vals[2]);
	if ((rs = consumer_query(pg_conn_of(base), ns, "read checkpoint", CQ_GET,
	    vals, lens, &res)) != EVDB_OK)
		return rs;
	rs = consumer_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

enum evdb_status
pg_consumer_list(struct store_conn *base, const char *ns, int64_t limit,
    store_consumer_fn fn, void *ctx)
{
	const char *val;
	char t[24];
	enum evdb_status rs;
	PGresult *res;

	/* LIMIT NULL is no limit. */
	val = limit < 0 ? NULL : consumer_num(t, limit);
	if ((rs = consumer_query(pg_conn_of(base), ns, "list checkpoints", CQ_LIST,
	    &val, NULL, &res)) != EVDB_OK)
		return rs;
	rs = consumer_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

enum evdb_status
pg_consumer_delete(struct store_conn *base, const char *ns, const char *name,
    size_t name_len, int64_t *deleted)
{
	int len = (int)name_len;
	enum evdb_status rs;
	PGresult *res;

	if ((rs = consumer_query(pg_conn_of(base), ns, "delete checkpoints",
	    CQ_DELETE, &name, &len, &res)) != EVDB_OK)
		return rs;
	*deleted = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return EVDB_OK;
}

enum evdb_status
pg_consumer_namespaces(struct store_conn *base, store_name_fn fn, void *ctx)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;
	PGresult *res;
	int i;

	/* pg_ns_list's order, without its per-namespace counts. */
	if ((rs = pg_query_prepared(c, "list namespaces", "cp_names",
	    "SELECT name FROM evdb.namespaces ORDER BY created_us DESC, id DESC",
	    0, NULL, NULL, &res)) != EVDB_OK)
		return rs;
	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++)
		rs = fn(ctx, PQgetvalue(res, i, 0));
	PQclear(res);
	return rs;
}
