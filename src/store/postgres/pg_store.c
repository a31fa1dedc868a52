/*
 * pg_store.c - the PostgreSQL backend's lifetime: the store, the
 * per-thread connection and its reconnection with back-off, the mapping of
 * SQLSTATEs to evdb statuses, health, and the backend table itself.
 *
 * Each store_conn (one per worker thread) holds one PGconn.  When the
 * server goes away, the next call finds the connection bad, and tries once
 * to reconnect; while attempts fail, calls answer EVDB_ERR_UNAVAILABLE at
 * once, without a network wait, until the back-off (doubling from
 * PG_BACKOFF_MIN_MS to PG_BACKOFF_MAX_MS) allows the next attempt, or
 * until another connection of the process has connected since this one's
 * last failure: then the server is back, and every worker tries at once
 * rather than answering 503 for the rest of its own back-off.  A
 * connection attempt itself is bounded by connect_timeout.  A connection
 * that fails at the connection level also tells the others: each one
 * opened before that failure is replaced at its next request_begin, so
 * that a worker whose connection died while idle (PostgreSQL restarted)
 * reconnects before its first statement instead of answering that request
 * 503.  Only at a request's start: never inside a transaction.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/postgres/pg_internal.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* Seconds a connection attempt may take (libpq's connect_timeout). */
#define PG_CONNECT_TIMEOUT "3"

static bool
pg_accepts(const char *location)
{
	if (location == NULL)
		return false;
	return strncmp(location, "postgresql://", 13) == 0 ||
	    strncmp(location, "postgres://", 11) == 0 ||
	    strchr(location, '=') != NULL;
}

static void
pg_notice_ignore(void *arg, const char *message)
{
}

/*
 * True when a connection failure's text says the server had no free slot:
 * SQLSTATE 53300, whose messages libpq hands over as text only at connect
 * time ("sorry, too many clients already", "remaining connection slots are
 * reserved ...", "too many connections for role/database ...").
 */
static bool
pg_refused_text(const char *msg)
{
	return strstr(msg, "too many clients") != NULL ||
	    strstr(msg, "remaining connection slots") != NULL ||
	    strstr(msg, "too many connections") != NULL;
}

/* "evdb/<host>/<pid>/<role>", cut to PostgreSQL's 63 bytes. */
static void
pg_app_name(const char *role, char *out, size_t out_size)
{
	char host[64];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';	/* the short name */
	snprintf(out, out_size, "evdb/%.32s/%ld/%s", host, (long)getpid(), role);
}

PGconn *
pg_connect(struct pg_store *st, const char *role, char *err, size_t err_size,
    bool *refused)
{
	static const char *const keys[] = {
		"dbname", "application_name", "connect_timeout", NULL
	};
	const char *vals[4];
	const char *sync;
	PGresult *res;
	PGconn *pg;
	char sql[96], app[64];

	if (refused != NULL)
		*refused = false;
	pg_app_name(role, app, sizeof(app));
	vals[0] = st->conninfo;
	vals[1] = app;
	vals[2] = PG_CONNECT_TIMEOUT;
	vals[3] = NULL;
	/* expand_dbname: dbname holds the whole URL or conninfo. */
	pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL) {
		snprintf(err, err_size, "out of memory");
		atomic_fetch_add(&st->failures, 1);
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, err_size, "%s", PQerrorMessage(pg));
		PQfinish(pg);
		atomic_fetch_add(&st->failures, 1);
		if (pg_refused_text(err)) {
			atomic_fetch_add(&st->refused, 1);
			if (refused != NULL)
				*refused = true;
		}
		return NULL;
	}
	/* NOTICEs (DROP ... IF EXISTS) are not for evdb's stderr. */
	PQsetNoticeProcessor(pg, pg_notice_ignore, NULL);
	/*
	 * durability: "normal" waits for the local WAL flush only, "full" also
	 * for synchronous standbys, when the cluster has any (docs/storage.md).
	 */
	sync = st->durability == DURABILITY_FULL ? "on" : "local";
	snprintf(sql, sizeof(sql), "SET synchronous_commit = %s", sync);
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, err_size, "%s", PQerrorMessage(pg));
		PQclear(res);
		PQfinish(pg);
		atomic_fetch_add(&st->failures, 1);
		return NULL;
	}
	PQclear(res);
	atomic_fetch_add(&st->connections, 1);
	return pg;
}

