/*
 * sqlite_checkpoint.c - WAL checkpoints on a background thread.
 *
 * By default SQLite checkpoints inside the COMMIT that pushes the WAL past
 * 1000 frames, so one unlucky writer (and every write group-committed with
 * it) pays for copying the WAL back into the database and syncing it.  evdb
 * replaces that hook on its namespace connections: the hook only notes that
 * the file wants a checkpoint (once per STORE_CHECKPOINT_FRAMES new frames,
 * not on every commit past the mark), and this thread runs a PASSIVE
 * checkpoint on a connection of its own, which never blocks writers or
 * readers.
 *
 * Under steady writes a PASSIVE checkpoint never catches up, so the WAL
 * would never be rewound and would grow without bound.  When the WAL holds
 * more than STORE_CHECKPOINT_RESTART frames after a PASSIVE checkpoint, the
 * thread runs a RESTART checkpoint, which waits for the writers of the
 * moment, finishes, and lets the next writer start the WAL from its
 * beginning: the WAL stays within a few MiB.  Every writer of the file
 * waits while a RESTART runs, so the thread first does, with no lock held,
 * what would otherwise make the RESTART long (sqlite_checkpoint_rewind).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

/* WAL frames after which a file is checkpointed (SQLite's default). */
#define STORE_CHECKPOINT_FRAMES 1000
/* WAL size, in frames, past which a RESTART rewinds it (16 MiB of 4 KiB pages). */
#define STORE_CHECKPOINT_RESTART (4 * STORE_CHECKPOINT_FRAMES)
/* Catch-up rounds (a sync, then a PASSIVE) before a RESTART. */
#define STORE_CHECKPOINT_CATCHUP 2

struct checkpoint_file {
	struct checkpoint_file *next;	/* the store's list */
	struct sqlite_store *st;		/* owner */
	char *path;			/* the namespace database */
	bool wanted;			/* its WAL passed the threshold (ckpt_mu) */
	int asked_at;			/* WAL frames when it was last asked for (ckpt_mu) */
	sqlite3 *db;			/* the checkpointer thread's connection while
					 * it runs a checkpoint, else NULL */
	int busy_runs;			/* PASSIVE checkpoints in a row that met
					 * SQLITE_BUSY (checkpointer thread only) */
};

struct checkpoint_file *
sqlite_checkpoint_file(struct sqlite_store *st, const char *path)
{
	struct checkpoint_file *f;

	pthread_mutex_lock(&st->ckpt_mu);
	for (f = st->ckpt_files; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			goto out;
	f = xcalloc(1, sizeof(*f));
	f->st = st;
	f->path = xstrdup(path);
	f->next = st->ckpt_files;
	st->ckpt_files = f;
out:
	pthread_mutex_unlock(&st->ckpt_mu);
	return f;
}

/* Runs in the committing thread after every commit: keep it cheap. */
static int
sqlite_checkpoint_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct checkpoint_file *f = arg;

	if (frames >= STORE_CHECKPOINT_FRAMES) {
		pthread_mutex_lock(&f->st->ckpt_mu);
		if (frames < f->asked_at)
			f->asked_at = 0;	/* the WAL was rewound since */
		if (!f->wanted && frames - f->asked_at >= STORE_CHECKPOINT_FRAMES) {
			f->asked_at = frames;
			f->wanted = true;
			pthread_cond_signal(&f->st->ckpt_cv);
		}
		pthread_mutex_unlock(&f->st->ckpt_mu);
	}
	return SQLITE_OK;
}

void
sqlite_checkpoint_attach(struct checkpoint_file *f, sqlite3 *db)
{
	/* Replaces SQLite's auto-checkpoint, which is itself a WAL hook. */
	sqlite3_wal_hook(db, sqlite_checkpoint_hook, f);
}

/* Pause before a busy file's next try, so that the thread never spins. */
#define STORE_CHECKPOINT_RETRY_MS 100
/* Busy tries in a row after which the log says so (once a streak). */
#define STORE_CHECKPOINT_BUSY_LOG 10

