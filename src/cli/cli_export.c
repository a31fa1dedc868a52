/*
 * cli_export.c - evdb export: copies a namespace out of a running server,
 * through its RPC API, into NDJSON (see cli.h and docs/operations.md).
 *
 * The algorithm is the reference's (reference-behaviour.md section 8): for
 * each category asked for ("" = the whole namespace) it pages
 * category.get(cat, {position, batchSize: 1000}) from position 0, the next
 * position being the last global position of a page plus one, until a page
 * comes back empty; it keeps the messages with since <= time < until and
 * writes one compact record per line, in the field order
 *   {"id","stream","type","pos","gpos","data","meta","time"}
 * ("meta":null when there is none).
 *
 * After the messages come the namespace's consumer checkpoints, from one
 * checkpoint.list call, one record a line:
 *   {"checkpoint","member","size","position","updatedAt"}
 * (member and size only for a consumer-group member), unless
 * --no-checkpoints.  A server without checkpoint.list (an older evdb)
 * gives none, with a note on stderr.
 *
 * Fields are copied from the server's answer as JSON text, never decoded
 * and re-encoded: strings keep their escapes, numbers their spelling and
 * objects their key order, and the time keeps its microseconds.  So
 * exporting, importing into an empty namespace and exporting again gives
 * the same bytes.  (Only blanks outside strings are dropped, to keep each
 * record compact whatever the server sends.)
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/buf.h"
#include "cli/cli.h"
#include "cli/cli_progress.h"
#include "cli/cli_remote.h"
#include "core/json_out.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define EXPORT_BATCH 1000		/* messages per category.get page */
#define EXPORT_TIMEOUT_S 30L		/* per page request, as the reference */
#define EXPORT_MAX_DEPTH 512		/* nesting accepted in an answer */
#define EXPORT_FIELDS 8			/* elements of a category message */

/* What the command line asked for. */
struct export_opts {
	struct cli_remote remote;	/* --url, --token(-file), --gzip (compress
					   the output), --quiet */
	const char *categories;		/* --categories a,b or NULL for all */
	const char *output;		/* --output file, or NULL for stdout */
	bool has_since;			/* --since given */
	int64_t since_us;		/* keep time >= since */
	bool has_until;			/* --until given */
	int64_t until_us;		/* keep time < until */
	bool no_checkpoints;		/* --no-checkpoints: messages only */
};

/* Where the records go. */
struct export_sink {
	FILE *f;			/* plain output, or NULL */
#ifdef HAVE_ZLIB
	gzFile gz;			/* compressed output, or NULL */
#endif
	const char *path;		/* file created (removed on failure), or NULL */
	bool failed;			/* a write failed */
};

/* State of one export run. */
struct export_ctx {
	const struct export_opts *o;
	CURL *curl;			/* one handle: the connection is kept alive */
	struct curl_slist *headers;	/* Authorization and Content-Type */
	char *rpc_url;			/* <base>/rpc; owned */
	char errbuf[CURL_ERROR_SIZE];	/* libcurl's last error text */
	struct buf req;			/* request body */
	struct buf resp;		/* response body */
	struct buf line;		/* the record being written */
	struct export_sink sink;
	struct cli_progress prog;
	int64_t exported;		/* records written */
	int64_t checkpoints;		/* checkpoint records written */
};

/* ---- a JSON scanner that keeps the text ---------------------------------- */

/* A cursor over a JSON text. */
struct jscan {
	const char *p;			/* next byte */
	const char *end;		/* end of the text */
};

/* A value found in the text: where it is, not what it means. */
struct jspan {
	const char *s;			/* first byte of the value */
	size_t len;			/* its length */
};

