/*
 * timefmt.c - RFC 3339 timestamps with microseconds (see timefmt.h).
 *
 * No libc time conversion is used: gmtime/timegm/strftime depend on TZ,
 * locale or static buffers.  Dates are converted with Howard Hinnant's
 * days_from_civil / civil_from_days algorithms (proleptic Gregorian
 * calendar, exact for every int64 day count used here), so every function is
 * pure and thread-safe.
 */
#include "config.h"

#include <stdbool.h>
#include <time.h>

#include "core/timefmt.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31). */
static int64_t
timefmt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);			/* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;	/* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;		/* [0, 146096] */
	return era * 146097 + (int64_t)doe - 719468;
}

/* The civil date of day z (days since 1970-01-01). */
static void
timefmt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);			/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		/* [0, 365] */
	mp = (5 * doy + 2) / 153;				/* [0, 11] */
	*d = doy - (153 * mp + 2) / 5 + 1;			/* [1, 31] */
	*m = mp < 10 ? mp + 3 : mp - 9;				/* [1, 12] */
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
timefmt_is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned
timefmt_days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && timefmt_is_leap(y) ? 29 : dim[m - 1];
}

int64_t
timefmt_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* Writes v as exactly n decimal digits (v must fit). */
static void
timefmt_put_digits(char *p, unsigned long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
timefmt_format_us(int64_t us, char out[TIMEFMT_LEN + 1])
{
	/* The four-digit year bounds what fits in TIMEFMT_LEN characters. */
	static const int64_t min_us = INT64_C(-62167219200) * US_PER_SEC;
	static const int64_t max_us = INT64_C(253402300800) * US_PER_SEC - 1;
	int64_t days, rem, y;
	unsigned m, d;

	/* Out-of-range times are clamped to year 0000 / 9999. */
	if (us < min_us)
		us = min_us;
	if (us > max_us)
		us = max_us;
	days = us / US_PER_DAY;
	rem = us % US_PER_DAY;
	if (rem < 0) {
		rem += US_PER_DAY;
		days--;
	}
	timefmt_civil_from_days(days, &y, &m, &d);

	timefmt_put_digits(out, (unsigned long)y, 4);
	out[4] = '-';
	timefmt_put_digits(out + 5, m, 2);
	out[7] = '-';
	timefmt_put_digits(out + 8, d, 2);
	out[10] = 'T';
	timefmt_put_digits(out + 11, (unsigned long)(rem / (3600 * US_PER_SEC)),
	    2);
	out[13] = ':';
	timefmt_put_digits(out + 14,
	    (unsigned long)(rem / (60 * US_PER_SEC) % 60), 2);
	out[16] = ':';
	timefmt_put_digits(out + 17, (unsigned long)(rem / US_PER_SEC % 60), 2);
	out[19] = '.';
	timefmt_put_digits(out + 20, (unsigned long)(rem % US_PER_SEC), 6);
	out[26] = 'Z';
	out[27] = '\0';
}

/*
 * Reads exactly n ASCII digits at s[*pos..] (bounded by len) into *v and
 * advances *pos.  Returns false if they are not all there.
 */
static bool
timefmt_digits(const char *s, size_t len, size_t *pos, int n, unsigned *v)
{
	unsigned r = 0;
	int i;

	if (len - *pos < (size_t)n)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[*pos + (size_t)i];

		if (c < '0' || c > '9')
			return false;
		r = r * 10 + (unsigned)(c - '0');
	}
	*pos += (size_t)n;
	*v = r;
	return true;
}

/* True when s[*pos] is c; advances past it. */
static bool
timefmt_lit(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return false;
	(*pos)++;
	return true;
}

enum evdb_status
timefmt_parse(const char *s, size_t len, int64_t *us)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	int64_t frac = 0, scale = 100000, off = 0, t;
	size_t pos = 0;
	int ndig = 0;

	if (s == NULL)
		return EVDB_ERR_INVALID;
	if (!timefmt_digits(s, len, &pos, 4, &y) ||
	    !timefmt_lit(s, len, &pos, '-') ||
	    !timefmt_digits(s, len, &pos, 2, &mo) ||
	    !timefmt_lit(s, len, &pos, '-') ||
	    !timefmt_digits(s, len, &pos, 2, &d))
		return EVDB_ERR_INVALID;
	if (mo < 1 || mo > 12 || d < 1 || d > timefmt_days_in_month(y, mo))
		return EVDB_ERR_INVALID;
	if (pos == len)
		goto done;	/* bare date: midnight UTC */

	if (!timefmt_lit(s, len, &pos, 'T') ||
	    !timefmt_digits(s, len, &pos, 2, &h) ||
	    !timefmt_lit(s, len, &pos, ':') ||
	    !timefmt_digits(s, len, &pos, 2, &mi) ||
	    !timefmt_lit(s, len, &pos, ':') ||
	    !timefmt_digits(s, len, &pos, 2, &sec))
		return EVDB_ERR_INVALID;
	/* No leap seconds, like Go's time.Parse. */
	if (h > 23 || mi > 59 || sec > 59)
		return EVDB_ERR_INVALID;

	if (timefmt_lit(s, len, &pos, '.')) {
		/* 1 to 9 digits; those past the sixth are truncated. */
		while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
			if (++ndig > 9)
				return EVDB_ERR_INVALID;
			frac += (s[pos] - '0') * scale;
			scale /= 10;
			pos++;
		}
		if (ndig == 0)
			return EVDB_ERR_INVALID;
	}

	if (pos >= len)
		return EVDB_ERR_INVALID;
	if (s[pos] == 'Z') {
		pos++;
	} else if (s[pos] == '+' || s[pos] == '-') {
		int sign = s[pos] == '-' ? -1 : 1;

		pos++;
		if (!timefmt_digits(s, len, &pos, 2, &oh) ||
		    !timefmt_lit(s, len, &pos, ':') ||
		    !timefmt_digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
			return EVDB_ERR_INVALID;
		off = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	} else
		return EVDB_ERR_INVALID;
	if (pos != len)
		return EVDB_ERR_INVALID;

done:
	t = timefmt_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    (int64_t)mi * 60 + sec - off;
	*us = t * US_PER_SEC + frac;
	return EVDB_OK;
}
