/*
 * backup.c - consistent online backups of a data directory with SQLite's
 * online backup API, and restoring them (see backup.h).
 *
 * Why a copy is consistent while evdb writes: the source connection opens
 * a read transaction before the first sqlite3_backup_step() and keeps it to
 * the end, so every step reads the same WAL snapshot.  Without it each step
 * would start a new read transaction, and any commit by another process in
 * between would make SQLite restart the copy from page 1, which under a
 * steady write load might never finish.  Writers are not blocked (WAL);
 * checkpoints just cannot pass the snapshot until the copy is done.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/backup.h"
#include "core/buf.h"
#include "cli/cli_progress.h"
#include "core/json_out.h"
#include "store/store.h"
#include "core/timefmt.h"
#include "core/version.h"
#include "core/xalloc.h"

#define BACKUP_FORMAT "evdb-backup"	/* backup.json's "format" */
#define BACKUP_FORMAT_VERSION 1		/* backup.json's "version" */
#define BACKUP_BUSY_SLEEP_US 20000	/* wait between two busy steps */
#define BACKUP_BUSY_MAX 3000		/* busy steps in a row before giving up (60 s) */

/* One namespace file of a backup. */
struct backup_ns {
	char *name;			/* namespace name; owned */
	int64_t generation;		/* registry row id: names the file */
	int64_t global_position;	/* highest global position in the copy (0: none) */
	int64_t messages;		/* messages in the copy */
	bool skipped;			/* deleted before it could be copied */
};

/* The namespaces of a backup. */
struct backup_list {
	struct backup_ns *ns;		/* ns[0..count); owned */
	size_t count;
	size_t cap;			/* allocated entries */
};

/* How a copied file is left. */
enum backup_mode {
	BACKUP_MODE_ROLLBACK,		/* self-contained file: a backup copy */
	BACKUP_MODE_WAL			/* as evdb runs it: a restored file */
};

static void
backup_list_free(struct backup_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->ns[i].name);
	free(l->ns);
	memset(l, 0, sizeof(*l));
}

static struct backup_ns *
backup_list_add(struct backup_list *l, const char *name, int64_t generation)
{
	struct backup_ns *n;

	if (l->count == l->cap) {
		l->cap = l->cap == 0 ? 8 : xmul(l->cap, 2);
		l->ns = xrealloc(l->ns, xmul(l->cap, sizeof(*l->ns)));
	}
	n = &l->ns[l->count++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->generation = generation;
	return n;
}

/* Sets path to dir/ns/<name>.<generation>.db. */
static void
backup_ns_path(struct buf *path, const char *dir, const struct backup_ns *n)
{
	buf_reset(path);
	buf_printf(path, "%s/ns/%s.%lld.db", dir, n->name, (long long)n->generation);
}

/* Removes path and SQLite's companion files. */
static void
backup_unlink_db(const char *path)
{
	static const char *const suffixes[] = { "", "-journal", "-wal", "-shm",
	    "-poke" };
	struct buf p;
	size_t i;

	buf_init(&p);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		buf_reset(&p);
		buf_printf(&p, "%s%s", path, suffixes[i]);
		(void)unlink(p.data);
	}
	buf_free(&p);
}

/* Runs sql on db; on failure describes it in err. */
static enum evdb_status
backup_exec(sqlite3 *db, const char *what, const char *sql, char *err,
    size_t err_size)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return EVDB_OK;
	snprintf(err, err_size, "%s: %s: %s", what, sql,
	    msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return EVDB_ERR_BACKEND;
}

