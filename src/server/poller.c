/*
 * poller.c - one epoll thread that accepts FastCGI connections and watches
 * the idle ones; a queue that hands workers the readable ones (poller.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/poller.h"

/* Events one epoll_wait() takes at most. */
#define POLLER_EVENTS 64
/* First capacity of the ready queue; it doubles when full. */
#define POLLER_QUEUE_MIN 64
/* Pause after accept() ran out of descriptors, before it is tried again. */
#define POLLER_EMFILE_MS 10

/* What a connection is watched for: input, or the peer's hang-up. */
#define POLLER_CONN_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLONESHOT)

struct poller {
	int listen_fd;			/* not owned */
	int epfd;			/* epoll set: listen_fd, wake, connections */
	int wake[2];			/* pipe: readable once stopping */
	char *allowed;			/* FCGI_WEB_SERVER_ADDRS copy, or NULL */
	struct log *log;		/* process log */
	pthread_t thread;		/* the poller thread */
	bool started;			/* thread was created */
	pthread_mutex_t mu;		/* guards the fields below */
	pthread_cond_t ready_cv;	/* signalled when the queue grows or on stop */
	int *ready;			/* ring of readable connections */
	size_t cap;			/* slots in ready */
	size_t head;			/* index of the oldest entry */
	size_t len;			/* entries in ready */
	bool stopping;			/* poller_stop() was called */
};

/*
 * True when a TCP peer at sa may connect: libfcgi's FCGI_WEB_SERVER_ADDRS
 * rule (IPv4 peers only are checked, as libfcgi does).
 */
static bool
poller_peer_allowed(const struct poller *p, const struct sockaddr_storage *sa)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	const char *cur, *comma;
	char one[INET_ADDRSTRLEN];
	struct in_addr want;
	size_t n;

	if (p->allowed == NULL || sa->ss_family != AF_INET)
		return true;
	for (cur = p->allowed; *cur != '\0'; cur = comma + 1) {
		comma = strchr(cur, ',');
		n = comma != NULL ? (size_t)(comma - cur) : strlen(cur);
		if (n < sizeof(one)) {
			memcpy(one, cur, n);
			one[n] = '\0';
			if (inet_pton(AF_INET, one, &want) == 1 &&
			    want.s_addr == in->sin_addr.s_addr)
				return true;
		}
		if (comma == NULL)
			break;
	}
	return false;
}

/* Queues fd for a worker; false when out of memory (fd is then closed). */
static bool
poller_push(struct poller *p, int fd)
{
	int *grown;
	size_t i, cap;

	pthread_mutex_lock(&p->mu);
	if (p->len == p->cap) {
		cap = p->cap == 0 ? POLLER_QUEUE_MIN : p->cap * 2;
		if (cap < p->cap || (grown = malloc(cap * sizeof(*grown))) == NULL) {
			pthread_mutex_unlock(&p->mu);
			close(fd);
			return false;
		}
		for (i = 0; i < p->len; i++)
			grown[i] = p->ready[(p->head + i) % p->cap];
		free(p->ready);
		p->ready = grown;
		p->cap = cap;
		p->head = 0;
	}
	p->ready[(p->head + p->len) % p->cap] = fd;
	p->len++;
	pthread_cond_signal(&p->ready_cv);
	pthread_mutex_unlock(&p->mu);
	return true;
}

/* Accepts every pending connection and starts watching each. */
static void
poller_accept(struct poller *p)
{
	struct epoll_event ev;
	struct sockaddr_storage sa;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(sa);
		fd = accept4(p->listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE and friends: back off instead of spinning. */
			log_warn(p->log, "accept failed: %s", strerror(errno));
			usleep(POLLER_EMFILE_MS * 1000);
			return;
		}
		if (!poller_peer_allowed(p, &sa)) {
			log_warn(p->log, "connection refused: the peer is not in "
			    "FCGI_WEB_SERVER_ADDRS");
			close(fd);
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = POLLER_CONN_EVENTS;
		ev.data.fd = fd;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			log_warn(p->log, "cannot watch a connection: %s", strerror(errno));
			close(fd);
		}
	}
}

