/*
 * store.h - evdb's message store: the one contract that the RPC, SSE,
 * import and CLI code call.
 *
 * Two backends implement it, behind the seam of store_backend.h:
 *   sqlite    src/store/sqlite/: one SQLite file per namespace under a data
 *             directory, the embedded default (layout in its store_internal.h
 *             and docs/storage.md)
 *   postgres  src/store/postgres/: Message DB's schema on PostgreSQL, one
 *             schema per namespace, so that several hosts share a database
 * store_open() picks one from struct store_options.location; nothing above
 * this header knows which one runs, beyond store_backend_name().
 *
 * Threads and processes.  A struct store is shared by the whole process and
 * is thread-safe.  A struct store_conn belongs to one thread (a worker): it
 * owns that thread's database connections and prepared statements, and must
 * not be used by two threads at once.  Several evdb processes may share a
 * store: positions stay gapless and unique whoever writes.
 *
 * Writes are group-committed: concurrent store_write() and
 * store_write_batch() calls on the same namespace in one process are
 * gathered by whichever caller gets there first (the leader), run in one
 * transaction and made durable by one commit.  Each write (a batch is one)
 * still gets its own result; no write can fail because of another write's
 * conflict.
 *
 * Strings are (pointer, length) pairs and need not be NUL-terminated, except
 * namespace names, which are C strings already validated by the caller.
 * Data handed to callbacks (struct store_message and friends) points into
 * the backend's row buffers and is valid only during the callback.
 */
#ifndef EVDB_STORE_H
#define EVDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/settings.h"
#include "core/status.h"
#include "core/token.h"

struct store;
struct store_conn;

struct store_options {
	const char *location;		/* --store: "sqlite:DIR", a libpq URL
					 * ("postgresql://...") or conninfo
					 * ("host=... dbname=..."); NULL or "" for
					 * sqlite:data_dir */
	const char *data_dir;		/* created if missing (mode 0700) */
	enum durability durability;	/* synchronous=NORMAL or FULL */
	int busy_timeout_ms;		/* wait for other processes' locks */
	struct log *log;		/* where SQLite failures are reported */
	const int *group_index_sizes;	/* --group-indexes: consumer-group sizes
					 * whose members read an index of their
					 * own (SQLite; docs/configuration.md),
					 * ascending, group_index_count of them */
	int group_index_count;
	bool must_exist;		/* open only a store that exists already, and
					 * create nothing: no data directory or
					 * registry (SQLite), no registry schema
					 * (PostgreSQL); EVDB_ERR_NOT_FOUND when there
					 * is none.  For tools that only look
					 * (evdb report); the server leaves it false */
};

/**
 * What a write expects of a stream's version (EXTENSIONS.md section 1).
 * The version is the stream's highest position, -1 when it has no
 * message.  An expectation that is not met is EVDB_ERR_VERSION_CONFLICT.
 */
enum store_expect {
	STORE_EXPECT_ANY = 0,		/* always met: no expectation (zeroed) */
	STORE_EXPECT_VERSION,		/* the version is expected_version */
	STORE_EXPECT_NO_STREAM,		/* the stream has no message */
	STORE_EXPECT_EXISTS		/* the stream has at least one message */
};

/** True when a stream at version (-1: no message) meets expectation. */
bool store_expect_met(enum store_expect expect, int64_t expected_version,
    int64_t version);

/** A message as written by a client. */
struct store_message_in {
	const char *stream;		/* stream name, validated by the caller */
	size_t stream_len;
	const char *type;		/* message type, non-empty */
	size_t type_len;
	const char *id;			/* client id (a UUID) or NULL to generate one */
	size_t id_len;
	const char *data;		/* JSON text of the data object */
	size_t data_len;
	const char *metadata;		/* JSON text of the metadata, or NULL */
	size_t metadata_len;
	enum store_expect expect;	/* what the stream's version must be */
	int64_t expected_version;	/* with STORE_EXPECT_VERSION: the version
					 * wanted, any integer (-1: the stream
					 * must be empty; below -1 never met) */
};

/** What a write produced. */
struct store_write_result {
	int64_t position;		/* stream position of the message */
	int64_t global_position;	/* namespace-wide position */
	int64_t actual_version;		/* on EVDB_ERR_VERSION_CONFLICT: the stream's version */
	bool duplicate;			/* true: an idempotent retry, nothing written */
	const char *conflict;		/* on EVDB_ERR_ID_CONFLICT: what differs from the
					 * stored message, "stream", "type", "data" or
					 * "metadata" (static text) */
};

/** A stored message, as handed to read callbacks. */
struct store_message {
	const char *id;
	size_t id_len;
	const char *stream;
	size_t stream_len;
	const char *type;
	size_t type_len;
	int64_t position;
	int64_t global_position;
	const char *data;		/* JSON text, or NULL (imported records only) */
	size_t data_len;
	const char *metadata;		/* JSON text, or NULL when none */
	size_t metadata_len;
	int64_t time_us;		/* microseconds since the epoch */
};

