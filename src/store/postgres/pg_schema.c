/*
 * pg_schema.c - the registry schema "evdb" and its migrations, and the
 * objects of a namespace schema.
 *
 * The registry's migrations are an append-only array of SQL scripts:
 * migration i takes evdb.schema_version from i to i + 1.  They run in one
 * transaction that first takes the advisory lock (PG_LOCK_KEY1,
 * PG_LOCK_MIGRATE), so that hosts starting together take turns and a
 * failed step leaves the database as it was.  Never edit a released
 * migration; add a new one.
 *
 * A namespace schema gets exactly Message DB 1.3.0's table "messages"
 * (columns, types, defaults, primary key and the three indexes, with the
 * expressions Message DB's queries use) and the function "category" that
 * its category index calls.  The DDL is written here from that shape.
 * Objects that exist already are kept, so that evdb serves an existing
 * Message DB database as it is.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"

/* The columns of a namespace's consumer checkpoints (pg_consumer.c). */
#define PG_CHECKPOINTS_COLUMNS \
	"(name text NOT NULL," \
	" size bigint NOT NULL,"	/* consumer-group size; 0: none */ \
	" member bigint NOT NULL,"	/* 0 <= member < size, or 0 */ \
	" position bigint NOT NULL,"	/* global position handled */ \
	" updated_us bigint NOT NULL,"	/* time of the last commit */ \
	" PRIMARY KEY (name, size, member))"

/*
 * The lifecycle tables of a namespace schema: the state that outlives a
 * stream's deleted rows, and category retention.  Message DB's functions
 * never read them (docs/operations.md, "Mixed writers").  The same text
 * serves pg_sql_schema (%1$s) and, in the migration, format() (%1$I).
 */
#define PG_LIFECYCLE_STATE(S) \
	"CREATE TABLE IF NOT EXISTS " S ".evdb_stream_state (" \
	" stream_name text PRIMARY KEY," \
	" floor bigint NOT NULL DEFAULT -1," \
	" soft_at bigint," \
	" hard boolean NOT NULL DEFAULT false," \
	" max_age bigint," \
	" max_count bigint," \
	" changed_us bigint)"
#define PG_LIFECYCLE_CATEGORY(S) \
	"CREATE TABLE IF NOT EXISTS " S ".evdb_category_retention (" \
	" category text PRIMARY KEY," \
	" max_age bigint," \
	" max_count bigint)"
#define PG_LIFECYCLE_DDL \
	PG_LIFECYCLE_STATE("%1$s") ";" PG_LIFECYCLE_CATEGORY("%1$s")

/*
 * The body of evdb_cardinal_hash(stream_name varchar), PG_GROUP_INDEX's
 * hash: Message DB's hash_64(cardinal_id(stream_name)), NULL without a
 * '-', else the first 64 bits of md5 of the id up to its first '+'.
 * PL/pgSQL, not SQL: a non-inlined SQL function is parsed and planned
 * again in every statement that calls it, and every INSERT calls it for
 * the index (twice the server's CPU of a one-row insert, measured); a
 * PL/pgSQL function keeps its plan for the session.  Neither kind is
 * inlined, so a query's call matches the index column and reads the
 * stored hash.  Quoted with $b$ wherever it is used.
 */
#define PG_CARDINAL_HASH_BODY \
	" BEGIN RETURN CASE WHEN strpos($1, '-') = 0 THEN NULL ELSE" \
	" left('x' || md5(split_part(substr($1, strpos($1, '-') + 1), '+', 1))," \
	" 17)::bit(64)::bigint END; END "
#define PG_CARDINAL_HASH_LANG " LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE"

