/*
 * store_faults_t.c - I/O faults through SQLite's seam (issue 14).
 *
 * A test VFS (faultvfs.c, registered as SQLite's default by this program
 * only, before the store opens) wraps the "unix" VFS, as SQLite's own
 * src/test_vfs.c does.  Armed at N, it makes the Nth I/O call (xRead,
 * xWrite, xTruncate, xSync, xFileSize, xShmMap) of the walked operation
 * fail, in one of these ways:
 *
 *   eio-once     that call fails with EIO (SQLITE_IOERR_READ, _WRITE,
 *                _TRUNCATE, _FSYNC, _FSTAT, _SHMMAP), the next ones work;
 *   eio-stuck    it and every call after it fail, until the fault is gone;
 *   enospc       the Nth write and every write after it fail with ENOSPC
 *                (SQLITE_FULL), until the fault is gone (a full disk);
 *   short-write  the Nth write stores only its first half and reports
 *                ENOSPC (what unixWrite makes of a short write).
 *
 * The walk: for N = 1, 2, ... it arms the fault, runs the operation, and
 * checks; it stops at the first N the operation completes without reaching
 * (N - 1 fault points walked).  The operations, in-process, on a real store
 * (durability full, so commits sync):
 *
 *   write       POST /rpc stream.write through rpc_serve() on a detached
 *               request (tests/fuzz/fuzz_env.c): one group-commit batch;
 *   checkpoint  writes until evdb's checkpointer thread runs a checkpoint;
 *               only that thread's calls are counted and failed;
 *   backup      backup_create() (src/cli/backup.c) of the live data
 *               directory, 4 pages per step;
 *   import      POST /import through import_serve() of a 5-record batch
 *               (store_import_batch) into namespace "imp".
 *
 * After each fault: the caller got a clear error (507 STORAGE_FULL or 500
 * BACKEND_ERROR for /rpc; a STORAGE_FULL or IMPORT_FAILED event for
 * /import; a status and message for a backup), never success for a write
 * not stored; every write acknowledged so far is present at its position
 * (and nothing else is); PRAGMA integrity_check says ok; and with the fault
 * gone the same store, not reopened, serves a write (and, after the
 * checkpoint walk, checkpoints) again.
 *
 * Single-threaded test code; the VFS state is shared with the store's
 * threads inside faultvfs.c.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../tap.h"
#include "faultvfs.h"
#include "fuzz.h"
#include "cli/backup.h"
#include "core/timefmt.h"
#include "import/import.h"
#include "rpc/rpc.h"

#define FV_MAX_POINTS 5000	/* a walk longer than this is a failure */
#define FV_CKPT_MAX_WRITES 20000 /* writes to wait for a checkpoint */
#define FV_ID_LEN 36		/* a UUID */
#define FV_IMPORT_RECORDS 5	/* records of one import batch */

/* ---- the store and what it acknowledged ----------------------------------- */

/* A write the store acknowledged (namespace "default"). */
struct ack {
	char id[FV_ID_LEN + 1];	/* its message id */
	char stream[32];	/* its stream */
	int64_t position;	/* stream position it was given */
	int64_t gpos;		/* global position it was given */
};

struct walk {
	struct fuzz_env env;	/* the store, detached requests */
	struct ack *acks;	/* every acknowledged write, in order */
	size_t nacks, cap;	/* used, allocated */
	long next_id;		/* for fresh ids */
	int64_t imp_gpos;	/* next global position to import into "imp" */
	long imp_batches;	/* import batches acknowledged */
	char why[1024];		/* the first failed check */
	int backups;		/* backup directories made */
	char log_path[64];	/* the store's log (FUZZ_LOG), removed at the end */
	char ck_ns[32];		/* the checkpoint walk's namespace (one per mode) */
	int64_t ck_acks;	/* writes acknowledged in it */
	long log_off;		/* how much of it walk_log_seen has read */
};

