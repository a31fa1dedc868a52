/*
 * sqlite_schema.c - the schemas of the registry and of a namespace file, and
 * their migrations.
 *
 * Each database has a schema_version table holding one row.  Migrations are
 * an append-only array of SQL scripts: migration i takes the schema from
 * version i to i + 1.  They run inside one BEGIN IMMEDIATE transaction, so
 * two processes starting at once cannot both apply the same step, and a
 * failed step leaves the file as it was.  Never edit a released migration;
 * add a new one.
 *
 * Beside the migrations, the consumer-group indexes of --group-indexes
 * (sqlite_internal.h, GROUP_INDEX_NAME) follow the setting rather than a
 * version: a server that opens a file gives it exactly the indexes of its
 * setting, building the missing ones and dropping the others.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/buf.h"

static const char *const registry_migrations[] = {
	/* 0 -> 1: namespaces */
	"CREATE TABLE namespaces ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"	/* generation; never reused */
	"  name TEXT NOT NULL UNIQUE,"
	"  token_hash TEXT NOT NULL,"			/* SHA-256 hex of the token */
	"  description TEXT NOT NULL DEFAULT '',"
	"  metadata TEXT,"				/* JSON object or NULL */
	"  created_us INTEGER NOT NULL"
	");",
};

static const char *const namespace_migrations[] = {
	/* 0 -> 1: messages and their running totals */
	"CREATE TABLE messages ("
	"  global_position INTEGER PRIMARY KEY,"	/* rowid: max + 1 on insert */
	"  id TEXT NOT NULL,"
	"  stream_name TEXT NOT NULL,"
	"  category TEXT NOT NULL,"			/* stream_name before the first '-' */
	"  type TEXT NOT NULL,"
	"  position INTEGER NOT NULL,"
	"  data TEXT,"					/* JSON text */
	"  metadata TEXT,"				/* JSON text or NULL */
	"  correlation TEXT,"				/* category of metadata.correlationStreamName */
	"  cardinal_hash INTEGER,"			/* hash64(cardinal id) or NULL */
	"  time_us INTEGER NOT NULL"
	");"
	"CREATE UNIQUE INDEX messages_id ON messages(id);"
	"CREATE UNIQUE INDEX messages_stream ON messages(stream_name, position);"
	"CREATE INDEX messages_category ON messages(category, global_position);"
	"CREATE TABLE stats ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  message_count INTEGER NOT NULL,"
	"  stream_count INTEGER NOT NULL,"
	"  last_activity_us INTEGER"
	");"
	"INSERT INTO stats VALUES (1, 0, 0, NULL);",
	/* 1 -> 2: consumer checkpoints (sqlite_consumer.c) */
	"CREATE TABLE consumer_checkpoints ("
	"  name TEXT NOT NULL,"				/* [A-Za-z0-9:._-]{1,200} */
	"  size INTEGER NOT NULL,"			/* consumer-group size; 0: none */
	"  member INTEGER NOT NULL,"			/* 0 <= member < size, or 0 */
	"  position INTEGER NOT NULL,"			/* global position handled */
	"  updated_us INTEGER NOT NULL,"		/* time of the last commit */
	"  PRIMARY KEY (name, size, member)"
	") WITHOUT ROWID;",
	/* 2 -> 3: stream lifecycle (EXTENSIONS.md section 5, store.h) */
	"CREATE TABLE stream_state ("
	"  stream_name TEXT PRIMARY KEY,"
	"  floor INTEGER NOT NULL DEFAULT -1,"		/* highest position ever held */
	"  soft_at INTEGER,"				/* version at the last soft delete */
	"  hard INTEGER NOT NULL DEFAULT 0,"		/* 1: tombstoned */
	"  max_age INTEGER,"				/* seconds, or NULL */
	"  max_count INTEGER,"				/* messages, or NULL */
	"  changed_us INTEGER"				/* last lifecycle change */
	") WITHOUT ROWID;"
	"CREATE TABLE category_retention ("
	"  category TEXT PRIMARY KEY,"
	"  max_age INTEGER,"
	"  max_count INTEGER"
	") WITHOUT ROWID;"
	/* The highest global position ever handed out, once the rows above
	 * it were deleted: rowids must not be handed out twice. */
	"ALTER TABLE stats ADD COLUMN deleted_head INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 3 -> 4: category reads filtered by type (EXTENSIONS.md section 4)
	 * seek each type's messages in global order, instead of scanning the
	 * category.  Built inside the migration's transaction on an existing
	 * file: a one-off cost proportional to its size.
	 */
	"CREATE INDEX IF NOT EXISTS messages_category_type"
	"  ON messages(category, type, global_position);",
	/*
	 * 4 -> 5: consumer-group reads test the group on the index
	 * (READ_GROUP, sqlite_internal.h): messages_category with the
	 * cardinal hash as a third column, so a row of another member costs
	 * an index entry and not a row fetch.  It serves every read the old
	 * index served, which goes: a write still updates as many indexes.
	 */
	"CREATE INDEX IF NOT EXISTS messages_category_group"
	"  ON messages(category, global_position, cardinal_hash);"
	"DROP INDEX IF EXISTS messages_category;",
};

