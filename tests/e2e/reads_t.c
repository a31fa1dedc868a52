/*
 * tests/e2e/reads_t.c - evdb's read options through nginx (EXTENSIONS.md
 * section 4): stream.get's "direction": "backward", and the "types"
 * filter of stream.get and category.get, alone and with positions in the
 * middle, paging by batchSize, consumer groups and correlation.
 *
 * Every answer is compared with what the test derives itself from a
 * plain forward read (the reference's read, without the options):
 * reversed, cut at a position and filtered by type, here in C.  Then each
 * bad value of the new options, which must be a 400 INVALID_REQUEST that
 * names the option.  Runs on either backend (EVDB_E2E_PGDIR).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

/* Streams of category "rd", and how many messages each gets. */
#define NSTREAMS	6
#define PER_STREAM	40

/* Index of type and position in a message: stream shape and category shape. */
#define S_TYPE	1
#define S_POS	2
#define S_GPOS	3
#define C_TYPE	2
#define C_GPOS	4

static const char *const streams[NSTREAMS] = {
	"rd-1", "rd-2", "rd-3", "rd-abc", "rd-x+y", "rd-42"
};

/* The type of message i of a stream: mostly A, B, C; now and then Rare. */
static const char *
type_of(int s, int i)
{
	static const char *const common[] = { "A", "B", "C", "Quo\"te\\d" };

	if ((s * PER_STREAM + i) % 23 == 5)
		return "Rare";
	return common[(i * 7 + s) % 4];
}

/* Metadata of message i: a correlation on every third one, or none. */
static const char *
meta_of(int s, int i)
{
	if ((i + s) % 3 == 0)
		return "{\"correlationStreamName\":\"wf-9\"}";
	if ((i + s) % 3 == 1)
		return "{\"correlationStreamName\":\"other-1\"}";
	return NULL;
}

/* The answer of body, which must be a 200 with an array; NULL otherwise. */
static struct json_object *
read_quiet(struct harness *h, const char *body)
{
	struct json_object *r = rpc_call(h, ADM, body, NULL);

	if (r == NULL || !json_object_is_type(r, json_type_array)) {
		tap_diag("%s -> %s", body, rpc_last_body(h));
		return NULL;
	}
	return r;
}

static struct json_object *
new_array(struct harness *h)
{
	return harness_keep(h, json_object_new_array());
}

static void
push(struct json_object *a, struct json_object *e)
{
	json_object_array_add(a, json_object_get(e));
}

/* Whether message m's type (at index ti) is one of types[0..n). */
static int
type_in(struct json_object *m, int ti, const char *const *types, int n)
{
	const char *t = json_object_get_string(json_object_array_get_idx(m, ti));
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(t, types[i]) == 0)
			return 1;
	return 0;
}

static int64_t
field(struct json_object *m, int i)
{
	return json_object_get_int64(json_object_array_get_idx(m, i));
}

/*
 * The messages of a (a forward read) that the test expects: in reverse
 * when backward; only those with field pi <= upto (backward) or >= from
 * (forward); only types[0..n) when n > 0; at most limit (-1: all).
 */
static struct json_object *
expect(struct harness *h, struct json_object *a, int backward, int pi,
    int64_t bound, int ti, const char *const *types, int n, int limit)
{
	struct json_object *out = new_array(h), *m;
	int len = a != NULL ? (int)json_object_array_length(a) : 0, i, k;

	for (k = 0; k < len; k++) {
		if (limit >= 0 && (int)json_object_array_length(out) >= limit)
			break;
		i = backward ? len - 1 - k : k;
		m = json_object_array_get_idx(a, i);
		if (backward ? field(m, pi) > bound : field(m, pi) < bound)
			continue;
		if (n > 0 && !type_in(m, ti, types, n))
			continue;
		push(out, m);
	}
	return out;
}

/* One TAP result: got and want are the same messages, byte for byte. */
static int
same_ok(struct harness *h, struct json_object *got, struct json_object *want,
    const char *desc)
{
	if (ok(got != NULL && jvalue_equal(got, want, 1), "%s", desc))
		return 1;
	tap_diag("got  %s", got != NULL ? json_object_to_json_string(got) : "NULL");
	tap_diag("want %s", json_object_to_json_string(want));
	return 0;
}

