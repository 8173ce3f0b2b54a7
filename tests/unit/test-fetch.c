/*
 * Unit tests of fs/fetch.c through an HTTP source, against the loopback
 * origin of httpstub.c: what a HEAD reports, which failures are retried
 * and how often, the low-speed cutoff, bodies written exactly as sent
 * (encoded ones too), URLs sent as written, and redirects.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "caps.h"
#include "check.h"
#include "fetch.h"
#include "httpstub.h"
#include "source.h"
#include "banned.h"

/* The low-speed cutoff of the engine under test, seconds. */
#define LOW_SPEED_TIME 2

static struct httpstub *stub;
static struct fetch_engine *engine;
static char root[] = "/tmp/test-fetch-XXXXXX";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct source *source_for_url(const char *url)
{
	struct source_config cfg = {0};
	struct artifact a = {0};
	struct source *src = NULL;
	char why[256];

	a.name = "test";
	a.url = (char *)url;
	a.path = "test";
	a.mode = 0644;
	a.scheme = strncmp(url, "https:", 6) == 0 ? URL_HTTPS : URL_HTTP;
	if (source_new(&a, &cfg, &src, why, sizeof(why)) < 0) {
		fprintf(stderr, "source_new: %s\n", why);
		exit(1);
	}
	return src;
}

static struct source *source_for(const char *target)
{
	char url[CAP_URL_BYTES];

	httpstub_url(stub, target, url, sizeof(url));
	return source_for_url(url);
}

static void add_route(const struct httpstub_route *r)
{
	if (httpstub_route(stub, r) < 0) {
		fprintf(stderr, "cannot add route %s\n", r->target);
		exit(1);
	}
}

static int new_file(void)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/body-XXXXXX", root);
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	return fd;
}

static off_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Whether FD holds exactly LEN bytes, equal to DATA. */
static bool file_is(int fd, const void *data, size_t len)
{
	char *buf;
	bool same;

	if (file_size(fd) != (off_t)len)
		return false;
	buf = malloc(len + 1);
	if (!buf)
		return false;
	same = pread(fd, buf, len, 0) == (ssize_t)len &&
	       memcmp(buf, data, len) == 0;
	free(buf);
	return same;
}

