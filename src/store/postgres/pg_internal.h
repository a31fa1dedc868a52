/*
 * pg_internal.h - what the files of the PostgreSQL backend share; not a
 * public contract (the backend's one export is store_postgres_backend).
 *
 * pg_store.c     lifetime, the per-thread connection, reconnect with
 *                back-off, SQLSTATE mapping, health
 * pg_schema.c    the registry schema "evdb", its migrations, and the DDL of
 *                a namespace schema (Message DB 1.3.0's messages table)
 * pg_registry.c  namespace lookup, create, delete, listing
 * pg_write.c     group commit: one pipelined transaction per batch
 * pg_read.c      stream, category and listing reads; SSE pokes; import
 * pg_watch.c     change notification through LISTEN/NOTIFY
 * pg_summary.c   a namespace grouped by stream, category or type
 * pg_consumer.c  consumer checkpoints (table evdb_checkpoints)
 * pg_lifecycle.c stream delete/truncate, retention, stream.info, sweep
 *
 * Layout in the database:
 *   evdb.schema_version   one row: the registry's migration level
 *   evdb.namespaces       one row per namespace: id, name, schema_name,
 *                         token hash, description, metadata, created_us
 *   message_store.*       the "default" namespace (Message DB's own schema)
 *   evdb_ns_<id>.*        every other namespace, named by registry id
 * Each namespace schema holds a table "messages" of Message DB's shape and
 * the function "category" its index calls, and evdb's own table
 * "evdb_checkpoints" (consumer checkpoints), which Message DB ignores.
 *
 * Global order.  Every writer of a namespace (evdb's batches, imports, and
 * Message DB's write_message once its acquire_lock is evdb's) takes the
 * transaction advisory lock (PG_LOCK_KEY1, namespace id) before its first
 * nextval and holds it to commit, so global positions become visible in
 * increasing order and a reader following global_position never steps over
 * a message that commits late (docs/storage.md).
 */
#ifndef EVDB_PG_INTERNAL_H
#define EVDB_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store/store_backend.h"
#include "core/buf.h"
#include "core/uuid.h"

/* First key of evdb's two-key advisory locks: "evdb" in ASCII. */
#define PG_LOCK_KEY1 0x65766462
/* Second key of the registry migration lock (namespace ids start at 1). */
#define PG_LOCK_MIGRATE 0

/*
 * The NOTIFY channel of the registry: ns.create and ns.delete notify it
 * (payload: the namespace's name) in their transaction, so that every
 * host's listener hears of the change at its commit (pg_registry.c).
 */
#define PG_REGISTRY_CHANNEL "evdb_registry"

/*
 * The SQLSTATE evdb.namespace_check() raises for a namespace id that is no
 * longer registered; pg_status_of() maps it to EVDB_ERR_NOT_FOUND.
 */
#define PG_STATE_NS_GONE "EV404"

/* Longest schema name evdb makes: "evdb_ns_" + 19 digits. */
#define PG_SCHEMA_MAX 32

/* Most parameters of one statement. */
#define PG_PARAMS_MAX 16

/* Back-off between reconnection attempts, in milliseconds. */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000

/* The in-process group-commit queue of one namespace (pg_write.c). */
struct pg_queue;

/* The store's one LISTEN connection, shared by its watches (pg_watch.c). */
struct pg_listener;

struct pg_store {
	struct store base;		/* first: the seam's view */
	char *conninfo;			/* owned: the libpq URL or conninfo */
	enum durability durability;	/* -> synchronous_commit */
	struct log *log;		/* borrowed */
	atomic_llong connections;	/* PGconns open in this process */
	atomic_llong in_use;		/* store_conns inside a request */
	atomic_llong waits;		/* requests that waited for a connect */
	atomic_llong reconnects;	/* connects after a lost connection */
	atomic_llong failures;		/* failed connection attempts */
	atomic_llong refused;		/* of those: the server was full */
	atomic_llong connected_us;	/* time of the last successful
					 * connect by any connection */
	atomic_llong lost_us;		/* time a connection last failed at
					 * the connection level: the others,
					 * opened before it, are replaced at
					 * their next request_begin */
	bool bytewise;			/* the database's collation sorts text
					 * by bytes (C, POSIX, C.UTF-8) */
	pthread_mutex_t queues_mu;	/* guards queues */
	struct pg_queue *queues;	/* every queue made so far */
	struct pg_listener *listener;	/* owned: the watches' connection */
	/* --group-indexes (pg_schema.c builds them, pg_read.c reads on them) */
	int group_sizes[SETTINGS_GROUP_INDEX_MAX]; /* ascending */
	int group_count;		/* of group_sizes */
	bool group_indexes_kept;	/* namespaces get exactly these indexes
					 * (the server); a must_exist store
					 * changes none */
	atomic_llong group_index_reads;	/* reads on a member's index */
};

