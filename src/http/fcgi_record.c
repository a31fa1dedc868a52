/*
 * fcgi_record.c - FastCGI 1.0 records (see fcgi_record.h).
 */
#include "config.h"

#include "http/fcgi_record.h"

#define FCGI_VERSION_1 1
#define FCGI_END_REQUEST 3
#define FCGI_STDOUT 6

static void
fcgi_record(struct buf *b, unsigned type, uint16_t id, const char *content,
    size_t len)
{
	unsigned char head[8];

	head[0] = FCGI_VERSION_1;
	head[1] = (unsigned char)type;
	head[2] = (unsigned char)(id >> 8);
	head[3] = (unsigned char)id;
	head[4] = (unsigned char)(len >> 8);
	head[5] = (unsigned char)len;
	head[6] = 0;		/* no padding */
	head[7] = 0;
	buf_append(b, head, sizeof(head));
	buf_append(b, content, len);
}

void
fcgi_record_stdout(struct buf *b, uint16_t id, const char *text, size_t len)
{
	while (len > 0) {
		size_t n = len > 65535 ? 65535 : len;

		fcgi_record(b, FCGI_STDOUT, id, text, n);
		text += n;
		len -= n;
	}
}

void
fcgi_record_end(struct buf *b, uint16_t id)
{
	/* appStatus 0, FCGI_REQUEST_COMPLETE, reserved. */
	static const char end[8] = { 0 };

	fcgi_record(b, FCGI_STDOUT, id, "", 0);
	fcgi_record(b, FCGI_END_REQUEST, id, end, sizeof(end));
}