/*
 * True when the log got a line holding what since the last call.  Only
 * whole lines are taken: a line still being written (a write that crosses
 * a page boundary can be read half done) is read again next time, so that
 * what is never missed for having been cut in two.
 */
static bool
walk_log_seen(struct walk *w, const char *what)
{
	char buf[8192];
	FILE *f = fopen(w->log_path, "r");
	bool seen = false;
	size_t n;

	if (f == NULL)
		return false;
	if (fseek(f, w->log_off, SEEK_SET) == 0)
		while (fgets(buf, sizeof(buf), f) != NULL) {
			n = strlen(buf);
			if (n == 0 || buf[n - 1] != '\n')
				break;	/* not whole yet: from its start next time */
			w->log_off += (long)n;
			if (strstr(buf, what) != NULL)
				seen = true;
		}
	fclose(f);
	return seen;
}

static void
walk_ack(struct walk *w, const char *id, const char *stream, int64_t pos,
    int64_t gpos)
{
	struct ack *a;

	if (w->nacks == w->cap) {
		w->cap = w->cap != 0 ? w->cap * 2 : 1024;
		w->acks = realloc(w->acks, w->cap * sizeof(*w->acks));
		if (w->acks == NULL)
			abort();
	}
	a = &w->acks[w->nacks++];
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->stream, sizeof(a->stream), "%s", stream);
	a->position = pos;
	a->gpos = gpos;
}

static void
walk_fresh_id(struct walk *w, char id[FV_ID_LEN + 1])
{
	snprintf(id, FV_ID_LEN + 1, "0190a000-0000-7000-8000-%012lx", ++w->next_id);
}

/* The database file of namespace ns (the one generation there is). */
static bool
walk_ns_path(struct walk *w, const char *ns, char *out, size_t size)
{
	char pat[PATH_MAX + 64];
	glob_t g;
	bool ok;

	snprintf(pat, sizeof(pat), "%s/ns/%s.*.db", w->env.data_dir, ns);
	if (glob(pat, 0, NULL, &g) != 0)
		return false;
	ok = g.gl_pathc == 1 &&
	    (size_t)snprintf(out, size, "%s", g.gl_pathv[0]) < size;
	globfree(&g);
	return ok;
}

/* Opens path read-only on its own connection (the VFS must be disarmed). */
static sqlite3 *
walk_db(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* PRAGMA integrity_check of path; true when it says ok. */
static bool
walk_integrity(struct walk *w, const char *path)
{
	sqlite3 *db = walk_db(path);
	sqlite3_stmt *s = NULL;
	bool ok = false;

	if (db == NULL)
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0)
		ok = true;
	else
		snprintf(w->why, sizeof(w->why), "integrity_check of %.300s: %.300s", path,
		    s != NULL && sqlite3_column_text(s, 0) != NULL ?
		    (const char *)sqlite3_column_text(s, 0) : sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ok;
}

/*
 * Checks namespace "default" against the acknowledged writes: as many rows
 * as acknowledgements, and each of the last `recent` (all when < 0) at its
 * stream, position and global position.
 */
static bool
walk_acks_ok(struct walk *w, long recent)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	bool ok = false;
	size_t i, from;

	if (!walk_ns_path(w, "default", path, sizeof(path))) {
		snprintf(w->why, sizeof(w->why), "no database of namespace default");
		return false;
	}
	if ((db = walk_db(path)) == NULL)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		goto sqlerr;
	if ((size_t)sqlite3_column_int64(s, 0) != w->nacks) {
		snprintf(w->why, sizeof(w->why), "default holds %lld messages,"
		    " %zu were acknowledged", (long long)sqlite3_column_int64(s, 0),
		    w->nacks);
		goto out;
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT stream_name, position, global_position"
	    " FROM messages WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		goto sqlerr;
	from = recent < 0 || (size_t)recent >= w->nacks ? 0 : w->nacks - (size_t)recent;
	for (i = from; i < w->nacks; i++) {
		const struct ack *a = &w->acks[i];

		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(s, 0), a->stream) != 0 ||
		    sqlite3_column_int64(s, 1) != a->position ||
		    sqlite3_column_int64(s, 2) != a->gpos) {
			snprintf(w->why, sizeof(w->why), "acknowledged write %s (%s at %lld,"
			    " global %lld) is not there", a->id, a->stream,
			    (long long)a->position, (long long)a->gpos);
			goto out;
		}
	}
	ok = true;
	goto out;
