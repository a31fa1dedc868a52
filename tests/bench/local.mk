# tests/bench fragment, included by the top-level Makefile.am.
#
# The benchmark of issue 4 (docs/performance.md).  Nothing here is built by
# plain "make" or run by "make check": the programs are EXTRA_PROGRAMS, built
# on demand by the targets below.
#
#   make bench       builds evdb, loadgen and fcgi_trivial, runs run-bench
#                    (BENCH_SECONDS, BENCH_WORKERS... see run-bench)
#   make heap-check  builds evdb, loadgen and the heapcount.so preload
#                    library, runs heap-check (HEAP_CHECKPOINTS... see heap-check)
#   make bench-count builds evdb, loadgen and heapcount.so, runs bench-count:
#                    instructions (callgrind) and allocations per request
#                    (COUNT_WRITES, BENCH_EVDB... see bench-count)

EXTRA_PROGRAMS = tests/bench/loadgen tests/bench/fcgi_trivial

tests_bench_loadgen_SOURCES = tests/bench/loadgen.c
tests_bench_loadgen_LDADD = -lpthread

tests_bench_fcgi_trivial_SOURCES = tests/bench/fcgi_trivial.c
tests_bench_fcgi_trivial_LDADD = $(FCGI_LIBS) -lpthread

# An LD_PRELOAD library, so not a program: a plain rule, built on demand.
tests/bench/heapcount.so: $(top_srcdir)/tests/bench/heapcount.c
	$(AM_V_CC)$(MKDIR_P) tests/bench && \
	$(CC) -I$(top_builddir) $(CPPFLAGS) $(EVDB_CFLAGS) $(CFLAGS) -fPIC -shared \
	    -o $@ $(top_srcdir)/tests/bench/heapcount.c -lpthread

BENCH_ENV = EVDB_BUILDDIR='$(abs_top_builddir)' EVDB_SRCDIR='$(abs_top_srcdir)'

bench: evdb$(EXEEXT) tests/bench/loadgen$(EXEEXT) tests/bench/fcgi_trivial$(EXEEXT)
	$(BENCH_ENV) $(SHELL) $(top_srcdir)/tests/bench/run-bench

heap-check: evdb$(EXEEXT) tests/bench/loadgen$(EXEEXT) tests/bench/heapcount.so
	$(BENCH_ENV) $(SHELL) $(top_srcdir)/tests/bench/heap-check

bench-count: evdb$(EXEEXT) tests/bench/loadgen$(EXEEXT) tests/bench/heapcount.so
	$(BENCH_ENV) $(SHELL) $(top_srcdir)/tests/bench/bench-count

.PHONY: bench heap-check bench-count

EXTRA_DIST += tests/bench/run-bench tests/bench/heap-check \
	tests/bench/heapcount.c tests/bench/bench-count
CLEANFILES += $(EXTRA_PROGRAMS) tests/bench/heapcount.so

# tests/bench/tools.sh (make check): loadgen's open loop and subscribers and
# heapcount.so's own count do what the benchmarks' figures claim; it needs
# loadgen and heapcount.so, built before the tests run.
BENCH_TESTS = tests/bench/tools.sh
TESTS += $(BENCH_TESTS)
EXTRA_DIST += $(BENCH_TESTS)
check_DATA = tests/bench/loadgen$(EXEEXT) tests/bench/heapcount.so \
	tests/bench/fcgi_trivial$(EXEEXT)

# W6 (long-poll latency and memory per held read): lpbench, run by run-bench.
EXTRA_PROGRAMS += tests/bench/lpbench
tests_bench_lpbench_SOURCES = tests/bench/lpbench.c
bench: tests/bench/lpbench$(EXEEXT)
