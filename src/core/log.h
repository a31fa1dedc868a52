/*
 * log.h - the server log: one line per event, safe from any thread.
 *
 * Lines look like
 *   2026-11-27T03:25:16.123456Z info worker=3 rpc stream.write 200 0.412ms
 * and are written with a single write(2) each, so lines from different
 * threads (and processes sharing an O_APPEND file) never interleave.
 * log_reopen() swaps the file descriptor in place with dup2(), so it is safe
 * to call from the signal-handling thread while workers keep logging; that is
 * how SIGHUP cooperates with logrotate.  Control characters in a message
 * are written as '?', so a request path cannot forge a log line.  Tokens
 * must never be passed in.
 */
#ifndef EVDB_LOG_H
#define EVDB_LOG_H

#include <stdarg.h>

#include "core/status.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

struct log {
	int fd;			/* destination; 2 (stderr) when no path */
	char *path;		/* owned; NULL when logging to stderr */
	enum log_level level;	/* lines below this level are dropped */
};

/** Opens path for appending (NULL or "" means stderr). */
enum evdb_status log_open(struct log *l, const char *path,
    enum log_level level);
/** Reopens the file at the same path (after rotation). */
enum evdb_status log_reopen(struct log *l);
/** Closes the file; accepts NULL. */
void log_close(struct log *l);
/** Parses "debug", "info", "warn" or "error"; false when unknown. */
int log_level_parse(const char *s, enum log_level *out);
/** Writes one line at level lvl; a NULL l writes to stderr. */
void log_msg(struct log *l, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** va_list form of log_msg. */
void log_vmsg(struct log *l, enum log_level lvl, const char *fmt, va_list ap);

#define log_debug(l, ...) log_msg((l), LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(l, ...) log_msg((l), LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(l, ...) log_msg((l), LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(l, ...) log_msg((l), LOG_LEVEL_ERROR, __VA_ARGS__)

#endif /* EVDB_LOG_H */
