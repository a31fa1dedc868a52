/*
 * pg_order_t.c - the PostgreSQL backend against a private cluster: global
 * order safety (a reader following global positions never steps over a
 * transaction that took its position and commits late), the namespace
 * lock, group commit of concurrent writers, and the watch.
 *
 * Needs a running cluster: EVDB_E2E_PGDIR names it (deploy/pg-cluster
 * start DIR; deploy/run-tests' postgres suite sets it), or without it a
 * private one of its own (tests/pgtest.h), so it never skips.  It gets a database of its own (deploy/pg-cluster
 * createdb), so it may run beside the e2e programs.
 *
 * The deterministic case: a raw connection A begins a transaction the way
 * every writer of a namespace does (evdb's namespace lock, then an insert,
 * which takes global position G1) and stays open; an evdb write B starts
 * on another thread and must wait for A (the test sees it waiting in
 * pg_locks); a reader then reads the namespace from position 1 and must not
 * see anything above G1 before A commits.  After A commits, B commits G2,
 * and a read from the reader's cursor returns both.  In the naive design
 * (no namespace lock) B commits G2 while A is open, the reader moves its
 * cursor past G2, and G1 is lost for good.
 *
 * Then the lock-first batch (issue 10): once a batch has waited for the
 * namespace lock, the next leader takes the lock before it gathers, so
 * that the writes arriving while another host holds it share its
 * transaction (one xmin for three writes).
 */
#include "config.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "store/store.h"
#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/timefmt.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* The first key of evdb's namespace lock (store/postgres/pg_internal.h). */
#define LOCK_KEY1 0x65766462

struct reader {
	int64_t cursor;			/* next global position to read */
	int n;				/* rows seen */
	int64_t gpos[16];		/* their global positions */
};

static enum evdb_status
reader_row(void *ctx, const struct store_message *m)
{
	struct reader *r = ctx;

	if (r->n < 16)
		r->gpos[r->n] = m->global_position;
	r->n++;
	r->cursor = m->global_position + 1;
	return EVDB_OK;
}

/* Reads the whole namespace from the reader's cursor. */
static void
reader_step(struct store_conn *c, struct reader *r)
{
	struct store_category_query q;

	memset(&q, 0, sizeof(q));
	q.global_position = r->cursor;
	q.limit = -1;
	if (store_read_category(c, "ord", &q, reader_row, r) != EVDB_OK)
		tap_bail("read: %s", store_conn_errmsg(c));
}

struct writer {
	struct store *st;		/* the store */
	const char *stream;		/* where to write */
	struct store_write_result r;	/* the result */
	enum evdb_status rs;		/* the status */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store_message_in in;
	struct store_conn *c;

	if (store_conn_open(w->st, &c) != EVDB_OK)
		tap_bail("conn_open");
	memset(&in, 0, sizeof(in));
	in.stream = w->stream;
	in.stream_len = strlen(w->stream);
	in.type = "T";
	in.type_len = 1;
	in.data = "{\"b\":1}";
	in.data_len = strlen(in.data);
	w->rs = store_write(c, "ord", &in, &w->r);
	store_conn_close(c);
	return NULL;
}

/*
 * The advisory lock requests of this database that wait (pg_locks is the
 * cluster's), polled for up to 10 s until there is one.
 */
static int64_t
lock_waiters(PGconn *pg)
{
	PGresult *res;
	int64_t waiting = 0;
	int i;

	for (i = 0; i < 200 && waiting == 0; i++) {
		res = pgtest_sql_ok(pg, "SELECT count(*) FROM pg_locks"
		    " WHERE locktype = 'advisory' AND NOT granted AND database ="
		    " (SELECT oid FROM pg_database WHERE datname ="
		    " current_database())");
		waiting = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		if (waiting == 0)
			usleep(50000);
	}
	return waiting;
}