static void fill_random(unsigned char *buf, size_t len)
{
	uint32_t x = 2463534242u;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/* One GET of TARGET into a new file; the file stays open in *fd. */
static int get(const char *target, const char *range, int *fd,
               struct fetch_meta *meta, struct fetch_error *err, bool *again)
{
	struct source *src = source_for(target);
	struct fetch_xfer *x;
	int rc;

	*fd = new_file();
	rc = fetch_get_start(engine, src, range, *fd, &x, err);
	if (rc == 0)
		rc = fetch_xfer_finish(x, meta, err, again);
	source_free(src);
	return rc;
}

static int head(const char *target, struct fetch_meta *meta,
                struct fetch_error *err)
{
	struct source *src = source_for(target);
	int rc;

	rc = fetch_head(engine, src, meta, err);
	source_free(src);
	return rc;
}

static void test_head_meta(void)
{
	static const char body[1234] = "x";
	struct httpstub_route r = {
	        .target = "/head/full",
	        .body = body,
	        .body_len = sizeof(body),
	        .etag = "\"v1-abc\"",
	        .last_modified = "Wed, 21 Oct 2015 07:28:00 GMT",
	};
	struct fetch_meta meta;
	struct fetch_error err;

	add_route(&r);
	memset(&meta, 0x55, sizeof(meta));
	CHECK(head("/head/full", &meta, &err) == 0);
	CHECK(meta.size == 1234);
	CHECK(meta.mtime == (time_t)1445412480);
	CHECK_STR(meta.etag, "\"v1-abc\"");
	CHECK(httpstub_count(stub, "/head/full", "HEAD") == 1);
	CHECK(httpstub_count(stub, "/head/full", "GET") == 0);

	/* Nothing said: no mtime, no etag. */
	r.target = "/head/bare";
	r.etag = NULL;
	r.last_modified = NULL;
	add_route(&r);
	memset(&meta, 0x55, sizeof(meta));
	CHECK(head("/head/bare", &meta, &err) == 0);
	CHECK(meta.size == 1234);
	CHECK(meta.mtime == 0);
	CHECK_STR(meta.etag, "");

	/* No Content-Length: the size is unknown. */
	r.target = "/head/nolength";
	r.no_length = true;
	add_route(&r);
	CHECK(head("/head/nolength", &meta, &err) == 0);
	CHECK(meta.size == -1);
}

static void test_not_found(void)
{
	static const char page[] = "<html>not here</html>\n";
	struct httpstub_route r = {
	        .target = "/missing",
	        .status = 404,
	        .body = page,
	        .body_len = sizeof(page) - 1,
	};
	struct fetch_meta meta, untouched;
	struct fetch_error err;
	bool again = true;
	int fd;

	add_route(&r);
	memset(&meta, 0x55, sizeof(meta));
	untouched = meta;
	CHECK(head("/missing", &meta, &err) == -EIO);
	CHECK(err.status == 404);
	CHECK(!err.transient);
	CHECK_STR(err.cause, "HTTP 404");
	CHECK(memcmp(&meta, &untouched, sizeof(meta)) == 0);
	CHECK(httpstub_count(stub, "/missing", "HEAD") == 1);

	/* A GET of it: no byte of the error page lands in the file. */
	CHECK(get("/missing", NULL, &fd, &meta, &err, &again) == -EIO);
	CHECK(err.status == 404);
	CHECK(!err.transient);
	CHECK(!again);
	CHECK_STR(err.cause, "HTTP 404");
	CHECK(file_size(fd) == 0);
	CHECK(httpstub_count(stub, "/missing", "GET") == 1);
	close(fd);

	/* Other 4xx are not retried either. */
	r.target = "/forbidden";
	r.status = 403;
	add_route(&r);
	CHECK(head("/forbidden", &meta, &err) == -EIO);
	CHECK(err.status == 403 && !err.transient);
	CHECK_STR(err.cause, "HTTP 403");
	CHECK(httpstub_count(stub, "/forbidden", "HEAD") == 1);
}

static void test_retry(void)
{
	static const char body[] = "eventually\n";
	struct httpstub_route r = {
	        .target = "/flaky",
	        .body = body,
	        .body_len = sizeof(body) - 1,
	        .fail_first = 2,
	};
	struct fetch_meta meta;
	struct fetch_error err;
	double t0, took;

	add_route(&r);
	t0 = now_s();
	CHECK(head("/flaky", &meta, &err) == 0);
	took = now_s() - t0;
	CHECK(meta.size == (int64_t)sizeof(body) - 1);
	CHECK(httpstub_count(stub, "/flaky", "HEAD") == 3);
	/* Two delays of at least half of 200 ms and of 400 ms. */
	CHECK(took >= 0.3);

	/* A 503 for ever: the first attempt and CAP_RETRIES more. */
	r.target = "/down";
	r.status = 503;
	r.fail_first = 0;
	add_route(&r);
	CHECK(head("/down", &meta, &err) == -EIO);
	CHECK(err.status == 503);
	CHECK(err.transient);
	CHECK_STR(err.cause, "HTTP 503");
	CHECK(httpstub_count(stub, "/down", "HEAD") == 1 + CAP_RETRIES);
}

static void test_refused(void)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct fetch_meta meta;
	struct fetch_error err;
	struct source *src;
	char url[128];
	bool again;
	int sock, fd;

	/* A bound socket that does not listen refuses connections, and
	 * holds the port so that nothing else can take it meanwhile. */
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(sock >= 0);
	CHECK(bind(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(sock, (struct sockaddr *)&sa, &salen) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(sa.sin_port));

	src = source_for_url(url);
	CHECK(fetch_head(engine, src, &meta, &err) == -EIO);
	CHECK(err.status == 0);
	CHECK(err.transient);
	CHECK(err.cause[0] != '\0');
	CHECK(strcasestr(err.cause, "connect") != NULL);

	{
		struct fetch_xfer *x;

		fd = new_file();
		CHECK(fetch_get_start(engine, src, NULL, fd, &x, &err) == 0);
		CHECK(fetch_xfer_finish(x, &meta, &err, &again) == -EIO);
		CHECK(err.transient && err.status == 0);
		CHECK(err.cause[0] != '\0');
		close(fd);
	}
	source_free(src);
	close(sock);
}

static void test_low_speed(void)
{
	static char body[5000];
	struct httpstub_route r = {
	        .target = "/hang",
	        .hang = true,
	};
	struct fetch_meta meta;
	struct fetch_error err;
	double t0, took;
	bool again;
	int fd;

	/* No answer at all. */
	add_route(&r);
	t0 = now_s();
	CHECK(get("/hang", NULL, &fd, &meta, &err, &again) == -EIO);
	took = now_s() - t0;
	CHECK(err.transient);
	CHECK(err.status == 0);
	CHECK(strcasestr(err.cause, "slow") || strcasestr(err.cause, "time"));
	CHECK(took >= LOW_SPEED_TIME - 0.5 && took < LOW_SPEED_TIME + 4);
	CHECK(httpstub_count(stub, "/hang", "GET") == 1);
	close(fd);

	/* A body that stops after a first piece, smaller than what the
	 * limit allows in a second: curl's speed is an average over the
	 * last few seconds. */
	memset(body, 'b', sizeof(body));
	r.target = "/stall";
	r.hang = false;
	r.body = body;
	r.body_len = sizeof(body);
	r.trickle_bytes = 1000;
	r.trickle_ms = 60000;
	add_route(&r);
	t0 = now_s();
	CHECK(get("/stall", NULL, &fd, &meta, &err, &again) == -EIO);
	took = now_s() - t0;
	CHECK(err.transient);
	CHECK(err.status == 200);
	CHECK(took >= LOW_SPEED_TIME - 0.5 && took < LOW_SPEED_TIME + 4);
	CHECK(file_is(fd, body, 1000));
	close(fd);
}

static void test_truncated(void)
{
	static unsigned char body[10000];
	struct httpstub_route r = {
	        .target = "/short",
	        .body = body,
	        .body_len = sizeof(body),
	        .truncate = true,
	        .truncate_at = 4000,
	};
	struct fetch_meta meta;
	struct fetch_error err;
	bool again;
	int fd;

	fill_random(body, sizeof(body));
	add_route(&r);
	CHECK(get("/short", NULL, &fd, &meta, &err, &again) == -EIO);
	CHECK(err.transient);
	CHECK(err.status == 200);
	CHECK(err.cause[0] != '\0');
	CHECK(!again);
	close(fd);

	/* Nothing at all after the head is short too. */
	r.target = "/empty";
	r.truncate_at = 0;
	add_route(&r);
	CHECK(get("/empty", NULL, &fd, &meta, &err, &again) == -EIO);
	CHECK(err.transient);
	close(fd);
}

static void test_body(void)
{
	const size_t len = (3L << 20) + 17;
	struct httpstub_route r = {
	        .target = "/big",
	        .body_len = len,
	        .etag = "\"big\"",
	        .last_modified = "Sun, 06 Nov 1994 08:49:37 GMT",
	        .trickle_bytes = 3L << 19,
	        .trickle_ms = 300,
	};
	uint64_t written = 0, last = 0;
	bool done = false, partial = false, monotonic = true, again;
	struct fetch_meta meta;
	struct fetch_error err;
	struct fetch_xfer *x;
	struct source *src;
	unsigned char *body;
	char value[64], target[64];
	int fd, waits = 0;

	body = malloc(len);
	CHECK(body != NULL);
	if (!body)
		return;
	fill_random(body, len);
	r.body = body;
	add_route(&r);

	src = source_for("/big");
	fd = new_file();
	CHECK(fetch_get_start(engine, src, NULL, fd, &x, &err) == 0);
	while (!done) {
		fetch_xfer_wait(x, written, &written, &done);
		if (!done && written > 0 && written < len)
			partial = true;
		if (written < last)
			monotonic = false;
		last = written;
		waits++;
	}
	CHECK(written == len);
	CHECK(partial);
	CHECK(monotonic);
	CHECK(waits < 100);
	memset(&meta, 0, sizeof(meta));
	CHECK(fetch_xfer_finish(x, &meta, &err, &again) == 0);
	CHECK(meta.size == (int64_t)len);
	CHECK(meta.mtime == (time_t)784111777);
	CHECK_STR(meta.etag, "\"big\"");
	CHECK(file_is(fd, body, len));
	CHECK(httpstub_count(stub, "/big", "GET") == 1);
	close(fd);

	/* A range lands at its own offset. */
	r.trickle_bytes = 0;
	add_route(&r);
	fd = new_file();
	CHECK(fetch_get_start(engine, src, "100-1099", fd, &x, &err) == 0);
	CHECK(fetch_xfer_finish(x, &meta, &err, &again) == 0);
	CHECK(meta.size == 1000);
	CHECK(file_size(fd) == 1100);
	{
		unsigned char got[1000];

		CHECK(pread(fd, got, sizeof(got), 100) == (ssize_t)sizeof(got));
		CHECK(memcmp(got, body + 100, sizeof(got)) == 0);
	}
	httpstub_last(stub, target, sizeof(target), "Range", value,
	              sizeof(value));
	CHECK_STR(value, "bytes=100-1099");
	close(fd);
	source_free(src);
	free(body);
}

static uint32_t crc32_of(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A gzip member of TEXT in one stored deflate block.  Returns its size. */
static size_t make_gzip(const char *text, unsigned char *out, size_t n)
{
	static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0,
	                                      0,    0,    0, 0, 0xff};
	size_t len = strlen(text), pos = 0;

	if (len > 0xffff || 10 + 5 + len + 8 > n)
		return 0;
	memcpy(out, hdr, sizeof(hdr));
	pos = sizeof(hdr);
	out[pos++] = 1; /* final block, stored */
	put_le(out + pos, (uint32_t)len, 2);
	put_le(out + pos + 2, (uint32_t)(~len & 0xffff), 2);
	pos += 4;
	memcpy(out + pos, text, len);
	pos += len;
	put_le(out + pos, crc32_of((const unsigned char *)text, len), 4);
	put_le(out + pos + 4, (uint32_t)len, 4);
	return pos + 8;
}

static void test_gzip_as_sent(void)
{
	unsigned char gz[512];
	size_t len = make_gzip("hello, artifactfs, hello, artifactfs\n", gz,
	                       sizeof(gz));
	struct httpstub_route r = {
	        .target = "/app.tar.gz",
	        .body = gz,
	        .body_len = len,
	        .content_encoding = "gzip",
	};
	struct fetch_meta meta;
	struct fetch_error err;
	char value[256], target[64];
	bool again;
	int fd;

	CHECK(len > 0);
	add_route(&r);
	CHECK(head("/app.tar.gz", &meta, &err) == 0);
	CHECK(meta.size == (int64_t)len);
	CHECK(get("/app.tar.gz", NULL, &fd, &meta, &err, &again) == 0);
	CHECK(meta.size == (int64_t)len);
	CHECK(file_is(fd, gz, len));
	httpstub_last(stub, target, sizeof(target), "Accept-Encoding", value,
	              sizeof(value));
	CHECK_STR(value, "");
	close(fd);
}

static void test_query_as_written(void)
{
	static const char *const targets[] = {
	        "/q/obj.bin?X-Amz-Signature=ab%2Fcd%3D&b=1+2&a=%7e&&flag",
	        "/q//double/%2e%2e/./obj.bin?z=1&a=2",
	        "/q/sp%20ace%2Fslash?x=%25&y=%2B",
	};
	static const char body[] = "payload\n";
	struct fetch_meta meta;
	struct fetch_error err;
	char last[512];
	unsigned int misses = httpstub_misses(stub);
	bool again;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct httpstub_route r = {
		        .target = targets[i],
		        .body = body,
		        .body_len = sizeof(body) - 1,
		};

		add_route(&r);
		CHECK(head(targets[i], &meta, &err) == 0);
		httpstub_last(stub, last, sizeof(last), "", NULL, 0);
		CHECK_STR(last, targets[i]);
		CHECK(get(targets[i], NULL, &fd, &meta, &err, &again) == 0);
		httpstub_last(stub, last, sizeof(last), "", NULL, 0);
		CHECK_STR(last, targets[i]);
		CHECK(file_is(fd, body, sizeof(body) - 1));
		CHECK(httpstub_count(stub, targets[i], NULL) == 2);
		close(fd);
	}
	CHECK(httpstub_misses(stub) == misses);
}

