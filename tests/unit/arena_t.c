/*
 * tests/unit/arena_t.c - unit tests of src/core/arena.c.
 *
 * Allocations must be aligned, disjoint and writable across many blocks;
 * oversized requests get their own block; cleanup hooks run once each, in
 * reverse order, at reset and at free; the first block is reused after a
 * reset.  Leaks show up under the ASan build (LeakSanitizer).
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "../tap.h"

#define NPTR 2000

struct log {
	int order[16];	/* ids of the hooks, in the order they ran */
	int n;		/* hooks run so far */
};

struct hook {
	struct log *log;	/* where to record the call */
	int id;			/* this hook's id */
};

static void
hook_run(void *arg)
{
	struct hook *h = arg;

	if (h->log->n < 16)
		h->log->order[h->log->n] = h->id;
	h->log->n++;
}

static void
alloc_huge(void)
{
	struct arena a;

	arena_init(&a, 0);
	(void)arena_alloc(&a, SIZE_MAX);
}

static void
alloc_ok(void)
{
	struct arena a;
	unsigned char *p[NPTR];
	size_t sz[NPTR], i, j;
	int aligned = 1, intact = 1;

	arena_init(&a, 1024);
	for (i = 0; i < NPTR; i++) {
		sz[i] = (i * 37) % 300;
		if (i % 500 == 499)
			sz[i] = 5000;	/* bigger than a block */
		p[i] = arena_alloc(&a, sz[i]);
		if (p[i] == NULL || (uintptr_t)p[i] % alignof(max_align_t) != 0)
			aligned = 0;
		memset(p[i], (int)(i & 0xff), sz[i]);
	}
	for (i = 0; i < NPTR; i++)
		for (j = 0; j < sz[i]; j++)
			if (p[i][j] != (unsigned char)(i & 0xff))
				intact = 0;
	ok(aligned, "%d allocations are non-NULL and max_align_t aligned", NPTR);
	ok(intact, "none overlaps another (patterns survive)");
	p[0] = arena_alloc(&a, 0);
	p[1] = arena_alloc(&a, 0);
	ok(p[0] != NULL && p[1] != NULL && p[0] != p[1],
	    "zero-byte allocations are distinct");

	arena_reset(&a);
	p[0] = arena_alloc(&a, 10);
	memset(p[0], 1, 10);
	ok(p[0] != NULL, "allocation after reset");
	arena_free(&a);
	arena_free(NULL);
	ok(1, "arena_free and arena_free(NULL) return");
}

static void
reuse_ok(void)
{
	struct arena a;
	void *first, *again;
	char *s;

	arena_init(&a, 0);
	first = arena_alloc(&a, 64);
	(void)arena_alloc(&a, 20000);	/* forces a second block */
	arena_reset(&a);
	again = arena_alloc(&a, 64);
	ok(first == again, "the first block is kept and reused after reset");

	s = arena_strndup(&a, "hello world", 5);
	is_str(s, "hello", "strndup copies n bytes and terminates");
	s = arena_strndup(&a, "", 0);
	is_str(s, "", "strndup of nothing");
	arena_free(&a);

	/* A first allocation bigger than a block: reset drops that block. */
	arena_init(&a, 256);
	first = arena_alloc(&a, 4096);
	memset(first, 7, 4096);
	arena_reset(&a);
	again = arena_alloc(&a, 100);
	memset(again, 8, 100);
	ok(again != NULL, "an oversized first block is released at reset");
	arena_free(&a);
	ok(tap_dies(alloc_huge), "arena_alloc(SIZE_MAX) aborts instead of wrapping");
}

static void
cleanup_ok(void)
{
	struct arena a;
	struct log log = { { 0 }, 0 };
	struct hook h[3] = { { &log, 1 }, { &log, 2 }, { &log, 3 } };

	arena_init(&a, 0);
	arena_cleanup_add(&a, hook_run, &h[0]);
	arena_cleanup_add(&a, hook_run, &h[1]);
	arena_cleanup_add(&a, hook_run, &h[2]);
	is_int(log.n, 0, "hooks do not run when added");
	arena_reset(&a);
	ok(log.n == 3 && log.order[0] == 3 && log.order[1] == 2 &&
	    log.order[2] == 1, "reset runs hooks once each, last added first");
	arena_reset(&a);
	is_int(log.n, 3, "a second reset runs nothing again");
	arena_cleanup_add(&a, hook_run, &h[0]);
	arena_free(&a);
	ok(log.n == 4 && log.order[3] == 1, "arena_free runs pending hooks");
}

int
main(void)
{
	tap_plan(5 + 5 + 4);
	alloc_ok();
	reuse_ok();
	cleanup_ok();
	return tap_done();
}
