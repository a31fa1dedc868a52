/*
 * tests/e2e/batch_t.c - batch.write and the expectedVersion vocabulary
 * (EXTENSIONS.md sections 1 and 2, issue 11), through the real nginx, on
 * whichever backend the harness runs (SQLite, or PostgreSQL with
 * EVDB_E2E_PGDIR):
 *   - docs/api.md's examples between <!-- api-example-test --> markers,
 *     run verbatim on the fresh stack and compared with the answers the
 *     page prints;
 *   - every expectedVersion value against an empty, an existing and a
 *     changed stream, in stream.write and in batch.write (on a stream the
 *     batch writes and on one it only guards);
 *   - atomicity: a batch whose last expectation fails, and one whose entry
 *     999 is bad, leave nothing;
 *   - batches written while 20 single writers hit the same streams:
 *     positions gapless, each batch contiguous in each stream;
 *   - global positions rise in entry order; idempotent retries of a whole
 *     batch, the partial-overlap and changed-payload 409s; 1,000 entries;
 *     over --batch-max, an empty list, a body over --max-body;
 *   - a poke for every message of a batch;
 *   - --batch-max set through the environment.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "tenant.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define POKE_WAIT_MS	20000	/* longest wait for pokes that must come */

/* ---- small helpers -------------------------------------------------------- */

/* A growing string, for building large bodies. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL,
		    b->p != NULL ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			tap_bail("vsnprintf");
		if (b->p != NULL && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			tap_bail("out of memory");
	}
	b->len += (size_t)n;
}

/* The text of b kept by the harness; b is emptied. */
static const char *
sb_take(struct harness *h, struct sbuf *b)
{
	const char *s = hmem(h, b->p != NULL ? b->p : "", b->len);

	free(b->p);
	memset(b, 0, sizeof(*b));
	return s;
}

/* The stream's version in token's namespace (-1 when empty, -2 on an error). */
static int64_t
version_of_tok(struct harness *h, const char *token, const char *stream)
{
	struct json_object *r = rpc_call(h, token, hstr(h, "[\"stream.version\","
	    "\"%s\"]", stream), NULL);

	if (strcmp(rpc_last_body(h), "null") == 0)
		return -1;
	return r != NULL && json_object_is_type(r, json_type_int) ?
	    json_object_get_int64(r) : -2;
}

/* The same in the admin's namespace. */
static int64_t
version_of(struct harness *h, const char *stream)
{
	return version_of_tok(h, ADM, stream);
}

/* The namespace's head: the highest global position (0 when empty). */
static int64_t
head_of(struct harness *h)
{
	struct json_object *r = rpc_call(h, ADM, "[\"category.get\",\"\","
	    "{\"position\":1,\"batchSize\":-1}]", NULL);
	int n = jpath_len(r, "");

	return n > 0 ? jpath_int(r, hstr(h, "%d.4", n - 1)) : n == 0 ? 0 : -1;
}

/* ---- docs/api.md's examples --------------------------------------------- */

/*
 * Runs every `rpc '<body>'` line of the ```sh blocks between
 * "<!-- api-example-test" and "<!-- /api-example-test -->" of docs/api.md,
 * in order, and compares each answer with the "# <json>" line after it.
 */
static void
test_doc_examples(struct harness *h)
{
	const char *src = getenv("EVDB_SRCDIR");
	char path[4096], line[8192], *body = NULL;
	FILE *f;
	int inside = 0, fenced = 0, n = 0;

	snprintf(path, sizeof(path), "%s/docs/api.md", src != NULL ? src : ".");
	if ((f = fopen(path, "r")) == NULL) {
		ok(0, "docs/api.md opens (%s: %s)", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strncmp(line, "<!-- /api-example-test", 22) == 0) {
			inside = fenced = 0;
			continue;
		}
		if (strncmp(line, "<!-- api-example-test", 21) == 0) {
			inside = 1;
			continue;
		}
		if (!inside)
			continue;
		if (strncmp(line, "```", 3) == 0) {
			fenced = !fenced;
			continue;
		}
		if (!fenced)
			continue;
		if (strncmp(line, "rpc '", 5) == 0 && len > 6 && line[len - 1] == '\'') {
			line[len - 1] = '\0';
			body = hmem(h, line + 5, len - 6);
			continue;
		}
		if (strncmp(line, "# ", 2) == 0 && body != NULL) {
			struct http_resp r;
			struct json_object *want = jparse(h, line + 2);
			const char *code = jpath_str(want, "error.code");
			int same;

			memset(&r, 0, sizeof(r));
			rpc_call(h, ADM, body, &r);
			if (strcmp(line + 2, "null") == 0)
				same = r.status == 200 && r.json == NULL && r.json_ok;
			else
				same = want != NULL && jvalue_equal(r.json, want, 0) &&
				    (code == NULL ? r.status == 200 : r.status >= 400);
			ok(same, "docs/api.md example %d: %s", ++n, body);
			if (!same)
				tap_diag("want %s, got %ld %s", line + 2, r.status, r.body);
			http_resp_free(&r);
			body = NULL;
		}
	}
	fclose(f);
	ok(n >= 10, "docs/api.md holds the examples (%d run)", n);
}

