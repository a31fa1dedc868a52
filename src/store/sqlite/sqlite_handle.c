/*
 * sqlite_handle.c - one open namespace file of a connection (struct
 * ns_handle): its SQLite connection with the namespace schema checked, its
 * prepared statements, its shared checkpoint state and its poke file, and
 * where the file lives.
 *
 * Above sqlite_db.c, sqlite_schema.c and sqlite_checkpoint.c; below the
 * connection's cache (sqlite_store.c) and everything that reads or writes.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

/*
 * The correlation column of NS_INSERT and NS_IMPORT_INSERT: Message DB's
 * category(metadata.correlationStreamName), ?8 when sqlite_bind_message
 * could read it (?12 = 1), else SQL's.
 */
#define INSERT_CORRELATION						\
	" CASE ?12 WHEN 1 THEN ?8 ELSE"					\
	" (SELECT CASE WHEN instr(v, '-') > 0 THEN substr(v, 1, instr(v, '-') - 1)" \
	"  ELSE v END FROM (SELECT CASE"				\
	"  WHEN json_type(?7, '$.correlationStreamName') = 'text'"	\
	"  THEN json_extract(?7, '$.correlationStreamName') END AS v)) END,"

static const char *const ns_sql[NS_STMT_COUNT] = {
	[NS_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[NS_COMMIT] = "COMMIT",
	[NS_ROLLBACK] = "ROLLBACK",
	[NS_ID_LOOKUP] =
	    "SELECT stream_name, position, global_position, type, data, metadata"
	    " FROM messages WHERE id = ?1",
	/*
	 * The stream's version, from its messages and its lifecycle state
	 * (store.h, "stream lifecycle"): 0 the last position handed out (-1:
	 * none; a write continues after it), 1 the version as expectedVersion
	 * and stream.version see it (-1 when soft-deleted with nothing
	 * written since, or tombstoned), 2 the tombstone (1 or 0), 3 whether
	 * the stream holds no message.
	 */
	[NS_STREAM_VERSION] =
	    "SELECT b.base, CASE WHEN b.hard OR b.base <= b.soft_at THEN -1"
	    "  ELSE b.base END, b.hard, b.v IS NULL FROM"
	    " (SELECT max(coalesce(m.v, -1), coalesce(l.floor, -1)) AS base,"
	    "  l.soft_at AS soft_at, coalesce(l.hard, 0) AS hard, m.v AS v"
	    "  FROM (SELECT max(position) AS v FROM messages WHERE stream_name = ?1) m"
	    "  LEFT JOIN stream_state l ON l.stream_name = ?1) b",
	[NS_INSERT] =
	    "INSERT INTO messages(id, stream_name, category, type, position, data,"
	    " metadata, correlation, cardinal_hash, time_us, global_position)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7," INSERT_CORRELATION
	    " ?9, ?10,"
	    /* The head + 1, also when the head's row was deleted (stats.deleted_head). */
	    " (SELECT max(coalesce((SELECT max(global_position) FROM messages), 0),"
	    "  deleted_head) + 1 FROM stats WHERE id = 1))",
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
	    " AND global_position >= ?2" READ_GROUP
	    " ORDER BY global_position LIMIT ?3",
	[NS_READ_CATEGORY_CORR] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE category = ?1"
	    " AND global_position >= ?2 AND correlation = ?4" READ_GROUP
	    " ORDER BY global_position LIMIT ?3",
	[NS_READ_ALL] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE ?1 IS NULL"
	    " AND global_position >= ?2" READ_GROUP
	    " ORDER BY global_position LIMIT ?3",
	[NS_READ_ALL_CORR] =
	    "SELECT " MSG_COLS ", cardinal_hash FROM messages WHERE ?1 IS NULL"
	    " AND global_position >= ?2 AND correlation = ?4" READ_GROUP
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
	[NS_HEAD] =
	    "SELECT max(coalesce((SELECT max(global_position) FROM messages), 0),"
	    " deleted_head) FROM stats WHERE id = 1",
	[NS_IMPORT_INSERT] =
	    "INSERT INTO messages(id, stream_name, category, type, position, data,"
	    " metadata, correlation, cardinal_hash, time_us, global_position)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7," INSERT_CORRELATION
	    " ?9, ?10, ?11)",
	[NS_CLEAR] = "DELETE FROM messages",
	[NS_STATS_RECOMPUTE] =
	    "UPDATE stats SET message_count = (SELECT count(*) FROM messages),"
	    " stream_count = (SELECT count(DISTINCT stream_name) FROM messages),"
	    " last_activity_us = (SELECT max(time_us) FROM messages) WHERE id = 1",
	[NS_UNIT_SAVEPOINT] = "SAVEPOINT unit",
	[NS_UNIT_RELEASE] = "RELEASE unit",
	[NS_UNIT_ROLLBACK_TO] = "ROLLBACK TO unit",
	/* consumer checkpoints (sqlite_consumer.c) */
	[NS_CONSUMER_GET] =
	    "SELECT name, member, size, position, updated_us FROM consumer_checkpoints"
	    " WHERE name = ?1 AND size = ?2 AND member = ?3",
	[NS_CONSUMER_COUNT] = "SELECT count(*) FROM consumer_checkpoints",
	[NS_CONSUMER_UPSERT] =
	    "INSERT INTO consumer_checkpoints(name, size, member, position, updated_us)"
	    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(name, size, member) DO UPDATE"
	    " SET position = excluded.position, updated_us = excluded.updated_us",
	[NS_CONSUMER_LIST] =
	    "SELECT name, member, size, position, updated_us FROM consumer_checkpoints"
	    " ORDER BY name, size, member LIMIT ?1",
	[NS_CONSUMER_DELETE] = "DELETE FROM consumer_checkpoints WHERE name = ?1",
	[NS_CONSUMER_CLEAR] = "DELETE FROM consumer_checkpoints",
};


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
	if (h->group_stmt != NULL)
		for (i = 0; i < 2 * st->group_slots; i++)
			sqlite3_finalize(h->group_stmt[i]);
	free(h->group_stmt);
	sqlite_close_db(st, h->db);
	if (h->poke_fd >= 0)
		close(h->poke_fd);
	free(h);
}

const char *
sqlite_ns_sql(enum ns_stmt which)
{
	return ns_sql[which];
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

int
sqlite_poke_open(const char *db_path)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s-poke", db_path) >= sizeof(path))
		return -1;
	/* Without a poke file, only this process's own subscribers hear of writes. */
	return open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

void
sqlite_poke_signal(struct ns_handle *h, int64_t global_position)
{
	/* One small pwrite per commit: inotify reports it as IN_MODIFY. */
	if (h->poke_fd >= 0)
		(void)!pwrite(h->poke_fd, &global_position, sizeof(global_position), 0);
}
