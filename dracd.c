/*
 * dracd: Dynamic Relay Authorization Control daemon.
 *
 * POP/IMAP servers report the address of each user who logged in; dracd
 * keeps those addresses for a while and mirrors them into a Berkeley DB
 * map that the MTA consults before relaying.  One poll() loop owns all
 * state: RPC requests, expiry deadlines and signals.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "dracd.h"
#include "log.h"
#include "socketmap.h"

#define DEFAULT_MAP	"/etc/mail/dracd.db"
#define DEFAULT_ALLOW	"/etc/mail/dracd.allow"
#define DEFAULT_PIDFILE	"/run/dracd.pid"
#define DEFAULT_TTL	(30 * 60)
/* What a version 3 add may ask for, unless -E says otherwise. */
#define DEFAULT_MAX_TTL	(24 * 3600)
#define MAX_TTL		(366 * 24 * 3600)
#define DEFAULT_MAX_ENTRIES	10000000
/* A power failure loses at most this much; a crash of dracd nothing. */
#define DEFAULT_SYNC_MS	1000
/* Expiring in slices keeps adds flowing while many entries expire at once. */
#define EXPIRE_SLICE	32
/* A mass expiry worth a line in the log (the bench reads it too). */
#define EXPIRY_BURST_LOGGED	1000
#define EXPIRY_RETRY_MS	5000

static int signal_pipe[2] = { -1, -1 };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dracd [-dfin] [-a allowfile] [-E maxexpire] "
	    "[-e expire] [-M maxentries]\n"
	    "             [-m mapformat] [-P pidfile] [-S socketmap] [-T idle] "
	    "[-U socket]\n"
	    "             [-u user] [-y syncms] [dbfile | -]\n");
	exit(64);
}

/* Minutes by default, as rpc.dracd; "90s", "30m", "2h" also accepted. */
static int64_t
parse_expire(const char *text)
{
	char *end;
	long long n;
	int64_t unit = 60;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || errno || n <= 0)
		return -1;
	if (*end == 's')
		unit = 1;
	else if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end != '\0')
		return -1;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > MAX_TTL / unit)
		return -1;
	return n * unit;
}

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(signal_pipe[1], &c, 1) == -1) {
		/* The pipe is full: a signal is already pending. */
	}
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		err(1, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);	/* the map guardian */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

void
dracd_log_map_error(const char *what, int code)
{
	log_warnx("map %s: %s", what, db_strerror(code));
}

int
dracd_permits(struct dracd *d, const struct notifier *notifier,
    const char *what, const struct drac_addr *client)
{
	char ntext[ADDR_TEXT_MAX + 32], ctext[ADDR_TEXT_MAX];

	if (allow_permits(&d->allow, notifier))
		return 1;
	d->stats.denied++;
	if (log_limit_allow(&d->limit_denied, clock_mono_ms())) {
		notifier_format(notifier, ntext, sizeof(ntext));
		if (client != NULL)
			log_warnx("denied: %s may not %s (not in %s); %s "
			    "unchanged", ntext, what, d->allow_path,
			    addr_format(client, ctext, sizeof(ctext)));
		else
			log_warnx("denied: %s may not %s (not in %s)", ntext,
			    what, d->allow_path);
	}
	return 0;
}

/*
 * Every commit goes through here: a commit also writes the adds queued
 * for dracd_settle(), so its failure is theirs too.
 */
static int
commit(struct dracd *d)
{
	int code = writer_commit(&d->writer);

	if (code != 0 && d->npending > 0 && d->pending_code == 0)
		d->pending_code = code;
	return code;
}

static void
count_add(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int64_t expires, int renewed)
{
	char ntext[ADDR_TEXT_MAX + 32], ctext[ADDR_TEXT_MAX];

	if (renewed)
		d->stats.renewals++;
	else
		d->stats.adds++;
	if (log_debugging())
		log_debug("%s %s from %s until %" PRId64,
		    renewed ? "renewed" : "added",
		    addr_format(client, ctext, sizeof(ctext)),
		    notifier_format(notifier, ntext, sizeof(ntext)), expires);
}