/** Called once per row; a status other than EVDB_OK stops the read and is returned. */
typedef enum evdb_status (*store_message_fn)(void *ctx,
    const struct store_message *m);

/**
 * A message type, for the type filters of struct store_stream_query and
 * struct store_category_query (EXTENSIONS.md section 4).
 */
struct store_type {
	const char *name;		/* type name, non-empty, without NUL */
	size_t len;			/* its length in bytes */
};

/** The most types one type filter holds. */
#define STORE_TYPES_MAX 100

/** Which part of a stream to read. */
struct store_stream_query {
	const char *stream;
	size_t stream_len;
	int64_t position;		/* first stream position (ignored when by_global) */
	bool by_global;			/* select by global position instead */
	int64_t global_position;	/* first global position when by_global */
	int64_t limit;			/* maximum rows; -1 for no limit */
	/*
	 * evdb's extensions (EXTENSIONS.md section 4); all zero for the
	 * reference's reads, which stay exactly as they were.
	 */
	bool backward;			/* descending positions: position (or
					 * global_position when by_global) is
					 * then the highest one returned; pass
					 * INT64_MAX for the end of the stream */
	const struct store_type *types;	/* keep only these types (distinct,
					 * borrowed for the call), or NULL */
	size_t ntypes;			/* 0 (no filter) to STORE_TYPES_MAX */
};

/** Which part of a category (or the whole namespace) to read. */
struct store_category_query {
	const char *category;		/* category name; length 0 means every stream */
	size_t category_len;
	int64_t global_position;	/* first global position */
	int64_t limit;			/* maximum rows after grouping; -1 for no limit */
	const char *correlation;	/* keep only this correlation category, or NULL */
	size_t correlation_len;
	int64_t group_member;		/* consumer-group member (when group_size > 0) */
	int64_t group_size;		/* 0: no consumer group */
	/*
	 * evdb's extension (EXTENSIONS.md section 4): keep only these types;
	 * limit counts the rows kept.  A category read by type uses an index
	 * on (category, type, global position), never a scan of the
	 * category.  Zero for the reference's reads.
	 */
	const struct store_type *types;	/* distinct, borrowed for the call, or NULL */
	size_t ntypes;			/* 0 (no filter) to STORE_TYPES_MAX */
};

/** A namespace, as handed to listing callbacks. */
struct store_ns_info {
	const char *name;
	const char *description;	/* "" when none */
	int64_t created_us;
	int64_t message_count;
	int64_t stream_count;
	int64_t last_activity_us;	/* -1 when nothing was ever written */
};

typedef enum evdb_status (*store_ns_fn)(void *ctx,
    const struct store_ns_info *ns);

/** A stream, as handed to ns.streams callbacks. */
struct store_stream_info {
	const char *name;
	size_t name_len;
	int64_t version;		/* highest position */
	int64_t last_activity_us;	/* time of the newest message */
};

typedef enum evdb_status (*store_stream_fn)(void *ctx,
    const struct store_stream_info *s);

/** A category, as handed to ns.categories callbacks. */
struct store_category_info {
	const char *name;
	size_t name_len;
	int64_t message_count;
	int64_t stream_count;
};

typedef enum evdb_status (*store_category_fn)(void *ctx,
    const struct store_category_info *c);

/* ---- lifetime ---------------------------------------------------------- */

/**
 * Opens the store that opt->location names (see struct store_options),
 * creating what it needs (the SQLite data directory and registry, or the
 * PostgreSQL schemas) and running the registry's schema migrations.
 * EVDB_ERR_CONFIG when the location names no known backend.  *out is NULL
 * on failure; the reason is logged.
 */
enum evdb_status store_open(const struct store_options *opt,
    struct store **out);
/** Closes the store; every store_conn must be closed first.  Accepts NULL. */
void store_close(struct store *st);

/** Opens a per-thread connection set on st. */
enum evdb_status store_conn_open(struct store *st, struct store_conn **out);
/** Closes a connection set; accepts NULL. */
void store_conn_close(struct store_conn *c);
/**
 * Brackets one request on c: between the two calls the registry is
 * checked for changes (another process creating or deleting namespaces)
 * once, at the request's first namespace lookup, instead of at every
 * lookup.  Outside a request every lookup checks.
 */
void store_conn_request_begin(struct store_conn *c);
void store_conn_request_end(struct store_conn *c);

/**
 * Text describing the last failure on c (SQLite's message), or "".  Valid
 * until the next call on c.  Never contains client secrets.
 */
const char *store_conn_errmsg(const struct store_conn *c);

/** The store a connection belongs to. */
struct store *store_conn_store(const struct store_conn *c);

/** The backend's short name: "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);

/** Number of WAL checkpoints the background checkpointer has run (0 if none). */
int64_t store_checkpoint_count(const struct store *st);

/** Number of database connections this process has open. */
int64_t store_connection_count(const struct store *st);

