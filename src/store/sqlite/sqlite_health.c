/*
 * sqlite_health.c - whether the store can still open its files.
 *
 * When the process runs out of descriptors (EMFILE) or the system does
 * (ENFILE), every namespace that is not already open fails, while the
 * registry connection, open since the start, still answers.  /health asks
 * here so that it fails too, instead of saying "ok" over a store that
 * cannot serve (issue 15, finding 8).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"

/* Descriptors a namespace needs: database, WAL, -shm, poke file. */
#define SQLITE_HEALTH_FDS 4

enum evdb_status
sqlite_health(struct sqlite_conn *c, char *why, size_t why_size)
{
	int fds[SQLITE_HEALTH_FDS], n, err = 0;

	for (n = 0; n < SQLITE_HEALTH_FDS; n++) {
		fds[n] = open(c->st->ns_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[n] < 0) {
			err = errno;
			break;
		}
	}
	while (n > 0)
		close(fds[--n]);
	if (err == 0)
		return EVDB_OK;
	snprintf(why, why_size, "The store cannot open its files: %s", strerror(err));
	log_warn(c->st->log, "store: health probe on %s: %s", c->st->ns_dir,
	    strerror(err));
	return EVDB_ERR_IO;
}
