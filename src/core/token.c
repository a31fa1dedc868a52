/*
 * token.c - namespace bearer tokens (see token.h).
 *
 * token_parse() reproduces the reference's ParseToken step by step,
 * including the exact texts of Go's encoding/hex and encoding/base64
 * errors, because clients see them in the "details" of a 401:
 *
 *	1. "ns_" prefix;
 *	2. the rest split on every '_' must give exactly two parts;
 *	3. the second part is 64 bytes of hex (either case);
 *	4. the first part is unpadded base64url, decoded leniently as Go
 *	   does ('\r' and '\n' are skipped, stray low bits are ignored);
 *	5. the namespace is not empty.
 *
 * token_check_secret() is evdb's own rule for secrets a client supplies
 * (ns.create's options.token); generated secrets never need it.
 *
 * Nothing here keeps state; libcrypto's RAND_bytes and EVP_Digest are
 * thread-safe, so every function is too.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/digest.h"
#include "core/strutil.h"
#include "core/token.h"

#define TOKEN_PREFIX "ns_"
#define TOKEN_PREFIX_LEN 3
#define TOKEN_RANDOM_BYTES 32
#define TOKEN_ERR_PREFIX "invalid token format: "

static const char token_hex[] = "0123456789abcdef";
static const char token_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes "invalid token format: " + the formatted rest into err. */
static void
token_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
token_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || err_size == 0)
		return;
	n = snprintf(err, err_size, "%s", TOKEN_ERR_PREFIX);
	if (n < 0 || (size_t)n >= err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Value of base64url digit c, or -1. */
static int
token_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Go's fmt "%#U" of the byte c taken as a rune, as used by
 * encoding/hex.InvalidByteError: "U+0067 'g'", or just "U+0000" when
 * strconv.IsPrint says the rune is not printable.  The character itself is
 * written as UTF-8.  out needs 12 bytes.
 */
static void
token_go_sharp_u(unsigned char c, char out[12])
{
	int printable = (c >= 0x20 && c <= 0x7e) ||
	    (c >= 0xa1 && c != 0xad);

	if (!printable)
		snprintf(out, 12, "U+%04X", (unsigned)c);
	else if (c < 0x80)
		snprintf(out, 12, "U+%04X '%c'", (unsigned)c, c);
	else
		snprintf(out, 12, "U+%04X '%c%c'", (unsigned)c,
		    (char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f)));
}

/*
 * Go's base64.RawURLEncoding.DecodeString of src[0..len).  The decoded
 * bytes go to dst while they fit in dst_size (dst may be NULL when
 * dst_size is 0); the return value is the full decoded length, or -1 with
 * *bad set to the byte offset Go reports in "illegal base64 data at input
 * byte N".  Mirrors Go's decodeQuantum: CR and LF are skipped, a final
 * group of one digit is an error, and the unused low bits of a final group
 * of two or three digits are not checked.
 */
static long
token_b64_decode(const char *src, size_t len, unsigned char *dst,
    size_t dst_size, size_t *bad)
{
	size_t si = 0, n = 0;

	while (si < len) {
		unsigned char q[4], o[3];
		int j, k, dlen = 4;

		for (j = 0; j < 4; j++) {
			unsigned char in;
			int v;

			if (si == len) {
				if (j == 0)
					return (long)n;
				if (j == 1) {
					*bad = si - 1;
					return -1;
				}
				dlen = j;
				break;
			}
			in = (unsigned char)src[si++];
			v = token_b64_value(in);
			if (v >= 0) {
				q[j] = (unsigned char)v;
				continue;
			}
			if (in == '\n' || in == '\r') {
				j--;
				continue;
			}
			*bad = si - 1;
			return -1;
		}
		for (j = dlen; j < 4; j++)
			q[j] = 0;
		o[0] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		o[1] = (unsigned char)(q[1] << 4 | q[2] >> 2);
		o[2] = (unsigned char)(q[2] << 6 | q[3]);
		for (k = 0; k < dlen - 1; k++, n++)
			if (n < dst_size)
				dst[n] = o[k];
	}
	return (long)n;
}

