/*
 * sqlite_rewind_t.c - the checkpointer's rewind of a WAL
 * (sqlite_checkpoint_rewind, sqlite_checkpoint.c): a sync of the database
 * and a PASSIVE checkpoint, twice, a sync of the WAL and of the database,
 * all with no lock held, then the RESTART that holds the file's writers.
 *
 * Without a fault it checkpoints every frame and the next commit starts the
 * WAL from its beginning; a reader on an old snapshot makes it SQLITE_BUSY,
 * and it succeeds once the reader is gone.  Then, with the fault VFS of
 * store_faults_t, in each of its modes, every I/O call of a rewind fails in
 * turn: the failure is returned with a message, every committed row is
 * still there, integrity_check passes, and once the fault is gone a rewind
 * succeeds and the WAL starts again from its beginning.
 */
#include "config.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "faultvfs.h"
#include "store/sqlite/sqlite_internal.h"

#define REWIND_GROW	40	/* commits between two rewinds of the walk */
#define REWIND_MAX_POINTS 2000	/* a walk longer than this is a failure */

static void
exec_or_bail(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		tap_bail("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

/* A connection as evdb's: WAL, synchronous NORMAL, no checkpoint of its own. */
static sqlite3 *
open_db(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK)
		tap_bail("open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
	exec_or_bail(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	return db;
}

/* n commits of one row each (a 1 KiB blob, so that pages fill). */
static void
grow(sqlite3 *w, int64_t *rows, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		exec_or_bail(w, "INSERT INTO t(v) VALUES (randomblob(1024))");
		(*rows)++;
	}
}

static int64_t
count_rows(sqlite3 *db)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* integrity_check on a connection of its own: true when "ok". */
static bool
integrity_ok(const char *path)
{
	sqlite3 *db = open_db(path);
	sqlite3_stmt *s;
	bool good = false;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) ==
	    SQLITE_OK) {
		good = sqlite3_step(s) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return good;
}

/* Frames in the WAL now (a PASSIVE checkpoint reports them). */
static int
wal_frames(sqlite3 *db)
{
	int log_frames = -1, done = -1;

	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &log_frames, &done) != SQLITE_OK)
		return -1;
	return log_frames;
}

/*
 * Walks every I/O call of a rewind in one fault mode.  *points gets the
 * calls walked; false, with why, at the first broken promise.
 */
static bool
walk_mode(const char *path, sqlite3 *w, int64_t *rows, enum faultvfs_mode mode,
    long *points, char *why, size_t why_size)
{
	sqlite3 *c;
	const char *err;
	int rc, log_frames, done, frames;
	long n, fired;

	for (n = 1; n <= REWIND_MAX_POINTS; n++) {
		grow(w, rows, REWIND_GROW);
		/* The checkpointer opens a connection per checkpoint. */
		c = open_db(path);
		faultvfs_arm(mode, FAULTVFS_MAIN, n);
		rc = sqlite_checkpoint_rewind(c, &log_frames, &done, &err);
		fired = faultvfs_disarm();
		if (fired == 0) {
			*points = n - 1;
			if (rc != SQLITE_OK) {
				snprintf(why, why_size, "no fault, and yet %s",
				    sqlite3_errstr(rc));
				sqlite3_close(c);
				return false;
			}
			sqlite3_close(c);
			return true;
		}
		if (rc != SQLITE_OK && err == NULL && *sqlite3_errmsg(c) == '\0') {
			snprintf(why, why_size, "fault at call %ld: %s without a "
			    "message", n, sqlite3_errstr(rc));
			sqlite3_close(c);
			return false;
		}
		sqlite3_close(c);
		if (count_rows(w) != *rows) {
			snprintf(why, why_size, "fault at call %ld: %" PRId64
			    " rows, %" PRId64 " committed", n, count_rows(w), *rows);
			return false;
		}
		if (!integrity_ok(path)) {
			snprintf(why, why_size, "fault at call %ld: integrity_check "
			    "fails", n);
			return false;
		}
		/* The fault gone, a rewind works, and the WAL starts again. */
		c = open_db(path);
		rc = sqlite_checkpoint_rewind(c, &log_frames, &done, &err);
		grow(w, rows, 1);
		frames = wal_frames(c);
		sqlite3_close(c);
		if (rc != SQLITE_OK || frames < 1 || frames > 8) {
			snprintf(why, why_size, "after a fault at call %ld: the next "
			    "rewind gave %s, and the WAL then held %d frames", n,
			    sqlite3_errstr(rc), frames);
			return false;
		}
	}
	snprintf(why, why_size, "a rewind still failed at call %d",
	    REWIND_MAX_POINTS);
	return false;
}