/* Sets *v to the integer the one-row query sql yields (0 for NULL or no row). */
static enum evdb_status
backup_query_int(sqlite3 *db, const char *what, const char *sql, int64_t *v,
    char *err, size_t err_size)
{
	sqlite3_stmt *st = NULL;
	enum evdb_status rs = EVDB_OK;
	int rc;

	*v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		rs = EVDB_ERR_BACKEND;
out:
	if (rs != EVDB_OK)
		snprintf(err, err_size, "%s: %s: %s", what, sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rs;
}

/* Checks the structure of a copied file with PRAGMA quick_check. */
static enum evdb_status
backup_check(sqlite3 *db, const char *what, char *err, size_t err_size)
{
	sqlite3_stmt *st = NULL;
	enum evdb_status rs = EVDB_ERR_BACKEND;
	const char *res;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, err_size, "%s: quick_check: %s", what, sqlite3_errmsg(db));
		goto out;
	}
	res = (const char *)sqlite3_column_text(st, 0);
	if (res == NULL || strcmp(res, "ok") != 0) {
		snprintf(err, err_size, "%s: quick_check: %s", what,
		    res != NULL ? res : "(null)");
		goto out;
	}
	rs = EVDB_OK;
out:
	sqlite3_finalize(st);
	return rs;
}

/*
 * Copies the database src_path into dst_path (replaced if present) with the
 * online backup API, pages_per_step pages at a time, from one read
 * transaction of the source; leaves the copy in mode and checks it.
 * EVDB_ERR_NOT_FOUND when src_path does not exist.  On success *dst is the
 * open copy (the caller closes it), so the caller can read figures from it.
 */
static enum evdb_status
backup_copy(const char *src_path, const char *dst_path, const char *label,
    int pages_per_step, int step_delay_ms, enum backup_mode mode, FILE *log,
    sqlite3 **dst, char *err, size_t err_size)
{
	sqlite3 *src = NULL, *out = NULL;
	sqlite3_backup *b = NULL;
	struct cli_progress prog;
	enum evdb_status rs = EVDB_ERR_BACKEND;
	int rc, busy = 0, total, fd;

	*dst = NULL;
	if (access(src_path, F_OK) != 0 && errno == ENOENT) {
		snprintf(err, err_size, "%s: no such file", src_path);
		return EVDB_ERR_NOT_FOUND;
	}
	rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "cannot open %s: %s", src_path,
		    src != NULL ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		rs = access(src_path, F_OK) != 0 ? EVDB_ERR_NOT_FOUND : EVDB_ERR_BACKEND;
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* Pin one snapshot for the whole copy (see the top of this file). */
	if ((rs = backup_exec(src, src_path, "BEGIN; SELECT count(*) FROM sqlite_schema;",
	    err, err_size)) != EVDB_OK)
		goto out;
	backup_unlink_db(dst_path);
	/*
	 * Created empty first, for its mode: SQLite would use 0644, and gives
	 * its journal files the mode of the database file.
	 */
	if ((fd = open(dst_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, err_size, "cannot create %s: %s", dst_path, strerror(errno));
		rs = EVDB_ERR_IO;
		goto out;
	}
	close(fd);
	rc = sqlite3_open_v2(dst_path, &out, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "cannot create %s: %s", dst_path,
		    out != NULL ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
		rs = EVDB_ERR_IO;
		goto out;
	}
	sqlite3_busy_timeout(out, 5000);
	if ((b = sqlite3_backup_init(out, "main", src, "main")) == NULL) {
		snprintf(err, err_size, "%s: %s", dst_path, sqlite3_errmsg(out));
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	cli_progress_init(&prog, log, log == NULL, label, "pages");
	for (;;) {
		rc = sqlite3_backup_step(b, pages_per_step);
		total = sqlite3_backup_pagecount(b);
		cli_progress_set_total(&prog, total);
		cli_progress_update(&prog, total - sqlite3_backup_remaining(b),
		    total - sqlite3_backup_remaining(b));
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK) {
			busy = 0;
			if (step_delay_ms > 0)
				usleep((useconds_t)step_delay_ms * 1000);
			continue;
		}
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < BACKUP_BUSY_MAX) {
			usleep(BACKUP_BUSY_SLEEP_US);
			continue;
		}
		cli_progress_break(&prog);
		snprintf(err, err_size, "copying %s to %s: %s", src_path, dst_path,
		    sqlite3_errstr(rc));
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "copying %s to %s: %s", src_path, dst_path,
		    sqlite3_errmsg(out));
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	if (prog.tty)	/* the bar's last state was throttled away: settle it */
		cli_progress_finish(&prog, total, NULL, NULL);
	/* The copy keeps the source's WAL flag; set the mode wanted. */
	if ((rs = backup_exec(out, dst_path, mode == BACKUP_MODE_WAL ?
	    "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE",
	    err, err_size)) != EVDB_OK ||
	    (rs = backup_check(out, dst_path, err, err_size)) != EVDB_OK)
		goto out;
	*dst = out;
	out = NULL;
	rs = EVDB_OK;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	sqlite3_close(out);
	if (src != NULL) {
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(src);
	}
	return rs;
}