int
dracd_settle(struct dracd *d)
{
	int code;

	if (d->npending == 0)
		return 0;
	if ((code = commit(d)) == 0)
		code = d->pending_code;
	if (code == 0) {
		for (size_t i = 0; i < d->npending; i++)
			count_add(d, &d->pending[i].notifier,
			    &d->pending[i].client, d->pending[i].expires,
			    d->pending[i].renewed);
	} else {
		d->stats.errors += d->npending;
		if (log_limit_allow(&d->limit_errors, clock_mono_ms()))
			log_warnx("cannot write %zu addresses to %s: %s",
			    d->npending, d->map_path, db_strerror(code));
	}
	d->npending = 0;
	d->pending_code = 0;
	return code;
}

enum drac3_status
dracd_add(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int64_t ttl, int defer,
    int64_t *expires_out, int *wait)
{
	char ntext[ADDR_TEXT_MAX + 32], ctext[ADDR_TEXT_MAX];
	const char *why;
	int64_t wall_ms = clock_wall_ms(), expires, deadline;
	struct table_entry *e;
	int renewed, code;

	*wait = 0;
	*expires_out = 0;
	if (!dracd_permits(d, notifier, "add addresses", client))
		return DRAC3_DENIED;
	/* The texts are made only for a line that is logged. */
	if ((why = addr_unusable(client)) != NULL) {
		d->stats.refused++;
		if (log_limit_allow(&d->limit_refused, clock_mono_ms()))
			log_warnx("refused: %s from %s: %s, never a mail "
			    "client", addr_format(client, ctext, sizeof(ctext)),
			    notifier_format(notifier, ntext, sizeof(ntext)), why);
		return DRAC3_INVALID;
	}
	if (ttl <= 0)
		ttl = d->ttl;
	if (ttl > d->max_ttl)
		ttl = d->max_ttl;
	expires = wall_ms / 1000 + ttl;
	e = table_find(&d->table, client);
	/* A login renews; it never cuts short a longer grant. */
	if (e != NULL && e->expires > expires)
		expires = e->expires;
	deadline = clock_mono_ms() + (expires * 1000 - wall_ms);
	/* Never evict a live entry to make room: refuse the new one. */
	if (e == NULL && table_count(&d->table) >= d->max_entries) {
		d->stats.errors++;
		if (log_limit_allow(&d->limit_full, clock_mono_ms()))
			log_warnx("table full (%zu entries, -M): %s from %s not "
			    "added", d->max_entries,
			    addr_format(client, ctext, sizeof(ctext)),
			    notifier_format(notifier, ntext, sizeof(ntext)));
		return DRAC3_SERVER_ERROR;
	}
	/*
	 * Into the table first: if the map write fails half-way, expiry
	 * still knows the address and removes whatever reached the map.
	 */
	if (table_upsert(&d->table, client, deadline, expires, &renewed) ==
	    NULL) {
		d->stats.errors++;
		if (log_limit_allow(&d->limit_errors, clock_mono_ms()))
			log_warnx("cannot add %s: out of memory",
			    addr_format(client, ctext, sizeof(ctext)));
		return DRAC3_SERVER_ERROR;
	}
	*expires_out = expires;
	/* socketmap: without a map (dbfile "-") the table is all there is. */
	if (d->map_path == NULL) {
		count_add(d, notifier, client, expires, renewed);
		return DRAC3_OK;
	}
	/* A full batch is written first: this one starts the next. */
	if (writer_put(&d->writer, client, expires) == -1) {
		commit(d);
		writer_put(&d->writer, client, expires);
	}
	if (defer && d->npending < PENDING_MAX) {
		struct pending_add *p = &d->pending[d->npending++];

		p->client = *client;
		p->notifier = *notifier;
		p->expires = expires;
		p->renewed = renewed;
		*wait = WAIT_SETTLE;
		return DRAC3_OK;
	}
	if ((code = commit(d)) != 0) {
		d->stats.errors++;
		if (log_limit_allow(&d->limit_errors, clock_mono_ms()))
			log_warnx("cannot write %s to %s: %s",
			    addr_format(client, ctext, sizeof(ctext)),
			    d->map_path, db_strerror(code));
		*expires_out = 0;
		return DRAC3_SERVER_ERROR;
	}
	*wait = d->writer.stale_second != 0 ? WAIT_PUBLISH : 0;
	count_add(d, notifier, client, expires, renewed);
	return DRAC3_OK;
}

