/*
 * server.c - listening socket, worker pool, request loop and signals.
 *
 * Connections come from the poller (poller.h), which accepts them and
 * watches the idle ones; a worker gets one only when it has input, reads
 * one request from it, and gives a kept connection back to the poller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/thread_locale.h"
#include "sse/hub.h"
#include "http/metrics.h"
#include "http/request.h"
#include "rpc/rpc.h"
#include "server/gate.h"
#include "server/poller.h"
#include "server/router.h"
#include "sse/longpoll.h"
#include "server/server.h"
#include "server/sweeper.h"

/*
 * Buffers above these sizes are freed after the request that grew them.
 * Read answers reach --max-response-bytes (4 MiB by default); keeping only
 * 1 MiB means a worker holds such a buffer only while it answers.
 */
#define SERVER_BODY_KEEP (2u << 20)
#define SERVER_OUT_KEEP (1u << 20)
/* Longest the unread body of a refused request is read and dropped. */
#define SERVER_DRAIN_MS 5000
/* Requests one token may have parked behind its limit (gate.h). */
#define SERVER_PARK_MAX 256

struct server_ctx {
	const struct settings *settings; /* process settings */
	struct store *store;		/* shared store */
	struct log *log;		/* process log */
	struct hub *hub;		/* SSE subscriptions */
	struct metrics *metrics;	/* counters for /metrics */
	struct gate *gate;		/* per-token admission */
	struct longpoll *longpoll;	/* held reads ("wait") */
	struct poller *poller;		/* accepts, watches idle connections */
	int listen_fd;			/* FastCGI listening socket (non-blocking) */
	atomic_int stopping;		/* set once SIGTERM/SIGINT arrived */
	atomic_int busy;		/* workers serving a request now */
	atomic_llong served;		/* requests served since start */
};

struct worker {
	int id;				/* 1-based, for logs */
	pthread_t thread;		/* the worker's thread */
	struct server_ctx *srv;		/* shared state */
	bool started;			/* thread was created */
	char slot_ns[TOKEN_NS_MAX + 1];	/* namespace of the slot a resumed
					 * request holds */
	struct json_tokener *tok;	/* the worker's request-body tokener
					 * (rpc.h), or NULL: one per request */
};

/* The request_gauges_fn of every request: reads the process's gauges. */
static void
server_gauges(const void *ctx, struct metrics_gauges *g)
{
	const struct server_ctx *srv = ctx;

	memset(g, 0, sizeof(*g));
	g->workers = srv->settings->workers;
	g->workers_busy = atomic_load(&((struct server_ctx *)srv)->busy);
	g->subscribers = hub_subscriber_count(srv->hub);
	g->pokes_sent = hub_pokes_sent(srv->hub);
	g->sqlite_connections = store_connection_count(srv->store);
	g->checkpoints = store_checkpoint_count(srv->store);
	g->data_dir = srv->settings->data_dir;
	g->has_pool = store_pool_stats(srv->store, &g->pool);
}

static int64_t
server_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *
server_param(FCGX_Request *req, const char *name, const char *dflt)
{
	const char *v = FCGX_GetParam(name, req->envp);

	return v != NULL ? v : dflt;
}

/*
 * True when nginx has closed the connection of a request not yet served:
 * it gave up (fastcgi_read_timeout, or its client went away) while the
 * request waited in the listen backlog or in the gate's queue.  nginx never
 * half-closes a FastCGI connection, so a hang-up means nobody will read the
 * answer, and a write run now would be applied behind a 504 (issue 15,
 * finding 5).  POLLRDHUP is set once the peer's FIN or close has arrived,
 * even with the rest of the request still unread in the socket.
 */
