/*
 * hub.h - the SSE subscription hub: one event-loop thread per process that
 * holds every /subscribe connection once a worker has accepted it.
 *
 * A worker validates a subscription, sends the response headers and
 * ": ready", then hands the FastCGI connection's socket to the hub with
 * hub_attach() and goes back to serving RPC.  From then on the hub alone
 * writes to that socket, as raw FastCGI STDOUT records.
 *
 * Delivery works from cursors, so nothing is lost or sent twice:
 *  - every namespace with subscribers has a tail: the global position up to
 *    which live pokes were fanned out;
 *  - a new subscriber starts in catch-up: it reads its own matching messages
 *    from the store in bounded batches, from its resume point up to the
 *    tail, outside any long transaction; when a batch comes back short it
 *    joins the live set;
 *  - when the namespace changes (a poke file written by any process, seen
 *    through inotify, or a periodic check), the hub reads the messages above
 *    the tail once and fans them out to the live subscribers that match.
 * A subscriber whose unsent output passes the buffer limit leaves the live
 * set and falls back to catch-up from its cursor once its socket drains, so
 * a slow client costs bounded memory and never blocks anyone else.
 *
 * Thread safety: hub_attach(), hub_reserve(), hub_release() and
 * hub_subscriber_count() may be called from any thread; everything else
 * happens on the hub's thread.
 */
#ifndef EVDB_HUB_H
#define EVDB_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/status.h"
#include "store/store.h"
#include "core/token.h"

struct hub;

struct hub_options {
	struct store *store;		/* shared store (the hub opens its own connection) */
	struct log *log;		/* process log */
	int heartbeat_ms;		/* ": ping" after this much silence */
	int batch_ms;			/* commits gathered before a fan-out (0: none) */
	int max_subscribers;		/* per process */
	int max_per_namespace;		/* per token, i.e. per namespace */
	size_t buffer_max;		/* unsent bytes before a subscriber is paused */
};

/** What a subscriber wants; filled in by sse.c. */
struct hub_subscription {
	char ns[TOKEN_NS_MAX + 1];	/* namespace */
	enum store_poke_kind kind;	/* stream, category or all */
	const char *name;		/* stream or category name (copied by hub_attach) */
	size_t name_len;
	int64_t min_position;		/* stream: first stream position */
	int64_t after_gpos;		/* deliver global positions above this */
	bool from_head;			/* sse_parse: start after the head; hub_attach
					 * needs it resolved into after_gpos */
	int64_t group_member;		/* consumer group (category only) */
	int64_t group_size;		/* 0: no group */
	const char *checkpoint;		/* sse_parse: start after this consumer
					 * checkpoint (NULL: none); sse_serve
					 * resolves it into after_gpos */
	size_t checkpoint_len;
};

/** Starts the hub thread.  *out is NULL on failure (logged). */
enum evdb_status hub_start(const struct hub_options *opt, struct hub **out);

/**
 * Ends every stream cleanly (the FastCGI request is completed, so nginx ends
 * the HTTP response), stops the thread and frees the hub.  Accepts NULL.
 */
void hub_stop(struct hub *h);

/**
 * Reserves room for one more subscriber of ns.  EVDB_ERR_LIMIT when a limit
 * is reached; *why then names it.
 */
enum evdb_status hub_reserve(struct hub *h, const char *ns, const char **why);

/** Gives back a reservation that was not followed by hub_attach(). */
void hub_release(struct hub *h, const char *ns);

/**
 * Hands over a reserved subscription: the hub owns fd from now on (it closes
 * it) and answers on FastCGI request id request_id.  sub is copied.
 */
void hub_attach(struct hub *h, const struct hub_subscription *sub, int fd,
    int request_id);

/** Pokes written to subscribers since the hub started. */
int64_t hub_pokes_sent(const struct hub *h);

/** Subscribers currently attached or reserved in this process. */
int64_t hub_subscriber_count(const struct hub *h);

#endif /* EVDB_HUB_H */