void
pg_disconnect(struct pg_store *st, PGconn *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg);
	atomic_fetch_sub(&st->connections, 1);
}

/* Forgets the statements prepared on the connection (it is gone). */
static void
pg_prepared_forget(struct pg_conn *c)
{
	size_t i;

	for (i = 0; i < c->nprepared; i++)
		free(c->prepared[i]);
	free(c->prepared);
	c->prepared = NULL;
	c->nprepared = 0;
}

/* What a client is told when its host cannot get a connection slot. */
#define PG_WHY_FULL "PostgreSQL has no free connection slot (max_connections" \
	" reached): too many evdb hosts or workers for this database server;" \
	" retry later (docs/deployment.md, \"Running several hosts\")"

enum evdb_status
pg_conn_ready(struct pg_conn *c)
{
	char err[400];
	int64_t now;
	bool refused;

	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && !c->broken)
		return EVDB_OK;
	c->broken = false;
	if (c->pg != NULL) {
		pg_disconnect(c->st, c->pg);
		c->pg = NULL;
	}
	pg_prepared_forget(c);
	now = timefmt_now_us();
	if (now < c->retry_at_us &&
	    atomic_load(&c->st->connected_us) <= c->failed_us) {
		snprintf(c->errmsg, sizeof(c->errmsg),
		    "PostgreSQL is unavailable (next attempt in %lld ms)",
		    (long long)((c->retry_at_us - now) / 1000));
		return EVDB_ERR_UNAVAILABLE;
	}
	if (c->in_request)
		atomic_fetch_add(&c->st->waits, 1);
	c->pg = pg_connect(c->st, "conn", err, sizeof(err), &refused);
	c->why = refused ? PG_WHY_FULL : NULL;
	if (c->pg == NULL) {
		if (c->backoff_ms < PG_BACKOFF_MIN_MS)
			c->backoff_ms = PG_BACKOFF_MIN_MS;
		c->retry_at_us = now + (int64_t)c->backoff_ms * 1000;
		c->failed_us = timefmt_now_us();
		c->backoff_ms *= 2;
		if (c->backoff_ms > PG_BACKOFF_MAX_MS)
			c->backoff_ms = PG_BACKOFF_MAX_MS;
		snprintf(c->errmsg, sizeof(c->errmsg), "connect: %s", err);
		log_warn(c->st->log, "store: postgres: connect: %s", err);
		return EVDB_ERR_UNAVAILABLE;
	}
	c->backoff_ms = 0;
	c->retry_at_us = 0;
	c->opened_us = timefmt_now_us();
	atomic_store(&c->st->connected_us, c->opened_us);
	if (c->had_pg)
		atomic_fetch_add(&c->st->reconnects, 1);
	c->had_pg = true;
	return EVDB_OK;
}

