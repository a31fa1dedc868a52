/*
 * tests/unit/request_head_t.c - unit tests of request_format_head()
 * (src/http/request.c), the head of every whole answer, which evdb builds
 * by hand rather than with snprintf: the bytes are those of the format it
 * replaced, for every status evdb names and one it does not, lengths of
 * every magnitude up to SIZE_MAX, and a content type too long for the
 * head, which is cut at REQUEST_HEAD_MAX instead of overrunning it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/request.h"
#include "../tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What request_finish wrote with snprintf before. */
static size_t
head_by_printf(char *out, size_t size, int status, const char *ctype,
    size_t len)
{
	return (size_t)snprintf(out, size,
	    "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n\r\n",
	    status, request_reason(status), ctype, len);
}

static void
same_as_printf_ok(void)
{
	static const int statuses[] = { 200, 400, 401, 403, 404, 405, 409,
		413, 429, 500, 501, 503, 507, 299 };
	static const char *const ctypes[] = { "application/json",
		"text/plain; version=0.0.4; charset=utf-8", "text/event-stream" };
	static const char spelled[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: 17\r\n"
	    "Cache-Control: no-store\r\n\r\n";
	char got[REQUEST_HEAD_MAX], want[512];
	size_t lens[21], s, t, l, n, w;
	int bad = 0, cases = 0;

	/* 0, 9, 99, ... 10^19 - 1, SIZE_MAX: every count of digits */
	lens[0] = 0;
	for (l = 1; l < 20; l++)
		lens[l] = lens[l - 1] * 10 + 9;
	lens[20] = SIZE_MAX;
	for (s = 0; s < NELEM(statuses); s++)
		for (t = 0; t < NELEM(ctypes); t++)
			for (l = 0; l < NELEM(lens); l++) {
				n = request_format_head(got, statuses[s], ctypes[t], lens[l]);
				w = head_by_printf(want, sizeof(want), statuses[s],
				    ctypes[t], lens[l]);
				cases++;
				if ((n != w || memcmp(got, want, n) != 0) && bad++ < 3)
					tap_diag("status %d, %s, length %zu: got %.*s",
					    statuses[s], ctypes[t], lens[l], (int)n, got);
			}
	is_int(bad, 0, "the head equals snprintf's for 14 statuses x 3 types x 21 lengths");
	is_int(cases, 882, "and all 882 were compared");
	n = request_format_head(got, 200, "application/json", 17);
	is_int(n, sizeof(spelled) - 1, "length of a 200");
	ok(memcmp(got, spelled, n) == 0, "bytes of a 200, spelled out");
}

static void
cut_at_max_ok(void)
{
	char ctype[400], got[REQUEST_HEAD_MAX + 16];
	size_t n;

	memset(ctype, 'x', sizeof(ctype) - 1);
	ctype[sizeof(ctype) - 1] = '\0';
	memset(got, '#', sizeof(got));
	n = request_format_head(got, 200, ctype, 5);
	is_int(n, REQUEST_HEAD_MAX, "a type too long is cut at REQUEST_HEAD_MAX");
	ok(got[REQUEST_HEAD_MAX] == '#', "and nothing is written past it");
}

int
main(void)
{
	tap_plan(6);
	same_as_printf_ok();
	cut_at_max_ok();
	return tap_done();
}
