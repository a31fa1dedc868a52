/*
 * tests/grouptest.h - the answers of consumer-group reads against
 * streamname_is_assigned() (Message DB's rule), for the plan tests of
 * both backends (sqlite_read_t, pg_read_t).  Header-only, for
 * single-threaded main()s; include "tap.h" first.
 */
#ifndef EVDB_TESTS_GROUPTEST_H
#define EVDB_TESTS_GROUPTEST_H

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "core/streamname.h"

#define GROUPTEST_ROWS 8192

/* A category read's rows: global positions and stream names. */
struct grouptest_rows {
	int64_t gp[GROUPTEST_ROWS];
	char stream[GROUPTEST_ROWS][32];
	int n;
};

static enum evdb_status
grouptest_row(void *ctx, const struct store_message *m)
{
	struct grouptest_rows *l = ctx;

	if (l->n >= GROUPTEST_ROWS)
		tap_bail("grouptest: more than %d rows", GROUPTEST_ROWS);
	l->gp[l->n] = m->global_position;
	snprintf(l->stream[l->n], sizeof(l->stream[0]), "%.*s",
	    (int)m->stream_len, m->stream);
	l->n++;
	return EVDB_OK;
}

/*
 * One TAP result: each member of a group of size, reading at most limit
 * rows (-1: all) of category (""): the namespace) of namespace ns from
 * global position from, with correlation (NULL: none), gets exactly the
 * rows of the read without a group that streamname_is_assigned() gives
 * it, in order.
 */
static void
grouptest_answers_corr_ok(struct store_conn *c, const char *ns,
    const char *category, const char *correlation, int64_t from,
    int64_t size, int64_t limit, const char *desc)
{
	static struct grouptest_rows all, got;
	struct store_category_query q;
	int64_t member;
	int i, want, bad = 0, total = 0;

	memset(&q, 0, sizeof(q));
	q.category = category;
	q.category_len = strlen(category);
	q.correlation = correlation;
	q.correlation_len = correlation != NULL ? strlen(correlation) : 0;
	q.global_position = from;
	q.limit = -1;
	all.n = 0;
	if (store_read_category(c, ns, &q, grouptest_row, &all) != EVDB_OK)
		tap_bail("read: %s", store_conn_errmsg(c));
	for (member = 0; member < size; member++) {
		q.group_size = size;
		q.group_member = member;
		q.limit = limit;
		got.n = 0;
		if (store_read_category(c, ns, &q, grouptest_row, &got) != EVDB_OK)
			tap_bail("read: %s", store_conn_errmsg(c));
		want = 0;
		for (i = 0; i < all.n && (limit < 0 || want < limit); i++) {
			if (!streamname_is_assigned(all.stream[i],
			    strlen(all.stream[i]), member, size))
				continue;
			if (want >= got.n || got.gp[want] != all.gp[i])
				bad++;
			want++;
		}
		if (got.n != want)
			bad++;
		total += got.n;
	}
	if (!ok(bad == 0 && total > 0, "%s", desc))
		tap_diag("%d differences", bad);
}

/* grouptest_answers_corr_ok without correlation. */
static void
grouptest_answers_ok(struct store_conn *c, const char *ns,
    const char *category, int64_t from, int64_t size, int64_t limit,
    const char *desc)
{
	grouptest_answers_corr_ok(c, ns, category, NULL, from, size, limit, desc);
}

#endif