enum evdb_status
pg_status_of(PGconn *pg, const PGresult *res)
{
	const char *state;

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK)
		return EVDB_ERR_UNAVAILABLE;
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/*
	 * No SQLSTATE: libpq made the error itself ("server closed the
	 * connection unexpectedly"), which it may report before the
	 * connection's status says so.
	 */
	if (state == NULL)
		return EVDB_ERR_UNAVAILABLE;
	/*
	 * A namespace deleted by another host while this connection still
	 * had its registry row: the write guard's own SQLSTATE, or the
	 * dropped schema of its statements (pg_registry.c).
	 */
	if (strcmp(state, PG_STATE_NS_GONE) == 0 ||
	    strcmp(state, "42P01") == 0 ||		/* undefined_table */
	    strcmp(state, "3F000") == 0)		/* invalid_schema_name */
		return EVDB_ERR_NOT_FOUND;
	if (strcmp(state, "53100") == 0)		/* disk_full */
		return EVDB_ERR_STORAGE_FULL;
	if (strcmp(state, "23505") == 0)		/* unique_violation */
		return EVDB_ERR_EXISTS;
	if (strcmp(state, "40001") == 0 ||		/* serialization_failure */
	    strcmp(state, "40P01") == 0 ||		/* deadlock_detected */
	    strcmp(state, "55P03") == 0 ||		/* lock_not_available */
	    strcmp(state, "57014") == 0 ||		/* query_canceled (timeouts) */
	    strcmp(state, "53300") == 0)		/* too_many_connections */
		return EVDB_ERR_BUSY;
	if (strcmp(state, "53200") == 0)		/* out_of_memory */
		return EVDB_ERR_NOMEM;
	if (strncmp(state, "08", 2) == 0 ||		/* connection exceptions */
	    strcmp(state, "57P01") == 0 ||		/* admin_shutdown */
	    strcmp(state, "57P02") == 0 ||		/* crash_shutdown */
	    strcmp(state, "57P03") == 0)		/* cannot_connect_now */
		return EVDB_ERR_UNAVAILABLE;
	if (strncmp(state, "22", 2) == 0)		/* data exceptions */
		return EVDB_ERR_INVALID;
	return EVDB_ERR_BACKEND;
}

enum evdb_status
pg_fail(struct pg_conn *c, const PGresult *res, const char *what)
{
	enum evdb_status rs = pg_status_of(c->pg, res);
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	if (msg == NULL || msg[0] == '\0')
		msg = c->pg != NULL ? PQerrorMessage(c->pg) : "no connection";
	/* libpq's messages end in a newline, and may hold more lines. */
	n = strcspn(msg, "\n");
	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %.*s (sqlstate %s)", what,
	    (int)n, msg, state != NULL ? state : "none");
	if (rs == EVDB_ERR_UNAVAILABLE) {
		c->broken = true;	/* replaced at the next pg_conn_ready */
		atomic_store(&c->st->lost_us, timefmt_now_us());
		log_warn(c->st->log, "store: postgres: %s", c->errmsg);
	} else if (rs == EVDB_ERR_NOT_FOUND) {
		/* Read the registry again before the next use of any row. */
		pg_ns_stale_all(c);
		log_info(c->st->log, "store: postgres: a namespace is gone: %s",
		    c->errmsg);
	} else
		log_error(c->st->log, "store: postgres: %s", c->errmsg);
	return rs;
}

void
pg_params_copy(struct buf *b, int n, const char *const *vals, const int *lens,
    const char **out)
{
	size_t off[PG_PARAMS_MAX];
	int i;

	assert(n <= PG_PARAMS_MAX);
	for (i = 0; i < n; i++) {
		off[i] = b->len;
		if (vals[i] == NULL)
			continue;
		buf_append(b, vals[i], lens != NULL ? (size_t)lens[i] : strlen(vals[i]));
		buf_append(b, "", 1);
	}
	for (i = 0; i < n; i++)
		out[i] = vals[i] != NULL ? b->data + off[i] : NULL;
}

bool
pg_params_have_nul(int n, const char *const *vals, const int *lens)
{
	int i;

	for (i = 0; lens != NULL && i < n; i++)
		if (vals[i] != NULL && memchr(vals[i], '\0', (size_t)lens[i]) != NULL)
			return true;
	return false;
}

enum evdb_status
pg_query(struct pg_conn *c, const char *what, const char *sql, int n,
    const char *const *vals, const int *lens, PGresult **out)
{
	const char *copy[PG_PARAMS_MAX];
	enum evdb_status rs;
	PGresult *res;
	ExecStatusType es;
	struct buf b;

	*out = NULL;
	if ((rs = pg_conn_ready(c)) != EVDB_OK)
		return rs;
	buf_init(&b);
	pg_params_copy(&b, n, vals, lens, copy);
	res = PQexecParams(c->pg, sql, n, NULL, copy, NULL, NULL, 0);
	buf_free(&b);
	es = PQresultStatus(res);
	if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK) {
		rs = pg_fail(c, res, what);
		PQclear(res);
		return rs;
	}
	*out = res;
	return EVDB_OK;
}