/* Sample arguments of each read statement, for EXPLAIN EXECUTE. */
static const char *const explain_args[PGQ_COUNT] = {
	[PGQ_STREAM] = "('c7-7', 0, 100)",
	[PGQ_STREAM_GLOBAL] = "('c7-7', 1, 100)",
	[PGQ_LAST] = "('c7-7')",
	[PGQ_LAST_TYPE] = "('c7-7', 'T')",
	[PGQ_VERSION] = "('c7-7')",
	[PGQ_ALL] = "('', 1, 1000)",
	[PGQ_ALL_CORR] = "('', 1, 1000, 'corr')",
	[PGQ_CATEGORY] = "('c7', 1, 1000)",
	[PGQ_CATEGORY_CORR] = "('c7', 1, 1000, 'corr')",
	[PGQ_STREAMS] = "('c7-', '', 100)",
	[PGQ_STREAMS_C] = NULL,		/* for other collations: a scan */
	[PGQ_CATEGORIES] = NULL,	/* counts every row: a scan by design */
	[PGQ_HEAD] = "",
	[PGQ_POKE_STREAM] = "('c7-7', 0, 0, 100000, 100)",
	[PGQ_POKE_CATEGORY] = "('c7', 0, 0, 100000, 100)",
	[PGQ_POKE_ALL] = "('', 0, 0, 100000, 100)",
	[PGQ_POKE_TAIL] = "(0, 100)",
};

/*
 * EXPLAIN of every read statement on a namespace of 20,000 messages over
 * 1,000 streams and 50 categories: an index scan, never a scan of the table.
 */
static void
explain_ok(PGconn *pg, const char *schema)
{
	struct buf sql, plan;
	PGresult *res;
	char q[600];
	int i, r, bad = 0;

	snprintf(q, sizeof(q), "INSERT INTO %s.messages(stream_name, position,"
	    " type, data, metadata) SELECT 'c' || (i %% 50) || '-' || (i %% 1000),"
	    " i / 1000, 'T', '{}', CASE WHEN i %% 7 = 0 THEN"
	    " '{\"correlationStreamName\":\"corr-1\"}'::jsonb END"
	    " FROM generate_series(0, 19999) AS i", schema);
	PQclear(pgtest_sql_ok(pg, q));
	snprintf(q, sizeof(q), "ANALYZE %s.messages", schema);
	PQclear(pgtest_sql_ok(pg, q));
	buf_init(&sql);
	buf_init(&plan);
	for (i = 0; i < PGQ_COUNT; i++) {
		if (explain_args[i] == NULL)
			continue;
		buf_reset(&sql);
		buf_puts(&sql, "PREPARE q AS ");
		pg_sql_schema(&sql, pg_read_sql[i], schema);
		PQclear(pgtest_sql_ok(pg, buf_cstr(&sql)));
		snprintf(q, sizeof(q), "EXPLAIN EXECUTE q%s", explain_args[i]);
		res = pgtest_sql_ok(pg, q);
		buf_reset(&plan);
		for (r = 0; r < PQntuples(res); r++) {
			buf_puts(&plan, PQgetvalue(res, r, 0));
			buf_putc(&plan, '\n');
		}
		PQclear(res);
		PQclear(pgtest_sql_ok(pg, "DEALLOCATE q"));
		if (strstr(buf_cstr(&plan), "Seq Scan") != NULL ||
		    strstr(buf_cstr(&plan), "Index") == NULL) {
			tap_diag("read statement %d:\n%s", i, buf_cstr(&plan));
			bad++;
		}
	}
	ok(bad == 0, "EXPLAIN of every read statement but ns.categories' shows"
	    " an index scan and no scan of the table (%d do not)", bad);
	snprintf(q, sizeof(q), "TRUNCATE %s.messages RESTART IDENTITY", schema);
	PQclear(pgtest_sql_ok(pg, q));
	buf_free(&sql);
	buf_free(&plan);
}

struct watched {
	int calls;			/* store_watch_fn calls */
	int64_t last;			/* the last id */
};

static void
watched_fn(void *ctx, int64_t id)
{
	struct watched *w = ctx;

	w->calls++;
	w->last = id;
}

/* Polls the watch until fn was called or about 10 s passed. */
static void
watch_wait(struct store_watch *w, struct watched *seen)
{
	struct pollfd p;
	int i;

	for (i = 0; i < 100 && seen->calls == 0; i++) {
		p.fd = store_watch_fd(w);
		p.events = POLLIN;
		if (poll(&p, 1, 100) > 0)
			(void)store_watch_read(w, watched_fn, seen);
	}
}

