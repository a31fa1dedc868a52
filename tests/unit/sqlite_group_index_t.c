/*
 * sqlite_group_index_t.c - --group-indexes on SQLite (docs/configuration.md,
 * "Consumer-group indexes"): the setting's parsing; a server's store gives
 * each namespace file exactly one partial index per member of each
 * declared size, building the missing and dropping the others, and a
 * must_exist store (evdb's tools) changes none; a member's read seeks its
 * own index (EXPLAIN QUERY PLAN of the very SQL sqlite_read.c prepares)
 * and answers what Message DB's rule (streamname_is_assigned) gives it,
 * with and without correlation; a size that is not declared, and a file
 * whose index went away under an open connection, or that another
 * connection keeps locked while the indexes should change, read as
 * without.
 * Also the members' numbering and index names both backends share
 * (store_backend.h).
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../sqlitetest.h"
#include "../grouptest.h"
#include "core/buf.h"
#include "core/settings.h"
#include "core/streamname.h"
#include "store/store.h"
#include "store/store_backend.h"
#include "store/sqlite/sqlite_internal.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Loads settings from argv (after the program name) and no config file. */
static enum evdb_status
load(struct settings *s, const char *flag, const char *value, char *err,
    size_t err_size)
{
	char *argv[] = { (char *)flag, (char *)value };

	return settings_load(s, 2, argv, err, err_size);
}

/* One TAP result: --group-indexes value is refused. */
static void
refused_ok(const char *value)
{
	struct settings s;
	char err[256] = "";

	if (!ok(load(&s, "--group-indexes", value, err, sizeof(err)) ==
	    EVDB_ERR_CONFIG && strstr(err, "group-indexes") != NULL,
	    "--group-indexes '%s' is refused", value))
		tap_diag("err: %s", err);
}

static void
settings_checks(void)
{
	struct settings s;
	char err[256] = "";

	setenv("EVDB_CONFIG", "/dev/null", 1);
	unsetenv("EVDB_GROUP_INDEXES");
	if (!ok(load(&s, "--group-indexes", "8,4", err, sizeof(err)) == EVDB_OK &&
	    s.group_index_count == 2 && s.group_index_sizes[0] == 4 &&
	    s.group_index_sizes[1] == 8, "--group-indexes 8,4: sizes 4 and 8, ascending"))
		tap_diag("err: %s, count %d", err, s.group_index_count);
	ok(load(&s, "--group-indexes", "none", err, sizeof(err)) == EVDB_OK &&
	    s.group_index_count == 0, "--group-indexes none: no size");
	ok(load(&s, "--workers", "4", err, sizeof(err)) == EVDB_OK &&
	    s.group_index_count == 0, "by default: no size");
	ok(load(&s, "--group-indexes", "2,64,3,16", err, sizeof(err)) == EVDB_OK &&
	    s.group_index_count == 4 && s.group_index_sizes[3] == 64,
	    "four sizes, up to 64");
	refused_ok("1");
	refused_ok("65");
	refused_ok("4,4");
	refused_ok("2,3,4,5,6");
	refused_ok("4,");
	refused_ok(" 4");
	refused_ok("four");
}

/* The names of the file's group indexes, sorted, space-separated (static). */
static const char *
group_indexes(const char *dir)
{
	static char names[1024];
	sqlite3 *db;
	sqlite3_stmt *s;
	size_t n = 0;

	names[0] = '\0';
	if (sqlite3_open_v2(sqlitetest_ns_file(dir, "gi"), &db,
	    SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type ="
	    " 'index' AND name GLOB 'messages_group_*' ORDER BY name", -1, &s,
	    NULL) != SQLITE_OK)
		tap_bail("list indexes: %s", sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW && n < sizeof(names) - 64)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    n > 0 ? " " : "", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return names;
}

/* The stores' --busy-timeout. */
static int busy_timeout_ms = 5000;

/* Opens the store of dir with group sizes (count of them); must_exist as a tool. */
static void
open_store(const char *dir, const int *sizes, int count, bool must_exist,
    struct store **st, struct store_conn **c)
{
	struct store_options opt;

	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = busy_timeout_ms;
	opt.group_index_sizes = sizes;
	opt.group_index_count = count;
	opt.must_exist = must_exist;
	if (store_open(&opt, st) != EVDB_OK || store_conn_open(*st, c) != EVDB_OK)
		tap_bail("store open");
}

static void
close_store(struct store *st, struct store_conn *c)
{
	store_conn_close(c);
	store_close(st);
}

