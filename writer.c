/* writer.c: dracd's map writer, and the guardian child that covers it. */
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dracd.h"
#include "log.h"
#include "writer.h"

/*
 * Set from SIGIO when the map's inotify watch has events, that is when a
 * reader has opened (or read) the map: the kernel signals from within the
 * reader's open(), so the flag is up before any change dracd makes after
 * it.  It spares a read() of the watch on every commit.
 */
static volatile sig_atomic_t reader_opened;

/*
 * Opens for the mtime hazard; reads too, for the locks: a reader that
 * keeps the map open (smtpd) shows itself only by reading it.
 */
#define WATCHED	(IN_OPEN | IN_ACCESS)
/* The same news for writer_reader_waits(): that reader may wait for us. */
static volatile sig_atomic_t reader_waits;

static void
on_reader_open(int sig)
{
	(void)sig;
	reader_opened = 1;
	reader_waits = 1;
}

static void
watch_readers(struct map_readers *r, const char *path)
{
	struct sigaction sa;

	r->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	r->last_open_ms = INT64_MIN / 2;
	r->last_change_sec = 0;
	r->signalled = 0;
	if (r->inotify == -1 || inotify_add_watch(r->inotify, path,
	    WATCHED) == -1) {
		/* Without it, every same-second change counts as hazardous. */
		log_warn("writer: inotify on %s", path);
		if (r->inotify != -1)
			close(r->inotify);
		r->inotify = -1;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reader_open;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGIO, &sa, NULL) == 0 &&
	    fcntl(r->inotify, F_SETOWN, getpid()) == 0 &&
	    fcntl(r->inotify, F_SETFL, O_NONBLOCK | O_ASYNC) == 0)
		r->signalled = 1;
	reader_opened = 1;
}

/*
 * Reads the watch; returns nonzero if a reader opened the map.  Only
 * IN_OPEN counts: the watch of a map file replaced by a growth ends with
 * IN_IGNORED once the guardian lets go of the old file, and taken for a
 * reader it would hold replies for a second (see note_change()).
 */
static int
drain_opens(struct map_readers *r)
{
	char buf[4096];
	const size_t head = sizeof(struct inotify_event);
	int seen = 0;
	ssize_t n;

	if (r->signalled && !reader_opened)
		return 0;
	reader_opened = 0;
	while ((n = read(r->inotify, buf, sizeof(buf))) > 0)
		for (size_t at = 0; at + head <= (size_t)n;) {
			struct inotify_event ev;

			memcpy(&ev, buf + at, head);	/* no alignment needed */
			/* Opens lost to an overflow may have been readers'. */
			if (ev.mask & (IN_OPEN | IN_Q_OVERFLOW))
				seen = 1;
			at += head + ev.len;
		}
	return seen;
}

/* Our own reopening is not a reader's. */
static void
forget_own_opens(struct map_readers *r)
{
	if (r->inotify != -1)
		drain_opens(r);
}

/*
 * The second a commit left in st_mtime: the kernel stamps a time between
 * the coarse clock before the commit and the fine clock after it, so when
 * both show the same second there is no need to ask.
 */
static int64_t
changed_second(struct map *m, time_t before)
{
	struct timespec after;

	if (before != 0 && clock_gettime(CLOCK_REALTIME, &after) == 0 &&
	    after.tv_sec == before)
		return (int64_t)before;
	return map_mtime(m);
}

/*
 * A change is hazardous when the map had already changed in the second
 * this change leaves in st_mtime, and a reader opened it lately: that
 * reader may have recorded this second as st_mtime and would not notice.
 * "Lately" is two seconds, to cover a reader that opened, then waited for
 * our lock before its fstat().
 */
static int64_t
note_change(struct map_readers *r, int64_t sec)
{
	int64_t now = clock_wall_ms();
	int hazard;

	if (r->inotify == -1 || drain_opens(r))
		r->last_open_ms = now;
	hazard = r->last_change_sec == sec && now - r->last_open_ms <= 2000;
	r->last_change_sec = sec;
	return hazard ? sec : 0;
}

