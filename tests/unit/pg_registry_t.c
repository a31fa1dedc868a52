/*
 * pg_registry_t.c - namespace lookups on PostgreSQL (pg_registry.c): a
 * connection keeps the registry rows it has read across requests while its
 * store's listener hears the registry, and still never writes into a
 * namespace another host deleted, or deleted and made again.
 *
 * Two stores on one database stand for two hosts: A (with a watch open,
 * as the server's SSE hub and long-poll loop hold theirs, so that its
 * listener runs) and B.  The database logs every statement
 * (log_statement = all), and the test counts the statements A's backend
 * ran in the cluster's log:
 *  - 20 requests of A, each the token lookup of authentication and one
 *    stream.write, after a first one: no registry lookup (ns_lookup) and
 *    the batch's 6 statements per request, nothing else;
 *  - B deletes a namespace A has cached: A's token lookup says so within
 *    2 s without A writing (the registry notice);
 *  - B deletes a namespace between A's lookup and A's write in one
 *    request: the write fails with EVDB_ERR_NOT_FOUND, as a lookup that
 *    finds no row, and so does a read (through the dropped schema, or a
 *    lookup after the notice); A's next lookup finds no row;
 *  - B deletes and makes again a namespace between A's lookup and A's
 *    write: the write fails with EVDB_ERR_NOT_FOUND and the new namespace
 *    holds nothing (the request authenticated against the old one); A's
 *    next request writes into the new one;
 *  - a hash cached by A from before B made the namespace again is
 *    replaced after store_ns_refresh;
 *  - with A's listener closed (a row then lives one request), the same
 *    within one request: the batch's guard (evdb.namespace_check) fails
 *    the write, and nothing lands in the namespace made again.
 *
 * Needs a cluster: EVDB_E2E_PGDIR's, or a private one (tests/pgtest.h).
 */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "store/store.h"
#include "core/timefmt.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ROUNDS 20		/* counted requests */
#define BATCH_STATEMENTS 6	/* BEGIN, 2 locks, the item, notify, COMMIT */

static char log_path[512];	/* the cluster's server log */
static PGconn *pg;		/* the test's own connection */

/* Size of the server log now: where the next statements start. */
static long
log_mark(void)
{
	FILE *f = fopen(log_path, "r");
	long n;

	if (f == NULL)
		tap_bail("%s: cannot open the server log", log_path);
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/*
 * Counts, in the log from offset from on, the statements of the backend
 * whose pid is "[pid]" (all: every "LOG:  execute" or "LOG:  statement"
 * line; lookups: those of ns_lookup).
 */
static void
log_count(long from, const char *pid, int *all, int *lookups)
{
	char line[8192];
	FILE *f = fopen(log_path, "r");

	*all = *lookups = 0;
	if (f == NULL)
		tap_bail("%s: cannot open the server log", log_path);
	(void)fseek(f, from, SEEK_SET);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, pid) == NULL)
			continue;
		if (strstr(line, "LOG:  execute ") == NULL &&
		    strstr(line, "LOG:  statement: ") == NULL)
			continue;
		(*all)++;
		if (strstr(line, "execute ns_lookup") != NULL)
			(*lookups)++;
	}
	fclose(f);
}

/* The pid ("[n]") of the backend that ran the last "execute w_" line after from. */
static void
log_writer_pid(long from, char *out, size_t out_size)
{
	char line[8192], *p, *q;
	FILE *f = fopen(log_path, "r");

	out[0] = '\0';
	if (f == NULL)
		tap_bail("%s: cannot open the server log", log_path);
	(void)fseek(f, from, SEEK_SET);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "LOG:  execute w_") != NULL &&
		    (p = strchr(line, '[')) != NULL && (q = strchr(p, ']')) != NULL)
			snprintf(out, out_size, "%.*s", (int)(q - p + 1), p);
	fclose(f);
}

