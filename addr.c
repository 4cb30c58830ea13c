/* addr.c: parse, normalise, classify and print client addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

void
addr_from_v4(uint32_t host_order, struct drac_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(host_order >> 24);
	a->bytes[1] = (uint8_t)(host_order >> 16);
	a->bytes[2] = (uint8_t)(host_order >> 8);
	a->bytes[3] = (uint8_t)host_order;
}

/* An IPv4-mapped IPv6 address is the IPv4 client it stands for. */
void
addr_from_v6(const uint8_t bytes[16], struct drac_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (memcmp(bytes, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		a->family = AF_INET;
		memcpy(a->bytes, bytes + 12, 4);
	} else {
		a->family = AF_INET6;
		memcpy(a->bytes, bytes, 16);
	}
}

int
addr_parse(const char *text, struct drac_addr *a)
{
	uint8_t buf[16];

	if (inet_pton(AF_INET, text, buf) == 1) {
		memset(a, 0, sizeof(*a));
		a->family = AF_INET;
		memcpy(a->bytes, buf, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, buf) == 1) {
		addr_from_v6(buf, a);
		return 0;
	}
	return -1;
}

int
addr_from_sockaddr(const struct sockaddr *sa, struct drac_addr *a)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memset(a, 0, sizeof(*a));
		a->family = AF_INET;
		memcpy(a->bytes, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		addr_from_v6(sin6->sin6_addr.s6_addr, a);
		return 0;
	}
	return -1;
}

int
addr_equal(const struct drac_addr *a, const struct drac_addr *b)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->bytes, b->bytes, len) == 0;
}

const char *
addr_unusable(const struct drac_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET) {
		if (memcmp(a->bytes, zero, 4) == 0)
			return "unspecified address";
		if (a->bytes[0] == 255 && a->bytes[1] == 255 &&
		    a->bytes[2] == 255 && a->bytes[3] == 255)
			return "broadcast address";
		if ((a->bytes[0] & 0xf0) == 0xe0)
			return "multicast address";
		return NULL;
	}
	if (memcmp(a->bytes, zero, 16) == 0)
		return "unspecified address";
	if (a->bytes[0] == 0xff)
		return "multicast address";
	return NULL;
}

const char *
addr_format(const struct drac_addr *a, char *buf, size_t size)
{
	if (inet_ntop(a->family, a->bytes, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

const char *
addr_format_full(const struct drac_addr *a, char *buf, size_t size)
{
	size_t off = 0;

	if (a->family == AF_INET)
		return addr_format(a, buf, size);
	for (int i = 0; i < 8 && off < size; i++) {
		unsigned group = (unsigned)a->bytes[2 * i] << 8 | a->bytes[2 * i + 1];
		int n = snprintf(buf + off, size - off, i ? ":%x" : "%x", group);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}
