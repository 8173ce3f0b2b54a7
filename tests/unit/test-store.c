/*
 * Unit tests of fs/store.c with a real cache in a temporary directory, the
 * real fetch engine, and the loopback origin of httpstub.c: attributes
 * from one HEAD and then from the cache, one verified download shared by
 * every opener, failures that leave nothing behind, the hold on a failed
 * download, progress, and a second store that needs no network.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "cache.h"
#include "caps.h"
#include "check.h"
#include "digest.h"
#include "fetch.h"
#include "httpstub.h"
#include "manifest.h"
#include "store.h"
#include "banned.h"

/* Last-Modified of the routes that send one, and its time_t. */
#define LAST_MODIFIED       "Wed, 21 Oct 2015 07:28:00 GMT"
#define LAST_MODIFIED_EPOCH ((time_t)1445412480)

#define CROWD     16
#define LISTED    8
#define BIG_BYTES ((3L << 20) + 5)
#define BIG_PIECE (3L << 19)

enum {
	A_ATTR,
	A_GOOD,
	A_BAD,
	A_CROWD,
	A_HOLD,
	A_MD5,
	A_MD5_BAD,
	A_SLOW,
	A_PLAIN,
	A_FLAKY,
	A_SHORT,
	A_HANG_HEAD,
	A_GONE,
	A_LISTED,
	A_COUNT = A_LISTED + LISTED
};

static struct httpstub *stub;
static struct fetch_engine *engine;
static struct cache *cache;
static struct store *store;
static char root[] = "/tmp/test-store-XXXXXX";
static char cache_path[256];

static struct artifact items[A_COUNT];
static struct manifest manifest = {.items = items, .count = A_COUNT};
static char targets[A_COUNT][64];
static unsigned char *bodies[A_COUNT];
static size_t body_lens[A_COUNT];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "test-store: %s\n", what);
	exit(1);
}

static void fill_random(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1u;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void hex_of(enum checksum_type t, const void *buf, size_t len, char *hex)
{
	struct digest *d;

	if (digest_new(t, &d) < 0)
		die("digest_new");
	digest_update(d, buf, len);
	digest_final_hex(d, hex);
	digest_free(d);
}

/* Declares artifact I, its body (LEN random bytes) and its route. */
static void declare(size_t i, const char *name, size_t len,
                    enum checksum_type t)
{
	char url[CAP_URL_BYTES];

	snprintf(targets[i], sizeof(targets[i]), "/art/%s?v=%zu", name, i);
	bodies[i] = malloc(len ? len : 1);
	if (!bodies[i])
		die("out of memory");
	fill_random(bodies[i], len, (uint32_t)(i * 7919 + 17));
	body_lens[i] = len;

	httpstub_url(stub, targets[i], url, sizeof(url));
	items[i].name = strdup(name);
	items[i].url = strdup(url);
	items[i].path = strdup(name);
	if (!items[i].name || !items[i].url || !items[i].path)
		die("out of memory");
	items[i].mode = 0644;
	items[i].scheme = URL_HTTP;
	items[i].ck_type = t;
	if (t != CK_NONE)
		hex_of(t, bodies[i], len, items[i].ck_hex);
}

/* The usual route of artifact I: its body, a Last-Modified. */
static struct httpstub_route route_of(size_t i)
{
	struct httpstub_route r = {
	        .target = targets[i],
	        .body = bodies[i],
	        .body_len = body_lens[i],
	        .last_modified = LAST_MODIFIED,
	        .etag = "\"e\"",
	};

	return r;
}

static void add_route(const struct httpstub_route *r)
{
	if (httpstub_route(stub, r) < 0)
		die("cannot add a route");
}

static unsigned int get_count(size_t i)
{
	return httpstub_count(stub, targets[i], "GET");
}

static unsigned int head_count(size_t i)
{
	return httpstub_count(stub, targets[i], "HEAD");
}

static unsigned int all_requests(void)
{
	unsigned int n = httpstub_misses(stub);
	size_t i;

	for (i = 0; i < A_COUNT; i++)
		n += httpstub_count(stub, targets[i], NULL);
	return n;
}

/* Whether FD reads exactly the body of artifact I. */
static bool fd_holds(int fd, size_t i)
{
	size_t len = body_lens[i];
	unsigned char *buf;
	struct stat st;
	bool same;

	if (fstat(fd, &st) < 0 || st.st_size != (off_t)len)
		return false;
	buf = malloc(len + 1);
	if (!buf)
		return false;
	same = pread(fd, buf, len + 1, 0) == (ssize_t)len &&
	       memcmp(buf, bodies[i], len) == 0;
	free(buf);
	return same;
}

static bool in_cache(size_t i)
{
	char key[CACHE_KEY_MAX];
	struct stat st;

	cache_key(&items[i], key);
	return cache_entry_stat(cache, key, &st) == 0;
}

/* Entries in the cache's tmp/, -1 when it cannot be read. */
static int tmp_files(void)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/tmp", cache_path);
	d = opendir(path);
	if (!d)
		return -1;
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	}
	closedir(d);
	return n;
}

