# tests/ops fragment, included by the top-level Makefile.am.
#
# Operations tests (issue 6): evdb export/import, backup/restore and report,
# run as the user would, against real nginx + evdb stacks started through
# deploy/evdb-local, each on its own loopback port and in its own temporary
# directory (so "make -j check" may run them in parallel).  TAP shell
# scripts, run by SH_LOG_DRIVER.  They need curl and sqlite3 (the CLI).

OPS_TESTS = \
	tests/ops/roundtrip.sh \
	tests/ops/backup.sh \
	tests/ops/report.sh \
	tests/ops/help.sh \
	tests/ops/pg_dump.sh \
	tests/ops/report_pg.sh \
	tests/ops/checkpoints.sh \
	tests/ops/report_lifecycle.sh

TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/ops/lib.sh
