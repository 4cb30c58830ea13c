/* writer.c: the child that owns the map, and dracd's side of the pipe. */
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dracd.h"
#include "log.h"
#include "writer.h"

/* What the writer knows about readers opening the map. */
struct readers {
	int		inotify;	/* IN_OPEN on the map, or -1 */
	int64_t		last_open_ms;	/* when we last saw one */
	int64_t		last_change_sec; /* second of our last change */
};

static void
watch_readers(struct readers *r, const char *path)
{
	r->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	r->last_open_ms = INT64_MIN / 2;
	r->last_change_sec = 0;
	if (r->inotify == -1 || inotify_add_watch(r->inotify, path,
	    IN_OPEN) == -1) {
		/* Without it, every same-second change counts as hazardous. */
		log_warn("writer: inotify on %s", path);
		if (r->inotify != -1)
			close(r->inotify);
		r->inotify = -1;
	}
}

/*
 * A change is hazardous when the map had already changed in the second
 * this change leaves in st_mtime, and a reader opened it lately: that
 * reader may have recorded this second as st_mtime and would not notice.
 * "Lately" is two seconds, to cover a reader that opened, then waited for
 * our lock before its fstat().  The second is the one the kernel stamped,
 * which can lag the real clock by a few milliseconds.
 */
static int64_t
note_change(struct readers *r, struct map *m)
{
	char events[4096];
	int64_t now = clock_wall_ms(), sec = map_mtime(m);
	int hazard;

	if (r->inotify == -1)
		r->last_open_ms = now;
	else
		while (read(r->inotify, events, sizeof(events)) > 0)
			r->last_open_ms = now;
	hazard = r->last_change_sec == sec && now - r->last_open_ms <= 2000;
	r->last_change_sec = sec;
	return hazard ? sec : 0;
}

static int
apply(struct map *m, const struct writer_op *ops, size_t n)
{
	int code, rc = 0;

	if ((code = map_begin(m)) != 0)
		return code;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct drac_addr a;

		memset(&a, 0, sizeof(a));
		a.family = ops[i].family;
		memcpy(a.bytes, ops[i].bytes, sizeof(a.bytes));
		if (ops[i].op == WRITER_PUT)
			rc = map_put(m, &a, ops[i].expires);
		else if (ops[i].op == WRITER_DEL)
			rc = map_del(m, &a);
		else
			rc = map_touch(m, ops[i].expires);
	}
	code = map_commit(m);
	return rc != 0 ? rc : code;
}

/* Berkeley DB's sync writes the pages, then calls this instead. */
static int
defer_fsync(int fd)
{
	(void)fd;
	return 0;
}

/*
 * With -y N the disk is synced from a thread of the writer: a sync of a
 * large map can take many milliseconds, and batches (replies to adds)
 * should not queue behind it.  A batch reaches the disk at most N ms
 * after it reached the file, plus the length of a sync in progress.
 */
struct syncer {
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* dirty, or stop */
	int		 fd;
	const char	*path;
	int		 sync_ms;
	int64_t		 dirty_since;	/* monotonic ms; -1: all synced */
	int		 stop;
	pthread_t	 thread;
};

static void
flush_to_disk(int fd, const char *path)
{
	if (fdatasync(fd) == -1)
		log_warn("writer: fdatasync %s", path);
}

static void *
syncer_main(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		int64_t due;

		while (s->dirty_since < 0 && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->dirty_since < 0)
			break;
		due = s->dirty_since + s->sync_ms;
		if (!s->stop && clock_mono_ms() < due) {
			struct timespec until = { .tv_sec = due / 1000,
			    .tv_nsec = (due % 1000) * 1000000 };

			pthread_cond_timedwait(&s->wake, &s->lock, &until);
			continue;
		}
		s->dirty_since = -1;
		pthread_mutex_unlock(&s->lock);
		flush_to_disk(s->fd, s->path);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int
syncer_start(struct syncer *s, const struct map *m, int sync_ms)
{
	pthread_condattr_t attr;

	s->fd = m->fd;
	s->path = m->path;
	s->sync_ms = sync_ms;
	s->dirty_since = -1;
	s->stop = 0;
	/* A step of the wall clock must not stretch the wait. */
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&s->lock, NULL) != 0 ||
	    pthread_cond_init(&s->wake, &attr) != 0 ||
	    pthread_create(&s->thread, NULL, syncer_main, s) != 0) {
		pthread_condattr_destroy(&attr);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	return 0;
}