sqlerr:
	snprintf(w->why, sizeof(w->why), "reading %.300s: %.300s", path,
	    db != NULL ? sqlite3_errmsg(db) : "cannot open");
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ok;
}

/* An answer's JSON, or NULL. */
static struct json_object *
walk_answer(const struct request *r)
{
	struct json_object *v = NULL;
	const char *why;

	if (r->out->len < 1 || !fuzz_json_parse(r->out->data, r->out->len, &v, &why))
		return NULL;
	return v;
}

/*
 * POST /rpc stream.write of a fresh message to stream; records it when
 * acknowledged.  Returns the HTTP status; *code gets the error code (or "").
 */
static int
walk_rpc_write(struct walk *w, const char *stream, char *code, size_t code_size)
{
	struct fuzz_env *e = &w->env;
	struct json_object *ans, *v, *p, *g;
	struct request r;
	char id[FV_ID_LEN + 1], body[512];
	int status, n;

	walk_fresh_id(w, id);
	n = snprintf(body, sizeof(body), "[\"stream.write\",\"%s\",{\"type\":\"Fault\","
	    "\"data\":{\"n\":%ld}},{\"id\":\"%s\"}]", stream, w->next_id, id);
	fuzz_request_init(e, &r, "POST", "/rpc", "");
	buf_append(r.body, body, (size_t)n);
	r.content_length = n;
	memcpy(r.ns, "default", sizeof("default"));
	rpc_serve(&r);
	status = r.status;
	code[0] = '\0';
	ans = walk_answer(&r);
	if (status == 200 && ans != NULL &&
	    json_object_object_get_ex(ans, "position", &p) &&
	    json_object_object_get_ex(ans, "globalPosition", &g))
		walk_ack(w, id, stream, json_object_get_int64(p), json_object_get_int64(g));
	else if (status == 200)
		snprintf(code, code_size, "(a 200 without positions)");
	else if (ans != NULL && json_object_object_get_ex(ans, "error", &v) &&
	    json_object_object_get_ex(v, "code", &v) &&
	    json_object_object_get_ex(json_object_object_get(ans, "error"), "message", &p) &&
	    json_object_get_string_len(p) > 0)
		snprintf(code, code_size, "%s", json_object_get_string(v));
	else
		snprintf(code, code_size, "(no error envelope: %.*s)",
		    (int)(r.out->len > 200 ? 200 : r.out->len), r.out->data);
	json_object_put(ans);
	fuzz_request_done(e, &r);
	return status;
}

/*
 * A write through the store API (fast) to stream fault-ck of namespace
 * w->ck_ns, counted in w->ck_acks when acknowledged; the namespace holds
 * nothing else, so its k-th acknowledged write must sit at position k - 1
 * and global position k (walk_ck_ok).
 */
static enum evdb_status
walk_store_write(struct walk *w)
{
	struct store_message_in in;
	struct store_write_result res;
	char id[FV_ID_LEN + 1];
	enum evdb_status rs;

	walk_fresh_id(w, id);
	memset(&in, 0, sizeof(in));
	in.stream = "fault-ck";
	in.stream_len = strlen(in.stream);
	in.type = "Fill";
	in.type_len = 4;
	in.id = id;
	in.id_len = FV_ID_LEN;
	in.data = "{\"pad\":\"0123456789012345678901234567890123456789\"}";
	in.data_len = strlen(in.data);
	memset(&res, 0, sizeof(res));
	rs = store_write(w->env.conn, w->ck_ns, &in, &res);
	if (rs == EVDB_OK) {
		w->ck_acks++;
		if (res.position != w->ck_acks - 1 || res.global_position != w->ck_acks) {
			snprintf(w->why, sizeof(w->why), "write %lld acknowledged at %lld,"
			    " global %lld", (long long)w->ck_acks, (long long)res.position,
			    (long long)res.global_position);
			return EVDB_ERR_INVALID;
		}
	}
	return rs;
}

