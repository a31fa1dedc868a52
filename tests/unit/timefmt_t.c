/*
 * tests/unit/timefmt_t.c - unit tests of src/core/timefmt.c.
 *
 * Formatting is checked on fixed vectors (computed independently with
 * Python's datetime), on the clamping bounds, against the C library's
 * gmtime_r over a sweep of days from year 0 to 9999, and with a TZ that
 * must make no difference.  Parsing is checked on every accepted form, on
 * round trips, and on a list of malformed or out-of-range inputs.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"
#include "../tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MIN_US (INT64_C(-62167219200) * 1000000)
#define MAX_US (INT64_C(253402300800) * 1000000 - 1)

struct fmt_case {
	int64_t us;		/* input */
	const char *text;	/* expected formatted text */
};

static const struct fmt_case fmt_cases[] = {
	{ 0, "1970-01-01T00:00:00.000000Z" },
	{ 1, "1970-01-01T00:00:00.000001Z" },
	{ -1, "1969-12-31T23:59:59.999999Z" },
	{ -1000000, "1969-12-31T23:59:59.000000Z" },
	{ INT64_C(1772361000123456), "2026-03-01T10:30:00.123456Z" },
	{ INT64_C(951782400000000), "2000-02-29T00:00:00.000000Z" },
	{ INT64_C(951868800000000), "2000-03-01T00:00:00.000000Z" },
	{ INT64_C(-2203891200000000), "1900-03-01T00:00:00.000000Z" },
	{ INT64_C(-2203891200000001), "1900-02-28T23:59:59.999999Z" },
	{ INT64_C(-62135596800000000), "0001-01-01T00:00:00.000000Z" },
	{ INT64_C(1000000000000000), "2001-09-09T01:46:40.000000Z" },
	{ INT64_C(2147483648000000), "2038-01-19T03:14:08.000000Z" },
	{ INT64_C(-11670955199999999), "1600-02-29T12:00:00.000001Z" },
	{ INT64_C(-14182939500000), "1969-07-20T20:17:40.500000Z" },
	{ MIN_US, "0000-01-01T00:00:00.000000Z" },
	{ MAX_US, "9999-12-31T23:59:59.999999Z" },
	/* Beyond four-digit years the output is clamped. */
	{ MIN_US - 1, "0000-01-01T00:00:00.000000Z" },
	{ MAX_US + 1, "9999-12-31T23:59:59.999999Z" },
	{ INT64_MIN, "0000-01-01T00:00:00.000000Z" },
	{ INT64_MAX, "9999-12-31T23:59:59.999999Z" },
};

struct parse_case {
	const char *text;	/* input (NUL-terminated unless len is set) */
	size_t len;		/* its length when it holds a NUL; else 0 */
	bool valid;		/* expected to parse */
	int64_t us;		/* expected value when valid */
};