/* store_open of artifact I, with what it logs captured into log (size
 * n) instead of shown. */
static int open_logged(size_t i, int *fd, char *log, size_t n)
{
	char path[300];
	int saved, cap, rc;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/log-XXXXXX", root);
	cap = mkstemp(path);
	if (cap < 0)
		die("mkstemp");
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	if (saved < 0 || dup2(cap, 2) < 0)
		die("dup2");
	rc = store_open(store, i, fd);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(cap, log, n - 1, 0);
	log[got > 0 ? got : 0] = '\0';
	close(cap);
	return rc;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* LOG is the one error line of a failed open of artifact I: its name,
 * the URL without the query, and CAUSE. */
static void check_failure_line(const char *log, size_t i, const char *cause)
{
	char want[300];
	bool good;

	snprintf(want, sizeof(want), "error: artifact '%s': GET ",
	         items[i].name);
	good = count_lines(log) == 1 && strstr(log, want) &&
	       strstr(log, cause) && !strchr(log, '?') && !strstr(log, "v=");
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(items[i].url, "?"),
	         items[i].url);
	good = good && strstr(log, want);
	CHECK(good);
	if (!good)
		fprintf(stderr, "logged: %s", log);
}

static int open_and_check(size_t i)
{
	int fd = -1, rc;

	rc = store_open(store, i, &fd);
	if (rc == 0) {
		CHECK(fd_holds(fd, i));
		close(fd);
	}
	return rc;
}

static void test_attr(void)
{
	struct store_attr at;
	time_t before = time(NULL);
	struct httpstub_route r = route_of(A_ATTR);

	add_route(&r);
	memset(&at, 0x55, sizeof(at));
	store_attr(store, A_ATTR, &at);
	CHECK(at.size == (int64_t)body_lens[A_ATTR]);
	CHECK(at.mtime == LAST_MODIFIED_EPOCH);
	CHECK(!at.stable);
	CHECK(head_count(A_ATTR) == 1);
	CHECK(get_count(A_ATTR) == 0);

	/* Known now: no second HEAD. */
	store_attr(store, A_ATTR, &at);
	CHECK(at.size == (int64_t)body_lens[A_ATTR]);
	CHECK(head_count(A_ATTR) == 1);

	/* Once downloaded, the attributes are the verified file's. */
	CHECK(open_and_check(A_ATTR) == 0);
	CHECK(get_count(A_ATTR) == 1);
	store_attr(store, A_ATTR, &at);
	CHECK(at.stable);
	CHECK(at.size == (int64_t)body_lens[A_ATTR]);
	CHECK(at.mtime == LAST_MODIFIED_EPOCH);
	CHECK(head_count(A_ATTR) == 1);

	/* A HEAD that fails: size 0, the mount's time, and no retry at
	 * once. */
	r = route_of(A_GONE);
	r.status = 404;
	add_route(&r);
	store_attr(store, A_GONE, &at);
	CHECK(at.size == 0);
	CHECK(at.mtime >= before - 5 && at.mtime <= time(NULL));
	CHECK(!at.stable);
	CHECK(head_count(A_GONE) == 1);
	store_attr(store, A_GONE, &at);
	CHECK(head_count(A_GONE) == 1);
}