/**
 * Whether the store can serve requests now: its database reachable and its
 * files openable.  EVDB_OK, or the failure with a reason for the client in
 * why (no paths, no secrets).
 */
enum evdb_status store_health(struct store_conn *c, char *why, size_t why_size);

/* ---- namespaces (registry) ----------------------------------------------- */

/** True when name is an acceptable namespace name ([A-Za-z0-9][A-Za-z0-9_-]{0,63}). */
bool store_ns_name_valid(const char *name);

/**
 * Looks up the stored token hash of namespace ns.
 * EVDB_ERR_NOT_FOUND when the namespace does not exist.
 */
enum evdb_status store_ns_token_hash(struct store_conn *c, const char *ns,
    char hash[TOKEN_HASH_HEX_LEN + 1]);

/**
 * Makes c's next lookup of ns read the registry, rather than a row cached
 * from before (PostgreSQL keeps rows across requests while it hears of
 * every registry change, and hears of another host's change a moment
 * after its commit).  True when c had a row of ns cached, so that a token
 * that did not match it is worth checking again.
 */
bool store_ns_refresh(struct store_conn *c, const char *ns);

/**
 * Creates namespace ns with the given token hash, description (may be NULL)
 * and metadata JSON (may be NULL), and its empty database.
 * EVDB_ERR_EXISTS when it exists already.
 */
enum evdb_status store_ns_create(struct store_conn *c, const char *ns,
    const char *token_hash, const char *description, const char *metadata,
    int64_t created_us);

/**
 * Deletes namespace ns and every message in it; *messages_deleted receives
 * the count.  EVDB_ERR_NOT_FOUND when it does not exist.
 */
enum evdb_status store_ns_delete(struct store_conn *c, const char *ns,
    int64_t *messages_deleted);

/** Calls fn for every namespace, newest first. */
enum evdb_status store_ns_list(struct store_conn *c, store_ns_fn fn,
    void *ctx);

/** Calls fn once with namespace ns.  EVDB_ERR_NOT_FOUND when it does not exist. */
enum evdb_status store_ns_get(struct store_conn *c, const char *ns,
    store_ns_fn fn, void *ctx);

/**
 * Calls fn for up to limit streams of ns whose names start with
 * prefix[0..prefix_len) (byte-wise) and sort after cursor[0..cursor_len)
 * (no cursor when cursor_len is 0), in byte order.
 */
enum evdb_status store_ns_streams(struct store_conn *c, const char *ns,
    const char *prefix, size_t prefix_len, const char *cursor,
    size_t cursor_len, int64_t limit, store_stream_fn fn, void *ctx);

/** Calls fn for every category of ns, in byte order. */
enum evdb_status store_ns_categories(struct store_conn *c, const char *ns,
    store_category_fn fn, void *ctx);

/* ---- messages ------------------------------------------------------------ */

/**
 * Writes one message to namespace ns (group-committed, see above).
 * m->id, when set, must be in uuid_canonical() form: ids are compared as
 * bytes.  A message with that id already stored is an idempotent retry
 * when its stream, type, data and metadata are byte for byte those of m
 * (data and metadata as the JSON text they were stored as); any
 * difference is EVDB_ERR_ID_CONFLICT, with r->conflict naming the first.
 * Returns EVDB_OK (also for an idempotent retry: r->duplicate is set),
 * EVDB_ERR_VERSION_CONFLICT (r->actual_version set), EVDB_ERR_ID_CONFLICT,
 * EVDB_ERR_LIMIT (the stream or the namespace is at STORE_POSITION_MAX: a
 * position would leave the range), EVDB_ERR_NOT_FOUND (no such namespace),
 * EVDB_ERR_STORAGE_FULL,
 * EVDB_ERR_BUSY or EVDB_ERR_BACKEND.  Nothing is written unless EVDB_OK.
 */
enum evdb_status store_write(struct store_conn *c, const char *ns,
    const struct store_message_in *m, struct store_write_result *r);

/* ---- batches of messages (batch.write, EXTENSIONS.md section 2) --------- */

/** An expectation on one stream, checked before a batch is written. */
struct store_stream_expect {
	const char *stream;		/* stream name, validated by the caller */
	size_t stream_len;
	enum store_expect expect;	/* as in struct store_message_in */
	int64_t expected_version;	/* with STORE_EXPECT_VERSION */
};

/** What a batch write produced, beside each entry's result. */
struct store_batch_result {
	bool duplicate;			/* true: an idempotent retry of the whole
					 * batch, nothing written */
	size_t index;			/* on a failure: the place of the culprit,
					 * in expect (VERSION_CONFLICT) or in the
					 * entries (ID_CONFLICT, INVALID) */
	int64_t actual_version;		/* on EVDB_ERR_VERSION_CONFLICT: the
					 * stream's version (-1: no message) */
	const char *conflict;		/* on EVDB_ERR_ID_CONFLICT: "stream",
					 * "type", "data" or "metadata" when the
					 * entry's id is stored with another
					 * value; NULL when it is stored the same
					 * but other entries are new (a partial
					 * retry).  Static text. */
};