/*
 * Syncs one file of the checkpointer's connection: the database
 * (SQLITE_FCNTL_FILE_POINTER) or its WAL (SQLITE_FCNTL_JOURNAL_POINTER).
 * Through SQLite's own file object, not a descriptor of evdb's: closing any
 * descriptor of a file drops every POSIX lock the process holds on it,
 * which SQLite's locking relies on.  A file not open is nothing to sync.
 */
static int
sqlite_checkpoint_sync(sqlite3 *db, int which)
{
	sqlite3_file *file = NULL;

	if (sqlite3_file_control(db, "main", which, &file) != SQLITE_OK ||
	    file == NULL || file->pMethods == NULL)
		return SQLITE_OK;
	return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
}

/*
 * Rewinds the WAL of db, whose PASSIVE checkpoint has just left
 * STORE_CHECKPOINT_RESTART frames or more.  A RESTART holds every writer
 * of the file while it copies the frames written since the last PASSIVE,
 * syncs the WAL and syncs the database; that last sync also writes every
 * page the PASSIVE checkpoints before it copied, since a PASSIVE that does
 * not reach the end of the WAL does not sync the database.  Measured under
 * W1 at 3,900 requests/s: 2.4 - 2.8 ms a RESTART (median), during which
 * the writers, and the requests of their tokens behind them, pile up:
 * most of W1's p99 (docs/performance.md, "The p99").  So, with no lock
 * held, STORE_CHECKPOINT_CATCHUP rounds of a sync of the database and a
 * PASSIVE (which copies, and syncs in the WAL, the frames written
 * meanwhile), then a sync of the WAL and of the database: the RESTART is
 * left the frames and pages of the last few milliseconds (0.6 - 0.9 ms
 * median).  The syncs only make pages durable sooner, so what survives a
 * power loss is as before.  Returns SQLite's code; *errmsg is set for a
 * failed sync, which db's own message does not describe.
 */
int
sqlite_checkpoint_rewind(sqlite3 *db, int *log_frames, int *done,
    const char **errmsg)
{
	int rc, i;

	*errmsg = NULL;
	for (i = 0; i < STORE_CHECKPOINT_CATCHUP; i++) {
		if ((rc = sqlite_checkpoint_sync(db, SQLITE_FCNTL_FILE_POINTER)) !=
		    SQLITE_OK)
			goto sync_failed;
		if ((rc = sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, log_frames, done)) != SQLITE_OK)
			return rc;
	}
	if ((rc = sqlite_checkpoint_sync(db, SQLITE_FCNTL_JOURNAL_POINTER)) !=
	    SQLITE_OK ||
	    (rc = sqlite_checkpoint_sync(db, SQLITE_FCNTL_FILE_POINTER)) != SQLITE_OK)
		goto sync_failed;
	return sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART,
	    log_frames, done);
sync_failed:
	*errmsg = sqlite3_errstr(rc);
	return rc;
}

/*
 * Runs on the checkpointer thread only, which alone touches f->db.  True
 * when the PASSIVE checkpoint met SQLITE_BUSY (another connection
 * checkpointing, or recovering the WAL index after a failed call): it is
 * tried again shortly rather than at the file's next 1000 frames, which a
 * file that has stopped being written would never reach.  A RESTART that
 * gave up (it held the file's writers for --busy-timeout) is not retried:
 * the next 1000 frames ask again.
 */
