/*
 * store_t.c - the store on a temporary data directory: namespaces, writes
 * with expectedVersion and idempotent ids, reads of streams and categories
 * (consumer groups, correlation), listings, import, the poke reads, a
 * retention pass that leaves no file open, and group commit under
 * concurrent writers.
 */
#include "config.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "store/store.h"
#include "core/streamname.h"
#include "core/timefmt.h"
#include "core/token.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct collect {
	int n;				/* rows seen */
	char stream[8][64];		/* first rows' stream names */
	int64_t pos[64];		/* positions */
	int64_t gpos[64];		/* global positions */
	char data[256];			/* last row's data */
	bool meta_null;			/* last row had no metadata */
};

/* The descriptors this process has open now. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		tap_bail("opendir /proc/self/fd");
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;			/* the directory's own */
}

static enum evdb_status
collect_row(void *ctx, const struct store_message *m)
{
	struct collect *c = ctx;

	if (c->n < 8)
		snprintf(c->stream[c->n], sizeof(c->stream[0]), "%.*s",
		    (int)m->stream_len, m->stream);
	if (c->n < 64) {
		c->pos[c->n] = m->position;
		c->gpos[c->n] = m->global_position;
	}
	snprintf(c->data, sizeof(c->data), "%.*s", (int)m->data_len,
	    m->data ? m->data : "");
	c->meta_null = m->metadata == NULL;
	c->n++;
	return EVDB_OK;
}

static enum evdb_status
write_ok(struct store_conn *c, const char *ns, const char *stream,
    const char *meta, int64_t expected, struct store_write_result *r)
{
	struct store_message_in in;

	memset(&in, 0, sizeof(in));
	in.stream = stream;
	in.stream_len = strlen(stream);
	in.type = "T";
	in.type_len = 1;
	in.data = "{\"k\":1}";
	in.data_len = 7;
	in.metadata = meta;
	in.metadata_len = meta ? strlen(meta) : 0;
	in.expect = expected != -2 ? STORE_EXPECT_VERSION : STORE_EXPECT_ANY;
	in.expected_version = expected;
	return store_write(c, ns, &in, r);
}

struct writer_arg {
	struct store *st;	/* shared store */
	int writes;		/* how many to make */
	int failures;		/* writes that did not succeed */
};

static void *
writer_main(void *arg)
{
	struct writer_arg *w = arg;
	struct store_conn *c = NULL;
	struct store_write_result r;
	int i;

	if (store_conn_open(w->st, &c) != EVDB_OK) {
		w->failures = w->writes;
		return NULL;
	}
	for (i = 0; i < w->writes; i++)
		if (write_ok(c, "default", "race-1", NULL, -2, &r) != EVDB_OK)
			w->failures++;
	store_conn_close(c);
	return NULL;
}

/* Rows that must be at positions 0, 1, ... and global positions 1, 2, ... */
struct order_check {
	int n;
	int bad;
};

static enum evdb_status
order_row(void *ctx, const struct store_message *m)
{
	struct order_check *oc = ctx;

	if (m->position != oc->n || m->global_position != oc->n + 1)
		oc->bad++;
	oc->n++;
	return EVDB_OK;
}

static enum evdb_status
count_ns(void *ctx, const struct store_ns_info *ns)
{
	(*(int *)ctx)++;
	return EVDB_OK;
}

/* What a store_watch_fn saw: how many notices, and the last id. */
struct watch_seen {
	int n;				/* notices */
	int64_t id;			/* id of the last one */
};

static void
watch_seen_fn(void *ctx, int64_t id)
{
	struct watch_seen *ws = ctx;

	ws->n++;
	ws->id = id;
}

static enum evdb_status
count_poke(void *ctx, const struct store_poke *p)
{
	(*(int *)ctx)++;
	return EVDB_OK;
}

/* Counts summary rows; stops with EVDB_ERR_LIMIT after *ctx reaches 1. */
static enum evdb_status
stop_summary(void *ctx, const struct store_summary_row *r)
{
	return ++*(int *)ctx >= 1 ? EVDB_ERR_LIMIT : EVDB_OK;
}