/* ---- the expectedVersion vocabulary ---------------------------------------- */

/* A stream's state before the write under test. */
enum state { EMPTY, EXISTING, CHANGED };

static const char *const state_name[] = { "an empty", "an existing", "a changed" };

/*
 * The values under test: the JSON of expectedVersion ("" for absent), and
 * whether each state meets it.  The client last saw the stream at version 1
 * (EXISTING: it is still there; CHANGED: another write moved it to 2);
 * "1" is the number it saw.
 */
static const struct {
	const char *json;
	int met[3];
} vocab[] = {
	{ "1", { 0, 1, 0 } },
	{ "0", { 0, 0, 0 } },
	{ "-1", { 1, 0, 0 } },
	{ "\"noStream\"", { 1, 0, 0 } },
	{ "\"exists\"", { 0, 1, 1 } },
	{ "\"any\"", { 1, 1, 1 } },
	{ "", { 1, 1, 1 } },
};

/* Makes stream be in state st; returns its version (-1, 1 or 2). */
static int64_t
vocab_setup(struct harness *h, const char *stream, enum state st)
{
	int i, n = st == EMPTY ? 0 : st == EXISTING ? 2 : 3;

	for (i = 0; i < n; i++)
		write_quiet(h, ADM, stream, "Setup", "{}", NULL, NULL, NULL, NULL);
	return n - 1;
}

/* Checks a 409's details against what was expected and found. */
static void
conflict_details_ok(struct harness *h, struct json_object *r, const char *json,
    int64_t actual, const char *stream, int64_t index, int legacy,
    const char *desc)
{
	struct json_object *d = jpath_get(r, "error.details");
	const char *want;

	if (legacy)
		want = hstr(h, "{\"actual\":%" PRId64 ",\"expected\":%s}", actual, json);
	else if (index >= 0)
		want = hstr(h, "{\"actual\":%" PRId64 ",\"expected\":%s,\"index\":%"
		    PRId64 ",\"stream\":\"%s\"}", actual, json, index, stream);
	else
		want = hstr(h, "{\"actual\":%" PRId64 ",\"expected\":%s,\"stream\":"
		    "\"%s\"}", actual, json, stream);
	ok(jvalue_equal(d, jparse(h, want), 0), "%s: details %s (got %s)", desc,
	    want, jpath_text(h, r, "error.details"));
}

static void
test_vocabulary_write(struct harness *h)
{
	size_t v;
	int st;

	for (v = 0; v < sizeof(vocab) / sizeof(vocab[0]); v++)
		for (st = EMPTY; st <= CHANGED; st++) {
			const char *stream = hstr(h, "vw%zu-%d", v, st);
			const char *desc = hstr(h, "stream.write expectedVersion %s on %s"
			    " stream", vocab[v].json[0] ? vocab[v].json : "absent",
			    state_name[st]);
			const char *opts = vocab[v].json[0] ? hstr(h,
			    ",{\"expectedVersion\":%s}", vocab[v].json) : "";
			int64_t before = vocab_setup(h, stream, st);
			struct json_object *r;

			r = rpc_ok(h, ADM, hstr(h, "[\"stream.write\",\"%s\",{\"type\":"
			    "\"T\",\"data\":{}}%s]", stream, opts),
			    vocab[v].met[st] ? 200 : 409, vocab[v].met[st] ? NULL :
			    "STREAM_VERSION_CONFLICT", hstr(h, "%s -> %s", desc,
			    vocab[v].met[st] ? "200" : "409"));
			if (vocab[v].met[st])
				is_int(jpath_int(r, "position"), before + 1,
				    "%s: written at position %" PRId64, desc, before + 1);
			else
				conflict_details_ok(h, r, vocab[v].json, before, stream, -1,
				    vocab[v].json[0] != '"', desc);
			is_int(version_of(h, stream), vocab[v].met[st] ? before + 1 :
			    before, "%s: the stream is at %" PRId64 " after it", desc,
			    vocab[v].met[st] ? before + 1 : before);
		}
}

/*
 * The same in batch.write, twice per case: the expectation on a stream the
 * batch writes (with a second entry to another stream), and on a stream it
 * only guards.
 */
