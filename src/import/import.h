/*
 * import.h - POST /import: bulk NDJSON import with the positions kept.
 *
 * The body is read as it arrives (nginx streams it, unbuffered), one line
 * at a time, so memory stays bounded whatever the size of the import: at
 * most one batch of IMPORT_BATCH records (or IMPORT_BATCH_BYTES) and one line
 * of IMPORT_LINE_MAX bytes.  Each batch is committed in one transaction and
 * acknowledged with a progress event; a failure ends the stream with an
 * error event, and the batches before it stay committed
 * (reference-behaviour.md section 8, CONTRACT.md point 19).  The events go
 * out once the body has been read, so the status says how it ended: 200
 * done, 400/409/500/503/507 failed.  The import rules (records above the
 * head, streams continued, identical records skipped, force cleared in the
 * first batch's transaction) are store_import_batch()'s (store.h) and
 * docs/api.md section 8's.
 */
#ifndef EVDB_IMPORT_H
#define EVDB_IMPORT_H

#include <stddef.h>

#include <json-c/json.h>

#include "http/request.h"
#include "store/store.h"

#define IMPORT_BATCH 1000
#define IMPORT_BATCH_BYTES (8u << 20)
#define IMPORT_LINE_MAX (1u << 20)

/** Serves an authenticated /import request. */
void import_serve(struct request *r);

/**
 * Parses one NDJSON line into *rec.  On success *root holds the parsed
 * object (the record's strings point into it; the caller puts it).  On
 * failure returns a static error code ("INVALID_JSON" or "INVALID_RECORD")
 * and writes the message (without the "at line L" part) into err.
 */
const char *import_parse_line(struct json_tokener *tok, const char *line,
    size_t len, struct json_object **root, struct store_import_record *rec,
    char *err, size_t err_size);

#endif /* EVDB_IMPORT_H */
