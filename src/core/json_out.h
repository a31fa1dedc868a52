/*
 * json_out.h - writing JSON text into a struct buf.
 *
 * The response writer of evdb: callers build JSON by appending pieces;
 * nothing is allocated besides the buffer's own growth.  Strings are
 * escaped as Go's encoding/json does ('"', '\\', control characters,
 * '<', '>', '&', U+2028 and U+2029), so output matches the reference byte
 * for byte where it matters.  Input strings should be valid UTF-8 (evdb's
 * input checks enforce that); a byte that does not start a well-formed
 * sequence is written as \ufffd, so the output is always valid JSON.  They
 * may contain NUL, which is escaped as \u0000.
 */
#ifndef EVDB_JSON_OUT_H
#define EVDB_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Appends s[0..len) as a quoted, escaped JSON string. */
void json_out_string(struct buf *b, const char *s, size_t len);
/** Appends the NUL-terminated s as a JSON string. */
void json_out_cstr(struct buf *b, const char *s);
/** Appends a signed 64-bit integer exactly. */
void json_out_int(struct buf *b, int64_t v);
/** Appends a timestamp (microseconds since the epoch) as a quoted RFC 3339 string. */
void json_out_time(struct buf *b, int64_t us);
/** Appends already-serialised JSON text verbatim. */
void json_out_raw(struct buf *b, const char *json, size_t len);
/** Appends `"key":` (key is a trusted literal; it is escaped all the same). */
void json_out_key(struct buf *b, const char *key);

#endif /* EVDB_JSON_OUT_H */