/*
 * Namespace w->ck_ns holds exactly its w->ck_acks acknowledged writes, at
 * positions 0.. and global positions 1.., and is sound.
 */
static bool
walk_ck_ok(struct walk *w)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	bool ok = false;

	if (!walk_ns_path(w, w->ck_ns, path, sizeof(path)) || (db = walk_db(path)) == NULL) {
		snprintf(w->why, sizeof(w->why), "cannot open namespace %s", w->ck_ns);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(max(global_position), 0),"
	    " sum(position = global_position - 1 AND stream_name = 'fault-ck')"
	    " FROM messages", -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		snprintf(w->why, sizeof(w->why), "reading %s: %s", w->ck_ns,
		    sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_column_int64(s, 0) != w->ck_acks ||
	    sqlite3_column_int64(s, 1) != w->ck_acks ||
	    (w->ck_acks > 0 && sqlite3_column_int64(s, 2) != w->ck_acks)) {
		snprintf(w->why, sizeof(w->why), "%s holds %lld messages up to %lld"
		    " (%lld in place), %lld were acknowledged", w->ck_ns,
		    (long long)sqlite3_column_int64(s, 0),
		    (long long)sqlite3_column_int64(s, 1),
		    (long long)sqlite3_column_int64(s, 2), (long long)w->ck_acks);
		goto out;
	}
	ok = walk_integrity(w, path);
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ok;
}

/*
 * What every fault must leave: the acknowledged writes (and only those) in
 * place, a sound database, and a store that takes a write again, at once.
 */
static bool
walk_after_fault(struct walk *w)
{
	char path[PATH_MAX], code[256];
	int status;

	if (!walk_acks_ok(w, 16))
		return false;
	if (!walk_ns_path(w, "default", path, sizeof(path)) || !walk_integrity(w, path))
		return false;
	status = walk_rpc_write(w, "fault-after", code, sizeof(code));
	if (status != 200 || code[0] != '\0') {
		snprintf(w->why, sizeof(w->why), "with the fault gone, stream.write"
		    " answered %d %s", status, code);
		return false;
	}
	return walk_acks_ok(w, 1);
}

/* ---- the operations -------------------------------------------------------- */

/* One walked operation at fault point n: false with w->why on a violation. */
typedef bool (*walk_op_fn)(struct walk *w, enum faultvfs_mode mode, long n, long *fired);

static bool
op_write(struct walk *w, enum faultvfs_mode mode, long n, long *fired)
{
	char code[256];
	size_t before = w->nacks;
	int status;

	faultvfs_arm(mode, FAULTVFS_MAIN, n);
	status = walk_rpc_write(w, "fault-w", code, sizeof(code));
	*fired = faultvfs_disarm();
	if (status == 200 && code[0] == '\0')
		return true;	/* acknowledged: walk_after_fault checks it is there */
	if (w->nacks != before || !((status == 507 && strcmp(code, "STORAGE_FULL") == 0) ||
	    (status == 500 && strcmp(code, "BACKEND_ERROR") == 0))) {
		snprintf(w->why, sizeof(w->why), "stream.write answered %d %s", status,
		    code);
		return false;
	}
	if (*fired == 0) {
		snprintf(w->why, sizeof(w->why), "stream.write failed (%d %s) without"
		    " a fault", status, code);
		return false;
	}
	return true;	/* walk_after_fault checks that nothing was stored */
}

