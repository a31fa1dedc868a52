/*
 * pg_read_t.c - the PostgreSQL plans of evdb's filtered reads
 * (EXTENSIONS.md section 4), on a cluster as pg_order_t's (EVDB_E2E_PGDIR
 * or a private one, tests/pgtest.h).
 *
 * A namespace's schema keeps Message DB 1.3.0's table and three indexes,
 * plus evdb's own evdb_messages_category_type; EXPLAIN EXECUTE of the very
 * statements pg_read.c prepares shows that a category read by a rare type
 * uses that index, not a scan of the category (with one type, two, with
 * correlation, and under a generic plan, as a prepared statement gets
 * after a few runs); backward stream reads use messages_stream.  The
 * registry migrations that add the indexes (2 -> 3, 3 -> 4) create them
 * in a database of an older evdb.
 *
 * Consumer groups: a member's read of one category (PGQ_CATEGORY_GROUP)
 * scans evdb_messages_category_group index-only, testing the member on
 * the index entries (EXPLAIN ANALYZE: rows removed by the filter there,
 * no heap fetch once the table is vacuumed), and fetches only the rows it
 * returns; its answers are those of streamname_is_assigned().  The hash
 * is a PL/pgSQL function (so that an INSERT does not parse and plan an SQL
 * body for the index every time) with the old SQL body's values; migration
 * 6 -> 7 replaces the SQL one under an existing index, which still answers
 * right.
 *
 * --group-indexes: a server's store gives every namespace schema one
 * partial index per member of each declared size (PG_MEMBER_INDEX),
 * drops those of sizes no longer declared, and a must_exist store changes
 * none; a member's read (pg_read_group_sql) is an index scan of its own
 * index that removes no row by a filter, also under a generic plan, and
 * answers what streamname_is_assigned() gives it.
 *
 * The retention sweeper's list of streams to trim (pg_retention_list_sql)
 * never reads messages in a namespace without category retention (EXPLAIN
 * ANALYZE: its scan of messages never executed); it once scanned them all
 * at every sweep.
 */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "../grouptest.h"
#include "store/store.h"
#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/timefmt.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void
exec_ok(PGconn *pg, const char *sql)
{
	PQclear(pgtest_sql_ok(pg, sql));
}

static int64_t
sql_int(PGconn *pg, const char *sql)
{
	PGresult *res = pgtest_sql_ok(pg, sql);
	int64_t v = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

	PQclear(res);
	return v;
}

/* The first value of sql's answer, to free; "(none)" without a row. */
static char *
sql_text(PGconn *pg, const char *sql)
{
	PGresult *res = pgtest_sql_ok(pg, sql);
	char *v = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "(none)");

	PQclear(res);
	return v;
}

/* The language evdb_cardinal_hash(varchar) of schema is written in. */
static char *
hash_language(PGconn *pg, const char *schema)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT l.lanname FROM pg_proc p JOIN"
	    " pg_language l ON l.oid = p.prolang WHERE p.oid ="
	    " to_regprocedure('%s.evdb_cardinal_hash(varchar)')", schema);
	return sql_text(pg, sql);
}

/*
 * One TAP result: EXPLAIN EXECUTE of read statement q with args names
 * index `want` and shows no Seq Scan and no index in `banned` (NULL: none).
 */
static void
plan_ok(PGconn *pg, const char *schema, enum pg_read_query q, const char *args,
    const char *want, const char *banned, const char *desc)
{
	struct buf sql, plan;
	PGresult *res;
	int r;

	buf_init(&sql);
	buf_init(&plan);
	buf_puts(&sql, "PREPARE q AS ");
	pg_sql_schema(&sql, pg_read_sql[q], schema);
	exec_ok(pg, buf_cstr(&sql));
	buf_reset(&sql);
	buf_printf(&sql, "EXPLAIN EXECUTE q%s", args);
	res = pgtest_sql_ok(pg, buf_cstr(&sql));
	for (r = 0; r < PQntuples(res); r++) {
		buf_puts(&plan, PQgetvalue(res, r, 0));
		buf_putc(&plan, '\n');
	}
	PQclear(res);
	exec_ok(pg, "DEALLOCATE q");
	if (!ok(strstr(buf_cstr(&plan), want) != NULL &&
	    strstr(buf_cstr(&plan), "Seq Scan") == NULL &&
	    (banned == NULL || strstr(buf_cstr(&plan), banned) == NULL), "%s", desc))
		tap_diag("%s", buf_cstr(&plan));
	buf_free(&sql);
	buf_free(&plan);
}