int
main(void)
{
	char dir[] = "/tmp/evdb-store-t-XXXXXX";
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct store_write_result r, r2;
	struct store_message_in in;
	struct store_stream_query sq;
	struct store_category_query cq;
	struct store_import_record rec[2];
	struct store_import_outcome io;
	struct collect col;
	pthread_t threads[4];
	struct writer_arg wa[4];
	char hash[TOKEN_HASH_HEX_LEN + 1];
	enum evdb_status rs;
	int64_t v, deleted;
	int i, n, gaps;

	tap_plan(63);
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp: cannot create a temporary directory");
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = 5000;
	opt.log = NULL;
	ok(store_open(&opt, &st) == EVDB_OK, "store opens on a fresh directory");
	ok(store_conn_open(st, &c) == EVDB_OK, "a connection opens");
	if (st == NULL || c == NULL)
		tap_bail("cannot continue without a store");

	/* Namespaces. */
	ok(store_ns_token_hash(c, "default", hash) == EVDB_ERR_NOT_FOUND,
	    "an unknown namespace is not found");
	ok(store_ns_create(c, "default", HASH_A, "Default namespace", NULL, 1) == EVDB_OK,
	    "create the default namespace");
	ok(store_ns_create(c, "default", HASH_A, NULL, NULL, 2) == EVDB_ERR_EXISTS,
	    "creating it again says it exists");
	ok(store_ns_create(c, "../etc", HASH_A, NULL, NULL, 2) == EVDB_ERR_INVALID,
	    "a name with a path separator is refused");
	ok(store_ns_token_hash(c, "default", hash) == EVDB_OK &&
	    strcmp(hash, HASH_A) == 0, "the stored token hash comes back");

	/* Writes and expectedVersion. */
	ok(write_ok(c, "default", "account-1", NULL, -1, &r) == EVDB_OK &&
	    r.position == 0 && r.global_position == 1,
	    "first write: position 0, global position 1");
	ok(write_ok(c, "default", "account-1", "{\"correlationStreamName\":\"order-9\"}",
	    0, &r) == EVDB_OK && r.position == 1 && r.global_position == 2,
	    "expectedVersion 0 appends at position 1");
	is_int(write_ok(c, "default", "account-1", NULL, 0, &r),
	    EVDB_ERR_VERSION_CONFLICT, "a stale expectedVersion conflicts");
	is_int(r.actual_version, 1, "the conflict reports the actual version");
	is_int(write_ok(c, "default", "account-2", NULL, 5, &r),
	    EVDB_ERR_VERSION_CONFLICT, "expectedVersion on an empty stream conflicts");
	is_int(r.actual_version, -1, "an empty stream is at version -1");

	/* Idempotent ids. */
	memset(&in, 0, sizeof(in));
	in.stream = "account-3";
	in.stream_len = 9;
	in.type = "Opened";
	in.type_len = 6;
	in.id = "0b7e7a0e-3f57-4b67-9d36-0a6a1b1c9a10";
	in.id_len = 36;
	in.data = "{}";
	in.data_len = 2;
	ok(store_write(c, "default", &in, &r) == EVDB_OK && !r.duplicate,
	    "a write with an id");
	ok(store_write(c, "default", &in, &r2) == EVDB_OK && r2.duplicate &&
	    r2.position == r.position && r2.global_position == r.global_position,
	    "the same id in the same stream returns the original positions");
	in.stream = "account-4";
	is_int(store_write(c, "default", &in, &r2), EVDB_ERR_ID_CONFLICT,
	    "the same id in another stream is an id conflict");
	ok(store_stream_version(c, "default", "account-3", 9, &v) == EVDB_OK && v == 0,
	    "the retry wrote nothing");

	/* Stream reads. */
	memset(&sq, 0, sizeof(sq));
	sq.stream = "account-1";
	sq.stream_len = 9;
	sq.limit = -1;
	memset(&col, 0, sizeof(col));
	ok(store_read_stream(c, "default", &sq, collect_row, &col) == EVDB_OK &&
	    col.n == 2 && col.pos[0] == 0 && col.pos[1] == 1, "stream.get reads both");
	is_str(col.data, "{\"k\":1}", "data comes back byte for byte");
	sq.position = 1;
	memset(&col, 0, sizeof(col));
	ok(store_read_stream(c, "default", &sq, collect_row, &col) == EVDB_OK &&
	    col.n == 1 && col.pos[0] == 1, "from position 1");
	sq.by_global = true;
	sq.global_position = 2;
	memset(&col, 0, sizeof(col));
	ok(store_read_stream(c, "default", &sq, collect_row, &col) == EVDB_OK &&
	    col.n == 1 && col.gpos[0] == 2, "by global position");
	memset(&col, 0, sizeof(col));
	ok(store_read_last(c, "default", "account-1", 9, NULL, 0, collect_row, &col) ==
	    EVDB_OK && col.n == 1 && col.pos[0] == 1 && !col.meta_null,
	    "stream.last gives the newest, with its metadata");
	memset(&col, 0, sizeof(col));
	ok(store_read_last(c, "default", "account-1", 9, "None", 4, collect_row, &col) ==
	    EVDB_OK && col.n == 0, "stream.last of a missing type gives nothing");

	/* Category reads: correlation and consumer groups. */
	for (i = 1; i <= 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "testcat5-%d", i);
		write_ok(c, "default", name, NULL, -2, &r);
	}
	memset(&cq, 0, sizeof(cq));
	cq.category = "account";
	cq.category_len = 7;
	cq.limit = -1;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 3, "category.get reads the account category");
	cq.correlation = "order";
	cq.correlation_len = 5;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 1 && col.gpos[0] == 2, "correlation keeps category(order-9) == order");
	cq.correlation = "Order";
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 0, "correlation is case-sensitive");
	cq.correlation = "ord";
	cq.correlation_len = 3;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 0, "correlation is not a prefix match");
	memset(&cq, 0, sizeof(cq));
	cq.category = "testcat5";
	cq.category_len = 8;
	cq.limit = -1;
	cq.group_size = 2;
	cq.group_member = 0;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 2 && strcmp(col.stream[0], "testcat5-1") == 0 &&
	    strcmp(col.stream[1], "testcat5-3") == 0,
	    "CATEGORY-005: member 0 of 2 gets testcat5-1 and -3");
	cq.group_member = 1;
	cq.limit = 1;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 1 && strcmp(col.stream[0], "testcat5-2") == 0,
	    "member 1 with batchSize 1 gets testcat5-2: the limit counts after grouping");
	memset(&cq, 0, sizeof(cq));
	cq.limit = -1;
	cq.global_position = 3;
	memset(&col, 0, sizeof(col));
	ok(store_read_category(c, "default", &cq, collect_row, &col) == EVDB_OK &&
	    col.n == 5 && col.gpos[0] == 3, "an empty category reads the whole namespace");

	/* Concurrent writers: group commit keeps positions gapless. */
	for (i = 0; i < 4; i++) {
		wa[i].st = st;
		wa[i].writes = 50;
		wa[i].failures = 0;
		pthread_create(&threads[i], NULL, writer_main, &wa[i]);
	}
	for (i = 0, n = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		n += wa[i].failures;
	}
	is_int(n, 0, "200 concurrent writes from 4 threads all succeed");
	memset(&sq, 0, sizeof(sq));
	sq.stream = "race-1";
	sq.stream_len = 6;
	sq.limit = -1;
	memset(&col, 0, sizeof(col));
	store_read_stream(c, "default", &sq, collect_row, &col);
	for (i = 0, gaps = 0; i < 64 && i < col.n; i++)
		if (col.pos[i] != i || (i > 0 && col.gpos[i] <= col.gpos[i - 1]))
			gaps++;
	ok(col.n == 200 && gaps == 0, "positions 0..199 gapless, global positions increasing");

	/* Listings. */
	n = 0;
	ok(store_ns_create(c, "tenant-a", HASH_A, "A", "{\"x\":1}", 3) == EVDB_OK &&
	    store_ns_list(c, count_ns, &n) == EVDB_OK && n == 2, "ns.list lists two");
	write_ok(c, "tenant-a", "account-1", NULL, -1, &r);
	ok(r.global_position == 1, "each namespace has its own global sequence");
	memset(&col, 0, sizeof(col));
	sq.stream = "account-1";
	sq.stream_len = 9;
	ok(store_read_stream(c, "tenant-a", &sq, collect_row, &col) == EVDB_OK &&
	    col.n == 1, "the same stream name in another namespace is unrelated");

	/* Poke reads (what the SSE hub uses). */
	ok(store_head(c, "tenant-a", &v) == EVDB_OK && v == 1, "head of tenant-a is 1");
	n = 0;
	ok(store_poke_tail(c, "default", 200, 1000, count_poke, &n) == EVDB_OK && n > 0,
	    "the tail above a position");
	{
		struct store_poke_query pq;

		memset(&pq, 0, sizeof(pq));
		pq.kind = STORE_POKE_STREAM;
		pq.name = "account-1";
		pq.name_len = 9;
		pq.min_position = 1;
		pq.after_gpos = 0;
		pq.upto_gpos = 1000;
		pq.limit = 100;
		n = 0;
		ok(store_poke_range(c, "default", &pq, count_poke, &n) == EVDB_OK && n == 1,
		    "a stream's pokes from a stream position");
	}
	{
		struct store_watch *w = NULL;
		struct watch_seen seen = { 0, 0 };
		struct store_write_result wr;
		struct pollfd pfd;
		int64_t id = -1;

		ok(store_watch_open(st, &w) == EVDB_OK && w != NULL &&
		    store_watch_add(w, c, "default", &id) == EVDB_OK && id >= 0,
		    "a watch on a namespace");
		(void)store_watch_read(w, watch_seen_fn, &seen);
		seen.n = 0;
		ok(write_ok(c, "default", "watch-1", NULL, -2, &wr) == EVDB_OK,
		    "a write while watched");
		pfd.fd = store_watch_fd(w);
		pfd.events = POLLIN;
		ok(poll(&pfd, 1, 5000) == 1, "the watch is readable after a commit");
		seen.id = -2;
		ok(store_watch_read(w, watch_seen_fn, &seen) == EVDB_OK &&
		    seen.n >= 1 && seen.id == id,
		    "store_watch_read names the namespace written (%d notices)",
		    seen.n);
		store_watch_remove(w, id);
		store_watch_close(w);
		ok(strcmp(store_backend_name(st), "sqlite") == 0,
		    "the backend is sqlite");
	}

	/* Import with positions, then ordinary writes continue after them. */
	memset(rec, 0, sizeof(rec));
	for (i = 0; i < 2; i++) {
		rec[i].id = i == 0 ? "imp-1" : "imp-2";
		rec[i].id_len = 5;
		rec[i].stream = "imp-1";
		rec[i].stream_len = 5;
		rec[i].type = "T";
		rec[i].type_len = 1;
		rec[i].position = i;
		rec[i].global_position = 10 + i;
		rec[i].time_us = 1000000;
	}
	ok(store_import_batch(c, "tenant-a", rec, 2, false, &io) == EVDB_OK &&
	    io.inserted == 2, "an import batch");
	ok(store_import_batch(c, "tenant-a", rec, 1, false, &io) == EVDB_OK &&
	    io.skipped == 1 && io.inserted == 0,
	    "a record identical to the stored one is skipped (a resumed import)");
	rec[0].type = "U";
	ok(store_import_batch(c, "tenant-a", rec, 1, false, &io) == EVDB_ERR_EXISTS &&
	    io.refusal == STORE_IMPORT_DIFFERS && io.refused == 0,
	    "importing another message at a taken global position fails");
	ok(write_ok(c, "tenant-a", "after-1", NULL, -2, &r) == EVDB_OK &&
	    r.global_position == 12, "writes continue at max(global position) + 1");
	ok(store_import_finish(c, "tenant-a") == EVDB_OK, "totals recomputed");
	ok(store_import_clear(c, "tenant-a") == EVDB_OK &&
	    store_head(c, "tenant-a", &v) == EVDB_OK && v == 0,
	    "a forced import clears the namespace");

	/* Deletion. */
	ok(store_ns_delete(c, "tenant-a", &deleted) == EVDB_OK && deleted == 0,
	    "ns.delete of a cleared namespace deletes 0 messages");
	ok(store_ns_delete(c, "tenant-a", &deleted) == EVDB_ERR_NOT_FOUND,
	    "deleting it again: not found");
	ok(store_ns_create(c, "tenant-a", HASH_A, NULL, NULL, 4) == EVDB_OK &&
	    store_head(c, "tenant-a", &v) == EVDB_OK && v == 0,
	    "a namespace created again starts empty (new generation, new file)");

	/*
	 * Writes commit on the write queue's own connection (store_write.c);
	 * deleting the namespace must close it, not keep the deleted file.
	 */
	ok(store_ns_create(c, "tenant-b", HASH_A, NULL, NULL, 5) == EVDB_OK,
	    "create tenant-b");
	n = (int)store_connection_count(st);
	rs = write_ok(c, "tenant-b", "b-1", NULL, -2, &r);
	v = store_connection_count(st);
	ok(rs == EVDB_OK && v == n + 2, "a first write opens this thread's "
	    "connection and the queue's writer connection (%d -> %lld)", n,
	    (long long)v);
	rs = store_ns_delete(c, "tenant-b", &deleted);
	v = store_connection_count(st);
	ok(rs == EVDB_OK && deleted == 1 && v == n,
	    "deleting it closes both (%lld, want %d)", (long long)v, n);

	/* Summaries (evdb report): the figures are tests/ops/report*.sh's. */
	{
		struct store_summary_totals tot = { -1, -1 };
		struct store *none = NULL;
		char missing[sizeof(dir) + 16];

		n = 0;
		ok(store_ns_summary(c, "default", STORE_SUMMARY_TYPES, -1,
		    stop_summary, &n, &tot) == EVDB_ERR_LIMIT && n == 1,
		    "a summary callback's status stops the read and is returned");
		ok(store_ns_summary(c, "no-such", STORE_SUMMARY_STREAMS, -1,
		    stop_summary, &n, &tot) == EVDB_ERR_NOT_FOUND,
		    "a summary of an unknown namespace: not found");
		ok(store_ns_summary(c, "default", (enum store_summary_kind)7, -1,
		    stop_summary, &n, &tot) == EVDB_ERR_INVALID,
		    "a summary of an unknown kind: invalid");
		snprintf(missing, sizeof(missing), "%s/missing", dir);
		opt.data_dir = missing;
		opt.must_exist = true;
		ok(store_open(&opt, &none) == EVDB_ERR_NOT_FOUND && none == NULL &&
		    access(missing, F_OK) != 0,
		    "must_exist: no store where there is none, and nothing created");
		opt.data_dir = dir;
		ok(store_open(&opt, &none) == EVDB_OK && none != NULL,
		    "must_exist: an existing store opens");
		store_close(none);
	}

	/*
	 * A retention pass (the sweeper's own connection visits every
	 * namespace once) leaves no namespace's files open behind it: before,
	 * the connection's cache kept up to 32 of them, some 100 descriptors.
	 */
	{
		struct store_conn *sw = NULL;
		char name[16];
		int64_t removed = 0;
		int before, after, bad = 0;

		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "sweep%d", i);
			if (store_ns_create(c, name, HASH_A, NULL, NULL, 1) != EVDB_OK ||
			    write_ok(c, name, "thing-1", NULL, -1, &r) != EVDB_OK)
				tap_bail("sweep setup: %s", store_conn_errmsg(c));
		}
		/* Reopened, so that no other connection of this process holds
		 * the files: SQLite defers closing a file another connection
		 * has open (its POSIX locks), which would hide the closes. */
		store_conn_close(c);
		store_close(st);
		if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) !=
		    EVDB_OK || store_conn_open(st, &sw) != EVDB_OK)
			tap_bail("store reopen");
		before = open_fds();
		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "sweep%d", i);
			bad += store_retention_sweep(sw, name, 0, 1000, &removed) !=
			    EVDB_OK;
		}
		after = open_fds();
		if (!ok(bad == 0 && removed == 0 && after <= before + 4,
		    "a retention pass over 40 namespaces leaves none of their files open"))
			tap_diag("%d failed, %lld removed, fds %d -> %d", bad,
			    (long long)removed, before, after);
		store_conn_close(sw);
	}

	store_conn_close(c);
	store_close(st);

	/*
	 * Group commit under durability full, where a leader may wait for
	 * more writers before it commits (write_gather): every write is
	 * acknowledged, positions 0..199 gapless, global positions 1..200.
	 */
	{
		char fdir[] = "/tmp/evdb-store-t-full-XXXXXX", cmd[128];
		struct writer_arg fw[4];
		pthread_t ft[4];
		struct order_check oc;

		if (mkdtemp(fdir) == NULL)
			tap_bail("mkdtemp");
		opt.data_dir = fdir;
		opt.must_exist = false;
		opt.durability = DURABILITY_FULL;
		if (store_open(&opt, &st) != EVDB_OK ||
		    store_conn_open(st, &c) != EVDB_OK ||
		    store_ns_create(c, "default", HASH_A, NULL, NULL, 1) != EVDB_OK)
			tap_bail("store setup (full)");
		for (i = 0; i < 4; i++) {
			fw[i].st = st;
			fw[i].writes = 50;
			fw[i].failures = 0;
			pthread_create(&ft[i], NULL, writer_main, &fw[i]);
		}
		for (i = 0, n = 0; i < 4; i++) {
			pthread_join(ft[i], NULL);
			n += fw[i].failures;
		}
		is_int(n, 0, "durability full: 200 concurrent writes from 4 threads all succeed");
		memset(&sq, 0, sizeof(sq));
		sq.stream = "race-1";
		sq.stream_len = 6;
		sq.limit = -1;
		memset(&oc, 0, sizeof(oc));
		store_read_stream(c, "default", &sq, order_row, &oc);
		ok(oc.n == 200 && oc.bad == 0,
		    "durability full: positions 0..199 and global positions 1..200, gapless");
		store_conn_close(c);
		store_close(st);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fdir);
		(void)!system(cmd);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
