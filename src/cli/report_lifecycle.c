/*
 * report_lifecycle.c - evdb report lifecycle: a namespace's streams with a
 * lifecycle state (deleted, truncated, or with a retention of their own)
 * and its category retentions (see report.h), read through the store the
 * CLI opened (either backend, store_lifecycle_list()).
 *
 * Two tables follow each other, then a totals line:
 *   STREAM  STATE  VERSION  MESSAGES  FLOOR  MAX AGE  MAX COUNT  CHANGED
 *   CATEGORY  MAX AGE  MAX COUNT
 * STATE is "hard" (tombstoned), "soft" (soft-deleted, nothing written
 * since) or "-"; VERSION is what stream.version reads ("-": absent);
 * MAX AGE (seconds) and MAX COUNT are the row's own settings ("-": none);
 * a stream's effective retention also takes its category's, key by key.
 * Names are shown with control characters as '?' and padded by code
 * points, as in the other reports.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "core/buf.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "store/store.h"

#define LC_STREAM_COLS 8
#define LC_CATEGORY_COLS 3

/* One table of text cells: names and words left-aligned, numbers
 * right-aligned (lc_write). */
struct lc_table {
	const char *const *titles;
	int ncols;
	char **cells;			/* cells[row * ncols + col], owned */
	size_t nrows, cap;
	size_t width[LC_STREAM_COLS];	/* in code points */
	size_t soft, hard;		/* counts, for the totals line */
};

static const char *const lc_stream_titles[LC_STREAM_COLS] = {
	"STREAM", "STATE", "VERSION", "MESSAGES", "FLOOR", "MAX AGE",
	"MAX COUNT", "CHANGED"
};
static const char *const lc_category_titles[LC_CATEGORY_COLS] = {
	"CATEGORY", "MAX AGE", "MAX COUNT"
};

/* Both tables, filled by one store_lifecycle_list(). */
struct lc_report {
	struct lc_table streams, categories;
};

/* Code points in s: bytes that do not continue a UTF-8 sequence. */
static size_t
lc_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static char *
lc_num(int64_t v)
{
	char tmp[24];

	if (v < 0)
		return xstrdup("-");
	snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	return xstrdup(tmp);
}

/* name[0..len) with control characters as '?'. */
static char *
lc_name(const char *name, size_t len)
{
	char *s = xmalloc(xadd(len, 1));
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		s[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	s[len] = '\0';
	return s;
}

static char **
lc_new_row(struct lc_table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 16 : xmul(t->cap, 2);
		t->cells = xrealloc(t->cells,
		    xmul(xmul(t->cap, (size_t)t->ncols), sizeof(*t->cells)));
	}
	return &t->cells[t->nrows++ * (size_t)t->ncols];
}

/* A store_lifecycle_fn: appends r to its table. */
static enum evdb_status
lc_add(void *ctx, const struct store_lifecycle_row *r)
{
	struct lc_report *rep = ctx;
	struct lc_table *t = r->category ? &rep->categories : &rep->streams;
	char when[TIMEFMT_LEN + 1], **row = lc_new_row(t);
	int k;

	row[0] = lc_name(r->name, r->name_len);
	if (r->category) {
		row[1] = lc_num(r->max_age);
		row[2] = lc_num(r->max_count);
	} else {
		row[1] = xstrdup(r->deleted == 2 ? "hard" :
		    r->deleted == 1 ? "soft" : "-");
		row[2] = lc_num(r->version);
		row[3] = lc_num(r->message_count);
		row[4] = lc_num(r->floor);
		row[5] = lc_num(r->max_age);
		row[6] = lc_num(r->max_count);
		if (r->changed_us >= 0) {
			timefmt_format_us(r->changed_us, when);
			row[7] = xstrdup(when);
		} else
			row[7] = xstrdup("-");
		t->hard += r->deleted == 2;
		t->soft += r->deleted == 1;
	}
	for (k = 0; k < t->ncols; k++)
		if (lc_width(row[k]) > t->width[k])
			t->width[k] = lc_width(row[k]);
	return EVDB_OK;
}

static void
lc_cell(FILE *out, const char *s, size_t width, bool right, bool last)
{
	size_t w = lc_width(s);

	for (; right && w < width; w++)
		fputc(' ', out);
	fputs(s, out);
	for (; !right && !last && w < width; w++)
		fputc(' ', out);
	fputs(last ? "\n" : "  ", out);
}

static void
lc_write(const struct lc_table *t, FILE *out)
{
	size_t i;
	int k;
	bool last, right;

	for (i = 0; i <= t->nrows; i++)
		for (k = 0; k < t->ncols; k++) {
			last = k == t->ncols - 1;
			/* Names, STATE and CHANGED to the left. */
			right = k > 0 && !(t->ncols == LC_STREAM_COLS &&
			    (k == 1 || last));
			lc_cell(out, i == 0 ? t->titles[k] :
			    t->cells[(i - 1) * (size_t)t->ncols + (size_t)k],
			    t->width[k], right, last);
		}
}

static void
lc_table_init(struct lc_table *t, const char *const *titles, int ncols)
{
	int k;

	memset(t, 0, sizeof(*t));
	t->titles = titles;
	t->ncols = ncols;
	for (k = 0; k < ncols; k++)
		t->width[k] = lc_width(titles[k]);
}

static void
lc_table_free(struct lc_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

enum evdb_status
report_lifecycle_print(const struct report_options *o, char *err,
    size_t err_size)
{
	struct lc_report rep;
	struct store_conn *c = NULL;
	enum evdb_status rs;

	lc_table_init(&rep.streams, lc_stream_titles, LC_STREAM_COLS);
	lc_table_init(&rep.categories, lc_category_titles, LC_CATEGORY_COLS);
	if ((rs = report_conn_open(o, &c, err, err_size)) != EVDB_OK)
		goto out;
	if ((rs = store_lifecycle_list(c, o->ns, o->limit, lc_add, &rep)) !=
	    EVDB_OK) {
		report_read_failed(o, c, rs, err, err_size);
		goto out;
	}
	lc_write(&rep.streams, o->out);
	fputc('\n', o->out);
	lc_write(&rep.categories, o->out);
	fprintf(o->out, "(%zu streams with a lifecycle state: %zu soft-deleted,"
	    " %zu hard-deleted; %zu category retentions; namespace %s)\n",
	    rep.streams.nrows, rep.streams.soft, rep.streams.hard,
	    rep.categories.nrows, o->ns);
	rs = report_flush(o, err, err_size);
out:
	store_conn_close(c);
	lc_table_free(&rep.streams);
	lc_table_free(&rep.categories);
	return rs;
}
