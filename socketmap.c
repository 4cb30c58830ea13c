/*
 * socketmap.c: the socketmap server in dracd's loop.  Listeners on UNIX
 * and TCP sockets, one non-blocking connection per MTA process (Postfix
 * smtpd, sendmail's per-session child), each with a small input and
 * output buffer, answered from dracd's table.  The framing and parsing
 * live in socketmap_proto.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dracd.h"
#include "log.h"
#include "socketmap.h"
#include "socketmap_proto.h"

/* After EMFILE or ENFILE, stop accepting for this long (spamd does too). */
#define ACCEPT_BACKOFF_MS	1000
/* Connections accepted per listener per turn of the loop. */
#define ACCEPT_BURST		32
/* Replies an MTA may leave unread before dracd stops reading from it. */
#define OUT_CAPACITY		(8 * SOCKETMAP_MAX_REPLY)

struct endpoint {
	int			 family;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	const char		*path;		/* AF_UNIX */
};

struct listener {
	int		 fd;
	const char	*spec;		/* as given, for log lines */
	const char	*path;		/* a UNIX socket to remove, or NULL */
	int64_t		 paused_until;	/* monotonic ms; 0: accepting */
};

struct connection {
	int		 fd;
	int		 closing;	/* malformed: flush the PERM, then close */
	int		 eof;		/* the MTA sends no more */
	int64_t		 last_active;	/* monotonic ms */
	size_t		 inlen, outlen;
	char		 peer[ADDR_TEXT_MAX + 8];
	char		 in[SOCKETMAP_MAX_FRAME];
	char		 out[OUT_CAPACITY];
};

/* Owned by the event loop; set up by socketmap_start. */
static struct {
	struct dracd		*dracd;
	struct listener		 listeners[SOCKETMAP_MAX_LISTENERS];
	size_t			 nlisteners;
	/* In pollfd order after the listeners; NULL once closed. */
	struct connection	*conns[SOCKETMAP_MAX_CONNECTIONS];
	size_t			 nconns;
	int64_t			 idle_ms;
	int64_t			 next_sweep;	/* monotonic ms */
	struct {
		uint64_t	 connections, lookups, found, malformed,
				 refused, idle_closed;
	} stats;
	struct log_limit	 limit_malformed, limit_refused,
				 limit_errors;
} sm = { .limit_malformed.what = "malformed socketmap requests",
    .limit_refused.what = "refused socketmap connections",
    .limit_errors.what = "socketmap connection errors" };

static int
parse_port(const char *text, struct sockaddr_storage *ss)
{
	char *end;
	unsigned long port;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	port = strtoul(text, &end, 10);
	if (errno || *end != '\0' || port == 0 || port > 65535)
		return -1;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

static int
parse_spec(const char *spec, struct endpoint *ep, char *err, size_t errsize)
{
	memset(ep, 0, sizeof(*ep));
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;

		ep->path = spec + 5;
		if (*ep->path != '/') {
			snprintf(err, errsize, "socketmap %s: the path must be "
			    "absolute", spec);
			return -1;
		}
		if (strlen(ep->path) >= sizeof(sun->sun_path)) {
			snprintf(err, errsize, "socketmap %s: path too long",
			    spec);
			return -1;
		}
		ep->family = AF_UNIX;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, ep->path);
		ep->addrlen = sizeof(*sun);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		char host[INET6_ADDRSTRLEN + 2];
		const char *rest = spec + 5, *colon = strrchr(rest, ':');
		const char *port = colon != NULL ? colon + 1 : rest;
		size_t hlen = colon != NULL ? (size_t)(colon - rest) : 0;
		struct drac_addr a;

		if (colon == NULL) {
			strcpy(host, "127.0.0.1");
		} else if (hlen >= 2 && rest[0] == '[' && rest[hlen - 1] == ']' &&
		    hlen - 2 < sizeof(host)) {
			memcpy(host, rest + 1, hlen - 2);
			host[hlen - 2] = '\0';
		} else if (hlen < sizeof(host)) {
			memcpy(host, rest, hlen);
			host[hlen] = '\0';
		} else {
			host[0] = '\0';
		}
		/* A literal address only: no name is ever resolved. */
		if (addr_parse(host, &a) == -1) {
			snprintf(err, errsize, "socketmap %s: want inet:PORT or "
			    "inet:ADDRESS:PORT with a literal IPv4 or IPv6 "
			    "address", spec);
			return -1;
		}
		ep->family = a.family;
		if (a.family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, a.bytes, 4);
			ep->addrlen = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 =
			    (struct sockaddr_in6 *)&ep->addr;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, a.bytes, 16);
			ep->addrlen = sizeof(*sin6);
		}
		if (parse_port(port, &ep->addr) == -1) {
			snprintf(err, errsize, "socketmap %s: bad port \"%s\"",
			    spec, port);
			return -1;
		}
		return 0;
	}
	snprintf(err, errsize, "socketmap \"%s\": want unix:/path, inet:PORT "
	    "or inet:ADDRESS:PORT", spec);
	return -1;
}

