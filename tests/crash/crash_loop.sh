#!/bin/sh
# tests/crash/crash_loop.sh: the crash loop as a `make check` test (TAP,
# through SH_LOG_DRIVER).  Runs tests/crash/crash-loop with the build's evdb
# and crashwriter; CRASH_ROUNDS (default 50) and the other CRASH_*
# variables pass through.  See crash-loop for what each round checks.
srcdir=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec bash "$srcdir/tests/crash/crash-loop" "$@"
