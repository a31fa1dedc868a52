/*
 * sqlite_invariant_t.c - the commit-time position check
 * (src/store/sqlite/sqlite_invariant.c): it accepts commits that keep
 * streams gapless above the old head, refuses a hole, a message at or
 * below the head and a position out of range, and it is on for the whole
 * test suite (EVDB_STORE_INVARIANTS=1 from make check).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../tap.h"
#include "store/sqlite/sqlite_invariant.h"

/* Inserts one row (stream, position, global position) into db. */
static void
put(sqlite3 *db, const char *stream, long long pos, long long gpos)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO messages(global_position, id,"
	    " stream_name, category, type, position, time_us) VALUES(%lld,"
	    " 'id-%lld', '%s', 'c', 'T', %lld, 0)", gpos, gpos, stream, pos);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		tap_bail("insert: %s", sqlite3_errmsg(db));
}

/* True when the rows above head pass the check for `added` new rows. */
static bool
verify(sqlite3 *db, long long head, long long added, char *err, size_t len)
{
	return sqlite_invariant_verify(db, head, added, err, len) == EVDB_OK;
}

int
main(void)
{
	char dir[] = "/tmp/evdb-inv-XXXXXX", err[384], rm[64];
	struct store_options opt;
	struct store *st = NULL;
	sqlite3 *db = NULL;
	const char *env = getenv("EVDB_STORE_INVARIANTS");

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan(9);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite_schema_namespace(NULL, db, err, sizeof(err)) != EVDB_OK)
		tap_bail("namespace schema: %s", err);
	/* Stored before the batch: a-0 a-1 b-0, head 3. */
	put(db, "a", 0, 1);
	put(db, "a", 1, 2);
	put(db, "b", 0, 3);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "a", 2, 4);
	put(db, "c", 0, 5);
	put(db, "c", 1, 9);
	ok(verify(db, 3, 3, err, sizeof(err)), "a batch continuing its streams above the"
	    " head passes");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "b", 2, 4);
	ok(!verify(db, 3, 1, err, sizeof(err)) && strstr(err, "hole") != NULL,
	    "a hole in a stream (b: 0 then 2) is refused: %s", err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "d", 3, 4);
	ok(!verify(db, 3, 1, err, sizeof(err)), "a new stream starting at 3 is refused");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "e", 0, 8);
	put(db, "e", 1, 7);
	ok(!verify(db, 3, 2, err, sizeof(err)),
	    "positions out of global order (e-1 before e-0) are refused");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	/* Move the head to 10, then add a message below it. */
	put(db, "f", 0, 10);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "g", 0, 6);
	ok(!verify(db, 10, 1, err, sizeof(err)) && strstr(err, "head") != NULL,
	    "a message below the head is refused: %s", err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	put(db, "h", 0, (long long)STORE_POSITION_MAX + 1);
	ok(!verify(db, 10, 1, err, sizeof(err)) && strstr(err, "outside") != NULL,
	    "a global position above STORE_POSITION_MAX is refused: %s", err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	ok(verify(db, 10, 0, err, sizeof(err)), "a commit that adds nothing passes");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);

	/* make check runs the whole suite with the check on. */
	ok(env != NULL && strcmp(env, "1") == 0,
	    "EVDB_STORE_INVARIANTS=1 in the test environment");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = 5000;
	ok(store_open(&opt, &st) == EVDB_OK && ((struct sqlite_store *)st)->invariants,
	    "a store opened in the suite checks its commits");
	store_close(st);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