bool
pg_prepared(const struct pg_conn *c, const char *name)
{
	size_t i;

	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK || c->broken)
		return false;
	for (i = 0; i < c->nprepared; i++)
		if (strcmp(c->prepared[i], name) == 0)
			return true;
	return false;
}

enum evdb_status
pg_prepare(struct pg_conn *c, const char *name, const char *sql, int n)
{
	enum evdb_status rs;
	PGresult *res;
	size_t i;

	if ((rs = pg_conn_ready(c)) != EVDB_OK)
		return rs;
	for (i = 0; i < c->nprepared; i++)
		if (strcmp(c->prepared[i], name) == 0)
			return EVDB_OK;
	res = PQprepare(c->pg, name, sql, n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rs = pg_fail(c, res, "prepare");
		PQclear(res);
		return rs;
	}
	PQclear(res);
	c->prepared = xrealloc(c->prepared, xmul(c->nprepared + 1,
	    sizeof(*c->prepared)));
	c->prepared[c->nprepared++] = xstrdup(name);
	return EVDB_OK;
}

enum evdb_status
pg_query_prepared(struct pg_conn *c, const char *what, const char *name,
    const char *sql, int n, const char *const *vals, const int *lens,
    PGresult **out)
{
	const char *copy[PG_PARAMS_MAX];
	enum evdb_status rs;
	PGresult *res;
	ExecStatusType es;
	struct buf b;

	*out = NULL;
	if ((rs = pg_prepare(c, name, sql, n)) != EVDB_OK)
		return rs;
	buf_init(&b);
	pg_params_copy(&b, n, vals, lens, copy);
	res = PQexecPrepared(c->pg, name, n, copy, NULL, NULL, 0);
	buf_free(&b);
	es = PQresultStatus(res);
	if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK) {
		rs = pg_fail(c, res, what);
		PQclear(res);
		return rs;
	}
	*out = res;
	return EVDB_OK;
}

enum evdb_status
pg_query_ns(struct pg_conn *c, const struct pg_ns *e, const char *what,
    const char *tag, int q, const char *tmpl, int n, const char *const *vals,
    const int *lens, PGresult **out)
{
	enum evdb_status rs;
	struct buf text;
	char name[48];

	snprintf(name, sizeof(name), "%s%d_%lld", tag, q, (long long)e->id);
	buf_init(&text);
	pg_sql_schema(&text, tmpl, e->schema);
	rs = pg_query_prepared(c, what, name, buf_cstr(&text), n, vals, lens, out);
	buf_free(&text);
	return rs;
}

enum evdb_status
pg_exec(struct pg_conn *c, const char *what, const char *sql, int n,
    const char *const *vals, const int *lens)
{
	PGresult *res;
	enum evdb_status rs;

	rs = pg_query(c, what, sql, n, vals, lens, &res);
	PQclear(res);
	return rs;
}

void
pg_sql_schema(struct buf *out, const char *tmpl, const char *schema)
{
	const char *p;

	while ((p = strstr(tmpl, "%1$s")) != NULL) {
		buf_append(out, tmpl, (size_t)(p - tmpl));
		buf_puts(out, schema);
		tmpl = p + 4;
	}
	buf_puts(out, tmpl);
}

int64_t
pg_value_int64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static enum evdb_status
pg_conn_open(struct store *base, struct store_conn **out)
{
	struct pg_store *st = pg_store_of(base);
	struct pg_conn *c;

	c = xcalloc(1, sizeof(*c));
	c->base.backend = base->backend;
	c->base.store = base;
	c->st = st;
	/* A server that is down now is not fatal: calls answer UNAVAILABLE. */
	(void)pg_conn_ready(c);
	*out = &c->base;
	return EVDB_OK;
}

