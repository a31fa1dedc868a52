# tests/e2e fragment, included by the top-level Makefile.am.
#
# End-to-end tests: each program starts its own nginx + evdb stack through
# deploy/evdb-local on a loopback port it picks itself, in its own temporary
# directory, so they may run in parallel under "make -j check".  They need
# libcurl (HAVE_CURL); without it they are not built.  They link nothing of
# libevdb: they see evdb only from the outside, as clients do.

E2E_HARNESS = tests/e2e/harness.c tests/e2e/harness.h \
	tests/e2e/harness_http.c tests/e2e/harness_json.c \
	tests/e2e/harness_fcgi.c tests/e2e/harness_internal.h tests/tap.h

if HAVE_CURL
E2E_TESTS = \
	tests/e2e/stream_t \
	tests/e2e/category_t \
	tests/e2e/ns_t \
	tests/e2e/auth_t \
	tests/e2e/write_semantics_t \
	tests/e2e/concurrency_t \
	tests/e2e/hostile_t \
	tests/e2e/sse_t

check_PROGRAMS += $(E2E_TESTS)
TESTS += $(E2E_TESTS)

E2E_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
E2E_LDADD = $(CURL_LIBS) $(JSONC_LIBS) -lpthread

tests_e2e_stream_t_SOURCES = tests/e2e/stream_t.c $(E2E_HARNESS)
tests_e2e_stream_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_stream_t_LDADD = $(E2E_LDADD)

tests_e2e_category_t_SOURCES = tests/e2e/category_t.c $(E2E_HARNESS)
tests_e2e_category_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_category_t_LDADD = $(E2E_LDADD)

tests_e2e_ns_t_SOURCES = tests/e2e/ns_t.c $(E2E_HARNESS)
tests_e2e_ns_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_ns_t_LDADD = $(E2E_LDADD)

tests_e2e_auth_t_SOURCES = tests/e2e/auth_t.c $(E2E_HARNESS)
tests_e2e_auth_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_auth_t_LDADD = $(E2E_LDADD)

tests_e2e_write_semantics_t_SOURCES = tests/e2e/write_semantics_t.c \
	$(E2E_HARNESS)
tests_e2e_write_semantics_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_write_semantics_t_LDADD = $(E2E_LDADD)

tests_e2e_concurrency_t_SOURCES = tests/e2e/concurrency_t.c $(E2E_HARNESS)
tests_e2e_concurrency_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_concurrency_t_LDADD = $(E2E_LDADD)

tests_e2e_hostile_t_SOURCES = tests/e2e/hostile_t.c $(E2E_HARNESS)
tests_e2e_hostile_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_hostile_t_LDADD = $(E2E_LDADD)

tests_e2e_sse_t_SOURCES = tests/e2e/sse_t.c $(E2E_HARNESS)
tests_e2e_sse_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_sse_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += $(E2E_HARNESS) tests/e2e/stream_t.c tests/e2e/category_t.c \
	tests/e2e/ns_t.c tests/e2e/auth_t.c tests/e2e/write_semantics_t.c \
	tests/e2e/concurrency_t.c tests/e2e/hostile_t.c tests/e2e/sse_t.c
endif

# hostile_table_t: a data-driven table of hostile requests (issue 5),
# read from hostile_cases.txt at run time.  diskfull.sh: writes into a full
# tmpfs must fail cleanly with STORAGE_FULL and corrupt nothing (needs root
# for mount; it skips without).
if HAVE_CURL
check_PROGRAMS += tests/e2e/hostile_table_t
TESTS += tests/e2e/hostile_table_t
tests_e2e_hostile_table_t_SOURCES = tests/e2e/hostile_table_t.c $(E2E_HARNESS)
tests_e2e_hostile_table_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_hostile_table_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/hostile_table_t.c
endif
TESTS += tests/e2e/diskfull.sh
EXTRA_DIST += tests/proc.sh tests/tap.sh
EXTRA_DIST += tests/e2e/hostile_cases.txt tests/e2e/diskfull.sh