enum addstat
dracd_authorize(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int defer, int *wait)
{
	int64_t expires;

	switch (dracd_add(d, notifier, client, 0, defer, &expires, wait)) {
	case DRAC3_OK:
		return ADD_SUCCESS;
	case DRAC3_DENIED:
	case DRAC3_INVALID:
		return ADD_PERM;
	default:
		return ADD_SYSERR;
	}
}

int
dracd_remove(struct dracd *d, struct table_entry **entries, size_t n)
{
	int code;

	/* socketmap: without a map the table is all there is. */
	if (d->map_path != NULL) {
		for (size_t i = 0; i < n; i++)
			if (writer_del(&d->writer, &entries[i]->addr) == -1) {
				/* Full of queued adds: write those first. */
				if ((code = commit(d)) != 0)
					return code;
				writer_del(&d->writer, &entries[i]->addr);
			}
		if ((code = commit(d)) != 0)
			return code;
	}
	for (size_t i = 0; i < n; i++)
		table_remove(&d->table, entries[i]);
	return 0;
}

/* Logs the end of a run of full slices, if it was a long one. */
static void
end_burst(struct dracd *d)
{
	if (d->burst.count >= EXPIRY_BURST_LOGGED)
		log_info("expiry: %" PRIu64 " entries removed in %" PRId64
		    " ms", d->burst.count, clock_mono_ms() - d->burst.since);
	d->burst.count = 0;
}

/*
 * Removes up to EXPIRE_SLICE due entries in one batch for the writer.
 * Returns 1 if more are due.  Entries leave the table only once the map
 * has lost them; after a failed write they are tried again shortly.
 */
