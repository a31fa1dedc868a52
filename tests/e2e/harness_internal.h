/*
 * tests/e2e/harness_internal.h - what the harness's own files share: the
 * harness and connection structures, allocation wrappers that bail out on
 * out-of-memory, a byte sink, and small helpers.  Not for test programs;
 * they use harness.h.
 */
#ifndef EVDB_E2E_HARNESS_INTERNAL_H
#define EVDB_E2E_HARNESS_INTERNAL_H

#include <sys/types.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "harness.h"

#define HARNESS_MAX_EXTRA	8	/* extra evdb processes per harness */
#define HARNESS_MAX_INSTANCES	16	/* evdb-local --instances at most */
#define HARNESS_START_TRIES	3	/* ports tried before giving up */
#define HARNESS_CMD_TIMEOUT	120	/* seconds for one evdb-local run */
#define HARNESS_PARSE_DEPTH	1024	/* json-c nesting limit for answers */

/* One keep-alive HTTP connection (a curl easy handle). */
struct hconn {
	CURL		*curl;		/* the easy handle, reused */
	char		*base;		/* "http://127.0.0.1:<port>" */
	char		 errbuf[CURL_ERROR_SIZE]; /* curl's last error */
};

/* One private stack and everything the tests allocated against it. */
struct harness {
	harness_ok_fn	 okf;		/* the program's ok() */
	harness_diag_fn	 diagf;		/* the program's tap_diag() */
	int		 port;		/* nginx's loopback port */
	char		*tmp;		/* mkdtemp root, removed at stop */
	char		*datadir;	/* tmp/stack: evdb-local --data-dir */
	char		*evdbdir;	/* tmp/stack/data: evdb's data dir */
	char		*store;		/* --store for evdb, or NULL (SQLite) */
	char		*url;		/* "http://127.0.0.1:<port>" */
	char		*evdb_local;	/* path of deploy/evdb-local */
	char		*evdb_bin;	/* path of the evdb binary */
	char		*portstr;	/* port as text, for argv */
	char		*stop_argv[8];	/* evdb-local stop ..., prebuilt */
	char		*rm_argv[4];	/* rm -rf tmp, prebuilt */
	char		*stoplog;	/* where "stop" writes its output */
	volatile sig_atomic_t started;	/* evdb-local start succeeded */
	volatile pid_t	 child;		/* running evdb-local start, or 0 */
	volatile sig_atomic_t stopping;	/* cleanup has begun */
	int		 keep;		/* EVDB_E2E_KEEP: leave tmp behind */
	struct hconn	*conn;		/* the main thread's connection */
	const char	*last_body;	/* trimmed body of the last RPC answer */
	pid_t		 extra[HARNESS_MAX_EXTRA]; /* extra evdb processes */
	volatile sig_atomic_t nextra;	/* used entries of extra */
	void	       **mem;		/* harness-owned malloc blocks */
	size_t		 nmem;		/* used entries of mem */
	size_t		 capmem;	/* allocated entries of mem */
	struct json_object **objs;	/* harness-owned json objects */
	size_t		 nobj;		/* used entries of objs */
	size_t		 capobj;	/* allocated entries of objs */
	pthread_mutex_t	 lock;		/* guards mem and objs */
	int		 instances;	/* evdb-local --instances */
	char		*inst_argv[HARNESS_MAX_INSTANCES][64]; /* the command
					 * line of each signalled instance */
};

/* A growable byte buffer for curl's callbacks. */
struct sink {
	char		*data;		/* bytes so far, NUL-terminated */
	size_t		 len;		/* bytes used, without the NUL */
	size_t		 cap;		/* bytes allocated */
};


/* Allocation: each bails out of the program ("Bail out!") on failure. */
/** malloc that never returns NULL. */
void		*xmalloc(size_t n);
/** realloc that never returns NULL. */
void		*xrealloc(void *p, size_t n);
/** strdup that never returns NULL; caller frees. */
char		*xstrdup(const char *s);
/** vasprintf that never fails; caller frees. */
char		*xvasprintf(const char *fmt, va_list ap);
/** asprintf that never fails; caller frees. */
char		*xasprintf(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/** Prints "Bail out! ..." and exits 1 (the atexit hook stops the stack). */
void		 harness_bail(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
/** Prints the tail of a log file as TAP diagnostics. */
void		 harness_diag_file(struct harness *h, const char *path);
/** Prints s (len bytes, control bytes escaped, truncated) as one diagnostic. */
void		 diag_text(struct harness *h, const char *label, const char *s,
		    size_t len);
/**
 * A connected TCP socket to 127.0.0.1:port, or -1 (errno set).  rcvbuf > 0
 * sets its receive buffer (SO_RCVBUF) to that many bytes before connecting;
 * 0 keeps the system's default.
 */
int		 tcp_connect(int port, int rcvbuf);

/** Appends n bytes to s, keeping s->data NUL-terminated. */
void		 sink_add(struct sink *s, const void *p, size_t n);
/**
 * 1 if body (len bytes) is exactly one JSON value, surrounding whitespace
 * allowed; *out then holds it (caller puts; NULL for JSON null).
 */
int		 json_parse_exact(const char *body, size_t len,
		    struct json_object **out);

#endif /* EVDB_E2E_HARNESS_INTERNAL_H */
