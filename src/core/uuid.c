/*
 * uuid.c - UUIDv7 generation, UUID syntax checking and canonical form
 * (see uuid.h).
 *
 * Layout of a generated id (RFC 9562 section 5.7, counter method 1 of
 * section 6.2):
 *
 *	48 bits	unix_ts_ms	wall-clock milliseconds
 *	 4 bits	ver		0111
 *	12 bits	rand_a		counter: random 11-bit seed at each new
 *				millisecond, +1 for each further id in it
 *	 2 bits	var		10
 *	62 bits	rand_b		fresh random bits
 *
 * The timestamp never goes backwards for one generator: when the clock
 * steps back, or the counter overflows, ids carry on from the previous
 * timestamp (borrowing the next millisecond on overflow).  The state lives
 * in the caller's struct uuid_gen; nothing here is global.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/uuid.h"

#define UUID_COUNTER_MAX 0x0fff
/* Seeds keep the top counter bit clear, leaving >= 2048 ids per ms. */
#define UUID_SEED_MASK 0x07ff

static const char uuid_hex[] = "0123456789abcdef";

/* Milliseconds since the Unix epoch from the wall clock. */
static uint64_t
uuid_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

enum evdb_status
uuid_v7_generate(struct uuid_gen *gen, char out[UUID_STR_LEN + 1])
{
	unsigned char rnd[10], b[16];
	uint64_t now, ms;
	unsigned counter;
	size_t i, o;

	/*
	 * Draw first, so a failure leaves the generator untouched.  Random
	 * bytes come from a pool refilled 24 ids at a time: one RAND_bytes
	 * call (and its fork check) per id was a visible share of a write.
	 */
	if (gen->pool_used == 0 || gen->pool_used + sizeof(rnd) > sizeof(gen->pool)) {
		if (RAND_bytes(gen->pool, sizeof(gen->pool)) != 1)
			return EVDB_ERR_IO;
		gen->pool_used = 0;
	}
	memcpy(rnd, gen->pool + gen->pool_used, sizeof(rnd));
	OPENSSL_cleanse(gen->pool + gen->pool_used, sizeof(rnd));
	gen->pool_used = (uint16_t)(gen->pool_used + sizeof(rnd));

	now = uuid_now_ms();
	if (now > gen->last_ms) {
		ms = now;
		counter = ((unsigned)rnd[8] << 8 | rnd[9]) & UUID_SEED_MASK;
	} else {
		ms = gen->last_ms;
		counter = (unsigned)gen->counter + 1;
		if (counter > UUID_COUNTER_MAX) {
			ms++;
			counter = ((unsigned)rnd[8] << 8 | rnd[9]) &
			    UUID_SEED_MASK;
		}
	}
	ms &= UINT64_C(0xffffffffffff);
	gen->last_ms = ms;
	gen->counter = (uint16_t)counter;

	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (8 * (5 - i)));
	b[6] = (unsigned char)(0x70 | (counter >> 8));
	b[7] = (unsigned char)(counter & 0xff);
	memcpy(b + 8, rnd, 8);
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));

	for (i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = uuid_hex[b[i] >> 4];
		out[o++] = uuid_hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return EVDB_OK;
}

static bool
uuid_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* True when s starts with "urn:uuid:" in any ASCII case (Go's EqualFold). */
static bool
uuid_has_urn_prefix(const char *s)
{
	static const char urn[] = "urn:uuid:";
	size_t i;

	for (i = 0; i < sizeof(urn) - 1; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != urn[i])
			return false;
	}
	return true;
}

/* True when s[0..36) is 8-4-4-4-12 hex digits (any case). */
static bool
uuid_is_canonical(const char *s)
{
	size_t i;

	for (i = 0; i < UUID_STR_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!uuid_is_hex(s[i]))
			return false;
	}
	return true;
}

bool
uuid_is_valid(const char *s, size_t len)
{
	size_t i;

	switch (len) {
	case UUID_STR_LEN:
		return uuid_is_canonical(s);
	case UUID_STR_LEN + 2:
		/*
		 * Go's uuid.Parse skips the first byte without looking at
		 * it and ignores the last; evdb insists on real braces.
		 */
		return s[0] == '{' && s[len - 1] == '}' &&
		    uuid_is_canonical(s + 1);
	case UUID_STR_LEN + 9:
		return uuid_has_urn_prefix(s) &&
		    uuid_is_canonical(s + 9);
	case 32:
		for (i = 0; i < len; i++)
			if (!uuid_is_hex(s[i]))
				return false;
		return true;
	default:
		return false;
	}
}

enum evdb_status
uuid_canonical(const char *s, size_t len, char out[UUID_STR_LEN + 1])
{
	size_t i, o, digits;

	out[0] = '\0';
	if (!uuid_is_valid(s, len))
		return EVDB_ERR_INVALID;
	/* Skip the wrapper; then the 32 digits are the only hex bytes left. */
	if (len == UUID_STR_LEN + 2) {
		s++;
		len -= 2;
	} else if (len == UUID_STR_LEN + 9) {
		s += 9;
		len -= 9;
	}
	for (i = 0, o = 0, digits = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			continue;
		if (digits == 8 || digits == 12 || digits == 16 || digits == 20)
			out[o++] = '-';
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		out[o++] = c;
		digits++;
	}
	out[o] = '\0';
	return EVDB_OK;
}