static void
syncer_dirty(struct syncer *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->dirty_since < 0) {
		s->dirty_since = clock_mono_ms();
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Syncs what is still dirty and ends the thread. */
static void
syncer_stop(struct syncer *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
}

static void __attribute__((noreturn))
writer_main(int fd, const char *path, const struct map_format *format,
    int repair, int sync_ms)
{
	static struct writer_op ops[WRITER_MAX_OPS];
	struct sigaction sa;
	struct writer_reply reply;
	struct readers readers;
	struct map m;
	char err[512], report[512];
	int32_t status = 0;
	struct syncer syncer;
	struct writer_go go;
	ssize_t n;

	/* dracd decides when we stop: by closing the socket. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);

	/* Wait for dracd to be ready for us (see writer_prepare). */
	while ((n = recv(fd, &go, sizeof(go), 0)) == -1 && errno == EINTR)
		;
	if (n != sizeof(go))
		_exit(0);
	if (go.drop && geteuid() == 0 && (setgroups(1, &go.gid) == -1 ||
	    setresgid(go.gid, go.gid, go.gid) == -1 ||
	    setresuid(go.uid, go.uid, go.uid) == -1)) {
		log_warn("writer: cannot become uid %ld", (long)go.uid);
		_exit(1);
	}
	if (repair) {
		switch (map_repair(path, format, report, sizeof(report), err,
		    sizeof(err))) {
		case 1:
			log_warnx("writer: %s", report);
			break;
		case -1:
			log_warnx("writer: cannot check the map: %s", err);
			break;
		}
	}
	if (map_open(&m, path, format, 0, err, sizeof(err)) == -1) {
		log_warnx("writer: %s", err);
		status = EIO;
	}
	if (send(fd, &status, sizeof(status), 0) != sizeof(status) ||
	    status != 0)
		_exit(1);
	watch_readers(&readers, path);
	if (sync_ms > 0) {
		db_env_set_func_fsync(defer_fsync);
		if (syncer_start(&syncer, &m, sync_ms) == -1) {
			log_warnx("writer: cannot start the sync thread; "
			    "syncing every change");
			db_env_set_func_fsync(NULL);
			sync_ms = 0;
		}
	}
	for (;;) {
		if ((n = recv(fd, ops, sizeof(ops), MSG_TRUNC)) <= 0)
			break;
		memset(&reply, 0, sizeof(reply));
		if ((size_t)n > sizeof(ops) || n % sizeof(ops[0]) != 0)
			reply.status = EINVAL;
		else
			reply.status = apply(&m, ops, (size_t)n /
			    sizeof(ops[0]));
		reply.stale_second = note_change(&readers, &m);
		if (sync_ms > 0)
			syncer_dirty(&syncer);
		if (send(fd, &reply, sizeof(reply), 0) != sizeof(reply))
			break;
	}
	if (sync_ms > 0) {
		syncer_stop(&syncer);
		/* Whatever closing writes reaches the disk too. */
		db_env_set_func_fsync(NULL);
	}
	map_close(&m);
	_exit(0);
}

static int
fork_writer(struct writer *w, int repair, char *err, size_t errsize)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errsize, "map writer: socketpair: %s",
		    strerror(errno));
		return -1;
	}
	switch (w->pid = fork()) {
	case -1:
		snprintf(err, errsize, "map writer: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		close(sv[0]);
		writer_main(sv[1], w->path, &w->format, repair, w->sync_ms);
	}
	close(sv[1]);
	w->fd = sv[0];
	return 0;
}

/* Lets the forked writer open the map, and waits until it has. */
static int
release_writer(struct writer *w, char *err, size_t errsize)
{
	int32_t status;
	ssize_t n;

	if (send(w->fd, &w->go, sizeof(w->go), 0) != sizeof(w->go)) {
		snprintf(err, errsize, "map writer: %s", strerror(errno));
		writer_stop(w);
		return -1;
	}
	while ((n = recv(w->fd, &status, sizeof(status), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n != sizeof(status) || status != 0) {
		snprintf(err, errsize, "map writer could not open %s", w->path);
		writer_stop(w);
		return -1;
	}
	return 0;
}

static int
spawn(struct writer *w, int repair, char *err, size_t errsize)
{
	if (fork_writer(w, repair, err, errsize) == -1)
		return -1;
	return release_writer(w, err, errsize);
}

int
writer_prepare(struct writer *w, const char *path,
    const struct map_format *format, int sync_ms, char *err, size_t errsize)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->pid = -1;
	w->sync_ms = sync_ms;
	w->format = *format;
	if ((w->path = strdup(path)) == NULL) {
		snprintf(err, errsize, "%s", strerror(errno));
		return -1;
	}
	return fork_writer(w, 0, err, errsize);
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
	return release_writer(w, err, errsize);
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

static int
roundtrip(struct writer *w, struct writer_reply *reply)
{
	size_t len = w->nops * sizeof(w->ops[0]);
	ssize_t n;

	if (w->fd == -1)
		return -1;
	while ((n = send(w->fd, w->ops, len, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (n != (ssize_t)len)
		return -1;
	while ((n = recv(w->fd, reply, sizeof(*reply), 0)) == -1 &&
	    errno == EINTR)
		;
	return n == sizeof(*reply) ? 0 : -1;
}

int
writer_commit(struct writer *w)
{
	struct writer_reply reply;
	char err[512];

	if (w->nops == 0)
		return 0;
	if (roundtrip(w, &reply) == -1) {
		/* The batch was not applied, or not whole: repair, retry. */
		log_warnx("map writer (pid %ld) is gone; starting a new one",
		    (long)w->pid);
		writer_stop(w);
		if (spawn(w, 1, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			w->nops = 0;
			return EIO;
		}
		if (roundtrip(w, &reply) == -1) {
			reply.status = EIO;
			reply.stale_second = 0;
		}
	}
	w->nops = 0;
	if (reply.stale_second > w->stale_second)
		w->stale_second = reply.stale_second;
	return reply.status;
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
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	if (w->pid > 0)
		while (waitpid(w->pid, NULL, 0) == -1 && errno == EINTR)
			;
	w->pid = -1;
}

void
writer_free(struct writer *w)
{
	writer_stop(w);
	free(w->path);
	w->path = NULL;
}