static const char *const registry_migrations[] = {
	/* 0 -> 1: namespaces */
	"CREATE TABLE evdb.namespaces ("
	"  id bigserial PRIMARY KEY,"		/* never reused: names the schema */
	"  name text NOT NULL UNIQUE,"
	"  schema_name text NOT NULL UNIQUE,"	/* message_store or evdb_ns_<id> */
	"  owns_schema boolean NOT NULL,"	/* false: a Message DB schema found */
	"  token_hash text NOT NULL,"		/* SHA-256 hex of the token */
	"  description text NOT NULL DEFAULT '',"
	"  metadata text,"			/* JSON object or NULL */
	"  created_us bigint NOT NULL"
	")",
	/* 1 -> 2: consumer checkpoints in every namespace made before them */
	"DO $$ DECLARE r record; BEGIN"
	" FOR r IN SELECT schema_name FROM evdb.namespaces LOOP"
	"  IF to_regnamespace(r.schema_name) IS NOT NULL THEN"
	"   EXECUTE format('CREATE TABLE IF NOT EXISTS %I.evdb_checkpoints "
	PG_CHECKPOINTS_COLUMNS "', r.schema_name);"
	"  END IF;"
	" END LOOP; END $$",
	/* 2 -> 3: every namespace schema gets the lifecycle tables (pg_lifecycle.c) */
	"DO $$ DECLARE s text; BEGIN"
	" FOR s IN SELECT schema_name FROM evdb.namespaces LOOP"
	"  IF to_regnamespace(s) IS NOT NULL THEN"
	"   EXECUTE format('" PG_LIFECYCLE_STATE("%1$I") "', s);"
	"   EXECUTE format('" PG_LIFECYCLE_CATEGORY("%1$I") "', s);"
	"  END IF;"
	" END LOOP; END $$",
	/*
	 * 3 -> 4: evdb's index for category reads filtered by type
	 * (EXTENSIONS.md section 4) in every namespace schema that exists
	 * already, Message DB's message_store included.  See
	 * pg_schema_namespace() and docs/storage.md for why not CONCURRENTLY.
	 */
	"DO $$ DECLARE s text; BEGIN"
	" FOR s IN SELECT schema_name FROM evdb.namespaces LOOP"
	"  IF to_regclass(format('%I.messages', s)) IS NOT NULL THEN"
	"   EXECUTE format('CREATE INDEX IF NOT EXISTS " PG_TYPE_INDEX
	"    ON %1$I.messages (%1$I.category(stream_name), type, global_position)', s);"
	"  END IF;"
	" END LOOP; END $$",
	/*
	 * 4 -> 5: evdb's index for consumer-group reads (PG_GROUP_INDEX) and
	 * its function, in every namespace schema that exists already; the
	 * same SQL as pg_schema_namespace(), quotes doubled.
	 */
	"DO $$ DECLARE s text; BEGIN"
	" FOR s IN SELECT schema_name FROM evdb.namespaces LOOP"
	"  IF to_regclass(format('%I.messages', s)) IS NOT NULL THEN"
	"   IF to_regprocedure(format('%I.evdb_cardinal_hash(varchar)', s))"
	"    IS NULL THEN"
	"    EXECUTE format('CREATE FUNCTION %I.evdb_cardinal_hash("
	"stream_name varchar) RETURNS bigint AS $f$ SELECT CASE"
	" WHEN strpos($1, ''-'') = 0 THEN NULL ELSE"
	" left(''x'' || md5(split_part(substr($1, strpos($1, ''-'') + 1),"
	" ''+'', 1)), 17)::bit(64)::bigint END"
	" $f$ LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE', s);"
	"   END IF;"
	"   EXECUTE format('CREATE INDEX IF NOT EXISTS " PG_GROUP_INDEX
	"    ON %1$I.messages (%1$I.category(stream_name), global_position,"
	"    %1$I.evdb_cardinal_hash(stream_name)) INCLUDE (stream_name)', s);"
	"  END IF;"
	" END LOOP; END $$",
	/*
	 * 5 -> 6: the guard of every write batch (pg_write.c): raises
	 * PG_STATE_NS_GONE unless the namespace id is still registered, so
	 * that a batch sent with a cached registry row never commits into a
	 * namespace deleted (or deleted and made again) by another host.
	 * VOLATILE: its query reads a snapshot taken after the namespace lock.
	 */
	"CREATE OR REPLACE FUNCTION evdb.namespace_check(ns_id bigint)"
	" RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$ BEGIN"
	" IF NOT EXISTS (SELECT 1 FROM evdb.namespaces n WHERE n.id = ns_id) THEN"
	"  RAISE EXCEPTION 'evdb: namespace id % is not registered (deleted)', ns_id"
	"  USING ERRCODE = '" PG_STATE_NS_GONE "';"
	" END IF; RETURN ns_id; END $$",
	/*
	 * 6 -> 7: evdb_cardinal_hash() in PL/pgSQL (PG_CARDINAL_HASH_BODY) in
	 * every namespace schema that has it.  The same values for every
	 * input, so the indexes built on the SQL version stay valid.
	 */
	"DO $$ DECLARE s text; BEGIN"
	" FOR s IN SELECT schema_name FROM evdb.namespaces LOOP"
	"  IF to_regprocedure(format('%I.evdb_cardinal_hash(varchar)', s))"
	"   IS NOT NULL THEN"
	"   EXECUTE format('CREATE OR REPLACE FUNCTION %I.evdb_cardinal_hash("
	"stream_name varchar) RETURNS bigint AS %L" PG_CARDINAL_HASH_LANG "',"
	" s, $b$" PG_CARDINAL_HASH_BODY "$b$);"
	"  END IF;"
	" END LOOP; END $$",
};

