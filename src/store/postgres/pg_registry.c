/*
 * pg_registry.c - namespaces on PostgreSQL: the rows of evdb.namespaces
 * and their schemas.
 *
 * Creating a namespace inserts its row and creates its schema in one
 * transaction; deleting removes the row and drops the schema in one
 * transaction.  A schema is named by the row's id (evdb_ns_<id>), never by
 * the namespace's name, except "default", which is Message DB's own schema
 * message_store: when it exists already (a Message DB database), evdb
 * serves it as it is and marks the row owns_schema = false, so that
 * deleting the namespace unregisters it but never drops Message DB's data.
 *
 * Lookups: a connection caches the rows it has read.  Creating and
 * deleting a namespace notify PG_REGISTRY_CHANNEL in their transaction,
 * and the store's one listener (pg_watch.c, connected while the server's
 * SSE hub and long-poll loop hold their watches) listens to it: each
 * notice moves the registry epoch on.  A cached row read in the current
 * epoch while the listener listens is used as it is, with no statement;
 * otherwise (no listener: the CLI, a lost listener) it is read again at
 * most once per request (store_conn_request_begin), as before.
 *
 * The notice reaches this host a moment after the other host's commit, so
 * a kept row may name a namespace that is gone.  Nothing is ever written
 * through it: every write batch runs evdb.namespace_check(id) after taking
 * the namespace lock, which ns.delete holds until its commit, and fails
 * with PG_STATE_NS_GONE when the id is no longer registered; every other
 * statement names the namespace's schema, dropped with it (ids are never
 * reused, so a namespace made again has another schema).  Both failures
 * are EVDB_ERR_NOT_FOUND, as a lookup that finds no row, and mark the
 * connection's rows stale.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/xalloc.h"

#define PG_DEFAULT_SCHEMA "message_store"

/* True when s is a schema name evdb may put into SQL unquoted. */
static bool
registry_schema_safe(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PG_SCHEMA_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static struct pg_ns *
registry_cached(struct pg_conn *c, const char *ns)
{
	struct pg_ns *e;

	for (e = c->cache; e != NULL; e = e->next)
		if (strcmp(e->name, ns) == 0)
			return e;
	return NULL;
}

void
pg_ns_stale_all(struct pg_conn *c)
{
	struct pg_ns *e;

	for (e = c->cache; e != NULL; e = e->next)
		e->stale = true;
}

bool
pg_ns_refresh(struct store_conn *base, const char *ns)
{
	struct pg_conn *c = pg_conn_of(base);
	bool had = registry_cached(c, ns) != NULL;

	pg_ns_forget(c, ns);
	return had;
}

void
pg_ns_forget(struct pg_conn *c, const char *ns)
{
	struct pg_ns **pp, *e;

	for (pp = &c->cache; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->name, ns) == 0) {
			*pp = e->next;
			free(e);
			return;
		}
}