/* A namespace as a connection knows it: its registry row, cached. */
struct pg_ns {
	struct pg_ns *next;		/* the connection's list */
	char name[TOKEN_NS_MAX + 1];	/* namespace name */
	int64_t id;			/* registry id: the lock key, the channel */
	char schema[PG_SCHEMA_MAX + 1];	/* schema name (a safe identifier) */
	char token_hash[TOKEN_HASH_HEX_LEN + 1]; /* SHA-256 hex of the token */
	uint64_t checked;		/* request serial of the last registry check */
	uint64_t epoch;			/* registry epoch (pg_registry_epoch) the
					 * row was read in; 0: none */
	bool stale;			/* a statement found the namespace gone:
					 * read the row again before any use */
	uint64_t used;			/* request serial it was last handed out
					 * in: a request never moves on to a
					 * namespace made again under its name */
};

struct pg_conn {
	struct store_conn base;		/* first: the seam's view */
	struct pg_store *st;		/* the shared store */
	PGconn *pg;			/* this thread's connection, or NULL */
	bool broken;			/* pg failed at the connection level:
					 * replace it before the next use */
	bool had_pg;			/* a connection was open once: the
					 * next connect is a reconnect */
	int64_t opened_us;		/* when pg was connected */
	const char *why;		/* client text of the last
					 * unavailability, or NULL (static) */
	char **prepared;		/* names of the statements prepared on pg */
	size_t nprepared;		/* entries of prepared */
	int64_t retry_at_us;		/* no reconnect attempt before this time,
					 * unless another connection of the
					 * store connected since failed_us */
	int64_t failed_us;		/* time of the last failed attempt */
	int backoff_ms;			/* the next back-off step */
	struct pg_ns *cache;		/* namespaces looked up so far */
	bool in_request;		/* between request_begin and _end */
	uint64_t request_serial;	/* ticks at every request_begin */
	struct uuid_gen uuid;		/* this thread's id generator */
	char errmsg[512];		/* last failure text */
};

static inline struct pg_store *
pg_store_of(struct store *st)
{
	return (struct pg_store *)st;
}

