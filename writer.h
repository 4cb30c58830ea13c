/*
 * writer.h: the map writer process.
 *
 * dracd never writes the map itself once it serves: a child process owns
 * the Berkeley DB handle and applies each batch of changes under the
 * readers' locks.  A batch travels as one SOCK_SEQPACKET message, so the
 * writer either gets all of it or none; if dracd is killed, even with
 * SIGKILL, the writer finishes the batch it holds and leaves a map that
 * verifies.  A multi-page Berkeley DB update cut in half would not.
 */
#ifndef DRAC_WRITER_H
#define DRAC_WRITER_H

#include <pwd.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "mapdb.h"

struct writer_op {
	uint8_t		op;		/* WRITER_PUT or WRITER_DEL */
	uint8_t		family;
	uint8_t		pad[6];
	int64_t		expires;
	uint8_t		bytes[16];
};

#define WRITER_PUT	1
#define WRITER_DEL	2
#define WRITER_TOUCH	3

struct writer_reply {
	int32_t		status;		/* 0 or a code for db_strerror() */
	int32_t		pad;
	/*
	 * Nonzero: the wall-clock second of this commit, when a reader may
	 * have opened the map earlier in the same second.  Such a reader
	 * (Postfix) compares st_mtime in whole seconds and would not notice
	 * this commit; the map must be touched in a later second first.
	 */
	int64_t		stale_second;
};
/* Bounds one batch, and so one message and one lock hold. */
#define WRITER_MAX_OPS	1024

/* What a forked writer waits for before it opens the map. */
struct writer_go {
	int32_t		drop;		/* become uid/gid first */
	uid_t		uid;
	gid_t		gid;
};

struct writer {
	pid_t			 pid;
	struct writer_go	 go;
	int			 sync_ms;	/* fdatasync at most this often */
	int			 fd;
	char			*path;
	struct map_format	 format;
	struct writer_op	 ops[WRITER_MAX_OPS];
	size_t			 nops;
	int64_t			 stale_second;	/* touch after it; 0: none */
};

/*
 * sync_ms 0: every batch reaches the disk (fdatasync) before the reply,
 * as DRAC 1.12 did.  Otherwise a batch reaches the file, so readers and a
 * restart after a crash of dracd see it, before the reply, and the disk
 * within sync_ms: a power failure loses at most that much.
 */
int	writer_prepare(struct writer *, const char *path,
	    const struct map_format *, int sync_ms, char *err,
	    size_t errsize);
/*
 * The writer is forked by writer_prepare() while dracd is still small
 * (before the table is loaded: a fork after would share the table copy-
 * on-write, and every page dracd then writes would be copied), and opens
 * the map at writer_start(), as pw's user if pw is not NULL.
 */
int	writer_start(struct writer *, const struct passwd *pw, char *err,
	    size_t errsize);
/* Queue a change; returns -1 when the batch is full (commit first). */
int	writer_put(struct writer *, const struct drac_addr *, int64_t);
int	writer_del(struct writer *, const struct drac_addr *);
/*
 * Sends the batch and waits until the writer has applied it: 0, or an
 * error code for db_strerror().  A dead writer is restarted once.
 */
int	writer_commit(struct writer *);
/* Closes the socket and waits for the writer to finish and exit. */
void	writer_stop(struct writer *);
/* Sets the map's st_mtime to second (not in the future), clearing
 * stale_second: 0 or a code. */
int	writer_touch(struct writer *, int64_t second);
void	writer_free(struct writer *);

#endif
