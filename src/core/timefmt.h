/*
 * timefmt.h - evdb's timestamps.
 *
 * Times are stored as int64 microseconds since the Unix epoch and written on
 * the wire as RFC 3339 UTC with exactly six fractional digits:
 * "2026-03-01T10:30:00.123456Z" (CONTRACT.md point 9).
 */
#ifndef EVDB_TIMEFMT_H
#define EVDB_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/** Length of a formatted timestamp, without the NUL. */
#define TIMEFMT_LEN 27

/** Current wall-clock time in microseconds since the epoch. */
int64_t timefmt_now_us(void);

/**
 * Formats us as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out (27 chars + NUL).
 * Negative times (before 1970) are formatted correctly too.
 */
void timefmt_format_us(int64_t us, char out[TIMEFMT_LEN + 1]);

/**
 * Parses an RFC 3339 timestamp with an optional fraction (up to 9 digits,
 * truncated to microseconds) and a "Z" or "+hh:mm"/"-hh:mm" offset, into
 * microseconds since the epoch.  Also accepts a bare date "YYYY-MM-DD"
 * (midnight UTC).  Returns EVDB_ERR_INVALID on anything else.
 */
enum evdb_status timefmt_parse(const char *s, size_t len, int64_t *us);

#endif /* EVDB_TIMEFMT_H */