/*
 * Reads page after page: fmt is the request with "@P" where the position
 * goes; each next page starts at the last message's field pi + step.
 * Stops after a short page.  Returns the concatenation, or NULL.
 */
static struct json_object *
page_all(struct harness *h, const char *fmt, int64_t start, int pi, int step,
    int batch, int *pages)
{
	struct json_object *all = new_array(h), *r;
	int64_t pos = start;
	int n, i;

	const char *at = strstr(fmt, "@P");

	*pages = 0;
	if (at == NULL)
		return NULL;
	for (;;) {
		r = read_quiet(h, hstr(h, "%.*s%" PRId64 "%s", (int)(at - fmt), fmt,
		    pos, at + 2));
		if (r == NULL)
			return NULL;
		n = (int)json_object_array_length(r);
		(*pages)++;
		for (i = 0; i < n; i++)
			push(all, json_object_array_get_idx(r, i));
		if (n < batch || *pages > 1000)
			break;
		pos = field(json_object_array_get_idx(r, n - 1), pi) + step;
	}
	return all;
}

static void
setup(struct harness *h)
{
	int s, i, bad = 0;

	/* Interleaved across streams, so that global order mixes them. */
	for (i = 0; i < PER_STREAM; i++)
		for (s = 0; s < NSTREAMS; s++)
			if (write_quiet(h, ADM, streams[s], type_of(s, i),
			    hstr(h, "{\"s\":%d,\"i\":%d}", s, i), meta_of(s, i),
			    NULL, NULL, NULL) != 0)
				bad++;
	/* Another category with the same types: never in "rd" reads. */
	for (i = 0; i < 10; i++)
		if (write_quiet(h, ADM, "rdx-1", i % 2 ? "A" : "Rare", "{}", NULL,
		    NULL, NULL, NULL) != 0)
			bad++;
	is_int(bad, 0, "setup: %d messages written", NSTREAMS * PER_STREAM + 10);
}

static void
test_backward(struct harness *h)
{
	struct json_object *fwd, *r;
	const char *st = streams[3];
	int pages;

	fwd = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"batchSize\":-1}]", st));
	is_int(fwd != NULL ? (int)json_object_array_length(fwd) : -1, PER_STREAM,
	    "forward read of %s holds every message", st);

	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\"}]", st), 200, NULL, "backward read without a position");
	same_ok(h, r, expect(h, fwd, 1, S_POS, INT64_MAX, 0, NULL, 0, -1),
	    "backward without a position starts at the end: the forward read reversed");

	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\",\"position\":17,\"batchSize\":5}]", st), 200, NULL,
	    "backward read from position 17, batchSize 5");
	same_ok(h, r, expect(h, fwd, 1, S_POS, 17, 0, NULL, 0, 5),
	    "backward from the middle: positions 17 down to 13");

	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\",\"position\":1000000}]", st));
	same_ok(h, r, expect(h, fwd, 1, S_POS, INT64_MAX, 0, NULL, 0, -1),
	    "backward from beyond the end: every message");
	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\",\"position\":0}]", st));
	same_ok(h, r, expect(h, fwd, 1, S_POS, 0, 0, NULL, 0, -1),
	    "backward from position 0: the first message only");
	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\",\"position\":-1}]", st));
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "backward from position -1: nothing");
	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"backward\",\"batchSize\":0}]", st));
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "backward with batchSize 0: nothing");
	r = read_quiet(h, "[\"stream.get\",\"rd-none\",{\"direction\":\"backward\"}]");
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "backward read of a stream that does not exist: []");

	r = page_all(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":\"backward\","
	    "\"batchSize\":7,\"position\":@P}]", st), 30, S_POS, -1, 7,
	    &pages);
	same_ok(h, r, expect(h, fwd, 1, S_POS, 30, 0, NULL, 0, -1),
	    "backward paging by 7 from position 30 down to 0");
	is_int(pages, 5, "31 messages by 7: 5 pages");

	/* globalPosition selects by global position: the highest one returned. */
	{
		int64_t g = field(json_object_array_get_idx(fwd, 20), S_GPOS);

		r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
		    "\"backward\",\"globalPosition\":%" PRId64 ",\"batchSize\":4}]",
		    st, g));
		same_ok(h, r, expect(h, fwd, 1, S_GPOS, g, 0, NULL, 0, 4),
		    "backward by globalPosition: from that message down, 4 of them");
	}

	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
	    "\"forward\",\"batchSize\":-1}]", st));
	same_ok(h, r, fwd, "direction forward is the read without the option");
	rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"batchSize\":-1}]", st),
	    200, NULL, "a plain read");
	{
		const char *plain = hstr(h, "%s", rpc_last_body(h));

		rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"direction\":"
		    "\"forward\",\"batchSize\":-1}]", st), 200, NULL,
		    "the same read with direction forward");
		is_str(rpc_last_body(h), plain, "... answers the same bytes");
	}
}

