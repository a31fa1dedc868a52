/*
 * report.c - stream, category and type summaries of a namespace, read
 * straight from its database file (see report.h).
 *
 * The rows are gathered first (bounded by --limit) so that the column
 * widths are known before anything is printed; the totals line comes from
 * the namespace's stats row, so it costs nothing.
 */
#include "config.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "cli/report.h"
#include "store/store.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define REPORT_MAX_NUMS 2	/* numeric columns besides LAST ACTIVITY */

/* What one kind of report selects and how its columns are titled. */
struct report_def {
	const char *name;		/* as typed on the command line */
	const char *sql;		/* name, nums..., max(time_us); ? = limit */
	int nnums;			/* numeric columns */
	const char *titles[REPORT_MAX_NUMS + 1]; /* name column, then the numbers */
	const char *noun;		/* for the totals line: "streams"... */
};

static const struct report_def report_defs[] = {
	[REPORT_STREAMS] = { "streams",
	    "SELECT stream_name, count(*), max(position), max(time_us)"
	    " FROM messages GROUP BY stream_name ORDER BY stream_name LIMIT ?1",
	    2, { "STREAM", "MESSAGES", "VERSION" }, "streams" },
	[REPORT_CATEGORIES] = { "categories",
	    "SELECT category, count(DISTINCT stream_name), count(*), max(time_us)"
	    " FROM messages GROUP BY category ORDER BY category LIMIT ?1",
	    2, { "CATEGORY", "STREAMS", "MESSAGES" }, "categories" },
	[REPORT_TYPES] = { "types",
	    "SELECT type, count(*), max(time_us)"
	    " FROM messages GROUP BY type ORDER BY type LIMIT ?1",
	    1, { "TYPE", "MESSAGES" }, "types" },
};

/* One gathered row. */
struct report_row {
	size_t name_off;		/* the display name, in the names buffer */
	size_t name_len;		/* its length in bytes */
	size_t name_width;		/* its width in code points */
	int64_t nums[REPORT_MAX_NUMS];	/* the numeric columns */
	int64_t last_us;		/* last activity */
};

/* Rows gathered so far; owns its storage. */
struct report_table {
	struct report_row *rows;	/* rows[0..nrows) */
	size_t nrows;
	size_t cap;			/* allocated rows */
	struct buf names;		/* every display name, back to back */
	size_t width[REPORT_MAX_NUMS + 1]; /* column widths: name, numbers */
};

bool
report_kind_parse(const char *s, enum report_kind *out)
{
	size_t i;

	for (i = 0; i < sizeof(report_defs) / sizeof(report_defs[0]); i++)
		if (strcmp(s, report_defs[i].name) == 0) {
			*out = (enum report_kind)i;
			return true;
		}
	return false;
}

/* Code points in s[0..len): bytes that do not continue a UTF-8 sequence. */
static size_t
report_width(const char *s, size_t len)
{
	size_t i, w = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

static size_t
report_num_width(int64_t v)
{
	char tmp[24];

	return (size_t)snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
}

/* Appends a row, its name with control characters replaced by '?'. */
static void
report_add(struct report_table *t, const char *name, size_t len,
    const int64_t *nums, int nnums, int64_t last_us)
{
	struct report_row *r;
	size_t i;
	int k;

	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 64 : xmul(t->cap, 2);
		t->rows = xrealloc(t->rows, xmul(t->cap, sizeof(*t->rows)));
	}
	r = &t->rows[t->nrows++];
	r->name_off = t->names.len;
	r->name_len = len;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		buf_putc(&t->names, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	r->name_width = report_width(name, len);
	if (r->name_width > t->width[0])
		t->width[0] = r->name_width;
	for (k = 0; k < nnums; k++) {
		r->nums[k] = nums[k];
		if (report_num_width(nums[k]) > t->width[k + 1])
			t->width[k + 1] = report_num_width(nums[k]);
	}
	r->last_us = last_us;
}

/* Writes s padded with blanks to width code points (w is s's own width). */
static void
report_pad(FILE *out, const char *s, size_t len, size_t w, size_t width)
{
	fwrite(s, 1, len, out);
	for (; w < width; w++)
		fputc(' ', out);
}

static void
report_write(const struct report_def *d, const struct report_table *t,
    FILE *out)
{
	char when[TIMEFMT_LEN + 1];
	const struct report_row *r;
	size_t i;
	int k;

	report_pad(out, d->titles[0], strlen(d->titles[0]), strlen(d->titles[0]),
	    t->width[0]);
	for (k = 0; k < d->nnums; k++)
		fprintf(out, "  %*s", (int)t->width[k + 1], d->titles[k + 1]);
	fputs("  LAST ACTIVITY\n", out);
	for (i = 0; i < t->nrows; i++) {
		r = &t->rows[i];
		report_pad(out, t->names.data + r->name_off, r->name_len,
		    r->name_width, t->width[0]);
		for (k = 0; k < d->nnums; k++)
			fprintf(out, "  %*lld", (int)t->width[k + 1],
			    (long long)r->nums[k]);
		timefmt_format_us(r->last_us, when);
		fprintf(out, "  %s\n", when);
	}
}

/* Opens path read-only; on failure describes it in err. */
static enum evdb_status
report_open(const char *path, sqlite3 **db, char *err, size_t err_size)
{
	int rc;

	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_size, "cannot open %s: %s", path,
		    *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		return EVDB_ERR_BACKEND;
	}
	sqlite3_busy_timeout(*db, 5000);
	return EVDB_OK;
}

