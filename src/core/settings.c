/*
 * settings.c - loading evdb's settings from file, environment and flags.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/settings.h"

#define SETTINGS_DEFAULT_CONFIG SYSCONFDIR "/evdb/evdb.conf"

enum setting_kind {
	SETTING_STRING,		/* copied into a char array */
	SETTING_INT,		/* positive int within [min, max] */
	SETTING_OCTAL,		/* file mode */
	SETTING_LONG,		/* positive long within [min, max] */
	SETTING_DURABILITY,	/* "normal" | "full" */
	SETTING_LOG_LEVEL,	/* debug|info|warn|error */
	SETTING_GROUP_SIZES	/* "none" or sizes 2..64, comma-separated */
};

struct setting_def {
	const char *name;	/* long option without dashes, and file key */
	const char *env;	/* environment variable */
	enum setting_kind kind;	/* how to parse the value */
	size_t offset;		/* field in struct settings */
	size_t size;		/* field size, for strings */
	long min, max;		/* bounds for numbers */
	const char *help;	/* one line for --help */
};

#define S_STR(n, e, f, h) { n, e, SETTING_STRING, offsetof(struct settings, f), \
	sizeof(((struct settings *)0)->f), 0, 0, h }
#define S_NUM(n, e, k, f, lo, hi, h) { n, e, k, offsetof(struct settings, f), \
	sizeof(((struct settings *)0)->f), lo, hi, h }

static const struct setting_def setting_defs[] = {
	S_STR("listen", "EVDB_LISTEN", listen,
	    "unix:/path.sock or 127.0.0.1:PORT (default unix:DATA_DIR/evdb.sock)"),
	S_STR("data-dir", "EVDB_DATA_DIR", data_dir,
	    "directory of the databases (default " LOCALSTATEDIR "/lib/evdb)"),
	S_STR("store", "EVDB_STORE", store,
	    "sqlite:DIR (default sqlite:DATA_DIR) or a PostgreSQL URL or conninfo"),
	S_NUM("workers", "EVDB_WORKERS", SETTING_INT, workers, 1, 1024,
	    "worker threads (default 4 x online cores)"),
	S_STR("token", "EVDB_TOKEN", token,
	    "admin (default namespace) token used on the first start"),
	S_STR("token-file", "EVDB_TOKEN_FILE", token_file,
	    "where the first start writes the admin token (default DATA_DIR/admin.token)"),
	S_NUM("durability", "EVDB_DURABILITY", SETTING_DURABILITY, durability, 0, 0,
	    "normal (survives a crash) or full (survives a power loss)"),
	S_NUM("max-body", "EVDB_MAX_BODY", SETTING_LONG, max_body, 1024, 1L << 30,
	    "largest request body in bytes (default 1048576)"),
	S_NUM("max-response-bytes", "EVDB_MAX_RESPONSE_BYTES", SETTING_LONG,
	    max_response_bytes, 1024, 1L << 30,
	    "bytes of messages in one read answer before the page ends (default 4194304)"),
	S_STR("log-file", "EVDB_LOG_FILE", log_file,
	    "log file (default stderr); SIGHUP reopens it"),
	S_NUM("log-level", "EVDB_LOG_LEVEL", SETTING_LOG_LEVEL, log_level, 0, 0,
	    "debug, info, warn or error (default info)"),
	S_STR("pid-file", "EVDB_PID_FILE", pid_file, "write the process id here"),
	S_STR("metrics-token", "EVDB_METRICS_TOKEN", metrics_token,
	    "bearer token that may read /metrics (the admin token always may)"),
	S_NUM("socket-mode", "EVDB_SOCKET_MODE", SETTING_OCTAL, socket_mode, 0, 0777,
	    "permissions of the unix socket (default 0660)"),
	S_NUM("backlog", "EVDB_BACKLOG", SETTING_INT, backlog, 1, 65535,
	    "listen backlog (default 1024)"),
	S_NUM("sse-heartbeat", "EVDB_SSE_HEARTBEAT", SETTING_INT, sse_heartbeat_ms, 10,
	    3600000, "milliseconds of silence before a \": ping\" (default 15000)"),
	S_NUM("sse-batch-ms", "EVDB_SSE_BATCH_MS", SETTING_INT, sse_batch_ms, 0, 1000,
	    "milliseconds commits are gathered before pokes go out (default 2)"),
	S_NUM("sse-max-subscribers", "EVDB_SSE_MAX_SUBSCRIBERS", SETTING_INT,
	    sse_max_subscribers, 1, 1000000, "subscribers per process (default 16384)"),
	S_NUM("sse-max-per-token", "EVDB_SSE_MAX_PER_TOKEN", SETTING_INT,
	    sse_max_per_token, 1, 1000000,
	    "subscribers per token, <= sse-max-subscribers (default 1/16 of it)"),
	S_NUM("token-concurrency", "EVDB_TOKEN_CONCURRENCY", SETTING_INT,
	    token_concurrency, 1, 1024,
	    "requests of one token in the workers at once (default workers / 2)"),
	S_NUM("import-concurrency", "EVDB_IMPORT_CONCURRENCY", SETTING_INT,
	    import_concurrency, 1, 1024,
	    "imports running at once, one per token (default workers / 4)"),
	S_NUM("sse-buffer", "EVDB_SSE_BUFFER", SETTING_INT, sse_buffer, 1024,
	    16777216, "unsent bytes per subscriber before it falls back to catch-up"
	    " (default 65536)"),
	S_NUM("longpoll-max", "EVDB_LONGPOLL_MAX", SETTING_INT, longpoll_max, 1,
	    1000000, "reads held by \"wait\" per process (default 4096)"),
	S_NUM("longpoll-max-per-token", "EVDB_LONGPOLL_MAX_PER_TOKEN", SETTING_INT,
	    longpoll_max_per_token, 1, 1000000,
	    "held reads per token, <= longpoll-max (default 1/16 of it)"),
	S_NUM("busy-timeout", "EVDB_BUSY_TIMEOUT", SETTING_INT, busy_timeout_ms, 1, 600000,
	    "milliseconds a write waits for another process's lock (default 10000)"),
	S_NUM("batch-max", "EVDB_BATCH_MAX", SETTING_INT, batch_max, 1, 100000,
	    "entries in one batch.write at most (default 1000)"),
	S_NUM("retention-interval", "EVDB_RETENTION_INTERVAL", SETTING_INT,
	    retention_interval_s, 1, 86400,
	    "seconds between retention sweeps (default 60)"),
	S_NUM("group-indexes", "EVDB_GROUP_INDEXES", SETTING_GROUP_SIZES,
	    group_index_sizes, 2, SETTINGS_GROUP_SIZE_MAX,
	    "consumer-group sizes read on an index per member, e.g. 4,8"
	    " (SQLite; default none)"),
};

