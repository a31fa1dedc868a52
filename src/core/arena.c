/*
 * arena.c - per-request arenas (see arena.h).
 */
#include "config.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/xalloc.h"

#define ARENA_DEFAULT_BLOCK (16 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

struct arena_block {
	struct arena_block *next;	/* older block */
	size_t size;			/* usable bytes in mem */
	size_t used;			/* bytes handed out */
	alignas(max_align_t) unsigned char mem[];
};

struct arena_cleanup {
	struct arena_cleanup *next;	/* registered earlier */
	arena_cleanup_fn fn;		/* hook */
	void *arg;			/* its argument */
};

static struct arena_block *
arena_block_new(size_t size, struct arena_block *next)
{
	struct arena_block *b = xmalloc(xadd(sizeof(*b), size));

	b->next = next;
	b->size = size;
	b->used = 0;
	return b;
}

void
arena_init(struct arena *a, size_t block_size)
{
	a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
	a->head = NULL;
	a->cleanups = NULL;
}

static void
arena_run_cleanups(struct arena *a)
{
	/* Hooks may allocate nothing from the arena; they only release. */
	while (a->cleanups != NULL) {
		struct arena_cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->arg);
	}
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b;

	arena_run_cleanups(a);
	if (a->head == NULL)
		return;
	/* Keep only the oldest block, which has the ordinary size. */
	b = a->head;
	while (b->next != NULL) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
	if (b->size != a->block_size) {
		free(b);
		a->head = NULL;
		return;
	}
	b->used = 0;
	a->head = b;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_run_cleanups(a);
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = xadd(n, ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (b == NULL || b->size - b->used < need) {
		size_t size = need > a->block_size ? need : a->block_size;

		b = arena_block_new(size, a->head);
		a->head = b;
	}
	p = b->mem + b->used;
	b->used += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, xadd(n, 1));

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *arg)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}