/**
 * Writes msgs[0..n) to namespace ns, all or nothing, in one transaction:
 * the batch is one unit of the group commit (see above), so it shares the
 * leader's commit with the writes around it and a failing batch leaves
 * nothing while they commit.  n >= 1; the entries' expect fields must be
 * STORE_EXPECT_ANY (a batch's expectations are in expect[0..n_expect),
 * which may name streams no entry writes).  Entries may name any streams;
 * their ids, when set, are in uuid_canonical() form and distinct (two
 * entries with one id fail the batch alone, with EVDB_ERR_ID_CONFLICT or
 * EVDB_ERR_INVALID).
 *
 * In order: when any entry's id is stored already, the batch is an
 * idempotent retry if every entry has an id stored with the same stream,
 * type, data and metadata (EVDB_OK, br->duplicate, each res[i] the stored
 * positions); otherwise EVDB_ERR_ID_CONFLICT, br->index the first entry at
 * fault and br->conflict what differs (NULL: a partial retry).  Then every
 * expectation is checked against the store as it was before the batch:
 * the first unmet is EVDB_ERR_VERSION_CONFLICT with br->index and
 * br->actual_version.  Then the entries are written in order: res[i] gets
 * entry i's positions; global positions rise in entry order and each
 * stream's positions continue from its version without gaps.
 * EVDB_ERR_LIMIT when a position would pass STORE_POSITION_MAX;
 * EVDB_ERR_INVALID (br->index) for a value the backend cannot store
 * (PostgreSQL: \u0000); otherwise as store_write().  res[0..n) is the
 * caller's; nothing is written unless EVDB_OK, and subscribers are poked
 * for every message after the commit.
 */
enum evdb_status store_write_batch(struct store_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br);

/**
 * True when no two of msgs[0..n) carry the same id (byte for byte; entries
 * without an id never clash).  Otherwise false, *first and *second the
 * entries of the clash with the lowest second (first < second).
 * store_write_batch() refuses such a batch with EVDB_ERR_INVALID
 * (br->index = *second) before it reaches the backend.
 */
bool store_batch_ids_distinct(const struct store_message_in *msgs, size_t n,
    size_t *first, size_t *second);

/** Reads a stream in position order (descending when q->backward). */
enum evdb_status store_read_stream(struct store_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx);

/**
 * Calls fn with the stream's last message (of the given type, when type is
 * not NULL), or not at all when there is none.
 */
enum evdb_status store_read_last(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, const char *type, size_t type_len,
    store_message_fn fn, void *ctx);

/** Sets *version to the stream's highest position, or -1 when it is empty. */
enum evdb_status store_stream_version(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, int64_t *version);

/** Reads a category (or the whole namespace) in global order. */
enum evdb_status store_read_category(struct store_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx);

/* ---- import ---------------------------------------------------------------- */

/**
 * The highest stream position and global position evdb stores or hands
 * out: 2^62 - 1.  Imports above it are refused, and a write that would go
 * past it is refused with EVDB_ERR_LIMIT, so that position + 1 never
 * overflows and SQLite never has to pick a rowid at random.
 */
#define STORE_POSITION_MAX ((INT64_C(1) << 62) - 1)

/** A message with every field given, as an import supplies it. */
struct store_import_record {
	const char *id;			/* message id, stored as given */
	size_t id_len;
	const char *stream;
	size_t stream_len;
	const char *type;
	size_t type_len;
	int64_t position;		/* stream position, kept */
	int64_t global_position;	/* global position, kept */
	const char *data;		/* JSON text, or NULL for null */
	size_t data_len;
	const char *metadata;		/* JSON text, or NULL for null */
	size_t metadata_len;
	int64_t time_us;		/* microseconds since the epoch */
};

/** Why store_import_batch() refused a record. */
enum store_import_refusal {
	STORE_IMPORT_ACCEPTED = 0,	/* nothing was refused */
	STORE_IMPORT_DIFFERS,		/* another message holds its global position */
	STORE_IMPORT_ID_TAKEN,		/* its id belongs to another message */
	STORE_IMPORT_BEHIND_HEAD,	/* its global position is not above the head */
	STORE_IMPORT_NOT_NEXT,		/* its position is not its stream's version + 1 */
	STORE_IMPORT_TOO_HIGH		/* a position above STORE_POSITION_MAX */
};

/** What one store_import_batch() call did. */
struct store_import_outcome {
	size_t inserted;		/* records written */
	size_t skipped;			/* records found stored, identical, not written again */
	enum store_import_refusal refusal; /* why a record was refused, or ACCEPTED */
	size_t refused;			/* on a refusal: index of the record refused */
	int64_t head;			/* on BEHIND_HEAD: the namespace's head */
	int64_t version;		/* on NOT_NEXT: the stream's version (-1: empty) */
};

/**
 * Deletes every message of ns, so that its global positions start again
 * at 1.  Writers are locked out while it runs.  (/import?force=true does
 * not call it: store_import_batch() clears in the first batch's own
 * transaction.)
 */
