/*
 * loop.h - the event-loop thread that the SSE hub (hub.c) and the long-poll
 * loop (longpoll.c) each run: an epoll instance, an eventfd that wakes it,
 * the store's watch and a store connection of its own, the attaches that
 * workers hand over, the stop flag and the counted places per namespace.
 *
 * The owner embeds struct loop, registers its connections' sockets in
 * loop.epfd itself, and tells its events apart by data.ptr: &loop.evfd is
 * the wake-up (drain it with loop_drained_wake), &loop.watch_fd the watch.
 *
 * Thread safety: loop_hand(), loop_stopping(), loop_reserve(), places
 * calls and loop_stop() may be called from any thread; loop_take() and the
 * store connection belong to the loop's thread; loop_open() and
 * loop_close() run on the owner's thread with the loop's thread not
 * running.
 */
#ifndef EVDB_LOOP_H
#define EVDB_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "sse/places.h"
#include "store/store.h"

/**
 * The head of an attach handed over by a worker: the owner's pending
 * struct begins with it and is one allocation, so that loop_close() can
 * close fd and free it when the loop never took it.
 */
struct loop_item {
	struct loop_item *next;		/* the pending list */
	int fd;				/* FastCGI connection, owned */
	int request_id;			/* FastCGI request id */
};

struct loop {
	pthread_t thread;		/* the event loop */
	bool started;			/* thread is running */
	int epfd;			/* epoll instance, or -1 */
	int evfd;			/* wakes the loop, or -1; its address
					 * tags its epoll events */
	struct store_watch *watch;	/* the store's change notices, or NULL */
	int watch_fd;			/* its descriptor, or -1; its address
					 * tags its epoll events */
	struct store_conn *store;	/* the loop thread's store connection */
	pthread_mutex_t mu;		/* guards pending, stopping */
	struct loop_item *pending;	/* attaches not yet taken by the loop */
	bool stopping;			/* loop_stop was called */
	struct places *places;		/* connections reserved or attached */
};

/** Monotonic time in milliseconds. */
int64_t loop_clock_ms(void);

/**
 * Sets l up: places (max_total, max_per_ns), a store connection, the
 * epoll instance with the eventfd, and the store's watch, registered with
 * EPOLLONESHOT when watch_oneshot.  A store without a watch is no failure:
 * l->watch is then NULL, and the caller says what that costs.  Returns
 * EVDB_ERR_IO (errno says why) on failure; loop_close() still frees l.
 */
enum evdb_status loop_open(struct loop *l, struct store *store, int max_total,
    int max_per_ns, bool watch_oneshot);

/** Starts the thread: fn(arg), named name (at most 15 bytes). */
enum evdb_status loop_run(struct loop *l, void *(*fn)(void *), void *arg,
    const char *name);

/** Sets the stop flag, wakes the thread and waits for it to end. */
void loop_stop(struct loop *l);

/**
 * Frees what loop_open() set up, and closes and frees the attaches the
 * loop never took.  The thread must have ended (loop_stop).
 */
void loop_close(struct loop *l);

/** True once loop_stop() was called. */
bool loop_stopping(struct loop *l);

/** Wakes the loop's thread. */
void loop_wake(struct loop *l);

/** Empties the eventfd after a wake-up event. */
void loop_drain_wake(struct loop *l);

/** Queues it (now the loop's) and wakes the loop. */
void loop_hand(struct loop *l, struct loop_item *it);

/** Takes every queued attach, newest first; the caller owns them. */
struct loop_item *loop_take(struct loop *l);

/**
 * Reserves a place for ns.  EVDB_ERR_CLOSED when stopping, EVDB_ERR_LIMIT
 * when the process cap (*why = full) or the namespace's share
 * (*why = full_ns) is reached.
 */
enum evdb_status loop_reserve(struct loop *l, const char *ns,
    const char *full, const char *full_ns, const char **why);

#endif /* EVDB_LOOP_H */
