/*
 * tests/fuzz/fuzz_env.c - the fuzz harnesses' private store, detached
 * requests and answer checks (see fuzz.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "core/timefmt.h"

/* Largest body fuzz_check_answer prints with a failure. */
#define FUZZ_SHOW_MAX 2048

void
fuzz_fail(const struct request *r, const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz check failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (r != NULL && r->out != NULL) {
		size_t n = r->out->len > FUZZ_SHOW_MAX ? FUZZ_SHOW_MAX : r->out->len;

		fprintf(stderr, "status %d, answer (%zu bytes): %.*s\n", r->status,
		    r->out->len, (int)n, r->out->data != NULL ? r->out->data : "");
	}
	fflush(stderr);
	abort();
}

static int
fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes path and everything below it; true on success. */
static bool
fuzz_rm_tree(const char *path)
{
	return nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ||
	    errno == ENOENT;
}

/* Picks the parent of the temporary directory. */
static const char *
fuzz_tmp_parent(void)
{
	const char *d = getenv("FUZZ_TMPDIR");

	if (d != NULL && *d != '\0')
		return d;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";	/* no disk I/O: many more runs per second */
	d = getenv("TMPDIR");
	return d != NULL && *d != '\0' ? d : "/tmp";
}

/* Opens the store on e->data_dir and creates namespace "default". */
static void
fuzz_env_open_store(struct fuzz_env *e)
{
	struct store_options opt;
	char hash[TOKEN_HASH_HEX_LEN + 1];
	enum evdb_status rs;

	memset(&opt, 0, sizeof(opt));
	opt.data_dir = e->data_dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = 1000;
	opt.log = &e->log;
	if ((rs = store_open(&opt, &e->store)) != EVDB_OK)
		fuzz_fail(NULL, "store_open(%s): %s", e->data_dir, evdb_strerror(rs));
	if ((rs = store_conn_open(e->store, &e->conn)) != EVDB_OK)
		fuzz_fail(NULL, "store_conn_open: %s", evdb_strerror(rs));
	if ((rs = token_generate("default", e->admin_token,
	    sizeof(e->admin_token))) != EVDB_OK)
		fuzz_fail(NULL, "token_generate: %s", evdb_strerror(rs));
	token_hash(e->admin_token, strlen(e->admin_token), hash);
	if ((rs = store_ns_create(e->conn, "default", hash, NULL, NULL,
	    timefmt_now_us())) != EVDB_OK)
		fuzz_fail(NULL, "store_ns_create(default): %s: %s", evdb_strerror(rs),
		    store_conn_errmsg(e->conn));
	e->runs = 0;
}

static void
fuzz_env_close_store(struct fuzz_env *e)
{
	store_conn_close(e->conn);
	e->conn = NULL;
	store_close(e->store);
	e->store = NULL;
}

/*
 * Removes the directories evdb-fuzz-<pid>-* under parent left by harness
 * processes that are gone: a crash (abort) runs no exit handler.
 */
static void
fuzz_sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char path[PATH_MAX];
	long pid;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "evdb-fuzz-%ld-", &pid) != 1 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, de->d_name) <
		    (int)sizeof(path))
			(void)fuzz_rm_tree(path);
	}
	closedir(d);
}

void
fuzz_env_open(struct fuzz_env *e)
{
	const char *logpath = getenv("FUZZ_LOG"), *parent = fuzz_tmp_parent();
	int n;

	memset(e, 0, sizeof(*e));
	fuzz_sweep_stale(parent);
	n = snprintf(e->dir, sizeof(e->dir), "%s/evdb-fuzz-%ld-XXXXXX", parent,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(e->dir) || mkdtemp(e->dir) == NULL)
		fuzz_fail(NULL, "cannot create a temporary directory: %s", strerror(errno));
	snprintf(e->data_dir, sizeof(e->data_dir), "%s/data", e->dir);
	if (log_open(&e->log, logpath != NULL && *logpath != '\0' ? logpath : "/dev/null",
	    LOG_LEVEL_DEBUG) != EVDB_OK)
		fuzz_fail(NULL, "cannot open the log");

	/* Only these settings are read by the code under test. */
	e->recycle_runs = FUZZ_RECYCLE_RUNS;
	e->settings.workers = 1;
	e->settings.max_body = 1048576;
	e->settings.max_response_bytes = 4194304;
	e->settings.busy_timeout_ms = 1000;
	e->settings.sse_heartbeat_ms = 15000;
	e->settings.sse_max_subscribers = 16384;
	e->settings.sse_max_per_token = 10000;
	e->settings.sse_buffer = 65536;
	e->settings.durability = DURABILITY_NORMAL;
	e->settings.log_level = LOG_LEVEL_DEBUG;
	/* Small, so that batch.write's bound is reached (default 1000). */
	e->settings.batch_max = 8;
	e->settings.longpoll_max = 4096;
	e->settings.longpoll_max_per_token = 256;

	arena_init(&e->arena, 0);
	buf_init(&e->body);
	buf_init(&e->out);
	fuzz_env_open_store(e);
	e->open = true;
}

void
fuzz_env_close(struct fuzz_env *e)
{
	if (!e->open)
		return;
	fuzz_env_close_store(e);
	arena_free(&e->arena);
	buf_free(&e->body);
	buf_free(&e->out);
	log_close(&e->log);
	(void)fuzz_rm_tree(e->dir);
	e->open = false;
}

void
fuzz_env_tick(struct fuzz_env *e)
{
	if (++e->runs < e->recycle_runs)
		return;
	fuzz_env_close_store(e);
	if (!fuzz_rm_tree(e->data_dir))
		fuzz_fail(NULL, "cannot empty %s: %s", e->data_dir, strerror(errno));
	fuzz_env_open_store(e);
}

