/*
 * sqlite_read_t.c - the SQLite plans of evdb's filtered reads
 * (EXTENSIONS.md section 4): a category read by a rare type seeks the
 * index messages_category_type, one seek per type, merged in global
 * order, never a scan of the category nor a sort; also with correlation,
 * and after ANALYZE.  And the migration that adds the index (2 -> 3)
 * gives it to a namespace file made by an older evdb.
 *
 * Consumer-group reads (docs/performance.md): the group test runs in SQL
 * on messages_category_group (category, global_position, cardinal_hash),
 * reading the hash from the index before any column of the row, so that a
 * row of another member costs no row fetch; and their answers are those
 * of streamname_is_assigned() (Message DB's rule), with the limit counting
 * the member's rows only.
 *
 * The retention sweeper's list of streams to trim starts from
 * category_retention, so that a namespace without retention costs it a few
 * pages: it once read the whole messages_stream index at every sweep of
 * every namespace.
 *
 * The plans are SQLite's EXPLAIN QUERY PLAN of the very SQL that
 * sqlite_read.c and sqlite_lifecycle.c build or hold
 * (sqlite_read_category_sql, sqlite_retention_list_sql), run on the
 * namespace's file, with 3,000 messages of a common type and 5 of a rare one.
 *
 * Also: opening a store turns SQLite's memory statistics off (their global
 * mutex is taken by every allocation of every connection), so after 3,400
 * writes the library has counted none of its memory.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../sqlitetest.h"
#include "../grouptest.h"
#include "store/store.h"
#include "store/sqlite/sqlite_internal.h"
#include "core/buf.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static enum evdb_status
count_row(void *ctx, const struct store_message *m)
{
	(void)m;
	(*(int *)ctx)++;
	return EVDB_OK;
}

/* EXPLAIN QUERY PLAN of sql on db, one detail a line, into plan. */
static void
explain(sqlite3 *db, const char *sql, struct buf *plan)
{
	struct buf q;
	sqlite3_stmt *s;

	buf_init(&q);
	buf_printf(&q, "EXPLAIN QUERY PLAN %s", sql);
	buf_reset(plan);
	if (sqlite3_prepare_v2(db, buf_cstr(&q), -1, &s, NULL) != SQLITE_OK)
		tap_bail("%s: %s", buf_cstr(&q), sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW) {
		buf_puts(plan, (const char *)sqlite3_column_text(s, 3));
		buf_putc(plan, '\n');
	}
	sqlite3_finalize(s);
	buf_free(&q);
}

/* How many times needle occurs in hay. */
static int
occurrences(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* One TAP result: the plan seeks the type index once per type, nothing else. */
static void
plan_ok(sqlite3 *db, const struct store_category_query *q, const char *desc)
{
	struct buf sql, plan;
	const char *p;
	int seeks;

	buf_init(&sql);
	buf_init(&plan);
	sqlite_read_category_sql(&sql, q);
	explain(db, buf_cstr(&sql), &plan);
	p = buf_cstr(&plan);
	seeks = occurrences(p, "SEARCH messages USING INDEX messages_category_type"
	    " (category=? AND type=? AND global_position>?)");
	if (!ok(seeks == (int)q->ntypes && strstr(p, "SCAN") == NULL &&
	    strstr(p, "TEMP B-TREE") == NULL, "%s", desc))
		tap_diag("%s\n%s", buf_cstr(&sql), p);
	buf_free(&sql);
	buf_free(&plan);
}

/*
 * One TAP result: the sweep's list, run on a fresh connection to a
 * namespace without any retention, reads a few pages (the roots of the
 * small tables), not the messages: a scan of them is hundreds of misses.
 */
static void
sweep_pages_ok(const char *path, const char *desc)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int cur = 0, hi = 0, rows = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sqlite_retention_list_sql, -1, &s, NULL) !=
	    SQLITE_OK)
		tap_bail("sweep list: %s", sqlite3_errmsg(db));
	/* The schema was read by the prepare; count only the statement's. */
	sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 1);
	while (sqlite3_step(s) == SQLITE_ROW)
		rows++;
	sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 0);
	if (!ok(rows == 0 && cur <= 8, "%s", desc))
		tap_diag("%d rows, %d pages read", rows, cur);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * One TAP result: sql's program reads cardinal_hash from an index cursor,
 * and tests it (the Remainder of READ_GROUP) before it reads any column
 * of the table's own cursor: a skipped row is never fetched.
 */
