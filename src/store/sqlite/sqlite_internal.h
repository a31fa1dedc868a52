/*
 * sqlite_internal.h - what the sqlite_*.c files share; not a public contract.
 *
 * The SQLite backend of store.h.  Layout on disk, under the data directory:
 *   registry.db                the namespaces: name, token hash, metadata
 *   ns/<name>.<generation>.db  one database per namespace: its messages
 * Every file is in WAL mode.  The generation is the namespace's registry
 * row id, never reused, so a namespace deleted and created again gets a new
 * file and a stale handle can never write into the new one.  Several evdb
 * processes may share a data directory: every write runs in a BEGIN
 * IMMEDIATE transaction.  Checkpoints are taken off the commit path by a
 * background thread (sqlite_checkpoint.c).
 *
 * sqlite_backend.c     the struct store_backend: the seam's adaptors
 * sqlite_db.c          one connection, statements, SQLite's result codes
 * sqlite_handle.c      one open namespace file: statements, poke file, path
 * sqlite_queue.c       the group-commit queues and their writer connections
 * sqlite_store.c       lifetime, connections, the per-connection caches
 * sqlite_schema.c      schema migrations of the registry and namespace files
 * sqlite_registry.c    namespace operations
 * sqlite_write.c       group commit of writes
 * sqlite_read.c        stream, category and listing reads
 * sqlite_import.c      bulk import
 * sqlite_poke.c        poke files, the inotify watch and the hub's reads
 * sqlite_checkpoint.c  the background checkpointer
 * sqlite_health.c      whether the files can still be opened (/health)
 * sqlite_invariant.c   the commit-time position check (test builds)
 * sqlite_summary.c     a namespace grouped by stream, category or type
 * sqlite_consumer.c    consumer checkpoints (table consumer_checkpoints)
 * sqlite_lifecycle.c   stream delete/truncate, retention, stream.info, sweep
 */
#ifndef EVDB_SQLITE_INTERNAL_H
#define EVDB_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store/store.h"
#include "store/store_backend.h"
#include "core/uuid.h"

/* The columns of a message read, in struct store_message's order (sqlite_read.c). */
#define MSG_COLS "id, stream_name, type, position, global_position, data, metadata, time_us"

/*
 * A category read's consumer-group filter: ?5 the group size (NULL for no
 * group), ?6 the member.  |hash| % size = member, as
 * streamname_member_of_hash(): SQLite's % keeps the dividend's sign, so
 * abs() of the remainder is |hash| % size, even for INT64_MIN, and a NULL
 * hash (a stream without a cardinal id) belongs to no member.  The
 * columns are all in messages_category_group, so a row of another member
 * costs an index entry, never a row fetch, and LIMIT counts the rows
 * that pass.
 */
#define READ_GROUP " AND (?5 IS NULL OR abs(cardinal_hash % ?5) = ?6)"

/*
 * --group-indexes: for each declared group size n, one partial index per
 * member m, GROUP_INDEX_NAME ON messages(category, global_position) WHERE
 * abs(cardinal_hash % n) = m (READ_GROUP's test with n and m as
 * literals, which is what lets SQLite's planner prove a read's rows are
 * in it).  A member's category read then seeks its own rows and passes
 * none of the other members', at the price of one more index entry per
 * write and size.  sqlite_schema.c keeps a file's set equal to the
 * setting; sqlite_read.c reads them, and falls back to READ_GROUP when a
 * file lacks one.
 */
#define GROUP_INDEX_PREFIX "messages_group_"
#define GROUP_INDEX_NAME GROUP_INDEX_PREFIX "%d_%d"

