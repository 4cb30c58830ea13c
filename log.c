/* log.c: syslog plus optional stderr; x-variants do not append errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

/* Set once at startup by log_init, before any request is served. */
static struct {
	int to_stderr;
	int debug;
} log_conf;

int
log_debugging(void)
{
	return log_conf.debug;
}

void
log_init(const char *ident, int to_stderr, int debug)
{
	log_conf.to_stderr = to_stderr;
	log_conf.debug = debug;
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;
	int n;

	if (pri == LOG_DEBUG && !log_conf.debug)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	syslog(pri, "%s", msg);
	if (log_conf.to_stderr) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s dracd: %s\n", stamp, msg);
	}
	errno = saved;
}

#define LOGFN(name, pri, with_errno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(pri, fmt, ap, with_errno);			\
	va_end(ap);					\
}

LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)
LOGFN(log_debug, LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

int
log_limit_allow(struct log_limit *l, long long now_ms)
{
	if (now_ms - l->window_start >= LOG_LIMIT_WINDOW_MS) {
		if (l->suppressed > 0)
			log_warnx("%lu more %s not logged in the last %d s",
			    l->suppressed, l->what,
			    (int)((now_ms - l->window_start) / 1000));
		l->window_start = now_ms;
		l->logged = 0;
		l->suppressed = 0;
	}
	if (l->logged < LOG_LIMIT_LINES) {
		l->logged++;
		return 1;
	}
	l->suppressed++;
	return 0;
}

const char *
log_escape(const char *s, char *buf, unsigned long bufsize)
{
	unsigned long o = 0;

	if (bufsize == 0)
		return buf;
	for (; *s != '\0' && o + 5 < bufsize; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (unsigned long)snprintf(buf + o, bufsize - o,
			    "\\%03o", c);
	}
	buf[o] = '\0';
	return buf;
}
