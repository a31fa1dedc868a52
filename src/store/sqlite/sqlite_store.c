/*
 * sqlite_store.c - the store's lifetime, its per-thread connections and caches,
 * and the mapping of SQLite failures to evdb statuses.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#define MSG_COLS "id, stream_name, type, position, global_position, data, metadata, time_us"

static const char *const ns_sql[NS_STMT_COUNT] = {
	[NS_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[NS_COMMIT] = "COMMIT",
	[NS_ROLLBACK] = "ROLLBACK",
	[NS_ID_LOOKUP] =
	    "SELECT stream_name, position, global_position, type, data, metadata"
	    " FROM messages WHERE id = ?1",
	[NS_STREAM_VERSION] =
	    "SELECT max(position) FROM messages WHERE stream_name = ?1",
	[NS_INSERT] =
	    "INSERT INTO messages(id, stream_name, category, type, position, data,"
	    " metadata, correlation, cardinal_hash, time_us)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    /* Message DB's correlation: category(metadata.correlationStreamName). */
	    " (SELECT CASE WHEN instr(v, '-') > 0 THEN substr(v, 1, instr(v, '-') - 1)"
	    "  ELSE v END FROM (SELECT CASE"
	    "  WHEN json_type(?7, '$.correlationStreamName') = 'text'"
	    "  THEN json_extract(?7, '$.correlationStreamName') END AS v)),"
	    " ?9, ?10)",
	[NS_STATS_ADD] =
	    "UPDATE stats SET message_count = message_count + ?1,"
	    " stream_count = stream_count + ?2,"
	    " last_activity_us = max(coalesce(last_activity_us, ?3), ?3) WHERE id = 1",
	[NS_STATS_GET] =
	    "SELECT message_count, stream_count, last_activity_us FROM stats WHERE id = 1",
	[NS_READ_STREAM] =
	    "SELECT " MSG_COLS " FROM messages WHERE stream_name = ?1"
	    " AND position >= ?2 ORDER BY position LIMIT ?3",
	[NS_READ_STREAM_GLOBAL] =
	    "SELECT " MSG_COLS " FROM messages WHERE stream_name = ?1"
	    " AND global_position >= ?2 ORDER BY position LIMIT ?3",
	[NS_READ_LAST] =
	    "SELECT " MSG_COLS " FROM messages WHERE stream_name = ?1"
	    " ORDER BY position DESC LIMIT 1",
	[NS_READ_LAST_TYPE] =
	    "SELECT " MSG_COLS " FROM messages WHERE stream_name = ?1 AND type = ?2"
	    " ORDER BY position DESC LIMIT 1",
	[NS_READ_CATEGORY] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE category = ?1"
	    " AND global_position >= ?2 ORDER BY global_position LIMIT ?3",
	[NS_READ_CATEGORY_CORR] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE category = ?1"
	    " AND global_position >= ?2 AND correlation = ?4"
	    " ORDER BY global_position LIMIT ?3",
	[NS_READ_ALL] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE ?1 IS NULL"
	    " AND global_position >= ?2 ORDER BY global_position LIMIT ?3",
	[NS_READ_ALL_CORR] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE ?1 IS NULL"
	    " AND global_position >= ?2 AND correlation = ?4"
	    " ORDER BY global_position LIMIT ?3",
	[NS_STREAMS] =
	    "SELECT m.stream_name, m.position, m.time_us FROM messages m"
	    " WHERE m.stream_name IN (SELECT DISTINCT stream_name FROM messages"
	    "  WHERE stream_name >= ?1 AND stream_name < ?2 AND stream_name > ?3"
	    "  ORDER BY stream_name LIMIT ?4)"
	    " AND m.position = (SELECT max(position) FROM messages"
	    "  WHERE stream_name = m.stream_name)"
	    " ORDER BY m.stream_name",
	[NS_CATEGORIES] =
	    "SELECT category, count(*), count(DISTINCT stream_name) FROM messages"
	    " GROUP BY category ORDER BY category",
