/*
 * cli_import.c - evdb import: sends an NDJSON export to a running server's
 * POST /import and follows its progress (see cli.h, docs/operations.md and
 * reference-behaviour.md section 8).
 *
 * The input (a file, or stdin; gunzipped on the fly with --gzip) is streamed
 * from a libcurl read callback, never loaded into memory: with a known
 * length (a plain regular file) as one Content-Length body, otherwise
 * chunked.  The answer is a text/event-stream; its events are parsed in the
 * write callback as they arrive:
 *   data: {"imported":N,"gpos":G}                     after each committed batch
 *   data: {"done":true,"imported":N,"elapsed":"1.2s"}  at the end
 *   data: {"error":"CODE","message":"...","line":L}   on failure (batches
 *                                                     before it stay committed)
 * A failed import answers 4xx/5xx with the same event stream; any other
 * non-200 answer (authentication, nginx) is shown as it came.
 * --force asks the server to empty the namespace first, after a [y/N]
 * confirmation (or --yes).
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/buf.h"
#include "cli/cli.h"
#include "cli/cli_progress.h"
#include "cli/cli_remote.h"
#include "core/xalloc.h"

#define IMPORT_CONNECT_TIMEOUT_S 30L	/* as the reference's HTTP timeout */
#define IMPORT_STALL_S 300L		/* no byte either way for this long: give up */
#define IMPORT_MAX_ERRBODY 65536	/* bytes of an error answer kept */
#define IMPORT_MAX_EVENT (1 << 20)	/* bytes of one event, at most */

/* What the command line asked for. */
struct import_opts {
	struct cli_remote remote;	/* --url, --token(-file), --gzip (the input
					   is compressed), --quiet */
	const char *input;		/* --input file, or NULL for stdin */
	bool force;			/* --force: empty the namespace first */
	bool yes;			/* --yes: do not ask before --force */
};

/* The body being sent. */
struct import_src {
	int fd;				/* input descriptor */
#ifdef HAVE_ZLIB
	gzFile gz;			/* decompressor over fd, or NULL */
#endif
	int64_t size;			/* bytes of the (compressed) file, or -1 */
	int64_t consumed;		/* bytes of it read so far */
	char read_error[160];		/* why reading failed, or "" */
};

/* State of one import run, shared by the two callbacks. */
struct import_ctx {
	const struct import_opts *o;
	CURL *curl;
	struct import_src src;
	struct cli_progress prog;
	struct buf pending;		/* event-stream bytes not yet parsed */
	struct buf errbody;		/* body of a non-200 answer */
	long http;			/* response status, once known */
	bool events;			/* the answer is an event stream (any status) */
	int64_t imported;		/* records committed so far */
	int64_t gpos;			/* last global position committed */
	int64_t skipped;		/* records found stored already (a resume) */
	int64_t checkpoints;		/* consumer checkpoints set, from done */
	bool done;			/* the done event arrived */
	char elapsed[32];		/* the server's elapsed time, from done */
	bool failed;			/* an error event arrived */
	char *err_code;			/* its code; owned */
	char *err_message;		/* its message; owned */
	int64_t err_line;		/* its line, or 0 */
	bool overflow;			/* an event exceeded IMPORT_MAX_EVENT */
};

/* ---- the request body ----------------------------------------------------- */

static size_t
import_read(char *dst, size_t size, size_t n, void *arg)
{
	struct import_ctx *x = arg;
	struct import_src *s = &x->src;
	size_t want = size * n;
	ssize_t got;

#ifdef HAVE_ZLIB
	if (s->gz != NULL) {
		int r = gzread(s->gz, dst, (unsigned)(want > INT32_MAX ? INT32_MAX : want));

		if (r < 0) {
			int zerr;

			snprintf(s->read_error, sizeof(s->read_error), "%s",
			    gzerror(s->gz, &zerr));
			return CURL_READFUNC_ABORT;
		}
		s->consumed = gzoffset(s->gz);
		cli_progress_update(&x->prog, x->imported, s->consumed);
		return (size_t)r;
	}
#endif
	do
		got = read(s->fd, dst, want);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		snprintf(s->read_error, sizeof(s->read_error), "%s", strerror(errno));
		return CURL_READFUNC_ABORT;
	}
	s->consumed += got;
	cli_progress_update(&x->prog, x->imported, s->consumed);
	return (size_t)got;
}

