/*
 * places.h - counted places per namespace, under a cap for the process and
 * a share per namespace (token): what the SSE hub's subscribers and the
 * long-poll loop's held reads take, so that no tenant takes them all
 * (issue 15, finding 14).
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the counts.
 */
#ifndef EVDB_PLACES_H
#define EVDB_PLACES_H

#include <stdint.h>

/** What places_take decided. */
enum places_verdict {
	PLACES_TAKEN,		/* a place was taken: give it back with places_give */
	PLACES_FULL,		/* the process cap is reached */
	PLACES_FULL_NS		/* the namespace's share is reached */
};

struct places;

/** Places for at most max_total, and max_per_ns per namespace. */
struct places *places_new(int max_total, int max_per_ns);

/** Frees p; accepts NULL.  Places still taken are forgotten. */
void places_free(struct places *p);

/** Takes a place for namespace ns, unless a limit is reached. */
enum places_verdict places_take(struct places *p, const char *ns);

/** Gives back a place places_take gave for ns. */
void places_give(struct places *p, const char *ns);

/** Places taken now, in all namespaces. */
int64_t places_count(const struct places *p);

#endif /* EVDB_PLACES_H */