static void
test_stream_types(struct harness *h)
{
	static const char *const t_a[] = { "A" };
	static const char *const t_rare[] = { "Rare", "Quo\"te\\d" };
	struct json_object *fwd, *r;
	const char *st = streams[1];
	int pages;

	fwd = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"batchSize\":-1}]", st));
	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"A\"],"
	    "\"batchSize\":-1}]", st), 200, NULL, "stream.get types [A]");
	same_ok(h, r, expect(h, fwd, 0, S_POS, 0, S_TYPE, t_a, 1, -1),
	    "types [A]: the forward read filtered");
	ok(r != NULL && json_object_array_length(r) > 0 &&
	    json_object_array_length(r) < json_object_array_length(fwd),
	    "... which is neither empty nor everything");

	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"Rare\","
	    "\"Quo\\\"te\\\\d\"],\"position\":9,\"batchSize\":3}]", st), 200, NULL,
	    "stream.get two types (one with a quote and a backslash) from 9, batchSize 3");
	same_ok(h, r, expect(h, fwd, 0, S_POS, 9, S_TYPE, t_rare, 2, 3),
	    "batchSize counts the messages of those types");

	r = page_all(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"A\"],"
	    "\"batchSize\":2,\"position\":@P}]", st), 3, S_POS, 1, 2,
	    &pages);
	same_ok(h, r, expect(h, fwd, 0, S_POS, 3, S_TYPE, t_a, 1, -1),
	    "paging types [A] by 2 from position 3");

	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"A\"],"
	    "\"direction\":\"backward\",\"position\":25}]", st));
	same_ok(h, r, expect(h, fwd, 1, S_POS, 25, S_TYPE, t_a, 1, -1),
	    "backward and types [A] from 25");
	r = page_all(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"Rare\","
	    "\"Quo\\\"te\\\\d\"],\"direction\":\"backward\",\"batchSize\":3,"
	    "\"position\":@P}]", st), 1000, S_POS, -1, 3, &pages);
	same_ok(h, r, expect(h, fwd, 1, S_POS, INT64_MAX, S_TYPE, t_rare, 2, -1),
	    "backward paging by 3 with two types");

	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"A\",\"A\"],"
	    "\"batchSize\":-1}]", st));
	same_ok(h, r, expect(h, fwd, 0, S_POS, 0, S_TYPE, t_a, 1, -1),
	    "a type named twice counts once");
	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"Nope\"]}]", st));
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "a type the stream does not have: []");
	r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"a\"]}]", st));
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "types compare case-sensitively");
	{
		struct json_object *g;
		int64_t gp = field(json_object_array_get_idx(fwd, 10), S_GPOS);

		r = read_quiet(h, hstr(h, "[\"stream.get\",\"%s\",{\"types\":[\"A\"],"
		    "\"globalPosition\":%" PRId64 ",\"batchSize\":-1}]", st, gp));
		g = expect(h, fwd, 0, S_GPOS, gp, S_TYPE, t_a, 1, -1);
		same_ok(h, r, g, "types with globalPosition");
	}
}

/* The 100-name list: 99 names absent from the store, then A. */
static const char *
hundred_types(struct harness *h)
{
	char buf[2048];
	size_t o = 0;
	int i;

	for (i = 0; i < 99; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\"N%d\",", i);
	snprintf(buf + o, sizeof(buf) - o, "\"A\"");
	return hstr(h, "[%s]", buf);
}

