# tests/unit fragment, included by the top-level Makefile.am.
#
# One TAP program per module of src/ (tests/unit/<module>_t.c), each linked
# against libevdb.a so that it tests the very objects the server runs.
UNIT_TESTS = \
	tests/unit/streamname_t \
	tests/unit/token_t \
	tests/unit/uuid_t \
	tests/unit/timefmt_t \
	tests/unit/json_out_t \
	tests/unit/buf_t \
	tests/unit/arena_t \
	tests/unit/xalloc_t \
	tests/unit/utf8_t \
	tests/unit/store_t \
	tests/unit/store_powerloss_t

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_streamname_t_SOURCES = tests/unit/streamname_t.c tests/tap.h
tests_unit_streamname_t_LDADD = $(UNIT_LDADD)
tests_unit_token_t_SOURCES = tests/unit/token_t.c tests/tap.h
tests_unit_token_t_LDADD = $(UNIT_LDADD)
tests_unit_uuid_t_SOURCES = tests/unit/uuid_t.c tests/tap.h
tests_unit_uuid_t_LDADD = $(UNIT_LDADD)
tests_unit_timefmt_t_SOURCES = tests/unit/timefmt_t.c tests/tap.h
tests_unit_timefmt_t_LDADD = $(UNIT_LDADD)
tests_unit_json_out_t_SOURCES = tests/unit/json_out_t.c tests/tap.h
tests_unit_json_out_t_LDADD = $(UNIT_LDADD)
tests_unit_buf_t_SOURCES = tests/unit/buf_t.c tests/tap.h
tests_unit_buf_t_LDADD = $(UNIT_LDADD)
tests_unit_arena_t_SOURCES = tests/unit/arena_t.c tests/tap.h
tests_unit_arena_t_LDADD = $(UNIT_LDADD)
tests_unit_xalloc_t_SOURCES = tests/unit/xalloc_t.c tests/tap.h
tests_unit_xalloc_t_LDADD = $(UNIT_LDADD)
tests_unit_utf8_t_SOURCES = tests/unit/utf8_t.c tests/tap.h
tests_unit_utf8_t_LDADD = $(UNIT_LDADD)
tests_unit_store_t_SOURCES = tests/unit/store_t.c tests/tap.h
tests_unit_store_t_LDADD = $(UNIT_LDADD)
tests_unit_store_powerloss_t_SOURCES = tests/unit/store_powerloss_t.c tests/tap.h
tests_unit_store_powerloss_t_LDADD = $(UNIT_LDADD)

# digest_t: SHA-256 and MD5 with a context reused per thread (issue 13).
check_PROGRAMS += tests/unit/digest_t
TESTS += tests/unit/digest_t
tests_unit_digest_t_SOURCES = tests/unit/digest_t.c tests/tap.h
tests_unit_digest_t_LDADD = $(UNIT_LDADD)

# thread_locale_t: json-c's per-parse locale switch allocates nothing on a
# thread that uses the C locale object (issue 13).
check_PROGRAMS += tests/unit/thread_locale_t
TESTS += tests/unit/thread_locale_t
tests_unit_thread_locale_t_SOURCES = tests/unit/thread_locale_t.c tests/tap.h
tests_unit_thread_locale_t_LDADD = $(UNIT_LDADD)

# sqlite_invariant_t: the commit-time position check (issue 15, finding 10),
# and that make check runs with it on.
check_PROGRAMS += tests/unit/sqlite_invariant_t
TESTS += tests/unit/sqlite_invariant_t
tests_unit_sqlite_invariant_t_SOURCES = tests/unit/sqlite_invariant_t.c tests/tap.h
tests_unit_sqlite_invariant_t_LDADD = $(UNIT_LDADD)

# sqlite_busy_t: the busy handler's schedule of sleeps (sqlite_db.c).
check_PROGRAMS += tests/unit/sqlite_busy_t
TESTS += tests/unit/sqlite_busy_t
tests_unit_sqlite_busy_t_SOURCES = tests/unit/sqlite_busy_t.c tests/tap.h
tests_unit_sqlite_busy_t_LDADD = $(UNIT_LDADD)

# sqlite_rewind_t: the checkpointer's rewind of a WAL (sqlite_checkpoint.c),
# without and with I/O faults (the fault VFS of store_faults_t).
check_PROGRAMS += tests/unit/sqlite_rewind_t
TESTS += tests/unit/sqlite_rewind_t
tests_unit_sqlite_rewind_t_SOURCES = tests/unit/sqlite_rewind_t.c \
	tests/unit/faultvfs.c tests/unit/faultvfs.h tests/tap.h
tests_unit_sqlite_rewind_t_LDADD = $(UNIT_LDADD)

# gate_t: the per-token admission gate of src/server/gate.c (issue 15).
check_PROGRAMS += tests/unit/gate_t
TESTS += tests/unit/gate_t
tests_unit_gate_t_SOURCES = tests/unit/gate_t.c tests/tap.h
tests_unit_gate_t_LDADD = $(UNIT_LDADD)

# I/O faults through SQLite's seam (issue 14): a fault VFS, and the RPC,
# import and backup code driven in-process through tests/fuzz/fuzz_env.c.
check_PROGRAMS += tests/unit/store_faults_t
TESTS += tests/unit/store_faults_t
tests_unit_store_faults_t_SOURCES = tests/unit/store_faults_t.c \
	tests/unit/faultvfs.c tests/unit/faultvfs.h \
	tests/fuzz/fuzz_env.c tests/fuzz/fuzz.h tests/tap.h