static void test_redirects(void)
{
	static const char body[] = "final body\n", moved[] = "moved\n";
	char abs[256], secret[256], escape[300];
	struct httpstub_route r = {0};
	struct fetch_meta meta;
	struct fetch_error err;
	bool again;
	FILE *f;
	int fd;

	r.target = "/final";
	r.body = body;
	r.body_len = sizeof(body) - 1;
	r.etag = "\"final\"";
	add_route(&r);
	r.target = "/r1";
	r.status = 302;
	r.body = moved;
	r.body_len = sizeof(moved) - 1;
	r.etag = "\"redirect\"";
	r.location = "/final";
	add_route(&r);
	httpstub_url(stub, "/r1", abs, sizeof(abs));
	r.target = "/r2";
	r.status = 301;
	r.location = abs; /* absolute, and a chain of two */
	add_route(&r);

	CHECK(head("/r2", &meta, &err) == 0);
	CHECK(meta.size == (int64_t)sizeof(body) - 1);
	CHECK_STR(meta.etag, "\"final\"");
	CHECK(httpstub_count(stub, "/r2", "HEAD") == 1);
	CHECK(httpstub_count(stub, "/r1", "HEAD") == 1);
	CHECK(httpstub_count(stub, "/final", "HEAD") == 1);

	CHECK(get("/r1", NULL, &fd, &meta, &err, &again) == 0);
	CHECK(file_is(fd, body, sizeof(body) - 1));
	CHECK_STR(meta.etag, "\"final\"");
	CHECK(httpstub_count(stub, "/final", "GET") == 1);
	close(fd);

	/* The ETag of a redirect is not the object's. */
	r.target = "/plain";
	r.status = 0;
	r.location = NULL;
	r.etag = NULL;
	r.body = body;
	r.body_len = sizeof(body) - 1;
	add_route(&r);
	r.target = "/r3";
	r.status = 302;
	r.location = "/plain";
	r.etag = "\"redirect\"";
	add_route(&r);
	CHECK(head("/r3", &meta, &err) == 0);
	CHECK_STR(meta.etag, "");
	CHECK(get("/r3", NULL, &fd, &meta, &err, &again) == 0);
	CHECK_STR(meta.etag, "");
	CHECK(file_is(fd, body, sizeof(body) - 1));
	close(fd);

	/* A loop ends after CAP_REDIRECTS, and is not worth a retry. */
	r.target = "/loop";
	r.status = 302;
	r.location = "/loop";
	r.etag = NULL;
	add_route(&r);
	CHECK(head("/loop", &meta, &err) == -EIO);
	CHECK(!err.transient);
	CHECK(err.cause[0] != '\0');
	CHECK(httpstub_count(stub, "/loop", "HEAD") == CAP_REDIRECTS + 1);

	/* A redirect may not leave http and https. */
	snprintf(secret, sizeof(secret), "%s/secret", root);
	f = fopen(secret, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("local secret\n", f);
		fclose(f);
	}
	snprintf(escape, sizeof(escape), "file://%s", secret);
	r.target = "/escape";
	r.location = escape;
	add_route(&r);
	CHECK(get("/escape", NULL, &fd, &meta, &err, &again) == -EIO);
	CHECK(!err.transient);
	CHECK(file_size(fd) == 0);
	close(fd);
}

