/*
 * socketmap.h: dracd's socketmap server.  sendmail and Postfix ask over
 * a socket whether a client address may relay, and dracd answers from
 * its table: no map file, nothing stale, an add is visible at once, even
 * inside an SMTP session already open.  It runs in dracd's poll() loop
 * beside the RPC service; every socket is non-blocking.
 */
#ifndef DRAC_SOCKETMAP_H
#define DRAC_SOCKETMAP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct dracd;

/* Listening endpoints at most (-S given that many times). */
#define SOCKETMAP_MAX_LISTENERS	4
/* MTA connections held open at most; more are accepted and closed. */
#define SOCKETMAP_MAX_CONNECTIONS 512
/* A connection silent this long is closed (-T). */
#define SOCKETMAP_DEFAULT_IDLE_S 600

/*
 * Checks an endpoint: "unix:/absolute/path", "inet:PORT" (127.0.0.1),
 * "inet:HOST:PORT" or "inet:[HOST]:PORT" with HOST a literal IPv4 or
 * IPv6 address.  0, or -1 with the reason in err.
 */
int	socketmap_check_spec(const char *spec, char *err, size_t errsize);
/*
 * Opens the listeners.  The specs must stay valid while serving.  0, or
 * -1 with the reason in err and nothing left open.
 */
int	socketmap_start(struct dracd *, const char *const *specs,
	    size_t nspecs, int64_t idle_ms, char *err, size_t errsize);
/* Closes everything and removes the UNIX sockets. */
void	socketmap_stop(void);

/* How many pollfd entries socketmap_pollfds() fills now. */
size_t	socketmap_npollfd(void);
void	socketmap_pollfds(struct pollfd *);
/*
 * Serves what poll() reported for the n entries that socketmap_pollfds()
 * filled; returns how many of them had events, for the caller's count.
 */
int	socketmap_dispatch(const struct pollfd *, size_t n);
/*
 * Closes idle connections and resumes listeners paused by a lack of
 * file descriptors; returns the milliseconds until it wants to run
 * again, or INT64_MAX.
 */
int64_t	socketmap_maintain(int64_t now_ms);
void	socketmap_log_stats(void);

#endif
