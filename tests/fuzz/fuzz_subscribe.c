/*
 * tests/fuzz/fuzz_subscribe.c - fuzzes the GET /subscribe query parser,
 * sse_parse(), on a request authenticated as namespace "default".
 *
 * The input is split at its first two '\n' bytes into the path, the query
 * string and the Last-Event-ID header (each cut at its first NUL, as
 * FastCGI parameters are C strings).  The request is detached except for
 * its parameters: sse_parse() reads Last-Event-ID with request_param(),
 * which needs an FCGX_Request, so r->fcgi points to one that carries only
 * an environment (envp); nothing else of it is touched by sse_parse().
 *
 * An accepted subscription must be consistent (its kind, name and
 * positions); a refused one must have answered 400 or 404 with the error
 * envelope.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sse/sse.h"
#include "core/streamname.h"

/* libFuzzer's entry points take no context: see fuzz_rpc.c. */
static struct fuzz_env fuzz_subscribe_env;

/*
 * Takes the next part of data[*at..size) up to a '\n' (or the end) as a
 * NUL-terminated string in the arena, cut at its first NUL.
 */
static char *
fuzz_subscribe_part(struct fuzz_env *e, const uint8_t *data, size_t size,
    size_t *at)
{
	const uint8_t *p = data + *at, *nl;
	size_t n = size - *at;

	nl = memchr(p, '\n', n);
	if (nl != NULL) {
		n = (size_t)(nl - p);
		*at += n + 1;
	} else
		*at = size;
	return arena_strndup(&e->arena, (const char *)p, strnlen((const char *)p, n));
}

/* Checks an accepted subscription against what the request asked. */
static void
fuzz_subscribe_check(const struct request *r, const struct hub_subscription *s)
{
	const char *why;

	if (r->status != 0)
		fuzz_fail(r, "sse_parse accepted a request it answered");
	if (strcmp(s->ns, "default") != 0)
		fuzz_fail(r, "subscription for namespace \"%s\"", s->ns);
	if (s->after_gpos < 0)
		fuzz_fail(r, "subscription after global position %lld",
		    (long long)s->after_gpos);
	/* checkpoint=NAME (issue 14, third round): kept only when valid. */
	if (s->checkpoint != NULL &&
	    !store_consumer_name_valid(s->checkpoint, s->checkpoint_len))
		fuzz_fail(r, "a subscription after an invalid checkpoint name");
	if (s->checkpoint == NULL && s->checkpoint_len != 0)
		fuzz_fail(r, "a checkpoint length without a checkpoint");
	switch (s->kind) {
	case STORE_POKE_STREAM:
		if (s->name == NULL || !streamname_valid(s->name, s->name_len, &why))
			fuzz_fail(r, "a stream subscription with an invalid name");
		if (s->group_size != 0 || s->from_head)
			fuzz_fail(r, "a stream subscription with a group or from_head");
		break;
	case STORE_POKE_CATEGORY:
		if (s->name == NULL || s->name_len == 0 ||
		    memchr(s->name, '\0', s->name_len) != NULL)
			fuzz_fail(r, "a category subscription without a usable name");
		if (s->group_size < 0 || s->group_member < 0 ||
		    (s->group_size > 0 && s->group_member >= s->group_size) ||
		    (s->group_size == 0 && s->group_member != 0))
			fuzz_fail(r, "consumer group member %lld of %lld",
			    (long long)s->group_member, (long long)s->group_size);
		if (s->from_head)
			fuzz_fail(r, "a category subscription from the head");
		break;
	case STORE_POKE_ALL:
		if (s->name != NULL || s->group_size != 0)
			fuzz_fail(r, "an all=true subscription with a name or group");
		break;
	default:
		fuzz_fail(r, "subscription kind %d", (int)s->kind);
	}
}

int
fuzz_subscribe_init(void)
{
	fuzz_env_open(&fuzz_subscribe_env);
	return 0;
}

void
fuzz_subscribe_fini(void)
{
	fuzz_env_close(&fuzz_subscribe_env);
}

int
fuzz_subscribe_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_subscribe_env;
	struct hub_subscription sub;
	struct request r;
	FCGX_Request fcgi;
	char *path, *query, *lei, *envp[2] = { NULL, NULL };
	size_t at = 0, n;

	/* The parts live in the arena, which fuzz_request_init keeps. */
	path = fuzz_subscribe_part(e, data, size, &at);
	query = fuzz_subscribe_part(e, data, size, &at);
	lei = at < size ? fuzz_subscribe_part(e, data, size, &at) : NULL;
	fuzz_request_init(e, &r, "GET", path, query);
	memcpy(r.ns, "default", sizeof("default"));
	if (lei != NULL) {
		n = strlen("HTTP_LAST_EVENT_ID=") + strlen(lei) + 1;
		envp[0] = arena_alloc(&e->arena, n);
		memcpy(envp[0], "HTTP_LAST_EVENT_ID=", sizeof("HTTP_LAST_EVENT_ID="));
		strcat(envp[0], lei);
		memset(&fcgi, 0, sizeof(fcgi));
		fcgi.envp = envp;
		fcgi.ipcFd = -1;
		r.fcgi = &fcgi;
	}
	memset(&sub, 0x5a, sizeof(sub));
	if (sse_parse(&r, &sub))
		fuzz_subscribe_check(&r, &sub);
	else {
		fuzz_check_answer(&r, "subscribe");
		if (r.status != 400 && r.status != 404)
			fuzz_fail(&r, "subscribe refused with status %d", r.status);
	}
	r.fcgi = NULL;
	fuzz_request_done(e, &r);
	fuzz_env_tick(e);
	return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_subscribe)