/* Opens the input; false after saying why. */
static bool
import_src_open(struct import_src *s, const struct import_opts *o)
{
	struct stat sb;

	memset(s, 0, sizeof(*s));
	s->size = -1;
	s->fd = STDIN_FILENO;
	if (o->input != NULL && strcmp(o->input, "-") != 0 &&
	    (s->fd = open(o->input, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "Error: cannot open %s: %s\n", o->input, strerror(errno));
		return false;
	}
	if (fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		s->size = (int64_t)sb.st_size - (int64_t)lseek(s->fd, 0, SEEK_CUR);
#ifdef HAVE_ZLIB
	if (o->remote.gzip && (s->gz = gzdopen(s->fd, "rb")) == NULL) {
		fprintf(stderr, "Error: cannot start gunzip\n");
		return false;
	}
#endif
	return true;
}

static void
import_src_close(struct import_src *s)
{
#ifdef HAVE_ZLIB
	if (s->gz != NULL) {
		gzclose(s->gz);	/* closes fd too */
		s->gz = NULL;
		s->fd = -1;
	}
#endif
	if (s->fd > STDIN_FILENO)
		close(s->fd);
	s->fd = -1;
}

/* ---- the event stream ------------------------------------------------------ */

/* Handles the data of one event. */
static void
import_event(struct import_ctx *x, const char *data, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *ev = NULL, *v;

	if (tok == NULL)
		return;
	ev = json_tokener_parse_ex(tok, data, (int)len);
	json_tokener_free(tok);
	if (ev == NULL || !json_object_is_type(ev, json_type_object))
		goto out;	/* not ours: ignore, as an SSE client would */
	if (json_object_object_get_ex(ev, "error", &v)) {
		x->failed = true;
		free(x->err_code);
		free(x->err_message);
		x->err_code = xstrdup(json_object_get_string(v));
		x->err_message = xstrdup(json_object_object_get_ex(ev, "message", &v) ?
		    json_object_get_string(v) : "");
		x->err_line = json_object_object_get_ex(ev, "line", &v) ?
		    json_object_get_int64(v) : 0;
		goto out;
	}
	if (json_object_object_get_ex(ev, "imported", &v))
		x->imported = json_object_get_int64(v);
	if (json_object_object_get_ex(ev, "gpos", &v))
		x->gpos = json_object_get_int64(v);
	if (json_object_object_get_ex(ev, "skipped", &v))
		x->skipped = json_object_get_int64(v);
	if (json_object_object_get_ex(ev, "checkpoints", &v))
		x->checkpoints = json_object_get_int64(v);
	if (json_object_object_get_ex(ev, "done", &v) && json_object_get_boolean(v)) {
		x->done = true;
		snprintf(x->elapsed, sizeof(x->elapsed), "%s",
		    json_object_object_get_ex(ev, "elapsed", &v) ?
		    json_object_get_string(v) : "?");
		goto out;
	}
	cli_progress_update(&x->prog, x->imported, x->src.consumed);
out:
	json_object_put(ev);
}

/*
 * Splits the pending bytes into events (separated by a blank line) and
 * handles the data lines of each; comment lines (": ...") and other fields
 * are ignored.
 */
static void
import_parse(struct import_ctx *x)
{
	char *p = x->pending.data, *end = p + x->pending.len, *ev_end, *line, *nl;
	struct buf data;
	size_t used = 0;

	buf_init(&data);
	while (p < end) {
		/* An event ends at "\n\n" (or "\r\n\r\n"). */
		ev_end = NULL;
		for (nl = p; (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++) {
			if (nl + 1 < end && nl[1] == '\n') {
				ev_end = nl + 2;
				break;
			}
			if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n') {
				ev_end = nl + 3;
				break;
			}
		}
		if (ev_end == NULL)
			break;
		buf_reset(&data);
		for (line = p; line < ev_end; line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(ev_end - line));
			if (nl == NULL)
				nl = ev_end - 1;
			if ((size_t)(nl - line) >= 5 && memcmp(line, "data:", 5) == 0) {
				const char *v = line + 5;
				size_t vlen = (size_t)(nl - v);

				if (vlen > 0 && *v == ' ') {
					v++;
					vlen--;
				}
				if (vlen > 0 && v[vlen - 1] == '\r')
					vlen--;
				if (data.len > 0)
					buf_putc(&data, '\n');
				buf_append(&data, v, vlen);
			}
		}
		if (data.len > 0)
			import_event(x, data.data, data.len);
		used = (size_t)(ev_end - x->pending.data);
		p = ev_end;
	}
	if (used > 0) {
		memmove(x->pending.data, x->pending.data + used, x->pending.len - used);
		x->pending.len -= used;
		x->pending.data[x->pending.len] = '\0';
	}
	buf_free(&data);
}

static size_t
import_write(char *data, size_t size, size_t n, void *arg)
{
	struct import_ctx *x = arg;
	size_t len = size * n, room;

	if (x->http == 0) {
		char *ctype = NULL;

		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->http);
		/* A failed import answers 4xx/5xx with its events, error included. */
		curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ctype);
		x->events = ctype != NULL &&
		    strncasecmp(ctype, "text/event-stream", 17) == 0;
	}
	if (!x->events) {
		room = IMPORT_MAX_ERRBODY - x->errbody.len;
		buf_append(&x->errbody, data, len < room ? len : room);
		return len;
	}
	buf_append(&x->pending, data, len);
	import_parse(x);
	if (x->pending.len > IMPORT_MAX_EVENT) {
		x->overflow = true;
		return 0;	/* aborts the transfer */
	}
	return len;
}

