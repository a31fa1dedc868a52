/*
 * log.c - line-atomic logging with in-place reopen (see log.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define LOG_LINE_MAX 4096

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 1;
		}
	}
	return 0;
}

enum evdb_status
log_open(struct log *l, const char *path, enum log_level level)
{
	l->fd = STDERR_FILENO;
	l->path = NULL;
	l->level = level;
	if (path == NULL || *path == '\0')
		return EVDB_OK;
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		l->fd = STDERR_FILENO;
		return EVDB_ERR_IO;
	}
	l->path = xstrdup(path);
	return EVDB_OK;
}

enum evdb_status
log_reopen(struct log *l)
{
	int fd;

	if (l->path == NULL)
		return EVDB_OK;
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return EVDB_ERR_IO;
	/* dup2 replaces the descriptor atomically: writers never see it closed. */
	if (dup2(fd, l->fd) < 0) {
		close(fd);
		return EVDB_ERR_IO;
	}
	close(fd);
	return EVDB_OK;
}

void
log_close(struct log *l)
{
	if (l == NULL)
		return;
	if (l->path != NULL && l->fd > STDERR_FILENO)
		close(l->fd);
	free(l->path);
	l->path = NULL;
	l->fd = STDERR_FILENO;
}

void
log_vmsg(struct log *l, enum log_level lvl, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char ts[TIMEFMT_LEN + 1];
	int n, m, i;
	int fd = l != NULL ? l->fd : STDERR_FILENO;

	if (l != NULL && lvl < l->level)
		return;
	timefmt_format_us(timefmt_now_us(), ts);
	n = snprintf(line, sizeof(line), "%s %s ", ts, log_level_names[lvl]);
	if (n < 0)
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* Request paths and names reach the log: never let them forge a line. */
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	/* One write per line; a short write to a log is not worth retrying. */
	(void)!write(fd, line, (size_t)n);
}

void
log_msg(struct log *l, enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(l, lvl, fmt, ap);
	va_end(ap);
}