static int
sqlite_schema_version_cb(void *arg, int ncol, char **vals, char **names)
{
	*(long long *)arg = vals[0] != NULL ? atoll(vals[0]) : 0;
	return 0;
}

static enum evdb_status
sqlite_schema_migrate(sqlite3 *db, const char *const *steps, int nsteps,
    char *err, size_t err_size)
{
	enum evdb_status rs;
	long long version = 0;
	char sql[96];
	int i;

	/* Cheap check first: a current file needs no write lock. */
	if (sqlite3_exec(db, "SELECT version FROM schema_version", sqlite_schema_version_cb,
	    &version, NULL) == SQLITE_OK && version == nsteps)
		return EVDB_OK;
	if ((rs = sqlite_exec(db, "BEGIN IMMEDIATE", err, err_size)) != EVDB_OK)
		return rs;
	if ((rs = sqlite_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
	    err, err_size)) != EVDB_OK)
		goto out;
	version = 0;
	if (sqlite3_exec(db, "SELECT version FROM schema_version",
	    sqlite_schema_version_cb, &version, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "%s", sqlite3_errmsg(db));
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	if (version > nsteps) {
		snprintf(err, err_size, "schema version %lld is newer than this evdb (%d)",
		    version, nsteps);
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	for (i = (int)version; i < nsteps; i++)
		if ((rs = sqlite_exec(db, steps[i], err, err_size)) != EVDB_OK)
			goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM schema_version;"
	    " INSERT INTO schema_version VALUES (%d);", nsteps);
	if ((rs = sqlite_exec(db, sql, err, err_size)) != EVDB_OK)
		goto out;
	rs = sqlite_exec(db, "COMMIT", err, err_size);
out:
	if (rs != EVDB_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rs;
}

enum evdb_status
sqlite_schema_registry(struct sqlite_store *st, sqlite3 *db, char *err, size_t err_size)
{
	return sqlite_schema_migrate(db, registry_migrations,
	    (int)(sizeof(registry_migrations) / sizeof(registry_migrations[0])),
	    err, err_size);
}

void
sqlite_group_index_sql(struct buf *out, int n, int m)
{
	buf_printf(out, "CREATE INDEX IF NOT EXISTS " GROUP_INDEX_NAME
	    " ON messages(category, global_position)"
	    " WHERE abs(cardinal_hash %% %d) = %d;", n, m, n, m);
}

/*
 * Appends to out the DROP INDEX of every group index of db that st does
 * not declare; sets *kept to the number of those it does.
 */
static enum evdb_status
schema_group_index_drops(const struct sqlite_store *st, sqlite3 *db,
    struct buf *out, int *kept, int *dropped, char *err, size_t err_size)
{
	sqlite3_stmt *s;
	int rc;

	*kept = 0;
	*dropped = 0;
	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE"
	    " type = 'index' AND tbl_name = 'messages' AND name GLOB '"
	    GROUP_INDEX_PREFIX "*'", -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if (store_group_index_declared(st->group_sizes, st->group_count,
		    GROUP_INDEX_PREFIX, name))
			(*kept)++;
		else if (strchr(name, '"') == NULL) {
			/* Quoted, the name is only ever an identifier. */
			buf_printf(out, "DROP INDEX IF EXISTS \"%s\";", name);
			(*dropped)++;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		snprintf(err, err_size, "group indexes: %s", sqlite3_errmsg(db));
		return EVDB_ERR_BACKEND;
	}
	return EVDB_OK;
}

/*
 * Gives db exactly the group indexes of st (--group-indexes).  The check
 * reads the schema only; a file that needs a change is changed in one
 * BEGIN IMMEDIATE, which builds a new index over every message already in
 * the file: a one-off cost, logged.
 */
static enum evdb_status
schema_group_indexes(struct sqlite_store *st, sqlite3 *db, char *err,
    size_t err_size)
{
	enum evdb_status rs;
	struct buf sql;
	int kept, dropped, i, m;

	buf_init(&sql);
	if ((rs = schema_group_index_drops(st, db, &sql, &kept, &dropped, err,
	    err_size)) != EVDB_OK || (dropped == 0 && kept == st->group_slots))
		goto out;
	if ((rs = sqlite_exec(db, "BEGIN IMMEDIATE", err, err_size)) != EVDB_OK)
		goto out;
	/* Again under the lock: another process may have changed them. */
	buf_reset(&sql);
	if ((rs = schema_group_index_drops(st, db, &sql, &kept, &dropped, err,
	    err_size)) != EVDB_OK)
		goto rollback;
	for (i = 0; i < st->group_count; i++)
		for (m = 0; m < st->group_sizes[i]; m++)
			sqlite_group_index_sql(&sql, st->group_sizes[i], m);
	log_info(st->log, "store: %s: consumer-group indexes (--group-indexes):"
	    " %d kept, %d to build, %d to drop", sqlite3_db_filename(db, NULL),
	    kept, st->group_slots - kept, dropped);
	if ((rs = sqlite_exec(db, buf_cstr(&sql), err, err_size)) != EVDB_OK)
		goto rollback;
	rs = sqlite_exec(db, "COMMIT", err, err_size);
rollback:
	if (rs != EVDB_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	buf_free(&sql);
	return rs;
}

enum evdb_status
sqlite_schema_namespace(struct sqlite_store *st, sqlite3 *db, char *err, size_t err_size)
{
	enum evdb_status rs;
	sqlite3_stmt *s = NULL;
	int tables = -1;

	/*
	 * A new, empty file gets auto_vacuum=INCREMENTAL, so that the
	 * retention sweep can give pages back (PRAGMA incremental_vacuum).
	 * The file exists already (journal_mode=WAL wrote its header), so the
	 * mode takes effect through a VACUUM, instant on an empty file.  A
	 * file that has tables keeps its mode: made before the lifecycle
	 * migration, it reuses its free pages but keeps its size until an
	 * offline VACUUM (docs/operations.md, "Retention and deletion").
	 */
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s,
	    NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		tables = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (tables == 0)
		(void)sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM",
		    NULL, NULL, NULL);
	rs = sqlite_schema_migrate(db, namespace_migrations,
	    (int)(sizeof(namespace_migrations) / sizeof(namespace_migrations[0])),
	    err, err_size);
	if (rs == EVDB_OK && st != NULL && st->group_indexes_kept &&
	    schema_group_indexes(st, db, err, err_size) != EVDB_OK) {
		/*
		 * A speed-up only (another worker may be building them, and
		 * hold the lock past --busy-timeout): the file serves its
		 * requests without, and its next open tries again.
		 */
		log_warn(st->log, "store: %s: consumer-group indexes left as they"
		    " are: %s", sqlite3_db_filename(db, NULL), err);
		err[0] = '\0';
	}
	return rs;
}
