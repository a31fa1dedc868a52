/*
 * gate.h - per-token admission: how many workers one tenant may hold.
 *
 * Every authenticated request enters the gate under its namespace (one
 * namespace per token) before its handler runs, and leaves it when it is
 * answered.  A namespace may have at most per_token requests in the workers
 * at once, so that no tenant can hold every worker (issue 15, finding 7).
 * A request over that limit is parked: the worker hands its FastCGI request
 * to the gate and goes back to accept(), so a parked request holds a
 * descriptor, not a thread.  When a request of that namespace leaves, its
 * slot passes straight to the oldest parked one, which the same worker then
 * serves.  A namespace with requests parked therefore always has one
 * running, and every parked request is reached.  Past queue_max parked
 * requests, and for imports over their limits, the caller answers 429.
 *
 * Imports also hold an import slot: at most one per namespace and
 * imports_total in the process (finding 1).  Imports are never parked,
 * since one may run for minutes.
 *
 * Thread safety: every function may be called from any worker; one mutex
 * guards the gate.  The gate does not own the parked items; it hands each
 * back exactly once, from gate_leave() or gate_take().
 */
#ifndef EVDB_GATE_H
#define EVDB_GATE_H

#include <stdbool.h>

/** Limits of a gate. */
struct gate_options {
	int per_token;		/* requests of one namespace in the workers */
	int imports_total;	/* imports running in the process */
	int queue_max;		/* parked requests per namespace */
	int max_active;		/* namespaces with a request running at once:
				 * the worker count */
};

/** What gate_enter decided. */
enum gate_verdict {
	GATE_RUN,		/* a slot was taken: run, then gate_leave() */
	GATE_PARKED,		/* item was queued: the gate hands it back later */
	GATE_FULL_TOKEN,	/* over the namespace's limit, queue full: 429 */
	GATE_FULL_IMPORT	/* an import over its limits: 429 */
};

struct gate;

/** A new gate with the limits of *opt (copied); NULL when out of memory. */
struct gate *gate_new(const struct gate_options *opt);

/** Frees g; accepts NULL.  Nothing may be parked or running. */
void gate_free(struct gate *g);

/**
 * Admits a request of namespace ns (an import when import).  item is the
 * caller's request, queued as it is on GATE_PARKED (the caller must then
 * forget it); it is never touched by the gate.  Imports are never parked.
 */
enum gate_verdict gate_enter(struct gate *g, const char *ns, bool import,
    void *item);

/**
 * Gives back the slot that gate_enter (GATE_RUN) or gate_leave (a returned
 * item) gave for ns.  When a request of ns is parked, the slot passes to the
 * oldest one, which is returned: the caller serves it as admitted and calls
 * gate_leave for it in turn.  Returns NULL otherwise.
 */
void *gate_leave(struct gate *g, const char *ns, bool import);

/** Requests of ns running now (for tests and logs). */
int gate_running(struct gate *g, const char *ns);

#endif /* EVDB_GATE_H */