static void
group_on_index_ok(sqlite3 *db, const char *sql, const char *desc)
{
	struct buf q;
	sqlite3_stmt *s;
	int index_cursor[16], nidx = 0, i, table_reads = 0, bad = 0;
	bool tested = false;

	buf_init(&q);
	buf_printf(&q, "EXPLAIN %s", sql);
	if (sqlite3_prepare_v2(db, buf_cstr(&q), -1, &s, NULL) != SQLITE_OK)
		tap_bail("explain: %s", sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW && !tested) {
		const char *op = (const char *)sqlite3_column_text(s, 1);
		int p1 = sqlite3_column_int(s, 2);
		const char *p4 = (const char *)sqlite3_column_text(s, 5);
		bool is_index = false;

		if (strcmp(op, "OpenRead") == 0 && p4 != NULL &&
		    strncmp(p4, "k(", 2) == 0 && nidx < 16)
			index_cursor[nidx++] = p1;
		if (strcmp(op, "Column") == 0) {
			for (i = 0; i < nidx; i++)
				is_index |= index_cursor[i] == p1;
			if (!is_index)
				table_reads++;
		}
		if (strcmp(op, "Remainder") == 0)
			tested = true;
	}
	sqlite3_finalize(s);
	bad = !tested || nidx == 0 || table_reads > 0;
	if (!ok(!bad, "%s", desc))
		tap_diag("%s: index cursors %d, table columns before the test %d,"
		    " tested %d", sql, nidx, table_reads, tested);
	buf_free(&q);
}