static bool
sqlite_checkpoint_run(struct sqlite_store *st, struct checkpoint_file *f)
{
	char err[512];
	const char *sync_err = NULL;
	int rc, log_frames = 0, done = 0;
	bool retry;

	/* A deleted namespace's file is let go rather than kept open. */
	if (access(f->path, F_OK) != 0) {
		sqlite_close_db(st, f->db);
		f->db = NULL;
		return false;
	}
	if (f->db == NULL &&
	    sqlite_open_db(st, f->path, false, &f->db, err, sizeof(err)) != EVDB_OK) {
		/* Said aloud: otherwise the WAL just grows, with no sign why. */
		log_warn(st->log, "store: checkpoint of %s: %s", f->path, err);
		return false;
	}
	rc = sqlite3_wal_checkpoint_v2(f->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &log_frames, &done);
	retry = (rc & 0xff) == SQLITE_BUSY;
	if (rc == SQLITE_OK && log_frames >= STORE_CHECKPOINT_RESTART)
		rc = sqlite_checkpoint_rewind(f->db, &log_frames, &done, &sync_err);
	if (rc == SQLITE_OK)
		atomic_fetch_add(&st->checkpoints, 1);
	else if ((rc & 0xff) != SQLITE_BUSY)
		log_warn(st->log, "store: checkpoint of %s: %s", f->path,
		    sync_err != NULL ? sync_err : sqlite3_errmsg(f->db));
	else if (!retry)
		/* Every checkpoint that does not end is said, so that a WAL
		 * that keeps growing has a reason in the log. */
		log_info(st->log, "store: checkpoint of %s: the WAL was not"
		    " restarted (busy; %d of %d frames checkpointed); the next"
		    " 1000 frames ask again", f->path, done, log_frames);
	f->busy_runs = retry ? f->busy_runs + 1 : 0;
	if (f->busy_runs == STORE_CHECKPOINT_BUSY_LOG)
		log_info(st->log, "store: checkpoint of %s: busy %d times in a"
		    " row; trying again every %d ms", f->path, f->busy_runs,
		    STORE_CHECKPOINT_RETRY_MS);
	/*
	 * Let the file go until it asks again (once per 1000 frames): kept
	 * open, these connections would hold descriptors for every file ever
	 * checkpointed.
	 */
	sqlite_close_db(st, f->db);
	f->db = NULL;
	return retry;
}


static void *
sqlite_checkpoint_main(void *arg)
{
	struct sqlite_store *st = arg;
	struct checkpoint_file *f, *todo[32];
	bool busy[32], again;
	struct timespec until;
	int n, i;

	(void)pthread_setname_np(pthread_self(), "evdb-checkpoint");
	pthread_mutex_lock(&st->ckpt_mu);
	while (!st->ckpt_stop) {
		n = 0;
		/* Entries are freed only after this thread ends. */
		for (f = st->ckpt_files; f != NULL && n < 32; f = f->next) {
			if (f->wanted) {
				f->wanted = false;
				todo[n++] = f;
			}
		}
		if (n == 0) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&st->ckpt_cv, &st->ckpt_mu, &until);
			continue;
		}
		pthread_mutex_unlock(&st->ckpt_mu);
		for (i = 0; i < n; i++)
			busy[i] = sqlite_checkpoint_run(st, todo[i]);
		pthread_mutex_lock(&st->ckpt_mu);
		for (again = false, i = 0; i < n; i++)
			if (busy[i]) {
				todo[i]->wanted = true;
				again = true;
			}
		if (again && !st->ckpt_stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += STORE_CHECKPOINT_RETRY_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&st->ckpt_cv, &st->ckpt_mu, &until);
		}
	}
	pthread_mutex_unlock(&st->ckpt_mu);
	return NULL;
}

enum evdb_status
sqlite_checkpoint_start(struct sqlite_store *st)
{
	if (pthread_create(&st->ckpt_thread, NULL, sqlite_checkpoint_main, st) != 0) {
		log_error(st->log, "store: cannot start the checkpointer: %s",
		    strerror(errno));
		return EVDB_ERR_IO;
	}
	st->ckpt_started = true;
	return EVDB_OK;
}

void
sqlite_checkpoint_stop(struct sqlite_store *st)
{
	struct checkpoint_file *f;

	if (st->ckpt_started) {
		pthread_mutex_lock(&st->ckpt_mu);
		st->ckpt_stop = true;
		pthread_cond_signal(&st->ckpt_cv);
		pthread_mutex_unlock(&st->ckpt_mu);
		pthread_join(st->ckpt_thread, NULL);
		st->ckpt_started = false;
	}
	while ((f = st->ckpt_files) != NULL) {
		st->ckpt_files = f->next;
		sqlite_close_db(st, f->db);
		free(f->path);
		free(f);
	}
}

int64_t
sqlite_checkpoint_count(const struct sqlite_store *st)
{
	return atomic_load(&((struct sqlite_store *)st)->checkpoints);
}
