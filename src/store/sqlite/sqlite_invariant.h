/*
 * sqlite_invariant.h - the commit-time check that positions stay sound.
 *
 * Every commit that adds messages must leave each stream's positions
 * gapless (0, 1, 2, ... in global order) and put every new message above
 * the namespace's head as it was when the transaction began.  The write
 * and import paths keep that by construction; this check verifies it on
 * the data itself, just before COMMIT, so that a bug or a hostile input
 * that slips past them is refused instead of stored.
 *
 * It runs when the store was opened with invariants on: the environment
 * variable EVDB_STORE_INVARIANTS=1 at sqlite_open (make check sets it for the
 * whole suite; docs/storage.md).  Off, the hook costs one branch.
 */
#ifndef EVDB_SQLITE_INVARIANT_H
#define EVDB_SQLITE_INVARIANT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/sqlite/sqlite_internal.h"

/**
 * Checks, in the transaction open on db (a namespace file), that exactly
 * `added` messages lie above global position `head`, that none of them has
 * a position or global position outside 0..STORE_POSITION_MAX, and that
 * each of them at position p > 0 follows its stream's message p - 1 in
 * global order.  Returns EVDB_OK, or EVDB_ERR_BACKEND with the violation
 * (or the check's own SQLite failure) written into err.  Reads only.
 */
enum evdb_status sqlite_invariant_verify(sqlite3 *db, int64_t head,
    int64_t added, char *err, size_t err_size);

/**
 * The hook the commit paths call before COMMIT: a no-op returning EVDB_OK
 * unless c's store has invariants on; then sqlite_invariant_verify(), and
 * on a violation an error in the log naming `what` and the namespace file,
 * the text in c's errmsg and EVDB_ERR_BACKEND, so that the caller rolls
 * the transaction back.
 */
enum evdb_status sqlite_invariant_commit(struct sqlite_conn *c,
    struct ns_handle *h, int64_t head, int64_t added, const char *what);

#endif /* EVDB_SQLITE_INVARIANT_H */
