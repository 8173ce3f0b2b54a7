/*
 * Partial entries.  The map file starts with a text header of
 * MAP_HEADER bytes ("artifactfs-ranges 1", size, mtime, version), then
 * holds one 32-byte sha256 per block; all zeroes means absent.  A block's
 * digest is written only after its bytes are in the data file, so a
 * crash leaves at worst a digest whose bytes did not reach the disk, and
 * the check on read back turns that into an absent block.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "ranged.h"
#include "banned.h"

#define MAP_HEADER   4096
#define MAP_MAGIC    "artifactfs-ranges 1\n"
#define DIGEST_BYTES 32

enum block_state {
	B_ABSENT,
	B_ON_DISK, /* recorded by an earlier mount, not checked yet */
	B_BUSY,    /* being fetched or checked */
	B_READY,
};

struct ranged {
	int data_fd, map_fd;
	int64_t size;
	size_t nblocks;
	char validator[RANGED_VALIDATOR];

	pthread_mutex_t lock; /* guards state and digests */
	pthread_cond_t cond;  /* a block left B_BUSY */
	unsigned char *state;
	unsigned char *digests; /* DIGEST_BYTES per block */
	int last_error;         /* of the last failed fetch, or 0 */
};

static void names(const char *key, char *data, char *map, size_t n)
{
	const char *hex = strchr(key, '/');

	hex = hex ? hex + 1 : key;
	snprintf(data, n, "ranges/%s.data", hex);
	snprintf(map, n, "ranges/%s.map", hex);
}

/* Reads the header of MAP_FD.  Returns 0 or -EINVAL for a map that is
 * not ours or is damaged. */
static int read_header(int map_fd, int64_t *size, time_t *mtime, char *val,
                       size_t n)
{
	char buf[MAP_HEADER + 1], *p, *end;
	long long sz, mt;
	ssize_t got;
	size_t len;

	got = pread(map_fd, buf, MAP_HEADER, 0);
	if (got < (ssize_t)sizeof(MAP_MAGIC))
		return -EINVAL;
	buf[got] = '\0';
	if (strncmp(buf, MAP_MAGIC, strlen(MAP_MAGIC)) != 0)
		return -EINVAL;
	p = buf + strlen(MAP_MAGIC);
	sz = strtoll(p, &end, 10);
	if (end == p || *end != '\n' || sz < 0)
		return -EINVAL;
	p = end + 1;
	mt = strtoll(p, &end, 10);
	if (end == p || *end != '\n')
		return -EINVAL;
	p = end + 1;
	end = strchr(p, '\n');
	if (!end)
		return -EINVAL;
	len = (size_t)(end - p);
	if (len >= n)
		return -EINVAL;
	memcpy(val, p, len);
	val[len] = '\0';
	*size = sz;
	*mtime = (time_t)mt;
	return 0;
}