static void test_connection_reuse(void)
{
	static const char body[] = "again\n";
	struct httpstub_route r = {
	        .target = "/reuse",
	        .body = body,
	        .body_len = sizeof(body) - 1,
	};
	struct fetch_meta meta;
	struct fetch_error err;
	unsigned int before;
	int i;

	add_route(&r);
	before = httpstub_connections(stub);
	for (i = 0; i < 3; i++)
		CHECK(head("/reuse", &meta, &err) == 0);
	CHECK(httpstub_count(stub, "/reuse", "HEAD") == 3);
	CHECK(httpstub_connections(stub) - before <= 1);
}

static void test_parallel(void)
{
	enum { N = 6 };
	static const char body[] = "slow but parallel\n";
	struct httpstub_route r = {
	        .target = "/slow",
	        .body = body,
	        .body_len = sizeof(body) - 1,
	        .delay_ms = 800,
	};
	struct fetch_xfer *x[N];
	struct fetch_meta meta;
	struct fetch_error err;
	struct source *src;
	double t0, took;
	bool again;
	int fd[N], i;

	add_route(&r);
	src = source_for("/slow");
	t0 = now_s();
	for (i = 0; i < N; i++) {
		fd[i] = new_file();
		CHECK(fetch_get_start(engine, src, NULL, fd[i], &x[i], &err) ==
		      0);
	}
	for (i = 0; i < N; i++) {
		CHECK(fetch_xfer_finish(x[i], &meta, &err, &again) == 0);
		CHECK(file_is(fd[i], body, sizeof(body) - 1));
		close(fd[i]);
	}
	took = now_s() - t0;
	CHECK(httpstub_count(stub, "/slow", "GET") == N);
	/* One after the other would take N * 0.8 s. */
	CHECK(took < 2.5);
	source_free(src);
}

int main(void)
{
	struct fetch_config cfg = {
	        .ca_file = NULL,
	        .connect_timeout = 5,
	        .low_speed_time = LOW_SPEED_TIME,
	        .low_speed_limit = DEF_LOW_SPEED_LIMIT,
	};
	char cmd[300];

	if (!mkdtemp(root))
		return 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (httpstub_start(&stub) < 0 || fetch_engine_new(&cfg, &engine) < 0 ||
	    fetch_engine_start(engine) < 0) {
		fprintf(stderr, "cannot start the stub or the engine\n");
		return 1;
	}

	test_head_meta();
	test_not_found();
	test_retry();
	test_refused();
	test_low_speed();
	test_truncated();
	test_body();
	test_gzip_as_sent();
	test_query_as_written();
	test_redirects();
	test_connection_reuse();
	test_parallel();

	fetch_engine_free(engine);
	httpstub_stop(stub);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