static void
pg_conn_close(struct store_conn *base)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;

	if (c == NULL)
		return;
	if (c->in_request)
		atomic_fetch_sub(&c->st->in_use, 1);
	while ((e = c->cache) != NULL) {
		c->cache = e->next;
		free(e);
	}
	pg_disconnect(c->st, c->pg);
	pg_prepared_forget(c);
	free(c);
}

static void
pg_conn_request_begin(struct store_conn *base)
{
	struct pg_conn *c = pg_conn_of(base);

	if (!c->in_request)
		atomic_fetch_add(&c->st->in_use, 1);
	/* Opened before another connection found the server gone. */
	if (!c->in_request && c->pg != NULL &&
	    c->opened_us < atomic_load(&c->st->lost_us))
		c->broken = true;
	c->in_request = true;
	c->request_serial++;
}

static void
pg_conn_request_end(struct store_conn *base)
{
	struct pg_conn *c = pg_conn_of(base);

	if (c->in_request)
		atomic_fetch_sub(&c->st->in_use, 1);
	c->in_request = false;
	c->request_serial++;
}

static const char *
pg_conn_unavailable_why(const struct store_conn *base)
{
	return ((const struct pg_conn *)base)->why;
}

static void
pg_pool_stats(const struct store *base, struct store_pool_stats *out)
{
	struct pg_store *st = (struct pg_store *)base;

	out->open = atomic_load(&st->connections);
	out->in_use = atomic_load(&st->in_use);
	if (out->in_use > out->open)
		out->in_use = out->open;	/* a worker between connects */
	out->idle = out->open - out->in_use;
	out->waits = atomic_load(&st->waits);
	out->reconnects = atomic_load(&st->reconnects);
	out->failures = atomic_load(&st->failures);
	out->refused = atomic_load(&st->refused);
}

static const char *
pg_conn_errmsg(const struct store_conn *base)
{
	return ((const struct pg_conn *)base)->errmsg;
}

static int64_t
pg_connection_count(const struct store *base)
{
	return atomic_load(&((struct pg_store *)base)->connections);
}

static enum evdb_status
pg_health(struct store_conn *base, char *why, size_t why_size)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;

	rs = pg_exec(c, "health", "SELECT 1", 0, NULL, NULL);
	if (rs != EVDB_OK)
		snprintf(why, why_size, "%s", rs == EVDB_ERR_UNAVAILABLE ?
		    "PostgreSQL is unreachable" : "PostgreSQL query failed");
	return rs;
}

static void
pg_close(struct store *base)
{
	struct pg_store *st = pg_store_of(base);

	if (st == NULL)
		return;
	pg_queues_free(st);
	pthread_mutex_destroy(&st->queues_mu);
	pg_listener_free(st, st->listener);
	free(st->conninfo);
	free(st);
}