#define POKE_COLS "stream_name, position, global_position, cardinal_hash"
	[NS_POKE_TAIL] =
	    "SELECT " POKE_COLS " FROM messages WHERE global_position > ?3"
	    " ORDER BY global_position LIMIT ?5",
	[NS_POKE_STREAM] =
	    "SELECT " POKE_COLS " FROM messages WHERE stream_name = ?1"
	    " AND position >= ?2 AND global_position > ?3 AND global_position <= ?4"
	    " ORDER BY position LIMIT ?5",
	[NS_POKE_CATEGORY] =
	    "SELECT " POKE_COLS " FROM messages WHERE category = ?1"
	    " AND global_position > ?3 AND global_position <= ?4"
	    " ORDER BY global_position LIMIT ?5",
	[NS_POKE_ALL] =
	    "SELECT " POKE_COLS " FROM messages WHERE global_position > ?3"
	    " AND global_position <= ?4 ORDER BY global_position LIMIT ?5",
	[NS_HEAD] = "SELECT max(global_position) FROM messages",
	[NS_IMPORT_INSERT] =
	    "INSERT INTO messages(id, stream_name, category, type, position, data,"
	    " metadata, correlation, cardinal_hash, time_us, global_position)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " (SELECT CASE WHEN instr(v, '-') > 0 THEN substr(v, 1, instr(v, '-') - 1)"
	    "  ELSE v END FROM (SELECT CASE"
	    "  WHEN json_type(?7, '$.correlationStreamName') = 'text'"
	    "  THEN json_extract(?7, '$.correlationStreamName') END AS v)),"
	    " ?9, ?10, ?11)",
	[NS_CLEAR] = "DELETE FROM messages",
	[NS_STATS_RECOMPUTE] =
	    "UPDATE stats SET message_count = (SELECT count(*) FROM messages),"
	    " stream_count = (SELECT count(DISTINCT stream_name) FROM messages),"
	    " last_activity_us = (SELECT max(time_us) FROM messages) WHERE id = 1",
};

static const char *const reg_sql[REG_STMT_COUNT] = {
	[REG_DATA_VERSION] = "PRAGMA data_version",
	[REG_LOOKUP] = "SELECT id, token_hash FROM namespaces WHERE name = ?1",
	[REG_INSERT] =
	    "INSERT INTO namespaces(name, token_hash, description, metadata, created_us)"
	    " VALUES(?1, ?2, ?3, ?4, ?5)",
	[REG_DELETE] = "DELETE FROM namespaces WHERE name = ?1",
	[REG_LIST] =
	    "SELECT name, id, description, created_us FROM namespaces"
	    " ORDER BY created_us DESC, id DESC",
	[REG_GET] =
	    "SELECT name, id, description, created_us FROM namespaces WHERE name = ?1",
};

enum evdb_status
sqlite_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return EVDB_OK;
	case SQLITE_FULL:
		return EVDB_ERR_STORAGE_FULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EVDB_ERR_BUSY;
	case SQLITE_NOMEM:
		return EVDB_ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		return EVDB_ERR_EXISTS;
	case SQLITE_IOERR:
		/* SQLite reports ENOSPC on some paths as an I/O error. */
		if (errno == ENOSPC || errno == EDQUOT)
			return EVDB_ERR_STORAGE_FULL;
		return EVDB_ERR_BACKEND;
	default:
		return EVDB_ERR_BACKEND;
	}
}

enum evdb_status
sqlite_fail(struct sqlite_conn *c, sqlite3 *db, int rc, const char *what)
{
	enum evdb_status st = sqlite_status(rc);

	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s (sqlite %d)", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
	log_error(c->st->log, "store: %s", c->errmsg);
	return st;
}

const char *
sqlite_conn_errmsg(const struct sqlite_conn *c)
{
	return c->errmsg;
}

int64_t
sqlite_connection_count(const struct sqlite_store *st)
{
	return atomic_load(&st->connections);
}

void
sqlite_stmt_done(sqlite3_stmt *s)
{
	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/*
 * Steps s, a bound statement that yields one row of one integer, into *v
 * (if_null when the value is NULL, as max() of no rows is), and resets s.
 */
enum evdb_status
sqlite_step_int64(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s,
    const char *what, int64_t if_null, int64_t *v)
{
	enum evdb_status rs = EVDB_OK;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*v = sqlite3_column_type(s, 0) == SQLITE_NULL ? if_null
		    : sqlite3_column_int64(s, 0);
	else
		rs = sqlite_fail(c, db, rc, what);
	sqlite_stmt_done(s);
	return rs;
}

/* Runs SQL text (schema and pragmas); the message goes to err. */
enum evdb_status
sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t err_size)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sqlite_status(rc) == EVDB_OK ? EVDB_ERR_BACKEND
		    : sqlite_status(rc);
	}
	return EVDB_OK;
}

