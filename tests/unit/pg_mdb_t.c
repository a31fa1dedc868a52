/*
 * pg_mdb_t.c - evdb and Message DB side by side on one PostgreSQL database
 * (issue 9): Message DB 1.3.0's own functions, installed from its npm
 * package into the schema of evdb's default namespace (message_store),
 * read what evdb wrote with the same answers (streams, categories,
 * consumer groups, correlation); what write_message writes reads back
 * through evdb; evdb and write_message writing one stream keep its
 * positions gapless; and a write_message transaction that took its global
 * position and commits late is not stepped over by a reader, because evdb
 * gave the schema an acquire_lock that takes its namespace lock first.
 *
 * Needs a cluster (EVDB_E2E_PGDIR's or a private one, as pg_order_t) and Message DB's
 * SQL: EVDB_MDB_SQL names its database/ directory, or the test fetches the
 * package with `npm pack @eventide/message-db` into its temporary
 * directory.  Without either the program bails out.  Message DB's SQL is only
 * ever read from there, never kept in this tree.
 */
#include "config.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "../mdbtest.h"
#include "store/store.h"
#include "core/timefmt.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct rows {
	int n;				/* rows */
	int64_t gpos[256];		/* global positions */
	int64_t pos[256];		/* positions */
};

static enum evdb_status
rows_add(void *ctx, const struct store_message *m)
{
	struct rows *r = ctx;

	if (r->n < 256) {
		r->gpos[r->n] = m->global_position;
		r->pos[r->n] = m->position;
	}
	r->n++;
	return EVDB_OK;
}

/* The global positions (column gcol) of res as a rows. */
static void
rows_of(PGresult *res, int gcol, struct rows *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < PQntuples(res) && i < 256; i++)
		r->gpos[i] = strtoll(PQgetvalue(res, i, gcol), NULL, 10);
	r->n = PQntuples(res);
}

static int
rows_same(const struct rows *a, const struct rows *b)
{
	int i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n && i < 256; i++)
		if (a->gpos[i] != b->gpos[i])
			return 0;
	return 1;
}

static enum evdb_status
write_one(struct store_conn *c, const char *stream, const char *meta,
    int64_t expected, struct store_write_result *r)
{
	struct store_message_in in;

	memset(&in, 0, sizeof(in));
	in.stream = stream;
	in.stream_len = strlen(stream);
	in.type = "T";
	in.type_len = 1;
	in.data = "{\"v\":1}";
	in.data_len = strlen(in.data);
	in.metadata = meta;
	in.metadata_len = meta != NULL ? strlen(meta) : 0;
	in.expect = expected >= -1 ? STORE_EXPECT_VERSION : STORE_EXPECT_ANY;
	in.expected_version = expected;
	return store_write(c, "default", &in, r);
}

struct writer {
	struct store *st;		/* the store */
	enum evdb_status rs;		/* outcome */
	struct store_write_result r;	/* result */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store_conn *c;

	if (store_conn_open(w->st, &c) != EVDB_OK)
		tap_bail("conn_open");
	/* Another category: only the namespace lock orders it after A. */
	w->rs = write_one(c, "lateb-2", NULL, -2, &w->r);
	store_conn_close(c);
	return NULL;
}

/* ---- eight writers over ten categories, one reader in global order ---- */

#define STRESS_WRITES 150		/* per writer */
#define STRESS_MAX 4096			/* global positions tracked */

struct stress {
	struct store *st;		/* the store (evdb writers, the reader) */
	const char *conninfo;		/* for write_message writers */
	int index;			/* writer number */
	atomic_int *done;		/* writers finished */
	int failures;			/* writes that failed */
	unsigned char *seen;		/* reader: times each position was read */
	int64_t read;			/* reader: messages read */
	int64_t cursor;			/* reader: the next position to read */
};

