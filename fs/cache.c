/*
 * The on-disk cache.  Writers hold an exclusive flock on their temporary
 * file for its whole life, so the sweep at start can tell an abandoned
 * file (a crashed writer) from one another mount is still writing.
 */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "cache.h"
#include "digest.h"
#include "log.h"
#include "banned.h"

struct cache {
	char *dir;
	int dirfd;

	pthread_mutex_t lock; /* guards the two below, and eviction */
	uint64_t quota;       /* 0: none */
	uint64_t used;        /* bytes on disk, as counted */
};

/* One candidate for eviction. */
struct victim {
	char rel[CACHE_KEY_MAX + 16];
	struct timespec used_at;
	uint64_t bytes;
};

static const char *const subdirs[] = {"sha256", "url", "tmp", "ranges"};

/* Creates NAME 0700, or accepts it when it exists, is ours and is
 * private already: an existing directory that others can enter (/tmp, a
 * home) is refused, never narrowed, and nothing in it is touched. */
static int make_private_dir(int at, const char *name)
{
	struct stat st;

	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 07777) != 0700)
		return -EACCES;
	return 0;
}

/* Creates the parents of PATH as a mkdir -p would, mode 0755 (they
 * are usually ~/.cache or /var/cache, shared with others). */
static int make_parents(const char *path)
{
	char buf[4096];
	size_t len = strlen(path), i;

	/* The last component is the cache itself, made 0700 by the caller,
	 * even when PATH ends in '/'. */
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len);
	buf[len] = '\0';
	for (i = 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = '/';
	}
	return 0;
}

static void sweep_tmp(struct cache *c)
{
	struct dirent *de;
	DIR *d;
	int tmpfd, fd;

	tmpfd = openat(c->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0)
		return;
	d = fdopendir(tmpfd);
	if (!d) {
		close(tmpfd);
		return;
	}
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		if (strlen(de->d_name) != 24 ||
		    strspn(de->d_name, "0123456789abcdef") != 24)
			continue; /* not a name cache_tmp_new gives */
		fd = openat(tmpfd, de->d_name,
		            O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			unlinkat(tmpfd, de->d_name, 0);
			log_debug(
			        "cache: removed stale temporary file '%.200s'",
			        de->d_name);
		}
		close(fd);
	}
	closedir(d);
}

int cache_open(const char *dir, struct cache **out)
{
	struct cache *c;
	size_t i;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dirfd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->dir = strdup(dir);
	if (!c->dir) {
		rc = -ENOMEM;
		goto out_err;
	}

	rc = make_parents(dir);
	if (rc < 0)
		goto out_err;
	rc = make_private_dir(AT_FDCWD, dir);
	if (rc < 0)
		goto out_err;
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		rc = -errno;
		goto out_err;
	}
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		rc = make_private_dir(c->dirfd, subdirs[i]);
		if (rc < 0)
			goto out_err;
	}

	sweep_tmp(c);
	*out = c;
	return 0;

out_err:
	cache_free(c);
	return rc;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	if (c->dirfd >= 0)
		close(c->dirfd);
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

const char *cache_dir(const struct cache *c)
{
	return c->dir;
}

void cache_key(const struct artifact *a, char *key)
{
	char hex[65];
	char *buf;
	size_t len;

	if (a->ck_type == CK_SHA256) {
		snprintf(key, CACHE_KEY_MAX, "sha256/%s", a->ck_hex);
		return;
	}

	/* The URL and any declared md5 name the entry: a different md5
	 * for the same URL is a different expectation, so another entry. */
	len = strlen(a->url) + 1 + strlen(a->ck_hex);
	buf = malloc(len + 1);
	if (buf) {
		snprintf(buf, len + 1, "%s\n%s", a->url, a->ck_hex);
		digest_sha256_hex(buf, len, hex);
		free(buf);
	} else {
		digest_sha256_hex(a->url, strlen(a->url), hex);
	}
	snprintf(key, CACHE_KEY_MAX, "url/%s", hex);
}

