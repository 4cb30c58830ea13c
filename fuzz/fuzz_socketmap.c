/*
 * fuzz_socketmap.c: libFuzzer target for the socketmap protocol parser
 * (socketmap_proto.c): netstring framing, request splitting, the key
 * forms of sendmail and Postfix, reply formatting.
 *
 * Input: the first byte picks how the rest, the byte stream an MTA
 * would send, is cut into reads (1..16 bytes, or as much as fits); the
 * stream is then framed the way dracd's connections frame it, into a
 * buffer of SOCKETMAP_MAX_FRAME bytes.  Oracles:
 *  - the requests found are the same whether the stream arrives in one
 *    piece or in small reads (the framer may be asked after every read);
 *  - a complete frame lies inside the buffer, ends in a comma, and is
 *    INCOMPLETE one byte short; a malformed one stays malformed with
 *    more bytes behind it;
 *  - a key taken as an address reads back as the same address from the
 *    forms dracd prints, with sendmail's "IPv6:" tag, and upper-cased;
 *  - a reply frames back to exactly its text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketmap_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What one pass over the stream saw, in order. */
struct transcript {
	char	*text;
	size_t	 len, cap;
};

static void __attribute__((noreturn))
oracle_failed(const char *what)
{
	fprintf(stderr, "fuzz_socketmap: %s\n", what);
	abort();
}

static void
note(struct transcript *t, const char *bytes, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = (t->len + n) * 2 + 64;
		char *p = realloc(t->text, cap);

		if (p == NULL)
			oracle_failed("out of memory");
		t->text = p;
		t->cap = cap;
	}
	memcpy(t->text + t->len, bytes, n);
	t->len += n;
}

static void
check_key(const char *key, size_t len)
{
	struct drac_addr a, b;
	char text[ADDR_TEXT_MAX + 8], upper[64];
	int found = socketmap_key_address(key, len, &a);

	if (len < sizeof(upper)) {
		for (size_t i = 0; i < len; i++)
			upper[i] = key[i] >= 'a' && key[i] <= 'z' ?
			    (char)(key[i] - 'a' + 'A') : key[i];
		if (socketmap_key_address(upper, len, &b) != found ||
		    (found && !addr_equal(&a, &b)))
			oracle_failed("letter case changes the answer");
	}
	if (!found)
		return;
	addr_format(&a, text, sizeof(text));
	if (!socketmap_key_address(text, strlen(text), &b) ||
	    !addr_equal(&a, &b))
		oracle_failed("the printed address is not found again");
	if (a.family == AF_INET6) {
		memcpy(text, "IPv6:", 5);
		addr_format_full(&a, text + 5, sizeof(text) - 5);
		if (!socketmap_key_address(text, strlen(text), &b) ||
		    !addr_equal(&a, &b))
			oracle_failed("sendmail's IPv6: form is not found");
	}
}

static void
check_reply(const char *key, size_t len)
{
	char text[64], reply[SOCKETMAP_MAX_REPLY];
	struct socketmap_frame f;
	size_t n, tlen = 0;

	/* Replies carry printable text only (reasons, numbers). */
	for (size_t i = 0; i < len && tlen + 1 < sizeof(text); i++)
		if (key[i] >= 0x20 && key[i] < 0x7f)
			text[tlen++] = key[i];
	text[tlen] = '\0';
	n = socketmap_reply(reply, sizeof(reply), "PERM", text);
	if (n == 0)
		return;		/* did not fit: refused, fine */
	if (socketmap_frame(reply, n, SOCKETMAP_MAX_REQUEST, &f) !=
	    SOCKETMAP_FRAME_COMPLETE || f.consumed != n ||
	    f.length != 5 + tlen || memcmp(reply + f.payload, "PERM ", 5) != 0 ||
	    memcmp(reply + f.payload + 5, text, tlen) != 0)
		oracle_failed("a reply does not frame back to its text");
}

/*
 * Feeds the stream in reads of chunk bytes (0: whatever fits) and frames
 * as a connection does: after each read, every complete request.
 */
static void
run(const uint8_t *data, size_t size, size_t chunk, struct transcript *t,
    int checks)
{
	char buf[SOCKETMAP_MAX_FRAME];
	size_t inlen = 0, pos = 0;

	while (pos < size) {
		size_t room = sizeof(buf) - inlen, n = size - pos;

		if (chunk && n > chunk)
			n = chunk;
		if (n > room)
			n = room;
		if (n == 0)
			oracle_failed("a full buffer without a complete frame");
		memcpy(buf + inlen, data + pos, n);
		inlen += n;
		pos += n;
		for (;;) {
			struct socketmap_frame f;
			struct socketmap_request r;
			enum socketmap_frame_status st = socketmap_frame(buf,
			    inlen, SOCKETMAP_MAX_REQUEST, &f);

			if (st == SOCKETMAP_FRAME_INCOMPLETE)
				break;
			if (st != SOCKETMAP_FRAME_COMPLETE) {
				if (checks && inlen < sizeof(buf)) {
					char more[SOCKETMAP_MAX_FRAME];

					memcpy(more, buf, inlen);
					more[inlen] = 'x';
					if (socketmap_frame(more, inlen + 1,
					    SOCKETMAP_MAX_REQUEST, &f) != st)
						oracle_failed("more bytes undo "
						    "an error");
				}
				note(t, st == SOCKETMAP_FRAME_TOO_LONG ? "T" :
				    "M", 1);
				return;		/* dracd hangs up */
			}
			if (f.length > SOCKETMAP_MAX_REQUEST ||
			    f.consumed != f.payload + f.length + 1 ||
			    f.consumed > inlen || buf[f.consumed - 1] != ',')
				oracle_failed("a frame outside its bounds");
			if (checks && socketmap_frame(buf, f.consumed - 1,
			    SOCKETMAP_MAX_REQUEST, &f) !=
			    SOCKETMAP_FRAME_INCOMPLETE)
				oracle_failed("one byte short is not "
				    "incomplete");
			/* The first call's answer again (f was reused). */
			socketmap_frame(buf, inlen, SOCKETMAP_MAX_REQUEST, &f);
			note(t, "C", 1);
			note(t, buf + f.payload, f.length);
			note(t, "|", 1);
			if (checks && socketmap_split(buf + f.payload, f.length,
			    &r) == 0) {
				check_key(r.key, r.keylen);
				check_reply(r.key, r.keylen);
			}
			memmove(buf, buf + f.consumed, inlen - f.consumed);
			inlen -= f.consumed;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript whole = { 0 }, pieces = { 0 };
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] & 0x0f) + 1;
	run(data + 1, size - 1, 0, &whole, 1);
	run(data + 1, size - 1, chunk, &pieces, 0);
	if (whole.len != pieces.len ||
	    (whole.len && memcmp(whole.text, pieces.text, whole.len) != 0))
		oracle_failed("the reads' sizes change what is framed");
	free(whole.text);
	free(pieces.text);
	return 0;
}
