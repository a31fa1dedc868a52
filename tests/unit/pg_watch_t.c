/*
 * pg_watch_t.c - several watches of one PostgreSQL store share ONE
 * listening connection (issue 9: one LISTEN connection per process), and
 * each still behaves as store.h's watch contract says: its own descriptor,
 * level-triggered, its own namespaces, id -1 after a lost connection.
 *
 * Two watches, A (namespaces wa, wc) and B (wb, wc), each owned by a
 * thread of its own as the SSE hub's and the long-poll loop's are:
 *  - pg_stat_activity shows one evdb/<host>/<pid>/watch backend, not two;
 *  - a notice for wb drained by A's read (the socket sits in both epoll
 *    sets) reaches B, and A hears nothing of it;
 *  - a notice for wc reaches both; a write through the store reaches A;
 *  - B adds and removes wd many times while A's thread drains notices: no
 *    crash, and then B hears wd and A does not;
 *  - after pg_terminate_backend of the listener both watches report -1,
 *    one listener comes back, and both hear new notices;
 *  - B removes wc: A still hears wc, B does not; B closes: A still hears;
 *    A closes: no listener is left.
 *
 * Needs a cluster: EVDB_E2E_PGDIR's, or a private one (tests/pgtest.h).
 */
#include "config.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "store/store.h"
#include "core/timefmt.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

enum { NS_A, NS_B, NS_C, NS_D, NNS };
static const char *const ns_names[NNS] = { "wa", "wb", "wc", "wd" };
static int64_t ns_ids[NNS];		/* registry ids (the watch ids) */

enum op { OP_NONE, OP_ADD, OP_REMOVE, OP_CHURN, OP_CLOSE, OP_QUIT };

/* A watch and the thread that owns it. */
struct owner {
	struct store *st;
	struct store_watch *w;
	struct store_conn *c;		/* the owner's connection (watch_add) */
	pthread_t tid;
	atomic_int heard[NNS];		/* fn calls per namespace */
	atomic_int lost;		/* fn(-1) calls */
	atomic_int strays;		/* ids that are none of ours */
	atomic_int op;			/* a command for the owner, or OP_NONE */
	int op_ns;			/* its namespace */
	int64_t wid[NNS];		/* ids store_watch_add gave */
};

static void
owner_fn(void *ctx, int64_t id)
{
	struct owner *o = ctx;
	int i;

	if (id == -1) {
		atomic_fetch_add(&o->lost, 1);
		return;
	}
	for (i = 0; i < NNS; i++)
		if (id == ns_ids[i]) {
			atomic_fetch_add(&o->heard[i], 1);
			return;
		}
	atomic_fetch_add(&o->strays, 1);
}

/* Polls the watch once (up to ms) and reads it when readable. */
static bool
owner_poll(struct owner *o, int ms)
{
	struct pollfd p;

	p.fd = store_watch_fd(o->w);
	p.events = POLLIN;
	if (poll(&p, 1, ms) <= 0)
		return false;
	(void)store_watch_read(o->w, owner_fn, o);
	return true;
}

static void
owner_add(struct owner *o, int ns)
{
	if (store_watch_add(o->w, o->c, ns_names[ns], &o->wid[ns]) != EVDB_OK)
		tap_bail("watch_add %s", ns_names[ns]);
}

/* The owner's loop: poll, read, run the command main gave. */
static void *
owner_main(void *arg)
{
	struct owner *o = arg;
	int op, i;

	for (;;) {
		op = atomic_load(&o->op);
		switch (op) {
		case OP_ADD:
			owner_add(o, o->op_ns);
			break;
		case OP_REMOVE:
			store_watch_remove(o->w, o->wid[o->op_ns]);
			break;
		case OP_CHURN:
			for (i = 0; i < 200; i++) {
				owner_add(o, o->op_ns);
				(void)owner_poll(o, 0);
				store_watch_remove(o->w, o->wid[o->op_ns]);
			}
			break;
		case OP_CLOSE:
			store_watch_close(o->w);
			o->w = NULL;
			break;
		case OP_QUIT:
			atomic_store(&o->op, OP_NONE);
			return NULL;
		}
		if (op != OP_NONE)
			atomic_store(&o->op, OP_NONE);
		if (o->w != NULL)
			(void)owner_poll(o, 20);
		else
			usleep(20000);
	}
}

/* Has the owner run op and waits until it is done. */
static void
owner_do(struct owner *o, enum op op, int ns)
{
	int i;

	o->op_ns = ns;
	atomic_store(&o->op, op);
	for (i = 0; i < 3000 && atomic_load(&o->op) != OP_NONE; i++)
		usleep(10000);
	if (atomic_load(&o->op) != OP_NONE)
		tap_bail("owner did not run op %d", op);
}

static int64_t
sql_int(PGconn *pg, const char *sql)
{
	PGresult *res = pgtest_sql_ok(pg, sql);
	int64_t v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

	PQclear(res);
	return v;
}