enum evdb_status
sqlite_open_db(struct sqlite_store *st, const char *path, bool create, sqlite3 **out,
    char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	enum evdb_status rs;
	bool full;
	int rc;

	*out = NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    (create ? SQLITE_OPEN_CREATE : 0) |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "open %s: %s", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		rs = sqlite_status(rc);
		sqlite3_close(db);
		return rs == EVDB_OK ? EVDB_ERR_BACKEND : rs;
	}
	atomic_fetch_add(&st->connections, 1);
	sqlite3_busy_timeout(db, st->busy_timeout_ms);
	/*
	 * Checkpoints are the checkpointer thread's job (store_checkpoint.c).
	 * A checkpoint at close would also run at shutdown on a disk that has
	 * just filled up, and eat the space freed to recover, so that nothing
	 * could be opened again; the WAL is simply kept and replayed on open.
	 */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/*
	 * The registry is always synced: a namespace whose token was handed
	 * out must not vanish in a power loss, and its writes are rare.
	 */
	full = st->durability == DURABILITY_FULL ||
	    strcmp(path, st->registry_path) == 0;
	if ((rs = sqlite_exec(db, "PRAGMA journal_mode=WAL", err, err_size)) != EVDB_OK ||
	    (rs = sqlite_exec(db, full ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL", err, err_size)) != EVDB_OK ||
	    /* The WAL file keeps its high-water size after a rewind; cap it. */
	    (rs = sqlite_exec(db, "PRAGMA journal_size_limit=33554432", err,
	    err_size)) != EVDB_OK ||
	    (rs = sqlite_exec(db, "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
	    " PRAGMA cache_size=-8192", err, err_size)) != EVDB_OK) {
		sqlite_close_db(st, db);
		return rs;
	}
	*out = db;
	return EVDB_OK;
}

void
sqlite_close_db(struct sqlite_store *st, sqlite3 *db)
{
	if (db == NULL)
		return;
	/* Statements are finalised by their owners before this. */
	sqlite3_close_v2(db);
	atomic_fetch_sub(&st->connections, 1);
}

enum evdb_status
sqlite_open(const struct store_options *opt, struct sqlite_store **out)
{
	struct sqlite_store *st;
	enum evdb_status rs;
	char err[512];
	sqlite3 *db = NULL;
	size_t n;

	*out = NULL;
	st = xcalloc(1, sizeof(*st));
	st->base.backend = &store_sqlite_backend;
	st->data_dir = xstrdup(opt->data_dir);
	n = xadd(strlen(opt->data_dir), 16);
	st->ns_dir = xmalloc(n);
	snprintf(st->ns_dir, n, "%s/ns", opt->data_dir);
	st->registry_path = xmalloc(n);
	snprintf(st->registry_path, n, "%s/registry.db", opt->data_dir);
	st->durability = opt->durability;
	st->busy_timeout_ms = opt->busy_timeout_ms;
	st->log = opt->log;
	/* Test builds' switch (sqlite_invariant.h): read once, here. */
	st->invariants = getenv("EVDB_STORE_INVARIANTS") != NULL &&
	    strcmp(getenv("EVDB_STORE_INVARIANTS"), "1") == 0;
	atomic_init(&st->connections, 0);
	atomic_init(&st->checkpoints, 0);
	atomic_init(&st->writers_open, 0);
	pthread_mutex_init(&st->queues_mu, NULL);
	pthread_mutex_init(&st->ckpt_mu, NULL);
	pthread_cond_init(&st->ckpt_cv, NULL);

	if ((mkdir(st->data_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(st->ns_dir, 0700) != 0 && errno != EEXIST)) {
		log_error(st->log, "store: cannot create %s: %s", st->ns_dir,
		    strerror(errno));
		rs = EVDB_ERR_IO;
		goto out;
	}
	if ((rs = sqlite_open_db(st, st->registry_path, true, &db, err, sizeof(err))) != EVDB_OK ||
	    (rs = sqlite_schema_registry(st, db, err, sizeof(err))) != EVDB_OK) {
		log_error(st->log, "store: registry %s: %s", st->registry_path, err);
		goto out;
	}
	rs = sqlite_checkpoint_start(st);
out:
	sqlite_close_db(st, db);
	if (rs != EVDB_OK) {
		sqlite_close(st);
		return rs;
	}
	*out = st;
	return EVDB_OK;
}

void
sqlite_close(struct sqlite_store *st)
{
	if (st == NULL)
		return;
	sqlite_checkpoint_stop(st);
	sqlite_write_queues_free(st);
	pthread_mutex_destroy(&st->queues_mu);
	pthread_mutex_destroy(&st->ckpt_mu);
	pthread_cond_destroy(&st->ckpt_cv);
	free(st->data_dir);
	free(st->ns_dir);
	free(st->registry_path);
	free(st);
}

enum evdb_status
sqlite_conn_open(struct sqlite_store *st, struct sqlite_conn **out)
{
	struct sqlite_conn *c = xcalloc(1, sizeof(*c));
	enum evdb_status rs;
	char err[512];

	*out = NULL;
	c->base.backend = &store_sqlite_backend;
	c->base.store = &st->base;
	c->st = st;
	c->reg_data_version = -1;
	if ((rs = sqlite_open_db(st, st->registry_path, false, &c->reg, err, sizeof(err))) != EVDB_OK) {
		log_error(st->log, "store: %s", err);
		free(c);
		return rs;
	}
	*out = c;
	return EVDB_OK;
}

enum evdb_status
sqlite_handle_open(struct sqlite_store *st, const char *path, struct ns_handle **out,
    char *err, size_t err_size)
{
	struct ns_handle *h;
	enum evdb_status rs;

	*out = NULL;
	h = xcalloc(1, sizeof(*h));
	h->poke_fd = -1;
	if ((rs = sqlite_open_db(st, path, false, &h->db, err, err_size)) != EVDB_OK ||
	    (rs = sqlite_schema_namespace(st, h->db, err, err_size)) != EVDB_OK) {
		sqlite_handle_close(st, h);
		return rs;
	}
	h->queue = sqlite_write_queue(st, path);
	h->ckpt = sqlite_checkpoint_file(st, path);
	sqlite_checkpoint_attach(h->ckpt, h->db);
	h->poke_fd = sqlite_poke_open(path);
	*out = h;
	return EVDB_OK;
}

void
sqlite_handle_close(struct sqlite_store *st, struct ns_handle *h)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < NS_STMT_COUNT; i++)
		sqlite3_finalize(h->stmt[i]);
	sqlite_close_db(st, h->db);
	if (h->poke_fd >= 0)
		close(h->poke_fd);
	free(h);
}

