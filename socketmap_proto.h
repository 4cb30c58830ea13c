/*
 * socketmap_proto.h: the socketmap protocol of sendmail and Postfix,
 * without sockets, so that unit tests and the fuzzer reach all of it.
 *
 * The MTA sends a netstring "<len>:<mapname> <key>," and reads one
 * netstring back: "OK <value>", "NOTFOUND ", "TEMP <reason>" or
 * "PERM <reason>".  Netstrings: the length in decimal, a colon, that
 * many bytes, a comma.
 */
#ifndef DRAC_SOCKETMAP_PROTO_H
#define DRAC_SOCKETMAP_PROTO_H

#include <stddef.h>

#include "addr.h"

/*
 * The longest request accepted: a map name and a host name (at most 253
 * characters) fit with room to spare.  A longer one is refused, and the
 * connection closed, before it is buffered.
 */
#define SOCKETMAP_MAX_REQUEST	1024
/* Bytes a whole request netstring may take: "1024:" + request + ",". */
#define SOCKETMAP_MAX_FRAME	(4 + 1 + SOCKETMAP_MAX_REQUEST + 1)
/* Room for any reply dracd sends, framing included. */
#define SOCKETMAP_MAX_REPLY	80

enum socketmap_frame_status {
	SOCKETMAP_FRAME_INCOMPLETE,	/* a prefix of a netstring: read more */
	SOCKETMAP_FRAME_COMPLETE,
	SOCKETMAP_FRAME_MALFORMED,	/* not a netstring */
	SOCKETMAP_FRAME_TOO_LONG	/* declares more than max bytes */
};

struct socketmap_frame {
	size_t	payload;	/* offset of the payload in the buffer */
	size_t	length;		/* payload bytes */
	size_t	consumed;	/* bytes of the whole netstring */
};

/*
 * Looks at the netstring that starts buf[0..len).  The answer for a
 * prefix of some bytes is INCOMPLETE or the same as for the bytes
 * themselves, so the caller may look again after every read.
 */
enum socketmap_frame_status socketmap_frame(const char *buf, size_t len,
	    size_t max, struct socketmap_frame *);

struct socketmap_request {
	const char	*name;		/* the map name, not terminated */
	size_t		 namelen;
	const char	*key;		/* the rest, not terminated */
	size_t		 keylen;
};

/* Splits a payload at its first space: -1 if there is no map name. */
int	socketmap_split(const char *payload, size_t len,
	    struct socketmap_request *);

/*
 * 1 and the address if the key is a client address in any form the MTAs
 * send: dotted quad, IPv6 compressed or uncompressed, with or without
 * sendmail's "IPv6:" tag, in any letter case.  0 for anything else (host
 * names, Postfix's "unknown", partial addresses).
 */
int	socketmap_key_address(const char *key, size_t len, struct drac_addr *);

/*
 * Writes the netstring "<status> <text>" into buf; returns its length,
 * or 0 if it does not fit.
 */
size_t	socketmap_reply(char *buf, size_t size, const char *status,
	    const char *text);

#endif
