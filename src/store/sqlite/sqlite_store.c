/*
 * sqlite_store.c - the store's lifetime, its per-thread connections and
 * their caches of namespaces (registry rows and open files, an LRU).
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

/*
 * SQLite's memory statistics (sqlite3_memory_used and the like, which evdb
 * never reads) put every allocation of every connection under one global
 * mutex; Debian's build also omits the lookaside, so a write makes some 24
 * of them.  Turned off once, before the first connection, which is when
 * sqlite3_config may still be called; a process that used SQLite before
 * its first store (none of evdb's) keeps them, as the call then fails.
 */
static void
sqlite_configure_library(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum evdb_status
sqlite_open(const struct store_options *opt, struct sqlite_store **out)
{
	static pthread_once_t library_once = PTHREAD_ONCE_INIT;
	struct sqlite_store *st;
	enum evdb_status rs;
	char err[512];
	sqlite3 *db = NULL;
	size_t n;
	int i;

	*out = NULL;
	(void)pthread_once(&library_once, sqlite_configure_library);
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
	for (i = 0; i < opt->group_index_count && i < SETTINGS_GROUP_INDEX_MAX; i++) {
		st->group_sizes[i] = opt->group_index_sizes[i];
		st->group_slots += opt->group_index_sizes[i];
	}
	st->group_count = i;
	st->group_indexes_kept = !opt->must_exist;
	atomic_init(&st->group_index_reads, 0);
	/* Test builds' switch (sqlite_invariant.h): read once, here. */
	st->invariants = getenv("EVDB_STORE_INVARIANTS") != NULL &&
	    strcmp(getenv("EVDB_STORE_INVARIANTS"), "1") == 0;
	atomic_init(&st->connections, 0);
	atomic_init(&st->checkpoints, 0);
	atomic_init(&st->writers_open, 0);
	pthread_mutex_init(&st->queues_mu, NULL);
	pthread_mutex_init(&st->ckpt_mu, NULL);
	pthread_cond_init(&st->ckpt_cv, NULL);

	if (opt->must_exist && access(st->registry_path, F_OK) != 0) {
		rs = errno == ENOENT ? EVDB_ERR_NOT_FOUND : EVDB_ERR_IO;
		log_error(st->log, "store: %s: %s (is %s the data directory of a"
		    " SQLite store?)", st->registry_path, strerror(errno),
		    st->data_dir);
		goto out;
	}
	if (!opt->must_exist && ((mkdir(st->data_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(st->ns_dir, 0700) != 0 && errno != EEXIST))) {
		log_error(st->log, "store: cannot create %s: %s", st->ns_dir,
		    strerror(errno));
		rs = EVDB_ERR_IO;
		goto out;
	}
	if ((rs = sqlite_open_db(st, st->registry_path, !opt->must_exist, &db, err,
	    sizeof(err))) != EVDB_OK ||
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
