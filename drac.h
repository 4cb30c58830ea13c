/*
 * drac.h: the libdrac client API.
 *
 * The classic functions keep DRAC 1.12's signatures, so callers that
 * declare them themselves keep working.  Addresses passed as unsigned
 * long are in network byte order, as inet_addr() returns them.
 */
#ifndef DRAC_H
#define DRAC_H

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

#ifdef __cplusplus
}
#endif

#endif