enum evdb_status
token_parse(const char *token, size_t len, char *ns, size_t ns_size,
    char *err, size_t err_size)
{
	enum evdb_status st = EVDB_ERR_INVALID;
	const char *rest, *sep = NULL, *nsenc, *rnd;
	size_t rest_len, nsenc_len, rnd_len, parts, i, bad = 0;
	long dec_len;
	char rune[12];

	if (err != NULL && err_size != 0)
		err[0] = '\0';
	if (ns != NULL && ns_size != 0)
		ns[0] = '\0';

	if (len < TOKEN_PREFIX_LEN ||
	    memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0) {
		token_err(err, err_size, "missing 'ns_' prefix");
		goto out;
	}
	rest = token + TOKEN_PREFIX_LEN;
	rest_len = len - TOKEN_PREFIX_LEN;

	/* strings.Split(rest, "_"): one part more than there are '_'. */
	parts = 1;
	for (i = 0; i < rest_len; i++) {
		if (rest[i] == '_') {
			if (sep == NULL)
				sep = rest + i;
			parts++;
		}
	}
	if (parts != 2) {
		token_err(err, err_size, "expected 2 parts after prefix, got %zu",
		    parts);
		goto out;
	}
	nsenc = rest;
	nsenc_len = (size_t)(sep - rest);
	rnd = sep + 1;
	rnd_len = rest_len - nsenc_len - 1;

	if (rnd_len != 2 * TOKEN_RANDOM_BYTES) {
		token_err(err, err_size,
		    "random part must be 64 hex characters, got %zu", rnd_len);
		goto out;
	}
	/* hex.DecodeString reports the first bad byte, left to right. */
	for (i = 0; i < rnd_len; i++) {
		if (strutil_hex_value((unsigned char)rnd[i]) < 0) {
			token_go_sharp_u((unsigned char)rnd[i], rune);
			token_err(err, err_size, "random part is not valid "
			    "hexadecimal: encoding/hex: invalid byte: %s", rune);
			goto out;
		}
	}

	/* Decode straight into ns; the length check comes after Go's checks. */
	dec_len = token_b64_decode(nsenc, nsenc_len, (unsigned char *)ns,
	    ns != NULL ? ns_size : 0, &bad);
	if (dec_len < 0) {
		token_err(err, err_size, "namespace part is not valid base64url: "
		    "illegal base64 data at input byte %zu", bad);
		goto out;
	}
	if (dec_len == 0) {
		token_err(err, err_size, "namespace is empty");
		goto out;
	}
	/* evdb's own limits: the namespace must be a usable C string. */
	if (ns == NULL || (size_t)dec_len >= ns_size) {
		token_err(err, err_size, "namespace is too long");
		goto out;
	}
	if (memchr(ns, '\0', (size_t)dec_len) != NULL) {
		token_err(err, err_size, "namespace contains a NUL byte");
		goto out;
	}
	ns[dec_len] = '\0';
	st = EVDB_OK;
out:
	/* Never leave a partial namespace behind on failure. */
	if (st != EVDB_OK && ns != NULL && ns_size != 0)
		ns[0] = '\0';
	return st;
}

enum evdb_status
token_generate(const char *ns, char *out, size_t out_size)
{
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	const unsigned char *p = (const unsigned char *)ns;
	size_t ns_len, enc_len, need, i, o;
	enum evdb_status st = EVDB_ERR_INVALID;

	ns_len = strlen(ns);
	if (ns_len == 0 || ns_len > TOKEN_NS_MAX)
		goto out;
	enc_len = (ns_len * 4 + 2) / 3;
	need = TOKEN_PREFIX_LEN + enc_len + 1 + 2 * TOKEN_RANDOM_BYTES + 1;
	if (out_size < need) {
		st = EVDB_ERR_NOMEM;
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		st = EVDB_ERR_IO;
		goto out;
	}

	memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	o = TOKEN_PREFIX_LEN;
	for (i = 0; i + 3 <= ns_len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		    p[i + 2];

		out[o++] = token_b64url[v >> 18 & 0x3f];
		out[o++] = token_b64url[v >> 12 & 0x3f];
		out[o++] = token_b64url[v >> 6 & 0x3f];
		out[o++] = token_b64url[v & 0x3f];
	}
	if (ns_len - i == 1) {
		out[o++] = token_b64url[p[i] >> 2];
		out[o++] = token_b64url[(p[i] & 0x03) << 4];
	} else if (ns_len - i == 2) {
		out[o++] = token_b64url[p[i] >> 2];
		out[o++] = token_b64url[(p[i] & 0x03) << 4 | p[i + 1] >> 4];
		out[o++] = token_b64url[(p[i + 1] & 0x0f) << 2];
	}
	out[o++] = '_';
	for (i = 0; i < sizeof(rnd); i++) {
		out[o++] = token_hex[rnd[i] >> 4];
		out[o++] = token_hex[rnd[i] & 0x0f];
	}
	out[o] = '\0';
	st = EVDB_OK;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return st;
}