/* Reads a namespace copy's figures: highest global position, message count. */
static enum evdb_status
backup_ns_figures(sqlite3 *db, const char *what, struct backup_ns *n,
    char *err, size_t err_size)
{
	enum evdb_status rs;

	if ((rs = backup_query_int(db, what,
	    "SELECT max(global_position) FROM messages", &n->global_position,
	    err, err_size)) != EVDB_OK)
		return rs;
	return backup_query_int(db, what, "SELECT count(*) FROM messages",
	    &n->messages, err, err_size);
}

/* Creates the missing parents of path (mode 0700), as mkdir -p does. */
static void
backup_mkparents(const char *path)
{
	char *p = xstrdup(path), *slash;

	for (slash = strchr(p + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(p, 0700);	/* failures show when dir itself is made */
		*slash = '/';
	}
	free(p);
}

/*
 * Creates dir (mode 0700, and its missing parents), or accepts it when it
 * exists; *was_empty tells whether it holds anything.
 */
static enum evdb_status
backup_fresh_dir(const char *dir, bool *was_empty, char *err, size_t err_size)
{
	struct dirent *e;
	DIR *d;

	*was_empty = true;
	backup_mkparents(dir);
	if (mkdir(dir, 0700) == 0)
		return EVDB_OK;
	if (errno != EEXIST) {
		snprintf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
		return EVDB_ERR_IO;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, err_size, "cannot open %s: %s", dir, strerror(errno));
		return EVDB_ERR_IO;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			*was_empty = false;
			break;
		}
	closedir(d);
	return EVDB_OK;
}

