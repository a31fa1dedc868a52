/*
 * ns_tail.h - a namespace's committed tail, watched: what the SSE hub
 * (hub.c) and the long-poll loop (longpoll.c) each keep per namespace they
 * serve.
 *
 * A tail is the global position up to which the namespace's messages were
 * looked at, with the identity (ns_tail_key) of the message there, so that
 * an import with force that replaced the namespace is seen even when the
 * new head is at or above the tail.  It is registered in the store's watch
 * so that commits of any process mark it dirty.
 *
 * An owner embeds struct ns_tail as the first member of its own namespace
 * struct and keeps them in a list linked through ns_tail.next.
 *
 * Thread safety: none; a tail belongs to one loop thread, which passes its
 * own store connection and watch.
 */
#ifndef EVDB_NS_TAIL_H
#define EVDB_NS_TAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/token.h"
#include "store/store.h"

struct ns_tail {
	struct ns_tail *next;		/* the owner's list of namespaces */
	char name[TOKEN_NS_MAX + 1];	/* the namespace */
	int64_t tail;			/* messages up to here were looked at */
	uint64_t tail_key;		/* ns_tail_key of the message at tail;
					 * 0 when tail is 0 or nothing is there */
	int64_t watch_id;		/* its id in the store watch, or -1 */
	bool dirty;			/* changed since the tail (a notice) */
};

/** The identity of message p: its stream and stream position, hashed; never 0. */
uint64_t ns_tail_key(const struct store_poke *p);

/** Sets *key to ns_tail_key of the message at global position gpos of ns, 0 if none. */
enum evdb_status ns_tail_key_at(struct store_conn *c, const char *ns,
    int64_t gpos, uint64_t *key);

/**
 * Fills t for namespace name: registers it in watch w (NULL: none) first,
 * so that a commit after the head is read is noticed, then sets the tail to
 * the head and its key (both 0 when they cannot be read).
 */
void ns_tail_open(struct ns_tail *t, const char *name, struct store_conn *c,
    struct store_watch *w);

/** Takes t out of watch w.  Frees nothing. */
void ns_tail_close(struct ns_tail *t, struct store_watch *w);

/** Moves the tail to message p. */
void ns_tail_set(struct ns_tail *t, const struct store_poke *p);

/**
 * True when the message at t's tail is no longer the one it was: the
 * namespace was replaced (an import with force).  False when it is the
 * same, the tail is 0, or the read fails (the caller's tail read reports
 * that).
 */
bool ns_tail_replaced(const struct ns_tail *t, struct store_conn *c);

/** The tail named name in list, or NULL. */
struct ns_tail *ns_tail_find(struct ns_tail *list, const char *name);

/** Takes t out of *list (it must be there).  Frees nothing. */
void ns_tail_unlink(struct ns_tail **list, struct ns_tail *t);

/**
 * The store_watch_fn of an owner whose ctx is its list head (struct
 * ns_tail **): marks dirty the tail of watch id id, every tail when id < 0
 * (notices were lost).
 */
void ns_tail_notice(void *ctx, int64_t id);

#endif /* EVDB_NS_TAIL_H */
