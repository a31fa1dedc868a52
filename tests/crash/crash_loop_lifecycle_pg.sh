#!/bin/sh
# tests/crash/crash_loop_lifecycle_pg.sh: crash_loop_lifecycle.sh on the
# PostgreSQL backend (CRASH_STORE=pg: a private cluster, and rounds that
# also take PostgreSQL down with an immediate shutdown), CRASH_LC_ROUNDS
# rounds (default 5, one of each crash; about 22 s).
srcdir=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CRASH_STORE=pg CRASH_LIFECYCLE=1 CRASH_ROUNDS=${CRASH_LC_ROUNDS:-5} \
	exec bash "$srcdir/tests/crash/crash-loop" "$@"