static void
test_vocabulary_batch(struct harness *h)
{
	size_t v;
	int st, guard;

	for (v = 0; v < sizeof(vocab) / sizeof(vocab[0]); v++)
		for (st = EMPTY; st <= CHANGED; st++)
			for (guard = 0; guard <= 1; guard++) {
				const char *stream = hstr(h, "vb%zu-%d%d", v, st, guard);
				const char *other = hstr(h, "vbo%zu-%d%d", v, st, guard);
				const char *desc = hstr(h, "batch.write expect %s on %s"
				    " stream %s", vocab[v].json[0] ? vocab[v].json :
				    "without expectedVersion", state_name[st], guard ?
				    "it only guards" : "it writes");
				const char *x = vocab[v].json[0] ? hstr(h,
				    ",\"expectedVersion\":%s", vocab[v].json) : "";
				int64_t before = vocab_setup(h, stream, st), head = head_of(h);
				struct json_object *r;
				int met = vocab[v].met[st];

				r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":"
				    "\"%s\",\"type\":\"T\",\"data\":{}},{\"stream\":\"%s\","
				    "\"type\":\"T\",\"data\":{}}],{\"expect\":[{\"stream\":"
				    "\"%s\",\"expectedVersion\":\"any\"},{\"stream\":\"%s\"%s}]}]",
				    guard ? other : stream, other, other, stream, x),
				    met ? 200 : 409, met ? NULL : "STREAM_VERSION_CONFLICT",
				    hstr(h, "%s -> %s", desc, met ? "200" : "409"));
				if (!met) {
					conflict_details_ok(h, r, vocab[v].json, before, stream,
					    1, 0, desc);
					is_int(head_of(h), head, "%s: nothing written", desc);
				} else
					is_int(version_of(h, stream), guard ? before : before + 1,
					    "%s: the stream is at %" PRId64 " after it", desc,
					    guard ? before : before + 1);
			}
}

/* ---- atomicity -------------------------------------------------------------- */

static void
test_atomicity(struct harness *h)
{
	struct sbuf b = { 0 };
	struct json_object *r;
	int64_t head;
	int i;

	write_quiet(h, ADM, "at-a", "T", "{}", NULL, NULL, NULL, NULL);
	head = head_of(h);
	r = rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"at-a\",\"type\":\"T\","
	    "\"data\":{}},{\"stream\":\"at-b\",\"type\":\"T\",\"data\":{}},"
	    "{\"stream\":\"at-c\",\"type\":\"T\",\"data\":{}}],{\"expect\":["
	    "{\"stream\":\"at-a\",\"expectedVersion\":0},{\"stream\":\"at-b\","
	    "\"expectedVersion\":\"noStream\"},{\"stream\":\"at-c\","
	    "\"expectedVersion\":\"exists\"}]}]", 409, "STREAM_VERSION_CONFLICT",
	    "a batch whose last expectation fails -> 409");
	is_int(jpath_int(r, "error.details.index"), 2, "... details.index 2");
	is_int(head_of(h), head, "... and leaves nothing in the namespace");
	is_int(version_of(h, "at-a"), 0, "... at-a, expected and met, unchanged");
	is_int(version_of(h, "at-b"), -1, "... at-b still empty");

	/* 1,000 entries, the last one bad, in each way an entry can be. */
	static const char *const bad[] = {
		"{\"stream\":\"at-d\",\"type\":\"T\",\"data\":[]}",
		"{\"stream\":\"at-d\",\"type\":\"\",\"data\":{}}",
		"{\"stream\":\"\",\"type\":\"T\",\"data\":{}}",
		"{\"stream\":\"at-\\u0001\",\"type\":\"T\",\"data\":{}}",
		"{\"stream\":\"at-d\",\"type\":\"T\",\"data\":{},\"id\":\"nope\"}",
		"{\"stream\":\"at-d\",\"type\":\"T\",\"data\":{},\"metadata\":5}",
		"{\"stream\":\"at-d\",\"type\":\"T\",\"data\":{},\"expectedVersion\":0}",
		"[\"at-d\"]",
		"{\"stream\":\"at-d\",\"type\":\"T\",\"data\":{},\"id\":"
		    "\"11111111-1111-4111-8111-111111111111\"}",
	};
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		sb_add(&b, "[\"batch.write\",[");
		for (i = 0; i < 999; i++)
			sb_add(&b, "{\"stream\":\"at-d%d\",\"type\":\"T\",\"data\":"
			    "{\"i\":%d}%s},", i % 7, i, i == 5 ? ",\"id\":"
			    "\"11111111-1111-4111-8111-111111111111\"" : "");
		sb_add(&b, "%s]]", bad[k]);
		r = rpc_ok(h, ADM, sb_take(h, &b), 400, "INVALID_REQUEST", hstr(h,
		    "1,000 entries, entry 999 is %s -> 400", bad[k]));
		is_int(jpath_int(r, "error.details.index"), 999,
		    "... details.index 999 (%s)", jpath_str(r, "error.message"));
		is_int(head_of(h), head, "... and nothing is written");
	}
	if (strcmp(harness_backend(h), "postgres") == 0) {
		/* What PostgreSQL alone refuses, found by the backend. */
		sb_add(&b, "[\"batch.write\",[");
		for (i = 0; i < 999; i++)
			sb_add(&b, "{\"stream\":\"at-e\",\"type\":\"T\",\"data\":{}},");
		sb_add(&b, "{\"stream\":\"at-e\",\"type\":\"T\",\"data\":"
		    "{\"x\":\"\\u0000\"}}]]");
		r = rpc_ok(h, ADM, sb_take(h, &b), 400, "INVALID_REQUEST",
		    "[postgres] entry 999 holds \\u0000 -> 400");
		is_int(jpath_int(r, "error.details.index"), 999, "... details.index 999");
		is_int(head_of(h), head, "... and nothing is written");
	}
}

/* ---- concurrency ------------------------------------------------------------ */

