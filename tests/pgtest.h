/*
 * tests/pgtest.h - a PostgreSQL cluster for the test programs of the
 * PostgreSQL backend, so that they never skip: the shared cluster that
 * EVDB_E2E_PGDIR names (make check-postgres), or else a private one that
 * pgtest_cluster() starts in a temporary directory (deploy/pg-cluster:
 * initdb as an unprivileged user, a unix socket only, no TCP) and stops at
 * exit.  Header-only, for single-threaded main()s; include "tap.h" first
 * (and <libpq-fe.h>, for pgtest_sql_ok).
 */
#ifndef EVDB_TESTS_PGTEST_H
#define EVDB_TESTS_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char pgtest_private[256];	/* the private cluster's directory, or "" */

/** Runs deploy/pg-cluster with args (already quoted); its exit status. */
static int
pgtest_run(const char *args)
{
	const char *src = getenv("EVDB_SRCDIR");
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s/deploy/pg-cluster %s >/dev/null",
	    src != NULL && *src != '\0' ? src : ".", args);
	return system(cmd);
}

static void
pgtest_stop(void)
{
	char args[512];

	if (pgtest_private[0] == '\0')
		return;
	snprintf(args, sizeof(args), "stop '%s'", pgtest_private);
	(void)pgtest_run(args);
	snprintf(args, sizeof(args), "rm -rf '%s'", pgtest_private);
	(void)!system(args);
	pgtest_private[0] = '\0';
}

/**
 * Starts a private cluster in a new temporary directory, stopped and
 * removed at exit; returns its directory (static).  Bails out on failure.
 */
static const char *
pgtest_start_private(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char args[512];

	snprintf(pgtest_private, sizeof(pgtest_private), "%s/evpg-%s.%ld",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp", tag, (long)getpid());
	snprintf(args, sizeof(args), "start '%s'", pgtest_private);
	if (pgtest_run(args) != 0) {
		pgtest_private[0] = '\0';
		tap_bail("deploy/pg-cluster start failed (is the postgresql"
		    " package installed?)");
	}
	atexit(pgtest_stop);
	return pgtest_private;
}

/** The cluster to use: EVDB_E2E_PGDIR's, or a private one (see above). */
static const char *
pgtest_cluster(const char *tag)
{
	const char *dir = getenv("EVDB_E2E_PGDIR");

	return dir != NULL && *dir != '\0' ? dir : pgtest_start_private(tag);
}

/**
 * Creates the database <tag>_<pid> in the cluster at dir (deploy/pg-cluster
 * createdb) and returns its conninfo (static).  Bails out on failure.
 */
static inline const char *
pgtest_database(const char *dir, const char *tag)
{
	static char conninfo[1024];
	char args[1024];

	snprintf(args, sizeof(args), "createdb '%s' %s_%ld", dir, tag,
	    (long)getpid());
	if (pgtest_run(args) != 0)
		tap_bail("deploy/pg-cluster %s failed", args);
	snprintf(conninfo, sizeof(conninfo), "host=%s user=evdb dbname=%s_%ld",
	    dir, tag, (long)getpid());
	return conninfo;
}

#ifdef LIBPQ_FE_H
/**
 * Runs sql on pg and returns its result (the caller PQclear()s it); bails
 * out unless it ran as a command or returned rows.  Only for programs that
 * include <libpq-fe.h> before this header.
 */
static inline PGresult *
pgtest_sql_ok(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		tap_bail("%s: %s", sql, PQerrorMessage(pg));
	return res;
}
#endif

#endif /* EVDB_TESTS_PGTEST_H */