#define SETTING_COUNT (sizeof(setting_defs) / sizeof(setting_defs[0]))

static void
settings_defaults(struct settings *s)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(s, 0, sizeof(*s));
	snprintf(s->data_dir, sizeof(s->data_dir), "%s/lib/evdb", LOCALSTATEDIR);
	s->workers = (int)(cores > 0 ? (cores < 256 ? cores * 4 : 1024) : 8);
	s->socket_mode = 0660;
	s->backlog = 1024;
	s->busy_timeout_ms = 10000;
	s->max_body = 1L << 20;
	s->max_response_bytes = 4L << 20;
	s->sse_heartbeat_ms = 15000;
	s->sse_batch_ms = 2;
	s->sse_max_subscribers = 16384;
	s->sse_max_per_token = 0;	/* settings_resolve: 1/16 of the process cap */
	s->token_concurrency = 0;	/* settings_resolve: workers / 2 */
	s->import_concurrency = 0;	/* settings_resolve: workers / 4 */
	s->sse_buffer = 65536;
	s->longpoll_max = 4096;
	s->longpoll_max_per_token = 0;	/* settings_resolve: 1/16 of longpoll_max */
	s->retention_interval_s = 60;
	s->durability = DURABILITY_NORMAL;
	s->log_level = LOG_LEVEL_INFO;
	s->batch_max = 1000;
}

static const struct setting_def *
settings_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < SETTING_COUNT; i++) {
		if (strlen(setting_defs[i].name) == len &&
		    strncmp(setting_defs[i].name, name, len) == 0)
			return &setting_defs[i];
	}
	return NULL;
}

/*
 * Parses --group-indexes: "none", or up to SETTINGS_GROUP_INDEX_MAX
 * distinct sizes from d->min to d->max, comma-separated, kept ascending.
 */
static enum evdb_status
settings_group_sizes(struct settings *s, const struct setting_def *d,
    const char *value, const char *origin, char *err, size_t err_size)
{
	int sizes[SETTINGS_GROUP_INDEX_MAX], n = 0, i, j;
	const char *p = value;
	char *end;
	long v;

	if (strcmp(value, "none") == 0) {
		s->group_index_count = 0;
		return EVDB_OK;
	}
	for (;;) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || !isdigit((unsigned char)*p) ||
		    v < d->min || v > d->max || (*end != ',' && *end != '\0'))
			goto bad;
		for (i = 0; i < n; i++)
			if (sizes[i] == (int)v)
				goto bad;
		if (n == SETTINGS_GROUP_INDEX_MAX)
			goto bad;
		/* Insertion keeps them ascending: one order, one index set. */
		for (i = n++; i > 0 && sizes[i - 1] > (int)v; i--)
			sizes[i] = sizes[i - 1];
		sizes[i] = (int)v;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	for (j = 0; j < n; j++)
		s->group_index_sizes[j] = sizes[j];
	s->group_index_count = n;
	return EVDB_OK;