#define CC_STREAMS	3
#define CC_WRITERS	20
#define CC_WRITES	25	/* per single writer */
#define CC_BATCHES	15	/* batches, each CC_PER x CC_STREAMS entries */
#define CC_PER		4

struct cc_writer {
	const struct harness *h;
	int id;			/* writer number, -1 for the batch writer */
	int failures;		/* answers other than 200 */
	pthread_barrier_t *go;
};

static void *
cc_main(void *arg)
{
	struct cc_writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char body[4096];
	int i, j, k, n;

	pthread_barrier_wait(w->go);
	if (c == NULL) {
		w->failures = 1;
		return NULL;
	}
	for (i = 0; i < (w->id < 0 ? CC_BATCHES : CC_WRITES); i++) {
		if (w->id >= 0)
			snprintf(body, sizeof(body), "[\"stream.write\",\"cc-%d\","
			    "{\"type\":\"Single\",\"data\":{\"w\":%d,\"i\":%d}}]",
			    (w->id + i) % CC_STREAMS, w->id, i);
		else {
			/* Entries interleave the streams: s0, s1, s2, s0, ... */
			n = snprintf(body, sizeof(body), "[\"batch.write\",[");
			for (j = 0, k = 0; j < CC_PER; j++)
				for (int s = 0; s < CC_STREAMS; s++, k++)
					n += snprintf(body + n, sizeof(body) - (size_t)n,
					    "%s{\"stream\":\"cc-%d\",\"type\":\"Batch\","
					    "\"data\":{\"b\":%d,\"k\":%d}}", k > 0 ? "," : "",
					    s, i, k);
			snprintf(body + n, sizeof(body) - (size_t)n, "]]");
		}
		memset(&r, 0, sizeof(r));
		if (hconn_rpc(c, ADM, body, &r) != 0 || r.status != 200)
			w->failures++;
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

static void
test_concurrent(struct harness *h)
{
	struct cc_writer w[CC_WRITERS + 1];
	pthread_t tid[CC_WRITERS + 1];
	pthread_barrier_t go;
	int i, s, failures = 0, gapless = 1, contiguous = 1, ordered = 1;
	int batch_msgs = 0, single_msgs = 0;

	pthread_barrier_init(&go, NULL, CC_WRITERS + 1);
	for (i = 0; i <= CC_WRITERS; i++) {
		w[i].h = h;
		w[i].id = i < CC_WRITERS ? i : -1;
		w[i].failures = 0;
		w[i].go = &go;
		if (pthread_create(&tid[i], NULL, cc_main, &w[i]) != 0)
			tap_bail("pthread_create");
	}
	for (i = 0; i <= CC_WRITERS; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	pthread_barrier_destroy(&go);
	is_int(failures, 0, "%d single writers and %d batches on %d streams:"
	    " every write answered 200", CC_WRITERS, CC_BATCHES, CC_STREAMS);

	for (s = 0; s < CC_STREAMS; s++) {
		struct json_object *m = stream_read_all(h, ADM, hstr(h, "cc-%d", s));
		int n = jpath_len(m, ""), last_b = -1, run = 0, last_k = -1;

		for (i = 0; i < n; i++) {
			const char *type = jpath_str(m, hstr(h, "%d.1", i));
			int64_t b = jpath_int(m, hstr(h, "%d.4.b", i));
			int64_t k = jpath_int(m, hstr(h, "%d.4.k", i));

			if (jpath_int(m, hstr(h, "%d.2", i)) != i)
				gapless = 0;
			if (type != NULL && strcmp(type, "Batch") == 0) {
				batch_msgs++;
				if (b != last_b) {
					/* A new batch starts: the last one was whole. */
					if (last_b >= 0 && run != CC_PER)
						contiguous = 0;
					last_b = (int)b;
					run = 0;
					last_k = -1;
				}
				if (k <= last_k)
					ordered = 0;
				last_k = (int)k;
				run++;
			} else {
				single_msgs++;
				if (last_b >= 0 && run != CC_PER)
					contiguous = 0;	/* a single inside a batch */
				last_b = -1;
				run = 0;
			}
		}
		if (last_b >= 0 && run != CC_PER)
			contiguous = 0;
	}
	ok(gapless, "every stream's positions are 0, 1, 2, ... without a gap");
	is_int(batch_msgs, CC_BATCHES * CC_PER * CC_STREAMS, "every batch message"
	    " is stored");
	is_int(single_msgs, CC_WRITERS * CC_WRITES, "every single write is stored");
	ok(contiguous, "each batch's messages are contiguous in each stream (no"
	    " single write between them)");
	ok(ordered, "... and in entry order");
}

/* ---- order, retries, size -------------------------------------------------- */

static void
test_order(struct harness *h)
{
	struct sbuf b = { 0 };
	struct json_object *r, *all;
	int i, rising = 1, n;
	int64_t head = head_of(h);

	sb_add(&b, "[\"batch.write\",[");
	for (i = 0; i < 30; i++)
		sb_add(&b, "%s{\"stream\":\"ord%d-%d\",\"type\":\"T\",\"data\":"
		    "{\"e\":%d}}", i ? "," : "", i % 3, (i * 7) % 5, i);
	sb_add(&b, "]]");
	r = rpc_ok(h, ADM, sb_take(h, &b), 200, NULL, "a batch of 30 entries over"
	    " 3 categories and 15 streams");
	is_int(jpath_len(r, ""), 30, "... answers 30 results");
	for (i = 1; i < 30; i++)
		if (jpath_int(r, hstr(h, "%d.globalPosition", i)) <=
		    jpath_int(r, hstr(h, "%d.globalPosition", i - 1)))
			rising = 0;
	ok(rising, "global positions rise in entry order");
	ok(jpath_int(r, "0.globalPosition") > head, "... all above the old head");
	/* The namespace read in global order gives the entries in entry order. */
	all = rpc_call(h, ADM, hstr(h, "[\"category.get\",\"\",{\"position\":%"
	    PRId64 ",\"batchSize\":-1}]", head + 1), NULL);
	n = jpath_len(all, "");
	rising = n == 30;
	for (i = 0; i < n && i < 30; i++)
		if (jpath_int(all, hstr(h, "%d.5.e", i)) != i ||
		    jpath_int(all, hstr(h, "%d.4", i)) !=
		    jpath_int(r, hstr(h, "%d.globalPosition", i)) ||
		    jpath_int(all, hstr(h, "%d.3", i)) !=
		    jpath_int(r, hstr(h, "%d.position", i)))
			rising = 0;
	ok(rising, "category.get of the namespace reads them in entry order, at"
	    " the answered positions (%d read)", n);
	/* Two entries to one new stream: positions 0 and 1 in entry order. */
	r = rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"ord-new\",\"type\":"
	    "\"T\",\"data\":{}},{\"stream\":\"ord-x\",\"type\":\"T\",\"data\":{}},"
	    "{\"stream\":\"ord-new\",\"type\":\"T\",\"data\":{}}]]", 200, NULL,
	    "a batch writing one new stream twice");
	ok(jpath_int(r, "0.position") == 0 && jpath_int(r, "2.position") == 1,
	    "... its entries get positions 0 and 1 (%s)", jpath_text(h, r, ""));
}

static void
test_retries(struct harness *h)
{
	const char *ids[3] = {
		"aaaaaaaa-0000-4000-8000-000000000001",
		"aaaaaaaa-0000-4000-8000-000000000002",
		"aaaaaaaa-0000-4000-8000-000000000003",
	};
	const char *body, *first;
	struct json_object *r;
	int64_t head;

	body = hstr(h, "[\"batch.write\",[{\"stream\":\"rt-1\",\"type\":\"T\","
	    "\"data\":{\"n\":1},\"id\":\"%s\"},{\"stream\":\"rt-2\",\"type\":\"T\","
	    "\"data\":{\"n\":2},\"id\":\"%s\"}],{\"expect\":[{\"stream\":\"rt-1\","
	    "\"expectedVersion\":\"noStream\"}]}]", ids[0], ids[1]);
	r = rpc_ok(h, ADM, body, 200, NULL, "a batch whose entries all carry ids");
	first = jpath_text(h, r, "");
	head = head_of(h);
	r = rpc_ok(h, ADM, body, 200, NULL, "the same batch again (its expectation"
	    " no longer holds) -> 200");
	is_str(jpath_text(h, r, ""), first, "... with the original positions");
	is_int(head_of(h), head, "... and nothing written");
	/* The same ids in another spelling are the same ids. */
	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-1\","
	    "\"type\":\"T\",\"data\":{\"n\":1},\"id\":\"{%s}\"},{\"stream\":"
	    "\"rt-2\",\"type\":\"T\",\"data\":{\"n\":2},\"id\":\"urn:uuid:%s\"}]]",
	    ids[0], ids[1]), 200, NULL, "the retry with the ids spelt otherwise");
	is_str(jpath_text(h, r, ""), first, "... the original positions too");

	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-3\","
	    "\"type\":\"T\",\"data\":{},\"id\":\"%s\"},{\"stream\":\"rt-2\","
	    "\"type\":\"T\",\"data\":{\"n\":2},\"id\":\"%s\"}]]", ids[2], ids[1]),
	    409, "MESSAGE_ID_CONFLICT", "a batch with one stored id and one new"
	    " -> 409");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h, hstr(h,
	    "{\"id\":\"%s\",\"index\":1}", ids[1])), 0), "... details name the"
	    " stored entry: %s", jpath_text(h, r, "error.details"));
	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-1\","
	    "\"type\":\"T\",\"data\":{\"n\":1},\"id\":\"%s\"},{\"stream\":\"rt-3\","
	    "\"type\":\"T\",\"data\":{}}]]", ids[0]), 409, "MESSAGE_ID_CONFLICT",
	    "a stored id beside an entry without id -> 409");
	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-1\","
	    "\"type\":\"T\",\"data\":{\"n\":1},\"id\":\"%s\"},{\"stream\":\"rt-2\","
	    "\"type\":\"T\",\"data\":{\"n\":3},\"id\":\"%s\"}]]", ids[0], ids[1]),
	    409, "MESSAGE_ID_CONFLICT", "a retry whose second entry changed its"
	    " data -> 409");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h, hstr(h,
	    "{\"field\":\"data\",\"id\":\"%s\",\"index\":1}", ids[1])), 0),
	    "... details name the entry and the field: %s",
	    jpath_text(h, r, "error.details"));
	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-9\","
	    "\"type\":\"T\",\"data\":{\"n\":1},\"id\":\"%s\"}]]", ids[0]), 409,
	    "MESSAGE_ID_CONFLICT", "a stored id in another stream -> 409");
	is_str(jpath_str(r, "error.details.field"), "stream", "... field stream");
	is_int(head_of(h), head, "none of the conflicts wrote anything");
	is_int(version_of(h, "rt-3"), -1, "rt-3 stays empty");

	r = rpc_ok(h, ADM, hstr(h, "[\"batch.write\",[{\"stream\":\"rt-4\","
	    "\"type\":\"T\",\"data\":{},\"id\":\"%s\"},{\"stream\":\"rt-5\","
	    "\"type\":\"T\",\"data\":{},\"id\":\"%s\"}]]", ids[2], ids[2]), 400,
	    "INVALID_REQUEST", "two entries with one id -> 400");
	is_int(jpath_int(r, "error.details.index"), 1, "... details.index 1");
	/* A single write retried as part of a batch is a batch retry too. */
	write_quiet(h, ADM, "rt-6", "T", "{}", NULL, "{\"id\":"
	    "\"aaaaaaaa-0000-4000-8000-000000000006\"}", NULL, NULL);
	r = rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"rt-6\",\"type\":\"T\","
	    "\"data\":{},\"id\":\"aaaaaaaa-0000-4000-8000-000000000006\"}]]", 200,
	    NULL, "a batch of one stored message -> 200");
	is_int(jpath_int(r, "0.position"), 0, "... its stored position");
}

