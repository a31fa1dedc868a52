/*
 * tests/mdbtest.h - Message DB 1.3.0's own SQL functions for the tests that
 * run them beside evdb on PostgreSQL.  The SQL is never kept in this tree:
 * EVDB_MDB_SQL names the package's database/ directory, or mdbtest_dir()
 * fetches the npm package @eventide/message-db into a temporary directory
 * (removed by mdbtest_cleanup()).  Header-only, like pgtest.h; include
 * "tap.h" and <libpq-fe.h> first.
 */
#ifndef EVDB_TESTS_MDBTEST_H
#define EVDB_TESTS_MDBTEST_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Message DB's files that make its functions, in an order that works. */
static const char *const mdbtest_files[] = {
	"types/message.sql", "functions/message-store-version.sql",
	"functions/hash-64.sql", "functions/acquire-lock.sql",
	"functions/category.sql", "functions/is-category.sql",
	"functions/id.sql", "functions/cardinal-id.sql",
	"functions/stream-version.sql", "functions/write-message.sql",
	"functions/get-stream-messages.sql",
	"functions/get-category-messages.sql",
	"functions/get-last-stream-message.sql",
};

/** The whole of file path, NUL-terminated (malloc'ed), or NULL. */
static char *
mdbtest_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
		tap_bail("read %s", path);
	p[n] = '\0';
	fclose(f);
	return p;
}

/** Where Message DB's database/ directory is (static), or NULL. */
static const char *
mdbtest_dir(void)
{
	static char dir[512];
	const char *env = getenv("EVDB_MDB_SQL");
	char cmd[1536];

	if (env != NULL && *env != '\0')
		return env;
	snprintf(dir, sizeof(dir), "/tmp/evdb-mdb.%ld", (long)getpid());
	snprintf(cmd, sizeof(cmd), "command -v npm >/dev/null && mkdir -p %s &&"
	    " cd %s && npm pack --silent @eventide/message-db@1.3 >/dev/null 2>&1"
	    " && tar -xzf eventide-message-db-*.tgz", dir, dir);
	if (system(cmd) != 0)
		return NULL;
	strncat(dir, "/package/database", sizeof(dir) - strlen(dir) - 1);
	return dir;
}

/**
 * Installs Message DB's functions from dir into the schema message_store
 * of pg's database (evdb's default namespace, which must exist).  Returns
 * 1 when every file ran, else 0 with a diagnostic per failure.
 */
static int
mdbtest_install(PGconn *pg, const char *dir)
{
	char path[1024];
	char *text;
	PGresult *res;
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(mdbtest_files) / sizeof(mdbtest_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mdbtest_files[i]);
		if ((text = mdbtest_slurp(path)) == NULL) {
			tap_diag("missing %s", path);
			good = 0;
			continue;
		}
		res = PQexec(pg, text);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			tap_diag("%s: %s", mdbtest_files[i], PQerrorMessage(pg));
			good = 0;
		}
		PQclear(res);
		free(text);
	}
	return good;
}

/**
 * One writer of the mixed stresses (pg_mdb_t, pg_mixed_sse_t): n writes
 * through Message DB's own write_message() on a connection of its own to
 * conninfo, write i to stream cat<(3i + index) % 10>-m<index> (type M,
 * data {}), so that writers over ten categories interleave with evdb's.
 * Adds 1 to *each after every write, failed or not, when each is not
 * NULL.  Returns how many writes failed.  Thread-safe: share nothing but
 * each.
 */
static int
mdbtest_write_messages(const char *conninfo, int index, int n,
    atomic_int *each)
{
	PGconn *pg = PQconnectdb(conninfo);
	PGresult *res;
	char sql[256];
	int i, failures = 0;

	PQclear(PQexec(pg, "SET search_path = message_store"));
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "SELECT write_message("
		    "gen_random_uuid()::varchar, 'cat%d-m%d', 'M', '{}')",
		    (i * 3 + index) % 10, index);
		res = PQexec(pg, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			failures++;
		PQclear(res);
		if (each != NULL)
			atomic_fetch_add(each, 1);
	}
	PQfinish(pg);
	return failures;
}

/** Removes what mdbtest_dir() fetched (nothing when EVDB_MDB_SQL is set). */
static void
mdbtest_cleanup(void)
{
	char cmd[128];

	if (getenv("EVDB_MDB_SQL") != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/evdb-mdb.%ld", (long)getpid());
	(void)!system(cmd);
}

#endif /* EVDB_TESTS_MDBTEST_H */