bad:
	snprintf(err, err_size, "%s: %s must be none or up to %d distinct sizes"
	    " from %ld to %ld, comma-separated", origin, d->name,
	    SETTINGS_GROUP_INDEX_MAX, d->min, d->max);
	return EVDB_ERR_CONFIG;
}

/* Parses value for d into s; origin names the source for error messages. */
static enum evdb_status
settings_apply(struct settings *s, const struct setting_def *d,
    const char *value, const char *origin, char *err, size_t err_size)
{
	char *field = (char *)s + d->offset;
	char *end;
	long n;

	switch (d->kind) {
	case SETTING_STRING:
		if (strlen(value) >= d->size) {
			snprintf(err, err_size, "%s: %s is too long", origin, d->name);
			return EVDB_ERR_CONFIG;
		}
		memcpy(field, value, strlen(value) + 1);
		return EVDB_OK;
	case SETTING_INT:
	case SETTING_LONG:
	case SETTING_OCTAL:
		errno = 0;
		n = strtol(value, &end, d->kind == SETTING_OCTAL ? 8 : 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    n < d->min || n > d->max) {
			snprintf(err, err_size, "%s: %s must be a number from %ld to %ld%s",
			    origin, d->name, d->min, d->max,
			    d->kind == SETTING_OCTAL ? " (octal)" : "");
			return EVDB_ERR_CONFIG;
		}
		if (d->kind == SETTING_LONG)
			*(long *)(void *)field = n;
		else
			*(int *)(void *)field = (int)n;
		return EVDB_OK;
	case SETTING_DURABILITY:
		if (strcmp(value, "normal") == 0)
			s->durability = DURABILITY_NORMAL;
		else if (strcmp(value, "full") == 0)
			s->durability = DURABILITY_FULL;
		else {
			snprintf(err, err_size, "%s: durability must be normal or full", origin);
			return EVDB_ERR_CONFIG;
		}
		return EVDB_OK;
	case SETTING_LOG_LEVEL:
		if (!log_level_parse(value, &s->log_level)) {
			snprintf(err, err_size,
			    "%s: log-level must be debug, info, warn or error", origin);
			return EVDB_ERR_CONFIG;
		}
		return EVDB_OK;
	case SETTING_GROUP_SIZES:
		return settings_group_sizes(s, d, value, origin, err, err_size);
	}
	return EVDB_ERR_CONFIG;
}

static char *
settings_trim(char *p)
{
	char *e;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return p;
}

static enum evdb_status
settings_read_file(struct settings *s, const char *path, int must_exist,
    char *err, size_t err_size)
{
	enum evdb_status st = EVDB_OK;
	char line[PATH_MAX + 64], origin[PATH_MAX + 32];
	FILE *f = NULL;
	int lineno = 0;

	f = fopen(path, "re");
	if (f == NULL) {
		if (!must_exist && errno == ENOENT)
			return EVDB_OK;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return EVDB_ERR_CONFIG;
	}
	snprintf(s->config_file, sizeof(s->config_file), "%s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq, *key, *val;
		const struct setting_def *d;

		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = settings_trim(line);
		if (*p == '\0')
			continue;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, err_size, "%s: expected key = value", origin);
			st = EVDB_ERR_CONFIG;
			goto out;
		}
		*eq = '\0';
		key = settings_trim(p);
		val = settings_trim(eq + 1);
		if ((d = settings_find(key, strlen(key))) == NULL) {
			snprintf(err, err_size, "%s: unknown setting '%s'", origin, key);
			st = EVDB_ERR_CONFIG;
			goto out;
		}
		if ((st = settings_apply(s, d, val, origin, err, err_size)) != EVDB_OK)
			goto out;
	}
out:
	fclose(f);
	return st;
}

/* Finds --config in argv or EVDB_CONFIG, without applying anything else. */
static const char *
settings_config_path(int argc, char **argv, int *explicit_path)
{
	const char *path = getenv("EVDB_CONFIG");
	int i;

	*explicit_path = path != NULL && *path != '\0';
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
			*explicit_path = 1;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
			*explicit_path = 1;
		}
	}
	return *explicit_path ? path : SETTINGS_DEFAULT_CONFIG;
}

/*
 * Gives the settings whose default follows another one their value, and
 * checks the limits that keep one tenant from taking what all share: a
 * token may never hold every worker (unless there is only one) nor every
 * subscriber place.
 */
