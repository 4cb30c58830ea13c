/*
 * mapdb.c: in-place updates of the Berkeley DB map.
 *
 * Readers take flock(LOCK_SH) (Postfix, Debian's sendmail) or fcntl read
 * locks (other sendmail builds); on Linux the two are independent, so a
 * writer holds both exclusively across put and sync.  st_mtime is left to
 * the kernel, so it never runs ahead of the clock; the writer process
 * (writer.c) deals with readers that compare it in whole seconds.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mapdb.h"

void
map_format_default(struct map_format *f)
{
	f->type = DB_HASH;
	f->nul = 0;
	f->cidr = 0;
	f->v6forms = MAP_V6_COMPRESSED | MAP_V6_FULL;
}

int
map_format_parse(const char *spec, struct map_format *f, const char **why)
{
	char buf[128];
	char *tok, *save = NULL;

	if (strlen(spec) >= sizeof(buf)) {
		*why = "format too long";
		return -1;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "hash") == 0)
			f->type = DB_HASH;
		else if (strcmp(tok, "btree") == 0)
			f->type = DB_BTREE;
		else if (strcmp(tok, "nul") == 0)
			f->nul = 1;
		else if (strcmp(tok, "nonul") == 0)
			f->nul = 0;
		else if (strcmp(tok, "cidr") == 0)
			f->cidr = 1;
		else if (strcmp(tok, "nocidr") == 0)
			f->cidr = 0;
		else if (strcmp(tok, "v6compressed") == 0)
			f->v6forms = MAP_V6_COMPRESSED;
		else if (strcmp(tok, "v6full") == 0)
			f->v6forms = MAP_V6_FULL;
		else if (strcmp(tok, "v6both") == 0)
			f->v6forms = MAP_V6_COMPRESSED | MAP_V6_FULL;
		else if (strcmp(tok, "sendmail") == 0 ||
		    strcmp(tok, "postfix") == 0) {
			/* Both read the default; named for the admin's sake. */
			map_format_default(f);
		} else if (strcmp(tok, "exim") == 0) {
			map_format_default(f);
			f->nul = 1;
			f->cidr = 1;
			f->v6forms = MAP_V6_COMPRESSED;
		} else if (strcmp(tok, "drac") == 0) {
			map_format_default(f);
			f->type = DB_BTREE;
			f->v6forms = MAP_V6_COMPRESSED;
		} else {
			*why = "unknown map format word (want hash, btree, nul, "
			    "nonul, cidr, nocidr, v6compressed, v6full, v6both, "
			    "sendmail, postfix, exim or drac)";
			return -1;
		}
	}
	return 0;
}

const char *
map_format_describe(const struct map_format *f, char *buf, size_t size)
{
	snprintf(buf, size, "%s,%s,%s,%s", f->type == DB_HASH ? "hash" : "btree",
	    f->nul ? "nul" : "nonul", f->cidr ? "cidr" : "nocidr",
	    f->v6forms == MAP_V6_COMPRESSED ? "v6compressed" :
	    f->v6forms == MAP_V6_FULL ? "v6full" : "v6both");
	return buf;
}

static size_t
finish_key(const struct map_format *f, const struct drac_addr *a, char *key)
{
	size_t len = strlen(key);

	if (f->cidr)
		len += (size_t)snprintf(key + len, ADDR_TEXT_MAX - len, "/%d",
		    a->family == AF_INET ? 32 : 128);
	return len + (f->nul ? 1 : 0);
}

int
map_format_keys(const struct map_format *f, const struct drac_addr *a,
    char keys[2][ADDR_TEXT_MAX], size_t lens[2])
{
	int n = 0;

	if (a->family == AF_INET || (f->v6forms & MAP_V6_COMPRESSED))
		addr_format(a, keys[n++], ADDR_TEXT_MAX);
	if (a->family == AF_INET6 && (f->v6forms & MAP_V6_FULL)) {
		addr_format_full(a, keys[n], ADDR_TEXT_MAX);
		/* Without a run of zeros the two forms are one key. */
		if (n == 0 || strcmp(keys[0], keys[n]) != 0)
			n++;
	}
	for (int i = 0; i < n; i++)
		lens[i] = finish_key(f, a, keys[i]);
	return n;
}

