/*
 * loop.c - the event-loop thread of the hub and the long-poll loop (see
 * loop.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sse/loop.h"

int64_t
loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum evdb_status
loop_open(struct loop *l, struct store *store, int max_total, int max_per_ns,
    bool watch_oneshot)
{
	struct epoll_event ev;

	memset(l, 0, sizeof(*l));
	l->epfd = l->evfd = l->watch_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	l->places = places_new(max_total, max_per_ns);
	if (store_conn_open(store, &l->store) != EVDB_OK)
		return EVDB_ERR_IO;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return EVDB_ERR_IO;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &l->evfd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) != 0)
		return EVDB_ERR_IO;
	if (store_watch_open(store, &l->watch) != EVDB_OK) {
		l->watch = NULL;
		return EVDB_OK;
	}
	l->watch_fd = store_watch_fd(l->watch);
	ev.events = EPOLLIN | (watch_oneshot ? EPOLLONESHOT : 0);
	ev.data.ptr = &l->watch_fd;
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->watch_fd, &ev);
	return EVDB_OK;
}

enum evdb_status
loop_run(struct loop *l, void *(*fn)(void *), void *arg, const char *name)
{
	if (pthread_create(&l->thread, NULL, fn, arg) != 0)
		return EVDB_ERR_IO;
	/* Named for top -H, perf and gdb. */
	(void)pthread_setname_np(l->thread, name);
	l->started = true;
	return EVDB_OK;
}

void
loop_stop(struct loop *l)
{
	if (!l->started)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_mutex_unlock(&l->mu);
	loop_wake(l);
	pthread_join(l->thread, NULL);
	l->started = false;
}

void
loop_close(struct loop *l)
{
	struct loop_item *it;

	while ((it = l->pending) != NULL) {
		l->pending = it->next;
		close(it->fd);
		free(it);
	}
	store_watch_close(l->watch);
	l->watch = NULL;
	store_conn_close(l->store);
	l->store = NULL;
	if (l->evfd >= 0)
		close(l->evfd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->evfd = l->epfd = -1;
	places_free(l->places);
	l->places = NULL;
	pthread_mutex_destroy(&l->mu);
}

bool
loop_stopping(struct loop *l)
{
	bool stopping;

	pthread_mutex_lock(&l->mu);
	stopping = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return stopping;
}

void
loop_wake(struct loop *l)
{
	uint64_t one = 1;

	(void)!write(l->evfd, &one, sizeof(one));
}

void
loop_drain_wake(struct loop *l)
{
	uint64_t v;

	(void)!read(l->evfd, &v, sizeof(v));
}

void
loop_hand(struct loop *l, struct loop_item *it)
{
	pthread_mutex_lock(&l->mu);
	it->next = l->pending;
	l->pending = it;
	pthread_mutex_unlock(&l->mu);
	loop_wake(l);
}

struct loop_item *
loop_take(struct loop *l)
{
	struct loop_item *list;

	pthread_mutex_lock(&l->mu);
	list = l->pending;
	l->pending = NULL;
	pthread_mutex_unlock(&l->mu);
	return list;
}

enum evdb_status
loop_reserve(struct loop *l, const char *ns, const char *full,
    const char *full_ns, const char **why)
{
	if (loop_stopping(l)) {
		*why = "The server is shutting down";
		return EVDB_ERR_CLOSED;
	}
	switch (places_take(l->places, ns)) {
	case PLACES_TAKEN:
		return EVDB_OK;
	case PLACES_FULL:
		*why = full;
		return EVDB_ERR_LIMIT;
	case PLACES_FULL_NS:
	default:
		*why = full_ns;
		return EVDB_ERR_LIMIT;
	}
}