/* Berkeley DB's sync writes the pages, then calls this instead. */
static int
defer_fsync(int fd)
{
	(void)fd;
	return 0;
}

/* Sends the go message, with the map's descriptor when there is one. */
static int
send_with_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)data,
	    .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd != -1) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	return n == (ssize_t)len ? 0 : -1;
}

/* Receives a message; a descriptor that came with it replaces *fd. */
static ssize_t
recv_with_fd(int sock, void *data, size_t len, int *fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	ssize_t n;

	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	for (c = CMSG_FIRSTHDR(&msg); n >= 0 && c != NULL;
	    c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (*fd != -1)
				close(*fd);
			*fd = got;
		}
	return n;
}

static void
guardian_sync(int map_fd)
{
	if (map_fd != -1 && fdatasync(map_fd) == -1)
		log_warn("map guardian: fdatasync");
}

/*
 * The guardian: holds a reference to the map's open file description
 * (and so to dracd's locks on it) and the journal.  It returns when dracd
 * closes the socket, by exiting or by dying.
 */
static void __attribute__((noreturn))
guardian_main(int sock, struct journal *journal, int sync_ms)
{
	struct sigaction sa;
	struct writer_go go;
	int32_t status = 0;
	int map_fd = -1;
	ssize_t n;

	/* dracd decides when we stop: by closing the socket. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (sock > 3)
		close_range(3, (unsigned)sock - 1, 0);
	close_range((unsigned)sock + 1, ~0U, 0);

	if (recv_with_fd(sock, &go, sizeof(go), &map_fd) != sizeof(go) ||
	    map_fd == -1)
		_exit(0);
	if (go.drop && geteuid() == 0 && (setgroups(1, &go.gid) == -1 ||
	    setresgid(go.gid, go.gid, go.gid) == -1 ||
	    setresuid(go.uid, go.uid, go.uid) == -1)) {
		log_warn("map guardian: cannot become uid %ld", (long)go.uid);
		status = EPERM;
	}
	if (send(sock, &status, sizeof(status), MSG_NOSIGNAL) !=
	    sizeof(status) || status != 0)
		_exit(1);
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int64_t since = sync_ms > 0 ? journal_due(journal) : -1;
		int timeout = -1;
		char byte[16];

		if (since >= 0) {
			int64_t left = since + sync_ms - clock_mono_ms();

			timeout = left < 0 ? 0 : left > sync_ms ? sync_ms :
			    (int)left;
		}
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			break;
		if (pfd.revents != 0) {
			n = recv_with_fd(sock, byte, sizeof(byte), &map_fd);
			if (n == 0 || (n == -1 && errno != EAGAIN))
				break;
		}
		if (since >= 0 && clock_mono_ms() >= since + sync_ms) {
			journal_clean(journal);
			guardian_sync(map_fd);
		}
	}
	if (journal_open(journal)) {
		long undone = journal_rollback(journal, map_fd);

		if (undone == -1)
			log_warn("map guardian: dracd died inside a commit, "
			    "which could not be undone");
		else
			log_warnx("map guardian: dracd died inside a commit; "
			    "undid its %ld page writes", undone);
		journal_end(journal);
		guardian_sync(map_fd);
	} else if (sync_ms > 0)
		guardian_sync(map_fd);
	/* The last reference to the open file: the locks go with it. */
	_exit(0);
}

/*
 * Forgets the map handle and what its cache holds, writing nothing: the
 * file's mapping must not serve reads of another file, and the handle's
 * close would write its changed pages (see journal_drop_writes()).
 */
static void
discard_map(struct writer *w)
{
	journal_detach();
	journal_drop_writes(1);
	map_discard(&w->map);
	journal_drop_writes(0);
}

