/* allow.h: which notifiers may add addresses (dracd.allow). */
#ifndef DRAC_ALLOW_H
#define DRAC_ALLOW_H

#include <stdio.h>

#include "addr.h"

#include <sys/types.h>

struct allow_rule {
	struct drac_addr	net;
	uint8_t			mask[16];
	int			is_uid;	/* a local user, not a network */
	uid_t			uid;
};

/* Who sent a request: an address, or a local user on the UNIX socket. */
struct notifier {
	int			is_local;
	struct drac_addr	addr;
	uid_t			uid;
};

struct allow_list {
	struct allow_rule	*rules;
	size_t			 count;
	size_t			 capacity;
};

/*
 * Parses one line.  Returns 1 and fills *rule, 0 for a blank or comment
 * line, -1 with *why set when the line does not parse.
 */
int	allow_parse_line(const char *, struct allow_rule *, const char **);
/* Reads a whole file; on error writes "file:line: reason" into err. */
int	allow_load_stream(FILE *, const char *, struct allow_list *, char *,
	    size_t);
/*
 * Loads path.  A missing file yields the built-in default (loopback plus
 * this host's own addresses) and sets *defaulted.
 */
int	allow_load(const char *, struct allow_list *, int *, char *, size_t);
int	allow_add_default(struct allow_list *);
int	allow_permits(const struct allow_list *, const struct notifier *);
const char *notifier_format(const struct notifier *, char *, size_t);
void	allow_free(struct allow_list *);

#endif