int
main(void)
{
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct store_watch *w = NULL;
	struct writer wb, many[8];
	struct reader rd;
	struct watched seen;
	pthread_t tb, tm[8];
	const char *dir, *conninfo;
	char sql[512], schema[64];
	PGconn *pg;
	PGresult *res;
	int64_t g1, id, head;
	int i, good;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = pgtest_cluster("order");
	conninfo = pgtest_database(dir, "pg_order");
	memset(&opt, 0, sizeof(opt));
	opt.location = conninfo;
	opt.data_dir = "/nonexistent";
	opt.durability = DURABILITY_NORMAL;
	ok(store_open(&opt, &st) == EVDB_OK, "store_open on %s", conninfo);
	if (st == NULL)
		tap_bail("no store");
	is_str(store_backend_name(st), "postgres", "the backend is postgres");
	ok(store_conn_open(st, &c) == EVDB_OK, "conn_open");
	ok(store_ns_create(c, "ord", HASH_A, NULL, NULL, timefmt_now_us()) ==
	    EVDB_OK, "ns_create ord");
	ok(store_ns_create(c, "ord", HASH_A, NULL, NULL, timefmt_now_us()) ==
	    EVDB_ERR_EXISTS, "ns_create ord again: EXISTS");

	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	res = pgtest_sql_ok(pg, "SELECT id, schema_name FROM evdb.namespaces"
	    " WHERE name = 'ord'");
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(schema, sizeof(schema), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	ok(strncmp(schema, "evdb_ns_", 8) == 0, "namespace ord lives in schema"
	    " %s, named by its id", schema);

	explain_ok(pg, schema);

	/* The watch hears a commit of this process. */
	ok(store_watch_open(st, &w) == EVDB_OK && w != NULL, "watch_open");
	ok(store_watch_add(w, c, "ord", &id) == EVDB_OK, "watch_add ord");

	/* ---- the deterministic late commit ---- */
	memset(&rd, 0, sizeof(rd));
	rd.cursor = 1;
	PQclear(pgtest_sql_ok(pg, "BEGIN"));
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %lld)",
	    LOCK_KEY1, (long long)id);
	PQclear(pgtest_sql_ok(pg, sql));
	snprintf(sql, sizeof(sql), "INSERT INTO %s.messages(stream_name, position,"
	    " type, data) VALUES ('a-1', 0, 'A', '{}') RETURNING global_position",
	    schema);
	res = pgtest_sql_ok(pg, sql);
	g1 = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ok(g1 == 1, "transaction A took global position %lld and stays open",
	    (long long)g1);

	memset(&wb, 0, sizeof(wb));
	wb.st = st;
	wb.stream = "b-1";
	pthread_create(&tb, NULL, writer_main, &wb);
	/* B must be waiting for A's namespace lock before the reader reads. */
	ok(lock_waiters(pg) == 1, "evdb's write B waits for A's namespace lock");
	reader_step(c, &rd);
	is_int(rd.n, 0, "while A is open, a reader of the namespace sees"
	    " nothing (B cannot commit a position above A's)");
	is_int(rd.cursor, 1, "... and its cursor stays at 1");
	PQclear(pgtest_sql_ok(pg, "COMMIT"));
	pthread_join(tb, NULL);
	ok(wb.rs == EVDB_OK && wb.r.global_position == 2, "after A commits, B"
	    " commits global position %lld", (long long)wb.r.global_position);
	reader_step(c, &rd);
	ok(rd.n == 2 && rd.gpos[0] == 1 && rd.gpos[1] == 2, "the reader, from its"
	    " cursor, gets A's late message (1) and B's (2): %d rows", rd.n);

	memset(&seen, 0, sizeof(seen));
	watch_wait(w, &seen);
	ok(seen.calls > 0 && (seen.last == id || seen.last == -1), "the watch"
	    " heard B's commit (id %lld)", (long long)seen.last);

	/*
	 * ---- lock first: after a wait, the next batch gathers late comers ----
	 * B's batch waited for the namespace lock, so this process's next
	 * leader takes the lock before it gathers its batch (pg_write.c,
	 * write_lock_first).  A holds the lock again; D's leader waits for it;
	 * E and F queue meanwhile.  Once A commits, D, E and F commit in one
	 * transaction (one xmin).  Had D's leader gathered first, it would have
	 * taken D alone, and E and F would have followed in a second one.
	 */
	{
		struct writer wd[3];
		pthread_t td[3];
		static const char *const streams[3] = { "d-1", "e-1", "f-1" };

		PQclear(pgtest_sql_ok(pg, "BEGIN"));
		snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %lld)",
		    LOCK_KEY1, (long long)id);
		PQclear(pgtest_sql_ok(pg, sql));
		for (i = 0; i < 3; i++) {
			memset(&wd[i], 0, sizeof(wd[i]));
			wd[i].st = st;
			wd[i].stream = streams[i];
		}
		pthread_create(&td[0], NULL, writer_main, &wd[0]);
		ok(lock_waiters(pg) == 1, "D's leader waits for A's namespace lock");
		pthread_create(&td[1], NULL, writer_main, &wd[1]);
		pthread_create(&td[2], NULL, writer_main, &wd[2]);
		/* E and F queue behind D's leader; neither can finish before A. */
		usleep(1000000);
		PQclear(pgtest_sql_ok(pg, "COMMIT"));
		good = 1;
		for (i = 0; i < 3; i++) {
			pthread_join(td[i], NULL);
			good &= wd[i].rs == EVDB_OK;
		}
		ok(good, "D, E and F are written once A commits");
		snprintf(sql, sizeof(sql), "SELECT count(*), count(DISTINCT"
		    " xmin::text) FROM %s.messages WHERE stream_name IN"
		    " ('d-1', 'e-1', 'f-1')", schema);
		res = pgtest_sql_ok(pg, sql);
		ok(strcmp(PQgetvalue(res, 0, 0), "3") == 0 &&
		    strcmp(PQgetvalue(res, 0, 1), "1") == 0, "... in one"
		    " transaction: the leader that waited gathered the writes"
		    " that came meanwhile (%s messages, %s transactions)",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		PQclear(res);
	}

	/* ---- group commit: concurrent writers, gapless positions ---- */
	for (i = 0; i < 8; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		many[i].st = st;
		many[i].stream = "c-1";
		pthread_create(&tm[i], NULL, writer_main, &many[i]);
	}
	good = 1;
	for (i = 0; i < 8; i++) {
		pthread_join(tm[i], NULL);
		if (many[i].rs != EVDB_OK)
			good = 0;
	}
	ok(good, "8 concurrent writers to one stream all succeed");
	snprintf(sql, sizeof(sql), "SELECT count(*), min(position), max(position),"
	    " count(DISTINCT position) FROM %s.messages WHERE stream_name = 'c-1'",
	    schema);
	res = pgtest_sql_ok(pg, sql);
	ok(strcmp(PQgetvalue(res, 0, 0), "8") == 0 &&
	    strcmp(PQgetvalue(res, 0, 1), "0") == 0 &&
	    strcmp(PQgetvalue(res, 0, 2), "7") == 0 &&
	    strcmp(PQgetvalue(res, 0, 3), "8") == 0,
	    "their positions are 0..7, gapless and unique");
	PQclear(res);
	head = -1;
	(void)store_head(c, "ord", &head);
	is_int(head, 13, "head is max(global_position)");

	/* ---- ns_delete drops the schema ---- */
	{
		int64_t deleted = 0;

		ok(store_ns_delete(c, "ord", &deleted) == EVDB_OK, "ns_delete ord");
		is_int(deleted, 13, "... reports its 13 messages");
		snprintf(sql, sizeof(sql), "SELECT to_regnamespace('%s') IS NULL",
		    schema);
		res = pgtest_sql_ok(pg, sql);
		ok(strcmp(PQgetvalue(res, 0, 0), "t") == 0, "schema %s is dropped",
		    schema);
		PQclear(res);
	}
	store_watch_close(w);
	store_conn_close(c);
	store_close(st);
	PQfinish(pg);
	tap_plan(tap_run);
	return tap_done();
}