/* Finds the generation (registry row id) of namespace ns. */
static enum evdb_status
report_generation(const char *data_dir, const char *ns, int64_t *gen,
    char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	enum evdb_status rs;
	struct buf path;
	int rc;

	buf_init(&path);
	buf_printf(&path, "%s/registry.db", data_dir);
	if (access(path.data, R_OK) != 0) {
		snprintf(err, err_size, "%s: %s (is %s the data directory of a SQLite"
		    " store?  On PostgreSQL, query the namespace's messages table)",
		    path.data, strerror(errno), data_dir);
		rs = EVDB_ERR_NOT_FOUND;
		goto out;
	}
	if ((rs = report_open(path.data, &db, err, err_size)) != EVDB_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT id FROM namespaces WHERE name = ?1", -1,
	    &st, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "%s: %s", path.data, sqlite3_errmsg(db));
		rs = EVDB_ERR_BACKEND;
		goto out;
	}
	sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*gen = sqlite3_column_int64(st, 0);
		rs = EVDB_OK;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, err_size, "no namespace '%s' in %s", ns, data_dir);
		rs = EVDB_ERR_NOT_FOUND;
	} else {
		snprintf(err, err_size, "%s: %s", path.data, sqlite3_errmsg(db));
		rs = EVDB_ERR_BACKEND;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	buf_free(&path);
	return rs;
}

enum evdb_status
report_print(const struct report_options *o, char *err, size_t err_size)
{
	const struct report_def *d = &report_defs[o->kind];
	struct report_table t;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	enum evdb_status rs;
	int64_t gen, nums[REPORT_MAX_NUMS], messages = 0, streams = 0;
	struct buf path;
	int rc, k;

	memset(&t, 0, sizeof(t));
	buf_init(&t.names);
	buf_init(&path);
	if (!store_ns_name_valid(o->ns)) {
		snprintf(err, err_size, "invalid namespace name '%s'", o->ns);
		rs = EVDB_ERR_INVALID;
		goto out;
	}
	if ((rs = report_generation(o->data_dir, o->ns, &gen, err, err_size)) != EVDB_OK)
		goto out;
	buf_printf(&path, "%s/ns/%s.%lld.db", o->data_dir, o->ns, (long long)gen);
	if ((rs = report_open(path.data, &db, err, err_size)) != EVDB_OK)
		goto out;
	rs = EVDB_ERR_BACKEND;
	/* One read transaction: the rows and the totals are one snapshot. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, d->sql, -1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(st, 1, o->limit);
	t.width[0] = strlen(d->titles[0]);
	for (k = 0; k < d->nnums; k++)
		t.width[k + 1] = strlen(d->titles[k + 1]);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (k = 0; k < d->nnums; k++)
			nums[k] = sqlite3_column_int64(st, k + 1);
		report_add(&t, (const char *)sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), nums, d->nnums,
		    sqlite3_column_int64(st, d->nnums + 1));
	}
	if (rc != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT message_count, stream_count FROM stats"
	    " WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		messages = sqlite3_column_int64(st, 0);
		streams = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		goto sqlfail;
	report_write(d, &t, o->out);
	fprintf(o->out, "(%zu %s; namespace %s: %lld messages in %lld streams)\n",
	    t.nrows, d->noun, o->ns, (long long)messages, (long long)streams);
	if (fflush(o->out) != 0 || ferror(o->out)) {
		snprintf(err, err_size, "cannot write the report");
		rs = EVDB_ERR_IO;
		goto out;
	}
	rs = EVDB_OK;
	goto out;
sqlfail:
	snprintf(err, err_size, "%s: %s", path.data, sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);	/* ends the read transaction */
	free(t.rows);
	buf_free(&t.names);
	buf_free(&path);
	return rs;
}
