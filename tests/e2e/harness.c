/*
 * tests/e2e/harness.c - the life of a private nginx + evdb stack (see
 * harness.h): start through deploy/evdb-local on a free loopback port in a
 * temporary directory, stop at exit and on fatal signals; plus the
 * harness-owned memory that test helpers hand out.
 *
 * Deliberately self-contained: the harness links nothing of libevdb, so the
 * tests see evdb only from the outside, as a client does.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "harness.h"
#include "harness_internal.h"

/*
 * The one mutable global of the harness, and why: atexit() handlers and
 * signal handlers take no argument, yet must stop the stack of a test that
 * crashed or was interrupted.  Set by harness_start_with, cleared by
 * harness_stop.
 */
static struct harness *volatile harness_live;

/* The instances count harness_start_instances_with hands to the start. */
static int h_instances_wanted = 1;

/* ---------------------------------------------------------------------- */
/* Memory */

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL) {
		fputs("Bail out! e2e harness: out of memory\n", stdout);
		abort();
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL) {
		fputs("Bail out! e2e harness: out of memory\n", stdout);
		abort();
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("Bail out! e2e harness: out of memory\n", stdout);
		abort();
	}
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Hands a malloc'd block to the harness; returns p. */
static void *
harness_own(struct harness *h, void *p)
{
	pthread_mutex_lock(&h->lock);
	if (h->nmem == h->capmem) {
		h->capmem = h->capmem ? 2 * h->capmem : 64;
		h->mem = xrealloc(h->mem, h->capmem * sizeof(*h->mem));
	}
	h->mem[h->nmem++] = p;
	pthread_mutex_unlock(&h->lock);
	return p;
}

struct json_object *
harness_keep(struct harness *h, struct json_object *json)
{
	if (json == NULL)
		return NULL;
	pthread_mutex_lock(&h->lock);
	if (h->nobj == h->capobj) {
		h->capobj = h->capobj ? 2 * h->capobj : 64;
		h->objs = xrealloc(h->objs, h->capobj * sizeof(*h->objs));
	}
	h->objs[h->nobj++] = json;
	pthread_mutex_unlock(&h->lock);
	return json;
}

char *
hmem(struct harness *h, const void *p, size_t len)
{
	char *s = xmalloc(len + 1);

	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return harness_own(h, s);
}

const char *
hstr(struct harness *h, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return harness_own(h, s);
}

/* ---------------------------------------------------------------------- */
/* Processes */

/* Bails out of the whole test program with a TAP "Bail out!" line. */
void
harness_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(1);
}

/*
 * Runs argv with stdout and stderr appended to logpath (or /dev/null),
 * waiting up to timeout seconds (0 = forever).  Only async-signal-safe
 * calls when timeout is 0, so the signal path can use it.  Returns the exit
 * status, or -1 if it could not run, was killed or timed out.
 */
static int
run_argv(char *const argv[], const char *logpath, int timeout,
    volatile pid_t *track)
{
	pid_t pid, w;
	int status, fd, waited;

	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		fd = open(logpath != NULL ? logpath : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd != -1) {
			dup2(fd, 0);
			if (fd > 0)
				close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (track != NULL)
		*track = pid;
	for (waited = 0;;) {
		w = waitpid(pid, &status, timeout > 0 ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w == -1 && errno != EINTR) {
			if (track != NULL)
				*track = 0;
			return -1;
		}
		if (timeout > 0 && w == 0) {
			if (waited >= timeout * 10) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				if (track != NULL)
					*track = 0;
				return -1;
			}
			usleep(100000);
			waited++;
		}
	}
	if (track != NULL)
		*track = 0;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Prints the last lines of a log file as diagnostics. */
void
harness_diag_file(struct harness *h, const char *path)
{
	FILE *f;
	char line[1024];
	long size;

	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 8192) {
		fseek(f, size - 8192, SEEK_SET);
		if (fgets(line, sizeof(line), f) == NULL) {
			fclose(f);
			return;
		}
	} else
		rewind(f);
	h->diagf("--- %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		h->diagf("%s", line);
	}
	fclose(f);
}

