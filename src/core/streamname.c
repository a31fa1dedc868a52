/*
 * streamname.c - stream-name rules and the consumer-group hash
 * (see streamname.h and reference-behaviour.md section 4).
 *
 * Everything here works on (pointer, length) spans and keeps no state, so
 * every function is thread-safe.  The MD5 comes from digest.h, which is
 * safe to call from any thread.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/digest.h"
#include "core/streamname.h"

bool
streamname_valid(const char *s, size_t len, const char **why)
{
	size_t i;

	if (len == 0) {
		*why = "must not be empty";
		return false;
	}
	if (len > STREAMNAME_MAX_LEN) {
		*why = "must be at most 1024 bytes";
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			*why = "must not contain control characters";
			return false;
		}
	}
	return true;
}

size_t
streamname_category_len(const char *s, size_t len)
{
	const char *dash = len != 0 ? memchr(s, '-', len) : NULL;

	return dash != NULL ? (size_t)(dash - s) : len;
}

bool
streamname_is_category(const char *s, size_t len)
{
	return streamname_category_len(s, len) == len;
}

bool
streamname_id(const char *s, size_t len, const char **id, size_t *id_len)
{
	size_t cat = streamname_category_len(s, len);

	if (cat == len) {
		*id = s + len;
		*id_len = 0;
		return false;
	}
	*id = s + cat + 1;
	*id_len = len - cat - 1;
	return true;
}

bool
streamname_cardinal_id(const char *s, size_t len, const char **card,
    size_t *card_len)
{
	const char *id, *plus;
	size_t id_len;

	bool has_id = streamname_id(s, len, &id, &id_len);

	plus = id_len != 0 ? memchr(id, '+', id_len) : NULL;
	*card = id;
	*card_len = plus != NULL ? (size_t)(plus - id) : id_len;
	/*
	 * "account-" and "account-+x" have the empty cardinal id "", which
	 * Message DB's cardinal_id() returns too (not NULL): it hashes like
	 * any other and a member owns it (CONTRACT.md).  Only a name without
	 * '-' has none.
	 */
	return has_id;
}

int64_t
streamname_hash64(const char *v, size_t len)
{
	unsigned char md[16];
	uint64_t u = 0;
	int i;

	digest_md5(v, len, md);
	for (i = 0; i < 8; i++)
		u = (u << 8) | md[i];
	/* Two's-complement reinterpretation, like PG's bit(64)::bigint. */
	return u > (uint64_t)INT64_MAX ? -(int64_t)(UINT64_MAX - u) - 1 :
	    (int64_t)u;
}

int64_t
streamname_member_of_hash(int64_t h, int64_t size)
{
	uint64_t mag;

	/* The contract requires size > 0; answer 0 rather than divide by 0. */
	if (size <= 0)
		return 0;
	/* |h| as unsigned: well defined for INT64_MIN (2^63). */
	mag = h < 0 ? (uint64_t)0 - (uint64_t)h : (uint64_t)h;
	return (int64_t)(mag % (uint64_t)size);
}

bool
streamname_is_assigned(const char *s, size_t len, int64_t member,
    int64_t size)
{
	const char *card;
	size_t card_len;

	if (size <= 0 || member < 0 || member >= size)
		return false;
	if (!streamname_cardinal_id(s, len, &card, &card_len))
		return false;
	return streamname_member_of_hash(streamname_hash64(card, card_len),
	    size) == member;
}