static int
expire_due(struct dracd *d, int64_t now)
{
	struct table_entry *due[EXPIRE_SLICE], *e;
	struct drac_addr gone[EXPIRE_SLICE];
	char text[ADDR_TEXT_MAX];
	size_t n = table_due(&d->table, now, due, EXPIRE_SLICE);
	int code, more;

	if (n == 0) {
		end_burst(d);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		gone[i] = due[i]->addr;
	if ((code = dracd_remove(d, due, n)) != 0) {
		dracd_log_map_error("removing expired entries", code);
		for (size_t i = 0; i < n; i++) {
			int renewed;

			table_upsert(&d->table, &due[i]->addr,
			    now + EXPIRY_RETRY_MS, due[i]->expires, &renewed);
		}
		return 0;
	}
	if (log_debugging())
		for (size_t i = 0; i < n; i++)
			log_debug("expired %s", addr_format(&gone[i], text,
			    sizeof(text)));
	d->stats.expired += n;
	e = table_first(&d->table);
	more = e != NULL && e->deadline <= now;
	if (d->burst.count == 0)
		d->burst.since = now;
	d->burst.count += n;
	if (!more)
		end_burst(d);
	return more;
}

int64_t
dracd_publish(struct dracd *d)
{
	int64_t now, due;
	int code;

	if (d->writer.stale_second == 0)
		return -1;
	now = clock_wall_ms();
	due = (d->writer.stale_second + 1) * 1000;
	if (now < due)
		return due - now;
	/* Even if the touch fails, the data is in the map: release. */
	if ((code = writer_touch(&d->writer, now / 1000)) != 0)
		dracd_log_map_error("touch", code);
	service_release_replies();
	return -1;
}

void
dracd_unlock_map(struct dracd *d)
{
	if (d->map_path != NULL)
		writer_unlock(&d->writer);
}

void
dracd_publish_now(struct dracd *d)
{
	int64_t ms;

	while ((ms = dracd_publish(d)) > 0) {
		struct timespec ts = { .tv_sec = ms / 1000,
		    .tv_nsec = (ms % 1000) * 1000000 };

		/* Readers need not wait out the second with us. */
		dracd_unlock_map(d);
		nanosleep(&ts, NULL);
	}
}

struct reload {
	struct dracd	*dracd;
	int64_t		 wall_ms, mono_ms;
	unsigned long	 kept, dropped, failed;
};

static int
reload_entry(const struct drac_addr *a, int64_t expires, void *arg)
{
	struct reload *r = arg;
	int renewed;

	if (expires * 1000 <= r->wall_ms) {
		r->dropped++;
		return 0;
	}
	if (table_upsert(&r->dracd->table, a, r->mono_ms + (expires * 1000 -
	    r->wall_ms), expires, &renewed) == NULL) {
		r->failed++;
		return 0;
	}
	if (!renewed)
		r->kept++;
	return 1;
}

static void
reload_foreign(const char *key, void *arg)
{
	char shown[256];

	(void)arg;
	log_warnx("map entry \"%s\" is not an address with an expiry time; "
	    "left alone", log_escape(key, shown, sizeof(shown)));
}

static int
rewrite_entry(struct table_entry *e, void *arg)
{
	return map_put(arg, &e->addr, e->expires);
}

/* A hash map another program made: see mapdb.c for why it is rewritten. */
static void
relayout_map(struct map *map)
{
	char err[PATH_MAX + 128];
	int64_t start = clock_mono_ms();
	uint32_t buckets;

	if (map_begin(map) != 0)
		return;
	if (map_rebuild(map, &buckets, err, sizeof(err)) == 0)
		log_info("%s: written anew with a page for each of its %" PRIu32
		    " buckets in %" PRId64 " ms (its layout let entries move "
		    "under readers)", map->path, buckets,
		    clock_mono_ms() - start);
	else
		log_warnx("%s", err);
	map_end(map);
}

static void
reload_map(struct dracd *d, struct map *map)
{
	struct reload r = { .dracd = d, .wall_ms = clock_wall_ms(),
	    .mono_ms = clock_mono_ms() };
	size_t reformatted = 0;
	int code;

	if ((code = map_begin(map)) == 0) {
		code = map_scan(map, reload_entry, reload_foreign, &r,
		    &reformatted);
		/* Keys in another format would never be expired: rewrite. */
		if (code == 0 && reformatted > 0) {
			log_info("%zu keys were in another map format; "
			    "rewriting all entries", reformatted);
			code = table_foreach(&d->table, rewrite_entry, map);
		}
		if (code == 0)
			code = map_commit(map);
		else
			map_commit(map);
	}
	if (code != 0)
		errx(1, "%s: cannot read back: %s", map->path,
		    db_strerror(code));
	if (r.failed)
		errx(1, "%s: out of memory reloading %lu entries", map->path,
		    r.failed);
	log_info("reloaded %lu live entries from %s, removed %lu expired",
	    r.kept, map->path, r.dropped);
	if (map_foreign_layout(map))
		relayout_map(map);
	if (table_count(&d->table) > d->max_entries)
		log_warnx("the map holds %zu live entries, more than -M %zu: "
		    "all kept, new addresses refused until they expire",
		    table_count(&d->table), d->max_entries);
}

static void
log_stats(struct dracd *d)
{
	log_info("stats: %zu live entries; since start (%" PRId64 " s ago): "
	    "%" PRIu64 " adds, %" PRIu64 " renewals, %" PRIu64 " revoked, "
	    "%" PRIu64 " expired, %" PRIu64 " denied, %" PRIu64 " refused, "
	    "%" PRIu64 " errors",
	    table_count(&d->table), (clock_mono_ms() - d->started) / 1000,
	    d->stats.adds, d->stats.renewals, d->stats.revokes,
	    d->stats.expired,
	    d->stats.denied, d->stats.refused, d->stats.errors);
	socketmap_log_stats();
}

/*
 * Without -f: the parent waits on a pipe and exits 0 only once the daemon
 * is registered and serving, or non-zero after the daemon has printed why
 * it could not start, so init scripts see failures.
 */
static int
daemon_begin(void)
{
	int p[2], status;
	char ok;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &ok, 1) == 1)
			_exit(0);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ?
		    WEXITSTATUS(status) : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		err(1, "setsid");
	return p[1];
}

