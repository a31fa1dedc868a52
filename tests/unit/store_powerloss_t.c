/*
 * store_powerloss_t.c - does an acknowledged write survive a power loss?
 *
 * A SQLite VFS shim wraps the "unix" VFS and keeps, for every file, an undo
 * record of each write and truncation not yet covered by an xSync.  A child
 * process writes through the real store (four threads, group commit) and
 * reports every acknowledged write on a pipe.  At a random moment the shim
 * "loses power": inside whatever VFS call is running it rolls every file
 * back to its last synced state, removes the shared-memory index, and
 * _exit()s on the spot.  The parent then opens the store with the plain VFS
 * and checks what the disk kept.
 *
 * With durability "full" every acknowledged write must be there.  With
 * "normal" (synchronous=NORMAL in WAL mode) recent acknowledged writes may
 * be lost, as docs/storage.md says; the test reports how many, and checks
 * that whatever survived is consistent (gapless positions, unique global
 * positions, integrity_check ok).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "store/store.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define WRITERS 4
#define MAX_WRITES 3000		/* per writer, if power is never lost */

/* ---- the VFS shim ------------------------------------------------------- */

struct pl_undo {
	struct pl_undo *next;	/* older record */
	sqlite3_int64 off;	/* where the write went */
	int len;		/* its length (0: a truncation) */
	sqlite3_int64 size;	/* file size before the operation */
	unsigned char *old;	/* bytes it overwrote (len of them) */
};

struct pl_file {
	sqlite3_file base;	/* must come first */
	struct pl_file *next;	/* every open file */
	sqlite3_file *real;	/* the unix VFS's file */
	struct pl_undo *undo;	/* writes since the last sync, newest first */
};

static sqlite3_vfs *pl_real;		/* the wrapped VFS */
static sqlite3_vfs pl_vfs;		/* the shim */
static pthread_mutex_t pl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pl_file *pl_files;	/* guarded by pl_mu */
static long pl_ops, pl_crash_at;	/* guarded by pl_mu; 0: never */
static char pl_shm_path[4096];		/* removed at the power loss */

static void
pl_undo_free(struct pl_file *f)
{
	while (f->undo != NULL) {
		struct pl_undo *u = f->undo;

		f->undo = u->next;
		free(u->old);
		free(u);
	}
}

/* Rolls every file back to its last synced state and dies.  pl_mu held. */
static void
pl_power_loss(void)
{
	struct pl_file *f;

	for (f = pl_files; f != NULL; f = f->next) {
		struct pl_undo *u;

		for (u = f->undo; u != NULL; u = u->next) {
			if (u->len > 0)
				f->real->pMethods->xWrite(f->real, u->old, u->len, u->off);
			f->real->pMethods->xTruncate(f->real, u->size);
		}
	}
	if (pl_shm_path[0] != '\0')
		unlink(pl_shm_path);
	_exit(0);
}

static void
pl_tick(void)
{
	if (pl_crash_at > 0 && ++pl_ops >= pl_crash_at)
		pl_power_loss();
}

static int
pl_close(sqlite3_file *file)
{
	struct pl_file *f = (struct pl_file *)file, **pp;
	int rc = f->real->pMethods->xClose(f->real);

	pthread_mutex_lock(&pl_mu);
	for (pp = &pl_files; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pl_undo_free(f);
	pthread_mutex_unlock(&pl_mu);
	free(f->real);
	return rc;
}

static int
pl_read(sqlite3_file *file, void *buf, int n, sqlite3_int64 off)
{
	struct pl_file *f = (struct pl_file *)file;

	return f->real->pMethods->xRead(f->real, buf, n, off);
}

static int
pl_write(sqlite3_file *file, const void *buf, int n, sqlite3_int64 off)
{
	struct pl_file *f = (struct pl_file *)file;
	struct pl_undo *u = calloc(1, sizeof(*u));
	int rc;

	u->off = off;
	u->len = n;
	u->old = calloc(1, (size_t)n);
	pthread_mutex_lock(&pl_mu);
	f->real->pMethods->xFileSize(f->real, &u->size);
	/* A short read zero-fills: those bytes did not exist before. */
	(void)f->real->pMethods->xRead(f->real, u->old, n, off);
	u->next = f->undo;
	f->undo = u;
	rc = f->real->pMethods->xWrite(f->real, buf, n, off);
	pl_tick();
	pthread_mutex_unlock(&pl_mu);
	return rc;
}

static int
pl_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct pl_file *f = (struct pl_file *)file;
	struct pl_undo *u = calloc(1, sizeof(*u));
	sqlite3_int64 old;
	int rc;

	pthread_mutex_lock(&pl_mu);
	f->real->pMethods->xFileSize(f->real, &old);
	u->size = old;
	if (old > size) {
		/* Keep what is cut off, to put it back. */
		u->off = size;
		u->len = (int)(old - size);
		u->old = calloc(1, (size_t)u->len);
		(void)f->real->pMethods->xRead(f->real, u->old, u->len, size);
	}
	u->next = f->undo;
	f->undo = u;
	rc = f->real->pMethods->xTruncate(f->real, size);
	pl_tick();
	pthread_mutex_unlock(&pl_mu);
	return rc;
}