enum evdb_status
pg_ns_lookup(struct pg_conn *c, const char *ns, struct pg_ns **out)
{
	struct pg_ns *e;
	enum evdb_status rs;
	PGresult *res;
	uint64_t epoch;
	bool fresh = false, heard;

	*out = NULL;
	if (!store_ns_name_valid(ns))
		return EVDB_ERR_NOT_FOUND;
	e = registry_cached(c, ns);
	/* Read before the row: a notice from now on makes the row old. */
	heard = pg_registry_epoch(c->st, &epoch);
	if (e != NULL && !e->stale && c->pg != NULL &&
	    PQstatus(c->pg) == CONNECTION_OK &&
	    ((heard && e->epoch == epoch) ||
	    (c->in_request && e->checked == c->request_serial))) {
		e->used = c->request_serial;
		*out = e;
		return EVDB_OK;
	}
	if ((rs = pg_query_prepared(c, "namespace lookup", "ns_lookup",
	    "SELECT id, schema_name, token_hash FROM evdb.namespaces WHERE name = $1",
	    1, &ns, NULL, &res)) != EVDB_OK)
		return rs;
	if (PQntuples(res) != 1 || !registry_schema_safe(PQgetvalue(res, 0, 1)) ||
	    strlen(PQgetvalue(res, 0, 2)) != TOKEN_HASH_HEX_LEN) {
		PQclear(res);
		pg_ns_forget(c, ns);
		return EVDB_ERR_NOT_FOUND;
	}
	if (e != NULL && e->id != pg_value_int64(res, 0, 0) && c->in_request &&
	    e->used == c->request_serial) {
		/*
		 * Deleted and made again since this request looked it up: the
		 * request (authenticated by the old token) may not go on into
		 * the new namespace.  The next request reads the new row.
		 */
		PQclear(res);
		e->stale = true;
		snprintf(c->errmsg, sizeof(c->errmsg), "namespace %s was deleted and"
		    " made again during this request", ns);
		return EVDB_ERR_NOT_FOUND;
	}
	if (e == NULL || e->id != pg_value_int64(res, 0, 0)) {
		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			snprintf(e->name, sizeof(e->name), "%s", ns);
			e->next = c->cache;
			c->cache = e;
		}
		fresh = true;
	}
	e->id = pg_value_int64(res, 0, 0);
	snprintf(e->schema, sizeof(e->schema), "%s", PQgetvalue(res, 0, 1));
	memcpy(e->token_hash, PQgetvalue(res, 0, 2), TOKEN_HASH_HEX_LEN + 1);
	e->checked = c->request_serial;
	e->epoch = heard ? epoch : 0;
	e->stale = false;
	e->used = c->request_serial;
	PQclear(res);
	/* Message DB's write_message must take the namespace lock too. */
	if (fresh && pg_schema_adopt_lock(c, e) != EVDB_OK)
		log_warn(c->st->log, "store: postgres: %s: acquire_lock left as it"
		    " is: %s", e->schema, c->errmsg);
	*out = e;
	return EVDB_OK;
}

enum evdb_status
pg_ns_token_hash(struct store_conn *base, const char *ns,
    char hash[TOKEN_HASH_HEX_LEN + 1])
{
	struct pg_ns *e;
	enum evdb_status rs;

	if ((rs = pg_ns_lookup(pg_conn_of(base), ns, &e)) != EVDB_OK)
		return rs;
	memcpy(hash, e->token_hash, TOKEN_HASH_HEX_LEN + 1);
	return EVDB_OK;
}

/*
 * Notifies PG_REGISTRY_CHANNEL with ns inside the caller's transaction:
 * every host's listener hears of the change at its commit.
 */
static enum evdb_status
registry_notify(struct pg_conn *c, const char *ns)
{
	const char *vals[2] = { PG_REGISTRY_CHANNEL, ns };

	return pg_exec(c, "registry notice", "SELECT pg_notify($1, $2)", 2, vals,
	    NULL);
}

static void
registry_rollback(struct pg_conn *c)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