tests_unit_store_faults_t_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz
tests_unit_store_faults_t_LDADD = $(UNIT_LDADD)

# pg_order_t: the PostgreSQL backend on a private cluster (EVDB_E2E_PGDIR):
# global order safety against a late commit.  make check runs it on a
# private cluster of its own (tests/pgtest.h), make check-postgres on the
# shared one.
check_PROGRAMS += tests/unit/pg_order_t
TESTS += tests/unit/pg_order_t
tests_unit_pg_order_t_SOURCES = tests/unit/pg_order_t.c tests/tap.h tests/pgtest.h
tests_unit_pg_order_t_LDADD = $(UNIT_LDADD)

# pg_mdb_t: Message DB's own functions (fetched with npm, or EVDB_MDB_SQL)
# on evdb's data, side by side, on a cluster as pg_order_t.
check_PROGRAMS += tests/unit/pg_mdb_t
TESTS += tests/unit/pg_mdb_t
tests_unit_pg_mdb_t_SOURCES = tests/unit/pg_mdb_t.c tests/tap.h tests/pgtest.h \
	tests/mdbtest.h
tests_unit_pg_mdb_t_LDADD = $(UNIT_LDADD)

# sqlite_read_t: the SQLite plans of category reads by type (EXTENSIONS.md
# section 4, issue 11) and migration 1 -> 2 of an older namespace file.
check_PROGRAMS += tests/unit/sqlite_read_t
TESTS += tests/unit/sqlite_read_t
tests_unit_sqlite_read_t_SOURCES = tests/unit/sqlite_read_t.c tests/tap.h \
	tests/grouptest.h tests/sqlitetest.h
tests_unit_sqlite_read_t_LDADD = $(UNIT_LDADD)

# sqlite_group_index_t: --group-indexes on SQLite: the setting, the
# partial index per member that a server's store keeps in each file, the
# plans and answers of the reads on them, and the fallback without.
check_PROGRAMS += tests/unit/sqlite_group_index_t
TESTS += tests/unit/sqlite_group_index_t
tests_unit_sqlite_group_index_t_SOURCES = tests/unit/sqlite_group_index_t.c \
	tests/tap.h tests/grouptest.h tests/sqlitetest.h
tests_unit_sqlite_group_index_t_LDADD = $(UNIT_LDADD)

# pg_read_t: the PostgreSQL plans of category reads by type (evdb's index
# beside Message DB's) and registry migration 1 -> 2, on a cluster as
# pg_order_t.
check_PROGRAMS += tests/unit/pg_read_t
TESTS += tests/unit/pg_read_t
tests_unit_pg_read_t_SOURCES = tests/unit/pg_read_t.c tests/tap.h tests/pgtest.h \
	tests/grouptest.h
tests_unit_pg_read_t_LDADD = $(UNIT_LDADD)

# places_t: counted places per namespace (src/sse/places.c), the limits of
# SSE subscribers and of long-poll reads.
check_PROGRAMS += tests/unit/places_t
TESTS += tests/unit/places_t
tests_unit_places_t_SOURCES = tests/unit/places_t.c tests/tap.h
tests_unit_places_t_LDADD = $(UNIT_LDADD)

# store_consumer_t: store.h's consumer checkpoints on SQLite and on
# PostgreSQL (EVDB_E2E_PGDIR's cluster, or a private one as pg_order_t).
check_PROGRAMS += tests/unit/store_consumer_t
TESTS += tests/unit/store_consumer_t
tests_unit_store_consumer_t_SOURCES = tests/unit/store_consumer_t.c tests/tap.h \
	tests/pgtest.h
tests_unit_store_consumer_t_LDADD = $(UNIT_LDADD)

# pg_watch_t: the watches of one PostgreSQL store share one LISTEN
# connection (issue 9), each owned by a thread, on a cluster as pg_order_t.
check_PROGRAMS += tests/unit/pg_watch_t
TESTS += tests/unit/pg_watch_t
tests_unit_pg_watch_t_SOURCES = tests/unit/pg_watch_t.c tests/tap.h tests/pgtest.h
tests_unit_pg_watch_t_LDADD = $(UNIT_LDADD)

# pg_registry_t: namespace lookups kept across requests on PostgreSQL, the
# statements a stream.write sends (counted in the server log), and a
# namespace deleted or made again by another store (host), on a cluster as
# pg_order_t.
check_PROGRAMS += tests/unit/pg_registry_t
TESTS += tests/unit/pg_registry_t
tests_unit_pg_registry_t_SOURCES = tests/unit/pg_registry_t.c tests/tap.h tests/pgtest.h
tests_unit_pg_registry_t_LDADD = $(UNIT_LDADD)

# json_slice_t: the compact copy of data and metadata (src/core/json_slice.c)
# against json-c's own serialisation, on hostile JSON; issue 13.
check_PROGRAMS += tests/unit/json_slice_t
TESTS += tests/unit/json_slice_t
tests_unit_json_slice_t_SOURCES = tests/unit/json_slice_t.c tests/tap.h
tests_unit_json_slice_t_LDADD = $(UNIT_LDADD)

# request_head_t: the head of every whole answer, built without snprintf
# (issue 13), byte for byte what snprintf wrote.
check_PROGRAMS += tests/unit/request_head_t
TESTS += tests/unit/request_head_t
tests_unit_request_head_t_SOURCES = tests/unit/request_head_t.c tests/tap.h
tests_unit_request_head_t_LDADD = $(UNIT_LDADD)
