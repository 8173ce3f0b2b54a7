/*
 * Unit tests of fs/cache.c: private directories, keys, the commit of a
 * temporary file, and the sweep of abandoned temporary files (but not of
 * those a live writer holds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"

static char root[] = "/tmp/test-cache-XXXXXX";

static void path_in(char *buf, size_t n, const char *rel)
{
	snprintf(buf, n, "%s/c/%s", root, rel);
}

static int count_tmp(void)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s/c/tmp | wc -l", root);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void test_open_private(void)
{
	char dir[256], sub[256];
	struct cache *c;
	struct stat st;

	path_in(dir, sizeof(dir), "");
	CHECK(cache_open(dir, &c) == 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	path_in(sub, sizeof(sub), "tmp");
	CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
	cache_free(c);

	/* A directory others can enter is refused, and left as it is. */
	chmod(dir, 0755);
	CHECK(cache_open(dir, &c) == -EACCES);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0755);
	chmod(dir, 0700);
	CHECK(cache_open(dir, &c) == 0);
	cache_free(c);
}

static void test_keys(void)
{
	struct artifact a = {.url = "http://h/x"};
	char k1[CACHE_KEY_MAX], k2[CACHE_KEY_MAX];

	a.ck_type = CK_SHA256;
	snprintf(a.ck_hex, sizeof(a.ck_hex), "%064d", 7);
	cache_key(&a, k1);
	CHECK(strncmp(k1, "sha256/", 7) == 0 && strlen(k1) == 7 + 64);

	a.ck_type = CK_NONE;
	a.ck_hex[0] = '\0';
	cache_key(&a, k1);
	CHECK(strncmp(k1, "url/", 4) == 0 && strlen(k1) == 4 + 64);
	a.url = "http://h/y";
	cache_key(&a, k2);
	CHECK(strcmp(k1, k2) != 0);
	a.ck_type = CK_MD5;
	snprintf(a.ck_hex, sizeof(a.ck_hex), "%032d", 1);
	cache_key(&a, k1);
	CHECK(strcmp(k1, k2) != 0);
}

static void test_commit(void)
{
	char dir[256], tmp[64], key[] = "sha256/abc";
	struct cache *c;
	struct stat st;
	int fd, rfd;

	path_in(dir, sizeof(dir), "");
	CHECK(cache_open(dir, &c) == 0);
	CHECK(cache_entry_open(c, key, &rfd, &st) == -ENOENT);
	CHECK(cache_tmp_new(c, &fd, tmp, sizeof(tmp)) == 0);
	CHECK(write(fd, "hello", 5) == 5);
	CHECK(cache_entry_stat(c, key, &st) == -ENOENT);
	CHECK(cache_commit(c, fd, tmp, key, 1000000000) == 0);
	close(fd);
	CHECK(cache_entry_open(c, key, &rfd, &st) == 0);
	CHECK(st.st_size == 5 && st.st_mtime == 1000000000);
	CHECK((st.st_mode & 0777) == 0600);
	close(rfd);
	CHECK(count_tmp() == 0);

	/* A discarded file leaves nothing behind. */
	CHECK(cache_tmp_new(c, &fd, tmp, sizeof(tmp)) == 0);
	CHECK(count_tmp() == 1);
	cache_discard(c, tmp);
	close(fd);
	CHECK(count_tmp() == 0);
	cache_free(c);
}

static void test_sweep(void)
{
	char dir[256], tmp[64], stale[256], foreign[256];
	struct cache *c, *other;
	int fd, sfd;

	path_in(dir, sizeof(dir), "");
	path_in(stale, sizeof(stale), "tmp/0123456789abcdef01234567");
	sfd = open(stale, O_CREAT | O_WRONLY, 0600);
	CHECK(sfd >= 0);
	close(sfd);
	path_in(foreign, sizeof(foreign), "tmp/not-ours.txt");
	sfd = open(foreign, O_CREAT | O_WRONLY, 0600);
	CHECK(sfd >= 0);
	close(sfd);

	CHECK(cache_open(dir, &c) == 0);
	CHECK(access(stale, F_OK) < 0);
	/* A file whose name is not one of ours is not the sweep's. */
	CHECK(access(foreign, F_OK) == 0);
	unlink(foreign);

	/* A second process's sweep keeps a file that a writer holds. */
	CHECK(cache_tmp_new(c, &fd, tmp, sizeof(tmp)) == 0);
	if (fork() == 0) {
		_exit(cache_open(dir, &other) == 0 && count_tmp() == 1 ? 0 : 1);
	}
	{
		int status = 1;

		wait(&status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cache_discard(c, tmp);
	close(fd);
	cache_free(c);
}

static void put(struct cache *c, const char *key, size_t len)
{
	char tmp[64], *buf = calloc(1, len);
	int fd;

	CHECK(buf && cache_tmp_new(c, &fd, tmp, sizeof(tmp)) == 0);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	CHECK(cache_commit(c, fd, tmp, key, 1000000000) == 0);
	close(fd);
	free(buf);
	cache_note_added(c, len, key, NULL, NULL);
	usleep(20000); /* distinct access times */
}

static bool busy_b(const char *rel, void *arg)
{
	return !strcmp(rel, "url/b");
}

static void test_quota(void)
{
	char dir[256];
	struct cache *c;
	struct stat st;

	path_in(dir, sizeof(dir), "");
	CHECK(cache_open(dir, &c) == 0);
	cache_set_quota(c, 0);
	CHECK(cache_evict(c, UINT64_MAX, NULL, NULL) > 0); /* start empty */
	cache_set_quota(c, 300 * 1024);

	put(c, "url/a", 100 * 1024);
	put(c, "url/b", 100 * 1024);
	put(c, "url/c", 100 * 1024);
	cache_touch(c, "url/a"); /* a is now the most recently used */
	put(c, "url/d", 100 * 1024);
	/* Over the quota: b is the oldest, c the next. */
	CHECK(cache_entry_stat(c, "url/b", &st) == -ENOENT);
	CHECK(cache_entry_stat(c, "url/a", &st) == 0);
	CHECK(cache_entry_stat(c, "url/c", &st) == 0);
	CHECK(cache_entry_stat(c, "url/d", &st) == 0);

	/* The entry just added is never the one evicted, even alone over
	 * the quota; a busy one is skipped. */
	cache_set_quota(c, 10 * 1024);
	put(c, "url/e", 100 * 1024);
	CHECK(cache_entry_stat(c, "url/e", &st) == 0);
	CHECK(cache_entry_stat(c, "url/a", &st) == -ENOENT);
	put(c, "url/b", 100 * 1024);
	cache_set_quota(c, 10 * 1024);
	cache_note_added(c, 1, NULL, busy_b, NULL);
	CHECK(cache_entry_stat(c, "url/b", &st) == 0);
	CHECK(cache_entry_stat(c, "url/e", &st) == -ENOENT);
	cache_free(c);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(root))
		return 1;
	test_open_private();
	test_keys();
	test_commit();
	test_sweep();
	test_quota();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
