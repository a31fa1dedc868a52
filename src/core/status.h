/*
 * status.h - the one project-wide result type.
 *
 * Every fallible function in evdb returns an enum evdb_status; results go
 * back through out-parameters.  evdb_strerror() turns a status into a short,
 * stable English phrase for logs.  The mapping from a status to an HTTP
 * status and a wire error code lives in rpc.c, not here, because the same
 * status can mean different things to different endpoints.
 */
#ifndef EVDB_STATUS_H
#define EVDB_STATUS_H

enum evdb_status {
	EVDB_OK = 0,
	EVDB_ERR_NOMEM,		/* allocation failed (normally fatal, see xalloc.h) */
	EVDB_ERR_INVALID,	/* the caller's input is malformed */
	EVDB_ERR_NOT_FOUND,	/* the named thing does not exist */
	EVDB_ERR_EXISTS,	/* the named thing already exists */
	EVDB_ERR_VERSION_CONFLICT, /* expectedVersion did not match */
	EVDB_ERR_ID_CONFLICT,	/* the message id is used by another stream */
	EVDB_ERR_STORAGE_FULL,	/* the disk (or quota) is full */
	EVDB_ERR_BUSY,		/* the database stayed locked past the timeout */
	EVDB_ERR_BACKEND,	/* any other storage failure */
	EVDB_ERR_IO,		/* an operating-system I/O failure */
	EVDB_ERR_CONFIG,	/* configuration is unusable */
	EVDB_ERR_CLOSED,	/* the peer went away or the server is stopping */
	EVDB_ERR_LIMIT,		/* a configured limit was reached */
	EVDB_ERR_UNAVAILABLE,	/* the database server cannot be reached now */
	EVDB_ERR_GONE,		/* the stream was hard-deleted (tombstoned) */
	EVDB_STATUS_COUNT	/* number of statuses; not a status */
};

/** Returns a static, never-NULL description of status `st`. */
const char *evdb_strerror(enum evdb_status st);

#endif /* EVDB_STATUS_H */
