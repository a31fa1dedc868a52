/*
 * fcgi_trivial.c - the benchmark's ceiling: a FastCGI responder that does
 * no work.
 *
 * It takes evdb's place behind the same nginx configuration (run-bench
 * starts it through deploy/evdb-local --evdb), so that the throughput it
 * reaches is what nginx, libfcgi, the unix socket and the load generator
 * allow on this machine.  evdb's throughput is reported as a fraction of it.
 *
 * Like evdb's worker pool (src/server/server.c): --workers threads, each with its
 * own FCGX_Request, taking turns in FCGX_Accept_r under one mutex (a
 * connection nginx keeps is waited on outside it).  Every
 * request's body is read to its end, and every request is answered 200 with
 * a fixed small JSON body and the same headers evdb sends.  A connection
 * whose input was read to its end is closed at once, without libfcgi's
 * shutdown-and-drain, as evdb's are (server_finish in src/server/server.c), so
 * that the ceiling keeps up with what evdb does.
 *
 * Command line: evdb's, so that evdb-local can start it unchanged.
 *   fcgi_trivial [serve] --listen unix:PATH [--workers N] [--pid-file F]
 * Every other "--option value" pair of evdb's is accepted and ignored.
 * SIGTERM or SIGINT: remove the socket and the pid file, exit 0 (requests in
 * flight are cut; this is a benchmark fixture, not a server).
 *
 * With FCGI_TRIVIAL_ECHO_PARAMS=1 in its environment it answers every
 * request with the names of the FastCGI parameters it got, sorted, one a
 * line (text/plain): tests/deploy/fcgi_params.sh checks with it what the
 * shipped nginx configuration hands evdb.
 *
 * Threads: the workers share only the listening fd and the accept mutex;
 * the main thread waits for the signals, which every thread blocks.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#define TRIVIAL_MAX_WORKERS 1024
#define TRIVIAL_BACKLOG 1024

/* The answer to every request: what a write returns, with evdb's headers. */
#define TRIVIAL_BODY "{\"globalPosition\":1,\"position\":0}"

struct trivial_ctx {
	int listen_fd;			/* the FastCGI socket */
	pthread_mutex_t accept_mu;	/* one worker in accept() at a time */
	char response[256];		/* headers and body, built once */
	int response_len;		/* bytes of response */
	bool echo_params;		/* FCGI_TRIVIAL_ECHO_PARAMS: answer the
					 * parameters' names instead */
};

static int
trivial_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Answers req with its parameters' names, sorted, one a line. */
static void
trivial_echo_params(FCGX_Request *req)
{
	char *names[256];
	size_t n = 0, i, len;

	for (i = 0; req->envp[i] != NULL && n < 256; i++)
		names[n++] = req->envp[i];
	qsort(names, n, sizeof(names[0]), trivial_name_cmp);
	FCGX_FPrintF(req->out, "Status: 200 OK\r\nContent-Type: text/plain\r\n"
	    "Cache-Control: no-store\r\n\r\n");
	for (i = 0; i < n; i++) {
		len = strcspn(names[i], "=");
		FCGX_PutStr(names[i], (int)len, req->out);
		FCGX_PutChar('\n', req->out);
	}
}

struct trivial_opts {
	const char *listen;		/* --listen, without "unix:" */
	const char *pid_file;		/* --pid-file or NULL */
	int workers;			/* --workers */
};