/* ---- confirmation ------------------------------------------------------------ */

/*
 * Asks before --force.  The answer is read from stdin, or from the terminal
 * when stdin carries the data; no answer (end of file, no terminal) is no.
 */
static bool
import_confirm(const struct import_opts *o)
{
	char line[64];
	FILE *in = stdin, *tty = NULL;
	bool from_stdin = o->input == NULL || strcmp(o->input, "-") == 0;
	bool yes = false;
	size_t len;

	if (from_stdin) {
		if ((tty = fopen("/dev/tty", "re")) == NULL) {
			fprintf(stderr, "%s: --force with data on stdin needs a terminal"
			    " to confirm, or --yes\n", o->remote.cmd);
			return false;
		}
		in = tty;
	}
	fprintf(stderr, "This deletes every message of the namespace at %s before"
	    " importing. Continue? [y/N]: ", o->remote.url);
	fflush(stderr);
	if (fgets(line, sizeof(line), in) != NULL) {
		len = strlen(line);
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		yes = strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
		if (!isatty(fileno(in)))
			fputc('\n', stderr);	/* the answer was not echoed */
	} else
		fputc('\n', stderr);
	if (tty != NULL)
		fclose(tty);
	return yes;
}

/* ---- the run ------------------------------------------------------------------ */

/* Reports how the transfer ended; returns the exit status. */
static int
import_outcome(struct import_ctx *x, CURLcode rc, const char *errbuf,
    const char *url)
{
	char extra[128];

	if (x->failed) {
		cli_progress_break(&x->prog);
		if (x->err_line > 0)
			fprintf(stderr, "Error: %s: %s (line %lld)\n", x->err_code,
			    x->err_message, (long long)x->err_line);
		else
			fprintf(stderr, "Error: %s: %s\n", x->err_code, x->err_message);
		if (x->imported > 0)
			fprintf(stderr, "%lld events were imported (committed) before"
			    " the error\n", (long long)x->imported);
		return CLI_EXIT_FAIL;
	}
	if (x->http != 0 && x->http != 200 && !x->events) {
		cli_progress_break(&x->prog);
		while (x->errbody.len > 0 && (x->errbody.data[x->errbody.len - 1] == '\n' ||
		    x->errbody.data[x->errbody.len - 1] == '\r'))
			x->errbody.data[--x->errbody.len] = '\0';
		fprintf(stderr, "Error: server error (HTTP %ld): %s\n", x->http,
		    buf_cstr(&x->errbody));
		return CLI_EXIT_FAIL;
	}
	if (x->src.read_error[0] != '\0') {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: reading %s: %s\n", x->o->input != NULL ?
		    x->o->input : "stdin", x->src.read_error);
		return CLI_EXIT_FAIL;
	}
	if (x->overflow) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: %s: an event of over %d bytes\n", url,
		    IMPORT_MAX_EVENT);
		return CLI_EXIT_FAIL;
	}
	if (rc != CURLE_OK && !x->done) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: %s: %s\n", url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (!x->done) {
		cli_progress_break(&x->prog);
		fprintf(stderr, "Error: %s: the answer ended before the import was done"
		    " (%lld events imported)\n", url, (long long)x->imported);
		return CLI_EXIT_FAIL;
	}
	if (x->skipped > 0)
		snprintf(extra, sizeof(extra), " (last global position %lld; %lld"
		    " already stored, skipped)", (long long)x->gpos, (long long)x->skipped);
	else
		snprintf(extra, sizeof(extra), " (last global position %lld)",
		    (long long)x->gpos);
	if (x->checkpoints > 0) {
		size_t n = strlen(extra);

		snprintf(extra + n, sizeof(extra) - n, "; %lld consumer checkpoints set",
		    (long long)x->checkpoints);
	}
	cli_progress_finish(&x->prog, x->imported, x->elapsed,
	    x->imported > 0 || x->skipped > 0 || x->checkpoints > 0 ? extra : NULL);
	return CLI_EXIT_OK;
}

