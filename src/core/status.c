/*
 * status.c - descriptions of the project-wide status codes.
 */
#include "config.h"

#include <stddef.h>

#include "core/status.h"

static const char *const status_text[EVDB_STATUS_COUNT] = {
	[EVDB_OK] = "success",
	[EVDB_ERR_NOMEM] = "out of memory",
	[EVDB_ERR_INVALID] = "invalid input",
	[EVDB_ERR_NOT_FOUND] = "not found",
	[EVDB_ERR_EXISTS] = "already exists",
	[EVDB_ERR_VERSION_CONFLICT] = "stream version conflict",
	[EVDB_ERR_ID_CONFLICT] = "message id conflict",
	[EVDB_ERR_STORAGE_FULL] = "storage full",
	[EVDB_ERR_BUSY] = "database busy",
	[EVDB_ERR_BACKEND] = "storage backend failure",
	[EVDB_ERR_IO] = "input/output failure",
	[EVDB_ERR_CONFIG] = "bad configuration",
	[EVDB_ERR_CLOSED] = "connection closed",
	[EVDB_ERR_LIMIT] = "limit reached",
	[EVDB_ERR_UNAVAILABLE] = "storage backend unavailable",
	[EVDB_ERR_GONE] = "stream deleted",
};

const char *
evdb_strerror(enum evdb_status st)
{
	if ((unsigned)st >= EVDB_STATUS_COUNT || status_text[st] == NULL)
		return "unknown status";
	return status_text[st];
}