/* Prepared statements of a namespace connection, prepared on first use. */
enum ns_stmt {
	NS_BEGIN_IMMEDIATE,
	NS_COMMIT,
	NS_ROLLBACK,
	NS_ID_LOOKUP,
	NS_STREAM_VERSION,
	NS_INSERT,
	NS_STATS_ADD,
	NS_STATS_GET,
	NS_READ_STREAM,
	NS_READ_STREAM_GLOBAL,
	NS_READ_LAST,
	NS_READ_LAST_TYPE,
	NS_READ_CATEGORY,
	NS_READ_CATEGORY_CORR,
	NS_READ_ALL,
	NS_READ_ALL_CORR,
	NS_STREAMS,
	NS_CATEGORIES,
	NS_POKE_TAIL,
	NS_POKE_STREAM,
	NS_POKE_CATEGORY,
	NS_POKE_ALL,
	NS_HEAD,
	NS_IMPORT_INSERT,
	NS_CLEAR,
	NS_STATS_RECOMPUTE,
	/* a batch.write unit inside the group's transaction (sqlite_write.c) */
	NS_UNIT_SAVEPOINT,
	NS_UNIT_RELEASE,
	NS_UNIT_ROLLBACK_TO,
	/* consumer checkpoints (sqlite_consumer.c) */
	NS_CONSUMER_GET,
	NS_CONSUMER_COUNT,
	NS_CONSUMER_UPSERT,
	NS_CONSUMER_LIST,
	NS_CONSUMER_DELETE,
	NS_CONSUMER_CLEAR,
	NS_STMT_COUNT
};

/* Prepared statements of the registry connection. */
enum reg_stmt {
	REG_DATA_VERSION,
	REG_LOOKUP,
	REG_INSERT,
	REG_DELETE,
	REG_LIST,
	REG_GET,
	REG_STMT_COUNT
};

/* A pending write of a queue (sqlite_write.c). */
struct write_item;
/* The checkpoint state of one namespace file (store_checkpoint.c). */
struct checkpoint_file;

/* One open namespace database of a store_conn. */
struct ns_handle {
	sqlite3 *db;			/* this thread's connection to the file */
	sqlite3_stmt *stmt[NS_STMT_COUNT]; /* prepared lazily; NULL until used */
	struct write_queue *queue;	/* shared group-commit queue of the file,
					 * found by the first write (sqlite_write.c) */
	struct checkpoint_file *ckpt;	/* shared checkpoint state of the file */
	int poke_fd;			/* the file's poke file, written after commits */
	sqlite3_stmt **group_stmt;	/* reads on the members' indexes: 2 x
					 * st->group_slots (without, with
					 * correlation), allocated on first use */
	bool group_off;			/* a member's index could not be used:
					 * this handle reads groups as without */
};

/* A namespace known to a store_conn: the registry row, cached. */
struct ns_entry {
	struct ns_entry *next;		/* hash chain */
	char name[TOKEN_NS_MAX + 1];	/* namespace name */
	int64_t generation;		/* registry row id; names the file */
	char token_hash[TOKEN_HASH_HEX_LEN + 1]; /* SHA-256 hex of the token */
	struct ns_handle *handle;	/* open database, or NULL */
	uint64_t last_used;		/* use counter value at last use, for eviction */
};

#define NS_CACHE_BUCKETS 64
#define NS_OPEN_MAX 32			/* open namespace files per connection */

struct sqlite_store {
	struct store base;		/* the seam's head (store_backend.h); first */
	char *data_dir;			/* owned */
	char *ns_dir;			/* owned: data_dir + "/ns" */
	char *registry_path;		/* owned */
	enum durability durability;
	int busy_timeout_ms;
	struct log *log;		/* borrowed */
	atomic_llong connections;	/* open SQLite connections */
	pthread_mutex_t queues_mu;	/* guards queues */
	struct write_queue *queues;	/* every queue made so far */
	atomic_int writers_open;	/* queues' writer connections open
					 * (sqlite_write.c bounds it) */
	pthread_t ckpt_thread;		/* the checkpointer (store_checkpoint.c) */
	bool ckpt_started;		/* ckpt_thread runs */
	pthread_mutex_t ckpt_mu;	/* guards ckpt_files and ckpt_stop */
	pthread_cond_t ckpt_cv;		/* wakes the checkpointer */
	bool ckpt_stop;			/* sqlite_close asked it to end */
	struct checkpoint_file *ckpt_files; /* every file seen so far */
	atomic_llong checkpoints;	/* checkpoints run */
	bool invariants;		/* check every commit (sqlite_invariant.h) */
	/* --group-indexes (sqlite_schema.c builds them, sqlite_read.c reads them) */
	int group_sizes[SETTINGS_GROUP_INDEX_MAX]; /* ascending */
	int group_count;		/* of group_sizes */
	int group_slots;		/* sum of group_sizes: one index per member */
	bool group_indexes_kept;	/* files get exactly these indexes (the
					 * server); a must_exist store changes no
					 * file's indexes */
	atomic_llong group_index_reads;	/* reads served by a member's index */
};

