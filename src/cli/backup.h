/*
 * backup.h - consistent online backups of a data directory, and restoring
 * them.
 *
 * A backup is a directory:
 *   backup.json                what was copied and up to where (written last:
 *                              a backup without it is incomplete)
 *   registry.db                the namespace registry
 *   ns/<name>.<generation>.db  one file per namespace
 * Every file is a self-contained SQLite database in rollback-journal mode
 * (no -wal or -shm beside it), copied with SQLite's online backup API while
 * evdb keeps serving: each file is read from one read transaction, so its
 * copy is a transaction-consistent snapshot and writers are never blocked
 * (WAL).  The registry is copied first, then each namespace it lists, so
 * the copy of a namespace is never older than its registry row.  Namespaces
 * are copied one after another, not at one common instant: each has its own
 * snapshot, recorded in backup.json as the highest global position it
 * holds.  Namespaces created after the registry was copied are not in the
 * backup; one deleted before its file was copied is left out of it (and
 * out of the copied registry).
 *
 * A restore copies the files back into a data directory that is empty or
 * does not exist (it and its parents are then created, mode 0700), or,
 * with force, one whose evdb databases are removed first; it puts them in
 * WAL mode and checks each against backup.json.  evdb must not
 * be running on the target directory.  The admin token file is not part of
 * a backup (only token hashes are): the tokens in force when the backup was
 * taken stay valid after a restore.
 *
 * Progress and a summary go to the FILE given (stderr), or nowhere when it
 * is NULL.  Errors are described in err.  Single-threaded; uses no globals.
 */
#ifndef EVDB_BACKUP_H
#define EVDB_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

/** Pages copied per sqlite3_backup_step() unless told otherwise. */
#define BACKUP_PAGES_PER_STEP 1000

struct backup_options {
	const char *data_dir;	/* evdb's data directory (registry.db, ns/) */
	const char *out_dir;	/* the backup directory: must not exist, or be empty */
	int pages_per_step;	/* pages per backup step; <= 0 means BACKUP_PAGES_PER_STEP */
	int step_delay_ms;	/* pause between two steps (an I/O throttle), or 0 */
	FILE *log;		/* progress and summary, or NULL for none */
};

struct restore_options {
	const char *from_dir;	/* a complete backup (with backup.json) */
	const char *data_dir;	/* target data directory, created if missing */
	bool force;		/* overwrite the evdb files of a non-empty target */
	FILE *log;		/* progress and summary, or NULL for none */
};

/**
 * Backs up o->data_dir into o->out_dir (see above).  On failure returns a
 * status other than EVDB_OK with a message in err[0..err_size); the
 * incomplete backup directory is left in place without a backup.json.
 */
enum evdb_status backup_create(const struct backup_options *o, char *err,
    size_t err_size);

/**
 * Restores the backup o->from_dir into o->data_dir (see above).  Refuses
 * (EVDB_ERR_EXISTS) a target holding any file unless o->force.  On failure
 * returns a status other than EVDB_OK with a message in err[0..err_size);
 * the target then has no registry.db, so evdb would not mistake it for a
 * complete data directory.
 */
enum evdb_status backup_restore(const struct restore_options *o, char *err,
    size_t err_size);

#endif /* EVDB_BACKUP_H */
