/*
 * cli_progress.c - the progress display of the long-running subcommands
 * (see cli_progress.h).
 */
#include "config.h"

#include <time.h>
#include <unistd.h>

#include "cli/cli_progress.h"

#define CLI_PROGRESS_BAR_WIDTH 20
#define CLI_PROGRESS_REDRAW_US 100000	/* at most ten redraws a second */

static int64_t
cli_progress_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Formats a duration of s seconds as "M:SS" or "H:MM:SS". */
static void
cli_progress_duration(double s, char *out, size_t size)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, size, "%ld:%02ld", t / 60, t % 60);
}

void
cli_progress_init(struct cli_progress *p, FILE *out, bool quiet,
    const char *verb, const char *unit)
{
	p->out = quiet ? NULL : out;
	p->verb = verb;
	p->unit = unit;
	p->tty = p->out != NULL && isatty(fileno(p->out));
	p->drawn = false;
	p->start_us = cli_progress_now_us();
	p->last_draw_us = 0;
	p->count = 0;
	p->work_total = -1;
	p->work_done = 0;
	p->plain_mark = 0;
}

void
cli_progress_set_total(struct cli_progress *p, int64_t work_total)
{
	p->work_total = work_total > 0 ? work_total : -1;
}

double
cli_progress_elapsed(const struct cli_progress *p)
{
	return (double)(cli_progress_now_us() - p->start_us) / 1e6;
}

/* Redraws the terminal line. */
static void
cli_progress_draw(struct cli_progress *p, double elapsed)
{
	char bar[CLI_PROGRESS_BAR_WIDTH + 1], eta[32];
	double rate = elapsed > 0 ? (double)p->count / elapsed : 0, frac;
	int i, filled;

	fprintf(p->out, "\r%s ", p->verb);
	if (p->work_total > 0) {
		frac = (double)p->work_done / (double)p->work_total;
		if (frac > 1)
			frac = 1;
		filled = (int)(frac * CLI_PROGRESS_BAR_WIDTH);
		for (i = 0; i < CLI_PROGRESS_BAR_WIDTH; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[i] = '\0';
		fprintf(p->out, "[%s] %3d%%  ", bar, (int)(frac * 100));
	}
	fprintf(p->out, "%lld %s  %.0f/s", (long long)p->count, p->unit, rate);
	if (p->work_total > 0 && p->work_done > 0 && elapsed > 0.5) {
		cli_progress_duration(elapsed * (double)(p->work_total - p->work_done) /
		    (double)p->work_done, eta, sizeof(eta));
		fprintf(p->out, "  ETA %s", eta);
	}
	fputs("\033[K", p->out);	/* clear what a longer line left */
	fflush(p->out);
	p->drawn = true;
}

void
cli_progress_update(struct cli_progress *p, int64_t count, int64_t work_done)
{
	int64_t now;
	double elapsed;

	p->count = count;
	if (work_done >= 0)
		p->work_done = work_done;
	if (p->out == NULL)
		return;
	now = cli_progress_now_us();
	elapsed = (double)(now - p->start_us) / 1e6;
	if (p->tty) {
		if (p->drawn && now - p->last_draw_us < CLI_PROGRESS_REDRAW_US)
			return;
		p->last_draw_us = now;
		cli_progress_draw(p, elapsed);
		return;
	}
	if (count / CLI_PROGRESS_PLAIN_EVERY == p->plain_mark)
		return;
	p->plain_mark = count / CLI_PROGRESS_PLAIN_EVERY;
	fprintf(p->out, "%s %lld %s (%.0f/s)\n", p->verb, (long long)count,
	    p->unit, elapsed > 0 ? (double)count / elapsed : 0.0);
	fflush(p->out);
}

void
cli_progress_break(struct cli_progress *p)
{
	if (p->out != NULL && p->drawn) {
		fputc('\n', p->out);
		fflush(p->out);
	}
	p->drawn = false;
}

void
cli_progress_finish(struct cli_progress *p, int64_t count,
    const char *elapsed, const char *extra)
{
	char own[32];
	double secs = cli_progress_elapsed(p);

	p->count = count;
	if (p->out == NULL)
		return;
	if (elapsed == NULL) {
		snprintf(own, sizeof(own), "%.1fs", secs);
		elapsed = own;
	}
	fprintf(p->out, "%s%s %lld %s in %s%s", p->tty ? "\r" : "", p->verb,
	    (long long)count, p->unit, elapsed, extra != NULL ? extra : "");
	if (p->tty)
		fputs("\033[K", p->out);
	fputc('\n', p->out);
	fflush(p->out);
	p->drawn = false;
}