static int
pl_sync(sqlite3_file *file, int flags)
{
	struct pl_file *f = (struct pl_file *)file;
	int rc;

	pthread_mutex_lock(&pl_mu);
	rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK)
		pl_undo_free(f);	/* durable from here on */
	pl_tick();
	pthread_mutex_unlock(&pl_mu);
	return rc;
}

#define PL_FWD(name, decl, call) \
static int pl_##name decl { \
	struct pl_file *f = (struct pl_file *)file; \
	return f->real->pMethods->x##call; \
}
PL_FWD(size, (sqlite3_file *file, sqlite3_int64 *p), FileSize(f->real, p))
PL_FWD(lock, (sqlite3_file *file, int l), Lock(f->real, l))
PL_FWD(unlock, (sqlite3_file *file, int l), Unlock(f->real, l))
PL_FWD(check, (sqlite3_file *file, int *out), CheckReservedLock(f->real, out))
PL_FWD(control, (sqlite3_file *file, int op, void *arg), FileControl(f->real, op, arg))
PL_FWD(sector, (sqlite3_file *file), SectorSize(f->real))
PL_FWD(devchar, (sqlite3_file *file), DeviceCharacteristics(f->real))
PL_FWD(shmmap, (sqlite3_file *file, int pg, int sz, int ext, void volatile **pp),
    ShmMap(f->real, pg, sz, ext, pp))
PL_FWD(shmlock, (sqlite3_file *file, int off, int n, int flags),
    ShmLock(f->real, off, n, flags))
PL_FWD(shmunmap, (sqlite3_file *file, int del), ShmUnmap(f->real, del))

static void
pl_shmbarrier(sqlite3_file *file)
{
	struct pl_file *f = (struct pl_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

static const sqlite3_io_methods pl_methods = {
	2, pl_close, pl_read, pl_write, pl_truncate, pl_sync, pl_size, pl_lock,
	pl_unlock, pl_check, pl_control, pl_sector, pl_devchar, pl_shmmap,
	pl_shmlock, pl_shmbarrier, pl_shmunmap, NULL, NULL,
};

static int
pl_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct pl_file *f = (struct pl_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = calloc(1, (size_t)pl_real->szOsFile);
	rc = pl_real->xOpen(pl_real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		free(f->real);
		f->real = NULL;
		return rc;
	}
	f->base.pMethods = &pl_methods;
	pthread_mutex_lock(&pl_mu);
	f->next = pl_files;
	pl_files = f;
	pthread_mutex_unlock(&pl_mu);
	return SQLITE_OK;
}

static int
pl_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return pl_real->xDelete(pl_real, name, sync_dir);
}

static int
pl_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return pl_real->xAccess(pl_real, name, flags, out);
}

static int
pl_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return pl_real->xFullPathname(pl_real, name, n, out);
}

static int
pl_random(sqlite3_vfs *vfs, int n, char *out)
{
	return pl_real->xRandomness(pl_real, n, out);
}

static int
pl_sleep(sqlite3_vfs *vfs, int us)
{
	return pl_real->xSleep(pl_real, us);
}

static int
pl_time(sqlite3_vfs *vfs, double *out)
{
	return pl_real->xCurrentTime(pl_real, out);
}

static int
pl_lasterror(sqlite3_vfs *vfs, int n, char *out)
{
	return pl_real->xGetLastError(pl_real, n, out);
}