static void
jscan_ws(struct jscan *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Skips a string starting at j->p ('"'); false when it is unterminated. */
static bool
jscan_string(struct jscan *j)
{
	for (j->p++; j->p < j->end; j->p++) {
		if (*j->p == '\\') {
			j->p++;
			continue;
		}
		if (*j->p == '"') {
			j->p++;
			return true;
		}
		if ((unsigned char)*j->p < 0x20)
			return false;
	}
	return false;
}

/* Skips one value (after blanks); false when the text is not JSON. */
static bool
jscan_value(struct jscan *j, int depth, struct jspan *out)
{
	const char *start;
	char close;

	jscan_ws(j);
	if (j->p >= j->end || depth > EXPORT_MAX_DEPTH)
		return false;
	start = j->p;
	switch (*j->p) {
	case '"':
		if (!jscan_string(j))
			return false;
		break;
	case '[':
	case '{':
		close = *j->p == '[' ? ']' : '}';
		j->p++;
		jscan_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		for (;;) {
			if (close == '}') {
				jscan_ws(j);
				if (j->p >= j->end || *j->p != '"' || !jscan_string(j))
					return false;
				jscan_ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return false;
			}
			if (!jscan_value(j, depth + 1, NULL))
				return false;
			jscan_ws(j);
			if (j->p >= j->end)
				return false;
			if (*j->p == close) {
				j->p++;
				break;
			}
			if (*j->p++ != ',')
				return false;
		}
		break;
	default:
		/* A number or a literal: the bytes up to a delimiter. */
		while (j->p < j->end && *j->p != '\0' &&
		    strchr("+-.0123456789eEtruefalsn", *j->p) != NULL)
			j->p++;
		if (j->p == start)
			return false;
		break;
	}
	if (out != NULL) {
		out->s = start;
		out->len = (size_t)(j->p - start);
	}
	return true;
}

/* Expects the byte c (after blanks) and consumes it. */
static bool
jscan_expect(struct jscan *j, char c)
{
	jscan_ws(j);
	if (j->p >= j->end || *j->p != c)
		return false;
	j->p++;
	return true;
}

/* Appends the JSON text v without the blanks outside its strings. */
static void
export_compact(struct buf *b, const struct jspan *v)
{
	const char *p = v->s, *end = v->s + v->len, *run = p;
	bool in_str = false;

	for (; p < end; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"')
			in_str = true;
		else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			buf_append(b, run, (size_t)(p - run));
			run = p + 1;
		}
	}
	buf_append(b, run, (size_t)(end - run));
}

/* Parses the integer v into *out. */
static bool
export_int(const struct jspan *v, int64_t *out)
{
	char tmp[24], *end;

	if (v->len == 0 || v->len >= sizeof(tmp))
		return false;
	memcpy(tmp, v->s, v->len);
	tmp[v->len] = '\0';
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0';
}

/* ---- output ------------------------------------------------------------- */

static bool
export_sink_open(struct export_sink *k, const struct export_opts *o)
{
	int fd = STDOUT_FILENO;

	memset(k, 0, sizeof(*k));
	if (o->output != NULL) {
		fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "Error: cannot create %s: %s\n", o->output,
			    strerror(errno));
			return false;
		}
		k->path = o->output;
	}
	if (o->remote.gzip) {
#ifdef HAVE_ZLIB
		if ((k->gz = gzdopen(fd, "wb")) != NULL)
			return true;
		fprintf(stderr, "Error: cannot start gzip output\n");
#endif
	} else if ((k->f = fd == STDOUT_FILENO ? stdout : fdopen(fd, "w")) != NULL)
		return true;
	else
		fprintf(stderr, "Error: %s: %s\n", o->output, strerror(errno));
	if (fd != STDOUT_FILENO) {
		close(fd);
		unlink(o->output);
	}
	k->path = NULL;
	return false;
}

static void
export_sink_write(struct export_sink *k, const struct buf *b)
{
	if (k->failed)
		return;
#ifdef HAVE_ZLIB
	if (k->gz != NULL) {
		if (gzwrite(k->gz, b->data, (unsigned)b->len) != (int)b->len)
			k->failed = true;
		return;
	}
#endif
	if (fwrite(b->data, 1, b->len, k->f) != b->len)
		k->failed = true;
}

/* Flushes and closes the output; removes a file created when !ok. */
static bool
export_sink_close(struct export_sink *k, bool ok)
{
	bool good = !k->failed;

#ifdef HAVE_ZLIB
	if (k->gz != NULL && gzclose(k->gz) != Z_OK)
		good = false;
	k->gz = NULL;
#endif
	if (k->f != NULL) {
		if (fflush(k->f) != 0 || ferror(k->f))
			good = false;
		if (k->f != stdout && fclose(k->f) != 0)
			good = false;
		k->f = NULL;
	}
	if (ok && !good)
		fprintf(stderr, "Error: cannot write %s: %s\n",
		    k->path != NULL ? k->path : "the output", strerror(errno));
	if ((!ok || !good) && k->path != NULL)
		unlink(k->path);
	return good;
}

