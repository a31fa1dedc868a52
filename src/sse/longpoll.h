/*
 * longpoll.h - the long-poll loop: one event-loop thread per process that
 * holds the reads that asked to wait ("wait": MS on stream.get and
 * category.get, EXTENSIONS.md section 3) once a worker found they return
 * nothing.
 *
 * A worker that runs such a read and finds it empty reserves a place with
 * longpoll_reserve(), takes the FastCGI socket away from libfcgi (as
 * /subscribe does) and hands it over with longpoll_attach(), together with
 * the request's body: the loop keeps the RPC call itself, not a parsed form
 * of it, so every option of the read (those of other extensions too) holds
 * when it runs again.  The worker goes back to serving at once.
 *
 * The loop learns of commits through the store's watch (every process's,
 * store.h) and a once-a-second scan, reads the namespace's new messages
 * once (their stream names only, store_poke_tail), and runs the held reads
 * whose stream or category (and consumer-group member) they touch again,
 * through the options' run function, on the loop's own store connection.
 * A read that now returns something, or whose time is up, is answered with
 * what that run returns (FastCGI STDOUT and END_REQUEST records written by
 * the loop).  A held read whose client went away (nginx closes the FastCGI
 * connection) is dropped and gives its place back.  At stop every held read
 * is run once more and answered.
 *
 * Runs happen on the loop's thread: each is bounded like any read
 * (batchSize, --max-response-bytes).
 *
 * Thread safety: longpoll_reserve(), longpoll_release(), longpoll_attach()
 * and longpoll_held_count() may be called from any thread; everything else
 * happens on the loop's thread.
 */
#ifndef EVDB_LONGPOLL_H
#define EVDB_LONGPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/status.h"
#include "core/token.h"
#include "store/store.h"

struct longpoll;

/**
 * Runs the RPC call in body again for namespace ns on connection c, into
 * out (the response body), *status and *content_type (a static string).
 * Returns true when the read still returns nothing (it may be held on).
 */
typedef bool (*longpoll_run_fn)(void *ctx, struct store_conn *c,
    const char *ns, struct buf *body, struct buf *out, int *status,
    const char **content_type);

/**
 * Takes back the connection of an answered read that nginx keeps
 * (longpoll_read.keep_conn), its answer all written; fd is blocking again
 * and now the callee's.  Called on the loop's thread.
 */
typedef void (*longpoll_keep_fn)(void *ctx, int fd);

struct longpoll_options {
	struct store *store;		/* shared store (the loop opens its own connection) */
	struct log *log;		/* process log */
	int max_held;			/* held reads per process (--longpoll-max) */
	int max_per_namespace;		/* per token, i.e. per namespace */
	longpoll_run_fn run;		/* runs a held read again */
	void *run_ctx;			/* its first argument */
	longpoll_keep_fn keep;		/* takes kept connections back; NULL:
					 * every connection is closed once
					 * answered */
	void *keep_ctx;			/* its first argument */
};

/** A read to hold; filled in by rpc.  Everything is copied by longpoll_attach. */
struct longpoll_read {
	char ns[TOKEN_NS_MAX + 1];	/* namespace */
	enum store_poke_kind kind;	/* STORE_POKE_STREAM or STORE_POKE_CATEGORY */
	const char *name;		/* the stream or category read */
	size_t name_len;
	int64_t group_member;		/* consumer group (category only) */
	int64_t group_size;		/* 0: no group */
	const char *body;		/* the request body: the RPC call */
	size_t body_len;
	int wait_ms;			/* how long to hold it, 1 .. 30000 */
	bool keep_conn;			/* nginx keeps the connection
					 * (FCGI_KEEP_CONN): once answered it
					 * goes to options.keep, not closed */
};

/** Starts the loop thread.  *out is NULL on failure (logged). */
enum evdb_status longpoll_start(const struct longpoll_options *opt,
    struct longpoll **out);

/**
 * Answers every held read with what it returns now, stops the thread and
 * frees lp.  Accepts NULL.
 */
void longpoll_stop(struct longpoll *lp);

/**
 * Reserves a place for one more held read of ns.  EVDB_ERR_LIMIT when a
 * limit is reached (EVDB_ERR_CLOSED when stopping); *why then names it.
 */
enum evdb_status longpoll_reserve(struct longpoll *lp, const char *ns,
    const char **why);

/** Gives back a reservation that was not followed by longpoll_attach(). */
void longpoll_release(struct longpoll *lp, const char *ns);

/**
 * Hands over a reserved read: the loop owns fd from now on (it closes it)
 * and answers on FastCGI request id request_id.  rd is copied.
 */
void longpoll_attach(struct longpoll *lp, const struct longpoll_read *rd,
    int fd, int request_id);

/** Reads held or reserved now in this process. */
int64_t longpoll_held_count(const struct longpoll *lp);

#endif /* EVDB_LONGPOLL_H */