int
main(void)
{
	char dir[] = "/tmp/evdb-rewind-XXXXXX", path[512], file[600], why[512];
	sqlite3 *w, *c, *r;
	const char *err;
	int rc, log_frames = 0, done = 0, frames;
	int64_t rows = 0;
	long points;
	int m;

	tap_plan(5 + FAULTVFS_NMODES);
	faultvfs_register();
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	snprintf(path, sizeof(path), "%s/ns.db", dir);
	w = open_db(path);
	exec_or_bail(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
	grow(w, &rows, 300);

	c = open_db(path);
	frames = wal_frames(c);
	rc = sqlite_checkpoint_rewind(c, &log_frames, &done, &err);
	ok(rc == SQLITE_OK && err == NULL && log_frames == done &&
	    log_frames >= frames, "a rewind of a WAL of %d frames checkpoints "
	    "them all (%s, %d of %d)", frames, sqlite3_errstr(rc), done,
	    log_frames);
	grow(w, &rows, 1);
	frames = wal_frames(c);
	ok(frames >= 1 && frames <= 8, "the next commit starts the WAL from its "
	    "beginning (%d frames)", frames);

	/* A reader on an old snapshot: the RESTART cannot rewind past it. */
	r = open_db(path);
	exec_or_bail(r, "BEGIN; SELECT count(*) FROM t");
	grow(w, &rows, 50);
	rc = sqlite_checkpoint_rewind(c, &log_frames, &done, &err);
	ok(rc == SQLITE_BUSY && err == NULL, "a reader on an old snapshot: "
	    "SQLITE_BUSY (%s)", sqlite3_errstr(rc));
	exec_or_bail(r, "COMMIT");
	sqlite3_close(r);
	rc = sqlite_checkpoint_rewind(c, &log_frames, &done, &err);
	grow(w, &rows, 1);
	frames = wal_frames(c);
	ok(rc == SQLITE_OK && frames >= 1 && frames <= 8, "the reader gone, it "
	    "rewinds (%s; the next commit's WAL: %d frames)", sqlite3_errstr(rc),
	    frames);
	sqlite3_close(c);

	for (m = 0; m < FAULTVFS_NMODES; m++) {
		bool walked;

		why[0] = '\0';
		points = 0;
		walked = walk_mode(path, w, &rows, (enum faultvfs_mode)m, &points, why,
		    sizeof(why));
		ok(walked && points >= 8, "%s: %ld I/O calls of a rewind "
		    "failed in turn: each failure returned with a message, every "
		    "row kept, integrity_check ok, and the next rewind works%s%s",
		    faultvfs_mode_name((enum faultvfs_mode)m), points,
		    why[0] != '\0' ? ": " : "", why);
	}
	ok(count_rows(w) == rows && integrity_ok(path), "at the end: %" PRId64
	    " rows, all committed ones, and integrity_check ok", rows);

	sqlite3_close(w);
	unlink(path);
	snprintf(file, sizeof(file), "%s-wal", path);
	unlink(file);
	snprintf(file, sizeof(file), "%s-shm", path);
	unlink(file);
	rmdir(dir);
	return tap_done();
}