static void *
stress_evdb(void *arg)
{
	struct stress *s = arg;
	struct store_write_result r;
	struct store_conn *c;
	char stream[32];
	int i;

	if (store_conn_open(s->st, &c) != EVDB_OK)
		tap_bail("conn_open");
	for (i = 0; i < STRESS_WRITES; i++) {
		snprintf(stream, sizeof(stream), "cat%d-%d", (i + s->index) % 10,
		    s->index);
		if (write_one(c, stream, NULL, -2, &r) != EVDB_OK)
			s->failures++;
	}
	store_conn_close(c);
	atomic_fetch_add(s->done, 1);
	return NULL;
}

static void *
stress_mdb(void *arg)
{
	struct stress *s = arg;

	s->failures = mdbtest_write_messages(s->conninfo, s->index,
	    STRESS_WRITES, NULL);
	atomic_fetch_add(s->done, 1);
	return NULL;
}

static enum evdb_status
stress_row(void *ctx, const struct store_message *m)
{
	struct stress *s = ctx;

	if (m->global_position > 0 && m->global_position < STRESS_MAX &&
	    s->seen[m->global_position] < 255)
		s->seen[m->global_position]++;
	s->read++;
	s->cursor = m->global_position + 1;
	return EVDB_OK;
}

/* The query of every global position from lo on (static buffer). */
static const char *
hstr_positions(int64_t lo)
{
	static char sql[128];

	snprintf(sql, sizeof(sql), "SELECT global_position FROM messages WHERE"
	    " global_position >= %lld", (long long)lo);
	return sql;
}

/* Follows the namespace from a cursor, as the SSE hub and export do. */
static void *
stress_reader(void *arg)
{
	struct stress *s = arg;
	struct store_category_query q;
	struct store_conn *c;
	int64_t before;
	bool finished;

	if (store_conn_open(s->st, &c) != EVDB_OK)
		tap_bail("conn_open");
	for (;;) {
		/* Read once more after the writers finished, to the end. */
		finished = atomic_load(s->done) == 8;
		memset(&q, 0, sizeof(q));
		q.global_position = s->cursor;
		q.limit = 100;
		before = s->read;
		(void)store_read_category(c, "default", &q, stress_row, s);
		if (finished && s->read == before)
			break;
	}
	store_conn_close(c);
	return NULL;
}

