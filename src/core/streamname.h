/*
 * streamname.h - Message DB's stream-name rules and the consumer-group hash.
 *
 * A stream name is "category-id"; the id may be compound ("123+retry") and
 * its cardinal id is the part before the first '+'.  Only the first '-'
 * splits category from id.  The consumer-group rule is Message DB's:
 * a stream belongs to member m of a group of size n when
 * abs(hash64(cardinal_id)) mod n == m, where hash64 is the first 8 bytes of
 * the MD5 digest read as a big-endian signed 64-bit integer.  A stream with
 * no cardinal id ("account") belongs to no member; "account-" has the empty
 * cardinal id "" and belongs to one, as in Message DB.
 *
 * Names are (pointer, length) pairs: they may come straight from a JSON
 * parser or a database row and need not be NUL-terminated.  Returned spans
 * point into the caller's string.  All functions are pure and thread-safe.
 */
#ifndef EVDB_STREAMNAME_H
#define EVDB_STREAMNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest stream name (bytes) that evdb accepts. */
#define STREAMNAME_MAX_LEN 1024

/**
 * Checks that a client-supplied stream name is storable: 1 to
 * STREAMNAME_MAX_LEN bytes, with no NUL and no ASCII control character
 * (0x00-0x1f, 0x7f).  UTF-8 validity is the JSON parser's job.
 * On failure returns false and sets *why to a static phrase such as
 * "must not contain control characters".
 */
bool streamname_valid(const char *s, size_t len, const char **why);

/** Length of the category: the bytes before the first '-', or len when none. */
size_t streamname_category_len(const char *s, size_t len);

/** True when s contains no '-' (it names a category, not a stream). */
bool streamname_is_category(const char *s, size_t len);

/**
 * Sets *id and *id_len to the part after the first '-'.  Returns false (and an
 * empty span) when s has no '-'.
 */
bool streamname_id(const char *s, size_t len, const char **id, size_t *id_len);

/**
 * Sets *card and *card_len to the cardinal id: the id cut at its first '+'.
 * Returns false when the stream has no cardinal id (no '-'), in which case
 * the span is empty.  "account-" has the empty cardinal id "", as in
 * Message DB, and so belongs to a consumer-group member.
 */
bool streamname_cardinal_id(const char *s, size_t len, const char **card,
    size_t *card_len);

/** MD5 of v; the first 8 digest bytes as a big-endian signed int64. */
int64_t streamname_hash64(const char *v, size_t len);

/**
 * The member (0..size-1) that owns hash h in a group of the given size:
 * abs(h) mod size, computed without overflow for INT64_MIN.
 * size must be positive.
 */
int64_t streamname_member_of_hash(int64_t h, int64_t size);

/**
 * True when the stream belongs to member `member` of a group of `size`.
 * False when size <= 0, member < 0, member >= size, or the stream has no
 * cardinal id.
 */
bool streamname_is_assigned(const char *s, size_t len, int64_t member,
    int64_t size);

#endif /* EVDB_STREAMNAME_H */
