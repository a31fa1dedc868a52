/*
 * tests/tap.h - a minimal TAP 13 producer for evdb's C tests.
 *
 * One plan per program.  Every line is flushed at once (stdout is set to
 * line buffering by tap_plan), so a crash loses no result.  Use:
 *
 *	tap_plan(3);
 *	ok(x == 1, "WRITE-001 x is one");
 *	is_int(got, 42, "answer");
 *	is_str(s, "abc", "name");
 *	return tap_done();
 *
 * tap_done() returns the exit status: 0 when every test passed and the
 * count matched the plan.
 */
#ifndef EVDB_TAP_H
#define EVDB_TAP_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_planned, tap_run, tap_failed;

static inline void
tap_plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...) do { \
	int64_t tap_g_ = (int64_t)(got), tap_w_ = (int64_t)(want); \
	if (!ok(tap_g_ == tap_w_, __VA_ARGS__)) \
		tap_diag("got %" PRId64 ", want %" PRId64, tap_g_, tap_w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	if (!ok(tap_g_ != NULL && tap_w_ != NULL && strcmp(tap_g_, tap_w_) == 0, \
	    __VA_ARGS__)) \
		tap_diag("got \"%s\", want \"%s\"", tap_g_ ? tap_g_ : "(null)", \
		    tap_w_ ? tap_w_ : "(null)"); \
} while (0)

static inline int
tap_done(void)
{
	if (tap_run != tap_planned) {
		tap_diag("planned %d tests but ran %d", tap_planned, tap_run);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

/** Aborts the whole program with a TAP "Bail out!" line. */
static inline void
tap_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(1);
}

/**
 * Runs fn in a forked child with its stderr on /dev/null; true when the
 * child died abnormally (an abort, a signal, or an exit status other than
 * 0), false when fn returned.  For the out-of-memory and overflow policy
 * of the x* wrappers, which abort.
 */
static inline int
tap_dies(void (*fn)(void))
{
	pid_t pid;
	int status, fd;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		fn();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		tap_bail("waitpid failed");
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#endif /* EVDB_TAP_H */