/* Writes text to path through a temporary file, durably. */
static enum evdb_status
backup_write_file(const char *dir, const char *name, const struct buf *text,
    char *err, size_t err_size)
{
	struct buf path, tmp;
	enum evdb_status rs = EVDB_ERR_IO;
	int fd = -1, dfd = -1;

	buf_init(&path);
	buf_init(&tmp);
	buf_printf(&path, "%s/%s", dir, name);
	buf_printf(&tmp, "%s/.%s.tmp", dir, name);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text->data, text->len) != (ssize_t)text->len ||
	    fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		snprintf(err, err_size, "cannot write %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.data, path.data) != 0) {
		snprintf(err, err_size, "cannot rename %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(dfd);
	rs = EVDB_OK;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	buf_free(&path);
	buf_free(&tmp);
	return rs;
}

/* Fills l with the namespaces of the registry database db. */
static enum evdb_status
backup_read_registry(sqlite3 *db, const char *what, struct backup_list *l,
    char *err, size_t err_size)
{
	sqlite3_stmt *st = NULL;
	enum evdb_status rs = EVDB_ERR_BACKEND;
	const char *name;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT name, id FROM namespaces ORDER BY id",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		/* The name becomes a file name: never trust it blindly. */
		if (name == NULL || !store_ns_name_valid(name)) {
			snprintf(err, err_size, "%s: invalid namespace name '%s'", what,
			    name != NULL ? name : "");
			rs = EVDB_ERR_INVALID;
			goto out;
		}
		backup_list_add(l, name, sqlite3_column_int64(st, 1));
	}
	if (rc == SQLITE_DONE)
		rs = EVDB_OK;
out:
	if (rs == EVDB_ERR_BACKEND)
		snprintf(err, err_size, "%s: reading the namespaces: %s", what,
		    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rs;
}

/* backup.json: what was copied, and up to where. */
static void
backup_manifest(struct buf *out, const struct backup_options *o,
    int64_t started_us, int64_t finished_us, const struct backup_list *l)
{
	const struct backup_ns *n;
	struct buf file;
	size_t i;
	bool first = true;

	buf_init(&file);
	buf_puts(out, "{");
	json_out_key(out, "format");
	json_out_cstr(out, BACKUP_FORMAT);
	buf_putc(out, ',');
	json_out_key(out, "version");
	json_out_int(out, BACKUP_FORMAT_VERSION);
	buf_putc(out, ',');
	json_out_key(out, "evdb");
	json_out_cstr(out, EVDB_VERSION);
	buf_putc(out, ',');
	json_out_key(out, "time");
	json_out_time(out, started_us);
	buf_putc(out, ',');
	json_out_key(out, "finished");
	json_out_time(out, finished_us);
	buf_putc(out, ',');
	json_out_key(out, "data_dir");
	json_out_cstr(out, o->data_dir);
	buf_puts(out, ",\n ");
	json_out_key(out, "namespaces");
	buf_puts(out, "[");
	for (i = 0; i < l->count; i++) {
		n = &l->ns[i];
		if (n->skipped)
			continue;
		buf_puts(out, first ? "\n  {" : ",\n  {");
		first = false;
		json_out_key(out, "name");
		json_out_cstr(out, n->name);
		buf_putc(out, ',');
		json_out_key(out, "generation");
		json_out_int(out, n->generation);
		buf_putc(out, ',');
		json_out_key(out, "file");
		buf_reset(&file);
		buf_printf(&file, "ns/%s.%lld.db", n->name, (long long)n->generation);
		json_out_cstr(out, file.data);
		buf_putc(out, ',');
		json_out_key(out, "global_position");
		json_out_int(out, n->global_position);
		buf_putc(out, ',');
		json_out_key(out, "messages");
		json_out_int(out, n->messages);
		buf_putc(out, '}');
	}
	buf_puts(out, "\n ]}\n");
	buf_free(&file);
}

enum evdb_status
backup_create(const struct backup_options *o, char *err, size_t err_size)
{
	struct backup_list l = { NULL, 0, 0 };
	struct buf src, dst, manifest, label;
	sqlite3 *reg = NULL, *db = NULL;
	struct backup_ns *n;
	enum evdb_status rs;
	int64_t started_us = timefmt_now_us();
	int pages = o->pages_per_step > 0 ? o->pages_per_step : BACKUP_PAGES_PER_STEP;
	bool empty;
	size_t i, copied = 0;
	sqlite3_stmt *del = NULL;

	buf_init(&src);
	buf_init(&dst);
	buf_init(&manifest);
	buf_init(&label);
	buf_printf(&src, "%s/registry.db", o->data_dir);
	if (access(src.data, R_OK) != 0) {
		snprintf(err, err_size, "%s: %s (is %s the data directory of a"
		    " SQLite store?  A PostgreSQL store is backed up with pg_dump:"
		    " docs/operations.md, \"Backups on PostgreSQL\")", src.data,
		    strerror(errno), o->data_dir);
		rs = EVDB_ERR_NOT_FOUND;
		goto out;
	}
	if ((rs = backup_fresh_dir(o->out_dir, &empty, err, err_size)) != EVDB_OK)
		goto out;
	if (!empty) {
		snprintf(err, err_size, "%s is not empty: back up into a new directory",
		    o->out_dir);
		rs = EVDB_ERR_EXISTS;
		goto out;
	}
	buf_printf(&dst, "%s/ns", o->out_dir);
	if (mkdir(dst.data, 0700) != 0) {
		snprintf(err, err_size, "cannot create %s: %s", dst.data, strerror(errno));
		rs = EVDB_ERR_IO;
		goto out;
	}

	/* The registry first: it decides which namespace files belong. */
	buf_reset(&dst);
	buf_printf(&dst, "%s/registry.db", o->out_dir);
	if ((rs = backup_copy(src.data, dst.data, "registry.db", pages,
	    o->step_delay_ms, BACKUP_MODE_ROLLBACK, o->log, &reg, err, err_size)) != EVDB_OK ||
	    (rs = backup_read_registry(reg, dst.data, &l, err, err_size)) != EVDB_OK)
		goto out;

	for (i = 0; i < l.count; i++) {
		n = &l.ns[i];
		backup_ns_path(&src, o->data_dir, n);
		backup_ns_path(&dst, o->out_dir, n);
		buf_reset(&label);
		buf_printf(&label, "ns %s", n->name);
		rs = backup_copy(src.data, dst.data, label.data, pages,
		    o->step_delay_ms, BACKUP_MODE_ROLLBACK, o->log, &db, err, err_size);
		if (rs == EVDB_ERR_NOT_FOUND) {
			/* Deleted since the registry was copied: drop it from the copy. */
			n->skipped = true;
			if (o->log != NULL)
				fprintf(o->log, "namespace %s was deleted during the backup;"
				    " left out\n", n->name);
			if (sqlite3_prepare_v2(reg, "DELETE FROM namespaces WHERE id = ?1",
			    -1, &del, NULL) != SQLITE_OK) {
				snprintf(err, err_size, "%s: %s", dst.data, sqlite3_errmsg(reg));
				rs = EVDB_ERR_BACKEND;
				goto out;
			}
			sqlite3_bind_int64(del, 1, n->generation);
			if (sqlite3_step(del) != SQLITE_DONE) {
				snprintf(err, err_size, "%s: %s", dst.data, sqlite3_errmsg(reg));
				rs = EVDB_ERR_BACKEND;
				goto out;
			}
			sqlite3_finalize(del);
			del = NULL;
			continue;
		}
		if (rs != EVDB_OK ||
		    (rs = backup_ns_figures(db, dst.data, n, err, err_size)) != EVDB_OK)
			goto out;
		sqlite3_close(db);
		db = NULL;
		copied++;
		if (o->log != NULL)
			fprintf(o->log, "namespace %s: %lld messages, up to global position %lld\n",
			    n->name, (long long)n->messages, (long long)n->global_position);
	}
	sqlite3_close(reg);
	reg = NULL;

	/* Written last: a backup without backup.json is incomplete. */
	backup_manifest(&manifest, o, started_us, timefmt_now_us(), &l);
	if ((rs = backup_write_file(o->out_dir, "backup.json", &manifest, err,
	    err_size)) != EVDB_OK)
		goto out;
	if (o->log != NULL)
		fprintf(o->log, "backup of %s complete in %s: %zu namespace%s, %.1fs\n",
		    o->data_dir, o->out_dir, copied, copied == 1 ? "" : "s",
		    (double)(timefmt_now_us() - started_us) / 1e6);
	rs = EVDB_OK;
out:
	sqlite3_finalize(del);
	sqlite3_close(db);
	sqlite3_close(reg);
	backup_list_free(&l);
	buf_free(&src);
	buf_free(&dst);
	buf_free(&manifest);
	buf_free(&label);
	return rs;
}

/* ---- restore ------------------------------------------------------------ */

/*
 * Reads from_dir/backup.json into l (name, generation, global_position of
 * every namespace).
 */
static enum evdb_status
backup_read_manifest(const char *from_dir, struct backup_list *l, char *err,
    size_t err_size)
{
	struct json_object *root = NULL, *v, *arr, *e, *name, *gen, *gpos;
	enum evdb_status rs = EVDB_ERR_INVALID;
	struct backup_ns *n;
	struct buf path;
	size_t i, len;

	buf_init(&path);
	buf_printf(&path, "%s/backup.json", from_dir);
	if (access(path.data, R_OK) != 0) {
		snprintf(err, err_size, "%s: %s (not a complete evdb backup)", path.data,
		    strerror(errno));
		rs = EVDB_ERR_NOT_FOUND;
		goto out;
	}
	if ((root = json_object_from_file(path.data)) == NULL ||
	    !json_object_object_get_ex(root, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), BACKUP_FORMAT) != 0 ||
	    !json_object_object_get_ex(root, "version", &v) ||
	    json_object_get_int64(v) != BACKUP_FORMAT_VERSION ||
	    !json_object_object_get_ex(root, "namespaces", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, err_size, "%s: not an evdb backup manifest (format %s %d)",
		    path.data, BACKUP_FORMAT, BACKUP_FORMAT_VERSION);
		goto out;
	}
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(e, "name", &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    !store_ns_name_valid(json_object_get_string(name)) ||
		    !json_object_object_get_ex(e, "generation", &gen) ||
		    !json_object_is_type(gen, json_type_int) ||
		    !json_object_object_get_ex(e, "global_position", &gpos) ||
		    !json_object_is_type(gpos, json_type_int)) {
			snprintf(err, err_size, "%s: namespace entry %zu is malformed",
			    path.data, i);
			goto out;
		}
		n = backup_list_add(l, json_object_get_string(name),
		    json_object_get_int64(gen));
		n->global_position = json_object_get_int64(gpos);
	}
	rs = EVDB_OK;