# signals.sh: SIGHUP reopens the log, SIGTERM drains and loses nothing.
TESTS += tests/e2e/signals.sh
EXTRA_DIST += tests/e2e/signals.sh

# metrics.sh: GET /metrics is guarded, well-formed, and counts what it says.
TESTS += tests/e2e/metrics.sh
EXTRA_DIST += tests/e2e/metrics.sh

# valgrind.sh: stream_t once more with evdb under valgrind's memcheck
# (skipped in a sanitizer build, which valgrind cannot run).
TESTS += tests/e2e/valgrind.sh
EXTRA_DIST += tests/e2e/valgrind.sh

# keepconn.sh: with nginx upstream keep-alive turned on, no request stalls
# and SIGTERM does not wait on idle kept connections.
TESTS += tests/e2e/keepconn.sh
EXTRA_DIST += tests/e2e/keepconn.sh

# tenant_ids_t: issue 15 findings 12, 13 and 15 - one UUID in five spellings
# is one message, a retry with a changed payload is 409 MESSAGE_ID_CONFLICT,
# and ns.create refuses a guessable supplied token.
if HAVE_CURL
check_PROGRAMS += tests/e2e/tenant_ids_t
TESTS += tests/e2e/tenant_ids_t
tests_e2e_tenant_ids_t_SOURCES = tests/e2e/tenant_ids_t.c $(E2E_HARNESS)
tests_e2e_tenant_ids_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_ids_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/tenant_ids_t.c
endif

# tenant_import_t: /import cannot corrupt a namespace (issue 15, findings
# 2, 9, 10, 11): positions near 2^63, force with a bad file, imports behind
# the head or with holes, failed imports answered as failures and resumed.
if HAVE_CURL
check_PROGRAMS += tests/e2e/tenant_import_t
TESTS += tests/e2e/tenant_import_t
tests_e2e_tenant_import_t_SOURCES = tests/e2e/tenant_import_t.c $(E2E_HARNESS)
tests_e2e_tenant_import_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_import_t_LDADD = $(E2E_LDADD)
endif

# Issue 15, tenant bounds: what one tenant can make evdb hold, measured on
# the evdb process from /proc (harness_proc.c).
# tenant_read_bytes_t: a read answer is capped in bytes (finding 3).
TENANT_HARNESS = $(E2E_HARNESS) tests/e2e/harness_proc.c tests/e2e/harness_proc.h
if HAVE_CURL
check_PROGRAMS += tests/e2e/tenant_read_bytes_t
TESTS += tests/e2e/tenant_read_bytes_t
tests_e2e_tenant_read_bytes_t_SOURCES = tests/e2e/tenant_read_bytes_t.c \
	$(TENANT_HARNESS)
tests_e2e_tenant_read_bytes_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_read_bytes_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/tenant_read_bytes_t.c tests/e2e/harness_proc.c \
	tests/e2e/harness_proc.h
endif

# tenant_sse_memory_t: a subscriber that never reads holds at most
# --sse-buffer of evdb's memory (issue 15, finding 6).
if HAVE_CURL
check_PROGRAMS += tests/e2e/tenant_sse_memory_t
TESTS += tests/e2e/tenant_sse_memory_t
tests_e2e_tenant_sse_memory_t_SOURCES = tests/e2e/tenant_sse_memory_t.c \
	$(TENANT_HARNESS)
tests_e2e_tenant_sse_memory_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_sse_memory_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/tenant_sse_memory_t.c
endif

# sse_heartbeat_t: each subscriber's ": ping" is due at its own last write
# + --sse-heartbeat, not at a once-a-second scan (issue 13, SSE at scale).
if HAVE_CURL
check_PROGRAMS += tests/e2e/sse_heartbeat_t
TESTS += tests/e2e/sse_heartbeat_t
tests_e2e_sse_heartbeat_t_SOURCES = tests/e2e/sse_heartbeat_t.c \
	$(E2E_HARNESS)
tests_e2e_sse_heartbeat_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_sse_heartbeat_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/sse_heartbeat_t.c
endif