static void
daemon_ready(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") == -1) {
		/* Nothing relative is opened after startup. */
	}
	if (write(fd, "1", 1) != 1)
		log_warn("telling the parent we are ready");
	close(fd);
}

static void
write_pidfile(const char *path)
{
	char tmp[PATH_MAX], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, buf, (size_t)n) != n || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		unlink(tmp);
		err(1, "pidfile %s", path);
	}
}

/*
 * Everything that needs root is done: the sockets are bound and
 * registered, the map exists.  The map becomes the user's, so the map
 * writer (and any writer started later) can open it; its mode, and so
 * the MTAs' read access, stays as it was.
 */
static void
drop_privileges(const struct passwd *pw, const char *map_path)
{
	/* The group stays: it may be the one the MTA reads the map as. */
	if (map_path != NULL && lchown(map_path, pw->pw_uid, (gid_t)-1) == -1)
		err(1, "chown %s to %s", map_path, pw->pw_name);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		err(1, "cannot become user %s", pw->pw_name);
	if (setuid(0) != -1)
		errx(1, "still root after becoming %s", pw->pw_name);
}

/* A bad new allow file leaves the old one in force. */
static void
reload_allow(struct dracd *d)
{
	struct allow_list fresh;
	char errbuf[512];
	int defaulted;

	if (allow_load(d->allow_path, &fresh, &defaulted, errbuf,
	    sizeof(errbuf)) == -1) {
		log_warnx("reload: %s; keeping the previous allow list (%zu "
		    "rules)", errbuf, d->allow.count);
		return;
	}
	allow_free(&d->allow);
	d->allow = fresh;
	log_info("reload: %s: %zu rules%s", d->allow_path, d->allow.count,
	    defaulted ? " (file absent: loopback and local addresses)" : "");
}

static int
handle_signals(struct dracd *d)
{
	unsigned char sig;

	while (read(signal_pipe[0], &sig, 1) == 1) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("caught signal %d, shutting down with %zu live "
			    "entries", sig, table_count(&d->table));
			return 1;
		case SIGHUP:
			reload_allow(d);
			break;
		case SIGUSR1:
			log_stats(d);
			break;
		case SIGCHLD:
			dracd_unlock_map(d);	/* a new guardian takes a while */
			writer_check(&d->writer);
			break;
		}
	}
	return 0;
}