out:
	json_object_put(root);
	buf_free(&path);
	return rs;
}

/* The manifest's entry for generation gen, or NULL. */
static struct backup_ns *
backup_list_find(struct backup_list *l, const char *name, int64_t gen)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (l->ns[i].generation == gen && strcmp(l->ns[i].name, name) == 0)
			return &l->ns[i];
	return NULL;
}

/* Removes the evdb databases of data_dir (registry and namespace files). */
static enum evdb_status
backup_clear_target(const char *data_dir, char *err, size_t err_size)
{
	struct buf path;
	struct dirent *e;
	DIR *d = NULL;

	buf_init(&path);
	buf_printf(&path, "%s/registry.db", data_dir);
	backup_unlink_db(path.data);
	buf_reset(&path);
	buf_printf(&path, "%s/ns", data_dir);
	if ((d = opendir(path.data)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			/* <name>.<generation>.db and its -wal, -shm, -poke */
			if (e->d_name[0] == '.' || strstr(e->d_name, ".db") == NULL)
				continue;
			buf_reset(&path);
			buf_printf(&path, "%s/ns/%s", data_dir, e->d_name);
			if (unlink(path.data) != 0 && errno != ENOENT) {
				snprintf(err, err_size, "cannot remove %s: %s", path.data,
				    strerror(errno));
				closedir(d);
				buf_free(&path);
				return EVDB_ERR_IO;
			}
		}
		closedir(d);
	}
	buf_free(&path);
	return EVDB_OK;
}