static void
test_category_types(struct harness *h)
{
	static const char *const t_rare[] = { "Rare" };
	static const char *const t_ac[] = { "A", "C" };
	static const char *const t_a[] = { "A" };
	struct json_object *fwd, *r, *all;
	int pages, m, n;
	int64_t mid;

	fwd = read_quiet(h, "[\"category.get\",\"rd\",{\"batchSize\":-1}]");
	is_int(fwd != NULL ? (int)json_object_array_length(fwd) : -1,
	    NSTREAMS * PER_STREAM, "forward category read holds every message");
	r = rpc_ok(h, ADM, "[\"category.get\",\"rd\",{\"types\":[\"Rare\"]}]",
	    200, NULL, "category.get types [Rare]");
	same_ok(h, r, expect(h, fwd, 0, C_GPOS, 0, C_TYPE, t_rare, 1, -1),
	    "types [Rare]: the forward category read filtered");
	n = r != NULL ? (int)json_object_array_length(r) : 0;
	ok(n > 3 && n < 20, "... a rare type: %d of %d", n, NSTREAMS * PER_STREAM);

	mid = field(json_object_array_get_idx(fwd, 100), C_GPOS);
	r = page_all(h, "[\"category.get\",\"rd\",{\"types\":[\"A\",\"C\"],"
	    "\"batchSize\":10,\"position\":@P}]", mid, C_GPOS, 1, 10,
	    &pages);
	same_ok(h, r, expect(h, fwd, 0, C_GPOS, mid, C_TYPE, t_ac, 2, -1),
	    "types [A,C] paged by 10 from the middle of the category");
	ok(pages > 3, "... in %d pages", pages);

	r = read_quiet(h, hstr(h, "[\"category.get\",\"rd\",{\"types\":%s,"
	    "\"batchSize\":-1}]", hundred_types(h)));
	same_ok(h, r, expect(h, fwd, 0, C_GPOS, 0, C_TYPE, t_a, 1, -1),
	    "100 types, 99 of them absent");

	for (m = 0; m < 3; m++) {
		struct json_object *grp;

		grp = read_quiet(h, hstr(h, "[\"category.get\",\"rd\",{\"batchSize\":-1,"
		    "\"consumerGroup\":{\"member\":%d,\"size\":3}}]", m));
		r = page_all(h, hstr(h, "[\"category.get\",\"rd\",{\"types\":[\"A\","
		    "\"C\"],\"consumerGroup\":{\"member\":%d,\"size\":3},"
		    "\"batchSize\":4,\"position\":@P}]", m), 1, C_GPOS, 1, 4,
		    &pages);
		same_ok(h, r, expect(h, grp, 0, C_GPOS, 0, C_TYPE, t_ac, 2, -1),
		    hstr(h, "consumer group member %d of 3 with types [A,C], paged"
		    " by 4: the group's read filtered", m));
		ok(grp != NULL && json_object_array_length(grp) > 0 &&
		    json_object_array_length(grp) < json_object_array_length(fwd),
		    "... member %d has a part of the category", m);
	}

	{
		struct json_object *corr;

		corr = read_quiet(h, "[\"category.get\",\"rd\",{\"batchSize\":-1,"
		    "\"correlation\":\"wf\"}]");
		r = rpc_ok(h, ADM, "[\"category.get\",\"rd\",{\"types\":[\"A\",\"C\"],"
		    "\"correlation\":\"wf\",\"batchSize\":-1}]", 200, NULL,
		    "category.get correlation wf and types [A,C]");
		same_ok(h, r, expect(h, corr, 0, C_GPOS, 0, C_TYPE, t_ac, 2, -1),
		    "correlation and types: the correlated read filtered");
		corr = read_quiet(h, "[\"category.get\",\"rd\",{\"batchSize\":-1,"
		    "\"correlation\":\"wf\",\"consumerGroup\":{\"member\":1,"
		    "\"size\":2}}]");
		r = page_all(h, "[\"category.get\",\"rd\",{\"types\":[\"Rare\",\"A\"],"
		    "\"correlation\":\"wf\",\"consumerGroup\":{\"member\":1,\"size\":2},"
		    "\"batchSize\":3,\"position\":@P}]", 1, C_GPOS, 1, 3,
		    &pages);
		{
			static const char *const t_ra[] = { "Rare", "A" };

			same_ok(h, r, expect(h, corr, 0, C_GPOS, 0, C_TYPE, t_ra, 2, -1),
			    "correlation, consumer group and types together, paged by 3");
		}
	}

	/* The whole namespace: category "". */
	all = read_quiet(h, "[\"category.get\",\"\",{\"batchSize\":-1}]");
	r = read_quiet(h, "[\"category.get\",\"\",{\"types\":[\"Rare\"],"
	    "\"batchSize\":-1}]");
	same_ok(h, r, expect(h, all, 0, C_GPOS, 0, C_TYPE, t_rare, 1, -1),
	    "the whole namespace (category \"\") by type, other categories included");
	r = read_quiet(h, "[\"category.get\",\"\",{\"types\":[\"Rare\"],"
	    "\"correlation\":\"other\",\"batchSize\":-1}]");
	{
		struct json_object *corr = read_quiet(h, "[\"category.get\",\"\","
		    "{\"correlation\":\"other\",\"batchSize\":-1}]");

		same_ok(h, r, expect(h, corr, 0, C_GPOS, 0, C_TYPE, t_rare, 1, -1),
		    "the whole namespace by type and correlation");
	}
	r = read_quiet(h, "[\"category.get\",\"rdx\",{\"types\":[\"B\"]}]");
	is_int(r != NULL ? (int)json_object_array_length(r) : -1, 0,
	    "a category without that type: []");
}