static int
fork_guardian(struct writer *w, char *err, size_t errsize)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errsize, "map guardian: socketpair: %s",
		    strerror(errno));
		return -1;
	}
	switch (w->pid = fork()) {
	case -1:
		snprintf(err, errsize, "map guardian: fork: %s",
		    strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		close(sv[0]);
		/*
		 * A replacement is forked from a dracd with the map open:
		 * its copy of the handle is not ours to keep (nothing to
		 * write; the map comes again with the go message).
		 */
		if (w->map.db != NULL)
			discard_map(w);
		guardian_main(sv[1], w->journal, w->sync_ms);
	}
	close(sv[1]);
	w->fd = sv[0];
	return 0;
}

static void
stop_guardian(struct writer *w)
{
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	if (w->pid > 0)
		while (waitpid(w->pid, NULL, 0) == -1 && errno == EINTR)
			;
	w->pid = -1;
}

/* Hands the guardian the map and waits until it has taken it. */
static int
release_guardian(struct writer *w, char *err, size_t errsize)
{
	int32_t status;
	ssize_t n;

	if (send_with_fd(w->fd, &w->go, sizeof(w->go), w->map.fd) == -1) {
		snprintf(err, errsize, "map guardian: %s", strerror(errno));
		stop_guardian(w);
		return -1;
	}
	while ((n = recv(w->fd, &status, sizeof(status), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n != sizeof(status) || status != 0) {
		snprintf(err, errsize, "map guardian could not start");
		stop_guardian(w);
		return -1;
	}
	return 0;
}

int
writer_prepare(struct writer *w, const char *path,
    const struct map_format *format, int sync_ms, char *err, size_t errsize)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->pid = -1;
	w->map.fd = -1;
	w->readers.inotify = -1;
	w->unlock_timer = -1;
	w->sync_ms = sync_ms;
	w->format = *format;
	if ((w->path = strdup(path)) == NULL ||
	    (w->journal = journal_create()) == NULL) {
		snprintf(err, errsize, "map writer: %s", strerror(errno));
		return -1;
	}
	return fork_guardian(w, err, errsize);
}

/* Opens the map and routes its page writes through the journal. */
static int
open_map(struct writer *w, char *err, size_t errsize)
{
	if (map_open(&w->map, w->path, &w->format, 0, err, errsize) == -1)
		return -1;
	if (journal_attach(w->journal, w->map.fd) != 0) {
		snprintf(err, errsize, "%s: cannot hook the journal", w->path);
		map_close(&w->map);
		return -1;
	}
	return 0;
}

int
writer_start(struct writer *w, const struct passwd *pw, char *err,
    size_t errsize)
{
	if (pw != NULL) {
		w->go.drop = 1;
		w->go.uid = pw->pw_uid;
		w->go.gid = pw->pw_gid;
	}
	if (open_map(w, err, errsize) == -1) {
		stop_guardian(w);
		return -1;
	}
	watch_readers(&w->readers, w->path);
	w->unlock_timer = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->unlock_timer == -1)
		log_warn("map writer: timerfd_create; readers' locks are taken "
		    "for each commit");
	if (w->sync_ms > 0)
		db_env_set_func_fsync(defer_fsync);
	return release_guardian(w, err, errsize);
}