/* Sends SIGTERM to an extra evdb, waits up to 5 s, then SIGKILL. */
static void
harness_kill_pid(pid_t pid)
{
	int i, status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/*
 * The signal-safe part of stopping: kills extra processes, runs
 * "evdb-local stop" and "rm -rf" (fork/exec/waitpid only).
 */
static void
harness_stop_processes(struct harness *h, int from_signal)
{
	sig_atomic_t i;
	pid_t child = h->child;
	int status;

	/* An "evdb-local start" still running would race with "stop". */
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
		h->child = 0;
	}
	for (i = 0; i < h->nextra; i++) {
		if (h->extra[i] > 0) {
			if (from_signal)
				kill(h->extra[i], SIGKILL);
			else
				harness_kill_pid(h->extra[i]);
			h->extra[i] = 0;
		}
	}
	if (h->started) {
		run_argv(h->stop_argv, from_signal ? NULL : h->stoplog,
		    from_signal ? 0 : HARNESS_CMD_TIMEOUT, NULL);
		h->started = 0;
	}
	if (!h->keep && h->rm_argv[0] != NULL)
		run_argv(h->rm_argv, NULL, from_signal ? 0 : HARNESS_CMD_TIMEOUT,
		    NULL);
}

static void
harness_on_signal(int sig)
{
	struct harness *h = harness_live;
	static const char msg[] = "Bail out! e2e test timed out\n";

	if (sig == SIGALRM)
		(void)!write(1, msg, sizeof(msg) - 1);
	if (h != NULL && !h->stopping) {
		h->stopping = 1;
		harness_stop_processes(h, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
harness_atexit(void)
{
	harness_stop(harness_live);
}

int64_t
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
harness_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* 1 if an executable named nginx is found where evdb-local will look. */
static int
harness_have_nginx(void)
{
	const char *env, *path;
	char buf[PATH_MAX], *copy, *dir, *save;
	int found = 0;

	if ((env = getenv("NGINX")) != NULL && *env != '\0')
		return access(env, X_OK) == 0;
	if (access("/usr/sbin/nginx", X_OK) == 0)
		return 1;
	if ((path = getenv("PATH")) == NULL)
		return 0;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/nginx", dir);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* Connects to 127.0.0.1:port (see harness_internal.h); the socket or -1. */
int
tcp_connect(int port, int rcvbuf)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* Before connect, so that the window scale offered fits the buffer. */
	if (rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The store the stack runs on.  EVDB_E2E_PGDIR names a running private
 * PostgreSQL cluster (deploy/pg-cluster): the program gets a database of
 * its own in it, so that programs running in parallel never share a
 * namespace.  EVDB_E2E_STORE, when set, is used as it is.  Otherwise the
 * stack runs on SQLite.  EVDB_STORE is set too, so that evdb processes the
 * tests start themselves open the same store.
 */
static void
harness_pick_store(struct harness *h, const char *src)
{
	const char *env;
	char *argv[6], *log, *db;

	if ((env = getenv("EVDB_E2E_STORE")) != NULL && *env != '\0')
		h->store = xasprintf("%s", env);
	else if ((env = getenv("EVDB_E2E_PGDIR")) != NULL && *env != '\0') {
		db = xasprintf("e2e_%ld", (long)getpid());
		log = xasprintf("%s/pg-createdb.log", h->tmp);
		argv[0] = xasprintf("%s/deploy/pg-cluster", src);
		argv[1] = "createdb";
		argv[2] = (char *)env;
		argv[3] = db;
		argv[4] = NULL;
		if (run_argv(argv, log, HARNESS_CMD_TIMEOUT, NULL) != 0) {
			harness_diag_file(h, log);
			harness_bail("e2e harness: pg-cluster createdb %s failed", db);
		}
		h->store = xasprintf("host=%s user=evdb dbname=%s", env, db);
		free(argv[0]);
		free(log);
		free(db);
	}
	if (h->store != NULL) {
		setenv("EVDB_STORE", h->store, 1);
		h->diagf("store: %s", h->store);
	} else
		unsetenv("EVDB_STORE");
}

const char *
harness_store(struct harness *h)
{
	return h->store;
}

const char *
harness_backend(struct harness *h)
{
	return h->store == NULL || strncmp(h->store, "sqlite:", 7) == 0 ?
	    "sqlite" : "postgres";
}

int
harness_keeps_key_order(struct harness *h)
{
	return strcmp(harness_backend(h), "sqlite") == 0;
}

/* Runs "evdb-local start" on a fresh port; 0 on success. */
static int
harness_try_start(struct harness *h, const char *startlog)
{
	char *argv[20], inst[16];
	const char *workers;
	int i = 0, rc;

	free(h->portstr);
	free(h->url);
	h->port = harness_free_port();
	if (h->port <= 0)
		return -1;
	h->portstr = xasprintf("%d", h->port);
	h->url = xasprintf("http://127.0.0.1:%d", h->port);
	workers = getenv("EVDB_E2E_WORKERS");
	argv[i++] = h->evdb_local;
	argv[i++] = "start";
	argv[i++] = "--port";
	argv[i++] = h->portstr;
	argv[i++] = "--data-dir";
	argv[i++] = h->datadir;
	argv[i++] = "--token";
	argv[i++] = HARNESS_ADMIN_TOKEN;
	argv[i++] = "--evdb";
	argv[i++] = h->evdb_bin;
	argv[i++] = "--workers";
	argv[i++] = (char *)(workers != NULL && *workers != '\0' ?
	    workers : "4");
	if (h->store != NULL) {
		argv[i++] = "--store";
		argv[i++] = h->store;
	}
	if (h->instances > 1) {
		snprintf(inst, sizeof(inst), "%d", h->instances);
		argv[i++] = "--instances";
		argv[i++] = inst;
	}
	argv[i] = NULL;

	/* The stop command must exist before the stack can: a signal may
	 * arrive while "start" still runs. */
	h->stop_argv[0] = h->evdb_local;
	h->stop_argv[1] = "stop";
	h->stop_argv[2] = "--port";
	h->stop_argv[3] = h->portstr;
	h->stop_argv[4] = "--data-dir";
	h->stop_argv[5] = h->datadir;
	h->stop_argv[6] = NULL;
	h->started = 1;
	rc = run_argv(argv, startlog, HARNESS_CMD_TIMEOUT, &h->child);
	if (rc != 0) {
		h->diagf("evdb-local start --port %d exited with %d", h->port,
		    rc);
		harness_diag_file(h, startlog);
		run_argv(h->stop_argv, h->stoplog, HARNESS_CMD_TIMEOUT, NULL);
		h->started = 0;
		return -1;
	}
	return 0;
}

struct harness *
harness_start_with(harness_ok_fn okf, harness_diag_fn diagf)
{
	struct harness *h;
	struct sigaction sa;
	const char *src, *build, *tmpdir, *env;
	char *startlog, *tmpl;
	int attempt, timeout;
	int instances = h_instances_wanted;
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGSEGV, SIGABRT,
	    SIGBUS, SIGFPE };
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (harness_live != NULL)
		harness_bail("e2e harness: harness_start called twice");
	if ((src = getenv("EVDB_SRCDIR")) == NULL || *src == '\0')
		src = ".";
	if ((build = getenv("EVDB_BUILDDIR")) == NULL || *build == '\0')
		build = ".";
	if (!harness_have_nginx()) {
		printf("1..0 # SKIP nginx not installed\n");
		exit(0);
	}

	h = xmalloc(sizeof(*h));
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->instances = instances;
	h->okf = okf;
	h->diagf = diagf;
	h->keep = (env = getenv("EVDB_E2E_KEEP")) != NULL && *env == '1';
	h->evdb_local = xasprintf("%s/deploy/evdb-local", src);
	/* EVDB_E2E_EVDB runs the stack with another binary (valgrind.sh's wrapper). */
	if ((env = getenv("EVDB_E2E_EVDB")) != NULL && *env != '\0')
		h->evdb_bin = xasprintf("%s", env);
	else
		h->evdb_bin = xasprintf("%s/evdb", build);
	if (access(h->evdb_local, X_OK) != 0)
		harness_bail("e2e harness: %s is not executable", h->evdb_local);
	if (access(h->evdb_bin, X_OK) != 0)
		harness_bail("e2e harness: %s is not executable", h->evdb_bin);

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	tmpl = xasprintf("%s/evdb-e2e-XXXXXX", tmpdir);
	if (mkdtemp(tmpl) == NULL)
		harness_bail("e2e harness: mkdtemp %s: %s", tmpl,
		    strerror(errno));
	h->tmp = tmpl;
	h->datadir = xasprintf("%s/stack", h->tmp);
	h->evdbdir = xasprintf("%s/data", h->datadir);
	h->stoplog = xasprintf("%s/evdb-local-stop.log", h->tmp);
	h->rm_argv[0] = "/bin/rm";
	h->rm_argv[1] = "-rf";
	h->rm_argv[2] = h->tmp;
	h->rm_argv[3] = NULL;
	if (mkdir(h->datadir, 0700) == -1)
		harness_bail("e2e harness: mkdir in %s: %s", h->tmp,
		    strerror(errno));

	harness_pick_store(h, src);

	/* From here on, every way out stops the stack. */
	harness_live = h;
	atexit(harness_atexit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = harness_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	timeout = 600;
	if ((env = getenv("EVDB_E2E_TIMEOUT")) != NULL && atoi(env) > 0)
		timeout = atoi(env);
	alarm((unsigned)timeout);

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		harness_bail("e2e harness: curl_global_init failed");

	startlog = xasprintf("%s/evdb-local-start.log", h->tmp);
	for (attempt = 0; attempt < HARNESS_START_TRIES; attempt++)
		if (harness_try_start(h, startlog) == 0)
			break;
	free(startlog);
	if (attempt == HARNESS_START_TRIES)
		harness_bail("e2e harness: could not start the stack "
		    "(evdb-local start failed %d times)", HARNESS_START_TRIES);
	if ((h->conn = hconn_new(h)) == NULL)
		harness_bail("e2e harness: curl_easy_init failed");
	diagf("stack: %s, data dir %s", h->url, h->datadir);
	return h;
}

int
harness_restart(struct harness *h)
{
	char *startlog;
	int attempt, rc = -1;

	if (h->started) {
		run_argv(h->stop_argv, h->stoplog, HARNESS_CMD_TIMEOUT, NULL);
		h->started = 0;
	}
	startlog = xasprintf("%s/evdb-local-restart.log", h->tmp);
	for (attempt = 0; attempt < HARNESS_START_TRIES; attempt++)
		if ((rc = harness_try_start(h, startlog)) == 0)
			break;
	free(startlog);
	hconn_free(h->conn);
	if ((h->conn = hconn_new(h)) == NULL)
		harness_bail("e2e harness: curl_easy_init failed");
	return rc;
}

static int
harness_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
harness_stop(struct harness *h)
{
	sigset_t block, old;
	size_t i;

	if (h == NULL)
		return;
	/* A signal now would cut the cleanup short: hold it until done. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	alarm(0);
	if (!h->stopping) {
		h->stopping = 1;
		/* Processes first; the directory goes with nftw below, so
		 * that no extra process is spawned for it. */
		h->rm_argv[0] = NULL;
		harness_stop_processes(h, 0);
		if (h->keep)
			h->diagf("kept %s", h->tmp);
		else if (h->tmp != NULL)
			nftw(h->tmp, harness_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (harness_live == h)
		harness_live = NULL;
	sigprocmask(SIG_SETMASK, &old, NULL);
	hconn_free(h->conn);
	curl_global_cleanup();
	for (i = 0; i < h->nobj; i++)
		json_object_put(h->objs[i]);
	for (i = 0; i < h->nmem; i++)
		free(h->mem[i]);
	free(h->objs);
	free(h->mem);
	free(h->tmp);
	free(h->datadir);
	free(h->evdbdir);
	free(h->store);
	free(h->url);
	free(h->evdb_local);
	free(h->evdb_bin);
	free(h->portstr);
	free(h->stoplog);
	for (i = 0; i < HARNESS_MAX_INSTANCES; i++) {
		size_t k;

		for (k = 0; h->inst_argv[i][k] != NULL; k++)
			free(h->inst_argv[i][k]);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const char *
harness_url(const struct harness *h)
{
	return h->url;
}

const char *
harness_datadir(const struct harness *h)
{
	return h->datadir;
}

int
harness_log_has(struct harness *h, const char *text, const char *also)
{
	FILE *f = fopen(hstr(h, "%s/log/evdb.log", h->datadir), "r");
	char line[1024];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, text) != NULL &&
		    (also == NULL || strstr(line, also) != NULL);
	fclose(f);
	return found;
}


/* ---------------------------------------------------------------------- */
/* Several instances (harness.h) */

struct harness *
harness_start_instances_with(harness_ok_fn okf, harness_diag_fn diagf,
    int instances)
{
	if (instances < 1 || instances > HARNESS_MAX_INSTANCES)
		harness_bail("e2e harness: %d instances (1 to %d)", instances,
		    HARNESS_MAX_INSTANCES);
	h_instances_wanted = instances;
	return harness_start_with(okf, diagf);
}

int
harness_instances(const struct harness *h)
{
	return h->instances;
}

/* The file instance i of h names by suffix ("pid", "sock", "out"). */
static char *
harness_instance_file(const struct harness *h, int i, const char *dir,
    const char *ext)
{
	if (h->instances == 1)
		return xasprintf("%s/%s/evdb.%s", h->datadir, dir, ext);
	return xasprintf("%s/%s/evdb-%d.%s", h->datadir, dir, i, ext);
}

pid_t
harness_instance_pid(struct harness *h, int i)
{
	char *path = harness_instance_file(h, i, "run", "pid");
	FILE *f = fopen(path, "r");
	long pid = -1;

	free(path);
	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* 1 while process pid exists and is not a zombie. */
static int
harness_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int alive = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		alive = p[1] == ' ' && p[2] != 'Z';
	fclose(f);
	return alive;
}

int
harness_instance_signal(struct harness *h, int i, int sig)
{
	char path[64], buf[8192];
	char **argv;
	pid_t pid = harness_instance_pid(h, i);
	size_t n = 0, off, k = 0;
	int fd, status, waited;
	ssize_t r;

	if (i < 1 || i > h->instances || pid <= 0 || !harness_pid_alive(pid))
		return -1;
	argv = h->inst_argv[i - 1];
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		while (n < sizeof(buf) - 1 &&
		    (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
		close(fd);
		buf[n] = '\0';
		for (k = 0; argv[k] != NULL; k++) {
			free(argv[k]);
			argv[k] = NULL;
		}
		for (off = 0, k = 0; off < n && k < 63; off += strlen(buf + off) + 1)
			argv[k++] = xstrdup(buf + off);
		argv[k] = NULL;
	}
	if (kill(pid, sig) != 0)
		return -1;
	if (sig != SIGKILL && sig != SIGTERM)
		return 0;
	for (waited = 0; waited < 100 && harness_pid_alive(pid); waited++) {
		(void)waitpid(pid, &status, WNOHANG);	/* ours, once restarted */
		usleep(100000);
	}
	(void)waitpid(pid, &status, WNOHANG);
	return harness_pid_alive(pid) ? -1 : 0;
}

int
harness_instance_restart(struct harness *h, int i)
{
	char **argv = i >= 1 && i <= h->instances ? h->inst_argv[i - 1] : NULL;
	char *out, *pin;
	const char *hdr[2];
	struct http_resp r;
	pid_t pid;
	int tries, fd;

	if (argv == NULL || argv[0] == NULL) {
		h->diagf("instance %d: no command line to restart it with", i);
		return -1;
	}
	out = harness_instance_file(h, i, "log", "out");
	if ((pid = fork()) == -1) {
		free(out);
		return -1;
	}
	if (pid == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		setenv("EVDB_TOKEN", HARNESS_ADMIN_TOKEN, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	free(out);
	if (h->nextra < HARNESS_MAX_EXTRA)
		h->extra[h->nextra++] = pid;
	pin = xasprintf("X-Evdb-Instance: %d", i);
	hdr[0] = pin;
	hdr[1] = NULL;
	for (tries = 0; tries < 150; tries++) {
		memset(&r, 0, sizeof(r));
		if (http_get(h, "/health", hdr, &r) == 0 && r.status == 200) {
			http_resp_free(&r);
			free(pin);
			return 0;
		}
		http_resp_free(&r);
		usleep(100000);
	}
	free(pin);
	h->diagf("instance %d (pid %ld) did not answer /health within 15 s", i,
	    (long)pid);
	return -1;
}