/* ---- paging ------------------------------------------------------------- */

static size_t
export_collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	buf_append(b, data, size * n);
	return size * n;
}

/*
 * POSTs the request in x->req to /rpc; the answer lands in x->resp and its
 * HTTP status in *http.  false (reported) when no answer came.
 */
static bool
export_post(struct export_ctx *x, long *http)
{
	CURLcode rc;

	*http = 0;
	buf_reset(&x->resp);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, x->req.data);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.len);
	if ((rc = curl_easy_perform(x->curl)) != CURLE_OK) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: %s: %s\n", x->rpc_url,
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, http);
	return true;
}

/* export_post, and an answer other than 200 is a failure (reported). */
static bool
export_call(struct export_ctx *x)
{
	long http;

	if (!export_post(x, &http))
		return false;
	if (http != 200) {
		while (x->resp.len > 0 && (x->resp.data[x->resp.len - 1] == '\n' ||
		    x->resp.data[x->resp.len - 1] == '\r'))
			x->resp.data[--x->resp.len] = '\0';
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: server error (HTTP %ld): %s\n", http,
		    buf_cstr(&x->resp));
		return false;
	}
	return true;
}

/*
 * Writes the messages of the page in x->resp that pass the time filter;
 * *count receives the page's size and *last_gpos its last global position.
 */
static bool
export_page(struct export_ctx *x, size_t *count, int64_t *last_gpos)
{
	static const char *const keys[EXPORT_FIELDS] = { "{\"id\":", ",\"stream\":",
	    ",\"type\":", ",\"pos\":", ",\"gpos\":", ",\"data\":", ",\"meta\":",
	    ",\"time\":" };
	struct jscan j = { x->resp.data, x->resp.data + x->resp.len };
	struct jspan f[EXPORT_FIELDS];
	int64_t t;
	int i;

	*count = 0;
	if (!jscan_expect(&j, '['))
		goto bad;
	jscan_ws(&j);
	if (j.p < j.end && *j.p == ']') {
		j.p++;
		goto end;
	}
	for (;;) {
		if (!jscan_expect(&j, '['))
			goto bad;
		for (i = 0; i < EXPORT_FIELDS; i++)
			if ((i > 0 && !jscan_expect(&j, ',')) ||
			    !jscan_value(&j, 1, &f[i]))
				goto bad;
		if (!jscan_expect(&j, ']'))
			goto bad;
		/* gpos (4) an integer; time (7) a string without escapes. */
		if (!export_int(&f[4], last_gpos) || f[7].len < 2 || f[7].s[0] != '"' ||
		    memchr(f[7].s, '\\', f[7].len) != NULL ||
		    timefmt_parse(f[7].s + 1, f[7].len - 2, &t) != EVDB_OK)
			goto bad;
		(*count)++;
		if ((!x->o->has_since || t >= x->o->since_us) &&
		    (!x->o->has_until || t < x->o->until_us)) {
			buf_reset(&x->line);
			for (i = 0; i < EXPORT_FIELDS; i++) {
				buf_puts(&x->line, keys[i]);
				export_compact(&x->line, &f[i]);
			}
			buf_puts(&x->line, "}\n");
			export_sink_write(&x->sink, &x->line);
			x->exported++;
		}
		jscan_ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (!jscan_expect(&j, ']'))
			goto bad;
		break;
	}
end:
	jscan_ws(&j);
	if (j.p == j.end)
		return true;
bad:
	cli_progress_break(&x->prog);
	fprintf(stderr, "Error: unexpected answer from %s (not a category.get page):"
	    " %.200s\n", x->rpc_url, buf_cstr(&x->resp));
	return false;
}