enum evdb_status
token_check_secret(const char *token, size_t len, char *err, size_t err_size)
{
	const char *rnd;
	unsigned char pairs[256 / 8];
	unsigned digits = 0, ndigits = 0, npairs = 0, run = 0, longest = 0;
	int prev = -1, d;
	size_t i;

	if (err != NULL && err_size != 0)
		err[0] = '\0';
	if (len < 2 * TOKEN_RANDOM_BYTES)
		goto weak_format;
	rnd = token + len - 2 * TOKEN_RANDOM_BYTES;
	memset(pairs, 0, sizeof(pairs));
	for (i = 0; i < 2 * TOKEN_RANDOM_BYTES; i++) {
		if ((d = strutil_hex_value((unsigned char)rnd[i])) < 0)
			goto weak_format;
		if ((digits & 1u << d) == 0) {
			digits |= 1u << d;
			ndigits++;
		}
		run = d == prev ? run + 1 : 1;
		if (run > longest)
			longest = run;
		if (prev >= 0) {
			unsigned p = (unsigned)prev << 4 | (unsigned)d;

			if ((pairs[p / 8] & 1u << (p % 8)) == 0) {
				pairs[p / 8] = (unsigned char)(pairs[p / 8] | 1u << (p % 8));
				npairs++;
			}
		}
		prev = d;
	}
	if (ndigits < TOKEN_SECRET_MIN_DIGITS) {
		if (err != NULL && err_size != 0)
			snprintf(err, err_size, "its secret has %u distinct hex digits, "
			    "fewer than %d", ndigits, TOKEN_SECRET_MIN_DIGITS);
		return EVDB_ERR_INVALID;
	}
	if (longest >= TOKEN_SECRET_MAX_RUN) {
		if (err != NULL && err_size != 0)
			snprintf(err, err_size, "its secret repeats one hex digit %u "
			    "times in a row (at most %d allowed)", longest,
			    TOKEN_SECRET_MAX_RUN - 1);
		return EVDB_ERR_INVALID;
	}
	if (npairs < TOKEN_SECRET_MIN_PAIRS) {
		if (err != NULL && err_size != 0)
			snprintf(err, err_size, "its secret is a repeated pattern: %u "
			    "distinct pairs of adjacent hex digits, fewer than %d",
			    npairs, TOKEN_SECRET_MIN_PAIRS);
		return EVDB_ERR_INVALID;
	}
	return EVDB_OK;
weak_format:
	if (err != NULL && err_size != 0)
		snprintf(err, err_size, "its secret is not 64 hex digits");
	return EVDB_ERR_INVALID;
}

/*
 * The last token each thread hashed, and its hash (issue 13).  A worker
 * hashes the bearer token of every request, and a client sends the same
 * token request after request, so a worker keeps the last one: a request
 * with that token costs a comparison instead of a SHA-256.  The token is
 * compared with CRYPTO_memcmp, in constant time, as it is a secret (its
 * length is not).  Per thread, so no lock; the one mutable state of this
 * file, and nothing depends on it but the time token_hash takes.
 */
static _Thread_local struct {
	size_t len;			/* length of token, 0: empty cache */
	char token[TOKEN_MAX_LEN];	/* the last token hashed (not NUL-ended) */
	char hex[TOKEN_HASH_HEX_LEN + 1]; /* its hash, as token_hash writes it */
} token_last;

void
token_hash(const char *token, size_t len, char hex[TOKEN_HASH_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned int i;

	if (len != 0 && len == token_last.len &&
	    CRYPTO_memcmp(token, token_last.token, len) == 0) {
		memcpy(hex, token_last.hex, TOKEN_HASH_HEX_LEN + 1);
		return;
	}
	digest_sha256(token, len, md);
	for (i = 0; i < sizeof(md); i++) {
		hex[2 * i] = token_hex[md[i] >> 4];
		hex[2 * i + 1] = token_hex[md[i] & 0x0f];
	}
	hex[TOKEN_HASH_HEX_LEN] = '\0';
	if (len != 0 && len <= sizeof(token_last.token)) {
		memcpy(token_last.token, token, len);
		memcpy(token_last.hex, hex, TOKEN_HASH_HEX_LEN + 1);
		token_last.len = len;
	}
}

bool
token_hash_equal(const char *a, const char *b)
{
	/*
	 * Lengths are not secret; checking them first keeps CRYPTO_memcmp
	 * inside both strings even if one is a short (corrupt) value.
	 */
	if (a == NULL || b == NULL ||
	    strnlen(a, TOKEN_HASH_HEX_LEN + 1) != TOKEN_HASH_HEX_LEN ||
	    strnlen(b, TOKEN_HASH_HEX_LEN + 1) != TOKEN_HASH_HEX_LEN)
		return false;
	return CRYPTO_memcmp(a, b, TOKEN_HASH_HEX_LEN) == 0;
}
