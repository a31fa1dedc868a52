/*
 * store_backend.h - the seam between store.h and its implementations.
 *
 * store.h is the one contract the layers above call; src/store/store.c
 * forwards each of its functions to the backend the store was opened with,
 * through the table below.  Each backend lives in a folder of its own
 * (src/store/sqlite/, src/store/postgres/) and exports exactly one symbol
 * to the rest of the program: its struct store_backend.  Nothing above
 * src/store/ includes this header.
 *
 * The base structs.  A backend's store object begins with a struct store,
 * its per-thread connection object with a struct store_conn and its watch
 * with a struct store_watch, as their first members, so that a pointer to
 * the base is also a pointer to the backend's own object (C11 6.7.2.1p15):
 *
 *	struct sqlite_store { struct store base; ... };
 *	static struct sqlite_store *sq(struct store *st)
 *	{ return (struct sqlite_store *)st; }
 *
 * The backend fills the base members when it creates the object; the
 * dispatcher only reads them.
 *
 * Every member has the contract of the store.h function of the same name
 * (store_write -> write, store_ns_create -> ns_create, ...), with the same
 * ownership, threading and error rules; the comments below add only what
 * the seam itself requires.  Every member is mandatory unless marked
 * "may be NULL", in which case the dispatcher supplies the documented
 * fallback.
 */
#ifndef EVDB_STORE_BACKEND_H
#define EVDB_STORE_BACKEND_H

#include "store/store.h"

struct store_backend;

/** The head of every backend's store object. */
struct store {
	const struct store_backend *backend;	/* the implementation; never NULL */
};

/** The head of every backend's per-thread connection object. */
struct store_conn {
	const struct store_backend *backend;	/* same as store->backend */
	struct store *store;			/* the store it was opened on */
};

/** The head of every backend's watch object. */
struct store_watch {
	const struct store_backend *backend;	/* the implementation; never NULL */
};

struct store_backend {
	/** Short name reported by sys.health and /metrics ("sqlite", "postgres"). */
	const char *name;

	/**
	 * True when location (the part of --store after the scheme has been
	 * recognised, see store_open) names a store of this backend.
	 */
	bool (*accepts)(const char *location);

	/* ---- lifetime (store.h: store_open ... store_conn_errmsg) ---- */
	enum evdb_status (*open)(const struct store_options *opt,
	    struct store **out);
	void (*close)(struct store *st);
	enum evdb_status (*conn_open)(struct store *st, struct store_conn **out);
	void (*conn_close)(struct store_conn *c);
	/** May be NULL: no per-request bracketing. */
	void (*conn_request_begin)(struct store_conn *c);
	/** May be NULL. */
	void (*conn_request_end)(struct store_conn *c);
	const char *(*conn_errmsg)(const struct store_conn *c);

	/* ---- gauges ---- */
	/** Connections to the database this process holds open now. */
	int64_t (*connection_count)(const struct store *st);
	/** May be NULL (0): background checkpoints run, for backends that have them. */
	int64_t (*checkpoint_count)(const struct store *st);
	/**
	 * May be NULL (EVDB_OK): whether the store can serve requests now
	 * (its database reachable, its files openable).  On failure writes a
	 * client-safe reason (no paths, no secrets) to why.
	 */
	enum evdb_status (*health)(struct store_conn *c, char *why,
	    size_t why_size);

	/* ---- namespaces ---- */
	enum evdb_status (*ns_token_hash)(struct store_conn *c, const char *ns,
	    char hash[TOKEN_HASH_HEX_LEN + 1]);
	/**
	 * May be NULL (a backend whose lookups are always fresh): drops what
	 * c has cached of ns's registry row; whether it had any.
	 */
	bool (*ns_refresh)(struct store_conn *c, const char *ns);
	enum evdb_status (*ns_create)(struct store_conn *c, const char *ns,
	    const char *token_hash, const char *description,
	    const char *metadata, int64_t created_us);
	enum evdb_status (*ns_delete)(struct store_conn *c, const char *ns,
	    int64_t *messages_deleted);
	enum evdb_status (*ns_list)(struct store_conn *c, store_ns_fn fn,
	    void *ctx);
	enum evdb_status (*ns_get)(struct store_conn *c, const char *ns,
	    store_ns_fn fn, void *ctx);
	enum evdb_status (*ns_streams)(struct store_conn *c, const char *ns,
	    const char *prefix, size_t prefix_len, const char *cursor,
	    size_t cursor_len, int64_t limit, store_stream_fn fn, void *ctx);
	enum evdb_status (*ns_categories)(struct store_conn *c, const char *ns,
	    store_category_fn fn, void *ctx);

	/* ---- messages ---- */
	enum evdb_status (*write)(struct store_conn *c, const char *ns,
	    const struct store_message_in *m, struct store_write_result *r);
	enum evdb_status (*read_stream)(struct store_conn *c, const char *ns,
	    const struct store_stream_query *q, store_message_fn fn, void *ctx);
	enum evdb_status (*read_last)(struct store_conn *c, const char *ns,
	    const char *stream, size_t stream_len, const char *type,
	    size_t type_len, store_message_fn fn, void *ctx);
	enum evdb_status (*stream_version)(struct store_conn *c, const char *ns,
	    const char *stream, size_t stream_len, int64_t *version);
	enum evdb_status (*read_category)(struct store_conn *c, const char *ns,
	    const struct store_category_query *q, store_message_fn fn,
	    void *ctx);