enum evdb_status store_import_clear(struct store_conn *c, const char *ns);

/**
 * Imports recs[0..n) in one transaction, in order, under these rules
 * (docs/api.md section 8):
 *   - a record identical to the message stored at its global position
 *     (same id, stream, type, position, data, metadata and time) is
 *     skipped: a re-sent import resumes where it stopped;
 *   - any other record must lie above the head (the highest global
 *     position, batch included), continue its stream (position = the
 *     stream's version + 1, batch included), carry an id no other message
 *     has, and keep both positions at most STORE_POSITION_MAX.
 * With clear, every message of ns is deleted first, in the same
 * transaction, so a refused batch leaves the namespace as it was.  n may
 * be 0 (with clear: only the clear).
 * Returns EVDB_OK with *out counting what was done, or on a refusal
 * EVDB_ERR_EXISTS (DIFFERS, ID_TAKEN), EVDB_ERR_INVALID (BEHIND_HEAD,
 * NOT_NEXT) or EVDB_ERR_LIMIT (TOO_HIGH) with out->refused naming the
 * record; any other status is a storage failure.  Nothing of the batch (nor
 * the clear) is committed unless EVDB_OK.  Subscribers are poked after the
 * commit.  The records are borrowed for the call only.
 */
enum evdb_status store_import_batch(struct store_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out);

/** Recomputes the namespace's totals (ns.info, ns.list) after an import. */
enum evdb_status store_import_finish(struct store_conn *c, const char *ns);

/* ---- change notification (for the SSE hub) ------------------------------
 *
 * A watch tells its owner which namespaces may have changed: after every
 * commit that wrote messages, whichever process committed it, the watch's
 * descriptor becomes readable and store_watch_read() names the namespaces.
 * SQLite does it with a poke file per namespace and inotify; PostgreSQL with
 * LISTEN/NOTIFY on one connection per store, shared by its watches (each
 * watch still has a descriptor of its own).  Notice arrives only once the
 * commit is visible to readers.  A notice says only "something changed":
 * readers then read from their own cursor, so a lost or duplicated notice
 * loses or duplicates nothing, and the owner should still scan now and then
 * for writers that send none.
 */

/** A message as the SSE hub sees it: where it is, not what it says. */
struct store_poke {
	const char *stream;		/* stream name */
	size_t stream_len;
	int64_t position;
	int64_t global_position;
	bool has_cardinal_hash;		/* false: the stream has no cardinal id */
	int64_t cardinal_hash;		/* hash64 of the cardinal id */
};

typedef enum evdb_status (*store_poke_fn)(void *ctx, const struct store_poke *p);

enum store_poke_kind {
	STORE_POKE_STREAM,		/* one stream, by stream position */
	STORE_POKE_CATEGORY,		/* one category */
	STORE_POKE_ALL			/* the whole namespace */
};

struct store_poke_query {
	enum store_poke_kind kind;
	const char *name;		/* stream or category name (not for ALL) */
	size_t name_len;
	int64_t min_position;		/* STREAM: first stream position */
	int64_t after_gpos;		/* only global positions above this */
	int64_t upto_gpos;		/* ... and at most this */
	int64_t limit;			/* rows at most (before consumer-group filtering) */
};

/** Sets *gpos to the namespace's highest global position (0 when empty). */
enum evdb_status store_head(struct store_conn *c, const char *ns,
    int64_t *gpos);

/** Calls fn for the messages q selects, in global order. */
enum evdb_status store_poke_range(struct store_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx);

/**
 * Calls fn for up to limit messages of ns above after_gpos, in global
 * order: the tail that live subscribers have not seen yet.
 */
enum evdb_status store_poke_tail(struct store_conn *c, const char *ns,
    int64_t after_gpos, int64_t limit, store_poke_fn fn, void *ctx);

struct store_watch;

/**
 * Called by store_watch_read() for a namespace that may have changed: id is
 * what store_watch_add() gave for it, or -1 when any watched namespace may
 * have changed (notices were lost, or the watch reconnected).
 */
typedef void (*store_watch_fn)(void *ctx, int64_t id);

/**
 * Opens a watch on st, watching nothing yet.  One thread owns it.  *out is
 * NULL on failure (the caller may carry on by scanning only).
 */
enum evdb_status store_watch_open(struct store *st, struct store_watch **out);

/** The descriptor to poll for input (level-triggered); never blocks to read. */
int store_watch_fd(const struct store_watch *w);

/**
 * Starts watching namespace ns, looked up through c (a connection of the
 * watch's owner); *id identifies it in store_watch_fn calls.  Call before
 * reading the head, so that no commit after that read goes unnoticed.
 * EVDB_ERR_NOT_FOUND when the namespace does not exist.
 */
enum evdb_status store_watch_add(struct store_watch *w, struct store_conn *c,
    const char *ns, int64_t *id);

/** Stops watching the namespace store_watch_add() gave id for. */
void store_watch_remove(struct store_watch *w, int64_t id);