enum evdb_status
pg_ns_create(struct store_conn *base, const char *ns, const char *token_hash,
    const char *description, const char *metadata, int64_t created_us)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;
	PGresult *res = NULL;
	const char *vals[5];
	char created[24], lock[96], schema[PG_SCHEMA_MAX + 1];
	char idtext[24];
	bool is_default = strcmp(ns, "default") == 0, owns = true;

	if (!store_ns_name_valid(ns))
		return EVDB_ERR_INVALID;
	snprintf(created, sizeof(created), "%lld", (long long)created_us);
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)",
	    PG_LOCK_KEY1, PG_LOCK_MIGRATE);
	if ((rs = pg_exec(c, "begin", "BEGIN", 0, NULL, NULL)) != EVDB_OK)
		return rs;
	/* Two hosts creating "default" on one empty database take turns. */
	if ((rs = pg_exec(c, "namespace lock", lock, 0, NULL, NULL)) != EVDB_OK)
		goto out;
	vals[0] = ns;
	vals[1] = token_hash;
	vals[2] = description != NULL ? description : "";
	vals[3] = metadata;
	vals[4] = created;
	if ((rs = pg_query(c, "insert namespace",
	    "INSERT INTO evdb.namespaces(name, schema_name, owns_schema, token_hash,"
	    " description, metadata, created_us)"
	    " VALUES($1, 'pending_' || $1, true, $2, $3, $4, $5)"
	    " ON CONFLICT (name) DO NOTHING RETURNING id", 5, vals, NULL,
	    &res)) != EVDB_OK)
		goto out;
	if (PQntuples(res) != 1) {
		rs = EVDB_ERR_EXISTS;
		goto out;
	}
	snprintf(idtext, sizeof(idtext), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (is_default) {
		snprintf(schema, sizeof(schema), "%s", PG_DEFAULT_SCHEMA);
		if ((rs = pg_query(c, "find message_store",
		    "SELECT to_regclass('message_store.messages') IS NULL", 0, NULL,
		    NULL, &res)) != EVDB_OK)
			goto out;
		owns = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		res = NULL;
	} else
		snprintf(schema, sizeof(schema), "evdb_ns_%s", idtext);
	vals[0] = schema;
	vals[1] = owns ? "t" : "f";
	vals[2] = idtext;
	if ((rs = pg_exec(c, "name schema",
	    "UPDATE evdb.namespaces SET schema_name = $1, owns_schema = $2"
	    " WHERE id = $3", 3, vals, NULL)) != EVDB_OK)
		goto out;
	if (owns && !is_default) {
		/* Ids are never reused; a leftover schema would hold stale data. */
		char drop[PG_SCHEMA_MAX + 40];

		snprintf(drop, sizeof(drop), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
		if ((rs = pg_exec(c, "drop leftover", drop, 0, NULL, NULL)) != EVDB_OK)
			goto out;
	}
	if ((rs = pg_schema_namespace(c, schema)) != EVDB_OK)
		goto out;
	if ((rs = registry_notify(c, ns)) != EVDB_OK)
		goto out;
	rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
	if (rs == EVDB_OK && !owns)
		log_info(c->st->log, "store: postgres: namespace default serves the"
		    " existing Message DB schema message_store");
out:
	PQclear(res);
	if (rs != EVDB_OK)
		registry_rollback(c);
	pg_ns_forget(c, ns);
	if (rs == EVDB_OK)
		pg_registry_changed(c->st);
	return rs;
}

enum evdb_status
pg_ns_delete(struct store_conn *base, const char *ns, int64_t *messages_deleted)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;
	PGresult *res = NULL;
	struct buf sql;
	char schema[PG_SCHEMA_MAX + 1];
	bool owns;
	int64_t id;

	*messages_deleted = 0;
	buf_init(&sql);
	if (!store_ns_name_valid(ns))
		return EVDB_ERR_NOT_FOUND;
	pg_ns_forget(c, ns);
	if ((rs = pg_exec(c, "begin", "BEGIN", 0, NULL, NULL)) != EVDB_OK)
		return rs;
	if ((rs = pg_query(c, "delete namespace",
	    "DELETE FROM evdb.namespaces WHERE name = $1"
	    " RETURNING id, schema_name, owns_schema", 1, &ns, NULL, &res)) != EVDB_OK)
		goto out;
	if (PQntuples(res) != 1 || !registry_schema_safe(PQgetvalue(res, 0, 1))) {
		rs = EVDB_ERR_NOT_FOUND;	/* another process won the race */
		goto out;
	}
	id = pg_value_int64(res, 0, 0);
	snprintf(schema, sizeof(schema), "%s", PQgetvalue(res, 0, 1));
	owns = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	res = NULL;
	/* Writers in flight finish first: they hold the namespace lock. */
	buf_printf(&sql, "SELECT pg_advisory_xact_lock(%d, %lld)", PG_LOCK_KEY1,
	    (long long)id);
	if ((rs = pg_exec(c, "namespace lock", buf_cstr(&sql), 0, NULL, NULL)) != EVDB_OK)
		goto out;
	buf_reset(&sql);
	buf_printf(&sql, "SELECT count(*) FROM %s.messages", schema);
	if ((rs = pg_query(c, "count messages", buf_cstr(&sql), 0, NULL, NULL,
	    &res)) == EVDB_OK)
		*messages_deleted = pg_value_int64(res, 0, 0);
	else if (rs == EVDB_ERR_UNAVAILABLE)
		goto out;
	else {
		/* A schema dropped by hand: the row still goes. */
		registry_rollback(c);
		if ((rs = pg_exec(c, "begin", "BEGIN", 0, NULL, NULL)) != EVDB_OK ||
		    (rs = pg_exec(c, "delete namespace",
		    "DELETE FROM evdb.namespaces WHERE name = $1", 1, &ns,
		    NULL)) != EVDB_OK || (rs = registry_notify(c, ns)) != EVDB_OK)
			goto out;
		rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
		goto out;
	}
	if (owns) {
		buf_reset(&sql);
		buf_printf(&sql, "DROP SCHEMA %s CASCADE", schema);
		if ((rs = pg_exec(c, "drop schema", buf_cstr(&sql), 0, NULL, NULL)) !=
		    EVDB_OK)
			goto out;
	}
	if ((rs = registry_notify(c, ns)) != EVDB_OK)
		goto out;
	rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
out:
	PQclear(res);
	if (rs != EVDB_OK)
		registry_rollback(c);
	else
		pg_registry_changed(c->st);
	buf_free(&sql);
	return rs;
}

