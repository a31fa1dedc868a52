/*
 * tests/fuzz/fuzz_import.c - fuzzes /import: every line of the input
 * through import_parse_line(), then the whole input as the NDJSON body of
 * import_serve() on a detached request, committing into the harness's
 * temporary store.
 *
 * import_parse_line must either accept a record whose fields keep the
 * endpoint's rules (a UUID id, a non-empty type, a valid stream name, pos
 * from 0 and gpos from 1, both at most STORE_POSITION_MAX, data and meta
 * null or JSON text that parses back), or name INVALID_JSON or
 * INVALID_RECORD with a NUL-terminated reason.
 * import_serve must answer a stream of "data: {...}\n\n" events, each
 * strict JSON, the last of them "done" (status 200) or an error event
 * (status 400, 409, 500, 503 or 507).
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "import/import.h"
#include "rpc/rpc.h"
#include "core/streamname.h"
#include "core/uuid.h"

/* libFuzzer's entry points take no context: see fuzz_rpc.c. */
static struct fuzz_env fuzz_import_env;
static struct json_tokener *fuzz_import_tok;

/* Checks import_parse_line's contract on one line. */
static void
fuzz_import_line(const char *line, size_t len)
{
	struct store_import_record rec;
	struct json_object *root = NULL, *back;
	const char *code, *why;
	char err[256];

	memset(err, 0x5a, sizeof(err));
	code = import_parse_line(fuzz_import_tok, line, len, &root, &rec, err,
	    sizeof(err));
	if (code == NULL) {
		if (rec.id == NULL || !uuid_is_valid(rec.id, rec.id_len) ||
		    rec.type_len == 0 ||
		    !streamname_valid(rec.stream, rec.stream_len, &why) ||
		    rec.position < 0 || rec.global_position < 1 ||
		    rec.position > STORE_POSITION_MAX ||
		    rec.global_position > STORE_POSITION_MAX)
			fuzz_fail(NULL, "import_parse_line accepted a record it should refuse");
		if (rec.data != NULL) {
			if (!fuzz_json_parse(rec.data, rec.data_len, &back, &why))
				fuzz_fail(NULL, "accepted data is not JSON: %s", why);
			json_object_put(back);
		}
		if (rec.metadata != NULL) {
			if (!fuzz_json_parse(rec.metadata, rec.metadata_len, &back, &why))
				fuzz_fail(NULL, "accepted meta is not JSON: %s", why);
			json_object_put(back);
		}
	} else {
		if (strcmp(code, "INVALID_JSON") != 0 && strcmp(code, "INVALID_RECORD") != 0)
			fuzz_fail(NULL, "import_parse_line: code %s", code);
		if (strnlen(err, sizeof(err)) == sizeof(err))
			fuzz_fail(NULL, "import_parse_line: the reason is not NUL-terminated");
	}
	json_object_put(root);
}

/* Checks that r->out is a sequence of "data: JSON\n\n" events ending well. */
static void
fuzz_import_events(const struct request *r)
{
	const char *p = r->out->data ? r->out->data : "", *end = p + r->out->len;
	struct json_object *ev = NULL, *v;
	const char *why;
	bool done = false, failed = false;

	while (p < end) {
		const char *nl = strstr(p, "\n\n");

		if (strncmp(p, "data: ", 6) != 0 || nl == NULL)
			fuzz_fail(r, "import: a malformed event");
		json_object_put(ev);
		if (!fuzz_json_parse(p + 6, (size_t)(nl - p - 6), &ev, &why))
			fuzz_fail(r, "import: an event is not JSON: %s", why);
		done = json_object_object_get_ex(ev, "done", &v);
		failed = json_object_object_get_ex(ev, "error", &v);
		p = nl + 2;
	}
	json_object_put(ev);
	if (!done && !failed)
		fuzz_fail(r, "import: the stream does not end with done or an error");
	if (done && r->status != 200)
		fuzz_fail(r, "import: done, but answered %d", r->status);
	if (failed && r->status != 400 && r->status != 409 && r->status != 500 &&
	    r->status != 503 && r->status != 507)
		fuzz_fail(r, "import: an error event, but answered %d", r->status);
}

int
fuzz_import_init(void)
{
	fuzz_env_open(&fuzz_import_env);
	fuzz_import_tok = json_tokener_new_ex(RPC_MAX_DEPTH);
	json_tokener_set_flags(fuzz_import_tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return 0;
}

void
fuzz_import_fini(void)
{
	json_tokener_free(fuzz_import_tok);
	fuzz_import_tok = NULL;
	fuzz_env_close(&fuzz_import_env);
}

int
fuzz_import_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_import_env;
	const char *p = (const char *)data, *nl;
	size_t left = size, len;
	struct request r;

	while (left > 0) {
		nl = memchr(p, '\n', left);
		len = nl != NULL ? (size_t)(nl - p) : left;
		if (len <= IMPORT_LINE_MAX)
			fuzz_import_line(p, len);
		p += len + (nl != NULL);
		left -= len + (nl != NULL);
	}

	fuzz_request_init(e, &r, "POST", "/import", "");
	memcpy(r.ns, "default", sizeof("default"));
	buf_append(r.body, data, size);
	import_serve(&r);
	fuzz_import_events(&r);
	fuzz_request_done(e, &r);
	fuzz_env_tick(e);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_import_init();
	atexit(fuzz_import_fini);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_import_one(data, size);
}
#endif
