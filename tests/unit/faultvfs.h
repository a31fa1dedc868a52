/*
 * tests/unit/faultvfs.h - a SQLite VFS that fails the Nth I/O call, for
 * tests only (store_faults_t.c); SQLite's src/test_vfs.c is the model.
 *
 * faultvfs_register() wraps the "unix" VFS and makes the wrapper SQLite's
 * default, so every database opened afterwards goes through it.  Disarmed
 * it only passes calls through.  Armed (faultvfs_arm) it counts the I/O
 * calls (xRead, xWrite, xTruncate, xSync, xFileSize, xShmMap; writes only
 * for the ENOSPC modes) of one thread (the registering one, or evdb's
 * checkpointer) and fails the Nth, in one of the modes below.  Thread-safe:
 * the state is under one mutex.
 */
#ifndef EVDB_FAULTVFS_H
#define EVDB_FAULTVFS_H

#include <stdbool.h>

enum faultvfs_mode {
	FAULTVFS_EIO_ONCE,	/* the Nth call fails with EIO (SQLITE_IOERR_*) */
	FAULTVFS_EIO_STUCK,	/* the Nth and every later call fail with EIO */
	FAULTVFS_ENOSPC,	/* the Nth and every later write: ENOSPC (SQLITE_FULL) */
	FAULTVFS_SHORT,		/* the Nth write stores half, then says ENOSPC */
	FAULTVFS_NMODES
};

/* Whose calls count. */
enum faultvfs_who {
	FAULTVFS_MAIN,		/* the thread that called faultvfs_register */
	FAULTVFS_CKPT		/* evdb's checkpointer thread ("evdb-checkpoint") */
};

/** The mode's name ("eio-once", "eio-stuck", "enospc", "short-write"). */
const char *faultvfs_mode_name(enum faultvfs_mode mode);

/** Registers the VFS as SQLite's default; call once, before any open. */
void faultvfs_register(void);

/** Arms the fault at the at-th counted call (1-based); resets the counts. */
void faultvfs_arm(enum faultvfs_mode mode, enum faultvfs_who who, long at);

/** Disarms it (the fault is gone); returns how many calls it failed. */
long faultvfs_disarm(void);

/** The calls counted since armed; *fired gets how many of them failed. */
long faultvfs_counts(long *fired);

#endif /* EVDB_FAULTVFS_H */
