/*
 * places.c - counted places per namespace (see places.h).  A namespace's
 * count lives while it is above 0; the list is short (namespaces with a
 * subscriber or a held read in this process).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/token.h"
#include "core/xalloc.h"
#include "sse/places.h"

struct places_ns {
	struct places_ns *next;
	char name[TOKEN_NS_MAX + 1];
	int count;			/* places taken, > 0 */
};

struct places {
	pthread_mutex_t mu;		/* guards list */
	struct places_ns *list;		/* namespaces with a place taken */
	atomic_llong count;		/* places taken in all */
	int max_total;			/* process cap */
	int max_per_ns;			/* share of one namespace */
};

struct places *
places_new(int max_total, int max_per_ns)
{
	struct places *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	atomic_init(&p->count, 0);
	p->max_total = max_total;
	p->max_per_ns = max_per_ns;
	return p;
}

void
places_free(struct places *p)
{
	struct places_ns *n;

	if (p == NULL)
		return;
	while ((n = p->list) != NULL) {
		p->list = n->next;
		free(n);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

enum places_verdict
places_take(struct places *p, const char *ns)
{
	struct places_ns *n;
	enum places_verdict v = PLACES_TAKEN;

	pthread_mutex_lock(&p->mu);
	if (atomic_load(&p->count) >= p->max_total) {
		v = PLACES_FULL;
		goto out;
	}
	for (n = p->list; n != NULL; n = n->next)
		if (strcmp(n->name, ns) == 0)
			break;
	if (n != NULL && n->count >= p->max_per_ns) {
		v = PLACES_FULL_NS;
		goto out;
	}
	if (n == NULL) {
		n = xcalloc(1, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", ns);
		n->next = p->list;
		p->list = n;
	}
	n->count++;
	atomic_fetch_add(&p->count, 1);
out:
	pthread_mutex_unlock(&p->mu);
	return v;
}

void
places_give(struct places *p, const char *ns)
{
	struct places_ns **pp, *n;

	pthread_mutex_lock(&p->mu);
	for (pp = &p->list; (n = *pp) != NULL; pp = &n->next) {
		if (strcmp(n->name, ns) != 0)
			continue;
		if (--n->count == 0) {
			*pp = n->next;
			free(n);
		}
		atomic_fetch_sub(&p->count, 1);
		break;
	}
	pthread_mutex_unlock(&p->mu);
}

int64_t
places_count(const struct places *p)
{
	return atomic_load(&((struct places *)p)->count);
}
