/*
 * tests/unit/faultvfs.c - a SQLite VFS that fails the Nth I/O call (see
 * faultvfs.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "faultvfs.h"

enum fv_op { FV_READ, FV_WRITE, FV_TRUNCATE, FV_SYNC, FV_SIZE, FV_SHMMAP };

static const char *const fv_mode_name[FAULTVFS_NMODES] = {
	"eio-once", "eio-stuck", "enospc", "short-write",
};

struct fv_file {
	sqlite3_file base;	/* must come first */
	sqlite3_file *real;	/* the unix VFS's file */
};

static sqlite3_vfs *fv_real;		/* the wrapped VFS */
static sqlite3_vfs fv_vfs;		/* the shim */
static pthread_mutex_t fv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t fv_main;		/* the test's thread */
/* Guarded by fv_mu: */
static bool fv_armed;			/* counting and failing */
static enum faultvfs_mode fv_mode;		/* how */
static enum faultvfs_who fv_who;		/* whose calls */
static long fv_at;			/* the call to fail (1-based) */
static long fv_calls;			/* calls counted since armed */
static long fv_fired;			/* calls failed since armed */

/* True when the calling thread is the one whose calls count. */
static bool
fv_counted_thread(void)
{
	char name[32] = "";

	if (fv_who == FAULTVFS_MAIN)
		return pthread_equal(pthread_self(), fv_main);
	(void)pthread_getname_np(pthread_self(), name, sizeof(name));
	return strcmp(name, "evdb-checkpoint") == 0;
}

/*
 * Counts one call of op; returns SQLITE_OK to let it through, else the code
 * it must fail with (*half set for a short write).
 */
static int
fv_hit(enum fv_op op, bool *half)
{
	static const int eio[] = {
		[FV_READ] = SQLITE_IOERR_READ, [FV_WRITE] = SQLITE_IOERR_WRITE,
		[FV_TRUNCATE] = SQLITE_IOERR_TRUNCATE, [FV_SYNC] = SQLITE_IOERR_FSYNC,
		[FV_SIZE] = SQLITE_IOERR_FSTAT, [FV_SHMMAP] = SQLITE_IOERR_SHMMAP,
	};
	int rc = SQLITE_OK;

	*half = false;
	pthread_mutex_lock(&fv_mu);
	if (!fv_armed || !fv_counted_thread())
		goto out;
	if ((fv_mode == FAULTVFS_ENOSPC || fv_mode == FAULTVFS_SHORT) && op != FV_WRITE)
		goto out;
	fv_calls++;
	if (fv_calls == fv_at || (fv_calls > fv_at && fv_fired > 0 &&
	    (fv_mode == FAULTVFS_EIO_STUCK || fv_mode == FAULTVFS_ENOSPC))) {
		fv_fired++;
		if (fv_mode == FAULTVFS_EIO_ONCE || fv_mode == FAULTVFS_EIO_STUCK) {
			errno = EIO;
			rc = eio[op];
		} else {
			errno = ENOSPC;
			rc = SQLITE_FULL;
			*half = fv_mode == FAULTVFS_SHORT;
		}
	}
out:
	pthread_mutex_unlock(&fv_mu);
	return rc;
}

void
faultvfs_arm(enum faultvfs_mode mode, enum faultvfs_who who, long at)
{
	pthread_mutex_lock(&fv_mu);
	fv_mode = mode;
	fv_who = who;
	fv_at = at;
	fv_calls = 0;
	fv_fired = 0;
	fv_armed = true;
	pthread_mutex_unlock(&fv_mu);
}

long
faultvfs_disarm(void)
{
	long fired;

	pthread_mutex_lock(&fv_mu);
	fv_armed = false;
	fired = fv_fired;
	pthread_mutex_unlock(&fv_mu);
	return fired;
}

long
faultvfs_counts(long *fired)
{
	long calls;

	pthread_mutex_lock(&fv_mu);
	calls = fv_calls;
	*fired = fv_fired;
	pthread_mutex_unlock(&fv_mu);
	return calls;
}

static int
fv_close(sqlite3_file *file)
{
	struct fv_file *f = (struct fv_file *)file;
	int rc = f->real->pMethods->xClose(f->real);

	free(f->real);
	return rc;
}

static int
fv_read(sqlite3_file *file, void *buf, int n, sqlite3_int64 off)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_READ, &half);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, buf, n, off);
}

static int
fv_write(sqlite3_file *file, const void *buf, int n, sqlite3_int64 off)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_WRITE, &half);

	if (rc == SQLITE_OK)
		return f->real->pMethods->xWrite(f->real, buf, n, off);
	if (half && n / 2 > 0)
		(void)f->real->pMethods->xWrite(f->real, buf, n / 2, off);
	return rc;
}