enum evdb_status
backup_restore(const struct restore_options *o, char *err, size_t err_size)
{
	struct backup_list manifest = { NULL, 0, 0 }, reg_list = { NULL, 0, 0 };
	struct buf src, dst, label;
	sqlite3 *reg = NULL, *db = NULL;
	struct backup_ns fig, *m;
	enum evdb_status rs;
	int64_t started_us = timefmt_now_us();
	bool empty, registry_started = false;
	size_t i;

	buf_init(&src);
	buf_init(&dst);
	buf_init(&label);
	if ((rs = backup_read_manifest(o->from_dir, &manifest, err, err_size)) != EVDB_OK)
		goto out;
	/* The backup's registry lists the files; the manifest must agree. */
	buf_printf(&src, "%s/registry.db", o->from_dir);
	if (sqlite3_open_v2(src.data, &reg, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "cannot open %s: %s", src.data,
		    reg != NULL ? sqlite3_errmsg(reg) : "out of memory");
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	if ((rs = backup_check(reg, src.data, err, err_size)) != EVDB_OK ||
	    (rs = backup_read_registry(reg, src.data, &reg_list, err, err_size)) != EVDB_OK)
		goto out;
	sqlite3_close(reg);
	reg = NULL;
	if (reg_list.count != manifest.count) {
		snprintf(err, err_size, "%s lists %zu namespaces, backup.json %zu",
		    src.data, reg_list.count, manifest.count);
		rs = EVDB_ERR_INVALID;
		goto out;
	}
	for (i = 0; i < reg_list.count; i++)
		if (backup_list_find(&manifest, reg_list.ns[i].name,
		    reg_list.ns[i].generation) == NULL) {
			snprintf(err, err_size, "namespace %s (generation %lld) of %s is"
			    " missing from backup.json", reg_list.ns[i].name,
			    (long long)reg_list.ns[i].generation, src.data);
			rs = EVDB_ERR_INVALID;
			goto out;
		}

	if ((rs = backup_fresh_dir(o->data_dir, &empty, err, err_size)) != EVDB_OK)
		goto out;
	if (!empty && !o->force) {
		snprintf(err, err_size, "%s is not empty; restore into an empty"
		    " directory, or use --force to replace its databases", o->data_dir);
		rs = EVDB_ERR_EXISTS;
		goto out;
	}
	registry_started = true;	/* from here on, a failure removes registry.db */
	if (!empty && (rs = backup_clear_target(o->data_dir, err, err_size)) != EVDB_OK)
		goto out;
	buf_reset(&dst);
	buf_printf(&dst, "%s/ns", o->data_dir);
	if (mkdir(dst.data, 0700) != 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot create %s: %s", dst.data, strerror(errno));
		rs = EVDB_ERR_IO;
		goto out;
	}

	/* Namespaces first, the registry last: it makes the directory complete. */
	for (i = 0; i < manifest.count; i++) {
		m = &manifest.ns[i];
		backup_ns_path(&src, o->from_dir, m);
		backup_ns_path(&dst, o->data_dir, m);
		buf_reset(&label);
		buf_printf(&label, "ns %s", m->name);
		if ((rs = backup_copy(src.data, dst.data, label.data,
		    BACKUP_PAGES_PER_STEP, 0, BACKUP_MODE_WAL, o->log, &db, err,
		    err_size)) != EVDB_OK)
			goto out;
		memset(&fig, 0, sizeof(fig));
		if ((rs = backup_ns_figures(db, dst.data, &fig, err, err_size)) != EVDB_OK)
			goto out;
		sqlite3_close(db);
		db = NULL;
		if (fig.global_position != m->global_position) {
			snprintf(err, err_size, "%s holds messages up to global position"
			    " %lld, backup.json says %lld", src.data,
			    (long long)fig.global_position, (long long)m->global_position);
			rs = EVDB_ERR_INVALID;
			goto out;
		}
		if (o->log != NULL)
			fprintf(o->log, "namespace %s: %lld messages, up to global position %lld\n",
			    m->name, (long long)fig.messages, (long long)fig.global_position);
	}
	buf_reset(&src);
	buf_printf(&src, "%s/registry.db", o->from_dir);
	buf_reset(&dst);
	buf_printf(&dst, "%s/registry.db", o->data_dir);
	if ((rs = backup_copy(src.data, dst.data, "registry.db",
	    BACKUP_PAGES_PER_STEP, 0, BACKUP_MODE_WAL, o->log, &reg, err,
	    err_size)) != EVDB_OK)
		goto out;
	sqlite3_close(reg);
	reg = NULL;
	if (o->log != NULL) {
		fprintf(o->log, "restored %s into %s: %zu namespace%s, %.1fs\n",
		    o->from_dir, o->data_dir, manifest.count,
		    manifest.count == 1 ? "" : "s",
		    (double)(timefmt_now_us() - started_us) / 1e6);
		buf_reset(&dst);
		buf_printf(&dst, "%s/admin.token", o->data_dir);
		if (access(dst.data, F_OK) == 0)
			fprintf(o->log, "note: %s was left as it was; the tokens in force"
			    " are those of the backup\n", dst.data);
	}
	rs = EVDB_OK;
out:
	sqlite3_close(db);
	sqlite3_close(reg);
	if (rs != EVDB_OK && registry_started) {
		buf_reset(&dst);
		buf_printf(&dst, "%s/registry.db", o->data_dir);
		backup_unlink_db(dst.data);
	}
	backup_list_free(&manifest);
	backup_list_free(&reg_list);
	buf_free(&src);
	buf_free(&dst);
	buf_free(&label);
	return rs;
}
