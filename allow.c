/*
 * allow.c: the notifier allow list.  Classic DRAC lines are
 * "netmask netaddr" in dotted quads; we also take CIDR for IPv4 and IPv6,
 * bare addresses, and "uid N" / "user NAME" for the local UNIX socket.  Unlike DRAC 1.12, a line that does not parse is an
 * error: silently ignoring it could lock out a POP server or let in a net.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"

static void
mask_from_prefix(uint8_t mask[16], unsigned prefix)
{
	memset(mask, 0, 16);
	for (unsigned i = 0; i < 16 && prefix > 0; i++) {
		unsigned bits = prefix >= 8 ? 8 : prefix;

		mask[i] = (uint8_t)(0xff << (8 - bits));
		prefix -= bits;
	}
}

/* Contiguous masks only: a gap is far more likely a typo than a policy. */
static int
mask_is_contiguous(const uint8_t *mask, size_t len)
{
	int seen_zero = 0;

	for (size_t i = 0; i < len * 8; i++) {
		int bit = mask[i / 8] >> (7 - i % 8) & 1;

		if (bit && seen_zero)
			return 0;
		if (!bit)
			seen_zero = 1;
	}
	return 1;
}

static void
apply_mask(struct allow_rule *rule)
{
	for (size_t i = 0; i < 16; i++)
		rule->net.bytes[i] &= rule->mask[i];
}

static int
parse_cidr(char *token, struct allow_rule *rule, const char **why)
{
	char *slash = strchr(token, '/');
	char *end;
	unsigned long prefix;
	unsigned maxlen;

	*slash = '\0';
	if (addr_parse(token, &rule->net) == -1 || strchr(token, '/')) {
		*why = "bad address before '/'";
		return -1;
	}
	maxlen = rule->net.family == AF_INET ? 32 : 128;
	/* "::ffff:192.0.2.0/120" was normalised to IPv4: keep its meaning. */
	if (rule->net.family == AF_INET && strchr(token, ':'))
		maxlen = 128;
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno ||
	    prefix > maxlen) {
		*why = "bad prefix length after '/'";
		return -1;
	}
	if (maxlen == 128 && rule->net.family == AF_INET) {
		if (prefix < 96) {
			*why = "IPv4-mapped prefix shorter than /96";
			return -1;
		}
		prefix -= 96;
	}
	mask_from_prefix(rule->mask, (unsigned)prefix);
	apply_mask(rule);
	return 1;
}

/* "uid N" or "user NAME": who may notify over the UNIX socket. */
static int
parse_local(char **tokens, int ntokens, struct allow_rule *rule,
    const char **why)
{
	char *end;
	unsigned long uid;

	if (ntokens != 2) {
		*why = "expected \"uid NUMBER\" or \"user NAME\"";
		return -1;
	}
	rule->is_uid = 1;
	if (tokens[0][1] == 'i') {
		errno = 0;
		uid = strtoul(tokens[1], &end, 10);
		if (tokens[1][0] < '0' || tokens[1][0] > '9' || *end != '\0' ||
		    errno || uid > 0xfffffffeUL) {
			*why = "bad uid";
			return -1;
		}
		rule->uid = (uid_t)uid;
		return 1;
	}
	{
		struct passwd *pw = getpwnam(tokens[1]);

		if (pw == NULL) {
			*why = "no such user";
			return -1;
		}
		rule->uid = pw->pw_uid;
	}
	return 1;
}