struct sqlite_conn {
	struct store_conn base;		/* the seam's head (store_backend.h); first */
	struct sqlite_store *st;	/* the shared store */
	sqlite3 *reg;			/* registry connection */
	sqlite3_stmt *reg_stmt[REG_STMT_COUNT]; /* prepared lazily */
	int64_t reg_data_version;	/* PRAGMA data_version when the cache was filled */
	bool in_request;		/* between sqlite_conn_request_begin and _end */
	bool reg_checked;		/* the registry was checked in this request */
	struct ns_entry *cache[NS_CACHE_BUCKETS]; /* namespaces looked up so far */
	int open_handles;		/* entries with a handle */
	uint64_t use_counter;		/* ticks on every namespace use */
	struct uuid_gen uuid;		/* this thread's id generator */
	char errmsg[512];		/* last failure text */
};

/*
 * The files' functions, listed from the lowest layer up: a file calls only
 * files listed before its own, never one after it, so that they form no
 * circle.
 */

/* sqlite_db.c: one connection, statements, result codes. */
enum evdb_status sqlite_status(int rc);
enum evdb_status sqlite_fail(struct sqlite_conn *c, sqlite3 *db, int rc,
    const char *what);
enum evdb_status sqlite_open_db(struct sqlite_store *st, const char *path,
    bool create, sqlite3 **out, char *err, size_t err_size);
void sqlite_close_db(struct sqlite_store *st, sqlite3 *db);
/*
 * The sleep, in microseconds, before a busy connection's try count + 1
 * (count tries have failed), or 0 once the sleeps so far add up to
 * timeout_ms (--busy-timeout): then SQLITE_BUSY.  Exposed for its test.
 */
long sqlite_busy_wait_us(int count, int timeout_ms);
void sqlite_stmt_done(sqlite3_stmt *s);
enum evdb_status sqlite_step_int64(struct sqlite_conn *c, sqlite3 *db,
    sqlite3_stmt *s, const char *what, int64_t if_null, int64_t *v);
/* Hands the current row of s to a caller (sqlite_step_rows); arg is its. */
typedef enum evdb_status (*sqlite_row_fn)(sqlite3_stmt *s, void *arg);
enum evdb_status sqlite_step_rows(struct sqlite_conn *c, sqlite3 *db,
    sqlite3_stmt *s, int64_t limit, const char *what, sqlite_row_fn row,
    void *arg);
enum evdb_status sqlite_exec(sqlite3 *db, const char *sql, char *err,
    size_t err_size);

/* sqlite_schema.c */
enum evdb_status sqlite_schema_registry(struct sqlite_store *st, sqlite3 *db,
    char *err, size_t err_size);
/* Migrates db's namespace schema; and, when st keeps group indexes (a
 * server's store; st may be NULL: none), gives it exactly st's. */
enum evdb_status sqlite_schema_namespace(struct sqlite_store *st, sqlite3 *db,
    char *err, size_t err_size);
/* Appends the CREATE INDEX of member m of group size n (GROUP_INDEX_NAME). */
struct buf;
void sqlite_group_index_sql(struct buf *out, int n, int m);