int
map_parse_key(const void *data, size_t size, struct drac_addr *a)
{
	char buf[ADDR_TEXT_MAX];
	char *slash;

	if (size > 0 && ((const char *)data)[size - 1] == '\0')
		size--;
	if (size == 0 || size >= sizeof(buf) || memchr(data, '\0', size))
		return -1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((slash = strchr(buf, '/')) != NULL) {
		if (strcmp(slash, "/32") != 0 && strcmp(slash, "/128") != 0)
			return -1;
		*slash = '\0';
	}
	return addr_parse(buf, a);
}

static void
set_err(char *err, size_t errsize, const char *path, int code)
{
	snprintf(err, errsize, "%s: %s", path, db_strerror(code));
}

/* Berkeley DB's own messages go to our log, not to a closed stderr. */
static void
db_message(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	log_warnx("berkeley db: %s", msg);
}

/*
 * Readers keep the pages they have read in a private cache, and the hash's
 * parameters from the moment they opened the map (Postfix looks up many
 * keys per open; its own DATABASE_README warns that locks are then not
 * enough).  An entry that Berkeley DB moves to another page, when it
 * splits a bucket or empties an overflow page, can be missed by such a
 * reader although it was in the file before the reader opened it.  So a
 * hash map is laid out with a page per bucket, half full on average, and a
 * fill factor so high that Berkeley DB splits only when a bucket's page is
 * full: entries never leave their page.  When a bucket does fill up, the
 * whole map is written anew with more buckets and renamed into place
 * (map_rebuild): readers of the old file keep a file that no longer
 * changes, and Postfix sees its link count drop to 0.
 */
#define MAP_FFACTOR	4096
#define MAP_MIN_BUCKETS	16u
#define MAP_MAX_BUCKETS	(1u << 20)
/* What a 4 KB hash page has for items, less its header. */
#define MAP_PAGE_ROOM	4070
/* Per pair: two index slots and two type bytes. */
#define MAP_PAIR_COST	6

static void
hash_layout(DB *db, uint32_t buckets)
{
	/* Ignored for an existing file, which keeps its own. */
	db->set_pagesize(db, 4096);
	db->set_h_ffactor(db, MAP_FFACTOR);
	db->set_h_nelem(db, buckets * MAP_FFACTOR);
}

static int
hash_shape(DB *db, uint32_t *buckets, uint32_t *ffactor)
{
	DB_HASH_STAT *st;
	int ret;

	if ((ret = db->stat(db, NULL, &st, DB_FAST_STAT)) != 0)
		return ret;
	*buckets = st->hash_buckets;
	*ffactor = st->hash_ffactor;
	free(st);
	return 0;
}

/* Remembers the buckets the file has now: map_split() compares. */
static void
note_shape(struct map *m)
{
	uint32_t ffactor;

	m->buckets = 0;	/* and so stays when the shape cannot be read */
	if (m->format.type == DB_HASH)
		hash_shape(m->db, &m->buckets, &ffactor);
}

int
map_split(struct map *m)
{
	uint32_t buckets, ffactor;

	if (m->format.type != DB_HASH || m->buckets == 0)
		return 0;
	return hash_shape(m->db, &buckets, &ffactor) != 0 ||
	    buckets != m->buckets;
}

int
map_foreign_layout(struct map *m)
{
	uint32_t buckets, ffactor;

	return m->format.type == DB_HASH &&
	    hash_shape(m->db, &buckets, &ffactor) == 0 &&
	    ffactor != MAP_FFACTOR;
}

uint32_t
map_buckets(const struct map *m)
{
	return m->buckets;
}

/* Enough buckets for the pairs to fill their pages by half at most. */
static uint32_t
buckets_for(uint64_t bytes)
{
	uint32_t b = MAP_MIN_BUCKETS;

	while (b < MAP_MAX_BUCKETS && (uint64_t)b * MAP_PAGE_ROOM / 2 < bytes)
		b *= 2;
	return b;
}