static void
test_sizes(struct harness *h)
{
	struct sbuf b = { 0 };
	struct json_object *r;
	int i, s, gapless = 1;
	int64_t head = head_of(h);
	static char big[1200];

	sb_add(&b, "[\"batch.write\",[");
	for (i = 0; i < 1000; i++)
		sb_add(&b, "%s{\"stream\":\"big-%d\",\"type\":\"T\",\"data\":"
		    "{\"i\":%d}}", i ? "," : "", i % 10, i);
	sb_add(&b, "]]");
	r = rpc_ok(h, ADM, sb_take(h, &b), 200, NULL, "a batch of 1,000 entries");
	is_int(jpath_len(r, ""), 1000, "... answers 1,000 results");
	for (s = 0; s < 10; s++) {
		struct json_object *m = stream_read_all(h, ADM, hstr(h, "big-%d", s));

		if (jpath_len(m, "") != 100)
			gapless = 0;
		for (i = 0; i < jpath_len(m, ""); i++)
			if (jpath_int(m, hstr(h, "%d.2", i)) != i ||
			    jpath_int(m, hstr(h, "%d.4.i", i)) != i * 10 + s)
				gapless = 0;
	}
	ok(gapless, "... 100 per stream, positions 0..99 in entry order");
	is_int(head_of(h), head + 1000, "... the head moved by 1,000");

	head = head_of(h);
	sb_add(&b, "[\"batch.write\",[");
	for (i = 0; i < 1001; i++)
		sb_add(&b, "%s{\"stream\":\"big-x\",\"type\":\"T\",\"data\":{}}",
		    i ? "," : "");
	sb_add(&b, "]]");
	r = rpc_ok(h, ADM, sb_take(h, &b), 400, "INVALID_REQUEST", "1,001 entries"
	    " (over --batch-max) -> 400");
	ok(jpath_str(r, "error.message") != NULL &&
	    strstr(jpath_str(r, "error.message"), "--batch-max") != NULL,
	    "... the message names --batch-max: %s", jpath_str(r, "error.message"));
	rpc_ok(h, ADM, "[\"batch.write\",[]]", 400, "INVALID_REQUEST",
	    "an empty list -> 400");
	rpc_ok(h, ADM, "[\"batch.write\"]", 400, "INVALID_REQUEST",
	    "no list -> 400");
	rpc_ok(h, ADM, "[\"batch.write\",{}]", 400, "INVALID_REQUEST",
	    "an object instead of a list -> 400");
	/* Over 1 MiB: 900 entries of 1.2 KB. */
	memset(big, 'x', sizeof(big) - 1);
	sb_add(&b, "[\"batch.write\",[");
	for (i = 0; i < 900; i++)
		sb_add(&b, "%s{\"stream\":\"big-y\",\"type\":\"T\",\"data\":"
		    "{\"p\":\"%s\"}}", i ? "," : "", big);
	sb_add(&b, "]]");
	rpc_ok(h, ADM, sb_take(h, &b), 413, "PAYLOAD_TOO_LARGE", "a batch body"
	    " over 1 MiB -> 413");
	is_int(head_of(h), head, "none of these wrote anything");
}