/* Exports the category cat[0..len) (len 0: the whole namespace). */
static bool
export_category(struct export_ctx *x, const char *cat, size_t len)
{
	int64_t position = 0, last = 0;
	size_t count;

	for (;;) {
		buf_reset(&x->req);
		buf_puts(&x->req, "[\"category.get\",");
		json_out_string(&x->req, cat, len);
		buf_printf(&x->req, ",{\"position\":%lld,\"batchSize\":%d}]",
		    (long long)position, EXPORT_BATCH);
		if (!export_call(x) || !export_page(x, &count, &last))
			return false;
		if (x->sink.failed) {
			cli_progress_break(&x->prog);
			fprintf(stderr, "Error: cannot write %s: %s\n",
			    x->o->output != NULL ? x->o->output : "the output",
			    strerror(errno));
			return false;
		}
		cli_progress_update(&x->prog, x->exported, -1);
		if (count == 0)
			return true;
		if (last < position) {
			cli_progress_break(&x->prog);
			fprintf(stderr, "Error: the server went backwards (global position"
			    " %lld after asking from %lld)\n", (long long)last,
			    (long long)position);
			return false;
		}
		position = last + 1;
	}
}

/* ---- checkpoints ---------------------------------------------------------- */

/* Writes one checkpoint record of a checkpoint.list answer entry e. */
static bool
export_checkpoint_record(struct export_ctx *x, struct json_object *e)
{
	struct json_object *name = NULL, *member = NULL, *size = NULL;
	struct json_object *pos = NULL, *at = NULL;

	if (!json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    !json_object_object_get_ex(e, "position", &pos) ||
	    !json_object_is_type(pos, json_type_int) ||
	    !json_object_object_get_ex(e, "updatedAt", &at) ||
	    !json_object_is_type(at, json_type_string))
		return false;
	json_object_object_get_ex(e, "member", &member);
	json_object_object_get_ex(e, "size", &size);
	buf_reset(&x->line);
	buf_puts(&x->line, "{\"checkpoint\":");
	json_out_string(&x->line, json_object_get_string(name),
	    (size_t)json_object_get_string_len(name));
	if (json_object_is_type(member, json_type_int) &&
	    json_object_is_type(size, json_type_int))
		buf_printf(&x->line, ",\"member\":%lld,\"size\":%lld",
		    (long long)json_object_get_int64(member),
		    (long long)json_object_get_int64(size));
	buf_printf(&x->line, ",\"position\":%lld,\"updatedAt\":",
	    (long long)json_object_get_int64(pos));
	json_out_string(&x->line, json_object_get_string(at),
	    (size_t)json_object_get_string_len(at));
	buf_puts(&x->line, "}\n");
	export_sink_write(&x->sink, &x->line);
	x->checkpoints++;
	return true;
}

/* Exports every checkpoint of the namespace (checkpoint.list). */
static bool
export_checkpoints(struct export_ctx *x)
{
	struct json_object *list;
	long http;
	size_t i, n;
	bool ok = true;

	buf_reset(&x->req);
	buf_puts(&x->req, "[\"checkpoint.list\"]");
	if (!export_post(x, &http))
		return false;
	if (http == 404 && strstr(buf_cstr(&x->resp), "METHOD_NOT_FOUND") != NULL) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Note: the server keeps no consumer checkpoints (an"
		    " older evdb): none exported\n");
		return true;
	}
	if (http != 200) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: server error (HTTP %ld) listing checkpoints:"
		    " %.200s\n", http, buf_cstr(&x->resp));
		return false;
	}
	list = json_tokener_parse(buf_cstr(&x->resp));
	if (list == NULL || !json_object_is_type(list, json_type_array))
		ok = false;
	n = ok ? json_object_array_length(list) : 0;
	for (i = 0; ok && i < n; i++)
		ok = export_checkpoint_record(x, json_object_array_get_idx(list, i));
	json_object_put(list);
	if (!ok) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: unexpected answer from %s (not a"
		    " checkpoint.list answer): %.200s\n", x->rpc_url,
		    buf_cstr(&x->resp));
	}
	return ok;
}

