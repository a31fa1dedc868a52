/*
 * arena.h - a per-request memory arena with cleanup hooks.
 *
 * Modelled on nginx's pools: everything a request allocates comes from its
 * arena and is released together by arena_reset() after the response is
 * sent.  Resources that are not arena memory (json-c trees, SQLite statement
 * resets) register a cleanup hook, which runs in reverse order of
 * registration at reset.  The first block is kept across resets, so a worker
 * serving small requests allocates nothing in the steady state.
 * Not thread-safe: an arena belongs to one worker.
 */
#ifndef EVDB_ARENA_H
#define EVDB_ARENA_H

#include <stddef.h>

typedef void (*arena_cleanup_fn)(void *arg);

struct arena_block;
struct arena_cleanup;

struct arena {
	struct arena_block *head;	/* current block; first block is kept */
	struct arena_cleanup *cleanups;	/* LIFO list of hooks to run at reset */
	size_t block_size;		/* size of ordinary blocks */
};

/** Initialises an arena whose blocks are block_size bytes (0: default 16 KiB). */
void arena_init(struct arena *a, size_t block_size);
/** Runs the cleanups and frees every block; accepts NULL. */
void arena_free(struct arena *a);
/** Runs the cleanups and releases all but the first block. */
void arena_reset(struct arena *a);
/** Returns n bytes aligned for any type, valid until the next reset. Never NULL. */
void *arena_alloc(struct arena *a, size_t n);
/** Copies n bytes of s into the arena and NUL-terminates them. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/** Registers fn(arg) to run at the next reset (or free). */
void arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *arg);

#endif /* EVDB_ARENA_H */