static sqlite3 *
open_file(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		tap_bail("open %s", path);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		tap_bail("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
read_count(struct store_conn *c, const struct store_category_query *q)
{
	int n = 0;

	if (store_read_category(c, "plan", q, count_row, &n) != EVDB_OK)
		tap_bail("read: %s", store_conn_errmsg(c));
	return n;
}

int
main(void)
{
	static const struct store_type rare[] = { { "Rare", 4 } };
	static const struct store_type two[] = { { "Rare", 4 }, { "Other", 5 } };
	char dir[] = "/tmp/evdb-sqlite-read-t-XXXXXX";
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct store_category_query q;
	struct buf plan;
	sqlite3 *db;
	char cmd[320], stream[32];
	int64_t version;
	int i;

	tap_plan(28);
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = 5000;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK ||
	    store_ns_create(c, "plan", HASH_A, NULL, NULL, 1) != EVDB_OK)
		tap_bail("store setup");
	for (i = 0; i < 3000; i++) {
		snprintf(stream, sizeof(stream), "big-%d", i % 50);
		sqlitetest_write(c, "plan", stream, "Common", i % 3 == 0 ?
		    "{\"correlationStreamName\":\"wf-1\"}" : NULL);
		if (i % 600 == 0)
			sqlitetest_write(c, "plan", stream, "Rare",
			    "{\"correlationStreamName\":\"wf-1\"}");
	}
	sqlitetest_write(c, "plan", "small-1", "Rare", NULL);
	/* A category for the consumer groups: with and without cardinal ids. */
	for (i = 0; i < 400; i++) {
		sqlitetest_group_stream(stream, sizeof(stream), i);
		sqlitetest_write(c, "plan", stream, "Common", NULL);
	}
	is_int(sqlite3_memory_used(), 0,
	    "SQLite's memory statistics are off in a process with a store");

	buf_init(&plan);
	db = open_file(sqlitetest_ns_file(dir, "plan"));
	memset(&q, 0, sizeof(q));
	q.category = "big";
	q.category_len = 3;
	q.global_position = 1;
	q.limit = 1000;
	q.types = rare;
	q.ntypes = 1;
	sweep_pages_ok(sqlitetest_ns_file(dir, "plan"),
	    "the retention sweep reads no message where no retention is set");
	plan_ok(db, &q, "category read by one rare type: a seek of messages_category_type");
	is_int(read_count(c, &q), 5, "... which finds its 5 messages");
	q.types = two;
	q.ntypes = 2;
	plan_ok(db, &q, "two types: a seek each, merged (no sort)");
	q.correlation = "wf";
	q.correlation_len = 2;
	plan_ok(db, &q, "two types and correlation: the same seeks, filtered");
	is_int(read_count(c, &q), 5, "... which finds the 5 correlated Rare");
	q.correlation = NULL;
	q.correlation_len = 0;
	q.group_size = 2;
	q.group_member = 1;
	plan_ok(db, &q, "two types and a consumer group: the same seeks");
	is_int(read_count(c, &q) > 0, 1, "... which finds the member's rows");
	q.group_size = 0;
	q.group_member = 0;
	if (sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL) != SQLITE_OK)
		tap_bail("ANALYZE: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	/* A fresh connection reads the statistics ANALYZE left. */
	db = open_file(sqlitetest_ns_file(dir, "plan"));
	q.types = rare;
	q.ntypes = 1;
	plan_ok(db, &q, "after ANALYZE: still the seek");
	q.types = two;
	q.ntypes = 2;
	plan_ok(db, &q, "after ANALYZE, two types: still the seeks");
	sweep_pages_ok(sqlitetest_ns_file(dir, "plan"),
	    "after ANALYZE: the retention sweep still reads no message");

	/* Consumer groups: the test on the index, the answers Message DB's. */
	explain(db, sqlite_ns_sql(NS_READ_CATEGORY), &plan);
	ok(strstr(buf_cstr(&plan), "SEARCH messages USING INDEX"
	    " messages_category_group (category=? AND global_position>?)") != NULL,
	    "a category read seeks messages_category_group");
	group_on_index_ok(db, sqlite_ns_sql(NS_READ_CATEGORY),
	    "a consumer group's test reads the hash from the index, not the row");
	group_on_index_ok(db, sqlite_ns_sql(NS_READ_CATEGORY_CORR),
	    "... also with correlation");
	grouptest_answers_ok(c, "plan", "grp", 1, 4, 7, "members of 4, 7 at a time: Message DB's rows");
	grouptest_answers_ok(c, "plan", "grp", 1, 3, 1000, "members of 3, all: Message DB's rows");
	grouptest_answers_ok(c, "plan", "grp", 1, 1, 5, "a group of 1 owns every stream with an id");
	grouptest_answers_ok(c, "plan", "", 1, 5, 11, "the whole namespace, members of 5");
	q.types = two;
	q.ntypes = 2;
	q.category = "grp";
	q.group_size = 2;
	q.group_member = 0;
	q.limit = 3;
	is_int(read_count(c, &q), 0, "types and a group: no rows of absent types");
	q.types = (const struct store_type[]){ { "Common", 6 } };
	q.ntypes = 1;
	{
		int n = read_count(c, &q);

		is_int(n, 3, "types and a group: the limit counts the member's rows");
	}
	q.category = "big";
	q.group_size = 0;
	q.limit = 1000;

	/* Migrations 3 -> 5: a file of an older evdb, without the indexes. */
	store_conn_close(c);
	store_close(st);
	c = NULL;
	st = NULL;
	/* A file of schema version 3, before the type and group indexes. */
	version = sql_int(db, "SELECT version FROM schema_version");
	snprintf(cmd, sizeof(cmd), "DROP INDEX messages_category_type;"
	    " DROP INDEX messages_category_group;"
	    " CREATE INDEX messages_category ON messages(category, global_position);"
	    " UPDATE schema_version SET version = 3");
	if (sqlite3_exec(db, cmd, NULL, NULL, NULL) != SQLITE_OK)
		tap_bail("downgrade: %s", sqlite3_errmsg(db));
	is_int(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'messages_category_type'"), 0, "a file of the version before has no type index");
	sqlite3_close(db);
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK)
		tap_bail("store reopen");
	q.types = rare;
	q.ntypes = 1;
	is_int(read_count(c, &q), 5, "after evdb opens it, the read by type works");
	db = open_file(sqlitetest_ns_file(dir, "plan"));
	is_int(sql_int(db, "SELECT version FROM schema_version"), version,
	    "the file was migrated to schema version %lld", (long long)version);
	is_int(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'messages_category_type'"), 1, "and has messages_category_type");
	plan_ok(db, &q, "the migrated file's plan seeks the index");
	is_int(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('messages_category_group', 'messages_category')"), 1,
	    "and messages_category_group in place of messages_category");
	group_on_index_ok(db, sqlite_ns_sql(NS_READ_CATEGORY),
	    "the migrated file's group test is on the index");
	sqlite3_close(db);

	buf_free(&plan);
	store_conn_close(c);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return tap_done();
}