/* The export itself, once the options are checked: the cli_remote_run() callback. */
static int
export_run(void *arg)
{
	const struct export_opts *o = arg;
	struct export_ctx x;
	const char *p, *comma;
	size_t n;
	bool ok = false, sink_open = false;

	memset(&x, 0, sizeof(x));
	x.o = o;
	buf_init(&x.req);
	buf_init(&x.resp);
	buf_init(&x.line);
	n = xadd(strlen(o->remote.base), sizeof("/rpc"));
	x.rpc_url = xmalloc(n);
	snprintf(x.rpc_url, n, "%s/rpc", o->remote.base);
	if (!cli_remote_handle(&o->remote, "application/json",
	    "evdb-export/" PACKAGE_VERSION, x.errbuf, &x.curl, &x.headers))
		goto out;
	curl_easy_setopt(x.curl, CURLOPT_URL, x.rpc_url);
	curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, x.headers);
	curl_easy_setopt(x.curl, CURLOPT_TIMEOUT, EXPORT_TIMEOUT_S);
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, export_collect);
	curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x.resp);
	if (!export_sink_open(&x.sink, o))
		goto out;
	sink_open = true;
	cli_progress_init(&x.prog, stderr, o->remote.quiet, "Exported", "events");
	if (o->categories == NULL || o->categories[0] == '\0') {
		ok = export_category(&x, "", 0);
	} else {
		ok = true;
		for (p = o->categories; ok && *p != '\0'; p = *comma ? comma + 1 : comma) {
			if ((comma = strchr(p, ',')) == NULL)
				comma = p + strlen(p);
			if (comma > p)
				ok = export_category(&x, p, (size_t)(comma - p));
		}
	}
	if (ok && !o->no_checkpoints)
		ok = export_checkpoints(&x);
out:
	if (sink_open && !export_sink_close(&x.sink, ok))
		ok = false;
	if (ok) {
		char extra[64];

		snprintf(extra, sizeof(extra), " and %lld consumer checkpoints",
		    (long long)x.checkpoints);
		cli_progress_finish(&x.prog, x.exported, NULL,
		    x.checkpoints > 0 ? extra : NULL);
	}
	curl_slist_free_all(x.headers);
	if (x.curl != NULL)
		curl_easy_cleanup(x.curl);
	free(x.rpc_url);
	buf_free(&x.req);
	buf_free(&x.resp);
	buf_free(&x.line);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static void
export_usage(void)
{
	printf("usage: evdb export --url URL (--token T | --token-file F)\n"
	    "                   [--categories a,b] [--since DATE] [--until DATE]\n"
	    "                   [--gzip] [--output FILE] [--quiet] [--no-checkpoints]\n"
	    "\n"
	    "Writes the messages of the token's namespace as NDJSON, one record a line:\n"
	    "  {\"id\",\"stream\",\"type\",\"pos\",\"gpos\",\"data\",\"meta\",\"time\"}\n"
	    "--categories  only these categories (comma-separated), one after another\n"
	    "--since/--until  keep since <= time < until; YYYY-MM-DD or RFC 3339\n"
	    "--gzip        compress the output\n"
	    "--output      write to FILE instead of stdout (removed on failure)\n"
	    "--no-checkpoints  leave out the consumer checkpoints, which follow the\n"
	    "              messages as {\"checkpoint\",\"member\",\"size\",\"position\",\"updatedAt\"}\n"
	    "Progress goes to stderr.  See docs/operations.md.\n");
}

/* Parses a --since/--until date into *us. */
static bool
export_date(const char *cmd, const char *opt, const char *s, int64_t *us)
{
	if (timefmt_parse(s, strlen(s), us) == EVDB_OK)
		return true;
	cli_usage_error(cmd, "%s: '%s' is neither YYYY-MM-DD nor RFC 3339", opt, s);
	return false;
}

int
cli_export_main(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_REMOTE_LONGOPTS,
		{ "categories", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-checkpoints", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct export_opts o;
	const char *cmd = argv[0];
	int ch, rc = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	cli_remote_init(&o.remote, cmd);
	while ((ch = getopt_long(argc, argv, CLI_REMOTE_SHORTOPTS "c:s:o:h", opts,
	    NULL)) != -1) {
		if (cli_remote_option(&o.remote, ch, optarg))
			continue;
		switch (ch) {
		case 'c':
			o.categories = optarg;
			break;
		case 's':
			if (!export_date(cmd, "--since", optarg, &o.since_us))
				goto out;
			o.has_since = true;
			break;
		case 'U':
			if (!export_date(cmd, "--until", optarg, &o.until_us))
				goto out;
			o.has_until = true;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'C':
			o.no_checkpoints = true;
			break;
		case 'h':
			export_usage();
			rc = CLI_EXIT_OK;
			goto out;
		default:
			rc = cli_bad_option(cmd);
			goto out;
		}
	}
	if ((rc = cli_remote_setup(&o.remote, argc, argv)) == CLI_EXIT_OK)
		rc = cli_remote_run(export_run, &o);
out:
	cli_remote_free(&o.remote);
	return rc;
}
