/*
 * ns_tail.c - a namespace's committed tail, watched (see ns_tail.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/strutil.h"
#include "sse/ns_tail.h"

uint64_t
ns_tail_key(const struct store_poke *p)
{
	uint64_t k;

	k = (uint64_t)strutil_fnv1a(STRUTIL_FNV1A_SEED, p->stream, p->stream_len);
	k = (k * UINT64_C(0x9E3779B97F4A7C15)) ^ (uint64_t)p->position;
	return k != 0 ? k : 1;
}

static enum evdb_status
ns_tail_key_row(void *arg, const struct store_poke *p)
{
	*(uint64_t *)arg = ns_tail_key(p);
	return EVDB_OK;
}

enum evdb_status
ns_tail_key_at(struct store_conn *c, const char *ns, int64_t gpos,
    uint64_t *key)
{
	struct store_poke_query q;

	*key = 0;
	if (gpos <= 0)
		return EVDB_OK;
	memset(&q, 0, sizeof(q));
	q.kind = STORE_POKE_ALL;
	q.after_gpos = gpos - 1;
	q.upto_gpos = gpos;
	q.limit = 1;
	return store_poke_range(c, ns, &q, ns_tail_key_row, key);
}

void
ns_tail_open(struct ns_tail *t, const char *name, struct store_conn *c,
    struct store_watch *w)
{
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->watch_id = -1;
	/* Watch first: a commit after the head is read must be noticed. */
	if (w != NULL && store_watch_add(w, c, name, &t->watch_id) != EVDB_OK)
		t->watch_id = -1;
	if (store_head(c, name, &t->tail) != EVDB_OK ||
	    ns_tail_key_at(c, name, t->tail, &t->tail_key) != EVDB_OK) {
		t->tail = 0;
		t->tail_key = 0;
	}
}

void
ns_tail_close(struct ns_tail *t, struct store_watch *w)
{
	if (t->watch_id >= 0)
		store_watch_remove(w, t->watch_id);
	t->watch_id = -1;
}

void
ns_tail_set(struct ns_tail *t, const struct store_poke *p)
{
	t->tail = p->global_position;
	t->tail_key = ns_tail_key(p);
}

bool
ns_tail_replaced(const struct ns_tail *t, struct store_conn *c)
{
	uint64_t key;

	return t->tail != 0 && ns_tail_key_at(c, t->name, t->tail, &key) == EVDB_OK &&
	    key != t->tail_key;
}

struct ns_tail *
ns_tail_find(struct ns_tail *list, const char *name)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

void
ns_tail_unlink(struct ns_tail **list, struct ns_tail *t)
{
	struct ns_tail **pp;

	for (pp = list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
	}
}

void
ns_tail_notice(void *ctx, int64_t id)
{
	struct ns_tail *t;

	for (t = *(struct ns_tail **)ctx; t != NULL; t = t->next)
		if (id < 0 || t->watch_id == id)
			t->dirty = true;
}