static bool
op_checkpoint(struct walk *w, enum faultvfs_mode mode, long n, long *fired)
{
	int64_t ck0 = store_checkpoint_count(w->env.store), ck;
	long i, quiet;
	enum evdb_status rs;

	/*
	 * The count is the store's: a checkpoint of another namespace still
	 * under way (the last one of the previous walk) would end in the loop
	 * below and pass for this one, a walk of 0 points.  Start once the
	 * count has stood still for 100 ms (10 s at most).
	 */
	for (quiet = 0, i = 0; quiet < 20 && i < 2000; i++) {
		usleep(5000);
		ck = store_checkpoint_count(w->env.store);
		quiet = ck == ck0 ? quiet + 1 : 0;
		ck0 = ck;
	}
	faultvfs_arm(mode, FAULTVFS_CKPT, n);
	(void)walk_log_seen(w, "checkpoint of");
	for (i = 0; i < FV_CKPT_MAX_WRITES; i++) {
		if ((rs = walk_store_write(w)) != EVDB_OK) {
			*fired = faultvfs_disarm();
			snprintf(w->why, sizeof(w->why), "a write failed during a"
			    " checkpoint fault: %s: %s", evdb_strerror(rs),
			    store_conn_errmsg(w->env.conn));
			return false;
		}
		if (store_checkpoint_count(w->env.store) > ck0)
			break;	/* the checkpoint ran to its end */
		(void)faultvfs_counts(fired);
		if (*fired > 0) {
			/*
			 * It failed: the thread must say so in the log (the
			 * operator's only sign that the WAL is not being
			 * checkpointed).  Up to 30 s: 10 s once passed by,
			 * unlogged, in make distcheck's parallel tests, while
			 * every other walk of the same point logs within
			 * milliseconds.
			 */
			for (quiet = 0; quiet < 60000; quiet++) {
				if (walk_log_seen(w, "checkpoint of") ||
				    store_checkpoint_count(w->env.store) > ck0)
					break;
				usleep(500);
			}
			if (quiet == 60000) {
				*fired = faultvfs_disarm();
				snprintf(w->why, sizeof(w->why), "the checkpoint failed"
				    " and nothing was logged");
				return false;
			}
			break;
		}
	}
	*fired = faultvfs_disarm();
	if (i == FV_CKPT_MAX_WRITES) {
		snprintf(w->why, sizeof(w->why), "no checkpoint ran in %d writes",
		    FV_CKPT_MAX_WRITES);
		return false;
	}
	if (*fired > 0 && store_checkpoint_count(w->env.store) > ck0 &&
	    mode != FAULTVFS_EIO_ONCE && mode != FAULTVFS_SHORT) {
		snprintf(w->why, sizeof(w->why), "a checkpoint counted as done"
		    " while every I/O failed");
		return false;
	}
	if (!walk_ck_ok(w))
		return false;
	/*
	 * Once the fault is gone the checkpointer must work again.  (This also
	 * keeps the WAL short: without a checkpoint that completes, the next
	 * point's checkpoint would copy ever more pages.)
	 */
	ck0 = store_checkpoint_count(w->env.store);
	for (i = 0; i < FV_CKPT_MAX_WRITES; i++) {
		if ((rs = walk_store_write(w)) != EVDB_OK) {
			snprintf(w->why, sizeof(w->why), "a write failed after a"
			    " checkpoint fault: %s", evdb_strerror(rs));
			return false;
		}
		if (store_checkpoint_count(w->env.store) > ck0)
			return walk_ck_ok(w);
		if (i % 64 == 63)
			usleep(1000);
	}
	snprintf(w->why, sizeof(w->why), "no checkpoint succeeded in %d writes"
	    " after the fault", FV_CKPT_MAX_WRITES);
	return false;
}

