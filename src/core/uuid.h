/*
 * uuid.h - message ids: UUIDv7 generation and UUID syntax checking.
 *
 * Generated ids are RFC 9562 version 7: a 48-bit Unix-millisecond
 * timestamp, then random bits, so that ids are time-ordered and keep the
 * id index's inserts near its right edge.  Within one millisecond a
 * generator keeps ids increasing through a per-generator counter seeded
 * at random.
 *
 * Ids are compared and stored in one canonical form only: 36 lowercase
 * characters, 8-4-4-4-12.  Every place where a client's id enters evdb
 * (stream.write's options.id, /import records) passes it through
 * uuid_canonical() first, so that one UUID written in any accepted
 * spelling is one message.
 */
#ifndef EVDB_UUID_H
#define EVDB_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/** Length of the canonical text form, without the NUL. */
#define UUID_STR_LEN 36

/** Per-thread generator state; zero-initialise it before first use. */
struct uuid_gen {
	uint64_t last_ms;	/* timestamp of the previous id */
	uint16_t counter;	/* 12-bit sequence within last_ms */
	uint16_t pool_used;	/* bytes of pool already handed out */
	unsigned char pool[240]; /* random bytes drawn ahead, 24 ids' worth */
};

/**
 * Writes a new lowercase UUIDv7 (36 chars + NUL) into out.
 * Returns EVDB_ERR_IO if the random generator fails.  Not thread-safe
 * for one gen; give each thread its own.
 */
enum evdb_status uuid_v7_generate(struct uuid_gen *gen,
    char out[UUID_STR_LEN + 1]);

/**
 * True when s[0..len) parses as a UUID in one of the forms Go's
 * uuid.Parse accepts: canonical 8-4-4-4-12 hex (any case), the same in
 * braces, "urn:uuid:" + canonical, or 32 hex digits.
 */
bool uuid_is_valid(const char *s, size_t len);

/**
 * Writes the canonical form of the UUID s[0..len) into out: 36 lowercase
 * characters, 8-4-4-4-12, plus NUL.  Accepts exactly the spellings
 * uuid_is_valid() accepts: canonical in any case, the same in braces,
 * "urn:uuid:" (any case) + canonical, or 32 hex digits without dashes.
 * s need not be NUL-terminated and must not overlap out.  Returns EVDB_OK,
 * or EVDB_ERR_INVALID when s is none of those spellings; out is then the
 * empty string.  Thread-safe: no state.
 */
enum evdb_status uuid_canonical(const char *s, size_t len,
    char out[UUID_STR_LEN + 1]);

#endif /* EVDB_UUID_H */