/* ---- pokes ------------------------------------------------------------------ */

/* Opens a subscription (HTTP/1.0: no chunking) and waits for ": ready". */
static int
sub_open(struct harness *h, const char *query, char **rest)
{
	const char *req = hstr(h, "GET /subscribe?%s&token=%s HTTP/1.0\r\n"
	    "Host: x\r\n\r\n", query, ADM);
	int fd = tenant_connect(tenant_port(h), 0);

	if (fd < 0 || tenant_send(fd, req, strlen(req)) != 0 ||
	    tenant_http_status(h, fd, POKE_WAIT_MS, rest) != 200) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads pokes from fd until want "id:" lines arrived (or POKE_WAIT_MS
 * passed, then a little longer to see that no more come); stores their
 * global positions in gpos[0..*n).
 */
static void
sub_collect(int fd, const char *rest, int64_t *gpos, int max, int want, int *n)
{
	struct sbuf b = { 0 };
	int64_t end = harness_now_ms() + POKE_WAIT_MS, extra = -1;
	const char *p;
	char chunk[8192];
	ssize_t got;

	sb_add(&b, "%s", rest != NULL ? rest : "");
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t now = harness_now_ms();

		*n = 0;
		for (p = b.p; p != NULL && (p = strstr(p, "\nid: ")) != NULL; p += 5)
			if (*n < max)
				gpos[(*n)++] = strtoll(p + 5, NULL, 10);
		if (*n >= want && extra < 0)
			extra = now + 300;	/* a moment more: nothing else comes */
		if ((extra >= 0 && now >= extra) || now >= end)
			break;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((got = read(fd, chunk, sizeof(chunk) - 1)) <= 0)
			break;
		chunk[got] = '\0';
		sb_add(&b, "%s", chunk);
	}
	free(b.p);
}