/* sqlite_checkpoint.c */
enum evdb_status sqlite_checkpoint_start(struct sqlite_store *st);
void sqlite_checkpoint_stop(struct sqlite_store *st);
struct checkpoint_file *sqlite_checkpoint_file(struct sqlite_store *st,
    const char *path);
void sqlite_checkpoint_attach(struct checkpoint_file *f, sqlite3 *db);
/*
 * Rewinds db's WAL: catch-up syncs and PASSIVE checkpoints with no lock
 * held, then a RESTART checkpoint (which holds the file's writers), so
 * that the RESTART has little left to do.  SQLite's code; *log_frames and
 * *done as sqlite3_wal_checkpoint_v2's; *errmsg the text of a failed sync,
 * else NULL (db's own message then describes a failure).
 */
int sqlite_checkpoint_rewind(sqlite3 *db, int *log_frames, int *done,
    const char **errmsg);

/* sqlite_handle.c: one open namespace file. */
enum evdb_status sqlite_handle_open(struct sqlite_store *st, const char *path,
    struct ns_handle **out, char *err, size_t err_size);
void sqlite_handle_close(struct sqlite_store *st, struct ns_handle *h);
enum evdb_status sqlite_ns_stmt(struct sqlite_conn *c, struct ns_handle *h,
    enum ns_stmt which, sqlite3_stmt **out);
enum evdb_status sqlite_ns_exec(struct sqlite_conn *c, struct ns_handle *h,
    enum ns_stmt which, const char *what);
void sqlite_ns_rollback(struct sqlite_conn *c, struct ns_handle *h);
/* The SQL of a namespace statement (for tests of its plan). */
const char *sqlite_ns_sql(enum ns_stmt which);
char *sqlite_ns_path(const struct sqlite_store *st, const char *ns,
    int64_t generation);
int sqlite_poke_open(const char *db_path);
void sqlite_poke_signal(struct ns_handle *h, int64_t global_position);

/* sqlite_queue.c: the group-commit queue of one namespace file. */
struct write_queue {
	struct write_queue *next;	/* store's list of queues */
	char *path;			/* namespace file this queue serialises */
	pthread_mutex_t mu;		/* guards everything below */
	struct write_item *head;	/* pending items, oldest first */
	struct write_item **tailp;	/* where the next item is linked */
	bool leader_active;		/* a thread is running a batch */
	struct ns_handle *writer;	/* the leaders' connection to the file,
					 * opened by the first; used only by the
					 * leader of the moment */
	bool release_writer;		/* the file was deleted: the leader of
					 * the moment closes writer when done */
	uint64_t last_used_ns;		/* monotonic time of its last batch, for
					 * closing the least recently used writer */	/* The gather window under durability full (sqlite_write.c). */
	size_t queued;			/* items in head..tailp */
	size_t last_batch;		/* items in the last batch */
	uint64_t last_commit_ns;	/* how long its commit took */
	size_t gather_want;		/* 0, or: wake gather_cv at this many */
	pthread_cond_t *gather_cv;	/* the gathering leader's, or NULL */
};

struct write_queue *sqlite_write_queue(struct sqlite_store *st, const char *path);
/* Closes the queue's writer connection to a deleted file (or has its
 * leader of the moment close it). */
void sqlite_write_queue_release(struct sqlite_store *st, const char *path);
void sqlite_write_queues_free(struct sqlite_store *st);
/* Monotonic nanoseconds, for the writers' LRU. */
uint64_t sqlite_queue_clock_ns(void);
/* Closes a writer connection taken off its queue (NULL: nothing). */
void sqlite_queue_writer_close(struct sqlite_store *st, struct ns_handle *w);
/*
 * Makes room for one more writer connection: while WRITE_OPEN_MAX are
 * open, closes the least recently used one whose queue has no leader
 * (never self's).  Called by a leader holding no lock.
 */
void sqlite_queue_writers_trim(struct sqlite_store *st,
    const struct write_queue *self);

/* sqlite_store.c: the store, a thread's connection and its cache. */
enum evdb_status sqlite_reg_stmt(struct sqlite_conn *c, enum reg_stmt which,
    sqlite3_stmt **out);
