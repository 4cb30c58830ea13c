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
/* Bounds one batch, and so one message and one lock hold. */
#define WRITER_MAX_OPS	1024

struct writer {
	pid_t			 pid;
	int			 fd;
	char			*path;
	struct map_format	 format;
	struct writer_op	 ops[WRITER_MAX_OPS];
	size_t			 nops;
};

int	writer_start(struct writer *, const char *path,
	    const struct map_format *, char *err, size_t errsize);
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
void	writer_free(struct writer *);

#endif