int
writer_check(struct writer *w)
{
	char err[512];
	pid_t pid = w->pid;

	if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0)
		return 0;
	if (pid > 0) {
		log_warnx("map guardian (pid %ld) is gone; starting a new one",
		    (long)pid);
		w->pid = -1;
		stop_guardian(w);
	}
	if (w->map.db == NULL)
		return 0;	/* stopping */
	if (fork_guardian(w, err, sizeof(err)) == -1 ||
	    release_guardian(w, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static int
queue(struct writer *w, int op, const struct drac_addr *a, int64_t expires)
{
	struct writer_op *o;

	if (w->nops == WRITER_MAX_OPS)
		return -1;
	o = &w->ops[w->nops++];
	memset(o, 0, sizeof(*o));
	o->op = (uint8_t)op;
	o->family = a->family;
	o->expires = expires;
	memcpy(o->bytes, a->bytes, sizeof(o->bytes));
	return 0;
}

int
writer_put(struct writer *w, const struct drac_addr *a, int64_t expires)
{
	return queue(w, WRITER_PUT, a, expires);
}

int
writer_del(struct writer *w, const struct drac_addr *a)
{
	return queue(w, WRITER_DEL, a, 0);
}

/*
 * After a failed commit the file is back as it was, but Berkeley DB's
 * cache still holds the failed changes: they must never reach the file.
 */
static void
reopen_map(struct writer *w)
{
	char err[512];

	/* The guardian would keep a locked file open, and readers out. */
	writer_unlock(w);
	discard_map(w);
	if (open_map(w, err, sizeof(err)) == -1) {
		log_warnx("map writer: %s", err);
		return;
	}
	forget_own_opens(&w->readers);
	if (w->fd != -1 && send_with_fd(w->fd, "m", 1, w->map.fd) == -1)
		writer_check(w);
}

#define GROW_RETRY_MS	60000

/*
 * The batch made Berkeley DB split a bucket (see mapdb.c): rather than
 * move entries under readers, the map is written anew, batch included,
 * and renamed into place; the old file is put back as it was for the
 * readers that still have it open.  Returns 0 when done (the commit is
 * over), EIO if the new map cannot be opened, or -1 if the map cannot be
 * written anew: the batch is then committed in place, as DRAC did.
 */
static int
grow(struct writer *w)
{
	struct map *m = &w->map;
	int64_t start = clock_mono_ms();
	uint32_t before = map_buckets(m), after;
	char err[PATH_MAX + 128];
	int code;

	if (start < w->grow_after)
		return -1;
	if ((code = map_rebuild(m, &after, err, sizeof(err))) != 0) {
		int never = code == EACCES || code == EPERM || code == EROFS;

		/* A full disk passes; a directory we may not write stays. */
		w->grow_after = never ? INT64_MAX : start + GROW_RETRY_MS;
		log_warnx("%s; %s the map grows in place, and a reader with "
		    "the map open may miss entries that move", err, never ?
		    "from now on" : "for a minute");
		return -1;
	}
	if (journal_rollback(w->journal, m->fd) == -1)
		log_warn("map writer: cannot restore the replaced map file");
	journal_end(w->journal);
	map_end(m);
	reopen_map(w);
	if (w->readers.inotify != -1 &&
	    inotify_add_watch(w->readers.inotify, w->path, WATCHED) == -1)
		log_warn("writer: inotify on %s", w->path);
	log_info("%s: a bucket was full: written anew with %" PRIu32
	    " buckets instead of %" PRIu32 " in %" PRId64 " ms", w->path,
	    after, before, clock_mono_ms() - start);
	return m->db != NULL ? 0 : EIO;
}

/*
 * Whether the locks may outlast this commit, and if so arms the timer
 * that lets them go.  Not while readers are about: one that waits when
 * the locks are let go must often wake before dracd takes them again, and
 * on a busy machine it does not (a reader's waits reached 10 ms at the
 * 99th percentile and 400 ms at worst under four notifiers).
 */
static int
hold_locks(struct writer *w)
{
	struct itimerspec when = {
		.it_value = { .tv_nsec = WRITER_HOLD_US * 1000 }
	};

	/*
	 * reader_opened: events not read yet.  The kernel merges a read into
	 * an unread event like it without a signal, so a reader that kept
	 * reading since then showed itself only there.
	 */
	if (w->unlock_timer == -1 || !w->readers.signalled || reader_opened ||
	    clock_mono_ms() < w->hold_after)
		return 0;
	if (timerfd_settime(w->unlock_timer, 0, &when, NULL) == -1) {
		log_warn("map writer: timerfd_settime; readers' locks are "
		    "taken for each commit from now on");
		close(w->unlock_timer);
		w->unlock_timer = -1;
		return 0;
	}
	return 1;
}

static int
apply(struct writer *w)
{
	struct map *m = &w->map;
	int code, grown, rc = 0, hold = 1;

	if (m->db == NULL)
		reopen_map(w);
	if (m->db == NULL)
		return EIO;
	if (!m->locked) {
		if ((code = map_begin(m)) != 0)
			return code;
		hold = hold_locks(w);
	}
	journal_begin(w->journal);
	for (size_t i = 0; i < w->nops && rc == 0; i++) {
		const struct writer_op *op = &w->ops[i];
		struct drac_addr a;

		memset(&a, 0, sizeof(a));
		a.family = op->family;
		memcpy(a.bytes, op->bytes, sizeof(a.bytes));
		if (op->op == WRITER_PUT)
			rc = map_put(m, &a, op->expires);
		else if (op->op == WRITER_DEL)
			rc = map_del(m, &a);
		else
			rc = map_touch(m, op->expires);
	}
	if (rc == 0 && map_split(m) && (grown = grow(w)) != -1)
		return grown;
	if (rc == 0)
		rc = map_sync(m);
	if (rc != 0) {
		long undone = journal_rollback(w->journal, m->fd);

		if (undone == -1)
			log_warn("map writer: cannot undo a failed commit");
		else
			log_debug("map writer: undid %ld page writes of a "
			    "failed commit", undone);
	}
	journal_end(w->journal);
	if (rc != 0 || !hold)
		map_end(m);
	if (rc != 0)
		reopen_map(w);
	return rc;
}

int
writer_commit(struct writer *w)
{
	struct timespec before;
	int64_t stale;
	int code;

	if (w->nops == 0)
		return 0;
	/* A touch sets st_mtime itself: ask for it then. */
	if (w->ops[0].op == WRITER_TOUCH ||
	    clock_gettime(CLOCK_REALTIME_COARSE, &before) == -1)
		before.tv_sec = 0;
	code = apply(w);
	w->nops = 0;
	if (w->map.db != NULL && (stale = note_change(&w->readers,
	    changed_second(&w->map, before.tv_sec))) > w->stale_second) {
		if (w->stale_second == 0)
			log_debug("map writer: replies held for the map's "
			    "modification time: a second change in second "
			    "%" PRId64 " while a reader opens the map", stale);
		w->stale_second = stale;
	}
	/* The guardian syncs: wake it when the first change waits. */
	if (code == 0 && w->sync_ms > 0 &&
	    journal_dirty(w->journal, clock_mono_ms()) && (w->fd == -1 ||
	    send(w->fd, "s", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)) {
		/* Forking a new guardian takes a while. */
		writer_unlock(w);
		writer_check(w);
	}
	return code;
}

int
writer_unlock_fd(const struct writer *w)
{
	return w->unlock_timer;
}

int
writer_reader_waits(void)
{
	return reader_waits;
}

void
writer_unlock(struct writer *w)
{
	uint64_t expirations;

	if (reader_waits)
		w->hold_after = clock_mono_ms() + WRITER_READERS_QUIET_MS;
	reader_waits = 0;
	/* Unread, a timer that went off keeps poll() waking. */
	if (w->unlock_timer != -1 &&
	    read(w->unlock_timer, &expirations, sizeof(expirations)) == -1 &&
	    errno != EAGAIN)
		log_warn("map writer: reading the unlock timer");
	if (w->map.locked)
		map_end(&w->map);
}

int
writer_touch(struct writer *w, int64_t second)
{
	struct drac_addr none;

	memset(&none, 0, sizeof(none));
	w->nops = 0;
	queue(w, WRITER_TOUCH, &none, second);
	w->stale_second = 0;
	return writer_commit(w);
}

void
writer_stop(struct writer *w)
{
	if (w->map.db != NULL) {
		/* Closing then finds nothing to write; the guardian syncs. */
		if (map_begin(&w->map) == 0) {
			journal_begin(w->journal);
			map_sync(&w->map);
			journal_end(w->journal);
			map_end(&w->map);
		}
		journal_detach();
		map_close(&w->map);
	}
	if (w->readers.inotify != -1)
		close(w->readers.inotify);
	w->readers.inotify = -1;
	if (w->unlock_timer != -1)
		close(w->unlock_timer);
	w->unlock_timer = -1;
	stop_guardian(w);
}

void
writer_free(struct writer *w)
{
	writer_stop(w);
	journal_destroy(w->journal);
	w->journal = NULL;
	free(w->path);
	w->path = NULL;
}
