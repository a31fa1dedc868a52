# tests/crash fragment, included by the top-level Makefile.am.
#
# The crash loop: CRASH_ROUNDS rounds (default 50, about 1.5 s each) of
# concurrent writes through the real nginx + evdb (deploy/evdb-local), a
# kill -9 of evdb, nginx or both at a random moment, a restart on the same
# data directory, and a check of every answer against what the store holds,
# through the RPC API and through the sqlite3 CLI.  crash_loop.sh emits TAP
# (SH_LOG_DRIVER); crashwriter is its load generator and verifier (plain
# sockets, json-c).  Needs nginx, curl (evdb-local) and sqlite3 (the second
# check is skipped without it).

check_PROGRAMS += tests/crash/crashwriter
TESTS += tests/crash/crash_loop.sh
tests_crash_crashwriter_SOURCES = tests/crash/crashwriter.c
tests_crash_crashwriter_LDADD = $(JSONC_LIBS) -lpthread
EXTRA_DIST += tests/crash/crash-loop tests/crash/crash_loop.sh

# The crash loop on PostgreSQL (CRASH_STORE=pg, 15 rounds): a private
# cluster, and rounds that also stop PostgreSQL with -m immediate; checked
# through the API and through psql on message_store.messages.
TESTS += tests/crash/crash_loop_pg.sh
EXTRA_DIST += tests/crash/crash_loop_pg.sh

# The crash loop over three evdb hosts on one PostgreSQL (issue 10):
# CRASH_INSTANCES=3, kill -9 of a random host (the others must serve on),
# of nginx, of every host, and of PostgreSQL itself.
TESTS += tests/crash/crash_loop_multihost.sh
EXTRA_DIST += tests/crash/crash_loop_multihost.sh

# The crash loop with stream lifecycle (issue 12): CRASH_LIFECYCLE=1, the
# retention sweep every second and a client deleting, truncating and
# writing streams of its own namespace while the writers run; after each
# kill -9 nothing acknowledged and not deleted may be missing.  On SQLite
# and on PostgreSQL, a few rounds each.
TESTS += tests/crash/crash_loop_lifecycle.sh tests/crash/crash_loop_lifecycle_pg.sh
EXTRA_DIST += tests/crash/crash_loop_lifecycle.sh \
	tests/crash/crash_loop_lifecycle_pg.sh