/**
 * Reads every notice pending on the descriptor without blocking and calls
 * fn for each (the same id may come more than once).  A failure (a lost
 * database connection) is returned after fn(ctx, -1); the watch keeps
 * trying to recover on later calls.
 */
enum evdb_status store_watch_read(struct store_watch *w, store_watch_fn fn,
    void *ctx);

/** Closes the watch; accepts NULL. */
void store_watch_close(struct store_watch *w);

/* ---- summaries (evdb report) ----------------------------------------------
 *
 * A namespace's messages grouped by stream, category or type, for an
 * operator's tool.  It reads every message of the namespace: not for a
 * request path.
 */

/** What store_ns_summary() groups a namespace's messages by. */
enum store_summary_kind {
	STORE_SUMMARY_STREAMS,		/* one row per stream */
	STORE_SUMMARY_CATEGORIES,	/* one row per category */
	STORE_SUMMARY_TYPES		/* one row per message type */
};

/** One group of messages, as handed to store_summary_fn. */
struct store_summary_row {
	const char *name;		/* stream, category or type name */
	size_t name_len;
	int64_t message_count;		/* messages in the group */
	int64_t stream_count;		/* streams in the group: 1 for a stream,
					 * counted for a category, -1 (not
					 * counted) for a type */
	int64_t version;		/* a stream's highest position; -1 for
					 * a category or a type */
	int64_t last_activity_us;	/* time of the group's newest message */
};

typedef enum evdb_status (*store_summary_fn)(void *ctx,
    const struct store_summary_row *r);

/** The whole namespace's totals, from the same snapshot as the rows. */
struct store_summary_totals {
	int64_t message_count;		/* messages in the namespace */
	int64_t stream_count;		/* streams in the namespace */
};

/**
 * Calls fn for the first limit groups (-1: every group) of ns's messages
 * grouped by kind, in byte order of their names, then fills *totals.  The
 * rows and the totals are read in one read transaction, so they are one
 * consistent snapshot even while others write; the read blocks no writer.
 * A status other than EVDB_OK from fn stops the read and is returned
 * (*totals is then unset).  EVDB_ERR_NOT_FOUND when ns does not exist.
 */
enum evdb_status store_ns_summary(struct store_conn *c, const char *ns,
    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
    void *ctx, struct store_summary_totals *totals);

/* ---- consumer checkpoints --------------------------------------------------
 *
 * A checkpoint records, in the namespace's own store, that consumer NAME
 * (as member `member` of a consumer group of `size`, or with no group) has
 * handled everything up to global position `position` (docs/api.md
 * section 6.15).  A key is (name, member, size); size 0 means no group,
 * and member is then 0.  Checkpoint writes do not go through the group
 * commit of messages: each is its own small transaction.
 */

/** Longest checkpoint name, in bytes. */
#define STORE_CONSUMER_NAME_MAX 200
/** Most checkpoints one namespace holds (bounds list, export, /metrics). */
#define STORE_CONSUMER_MAX 10000

/** Which checkpoint. */
struct store_consumer_key {
	const char *name;		/* 1..STORE_CONSUMER_NAME_MAX bytes of
					 * [A-Za-z0-9:._-] (store_consumer_name_valid) */
	size_t name_len;
	int64_t member;			/* 0 <= member < size; 0 when size is 0 */
	int64_t size;			/* consumer-group size; 0: no group */
};

/** A commit, as store_consumer_commit() applies it. */
struct store_consumer_commit {
	struct store_consumer_key key;
	int64_t position;		/* 0..STORE_POSITION_MAX */
	bool has_expected;		/* make the commit conditional */
	int64_t expected;		/* the stored position it must find; -1:
					 * no checkpoint may exist yet */
	bool force;			/* allow moving the checkpoint backwards */
	int64_t updated_us;		/* the time to record (the caller's clock, or
					 * an imported time) */
};

/** A stored checkpoint, as handed to callbacks and store_consumer_get(). */
struct store_consumer_checkpoint {
	const char *name;		/* points into the backend's row */
	size_t name_len;
	int64_t member;
	int64_t size;			/* 0: no group */
	int64_t position;
	int64_t updated_us;		/* when it was last committed */
};

typedef enum evdb_status (*store_consumer_fn)(void *ctx,
    const struct store_consumer_checkpoint *cp);

/** True when name[0..len) is an acceptable checkpoint name (see above). */
bool store_consumer_name_valid(const char *name, size_t len);

/**
 * Commits in->position for in->key, atomically: whoever commits at the same
 * time, of several conditional commits expecting the same position exactly
 * one succeeds.  Checked in order: with has_expected, the stored position
 * (-1 when there is none) must equal in->expected; unless force, in->position
 * must not be below the stored one (equal is allowed and refreshes
 * updated_us).  *actual receives the position stored before the call (-1:
 * none), also on a refusal.
 * Returns EVDB_OK; EVDB_ERR_VERSION_CONFLICT, with *backwards false for an
 * expected-position mismatch and true for a move backwards;
 * EVDB_ERR_LIMIT when the key is new and the namespace holds
 * STORE_CONSUMER_MAX checkpoints; EVDB_ERR_NOT_FOUND (no such namespace);
 * or a storage failure.  Nothing is written unless EVDB_OK.
 */