static void *
trivial_worker(void *arg)
{
	struct trivial_ctx *ctx = arg;
	FCGX_Request req;
	char sink[16384];
	int rc;

	FCGX_InitRequest(&req, ctx->listen_fd, 0);
	for (;;) {
		if (req.ipcFd >= 0) {
			/*
			 * nginx kept the connection: wait for its next request
			 * outside the accept lock, as evdb does (src/server/server.c).
			 */
			rc = FCGX_Accept_r(&req);
		} else {
			pthread_mutex_lock(&ctx->accept_mu);
			rc = FCGX_Accept_r(&req);
			pthread_mutex_unlock(&ctx->accept_mu);
		}
		if (rc < 0) {
			usleep(10000);
			continue;
		}
		while (FCGX_GetStr(sink, sizeof(sink), req.in) > 0)
			;
		if (ctx->echo_params)
			trivial_echo_params(&req);
		else
			FCGX_PutStr(ctx->response, ctx->response_len, req.out);
		/* As server_finish() in src/server/server.c. */
		if (!req.keepConnection && FCGX_HasSeenEOF(req.in) == EOF)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

/* Creates the unix socket at path (replacing a stale one); -1 on error. */
static int
trivial_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fcgi_trivial: socket path too long: %s\n", path);
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(fd, TRIVIAL_BACKLOG) != 0) {
		fprintf(stderr, "fcgi_trivial: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Parses evdb's command line into *o; false on a malformed one. */
static bool
trivial_parse(int argc, char **argv, struct trivial_opts *o)
{
	int i = 1;
	char *end;
	long v;

	o->listen = NULL;
	o->pid_file = NULL;
	o->workers = 8;
	if (i < argc && strcmp(argv[i], "serve") == 0)
		i++;
	for (; i < argc; i += 2) {
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc)
			return false;
		if (strcmp(argv[i], "--listen") == 0) {
			o->listen = argv[i + 1];
			if (strncmp(o->listen, "unix:", 5) == 0)
				o->listen += 5;
		} else if (strcmp(argv[i], "--pid-file") == 0)
			o->pid_file = argv[i + 1];
		else if (strcmp(argv[i], "--workers") == 0) {
			errno = 0;
			v = strtol(argv[i + 1], &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 ||
			    v > TRIVIAL_MAX_WORKERS)
				return false;
			o->workers = (int)v;
		}
	}
	return o->listen != NULL && o->listen[0] == '/';
}

int
main(int argc, char **argv)
{
	struct trivial_opts o;
	struct trivial_ctx ctx;
	pthread_t tid;
	sigset_t set;
	FILE *f;
	int i, sig, rc = 1;

	if (argc > 1 && (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("fcgi_trivial (evdb benchmark ceiling)\n");
		return 0;
	}
	if (!trivial_parse(argc, argv, &o)) {
		fprintf(stderr, "usage: fcgi_trivial [serve] --listen unix:/ABS/PATH"
		    " [--workers N] [--pid-file F] [evdb options, ignored]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (FCGX_Init() != 0) {
		fprintf(stderr, "fcgi_trivial: FCGX_Init failed\n");
		goto out;
	}
	pthread_mutex_init(&ctx.accept_mu, NULL);
	ctx.echo_params = getenv("FCGI_TRIVIAL_ECHO_PARAMS") != NULL &&
	    strcmp(getenv("FCGI_TRIVIAL_ECHO_PARAMS"), "1") == 0;
	ctx.response_len = snprintf(ctx.response, sizeof(ctx.response),
	    "Status: 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n%s",
	    strlen(TRIVIAL_BODY), TRIVIAL_BODY);
	if ((ctx.listen_fd = trivial_listen(o.listen)) < 0)
		goto out;
	if (o.pid_file != NULL) {
		if ((f = fopen(o.pid_file, "w")) == NULL) {
			fprintf(stderr, "fcgi_trivial: %s: %s\n", o.pid_file,
			    strerror(errno));
			goto out;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	for (i = 0; i < o.workers; i++) {
		if (pthread_create(&tid, NULL, trivial_worker, &ctx) != 0) {
			fprintf(stderr, "fcgi_trivial: cannot start worker %d\n", i);
			goto out;
		}
		pthread_detach(tid);
	}
	fprintf(stderr, "fcgi_trivial: %d workers on %s\n", o.workers, o.listen);
	do
		sig = 0;
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP);
	rc = 0;
out:
	/* Workers are blocked in accept() or mid-request: exit under them. */
	(void)unlink(o.listen);
	if (o.pid_file != NULL)
		(void)unlink(o.pid_file);
	return rc;
}