#define MIGRATION_COUNT \
	(int)(sizeof(registry_migrations) / sizeof(registry_migrations[0]))

/* Runs sql, which may hold several statements (simple query protocol). */
static enum evdb_status
schema_exec(struct pg_conn *c, const char *sql)
{
	enum evdb_status rs;
	PGresult *res;
	ExecStatusType es;

	if ((rs = pg_conn_ready(c)) != EVDB_OK)
		return rs;
	res = PQexec(c->pg, sql);
	es = PQresultStatus(res);
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK)
		rs = pg_fail(c, res, "schema");
	PQclear(res);
	return rs;
}

enum evdb_status
pg_schema_migrate(struct pg_conn *c)
{
	enum evdb_status rs;
	PGresult *res = NULL;
	int64_t version;
	char sql[160];
	int i;

	if ((rs = schema_exec(c, "BEGIN")) != EVDB_OK)
		return rs;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %d)",
	    PG_LOCK_KEY1, PG_LOCK_MIGRATE);
	if ((rs = schema_exec(c, sql)) != EVDB_OK ||
	    (rs = schema_exec(c, "CREATE SCHEMA IF NOT EXISTS evdb")) != EVDB_OK ||
	    (rs = schema_exec(c, "CREATE TABLE IF NOT EXISTS evdb.schema_version"
	    " (version integer NOT NULL)")) != EVDB_OK ||
	    (rs = pg_query(c, "schema version",
	    "SELECT coalesce(max(version), 0) FROM evdb.schema_version", 0, NULL,
	    NULL, &res)) != EVDB_OK)
		goto out;
	version = pg_value_int64(res, 0, 0);
	PQclear(res);
	if (version > MIGRATION_COUNT) {
		snprintf(c->errmsg, sizeof(c->errmsg),
		    "registry schema version %lld is newer than this evdb (%d)",
		    (long long)version, MIGRATION_COUNT);
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	for (i = (int)version; i < MIGRATION_COUNT; i++)
		if ((rs = schema_exec(c, registry_migrations[i])) != EVDB_OK)
			goto out;
	if (version < MIGRATION_COUNT) {
		snprintf(sql, sizeof(sql), "DELETE FROM evdb.schema_version;"
		    " INSERT INTO evdb.schema_version VALUES (%d)", MIGRATION_COUNT);
		if ((rs = schema_exec(c, sql)) != EVDB_OK)
			goto out;
	}
	rs = schema_exec(c, "COMMIT");
out:
	if (rs != EVDB_OK && c->pg != NULL)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	return rs;
}

/* Whether the query (one row, one boolean) answers true. */
static enum evdb_status
schema_ask(struct pg_conn *c, const char *sql, const char *arg, bool *yes)
{
	PGresult *res;
	enum evdb_status rs;

	*yes = false;
	if ((rs = pg_query(c, "schema", sql, 1, &arg, NULL, &res)) != EVDB_OK)
		return rs;
	*yes = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return EVDB_OK;
}

static enum evdb_status schema_group_indexes(struct pg_conn *c,
    const char *schema);