static int
sum_pairs(DB *db, uint64_t *bytes)
{
	DBC *cursor;
	DBT k, v;
	int ret;

	*bytes = 0;
	if ((ret = db->cursor(db, NULL, &cursor, 0)) != 0)
		return ret;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = cursor->get(cursor, &k, &v, DB_NEXT)) == 0)
		*bytes += (uint64_t)k.size + v.size + MAP_PAIR_COST;
	cursor->close(cursor);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Berkeley DB creates a file as "__db.NAME" beside it, then renames it.
 * A dracd killed in between leaves that empty file, and the next create
 * of NAME waits for its creator, a second per try, and fails after 100.
 */
static void
remove_stale(const char *tmp)
{
	char own[PATH_MAX];
	const char *slash = strrchr(tmp, '/');
	int dirlen = slash == NULL ? 0 : (int)(slash - tmp + 1);

	unlink(tmp);
	if (snprintf(own, sizeof(own), "%.*s__db.%s", dirlen, tmp,
	    tmp + dirlen) < (int)sizeof(own))
		unlink(own);
}

/*
 * Writes every pair of from into a new file at tmp with the given number
 * of buckets.  *fits is 0 if a bucket overflowed all the same (entries
 * bunched up): the caller tries again with more.
 */
static int
copy_into(DB *from, const char *tmp, uint32_t buckets, int *fits)
{
	uint32_t got = 0, ffactor;
	DBC *cursor = NULL;
	DB *to;
	DBT k, v;
	int ret, fd;

	*fits = 0;
	remove_stale(tmp);
	if ((ret = db_create(&to, NULL, 0)) != 0)
		return ret;
	to->set_errcall(to, db_message);
	hash_layout(to, buckets);
	/* The copy runs in bucket order: a small cache is enough. */
	to->set_cachesize(to, 0, 4u << 20, 1);
	ret = to->open(to, NULL, tmp, NULL, DB_HASH, DB_CREATE | DB_EXCL,
	    0600);
	/*
	 * Berkeley DB reads the new file's holes as it fills them; read
	 * ahead, they would come into the page cache as large folios, and
	 * every 4 KB page write into one walks all its blocks (measured:
	 * adds at 1,000,000 entries a third dearer).
	 */
	if (ret == 0 && (ret = to->fd(to, &fd)) == 0)
		posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (ret == 0)
		ret = from->cursor(from, NULL, &cursor, 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while (ret == 0 && (ret = cursor->get(cursor, &k, &v, DB_NEXT)) == 0)
		ret = to->put(to, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND)
		ret = 0;
	if (cursor != NULL)
		cursor->close(cursor);
	if (ret == 0 && (ret = hash_shape(to, &got, &ffactor)) == 0)
		*fits = got == buckets;
	/* The disk has the new map before its name does. */
	if (ret == 0 && *fits && (ret = to->sync(to, 0)) == 0 &&
	    fdatasync(fd) == -1)
		ret = errno;
	to->close(to, ret == 0 && *fits ? 0 : DB_NOSYNC);
	return ret;
}

/* The directory path is in: "." for a bare name, "/" at the top. */
static void
parent_directory(const char *path, char *dir, size_t size)
{
	char *slash;

	snprintf(dir, size, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, size, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

static void
sync_directory(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	parent_directory(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(fd) == -1)
		log_warn("fsync %s", dir);
	close(fd);
}

int
map_rebuild(struct map *m, uint32_t *buckets, char *err, size_t errsize)
{
	char tmp[PATH_MAX];
	uint64_t bytes;
	struct stat st;
	int ret, fits = 0;
	uint32_t b;

	if ((ret = sum_pairs(m->db, &bytes)) != 0) {
		set_err(err, errsize, m->path, ret);
		return ret;
	}
	if (fstat(m->fd, &st) == -1) {
		ret = errno;
		snprintf(err, errsize, "%s: %s", m->path, strerror(ret));
		return ret;
	}
	/* One name, so that a copy cut short is replaced by the next one. */
	snprintf(tmp, sizeof(tmp), "%s.grow", m->path);
	for (b = buckets_for(bytes); !fits && b <= MAP_MAX_BUCKETS; b *= 2)
		if ((ret = copy_into(m->db, tmp, b, &fits)) != 0)
			break;
	b /= 2;
	/* The owner, group and mode are the MTAs' access: keep them. */
	if (ret == 0 && !fits)
		ret = EFBIG;
	if (ret == 0 && chown(tmp, st.st_uid, st.st_gid) == -1 &&
	    (st.st_mode & S_IROTH) == 0)
		ret = errno;	/* the group may be the MTA's only access */
	if (ret == 0 && (chmod(tmp, st.st_mode & 07777) == -1 ||
	    rename(tmp, m->path) == -1))
		ret = errno;
	if (ret != 0) {
		snprintf(err, errsize, "%s: cannot write it anew with more "
		    "buckets: %s", m->path, db_strerror(ret));
		unlink(tmp);
		return ret;
	}
	sync_directory(m->path);
	*buckets = b;
	return 0;
}

/*
 * A truncated map is built under a temporary name and renamed into place,
 * so readers never find the path missing or half-created.
 */
static int
open_fresh(struct map *m, char *err, size_t errsize)
{
	size_t len = strlen(m->path) + 32;
	char *tmp = malloc(len);
	int ret;

	if (tmp == NULL) {
		snprintf(err, errsize, "%s: %s", m->path, strerror(errno));
		return -1;
	}
	snprintf(tmp, len, "%s.new.%ld", m->path, (long)getpid());
	remove_stale(tmp);
	if (m->format.type == DB_HASH)
		hash_layout(m->db, MAP_MIN_BUCKETS);
	ret = m->db->open(m->db, NULL, tmp, NULL, m->format.type,
	    DB_CREATE | DB_EXCL, 0644);
	if (ret == 0)
		ret = m->db->fd(m->db, &m->fd);
	if (ret == 0)
		ret = m->db->sync(m->db, 0);
	if (ret == 0 && (fchmod(m->fd, 0644) == -1 ||
	    rename(tmp, m->path) == -1))
		ret = errno;
	if (ret != 0) {
		set_err(err, errsize, m->path, ret);
		unlink(tmp);
	}
	free(tmp);
	return ret == 0 ? 0 : -1;
}

int
map_open(struct map *m, const char *path, const struct map_format *format,
    int truncate, char *err, size_t errsize)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->format = *format;
	if ((m->path = strdup(path)) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((ret = db_create(&m->db, NULL, 0)) != 0) {
		set_err(err, errsize, path, ret);
		map_close(m);
		return -1;
	}
	m->db->set_errcall(m->db, db_message);
	if (truncate) {
		if (open_fresh(m, err, errsize) == -1) {
			map_close(m);
			return -1;
		}
		note_shape(m);
		return 0;
	}
	if (format->type == DB_HASH)
		hash_layout(m->db, MAP_MIN_BUCKETS);
	ret = m->db->open(m->db, NULL, path, NULL, format->type, DB_CREATE,
	    0644);
	if (ret == EINVAL) {
		snprintf(err, errsize, "%s: not a Berkeley DB %s file (wrong "
		    "map type? -i recreates it empty)", path,
		    format->type == DB_HASH ? "hash" : "btree");
		map_close(m);
		return -1;
	}
	if (ret == 0)
		ret = m->db->fd(m->db, &m->fd);
	if (ret != 0) {
		set_err(err, errsize, path, ret);
		map_close(m);
		return -1;
	}
	note_shape(m);
	return 0;
}

static void
fill_dbt(DBT *d, void *data, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->data = data;
	d->size = (u_int32_t)size;
}

static int
parse_value(const DBT *v, int64_t *out)
{
	char buf[32];
	size_t size = v->size;
	char *end;

	if (size > 0 && ((const char *)v->data)[size - 1] == '\0')
		size--;
	if (size == 0 || size >= sizeof(buf))
		return -1;
	memcpy(buf, v->data, size);
	buf[size] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return *end != '\0' || errno ? -1 : 0;
}

static int
key_in_format(const struct map_format *f, const struct drac_addr *a,
    const DBT *k)
{
	char keys[2][ADDR_TEXT_MAX];
	size_t lens[2];
	int n = map_format_keys(f, a, keys, lens);

	for (int i = 0; i < n; i++)
		if (lens[i] == k->size && memcmp(keys[i], k->data, k->size) == 0)
			return 1;
	return 0;
}

/* Berkeley DB's magic numbers, at byte 12 of the metadata page. */
#define DB_MAGIC_HASH	0x061561
#define DB_MAGIC_BTREE	0x053162

static int
looks_like_db(const char *path)
{
	unsigned char meta[16];
	uint32_t le, be;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return 0;
	n = pread(fd, meta, sizeof(meta), 0);
	close(fd);
	if (n != (ssize_t)sizeof(meta))
		return 0;
	le = (uint32_t)meta[12] | (uint32_t)meta[13] << 8 |
	    (uint32_t)meta[14] << 16 | (uint32_t)meta[15] << 24;
	be = (uint32_t)meta[15] | (uint32_t)meta[14] << 8 |
	    (uint32_t)meta[13] << 16 | (uint32_t)meta[12] << 24;
	return le == DB_MAGIC_HASH || le == DB_MAGIC_BTREE ||
	    be == DB_MAGIC_HASH || be == DB_MAGIC_BTREE;
}

static int
hex_line(const char *line, size_t len, DBT *out, unsigned char *buf,
    size_t bufsize)
{
	size_t n = 0;

	if (len < 1 || line[0] != ' ' || (len - 1) % 2 != 0 ||
	    (len - 1) / 2 > bufsize)
		return -1;
	for (size_t i = 1; i < len; i += 2) {
		unsigned hi, lo;

		if (sscanf(line + i, "%1x%1x", &hi, &lo) != 2)
			return -1;
		buf[n++] = (unsigned char)(hi << 4 | lo);
	}
	fill_dbt(out, buf, n);
	return 0;
}

/*
 * Writes salvager output (db_dump format, hex) into db; counts pairs.
 * The salvager can pair a key with the wrong item, so only pairs that
 * look like ours (an address and a number) are taken: entries of other
 * kinds cannot be told from debris and are lost with the damage.
 */
static int
load_salvage(DB *db, char *text, size_t *count)
{
	unsigned char kbuf[256], vbuf[256];
	char *line, *save = NULL;
	int in_data = 0, have_key = 0, ret;
	struct drac_addr a;
	int64_t expires, have;
	DBT k, v, old;

	*count = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		if (strcmp(line, "HEADER=END") == 0) {
			in_data = 1;
			have_key = 0;
			continue;
		}
		if (strcmp(line, "DATA=END") == 0) {
			in_data = 0;
			continue;
		}
		if (!in_data)
			continue;
		if (!have_key) {
			have_key = hex_line(line, len, &k, kbuf,
			    sizeof(kbuf)) == 0;
			continue;
		}
		have_key = 0;
		if (hex_line(line, len, &v, vbuf, sizeof(vbuf)) == -1)
			continue;
		if (map_parse_key(k.data, k.size, &a) == -1 ||
		    parse_value(&v, &expires) == -1)
			continue;
		/* Stale copies linger in pages: the latest expiry wins. */
		memset(&old, 0, sizeof(old));
		if (db->get(db, NULL, &k, &old, 0) == 0 &&
		    (parse_value(&old, &have) == -1 || have >= expires))
			continue;
		if ((ret = db->put(db, NULL, &k, &v, 0)) != 0)
			return ret;
		(*count)++;
	}
	return 0;
}

/* The verification has said what is wrong: the salvager would repeat it. */
static void
db_quiet(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	(void)msg;
}

/*
 * A handle for salvaging a damaged file.  A page that Berkeley DB cannot
 * read in panics its environment, and a panicked environment fails every
 * later page (the salvage would stop at the first damaged page):
 * DB_NOPANIC lets it go on to the end of the file.
 */
static int
salvage_handle(DB_ENV **envp, DB **dbp)
{
	DB_ENV *env;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		return ret;
	env->set_errcall(env, db_quiet);
	if ((ret = env->set_flags(env, DB_NOPANIC, 1)) != 0 ||
	    (ret = env->open(env, NULL, DB_CREATE | DB_INIT_MPOOL |
	    DB_PRIVATE, 0)) != 0 || (ret = db_create(dbp, env, 0)) != 0) {
		env->close(env, 0);
		return ret;
	}
	*envp = env;
	return 0;
}

/*
 * The careful salvage only: with DB_NOPANIC it reads every page but the
 * damaged ones.  The aggressive one (DB_AGGRESSIVE) also reads free space
 * and can pair a key with another entry's value, or bring back an entry
 * that had expired.
 */
static int
salvage(DB *into, const char *path, size_t *count)
{
	char *dump = NULL;
	size_t dumplen = 0, n = 0;
	FILE *out = open_memstream(&dump, &dumplen);
	DB_ENV *env;
	DB *db;
	int ret;

	if (out == NULL)
		return errno;
	if ((ret = salvage_handle(&env, &db)) != 0) {
		fclose(out);
		free(dump);
		return ret;
	}
	/* It reports the damage it found; what it wrote is what we want. */
	db->verify(db, path, NULL, out, DB_SALVAGE);
	env->close(env, 0);
	fclose(out);
	ret = load_salvage(into, dump, &n);
	free(dump);
	*count += n;
	return ret;
}

int
map_repair(const char *path, const struct map_format *format, char *report,
    size_t reportsize, char *err, size_t errsize)
{
	char tmp[PATH_MAX], kept[PATH_MAX];
	size_t count = 0;
	DB *db;
	int ret;

	if (access(path, F_OK) == -1)
		return 0;
	if (!looks_like_db(path)) {
		snprintf(err, errsize, "%s: not a Berkeley DB file; refusing "
		    "to touch it", path);
		return -1;
	}
	/*
	 * Not with DB_NOPANIC: the verifier then passes most pages that it
	 * cannot read in, and the load fails on them.
	 */
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		set_err(err, errsize, path, ret);
		return -1;
	}
	db->set_errcall(db, db_message);
	if (db->verify(db, path, NULL, NULL, 0) == 0)
		return 0;

	/* Damaged: salvage every readable pair. */
	snprintf(tmp, sizeof(tmp), "%s.salvage.%ld", path, (long)getpid());
	snprintf(kept, sizeof(kept), "%s.damaged.%lld", path,
	    (long long)time(NULL));
	remove_stale(tmp);
	if ((ret = db_create(&db, NULL, 0)) == 0) {
		db->set_errcall(db, db_message);
		ret = db->open(db, NULL, tmp, NULL, format->type,
		    DB_CREATE | DB_EXCL, 0644);
		if (ret == 0)
			ret = salvage(db, path, &count);
		if (ret == 0)
			ret = db->sync(db, 0);
		db->close(db, 0);
	}
	if (ret == 0 && (chmod(tmp, 0644) == -1 || link(path, kept) == -1 ||
	    rename(tmp, path) == -1))
		ret = errno;
	if (ret != 0) {
		set_err(err, errsize, path, ret);
		unlink(tmp);
		return -1;
	}
	snprintf(report, reportsize, "%s failed verification: salvaged %zu "
	    "entries into a new map; the damaged file is kept as %s", path,
	    count, kept);
	return 1;
}

/*
 * Berkeley DB can panic, leak, or in the worst case crash on a damaged
 * file: verify and salvage in a child, so that dracd itself never does.
 * If the child dies, the damaged file is moved aside and the map starts
 * empty, loudly: a crash loop would help nobody.
 */
int
map_repair_isolated(const char *path, const struct map_format *format,
    char *report, size_t reportsize, char *err, size_t errsize)
{
	int p[2], status, rc;
	char buf[1024];
	ssize_t n, got = 0;
	pid_t pid;

	if (access(path, F_OK) == -1)
		return 0;
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errsize, "%s: cannot check the map: %s", path,
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		rc = map_repair(path, format, report, reportsize, err, errsize);
		if (rc != 0 && write(p[1], rc == 1 ? report : err,
		    strlen(rc == 1 ? report : err)) == -1)
			_exit(4);
		_exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 2) {
		rc = WEXITSTATUS(status);
		if (rc == 1)
			snprintf(report, reportsize, "%s", buf);
		else if (rc == 2)
			snprintf(err, errsize, "%s", buf);
		return rc == 2 ? -1 : rc;
	}
	if (WIFEXITED(status)) {
		/* It did not crash; it could not finish: keep the map as is. */
		snprintf(report, reportsize, "%s: the map check ended with "
		    "status %d; using the map as it is", path,
		    WEXITSTATUS(status));
		return 1;
	}
	{
		char kept[PATH_MAX];

		snprintf(kept, sizeof(kept), "%s.damaged.%lld", path,
		    (long long)time(NULL));
		if (rename(path, kept) == -1) {
			snprintf(err, errsize, "%s: the salvager died and the "
			    "map cannot be moved aside: %s", path,
			    strerror(errno));
			return -1;
		}
		snprintf(report, reportsize, "%s: checking or salvaging the map "
		    "killed the salvager (signal %d); the damaged file is kept "
		    "as %s and the map starts empty", path, WTERMSIG(status),
		    kept);
	}
	return 1;
}