int
socketmap_check_spec(const char *spec, char *err, size_t errsize)
{
	struct endpoint ep;

	return parse_spec(spec, &ep, err, errsize);
}

/* A socket file left by an earlier run is replaced; a live one is not. */
static int
clear_stale_socket(const struct endpoint *ep, const char *spec, char *err,
    size_t errsize)
{
	struct stat st;
	int fd, live;

	if (lstat(ep->path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errsize, "socketmap %s: %s exists and is not a "
		    "socket", spec, ep->path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errsize, "socketmap %s: socket: %s", spec,
		    strerror(errno));
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)&ep->addr,
	    ep->addrlen) == 0;
	close(fd);
	if (live) {
		snprintf(err, errsize, "socketmap %s: another process is "
		    "serving on it", spec);
		return -1;
	}
	unlink(ep->path);
	return 0;
}

static int
on_loopback(const struct endpoint *ep)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&ep->addr;

	if (ep->family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ep->family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	return 1;
}

static int
open_listener(const char *spec, struct listener *l, char *err, size_t errsize)
{
	struct endpoint ep;
	int fd, on = 1;

	if (parse_spec(spec, &ep, err, errsize) == -1)
		return -1;
	if (ep.family == AF_UNIX &&
	    clear_stale_socket(&ep, spec, err, errsize) == -1)
		return -1;
	fd = socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsize, "socketmap %s: socket: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (ep.family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::]:PORT means IPv6 only; give 0.0.0.0 separately for IPv4. */
	if (ep.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&ep.addr, ep.addrlen) == -1) {
		snprintf(err, errsize, "socketmap %s: %s", spec,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* The MTA runs as another user; the directory guards the socket. */
	if ((ep.family == AF_UNIX && chmod(ep.path, 0666) == -1) ||
	    listen(fd, 128) == -1) {
		snprintf(err, errsize, "socketmap %s: %s", spec,
		    strerror(errno));
		if (ep.family == AF_UNIX)
			unlink(ep.path);	/* ours: bind made it */
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->spec = spec;
	l->path = ep.family == AF_UNIX ? ep.path : NULL;
	l->paused_until = 0;
	log_info("socketmap: serving on %s", spec);
	if (!on_loopback(&ep))
		log_warnx("socketmap %s is not on loopback: anyone who can "
		    "connect can ask which addresses may relay", spec);
	return 0;
}

int
socketmap_start(struct dracd *d, const char *const *specs, size_t nspecs,
    int64_t idle_ms, char *err, size_t errsize)
{
	if (nspecs > SOCKETMAP_MAX_LISTENERS) {
		snprintf(err, errsize, "at most %d socketmap endpoints",
		    SOCKETMAP_MAX_LISTENERS);
		return -1;
	}
	sm.dracd = d;
	sm.idle_ms = idle_ms;
	sm.next_sweep = INT64_MAX;
	for (size_t i = 0; i < nspecs; i++) {
		if (open_listener(specs[i], &sm.listeners[i], err,
		    errsize) == -1) {
			socketmap_stop();
			return -1;
		}
		sm.nlisteners++;
	}
	return 0;
}

static void
close_connection(size_t i)
{
	struct connection *c = sm.conns[i];

	if (c == NULL)
		return;
	close(c->fd);
	free(c);
	sm.conns[i] = NULL;
}

/* Drops the slots of closed connections, keeping the order. */
static void
compact(void)
{
	size_t kept = 0;

	for (size_t i = 0; i < sm.nconns; i++)
		if (sm.conns[i] != NULL)
			sm.conns[kept++] = sm.conns[i];
	sm.nconns = kept;
}

void
socketmap_stop(void)
{
	for (size_t i = 0; i < sm.nconns; i++)
		close_connection(i);
	sm.nconns = 0;
	for (size_t i = 0; i < sm.nlisteners; i++) {
		close(sm.listeners[i].fd);
		if (sm.listeners[i].path != NULL)
			unlink(sm.listeners[i].path);
	}
	sm.nlisteners = 0;
}

size_t
socketmap_npollfd(void)
{
	return sm.nlisteners + sm.nconns;
}

static int
out_has_room(const struct connection *c)
{
	return sizeof(c->out) - c->outlen >= SOCKETMAP_MAX_REPLY;
}

void
socketmap_pollfds(struct pollfd *fds)
{
	for (size_t i = 0; i < sm.nlisteners; i++) {
		/* A negative fd is skipped by poll(): the backoff. */
		fds[i].fd = sm.listeners[i].paused_until ? -1 :
		    sm.listeners[i].fd;
		fds[i].events = POLLIN;
		fds[i].revents = 0;
	}
	for (size_t i = 0; i < sm.nconns; i++) {
		struct connection *c = sm.conns[i];
		struct pollfd *p = &fds[sm.nlisteners + i];

		p->fd = c->fd;
		p->events = 0;
		p->revents = 0;
		/* Stop reading from an MTA that does not read its replies. */
		if (!c->closing && !c->eof && out_has_room(c))
			p->events |= POLLIN;
		if (c->outlen > 0)
			p->events |= POLLOUT;
	}
}

static void
peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct drac_addr a;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    addr_from_sockaddr((struct sockaddr *)&ss, &a) == -1) {
		snprintf(buf, size, "a local client");
		return;
	}
	addr_format(&a, buf, size);
}