	/* ---- import ---- */
	enum evdb_status (*import_clear)(struct store_conn *c, const char *ns);
	enum evdb_status (*import_batch)(struct store_conn *c, const char *ns,
	    const struct store_import_record *recs, size_t n, bool clear,
	    struct store_import_outcome *out);
	enum evdb_status (*import_finish)(struct store_conn *c, const char *ns);

	/* ---- change notification (for the SSE hub) ---- */
	enum evdb_status (*head)(struct store_conn *c, const char *ns,
	    int64_t *gpos);
	enum evdb_status (*poke_range)(struct store_conn *c, const char *ns,
	    const struct store_poke_query *q, store_poke_fn fn, void *ctx);
	enum evdb_status (*poke_tail)(struct store_conn *c, const char *ns,
	    int64_t after_gpos, int64_t limit, store_poke_fn fn, void *ctx);
	enum evdb_status (*watch_open)(struct store *st,
	    struct store_watch **out);
	int (*watch_fd)(const struct store_watch *w);
	enum evdb_status (*watch_add)(struct store_watch *w,
	    struct store_conn *c, const char *ns, int64_t *id);
	void (*watch_remove)(struct store_watch *w, int64_t id);
	enum evdb_status (*watch_read)(struct store_watch *w,
	    store_watch_fn fn, void *ctx);
	void (*watch_close)(struct store_watch *w);

	/* ---- summaries (evdb report) ---- */
	enum evdb_status (*ns_summary)(struct store_conn *c, const char *ns,
	    enum store_summary_kind kind, int64_t limit, store_summary_fn fn,
	    void *ctx, struct store_summary_totals *totals);

	/* ---- batches (batch.write) ---- */
	/**
	 * One unit of the group commit, like write: it joins the same
	 * queue and transaction as the single writes.
	 */
	enum evdb_status (*write_batch)(struct store_conn *c, const char *ns,
	    const struct store_message_in *msgs, size_t n,
	    const struct store_stream_expect *expect, size_t n_expect,
	    struct store_write_result *res, struct store_batch_result *br);

	/* ---- consumer checkpoints ---- */
	enum evdb_status (*consumer_commit)(struct store_conn *c,
	    const char *ns, const struct store_consumer_commit *in,
	    int64_t *actual, bool *backwards);
	enum evdb_status (*consumer_get)(struct store_conn *c, const char *ns,
	    const struct store_consumer_key *key, store_consumer_fn fn,
	    void *ctx);
	enum evdb_status (*consumer_list)(struct store_conn *c, const char *ns,
	    int64_t limit, store_consumer_fn fn, void *ctx);
	enum evdb_status (*consumer_delete)(struct store_conn *c,
	    const char *ns, const char *name, size_t name_len,
	    int64_t *deleted);
	enum evdb_status (*consumer_namespaces)(struct store_conn *c,
	    store_name_fn fn, void *ctx);

	/* ---- connection pool (store_pool_stats) ---- */
	/** Fills *out; NULL for a backend without a pool (SQLite). */
	void (*pool_stats)(const struct store *st, struct store_pool_stats *out);
	/** store_conn_unavailable_why; NULL when the backend has no such text. */
	const char *(*conn_unavailable_why)(const struct store_conn *c);

	/* ---- stream lifecycle (EXTENSIONS.md section 5) ---- */
	enum evdb_status (*stream_delete)(struct store_conn *c, const char *ns,
	    const struct store_delete_req *req, int64_t *deleted,
	    int64_t *actual_version);
	enum evdb_status (*set_retention)(struct store_conn *c, const char *ns,
	    bool category, const char *name, size_t name_len,
	    const struct store_retention_change *r);
	enum evdb_status (*stream_info)(struct store_conn *c, const char *ns,
	    const char *stream, size_t stream_len,
	    struct store_stream_state *out);
	enum evdb_status (*retention_sweep)(struct store_conn *c,
	    const char *ns, int64_t now_us, int64_t batch, int64_t *removed);

	/* ---- lifecycle listing (evdb report lifecycle) ---- */
	enum evdb_status (*lifecycle_list)(struct store_conn *c,
	    const char *ns, int64_t limit, store_lifecycle_fn fn, void *ctx);
};

/**
 * --group-indexes, for both backends: the slot of member m of group size
 * n among the declared sizes[0..count) -- the sum of the sizes before n,
 * plus m: a number for each member's index, from 0 to the sum of all
 * sizes - 1 -- or -1 when n is not declared or m is not below it.
 */
int store_group_slot(const int *sizes, int count, int64_t n, int64_t m);

/**
 * Whether index name is prefix followed by "<n>_<m>" for a member m of a
 * declared size n, written as the backends write it ("%d_%d").
 */
bool store_group_index_declared(const int *sizes, int count,
    const char *prefix, const char *name);

/** The SQLite backend (src/store/sqlite/). */
extern const struct store_backend store_sqlite_backend;

/** The PostgreSQL backend (src/store/postgres/). */
extern const struct store_backend store_postgres_backend;

#endif /* EVDB_STORE_BACKEND_H */