/* Checks a backup that reported success: complete and sound. */
static bool
walk_backup_ok(struct walk *w, const char *dir)
{
	char path[PATH_MAX + 64];
	glob_t g;
	size_t i;
	bool ok = true;

	snprintf(path, sizeof(path), "%s/backup.json", dir);
	if (access(path, F_OK) != 0) {
		snprintf(w->why, sizeof(w->why), "a backup that succeeded has no"
		    " backup.json");
		return false;
	}
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (!walk_integrity(w, path))
		return false;
	snprintf(path, sizeof(path), "%s/ns/*.db", dir);
	if (glob(path, 0, NULL, &g) != 0 || g.gl_pathc < 2) {
		snprintf(w->why, sizeof(w->why), "a backup that succeeded lacks"
		    " namespaces");
		return false;
	}
	for (i = 0; i < g.gl_pathc && ok; i++)
		ok = walk_integrity(w, g.gl_pathv[i]);
	globfree(&g);
	return ok;
}

static bool
op_backup(struct walk *w, enum faultvfs_mode mode, long n, long *fired)
{
	struct backup_options o;
	char dir[PATH_MAX + 32], err[512], json[PATH_MAX + 64];
	enum evdb_status rs;

	snprintf(dir, sizeof(dir), "%s/backup-%d", w->env.dir, ++w->backups);
	memset(&o, 0, sizeof(o));
	o.data_dir = w->env.data_dir;
	o.out_dir = dir;
	o.pages_per_step = 4;
	err[0] = '\0';
	faultvfs_arm(mode, FAULTVFS_MAIN, n);
	rs = backup_create(&o, err, sizeof(err));
	*fired = faultvfs_disarm();
	if (rs == EVDB_OK)
		return walk_backup_ok(w, dir);
	snprintf(json, sizeof(json), "%s/backup.json", dir);
	if (err[0] == '\0' || access(json, F_OK) == 0 || *fired == 0) {
		snprintf(w->why, sizeof(w->why), "backup failed (%s, \"%s\"), %s",
		    evdb_strerror(rs), err, *fired == 0 ? "without a fault" :
		    "yet left a backup.json or no message");
		return false;
	}
	return true;
}