static void
accept_connections(struct listener *l, int64_t now)
{
	for (int n = 0; n < ACCEPT_BURST; n++) {
		struct connection *c;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC), on = 1;

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Back off rather than spin on a full table. */
				if (log_limit_allow(&sm.limit_errors, now))
					log_warn("socketmap %s: accept; pausing "
					    "for %d ms", l->spec,
					    ACCEPT_BACKOFF_MS);
				l->paused_until = now + ACCEPT_BACKOFF_MS;
				if (l->paused_until < sm.next_sweep)
					sm.next_sweep = l->paused_until;
			}
			/* EAGAIN, or a connection that died in the queue. */
			return;
		}
		if (sm.nconns == SOCKETMAP_MAX_CONNECTIONS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			char peer[ADDR_TEXT_MAX];

			sm.stats.refused++;
			if (log_limit_allow(&sm.limit_refused, now)) {
				peer_name(fd, peer, sizeof(peer));
				if (sm.nconns == SOCKETMAP_MAX_CONNECTIONS)
					log_warnx("socketmap %s: already %d "
					    "connections (the most); closing a "
					    "new one from %s", l->spec,
					    SOCKETMAP_MAX_CONNECTIONS, peer);
				else
					log_warnx("socketmap %s: out of memory; "
					    "closing a new connection from %s",
					    l->spec, peer);
			}
			close(fd);
			continue;
		}
		/* Replies are small and awaited: send each at once. */
		if (l->path == NULL)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
		c->fd = fd;
		c->last_active = now;
		peer_name(fd, c->peer, sizeof(c->peer));
		sm.conns[sm.nconns++] = c;
		sm.stats.connections++;
		if (now + sm.idle_ms < sm.next_sweep)
			sm.next_sweep = now + sm.idle_ms;
	}
}

static void
queue_reply(struct connection *c, const char *status, const char *text)
{
	/* Callers made room first; a reply that cannot fit is a bug. */
	size_t n = socketmap_reply(c->out + c->outlen,
	    sizeof(c->out) - c->outlen, status, text);

	if (n == 0)
		fatalx("socketmap reply \"%s %s\" does not fit", status, text);
	c->outlen += n;
}

static void
log_malformed(struct connection *c, const char *why, int64_t now)
{
	sm.stats.malformed++;
	if (log_limit_allow(&sm.limit_malformed, now))
		log_warnx("socketmap: %s from %s%s", why, c->peer,
		    c->closing ? "; connection closed" : "");
}

/*
 * The table is the truth, with one refinement: an entry whose time has
 * come is not found even before expiry has removed it (expiry runs
 * between turns of the loop, and retries after a failed map write).
 */
static void
answer(struct connection *c, const char *payload, size_t len, int64_t now)
{
	struct socketmap_request r;
	struct table_entry *e;
	struct drac_addr a;
	char value[24];

	if (socketmap_split(payload, len, &r) == -1) {
		queue_reply(c, "PERM", "request is not <mapname> <key>");
		log_malformed(c, "a request without a map name", now);
		return;
	}
	sm.stats.lookups++;
	if (!socketmap_key_address(r.key, r.keylen, &a) ||
	    (e = table_find(&sm.dracd->table, &a)) == NULL ||
	    e->deadline <= clock_mono_ms() ||
	    e->expires * 1000 <= clock_wall_ms()) {
		queue_reply(c, "NOTFOUND", "");
		return;
	}
	sm.stats.found++;
	/* All digits: OK to Postfix; not empty: RELAY to sendmail. */
	snprintf(value, sizeof(value), "%" PRId64, e->expires);
	queue_reply(c, "OK", value);
}

