/*
 * report.h - summaries of a namespace's messages, read through the store
 * (SQLite or PostgreSQL, store.h's store_ns_summary()), in the spirit of
 * Message DB's print-* tools.
 *
 *   streams     STREAM, MESSAGES, VERSION, LAST ACTIVITY     (by stream name)
 *   categories  CATEGORY, STREAMS, MESSAGES, LAST ACTIVITY   (by category name)
 *   types       TYPE, MESSAGES, LAST ACTIVITY                (by type)
 *   checkpoints CONSUMER, MEMBER, POSITION, LAG, UPDATED     (by consumer;
 *               report_checkpoints_print, on either backend)
 *   lifecycle   STREAM, STATE, VERSION, MESSAGES, FLOOR, MAX AGE, MAX COUNT,
 *               CHANGED (streams with a lifecycle state), then CATEGORY,
 *               MAX AGE, MAX COUNT (category retentions); by name
 *               (report_lifecycle_print, on either backend)
 *
 * Columns are aligned (names padded by code points, numbers right-aligned),
 * names are sorted bytewise, and a last line gives the totals.  Control
 * characters in names are shown as '?', so a hostile stream name cannot
 * drive the terminal.  The rows and the totals are read in one read
 * transaction, so a report is a consistent snapshot, and it may run while
 * evdb is serving.  Each section of the output (header and rows, totals)
 * is a function of its own.  Single-threaded; uses no globals.
 */
#ifndef EVDB_REPORT_H
#define EVDB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

enum report_kind {
	REPORT_STREAMS,		/* one row per stream */
	REPORT_CATEGORIES,	/* one row per category */
	REPORT_TYPES		/* one row per message type */
};

struct store;
struct store_conn;

struct report_options {
	struct store *store;	/* the open store to read (borrowed) */
	const char *ns;		/* namespace name */
	enum report_kind kind;	/* which table */
	int64_t limit;		/* rows at most; -1 for all */
	FILE *out;		/* where the table goes (stdout) */
};

/** Parses "streams", "categories" or "types"; false for anything else. */
bool report_kind_parse(const char *s, enum report_kind *out);

/**
 * Prints the report o describes, through a connection of its own on
 * o->store.  Returns EVDB_ERR_NOT_FOUND when the namespace does not exist,
 * EVDB_ERR_INVALID for a malformed name, another status on a database or
 * I/O failure, with a message in err[0..err_size).
 */
enum evdb_status report_print(const struct report_options *o, char *err,
    size_t err_size);

/*
 * Shared by the reports that read through the store contract
 * (report_checkpoints.c, report_lifecycle.c); each sets err[0..err_size)
 * when it fails.
 */
/** Checks o->ns's name and opens *c on o->store (*c NULL on failure). */
enum evdb_status report_conn_open(const struct report_options *o,
    struct store_conn **c, char *err, size_t err_size);
/** Says why reading o->ns on c failed with rs; returns rs. */
enum evdb_status report_read_failed(const struct report_options *o,
    struct store_conn *c, enum evdb_status rs, char *err, size_t err_size);
/** Flushes o->out: EVDB_OK, or EVDB_ERR_IO. */
enum evdb_status report_flush(const struct report_options *o, char *err,
    size_t err_size);

/**
 * evdb report checkpoints (report_checkpoints.c): prints o->ns's consumer
 * checkpoints (CONSUMER, MEMBER, POSITION, LAG, UPDATED; at most o->limit
 * rows), LAG being the head global position minus the checkpoint's (0 when
 * ahead), read through a connection of its own on o->store.  o->kind is
 * not used.  Errors as report_print().
 */
enum evdb_status report_checkpoints_print(const struct report_options *o,
    char *err, size_t err_size);

/**
 * evdb report lifecycle (report_lifecycle.c): prints o->ns's streams that
 * were deleted, truncated or given a retention of their own, then its
 * category retentions (at most o->limit rows each; the columns are in
 * report_lifecycle.c), read through a connection of its own on o->store.
 * o->kind is not used.  Errors as report_print().
 */
enum evdb_status report_lifecycle_print(const struct report_options *o,
    char *err, size_t err_size);

#endif /* EVDB_REPORT_H */