/* Reads served by members' indexes so far. */
static long long
index_reads(struct store *st)
{
	return atomic_load(&((struct sqlite_store *)st)->group_index_reads);
}

/* One TAP result: the member's read on its index seeks it, sorts nothing. */
static void
plan_ok(const char *dir, int n, int m, bool corr, const char *desc)
{
	struct buf sql, q, plan, want;
	sqlite3 *db;
	sqlite3_stmt *s;

	buf_init(&sql);
	buf_init(&q);
	buf_init(&plan);
	buf_init(&want);
	sqlite_read_group_sql(&sql, n, m, corr);
	buf_printf(&q, "EXPLAIN QUERY PLAN %s", buf_cstr(&sql));
	buf_printf(&want, "SEARCH messages USING INDEX messages_group_%d_%d"
	    " (category=? AND global_position>?)", n, m);
	if (sqlite3_open_v2(sqlitetest_ns_file(dir, "gi"), &db,
	    SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, buf_cstr(&q), -1, &s, NULL) != SQLITE_OK)
		tap_bail("%s: %s", buf_cstr(&q), sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW) {
		buf_puts(&plan, (const char *)sqlite3_column_text(s, 3));
		buf_putc(&plan, '\n');
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (!ok(strstr(buf_cstr(&plan), buf_cstr(&want)) != NULL &&
	    strstr(buf_cstr(&plan), "TEMP B-TREE") == NULL, "%s", desc))
		tap_diag("%s\n%s", buf_cstr(&sql), buf_cstr(&plan));
	buf_free(&sql);
	buf_free(&q);
	buf_free(&plan);
	buf_free(&want);
}

int
main(void)
{
	static const int four_three[] = { 3, 4 }, two[] = { 2 };
	char dir[] = "/tmp/evdb-sqlite-group-index-t-XXXXXX";
	struct store *st;
	struct store_conn *c;
	struct store_category_query q;
	static struct grouptest_rows got;
	char stream[32];
	long long before;
	sqlite3 *db;
	int i;

	tap_plan(43);
	settings_checks();
	ok(store_group_slot(four_three, 2, 3, 2) == 2 &&
	    store_group_slot(four_three, 2, 4, 0) == 3 &&
	    store_group_slot(four_three, 2, 4, 3) == 6,
	    "sizes 3, 4: members numbered 0..6, size by size");
	ok(store_group_slot(four_three, 2, 4, 4) == -1 &&
	    store_group_slot(four_three, 2, 4, -1) == -1 &&
	    store_group_slot(four_three, 2, 5, 0) == -1 &&
	    store_group_slot(NULL, 0, 4, 0) == -1,
	    "... and none for a member out of range or a size not declared");
	ok(store_group_index_declared(four_three, 2, "messages_group_",
	    "messages_group_4_3") && store_group_index_declared(four_three, 2,
	    "messages_group_", "messages_group_3_0"),
	    "the indexes of declared members are declared");
	ok(!store_group_index_declared(four_three, 2, "messages_group_",
	    "messages_group_4_01") && !store_group_index_declared(four_three, 2,
	    "messages_group_", "messages_group_4_1x") &&
	    !store_group_index_declared(four_three, 2, "messages_group_",
	    "messages_group_5_0") && !store_group_index_declared(four_three, 2,
	    "evdb_group_", "messages_group_4_1"),
	    "... no other name (stray digits, other sizes, another prefix)");

	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	open_store(dir, four_three, 2, false, &st, &c);
	if (store_ns_create(c, "gi", HASH_A, NULL, NULL, 1) != EVDB_OK)
		tap_bail("namespace: %s", store_conn_errmsg(c));
	/* Streams with and without cardinal ids, a third correlated. */
	for (i = 0; i < 600; i++) {
		sqlitetest_group_stream(stream, sizeof(stream), i);
		sqlitetest_write(c, "gi", stream, "Common", i % 3 == 0 ?
		    "{\"correlationStreamName\":\"wf-1\"}" : NULL);
		if (i % 5 == 0)
			sqlitetest_write(c, "gi", "other-1", "Common", NULL);
	}
	is_str(group_indexes(dir), "messages_group_3_0 messages_group_3_1"
	    " messages_group_3_2 messages_group_4_0 messages_group_4_1"
	    " messages_group_4_2 messages_group_4_3",
	    "sizes 3 and 4: an index per member");
	plan_ok(dir, 4, 1, false, "member 1 of 4 seeks messages_group_4_1");
	plan_ok(dir, 3, 2, true, "... with correlation too (member 2 of 3)");

	before = index_reads(st);
	grouptest_answers_ok(c, "gi", "grp", 1, 4, 7,
	    "members of 4, 7 at a time: Message DB's rows");
	is_int(index_reads(st) - before, 4, "... each member read on its index");
	grouptest_answers_ok(c, "gi", "grp", 1, 3, -1, "members of 3, all: Message DB's rows");
	grouptest_answers_ok(c, "gi", "grp", 250, 4, 1000,
	    "members of 4 from position 250: Message DB's rows");
	grouptest_answers_corr_ok(c, "gi", "grp", "wf", 1, 4, 5,
	    "members of 4 with correlation: the correlated rows");
	before = index_reads(st);
	grouptest_answers_ok(c, "gi", "grp", 1, 5, 11, "size 5, not declared: Message DB's rows");
	grouptest_answers_ok(c, "gi", "", 1, 4, 11, "the whole namespace, members of 4");
	is_int(index_reads(st) - before, 0, "... neither on a member's index");
	memset(&q, 0, sizeof(q));
	q.category = "grp";
	q.category_len = 3;
	q.global_position = 1;
	q.limit = 1000;
	q.group_size = 4;
	q.group_member = 1;
	q.types = (const struct store_type[]){ { "Common", 6 } };
	q.ntypes = 1;
	got.n = 0;
	before = index_reads(st);
	ok(store_read_category(c, "gi", &q, grouptest_row, &got) == EVDB_OK &&
	    got.n > 0, "a member of 4 read by type finds its rows");
	is_int(index_reads(st) - before, 0, "... on the type index, not its own");
	close_store(st, c);

	/* A tool's store (must_exist) leaves the file's indexes alone. */
	open_store(dir, NULL, 0, true, &st, &c);
	grouptest_answers_ok(c, "gi", "grp", 1, 4, 50, "a tool's store reads the groups");
	close_store(st, c);
	is_str(group_indexes(dir), "messages_group_3_0 messages_group_3_1"
	    " messages_group_3_2 messages_group_4_0 messages_group_4_1"
	    " messages_group_4_2 messages_group_4_3", "... and changes no index");

	/* Another setting: the file follows it. */
	open_store(dir, two, 1, false, &st, &c);
	before = index_reads(st);
	grouptest_answers_ok(c, "gi", "grp", 1, 2, 9, "size 2 declared instead: Message DB's rows");
	is_int(index_reads(st) - before, 2, "... on its two indexes");
	is_str(group_indexes(dir), "messages_group_2_0 messages_group_2_1",
	    "the indexes of 3 and 4 dropped, those of 2 built");
	before = index_reads(st);
	grouptest_answers_ok(c, "gi", "grp", 1, 4, 9, "size 4, no longer declared: Message DB's rows");
	is_int(index_reads(st) - before, 0, "... read as without");

	/* An index gone under an open connection: read as without. */
	if (sqlite3_open_v2(sqlitetest_ns_file(dir, "gi"), &db,
	    SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "DROP INDEX messages_group_2_0", NULL, NULL, NULL) !=
	    SQLITE_OK)
		tap_bail("drop: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	grouptest_answers_ok(c, "gi", "grp", 1, 2, 9,
	    "member 0's index dropped after its read was prepared: the same rows");
	close_store(st, c);
	open_store(dir, two, 1, false, &st, &c);
	grouptest_answers_ok(c, "gi", "grp", 1, 2, 1000, "reopened: Message DB's rows");
	is_str(group_indexes(dir), "messages_group_2_0 messages_group_2_1",
	    "... and the dropped index is built again");
	close_store(st, c);

	/* Another connection holds the write lock: the file serves without. */
	if (sqlite3_open_v2(sqlitetest_ns_file(dir, "gi"), &db,
	    SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		tap_bail("lock: %s", sqlite3_errmsg(db));
	busy_timeout_ms = 100;
	open_store(dir, four_three, 2, false, &st, &c);
	before = index_reads(st);
	grouptest_answers_ok(c, "gi", "grp", 1, 4, 9,
	    "sizes 3, 4 declared, the file locked by another: Message DB's rows");
	is_int(index_reads(st) - before, 0, "... read without the indexes");
	close_store(st, c);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	busy_timeout_ms = 5000;
	is_str(group_indexes(dir), "messages_group_2_0 messages_group_2_1",
	    "... which kept its indexes");

	open_store(dir, NULL, 0, false, &st, &c);
	grouptest_answers_ok(c, "gi", "grp", 1, 2, 9, "no size declared: Message DB's rows");
	is_str(group_indexes(dir), "", "... and no group index left");
	close_store(st, c);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	return tap_done();
}
