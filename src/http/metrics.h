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

/** Counts one retention sweep: messages it removed, its duration in us. */
void metrics_sweep(struct metrics *m, int64_t removed, int64_t us);

/** Counts one request skipped because nginx had closed its connection. */
void metrics_abandoned(struct metrics *m);
/** Counts one request parked behind its token's concurrency limit. */
void metrics_parked(struct metrics *m);

/** Appends the Prometheus text exposition (format 0.0.4) to out. */
void metrics_render(struct metrics *m, const struct metrics_gauges *g,
    struct buf *out);

#endif /* EVDB_METRICS_H */
