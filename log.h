/* log.h: one logging module for dracd (stderr before/with -f, syslog always). */
#ifndef DRAC_LOG_H
#define DRAC_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int to_stderr, int debug);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Copies s into buf with anything outside printable ASCII escaped as \ooo. */
const char *log_escape(const char *s, char *buf, unsigned long bufsize);

#endif
