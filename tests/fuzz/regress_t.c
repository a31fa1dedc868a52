/*
 * tests/fuzz/regress_t.c - replays the fuzz inputs kept in the tree through
 * the harnesses' own entry points, built with the ordinary compiler, so that
 * `make check` catches a fixed crash coming back without clang.
 *
 * For every harness (rpc, subscribe, token, import, gate, args) it replays each file of
 * tests/fuzz/regressions/<harness>/ (inputs that once crashed or failed a
 * check) and of tests/fuzz/corpus/<harness>/ (the seed corpus), one TAP
 * line per file.  Each input runs in a child process on a fresh temporary
 * store, so a crash (a signal, or abort() from a failed check) becomes a
 * "not ok" naming the file, and the other inputs still run.
 *
 * The directory comes from $EVDB_SRCDIR/tests/fuzz, else the build-time
 * FUZZ_SRCDIR.  `regress_t HARNESS FILE...` replays just those files.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "fuzz.h"

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "tests/fuzz"
#endif

/* Largest input replayed; libFuzzer's inputs are far smaller. */
#define REGRESS_MAX_INPUT (4u << 20)
/* Most files per harness directory. */
#define REGRESS_MAX_FILES 4096

struct regress_harness {
	const char *name;				/* directory name */
	int (*init)(void);				/* opens its store */
	int (*one)(const uint8_t *data, size_t size);	/* runs one input */
	void (*fini)(void);				/* removes its store */
};

static const struct regress_harness regress_harnesses[] = {
	{ "rpc", fuzz_rpc_init, fuzz_rpc_one, fuzz_rpc_fini },
	{ "subscribe", fuzz_subscribe_init, fuzz_subscribe_one, fuzz_subscribe_fini },
	{ "token", fuzz_token_init, fuzz_token_one, fuzz_token_fini },
	{ "import", fuzz_import_init, fuzz_import_one, fuzz_import_fini },
	{ "gate", fuzz_gate_init, fuzz_gate_one, fuzz_gate_fini },
	{ "args", fuzz_args_init, fuzz_args_one, fuzz_args_fini },
};

#define REGRESS_NHARNESS (sizeof(regress_harnesses) / sizeof(regress_harnesses[0]))

/* The file names of one directory, sorted. */
struct regress_list {
	char **paths;		/* owned, full paths */
	size_t n;		/* entries */
};

static int
regress_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the regular files of dir (sorted) to l; a missing dir adds none. */
static void
regress_list_dir(struct regress_list *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = l->n;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && l->n < REGRESS_MAX_FILES) {
		struct stat sb;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			tap_bail("out of memory");
		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		l->paths = realloc(l->paths, (l->n + 1) * sizeof(*l->paths));
		if (l->paths == NULL)
			tap_bail("out of memory");
		l->paths[l->n++] = p;
	}
	closedir(d);
	qsort(l->paths + first, l->n - first, sizeof(*l->paths), regress_cmp);
}

static void
regress_list_free(struct regress_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = 0;
}

/* Reads path into a malloc'd buffer; NULL (with errno) on failure. */
static uint8_t *
regress_read(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t n;

	if (f == NULL)
		return NULL;
	data = malloc(REGRESS_MAX_INPUT + 1);
	if (data != NULL) {
		n = fread(data, 1, REGRESS_MAX_INPUT + 1, f);
		if (ferror(f) || n > REGRESS_MAX_INPUT) {
			free(data);
			data = NULL;
			errno = EFBIG;
		} else
			*size = n;
	}
	fclose(f);
	return data;
}

/* Replays path through h in a child process; emits one TAP line. */
static void
regress_replay(const struct regress_harness *h, const char *path)
{
	uint8_t *data;
	size_t size = 0;
	pid_t pid;
	int status = 0;

	if ((data = regress_read(path, &size)) == NULL) {
		ok(0, "%s: %s", h->name, path);
		tap_diag("cannot read it: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		h->init();
		h->one(data, size);
		h->fini();
		_exit(0);
	}
	free(data);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			tap_bail("waitpid: %s", strerror(errno));
	if (ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s (%zu bytes)",
	    h->name, path, size))
		return;
	if (WIFSIGNALED(status))
		tap_diag("killed by signal %d (the reason is on stderr above)",
		    WTERMSIG(status));
	else
		tap_diag("exit status %d", WEXITSTATUS(status));
}

static const struct regress_harness *
regress_find(const char *name)
{
	size_t i;

	for (i = 0; i < REGRESS_NHARNESS; i++)
		if (strcmp(regress_harnesses[i].name, name) == 0)
			return &regress_harnesses[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct regress_list lists[REGRESS_NHARNESS];
	const struct regress_harness *h;
	const char *env = getenv("EVDB_SRCDIR");
	char base[4096], dir[4200];
	size_t i, j, total = 0;
	int k;

	if (argc >= 3) {
		if ((h = regress_find(argv[1])) == NULL) {
			fprintf(stderr, "usage: %s [rpc|subscribe|token|import FILE...]\n", argv[0]);
			return 2;
		}
		tap_plan(argc - 2);
		for (k = 2; k < argc; k++)
			regress_replay(h, argv[k]);
		return tap_done();
	}

	if (env != NULL && *env != '\0')
		snprintf(base, sizeof(base), "%s/tests/fuzz", env);
	else
		snprintf(base, sizeof(base), "%s", FUZZ_SRCDIR);
	memset(lists, 0, sizeof(lists));
	for (i = 0; i < REGRESS_NHARNESS; i++) {
		snprintf(dir, sizeof(dir), "%s/regressions/%s", base,
		    regress_harnesses[i].name);
		regress_list_dir(&lists[i], dir);
		snprintf(dir, sizeof(dir), "%s/corpus/%s", base,
		    regress_harnesses[i].name);
		regress_list_dir(&lists[i], dir);
		total += lists[i].n;
	}
	tap_plan((int)total + 1);
	ok(total > 0, "found %zu inputs to replay under %s", total, base);
	for (i = 0; i < REGRESS_NHARNESS; i++) {
		for (j = 0; j < lists[i].n; j++)
			regress_replay(&regress_harnesses[i], lists[i].paths[j]);
		regress_list_free(&lists[i]);
	}
	return tap_done();
}
