/*
 * sweeper.h - the background retention sweeper: one thread per process
 * that, every --retention-interval seconds, runs store_retention_sweep()
 * on every namespace (EXTENSIONS.md section 5, docs/operations.md
 * "Retention and deletion").
 *
 * The store does the work in small transactions; the sweeper only paces
 * it, counts it (/metrics) and logs what it removed.  On PostgreSQL
 * several processes may run a sweeper: the store lets one sweep a
 * namespace at a time.
 *
 * Test hook: when EVDB_TEST_CLOCK_FILE names a file, the decimal number
 * of seconds it holds (read at every sweep; 0 when missing or unreadable)
 * is added to the clock that maxAge is measured against, so a test can
 * age messages without waiting (docs/configuration.md).
 */
#ifndef EVDB_SWEEPER_H
#define EVDB_SWEEPER_H

#include "core/log.h"
#include "core/status.h"
#include "http/metrics.h"
#include "store/store.h"

struct sweeper;

struct sweeper_options {
	struct store *store;		/* borrowed; outlives the sweeper */
	struct log *log;		/* borrowed */
	struct metrics *metrics;	/* borrowed, or NULL */
	int interval_s;			/* seconds between sweeps (>= 1) */
};

/** Starts the thread; *out is NULL on failure (logged). */
enum evdb_status sweeper_start(const struct sweeper_options *opt,
    struct sweeper **out);

/** Stops the thread (a sweep in progress finishes its transaction) and frees it; accepts NULL. */
void sweeper_stop(struct sweeper *s);

#endif /* EVDB_SWEEPER_H */