static const struct parse_case parse_cases[] = {
	{ "2026-03-01T10:30:00Z", 0, true, INT64_C(1772361000000000) },
	{ "2026-03-01T10:30:00.123456Z", 0, true, INT64_C(1772361000123456) },
	{ "2026-03-01T10:30:00.1Z", 0, true, INT64_C(1772361000100000) },
	{ "2026-03-01T10:30:00.000001Z", 0, true, INT64_C(1772361000000001) },
	{ "2026-03-01T10:30:00.123456789Z", 0, true, INT64_C(1772361000123456) },
	{ "2026-03-01T10:30:00.999999999Z", 0, true, INT64_C(1772361000999999) },
	{ "2026-03-01T10:30:00.1234567Z", 0, true, INT64_C(1772361000123456) },
	{ "2026-03-01T12:30:00+02:00", 0, true, INT64_C(1772361000000000) },
	{ "2026-03-01T05:00:00.123456-05:30", 0, true,
	    INT64_C(1772361000123456) },
	{ "2026-03-02T00:00:00+13:30", 0, true, INT64_C(1772361000000000) },
	{ "2026-03-01T10:30:00+00:00", 0, true, INT64_C(1772361000000000) },
	{ "2026-03-01T10:30:00-00:00", 0, true, INT64_C(1772361000000000) },
	{ "2026-03-01T10:30:00+23:59", 0, true,
	    INT64_C(1772361000000000) - INT64_C(86340000000) },
	{ "2026-03-01", 0, true, INT64_C(1772323200000000) },
	{ "1970-01-01", 0, true, 0 },
	{ "1969-12-31T23:59:59.5Z", 0, true, -500000 },
	{ "2000-02-29T00:00:00Z", 0, true, INT64_C(951782400000000) },
	{ "2024-02-29", 0, true, INT64_C(1709164800000000) },
	{ "1600-02-29T12:00:00.000001Z", 0, true, INT64_C(-11670955199999999) },
	{ "0000-01-01T00:00:00Z", 0, true, MIN_US },
	{ "9999-12-31T23:59:59.999999Z", 0, true, MAX_US },
	{ "0000-01-01T00:00:00+01:00", 0, true, MIN_US - INT64_C(3600000000) },
	{ "2026-12-31T23:59:59Z", 0, true, INT64_C(1798761599000000) },
	/* Malformed. */
	{ "", 0, false, 0 },
	{ "2026", 0, false, 0 },
	{ "2026-03", 0, false, 0 },
	{ "2026-3-01", 0, false, 0 },
	{ "2026-03-1", 0, false, 0 },
	{ "26-03-01", 0, false, 0 },
	{ "20260301", 0, false, 0 },
	{ "2026-03-01T", 0, false, 0 },
	{ "2026-03-01Z", 0, false, 0 },
	{ "2026-03-01T10:30Z", 0, false, 0 },
	{ "2026-03-01T10:30:00", 0, false, 0 },
	{ "2026-03-01T10:30:00.123456", 0, false, 0 },
	{ "2026-03-01 10:30:00Z", 0, false, 0 },
	{ "2026-03-01t10:30:00Z", 0, false, 0 },
	{ "2026-03-01T10:30:00z", 0, false, 0 },
	{ "2026-03-01T10:30:00.Z", 0, false, 0 },
	{ "2026-03-01T10:30:00,5Z", 0, false, 0 },
	{ "2026-03-01T10:30:00.1234567890Z", 0, false, 0 },
	{ "2026-03-01T10:30:00+0200", 0, false, 0 },
	{ "2026-03-01T10:30:00+02", 0, false, 0 },
	{ "2026-03-01T10:30:00+2:00", 0, false, 0 },
	{ "2026-03-01T10:30:00 +02:00", 0, false, 0 },
	{ "2026-03-01T10:30:00ZZ", 0, false, 0 },
	{ "2026-03-01T10:30:00Z ", 0, false, 0 },
	{ " 2026-03-01T10:30:00Z", 0, false, 0 },
	{ "2026-03-01T10:30:00.123456Zx", 0, false, 0 },
	{ "2026-03-01T10:30:00Z\0", 21, false, 0 },
	{ "2026-03-01\0", 11, false, 0 },
	{ "-2026-03-01", 0, false, 0 },
	{ "+2026-03-01", 0, false, 0 },
	{ "10000-01-01", 0, false, 0 },
	{ "2O26-03-01", 0, false, 0 },
	{ "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-03-01", 0,
	    false, 0 },
	{ "2026-03-01T10:30:0\xc3\xbcZ", 0, false, 0 },
	{ "1772361000", 0, false, 0 },
	/* Out of range. */
	{ "2026-00-01", 0, false, 0 },
	{ "2026-13-01", 0, false, 0 },
	{ "2026-01-00", 0, false, 0 },
	{ "2026-01-32", 0, false, 0 },
	{ "2026-04-31", 0, false, 0 },
	{ "2026-02-29", 0, false, 0 },
	{ "1900-02-29", 0, false, 0 },
	{ "2026-03-01T24:00:00Z", 0, false, 0 },
	{ "2026-03-01T10:60:00Z", 0, false, 0 },
	{ "2026-03-01T23:59:60Z", 0, false, 0 },
	{ "2026-03-01T10:30:00+24:00", 0, false, 0 },
	{ "2026-03-01T10:30:00+02:60", 0, false, 0 },
	{ "2026-03-01T10:30:00-99:00", 0, false, 0 },
};

