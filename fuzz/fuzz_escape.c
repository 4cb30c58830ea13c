/*
 * fuzz_escape.c: libFuzzer target for log_escape(), which stands between
 * untrusted text (map keys written by others) and log lines.  The first
 * input byte picks the buffer size (1..256), the rest is the text.  The
 * output must fit, be terminated, hold printable ASCII only, and be a
 * faithful (if truncated) escaping of the input: unescaped, a prefix of
 * it, and all of it when there was room.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void __attribute__((noreturn))
oracle_failed(const char *what)
{
	fprintf(stderr, "fuzz_escape: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t bufsize, textlen, o, n = 0;
	char *text, *buf, *back;

	if (size < 1)
		return 0;
	bufsize = (size_t)data[0] + 1;
	text = malloc(size);
	buf = malloc(bufsize);		/* exact size: ASan sees overruns */
	back = malloc(size);
	if (text == NULL || buf == NULL || back == NULL)
		goto out;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	textlen = strlen(text);

	if (log_escape(text, buf, bufsize) != buf)
		oracle_failed("log_escape does not return its buffer");
	if (memchr(buf, '\0', bufsize) == NULL)
		oracle_failed("output not terminated within the buffer");
	for (o = 0; buf[o] != '\0'; o++) {
		unsigned char c = (unsigned char)buf[o];

		if (c < 0x20 || c >= 0x7f)
			oracle_failed("unprintable byte in the output");
		if (c != '\\') {
			back[n++] = (char)c;
			continue;
		}
		if (buf[o + 1] < '0' || buf[o + 1] > '3' ||
		    buf[o + 2] < '0' || buf[o + 2] > '7' ||
		    buf[o + 3] < '0' || buf[o + 3] > '7')
			oracle_failed("a backslash not starting \\ooo");
		back[n++] = (char)((buf[o + 1] - '0') << 6 |
		    (buf[o + 2] - '0') << 3 | (buf[o + 3] - '0'));
		o += 3;
	}
	if (n > textlen || memcmp(back, text, n) != 0)
		oracle_failed("output is not an escaping of the input");
	/* Truncated only when the next character could not fit. */
	if (n < textlen && o + 5 < bufsize)
		oracle_failed("output truncated although there was room");
out:
	free(text);
	free(buf);
	free(back);
	return 0;
}