static int write_header(int map_fd, int64_t size, time_t mtime,
                        const char *validator)
{
	char buf[MAP_HEADER];
	int len;

	memset(buf, 0, sizeof(buf));
	len = snprintf(buf, sizeof(buf), "%s%" PRId64 "\n%lld\n%s\n", MAP_MAGIC,
	               size, (long long)mtime, validator);
	if (len < 0 || len >= (int)sizeof(buf))
		return -EINVAL;
	if (pwrite(map_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return -EIO;
	return 0;
}

int ranged_stat(struct cache *c, const char *key, int64_t *size, time_t *mtime)
{
	char data[CACHE_KEY_MAX + 16], map[CACHE_KEY_MAX + 16];
	char val[RANGED_VALIDATOR];
	int fd, rc;

	names(key, data, map, sizeof(data));
	fd = cache_file_open(c, map, O_RDONLY, 0);
	if (fd < 0)
		return -ENOENT;
	rc = read_header(fd, size, mtime, val, sizeof(val));
	close(fd);
	return rc < 0 ? -ENOENT : 0;
}

int ranged_validator_of(struct cache *c, const char *key, char *buf, size_t n)
{
	char data[CACHE_KEY_MAX + 16], map[CACHE_KEY_MAX + 16];
	int64_t size;
	time_t mtime;
	int fd, rc;

	names(key, data, map, sizeof(data));
	fd = cache_file_open(c, map, O_RDONLY, 0);
	if (fd < 0)
		return -ENOENT;
	rc = read_header(fd, &size, &mtime, buf, n);
	close(fd);
	return rc < 0 ? -ENOENT : 0;
}

void ranged_remove(struct cache *c, const char *key)
{
	char data[CACHE_KEY_MAX + 16], map[CACHE_KEY_MAX + 16];

	names(key, data, map, sizeof(data));
	cache_file_remove(c, map);
	cache_file_remove(c, data);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Starts the files afresh for a new version. */
static int reset_files(struct ranged *r, time_t mtime)
{
	if (ftruncate(r->map_fd, 0) < 0 || ftruncate(r->data_fd, 0) < 0 ||
	    ftruncate(r->data_fd, r->size) < 0)
		return -errno;
	if (ftruncate(r->map_fd,
	              MAP_HEADER + (off_t)(r->nblocks * DIGEST_BYTES)) < 0)
		return -errno;
	return write_header(r->map_fd, r->size, mtime, r->validator);
}

static int load_digests(struct ranged *r)
{
	size_t len = r->nblocks * DIGEST_BYTES, b;
	ssize_t got;

	got = pread(r->map_fd, r->digests, len, MAP_HEADER);
	if (got != (ssize_t)len)
		return -EINVAL;
	for (b = 0; b < r->nblocks; b++) {
		if (!all_zero(r->digests + b * DIGEST_BYTES, DIGEST_BYTES))
			r->state[b] = B_ON_DISK;
	}
	return 0;
}

int ranged_open(struct cache *c, const char *key, int64_t size, time_t mtime,
                const char *validator, struct ranged **out)
{
	char data[CACHE_KEY_MAX + 16], map[CACHE_KEY_MAX + 16];
	char old_val[RANGED_VALIDATOR];
	int64_t old_size = -1;
	time_t old_mtime;
	struct ranged *r;
	int rc;

	if (size < 0 || strlen(validator) >= RANGED_VALIDATOR)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->data_fd = r->map_fd = -1;
	r->size = size;
	r->nblocks = (size_t)((size + RANGED_BLOCK - 1) / RANGED_BLOCK);
	snprintf(r->validator, sizeof(r->validator), "%s", validator);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->state = calloc(r->nblocks ? r->nblocks : 1, 1);
	r->digests = calloc(r->nblocks ? r->nblocks : 1, DIGEST_BYTES);
	if (!r->state || !r->digests) {
		rc = -ENOMEM;
		goto out_err;
	}

	names(key, data, map, sizeof(data));
	r->map_fd = cache_file_open(c, map, O_RDWR | O_CREAT, 0600);
	r->data_fd = cache_file_open(c, data, O_RDWR | O_CREAT, 0600);
	if (r->map_fd < 0 || r->data_fd < 0) {
		rc = r->map_fd < 0 ? r->map_fd : r->data_fd;
		goto out_err;
	}

	rc = read_header(r->map_fd, &old_size, &old_mtime, old_val,
	                 sizeof(old_val));
	if (rc == 0 && old_size == size && !strcmp(old_val, validator))
		rc = load_digests(r);
	else
		rc = -EINVAL;
	if (rc < 0) {
		memset(r->state, B_ABSENT, r->nblocks);
		rc = reset_files(r, mtime);
		if (rc < 0)
			goto out_err;
	}
	*out = r;
	return 0;

out_err:
	ranged_free(r);
	return rc;
}

void ranged_free(struct ranged *r)
{
	if (!r)
		return;
	if (r->data_fd >= 0)
		close(r->data_fd);
	if (r->map_fd >= 0)
		close(r->map_fd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->state);
	free(r->digests);
	free(r);
}

int ranged_fd(const struct ranged *r)
{
	return r->data_fd;
}

int64_t ranged_size(const struct ranged *r)
{
	return r->size;
}

const char *ranged_validator(const struct ranged *r)
{
	return r->validator;
}

size_t ranged_block_count(const struct ranged *r)
{
	return r->nblocks;
}

static size_t block_len(const struct ranged *r, size_t b)
{
	int64_t start = (int64_t)b * RANGED_BLOCK;
	int64_t left = r->size - start;

	return left < RANGED_BLOCK ? (size_t)left : (size_t)RANGED_BLOCK;
}

/* Hashes block B as it is in the data file.  Returns 0 or -EIO. */
static int hash_block(struct ranged *r, size_t b, unsigned char *md)
{
	size_t len = block_len(r, b);
	unsigned int mdlen = 0;
	unsigned char *buf;
	ssize_t got;
	int rc = 0;

	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	got = pread(r->data_fd, buf, len, (off_t)b * RANGED_BLOCK);
	if (got != (ssize_t)len ||
	    !EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		rc = -EIO;
	free(buf);
	return rc;
}

enum ranged_claim ranged_claim(struct ranged *r, size_t b)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	enum ranged_claim claim;
	bool good;

	pthread_mutex_lock(&r->lock);
	switch (r->state[b]) {
	case B_READY:
		claim = RANGED_READY;
		break;
	case B_BUSY:
		claim = RANGED_BUSY;
		break;
	case B_ABSENT:
		r->state[b] = B_BUSY;
		claim = RANGED_MINE;
		break;
	default:
		/* Recorded earlier: check it before it is trusted. */
		r->state[b] = B_BUSY;
		pthread_mutex_unlock(&r->lock);
		good = hash_block(r, b, md) == 0 &&
		       !memcmp(md, r->digests + b * DIGEST_BYTES, DIGEST_BYTES);
		pthread_mutex_lock(&r->lock);
		if (good) {
			r->state[b] = B_READY;
			pthread_cond_broadcast(&r->cond);
			claim = RANGED_READY;
		} else {
			claim = RANGED_MINE; /* stays busy: the caller fetches
			                      */
		}
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return claim;
}

void ranged_wait(struct ranged *r, size_t b)
{
	pthread_mutex_lock(&r->lock);
	while (r->state[b] == B_BUSY)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

int ranged_complete(struct ranged *r, size_t first, size_t last, int rc)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t b;
	int res = 0, one;

	for (b = first; b <= last; b++) {
		one = rc;
		if (one == 0)
			one = hash_block(r, b, md);
		if (one == 0 &&
		    pwrite(r->map_fd, md, DIGEST_BYTES,
		           MAP_HEADER + (off_t)(b * DIGEST_BYTES)) !=
		            DIGEST_BYTES)
			one = -EIO;

		pthread_mutex_lock(&r->lock);
		if (one == 0)
			memcpy(r->digests + b * DIGEST_BYTES, md, DIGEST_BYTES);
		r->state[b] = one == 0 ? B_READY : B_ABSENT;
		if (one < 0)
			r->last_error = one;
		pthread_mutex_unlock(&r->lock);
		if (one < 0 && res == 0)
			res = one;
	}
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? rc : res;
}

uint64_t ranged_present_bytes(const struct ranged *r)
{
	uint64_t n = 0;
	size_t b;

	for (b = 0; b < r->nblocks; b++) {
		if (r->state[b] == B_READY || r->state[b] == B_ON_DISK)
			n += block_len(r, b);
	}
	return n;
}

int ranged_last_error(struct ranged *r)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = r->last_error ? r->last_error : -EIO;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void ranged_unclaim(struct ranged *r, size_t b)
{
	pthread_mutex_lock(&r->lock);
	r->state[b] = B_ABSENT;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}