static void
format_ok(void)
{
	char out[TIMEFMT_LEN + 2];
	size_t i;

	for (i = 0; i < NELEM(fmt_cases); i++) {
		memset(out, 'X', sizeof(out));
		timefmt_format_us(fmt_cases[i].us, out);
		ok(out[TIMEFMT_LEN] == '\0' && out[TIMEFMT_LEN + 1] == 'X' &&
		    strcmp(out, fmt_cases[i].text) == 0,
		    "format %lld is %s", (long long)fmt_cases[i].us,
		    fmt_cases[i].text);
		if (strcmp(out, fmt_cases[i].text) != 0)
			tap_diag("got %s", out);
	}
}

/* Compares every 997th day of years 0..9999, at varied times, with gmtime_r. */
static void
gmtime_sweep_ok(void)
{
	char out[TIMEFMT_LEN + 1], want[64];
	int64_t day, bad = 0, n = 0;
	struct tm tm;
	time_t t;

	for (day = -719528; day < 2932897; day += 997) {
		int64_t sec = day * 86400 + ((day * 7919) % 86400 + 86400) % 86400;
		int64_t frac = (day * 104729) % 1000000;

		if (frac < 0)
			frac = -frac;
		t = (time_t)sec;
		if (gmtime_r(&t, &tm) == NULL)
			continue;
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)frac);
		timefmt_format_us(sec * 1000000 + frac, out);
		n++;
		if (strcmp(out, want) != 0) {
			if (bad++ < 5)
				tap_diag("%s != gmtime %s", out, want);
		}
	}
	ok(bad == 0 && n > 3000, "format agrees with gmtime_r on %lld days",
	    (long long)n);
}

static void
parse_ok(void)
{
	size_t i;

	for (i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char *copy = malloc(len ? len : 1);
		int64_t us = 12345;
		enum evdb_status st;

		/* Exact-size copy: ASan catches reads past len. */
		if (copy == NULL)
			tap_bail("out of memory");
		memcpy(copy, c->text, len);
		st = timefmt_parse(copy, len, &us);
		if (c->valid) {
			if (!ok(st == EVDB_OK && us == c->us, "parse \"%s\"",
			    c->text))
				tap_diag("status %d, got %lld, want %lld",
				    (int)st, (long long)us, (long long)c->us);
		} else {
			ok(st == EVDB_ERR_INVALID && us == 12345,
			    "reject \"%s\"", c->text);
		}
		free(copy);
	}
}

static void
round_trip_ok(void)
{
	char out[TIMEFMT_LEN + 1];
	uint64_t x = 88172645463325252ULL;
	int64_t us, back;
	int i, bad = 0;

	/* xorshift64 over the whole representable range. */
	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		us = MIN_US + (int64_t)(x % (uint64_t)(MAX_US - MIN_US + 1));
		timefmt_format_us(us, out);
		if (timefmt_parse(out, TIMEFMT_LEN, &back) != EVDB_OK ||
		    back != us) {
			if (bad++ < 5)
				tap_diag("%lld -> %s -> %lld", (long long)us,
				    out, (long long)back);
		}
	}
	ok(bad == 0, "parse(format(t)) == t for 100000 times in years 0-9999");
}

static int64_t
realtime_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
env_ok(void)
{
	char out[TIMEFMT_LEN + 1];
	int64_t us = -1, before, now, after;

	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	timefmt_format_us(0, out);
	is_str(out, "1970-01-01T00:00:00.000000Z", "TZ does not affect format");
	ok(timefmt_parse("2026-03-01", 10, &us) == EVDB_OK &&
	    us == INT64_C(1772323200000000), "TZ does not affect parse");
	unsetenv("TZ");
	tzset();

	/*
	 * Bound it by the same clock read directly. time() is no bound:
	 * glibc serves it from the coarse clock, which lags CLOCK_REALTIME
	 * by up to a tick, so just after a second turns time() can still
	 * name the second before (CI saw exactly that).
	 */
	before = realtime_us();
	now = timefmt_now_us();
	after = realtime_us();
	ok(now >= before && now <= after, "now_us %lld is the wall clock",
	    (long long)now);
}

int
main(void)
{
	tap_plan((int)(NELEM(fmt_cases) + 1 + NELEM(parse_cases) + 1 + 3));
	format_ok();
	gmtime_sweep_ok();
	parse_ok();
	round_trip_ok();
	env_ok();
	return tap_done();
}