static void
sqlite_cache_clear(struct sqlite_conn *c)
{
	int b;

	for (b = 0; b < NS_CACHE_BUCKETS; b++) {
		while (c->cache[b] != NULL) {
			struct ns_entry *e = c->cache[b];

			c->cache[b] = e->next;
			sqlite_handle_close(c->st, e->handle);
			free(e);
		}
	}
	c->open_handles = 0;
}

void
sqlite_conn_close(struct sqlite_conn *c)
{
	int i;

	if (c == NULL)
		return;
	sqlite_cache_clear(c);
	for (i = 0; i < REG_STMT_COUNT; i++)
		sqlite3_finalize(c->reg_stmt[i]);
	sqlite_close_db(c->st, c->reg);
	free(c);
}

enum evdb_status
sqlite_reg_stmt(struct sqlite_conn *c, enum reg_stmt which, sqlite3_stmt **out)
{
	int rc;

	if (c->reg_stmt[which] == NULL) {
		rc = sqlite3_prepare_v3(c->reg, reg_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->reg_stmt[which], NULL);
		if (rc != SQLITE_OK)
			return sqlite_fail(c, c->reg, rc, "prepare registry statement");
	}
	*out = c->reg_stmt[which];
	return EVDB_OK;
}

enum evdb_status
sqlite_ns_stmt(struct sqlite_conn *c, struct ns_handle *h, enum ns_stmt which,
    sqlite3_stmt **out)
{
	int rc;

	if (h->stmt[which] == NULL) {
		rc = sqlite3_prepare_v3(h->db, ns_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &h->stmt[which], NULL);
		if (rc != SQLITE_OK)
			return sqlite_fail(c, h->db, rc, "prepare namespace statement");
	}
	*out = h->stmt[which];
	return EVDB_OK;
}

/* Steps a prepared statement that returns no row (BEGIN, COMMIT, ...). */
enum evdb_status
sqlite_ns_exec(struct sqlite_conn *c, struct ns_handle *h, enum ns_stmt which,
    const char *what)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_stmt(c, h, which, &s)) != EVDB_OK)
		return rs;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? EVDB_OK : sqlite_fail(c, h->db, rc, what);
}

/* Rolls back the connection's open transaction, if any. */
void
sqlite_ns_rollback(struct sqlite_conn *c, struct ns_handle *h)
{
	if (!sqlite3_get_autocommit(h->db))
		(void)sqlite_ns_exec(c, h, NS_ROLLBACK, "rollback");
}

char *
sqlite_ns_path(const struct sqlite_store *st, const char *ns, int64_t generation)
{
	size_t n = xadd(xadd(strlen(st->ns_dir), strlen(ns)), 48);
	char *p = xmalloc(n);

	/* ns passed store_ns_name_valid(): no '/', no leading '.'. */
	snprintf(p, n, "%s/%s.%lld.db", st->ns_dir, ns, (long long)generation);
	return p;
}