/*
 * A watched connection fired.  One whose peer hung up with nothing to read
 * is closed here; any other goes to a worker, which reads what came (a
 * request, or records libfcgi refuses and then closes the connection on).
 */
static void
poller_ready(struct poller *p, int fd, uint32_t events)
{
	int pending = 0;

	if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 &&
	    (ioctl(fd, FIONREAD, &pending) != 0 || pending == 0)) {
		close(fd);
		return;
	}
	(void)poller_push(p, fd);
}

static void *
poller_main(void *arg)
{
	struct poller *p = arg;
	struct epoll_event evs[POLLER_EVENTS];
	int i, n;

	(void)pthread_setname_np(pthread_self(), "evdb-poller");
	for (;;) {
		n = epoll_wait(p->epfd, evs, POLLER_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error(p->log, "epoll_wait failed: %s; no longer accepting",
			    strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == p->wake[0])
				return NULL;
			if (evs[i].data.fd == p->listen_fd)
				poller_accept(p);
			else
				poller_ready(p, evs[i].data.fd, evs[i].events);
		}
	}
}

enum evdb_status
poller_start(const struct poller_options *opt, struct poller **out)
{
	struct poller *p;
	struct epoll_event ev;
	enum evdb_status rs = EVDB_ERR_IO;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return EVDB_ERR_NOMEM;
	p->listen_fd = opt->listen_fd;
	p->log = opt->log;
	p->epfd = p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->ready_cv, NULL);
	if (opt->allowed != NULL && opt->allowed[0] != '\0' &&
	    (p->allowed = strdup(opt->allowed)) == NULL) {
		rs = EVDB_ERR_NOMEM;
		goto fail;
	}
	if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    pipe2(p->wake, O_CLOEXEC) != 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = p->listen_fd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->listen_fd, &ev) != 0)
		goto fail;
	ev.data.fd = p->wake[0];
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wake[0], &ev) != 0)
		goto fail;
	if (pthread_create(&p->thread, NULL, poller_main, p) != 0)
		goto fail;
	p->started = true;
	*out = p;
	return EVDB_OK;
fail:
	log_error(opt->log, "cannot start the connection poller: %s",
	    strerror(errno));
	poller_free(p);
	return rs;
}

int
poller_next(struct poller *p)
{
	int fd = -1;

	pthread_mutex_lock(&p->mu);
	while (p->len == 0 && !p->stopping)
		pthread_cond_wait(&p->ready_cv, &p->mu);
	if (!p->stopping) {
		fd = p->ready[p->head];
		p->head = (p->head + 1) % p->cap;
		p->len--;
	}
	pthread_mutex_unlock(&p->mu);
	return fd;
}

void
poller_return(struct poller *p, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = POLLER_CONN_EVENTS;
	ev.data.fd = fd;
	/* Still in the set since poller_accept, disarmed by EPOLLONESHOT. */
	if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
		log_warn(p->log, "cannot watch a kept connection: %s; closing it",
		    strerror(errno));
		close(fd);
	}
}

void
poller_stop(struct poller *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->ready_cv);
	pthread_mutex_unlock(&p->mu);
	if (p->started) {
		(void)!write(p->wake[1], "x", 1);
		pthread_join(p->thread, NULL);
		p->started = false;
	}
}

void
poller_free(struct poller *p)
{
	size_t i;

	if (p == NULL)
		return;
	poller_stop(p);
	for (i = 0; i < p->len; i++)
		close(p->ready[(p->head + i) % p->cap]);
	free(p->ready);
	free(p->allowed);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->wake[0] >= 0) {
		close(p->wake[0]);
		close(p->wake[1]);
	}
	pthread_cond_destroy(&p->ready_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
