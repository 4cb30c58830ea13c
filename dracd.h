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

struct dracd {
	struct table		 table;
	struct writer		 writer;
	const char		*map_path;
	struct allow_list	 allow;
	const char		*allow_path;
	int64_t			 ttl;		/* seconds */
	size_t			 max_entries;	/* new adds beyond it fail */
	int64_t			 started;	/* monotonic ms */
	struct {
		uint64_t	 adds, renewals, denied, refused, errors,
				 expired;
	} stats;
	struct log_limit	 limit_denied, limit_refused, limit_errors,
				 limit_full;
};

/* Clocks: expiry runs on monotonic time, the map holds wall-clock time. */
int64_t	clock_mono_ms(void);
int64_t	clock_wall_ms(void);

/*
 * The one thing dracd does: record client on behalf of notifier.  *wait
 * says the reply must be held until dracd_publish() (see writer.h).
 */
enum addstat dracd_authorize(struct dracd *, const struct notifier *,
	    const struct drac_addr *client, int *wait);
/*
 * Touches the map once the second of a stale commit is over and releases
 * the held replies.  Returns the milliseconds until it is due, or -1 when
 * nothing waits.  dracd_publish_now() sleeps until then.
 */
int64_t	dracd_publish(struct dracd *);
void	dracd_publish_now(struct dracd *);

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
