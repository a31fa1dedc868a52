# tests/fuzz fragment, included by the top-level Makefile.am.
#
# make check: tests/fuzz/regress_t replays every input of
# tests/fuzz/regressions/<harness>/ and tests/fuzz/corpus/<harness>/
# through the harnesses' own entry points, built with the ordinary compiler
# and linked against libevdb.a, so it needs no clang.
#
# make fuzz: builds each harness with clang and libFuzzer, ASan and UBSan
# (clang and libclang-rt-14-dev on Debian 12), from the .c files of
# libevdb_a_SOURCES compiled again with clang into tests/fuzz/build/, and
# runs each for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=600) on a copy of its
# seed corpus, printing the executions reached.  A crash leaves the input
# in tests/fuzz/build/<harness>-crash-*; add it to tests/fuzz/regressions/
# once it is understood.  See docs/fuzzing.md.

FUZZ_HARNESSES = rpc subscribe token import gate args
FUZZ_SECONDS = 60
FUZZ_CC = clang
# Extra libFuzzer flags, e.g. FUZZ_FLAGS='-runs=10000000 -max_len=8192'
# (with FUZZ_SECONDS=0, no time limit: -runs alone still stops at FUZZ_SECONDS).
FUZZ_FLAGS =
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_INCLUDES = $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) \
	-I$(top_srcdir)/tests/fuzz \
	$(SQLITE_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS) $(CURL_CFLAGS) $(ZLIB_CFLAGS) \
	$(PQ_CFLAGS)

FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_env.c
FUZZ_SOURCES = tests/fuzz/fuzz_rpc.c tests/fuzz/fuzz_subscribe.c \
	tests/fuzz/fuzz_token.c tests/fuzz/fuzz_import.c tests/fuzz/fuzz_gate.c \
	tests/fuzz/fuzz_args.c

check_PROGRAMS += tests/fuzz/regress_t
TESTS += tests/fuzz/regress_t
tests_fuzz_regress_t_SOURCES = tests/fuzz/regress_t.c $(FUZZ_COMMON) \
	$(FUZZ_SOURCES) tests/tap.h
tests_fuzz_regress_t_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz \
	-DFUZZ_SRCDIR='"$(abs_top_srcdir)/tests/fuzz"'
tests_fuzz_regress_t_LDADD = $(UNIT_LDADD)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regressions
CLEANFILES += tests/fuzz/build/*.o tests/fuzz/build/*.a

.PHONY: fuzz fuzz-build fuzz-clean

# Compiles libevdb's sources with clang (instrumented for coverage, without
# libFuzzer's main) into an archive, so that each harness links only the
# objects it needs, then links the harnesses with -fsanitize=fuzzer.
fuzz-build:
	@$(MKDIR_P) tests/fuzz/build
	@set -e; objs=; \
	for src in $(libevdb_a_SOURCES); do \
	  case $$src in *.c) ;; *) continue ;; esac; \
	  obj=tests/fuzz/build/`echo "$$src" | sed 's|/|_|g; s|\.c$$|.o|'`; \
	  echo "  FUZZCC   $$src"; \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INCLUDES) \
	    -c $(top_srcdir)/$$src -o $$obj; \
	  objs="$$objs $$obj"; \
	done; \
	rm -f tests/fuzz/build/libevdb-fuzz.a; \
	ar rcs tests/fuzz/build/libevdb-fuzz.a $$objs; \
	for h in $(FUZZ_HARNESSES); do \
	  echo "  FUZZLD   tests/fuzz/build/fuzz_$$h"; \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_LIBFUZZER \
	    $(FUZZ_INCLUDES) $(top_srcdir)/tests/fuzz/fuzz_env.c \
	    $(top_srcdir)/tests/fuzz/fuzz_$$h.c tests/fuzz/build/libevdb-fuzz.a \
	    $(EVDB_LIBS) -lpthread -lm -o tests/fuzz/build/fuzz_$$h; \
	done

# Runs every harness for FUZZ_SECONDS on a working copy of its corpus (the
# checked-in corpus is not modified); fails when any harness crashed.
fuzz: fuzz-build
	@failed=0; \
	for h in $(FUZZ_HARNESSES); do \
	  work=tests/fuzz/build/corpus-$$h; \
	  log=tests/fuzz/build/fuzz_$$h.log; \
	  $(MKDIR_P) $$work; \
	  cp $(top_srcdir)/tests/fuzz/corpus/$$h/* $$work/ 2>/dev/null || :; \
	  echo "  FUZZ     $$h for $(FUZZ_SECONDS) s (log: $$log)"; \
	  t0=`date +%s`; \
	  if tests/fuzz/build/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) \
	      -print_final_stats=1 \
	      -artifact_prefix=tests/fuzz/build/$$h- $(FUZZ_FLAGS) \
	      $$work >$$log 2>&1; then \
	    res=ok; \
	  else \
	    res=FAILED; failed=1; tail -n 40 $$log; \
	  fi; \
	  execs=`sed -n 's/^stat::number_of_executed_units: *//p' $$log | \
	    awk '{ s += $$1 } END { print s + 0 }'`; \
	  echo "  FUZZ     $$h: $$res, $$execs executions in $$((`date +%s` - $$t0)) s"; \
	done; \
	test $$failed = 0

fuzz-clean:
	rm -rf tests/fuzz/build