static void
test_pokes(struct harness *h)
{
	struct json_object *r;
	struct sbuf b = { 0 };
	int64_t got_cat[256], got_all[256], want[256];
	char *rest_cat = NULL, *rest_all = NULL;
	int fd_cat, fd_all, i, n_cat = 0, n_all = 0, same_cat = 1, same_all = 1;
	int n_mine = 0;

	fd_cat = sub_open(h, "category=pk", &rest_cat);
	fd_all = sub_open(h, "all=true", &rest_all);
	ok(fd_cat >= 0 && fd_all >= 0, "subscribed to category pk and to all");
	if (fd_cat < 0 || fd_all < 0)
		return;
	sb_add(&b, "[\"batch.write\",[");
	for (i = 0; i < 60; i++)
		sb_add(&b, "%s{\"stream\":\"%s-%d\",\"type\":\"T\",\"data\":{}}",
		    i ? "," : "", i % 4 == 3 ? "pkother" : "pk", i % 5);
	sb_add(&b, "]]");
	r = rpc_ok(h, ADM, sb_take(h, &b), 200, NULL, "a batch of 60 entries, 45"
	    " of them in category pk");
	for (i = 0; i < 60 && i < jpath_len(r, ""); i++)
		if (i % 4 != 3)
			want[n_mine++] = jpath_int(r, hstr(h, "%d.globalPosition", i));
	sub_collect(fd_cat, rest_cat, got_cat, 256, n_mine, &n_cat);
	sub_collect(fd_all, rest_all, got_all, 256, 60, &n_all);
	close(fd_cat);
	close(fd_all);
	is_int(n_cat, n_mine, "the category subscriber got one poke per message"
	    " of pk");
	for (i = 0; i < n_cat && i < n_mine; i++)
		if (got_cat[i] != want[i])
			same_cat = 0;
	ok(same_cat, "... at their global positions, in order");
	is_int(n_all, 60, "the all=true subscriber got a poke for every message");
	for (i = 0; i < n_all && i < 60; i++)
		if (got_all[i] != jpath_int(r, hstr(h, "%d.globalPosition", i)))
			same_all = 0;
	ok(same_all, "... at their global positions, in order");
}

/* ---- a batch that fails half-way, among single writes ----------------------- */

struct lim_writer {
	const struct harness *h;
	const char *token;
	int failures;			/* answers other than 200 */
	pthread_barrier_t *go;
};

static void *
lim_main(void *arg)
{
	struct lim_writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	int i;

	pthread_barrier_wait(w->go);
	for (i = 0; c != NULL && i < 20; i++) {
		memset(&r, 0, sizeof(r));
		if (hconn_rpc(c, w->token, "[\"stream.write\",\"lim-c\",{\"type\":"
		    "\"Single\",\"data\":{}}]", &r) != 0 || r.status != 200)
			w->failures++;
		http_resp_free(&r);
	}
	if (c == NULL)
		w->failures = 20;
	hconn_free(c);
	return NULL;
}

/*
 * A namespace whose head is imported 200 below the highest global
 * position: a batch of 201 entries (lim-c, then 200 to lim-b) fails at its
 * last entry, after it wrote the others (on SQLite inside its savepoint;
 * PostgreSQL sees it before it writes).  It must leave nothing, alone and
 * while single writers to lim-c share its commits.
 */
