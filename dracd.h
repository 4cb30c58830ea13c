/* dracd.h: the daemon's state, owned by the event loop in dracd.c. */
#ifndef DRAC_DRACD_H
#define DRAC_DRACD_H

#include <stdint.h>

#include "addr.h"
#include "allow.h"
#include "drac_prot.h"
#include "log.h"
#include "mapdb.h"
#include "table.h"
#include "writer.h"

/*
 * An add from a datagram, in the map writer's batch but not yet written:
 * the adds of one round of requests are written in one commit, and their
 * replies wait for it (dracd_settle).
 */
#define PENDING_MAX	256

struct pending_add {
	struct drac_addr	 client;
	struct notifier		 notifier;
	int64_t			 expires;
	int			 renewed;
};

struct dracd {
	struct table		 table;
	struct writer		 writer;
	const char		*map_path;
	struct allow_list	 allow;
	const char		*allow_path;
	int64_t			 ttl;		/* seconds, the default */
	int64_t			 max_ttl;	/* caps a TTL a caller asks for */
	size_t			 max_entries;	/* new adds beyond it fail */
	int64_t			 started;	/* monotonic ms */
	struct {
		uint64_t	 adds, renewals, revokes, denied, refused,
				 errors, expired;
	} stats;
	struct log_limit	 limit_denied, limit_refused, limit_errors,
				 limit_full;
	/* Many entries due at once: logged when all are gone. */
	struct {
		int64_t		 since;		/* monotonic ms */
		uint64_t	 count;
	} burst;
	struct pending_add	 pending[PENDING_MAX];
	size_t			 npending;
	int			 pending_code;	/* a commit that failed */
};

/* Clocks: expiry runs on monotonic time, the map holds wall-clock time. */
int64_t	clock_mono_ms(void);
int64_t	clock_wall_ms(void);

/*
 * The one thing dracd does: record client on behalf of notifier, for ttl
 * seconds (0: the default; capped by max_ttl; an add never shortens a
 * live entry).  *expires is the entry's end.  *wait is WAIT_PUBLISH when
 * the reply must be held until dracd_publish() (see writer.h), and
 * WAIT_SETTLE when, with defer, the add is only queued for the map: the
 * reply waits for dracd_settle(), which may still turn it into a failure.
 */
#define WAIT_PUBLISH	1
#define WAIT_SETTLE	2
enum drac3_status dracd_add(struct dracd *, const struct notifier *,
	    const struct drac_addr *client, int64_t ttl, int defer,
	    int64_t *expires, int *wait);
/* The same in the terms of protocol versions 1 and 2. */
enum addstat dracd_authorize(struct dracd *, const struct notifier *,
	    const struct drac_addr *client, int defer, int *wait);
/* Writes the queued adds: 0, or the map error that failed them all. */
int	dracd_settle(struct dracd *);
/* May notifier use the protocol at all?  Logs a denial (rate-limited). */
int	dracd_permits(struct dracd *, const struct notifier *,
	    const char *what, const struct drac_addr *);
/* Takes entries out of the map, then the table; 0 or a map error code. */
int	dracd_remove(struct dracd *, struct table_entry **, size_t);
void	dracd_log_map_error(const char *what, int code);

/* admin.c: protocol version 3 (revoke, query, list, stats, flush). */
void	admin_dispatch(struct dracd *, struct svc_req *, SVCXPRT *,
	    unsigned limit, const struct notifier *);
/*
 * Touches the map once the second of a stale commit is over and releases
 * the held replies.  Returns the milliseconds until it is due, or -1 when
 * nothing waits.  dracd_publish_now() sleeps until then.
 */
int64_t	dracd_publish(struct dracd *);
void	dracd_publish_now(struct dracd *);
/* Lets the readers in before something that may block (see writer.h). */
void	dracd_unlock_map(struct dracd *);

/*
 * Hold a UDP reply of nwords XDR words until dracd_publish(); -1 if it
 * cannot be held (the caller then publishes and replies at once).
 */
int	service_hold_reply(SVCXPRT *, const uint32_t *words, int nwords);
/* Can another reply be held?  A deferred add needs its reply held. */
int	service_can_hold(void);
/*
 * Holds the reply of a deferred add; if dracd_settle() fails, the first
 * word becomes failure and the others zero.
 */
int	service_hold_settling(SVCXPRT *, const uint32_t *words, int nwords,
	    uint32_t failure);

/* service.c: the RPC side of the loop; local_path: the UNIX socket. */
int	service_start(struct dracd *, const char *local_path, char *err,
	    size_t errsize);
void	service_stop(void);
/* Called with poll()'s results for the first svc_max_pollfd entries. */
void	service_dispatch(struct pollfd *, int nready);
/*
 * Periodic upkeep (re-registering with a restarted rpcbind); returns the
 * milliseconds until it wants to run again.
 */
int64_t	service_maintain(int64_t now_ms);
/* Sends the UDP replies held for dracd_publish(). */
void	service_release_replies(void);

#endif
