#!/bin/sh
# tests/crash/crash_loop_lifecycle.sh: the crash loop with deletes in flight
# and the retention sweep running (issue 12) as a `make check` test (TAP,
# through SH_LOG_DRIVER): tests/crash/crash-loop with CRASH_LIFECYCLE=1 on
# SQLite, CRASH_LC_ROUNDS rounds (default 6: a make check budget, about
# 12 s).  With CRASH_STORE=pg it runs on a private PostgreSQL cluster
# instead (crash_loop_lifecycle_pg.sh).  The other CRASH_* variables pass
# through.  See crash-loop for what each round checks.
srcdir=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CRASH_LIFECYCLE=1 CRASH_ROUNDS=${CRASH_LC_ROUNDS:-6} \
	exec bash "$srcdir/tests/crash/crash-loop" "$@"