static void
event_loop(struct dracd *d)
{
	struct pollfd *fds = NULL;
	size_t nfds_alloc = 0;

	for (;;) {
		int64_t now = clock_mono_ms();
		/*
		 * One slice of expiry, then every request that is waiting
		 * (service_dispatch drains the UDP queues): an add waits for
		 * at most one slice however many entries expire at once.
		 */
		int more = expire_due(d, now);
		struct table_entry *first = table_first(&d->table);
		int timeout, nready;
		/* The writer's unlock timer and the signal pipe come last. */
		size_t n = (size_t)svc_max_pollfd + 2;
		int unlock_fd;

		int64_t wait = service_maintain(now);
		int64_t publish = dracd_publish(d);
		/* socketmap: its fds sit between RPC's and the signal pipe. */
		int64_t sweep = socketmap_maintain(now);
		size_t nsm = socketmap_npollfd();

		n += nsm;
		if (sweep < wait)
			wait = sweep;

		if (first != NULL && first->deadline - now < wait)
			wait = first->deadline - now;
		if (publish >= 0 && publish < wait)
			wait = publish;
		if (wait < 0)
			wait = 0;
		timeout = more ? 0 : wait > INT_MAX ? INT_MAX : (int)wait;
		if (n > nfds_alloc) {
			struct pollfd *p = realloc(fds, n * sizeof(*p));

			if (p == NULL)
				fatal("poll set");
			fds = p;
			nfds_alloc = n;
		}
		memcpy(fds, svc_pollfd, (size_t)svc_max_pollfd * sizeof(*fds));
		socketmap_pollfds(fds + svc_max_pollfd);	/* socketmap */
		unlock_fd = d->map_path != NULL ?
		    writer_unlock_fd(&d->writer) : -1;
		fds[n - 2].fd = unlock_fd;
		fds[n - 2].events = POLLIN;
		fds[n - 2].revents = 0;
		fds[n - 1].fd = signal_pipe[0];
		fds[n - 1].events = POLLIN;
		fds[n - 1].revents = 0;
		/* A reader that opened the map waits for our locks. */
		if (unlock_fd != -1 && writer_reader_waits())
			writer_unlock(&d->writer);
		nready = poll(fds, (nfds_t)n, timeout);
		if (nready == -1 && errno != EINTR)
			log_warn("poll");
		if (unlock_fd != -1 && (writer_reader_waits() ||
		    (nready > 0 && (fds[n - 2].revents & POLLIN))))
			writer_unlock(&d->writer);
		if (nready == -1)
			continue;
		if (fds[n - 2].revents & POLLIN)
			nready--;
		if (fds[n - 1].revents & POLLIN) {
			nready--;
			if (handle_signals(d))
				break;
		}
		if (nready > 0 && nsm > 0)	/* socketmap */
			nready -= socketmap_dispatch(fds + svc_max_pollfd, nsm);
		if (nready > 0)
			service_dispatch(fds, nready);
	}
	free(fds);
}