static bool
server_peer_closed(int fd)
{
	struct pollfd pfd;

	if (fd < 0)
		return false;
	pfd.fd = fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * Serves one accepted (or resumed) request.  slot_ns is non-NULL for a
 * request resumed from the gate's queue: it already holds a slot of that
 * namespace.  Returns the next request to serve (one the gate handed over
 * when this one left), or NULL.  *parked is set when the request went to
 * the gate's queue instead: it was not answered and must not be finished.
 * *refused is set when it was answered 4xx (server_finish).
 */
static FCGX_Request *
server_serve_one(struct worker *w, FCGX_Request *fcgi, const char *slot_ns,
    struct store_conn *sc, struct arena *arena, struct buf *body,
    struct buf *out, bool *parked, bool *refused)
{
	struct server_ctx *srv = w->srv;
	struct request r;
	const char *cl;
	char *end, ns[TOKEN_NS_MAX + 1];
	int64_t start = server_now_us();
	FCGX_Request *next = NULL;

	*parked = false;
	*refused = false;
	memset(&r, 0, sizeof(r));
	r.fcgi = fcgi;
	r.arena = arena;
	r.store = sc;
	r.settings = srv->settings;
	r.log = srv->log;
	r.metrics = srv->metrics;
	r.hub = srv->hub;
	r.gate = srv->gate;
	r.longpoll = srv->longpoll;
	r.gauges = server_gauges;
	r.gauges_ctx = srv;
	r.worker_id = w->id;
	r.body = body;
	r.out = out;
	r.tok = w->tok;
	r.method = server_param(fcgi, "REQUEST_METHOD", "GET");
	r.path = server_param(fcgi, "DOCUMENT_URI", NULL);
	if (r.path == NULL)
		r.path = server_param(fcgi, "SCRIPT_NAME", "/");
	r.query = server_param(fcgi, "QUERY_STRING", "");
	r.authorization = server_param(fcgi, "HTTP_AUTHORIZATION", NULL);
	r.request_id = server_param(fcgi, "REQUEST_ID", "-");
	r.content_length = -1;
	if (slot_ns != NULL) {
		r.admitted = true;
		snprintf(r.ns, sizeof(r.ns), "%s", slot_ns);
	}
	if (server_peer_closed(fcgi->ipcFd)) {
		metrics_abandoned(srv->metrics);
		log_warn(srv->log, "req=%s worker=%d %s %s not run: nginx closed the "
		    "connection before it was served (the client got a 504 or left)",
		    r.request_id, w->id, r.method, r.path);
		goto leave;
	}
	cl = server_param(fcgi, "CONTENT_LENGTH", NULL);
	if (cl != NULL && *cl != '\0') {
		errno = 0;
		r.content_length = strtoll(cl, &end, 10);
		if (errno != 0 || *end != '\0' || r.content_length < 0) {
			request_send_error(&r, 400, "INVALID_REQUEST",
			    "Invalid Content-Length", NULL);
			request_finish(&r);
			*refused = true;
			goto leave;
		}
	}
	router_dispatch(&r);
	if (r.parked) {
		*parked = true;
		metrics_parked(srv->metrics);
		log_debug(srv->log, "req=%s worker=%d %s parked behind its token's limit",
		    r.request_id, w->id, r.path);
		return NULL;
	}
	request_finish(&r);
	*refused = !r.streaming && r.status >= 400 && r.status < 500;
	metrics_request(srv->metrics, r.label, r.status, server_now_us() - start);
	if (r.status >= 500)
		log_warn(srv->log, "req=%s worker=%d %s %s %s -> %d", r.request_id, w->id,
		    r.method, r.path, r.label ? r.label : "-", r.status);
	else
		log_debug(srv->log, "req=%s worker=%d %s %s %s -> %d", r.request_id, w->id,
		    r.method, r.path, r.label ? r.label : "-", r.status);
leave:
	if (r.admitted) {
		/* slot_ns may be w->slot_ns itself: copy it first. */
		snprintf(ns, sizeof(ns), "%s", slot_ns != NULL ? slot_ns : r.ns);
		next = gate_leave(srv->gate, ns, r.import_slot);
		if (next != NULL)
			snprintf(w->slot_ns, sizeof(w->slot_ns), "%s", ns);
	}
	return next;
}

/*
 * Reads and drops what is left of a request's body, until its end or for
 * at most SERVER_DRAIN_MS.  Each read(2) waits 1 s at most (SO_RCVTIMEO),
 * and asks libfcgi for no more than it holds (or one byte), so that the
 * deadline is looked at after every read.
 */
static void
server_drain(FCGX_Request *fcgi)
{
	struct timeval tv = { 1, 0 };
	int64_t end = server_now_us() + (int64_t)SERVER_DRAIN_MS * 1000;
	char buf[65536];
	ptrdiff_t want;

	if (fcgi->ipcFd < 0 || fcgi->in == NULL)
		return;
	(void)setsockopt(fcgi->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (FCGX_HasSeenEOF(fcgi->in) != EOF && server_now_us() < end) {
		want = fcgi->in->stop - fcgi->in->rdNext;
		if (want <= 0)
			want = 1;
		if (want > (ptrdiff_t)sizeof(buf))
			want = (ptrdiff_t)sizeof(buf);
		if (FCGX_GetStr(buf, (int)want, fcgi->in) <= 0)
			break;
	}
}

/*
 * Ends the request.  libfcgi closes a connection with shutdown(SHUT_WR)
 * and then reads until nginx closes its side, so that unread input never
 * turns the close into a reset; the worker sleeps through that round
 * trip on every request.  When the request's input was read to its end
 * there is nothing left to reset, so the connection is marked detached,
 * which makes libfcgi close it at once.  A kept connection is never
 * closed here (it goes back to the poller), and it stays undetached for
 * the requests that follow.
 *
 * A refused request (answered 4xx, maybe before its body was read) has its
 * body read and dropped first, for at most SERVER_DRAIN_MS, then is
 * detached.  The drain keeps the close clean for nginx, which may still be
 * sending a large body (a reset there turns the 4xx into nginx's own
 * error).  The bound is for a client that trickles a body it was refused
 * (429, 401): libfcgi's linger reads for as long as input keeps coming, 2 s
 * apart at most, and would hold the worker for as long as it likes.  A
 * kept connection is drained whenever its request's input was not read to
 * its end (a refused request, an /import answered with an error event
 * mid-body), so that it is left at the start of the next request: libfcgi
 * reads ahead into a buffer that dies with the request, and what follows
 * in the socket could start in the middle of a record.  One whose input is
 * still not all read by then is closed instead of kept.
 */
static void
server_finish(FCGX_Request *fcgi, bool refused)
{
	struct timeval none = { 0, 0 };

	if (refused || (fcgi->keepConnection && FCGX_HasSeenEOF(fcgi->in) != EOF)) {
		server_drain(fcgi);
		if (fcgi->keepConnection && fcgi->ipcFd >= 0) {
			(void)setsockopt(fcgi->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none,
			    sizeof(none));
			if (FCGX_HasSeenEOF(fcgi->in) != EOF)
				fcgi->keepConnection = 0;
		}
	}
	if (!fcgi->keepConnection &&
	    (refused || FCGX_HasSeenEOF(fcgi->in) == EOF))
		FCGX_Detach(fcgi);
	FCGX_Finish_r(fcgi);
}

/* A new FastCGI request, on no connection yet; NULL when out of memory. */
static FCGX_Request *
server_request_new(void)
{
	FCGX_Request *fcgi = calloc(1, sizeof(*fcgi));

	if (fcgi != NULL)
		FCGX_InitRequest(fcgi, -1, 0);
	return fcgi;
}

/*
 * Reads the next request of connection fd (from poller_next) into fcgi.
 * libfcgi's FCGX_Accept_r reads from fcgi->ipcFd when it is open, so the
 * connection is set there, marked kept so that the Finish that
 * FCGX_Accept_r runs first leaves it open.  The listening socket is -1:
 * when the connection ends or brings records libfcgi refuses, libfcgi
 * closes it and tries accept() on -1, which fails at once (EBADF), so the
 * worker never blocks in accept.  Returns 0, or < 0 with fd closed.
 */
static int
server_request_read(FCGX_Request *fcgi, int fd)
{
	FCGX_InitRequest(fcgi, -1, 0);
	fcgi->ipcFd = fd;
	fcgi->keepConnection = 1;
	return FCGX_Accept_r(fcgi);
}

/*
 * Gives the connection of a finished request back to the poller when nginx
 * keeps it (FCGX_Finish_r left it open), so that no worker waits on it.
 * A connection closed by FCGX_Finish_r, or taken by the SSE hub or the
 * long-poll loop (request_take_socket), is not there any more.
 */
static void
server_request_release(struct server_ctx *srv, FCGX_Request *fcgi)
{
	int fd = fcgi->ipcFd;

	if (fd < 0)
		return;
	fcgi->ipcFd = -1;
	poller_return(srv->poller, fd);
}

/* Frees a request made by server_request_new, closing its connection. */
static void
server_request_free(FCGX_Request *fcgi)
{
	if (fcgi == NULL)
		return;
	FCGX_Free(fcgi, 1);
	free(fcgi);
}

/*
 * Serves the request just accepted in *fcgip, then every request the gate
 * hands over as they leave (gate.h).  A request that is parked stays with
 * the gate, and *fcgip becomes a fresh request to accept into.  At the end
 * *fcgip is the request to accept the next one into (NULL when out of
 * memory).  The worker counts as busy throughout.
 */
static void
server_serve_chain(struct worker *w, FCGX_Request **fcgip, struct store_conn *sc,
    struct arena *arena, struct buf *body, struct buf *out)
{
	struct server_ctx *srv = w->srv;
	FCGX_Request *fcgi = *fcgip, *next;
	const char *slot_ns = NULL;
	bool parked, refused;

	for (;;) {
		store_conn_request_begin(sc);
		next = server_serve_one(w, fcgi, slot_ns, sc, arena, body, out, &parked,
		    &refused);
		store_conn_request_end(sc);
		if (parked)
			fcgi = server_request_new();
		else {
			server_finish(fcgi, refused);
			server_request_release(srv, fcgi);
		}
		arena_reset(arena);
		buf_trim(body, SERVER_BODY_KEEP);
		buf_trim(out, SERVER_OUT_KEEP);
		atomic_fetch_add(&srv->served, 1);
		if (next == NULL)
			break;
		/* Serve the one handed over; fcgi's connection went back above. */
		server_request_free(fcgi);
		fcgi = next;
		slot_ns = w->slot_ns;
	}
	*fcgip = fcgi;
}

static void *
server_worker_main(void *arg)
{
	struct worker *w = arg;
	struct server_ctx *srv = w->srv;
	struct store_conn *sc = NULL;
	struct arena arena;
	struct buf body, out;
	FCGX_Request *fcgi = NULL;
	char name[16];		/* a thread name holds 15 bytes */
	int fd;

	snprintf(name, sizeof(name), "evdb-worker-%d", w->id);
	(void)pthread_setname_np(pthread_self(), name);
	/* json-c's locale switch around every parse then allocates nothing. */
	(void)thread_locale_use_c();
	arena_init(&arena, 0);
	buf_init(&body);
	buf_init(&out);
	if (store_conn_open(srv->store, &sc) != EVDB_OK) {
		log_error(srv->log, "worker=%d cannot open the store; exiting", w->id);
		return NULL;
	}
	w->tok = rpc_tokener_new();
	while (!atomic_load(&srv->stopping)) {
		if (fcgi == NULL && (fcgi = server_request_new()) == NULL) {
			log_warn(srv->log, "worker=%d out of memory; retrying", w->id);
			usleep(10000);
			continue;
		}
		/* A connection with input: a new one, or one nginx kept. */
		if ((fd = poller_next(srv->poller)) < 0)
			break;
		/*
		 * < 0: the connection ended (nginx closed a kept one with a
		 * last byte in flight) or sent records that are not a request;
		 * libfcgi closed it.
		 */
		if (server_request_read(fcgi, fd) < 0)
			continue;
		atomic_fetch_add(&srv->busy, 1);
		server_serve_chain(w, &fcgi, sc, &arena, &body, &out);
		atomic_fetch_sub(&srv->busy, 1);
	}
	server_request_free(fcgi);
	store_conn_close(sc);
	arena_free(&arena);
	buf_free(&body);
	buf_free(&out);
	rpc_tokener_free(w->tok);
	w->tok = NULL;
	return NULL;
}

/* The longpoll_run_fn of the process: a held read runs as an RPC call. */
static bool
server_longpoll_run(void *ctx, struct store_conn *c, const char *ns,
    struct buf *body, struct buf *out, int *status, const char **content_type)
{
	const struct server_ctx *srv = ctx;

	return rpc_rerun(srv->settings, srv->log, c, ns, body, out, status,
	    content_type);
}

/* The longpoll_keep_fn of the process: a kept connection goes back to the poller. */
static void
server_longpoll_keep(void *ctx, int fd)
{
	struct server_ctx *srv = ctx;

	poller_return(srv->poller, fd);
}

/* Starts the long-poll loop of srv; EVDB_OK or a failure (logged). */
static enum evdb_status
server_longpoll_start(struct server_ctx *srv)
{
	struct longpoll_options lopt;

	memset(&lopt, 0, sizeof(lopt));
	lopt.store = srv->store;
	lopt.log = srv->log;
	lopt.max_held = srv->settings->longpoll_max;
	lopt.max_per_namespace = srv->settings->longpoll_max_per_token;
	lopt.run = server_longpoll_run;
	lopt.run_ctx = srv;
	lopt.keep = server_longpoll_keep;
	lopt.keep_ctx = srv;
	return longpoll_start(&lopt, &srv->longpoll);
}

/* True when fd is a listening socket (spawn-fcgi, systemd). */
static bool
server_is_listening_socket(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v != 0;
}

static int
server_listen_unix(const char *path, const struct settings *s, struct log *log)
{
	struct sockaddr_un sa;
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error(log, "socket path too long: %s", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_error(log, "%s exists and is not a socket", path);
			close(fd);
			return -1;
		}
		/* A live server answers; a stale socket of a crashed one does not. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			log_error(log, "%s: another server is listening there", path);
			close(fd);
			return -1;
		}
		close(fd);
		(void)unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, (mode_t)s->socket_mode) != 0 ||
	    listen(fd, s->backlog) != 0)
		goto fail;
	return fd;
fail:
	log_error(log, "listen on unix:%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
server_listen_tcp(const char *addr, const struct settings *s, struct log *log)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1, rc;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		log_error(log, "listen address must be unix:PATH or HOST:PORT: %s", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res)) != 0) {
		log_error(log, "listen on %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, s->backlog) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_error(log, "listen on %s: %s", addr, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/*
 * Sets up the listening socket: an explicit --listen, else one inherited
 * from systemd (LISTEN_FDS) or spawn-fcgi (fd 0), else the default unix
 * socket in the data directory.  *unix_path receives a path to unlink at
 * exit, or NULL.
 */
static int
server_listen(const struct settings *s, struct log *log, char **unix_path)
{
	const char *lfds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
	char path[PATH_MAX + 16];

	*unix_path = NULL;
	if (s->listen[0] == '\0') {
		if (lfds != NULL && lpid != NULL && atoi(lfds) >= 1 &&
		    (pid_t)atol(lpid) == getpid() && server_is_listening_socket(3)) {
			log_info(log, "listening on the socket passed by systemd");
			return 3;
		}
		if (server_is_listening_socket(0)) {
			log_info(log, "listening on the socket inherited on fd 0");
			return 0;
		}
		snprintf(path, sizeof(path), "unix:%s/evdb.sock", s->data_dir);
	} else
		snprintf(path, sizeof(path), "%s", s->listen);
	if (strncmp(path, "unix:", 5) == 0) {
		int fd = server_listen_unix(path + 5, s, log);

		if (fd >= 0) {
			*unix_path = strdup(path + 5);
			log_info(log, "listening on %s", path);
		}
		return fd;
	}
	{
		int fd = server_listen_tcp(path, s, log);

		if (fd >= 0)
			log_info(log, "listening on %s", path);
		return fd;
	}
}

enum evdb_status
server_run(const struct settings *s, struct store *st, struct log *log)
{
	struct server_ctx srv;
	struct hub_options hopt;
	struct gate_options gopt;
	struct poller_options popt;
	struct worker *workers = NULL;
	struct sweeper_options sopt;
	struct sweeper *sweeper = NULL;
	sigset_t set;
	char *unix_path = NULL;
	enum evdb_status rs = EVDB_OK;
	int i, sig;

	memset(&srv, 0, sizeof(srv));
	srv.listen_fd = -1;
	srv.settings = s;
	srv.store = st;
	srv.log = log;
	atomic_init(&srv.stopping, 0);
	atomic_init(&srv.busy, 0);
	atomic_init(&srv.served, 0);
	srv.metrics = metrics_new();

	/* main() blocked these before anything started; sigwait() takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);

	if (FCGX_Init() != 0) {
		log_error(log, "FCGX_Init failed");
		rs = EVDB_ERR_IO;
		goto out;
	}
	if ((srv.listen_fd = server_listen(s, log, &unix_path)) < 0) {
		rs = EVDB_ERR_IO;
		goto out;
	}
	fcntl(srv.listen_fd, F_SETFL, fcntl(srv.listen_fd, F_GETFL) | O_NONBLOCK);
	popt.listen_fd = srv.listen_fd;
	popt.allowed = getenv("FCGI_WEB_SERVER_ADDRS");
	popt.log = log;
	if ((rs = poller_start(&popt, &srv.poller)) != EVDB_OK)
		goto out;
	hopt.store = st;
	hopt.log = log;
	hopt.heartbeat_ms = s->sse_heartbeat_ms;
	hopt.batch_ms = s->sse_batch_ms;
	hopt.max_subscribers = s->sse_max_subscribers;
	hopt.max_per_namespace = s->sse_max_per_token;
	hopt.buffer_max = (size_t)s->sse_buffer;
	if (hub_start(&hopt, &srv.hub) != EVDB_OK) {
		rs = EVDB_ERR_IO;
		goto out;
	}
	if (server_longpoll_start(&srv) != EVDB_OK) {
		rs = EVDB_ERR_IO;
		goto out;
	}
	gopt.per_token = s->token_concurrency;
	gopt.imports_total = s->import_concurrency;
	gopt.queue_max = SERVER_PARK_MAX;
	gopt.max_active = s->workers;
	if ((srv.gate = gate_new(&gopt)) == NULL) {
		rs = EVDB_ERR_NOMEM;
		goto out;
	}
	workers = calloc((size_t)s->workers, sizeof(*workers));
	if (workers == NULL) {
		rs = EVDB_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->workers; i++) {
		workers[i].id = i + 1;
		workers[i].srv = &srv;
		if (pthread_create(&workers[i].thread, NULL, server_worker_main,
		    &workers[i]) != 0) {
			log_error(log, "cannot start worker %d: %s", i + 1, strerror(errno));
			atomic_store(&srv.stopping, 1);
			rs = EVDB_ERR_IO;
			break;
		}
		workers[i].started = true;
	}
	if (rs == EVDB_OK) {
		/* Retention runs beside the workers (sweeper.h); without it, only
		 * retention waits: the server still serves. */
		sopt.store = st;
		sopt.log = log;
		sopt.metrics = srv.metrics;
		sopt.interval_s = s->retention_interval_s;
		(void)sweeper_start(&sopt, &sweeper);
	}
	if (rs == EVDB_OK)
		log_info(log, "evdb ready: %d workers (%d per token, %d imports), "
		    "%d SSE subscribers (%d per token), durability %s, data in %s",
		    s->workers, s->token_concurrency, s->import_concurrency,
		    s->sse_max_subscribers, s->sse_max_per_token,
		    settings_durability_name(s->durability), s->data_dir);

	while (rs == EVDB_OK) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (log_reopen(log) != EVDB_OK)
				log_error(log, "cannot reopen the log file: %s", strerror(errno));
			else
				log_info(log, "log reopened");
			continue;
		}
		log_info(log, "signal %d: finishing %d request(s) in flight, then exiting",
		    sig, atomic_load(&srv.busy));
		break;
	}
	atomic_store(&srv.stopping, 1);
	/* Stops accepting and wakes every worker waiting for a connection. */
	poller_stop(srv.poller);
	for (i = 0; workers != NULL && i < s->workers; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	sweeper_stop(sweeper);
	sweeper = NULL;
	/* Workers are gone; now answer every held read, end every stream cleanly. */
	longpoll_stop(srv.longpoll);
	srv.longpoll = NULL;
	hub_stop(srv.hub);
	srv.hub = NULL;
	log_info(log, "stopped after %lld requests", (long long)atomic_load(&srv.served));
out:
	sweeper_stop(sweeper);
	longpoll_stop(srv.longpoll);
	hub_stop(srv.hub);
	poller_free(srv.poller);
	if (srv.listen_fd > 0)
		close(srv.listen_fd);
	if (unix_path != NULL) {
		(void)unlink(unix_path);
		free(unix_path);
	}
	free(workers);
	gate_free(srv.gate);
	metrics_free(srv.metrics);
	return rs;
}