/* Answers the complete requests in the input buffer, while replies fit. */
static int
answer_requests(struct connection *c, int64_t now)
{
	struct socketmap_frame f;
	size_t off = 0;
	int answered = 0;

	while (!c->closing && out_has_room(c)) {
		enum socketmap_frame_status st = socketmap_frame(c->in + off,
		    c->inlen - off, SOCKETMAP_MAX_REQUEST, &f);

		if (st == SOCKETMAP_FRAME_INCOMPLETE)
			break;
		answered = 1;
		if (st != SOCKETMAP_FRAME_COMPLETE) {
			/* The stream is lost: say why, then hang up. */
			c->closing = 1;
			queue_reply(c, "PERM", st == SOCKETMAP_FRAME_TOO_LONG ?
			    "request longer than 1024 bytes" :
			    "malformed netstring");
			log_malformed(c, st == SOCKETMAP_FRAME_TOO_LONG ?
			    "a request longer than 1024 bytes" :
			    "a malformed netstring", now);
			off = c->inlen;
			break;
		}
		answer(c, c->in + off + f.payload, f.length, now);
		off += f.consumed;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	return answered;
}

/* -1 when the connection is broken, else whether anything was sent. */
static int
flush(struct connection *c)
{
	ssize_t n;

	if (c->outlen == 0)
		return 0;
	n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 0 : -1;
	memmove(c->out, c->out + n, c->outlen - (size_t)n);
	c->outlen -= (size_t)n;
	return n > 0;
}

/* 0 to keep the connection, -1 to close it. */
static int
serve(struct connection *c, short revents, int64_t now)
{
	if (revents & POLLNVAL)
		return -1;
	/* Not after a PERM or EOF, nor into a full buffer (0 is EOF). */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->closing &&
	    !c->eof && c->inlen < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->inlen,
		    sizeof(c->in) - c->inlen, MSG_DONTWAIT);

		if (n == 0) {
			/* The MTA is done; what it sent before is still owed. */
			c->eof = 1;
		} else if (n > 0) {
			c->inlen += (size_t)n;
			c->last_active = now;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			return -1;
		}
	}
	/* Bounded: one read's requests at most, SOCKETMAP_MAX_FRAME bytes. */
	for (;;) {
		int answered = answer_requests(c, now), sent = flush(c);

		if (sent == -1)
			return -1;
		if (sent)
			c->last_active = now;
		if (!answered && !sent)
			break;
	}
	return (c->closing || c->eof) && c->outlen == 0 ? -1 : 0;
}

int
socketmap_dispatch(const struct pollfd *fds, size_t n)
{
	int64_t now = clock_mono_ms();
	size_t nconns = sm.nconns;
	int seen = 0;

	for (size_t i = 0; i < n && i < sm.nlisteners; i++) {
		if (fds[i].revents == 0)
			continue;
		seen++;
		accept_connections(&sm.listeners[i], now);
	}
	/* Connections accepted just now were not polled: skip them. */
	for (size_t i = sm.nlisteners; i < n && i - sm.nlisteners < nconns;
	    i++) {
		size_t k = i - sm.nlisteners;

		if (fds[i].revents == 0)
			continue;
		seen++;
		if (serve(sm.conns[k], fds[i].revents, now) == -1)
			close_connection(k);
	}
	compact();
	return seen;
}

int64_t
socketmap_maintain(int64_t now)
{
	int64_t next = INT64_MAX;

	if (now < sm.next_sweep)
		return sm.next_sweep - now;
	for (size_t i = 0; i < sm.nlisteners; i++) {
		struct listener *l = &sm.listeners[i];

		if (l->paused_until == 0)
			continue;
		if (l->paused_until <= now)
			l->paused_until = 0;
		else if (l->paused_until < next)
			next = l->paused_until;
	}
	for (size_t i = 0; i < sm.nconns; i++) {
		int64_t due = sm.conns[i]->last_active + sm.idle_ms;

		if (due <= now) {
			log_debug("socketmap: closing the connection from %s, "
			    "idle for %" PRId64 " s", sm.conns[i]->peer,
			    (now - sm.conns[i]->last_active) / 1000);
			sm.stats.idle_closed++;
			close_connection(i);
		} else if (due < next) {
			next = due;
		}
	}
	compact();
	sm.next_sweep = next;
	return next == INT64_MAX ? INT64_MAX : next - now;
}

void
socketmap_log_stats(void)
{
	if (sm.nlisteners == 0)
		return;
	log_info("socketmap stats: %zu open connections; since start %"
	    PRIu64 " connections, %" PRIu64 " lookups, %" PRIu64 " found, %"
	    PRIu64 " malformed, %" PRIu64 " refused, %" PRIu64 " closed idle",
	    sm.nconns, sm.stats.connections, sm.stats.lookups, sm.stats.found,
	    sm.stats.malformed, sm.stats.refused, sm.stats.idle_closed);
}
