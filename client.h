/* client.h: libdrac's internals, shared by the classic and handle APIs. */
#ifndef DRAC_CLIENT_H
#define DRAC_CLIENT_H

#include <rpc/rpc.h>

#define XDRPROC(f)	((xdrproc_t)(void (*)(void))(f))
/* dracd may hold a reply up to a second (see writer.h): no retry before. */
#define RETRY_MS	1100

/*
 * A client for program version vers on server: an IPv4 or IPv6 address
 * or host name (UDP, or TCP if stream), or "unix:PATH" (dracd -U).  NULL
 * or "" means 127.0.0.1; timeout_ms <= 0 the default.  On failure
 * *errmsg (if not NULL) points to libtirpc's static message.
 */
CLIENT	*drac_client_create(const char *server, unsigned long vers,
	    int stream, int timeout_ms, char **errmsg);

/*
 * An IPv4 or IPv6 address in text (IPv4-mapped IPv6 counts as IPv4) into
 * bytes, network order: returns 4 or 16, or 0 for anything else.
 */
int	drac_parse_address(const char *text, unsigned char bytes[16]);

#endif