static void
notify(PGconn *pg, int ns)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT pg_notify('evdb_%lld', '')",
	    (long long)ns_ids[ns]);
	PQclear(pgtest_sql_ok(pg, sql));
}

/* The listening backends of this process. */
static int64_t
listeners(PGconn *pg)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity"
	    " WHERE application_name LIKE 'evdb/%%/%ld/watch'", (long)getpid());
	return sql_int(pg, sql);
}

/* Waits (about 10 s at most) until *counter exceeds base. */
static bool
wait_above(atomic_int *counter, int base)
{
	int i;

	for (i = 0; i < 1000 && atomic_load(counter) <= base; i++)
		usleep(10000);
	return atomic_load(counter) > base;
}

/*
 * Notifies ns every 100 ms until o heard it (about 10 s at most): a
 * notice sent while the listener reconnects is covered by the -1 only.
 */
static bool
notify_until_heard(PGconn *pg, struct owner *o, int ns)
{
	int base = atomic_load(&o->heard[ns]);
	int i, j;

	for (i = 0; i < 100; i++) {
		notify(pg, ns);
		for (j = 0; j < 10 && atomic_load(&o->heard[ns]) <= base; j++)
			usleep(10000);
		if (atomic_load(&o->heard[ns]) > base)
			return true;
	}
	return false;
}

/* Waits until the listening backends of this process are want. */
static int64_t
wait_listeners(PGconn *pg, int64_t want)
{
	int64_t n = -1;
	int i;

	for (i = 0; i < 100 && (n = listeners(pg)) != want; i++)
		usleep(100000);
	return n;
}