static void
test_limit(struct harness *h)
{
	const char *tok = ns_create_ok(h, "lim", "create namespace lim");
	const char *hdr[3];
	const char *batch;
	struct sbuf b = { 0 };
	const char *rec = "{\"id\":\"00000000-0000-4000-8000-000000000001\","
	    "\"stream\":\"lim-a\",\"type\":\"Imported\",\"pos\":0,"
	    "\"gpos\":4611686018427387703,\"data\":{},\"meta\":null,\"time\":"
	    "\"2026-03-01T10:30:00.123456Z\"}\n";
	struct lim_writer w[8];
	pthread_t tid[8];
	pthread_barrier_t go;
	struct http_resp r;
	struct json_object *m;
	int i, refused = 0, gapless = 1, n;

	if (tok == NULL)
		return;
	sb_add(&b, "[\"batch.write\",[{\"stream\":\"lim-c\",\"type\":\"Batch\","
	    "\"data\":{}}");
	for (i = 0; i < 200; i++)
		sb_add(&b, ",{\"stream\":\"lim-b\",\"type\":\"Batch\",\"data\":{}}");
	sb_add(&b, "]]");
	batch = sb_take(h, &b);
	hdr[0] = hstr(h, "Authorization: Bearer %s", tok);
	hdr[1] = "Content-Type: application/x-ndjson";
	hdr[2] = NULL;
	memset(&r, 0, sizeof(r));
	http_post_raw(h, "/import", hdr, rec, strlen(rec), &r);
	if (!ok(r.status == 200 && strstr(r.body, "\"done\":true") != NULL,
	    "import lim-a at global position 2^62 - 201"))
		tap_diag("status %ld: %.400s", r.status, r.body);
	http_resp_free(&r);
	rpc_ok(h, tok, batch, 507, "STORAGE_FULL", "a batch of 201 whose last entry"
	    " would pass global position 2^62 - 1 -> 507");
	is_int(version_of_tok(h, tok, "lim-c"), -1, "... lim-c, its first entry,"
	    " was not written");
	is_int(version_of_tok(h, tok, "lim-b"), -1, "... nor lim-b");

	pthread_barrier_init(&go, NULL, 9);
	for (i = 0; i < 8; i++) {
		w[i].h = h;
		w[i].token = tok;
		w[i].failures = 0;
		w[i].go = &go;
		if (pthread_create(&tid[i], NULL, lim_main, &w[i]) != 0)
			tap_bail("pthread_create");
	}
	pthread_barrier_wait(&go);
	for (i = 0; i < 20; i++) {
		memset(&r, 0, sizeof(r));
		rpc_call(h, tok, batch, &r);
		if (r.status == 507)
			refused++;
		http_resp_free(&r);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		refused += w[i].failures * 1000;	/* any failure shows */
	}
	pthread_barrier_destroy(&go);
	is_int(refused, 20, "20 such batches among 8 x 20 single writes to lim-c:"
	    " every batch 507, every single write 200");
	m = rpc_call(h, tok, "[\"stream.get\",\"lim-c\",{\"batchSize\":-1}]",
	    NULL);
	n = jpath_len(m, "");
	for (i = 0; i < n; i++)
		if (jpath_int(m, hstr(h, "%d.2", i)) != i ||
		    strcmp(jpath_str(m, hstr(h, "%d.1", i)), "Single") != 0)
			gapless = 0;
	is_int(n, 160, "lim-c holds the 160 single writes");
	ok(gapless, "... at positions 0..159, none of the batches' entries among"
	    " them");
	is_int(version_of_tok(h, tok, "lim-b"), -1, "lim-b is still empty");
}

/* ---- --batch-max from the environment ---------------------------------------- */

static void
test_batch_max_setting(struct harness *h)
{
	setenv("EVDB_BATCH_MAX", "3", 1);
	if (harness_restart(h) != 0) {
		ok(0, "the stack restarts with EVDB_BATCH_MAX=3");
		return;
	}
	rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"bm-1\",\"type\":\"T\","
	    "\"data\":{}},{\"stream\":\"bm-1\",\"type\":\"T\",\"data\":{}},"
	    "{\"stream\":\"bm-1\",\"type\":\"T\",\"data\":{}}]]", 200, NULL,
	    "with EVDB_BATCH_MAX=3, 3 entries -> 200");
	rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"bm-1\",\"type\":\"T\","
	    "\"data\":{}},{\"stream\":\"bm-1\",\"type\":\"T\",\"data\":{}},"
	    "{\"stream\":\"bm-1\",\"type\":\"T\",\"data\":{}},{\"stream\":\"bm-1\","
	    "\"type\":\"T\",\"data\":{}}]]", 400, "INVALID_REQUEST",
	    "... 4 entries -> 400");
	is_int(version_of(h, "bm-1"), 2, "... only the first batch was written");
	unsetenv("EVDB_BATCH_MAX");
}

int
main(void)
{
	struct harness *h;

	setvbuf(stdout, NULL, _IOLBF, 0);
	h = harness_start();
	test_doc_examples(h);	/* first: the page's positions assume a new stack */
	test_vocabulary_write(h);
	test_vocabulary_batch(h);
	test_atomicity(h);
	test_concurrent(h);
	test_order(h);
	test_retries(h);
	test_sizes(h);
	test_pokes(h);
	test_limit(h);
	test_batch_max_setting(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