/* How many messages of stream imp-<batch> (0: of all) namespace "imp" holds. */
static long
walk_imp_count(struct walk *w, long batch)
{
	char path[PATH_MAX], stream[32];
	sqlite3 *db;
	sqlite3_stmt *s = NULL;
	long n = -1;

	if (!walk_ns_path(w, "imp", path, sizeof(path)) || (db = walk_db(path)) == NULL)
		return -1;
	snprintf(stream, sizeof(stream), "imp-%ld", batch);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE stream_name"
	    " = ?1 OR ?1 = 'imp-0'", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/*
 * POST /import of one batch into "imp" (stream imp-<batch>); returns "" when
 * it was acknowledged (a done event), else the error event's code.
 */
static void
walk_import(struct walk *w, char *code, size_t code_size)
{
	struct fuzz_env *e = &w->env;
	struct request r;
	struct json_object *ev = NULL, *v;
	const char *p, *end, *why;
	char line[512];
	long batch = w->imp_batches + 1;
	int i, len;

	fuzz_request_init(e, &r, "POST", "/import", "");
	memcpy(r.ns, "imp", sizeof("imp"));
	for (i = 0; i < FV_IMPORT_RECORDS; i++) {
		/* Import ids are UUIDs: one per batch and record. */
		len = snprintf(line, sizeof(line), "{\"id\":\"00000000-0000-4000-8000-"
		    "%06lx%06x\",\"stream\":\"imp-%ld\",\"type\":\"Imported\","
		    "\"pos\":%d,\"gpos\":%lld,\"data\":{\"i\":%d},"
		    "\"time\":\"2026-01-01T00:00:00Z\"}\n", batch, (unsigned)i, batch, i,
		    (long long)(w->imp_gpos + i), i);
		buf_append(r.body, line, (size_t)len);
	}
	r.content_length = (int64_t)r.body->len;
	import_serve(&r);
	snprintf(code, code_size, "(no final event; status %d)", r.status);
	p = r.out->data != NULL ? r.out->data : "";
	end = p + r.out->len;
	/* A failed import answers its error status with the same events. */
	while (p < end) {
		const char *nl = strstr(p, "\n\n");

		if (strncmp(p, "data: ", 6) != 0 || nl == NULL)
			break;
		json_object_put(ev);
		ev = NULL;
		if (!fuzz_json_parse(p + 6, (size_t)(nl - p - 6), &ev, &why))
			break;
		if (json_object_object_get_ex(ev, "done", &v))
			snprintf(code, code_size, "%s", "");
		else if (json_object_object_get_ex(ev, "error", &v) &&
		    json_object_object_get_ex(ev, "message", NULL))
			snprintf(code, code_size, "%s", json_object_get_string(v));
		p = nl + 2;
	}
	json_object_put(ev);
	fuzz_request_done(e, &r);
	if (code[0] == '\0') {
		w->imp_batches = batch;
		w->imp_gpos += FV_IMPORT_RECORDS;
	}
}

static bool
op_import(struct walk *w, enum faultvfs_mode mode, long n, long *fired)
{
	char code[256], path[PATH_MAX];
	long batch = w->imp_batches + 1, have;

	faultvfs_arm(mode, FAULTVFS_MAIN, n);
	walk_import(w, code, sizeof(code));
	*fired = faultvfs_disarm();
	have = walk_imp_count(w, batch);
	if (code[0] == '\0') {
		if (have != FV_IMPORT_RECORDS) {
			snprintf(w->why, sizeof(w->why), "an acknowledged import batch"
			    " left %ld of its %d records", have, FV_IMPORT_RECORDS);
			return false;
		}
	} else if (have != 0 || *fired == 0 || (strcmp(code, "STORAGE_FULL") != 0 &&
	    strcmp(code, "IMPORT_FAILED") != 0)) {
		snprintf(w->why, sizeof(w->why), "import failed with %s%s, %ld of its"
		    " records stored", code, *fired == 0 ? " without a fault" : "", have);
		return false;
	}
	if ((have = walk_imp_count(w, 0)) != w->imp_batches * FV_IMPORT_RECORDS) {
		snprintf(w->why, sizeof(w->why), "imp holds %ld records, %ld were"
		    " acknowledged", have, w->imp_batches * FV_IMPORT_RECORDS);
		return false;
	}
	if (!walk_ns_path(w, "imp", path, sizeof(path)) || !walk_integrity(w, path))
		return false;
	/* With the fault gone, the next batch goes in. */
	if (code[0] != '\0') {
		batch = w->imp_batches + 1;
		walk_import(w, code, sizeof(code));
		if (code[0] != '\0' || walk_imp_count(w, batch) != FV_IMPORT_RECORDS) {
			snprintf(w->why, sizeof(w->why), "with the fault gone, the import"
			    " batch failed: %s", code);
			return false;
		}
	}
	return true;
}

/* ---- the walk --------------------------------------------------------------- */

/*
 * Walks fault points 1, 2, ... of op in mode until one is not reached;
 * returns the number of points walked, or -1 after a violation (w->why).
 */
static long
walk_run(struct walk *w, walk_op_fn op, enum faultvfs_mode mode)
{
	long n, fired;

	for (n = 1; n <= FV_MAX_POINTS; n++) {
		w->why[0] = '\0';
		fired = 0;
		if (!op(w, mode, n, &fired) || !walk_after_fault(w)) {
			tap_diag("at fault point %ld (%ld calls failed): %s", n, fired, w->why);
			return -1;
		}
		if (fired == 0)
			return n - 1;
	}
	tap_diag("more than %d fault points", FV_MAX_POINTS);
	return -1;
}

int
main(void)
{
	static const struct {
		const char *name;	/* the operation, for the report */
		walk_op_fn fn;		/* runs it at one fault point */
	} ops[] = {
		{ "write batch (stream.write)", op_write },
		{ "backup (backup_create)", op_backup },
		{ "import batch (/import)", op_import },
		/* Last: it writes thousands of messages, which the others
		 * would then have to copy and check at every point. */
		{ "WAL checkpoint", op_checkpoint },
	};
	struct walk w;
	struct store_options opt;
	char hash[TOKEN_HASH_HEX_LEN + 1], tok[TOKEN_MAX_LEN], code[256];
	enum evdb_status rs;
	long points, total = 0;
	size_t i;
	int m, k;
	struct timespec t0, t1;

	tap_plan((int)(sizeof(ops) / sizeof(ops[0])) * FAULTVFS_NMODES + 3);
	faultvfs_register();
	memset(&w, 0, sizeof(w));
	w.imp_gpos = 1;
	/* The checkpointer reports its failures only in the log. */
	snprintf(w.log_path, sizeof(w.log_path), "/tmp/evdb-faults-%ld.log",
	    (long)getpid());
	setenv("FUZZ_LOG", w.log_path, 1);
	fuzz_env_open(&w.env);

	/* Reopen with durability full, so that every commit syncs. */
	store_conn_close(w.env.conn);
	store_close(w.env.store);
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = w.env.data_dir;
	opt.durability = DURABILITY_FULL;
	opt.busy_timeout_ms = 1000;
	opt.log = &w.env.log;
	w.env.settings.durability = DURABILITY_FULL;
	rs = store_open(&opt, &w.env.store);
	if (rs == EVDB_OK)
		rs = store_conn_open(w.env.store, &w.env.conn);
	if (rs == EVDB_OK && (rs = token_generate("imp", tok, sizeof(tok))) == EVDB_OK) {
		token_hash(tok, strlen(tok), hash);
		rs = store_ns_create(w.env.conn, "imp", hash, NULL, NULL, timefmt_now_us());
	}
	ok(rs == EVDB_OK, "store open (durability full), namespace imp created: %s",
	    evdb_strerror(rs));
	if (rs != EVDB_OK)
		return tap_done();
	/* Something to back up and check from the start. */
	for (k = 0; k < 50; k++)
		(void)walk_rpc_write(&w, "fault-seed", code, sizeof(code));
	walk_import(&w, code, sizeof(code));
	ok(w.nacks == 50 && w.imp_batches == 1, "seed: %zu writes, %ld import batch",
	    w.nacks, w.imp_batches);

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		for (m = 0; m < FAULTVFS_NMODES; m++) {
			if (getenv("FV_ONLY") != NULL &&
			    strstr(ops[i].name, getenv("FV_ONLY")) == NULL) {
				ok(1, "# SKIP %s (FV_ONLY)", ops[i].name);
				continue;
			}
			if (ops[i].fn == op_checkpoint) {
				/*
				 * A namespace of its own per mode: integrity_check
				 * costs grow with the rows it checks at every point.
				 */
				snprintf(w.ck_ns, sizeof(w.ck_ns), "ck-%d", m);
				w.ck_acks = 0;
				if (token_generate(w.ck_ns, tok, sizeof(tok)) != EVDB_OK)
					abort();
				token_hash(tok, strlen(tok), hash);
				if (store_ns_create(w.env.conn, w.ck_ns, hash, NULL, NULL,
				    timefmt_now_us()) != EVDB_OK)
					abort();
			}
			clock_gettime(CLOCK_MONOTONIC, &t0);
			points = walk_run(&w, ops[i].fn, (enum faultvfs_mode)m);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ok(points > 0, "%s, %s: %ld fault points walked in %.2f s",
			    ops[i].name, faultvfs_mode_name((enum faultvfs_mode)m), points,
			    (double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			if (points > 0)
				total += points;
		}
	ok(walk_acks_ok(&w, -1), "all %zu acknowledged writes at their positions"
	    " at the end (%ld fault points in all)%s%s", w.nacks, total,
	    w.why[0] != '\0' ? ": " : "", w.why);
	fuzz_env_close(&w.env);
	unlink(w.log_path);
	free(w.acks);
	return tap_done();
}
