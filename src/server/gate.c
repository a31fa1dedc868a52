/*
 * gate.c - per-token admission (see gate.h).
 *
 * The table holds one entry per namespace with a request running; there
 * are never more than max_active of them (each holds a worker), so a linear
 * scan under the mutex costs less than the request it admits.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/token.h"
#include "server/gate.h"

/* One parked request. */
struct gate_item {
	struct gate_item *next;		/* the next younger one */
	void *item;			/* the caller's request */
};

/* A namespace with a request running. */
struct gate_entry {
	char ns[TOKEN_NS_MAX + 1];	/* its name; "" when the entry is free */
	int running;			/* requests holding a slot */
	int imports;			/* of which imports */
	int parked;			/* requests queued */
	struct gate_item *head, *tail;	/* the queue, oldest first */
};

struct gate {
	struct gate_options opt;	/* limits */
	pthread_mutex_t mu;		/* guards everything below */
	struct gate_entry *entries;	/* opt.max_active entries */
	int imports;			/* imports running in the process */
};

struct gate *
gate_new(const struct gate_options *opt)
{
	struct gate *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->opt = *opt;
	if (g->opt.max_active < 1)
		g->opt.max_active = 1;
	if ((g->entries = calloc((size_t)g->opt.max_active, sizeof(*g->entries))) == NULL) {
		free(g);
		return NULL;
	}
	pthread_mutex_init(&g->mu, NULL);
	return g;
}

void
gate_free(struct gate *g)
{
	int i;
	struct gate_item *it;

	if (g == NULL)
		return;
	for (i = 0; i < g->opt.max_active; i++)
		while ((it = g->entries[i].head) != NULL) {
			g->entries[i].head = it->next;
			free(it);
		}
	pthread_mutex_destroy(&g->mu);
	free(g->entries);
	free(g);
}

/* The entry of ns, or NULL; with create, a free entry becomes ns's. */
static struct gate_entry *
gate_find(struct gate *g, const char *ns, bool create)
{
	struct gate_entry *e, *free_e = NULL;
	int i;

	for (i = 0; i < g->opt.max_active; i++) {
		e = &g->entries[i];
		if (e->ns[0] == '\0') {
			if (free_e == NULL)
				free_e = e;
		} else if (strcmp(e->ns, ns) == 0)
			return e;
	}
	if (!create || free_e == NULL)
		return NULL;
	memset(free_e, 0, sizeof(*free_e));
	strncpy(free_e->ns, ns, sizeof(free_e->ns) - 1);
	return free_e;
}

enum gate_verdict
gate_enter(struct gate *g, const char *ns, bool import, void *item)
{
	enum gate_verdict v = GATE_RUN;
	struct gate_entry *e;
	struct gate_item *it;

	pthread_mutex_lock(&g->mu);
	/*
	 * No free entry means max_active namespaces are running, one worker
	 * each, while this request holds another: only a miscounted
	 * max_active gets here.  Run it uncounted rather than refuse it.
	 */
	if ((e = gate_find(g, ns, true)) == NULL)
		goto out;
	if (import && (e->imports > 0 || g->imports >= g->opt.imports_total)) {
		v = GATE_FULL_IMPORT;
	} else if (e->running < g->opt.per_token) {
		e->running++;
		if (import) {
			e->imports++;
			g->imports++;
		}
	} else if (import || e->parked >= g->opt.queue_max ||
	    (it = malloc(sizeof(*it))) == NULL) {
		v = GATE_FULL_TOKEN;
	} else {
		it->next = NULL;
		it->item = item;
		if (e->tail != NULL)
			e->tail->next = it;
		else
			e->head = it;
		e->tail = it;
		e->parked++;
		v = GATE_PARKED;
	}
	if (e->running == 0 && e->parked == 0)
		e->ns[0] = '\0';
out:
	pthread_mutex_unlock(&g->mu);
	return v;
}

void *
gate_leave(struct gate *g, const char *ns, bool import)
{
	struct gate_entry *e;
	struct gate_item *it;
	void *next = NULL;

	pthread_mutex_lock(&g->mu);
	if ((e = gate_find(g, ns, false)) == NULL || e->running == 0)
		goto out;
	if (import && e->imports > 0) {
		e->imports--;
		g->imports--;
	}
	if ((it = e->head) != NULL) {
		/* The slot passes on: running stays as it is. */
		e->head = it->next;
		if (e->head == NULL)
			e->tail = NULL;
		e->parked--;
		next = it->item;
		free(it);
	} else if (--e->running == 0)
		e->ns[0] = '\0';
out:
	pthread_mutex_unlock(&g->mu);
	return next;
}

int
gate_running(struct gate *g, const char *ns)
{
	struct gate_entry *e;
	int n = 0;

	pthread_mutex_lock(&g->mu);
	if ((e = gate_find(g, ns, false)) != NULL)
		n = e->running;
	pthread_mutex_unlock(&g->mu);
	return n;
}
