/*
 * writer.h: dracd's map writer and its guardian process.
 *
 * dracd writes the map itself, a batch of changes per commit under the
 * readers' locks (see mapdb.h).  A small child process, the guardian,
 * shares the map's open file description, and so its locks, and the undo
 * journal (journal.h): if dracd is killed in the middle of a commit, even
 * with SIGKILL, the locks stay held until the guardian has written back
 * what the commit had replaced, so readers never see half of a commit.
 * The guardian also syncs the disk (-y), off dracd's path.
 */
#ifndef DRAC_WRITER_H
#define DRAC_WRITER_H

#include <pwd.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "journal.h"
#include "mapdb.h"

struct writer_op {
	uint8_t		op;		/* WRITER_PUT, _DEL or _TOUCH */
	uint8_t		family;
	uint8_t		pad[6];
	int64_t		expires;
	uint8_t		bytes[16];
};

#define WRITER_PUT	1
#define WRITER_DEL	2
#define WRITER_TOUCH	3

/* Bounds one batch, and so one lock hold and the journal it needs. */
#define WRITER_MAX_OPS	1024

/*
 * The readers' locks outlast a commit, for the commits that follow:
 * taking and dropping both costs four system calls, a sixth of an add's
 * CPU.  They are let go WRITER_HOLD_US after they were taken (a timer,
 * armed once per hold: a timeout that moves with each poll costs a
 * virtual machine more than the locks), and at once when a reader opens
 * or reads the map.  While readers are about (the map was opened or read
 * in the last WRITER_READERS_QUIET_MS), the locks go with each commit:
 * a waiting reader, woken when they go, must run before dracd takes them
 * again, and on a busy machine it often does not.  So only a reader's
 * first lookup after a quiet second waits for a hold.
 */
#define WRITER_HOLD_US	1000
#define WRITER_READERS_QUIET_MS	1000

/* What a forked guardian waits for, with the map's descriptor. */
struct writer_go {
	int32_t		drop;		/* become uid/gid first */
	uid_t		uid;
	gid_t		gid;
};

/* What the writer knows about readers opening the map. */
struct map_readers {
	int		inotify;	/* IN_OPEN on the map, or -1 */
	int64_t		last_open_ms;	/* when we last saw one */
	int64_t		last_change_sec; /* second of our last change */
	int		signalled;	/* SIGIO tells of opens */
};

struct writer {
	pid_t			 pid;		/* the guardian */
	struct writer_go	 go;
	int			 sync_ms;	/* fdatasync at most this often */
	int			 fd;		/* socket to the guardian */
	char			*path;
	struct map_format	 format;
	struct map		 map;		/* open from writer_start() */
	struct journal		*journal;
	struct map_readers	 readers;
	struct writer_op	 ops[WRITER_MAX_OPS];
	size_t			 nops;
	/*
	 * Nonzero: the wall-clock second of a commit made when a reader may
	 * have opened the map earlier in the same second.  Such a reader
	 * (Postfix) compares st_mtime in whole seconds and would not notice
	 * the commit; the map must be touched in a later second first.
	 */
	int64_t			 stale_second;
	int64_t			 grow_after;	/* till then, grow in place */
	int			 unlock_timer;	/* timerfd, or -1: no holding */
	int64_t			 hold_after;	/* mono ms: readers were about */
};

/*
 * sync_ms 0: every batch reaches the disk (fdatasync) before the reply,
 * as DRAC 1.12 did.  Otherwise a batch reaches the file, so readers and a
 * restart after a crash of dracd see it, before the reply, and the disk
 * within sync_ms (the guardian syncs): a power failure loses at most that.
 */
int	writer_prepare(struct writer *, const char *path,
	    const struct map_format *, int sync_ms, char *err,
	    size_t errsize);
/*
 * The guardian is forked by writer_prepare() while dracd is still small
 * (before the table is loaded: a fork after would share the table copy-
 * on-write, and every page dracd then writes would be copied).
 * writer_start() opens the map and hands it to the guardian, which
 * becomes pw's user if pw is not NULL.
 */
int	writer_start(struct writer *, const struct passwd *pw, char *err,
	    size_t errsize);
/* Queue a change; returns -1 when the batch is full (commit first). */
int	writer_put(struct writer *, const struct drac_addr *, int64_t);
int	writer_del(struct writer *, const struct drac_addr *);
/*
 * Applies the batch: 0, or an error code for db_strerror().  A batch that
 * fails is undone whole (and Berkeley DB's cached pages forgotten).
 */
int	writer_commit(struct writer *);
/*
 * The event loop polls writer_unlock_fd() (-1 if none) and calls
 * writer_unlock() when it is readable; writer_reader_waits() says to
 * unlock at once.
 */
int	writer_unlock_fd(const struct writer *);
int	writer_reader_waits(void);
void	writer_unlock(struct writer *);
/* After SIGCHLD: replaces a guardian that died.  0, or -1 if it could
 * not be replaced (logged; tried again at the next call). */
int	writer_check(struct writer *);
/* Closes the map and waits for the guardian to sync and exit. */
void	writer_stop(struct writer *);
/* Sets the map's st_mtime to second (not in the future), clearing
 * stale_second: 0 or a code. */
int	writer_touch(struct writer *, int64_t second);
void	writer_free(struct writer *);

#endif