static int
pl_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return pl_real->xCurrentTimeInt64(pl_real, out);
}

static void
pl_register(void)
{
	pl_real = sqlite3_vfs_find("unix");
	memset(&pl_vfs, 0, sizeof(pl_vfs));
	pl_vfs.iVersion = 2;
	pl_vfs.szOsFile = (int)sizeof(struct pl_file);
	pl_vfs.mxPathname = pl_real->mxPathname;
	pl_vfs.zName = "powerloss";
	pl_vfs.xOpen = pl_open;
	pl_vfs.xDelete = pl_delete;
	pl_vfs.xAccess = pl_access;
	pl_vfs.xFullPathname = pl_fullpath;
	pl_vfs.xRandomness = pl_random;
	pl_vfs.xSleep = pl_sleep;
	pl_vfs.xCurrentTime = pl_time;
	pl_vfs.xGetLastError = pl_lasterror;
	pl_vfs.xCurrentTimeInt64 = pl_time64;
	sqlite3_vfs_register(&pl_vfs, 1);
}

/* ---- the child: writers ----------------------------------------------- */

struct writer {
	struct store *st;	/* shared store */
	int id;			/* 0..WRITERS-1 */
	int ack_fd;		/* pipe to the parent */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store_conn *c = NULL;
	struct store_message_in in;
	struct store_write_result r;
	char stream[32], line[96];
	int i, n;

	if (store_conn_open(w->st, &c) != EVDB_OK)
		return NULL;
	snprintf(stream, sizeof(stream), "pl-%d", w->id);
	for (i = 0; i < MAX_WRITES; i++) {
		memset(&in, 0, sizeof(in));
		in.stream = stream;
		in.stream_len = strlen(stream);
		in.type = "T";
		in.type_len = 1;
		in.data = "{\"payload\":\"some bytes to make the pages fill up\"}";
		in.data_len = strlen(in.data);
		/* Half the writers check their expected version. */
		in.expect = w->id % 2 == 0 ? STORE_EXPECT_VERSION : STORE_EXPECT_ANY;
		in.expected_version = i - 1;
		if (store_write(c, "default", &in, &r) != EVDB_OK)
			break;
		n = snprintf(line, sizeof(line), "%s %lld %lld\n", stream,
		    (long long)r.position, (long long)r.global_position);
		/* One write(2) per acknowledgement: atomic on a pipe. */
		if (write(w->ack_fd, line, (size_t)n) != n)
			break;
	}
	store_conn_close(c);
	return NULL;
}

static void
child_run(const char *dir, enum durability d, long crash_at, int ack_fd)
{
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	int i;

	pl_register();
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = d;
	opt.busy_timeout_ms = 5000;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK ||
	    store_ns_create(c, "default", HASH_A, NULL, NULL, 1) != EVDB_OK)
		_exit(3);
	snprintf(pl_shm_path, sizeof(pl_shm_path), "%s/ns/default.1.db-shm", dir);
	pthread_mutex_lock(&pl_mu);
	pl_crash_at = crash_at;		/* the clock starts now */
	pthread_mutex_unlock(&pl_mu);
	for (i = 0; i < WRITERS; i++) {
		w[i].st = st;
		w[i].id = i;
		w[i].ack_fd = ack_fd;
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	_exit(2);	/* power was never lost: the round proves nothing */
}

/* ---- the parent: what survived ---------------------------------------- */

struct ack {
	char stream[16];
	long long pos, gpos;
};

struct survivor {
	int n;			/* rows of the stream */
	int gaps;		/* positions out of sequence */
	long long last_gpos;	/* to check global order */
	int disorder;		/* global positions not increasing */
};

static enum evdb_status
survivor_row(void *ctx, const struct store_message *m)
{
	struct survivor *s = ctx;

	if (m->position != s->n)
		s->gaps++;
	if (m->global_position <= s->last_gpos)
		s->disorder++;
	s->last_gpos = m->global_position;
	s->n++;
	return EVDB_OK;
}

struct found {
	long long gpos;		/* global position to find */
	bool hit;		/* the row was there */
};

static enum evdb_status
found_row(void *ctx, const struct store_message *m)
{
	struct found *f = ctx;

	if (m->global_position == f->gpos)
		f->hit = true;
	return EVDB_OK;
}