int
allow_parse_line(const char *line, struct allow_rule *rule, const char **why)
{
	char buf[512];
	char *tokens[3];
	int ntokens = 0;
	char *p, *save = NULL;
	size_t len = strcspn(line, "#\n");

	if (len >= sizeof(buf)) {
		*why = "line too long";
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = strtok_r(buf, " \t\r", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r", &save)) {
		if (ntokens == 3)
			break;
		tokens[ntokens++] = p;
	}
	memset(rule, 0, sizeof(*rule));
	if (ntokens == 0)
		return 0;
	if (strcmp(tokens[0], "uid") == 0 || strcmp(tokens[0], "user") == 0)
		return parse_local(tokens, ntokens, rule, why);
	if (ntokens > 2) {
		*why = "too many fields (expected \"netmask netaddr\" or an "
		    "address/prefix)";
		return -1;
	}
	if (ntokens == 1) {
		if (strchr(tokens[0], '/'))
			return parse_cidr(tokens[0], rule, why);
		if (addr_parse(tokens[0], &rule->net) == -1) {
			*why = "not an IPv4 or IPv6 address";
			return -1;
		}
		memset(rule->mask, 0xff, 16);
		return 1;
	}

	struct drac_addr mask;

	if (addr_parse(tokens[0], &mask) == -1 || mask.family != AF_INET ||
	    strchr(tokens[0], ':')) {
		*why = "netmask is not a dotted-quad IPv4 netmask";
		return -1;
	}
	if (addr_parse(tokens[1], &rule->net) == -1 ||
	    rule->net.family != AF_INET || strchr(tokens[1], ':')) {
		*why = "netaddr is not a dotted-quad IPv4 address";
		return -1;
	}
	if (!mask_is_contiguous(mask.bytes, 4)) {
		*why = mask_is_contiguous(rule->net.bytes, 4) ?
		    "netmask is not contiguous (fields reversed? the order is "
		    "\"netmask netaddr\")" : "netmask is not contiguous";
		return -1;
	}
	memcpy(rule->mask, mask.bytes, 4);
	apply_mask(rule);
	return 1;
}

static int
list_append(struct allow_list *list, const struct allow_rule *rule)
{
	if (list->count == list->capacity) {
		size_t cap = list->capacity ? list->capacity * 2 : 8;
		struct allow_rule *r = realloc(list->rules, cap * sizeof(*r));

		if (r == NULL)
			return -1;
		list->rules = r;
		list->capacity = cap;
	}
	list->rules[list->count++] = *rule;
	return 0;
}

int
allow_load_stream(FILE *fp, const char *name, struct allow_list *list,
    char *err, size_t errsize)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	memset(list, 0, sizeof(*list));
	while (getline(&line, &cap, fp) != -1) {
		struct allow_rule rule;
		const char *why = NULL;

		lineno++;
		switch (allow_parse_line(line, &rule, &why)) {
		case -1:
			snprintf(err, errsize, "%s:%lu: %s", name, lineno, why);
			rc = -1;
			break;
		case 1:
			if (list_append(list, &rule) == -1) {
				snprintf(err, errsize, "%s: out of memory", name);
				rc = -1;
			}
			break;
		}
		if (rc == -1)
			break;
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errsize, "%s: read error: %s", name,
		    strerror(errno));
		rc = -1;
	}
	free(line);
	if (rc == -1)
		allow_free(list);
	return rc;
}

int
allow_add_default(struct allow_list *list)
{
	struct allow_rule rule;
	const char *why;
	struct ifaddrs *ifa, *i;

	if (allow_parse_line("127.0.0.0/8", &rule, &why) != 1 ||
	    list_append(list, &rule) == -1 ||
	    allow_parse_line("::1", &rule, &why) != 1 ||
	    list_append(list, &rule) == -1 ||
	    allow_parse_line("uid 0", &rule, &why) != 1 ||
	    list_append(list, &rule) == -1)
		return -1;
	if (getifaddrs(&ifa) == -1)
		return -1;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL ||
		    addr_from_sockaddr(i->ifa_addr, &rule.net) == -1)
			continue;
		memset(rule.mask, 0xff, sizeof(rule.mask));
		if (list_append(list, &rule) == -1) {
			freeifaddrs(ifa);
			return -1;
		}
	}
	freeifaddrs(ifa);
	return 0;
}

int
allow_load(const char *path, struct allow_list *list, int *defaulted,
    char *err, size_t errsize)
{
	FILE *fp = fopen(path, "r");
	int rc;

	*defaulted = 0;
	if (fp == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			return -1;
		}
		memset(list, 0, sizeof(*list));
		*defaulted = 1;
		if (allow_add_default(list) == -1) {
			snprintf(err, errsize, "default allow list: %s",
			    strerror(errno));
			allow_free(list);
			return -1;
		}
		return 0;
	}
	rc = allow_load_stream(fp, path, list, err, errsize);
	fclose(fp);
	return rc;
}

int
allow_permits(const struct allow_list *list, const struct notifier *n)
{
	const struct drac_addr *a = &n->addr;

	for (size_t r = 0; r < list->count; r++) {
		const struct allow_rule *rule = &list->rules[r];
		size_t len = rule->net.family == AF_INET ? 4 : 16;
		size_t i;

		if (rule->is_uid || n->is_local) {
			if (rule->is_uid && n->is_local && rule->uid == n->uid)
				return 1;
			continue;
		}
		if (rule->net.family != a->family)
			continue;
		for (i = 0; i < len; i++)
			if ((a->bytes[i] & rule->mask[i]) != rule->net.bytes[i])
				break;
		if (i == len)
			return 1;
	}
	return 0;
}

const char *
notifier_format(const struct notifier *n, char *buf, size_t size)
{
	if (n->is_local)
		snprintf(buf, size, "uid %lu (local socket)",
		    (unsigned long)n->uid);
	else
		addr_format(&n->addr, buf, size);
	return buf;
}

void
allow_free(struct allow_list *list)
{
	free(list->rules);
	memset(list, 0, sizeof(*list));
}
