/* log.h: one logging module for dracd (stderr before/with -f, syslog always). */
#ifndef DRAC_LOG_H
#define DRAC_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int to_stderr, int debug);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Whether log_debug() writes anything: spares formatting its arguments. */
int	log_debugging(void);
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/*
 * Bounds how often one kind of message is logged, so that a flood of bad
 * requests cannot flood syslog: LOG_LIMIT_LINES per LOG_LIMIT_WINDOW_MS,
 * then a count of what was left out.
 */
#define LOG_LIMIT_LINES		10
#define LOG_LIMIT_WINDOW_MS	10000

struct log_limit {
	const char	*what;		/* e.g. "denied requests" */
	long long	 window_start;
	unsigned	 logged;
	unsigned long	 suppressed;
};

/* 1 if the caller may log now. */
int	log_limit_allow(struct log_limit *, long long now_ms);

/* Copies s into buf with anything outside printable ASCII escaped as \ooo. */
const char *log_escape(const char *s, char *buf, unsigned long bufsize);

#endif