/*
 * One TAP result: EXPLAIN ANALYZE of the sweep's list in schema, which has
 * no retention set: every node that reads messages is "never executed".
 */
static void
sweep_plan_ok(PGconn *pg, const char *schema, const char *desc)
{
	struct buf sql, plan;
	PGresult *res;
	int r, reads = 0, idle = 0;

	buf_init(&sql);
	buf_init(&plan);
	buf_puts(&sql, "EXPLAIN (ANALYZE, COSTS OFF) ");
	pg_sql_schema(&sql, pg_retention_list_sql, schema);
	res = pgtest_sql_ok(pg, buf_cstr(&sql));
	for (r = 0; r < PQntuples(res); r++) {
		const char *line = PQgetvalue(res, r, 0);

		if (strstr(line, " on messages ") != NULL) {
			reads++;
			idle += strstr(line, "(never executed)") != NULL;
		}
		buf_puts(&plan, line);
		buf_putc(&plan, '\n');
	}
	PQclear(res);
	if (!ok(reads > 0 && idle == reads, "%s", desc))
		tap_diag("%s", buf_cstr(&plan));
	buf_free(&sql);
	buf_free(&plan);
}

static enum evdb_status
count_row(void *ctx, const struct store_message *m)
{
	(void)m;
	(*(int *)ctx)++;
	return EVDB_OK;
}

/* "desc (mode)" in a static buffer, valid until the next call. */
static const char *
hstr_mode(const char *desc, const char *mode)
{
	static char text[256];

	snprintf(text, sizeof(text), "%s (%s)", desc, mode);
	return text;
}

/* The plans of every extended read, under plan mode `mode`. */
static void
plans_ok(PGconn *pg, const char *schema, const char *mode)
{
	/* "messages_category " with the blank: Message DB's index, not evdb's. */
	plan_ok(pg, schema, PGQ_CATEGORY_TYPES, "('c3', 1, 1000, NULL, '{Rare}')",
	    PG_TYPE_INDEX, "messages_category ",
	    hstr_mode("category read by a rare type uses " PG_TYPE_INDEX, mode));
	plan_ok(pg, schema, PGQ_CATEGORY_TYPES, "('c3', 1, 1000, NULL,"
	    " '{Rare,Other}')", PG_TYPE_INDEX, "messages_category ",
	    hstr_mode("two types: the index, once per type", mode));
	plan_ok(pg, schema, PGQ_CATEGORY_TYPES, "('c3', 1, 1000, 'wf', '{Rare}')",
	    PG_TYPE_INDEX, "messages_category ",
	    hstr_mode("a rare type and correlation: the index", mode));
	plan_ok(pg, schema, PGQ_CATEGORY_TYPES, "('c3', 20000, 10, NULL, '{Common}')",
	    PG_TYPE_INDEX, "messages_category ",
	    hstr_mode("a common type from the middle: the index, no scan", mode));
	plan_ok(pg, schema, PGQ_STREAM_BACK, "('c3-3', 1000000, 100, NULL)",
	    "messages_stream", NULL,
	    hstr_mode("backward stream read: messages_stream", mode));
	plan_ok(pg, schema, PGQ_STREAM_GLOBAL_BACK, "('c3-3', 1000000, 100, '{Rare}')",
	    "messages_stream", NULL,
	    hstr_mode("backward by global position, with types: messages_stream", mode));
	plan_ok(pg, schema, PGQ_STREAM_TYPES, "('c3-3', 0, 100, '{Rare}')",
	    "messages_stream", NULL,
	    hstr_mode("forward stream read by type: messages_stream", mode));
}