int cache_entry_open(struct cache *c, const char *key, int *fd, struct stat *st)
{
	int f;

	f = openat(c->dirfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return -errno;
	if (fstat(f, st) < 0 || !S_ISREG(st->st_mode)) {
		close(f);
		return -ENOENT;
	}
	*fd = f;
	return 0;
}

int cache_entry_stat(struct cache *c, const char *key, struct stat *st)
{
	if (fstatat(c->dirfd, key, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -ENOENT;
	return 0;
}

int cache_tmp_new(struct cache *c, int *fd, char *name, size_t n)
{
	unsigned char rnd[12];
	char hex[25];
	int f, i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	for (i = 0; i < 12; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(name, n, "tmp/%s", hex);

	f = openat(c->dirfd, name,
	           O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0)
		return -errno;
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		close(f);
		unlinkat(c->dirfd, name, 0);
		return -EAGAIN;
	}
	*fd = f;
	return 0;
}

int cache_commit(struct cache *c, int fd, const char *name, const char *key,
                 time_t mtime)
{
	struct timespec times[2];
	int sub, rc = 0;

	if (mtime > 0) {
		/* The access time orders eviction: this entry is the newest. */
		times[0].tv_sec = 0;
		times[0].tv_nsec = UTIME_NOW;
		times[1].tv_sec = mtime;
		times[1].tv_nsec = 0;
		futimens(fd, times);
	}
	if (fsync(fd) < 0 || renameat(c->dirfd, name, c->dirfd, key) < 0) {
		rc = -errno;
		cache_discard(c, name);
		return rc;
	}

	/* The rename is durable only once its directory is. */
	sub = openat(c->dirfd, key[0] == 's' ? "sha256" : "url",
	             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sub >= 0) {
		fsync(sub);
		close(sub);
	}
	return 0;
}

void cache_discard(struct cache *c, const char *name)
{
	unlinkat(c->dirfd, name, 0);
}

int cache_file_open(struct cache *c, const char *rel, int flags, mode_t mode)
{
	int fd;

	fd = openat(c->dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : fd;
}

void cache_file_remove(struct cache *c, const char *rel)
{
	unlinkat(c->dirfd, rel, 0);
}

/* Lists the entries of SUB (whole files, or the .data files of partial
 * entries) into *list.  Returns the new count, or N unchanged. */
static size_t list_entries(struct cache *c, const char *sub,
                           struct victim **list, size_t n, size_t *cap)
{
	struct victim *grown;
	struct dirent *de;
	struct stat st;
	size_t len;
	DIR *d;
	int fd;

	fd = openat(c->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return n;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return n;
	}
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len > 70)
			continue;
		if (!strcmp(sub, "ranges") &&
		    (len < 5 || strcmp(de->d_name + len - 5, ".data")))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == *cap) {
			grown = realloc(*list, (*cap ? *cap * 2 : 64) *
			                               sizeof(**list));
			if (!grown)
				break;
			*list = grown;
			*cap = *cap ? *cap * 2 : 64;
		}
		if (snprintf((*list)[n].rel, sizeof((*list)[n].rel), "%s/%s",
		             sub, de->d_name) >= (int)sizeof((*list)[n].rel))
			continue;
		(*list)[n].used_at = st.st_atim;
		(*list)[n].bytes = (uint64_t)st.st_blocks * 512;
		n++;
	}
	closedir(d);
	return n;
}

static int by_use(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	if (x->used_at.tv_sec != y->used_at.tv_sec)
		return x->used_at.tv_sec < y->used_at.tv_sec ? -1 : 1;
	if (x->used_at.tv_nsec != y->used_at.tv_nsec)
		return x->used_at.tv_nsec < y->used_at.tv_nsec ? -1 : 1;
	return 0;
}

static struct victim *list_all(struct cache *c, size_t *count)
{
	struct victim *list = NULL;
	size_t n = 0, cap = 0;

	n = list_entries(c, "sha256", &list, n, &cap);
	n = list_entries(c, "url", &list, n, &cap);
	n = list_entries(c, "ranges", &list, n, &cap);
	*count = n;
	return list;
}

static void remove_victim(struct cache *c, const struct victim *v)
{
	char map[sizeof(v->rel)];
	size_t len = strlen(v->rel);

	unlinkat(c->dirfd, v->rel, 0);
	if (len > 5 && !strcmp(v->rel + len - 5, ".data")) {
		snprintf(map, sizeof(map), "%.*s.map", (int)(len - 5), v->rel);
		unlinkat(c->dirfd, map, 0);
	}
	log_info("cache: evicted '%.100s' (%llu bytes)", v->rel,
	         (unsigned long long)v->bytes);
}

/* Evicts until WANT bytes are freed.  Cache lock held. */
static uint64_t evict_locked(struct cache *c, uint64_t want, const char *keep,
                             cache_busy_fn busy, void *arg)
{
	struct victim *list;
	uint64_t freed = 0;
	size_t n, i;

	list = list_all(c, &n);
	if (!list)
		return 0;
	qsort(list, n, sizeof(*list), by_use);
	for (i = 0; i < n && freed < want; i++) {
		if ((keep && !strcmp(list[i].rel, keep)) ||
		    (busy && busy(list[i].rel, arg)))
			continue;
		remove_victim(c, &list[i]);
		freed += list[i].bytes;
	}
	free(list);
	c->used = c->used > freed ? c->used - freed : 0;
	return freed;
}

void cache_set_quota(struct cache *c, uint64_t bytes)
{
	struct victim *list;
	size_t n, i;

	c->quota = bytes;
	c->used = 0;
	list = list_all(c, &n);
	for (i = 0; list && i < n; i++)
		c->used += list[i].bytes;
	free(list);
}

void cache_note_added(struct cache *c, uint64_t bytes, const char *keep,
                      cache_busy_fn busy, void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->used += bytes;
	if (c->quota && c->used > c->quota)
		evict_locked(c, c->used - c->quota, keep, busy, arg);
	pthread_mutex_unlock(&c->lock);
}

uint64_t cache_evict(struct cache *c, uint64_t want, cache_busy_fn busy,
                     void *arg)
{
	uint64_t freed;

	pthread_mutex_lock(&c->lock);
	freed = evict_locked(c, want, NULL, busy, arg);
	pthread_mutex_unlock(&c->lock);
	return freed;
}

void cache_touch(struct cache *c, const char *key)
{
	struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};

	utimensat(c->dirfd, key, times, AT_SYMLINK_NOFOLLOW);
}
