/*
 * tests/fuzz/fuzz_args.c - fuzzes evdb's option parsing, settings_load(),
 * with arbitrary argument vectors: the input split at its NUL bytes into
 * at most FUZZ_ARGS_MAX arguments (the subcommand already removed, as
 * main.c passes them).
 *
 * Inputs that name --config are skipped: reading files is not the surface
 * here, and a fuzzed path could name a FIFO or a device.  No EVDB_*
 * variable should be set in the fuzzer's environment.
 *
 * settings_load must either accept, with every setting inside the ranges
 * docs/configuration.md gives and the cross-checks between them holding
 * (a token never holds every worker nor every subscriber place), or refuse
 * with EVDB_ERR_CONFIG and a non-empty, NUL-terminated message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "core/settings.h"

/* Most arguments taken from one input. */
#define FUZZ_ARGS_MAX 32

/* Checks that the char array f of s is NUL-terminated. */
#define FUZZ_ARGS_TERMINATED(s, f) (strnlen((s)->f, sizeof((s)->f)) < sizeof((s)->f))

int
fuzz_args_init(void)
{
	return 0;
}

void
fuzz_args_fini(void)
{
}

/* Checks an accepted struct settings against its documented ranges. */
static void
fuzz_args_check(const struct settings *s)
{
	if (!FUZZ_ARGS_TERMINATED(s, listen) || !FUZZ_ARGS_TERMINATED(s, data_dir) ||
	    !FUZZ_ARGS_TERMINATED(s, store) || !FUZZ_ARGS_TERMINATED(s, token) ||
	    !FUZZ_ARGS_TERMINATED(s, token_file) || !FUZZ_ARGS_TERMINATED(s, log_file) ||
	    !FUZZ_ARGS_TERMINATED(s, pid_file) ||
	    !FUZZ_ARGS_TERMINATED(s, metrics_token) ||
	    !FUZZ_ARGS_TERMINATED(s, config_file))
		fuzz_fail(NULL, "settings_load: a string setting is not terminated");
	if (s->workers < 1 || s->max_body < 1 || s->max_response_bytes < 1024 ||
	    s->max_response_bytes > (1L << 30) || s->busy_timeout_ms < 0 ||
	    s->sse_max_subscribers < 1 || s->sse_buffer < 1)
		fuzz_fail(NULL, "settings_load: a setting outside its range");
	if (s->sse_max_per_token < 1 || s->sse_max_per_token > s->sse_max_subscribers)
		fuzz_fail(NULL, "settings_load: sse-max-per-token %d with %d subscribers",
		    s->sse_max_per_token, s->sse_max_subscribers);
	if (s->longpoll_max < 1 || s->longpoll_max_per_token < 1 ||
	    s->longpoll_max_per_token > s->longpoll_max)
		fuzz_fail(NULL, "settings_load: longpoll-max-per-token %d with"
		    " longpoll-max %d", s->longpoll_max_per_token, s->longpoll_max);
	if (s->token_concurrency < 1 || s->import_concurrency < 1 ||
	    (s->workers > 1 && (s->token_concurrency >= s->workers ||
	    s->import_concurrency >= s->workers)))
		fuzz_fail(NULL, "settings_load: token-concurrency %d, import-concurrency"
		    " %d with %d workers", s->token_concurrency, s->import_concurrency,
		    s->workers);
	if (s->batch_max < 1 || s->batch_max > 100000)
		fuzz_fail(NULL, "settings_load: batch-max %d", s->batch_max);
	if (s->durability != DURABILITY_NORMAL && s->durability != DURABILITY_FULL)
		fuzz_fail(NULL, "settings_load: durability %d", (int)s->durability);
}

int
fuzz_args_one(const uint8_t *data, size_t size)
{
	char *copy, *argv[FUZZ_ARGS_MAX + 1], err[256];
	struct settings *s;
	enum evdb_status st;
	int argc = 0;
	size_t i = 0;

	if ((copy = malloc(size + 1)) == NULL || (s = malloc(sizeof(*s))) == NULL)
		fuzz_fail(NULL, "out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (i < size && argc < FUZZ_ARGS_MAX) {
		argv[argc] = copy + i;
		if (strncmp(argv[argc], "--config", 8) == 0)
			goto out;
		argc++;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	memset(err, 0x5a, sizeof(err));
	st = settings_load(s, argc, argv, err, sizeof(err));
	if (st == EVDB_OK)
		fuzz_args_check(s);
	else if (st != EVDB_ERR_CONFIG || strnlen(err, sizeof(err)) == sizeof(err) ||
	    err[0] == '\0')
		fuzz_fail(NULL, "settings_load: %s without a message",
		    evdb_strerror(st));
out:
	free(s);
	free(copy);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_args_one(data, size);
}
#endif
