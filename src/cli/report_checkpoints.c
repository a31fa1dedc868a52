/*
 * report_checkpoints.c - evdb report checkpoints: a namespace's consumer
 * checkpoints with their lag behind the head (see report.h).
 *
 * Like the other reports it reads the store the CLI opened (either
 * backend).  The checkpoints and the head are read by two queries, not one
 * snapshot, so a lag may be off by the writes in between.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "store/store.h"

/* One gathered row. */
struct report_cp_row {
	char name[STORE_CONSUMER_NAME_MAX + 1];	/* [A-Za-z0-9:._-]: printable */
	char member[48];			/* "M/N", or "-" without a group */
	int64_t position;
	int64_t updated_us;
};

/* Rows gathered so far; owns its storage. */
struct report_cp_table {
	struct report_cp_row *rows;		/* rows[0..n) */
	size_t n, cap;
	int64_t limit;				/* rows at most; -1 for all */
};

static enum evdb_status
report_cp_add(void *ctx, const struct store_consumer_checkpoint *cp)
{
	struct report_cp_table *t = ctx;
	struct report_cp_row *r;

	if (t->limit >= 0 && (int64_t)t->n >= t->limit)
		return EVDB_ERR_LIMIT;
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 64 : xmul(t->cap, 2);
		t->rows = xrealloc(t->rows, xmul(t->cap, sizeof(*t->rows)));
	}
	r = &t->rows[t->n++];
	snprintf(r->name, sizeof(r->name), "%.*s", (int)cp->name_len, cp->name);
	if (cp->size > 0)
		snprintf(r->member, sizeof(r->member), "%lld/%lld",
		    (long long)cp->member, (long long)cp->size);
	else
		snprintf(r->member, sizeof(r->member), "-");
	r->position = cp->position;
	r->updated_us = cp->updated_us;
	return EVDB_OK;
}

static int
report_cp_numw(int64_t v)
{
	char tmp[24];

	return snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
}

/* Prints the table: CONSUMER, MEMBER, POSITION, LAG, UPDATED. */
static void
report_cp_write(const struct report_cp_table *t, int64_t head, FILE *out)
{
	char when[TIMEFMT_LEN + 1];
	int w[4] = { 8, 6, 8, 3 };	/* widths of the titles */
	size_t i;
	int64_t lag;

	for (i = 0; i < t->n; i++) {
		const struct report_cp_row *r = &t->rows[i];

		lag = head - r->position > 0 ? head - r->position : 0;
		if ((int)strlen(r->name) > w[0])
			w[0] = (int)strlen(r->name);
		if ((int)strlen(r->member) > w[1])
			w[1] = (int)strlen(r->member);
		if (report_cp_numw(r->position) > w[2])
			w[2] = report_cp_numw(r->position);
		if (report_cp_numw(lag) > w[3])
			w[3] = report_cp_numw(lag);
	}
	fprintf(out, "%-*s  %-*s  %*s  %*s  UPDATED\n", w[0], "CONSUMER", w[1],
	    "MEMBER", w[2], "POSITION", w[3], "LAG");
	for (i = 0; i < t->n; i++) {
		const struct report_cp_row *r = &t->rows[i];

		lag = head - r->position > 0 ? head - r->position : 0;
		timefmt_format_us(r->updated_us, when);
		fprintf(out, "%-*s  %-*s  %*lld  %*lld  %s\n", w[0], r->name, w[1],
		    r->member, w[2], (long long)r->position, w[3], (long long)lag,
		    when);
	}
}

enum evdb_status
report_checkpoints_print(const struct report_options *o, char *err,
    size_t err_size)
{
	struct report_cp_table t;
	struct store_conn *c = NULL;
	enum evdb_status rs;
	int64_t head = 0;

	memset(&t, 0, sizeof(t));
	t.limit = o->limit;
	if ((rs = report_conn_open(o, &c, err, err_size)) != EVDB_OK)
		goto out;
	if ((rs = store_head(c, o->ns, &head)) != EVDB_OK ||
	    ((rs = store_consumer_list(c, o->ns, o->limit, report_cp_add, &t)) !=
	    EVDB_OK && rs != EVDB_ERR_LIMIT)) {
		report_read_failed(o, c, rs, err, err_size);
		goto out;
	}
	report_cp_write(&t, head, o->out);
	fprintf(o->out, "(%zu checkpoints; namespace %s: head at global position"
	    " %lld)\n", t.n, o->ns, (long long)head);
	rs = report_flush(o, err, err_size);
out:
	store_conn_close(c);
	free(t.rows);
	return rs;
}
