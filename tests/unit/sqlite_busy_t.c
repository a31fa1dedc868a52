/*
 * sqlite_busy_t.c - the SQLite connections' busy handler (sqlite_db.c):
 * its sleeps start at 50 us and double up to 1 ms, so that a writer held
 * a few milliseconds by a checkpoint wakes within a millisecond of the
 * lock's release (SQLite's own handler slept 1, 2, 5, 10 ms...), and the
 * tries still stop after --busy-timeout in all.  And a connection held by
 * another's write lock gets it once that is released, or BUSY when the
 * lock outlasts the timeout.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "store/store.h"
#include "store/sqlite/sqlite_internal.h"

/* The sum of the sleeps that the first tries of a wait take. */
static long
slept_after(int tries, int timeout_ms)
{
	long sum = 0, us;
	int i;

	for (i = 0; i < tries; i++) {
		if ((us = sqlite_busy_wait_us(i, timeout_ms)) == 0)
			break;
		sum += us;
	}
	return sum;
}

/* The number of sleeps before the handler gives up. */
static int
tries_until_busy(int timeout_ms)
{
	int i;

	for (i = 0; i < 10000000; i++)
		if (sqlite_busy_wait_us(i, timeout_ms) == 0)
			return i;
	return -1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection that holds a file's write lock, released after hold_ms. */
struct holder {
	sqlite3 *db;
	int hold_ms;
};

static void *
holder_main(void *arg)
{
	struct holder *hd = arg;

	usleep((useconds_t)hd->hold_ms * 1000);
	sqlite3_exec(hd->db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

/*
 * Opens path through sqlite_open_db (evdb's settings, its busy handler,
 * timeout_ms) while another connection holds the write lock for hold_ms,
 * and tries BEGIN IMMEDIATE: its result, and *waited_ms.
 */
static int
wait_for_lock(const char *path, int timeout_ms, int hold_ms, int64_t *waited_ms)
{
	struct sqlite_store st;
	struct holder hd = { .hold_ms = hold_ms };
	pthread_t t;
	sqlite3 *db = NULL;
	char err[256];
	int64_t t0;
	int rc;

	memset(&st, 0, sizeof(st));
	st.busy_timeout_ms = timeout_ms;
	st.registry_path = (char *)"";
	if (sqlite_open_db(&st, path, true, &db, err, sizeof(err)) != EVDB_OK)
		tap_bail("open %s: %s", path, err);
	if (sqlite3_open(path, &hd.db) != SQLITE_OK ||
	    sqlite3_exec(hd.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		tap_bail("cannot take the write lock of %s", path);
	if (pthread_create(&t, NULL, holder_main, &hd) != 0)
		tap_bail("pthread_create");
	t0 = now_ms();
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	*waited_ms = now_ms() - t0;
	if (rc == SQLITE_OK)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	pthread_join(t, NULL);
	sqlite3_close(hd.db);
	sqlite_close_db(&st, db);
	return rc & 0xff;
}

int
main(void)
{
	char dir[] = "/tmp/evdb-busy-XXXXXX", path[64];
	long us, max = 0;
	int i, rc, ok_doubling = 1;
	int64_t waited;

	tap_plan(11);

	ok(sqlite_busy_wait_us(0, 10000) == 50, "the first sleep is 50 us "
	    "(SQLite's own: 1 ms)");
	for (i = 1; i < 5; i++)
		if (sqlite_busy_wait_us(i, 10000) !=
		    2 * sqlite_busy_wait_us(i - 1, 10000))
			ok_doubling = 0;
	ok(ok_doubling, "the sleeps double: 50, 100, 200, 400, 800 us");
	for (i = 0; i < 20000; i++)
		if ((us = sqlite_busy_wait_us(i, 10000)) > max)
			max = us;
	ok(max == 1000, "no sleep is longer than 1 ms (longest %ld us)", max);
	ok(slept_after(1000000, 10000) == 10000L * 1000,
	    "the sleeps of a wait add up to --busy-timeout exactly (%ld us "
	    "of 10,000 ms)", slept_after(1000000, 10000));
	ok(tries_until_busy(10000) > 0 && sqlite_busy_wait_us(
	    tries_until_busy(10000) + 1, 10000) == 0 &&
	    sqlite_busy_wait_us(tries_until_busy(10000) + 100000, 10000) == 0,
	    "past the timeout every try says busy (after %d sleeps)",
	    tries_until_busy(10000));
	ok(slept_after(1000, 1) == 1000 && tries_until_busy(1) == 5,
	    "a timeout of 1 ms: 50 + 100 + 200 + 400 + the 250 us left "
	    "(%ld us in %d sleeps)", slept_after(1000, 1), tries_until_busy(1));
	ok(slept_after(1000000, 600000) == 600000L * 1000,
	    "the longest timeout, 600,000 ms, is slept in full");
	ok(sqlite_busy_wait_us(6, 10000) == 1000 &&
	    sqlite_busy_wait_us(9999, 10000) == 1000,
	    "the sleeps stay at 1 ms from the sixth on");
	ok(sqlite_busy_wait_us(0, 0) == 0, "no timeout: busy at once");

	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	snprintf(path, sizeof(path), "%s/ns.db", dir);
	rc = wait_for_lock(path, 10000, 50, &waited);
	ok(rc == SQLITE_OK && waited >= 40, "a writer held 50 ms by another "
	    "connection gets the lock when it is let go (%s after %" PRId64
	    " ms)", sqlite3_errstr(rc), waited);
	rc = wait_for_lock(path, 100, 3000, &waited);
	ok(rc == SQLITE_BUSY && waited >= 100 && waited < 3000, "held past "
	    "--busy-timeout 100 ms: SQLITE_BUSY after the timeout, not the "
	    "holder's release (%s after %" PRId64 " ms)", sqlite3_errstr(rc),
	    waited);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ns.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ns.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