enum evdb_status
pg_schema_namespace(struct pg_conn *c, const char *schema)
{
	enum evdb_status rs;
	struct buf sql;
	char name[PG_SCHEMA_MAX + 32];
	bool have;

	buf_init(&sql);
	buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", schema);
	if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
		goto out;
	snprintf(name, sizeof(name), "%s.category(varchar)", schema);
	if ((rs = schema_ask(c, "SELECT to_regprocedure($1) IS NOT NULL", name,
	    &have)) != EVDB_OK)
		goto out;
	if (!have) {
		/* Message DB's category(): the stream name up to its first '-'. */
		buf_reset(&sql);
		buf_printf(&sql, "CREATE FUNCTION %s.category(stream_name varchar)"
		    " RETURNS varchar AS $$ BEGIN"
		    " RETURN split_part(category.stream_name, '-', 1);"
		    " END; $$ LANGUAGE plpgsql IMMUTABLE", schema);
		if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
			goto out;
	}
	buf_reset(&sql);
	buf_printf(&sql,
	    "CREATE TABLE IF NOT EXISTS %s.messages ("
	    " global_position bigserial NOT NULL,"
	    " position bigint NOT NULL,"
	    " time timestamp without time zone"
	    "  DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,"
	    " stream_name text NOT NULL,"
	    " type text NOT NULL,"
	    " data jsonb,"
	    " metadata jsonb,"
	    " id uuid NOT NULL DEFAULT gen_random_uuid(),"
	    " CONSTRAINT messages_pkey PRIMARY KEY (global_position));"
	    "CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON %s.messages (id);"
	    "CREATE UNIQUE INDEX IF NOT EXISTS messages_stream"
	    " ON %s.messages (stream_name, position);"
	    "CREATE INDEX IF NOT EXISTS messages_category ON %s.messages"
	    " (%s.category(stream_name), global_position,"
	    "  %s.category(metadata->>'correlationStreamName'));"
	    "CREATE TABLE IF NOT EXISTS %s.evdb_checkpoints " PG_CHECKPOINTS_COLUMNS,
	    schema, schema, schema, schema, schema, schema, schema);
	if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
		goto out;
	/* evdb's own tables beside Message DB's (store.h "stream lifecycle"). */
	buf_reset(&sql);
	pg_sql_schema(&sql, PG_LIFECYCLE_DDL, schema);
	if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
		goto out;
	/*
	 * evdb's own index, beside Message DB's three, which stay as they
	 * are: category reads filtered by type (EXTENSIONS.md section 4).
	 * Not CONCURRENTLY: that cannot run inside this transaction, and a
	 * failed concurrent build would leave an invalid index that IF NOT
	 * EXISTS then keeps.  On a large existing Message DB table the build
	 * blocks writers until done; docs/storage.md says how to build it
	 * beforehand.
	 */
	buf_reset(&sql);
	buf_printf(&sql, "CREATE INDEX IF NOT EXISTS " PG_TYPE_INDEX
	    " ON %s.messages (%s.category(stream_name), type, global_position)",
	    schema, schema);
	if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
		goto out;
	/*
	 * Consumer groups (PG_GROUP_INDEX): the cardinal hash of each
	 * message in an index, so that a member's read skips the other
	 * members' rows on index entries.  evdb_cardinal_hash() is Message
	 * DB's hash_64(cardinal_id(stream_name)) -- NULL without a '-', the
	 * first 64 bits of md5 of the id up to its first '+' -- written in
	 * PL/pgSQL of its own (not Message DB's functions) so that it exists
	 * beside an evdb schema as beside a Message DB one,
	 * and only ever replaced by a body of the same values (migration
	 * 6 -> 7).  It must not be inlined (see PG_CARDINAL_HASH_BODY): a
	 * query's call then matches the index column and reads the stored
	 * hash, instead of computing md5 of the INCLUDEd stream_name for each
	 * entry.  Same build caveat as the type index.
	 */
	snprintf(name, sizeof(name), "%s.evdb_cardinal_hash(varchar)", schema);
	if ((rs = schema_ask(c, "SELECT to_regprocedure($1) IS NOT NULL", name,
	    &have)) != EVDB_OK)
		goto out;
	if (!have) {
		buf_reset(&sql);
		buf_printf(&sql, "CREATE FUNCTION %s.evdb_cardinal_hash("
		    "stream_name varchar) RETURNS bigint AS $b$"
		    PG_CARDINAL_HASH_BODY "$b$" PG_CARDINAL_HASH_LANG, schema);
		if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
			goto out;
	}
	buf_reset(&sql);
	buf_printf(&sql, "CREATE INDEX IF NOT EXISTS " PG_GROUP_INDEX
	    " ON %s.messages (%s.category(stream_name), global_position,"
	    " %s.evdb_cardinal_hash(stream_name)) INCLUDE (stream_name)",
	    schema, schema, schema);
	if ((rs = schema_exec(c, buf_cstr(&sql))) != EVDB_OK)
		goto out;
	if (c->st->group_indexes_kept)
		rs = schema_group_indexes(c, schema);
out:
	buf_free(&sql);
	return rs;
}

/*
 * Gives schema exactly st's member indexes (PG_MEMBER_INDEX), inside the
 * caller's transaction: drops the others, builds the missing ones.  Not
 * CONCURRENTLY, as the indexes above: a build over a large table blocks
 * its writers until done (logged).
 */
