/*
 * The on-disk cache.  Writers hold an exclusive flock on their temporary
 * file for its whole life, so the sweep at start can tell an abandoned
 * file (a crashed writer) from one another mount is still writing.
 */
#include <dirent.h>
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
};

static const char *const subdirs[] = {"sha256", "url", "tmp", "ranges"};

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
	if ((st.st_mode & 07777) != 0700 && fchmodat(at, name, 0700, 0) < 0)
		return -errno;
	return 0;
}

/* Creates the parents of PATH as a mkdir -p would, mode 0755 (they
 * are usually ~/.cache or /var/cache, shared with others). */
static int make_parents(const char *path)
{
	char buf[4096];
	size_t len = strlen(path), i;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
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
		if (de->d_name[0] == '.')
			continue;
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
		times[0].tv_sec = mtime;
		times[0].tv_nsec = 0;
		times[1] = times[0];
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