static enum evdb_status
pg_open(const struct store_options *opt, struct store **out)
{
	struct store_conn *cb = NULL;
	struct pg_store *st;
	struct pg_conn *c;
	enum evdb_status rs;
	PGresult *res;
	int i;

	*out = NULL;
	st = xcalloc(1, sizeof(*st));
	st->base.backend = &store_postgres_backend;
	st->conninfo = xstrdup(opt->location);
	st->durability = opt->durability;
	st->log = opt->log;
	for (i = 0; i < opt->group_index_count && i < SETTINGS_GROUP_INDEX_MAX; i++)
		st->group_sizes[i] = opt->group_index_sizes[i];
	st->group_count = i;
	st->group_indexes_kept = !opt->must_exist;
	atomic_init(&st->group_index_reads, 0);
	pthread_mutex_init(&st->queues_mu, NULL);
	st->listener = pg_listener_new();
	(void)pg_conn_open(&st->base, &cb);
	c = pg_conn_of(cb);
	if (c->pg == NULL) {
		log_error(st->log, "store: postgres: %s", c->errmsg);
		rs = EVDB_ERR_UNAVAILABLE;
		goto out;
	}
	if (opt->must_exist) {
		if ((rs = pg_query(c, "registry", "SELECT to_regclass("
		    "'evdb.namespaces') IS NOT NULL", 0, NULL, NULL, &res)) != EVDB_OK)
			goto out;
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			log_error(st->log, "store: postgres: this database holds no"
			    " evdb store (no schema evdb): start evdb on it first");
			rs = EVDB_ERR_NOT_FOUND;
		}
		PQclear(res);
		if (rs != EVDB_OK)
			goto out;
	}
	if ((rs = pg_schema_migrate(c)) != EVDB_OK) {
		log_error(st->log, "store: postgres: migrations: %s", c->errmsg);
		goto out;
	}
	/* A speed-up only: evdb serves without them (and says so). */
	if (st->group_indexes_kept && pg_schema_group_indexes_all(c) != EVDB_OK)
		log_warn(st->log, "store: postgres: consumer-group indexes left as"
		    " they are: %s", c->errmsg);
	if ((rs = pg_query(c, "collation", "SELECT datcollate IN ('C', 'POSIX',"
	    " 'C.UTF-8', 'C.utf8') FROM pg_database"
	    " WHERE datname = current_database()", 0, NULL, NULL, &res)) != EVDB_OK)
		goto out;
	st->bytewise = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!st->bytewise)
		log_info(st->log, "store: postgres: the database's collation is not"
		    " byte order: ns.streams scans instead of using messages_stream");
	*out = &st->base;
out:
	pg_conn_close(cb);
	if (rs != EVDB_OK)
		pg_close(&st->base);
	return rs;
}

const struct store_backend store_postgres_backend = {
	.name = "postgres",
	.accepts = pg_accepts,
	.open = pg_open,
	.close = pg_close,
	.conn_open = pg_conn_open,
	.conn_close = pg_conn_close,
	.conn_request_begin = pg_conn_request_begin,
	.conn_request_end = pg_conn_request_end,
	.conn_errmsg = pg_conn_errmsg,
	.connection_count = pg_connection_count,
	.checkpoint_count = NULL,
	.health = pg_health,
	.ns_token_hash = pg_ns_token_hash,
	.ns_refresh = pg_ns_refresh,
	.ns_create = pg_ns_create,
	.ns_delete = pg_ns_delete,
	.ns_list = pg_ns_list,
	.ns_get = pg_ns_get,
	.ns_streams = pg_ns_streams,
	.ns_categories = pg_ns_categories,
	.write = pg_write,
	.read_stream = pg_read_stream,
	.read_last = pg_read_last,
	.stream_version = pg_stream_version,
	.read_category = pg_read_category,
	.import_clear = pg_import_clear,
	.import_batch = pg_import_batch,
	.import_finish = pg_import_finish,
	.head = pg_head,
	.poke_range = pg_poke_range,
	.poke_tail = pg_poke_tail,
	.watch_open = pg_watch_open,
	.watch_fd = pg_watch_fd,
	.watch_add = pg_watch_add,
	.watch_remove = pg_watch_remove,
	.watch_read = pg_watch_read,
	.watch_close = pg_watch_close,
	.ns_summary = pg_ns_summary,
	.write_batch = pg_write_batch,
	.consumer_commit = pg_consumer_commit,
	.consumer_get = pg_consumer_get,
	.consumer_list = pg_consumer_list,
	.consumer_delete = pg_consumer_delete,
	.consumer_namespaces = pg_consumer_namespaces,
	.pool_stats = pg_pool_stats,
	.conn_unavailable_why = pg_conn_unavailable_why,
	.stream_delete = pg_stream_delete,
	.set_retention = pg_set_retention,
	.stream_info = pg_stream_info,
	.retention_sweep = pg_retention_sweep,
	.lifecycle_list = pg_lifecycle_list,
};