static enum evdb_status
schema_group_indexes(struct pg_conn *c, const char *schema)
{
	const struct pg_store *st = c->st;
	enum evdb_status rs;
	struct buf sql;
	PGresult *res;
	int i, m, r, kept = 0, dropped = 0, slots = 0;

	if ((rs = pg_query(c, "schema", "SELECT indexname FROM pg_indexes"
	    " WHERE schemaname = $1 AND tablename = 'messages'"
	    " AND starts_with(indexname, '" PG_MEMBER_INDEX_PREFIX "')", 1,
	    &schema, NULL, &res)) != EVDB_OK)
		return rs;
	buf_init(&sql);
	for (r = 0; r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 0);

		if (store_group_index_declared(st->group_sizes, st->group_count,
		    PG_MEMBER_INDEX_PREFIX, name))
			kept++;
		else if (strchr(name, '"') == NULL) {
			buf_printf(&sql, "DROP INDEX IF EXISTS %s.\"%s\";", schema,
			    name);
			dropped++;
		}
	}
	PQclear(res);
	for (i = 0; i < st->group_count; i++)
		slots += st->group_sizes[i];
	if (dropped == 0 && kept == slots)
		goto out;
	for (i = 0; i < st->group_count; i++)
		for (m = 0; m < st->group_sizes[i]; m++) {
			buf_printf(&sql, "CREATE INDEX IF NOT EXISTS " PG_MEMBER_INDEX
			    " ON %s.messages (%s.category(stream_name), global_position)"
			    " WHERE ", st->group_sizes[i], m, schema, schema);
			buf_printf(&sql, PG_MEMBER_TEST ";", schema,
			    st->group_sizes[i], m);
		}
	log_info(st->log, "store: postgres: schema %s: consumer-group indexes"
	    " (--group-indexes): %d kept, %d to build, %d to drop", schema, kept,
	    slots - kept, dropped);
	rs = schema_exec(c, buf_cstr(&sql));
out:
	buf_free(&sql);
	return rs;
}

enum evdb_status
pg_schema_group_indexes_all(struct pg_conn *c)
{
	enum evdb_status rs;
	PGresult *res;
	char sql[96];
	int r;

	if ((rs = pg_query(c, "schema", "SELECT schema_name FROM evdb.namespaces"
	    " WHERE to_regclass(schema_name || '.messages') IS NOT NULL"
	    " ORDER BY id", 0, NULL, NULL, &res)) != EVDB_OK)
		return rs;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %d)",
	    PG_LOCK_KEY1, PG_LOCK_MIGRATE);
	for (r = 0; r < PQntuples(res) && rs == EVDB_OK; r++) {
		if ((rs = schema_exec(c, "BEGIN")) != EVDB_OK)
			break;
		if ((rs = schema_exec(c, sql)) == EVDB_OK &&
		    (rs = schema_group_indexes(c, PQgetvalue(res, r, 0))) == EVDB_OK)
			rs = schema_exec(c, "COMMIT");
		if (rs != EVDB_OK && c->pg != NULL)
			PQclear(PQexec(c->pg, "ROLLBACK"));
	}
	PQclear(res);
	return rs;
}

enum evdb_status
pg_schema_adopt_lock(struct pg_conn *c, const struct pg_ns *ns)
{
	enum evdb_status rs;
	struct buf sql;
	char name[PG_SCHEMA_MAX + 32];
	bool mdb;

	/* Only where Message DB's own functions are installed. */
	snprintf(name, sizeof(name), "%s.acquire_lock(varchar)", ns->schema);
	if ((rs = schema_ask(c, "SELECT p.prosrc NOT LIKE '%evdb namespace lock%'"
	    " FROM pg_proc p WHERE p.oid = to_regprocedure($1)", name,
	    &mdb)) != EVDB_OK || !mdb)
		return rs;
	buf_init(&sql);
	buf_printf(&sql,
	    "CREATE OR REPLACE FUNCTION %s.acquire_lock(stream_name varchar)"
	    " RETURNS bigint AS $$"
	    " DECLARE _category_name_hash bigint;"
	    " BEGIN"
	    /* The marker that pg_schema_adopt_lock looks for. */
	    "  -- evdb namespace lock: global positions commit in order\n"
	    "  PERFORM pg_advisory_xact_lock(%d, %lld);"
	    "  _category_name_hash := %s.hash_64(%s.category(acquire_lock.stream_name));"
	    "  PERFORM pg_advisory_xact_lock(_category_name_hash);"
	    "  RETURN _category_name_hash;"
	    " END; $$ LANGUAGE plpgsql VOLATILE",
	    ns->schema, PG_LOCK_KEY1, (long long)ns->id, ns->schema, ns->schema);
	rs = schema_exec(c, buf_cstr(&sql));
	buf_free(&sql);
	if (rs == EVDB_OK)
		log_info(c->st->log, "store: postgres: %s.acquire_lock now takes"
		    " evdb's namespace lock", ns->schema);
	return rs;
}
