#!/bin/sh
# tests/crash/crash_loop_multihost.sh: the crash loop in its multi-host mode
# as a `make check` test (TAP, through SH_LOG_DRIVER): CRASH_STORE=pg with
# CRASH_INSTANCES=3, three evdb hosts behind one nginx on a private
# PostgreSQL cluster, and rounds of kill -9 of a random host, of nginx, of
# every host, and of PostgreSQL (issue 10).  CRASH_MULTIHOST_ROUNDS
# (default 10) sets the rounds; the other CRASH_* variables pass through.
srcdir=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CRASH_STORE=pg CRASH_INSTANCES=3 CRASH_ROUNDS=${CRASH_MULTIHOST_ROUNDS:-10} \
	exec bash "$srcdir/tests/crash/crash-loop" "$@"
