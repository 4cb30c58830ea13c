/* journal.c: the map's undo journal, shared with the guardian. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "journal.h"
#include "log.h"

/*
 * Address space only: pages are touched as commits need them, and those
 * beyond JOURNAL_KEEP are given back after a commit that used them.  A
 * commit of WRITER_MAX_OPS changes touches a few thousand pages at most.
 */
#define JOURNAL_SIZE	((size_t)256 << 20)
#define JOURNAL_KEEP	((size_t)1 << 20)

/* Follows the bytes it describes, so the journal reads backwards. */
struct record {
	uint64_t	offset;
	uint64_t	length;
};

struct journal {
	atomic_int	 open;
	atomic_size_t	 used;
	_Atomic int64_t	 dirty_since;	/* monotonic ms; -1: synced */
	int64_t		 old_size;	/* the file's size when the commit began */
	int64_t		 size;		/* its size as our writes left it */
	unsigned char	 records[] __attribute__((aligned(8)));
};

/*
 * Berkeley DB's I/O hooks have no argument for it: the journal attached,
 * and the map file mapped for reading.  Pages are read from the mapping,
 * without a system call each (they cost most of an add on a virtual
 * machine).  Should the file shrink under dracd, which only an outsider
 * can do, a read of the lost part faults: the read then falls back to
 * pread(2), which reports it, and the mapping is no longer used.
 */
static struct {
	struct journal		*journal;
	int			 fd;
	const unsigned char	*map;
	size_t			 map_len;
	int			 drop_writes;
} hook = { NULL, -1, NULL, 0, 0 };
static sigjmp_buf copy_fault;
static volatile sig_atomic_t copying;

static size_t
capacity(void)
{
	return JOURNAL_SIZE - sizeof(struct journal);
}