static void test_checksums(void)
{
	struct httpstub_route r;
	char log[4096];
	uint64_t done;
	int64_t total;
	int fd = -1;

	r = route_of(A_GOOD);
	add_route(&r);
	CHECK(!in_cache(A_GOOD));
	CHECK(open_and_check(A_GOOD) == 0);
	CHECK(get_count(A_GOOD) == 1);
	CHECK(in_cache(A_GOOD));
	/* The second open is served by the cache. */
	CHECK(open_and_check(A_GOOD) == 0);
	CHECK(get_count(A_GOOD) == 1);
	CHECK(store_progress(store, A_GOOD, &done, &total) == -ENODATA);

	/* The origin serves other bytes than the manifest declares. */
	r = route_of(A_BAD);
	r.body = bodies[A_GOOD];
	r.body_len = body_lens[A_GOOD];
	add_route(&r);
	CHECK(open_logged(A_BAD, &fd, log, sizeof(log)) == -EIO);
	CHECK(fd == -1);
	check_failure_line(log, A_BAD, "checksum mismatch: expected sha256:");
	CHECK(get_count(A_BAD) == 1); /* a mismatch is not retried */
	CHECK(!in_cache(A_BAD));
	CHECK(tmp_files() == 0);

	/* md5, right and wrong. */
	r = route_of(A_MD5);
	add_route(&r);
	CHECK(open_and_check(A_MD5) == 0);
	CHECK(get_count(A_MD5) == 1);
	CHECK(in_cache(A_MD5));
	r = route_of(A_MD5_BAD);
	r.body = bodies[A_MD5];
	r.body_len = body_lens[A_MD5];
	add_route(&r);
	CHECK(open_logged(A_MD5_BAD, &fd, log, sizeof(log)) == -EIO);
	check_failure_line(log, A_MD5_BAD, "checksum mismatch: expected md5:");
	CHECK(get_count(A_MD5_BAD) == 1);
	CHECK(!in_cache(A_MD5_BAD));
	CHECK(tmp_files() == 0);
}

struct crowd_arg {
	pthread_barrier_t *barrier;
	int rc;
	bool same;
};

static void *crowd_main(void *p)
{
	struct crowd_arg *a = p;
	int fd = -1;

	pthread_barrier_wait(a->barrier);
	a->rc = store_open(store, A_CROWD, &fd);
	a->same = a->rc == 0 && fd_holds(fd, A_CROWD);
	if (a->rc == 0)
		close(fd);
	return NULL;
}

