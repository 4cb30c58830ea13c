/*
 * drac.h: the libdrac client API.
 *
 * The classic functions keep DRAC 1.12's signatures, so callers that
 * declare them themselves keep working.  Addresses passed as unsigned
 * long are in network byte order, as inet_addr() returns them.
 */
#ifndef DRAC_H
#define DRAC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results besides the server's ADD_* status (0..3). */
#define DRAC_ERR_CREATE		(-1)	/* could not reach the server */
#define DRAC_ERR_CALL		(-2)	/* the call failed or timed out */
#define DRAC_ERR_ADDRESS	(-3)	/* not an IPv4 or IPv6 address */

#define DRAC_OK			0	/* ADD_SUCCESS */
#define DRAC_PERM		1	/* ADD_PERM: not allowed, or refused */
#define DRAC_SYSERR		2	/* ADD_SYSERR */
#define DRAC_UNKNOWN		3	/* ADD_UNKOWN */

/* Default bound on every call, connection set-up included. */
#define DRAC_DEFAULT_TIMEOUT_MS	2000

int	dracauth(char *server, unsigned long userip, char **errmsg);
int	dracconn(char *server, char **errmsg);
int	dracsend(unsigned long userip, char **errmsg);
int	dracdisc(char **errmsg);

int	dracauth6(char *server, unsigned char *userip6, char **errmsg);
int	dracconn6(char *server, char **errmsg);
int	dracsend6(unsigned char *userip6, char **errmsg);
int	dracdisc6(char **errmsg);

/*
 * Authorizes address, given as text (IPv4, IPv6 or IPv4-mapped IPv6),
 * picking protocol version 1 or 2.  timeout_ms 0 means the default.
 */
int	dracauth_str(const char *server, const char *address, int timeout_ms,
	    char **errmsg);

/*
 * The handle API (protocol version 3; dracd 1.0 and later).  Reentrant:
 * a handle may be shared by threads, calls on it take turns.  Addresses
 * are text (IPv4 or IPv6); times are epoch seconds.  Every call returns
 * 0 or one of these codes; drac_strerror() names a code and
 * drac_client_error() tells the details of a handle's last failure.
 */
#define DRAC_E_NOTFOUND		1	/* no such entry */
#define DRAC_E_DENIED		2	/* not in the server's allow list */
#define DRAC_E_INVALID		3	/* address the server will not take */
#define DRAC_E_SERVER		4	/* the server failed (map, table full) */
#define DRAC_E_UNREACHABLE	5	/* no dracd there, or not registered */
#define DRAC_E_TIMEOUT		6	/* no answer in time */
#define DRAC_E_PROTOCOL		7	/* the server does not speak version 3 */
#define DRAC_E_ADDRESS		8	/* not an IPv4 or IPv6 address */
#define DRAC_E_NOMEM		9

struct drac_client;

struct drac_entry {
	char		address[46];	/* INET6_ADDRSTRLEN */
	int64_t		expires;
};

struct drac_stats {
	uint64_t	entries;	/* live now */
	uint64_t	adds, renewals, revokes, expired;
	uint64_t	denied, refused, errors;
	uint64_t	uptime;		/* seconds */
	uint64_t	default_ttl, max_ttl;
};

/* server as for dracauth_str(); timeout_ms 0: the default.  NULL: ENOMEM. */
struct drac_client *drac_client_open(const char *server, int timeout_ms);
void	drac_client_close(struct drac_client *);
/* ttl 0: the server's default; the server caps it.  expires may be NULL. */
int	drac_add(struct drac_client *, const char *address, unsigned ttl,
	    int64_t *expires);
int	drac_del(struct drac_client *, const char *address);
int	drac_query(struct drac_client *, const char *address,
	    int64_t *expires);
/*
 * Calls fn for every entry, a page at a time; fn returning nonzero stops
 * the listing and drac_list returns that value.
 */
int	drac_list(struct drac_client *, int (*fn)(const struct drac_entry *,
	    void *), void *arg);
int	drac_stats(struct drac_client *, struct drac_stats *);
int	drac_flush(struct drac_client *, uint64_t *removed);
const char *drac_strerror(int code);
/* Copies the last failure's details into buf; returns buf. */
char	*drac_client_error(struct drac_client *, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
