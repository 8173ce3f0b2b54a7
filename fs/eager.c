/*
 * Eager placement.  Worker threads take artifacts one by one, have the
 * store make each present and verified in the cache, then copy it into
 * a temporary file beside its final name and rename it into place, so
 * DIR never holds a partial or unverified file under an artifact's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "caps.h"
#include "eager.h"
#include "log.h"
#include "banned.h"

#define EAGER_WORKERS 8

struct eager {
	struct store *store;
	const struct manifest *m;
	int dirfd;
	bool progress;

	pthread_mutex_t lock; /* guards the fields below */
	size_t next;          /* next artifact to take */
	size_t done, failed;
	unsigned long long bytes;
};

/* Opens (creating as needed, 0755) the directory that will hold PATH's
 * last component, never following a symbolic link.  Returns a
 * descriptor or -errno; *leaf points into PATH at the last component. */
static int open_parent(int dirfd, const char *path, const char **leaf)
{
	char comp[CAP_COMPONENT_BYTES + 1];
	const char *p = path, *slash;
	int fd, next;
	size_t len;

	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	for (;;) {
		slash = strchr(p, '/');
		if (!slash)
			break;
		len = (size_t)(slash - p);
		if (len > CAP_COMPONENT_BYTES) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (mkdirat(fd, comp, 0755) == 0) {
			/* As the mount shows them, whatever the umask. */
			fchmodat(fd, comp, 0755, 0);
		} else if (errno != EEXIST) {
			next = -errno;
			close(fd);
			return next;
		}
		next = openat(fd, comp,
		              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int copy_all(int from, int to, off_t size)
{
	off_t off = 0;
	ssize_t n;

	while (off < size) {
		n = sendfile(to, from, &off, (size_t)(size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the cache file shrank under us */
	}
	return 0;
}

/* Copies the verified cache file SRC to A's place under DIRFD. */
static int place(int dirfd, const struct artifact *a, int src, off_t *size)
{
	char tmp[CAP_COMPONENT_BYTES + 32];
	unsigned int rnd = 0;
	const char *leaf = NULL;
	struct stat st;
	int pfd, fd, rc;

	if (fstat(src, &st) < 0)
		return -errno;
	pfd = open_parent(dirfd, a->path, &leaf);
	if (pfd < 0)
		return pfd;

	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".artifactfs-%08x.tmp", rnd);
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out_parent;
	}
	rc = copy_all(src, fd, st.st_size);
	if (rc == 0 && fchmod(fd, a->mode) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(pfd, tmp, pfd, leaf) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(pfd, tmp, 0);
	else
		*size = st.st_size;

out_parent:
	close(pfd);
	return rc;
}

static void show_progress(struct eager *eg, const struct artifact *a,
                          off_t size, int rc)
{
	if (!eg->progress)
		return;
	fprintf(stderr, "[%zu/%zu] %-40.200s %12lld bytes  %s  (total %llu)\n",
	        eg->done + eg->failed, eg->m->count, a->path, (long long)size,
	        rc < 0 ? "FAILED" : "ok", eg->bytes);
}

static void *eager_worker(void *arg)
{
	struct eager *eg = arg;
	const struct artifact *a;
	off_t size = 0;
	size_t idx;
	int fd, rc;

	for (;;) {
		pthread_mutex_lock(&eg->lock);
		idx = eg->next++;
		pthread_mutex_unlock(&eg->lock);
		if (idx >= eg->m->count)
			break;
		a = &eg->m->items[idx];

		rc = store_open(eg->store, idx, &fd);
		if (rc == 0) {
			rc = place(eg->dirfd, a, fd, &size);
			close(fd);
			if (rc < 0)
				log_error(
				        "artifact '%.200s': placing '%.200s': "
				        "%s",
				        a->name, a->path, strerror(-rc));
		}

		pthread_mutex_lock(&eg->lock);
		if (rc < 0) {
			eg->failed++;
		} else {
			eg->done++;
			eg->bytes += (unsigned long long)size;
		}
		show_progress(eg, a, rc < 0 ? 0 : size, rc);
		pthread_mutex_unlock(&eg->lock);
	}
	return NULL;
}

int eager_run(struct store *s, const struct manifest *m, const char *dir,
              bool progress)
{
	pthread_t threads[EAGER_WORKERS];
	struct eager eg = {0};
	int i, n = 0;

	eg.store = s;
	eg.m = m;
	eg.progress = progress;
	pthread_mutex_init(&eg.lock, NULL);
	eg.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (eg.dirfd < 0) {
		log_error("directory '%.200s': %s", dir, strerror(errno));
		pthread_mutex_destroy(&eg.lock);
		return -errno;
	}

	for (i = 0; i < EAGER_WORKERS && (size_t)i < m->count; i++) {
		if (pthread_create(&threads[n], NULL, eager_worker, &eg) == 0)
			n++;
	}
	if (n == 0)
		eager_worker(&eg);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	close(eg.dirfd);
	pthread_mutex_destroy(&eg.lock);
	if (progress)
		fprintf(stderr, "%zu placed, %zu failed, %llu bytes\n", eg.done,
		        eg.failed, eg.bytes);
	return eg.failed ? -EIO : 0;
}