/* Each bad value of the new options: 400 INVALID_REQUEST naming the option. */
static void
test_errors(struct harness *h)
{
	static const char *const bad_types[] = {
		"\"A\"", "{}", "null", "5", "true", "[]", "[1]", "[\"\"]",
		"[null]", "[\"A\",2]", "[[\"A\"]]", "[\"A\\u0000B\"]",
	};
	static const char *const bad_dirs[] = {
		"\"up\"", "\"\"", "\"Backward\"", "\"backward \"", "1", "null",
		"[\"backward\"]", "\"forward\\u0000\"",
	};
	struct json_object *r;
	size_t i;
	const char *msg;

	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"rd-1\",{\"types\":%s}]",
		    bad_types[i]), 400, "INVALID_REQUEST",
		    hstr(h, "stream.get types %s", bad_types[i]));
		msg = jpath_str(r, "error.message");
		ok(msg != NULL && strstr(msg, "options.types") != NULL,
		    "... the message names options.types: %s", msg ? msg : "(none)");
		rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"rd\",{\"types\":%s}]",
		    bad_types[i]), 400, "INVALID_REQUEST",
		    hstr(h, "category.get types %s", bad_types[i]));
	}
	rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"rd\",{\"types\":[\"%s\"]}]",
	    hstr(h, "%01025d", 0)), 400, "INVALID_REQUEST",
	    "category.get a type of 1025 bytes");
	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"rd-1\",{\"types\":[\"%s\"]}]",
	    hstr(h, "%01024d", 0)), 200, NULL, "a type of 1024 bytes is accepted");
	{
		const char *list = hundred_types(h);
		/* 101 names: the list of 100 and one more. */
		const char *more = hstr(h, "%.*s,\"Z\"]", (int)strlen(list) - 1,
		    list);

		r = rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"rd\",{\"types\":%s}]",
		    more), 400, "INVALID_REQUEST", "category.get 101 types");
		msg = jpath_str(r, "error.message");
		ok(msg != NULL && strstr(msg, "1 to 100") != NULL,
		    "... the message gives the bounds: %s", msg ? msg : "(none)");
		rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"rd-1\",{\"types\":%s}]",
		    more), 400, "INVALID_REQUEST", "stream.get 101 types");
	}
	for (i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
		r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"rd-1\",{\"direction\":%s}]",
		    bad_dirs[i]), 400, "INVALID_REQUEST",
		    hstr(h, "stream.get direction %s", bad_dirs[i]));
		msg = jpath_str(r, "error.message");
		ok(msg != NULL && strstr(msg, "options.direction") != NULL,
		    "... the message names options.direction: %s", msg ? msg : "(none)");
	}
	r = rpc_ok(h, ADM, "[\"category.get\",\"rd\",{\"direction\":\"backward\"}]",
	    400, "INVALID_REQUEST", "category.get direction backward is refused");
	msg = jpath_str(r, "error.message");
	ok(msg != NULL && strstr(msg, "forward only") != NULL,
	    "... category reads go forward only: %s", msg ? msg : "(none)");
	r = rpc_ok(h, ADM, "[\"category.get\",\"rd\",{\"direction\":\"forward\","
	    "\"batchSize\":2}]", 200, NULL, "category.get direction forward is accepted");
	is_int(jpath_len(r, ""), 2, "... and reads forward");
	/* The new options are checked after the reference's own. */
	rpc_ok(h, ADM, "[\"stream.get\",\"rd-1\",{\"types\":[],\"batchSize\":\"x\"}]",
	    400, "INVALID_REQUEST", "a bad batchSize and bad types: one 400");
}