static inline struct pg_conn *
pg_conn_of(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

/* pg_store.c */
/**
 * Opens a PGconn with evdb's settings.  role names what it serves ("conn"
 * for a store_conn, "watch" for a watch's listener): application_name is
 * evdb/<hostname>/<pid>/<role>, so that pg_stat_activity shows every host.
 * A failure is counted in st (failures, refused); *refused (may be NULL)
 * says whether the server refused for want of a free slot.
 */
PGconn *pg_connect(struct pg_store *st, const char *role, char *err,
    size_t err_size, bool *refused);
/** Closes a PGconn opened by pg_connect; accepts NULL. */
void pg_disconnect(struct pg_store *st, PGconn *pg);
/**
 * Makes sure c->pg is usable: reconnects a lost connection, but not before
 * c->retry_at_us.  EVDB_ERR_UNAVAILABLE, quickly, while the server is down.
 */
enum evdb_status pg_conn_ready(struct pg_conn *c);
/** Maps a failed result's SQLSTATE (or a lost connection) to a status. */
enum evdb_status pg_status_of(PGconn *pg, const PGresult *res);
/**
 * Records a failure of what on c (errmsg, log) and returns its status;
 * res may be NULL (connection-level failure).
 */
enum evdb_status pg_fail(struct pg_conn *c, const PGresult *res,
    const char *what);
/**
 * Copies params vals[0..n) of lengths lens (NULL: C strings) into b with
 * a NUL after each, and points out[i] at the copies (NULL stays NULL):
 * libpq reads text parameters up to a NUL, whatever their length says.
 * The pointers are valid until b changes.
 */
void pg_params_copy(struct buf *b, int n, const char *const *vals,
    const int *lens, const char **out);
/** True when one of the n params holds a NUL byte (PostgreSQL text cannot). */
bool pg_params_have_nul(int n, const char *const *vals, const int *lens);
/**
 * Runs sql with text parameters on c->pg (NULL values are SQL NULLs;
 * lens may be NULL for C strings; see pg_params_copy).  *out receives the result on success
 * (caller PQclear()s it) and is NULL on failure.
 */
enum evdb_status pg_query(struct pg_conn *c, const char *what,
    const char *sql, int n, const char *const *vals, const int *lens,
    PGresult **out);
/**
 * Makes sure statement `name` is prepared on c->pg from sql (n parameters,
 * types inferred), once per connection: a reconnect forgets them all.
 */
enum evdb_status pg_prepare(struct pg_conn *c, const char *name,
    const char *sql, int n);
/**
 * Whether statement `name` is prepared on c's current connection, so that
 * a caller need not build its text for pg_prepare.  A connection that is
 * not ready has none.
 */
bool pg_prepared(const struct pg_conn *c, const char *name);
/** pg_query through the prepared statement `name` (pg_prepare). */
enum evdb_status pg_query_prepared(struct pg_conn *c, const char *what,
    const char *name, const char *sql, int n, const char *const *vals,
    const int *lens, PGresult **out);
/**
 * pg_query_prepared of tmpl with "%1$s" replaced by namespace e's schema,
 * prepared once per connection and namespace as statement
 * "<tag><q>_<namespace id>" (tag and q tell the caller's statements apart).
 */
enum evdb_status pg_query_ns(struct pg_conn *c, const struct pg_ns *e,
    const char *what, const char *tag, int q, const char *tmpl, int n,
    const char *const *vals, const int *lens, PGresult **out);
/** pg_query for statements whose result is not wanted. */
enum evdb_status pg_exec(struct pg_conn *c, const char *what, const char *sql,
    int n, const char *const *vals, const int *lens);
/**
 * Appends tmpl to out with every "%1$s" replaced by schema (a name
 * generated by evdb, safe unquoted).
 */
void pg_sql_schema(struct buf *out, const char *tmpl, const char *schema);
/** Parses a text integer column value (0 when NULL). */
int64_t pg_value_int64(const PGresult *res, int row, int col);

/* pg_schema.c */
/**
 * evdb's index on a namespace's messages, beside Message DB's own three:
 * (category(stream_name), type, global_position), for category reads
 * filtered by type.
 */
#define PG_TYPE_INDEX "evdb_messages_category_type"
/**
 * evdb's index for consumer groups: (category(stream_name),
 * global_position, evdb_cardinal_hash(stream_name)) INCLUDE (stream_name),
 * where evdb_cardinal_hash() is Message DB's
 * hash_64(cardinal_id(stream_name)), as a PL/pgSQL function of the
 * namespace's schema (pg_schema.c, PG_CARDINAL_HASH_BODY).
 * A member's read scans it index-only and fetches only its own rows.
 */
#define PG_GROUP_INDEX "evdb_messages_category_group"
/**
 * --group-indexes: for each declared group size n, one partial index per
 * member m, PG_MEMBER_INDEX ON messages (category(stream_name),
 * global_position) WHERE PG_MEMBER_TEST, the test of PGQ_CATEGORY_GROUP
 * with n and m as literals, so that the planner proves a member's read
 * (pg_read_group_sql) is in it: the read then passes none of the other
 * members' entries, at the price of one more index entry per write and
 * size.  Without the index the same read is still right, on
 * PG_GROUP_INDEX.
 */
#define PG_MEMBER_INDEX_PREFIX "evdb_group_"
#define PG_MEMBER_INDEX PG_MEMBER_INDEX_PREFIX "%d_%d"
#define PG_MEMBER_TEST \
	"abs(mod(%s.evdb_cardinal_hash(stream_name), %d::bigint)) = %d"
/** Runs the registry's migrations (in one transaction, under the lock). */
enum evdb_status pg_schema_migrate(struct pg_conn *c);
/**
 * Creates the objects of namespace schema `schema` inside the caller's
 * transaction, keeping what exists already (an existing Message DB).
 */
enum evdb_status pg_schema_namespace(struct pg_conn *c, const char *schema);
/**
 * Gives every namespace schema exactly the member indexes of
 * --group-indexes (PG_MEMBER_INDEX), each in a transaction of its own
 * under the migration lock; at a server's start.
 */
enum evdb_status pg_schema_group_indexes_all(struct pg_conn *c);
/**
 * Replaces the namespace's acquire_lock, when Message DB's functions are
 * installed there, by one that takes evdb's namespace lock first.
 */
enum evdb_status pg_schema_adopt_lock(struct pg_conn *c, const struct pg_ns *ns);

/* pg_registry.c */
/**
 * Looks ns up.  The registry row is read again at most once per request,
 * and not at all while the store's listener hears the registry and
 * nothing changed since the row was read (pg_registry_epoch).  A row so
 * kept may lag another host's ns.delete by the notice's delay; every
 * statement through it then fails (the guard of the write batches, the
 * dropped schema of the others) with EVDB_ERR_NOT_FOUND.
 */
enum evdb_status pg_ns_lookup(struct pg_conn *c, const char *ns,
    struct pg_ns **out);
/** Drops ns from c's cache. */
void pg_ns_forget(struct pg_conn *c, const char *ns);
/**
 * Marks every row c has cached as to be read again (a statement found a
 * namespace gone: which one is not known).  The rows stay allocated, so
 * pointers from pg_ns_lookup stay valid.
 */
void pg_ns_stale_all(struct pg_conn *c);
/** store.h store_ns_refresh: drops ns from c's cache; whether it was there. */
bool pg_ns_refresh(struct store_conn *c, const char *ns);
enum evdb_status pg_ns_token_hash(struct store_conn *c, const char *ns,
    char hash[TOKEN_HASH_HEX_LEN + 1]);
enum evdb_status pg_ns_create(struct store_conn *c, const char *ns,
    const char *token_hash, const char *description, const char *metadata,
    int64_t created_us);
enum evdb_status pg_ns_delete(struct store_conn *c, const char *ns,
    int64_t *messages_deleted);
enum evdb_status pg_ns_list(struct store_conn *c, store_ns_fn fn, void *ctx);
enum evdb_status pg_ns_get(struct store_conn *c, const char *ns,
    store_ns_fn fn, void *ctx);

/* pg_write.c */
enum evdb_status pg_write(struct store_conn *c, const char *ns,
    const struct store_message_in *m, struct store_write_result *r);
enum evdb_status pg_write_batch(struct store_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br);
/** Frees every queue (store close). */
void pg_queues_free(struct pg_store *st);
/**
 * True when text is JSON that jsonb accepts as evdb's parser did: no
 * \u0000 and no unpaired surrogate escape.  (UTF-8 validity is checked
 * by the callers above the store.)
 */
bool pg_json_acceptable(const char *text, size_t len);
/** True when s is a UUID in the canonical 8-4-4-4-12 form. */
bool pg_uuid_canonical(const char *s, size_t len);

/* pg_read.c */
/** The read statements (pg_read_sql), for the tests' EXPLAIN checks too. */
enum pg_read_query {
	PGQ_STREAM,		/* $1 stream, $2 position, $3 limit */
	PGQ_STREAM_GLOBAL,	/* $1 stream, $2 global position, $3 limit */
	PGQ_LAST,		/* $1 stream */
	PGQ_LAST_TYPE,		/* $1 stream, $2 type */
	PGQ_VERSION,		/* $1 stream */
	PGQ_ALL,		/* $1 "", $2 global position, $3 limit */
	PGQ_ALL_CORR,		/* ... and $4 correlation */
	PGQ_CATEGORY,		/* $1 category, $2 global position, $3 limit */
	PGQ_CATEGORY_CORR,	/* ... and $4 correlation */
	PGQ_STREAMS,		/* $1 prefix, $2 cursor, $3 limit */
	PGQ_STREAMS_C,		/* the same for a collation that is not bytewise */
	PGQ_CATEGORIES,		/* none: scans the table (ns.categories) */
	PGQ_HEAD,		/* none */
	PGQ_POKE_STREAM,	/* $1 stream, $2 position, $3 after, $4 upto, $5 limit */
	PGQ_POKE_CATEGORY,	/* $1 category, $2 -, $3 after, $4 upto, $5 limit */
	PGQ_POKE_ALL,		/* $1 "", $2 -, $3 after, $4 upto, $5 limit */
	PGQ_POKE_TAIL,		/* $1 after, $2 limit */
	/*
	 * evdb's extensions (EXTENSIONS.md section 4).  $4 types: a text[]
	 * literal, or NULL for every type (stream reads); $5 types (category
	 * reads, whose $4 correlation may be NULL).
	 */
	PGQ_STREAM_TYPES,	/* $1 stream, $2 position, $3 limit, $4 types */
	PGQ_STREAM_GLOBAL_TYPES, /* ... by global position */
	PGQ_STREAM_BACK,	/* $1 stream, $2 highest position, $3 limit, $4 types */
	PGQ_STREAM_GLOBAL_BACK,	/* ... by global position */
	PGQ_ALL_TYPES,		/* $1 "", $2 global position, $3 limit, $4 corr, $5 types */
	PGQ_CATEGORY_TYPES,	/* $1 category, ... as PGQ_ALL_TYPES */
	/* A consumer group's member, tested on PG_GROUP_INDEX. */
	PGQ_CATEGORY_GROUP,	/* $1 category, $2 global position, $3 limit,
				 * $4 group size, $5 member */
	PGQ_COUNT
};
/** SQL of each read; "%1$s" stands for the namespace's schema. */
extern const char *const pg_read_sql[PGQ_COUNT];
/**
 * Appends the SQL of member m's read on its index for group size n
 * (PG_MEMBER_INDEX): $1 category, $2 global position, $3 limit; "%1$s"
 * stands for the schema, as in pg_read_sql.
 */
void pg_read_group_sql(struct buf *out, int n, int m);
enum evdb_status pg_read_stream(struct store_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx);
enum evdb_status pg_read_last(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, const char *type, size_t type_len,
    store_message_fn fn, void *ctx);
enum evdb_status pg_stream_version(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, int64_t *version);
enum evdb_status pg_read_category(struct store_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx);
enum evdb_status pg_ns_streams(struct store_conn *c, const char *ns,
    const char *prefix, size_t prefix_len, const char *cursor,
    size_t cursor_len, int64_t limit, store_stream_fn fn, void *ctx);
enum evdb_status pg_ns_categories(struct store_conn *c, const char *ns,
    store_category_fn fn, void *ctx);
enum evdb_status pg_head(struct store_conn *c, const char *ns, int64_t *gpos);
enum evdb_status pg_poke_range(struct store_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx);
enum evdb_status pg_poke_tail(struct store_conn *c, const char *ns,
    int64_t after_gpos, int64_t limit, store_poke_fn fn, void *ctx);
enum evdb_status pg_import_clear(struct store_conn *c, const char *ns);
enum evdb_status pg_import_batch(struct store_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out);
enum evdb_status pg_import_finish(struct store_conn *c, const char *ns);
/* pg_lifecycle.c: store.h "stream lifecycle". */
enum evdb_status pg_stream_delete(struct store_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted, int64_t *actual);
enum evdb_status pg_set_retention(struct store_conn *c, const char *ns,
    bool category, const char *name, size_t name_len,
    const struct store_retention_change *r);
enum evdb_status pg_stream_info(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, struct store_stream_state *out);
enum evdb_status pg_retention_sweep(struct store_conn *c, const char *ns,
    int64_t now_us, int64_t batch, int64_t *removed);
/* The sweep's list of streams to trim, a template of pg_sql_schema(): exposed
 * for the plan test. */
extern const char pg_retention_list_sql[];
/* pg_lifecycle_list.c: store_lifecycle_list(). */
enum evdb_status pg_lifecycle_list(struct store_conn *c, const char *ns,
    int64_t limit, store_lifecycle_fn fn, void *ctx);
/* pg_watch.c */
enum evdb_status pg_watch_open(struct store *st, struct store_watch **out);
int pg_watch_fd(const struct store_watch *w);
enum evdb_status pg_watch_add(struct store_watch *w, struct store_conn *c,
    const char *ns, int64_t *id);
void pg_watch_remove(struct store_watch *w, int64_t id);
enum evdb_status pg_watch_read(struct store_watch *w, store_watch_fn fn,
    void *ctx);
void pg_watch_close(struct store_watch *w);
/** The listener of a new store (pg_open), connected by its first watch. */
struct pg_listener *pg_listener_new(void);
/** Frees a listener whose watches are all closed; accepts NULL. */
void pg_listener_free(struct pg_store *st, struct pg_listener *l);
/**
 * The registry epoch of the store's listener, after reading what its
 * socket holds (without waiting; skipped while another thread holds the
 * listener).  The epoch moves on at every registry notice
 * (PG_REGISTRY_CHANNEL), at every connect and every loss of the listener,
 * and at pg_registry_changed().  Returns true when the listener is
 * connected and listening to the registry: only then may a registry row
 * read in the same epoch be used without reading it again.
 */
bool pg_registry_epoch(struct pg_store *st, uint64_t *epoch);
/** Moves the registry epoch on (a registry change made by this process). */
void pg_registry_changed(struct pg_store *st);
/** The NOTIFY channel of namespace id (out: at least 32 bytes). */
void pg_channel_name(int64_t id, char *out, size_t out_size);

/* pg_summary.c */
enum evdb_status pg_ns_summary(struct store_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals);

/* pg_consumer.c: consumer checkpoints (store.h). */
enum evdb_status pg_consumer_commit(struct store_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards);
enum evdb_status pg_consumer_get(struct store_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx);
enum evdb_status pg_consumer_list(struct store_conn *c, const char *ns,
    int64_t limit, store_consumer_fn fn, void *ctx);
enum evdb_status pg_consumer_delete(struct store_conn *c, const char *ns,
    const char *name, size_t name_len, int64_t *deleted);
enum evdb_status pg_consumer_namespaces(struct store_conn *c,
    store_name_fn fn, void *ctx);

#endif /* EVDB_PG_INTERNAL_H */