static enum evdb_status
settings_resolve(struct settings *s, char *err, size_t err_size)
{
	int half = s->workers / 2, quarter = s->workers / 4;

	if (s->sse_max_per_token == 0) {
		s->sse_max_per_token = s->sse_max_subscribers / SETTINGS_SSE_TOKEN_SHARE;
		if (s->sse_max_per_token < 1)
			s->sse_max_per_token = 1;
	}
	if (s->sse_max_per_token > s->sse_max_subscribers) {
		snprintf(err, err_size, "sse-max-per-token (%d) must not exceed "
		    "sse-max-subscribers (%d)", s->sse_max_per_token,
		    s->sse_max_subscribers);
		return EVDB_ERR_CONFIG;
	}
	if (s->longpoll_max_per_token == 0) {
		s->longpoll_max_per_token = s->longpoll_max / SETTINGS_SSE_TOKEN_SHARE;
		if (s->longpoll_max_per_token < 1)
			s->longpoll_max_per_token = 1;
	}
	if (s->longpoll_max_per_token > s->longpoll_max) {
		snprintf(err, err_size, "longpoll-max-per-token (%d) must not exceed "
		    "longpoll-max (%d)", s->longpoll_max_per_token, s->longpoll_max);
		return EVDB_ERR_CONFIG;
	}
	if (s->token_concurrency == 0)
		s->token_concurrency = half > 0 ? half : 1;
	if (s->import_concurrency == 0)
		s->import_concurrency = quarter > 0 ? quarter : 1;
	if (s->workers > 1 && s->token_concurrency >= s->workers) {
		snprintf(err, err_size, "token-concurrency (%d) must be below workers "
		    "(%d), or one token can hold every worker", s->token_concurrency,
		    s->workers);
		return EVDB_ERR_CONFIG;
	}
	if (s->workers > 1 && s->import_concurrency >= s->workers) {
		snprintf(err, err_size, "import-concurrency (%d) must be below workers "
		    "(%d), or imports can hold every worker", s->import_concurrency,
		    s->workers);
		return EVDB_ERR_CONFIG;
	}
	return EVDB_OK;
}

enum evdb_status
settings_load(struct settings *s, int argc, char **argv, char *err,
    size_t err_size)
{
	enum evdb_status st;
	const char *path;
	int explicit_path, i;
	size_t k;

	settings_defaults(s);
	path = settings_config_path(argc, argv, &explicit_path);
	if ((st = settings_read_file(s, path, explicit_path, err, err_size)) != EVDB_OK)
		return st;

	for (k = 0; k < SETTING_COUNT; k++) {
		const char *v = getenv(setting_defs[k].env);

		if (v != NULL && *v != '\0' &&
		    (st = settings_apply(s, &setting_defs[k], v, setting_defs[k].env,
		    err, err_size)) != EVDB_OK)
			return st;
	}

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *value;
		const struct setting_def *d;
		size_t len;

		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, err_size, "unexpected argument '%s'", arg);
			return EVDB_ERR_CONFIG;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (len == 6 && strncmp(name, "config", 6) == 0) {
			if (eq == NULL)
				i++;
			continue;
		}
		if ((d = settings_find(name, len)) == NULL) {
			snprintf(err, err_size, "unknown option '--%.*s' (see evdb --help)",
			    (int)len, name);
			return EVDB_ERR_CONFIG;
		}
		if (eq != NULL)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			snprintf(err, err_size, "option --%s needs a value", d->name);
			return EVDB_ERR_CONFIG;
		}
		if ((st = settings_apply(s, d, value, "command line", err, err_size)) != EVDB_OK)
			return st;
	}

	if (s->data_dir[0] == '\0') {
		snprintf(err, err_size, "data-dir must not be empty");
		return EVDB_ERR_CONFIG;
	}
	if (s->token_file[0] == '\0' &&
	    (size_t)snprintf(s->token_file, sizeof(s->token_file), "%s/admin.token",
	    s->data_dir) >= sizeof(s->token_file)) {
		snprintf(err, err_size, "data-dir is too long");
		return EVDB_ERR_CONFIG;
	}
	return settings_resolve(s, err, err_size);
}

void
settings_usage(void)
{
	size_t k;

	printf("usage: evdb [serve] [options]\n\n"
	    "Runs the FastCGI server.  Other commands: evdb help.\n\n"
	    "options (flag > environment > config file > default):\n");
	for (k = 0; k < SETTING_COUNT; k++)
		printf("  --%-20s %-25s %s\n", setting_defs[k].name,
		    setting_defs[k].env, setting_defs[k].help);
	printf("  --%-20s %-25s %s\n", "config", "EVDB_CONFIG",
	    "config file (default " SETTINGS_DEFAULT_CONFIG " when present)");
}

const char *
settings_durability_name(enum durability d)
{
	return d == DURABILITY_FULL ? "full" : "normal";
}