/*
 * Checks answer r of body against the doc's answer line `want`:
 * "N message(s): Type pos, Type pos, ..." (in order).
 */
static int
doc_messages_match(struct json_object *r, const char *body, const char *want)
{
	int category = strstr(body, "\"category.get\"") != NULL;
	int n = atoi(want), i, pos;
	const char *p = strchr(want, ':');
	char type[64];
	struct json_object *m;

	if (r == NULL || !json_object_is_type(r, json_type_array) ||
	    (int)json_object_array_length(r) != n || p == NULL)
		return 0;
	for (i = 0, p++; i < n; i++) {
		if (sscanf(p, " %63s %d", type, &pos) != 2)
			return 0;
		m = json_object_array_get_idx(r, i);
		if (strcmp(json_object_get_string(json_object_array_get_idx(m,
		    category ? C_TYPE : S_TYPE)), type) != 0 ||
		    field(m, category ? 3 : S_POS) != pos)
			return 0;
		if ((p = strchr(p, ',')) == NULL)
			p = "";
		else
			p++;
	}
	return 1;
}

/*
 * docs/api.md section 11: every rpc line (and the curl line's -d body)
 * runs verbatim; each "#" answer line after one is checked.
 */
static void
test_doc_examples(struct harness *h)
{
	const char *src = getenv("EVDB_SRCDIR");
	char path[1024], line[2048], next[2048], *a, *b;
	int in_section = 0, runs = 0, have_next;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/api.md", src != NULL ? src : ".");
	if ((f = fopen(path, "r")) == NULL) {
		ok(0, "docs/api.md opens (%s)", path);
		return;
	}
	have_next = fgets(next, sizeof(next), f) != NULL;
	while (have_next) {
		memcpy(line, next, sizeof(line));
		have_next = fgets(next, sizeof(next), f) != NULL;
		if (!have_next)
			next[0] = '\0';
		if (strncmp(line, "## ", 3) == 0)
			in_section = strstr(line, "backward reads and type filters") != NULL;
		if (!in_section)
			continue;
		if (strncmp(line, "rpc '", 5) == 0 || strncmp(line, "  -d '", 6) == 0) {
			struct json_object *r;
			const char *body;

			a = strchr(line, '\'');
			b = strrchr(line, '\'');
			if (a == NULL || b == NULL || b <= a)
				continue;
			body = hstr(h, "%.*s", (int)(b - a - 1), a + 1);
			runs++;
			next[strcspn(next, "\n")] = '\0';
			if (strncmp(next, "# 400 ", 6) == 0) {
				rpc_ok(h, ADM, body, 400, next + 6,
				    hstr(h, "api.md: %s -> %s", body, next + 2));
			} else if (next[0] == '#' && strstr(next, " message") != NULL &&
			    next[2] >= '0' && next[2] <= '9') {
				r = rpc_ok(h, ADM, body, 200, NULL, hstr(h, "api.md: %s", body));
				if (!ok(doc_messages_match(r, body, next + 2),
				    "... answers %s", next + 2))
					tap_diag("got %s", rpc_last_body(h));
			} else
				rpc_ok(h, ADM, body, 200, NULL, hstr(h, "api.md: %s", body));
		}
	}
	fclose(f);
	ok(runs >= 10, "api.md section 11 has its examples (%d run)", runs);
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	tap_diag("backend: %s", harness_backend(h));
	setup(h);
	test_backward(h);
	test_stream_types(h);
	test_category_types(h);
	test_errors(h);
	test_doc_examples(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