/* Fills the totals of info from the namespace's table. */
static void
registry_ns_stats(struct pg_conn *c, const char *schema,
    struct store_ns_info *info)
{
	PGresult *res;
	struct buf sql;

	info->message_count = 0;
	info->stream_count = 0;
	info->last_activity_us = -1;
	if (!registry_schema_safe(schema))
		return;
	buf_init(&sql);
	buf_printf(&sql, "SELECT count(*), count(DISTINCT stream_name),"
	    " (extract(epoch FROM max(time)) * 1000000)::bigint FROM %s.messages",
	    schema);
	if (pg_query(c, "namespace stats", buf_cstr(&sql), 0, NULL, NULL, &res) ==
	    EVDB_OK) {
		info->message_count = pg_value_int64(res, 0, 0);
		info->stream_count = pg_value_int64(res, 0, 1);
		if (!PQgetisnull(res, 0, 2))
			info->last_activity_us = pg_value_int64(res, 0, 2);
		PQclear(res);
	}
	buf_free(&sql);
}

/* Calls fn for each row of res (name, description, created_us, schema). */
static enum evdb_status
registry_each(struct pg_conn *c, PGresult *res, store_ns_fn fn, void *ctx)
{
	struct store_ns_info info;
	enum evdb_status rs = EVDB_OK;
	int i;

	for (i = 0; i < PQntuples(res); i++) {
		info.name = PQgetvalue(res, i, 0);
		info.description = PQgetvalue(res, i, 1);
		info.created_us = pg_value_int64(res, i, 2);
		/* A namespace whose table cannot be read still lists, with zeros. */
		registry_ns_stats(c, PQgetvalue(res, i, 3), &info);
		if ((rs = fn(ctx, &info)) != EVDB_OK)
			break;
	}
	return rs;
}

enum evdb_status
pg_ns_list(struct store_conn *base, store_ns_fn fn, void *ctx)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;
	PGresult *res;

	if ((rs = pg_query(c, "list namespaces",
	    "SELECT name, description, created_us, schema_name FROM evdb.namespaces"
	    " ORDER BY created_us DESC, id DESC", 0, NULL, NULL, &res)) != EVDB_OK)
		return rs;
	rs = registry_each(c, res, fn, ctx);
	PQclear(res);
	return rs;
}

enum evdb_status
pg_ns_get(struct store_conn *base, const char *ns, store_ns_fn fn, void *ctx)
{
	struct pg_conn *c = pg_conn_of(base);
	enum evdb_status rs;
	PGresult *res;

	if (!store_ns_name_valid(ns))
		return EVDB_ERR_NOT_FOUND;
	if ((rs = pg_query(c, "get namespace",
	    "SELECT name, description, created_us, schema_name FROM evdb.namespaces"
	    " WHERE name = $1", 1, &ns, NULL, &res)) != EVDB_OK)
		return rs;
	rs = PQntuples(res) == 0 ? EVDB_ERR_NOT_FOUND : registry_each(c, res, fn, ctx);
	PQclear(res);
	return rs;
}
