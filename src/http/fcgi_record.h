/*
 * fcgi_record.h - FastCGI records for the loops that answer a request
 * after libfcgi let go of its socket (request_take_socket): the SSE hub
 * and the long-poll loop write them to the socket themselves.
 */
#ifndef EVDB_FCGI_RECORD_H
#define EVDB_FCGI_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Appends text as STDOUT records of request id (65535 bytes each at most). */
void fcgi_record_stdout(struct buf *b, uint16_t id, const char *text,
    size_t len);

/** Appends the end of request id: an empty STDOUT and END_REQUEST (complete). */
void fcgi_record_end(struct buf *b, uint16_t id);

#endif /* EVDB_FCGI_RECORD_H */
