/*
 * tests/fuzz/fuzz_gate.c - fuzzes the per-token admission gate
 * (src/server/gate.c) in-process: the input is a program of enter and leave
 * operations on a small gate, run against a model of gate.h's contract.
 *
 * The first two bytes pick the limits (per_token 1..4, imports_total 1..3,
 * queue_max 0..3, max_active 1..4).  Then each byte is one operation:
 *   bit 7 clear: a new request of namespace (bits 0-1) enters, an import
 *                when bit 2 is set; it needs a free worker (at most
 *                max_active requests hold one, as in evdb, where each
 *                running request holds a worker), else the byte is skipped;
 *   bit 7 set:   the running request at index (bits 0-6) modulo the running
 *                count leaves; a parked request handed back by gate_leave
 *                starts running on that worker.
 * The model knows what gate.h promises: GATE_FULL_IMPORT exactly for an
 * import while its namespace runs one or imports_total run; GATE_RUN while
 * the namespace runs fewer than per_token; else GATE_PARKED while fewer
 * than queue_max are parked (never for an import), else GATE_FULL_TOKEN.
 * Parked requests come back oldest first, each exactly once; gate_running
 * agrees with the model after every step.  At the end every request
 * leaves and the gate must be empty; ASan and LSan catch the rest.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/gate.h"

/* Namespaces of the programs. */
#define FUZZ_GATE_NS 4

/* Most requests one program creates (running, parked or done). */
#define FUZZ_GATE_REQS 512

/* One request of the program. */
struct fuzz_gate_req {
	int ns;			/* index into fuzz_gate_names */
	bool import;		/* an import */
	bool parked;		/* queued in the gate */
	bool running;		/* holds a slot and a worker */
	int seq;		/* order of parking, for the FIFO check */
};

/* The model and the gate under test. */
struct fuzz_gate_run {
	struct gate *g;				/* the gate */
	struct gate_options opt;		/* its limits */
	struct fuzz_gate_req reqs[FUZZ_GATE_REQS]; /* every request made */
	int nreqs;				/* used entries of reqs */
	int running[FUZZ_GATE_NS];		/* slots held per namespace */
	int imports[FUZZ_GATE_NS];		/* imports running per namespace */
	int parked[FUZZ_GATE_NS];		/* parked per namespace */
	int workers;				/* requests running, all namespaces */
	int imports_total;			/* imports running */
	int seq;				/* next parking number */
};

static const char *const fuzz_gate_names[FUZZ_GATE_NS] = {
	"default", "tenant-a", "tenant-b",
	/* the longest valid name: the gate keeps names of TOKEN_NS_MAX */
	"n123456789012345678901234567890123456789012345678901234567890123",
};

/* Fails with the state of the model. */
static void __attribute__((noreturn))
fuzz_gate_fail(const struct fuzz_gate_run *x, const char *what)
{
	fuzz_fail(NULL, "gate: %s (per_token %d, imports_total %d, queue_max %d,"
	    " max_active %d, %d running)", what, x->opt.per_token,
	    x->opt.imports_total, x->opt.queue_max, x->opt.max_active, x->workers);
}

/* Checks gate_running against the model for every namespace. */
static void
fuzz_gate_check_counts(struct fuzz_gate_run *x)
{
	int i;

	for (i = 0; i < FUZZ_GATE_NS; i++)
		if (gate_running(x->g, fuzz_gate_names[i]) != x->running[i])
			fuzz_gate_fail(x, "gate_running disagrees with the model");
}

/* The oldest parked request of namespace ns, or -1. */
static int
fuzz_gate_oldest(const struct fuzz_gate_run *x, int ns)
{
	int i, best = -1;

	for (i = 0; i < x->nreqs; i++)
		if (x->reqs[i].parked && x->reqs[i].ns == ns &&
		    (best < 0 || x->reqs[i].seq < x->reqs[best].seq))
			best = i;
	return best;
}