enum evdb_status store_consumer_commit(struct store_conn *c, const char *ns,
    const struct store_consumer_commit *in, int64_t *actual, bool *backwards);

/**
 * Calls fn once with the checkpoint of key, or not at all when there is
 * none.
 */
enum evdb_status store_consumer_get(struct store_conn *c, const char *ns,
    const struct store_consumer_key *key, store_consumer_fn fn, void *ctx);

/**
 * Calls fn for up to limit (-1: all) checkpoints of ns, ordered by name
 * (bytewise), then size, then member.
 */
enum evdb_status store_consumer_list(struct store_conn *c, const char *ns,
    int64_t limit, store_consumer_fn fn, void *ctx);

/**
 * Deletes every checkpoint named name[0..name_len) (all its members);
 * *deleted receives how many there were.
 */
enum evdb_status store_consumer_delete(struct store_conn *c, const char *ns,
    const char *name, size_t name_len, int64_t *deleted);

/** A namespace name, for store_consumer_namespaces(). */
typedef enum evdb_status (*store_name_fn)(void *ctx, const char *ns);

/**
 * Calls fn with the name of every namespace, in store_ns_list()'s order,
 * reading only the registry (no namespace's totals): cheap enough for the
 * checkpoint lag of every /metrics scrape.  A status other than EVDB_OK
 * from fn stops the listing and is returned.
 */
enum evdb_status store_consumer_namespaces(struct store_conn *c,
    store_name_fn fn, void *ctx);

/* ---- connection pool (issue 10: several hosts on one database) ----
 *
 * A backend that talks to a database server (PostgreSQL) holds a bounded
 * set of connections per process: one per store_conn (a worker thread, the
 * SSE hub) and one shared by the watches, opened on first use (a watch:
 * when the first opens) and reopened after a loss.  These figures let an operator size max_connections for N hosts.
 */

/** What store_pool_stats() reports; counters run from the store's open. */
struct store_pool_stats {
	int64_t open;		/* connections open now */
	int64_t in_use;		/* of those, serving a request now */
	int64_t idle;		/* open - in_use */
	int64_t waits;		/* requests that had to wait for a connection
				 * to be opened (first use, or after a loss) */
	int64_t reconnects;	/* connections opened again after a loss */
	int64_t failures;	/* connection attempts that failed */
	int64_t refused;	/* of those, refused because the server had no
				 * free slot (max_connections) */
};

/**
 * Fills *out and returns true when st's backend keeps a connection pool;
 * false (and *out zeroed) when it does not (SQLite: files, no server).
 * Thread-safe; the figures are read without a lock, each one exact.
 */
bool store_pool_stats(const struct store *st, struct store_pool_stats *out);

/**
 * When the last call on c failed with EVDB_ERR_UNAVAILABLE for a reason the
 * client can act on, a sentence for the client saying so (owned by c, valid
 * until the next call on c; no host names or paths); otherwise NULL.
 */
const char *store_conn_unavailable_why(const struct store_conn *c);

/* ---- stream lifecycle (EXTENSIONS.md section 5) ---------------------------
 *
 * Deleted messages are deleted: their rows leave the table, so every read
 * (streams, categories, consumer groups, SSE, export, listings) simply
 * does not find them.  What must outlive the rows is kept per stream in a
 * small table of the namespace's own store (SQLite: stream_state in the
 * namespace file; PostgreSQL: evdb_stream_state beside Message DB's
 * messages table):
 *   floor     the highest position the stream ever had, so that a write
 *             after a delete continues after the old version;
 *   soft_at   the version at the last soft delete: while nothing was
 *             written since, the stream reads as absent (version -1);
 *   hard      the tombstone: every later write is EVDB_ERR_GONE;
 *   retention the stream's own maxAge / maxCount.
 * Category retention lives in a table of its own.  Global positions are
 * never handed out twice: a deleted head leaves a gap.
 */

/** What store_stream_delete() does. */
enum store_delete_kind {
	STORE_DELETE_SOFT,		/* every message; a later write continues */
	STORE_DELETE_HARD,		/* every message, and the name is tombstoned */
	STORE_DELETE_TRUNCATE		/* the messages below position `before` */
};

/** A stream.delete or stream.truncate request. */
struct store_delete_req {
	const char *stream;		/* stream name, validated by the caller */
	size_t stream_len;
	enum store_delete_kind kind;
	enum store_expect expect;	/* SOFT/HARD: what the version the stream
					 * reads as must be (store_expect_met) */
	int64_t expected_version;	/* with STORE_EXPECT_VERSION */
	int64_t before;			/* TRUNCATE: first position kept */
};

