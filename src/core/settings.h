/*
 * settings.h - evdb's runtime settings: defaults, config file, environment
 * and command line, in increasing order of precedence.
 *
 * Every setting has one row in the table in settings.c giving its long
 * option (--workers), its environment variable (EVDB_WORKERS) and its config
 * file key (workers), so the three sources can never drift apart.  The
 * config file holds "key = value" lines; '#' starts a comment.
 * (The module is not called "config" because autoconf owns config.h.)
 */
#ifndef EVDB_SETTINGS_H
#define EVDB_SETTINGS_H

#include <limits.h>
#include <stddef.h>

#include "core/log.h"
#include "core/status.h"

/** How hard a commit is pushed to stable storage. */
enum durability {
	DURABILITY_NORMAL,	/* WAL + synchronous=NORMAL: survives a process crash */
	DURABILITY_FULL		/* WAL + synchronous=FULL: survives a power loss */
};

/** Consumer-group sizes that --group-indexes may name, and how many. */
#define SETTINGS_GROUP_INDEX_MAX 4
#define SETTINGS_GROUP_SIZE_MAX 64

struct settings {
	char listen[PATH_MAX + 8];	/* "unix:/path", "HOST:PORT", or "" (inherit) */
	char data_dir[PATH_MAX];	/* directory of the SQLite store, the socket and the admin token */
	char store[1024];		/* --store: "sqlite:DIR", a libpq URL or conninfo;
					 * "" means sqlite:data_dir */
	char token[256];		/* admin token for the first start, or "" */
	char token_file[PATH_MAX];	/* where the first start writes the admin token */
	char log_file[PATH_MAX];	/* "" means stderr */
	char pid_file[PATH_MAX];	/* "" means none */
	char metrics_token[256];	/* a token for GET /metrics only, or "" */
	char config_file[PATH_MAX];	/* the file that was read, or "" */
	int workers;			/* worker threads */
	int socket_mode;		/* permissions of a unix listening socket */
	int backlog;			/* listen(2) backlog */
	int busy_timeout_ms;		/* how long a write waits for another process's lock */
	long max_body;			/* largest accepted request body, bytes */
	long max_response_bytes;	/* bytes of messages in one read answer
					 * (one message always fits); 0: no cap */
	int sse_heartbeat_ms;		/* ": ping" after this much silence on a stream */
	int sse_batch_ms;		/* commits gathered before live pokes go out */
	int sse_max_subscribers;	/* subscribers per process */
	int sse_max_per_token;		/* subscribers per token (namespace);
					 * 0 until resolved: 1/16 of the process cap */
	int token_concurrency;		/* requests one token may have in the workers
					 * at once; 0 until resolved: half the workers */
	int import_concurrency;		/* imports running at once in the process;
					 * 0 until resolved: a quarter of the workers */
	int sse_buffer;			/* unsent bytes per subscriber before it is paused */
	int longpoll_max;		/* reads held by "wait" per process */
	int longpoll_max_per_token;	/* held reads per token (namespace); 0 until
					 * resolved: 1/16 of longpoll_max */
	int retention_interval_s;	/* seconds between retention sweeps */
	enum durability durability;	/* commit durability */
	enum log_level log_level;	/* lowest level logged */
	int batch_max;			/* entries in one batch.write at most */
	int group_index_sizes[SETTINGS_GROUP_INDEX_MAX]; /* consumer-group sizes
					 * with an index per member (SQLite),
					 * ascending */
	int group_index_count;		/* of group_index_sizes; 0: none */
};

/**
 * Fills s from defaults, then the config file (--config / EVDB_CONFIG, or
 * the default path when it exists), then EVDB_* variables, then argv.
 * Settings whose default depends on another (sse-max-per-token,
 * token-concurrency, import-concurrency) are resolved last, and the
 * limits between tenants are checked against each other.
 * argv holds only options (the subcommand already removed).  On failure
 * returns EVDB_ERR_CONFIG with a message in err[0..err_size).
 */
enum evdb_status settings_load(struct settings *s, int argc, char **argv,
    char *err, size_t err_size);

/** Divisor of the default per-token subscriber cap: 16384 / 16 = 1024. */
#define SETTINGS_SSE_TOKEN_SHARE 16

/** Writes the option summary for --help to stdout. */
void settings_usage(void);

/** Name of a durability mode ("normal" or "full"). */
const char *settings_durability_name(enum durability d);

#endif /* EVDB_SETTINGS_H */