/* The import itself, once the options are checked: the cli_remote_run() callback. */
static int
import_run(void *arg)
{
	const struct import_opts *o = arg;
	struct import_ctx x;
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf url;
	CURLcode rc;
	bool src_open = false;
	int status = CLI_EXIT_FAIL;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.src.fd = -1;
	buf_init(&x.pending);
	buf_init(&x.errbody);
	buf_init(&url);
	buf_printf(&url, "%s/import%s", o->remote.base,
	    o->force ? "?force=true" : "");
	if (!import_src_open(&x.src, o))
		goto out;
	src_open = true;
	cli_progress_init(&x.prog, stderr, o->remote.quiet, "Imported", "events");
	if (x.src.size >= 0)
		cli_progress_set_total(&x.prog, x.src.size);
	if (!cli_remote_handle(&o->remote, "application/x-ndjson",
	    "evdb-import/" PACKAGE_VERSION, errbuf, &x.curl, &headers))
		goto out;
	/* No "Expect: 100-continue" round trip. */
	if (!cli_remote_header(&headers, "Expect:")) {
		fprintf(stderr, "Error: cannot set up libcurl\n");
		goto out;
	}
	/* A plain regular file has a known length; anything else goes chunked. */
	if (x.src.size < 0 || o->remote.gzip) {
		if (!cli_remote_header(&headers, "Transfer-Encoding: chunked")) {
			fprintf(stderr, "Error: cannot set up libcurl\n");
			goto out;
		}
	} else
		curl_easy_setopt(x.curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x.src.size);
	curl_easy_setopt(x.curl, CURLOPT_URL, url.data);
	curl_easy_setopt(x.curl, CURLOPT_POST, 1L);
	curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(x.curl, CURLOPT_READFUNCTION, import_read);
	curl_easy_setopt(x.curl, CURLOPT_READDATA, &x);
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, import_write);
	curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.curl, CURLOPT_CONNECTTIMEOUT, IMPORT_CONNECT_TIMEOUT_S);
	curl_easy_setopt(x.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x.curl, CURLOPT_LOW_SPEED_TIME, IMPORT_STALL_S);
	rc = curl_easy_perform(x.curl);
	if (x.http == 0)
		curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &x.http);
	/* Events left without their blank line at the end of the stream. */
	if (x.http == 200 && x.pending.len > 0) {
		buf_puts(&x.pending, "\n\n");
		import_parse(&x);
	}
	status = import_outcome(&x, rc, errbuf, url.data);
out:
	if (src_open)
		import_src_close(&x.src);
	curl_slist_free_all(headers);
	if (x.curl != NULL)
		curl_easy_cleanup(x.curl);
	free(x.err_code);
	free(x.err_message);
	buf_free(&x.pending);
	buf_free(&x.errbody);
	buf_free(&url);
	return status;
}

static void
import_usage(void)
{
	printf("usage: evdb import --url URL (--token T | --token-file F)\n"
	    "                   [--input FILE] [--gzip] [--force [--yes]] [--quiet]\n"
	    "\n"
	    "Sends NDJSON records (as written by evdb export) to URL/import, into the\n"
	    "token's namespace, keeping their ids, positions and times.\n"
	    "--input   read FILE instead of stdin\n"
	    "--gzip    the input is gzip-compressed\n"
	    "--force   delete every message of the namespace first (asks [y/N])\n"
	    "--yes     do not ask before --force\n"
	    "Progress goes to stderr.  See docs/operations.md.\n");
}

int
cli_import_main(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_REMOTE_LONGOPTS,
		{ "input", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct import_opts o;
	int ch, rc = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	cli_remote_init(&o.remote, argv[0]);
	while ((ch = getopt_long(argc, argv, CLI_REMOTE_SHORTOPTS "i:fyh", opts,
	    NULL)) != -1) {
		if (cli_remote_option(&o.remote, ch, optarg))
			continue;
		switch (ch) {
		case 'i':
			o.input = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'y':
			o.yes = true;
			break;
		case 'h':
			import_usage();
			rc = CLI_EXIT_OK;
			goto out;
		default:
			rc = cli_bad_option(o.remote.cmd);
			goto out;
		}
	}
	if ((rc = cli_remote_setup(&o.remote, argc, argv)) != CLI_EXIT_OK)
		goto out;
	if (o.force && !o.yes && !import_confirm(&o)) {
		fprintf(stderr, "Import cancelled.\n");
		rc = CLI_EXIT_OK;
		goto out;
	}
	rc = cli_remote_run(import_run, &o);
out:
	cli_remote_free(&o.remote);
	return rc;
}