/*
 * One TAP result: EXPLAIN ANALYZE of PGQ_CATEGORY_GROUP with args scans
 * PG_GROUP_INDEX index-only, drops the other members' entries there
 * ("Rows Removed by Filter") on the hash the index stores (no md5 in the
 * filter), without a heap fetch, and no Seq Scan.
 */
/*
 * EXPLAIN ANALYZE of statement tmpl ("%1$s" the schema) prepared and
 * executed with args, one line of the plan a line, into plan.
 */
static void
explain_analyze(PGconn *pg, const char *schema, const char *tmpl,
    const char *args, struct buf *plan)
{
	struct buf sql;
	PGresult *res;
	int r;

	buf_init(&sql);
	buf_puts(&sql, "PREPARE q AS ");
	pg_sql_schema(&sql, tmpl, schema);
	exec_ok(pg, buf_cstr(&sql));
	buf_reset(&sql);
	buf_printf(&sql, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)"
	    " EXECUTE q%s", args);
	res = pgtest_sql_ok(pg, buf_cstr(&sql));
	for (r = 0; r < PQntuples(res); r++) {
		buf_puts(plan, PQgetvalue(res, r, 0));
		buf_putc(plan, '\n');
	}
	PQclear(res);
	exec_ok(pg, "DEALLOCATE q");
	buf_free(&sql);
}

static void
group_plan_ok(PGconn *pg, const char *schema, const char *args, const char *desc)
{
	struct buf plan;
	const char *p, *f;

	buf_init(&plan);
	explain_analyze(pg, schema, pg_read_sql[PGQ_CATEGORY_GROUP], args, &plan);
	p = buf_cstr(&plan);
	f = strstr(p, "Index Only Scan using " PG_GROUP_INDEX);
	/* md5 in the filter: the hash computed again, not read from the index. */
	if (!ok(f != NULL && strstr(f, "Rows Removed by Filter: ") != NULL &&
	    strstr(f, "md5") == NULL &&
	    strstr(f, "Heap Fetches: 0") != NULL && strstr(p, "Seq Scan") == NULL,
	    "%s", desc))
		tap_diag("%s", p);
	buf_free(&plan);
}

/*
 * One TAP result: EXPLAIN ANALYZE of member m's read for group size n
 * (pg_read_group_sql) with args is a scan of the member's own index
 * that filters no row out, and no Seq Scan.
 */
static void
member_plan_ok(PGconn *pg, const char *schema, int n, int m, const char *args,
    const char *desc)
{
	struct buf text, plan, want;
	const char *p;

	buf_init(&text);
	buf_init(&plan);
	buf_init(&want);
	pg_read_group_sql(&text, n, m);
	explain_analyze(pg, schema, buf_cstr(&text), args, &plan);
	p = buf_cstr(&plan);
	buf_printf(&want, "Index Scan using " PG_MEMBER_INDEX " on messages", n, m);
	if (!ok(strstr(p, buf_cstr(&want)) != NULL &&
	    strstr(p, "Rows Removed by Filter") == NULL &&
	    strstr(p, "Seq Scan") == NULL, "%s", desc))
		tap_diag("%s", p);
	buf_free(&text);
	buf_free(&plan);
	buf_free(&want);
}

/* Reads on a member's index so far. */
static long long
member_reads(struct store *st)
{
	return atomic_load(&((struct pg_store *)st)->group_index_reads);
}

/* The indexes of schema's messages table, sorted, comma-separated. */
static char *
index_list(PGconn *pg, const char *schema)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT coalesce(string_agg(indexname, ','"
	    " ORDER BY indexname), '') FROM pg_indexes WHERE schemaname = '%s'"
	    " AND tablename = 'messages'", schema);
	return sql_text(pg, sql);
}

