/*
 * strutil.h - byte-string helpers shared by several modules: an FNV-1a
 * hash for in-memory hash tables, the value of a hex digit, and an
 * unsigned integer in decimal.
 *
 * Header-only (static inline): each is a few instructions on a hot path
 * (every namespace lookup, every hub subscription, every token and
 * percent-escape parsed, every integer of a response).
 */
#ifndef EVDB_STRUTIL_H
#define EVDB_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a's 32-bit offset basis: the seed for strutil_fnv1a. */
#define STRUTIL_FNV1A_SEED UINT32_C(2166136261)

/**
 * 32-bit FNV-1a of s[0..n), continuing from h (STRUTIL_FNV1A_SEED for a
 * fresh hash; mix a discriminator into the seed to separate key spaces).
 * Not for anything an attacker must not collide: bucket choice only.
 */
static inline uint32_t
strutil_fnv1a(uint32_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * UINT32_C(16777619);
	return h;
}

/** Value of the hex digit c (either case), or -1. */
static inline int
strutil_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The most digits of a uint64_t: 18,446,744,073,709,551,615. */
#define STRUTIL_U64_DIGITS 20

/**
 * Writes v in decimal into the STRUTIL_U64_DIGITS bytes before end (no
 * NUL) and returns where the digits start.  snprintf spends about 670
 * instructions on one integer, and a read writes several per message
 * (docs/performance.md, "Counts that do not move"); this takes two digits
 * per division, from a table.
 */
static inline char *
strutil_u64_dec(char *end, uint64_t v)
{
	static const char pairs[201] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";
	char *p = end;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		*--p = pairs[d + 1];
		*--p = pairs[d];
	}
	if (v >= 10) {
		*--p = pairs[v * 2 + 1];
		*--p = pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

#endif /* EVDB_STRUTIL_H */