struct journal *
journal_create(void)
{
	struct journal *j;

	j = mmap(NULL, JOURNAL_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (j == MAP_FAILED)
		return NULL;
	atomic_init(&j->open, 0);
	atomic_init(&j->used, 0);
	atomic_init(&j->dirty_since, -1);
	j->old_size = -1;
	j->size = -1;
	return j;
}

void
journal_destroy(struct journal *j)
{
	if (hook.journal == j)
		journal_detach();
	if (j != NULL)
		munmap(j, JOURNAL_SIZE);
}

static void
on_bus_error(int sig)
{
	if (copying)
		siglongjmp(copy_fault, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads what the file holds, from the mapping where it can. */
static ssize_t
read_file(struct journal *j, int fd, void *buf, size_t length, off_t offset)
{
	ssize_t got;

	if (hook.map != NULL && offset >= 0 &&
	    (uint64_t)offset + length <= hook.map_len &&
	    (int64_t)(offset + (off_t)length) <= j->size) {
		copying = 1;
		if (sigsetjmp(copy_fault, 0) == 0) {
			memcpy(buf, hook.map + offset, length);
			copying = 0;
			return (ssize_t)length;
		}
		copying = 0;
		hook.map = NULL;	/* shrunk: leave it to pread */
		log_warnx("the map file shrank under dracd (another "
		    "program cut it?): reading it with pread(2) from now on");
	}
	while ((got = pread(fd, buf, length, offset)) == -1 && errno == EINTR)
		;
	return got;
}

/*
 * Keeps what a page write at offset will replace.  A page written twice
 * in one commit is kept twice; the rollback runs backwards, so the copy
 * made first, the state before the commit, is the one left in the file.
 */
static int
save(struct journal *j, int fd, size_t length, off_t offset)
{
	size_t used = atomic_load_explicit(&j->used, memory_order_relaxed);
	struct record r = { .offset = (uint64_t)offset, .length = 0 };
	size_t padded;

	/* Bytes past the old end need no copy: the rollback cuts them. */
	if (offset < j->old_size)
		r.length = (uint64_t)j->old_size - (uint64_t)offset < length ?
		    (uint64_t)j->old_size - (uint64_t)offset : length;
	padded = ((size_t)r.length + 7) & ~(size_t)7;
	if (padded + sizeof(r) > capacity() - used) {
		errno = ENOSPC;
		return -1;
	}
	if (r.length > 0) {
		ssize_t got = read_file(j, fd, j->records + used,
		    (size_t)r.length, offset);

		if (got == -1)
			return -1;
		r.length = (uint64_t)got;
		padded = ((size_t)r.length + 7) & ~(size_t)7;
	}
	memcpy(j->records + used + padded, &r, sizeof(r));
	/* The guardian must see the copy before the write can happen. */
	atomic_store_explicit(&j->used, used + padded + sizeof(r),
	    memory_order_release);
	if ((int64_t)(offset + (off_t)length) > j->size)
		j->size = (int64_t)(offset + (off_t)length);
	return 0;
}

static ssize_t
journal_pwrite(int fd, const void *buf, size_t length, off_t offset)
{
	struct journal *j = hook.journal;

	if (hook.drop_writes)
		return (ssize_t)length;
	if (j != NULL && fd == hook.fd &&
	    atomic_load_explicit(&j->open, memory_order_relaxed) &&
	    save(j, fd, length, offset) == -1)
		return -1;	/* Berkeley DB fails the commit: undone */
	return pwrite(fd, buf, length, offset);
}

static ssize_t
journal_pread(int fd, void *buf, size_t length, off_t offset)
{
	if (hook.journal != NULL && fd == hook.fd)
		return read_file(hook.journal, fd, buf, length, offset);
	return pread(fd, buf, length, offset);
}

int
journal_attach(struct journal *j, int fd)
{
	struct stat st;

	struct sigaction sa;
	void *map;

	journal_detach();
	/* From here on, only our writes change the file's size. */
	if (fstat(fd, &st) == -1)
		return -1;
	j->size = st.st_size;
	hook.journal = j;
	hook.fd = fd;
	/* Room to grow; reads past the mapping go to pread(2). */
	hook.map_len = 2 * (size_t)st.st_size + ((size_t)16 << 20);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus_error;
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	map = mmap(NULL, hook.map_len, PROT_READ, MAP_SHARED, fd, 0);
	/* Page by page: see copy_into() in mapdb.c on large folios. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (map != MAP_FAILED)
		madvise(map, hook.map_len, MADV_RANDOM);
	if (map != MAP_FAILED && sigaction(SIGBUS, &sa, NULL) == 0)
		hook.map = map;
	else if (map != MAP_FAILED)
		munmap(map, hook.map_len);
	if (db_env_set_func_pwrite(journal_pwrite) != 0 ||
	    db_env_set_func_pread(journal_pread) != 0)
		return -1;
	return 0;
}

void
journal_detach(void)
{
	if (hook.map != NULL)
		munmap((void *)(uintptr_t)hook.map, hook.map_len);
	hook.map = NULL;
	hook.map_len = 0;
	hook.journal = NULL;
	hook.fd = -1;
}

void
journal_drop_writes(int on)
{
	hook.drop_writes = on;
}

void
journal_begin(struct journal *j)
{
	j->old_size = j->size;
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
	atomic_store_explicit(&j->open, 1, memory_order_release);
}

void
journal_end(struct journal *j)
{
	size_t used = atomic_load_explicit(&j->used, memory_order_relaxed);

	/* The commit point: from here on, the new state stands. */
	atomic_store_explicit(&j->open, 0, memory_order_release);
	if (used > JOURNAL_KEEP)
		madvise(j->records + JOURNAL_KEEP, used - JOURNAL_KEEP,
		    MADV_REMOVE);
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
}

int
journal_open(const struct journal *j)
{
	return atomic_load_explicit(&j->open, memory_order_acquire);
}

long
journal_rollback(struct journal *j, int fd)
{
	size_t at = atomic_load_explicit(&j->used, memory_order_acquire);
	long undone = 0;
	struct stat st;

	while (at > 0) {
		struct record r;
		size_t padded;

		memcpy(&r, j->records + at - sizeof(r), sizeof(r));
		padded = ((size_t)r.length + 7) & ~(size_t)7;
		at -= sizeof(r) + padded;
		if (r.length > 0 && pwrite(fd, j->records + at,
		    (size_t)r.length, (off_t)r.offset) != (ssize_t)r.length)
			return -1;
		undone++;
	}
	if (j->old_size >= 0 && fstat(fd, &st) == 0 &&
	    st.st_size > j->old_size && ftruncate(fd, j->old_size) == -1)
		return -1;
	j->size = j->old_size;
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
	return undone;
}

int
journal_dirty(struct journal *j, int64_t now_ms)
{
	int64_t clean = -1;

	return atomic_compare_exchange_strong(&j->dirty_since, &clean, now_ms);
}

int64_t
journal_due(const struct journal *j)
{
	return atomic_load(&j->dirty_since);
}

void
journal_clean(struct journal *j)
{
	atomic_store(&j->dirty_since, -1);
}
