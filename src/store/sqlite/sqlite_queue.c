/*
 * sqlite_queue.c - the group-commit queues of a store: one per namespace
 * file, shared by every thread, each with the one writer connection its
 * leaders share (sqlite_write.c runs the batches).  The writer connections
 * are bounded: at most WRITE_OPEN_MAX are open, and the least recently
 * used idle one is closed first, so descriptors do not grow with every
 * namespace ever written.
 *
 * Above sqlite_handle.c; below sqlite_store.c (which frees the queues at
 * close) and sqlite_write.c and sqlite_registry.c (which release a deleted
 * file's writer).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

/*
 * Writer connections open at once (each holds the file, its WAL and its
 * poke file; the -shm is shared per file).  Namespaces written more
 * often than the least recent of 64 pay one connection open per batch.
 */
#define WRITE_OPEN_MAX 64

/* Monotonic nanoseconds, for the writers' LRU. */
uint64_t
sqlite_queue_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Closes a writer connection taken off its queue (NULL: nothing). */
void
sqlite_queue_writer_close(struct sqlite_store *st, struct ns_handle *w)
{
	if (w == NULL)
		return;
	sqlite_handle_close(st, w);
	atomic_fetch_sub(&st->writers_open, 1);
}

/*
 * Makes room for one more writer connection: while WRITE_OPEN_MAX are
 * open, closes the least recently used one whose queue has no leader
 * (never self's).  When every one is busy the caller goes over the bound
 * for this batch rather than wait.  Called by a leader holding no lock.
 */
void
sqlite_queue_writers_trim(struct sqlite_store *st, const struct write_queue *self)
{
	struct write_queue *q, *victim;
	struct ns_handle *w;
	uint64_t oldest;

	while (atomic_load(&st->writers_open) >= WRITE_OPEN_MAX) {
		victim = NULL;
		w = NULL;
		oldest = UINT64_MAX;
		pthread_mutex_lock(&st->queues_mu);
		for (q = st->queues; q != NULL; q = q->next) {
			if (q == self)
				continue;
			pthread_mutex_lock(&q->mu);
			if (q->writer != NULL && !q->leader_active &&
			    q->last_used_ns < oldest) {
				victim = q;
				oldest = q->last_used_ns;
			}
			pthread_mutex_unlock(&q->mu);
		}
		if (victim != NULL) {
			pthread_mutex_lock(&victim->mu);
			if (victim->writer != NULL && !victim->leader_active) {
				w = victim->writer;
				victim->writer = NULL;
			}
			pthread_mutex_unlock(&victim->mu);
		}
		pthread_mutex_unlock(&st->queues_mu);
		if (victim == NULL)
			return;		/* all busy */
		sqlite_queue_writer_close(st, w);	/* NULL if it became busy: look again */
	}
}

struct write_queue *
sqlite_write_queue(struct sqlite_store *st, const char *path)
{
	struct write_queue *q;

	pthread_mutex_lock(&st->queues_mu);
	for (q = st->queues; q != NULL; q = q->next)
		if (strcmp(q->path, path) == 0)
			goto out;
	q = xcalloc(1, sizeof(*q));
	q->path = xstrdup(path);
	pthread_mutex_init(&q->mu, NULL);
	q->tailp = &q->head;
	q->next = st->queues;
	st->queues = q;
out:
	pthread_mutex_unlock(&st->queues_mu);
	return q;
}

void
sqlite_write_queue_release(struct sqlite_store *st, const char *path)
{
	struct write_queue *q;
	struct ns_handle *w = NULL;

	pthread_mutex_lock(&st->queues_mu);
	for (q = st->queues; q != NULL; q = q->next)
		if (strcmp(q->path, path) == 0)
			break;
	pthread_mutex_unlock(&st->queues_mu);
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->leader_active)
		q->release_writer = true;
	else {
		w = q->writer;
		q->writer = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	sqlite_queue_writer_close(st, w);
}

void
sqlite_write_queues_free(struct sqlite_store *st)
{
	while (st->queues != NULL) {
		struct write_queue *q = st->queues;

		st->queues = q->next;
		sqlite_queue_writer_close(st, q->writer);
		pthread_mutex_destroy(&q->mu);
		free(q->path);
		free(q);
	}
}
