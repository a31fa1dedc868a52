/*
 * metrics.h - process counters, served as Prometheus text on GET /metrics.
 *
 * Counters are plain atomics bumped on the request path (no lock, no
 * allocation).  metrics_render() adds the gauges that are read at scrape
 * time: workers, subscribers, namespace file sizes.  One struct metrics
 * per process; every function is thread-safe.
 */
#ifndef EVDB_METRICS_H
#define EVDB_METRICS_H

#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

struct metrics;

/** Values read at scrape time by the caller. */
struct metrics_gauges {
	int workers;			/* worker threads */
	int workers_busy;		/* of which serving a request */
	int64_t subscribers;		/* SSE subscribers attached */
	int64_t pokes_sent;		/* SSE pokes written since start */
	int64_t sqlite_connections;	/* open SQLite connections */
	int64_t checkpoints;		/* WAL checkpoints run */
	const char *data_dir;		/* for the namespace file sizes */
	bool has_pool;			/* the store keeps a connection pool */
	struct store_pool_stats pool;	/* its figures, when has_pool */
};

/** A new, zeroed set of counters; never NULL. */
struct metrics *metrics_new(void);
/** Frees m; accepts NULL.  The counting functions accept NULL too (no-op). */
void metrics_free(struct metrics *m);

/**
 * Counts one request: label is what was served (an RPC method name,
 * "subscribe", "import", "health", ...; unknown labels count as "other"),
 * status its HTTP status and us its duration in microseconds.
 */
void metrics_request(struct metrics *m, const char *label, int status,
    int64_t us);
/** Counts messages written (imports included). */
void metrics_writes(struct metrics *m, int64_t n);
/** Counts one read request (stream.get, stream.last, category.get). */
void metrics_read(struct metrics *m);
/** Counts one expectedVersion conflict. */
void metrics_conflict(struct metrics *m);

/**
 * Counts one namespace's part of the retention sweep under way: messages
 * it removed there, its duration in us.  A namespace gets the
 * evdb_namespace_retention_* lines once retention has removed something
 * from it (at most METRICS_SWEEP_NAMESPACES; past that
 * evdb_namespace_retention_truncated is 1).  The sweeper calls it for every
 * namespace of a pass, then metrics_sweep().
 */
void metrics_sweep_ns(struct metrics *m, const char *ns, int64_t removed,
    int64_t us);
/**
 * Counts one retention sweep: messages it removed, its duration in us.
 * Ends the pass: a namespace with lines that the pass did not sweep (it
 * was deleted) loses them.
 */
void metrics_sweep(struct metrics *m, int64_t removed, int64_t us);
#define METRICS_SWEEP_NAMESPACES 1000	/* namespaces with retention lines */

/** Counts one request skipped because nginx had closed its connection. */
void metrics_abandoned(struct metrics *m);
/** Counts one request parked behind its token's concurrency limit. */
void metrics_parked(struct metrics *m);

/** Appends the Prometheus text exposition (format 0.0.4) to out. */
void metrics_render(struct metrics *m, const struct metrics_gauges *g,
    struct buf *out);

/* Bounds of metrics_render_checkpoint_lag(), so a scrape costs little. */
#define METRICS_LAG_NAMESPACES 1000	/* namespaces looked at */
#define METRICS_LAG_ROWS 1000		/* checkpoints reported in all */

/**
 * Appends the gauge evdb_checkpoint_lag{namespace,consumer,member}: for
 * each consumer checkpoint, the namespace's head global position minus the
 * checkpoint's position (0 when the checkpoint is ahead of the head).
 * member is "" for a checkpoint without a consumer group, else "M/N".
 * Reads through c at most METRICS_LAG_NAMESPACES namespaces (in
 * store_consumer_namespaces order) and reports at most METRICS_LAG_ROWS checkpoints;
 * evdb_checkpoint_lag_truncated is 1 when a bound left some out.  A
 * namespace that cannot be read is skipped.
 */
void metrics_render_checkpoint_lag(struct store_conn *c, struct buf *out);

#endif /* EVDB_METRICS_H */
