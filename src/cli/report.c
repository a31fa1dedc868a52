/*
 * report.c - stream, category and type summaries of a namespace, read
 * through the store (see report.h).
 *
 * The rows are gathered first (bounded by --limit) so that the column
 * widths are known before anything is printed; the totals line comes from
 * the same snapshot (store_ns_summary()).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "cli/report.h"
#include "store/store.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define REPORT_MAX_NUMS 2	/* numeric columns besides LAST ACTIVITY */

/* What one kind of report groups by and how its columns are titled. */
struct report_def {
	const char *name;		/* as typed on the command line */
	enum store_summary_kind kind;	/* what the store groups by */
	int nnums;			/* numeric columns */
	size_t nums[REPORT_MAX_NUMS];	/* their fields in struct store_summary_row */
	const char *titles[REPORT_MAX_NUMS + 1]; /* name column, then the numbers */
	const char *noun;		/* for the totals line: "streams"... */
};

#define REPORT_FIELD(f) offsetof(struct store_summary_row, f)

static const struct report_def report_defs[] = {
	[REPORT_STREAMS] = { "streams", STORE_SUMMARY_STREAMS,
	    2, { REPORT_FIELD(message_count), REPORT_FIELD(version) },
	    { "STREAM", "MESSAGES", "VERSION" }, "streams" },
	[REPORT_CATEGORIES] = { "categories", STORE_SUMMARY_CATEGORIES,
	    2, { REPORT_FIELD(stream_count), REPORT_FIELD(message_count) },
	    { "CATEGORY", "STREAMS", "MESSAGES" }, "categories" },
	[REPORT_TYPES] = { "types", STORE_SUMMARY_TYPES,
	    1, { REPORT_FIELD(message_count) },
	    { "TYPE", "MESSAGES" }, "types" },
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
	const struct report_def *def;	/* the kind of report gathered */
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

/* Appends in as a row of t, its name with control characters replaced by
 * '?' (a store_summary_fn). */
static enum evdb_status
report_add(void *ctx, const struct store_summary_row *in)
{
	struct report_table *t = ctx;
	const struct report_def *d = t->def;
	struct report_row *r;
	size_t i;
	int k;

	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 64 : xmul(t->cap, 2);
		t->rows = xrealloc(t->rows, xmul(t->cap, sizeof(*t->rows)));
	}
	r = &t->rows[t->nrows++];
	r->name_off = t->names.len;
	r->name_len = in->name_len;
	for (i = 0; i < in->name_len; i++) {
		unsigned char ch = (unsigned char)in->name[i];

		buf_putc(&t->names, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	r->name_width = report_width(in->name, in->name_len);
	if (r->name_width > t->width[0])
		t->width[0] = r->name_width;
	for (k = 0; k < d->nnums; k++) {
		memcpy(&r->nums[k], (const char *)in + d->nums[k], sizeof(int64_t));
		if (report_num_width(r->nums[k]) > t->width[k + 1])
			t->width[k + 1] = report_num_width(r->nums[k]);
	}
	r->last_us = in->last_activity_us;
	return EVDB_OK;
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

/* The totals line: rows shown, and the namespace's own counts. */
static void
report_write_totals(const struct report_def *d, const struct report_table *t,
    const char *ns, const struct store_summary_totals *totals, FILE *out)
{
	fprintf(out, "(%zu %s; namespace %s: %lld messages in %lld streams)\n",
	    t->nrows, d->noun, ns, (long long)totals->message_count,
	    (long long)totals->stream_count);
}

enum evdb_status
report_print(const struct report_options *o, char *err, size_t err_size)
{
	const struct report_def *d = &report_defs[o->kind];
	struct store_summary_totals totals;
	struct store_conn *c = NULL;
	struct report_table t;
	enum evdb_status rs;
	int k;

	memset(&t, 0, sizeof(t));
	buf_init(&t.names);
	t.def = d;
	if (!store_ns_name_valid(o->ns)) {
		snprintf(err, err_size, "invalid namespace name '%s'", o->ns);
		rs = EVDB_ERR_INVALID;
		goto out;
	}
	if ((rs = store_conn_open(o->store, &c)) != EVDB_OK) {
		snprintf(err, err_size, "cannot connect to the store: %s",
		    c != NULL ? store_conn_errmsg(c) : evdb_strerror(rs));
		goto out;
	}
	t.width[0] = strlen(d->titles[0]);
	for (k = 0; k < d->nnums; k++)
		t.width[k + 1] = strlen(d->titles[k + 1]);
	rs = store_ns_summary(c, o->ns, d->kind, o->limit, report_add, &t, &totals);
	if (rs == EVDB_ERR_NOT_FOUND) {
		snprintf(err, err_size, "no namespace '%s'", o->ns);
		goto out;
	}
	if (rs != EVDB_OK) {
		snprintf(err, err_size, "%s", store_conn_errmsg(c));
		goto out;
	}
	report_write(d, &t, o->out);
	report_write_totals(d, &t, o->ns, &totals, o->out);
	if (fflush(o->out) != 0 || ferror(o->out)) {
		snprintf(err, err_size, "cannot write the report");
		rs = EVDB_ERR_IO;
	}
out:
	store_conn_close(c);
	free(t.rows);
	buf_free(&t.names);
	return rs;
}

/* ---- shared by the reports through the store contract ------------------ */

enum evdb_status
report_conn_open(const struct report_options *o, struct store_conn **c,
    char *err, size_t err_size)
{
	enum evdb_status rs;

	*c = NULL;
	if (!store_ns_name_valid(o->ns)) {
		snprintf(err, err_size, "invalid namespace name '%s'", o->ns);
		return EVDB_ERR_INVALID;
	}
	if ((rs = store_conn_open(o->store, c)) != EVDB_OK)
		snprintf(err, err_size, "cannot open the store: %s", evdb_strerror(rs));
	return rs;
}

enum evdb_status
report_read_failed(const struct report_options *o, struct store_conn *c,
    enum evdb_status rs, char *err, size_t err_size)
{
	if (rs == EVDB_ERR_NOT_FOUND)
		snprintf(err, err_size, "no namespace '%s'", o->ns);
	else
		snprintf(err, err_size, "cannot read namespace %s: %s: %s", o->ns,
		    evdb_strerror(rs), store_conn_errmsg(c));
	return rs;
}

enum evdb_status
report_flush(const struct report_options *o, char *err, size_t err_size)
{
	if (fflush(o->out) != 0 || ferror(o->out)) {
		snprintf(err, err_size, "cannot write the report");
		return EVDB_ERR_IO;
	}
	return EVDB_OK;
}