/* One SQL answer's first value as an integer (-1 on failure). */
static long long
sql_int(const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	long long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* The registry id of ns (-1 when none). */
static long long
ns_id(const char *ns)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT coalesce((SELECT id FROM"
	    " evdb.namespaces WHERE name = '%s'), -1)", ns);
	return sql_int(sql);
}

/* Messages in the schema of registry id id (-1: no such table). */
static long long
schema_count(long long id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT CASE WHEN to_regclass("
	    "'evdb_ns_%lld.messages') IS NULL THEN -1 ELSE 0 END", id);
	if (sql_int(sql) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM evdb_ns_%lld.messages", id);
	return sql_int(sql);
}

static void
ns_make(struct store_conn *c, const char *ns, const char *hash)
{
	if (store_ns_create(c, ns, hash, NULL, NULL, timefmt_now_us()) != EVDB_OK)
		tap_bail("ns_create %s: %s", ns, store_conn_errmsg(c));
}

static void
ns_drop(struct store_conn *c, const char *ns)
{
	int64_t n;

	if (store_ns_delete(c, ns, &n) != EVDB_OK)
		tap_bail("ns_delete %s: %s", ns, store_conn_errmsg(c));
}

static enum evdb_status
write_one(struct store_conn *c, const char *ns)
{
	struct store_message_in in;
	struct store_write_result wr;

	memset(&in, 0, sizeof(in));
	in.stream = "acct-1";
	in.stream_len = 6;
	in.type = "T";
	in.type_len = 1;
	in.data = "{}";
	in.data_len = 2;
	in.expect = STORE_EXPECT_ANY;
	return store_write(c, ns, &in, &wr);
}

static enum evdb_status
count_fn(void *ctx, const struct store_message *m)
{
	(void)m;
	(*(int *)ctx)++;
	return EVDB_OK;
}

static enum evdb_status
read_all(struct store_conn *c, const char *ns, int *n)
{
	struct store_stream_query q;

	memset(&q, 0, sizeof(q));
	q.stream = "acct-1";
	q.stream_len = 6;
	q.limit = -1;
	*n = 0;
	return store_read_stream(c, ns, &q, count_fn, n);
}

/* One request of A: authentication's lookup alone. */
static enum evdb_status
token_of(struct store_conn *c, const char *ns, char hash[TOKEN_HASH_HEX_LEN + 1])
{
	enum evdb_status rs;

	store_conn_request_begin(c);
	rs = store_ns_token_hash(c, ns, hash);
	store_conn_request_end(c);
	return rs;
}

/* One request of A: authentication's lookup and one write. */
static enum evdb_status
request_write(struct store_conn *c, const char *ns)
{
	char hash[TOKEN_HASH_HEX_LEN + 1];
	enum evdb_status rs;

	store_conn_request_begin(c);
	if ((rs = store_ns_token_hash(c, ns, hash)) == EVDB_OK)
		rs = write_one(c, ns);
	store_conn_request_end(c);
	return rs;
}

int
main(void)
{
	struct store_options opt;
	struct store *sa = NULL, *sb = NULL;
	struct store_conn *a = NULL, *b = NULL;
	struct store_watch *w = NULL;
	char hash[TOKEN_HASH_HEX_LEN + 1], sql[512], pid[32], errmsg[512];
	const char *dir, *conninfo, *db;
	enum evdb_status rs, rs2;
	long mark;
	long long old_id, new_id;
	int i, all, lookups, failed, n;
	int64_t t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = pgtest_cluster("registry");
	conninfo = pgtest_database(dir, "pg_registry");
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	db = PQdb(pg);
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET log_statement = 'all'", db);
	PQclear(pgtest_sql_ok(pg, sql));

	memset(&opt, 0, sizeof(opt));
	opt.location = conninfo;
	opt.data_dir = "/nonexistent";
	opt.durability = DURABILITY_NORMAL;
	if (store_open(&opt, &sa) != EVDB_OK || store_open(&opt, &sb) != EVDB_OK ||
	    store_conn_open(sa, &a) != EVDB_OK || store_conn_open(sb, &b) != EVDB_OK)
		tap_bail("store_open on %s", conninfo);
	/* The server's hub holds a watch: so A's listener runs. */
	ok(store_watch_open(sa, &w) == EVDB_OK, "store A opens a watch");

	/* --- statements per request ---------------------------------------- */
	ns_make(b, "rt", HASH_A);
	store_conn_request_begin(a);
	rs = store_ns_token_hash(a, "rt", hash);
	rs2 = write_one(a, "rt");
	store_conn_request_end(a);
	ok(rs == EVDB_OK && rs2 == EVDB_OK && strcmp(hash, HASH_A) == 0,
	    "A looks up and writes a namespace B made (%s, %s)", evdb_strerror(rs),
	    evdb_strerror(rs2));
	/* B's notice of rt may come after A's first lookup: let it arrive. */
	usleep(200000);
	(void)token_of(a, "rt", hash);
	mark = log_mark();
	failed = 0;
	for (i = 0; i < ROUNDS; i++) {
		store_conn_request_begin(a);
		if (store_ns_token_hash(a, "rt", hash) != EVDB_OK ||
		    strcmp(hash, HASH_A) != 0 || write_one(a, "rt") != EVDB_OK)
			failed++;
		store_conn_request_end(a);
	}
	ok(failed == 0, "%d requests (token lookup + stream.write): %d failed",
	    ROUNDS, failed);
	log_writer_pid(mark, pid, sizeof(pid));
	log_count(mark, pid, &all, &lookups);
	ok(pid[0] != '\0' && lookups == 0, "no registry lookup in %d requests"
	    " (backend %s ran %d)", ROUNDS, pid, lookups);
	ok(all == ROUNDS * BATCH_STATEMENTS, "%d statements per stream.write"
	    " request (%d in %d requests)", all / ROUNDS, all, ROUNDS);

	/* --- a notice alone makes A forget ----------------------------------- */
	ns_make(b, "rt-n", HASH_A);
	ok(token_of(a, "rt-n", hash) == EVDB_OK, "A caches rt-n");
	ns_drop(b, "rt-n");
	t0 = timefmt_now_us();
	while ((rs = token_of(a, "rt-n", hash)) == EVDB_OK &&
	    timefmt_now_us() - t0 < 2000000)
		usleep(2000);
	ok(rs == EVDB_ERR_NOT_FOUND, "B deletes rt-n: A's lookup says so after"
	    " %lld us, without a write (%s)",
	    (long long)(timefmt_now_us() - t0), evdb_strerror(rs));

	/* --- deleted elsewhere while A's row is old --------------------------- */
	ns_make(b, "rt-d", HASH_A);
	ok(request_write(a, "rt-d") == EVDB_OK, "A writes rt-d (its statements"
	    " prepared)");
	old_id = ns_id("rt-d");
	store_conn_request_begin(a);
	(void)store_ns_token_hash(a, "rt-d", hash);
	ns_drop(b, "rt-d");
	rs = write_one(a, "rt-d");
	snprintf(errmsg, sizeof(errmsg), "%s", store_conn_errmsg(a));
	rs2 = read_all(a, "rt-d", &n);
	store_conn_request_end(a);
	ok(rs == EVDB_ERR_NOT_FOUND, "B deletes rt-d after A's lookup: A's write"
	    " fails NOT_FOUND (%s: %s)", evdb_strerror(rs), errmsg);
	ok(rs2 == EVDB_ERR_NOT_FOUND, "and A's read too (%s)", evdb_strerror(rs2));
	ok(schema_count(old_id) == -1, "its schema is gone");
	ok(token_of(a, "rt-d", hash) == EVDB_ERR_NOT_FOUND, "A's next lookup"
	    " finds no row");

	/* A read through an old row: the schema it names is gone. */
	ns_make(b, "rt-q", HASH_A);
	store_conn_request_begin(a);
	rs = read_all(a, "rt-q", &n);
	store_conn_request_end(a);
	ok(rs == EVDB_OK && n == 0, "A reads rt-q (%s)", evdb_strerror(rs));
	store_conn_request_begin(a);
	(void)store_ns_token_hash(a, "rt-q", hash);
	ns_drop(b, "rt-q");
	rs = read_all(a, "rt-q", &n);
	store_conn_request_end(a);
	ok(rs == EVDB_ERR_NOT_FOUND, "B deletes rt-q after A's lookup: A's read"
	    " fails NOT_FOUND (%s)", evdb_strerror(rs));

	/* --- deleted and made again elsewhere --------------------------------- */
	ns_make(b, "rt-r", HASH_A);
	ok(request_write(a, "rt-r") == EVDB_OK, "A writes rt-r");
	old_id = ns_id("rt-r");
	store_conn_request_begin(a);
	(void)store_ns_token_hash(a, "rt-r", hash);
	ns_drop(b, "rt-r");
	ns_make(b, "rt-r", HASH_B);
	new_id = ns_id("rt-r");
	rs = write_one(a, "rt-r");
	snprintf(errmsg, sizeof(errmsg), "%s", store_conn_errmsg(a));
	store_conn_request_end(a);
	ok(rs == EVDB_ERR_NOT_FOUND && new_id != old_id,
	    "B deletes and makes rt-r again (id %lld -> %lld) after A's lookup:"
	    " A's write fails NOT_FOUND (%s: %s)", old_id, new_id,
	    evdb_strerror(rs), errmsg);
	ok(schema_count(new_id) == 0 && schema_count(old_id) == -1,
	    "nothing landed in the new rt-r (%lld), the old schema is gone",
	    schema_count(new_id));
	store_conn_request_begin(a);
	rs = store_ns_token_hash(a, "rt-r", hash);
	rs2 = write_one(a, "rt-r");
	store_conn_request_end(a);
	ok(rs == EVDB_OK && strcmp(hash, HASH_B) == 0 && rs2 == EVDB_OK,
	    "A's next request sees the new token hash and writes (%s, %s)",
	    evdb_strerror(rs), evdb_strerror(rs2));
	ok(schema_count(new_id) == 1, "into the new rt-r (%lld message)",
	    schema_count(new_id));
	store_conn_request_begin(b);
	rs = read_all(b, "rt-r", &n);
	store_conn_request_end(b);
	ok(rs == EVDB_OK && n == 1, "B reads it there (%d)", n);

	/* --- store_ns_refresh ------------------------------------------------- */
	ns_make(b, "rt-h", HASH_A);
	ok(token_of(a, "rt-h", hash) == EVDB_OK, "A caches rt-h");
	ns_drop(b, "rt-h");
	ns_make(b, "rt-h", HASH_B);
	store_conn_request_begin(a);
	ok(store_ns_refresh(a, "rt-h"), "store_ns_refresh: A had a row of rt-h");
	rs = store_ns_token_hash(a, "rt-h", hash);
	ok(rs == EVDB_OK && strcmp(hash, HASH_B) == 0, "and then reads the new"
	    " token hash (%s)", evdb_strerror(rs));
	ok(!store_ns_refresh(a, "rt-none"), "store_ns_refresh of a name never"
	    " looked up: false");
	store_conn_request_end(a);

	/*
	 * --- the write batch's guard ------------------------------------------
	 * Without its watch A's listener stops, and A reads a row once per
	 * request: within one, the row of its lookup is used for sure, however
	 * fast the notice, so the batch meets the deleted namespace itself.
	 */
	store_watch_close(w);
	ns_make(b, "rt-g", HASH_A);
	ok(request_write(a, "rt-g") == EVDB_OK, "A, listener closed, writes rt-g");
	old_id = ns_id("rt-g");
	store_conn_request_begin(a);
	(void)store_ns_token_hash(a, "rt-g", hash);
	ns_drop(b, "rt-g");
	ns_make(b, "rt-g", HASH_B);
	new_id = ns_id("rt-g");
	rs = write_one(a, "rt-g");
	snprintf(errmsg, sizeof(errmsg), "%s", store_conn_errmsg(a));
	store_conn_request_end(a);
	ok(rs == EVDB_ERR_NOT_FOUND && strstr(errmsg, "not registered") != NULL,
	    "B deletes and makes rt-g again after A's lookup: the batch's guard"
	    " fails A's write NOT_FOUND (%s: %s)", evdb_strerror(rs), errmsg);
	ok(schema_count(new_id) == 0 && schema_count(old_id) == -1,
	    "nothing landed in the new rt-g (%lld)", schema_count(new_id));
	ok(request_write(a, "rt-g") == EVDB_OK && schema_count(new_id) == 1,
	    "A's next request writes into the new rt-g");

	store_conn_close(a);
	store_conn_close(b);
	store_close(sa);
	store_close(sb);
	PQfinish(pg);
	tap_plan(tap_run);
	return tap_done();
}
