/*
 * sqlite_db.c - the SQLite backend's lowest layer: opening and closing one
 * database connection with evdb's settings, running and stepping
 * statements, and turning SQLite's result codes into evdb statuses, with
 * sqlite3_errmsg() carried into the connection's message and the log.
 *
 * It calls nothing else of the backend; every other sqlite_*.c file may
 * call it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_internal.h"

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

/*
 * Steps s to the end (or until limit rows were accepted; -1: no limit),
 * calling row with s on each row.  A failed step fails with what and
 * SQLite's message; a status other than EVDB_OK from row stops the loop
 * and is returned.  Resets s either way.
 */
enum evdb_status
sqlite_step_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s,
    int64_t limit, const char *what, sqlite_row_fn row, void *arg)
{
	enum evdb_status rs = EVDB_OK;
	int64_t n = 0;
	int rc;

	while (limit < 0 || n < limit) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rs = sqlite_fail(c, db, rc, what);
			break;
		}
		if ((rs = row(s, arg)) != EVDB_OK)
			break;
		n++;
	}
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

/*
 * The busy handler's schedule.  SQLite's own (sqlite3_busy_timeout) sleeps
 * 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms between tries.  The
 * locks evdb's connections wait for are held for milliseconds: a RESTART
 * checkpoint holds a file's writers for about 1 ms (2 - 12 ms before the
 * catch-up of sqlite_checkpoint_rewind), and itself waits for the readers
 * of the moment, sub-millisecond, with every writer of the file behind it.
 * With SQLite's steps a writer held 3 ms woke at 8, one held 12 ms at 18,
 * and a checkpointer slept 1 - 5 ms past the last reader with the writers
 * held: the tail of W1's latency.
 * Here the sleeps start at BUSY_FIRST_US and double up to BUSY_MAX_US, and
 * the tries stop once they have slept timeout_ms in all, as SQLite's do.
 */
#define BUSY_FIRST_US	50
#define BUSY_MAX_US	1000

long
sqlite_busy_wait_us(int count, int timeout_ms)
{
	long slept = 0, next = BUSY_FIRST_US, limit = (long)timeout_ms * 1000;
	int i;

	for (i = 0; i < count && next < BUSY_MAX_US; i++) {
		slept += next;
		next = next * 2 < BUSY_MAX_US ? next * 2 : BUSY_MAX_US;
	}
	slept += (long)(count - i) * BUSY_MAX_US;
	if (slept >= limit)
		return 0;
	return next < limit - slept ? next : limit - slept;
}

/* sqlite3_busy_handler's callback: count tries have failed so far. */
static int
sqlite_busy_handler(void *arg, int count)
{
	const struct sqlite_store *st = arg;
	long us = sqlite_busy_wait_us(count, st->busy_timeout_ms);
	struct timespec ts;

	if (us <= 0)
		return 0;	/* SQLITE_BUSY to the caller */
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	(void)nanosleep(&ts, NULL);
	return 1;
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
	sqlite3_busy_handler(db, sqlite_busy_handler, st);
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
