/* socketmap_proto.c: netstring framing and request parsing (no I/O). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "socketmap_proto.h"

/* The "IPv6:" tag sendmail puts before an IPv6 ${client_addr}. */
#define IPV6_TAG	"ipv6:"
#define IPV6_TAG_LEN	5
/* Longer keys are no address: the full IPv6 form with an IPv4 tail. */
#define KEY_TEXT_MAX	(IPV6_TAG_LEN + INET6_ADDRSTRLEN)

enum socketmap_frame_status
socketmap_frame(const char *buf, size_t len, size_t max,
    struct socketmap_frame *f)
{
	size_t i = 0, declared = 0;

	/* Digits, at least one, no leading zero (the netstring rule). */
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i == 1 && buf[0] == '0')
			return SOCKETMAP_FRAME_MALFORMED;
		declared = declared * 10 + (size_t)(buf[i] - '0');
		/* Checked per digit, so the number never overflows. */
		if (declared > max)
			return SOCKETMAP_FRAME_TOO_LONG;
		i++;
	}
	if (i == len)
		return SOCKETMAP_FRAME_INCOMPLETE;
	if (i == 0 || buf[i] != ':')
		return SOCKETMAP_FRAME_MALFORMED;
	i++;
	if (len - i < declared + 1)
		return SOCKETMAP_FRAME_INCOMPLETE;
	if (buf[i + declared] != ',')
		return SOCKETMAP_FRAME_MALFORMED;
	f->payload = i;
	f->length = declared;
	f->consumed = i + declared + 1;
	return SOCKETMAP_FRAME_COMPLETE;
}

int
socketmap_split(const char *payload, size_t len, struct socketmap_request *r)
{
	const char *space = memchr(payload, ' ', len);

	if (space == NULL || space == payload)
		return -1;
	r->name = payload;
	r->namelen = (size_t)(space - payload);
	r->key = space + 1;
	r->keylen = len - r->namelen - 1;
	return 0;
}

int
socketmap_key_address(const char *key, size_t len, struct drac_addr *a)
{
	char text[KEY_TEXT_MAX + 1];
	const char *bare = text;
	uint8_t bytes[16];

	if (len == 0 || len > KEY_TEXT_MAX)
		return 0;
	/* Only what addresses are made of: no NUL, space or zone index. */
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    c == ':' || c == '.'))
			return 0;
		text[i] = c;
	}
	text[len] = '\0';
	if (strncmp(text, IPV6_TAG, IPV6_TAG_LEN) == 0) {
		/* Tagged: IPv6 text only, as sendmail gives it. */
		bare = text + IPV6_TAG_LEN;
		if (inet_pton(AF_INET6, bare, bytes) != 1)
			return 0;
		addr_from_v6(bytes, a);
		return 1;
	}
	return addr_parse(bare, a) == 0;
}

size_t
socketmap_reply(char *buf, size_t size, const char *status, const char *text)
{
	size_t slen = strlen(status), tlen = strlen(text);
	int n;

	/* "NOTFOUND " keeps its space: the form both MTAs document. */
	n = snprintf(buf, size, "%zu:%s %s,", slen + 1 + tlen, status, text);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}