static int
integrity_ok(const char *dir)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int good = 0;

	snprintf(path, sizeof(path), "%s/ns/default.1.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix") == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		good = strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return good;
}

/* Runs one round; returns the number of acknowledged writes lost. */
static long
round_run(enum durability d, long crash_at, long *acked, int *consistent)
{
	char dir[] = "/tmp/evdb-powerloss-XXXXXX", cmd[128], line[96];
	struct store_options opt;
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct ack *acks = NULL;
	size_t nacks = 0, cap = 0, i;
	long lost = 0;
	int fds[2], status = 0;
	FILE *in;
	pid_t pid;

	*consistent = 0;
	*acked = 0;
	if (mkdtemp(dir) == NULL || pipe(fds) != 0)
		tap_bail("cannot set up a round");
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_run(dir, d, crash_at, fds[1]);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), in) != NULL) {
		if (nacks == cap) {
			cap = cap ? cap * 2 : 1024;
			acks = realloc(acks, cap * sizeof(*acks));
		}
		if (sscanf(line, "%15s %lld %lld", acks[nacks].stream, &acks[nacks].pos,
		    &acks[nacks].gpos) == 3)
			nacks++;
	}
	fclose(in);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		tap_diag("round (crash at op %ld): child status %d", crash_at, status);
	*acked = (long)nacks;

	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = d;
	opt.busy_timeout_ms = 5000;
	if (store_open(&opt, &st) != EVDB_OK || store_conn_open(st, &c) != EVDB_OK) {
		tap_diag("the store does not open after the power loss");
		lost = (long)nacks + 1;
		goto out;
	}
	for (i = 0; i < nacks; i++) {
		struct store_stream_query q;
		struct found f = { acks[i].gpos, false };

		memset(&q, 0, sizeof(q));
		q.stream = acks[i].stream;
		q.stream_len = strlen(acks[i].stream);
		q.position = acks[i].pos;
		q.limit = 1;
		if (store_read_stream(c, "default", &q, found_row, &f) != EVDB_OK || !f.hit)
			lost++;
	}
	*consistent = integrity_ok(dir);
	for (i = 0; i < WRITERS; i++) {
		struct store_stream_query q;
		struct survivor s = { 0, 0, 0, 0 };
		char stream[16];

		snprintf(stream, sizeof(stream), "pl-%zu", i);
		memset(&q, 0, sizeof(q));
		q.stream = stream;
		q.stream_len = strlen(stream);
		q.limit = -1;
		if (store_read_stream(c, "default", &q, survivor_row, &s) != EVDB_OK ||
		    s.gaps != 0 || s.disorder != 0)
			*consistent = 0;
	}
out:
	store_conn_close(c);
	store_close(st);
	free(acks);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return lost;
}

int
main(int argc, char **argv)
{
	int full_rounds = 12, normal_rounds = 6, i, consistent;
	long lost, acked, total_acked = 0, normal_lost = 0;
	const char *env = getenv("POWERLOSS_ROUNDS");

	if (env != NULL && atoi(env) > 0)
		full_rounds = atoi(env);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	tap_plan(2 * (full_rounds + normal_rounds));
	for (i = 0; i < full_rounds; i++) {
		long at = 200 + rand() % 4000;

		lost = round_run(DURABILITY_FULL, at, &acked, &consistent);
		total_acked += acked;
		is_int(lost, 0, "full, power lost at VFS op %ld: all %ld acknowledged writes kept",
		    at, acked);
		ok(consistent, "full, op %ld: gapless positions, integrity_check ok", at);
	}
	for (i = 0; i < normal_rounds; i++) {
		long at = 200 + rand() % 4000;

		lost = round_run(DURABILITY_NORMAL, at, &acked, &consistent);
		normal_lost += lost;
		ok(lost >= 0 && lost <= acked,
		    "normal, power lost at VFS op %ld: %ld of %ld acknowledged writes lost"
		    " (allowed in normal)", at, lost, acked);
		ok(consistent, "normal, op %ld: what survived is consistent", at);
	}
	tap_diag("durability full: %ld acknowledged writes checked, none lost", total_acked);
	tap_diag("durability normal: %ld acknowledged writes lost in %d power losses",
	    normal_lost, normal_rounds);
	return tap_done();
}
