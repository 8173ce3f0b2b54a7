/*
 * url_parse and url_redact: every accepted form, every refusal, and what
 * is left of a URL once it is fit for a log.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "url.h"
#include "check.h"
#include "banned.h"

static void accepts(const char *url, enum url_scheme scheme, const char *host,
                    const char *path, const char *query)
{
	struct url_parts p;
	const char *why = NULL;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = url_parse(url, &p, &why);
	CHECK(rc == 0);
	if (rc != 0) {
		fprintf(stderr, "  refused '%s': %s\n", url, why ? why : "?");
		return;
	}
	CHECK(p.scheme == scheme);
	CHECK_STR(p.host, host);
	CHECK_STR(p.path, path);
	if (query)
		CHECK_STR(p.query, query);
	else
		CHECK(p.query == NULL);
	url_parts_clear(&p);
	CHECK(p.host == NULL && p.path == NULL && p.query == NULL);
}

static void refuses(const char *url, const char *reason)
{
	struct url_parts p;
	const char *why = NULL;
	int rc;

	/* the out-parameter must stay as it was */
	memset(&p, 0x5a, sizeof(p));
	rc = url_parse(url, &p, &why);
	CHECK(rc == -EINVAL);
	CHECK(p.host == (char *)0x5a5a5a5a5a5a5a5aULL);
	CHECK_STR(why, reason);
	if (rc == 0)
		url_parts_clear(&p);
}

static void test_accepted(void)
{
	accepts("http://origin.invalid/f", URL_HTTP, "origin.invalid", "/f",
	        NULL);
	accepts("http://host", URL_HTTP, "host", "", NULL);
	accepts("https://host/", URL_HTTPS, "host", "/", NULL);
	accepts("HTTPS://Host.Example/a/b", URL_HTTPS, "Host.Example", "/a/b",
	        NULL);
	accepts("http://127.0.0.1:8080/x?y=1&z=2", URL_HTTP, "127.0.0.1:8080",
	        "/x", "y=1&z=2");
	accepts("https://user:secret@host:8443/p?X-Amz-Signature=abc#frag",
	        URL_HTTPS, "host:8443", "/p", "X-Amz-Signature=abc");
	accepts("http://a%40b:c@host/p", URL_HTTP, "host", "/p", NULL);
	accepts("http://host?q", URL_HTTP, "host", "", "q");
	accepts("http://host#f", URL_HTTP, "host", "", NULL);
	accepts("http://[::1]:9000/k", URL_HTTP, "[::1]:9000", "/k", NULL);
	accepts("http://[::1]/k", URL_HTTP, "[::1]", "/k", NULL);
	accepts("http://host:65535/", URL_HTTP, "host:65535", "/", NULL);
	accepts("s3://my-bucket/configs/app.conf", URL_S3, "my-bucket",
	        "configs/app.conf", NULL);
	accepts("s3://certs/app.crt", URL_S3, "certs", "app.crt", NULL);
	accepts("s3://b.c-d/k%20x", URL_S3, "b.c-d", "k%20x", NULL);
	accepts("s3://bucket/key?versionId=7", URL_S3, "bucket", "key",
	        "versionId=7");
	accepts("s3://bucket//double", URL_S3, "bucket", "/double", NULL);
	accepts("S3://bucket/k", URL_S3, "bucket", "k", NULL);
	accepts("s3://abc/k", URL_S3, "abc", "k", NULL);
}