int
main(int argc, char *argv[])
{
	struct dracd d;
	struct map_format format;
	struct map map;
	const char *map_path = DEFAULT_MAP, *local_path = NULL, *why;
	const char *pidfile = NULL, *user = NULL;
	struct passwd as_user, *pw = NULL;
	/* socketmap: endpoints (-S), idle timeout (-T) */
	const char *sm_specs[SOCKETMAP_MAX_LISTENERS];
	size_t sm_nspecs = 0;
	int64_t sm_idle = SOCKETMAP_DEFAULT_IDLE_S;
	int ready_fd = -1;
	char errbuf[512], fmtbuf[64];
	int ch, truncate = 0, foreground = 0, debug = 0, check_only = 0;
	int clean;
	int sync_ms = DEFAULT_SYNC_MS;
	int defaulted;
	uint64_t seed;
	unsigned long long max;
	char *end;

	memset(&d, 0, sizeof(d));
	d.ttl = DEFAULT_TTL;
	d.limit_denied.what = "denied requests";
	d.limit_refused.what = "refused addresses";
	d.limit_errors.what = "map errors";
	d.limit_full.what = "adds refused by -M";
	d.max_entries = DEFAULT_MAX_ENTRIES;
	d.allow_path = DEFAULT_ALLOW;
	map_format_default(&format);
	while ((ch = getopt(argc, argv, "a:dE:e:fiM:m:nP:S:T:U:u:y:")) != -1) {
		switch (ch) {
		case 'a':
			d.allow_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'E':
			if ((d.max_ttl = parse_expire(optarg)) == -1)
				errx(64, "bad maximum expire time \"%s\": want "
				    "minutes, or a number with s, m or h, up to "
				    "%d days", optarg, MAX_TTL / 86400);
			break;
		case 'e':
			if ((d.ttl = parse_expire(optarg)) == -1)
				errx(64, "bad expire time \"%s\": want minutes, "
				    "or a number with s, m or h, up to %d days",
				    optarg, MAX_TTL / 86400);
			break;
		case 'f':
			foreground = 1;
			break;
		case 'i':
			truncate = 1;
			break;
		case 'M':
			errno = 0;
			max = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    errno || max == 0 || max > UINT32_MAX)
				errx(64, "bad -M \"%s\": want a number of entries "
				    "from 1 to %u", optarg, UINT32_MAX);
			d.max_entries = (size_t)max;
			break;
		case 'm':
			if (map_format_parse(optarg, &format, &why) == -1)
				errx(64, "bad map format \"%s\": %s", optarg,
				    why);
			break;
		case 'n':
			check_only = 1;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'S':	/* socketmap */
			if (sm_nspecs == SOCKETMAP_MAX_LISTENERS)
				errx(64, "at most %d -S endpoints",
				    SOCKETMAP_MAX_LISTENERS);
			if (socketmap_check_spec(optarg, errbuf,
			    sizeof(errbuf)) == -1)
				errx(64, "%s", errbuf);
			sm_specs[sm_nspecs++] = optarg;
			break;
		case 'T':	/* socketmap */
			if ((sm_idle = parse_expire(optarg)) == -1)
				errx(64, "bad -T \"%s\": want minutes, or a "
				    "number with s, m or h", optarg);
			break;
		case 'U':
			if (*optarg != '/')
				errx(64, "-U wants an absolute path");
			local_path = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'y':
			errno = 0;
			max = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    errno || max > 60000)
				errx(64, "bad -y \"%s\": want milliseconds from 0 "
				    "(sync every change) to 60000", optarg);
			sync_ms = (int)max;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		map_path = argv[0];
	/* socketmap: "-" runs without a map file, answering from memory. */
	if (strcmp(map_path, "-") == 0) {
		if (sm_nspecs == 0)
			errx(64, "no map (\"-\") and no -S socketmap: no MTA "
			    "could see an address");
		map_path = NULL;
	}
	d.map_path = map_path;
	/* Without -E: at least a day, and never less than the default. */
	if (d.max_ttl == 0)
		d.max_ttl = d.ttl > DEFAULT_MAX_TTL ? d.ttl : DEFAULT_MAX_TTL;
	if (d.max_ttl < d.ttl)
		errx(64, "-E %" PRId64 "s is less than -e %" PRId64 "s",
		    d.max_ttl, d.ttl);

	log_init("dracd", foreground || check_only, debug);
	if (user != NULL) {
		const struct passwd *found = getpwnam(user);

		if (found == NULL)
			errx(1, "-u %s: no such user", user);
		if (found->pw_uid == 0)
			errx(1, "-u %s: that is root", user);
		if (geteuid() != 0)
			errx(1, "-u %s: only root can change user", user);
		/* getpwnam's buffer is reused (allow file "user" lines). */
		as_user.pw_name = (char *)user;
		as_user.pw_uid = found->pw_uid;
		as_user.pw_gid = found->pw_gid;
		pw = &as_user;
	}
	if (allow_load(d.allow_path, &d.allow, &defaulted, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	if (check_only) {
		if (map_path != NULL &&
		    map_check(map_path, &format, errbuf, sizeof(errbuf)) == -1)
			errx(1, "%s", errbuf);
		printf("allow list %s: %s, %zu rules\nmap %s: %s, ok\n"
		    "expire: %" PRId64 " seconds\n", d.allow_path,
		    defaulted ? "absent, using loopback and local addresses" :
		    "ok", d.allow.count, map_path != NULL ? map_path : "none",
		    map_path != NULL ? map_format_describe(&format, fmtbuf,
		    sizeof(fmtbuf)) : "socketmap only", d.ttl);
		for (size_t i = 0; i < sm_nspecs; i++)	/* socketmap */
			printf("socketmap %s, idle timeout %" PRId64
			    " seconds\n", sm_specs[i], sm_idle);
		allow_free(&d.allow);
		return 0;
	}
	if (!foreground) {
		if (pidfile == NULL)
			pidfile = DEFAULT_PIDFILE;
		ready_fd = daemon_begin();
	}
	d.started = clock_mono_ms();
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)clock_mono_ms() ^ (uint64_t)getpid();
	if (table_init(&d.table, seed) == -1)
		err(1, "table");
	if (map_path != NULL && writer_prepare(&d.writer, map_path, &format,
	    sync_ms, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	/* A map this dracd's predecessor closed cleanly needs no check. */
	clean = map_path != NULL && map_was_clean(map_path);
	if (!truncate && clean)
		log_info("%s is as a clean stop left it: not verified",
		    map_path);
	else if (!truncate && map_path != NULL) {
		char report[PATH_MAX + 256];

		switch (map_repair_isolated(map_path, &format, report,
		    sizeof(report), errbuf, sizeof(errbuf))) {
		case -1:
			errx(1, "%s", errbuf);
		case 1:
			log_warnx("%s", report);
			break;
		}
	}
	if (map_path != NULL && map_open(&map, map_path, &format, truncate,
	    errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	if (map_path != NULL && !truncate)
		reload_map(&d, &map);
	if (map_path != NULL)
		map_close(&map);
	setup_signals();
	if (service_start(&d, local_path, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	/* socketmap */
	if (socketmap_start(&d, sm_specs, sm_nspecs, sm_idle * 1000, errbuf,
	    sizeof(errbuf)) == -1) {
		service_stop();
		errx(1, "%s", errbuf);
	}
	if (pidfile != NULL)
		write_pidfile(pidfile);
	if (pw != NULL)
		drop_privileges(pw, map_path);
	/* Nothing is served before the loop runs: the writer can come last. */
	if (map_path != NULL && writer_start(&d.writer, pw, errbuf,
	    sizeof(errbuf)) == -1) {
		socketmap_stop();
		service_stop();
		if (pidfile != NULL)
			unlink(pidfile);
		errx(1, "%s", errbuf);
	}
	if (map_path == NULL)
		log_info("started: no map, socketmap only (entries are lost "
		    "at exit), expire %" PRId64 "s, allow %s (%s, %zu rules)",
		    d.ttl, d.allow_path, defaulted ? "absent: loopback and "
		    "local addresses" : "file", d.allow.count);
	else
		log_info("started: map %s (%s, disk sync %s%d ms), expire %"
		    PRId64 "s, allow %s (%s, %zu rules), %zu live entries",
		    map_path, map_format_describe(&format, fmtbuf,
		    sizeof(fmtbuf)), sync_ms ? "within " : "every change, ",
		    sync_ms, d.ttl, d.allow_path, defaulted ? "absent: "
		    "loopback and local addresses" : "file", d.allow.count,
		    table_count(&d.table));
	if (pw != NULL)
		log_info("running as %s (uid %ld)", pw->pw_name,
		    (long)pw->pw_uid);
	if (ready_fd != -1)
		daemon_ready(ready_fd);
	event_loop(&d);
	dracd_unlock_map(&d);	/* stopping talks to rpcbind */
	/* Replies held for the map's st_mtime are owed: settle them first. */
	dracd_publish_now(&d);
	service_stop();
	socketmap_stop();
	if (map_path != NULL) {	/* socketmap: no writer without a map */
		writer_free(&d.writer);
		if (map_mark_clean(map_path) == -1)
			log_debug("cannot leave %s.clean: the next start will "
			    "verify the map", map_path);
	}
	if (pidfile != NULL)
		unlink(pidfile);
	table_free(&d.table);
	allow_free(&d.allow);
	log_info("stopped");
	return 0;
}