# sse_idle_memory_t: an idle subscriber whose catch-up found nothing keeps
# no output buffer (issue 13, SSE at scale).
if HAVE_CURL
check_PROGRAMS += tests/e2e/sse_idle_memory_t
TESTS += tests/e2e/sse_idle_memory_t
tests_e2e_sse_idle_memory_t_SOURCES = tests/e2e/sse_idle_memory_t.c \
	$(TENANT_HARNESS)
tests_e2e_sse_idle_memory_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_sse_idle_memory_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/sse_idle_memory_t.c
endif

# tenant_fds_t: descriptors stay bounded as namespaces are written, and
# /health fails when they run out (issue 15, finding 8).
if HAVE_CURL
check_PROGRAMS += tests/e2e/tenant_fds_t
TESTS += tests/e2e/tenant_fds_t
tests_e2e_tenant_fds_t_SOURCES = tests/e2e/tenant_fds_t.c $(TENANT_HARNESS)
tests_e2e_tenant_fds_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_fds_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/tenant_fds_t.c
endif

# Tenant isolation (issue 15): no tenant can take the service from the
# others.  tenant_abandon_t: a request nginx gave up on is never run
# (finding 5).  tenant_upload_t: slow uploads hold no worker (finding 1).
# tenant_spool_t: clients that never read fill no disk (finding 4).
# tenant_scan_t: one tenant's scans leave the others their workers
# (finding 7).  tenant_sse_caps_t: two tenants cannot take every SSE place
# (finding 14).
TENANT_TESTS = \
	tests/e2e/tenant_abandon_t \
	tests/e2e/tenant_upload_t \
	tests/e2e/tenant_scan_t \
	tests/e2e/tenant_spool_t \
	tests/e2e/tenant_sse_caps_t
TENANT_SRC = tests/e2e/tenant.c tests/e2e/tenant.h $(E2E_HARNESS)
if HAVE_CURL
check_PROGRAMS += $(TENANT_TESTS)
TESTS += $(TENANT_TESTS)
tests_e2e_tenant_abandon_t_SOURCES = tests/e2e/tenant_abandon_t.c $(TENANT_SRC)
tests_e2e_tenant_abandon_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_abandon_t_LDADD = $(E2E_LDADD)
tests_e2e_tenant_upload_t_SOURCES = tests/e2e/tenant_upload_t.c $(TENANT_SRC)
tests_e2e_tenant_upload_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_upload_t_LDADD = $(E2E_LDADD)
tests_e2e_tenant_scan_t_SOURCES = tests/e2e/tenant_scan_t.c $(TENANT_SRC)
tests_e2e_tenant_scan_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_scan_t_LDADD = $(E2E_LDADD)
tests_e2e_tenant_spool_t_SOURCES = tests/e2e/tenant_spool_t.c $(TENANT_SRC)
tests_e2e_tenant_spool_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_spool_t_LDADD = $(E2E_LDADD)
tests_e2e_tenant_sse_caps_t_SOURCES = tests/e2e/tenant_sse_caps_t.c $(TENANT_SRC)
tests_e2e_tenant_sse_caps_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_tenant_sse_caps_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/tenant.c tests/e2e/tenant.h \
	tests/e2e/tenant_abandon_t.c tests/e2e/tenant_upload_t.c \
	tests/e2e/tenant_scan_t.c tests/e2e/tenant_spool_t.c \
	tests/e2e/tenant_sse_caps_t.c
endif