enum evdb_status sqlite_ns_lookup(struct sqlite_conn *c, const char *ns,
    struct ns_entry **out);
enum evdb_status sqlite_ns_handle(struct sqlite_conn *c, const char *ns,
    struct ns_entry **entry, struct ns_handle **out);
void sqlite_ns_forget(struct sqlite_conn *c, const char *ns);

/* sqlite_write.c (with sqlite_registry.c, sqlite_read.c, sqlite_import.c,
 * sqlite_poke.c, sqlite_health.c, sqlite_invariant.c: the operations) */
/*
 * Binds the columns NS_INSERT and NS_IMPORT_INSERT share (parameters 1-7,
 * 9 and 10): m's id, stream, category, type, position, data and metadata
 * (NULL for null), cardinal hash and time.  Not its global position.  The
 * text is bound SQLITE_STATIC: m's buffers must outlive the step.
 */
void sqlite_bind_message(sqlite3_stmt *s, const struct store_import_record *m);

/* ---- the contract, on SQLite types (sqlite_backend.c adapts the seam) ----
 * Each has the contract of the store.h function of the same name. */
enum evdb_status sqlite_open(
    const struct store_options *opt, struct sqlite_store **out);
void sqlite_close(struct sqlite_store *st);
enum evdb_status sqlite_conn_open(
    struct sqlite_store *st, struct sqlite_conn **out);
void sqlite_conn_close(struct sqlite_conn *c);
void sqlite_conn_request_begin(struct sqlite_conn *c);
void sqlite_conn_request_end(struct sqlite_conn *c);
const char *sqlite_conn_errmsg(const struct sqlite_conn *c);
int64_t sqlite_connection_count(const struct sqlite_store *st);
int64_t sqlite_checkpoint_count(const struct sqlite_store *st);
enum evdb_status sqlite_ns_token_hash(
    struct sqlite_conn *c, const char *ns, char hash[TOKEN_HASH_HEX_LEN + 1]);
enum evdb_status sqlite_ns_create(struct sqlite_conn *c, const char *ns,
    const char *token_hash, const char *description, const char *metadata,
    int64_t created_us);
enum evdb_status sqlite_ns_delete(
    struct sqlite_conn *c, const char *ns, int64_t *messages_deleted);
enum evdb_status sqlite_ns_list(
    struct sqlite_conn *c, store_ns_fn fn, void *ctx);
enum evdb_status sqlite_ns_get(
    struct sqlite_conn *c, const char *ns, store_ns_fn fn, void *ctx);
enum evdb_status sqlite_ns_streams(struct sqlite_conn *c, const char *ns,
    const char *prefix, size_t prefix_len, const char *cursor,
    size_t cursor_len, int64_t limit, store_stream_fn fn, void *ctx);
enum evdb_status sqlite_ns_categories(
    struct sqlite_conn *c, const char *ns, store_category_fn fn, void *ctx);
enum evdb_status sqlite_write(struct sqlite_conn *c, const char *ns,
    const struct store_message_in *m, struct store_write_result *r);
enum evdb_status sqlite_write_batch(struct sqlite_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br);
enum evdb_status sqlite_read_stream(struct sqlite_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx);
enum evdb_status sqlite_read_last(struct sqlite_conn *c, const char *ns,
    const char *stream, size_t stream_len, const char *type, size_t type_len,
    store_message_fn fn, void *ctx);
enum evdb_status sqlite_stream_version(struct sqlite_conn *c, const char *ns,
    const char *stream, size_t stream_len, int64_t *version);
enum evdb_status sqlite_read_category(struct sqlite_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx);
/*
 * The SQL of a stream or category read that uses evdb's extensions
 * (backward, types), appended to out: ?1 stream or category (NULL for the
 * whole namespace), ?2 position or global position, ?3 limit, ?4
 * correlation, ?5... the types in order.  Exposed for the query-plan test.
 */
