/* addr.h: IPv4/IPv6 client addresses as dracd stores, checks and prints them. */
#ifndef DRAC_ADDR_H
#define DRAC_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text form: a full IPv6 address plus a "/128" suffix and NUL. */
#define ADDR_TEXT_MAX	64

struct drac_addr {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		bytes[16];	/* network order; IPv4 uses bytes[0..3] */
};

int	addr_parse(const char *, struct drac_addr *);
int	addr_from_sockaddr(const struct sockaddr *, struct drac_addr *);
void	addr_from_v4(uint32_t host_order, struct drac_addr *);
void	addr_from_v6(const uint8_t bytes[16], struct drac_addr *);
int	addr_equal(const struct drac_addr *, const struct drac_addr *);
/* Why the address can never be a mail client, or NULL if it can be. */
const char *addr_unusable(const struct drac_addr *);
/* inet_ntop form: dotted quad, or compressed lower-case IPv6. */
const char *addr_format(const struct drac_addr *, char *, size_t);
/* IPv6 with all eight groups and no leading zeros, as sendmail prints it. */
const char *addr_format_full(const struct drac_addr *, char *, size_t);

#endif