static unsigned
sqlite_ns_bucket(const char *ns)
{
	return strutil_fnv1a(STRUTIL_FNV1A_SEED, ns, strlen(ns)) %
	    NS_CACHE_BUCKETS;
}

/* Drops every cached entry when another connection changed the registry. */
static enum evdb_status
sqlite_cache_refresh(struct sqlite_conn *c)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int64_t v;

	if (c->in_request && c->reg_checked)
		return EVDB_OK;
	if ((rs = sqlite_reg_stmt(c, REG_DATA_VERSION, &s)) != EVDB_OK ||
	    (rs = sqlite_step_int64(c, c->reg, s, "registry data_version", 0,
	    &v)) != EVDB_OK)
		return rs;
	c->reg_checked = c->in_request;
	if (v != c->reg_data_version) {
		sqlite_cache_clear(c);
		c->reg_data_version = v;
	}
	return EVDB_OK;
}

void
sqlite_conn_request_begin(struct sqlite_conn *c)
{
	c->in_request = true;
	c->reg_checked = false;
}

void
sqlite_conn_request_end(struct sqlite_conn *c)
{
	c->in_request = false;
}

void
sqlite_ns_forget(struct sqlite_conn *c, const char *ns)
{
	struct ns_entry **pp = &c->cache[sqlite_ns_bucket(ns)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, ns) == 0) {
			struct ns_entry *e = *pp;

			*pp = e->next;
			if (e->handle != NULL)
				c->open_handles--;
			sqlite_handle_close(c->st, e->handle);
			free(e);
			return;
		}
	}
}

enum evdb_status
sqlite_ns_lookup(struct sqlite_conn *c, const char *ns, struct ns_entry **out)
{
	struct ns_entry *e;
	sqlite3_stmt *s;
	enum evdb_status rs;
	unsigned b;
	int rc;

	*out = NULL;
	if (!store_ns_name_valid(ns))
		return EVDB_ERR_NOT_FOUND;
	if ((rs = sqlite_cache_refresh(c)) != EVDB_OK)
		return rs;
	b = sqlite_ns_bucket(ns);
	for (e = c->cache[b]; e != NULL; e = e->next) {
		if (strcmp(e->name, ns) == 0) {
			e->last_used = ++c->use_counter;
			*out = e;
			return EVDB_OK;
		}
	}
	if ((rs = sqlite_reg_stmt(c, REG_LOOKUP, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite_stmt_done(s);
		return EVDB_ERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		rs = sqlite_fail(c, c->reg, rc, "registry lookup");
		sqlite_stmt_done(s);
		return rs;
	}
	e = xcalloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", ns);
	e->generation = sqlite3_column_int64(s, 0);
	snprintf(e->token_hash, sizeof(e->token_hash), "%s",
	    (const char *)sqlite3_column_text(s, 1));
	sqlite_stmt_done(s);
	e->last_used = ++c->use_counter;
	e->next = c->cache[b];
	c->cache[b] = e;
	*out = e;
	return EVDB_OK;
}

/* Closes the least recently used open handle, to bound open files. */
static void
sqlite_evict_one(struct sqlite_conn *c)
{
	struct ns_entry *e, *victim = NULL;
	int b;

	for (b = 0; b < NS_CACHE_BUCKETS; b++)
		for (e = c->cache[b]; e != NULL; e = e->next)
			if (e->handle != NULL &&
			    (victim == NULL || e->last_used < victim->last_used))
				victim = e;
	if (victim != NULL) {
		sqlite_handle_close(c->st, victim->handle);
		victim->handle = NULL;
		c->open_handles--;
	}
}

enum evdb_status
sqlite_ns_handle(struct sqlite_conn *c, const char *ns, struct ns_entry **entry,
    struct ns_handle **out)
{
	struct ns_entry *e;
	struct ns_handle *h;
	enum evdb_status rs;
	char err[512];
	char *path;

	*out = NULL;
	if ((rs = sqlite_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if (entry != NULL)
		*entry = e;
	if (e->handle != NULL) {
		*out = e->handle;
		return EVDB_OK;
	}
	if (c->open_handles >= NS_OPEN_MAX)
		sqlite_evict_one(c);
	path = sqlite_ns_path(c->st, ns, e->generation);
	rs = sqlite_handle_open(c->st, path, &h, err, sizeof(err));
	free(path);
	if (rs != EVDB_OK) {
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", err);
		log_error(c->st->log, "store: namespace %s: %s", ns, err);
		return rs;
	}
	e->handle = h;
	c->open_handles++;
	*out = h;
	return EVDB_OK;
}
