# tests/soak fragment, included by the top-level Makefile.am.
#
# The soak of issue 14 (tests/soak/soak.sh, TAP): a mixed load (W1 through
# tests/bench/loadgen, SSE subscribers that come and go, namespaces created
# and deleted, long-poll reads, batch.write and checkpoints) through nginx on a private stack, sampling evdb's RSS, fds,
# threads and data files; see docs/operations.md.
#
#   make check   runs it for 3 minutes, sampling every 15 s
#   make soak    runs it for SOAK_MINUTES (default 30), sampling every
#                SOAK_SAMPLE_S (default 60); SOAK_OUT=FILE keeps the table

SOAK_MINUTES = 30
SOAK_SAMPLE_S = 60

# make check builds loadgen for it (check_DATA in tests/bench/local.mk).
TESTS += tests/soak/soak.sh
EXTRA_DIST += tests/soak/soak.sh

# make check runs soak.sh without these (make does not export them), so it
# takes its own defaults: 3 minutes, a sample every 15 s.
soak: evdb$(EXEEXT) tests/bench/loadgen$(EXEEXT)
	@$(MKDIR_P) tests/soak
	$(BENCH_ENV) SOAK_MINUTES='$(SOAK_MINUTES)' \
	    SOAK_SAMPLE_S='$(SOAK_SAMPLE_S)' $(SHELL) $(top_srcdir)/tests/soak/soak.sh

.PHONY: soak
