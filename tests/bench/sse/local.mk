# tests/bench/sse fragment, to be included by the top-level Makefile.am
# after tests/bench/local.mk (which sets EXTRA_PROGRAMS).
#
# The SSE benchmark: nothing here is built by plain "make" or run by
# "make check".
#
#   make bench-sse   builds evdb and ssebench, runs run-sse-bench
#                    (SSE_BENCH_SUBS, SSE_BENCH_RATE... see run-sse-bench)

EXTRA_PROGRAMS += tests/bench/sse/ssebench

tests_bench_sse_ssebench_SOURCES = tests/bench/sse/ssebench.c

SSE_BENCH_ENV = EVDB_BUILDDIR='$(abs_top_builddir)' \
	EVDB_SRCDIR='$(abs_top_srcdir)'

bench-sse: evdb$(EXEEXT) tests/bench/sse/ssebench$(EXEEXT)
	$(SSE_BENCH_ENV) $(SHELL) $(top_srcdir)/tests/bench/sse/run-sse-bench

.PHONY: bench-sse

EXTRA_DIST += tests/bench/sse/run-sse-bench tests/bench/sse/nginx-sub-rss