static int
clean_mark_path(const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.clean", path);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
describe_file(const char *path, char *buf, size_t size)
{
	struct stat st;
	int n;

	if (stat(path, &st) == -1)
		return -1;
	n = snprintf(buf, size, "%ju %jd %jd %ld\n", (uintmax_t)st.st_ino,
	    (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int
map_mark_clean(const char *path)
{
	char mark[PATH_MAX], line[128];
	int fd, n;

	if (clean_mark_path(path, mark, sizeof(mark)) == -1 ||
	    (n = describe_file(path, line, sizeof(line))) == -1)
		return -1;
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		unlink(mark);
		return -1;
	}
	return close(fd);
}

int
map_was_clean(const char *path)
{
	char mark[PATH_MAX], line[128], now[128];
	ssize_t got;
	int fd, n;

	if (clean_mark_path(path, mark, sizeof(mark)) == -1 ||
	    (fd = open(mark, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	got = read(fd, line, sizeof(line) - 1);
	close(fd);
	/* Used once: a dracd that then crashes leaves none behind. */
	unlink(mark);
	if (got <= 0 || (n = describe_file(path, now, sizeof(now))) == -1)
		return 0;
	return got == n && memcmp(line, now, (size_t)n) == 0;
}

int
map_check(const char *path, const struct map_format *format, char *err,
    size_t errsize)
{
	char dir[PATH_MAX];
	DB *db;
	int ret;

	if (access(path, F_OK) == -1) {
		parent_directory(path, dir, sizeof(dir));
		ret = access(dir, W_OK);
		if (ret == -1)
			snprintf(err, errsize, "%s: cannot create the map in "
			    "%s: %s", path, dir, strerror(errno));
		return ret;
	}
	if (access(path, R_OK | W_OK) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		set_err(err, errsize, path, ret);
		return -1;
	}
	db->set_errcall(db, db_message);
	ret = db->open(db, NULL, path, NULL, format->type, DB_RDONLY, 0);
	db->close(db, 0);
	if (ret == EINVAL)
		snprintf(err, errsize, "%s: not a Berkeley DB %s file", path,
		    format->type == DB_HASH ? "hash" : "btree");
	else if (ret != 0)
		set_err(err, errsize, path, ret);
	return ret == 0 ? 0 : -1;
}

static void
close_map(struct map *m, uint32_t flags)
{
	if (m->db != NULL)
		m->db->close(m->db, flags);
	free(m->path);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void
map_close(struct map *m)
{
	close_map(m, 0);
}

void
map_discard(struct map *m)
{
	close_map(m, DB_NOSYNC);
}

/*
 * Open file description locks, not process-owned fcntl locks: they
 * conflict with the fcntl read locks of readers alike, and, like flock
 * locks, they belong to the open file, which the guardian shares (see
 * writer.h): they outlive a dracd killed in the middle of a commit.
 */
static int
lock_file(int fd, int exclusive)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = exclusive ? F_WRLCK : F_UNLCK;
	fl.l_whence = SEEK_SET;
	if (exclusive) {
		while (flock(fd, LOCK_EX) == -1)
			if (errno != EINTR)
				return -1;
		while (fcntl(fd, F_OFD_SETLKW, &fl) == -1)
			if (errno != EINTR) {
				flock(fd, LOCK_UN);
				return -1;
			}
		return 0;
	}
	fcntl(fd, F_OFD_SETLK, &fl);
	flock(fd, LOCK_UN);
	return 0;
}

int
map_begin(struct map *m)
{
	if (m->locked)
		return 0;
	if (lock_file(m->fd, 1) == -1)
		return errno;
	m->locked = 1;
	return 0;
}

/*
 * An explicit time: UTIME_NOW, like any write, stamps the kernel's coarse
 * clock, which can still show the previous second for a few milliseconds
 * after the real clock has moved on.
 */
int
map_touch(struct map *m, int64_t second)
{
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)second }
	};

	return futimens(m->fd, times) == -1 ? errno : 0;
}

int64_t
map_mtime(struct map *m)
{
	struct stat st;

	return fstat(m->fd, &st) == -1 ? -1 : (int64_t)st.st_mtime;
}

int
map_sync(struct map *m)
{
	return m->db->sync(m->db, 0);
}

void
map_end(struct map *m)
{
	lock_file(m->fd, 0);
	m->locked = 0;
}

int
map_commit(struct map *m)
{
	int ret = map_sync(m);

	map_end(m);
	return ret;
}

int
map_put(struct map *m, const struct drac_addr *a, int64_t expires)
{
	char keys[2][ADDR_TEXT_MAX];
	size_t lens[2];
	char value[32];
	int nkeys = map_format_keys(&m->format, a, keys, lens);
	int vlen = snprintf(value, sizeof(value), "%" PRId64, expires);
	DBT k, v;

	for (int i = 0; i < nkeys; i++) {
		int ret;

		fill_dbt(&k, keys[i], lens[i]);
		fill_dbt(&v, value, (size_t)vlen + (m->format.nul ? 1 : 0));
		if ((ret = m->db->put(m->db, NULL, &k, &v, 0)) != 0)
			return ret;
	}
	return 0;
}

int
map_del(struct map *m, const struct drac_addr *a)
{
	char keys[2][ADDR_TEXT_MAX];
	size_t lens[2];
	int nkeys = map_format_keys(&m->format, a, keys, lens);
	int rc = 0;
	DBT k;

	for (int i = 0; i < nkeys; i++) {
		int ret;

		fill_dbt(&k, keys[i], lens[i]);
		ret = m->db->del(m->db, NULL, &k, 0);
		if (ret != 0 && ret != DB_NOTFOUND)
			rc = ret;
	}
	return rc;
}

int
map_scan(struct map *m, int (*keep)(const struct drac_addr *, int64_t,
    void *), void (*warn)(const char *, void *), void *arg,
    size_t *reformatted)
{
	DBC *cursor;
	DBT k, v;
	int ret;

	*reformatted = 0;
	if ((ret = m->db->cursor(m->db, NULL, &cursor, 0)) != 0)
		return ret;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = cursor->get(cursor, &k, &v, DB_NEXT)) == 0) {
		struct drac_addr a;
		int64_t expires;
		char shown[ADDR_TEXT_MAX * 4 + 64];

		if (map_parse_key(k.data, k.size, &a) == -1 ||
		    parse_value(&v, &expires) == -1) {
			char raw[ADDR_TEXT_MAX + 1];
			size_t n = k.size < ADDR_TEXT_MAX ? k.size : ADDR_TEXT_MAX;

			memcpy(raw, k.data, n);
			raw[n] = '\0';
			snprintf(shown, sizeof(shown), "%.*s", (int)n, raw);
			warn(shown, arg);
			continue;
		}
		if (!keep(&a, expires, arg)) {
			if ((ret = cursor->del(cursor, 0)) != 0)
				break;
		} else if (!key_in_format(&m->format, &a, &k)) {
			if ((ret = cursor->del(cursor, 0)) != 0)
				break;
			(*reformatted)++;
		}
	}
	cursor->close(cursor);
	return ret == DB_NOTFOUND ? 0 : ret;
}