int
main(void)
{
	static const struct store_type rare[] = { { "Rare", 4 } };
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct store_category_query q;
	const char *dir;
	const char *conninfo;
	char *idx, *lang, sql[1024], schema[64];
	PGconn *pg;
	PGresult *res;
	int64_t version;
	int n;

	tap_plan(46);
	dir = pgtest_cluster("read");
	conninfo = pgtest_database(dir, "pg_read");
	memset(&opt, 0, sizeof(opt));
	opt.location = conninfo;
	opt.data_dir = "/nonexistent";
	opt.durability = DURABILITY_NORMAL;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK ||
	    store_ns_create(c, "plan", HASH_A, NULL, NULL, timefmt_now_us()) != EVDB_OK)
		tap_bail("store setup on %s", conninfo);
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	res = pgtest_sql_ok(pg, "SELECT schema_name FROM evdb.namespaces"
	    " WHERE name = 'plan'");
	snprintf(schema, sizeof(schema), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	idx = index_list(pg, schema);
	is_str(idx, "evdb_messages_category_group,evdb_messages_category_type,"
	    "messages_category,messages_id,messages_pkey,messages_stream",
	    "Message DB's indexes and evdb's two");
	free(idx);
	snprintf(sql, sizeof(sql), "SELECT indexdef FROM pg_indexes WHERE"
	    " schemaname = '%s' AND indexname = '" PG_TYPE_INDEX "'", schema);
	res = pgtest_sql_ok(pg, sql);
	ok(PQntuples(res) == 1 && strstr(PQgetvalue(res, 0, 0),
	    "category((stream_name)::character varying), type, global_position)") != NULL,
	    "evdb's index is on (category(stream_name), type, global_position)");
	if (PQntuples(res) == 1)
		tap_diag("%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT indexdef FROM pg_indexes WHERE"
	    " schemaname = '%s' AND indexname = 'messages_category'", schema);
	res = pgtest_sql_ok(pg, sql);
	if (!ok(PQntuples(res) == 1 && strstr(PQgetvalue(res, 0, 0),
	    "category((stream_name)::character varying), global_position, ") != NULL &&
	    strstr(PQgetvalue(res, 0, 0), ".category(((metadata ->>"
	    " 'correlationStreamName'::text))::character varying))") != NULL,
	    "Message DB's messages_category keeps its shape") && PQntuples(res) == 1)
		tap_diag("%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	lang = hash_language(pg, schema);
	is_str(lang, "plpgsql", "evdb_cardinal_hash is PL/pgSQL (its plan kept"
	    " per session, not made again by every INSERT)");
	free(lang);
	/* The values of the SQL body it replaced (registry migration 6 -> 7). */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM unnest(ARRAY['c3-a+b',"
	    " 'c3', 'c3-', 'c3-+x', 'a-b-c', 'a--b', '-x', 'accé-12é+r+s',"
	    " 'x-' || repeat('y', 300)]) AS n WHERE %s.evdb_cardinal_hash(n)"
	    " IS DISTINCT FROM (SELECT CASE WHEN strpos(n, '-') = 0 THEN NULL ELSE"
	    " left('x' || md5(split_part(substr(n, strpos(n, '-') + 1), '+', 1)),"
	    " 17)::bit(64)::bigint END)", schema);
	is_int(sql_int(pg, sql), 0, "... with the old SQL body's value for 9"
	    " stream names (no '-', empty id, '+', several '-', UTF-8, long)");

	/* 50,000 messages over 10 categories; Rare is 1 in 5,000. */
	snprintf(sql, sizeof(sql), "INSERT INTO %s.messages(stream_name, position,"
	    " type, data, metadata) SELECT 'c' || (i %% 10) || '-' || (i %% 500),"
	    " i / 500, CASE WHEN i %% 5000 = 3 THEN 'Rare' WHEN i %% 7 = 0 THEN"
	    " 'Other' ELSE 'Common' END, '{}', CASE WHEN i %% 2 = 1 THEN"
	    " '{\"correlationStreamName\":\"wf-1\"}'::jsonb END"
	    " FROM generate_series(0, 49999) AS i", schema);
	exec_ok(pg, sql);
	/* Streams without a cardinal id, with an empty one, with '+'. */
	snprintf(sql, sizeof(sql), "INSERT INTO %s.messages(stream_name, position,"
	    " type, data) SELECT (ARRAY['c3', 'c3-', 'c3-+x', 'c3-a+b', 'c3-a+c'])"
	    "[i %% 5 + 1], i, 'Common', '{}' FROM generate_series(0, 99) AS i",
	    schema);
	exec_ok(pg, sql);
	snprintf(sql, sizeof(sql), "VACUUM ANALYZE %s.messages", schema);
	exec_ok(pg, sql);

	plans_ok(pg, schema, "custom plan");
	sweep_plan_ok(pg, schema, "the retention sweep reads no message where no retention is set");
	group_plan_ok(pg, schema, "('c3', 1, 10, 4, 1)",
	    "a member of 4: index-only on " PG_GROUP_INDEX ", filtered there (custom plan)");
	group_plan_ok(pg, schema, "('c3', 30000, 100, 3, 2)",
	    "from the middle, a member of 3: the same (custom plan)");
	exec_ok(pg, "SET plan_cache_mode = force_generic_plan");
	plans_ok(pg, schema, "generic plan");
	group_plan_ok(pg, schema, "('c3', 1, 10, 4, 1)",
	    "a member of 4: index-only on " PG_GROUP_INDEX ", filtered there (generic plan)");
	exec_ok(pg, "RESET plan_cache_mode");
	grouptest_answers_ok(c, "plan", "c3", 1, 4, 7, "members of 4, 7 at a time: streamname_is_assigned's rows");
	grouptest_answers_ok(c, "plan", "c3", 40000, 3, -1, "members of 3, all from 40000: the same");
	grouptest_answers_ok(c, "plan", "c3", 1, 1, 2000, "a group of 1, 2,000 rows (two chunks): every stream with an id");

	memset(&q, 0, sizeof(q));
	q.category = "c3";
	q.category_len = 2;
	q.global_position = 1;
	q.limit = -1;
	q.types = rare;
	q.ntypes = 1;
	n = 0;
	if (store_read_category(c, "plan", &q, count_row, &n) != EVDB_OK)
		tap_bail("read: %s", store_conn_errmsg(c));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.messages WHERE"
	    " stream_name LIKE 'c3-%%' AND type = 'Rare'", schema);
	is_int(n, sql_int(pg, sql), "the read by type finds every Rare of c3 (%d)", n);
	ok(n > 0, "... and there are some");

	/* Registry migrations 3 -> 5: a database of an older evdb. */
	store_conn_close(c);
	store_close(st);
	c = NULL;
	st = NULL;
	snprintf(sql, sizeof(sql), "DROP INDEX %1$s." PG_TYPE_INDEX ";"
	    " DROP INDEX %1$s." PG_GROUP_INDEX ";"
	    " DROP FUNCTION %1$s.evdb_cardinal_hash(varchar)", schema);
	exec_ok(pg, sql);
	/* A database of registry version 3, before both indexes. */
	version = sql_int(pg, "SELECT max(version) FROM evdb.schema_version");
	exec_ok(pg, "UPDATE evdb.schema_version SET version = 3");
	idx = index_list(pg, schema);
	is_str(idx, "messages_category,messages_id,messages_pkey,messages_stream",
	    "an older evdb's schema: Message DB's indexes only");
	free(idx);
	if (store_open(&opt, &st) != EVDB_OK)
		tap_bail("store reopen");
	is_int(sql_int(pg, "SELECT max(version) FROM evdb.schema_version"), version,
	    "store_open migrated the registry to version %lld", (long long)version);
	idx = index_list(pg, schema);
	is_str(idx, "evdb_messages_category_group,evdb_messages_category_type,"
	    "messages_category,messages_id,messages_pkey,messages_stream",
	    "... which created evdb's indexes");
	free(idx);
	lang = hash_language(pg, schema);
	is_str(lang, "plpgsql", "... and replaced migration 4 -> 5's SQL"
	    " evdb_cardinal_hash with the PL/pgSQL one (6 -> 7)");
	free(lang);
	if (store_conn_open(st, &c) != EVDB_OK)
		tap_bail("store_conn_open after the migration");
	grouptest_answers_ok(c, "plan", "c3", 1, 4, 7, "... and the index built"
	    " with the SQL function answers a member of 4 right through it");
	store_conn_close(c);
	store_close(st);
	if (store_open(&opt, &st) != EVDB_OK)
		tap_bail("store reopen");
	ok(1, "a second open finds nothing to migrate");
	store_close(st);

	/* --group-indexes: an index per member of each declared size. */
	opt.group_index_sizes = (const int[]){ 4 };
	opt.group_index_count = 1;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK)
		tap_bail("store open with --group-indexes 4");
	idx = index_list(pg, schema);
	is_str(idx, "evdb_group_4_0,evdb_group_4_1,evdb_group_4_2,evdb_group_4_3,"
	    "evdb_messages_category_group,evdb_messages_category_type,"
	    "messages_category,messages_id,messages_pkey,messages_stream",
	    "--group-indexes 4: an index per member beside the others");
	free(idx);
	member_plan_ok(pg, schema, 4, 1, "('c3', 1, 10)",
	    "member 1 of 4: a scan of evdb_group_4_1, nothing filtered (custom plan)");
	exec_ok(pg, "SET plan_cache_mode = force_generic_plan");
	member_plan_ok(pg, schema, 4, 3, "('c3', 30000, 100)",
	    "member 3 of 4 from the middle: the same (generic plan)");
	exec_ok(pg, "RESET plan_cache_mode");
	{
		long long before = member_reads(st);

		grouptest_answers_ok(c, "plan", "c3", 1, 4, 7,
		    "members of 4 on their indexes, 7 at a time: streamname_is_assigned's rows");
		is_int(member_reads(st) - before, 4, "... each read on its member's index");
		grouptest_answers_ok(c, "plan", "c3", 40000, 4, 1500,
		    "members of 4 from 40000, 1,500 (two chunks): the same");
		before = member_reads(st);
		grouptest_answers_ok(c, "plan", "c3", 1, 3, 9, "size 3, not declared: the same");
		is_int(member_reads(st) - before, 0, "... on " PG_GROUP_INDEX);
	}
	store_conn_close(c);
	store_close(st);
	opt.group_index_sizes = NULL;
	opt.group_index_count = 0;
	opt.must_exist = true;
	if (store_open(&opt, &st) != EVDB_OK)
		tap_bail("a tool's store open");
	store_close(st);
	opt.must_exist = false;
	idx = index_list(pg, schema);
	ok(strstr(idx, "evdb_group_4_3,") != NULL, "a tool's store changes no member index");
	free(idx);
	opt.group_index_sizes = (const int[]){ 2 };
	opt.group_index_count = 1;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK)
		tap_bail("store open with --group-indexes 2");
	idx = index_list(pg, schema);
	is_str(idx, "evdb_group_2_0,evdb_group_2_1,"
	    "evdb_messages_category_group,evdb_messages_category_type,"
	    "messages_category,messages_id,messages_pkey,messages_stream",
	    "--group-indexes 2: those of 4 dropped, those of 2 built");
	free(idx);
	grouptest_answers_ok(c, "plan", "c3", 1, 2, 11, "members of 2 on theirs: the same rows");
	store_conn_close(c);
	store_close(st);
	opt.group_index_sizes = NULL;
	opt.group_index_count = 0;
	if (store_open(&opt, &st) != EVDB_OK)
		tap_bail("store open without --group-indexes");
	store_close(st);
	idx = index_list(pg, schema);
	is_str(idx, "evdb_messages_category_group,evdb_messages_category_type,"
	    "messages_category,messages_id,messages_pkey,messages_stream",
	    "none declared: no member index left");
	free(idx);
	PQfinish(pg);
	return tap_done();
}