struct buf;
void sqlite_read_stream_sql(struct buf *out, const struct store_stream_query *q);
void sqlite_read_category_sql(struct buf *out,
    const struct store_category_query *q);
/*
 * The SQL of member m's category read on its index for group size n
 * (GROUP_INDEX_NAME): ?1 category, ?2 global position, ?3 limit, and ?4
 * correlation when correlated.  Exposed for the query-plan test.
 */
void sqlite_read_group_sql(struct buf *out, int n, int m, bool correlated);
enum evdb_status sqlite_import_clear(struct sqlite_conn *c, const char *ns);
enum evdb_status sqlite_import_batch(struct sqlite_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out);
enum evdb_status sqlite_import_finish(struct sqlite_conn *c, const char *ns);
enum evdb_status sqlite_head(
    struct sqlite_conn *c, const char *ns, int64_t *gpos);
enum evdb_status sqlite_poke_range(struct sqlite_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx);
enum evdb_status sqlite_poke_tail(struct sqlite_conn *c, const char *ns,
    int64_t after_gpos, int64_t limit, store_poke_fn fn, void *ctx);

/* sqlite_consumer.c: consumer checkpoints. */
enum evdb_status sqlite_consumer_commit(struct sqlite_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards);
enum evdb_status sqlite_consumer_get(struct sqlite_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx);
enum evdb_status sqlite_consumer_list(struct sqlite_conn *c, const char *ns,
    int64_t limit, store_consumer_fn fn, void *ctx);
enum evdb_status sqlite_consumer_delete(struct sqlite_conn *c, const char *ns,
    const char *name, size_t name_len, int64_t *deleted);
enum evdb_status sqlite_consumer_namespaces(struct sqlite_conn *c,
    store_name_fn fn, void *ctx);

/* sqlite_lifecycle.c: store.h "stream lifecycle". */
enum evdb_status sqlite_stream_delete(struct sqlite_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted, int64_t *actual);
enum evdb_status sqlite_set_retention(struct sqlite_conn *c, const char *ns,
    bool category, const char *name, size_t name_len,
    const struct store_retention_change *r);
enum evdb_status sqlite_stream_info(struct sqlite_conn *c, const char *ns,
    const char *stream, size_t stream_len, struct store_stream_state *out);
enum evdb_status sqlite_retention_sweep(struct sqlite_conn *c, const char *ns,
    int64_t now_us, int64_t batch, int64_t *removed);
/* The sweep's list of streams to trim: exposed for the query-plan test. */
extern const char sqlite_retention_list_sql[];
/* Forgets every stream's lifecycle state and the deleted head, inside the
 * open transaction of an import that clears the namespace. */
enum evdb_status sqlite_lifecycle_reset(struct sqlite_conn *c,
    struct ns_handle *h);

/* sqlite_lifecycle_list.c: store_lifecycle_list(). */
enum evdb_status sqlite_lifecycle_list(struct sqlite_conn *c, const char *ns,
    int64_t limit, store_lifecycle_fn fn, void *ctx);

/* sqlite_health.c: store_health(), as a probe that opens as many
 * descriptors on the namespace directory as a namespace needs. */
enum evdb_status sqlite_health(struct sqlite_conn *c, char *why,
    size_t why_size);

/* sqlite_poke.c: the watch, on inotify of the namespaces' poke files. */
enum evdb_status sqlite_watch_open(
    struct sqlite_store *st, struct store_watch **out);
int sqlite_watch_fd(const struct store_watch *w);
enum evdb_status sqlite_watch_add(
    struct store_watch *w, struct sqlite_conn *c, const char *ns, int64_t *id);
void sqlite_watch_remove(struct store_watch *w, int64_t id);
enum evdb_status sqlite_watch_read(
    struct store_watch *w, store_watch_fn fn, void *ctx);
void sqlite_watch_close(struct store_watch *w);

/* sqlite_summary.c */
enum evdb_status sqlite_ns_summary(struct sqlite_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals);

#endif /* EVDB_SQLITE_INTERNAL_H */