static void test_refused(void)
{
	refuses("", "empty");
	refuses("origin.invalid/f", "not a URL");
	refuses("ftp://host/f", "scheme not supported");
	refuses("http://a@b@host/p",
	        "more than one '@' (write %40 in the user info)");
	refuses("http://u\\@host/p", "backslash in the host");
	refuses("http://host\\evil/p", "backslash in the host");
	refuses("file:///etc/passwd", "scheme not supported");
	refuses("http://host/a b", "contains a space");
	refuses("http://host/a\tb", "contains a control character");
	refuses("http://host/a\x7f", "contains a control character");
	refuses("http://host/\r\nX: y", "contains a control character");
	refuses("http:///path", "no host");
	refuses("http://", "no host");
	refuses("http://user@/x", "no host");
	refuses("http://:80/x", "no host");
	refuses("http://host:/x", "bad port");
	refuses("http://host:0/x", "bad port");
	refuses("http://host:65536/x", "bad port");
	refuses("http://host:123456/x", "bad port");
	refuses("http://host:8x/x", "bad port");
	refuses("http://ho^st/x", "bad character in the host");
	refuses("http://[::1/x", "bad IPv6 address");
	refuses("http://[]/x", "bad IPv6 address");
	refuses("http://[::g]/x", "bad character in the host");
	refuses("http://[::1]x/", "bad port");
	refuses("s3://bucket-only", "no key");
	refuses("s3://bucket/", "no key");
	refuses("s3://bucket?x", "no key");
	refuses("s3://bucket/?x", "no key");
	refuses("s3:///key", "no bucket");
	refuses("s3://", "no bucket");
	refuses("s3://ab/k", "bad bucket name");
	refuses("s3://Bucket/k", "bad bucket name");
	refuses("s3://my_bucket/k", "bad bucket name");
	refuses("s3://a..b/k", "bad bucket name");
	refuses("s3://-abc/k", "bad bucket name");
	refuses("s3://abc-/k", "bad bucket name");
	refuses("s3://.abc/k", "bad bucket name");
	refuses("s3://user@bucket/k", "bad bucket name");
	refuses("s3://bucket/k#frag",
	        "a fragment ('#') is not supported in an s3 URL");
}

static void test_length_cap(void)
{
	struct url_parts p;
	const char *why = NULL;
	char *url = malloc(CAP_URL_BYTES + 2);
	size_t prefix = strlen("http://h/");

	memcpy(url, "http://h/", prefix);
	memset(url + prefix, 'a', CAP_URL_BYTES - prefix);
	url[CAP_URL_BYTES] = '\0';
	CHECK(url_parse(url, &p, &why) == 0);
	CHECK(strlen(p.path) == CAP_URL_BYTES - prefix + 1);
	url_parts_clear(&p);

	url[CAP_URL_BYTES] = 'a';
	url[CAP_URL_BYTES + 1] = '\0';
	CHECK(url_parse(url, &p, &why) == -EINVAL);
	CHECK_STR(why, "too long");
	free(url);
}

/* 63 characters is the longest bucket name; 3 the shortest */
static void test_bucket_length(void)
{
	char url[128];
	char bucket[65];

	memset(bucket, 'b', 64);
	bucket[63] = '\0';
	snprintf(url, sizeof(url), "s3://%s/k", bucket);
	accepts(url, URL_S3, bucket, "k", NULL);
	bucket[63] = 'b';
	bucket[64] = '\0';
	snprintf(url, sizeof(url), "s3://%s/k", bucket);
	refuses(url, "bad bucket name");
	accepts("s3://b1c/k", URL_S3, "b1c", "k", NULL);
}

static void test_null_why(void)
{
	struct url_parts p;

	CHECK(url_parse("ftp://x/", &p, NULL) == -EINVAL);
	url_parts_clear(NULL);
}

static void redacts(const char *url, const char *want)
{
	char buf[256];

	CHECK_STR(url_redact(url, buf, sizeof(buf)), want);
}

static void test_redact(void)
{
	char small[12];
	char one[1] = {'x'};

	redacts("http://host/p", "http://host/p");
	redacts("https://user:secret@host:8443/p?X-Amz-Signature=abc#f",
	        "https://host:8443/p");
	redacts("https://a@b@host/p", "https://host/p");
	redacts("http://host/p?token=x", "http://host/p");
	redacts("http://host/p#frag", "http://host/p");
	redacts("http://host?token=x", "http://host");
	redacts("s3://bucket/key?versionId=1", "s3://bucket/key");
	redacts("s3://my-bucket/configs/app.conf",
	        "s3://my-bucket/configs/app.conf");
	redacts("user:pw@host/p?q", "host/p");
	redacts("not a url", "not a url");
	redacts("http://host/a\nb\x01", "http://host/a_b_");
	/* an '@' in the path is not userinfo */
	redacts("https://host/@scope/pkg", "https://host/@scope/pkg");
	redacts("", "");

	CHECK_STR(url_redact("http://host/long/path", small, sizeof(small)),
	          "http://host");
	CHECK(url_redact("http://h/", one, 0) == one && one[0] == 'x');
	CHECK_STR(url_redact("http://h/", one, 1), "");
}

int main(void)
{
	test_accepted();
	test_refused();
	test_length_cap();
	test_bucket_length();
	test_null_why();
	test_redact();
	return check_done();
}