# check-postgres: the end-to-end programs and the PostgreSQL unit test once
# more, on the private cluster EVDB_E2E_PGDIR names (deploy/run-tests'
# postgres suite starts and stops it; deploy/pg-cluster).
PG_TESTS = $(E2E_TESTS) tests/e2e/hostile_table_t tests/unit/pg_order_t
check-postgres:
	@test -n "$$EVDB_E2E_PGDIR" || { echo "check-postgres: set EVDB_E2E_PGDIR (deploy/pg-cluster start DIR)" >&2; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(PG_TESTS)"
.PHONY: check-postgres

# pg_outage_t: PostgreSQL stopped (-m immediate) under load and started
# again, on a private cluster of its own (tests/pgtest.h).
check_PROGRAMS += tests/e2e/pg_outage_t
TESTS += tests/e2e/pg_outage_t
tests_e2e_pg_outage_t_SOURCES = tests/e2e/pg_outage_t.c $(E2E_HARNESS) tests/pgtest.h
tests_e2e_pg_outage_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_pg_outage_t_LDADD = $(E2E_LDADD)
# pg_mixed_sse_t: an SSE all=true subscriber through nginx while evdb and
# Message DB's write_message write together (issue 9); needs Message DB's
# SQL (tests/mdbtest.h) and a cluster (tests/pgtest.h), like pg_mdb_t.
check_PROGRAMS += tests/e2e/pg_mixed_sse_t
TESTS += tests/e2e/pg_mixed_sse_t
tests_e2e_pg_mixed_sse_t_SOURCES = tests/e2e/pg_mixed_sse_t.c $(E2E_HARNESS) \
	tests/pgtest.h tests/mdbtest.h
tests_e2e_pg_mixed_sse_t_CFLAGS = $(E2E_CFLAGS) $(PQ_CFLAGS)
tests_e2e_pg_mixed_sse_t_LDADD = $(E2E_LDADD) $(PQ_LIBS)
PG_TESTS += tests/e2e/tenant_ids_t tests/unit/pg_mdb_t tests/e2e/pg_mixed_sse_t \
	tests/e2e/tenant_import_t tests/e2e/tenant_sse_memory_t \
	tests/e2e/tenant_abandon_t tests/e2e/tenant_scan_t tests/e2e/tenant_spool_t \
	tests/e2e/tenant_sse_caps_t tests/e2e/tenant_upload_t

# sse_import.sh: every imported message reaches every matching live SSE
# subscriber exactly once, also after an import with force (issue 14).
TESTS += tests/e2e/sse_import.sh
EXTRA_DIST += tests/e2e/sse_import.sh

# edge_limits.sh: nginx's rate and connection limits cut a flooding client
# with JSON 429 while another client is served (issue 14).
TESTS += tests/e2e/edge_limits.sh
EXTRA_DIST += tests/e2e/edge_limits.sh

# reads_t: backward stream reads and type filters (EXTENSIONS.md section 4,
# issue 11), compared with forward reads reversed and filtered in the test.
if HAVE_CURL
check_PROGRAMS += tests/e2e/reads_t
TESTS += tests/e2e/reads_t
tests_e2e_reads_t_SOURCES = tests/e2e/reads_t.c $(E2E_HARNESS)
tests_e2e_reads_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_reads_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/reads_t.c
endif
PG_TESTS += tests/e2e/reads_t tests/unit/pg_read_t

# longpoll_t: reads with "wait" (long-poll, EXTENSIONS.md section 3): woken
# by writes of another client and of another process, held without a
# worker, timed out on time, bounded (429), freed on disconnect, answered at
# shutdown.
if HAVE_CURL
check_PROGRAMS += tests/e2e/longpoll_t
TESTS += tests/e2e/longpoll_t
tests_e2e_longpoll_t_SOURCES = tests/e2e/longpoll_t.c $(E2E_HARNESS)
tests_e2e_longpoll_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_longpoll_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/longpoll_t.c
endif
PG_TESTS += tests/e2e/longpoll_t

# batch_t: batch.write and the expectedVersion vocabulary (issue 11,
# EXTENSIONS.md sections 1 and 2), docs/api.md's examples run verbatim,
# atomicity, batches among concurrent single writers, retries, sizes and
# the pokes of a batch.
if HAVE_CURL
check_PROGRAMS += tests/e2e/batch_t
TESTS += tests/e2e/batch_t
tests_e2e_batch_t_SOURCES = tests/e2e/batch_t.c $(TENANT_SRC)
tests_e2e_batch_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_batch_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/batch_t.c
endif
PG_TESTS += tests/e2e/batch_t
# checkpoint_t: consumer checkpoints (issue 12, EXTENSIONS.md section 6):
# the four methods and their errors, the conditional-commit race, and
# category.get, /subscribe and /metrics with checkpoints.
if HAVE_CURL
check_PROGRAMS += tests/e2e/checkpoint_t
TESTS += tests/e2e/checkpoint_t
tests_e2e_checkpoint_t_SOURCES = tests/e2e/checkpoint_t.c $(E2E_HARNESS)
tests_e2e_checkpoint_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_checkpoint_t_LDADD = $(E2E_LDADD)
else
EXTRA_DIST += tests/e2e/checkpoint_t.c
endif
PG_TESTS += tests/e2e/checkpoint_t tests/ops/checkpoints.sh tests/unit/store_consumer_t

# multihost_t: three stateless evdb hosts behind one nginx on one private
# PostgreSQL cluster of its own (issue 10; evdb-local --instances): spread
# writes, global order, cross-host SSE and consumer groups, namespace
# propagation, a lost LISTEN connection, a full server, kill -9 of a host
# and a PostgreSQL restart under load.
if HAVE_CURL
check_PROGRAMS += tests/e2e/multihost_t
TESTS += tests/e2e/multihost_t
tests_e2e_multihost_t_SOURCES = tests/e2e/multihost_t.c $(E2E_HARNESS) tests/pgtest.h
tests_e2e_multihost_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_multihost_t_LDADD = $(E2E_LDADD)
PG_TESTS += tests/e2e/multihost_t
else
EXTRA_DIST += tests/e2e/multihost_t.c
endif

# lifecycle_t: stream.delete / truncate / retention and the sweep
# (EXTENSIONS.md section 5), on both backends.
if HAVE_CURL
check_PROGRAMS += tests/e2e/lifecycle_t
TESTS += tests/e2e/lifecycle_t
tests_e2e_lifecycle_t_SOURCES = tests/e2e/lifecycle_t.c $(E2E_HARNESS)
tests_e2e_lifecycle_t_CFLAGS = $(E2E_CFLAGS)
tests_e2e_lifecycle_t_LDADD = $(E2E_LDADD)
PG_TESTS += tests/e2e/lifecycle_t
else
EXTRA_DIST += tests/e2e/lifecycle_t.c
endif

# lifecycle_log.sh: deletes, truncations, retention settings and the
# sweep's removals are recorded in evdb.log (issue 12), on both backends.
TESTS += tests/e2e/lifecycle_log.sh
EXTRA_DIST += tests/e2e/lifecycle_log.sh
PG_TESTS += tests/e2e/lifecycle_log.sh

# keepalive64.sh (issue 13, t-ka): nginx keepalive 64 against 4 workers;
# idle kept connections wait in evdb's poller, not in a worker, so no
# request stalls.  Runs on PostgreSQL too (EVDB_E2E_PGDIR).
TESTS += tests/e2e/keepalive64.sh
EXTRA_DIST += tests/e2e/keepalive64.sh
PG_TESTS += tests/e2e/keepalive64.sh

# keepalive_sse.sh (issue 13, t-ka3): refused and short /subscribe requests
# among /rpc writes under keep-alive, no 502 and no reset towards evdb:
# /subscribe's own upstream (evdb_stream) keeps its closed connections out
# of the keep-alive cache.  On PostgreSQL (EVDB_E2E_PGDIR) a second round
# runs three instances, on the upstreams deploy/evdb-local generates.
TESTS += tests/e2e/keepalive_sse.sh
EXTRA_DIST += tests/e2e/keepalive_sse.sh
PG_TESTS += tests/e2e/keepalive_sse.sh

# pg_watch_t: the shared LISTEN connection, on the shared cluster too.
PG_TESTS += tests/unit/pg_watch_t
# pg_registry_t: namespace lookups kept across requests (tests/unit/local.mk).
PG_TESTS += tests/unit/pg_registry_t

# readme_walk.sh (issue 9): README.md's walk-through with curl, run as it is
# written, with the answers the README shows compared; on PostgreSQL too
# (EVDB_E2E_PGDIR: "the walk-through below works the same").
TESTS += tests/e2e/readme_walk.sh
EXTRA_DIST += tests/e2e/readme_walk.sh
PG_TESTS += tests/e2e/readme_walk.sh