int
main(void)
{
	static const char *const streams[] = {
		"acct-1", "acct-2", "acct-3", "acct-abc", "acct-", "acct-7+x",
		"acct-9", "acct", "other-1",
	};
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL, *c2 = NULL;
	struct store_write_result wr;
	struct store_category_query q;
	struct store_stream_query sq;
	struct rows ev, md;
	struct writer wb;
	pthread_t tb;
	const char *dir, *conninfo;
	const char *mdb;
	char sql[512];
	PGconn *pg;
	PGresult *res;
	int64_t m, size, v, waiting;
	size_t i;
	int good, k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = pgtest_cluster("mdb");
	if ((mdb = mdbtest_dir()) == NULL)
		tap_bail("Message DB's SQL not available (EVDB_MDB_SQL, or npm to"
		    " fetch @eventide/message-db)");
	conninfo = pgtest_database(dir, "pg_mdb");

	memset(&opt, 0, sizeof(opt));
	opt.location = conninfo;
	opt.durability = DURABILITY_NORMAL;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK)
		tap_bail("store_open %s", conninfo);
	ok(store_ns_create(c, "default", HASH_A, NULL, NULL, timefmt_now_us()) ==
	    EVDB_OK, "evdb creates the default namespace: schema message_store");

	/* Message DB's functions, from its package, into message_store. */
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	good = mdbtest_install(pg, mdb);
	ok(good, "Message DB 1.3.0's functions install into evdb's schema");
	PQclear(pgtest_sql_ok(pg, "SET search_path = message_store"));

	/* evdb writes; Message DB reads. */
	good = 1;
	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
			if (write_one(c, streams[i], k == 1 ?
			    "{\"correlationStreamName\":\"corr-5\"}" : NULL, -2,
			    &wr) != EVDB_OK)
				good = 0;
	ok(good, "evdb writes 27 messages over 9 streams");
	memset(&sq, 0, sizeof(sq));
	sq.stream = "acct-1";
	sq.stream_len = 6;
	sq.limit = -1;
	memset(&ev, 0, sizeof(ev));
	(void)store_read_stream(c, "default", &sq, rows_add, &ev);
	res = pgtest_sql_ok(pg, "SELECT * FROM get_stream_messages('acct-1')");
	rows_of(res, 4, &md);
	PQclear(res);
	ok(ev.n == 3 && rows_same(&ev, &md), "get_stream_messages reads evdb's"
	    " stream as evdb does (%d rows)", md.n);
	good = 1;
	for (size = 1; size <= 4; size++)
		for (m = 0; m < size; m++) {
			memset(&q, 0, sizeof(q));
			q.category = "acct";
			q.category_len = 4;
			q.global_position = 1;
			q.limit = -1;
			q.group_member = m;
			q.group_size = size;
			memset(&ev, 0, sizeof(ev));
			(void)store_read_category(c, "default", &q, rows_add, &ev);
			snprintf(sql, sizeof(sql), "SELECT * FROM get_category_messages("
			    "'acct', 1, -1, NULL, %lld, %lld)", (long long)m,
			    (long long)size);
			res = pgtest_sql_ok(pg, sql);
			rows_of(res, 4, &md);
			PQclear(res);
			if (!rows_same(&ev, &md)) {
				tap_diag("member %lld of %lld: evdb %d rows, Message DB"
				    " %d", (long long)m, (long long)size, ev.n, md.n);
				good = 0;
			}
		}
	ok(good, "consumer groups (sizes 1..4, every member, acct- included):"
	    " evdb and get_category_messages give the same messages");
	memset(&q, 0, sizeof(q));
	q.category = "acct";
	q.category_len = 4;
	q.global_position = 1;
	q.limit = -1;
	q.correlation = "corr";
	q.correlation_len = 4;
	memset(&ev, 0, sizeof(ev));
	(void)store_read_category(c, "default", &q, rows_add, &ev);
	res = pgtest_sql_ok(pg, "SELECT * FROM get_category_messages('acct', 1, -1,"
	    " 'corr')");
	rows_of(res, 4, &md);
	PQclear(res);
	ok(ev.n == 8 && rows_same(&ev, &md), "correlation: the same %d messages",
	    md.n);

	/* A new connection adopts Message DB's acquire_lock. */
	if (store_conn_open(st, &c2) != EVDB_OK)
		tap_bail("conn_open");
	(void)store_stream_version(c2, "default", "acct-1", 6, &v);
	res = pgtest_sql_ok(pg, "SELECT prosrc LIKE '%evdb namespace lock%'"
	    " FROM pg_proc WHERE oid ="
	    " to_regprocedure('message_store.acquire_lock(varchar)')");
	ok(strcmp(PQgetvalue(res, 0, 0), "t") == 0, "evdb replaced"
	    " message_store.acquire_lock by one that takes its namespace lock");
	PQclear(res);

	/* write_message writes; evdb reads; mixed writers stay gapless. */
	good = 1;
	for (k = 0; k < 10; k++) {
		if (k % 2 == 0)
			good &= write_one(c2, "mixed-1", NULL, k - 1, &wr) == EVDB_OK;
		else {
			snprintf(sql, sizeof(sql), "SELECT write_message("
			    "gen_random_uuid()::varchar, 'mixed-1', 'M', '{}',"
			    " NULL, %d)", k - 1);
			PQclear(pgtest_sql_ok(pg, sql));
		}
	}
	ok(good, "evdb and write_message write mixed-1 in turns, each with the"
	    " expected version");
	memset(&sq, 0, sizeof(sq));
	sq.stream = "mixed-1";
	sq.stream_len = 7;
	sq.limit = -1;
	memset(&ev, 0, sizeof(ev));
	(void)store_read_stream(c2, "default", &sq, rows_add, &ev);
	good = ev.n == 10;
	for (k = 0; k < ev.n && k < 10; k++)
		if (ev.pos[k] != k)
			good = 0;
	ok(good, "evdb reads all 10 back at positions 0..9, gapless (%d)", ev.n);

	/* write_message's late commit is not stepped over. */
	PQclear(pgtest_sql_ok(pg, "BEGIN"));
	PQclear(pgtest_sql_ok(pg, "SELECT write_message(gen_random_uuid()::varchar,"
	    " 'late-1', 'L', '{}')"));
	memset(&wb, 0, sizeof(wb));
	wb.st = st;
	pthread_create(&tb, NULL, writer_main, &wb);
	waiting = 0;
	for (k = 0; k < 200 && waiting == 0; k++) {
		PGconn *p2 = PQconnectdb(conninfo);

		/* pg_locks is the cluster's: count this database's only. */
		res = pgtest_sql_ok(p2, "SELECT count(*) FROM pg_locks WHERE locktype ="
		    " 'advisory' AND NOT granted AND database = (SELECT oid FROM"
		    " pg_database WHERE datname = current_database())");
		waiting = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(p2);
		if (waiting == 0)
			usleep(50000);
	}
	ok(waiting == 1, "an evdb write waits while write_message's transaction"
	    " is open");
	res = pgtest_sql_ok(pg, "SELECT max(global_position) FROM messages");
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	memset(&q, 0, sizeof(q));
	q.global_position = v;
	q.limit = -1;
	memset(&ev, 0, sizeof(ev));
	(void)store_read_category(c, "default", &q, rows_add, &ev);
	is_int(ev.n, 0, "a reader of the namespace sees neither yet");
	PQclear(pgtest_sql_ok(pg, "COMMIT"));
	pthread_join(tb, NULL);
	memset(&ev, 0, sizeof(ev));
	(void)store_read_category(c, "default", &q, rows_add, &ev);
	ok(wb.rs == EVDB_OK && ev.n == 2 && ev.gpos[0] == v &&
	    ev.gpos[1] == wb.r.global_position, "then both, in order:"
	    " write_message's %lld and evdb's %lld", (long long)v,
	    (long long)wb.r.global_position);

	/* Eight writers, evdb's and write_message's, over ten categories. */
	{
		struct stress sw[8], rd;
		pthread_t ts[8], tr;
		atomic_int done = 0;
		int missing = 0, twice = 0, failures = 0;
		int64_t lo;

		res = pgtest_sql_ok(pg, "SELECT max(global_position) FROM messages");
		lo = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
		PQclear(res);
		memset(&rd, 0, sizeof(rd));
		rd.st = st;
		rd.done = &done;
		rd.cursor = lo;
		rd.seen = calloc(STRESS_MAX, 1);
		pthread_create(&tr, NULL, stress_reader, &rd);
		for (k = 0; k < 8; k++) {
			memset(&sw[k], 0, sizeof(sw[k]));
			sw[k].st = st;
			sw[k].conninfo = conninfo;
			sw[k].index = k;
			sw[k].done = &done;
			pthread_create(&ts[k], NULL, k % 2 ? stress_mdb : stress_evdb,
			    &sw[k]);
		}
		for (k = 0; k < 8; k++) {
			pthread_join(ts[k], NULL);
			failures += sw[k].failures;
		}
		pthread_join(tr, NULL);
		ok(failures == 0, "8 writers (4 evdb, 4 write_message) over 10"
		    " categories wrote %d messages (%d failures)", 8 * STRESS_WRITES,
		    failures);
		res = pgtest_sql_ok(pg, hstr_positions(lo));
		for (k = 0; k < PQntuples(res); k++) {
			int64_t g = strtoll(PQgetvalue(res, k, 0), NULL, 10);

			if (g >= STRESS_MAX || rd.seen[g] == 0)
				missing++;
			else if (rd.seen[g] > 1)
				twice++;
		}
		ok(PQntuples(res) == 8 * STRESS_WRITES && missing == 0 && twice == 0,
		    "a reader following the namespace in global order got every one"
		    " of the %d exactly once (%d missed, %d twice)", PQntuples(res),
		    missing, twice);
		PQclear(res);
		free(rd.seen);
	}

	store_conn_close(c2);
	store_conn_close(c);
	store_close(st);
	PQfinish(pg);
	mdbtest_cleanup();
	tap_plan(tap_run);
	return tap_done();
}