static void test_crowd(void)
{
	struct httpstub_route r = route_of(A_CROWD);
	struct crowd_arg args[CROWD];
	pthread_t th[CROWD];
	pthread_barrier_t barrier;
	int i, ok = 0, same = 0;

	/* Slow enough that all of them ask while it runs. */
	r.delay_ms = 300;
	add_route(&r);
	pthread_barrier_init(&barrier, NULL, CROWD);
	for (i = 0; i < CROWD; i++) {
		args[i].barrier = &barrier;
		args[i].rc = 1;
		args[i].same = false;
		if (pthread_create(&th[i], NULL, crowd_main, &args[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < CROWD; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].rc == 0;
		same += args[i].same;
	}
	pthread_barrier_destroy(&barrier);
	CHECK(ok == CROWD);
	CHECK(same == CROWD);
	CHECK(get_count(A_CROWD) == 1);
	CHECK(head_count(A_CROWD) == 0);
}

static void test_hold(void)
{
	struct httpstub_route r = route_of(A_HOLD);
	char log[4096];
	int fd = -1;

	r.status = 404;
	add_route(&r);
	CHECK(open_logged(A_HOLD, &fd, log, sizeof(log)) == -EIO);
	CHECK(get_count(A_HOLD) == 1);
	check_failure_line(log, A_HOLD, ": HTTP 404");
	/* At once again: the failure answers, the origin is not asked,
	 * and nothing more is logged. */
	CHECK(open_logged(A_HOLD, &fd, log, sizeof(log)) == -EIO);
	CHECK(get_count(A_HOLD) == 1);
	CHECK_STR(log, "");

	/* The origin is fixed, but the failure is still held. */
	r.status = 0;
	add_route(&r); /* resets the route's counts */
	CHECK(open_logged(A_HOLD, &fd, log, sizeof(log)) == -EIO);
	CHECK(get_count(A_HOLD) == 0);
	CHECK_STR(log, "");
	CHECK(fd == -1);

	usleep(1100 * 1000);
	CHECK(open_and_check(A_HOLD) == 0);
	CHECK(get_count(A_HOLD) == 1);
}

static void test_retries(void)
{
	struct httpstub_route r = route_of(A_FLAKY);
	char log[4096];
	int fd = -1;

	r.fail_first = 2;
	add_route(&r);
	CHECK(open_logged(A_FLAKY, &fd, log, sizeof(log)) == 0);
	CHECK(fd >= 0 && fd_holds(fd, A_FLAKY));
	CHECK(get_count(A_FLAKY) == 3);
	CHECK_STR(log, ""); /* a failure that passed is not an error */
	if (fd >= 0)
		close(fd);
	fd = -1;

	/* Always short: every attempt, then a failure and no file. */
	r = route_of(A_SHORT);
	r.truncate = true;
	r.truncate_at = body_lens[A_SHORT] / 2;
	add_route(&r);
	CHECK(open_logged(A_SHORT, &fd, log, sizeof(log)) == -EIO);
	CHECK(fd == -1);
	CHECK(get_count(A_SHORT) == 1 + CAP_RETRIES);
	/* One line for all the attempts. */
	check_failure_line(log, A_SHORT, "");
	CHECK(!in_cache(A_SHORT));
	CHECK(tmp_files() == 0);
}

struct opener {
	size_t idx;
	int rc;
	bool same;
	volatile bool finished;
};

static void *opener_main(void *p)
{
	struct opener *o = p;
	int fd = -1;

	o->rc = store_open(store, o->idx, &fd);
	o->same = o->rc == 0 && fd_holds(fd, o->idx);
	if (o->rc == 0)
		close(fd);
	__atomic_store_n(&o->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_progress(void)
{
	struct httpstub_route r = route_of(A_SLOW);
	struct opener o = {.idx = A_SLOW, .rc = 1};
	struct store_attr at;
	uint64_t done, seen = 0;
	int64_t total, seen_total = -2;
	bool partial = false, backwards = false;
	pthread_t th;

	r.trickle_bytes = BIG_PIECE;
	r.trickle_ms = 500;
	add_route(&r);
	store_attr(store, A_SLOW, &at); /* so that the total is known */
	CHECK(store_progress(store, A_SLOW, &done, &total) == -ENODATA);

	if (pthread_create(&th, NULL, opener_main, &o) != 0)
		die("pthread_create");
	while (!__atomic_load_n(&o.finished, __ATOMIC_ACQUIRE)) {
		if (store_progress(store, A_SLOW, &done, &total) == 0) {
			if (done > 0 && done < (uint64_t)body_lens[A_SLOW])
				partial = true;
			if (done < seen)
				backwards = true;
			seen = done;
			seen_total = total;
		}
		usleep(20 * 1000);
	}
	pthread_join(th, NULL);
	CHECK(o.rc == 0 && o.same);
	CHECK(partial);
	CHECK(!backwards);
	CHECK(seen <= (uint64_t)body_lens[A_SLOW]);
	CHECK(seen_total == (int64_t)body_lens[A_SLOW]);
	CHECK(store_progress(store, A_SLOW, &done, &total) == -ENODATA);
	CHECK(get_count(A_SLOW) == 1);
}

static void test_no_checksum_idle(void)
{
	struct httpstub_route r = route_of(A_PLAIN);
	struct opener o = {.idx = A_PLAIN, .rc = 1};
	double cpu0, wall0, cpu, wall;

	/* While the origin pauses, a waiting opener must sleep, not spin. */
	r.trickle_bytes = BIG_PIECE;
	r.trickle_ms = 800;
	add_route(&r);
	cpu0 = cpu_s();
	wall0 = now_s();
	opener_main(&o);
	cpu = cpu_s() - cpu0;
	wall = now_s() - wall0;
	CHECK(o.rc == 0 && o.same);
	CHECK(wall >= 1.5);
	CHECK(cpu < 0.5 * wall);
	CHECK(get_count(A_PLAIN) == 1);
}

static void test_prefetch(void)
{
	struct store_attr at;
	double t0, took;
	size_t i;
	int with_size = 0;

	for (i = A_LISTED; i < A_COUNT; i++) {
		struct httpstub_route r = route_of(i);

		r.delay_ms = 600;
		add_route(&r);
	}
	CHECK(store_start(store) == 0);
	t0 = now_s();
	for (i = A_LISTED; i < A_COUNT; i++)
		store_prefetch(store, i);
	for (i = A_LISTED; i < A_COUNT; i++) {
		store_attr(store, i, &at);
		with_size += at.size == (int64_t)body_lens[i];
	}
	took = now_s() - t0;
	CHECK(with_size == LISTED);
	for (i = A_LISTED; i < A_COUNT; i++)
		CHECK(head_count(i) == 1);
	/* One after the other would take LISTED * 0.6 s. */
	CHECK(took < 0.6 * LISTED / 2);
}

/* A stat never waits long for an origin that does not answer, and the
 * stats after it do not wait again while that HEAD is still out.  Its
 * own engine and store, so that the HEAD's retries disturb no count. */
static void test_hanging_head(void)
{
	struct fetch_config cfg = {.connect_timeout = 5,
	                           .low_speed_time = 5,
	                           .low_speed_limit = DEF_LOW_SPEED_LIMIT};
	struct httpstub_route r = route_of(A_HANG_HEAD);
	struct manifest one = {.items = &items[A_HANG_HEAD], .count = 1};
	struct fetch_engine *e2;
	struct store *s2;
	struct store_attr at;
	double t0, took;
	char why[256];

	r.hang = true;
	add_route(&r);
	CHECK(fetch_engine_new(&cfg, &e2) == 0);
	CHECK(fetch_engine_start(e2) == 0);
	CHECK(store_new(&one, cache, e2, &(struct source_config){0}, &s2, why,
	                sizeof(why)) == 0);
	CHECK(store_start(s2) == 0);

	t0 = now_s();
	store_attr(s2, 0, &at);
	took = now_s() - t0;
	CHECK(took >= 1.0 && took < 3.0);
	CHECK(at.size == 0 && !at.stable);

	t0 = now_s();
	store_attr(s2, 0, &at);
	CHECK(now_s() - t0 < 0.5);
	CHECK(head_count(A_HANG_HEAD) == 1);

	/* End the HEAD's retries rather than wait them out. */
	fetch_engine_interrupt(e2);
	store_free(s2);
	fetch_engine_free(e2);
}

/* A new cache object and store over the same directory. */
static void test_second_store(void)
{
	static const size_t cached[] = {A_ATTR, A_GOOD,  A_MD5,  A_CROWD,
	                                A_HOLD, A_FLAKY, A_SLOW, A_PLAIN};
	unsigned int before = all_requests();
	struct store_attr at;
	char why[256];
	size_t k;

	store_free(store);
	store = NULL;
	cache_free(cache);
	CHECK(cache_open(cache_path, &cache) == 0);
	CHECK(store_new(&manifest, cache, engine, &(struct source_config){0},
	                &store, why, sizeof(why)) == 0);

	for (k = 0; k < sizeof(cached) / sizeof(cached[0]); k++) {
		store_attr(store, cached[k], &at);
		/* Final only once this store has checked the cached copy
		 * against its checksum, which the first open does. */
		CHECK(at.stable == (items[cached[k]].ck_type == CK_NONE));
		CHECK(at.size == (int64_t)body_lens[cached[k]]);
		CHECK(at.mtime == LAST_MODIFIED_EPOCH);
		CHECK(open_and_check(cached[k]) == 0);
		store_attr(store, cached[k], &at);
		CHECK(at.stable);
	}
	CHECK(all_requests() == before);
	CHECK(tmp_files() == 0);
}

int main(void)
{
	struct fetch_config cfg = {
	        .connect_timeout = 5,
	        .low_speed_time = 5,
	        .low_speed_limit = DEF_LOW_SPEED_LIMIT,
	};
	char why[256], cmd[300];
	size_t i;

	if (!mkdtemp(root))
		return 1;
	snprintf(cache_path, sizeof(cache_path), "%s/cache", root);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (httpstub_start(&stub) < 0 || fetch_engine_new(&cfg, &engine) < 0 ||
	    fetch_engine_start(engine) < 0 ||
	    cache_open(cache_path, &cache) < 0)
		die("cannot start the stub, the engine or the cache");

	declare(A_ATTR, "attr", 4321, CK_SHA256);
	declare(A_GOOD, "good", 100000, CK_SHA256);
	declare(A_BAD, "bad", 100000, CK_SHA256);
	declare(A_CROWD, "crowd", 200000, CK_SHA256);
	declare(A_HOLD, "hold", 1000, CK_SHA256);
	declare(A_MD5, "md5", 54321, CK_MD5);
	declare(A_MD5_BAD, "md5-bad", 54321, CK_MD5);
	declare(A_SLOW, "slow", BIG_BYTES, CK_SHA256);
	declare(A_PLAIN, "plain", BIG_BYTES, CK_NONE);
	declare(A_FLAKY, "flaky", 3000, CK_SHA256);
	declare(A_SHORT, "short", 3000, CK_SHA256);
	declare(A_GONE, "gone", 10, CK_SHA256);
	declare(A_HANG_HEAD, "hang-head", 10, CK_SHA256);
	for (i = A_LISTED; i < A_COUNT; i++) {
		char name[32];

		snprintf(name, sizeof(name), "listed-%zu", i - A_LISTED);
		declare(i, name, 100 + i, CK_SHA256);
	}
	if (store_new(&manifest, cache, engine, &(struct source_config){0},
	              &store, why, sizeof(why)) < 0)
		die(why);

	test_attr();
	test_checksums();
	test_crowd();
	test_hold();
	test_retries();
	test_progress();
	test_no_checksum_idle();
	test_prefetch();
	test_second_store();
	test_hanging_head();

	store_free(store);
	cache_free(cache);
	fetch_engine_free(engine);
	httpstub_stop(stub);
	curl_global_cleanup();
	for (i = 0; i < A_COUNT; i++) {
		free(items[i].name);
		free(items[i].url);
		free(items[i].path);
		free(bodies[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
