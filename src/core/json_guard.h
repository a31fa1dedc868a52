/*
 * json_guard.h - rejecting text that json-c accepts but that is not JSON,
 * or that json-c would silently change.
 *
 * json-c (0.16) parses NaN, Infinity, "1." and 1e400, clamps integers
 * outside the 64-bit range, and cuts object keys at an embedded \u0000.
 * Storing any of those would break CONTRACT.md point 8 (the bytes a client
 * wrote come back as the same values), so every request body and import
 * line goes through json_guard_check() before json-c sees it.  It is one
 * pass over the text, without allocation.
 */
#ifndef EVDB_JSON_GUARD_H
#define EVDB_JSON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/** Deepest nesting json_guard_check() follows (deeper text is refused). */
#define JSON_GUARD_MAX_DEPTH 512

/**
 * True when s[0..len) is well-formed UTF-8 (RFC 3629) whose every number
 * is a JSON number whose value json-c keeps exactly (integers within
 * [-2^63, 2^64 - 1], finite doubles), whose only bare words are true, false
 * and null, and whose object keys hold no NUL.  The structure itself
 * (brackets, commas, colons) is left to the parser.  On false, writes a
 * short reason into why (NUL-terminated) such as
 * "number out of range at byte 12".
 */
bool json_guard_check(const char *s, size_t len, char *why, size_t why_size);

#endif /* EVDB_JSON_GUARD_H */