void
fuzz_request_init(struct fuzz_env *e, struct request *r, const char *method,
    const char *path, const char *query)
{
	memset(r, 0, sizeof(*r));
	r->fcgi = NULL;
	r->arena = &e->arena;
	r->store = e->conn;
	r->settings = &e->settings;
	r->log = &e->log;
	r->metrics = NULL;
	r->hub = NULL;
	r->gauges = NULL;
	r->gauges_ctx = NULL;
	r->worker_id = 1;
	buf_reset(&e->body);
	buf_reset(&e->out);
	r->body = &e->body;
	r->out = &e->out;
	r->method = method;
	r->path = path;
	r->query = query;
	r->authorization = NULL;
	r->request_id = "fuzz";
	r->content_length = -1;
}

void
fuzz_request_done(struct fuzz_env *e, struct request *r)
{
	(void)r;
	arena_reset(&e->arena);
	/* Keep the steady state small, as server.c does with buf_trim. */
	buf_trim(&e->body, 1u << 20);
	buf_trim(&e->out, 1u << 20);
}

bool
fuzz_json_parse(const char *text, size_t len, struct json_object **out,
    const char **why)
{
	struct json_tokener *tok;
	struct json_object *v;
	size_t end;

	*out = NULL;
	*why = NULL;
	if (len > (size_t)INT32_MAX) {
		*why = "too long for json-c";
		return false;
	}
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 2);
	if (tok == NULL) {
		*why = "out of memory";
		return false;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	v = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (v == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
		/*
		 * A bare literal or number at the very end needs to see the end
		 * of the input; all of text was consumed then.
		 */
		v = json_tokener_parse_ex(tok, "", 1);
		end = len;
	}
	if (json_tokener_get_error(tok) != json_tokener_success) {
		*why = json_tokener_error_desc(json_tokener_get_error(tok));
		json_object_put(v);
		json_tokener_free(tok);
		return false;
	}
	json_tokener_free(tok);
	for (; end < len; end++)
		if (strchr(" \t\r\n", text[end]) == NULL || text[end] == '\0') {
			*why = "text after the JSON value";
			json_object_put(v);
			return false;
		}
	*out = v;
	return true;
}

/* True when code is a wire error code evdb may answer with status. */
static bool
fuzz_code_allowed(int status, const char *code)
{
	static const struct {
		int status;		/* HTTP status */
		const char *code;	/* an error code allowed with it */
	} allowed[] = {
		{ 400, "INVALID_REQUEST" },
		{ 401, "AUTH_REQUIRED" },
		{ 401, "AUTH_INVALID_TOKEN" },
		{ 403, "AUTH_UNAUTHORIZED" },
		{ 404, "METHOD_NOT_FOUND" },
		{ 404, "NAMESPACE_NOT_FOUND" },
		{ 404, "NOT_FOUND" },
		{ 405, "INVALID_REQUEST" },
		{ 409, "NAMESPACE_EXISTS" },
		{ 409, "STREAM_VERSION_CONFLICT" },
		{ 409, "MESSAGE_ID_CONFLICT" },
		{ 409, "POSITION_CONFLICT" },
		{ 413, "PAYLOAD_TOO_LARGE" },
		{ 429, "SUBSCRIBER_LIMIT" },
		{ 429, "CONCURRENCY_LIMIT" },
		{ 429, "IMPORT_LIMIT" },
	};
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].status == status && strcmp(allowed[i].code, code) == 0)
			return true;
	return false;
}

void
fuzz_check_answer(const struct request *r, const char *what)
{
	struct json_object *root = NULL, *err = NULL, *code = NULL, *msg = NULL;
	const char *why, *text;
	size_t len;
	int keys;

	if (r->status == 0)
		fuzz_fail(r, "%s: no answer was recorded", what);
	if (r->streaming)
		fuzz_fail(r, "%s: a streamed answer on a detached request", what);
	if (r->content_type == NULL || strcmp(r->content_type, "application/json") != 0)
		fuzz_fail(r, "%s: content type %s", what,
		    r->content_type != NULL ? r->content_type : "(null)");
	text = r->out->data != NULL ? r->out->data : "";
	len = r->out->len;
	if (len < 2 || text[len - 1] != '\n' || text[len - 2] == '\n')
		fuzz_fail(r, "%s: the answer does not end in exactly one newline", what);
	if (memchr(text, '\0', len) != NULL)
		fuzz_fail(r, "%s: a NUL byte in the answer", what);
	if (!fuzz_json_parse(text, len - 1, &root, &why))
		fuzz_fail(r, "%s: the answer is not JSON: %s", what, why);
	if (r->status == 200)
		goto out;
	if (r->status >= 500)
		fuzz_fail(r, "%s: status %d on a healthy store", what, r->status);
	keys = json_object_is_type(root, json_type_object) ?
	    json_object_object_length(root) : -1;
	if (keys != 1 || !json_object_object_get_ex(root, "error", &err) ||
	    !json_object_is_type(err, json_type_object))
		fuzz_fail(r, "%s: status %d without the error envelope", what, r->status);
	keys = json_object_object_length(err);
	if (!json_object_object_get_ex(err, "code", &code) ||
	    !json_object_is_type(code, json_type_string) ||
	    !json_object_object_get_ex(err, "message", &msg) ||
	    !json_object_is_type(msg, json_type_string) ||
	    json_object_get_string_len(msg) == 0 ||
	    keys != 2 + json_object_object_get_ex(err, "details", NULL))
		fuzz_fail(r, "%s: malformed error envelope", what);
	if (!fuzz_code_allowed(r->status, json_object_get_string(code)))
		fuzz_fail(r, "%s: code %s is not allowed with status %d", what,
		    json_object_get_string(code), r->status);
out:
	json_object_put(root);
}
