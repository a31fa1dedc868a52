/*
 * strutil.h - two byte-string helpers shared by several modules: an FNV-1a
 * hash for in-memory hash tables, and the value of a hex digit.
 *
 * Header-only (static inline): each is a few instructions on a hot path
 * (every namespace lookup, every hub subscription, every token and
 * percent-escape parsed).
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

#endif /* EVDB_STRUTIL_H */