static int
fv_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_TRUNCATE, &half);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
fv_sync(sqlite3_file *file, int flags)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_SYNC, &half);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
fv_size(sqlite3_file *file, sqlite3_int64 *p)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_SIZE, &half);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, p);
}

static int
fv_shmmap(sqlite3_file *file, int pg, int sz, int ext, void volatile **pp)
{
	struct fv_file *f = (struct fv_file *)file;
	bool half;
	int rc = fv_hit(FV_SHMMAP, &half);

	if (rc != SQLITE_OK) {
		*pp = NULL;
		return rc;
	}
	return f->real->pMethods->xShmMap(f->real, pg, sz, ext, pp);
}

#define FV_FWD(name, decl, call) \
static int fv_##name decl { \
	struct fv_file *f = (struct fv_file *)file; \
	return f->real->pMethods->x##call; \
}
FV_FWD(lock, (sqlite3_file *file, int l), Lock(f->real, l))
FV_FWD(unlock, (sqlite3_file *file, int l), Unlock(f->real, l))
FV_FWD(check, (sqlite3_file *file, int *out), CheckReservedLock(f->real, out))
FV_FWD(control, (sqlite3_file *file, int op, void *arg), FileControl(f->real, op, arg))
FV_FWD(sector, (sqlite3_file *file), SectorSize(f->real))
FV_FWD(devchar, (sqlite3_file *file), DeviceCharacteristics(f->real))
FV_FWD(shmlock, (sqlite3_file *file, int off, int n, int flags),
    ShmLock(f->real, off, n, flags))
FV_FWD(shmunmap, (sqlite3_file *file, int del), ShmUnmap(f->real, del))

static void
fv_shmbarrier(sqlite3_file *file)
{
	struct fv_file *f = (struct fv_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

/* Version 2: no xFetch/xUnfetch, so SQLite never memory-maps around us. */
static const sqlite3_io_methods fv_methods = {
	2, fv_close, fv_read, fv_write, fv_truncate, fv_sync, fv_size, fv_lock,
	fv_unlock, fv_check, fv_control, fv_sector, fv_devchar, fv_shmmap,
	fv_shmlock, fv_shmbarrier, fv_shmunmap, NULL, NULL,
};

static int
fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct fv_file *f = (struct fv_file *)file;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = calloc(1, (size_t)fv_real->szOsFile);
	if (f->real == NULL)
		return SQLITE_NOMEM;
	rc = fv_real->xOpen(fv_real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		free(f->real);
		f->real = NULL;
		return rc;
	}
	f->base.pMethods = &fv_methods;
	return SQLITE_OK;
}

static int
fv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return fv_real->xDelete(fv_real, name, sync_dir);
}

static int
fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return fv_real->xAccess(fv_real, name, flags, out);
}

static int
fv_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return fv_real->xFullPathname(fv_real, name, n, out);
}

static int
fv_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fv_real->xRandomness(fv_real, n, out);
}

static int
fv_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return fv_real->xSleep(fv_real, us);
}

static int
fv_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return fv_real->xCurrentTime(fv_real, out);
}

static int
fv_lasterror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fv_real->xGetLastError(fv_real, n, out);
}

static int
fv_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return fv_real->xCurrentTimeInt64(fv_real, out);
}

void
faultvfs_register(void)
{
	fv_main = pthread_self();
	fv_real = sqlite3_vfs_find("unix");
	memset(&fv_vfs, 0, sizeof(fv_vfs));
	fv_vfs.iVersion = 2;
	fv_vfs.szOsFile = (int)sizeof(struct fv_file);
	fv_vfs.mxPathname = fv_real->mxPathname;
	fv_vfs.zName = "faultvfs";
	fv_vfs.xOpen = fv_open;
	fv_vfs.xDelete = fv_delete;
	fv_vfs.xAccess = fv_access;
	fv_vfs.xFullPathname = fv_fullpath;
	fv_vfs.xRandomness = fv_random;
	fv_vfs.xSleep = fv_sleep;
	fv_vfs.xCurrentTime = fv_time;
	fv_vfs.xGetLastError = fv_lasterror;
	fv_vfs.xCurrentTimeInt64 = fv_time64;
	sqlite3_vfs_register(&fv_vfs, 1);
}


const char *
faultvfs_mode_name(enum faultvfs_mode mode)
{
	return mode < FAULTVFS_NMODES ? fv_mode_name[mode] : "?";
}
