/*
 * tests/fuzz/fuzz.h - what evdb's fuzz harnesses share: a private store on
 * a temporary data directory, detached requests (request.h, fcgi == NULL)
 * built on it, and the checks that every answer is well-formed.
 *
 * Each harness (fuzz_rpc.c, fuzz_subscribe.c, fuzz_token.c, fuzz_import.c,
 * fuzz_gate.c, fuzz_args.c)
 * exports three
 * functions, <name>_init, <name>_one and <name>_fini.  Built with
 * -DFUZZ_LIBFUZZER it also defines libFuzzer's LLVMFuzzerInitialize and
 * LLVMFuzzerTestOneInput around them (make fuzz, clang); built without,
 * regress_t.c calls them directly (make check, gcc), so both replay an
 * input through the very same entry point.
 *
 * A failed check prints what was wrong (with the answer) to stderr and
 * calls abort(), which libFuzzer reports as a crash and regress_t as a
 * "not ok".  Single-threaded: an environment belongs to one harness.
 */
#ifndef EVDB_FUZZ_H
#define EVDB_FUZZ_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/request.h"
#include "core/settings.h"
#include "store/store.h"
#include "core/token.h"

struct json_object;

/* Runs after which fuzz_env_recycle() starts over on an empty store. */
#define FUZZ_RECYCLE_RUNS 10000

struct fuzz_env {
	char dir[PATH_MAX];		/* the temporary directory (removed at close) */
	char data_dir[PATH_MAX + 8];	/* dir/data: the store's data directory */
	struct log log;			/* /dev/null unless FUZZ_LOG is set */
	struct settings settings;	/* defaults that matter to handlers */
	struct store *store;		/* NULL when closed */
	struct store_conn *conn;	/* the one connection */
	struct arena arena;		/* the request arena, reset per run */
	struct buf body;		/* request body, reused */
	struct buf out;			/* response body, reused */
	char admin_token[TOKEN_MAX_LEN]; /* token of namespace "default" */
	unsigned long runs;		/* runs since the store was (re)created */
	unsigned long recycle_runs;	/* runs per store (FUZZ_RECYCLE_RUNS
					 * unless the harness lowers it) */
	bool open;			/* fuzz_env_open succeeded */
};

/**
 * Creates the temporary directory (under $FUZZ_TMPDIR, else /dev/shm when
 * writable, else $TMPDIR, else /tmp), opens the store and one connection,
 * and creates namespace "default" with a fresh admin token.  Aborts on
 * failure: a harness without its store would test nothing.
 */
void fuzz_env_open(struct fuzz_env *e);

/** Closes the store and removes the temporary directory; accepts a closed env. */
void fuzz_env_close(struct fuzz_env *e);

/**
 * Counts one run; every e->recycle_runs runs closes the store, empties
 * the data directory and opens it again, so the databases stay small.
 */
void fuzz_env_tick(struct fuzz_env *e);

/**
 * Prepares r as a detached request of e: method, path and query are
 * borrowed (NUL-terminated, must outlive r); the body is empty, r->ns is
 * "" (callers set it as if authenticated), the arena and buffers are e's.
 */
void fuzz_request_init(struct fuzz_env *e, struct request *r,
    const char *method, const char *path, const char *query);

/** Releases what the run allocated: resets e's arena and empties its buffers. */
void fuzz_request_done(struct fuzz_env *e, struct request *r);

/**
 * Checks the answer recorded in r: a status other than 0, content type
 * application/json, and r->out one JSON value (strict RFC 8259, valid
 * UTF-8) followed by one "\n".  For a status other than 200 the value must
 * be the error envelope {"error":{"code":C,"message":M[,"details":D]}}
 * with C among the codes allowed for that status.  what names the input
 * in messages.  Aborts on any violation.
 */
void fuzz_check_answer(const struct request *r, const char *what);

/**
 * Parses text[0..len) as one strict JSON value followed only by white
 * space into *out (the caller puts it; JSON null is NULL).  Returns false
 * with the reason in *why when it is not.
 */
bool fuzz_json_parse(const char *text, size_t len, struct json_object **out,
    const char **why);

/*
 * The harnesses.  For each <h> in rpc, subscribe, token, import, gate, args:
 *   fuzz_<h>_init()  opens the harness's environment (fuzz_env_open); once
 *                    per process, before any run; returns 0;
 *   fuzz_<h>_one()   runs one input data[0..size) (not modified, not kept)
 *                    and aborts when a check fails; returns 0;
 *   fuzz_<h>_fini()  closes the environment and removes its directory.
 */
int fuzz_rpc_init(void);
int fuzz_rpc_one(const uint8_t *data, size_t size);
void fuzz_rpc_fini(void);
int fuzz_subscribe_init(void);
int fuzz_subscribe_one(const uint8_t *data, size_t size);
void fuzz_subscribe_fini(void);
int fuzz_token_init(void);
int fuzz_token_one(const uint8_t *data, size_t size);
void fuzz_token_fini(void);
int fuzz_import_init(void);
int fuzz_import_one(const uint8_t *data, size_t size);
void fuzz_import_fini(void);
/* The admission gate's state machine (fuzz_gate.c): no store, no env. */
int fuzz_gate_init(void);
int fuzz_gate_one(const uint8_t *data, size_t size);
void fuzz_gate_fini(void);
/* Option parsing, settings_load (fuzz_args.c): no store, no env. */
int fuzz_args_init(void);
int fuzz_args_one(const uint8_t *data, size_t size);
void fuzz_args_fini(void);

/** Prints "fuzz check failed: ..." and the answer of r (may be NULL) and aborts. */
void fuzz_fail(const struct request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * FUZZ_LIBFUZZER_ENTRY(name): with -DFUZZ_LIBFUZZER, libFuzzer's
 * LLVMFuzzerInitialize (name_init(), name_fini() at exit) and
 * LLVMFuzzerTestOneInput (name_one()) for a harness that has all three;
 * without it, nothing (regress_t.c calls them).  Written at file scope
 * with no semicolon after it.
 */
#ifdef FUZZ_LIBFUZZER
#define FUZZ_LIBFUZZER_ENTRY(name)					\
int LLVMFuzzerInitialize(int *argc, char ***argv);			\
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);		\
									\
int									\
LLVMFuzzerInitialize(int *argc, char ***argv)				\
{									\
	(void)argc;							\
	(void)argv;							\
	name##_init();							\
	atexit(name##_fini);						\
	return 0;							\
}									\
									\
int									\
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)		\
{									\
	return name##_one(data, size);					\
}
#else
#define FUZZ_LIBFUZZER_ENTRY(name)
#endif

#endif /* EVDB_FUZZ_H */