/* A new request of ns enters; the model predicts the verdict. */
static void
fuzz_gate_enter(struct fuzz_gate_run *x, int ns, bool import)
{
	struct fuzz_gate_req *q;
	enum gate_verdict want, got;

	if (x->workers >= x->opt.max_active || x->nreqs >= FUZZ_GATE_REQS)
		return;		/* no worker to accept it */
	if (import && (x->imports[ns] > 0 || x->imports_total >= x->opt.imports_total))
		want = GATE_FULL_IMPORT;
	else if (x->running[ns] < x->opt.per_token)
		want = GATE_RUN;
	else if (!import && x->parked[ns] < x->opt.queue_max)
		want = GATE_PARKED;
	else
		want = GATE_FULL_TOKEN;
	q = &x->reqs[x->nreqs];
	memset(q, 0, sizeof(*q));
	q->ns = ns;
	q->import = import;
	got = gate_enter(x->g, fuzz_gate_names[ns], import, q);
	if (got != want)
		fuzz_gate_fail(x, "gate_enter's verdict is not the contract's");
	x->nreqs++;
	if (got == GATE_RUN) {
		q->running = true;
		x->running[ns]++;
		x->workers++;
		if (import) {
			x->imports[ns]++;
			x->imports_total++;
		}
	} else if (got == GATE_PARKED) {
		q->parked = true;
		q->seq = x->seq++;
		x->parked[ns]++;
	}
}

/* The k-th running request (modulo the running count) leaves. */
static void
fuzz_gate_leave(struct fuzz_gate_run *x, int k)
{
	struct fuzz_gate_req *q = NULL, *next;
	int i, n = 0, want;

	if (x->workers == 0)
		return;
	k %= x->workers;
	for (i = 0; i < x->nreqs; i++)
		if (x->reqs[i].running && n++ == k) {
			q = &x->reqs[i];
			break;
		}
	if (q == NULL)
		fuzz_gate_fail(x, "the model lost a running request");
	want = fuzz_gate_oldest(x, q->ns);
	next = gate_leave(x->g, fuzz_gate_names[q->ns], q->import);
	q->running = false;
	if (q->import) {
		x->imports[q->ns]--;
		x->imports_total--;
	}
	if (want < 0) {
		if (next != NULL)
			fuzz_gate_fail(x, "gate_leave handed back a request none parked");
		x->running[q->ns]--;
		x->workers--;
		return;
	}
	if (next != &x->reqs[want])
		fuzz_gate_fail(x, "gate_leave did not hand back the oldest parked request");
	/* The slot and the worker pass to it. */
	next->parked = false;
	next->running = true;
	x->parked[next->ns]--;
}

int
fuzz_gate_init(void)
{
	return 0;
}

void
fuzz_gate_fini(void)
{
}

int
fuzz_gate_one(const uint8_t *data, size_t size)
{
	struct fuzz_gate_run *x;
	size_t i;

	if (size < 2)
		return 0;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		fuzz_fail(NULL, "out of memory");
	x->opt.per_token = 1 + (data[0] & 3);
	x->opt.imports_total = 1 + (data[0] >> 2 & 3) % 3;
	x->opt.queue_max = data[1] & 3;
	x->opt.max_active = 1 + (data[1] >> 2 & 3);
	if ((x->g = gate_new(&x->opt)) == NULL)
		fuzz_fail(NULL, "gate_new: out of memory");
	for (i = 2; i < size; i++) {
		if (data[i] & 0x80)
			fuzz_gate_leave(x, data[i] & 0x7f);
		else
			fuzz_gate_enter(x, data[i] & 3, (data[i] & 4) != 0);
		fuzz_gate_check_counts(x);
	}
	/* Drain: every running request leaves; parked ones run, then leave. */
	while (x->workers > 0) {
		fuzz_gate_leave(x, 0);
		fuzz_gate_check_counts(x);
	}
	for (i = 0; i < FUZZ_GATE_NS; i++)
		if (x->parked[i] != 0 || x->running[i] != 0)
			fuzz_gate_fail(x, "requests left parked after every one left");
	gate_free(x->g);
	free(x);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_gate_one(data, size);
}
#endif