int
main(void)
{
	struct store_options opt;
	struct store_pool_stats ps;
	struct store_message_in in;
	struct store_write_result wr;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct owner a, b;
	const char *dir, *conninfo;
	char sql[256];
	PGconn *pg;
	int64_t old_pid, new_pid, reconnects;
	int i, base_a, base_b, base_c, lost_a, lost_b;
	bool readable;
	struct pollfd p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = pgtest_cluster("watch");
	conninfo = pgtest_database(dir, "pg_watch");
	memset(&opt, 0, sizeof(opt));
	opt.location = conninfo;
	opt.data_dir = "/nonexistent";
	opt.durability = DURABILITY_NORMAL;
	ok(store_open(&opt, &st) == EVDB_OK, "store_open on %s", conninfo);
	if (st == NULL)
		tap_bail("no store");
	if (store_conn_open(st, &c) != EVDB_OK)
		tap_bail("conn_open");
	for (i = 0; i < NNS; i++)
		if (store_ns_create(c, ns_names[i], HASH_A, NULL, NULL,
		    timefmt_now_us()) != EVDB_OK)
			tap_bail("ns_create %s", ns_names[i]);
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	for (i = 0; i < NNS; i++) {
		snprintf(sql, sizeof(sql), "SELECT id FROM evdb.namespaces"
		    " WHERE name = '%s'", ns_names[i]);
		ns_ids[i] = sql_int(pg, sql);
	}

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.st = b.st = st;
	if (store_conn_open(st, &a.c) != EVDB_OK ||
	    store_conn_open(st, &b.c) != EVDB_OK)
		tap_bail("conn_open");
	ok(store_watch_open(st, &a.w) == EVDB_OK && a.w != NULL, "watch A open");
	ok(store_watch_open(st, &b.w) == EVDB_OK && b.w != NULL, "watch B open");
	ok(store_watch_fd(a.w) != store_watch_fd(b.w), "each watch has a"
	    " descriptor of its own");
	owner_add(&a, NS_A);
	owner_add(&a, NS_C);
	owner_add(&b, NS_B);
	owner_add(&b, NS_C);
	is_int(listeners(pg), 1, "pg_stat_activity shows one evdb/<host>/%ld/"
	    "watch backend for two watches", (long)getpid());

	/* Anything owed from the opening, read away. */
	(void)owner_poll(&a, 0);
	(void)owner_poll(&b, 0);
	atomic_store(&a.lost, 0);
	atomic_store(&b.lost, 0);

	/* ---- a notice only B wants, drained by A's read ---- */
	notify(pg, NS_B);
	readable = false;
	for (i = 0; i < 100 && !readable; i++)
		readable = owner_poll(&a, 100);
	ok(readable, "A's descriptor becomes readable for a notice of wb (the"
	    " shared socket is in A's epoll set too)");
	is_int(atomic_load(&a.heard[NS_B]) + atomic_load(&a.strays) +
	    atomic_load(&a.lost), 0, "A hears nothing of wb");
	p.fd = store_watch_fd(b.w);
	p.events = POLLIN;
	ok(poll(&p, 1, 0) == 1, "B's descriptor is readable after A drained"
	    " the socket (B's eventfd)");
	(void)store_watch_read(b.w, owner_fn, &b);
	is_int(atomic_load(&b.heard[NS_B]), 1, "B hears wb once");
	p.fd = store_watch_fd(b.w);
	ok(poll(&p, 1, 0) == 0, "B's descriptor is quiet once read"
	    " (level-triggered, nothing left)");

	/* ---- the owners' threads from here on ---- */
	pthread_create(&a.tid, NULL, owner_main, &a);
	pthread_create(&b.tid, NULL, owner_main, &b);

	base_a = atomic_load(&a.heard[NS_C]);
	base_b = atomic_load(&b.heard[NS_C]);
	notify(pg, NS_C);
	ok(wait_above(&a.heard[NS_C], base_a), "A hears wc");
	ok(wait_above(&b.heard[NS_C], base_b), "B hears wc");

	memset(&in, 0, sizeof(in));
	in.stream = "s-1";
	in.stream_len = 3;
	in.type = "T";
	in.type_len = 1;
	in.data = "{}";
	in.data_len = 2;
	base_a = atomic_load(&a.heard[NS_A]);
	ok(store_write(c, "wa", &in, &wr) == EVDB_OK, "a write to wa");
	ok(wait_above(&a.heard[NS_A], base_a), "A hears the write to wa");

	/* ---- B's add/remove while A drains ---- */
	b.op_ns = NS_D;
	atomic_store(&b.op, OP_CHURN);
	for (i = 0; i < 200 && atomic_load(&b.op) != OP_NONE; i++) {
		notify(pg, i % 2 == 0 ? NS_A : NS_D);
		notify(pg, NS_C);
	}
	for (i = 0; i < 3000 && atomic_load(&b.op) != OP_NONE; i++)
		usleep(10000);
	ok(atomic_load(&b.op) == OP_NONE, "B's churn is done");
	owner_do(&b, OP_ADD, NS_D);
	ok(notify_until_heard(pg, &b, NS_D), "after 200 add/remove of wd"
	    " during A's drains, B adds wd and hears it");
	is_int(atomic_load(&a.heard[NS_D]) + atomic_load(&a.strays), 0,
	    "A never hears wd, nor any namespace it does not watch");
	is_int(listeners(pg), 1, "still one listener");

	/* ---- the listener is terminated ---- */
	snprintf(sql, sizeof(sql), "SELECT pid FROM pg_stat_activity"
	    " WHERE application_name LIKE 'evdb/%%/%ld/watch'", (long)getpid());
	old_pid = sql_int(pg, sql);
	lost_a = atomic_load(&a.lost);
	lost_b = atomic_load(&b.lost);
	(void)store_pool_stats(st, &ps);
	reconnects = ps.reconnects;
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
	    (long long)old_pid);
	PQclear(pgtest_sql_ok(pg, sql));
	ok(wait_above(&a.lost, lost_a), "A reports -1 after"
	    " pg_terminate_backend of the listener");
	ok(wait_above(&b.lost, lost_b), "B reports -1 too");
	is_int(wait_listeners(pg, 1), 1, "one listener again");
	snprintf(sql, sizeof(sql), "SELECT pid FROM pg_stat_activity"
	    " WHERE application_name LIKE 'evdb/%%/%ld/watch'", (long)getpid());
	new_pid = sql_int(pg, sql);
	ok(new_pid != old_pid, "it is a new backend (%lld, was %lld)",
	    (long long)new_pid, (long long)old_pid);
	ok(notify_until_heard(pg, &a, NS_A), "A hears wa after the reconnect");
	ok(notify_until_heard(pg, &b, NS_B), "B hears wb after the reconnect");
	ok(notify_until_heard(pg, &b, NS_D), "B hears wd (added before the"
	    " loss) after the reconnect");
	(void)store_pool_stats(st, &ps);
	ok(ps.reconnects > reconnects, "pool"
	    " stats count the reconnect (%lld, were %lld)",
	    (long long)ps.reconnects, (long long)reconnects);

	/* ---- remove, then close ---- */
	owner_do(&b, OP_REMOVE, NS_C);
	usleep(100000);
	base_c = atomic_load(&b.heard[NS_C]);
	ok(notify_until_heard(pg, &a, NS_C), "after B removed wc, A still"
	    " hears wc");
	usleep(200000);
	is_int(atomic_load(&b.heard[NS_C]), base_c, "and B does not");
	owner_do(&b, OP_CLOSE, 0);
	ok(notify_until_heard(pg, &a, NS_A), "after B closed, A still hears wa");
	is_int(listeners(pg), 1, "one listener for the one watch left");
	owner_do(&a, OP_CLOSE, 0);
	is_int(wait_listeners(pg, 0), 0, "no listener once both watches closed");
	is_int(atomic_load(&b.strays), 0, "B never heard a namespace it does"
	    " not watch");

	owner_do(&a, OP_QUIT, 0);
	owner_do(&b, OP_QUIT, 0);
	pthread_join(a.tid, NULL);
	pthread_join(b.tid, NULL);
	store_conn_close(a.c);
	store_conn_close(b.c);
	store_conn_close(c);
	store_close(st);
	PQfinish(pg);
	tap_plan(tap_run);
	return tap_done();
}