/**
 * Deletes the messages req selects, in one transaction, and updates the
 * stream's state and the namespace's totals.  *deleted receives the number
 * of messages removed.  EVDB_ERR_VERSION_CONFLICT (*actual_version set)
 * when the version the stream reads as does not meet req->expect;
 * EVDB_ERR_GONE when the stream is tombstoned (except for a HARD delete,
 * which is then a no-op answering 0); EVDB_ERR_NOT_FOUND (namespace).
 */
enum evdb_status store_stream_delete(struct store_conn *c, const char *ns,
    const struct store_delete_req *req, int64_t *deleted,
    int64_t *actual_version);

/**
 * A change of retention: for each of maxAge and maxCount, leave it as it
 * is (set_* false), remove it (set_* true, value -1) or set it (value >= 0;
 * max_age in seconds).
 */
struct store_retention_change {
	bool set_max_age;
	int64_t max_age;
	bool set_max_count;
	int64_t max_count;
};

/**
 * Changes the retention of one stream (category false) or of every stream
 * of a category (category true; name is the category).  A stream's own
 * setting wins over its category's, key by key.  EVDB_ERR_GONE for a
 * tombstoned stream; EVDB_ERR_NOT_FOUND (namespace).
 */
enum evdb_status store_set_retention(struct store_conn *c, const char *ns,
    bool category, const char *name, size_t name_len,
    const struct store_retention_change *r);

/** What store_stream_info() reports. */
struct store_stream_state {
	bool exists;			/* false: never written, deleted or set */
	int64_t version;		/* as stream.version reads it (-1: absent) */
	int64_t first_position;		/* lowest position stored, -1 when none */
	int64_t message_count;		/* messages stored */
	int deleted;			/* 0 no, 1 soft (and nothing since), 2 hard */
	int64_t max_age;		/* effective maxAge in seconds, -1 none */
	int64_t max_count;		/* effective maxCount, -1 none */
	int64_t last_activity_us;	/* newest message stored, else the last
					 * lifecycle change; -1 when none */
};

/** Fills *out for the stream.  EVDB_ERR_NOT_FOUND (namespace). */
enum evdb_status store_stream_info(struct store_conn *c, const char *ns,
    const char *stream, size_t stream_len, struct store_stream_state *out);

/**
 * One retention pass over namespace ns: deletes what the streams' and
 * categories' maxAge (against now_us) and maxCount no longer keep, at most
 * batch rows per transaction so that writers wait a few milliseconds at
 * most, then gives free space back (SQLite: incremental_vacuum).  *removed
 * receives the messages deleted.  On PostgreSQL, when another process
 * sweeps this namespace now, returns EVDB_OK with nothing done.  It leaves
 * none of the namespace's files open in c (SQLite): a pass visits every
 * namespace once, so caching them would only pile up descriptors, up to
 * the connection's whole cache of open namespaces during each pass.
 */
enum evdb_status store_retention_sweep(struct store_conn *c, const char *ns,
    int64_t now_us, int64_t batch, int64_t *removed);

/* ---- lifecycle listing (evdb report lifecycle) -----------------------------
 *
 * What store_stream_info() answers for one stream, for every stream that
 * has a lifecycle state (a stream_state row: deleted, truncated or given a
 * retention of its own), and every category retention.
 */

/** One row of store_lifecycle_list(). */
struct store_lifecycle_row {
	bool category;			/* false: a stream; true: a category
					 * retention (only name, max_age and
					 * max_count are then set) */
	const char *name;		/* name[0..name_len), borrowed for the
					 * call; may hold any byte but NUL */
	size_t name_len;
	int deleted;			/* 0 no, 1 soft (and nothing since), 2 hard */
	int64_t version;		/* as stream.version reads it (-1: absent) */
	int64_t floor;			/* highest position the stream ever had
					 * before its last delete, -1 when none */
	/* What version and deleted come from (the backends set these three,
	 * store.c the two above, as NS_STREAM_VERSION reads a stream). */
	bool hard;			/* tombstoned */
	int64_t soft_at;		/* version at the last soft delete, -1 */
	int64_t last_position;		/* highest position stored, -1 when none */
	int64_t message_count;		/* messages stored */
	int64_t max_age;		/* the row's own maxAge in seconds, -1 none */
	int64_t max_count;		/* the row's own maxCount, -1 none */
	int64_t changed_us;		/* last lifecycle change, -1 when unknown */
};

typedef enum evdb_status (*store_lifecycle_fn)(void *ctx,
    const struct store_lifecycle_row *r);

/**
 * Calls fn for up to limit (-1: all) streams with a lifecycle state,
 * ordered by name bytewise, then for up to limit category retentions,
 * ordered by category bytewise.  The two lists are read by two queries,
 * not one snapshot.  A status other than EVDB_OK from fn stops the listing
 * and is returned.  EVDB_ERR_NOT_FOUND (namespace).
 */
enum evdb_status store_lifecycle_list(struct store_conn *c, const char *ns,
    int64_t limit, store_lifecycle_fn fn, void *ctx);

#endif /* EVDB_STORE_H */
