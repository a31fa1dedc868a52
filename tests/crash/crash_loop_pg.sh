#!/bin/sh
# tests/crash/crash_loop_pg.sh: the crash loop on the PostgreSQL backend as
# a `make check` test (TAP, through SH_LOG_DRIVER).  Runs
# tests/crash/crash-loop with CRASH_STORE=pg: a private cluster
# (deploy/pg-cluster) under /tmp, removed at exit, and rounds that also
# take PostgreSQL down with an immediate shutdown.  CRASH_PG_ROUNDS
# (default 15: a make check budget, about 30 s) sets the rounds; the other
# CRASH_* variables pass through.  See crash-loop for what each round checks.
srcdir=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CRASH_STORE=pg CRASH_ROUNDS=${CRASH_PG_ROUNDS:-15} \
	exec bash "$srcdir/tests/crash/crash-loop" "$@"
