/*
 * The S3 source: endpoint and addressing (path-style, virtual-hosted,
 * AWS's own hosts), keys full of odd characters, the request as curl
 * really sends it (to a stand-in on loopback), unsigned requests, error
 * bodies read into causes, and the switch to the bucket's region.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "check.h"
#include "httpstub.h"
#include "s3.h"
#include "banned.h"

static const char *const aws_vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_CA_BUNDLE",
};

/* From now on the stand-in answers TARGET with STATUS and BODY. */
static void answer(struct httpstub *s, const char *target, int status,
                   const char *body)
{
	CHECK(httpstub_answer(s, target, status, body) == 0);
}

/* Requests the stand-in had since the last answer(). */
static unsigned int hits(struct httpstub *s)
{
	return httpstub_hits(s);
}

/* Copies header NAME of the last request into V (size N); false if absent. */
static bool header(struct httpstub *s, const char *name, char *v, size_t n)
{
	char target[1024];

	httpstub_last(s, target, sizeof(target), name, v, n);
	return v[0] != '\0';
}

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
		unsetenv(aws_vars[i]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
}

static struct s3_config *config(bool path_style, bool no_sign)
{
	struct s3_options o = {.path_style = path_style, .no_sign = no_sign};
	struct s3_config *cfg = NULL;
	char why[512];

	if (s3_config_new(&o, &cfg, why, sizeof(why))) {
		fprintf(stderr, "s3_config_new: %s\n", why);
		return NULL;
	}
	return cfg;
}

static void check_url(struct s3_config *cfg, const char *bucket,
                      const char *key, const char *region, const char *url,
                      const char *host, const char *uri)
{
	struct s3_url u = {0};

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK(s3_url_build(cfg, bucket, key, NULL, region, &u) == 0);
	CHECK_STR(u.url, url);
	CHECK_STR(u.host, host);
	CHECK_STR(u.uri, uri);
	s3_url_clear(&u);
}

static void test_addressing(void)
{
	struct s3_config *cfg;
	char why[512];
	struct s3_options o = {0};

	clear_env();
	/* AWS itself: virtual-hosted, regional host. */
	cfg = config(false, true);
	check_url(cfg, "my-bucket", "configs/app.conf", "us-east-1",
	          "https://my-bucket.s3.us-east-1.amazonaws.com/configs/"
	          "app.conf",
	          "my-bucket.s3.us-east-1.amazonaws.com", "/configs/app.conf");
	check_url(cfg, "certs", "app.key", "eu-west-3",
	          "https://certs.s3.eu-west-3.amazonaws.com/app.key",
	          "certs.s3.eu-west-3.amazonaws.com", "/app.key");
	/* A dotted bucket cannot be a TLS subdomain: path-style. */
	check_url(cfg, "my.bucket", "k", "eu-west-1",
	          "https://s3.eu-west-1.amazonaws.com/my.bucket/k",
	          "s3.eu-west-1.amazonaws.com", "/my.bucket/k");
	s3_config_free(cfg);

	/* --s3-path-style on AWS. */
	cfg = config(true, true);
	check_url(cfg, "b", "k", "us-east-1",
	          "https://s3.us-east-1.amazonaws.com/b/k",
	          "s3.us-east-1.amazonaws.com", "/b/k");
	s3_config_free(cfg);

	/* An endpoint on an address or localhost: path-style. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4568", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "a/b.txt", "us-east-1",
	          "http://127.0.0.1:4568/bucket/a/b.txt", "127.0.0.1:4568",
	          "/bucket/a/b.txt");
	s3_config_free(cfg);
	setenv("AWS_ENDPOINT_URL", "http://LocalHost:4566/", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "k", "us-east-1",
	          "http://LocalHost:4566/bucket/k", "LocalHost:4566",
	          "/bucket/k");
	s3_config_free(cfg);
	setenv("AWS_ENDPOINT_URL", "http://[::1]:9000", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "k", "us-east-1", "http://[::1]:9000/bucket/k",
	          "[::1]:9000", "/bucket/k");
	s3_config_free(cfg);

	/* A named endpoint: virtual-hosted, unless told otherwise. */
	setenv("AWS_ENDPOINT_URL", "https://s3.example.test", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "k", "us-east-1",
	          "https://bucket.s3.example.test/k", "bucket.s3.example.test",
	          "/k");
	s3_config_free(cfg);
	cfg = config(true, true);
	check_url(cfg, "bucket", "k", "us-east-1",
	          "https://s3.example.test/bucket/k", "s3.example.test",
	          "/bucket/k");
	s3_config_free(cfg);

	/* A path prefix on the endpoint. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/storage/", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "k", "us-east-1",
	          "http://127.0.0.1:9000/storage/bucket/k", "127.0.0.1:9000",
	          "/storage/bucket/k");
	s3_config_free(cfg);

	/* AWS_ENDPOINT_URL_S3 comes first. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.2:2", 1);
	cfg = config(false, true);
	check_url(cfg, "b", "k", "us-east-1", "http://127.0.0.2:2/b/k",
	          "127.0.0.2:2", "/b/k");
	s3_config_free(cfg);
	unsetenv("AWS_ENDPOINT_URL_S3");

	/* Endpoints that are not plain http(s) URLs. */
	setenv("AWS_ENDPOINT_URL", "ftp://127.0.0.1/", 1);
	CHECK(s3_config_new(&o, &cfg, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "AWS_ENDPOINT_URL") != NULL);
	setenv("AWS_ENDPOINT_URL", "http://user:pw@127.0.0.1/", 1);
	CHECK(s3_config_new(&o, &cfg, why, sizeof(why)) == -EINVAL);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1/?x=1", 1);
	CHECK(s3_config_new(&o, &cfg, why, sizeof(why)) == -EINVAL);
	setenv("AWS_ENDPOINT_URL", "http:///nohost", 1);
	CHECK(s3_config_new(&o, &cfg, why, sizeof(why)) == -EINVAL);
	unsetenv("AWS_ENDPOINT_URL");

	/* An AWS_CA_BUNDLE that cannot be read. */
	setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
	CHECK(s3_config_new(&o, &cfg, why, sizeof(why)) == -ENOENT);
	CHECK(strstr(why, "AWS_CA_BUNDLE") != NULL);
	unsetenv("AWS_CA_BUNDLE");
}

static void test_odd_keys(void)
{
	struct s3_config *cfg;

	clear_env();
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4568", 1);
	cfg = config(false, true);
	check_url(cfg, "bucket", "dir/a b+c,d~e%f.txt", "us-east-1",
	          "http://127.0.0.1:4568/bucket/dir/a%20b%2Bc%2Cd~e%25f.txt",
	          "127.0.0.1:4568", "/bucket/dir/a%20b%2Bc%2Cd~e%25f.txt");
	check_url(cfg, "bucket", "q?x=1#frag&y", "us-east-1",
	          "http://127.0.0.1:4568/bucket/q%3Fx%3D1%23frag%26y",
	          "127.0.0.1:4568", "/bucket/q%3Fx%3D1%23frag%26y");
	check_url(cfg, "bucket", "\xc3\xa9t\xc3\xa9/\xe6\x97\xa5.txt",
	          "us-east-1",
	          "http://127.0.0.1:4568/bucket/%C3%A9t%C3%A9/%E6%97%A5.txt",
	          "127.0.0.1:4568", "/bucket/%C3%A9t%C3%A9/%E6%97%A5.txt");
	/* Already-encoded text is a key of its own: never decoded. */
	check_url(cfg, "bucket", "a%20b", "us-east-1",
	          "http://127.0.0.1:4568/bucket/a%2520b", "127.0.0.1:4568",
	          "/bucket/a%2520b");
	/* Slashes are kept as they are, doubled or leading. */
	check_url(cfg, "bucket", "/lead//double/", "us-east-1",
	          "http://127.0.0.1:4568/bucket//lead//double/",
	          "127.0.0.1:4568", "/bucket//lead//double/");
	s3_config_free(cfg);
}

static int new_source(struct s3_config *cfg, const char *url,
                      struct source **out, char *why, size_t n)
{
	struct artifact a = {0};

	a.name = "art";
	a.url = (char *)url;
	a.path = "p";
	a.scheme = URL_S3;
	return source_s3_new(&a, cfg, out, why, n);
}

static void test_new(void)
{
	static const char *const refused[] = {
	        "s3://bucket",   "s3://bucket/",     "s3:///key",
	        "http://b/k",    "s3://bu ck/k",     "s3://b/k\nx",
	        "s3://b/k\x7f",  "s3://b\xc3\xa9/k", "s3://b/a b",
	        "s3://b/k#frag", "s3://b/100%.txt",  "s3://b/a%zz",
	        "s3://b/a%2",    "s3://b/nul%00",    "s3://b/?x=1",
	        "s3://b/k?=v",   "s3://b/k?a=%zz",
	};
	struct s3_config *cfg;
	struct source *src = NULL;
	char why[512], longkey[1200];
	size_t i;

	clear_env();
	cfg = config(false, true);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK(new_source(cfg, "s3://my-bucket/dir/a%20b+c%25.txt?versionId=7",
	                 &src, why, sizeof(why)) == 0);
	if (src) {
		/* Logged as written, without the query. */
		CHECK_STR(src->log_url, "s3://my-bucket/dir/a%20b+c%25.txt");
		source_free(src);
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		src = NULL;
		CHECK(new_source(cfg, refused[i], &src, why, sizeof(why)) ==
		      -EINVAL);
		CHECK(src == NULL);
	}
	CHECK(new_source(cfg, "s3://b/100%.txt", &src, why, sizeof(why)) ==
	      -EINVAL);
	CHECK(strstr(why, "%25") != NULL);

	/* 1024 bytes of key once decoded, not as written. */
	memcpy(longkey, "s3://b/", 7);
	for (i = 0; i < 1024; i++)
		longkey[7 + i] = 'k';
	longkey[7 + 1024] = '\0';
	CHECK(new_source(cfg, longkey, &src, why, sizeof(why)) == 0);
	source_free(src);
	memcpy(longkey + 7 + 1021, "%41", 4);
	CHECK(new_source(cfg, longkey, &src, why, sizeof(why)) == 0);
	source_free(src);
	memcpy(longkey + 7 + 1021, "kkk%41", 7);
	CHECK(new_source(cfg, longkey, &src, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "1024") != NULL);
	s3_config_free(cfg);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* Runs one prepared request against the stand-in. */
static int run(struct source *src, enum fetch_method m, const char *range,
               char *why, size_t n)
{
	struct curl_slist *hdrs = NULL;
	CURL *easy = curl_easy_init();
	int rc;

	if (!easy)
		return -ENOMEM;
	if (m == FETCH_HEAD)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	rc = src->ops->prepare(src, m, range, easy, &hdrs, why, n);
	if (rc == 0) {
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
		if (curl_easy_perform(easy) != CURLE_OK)
			rc = -EIO;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(easy);
	return rc;
}

static void test_signed_request(struct httpstub *s)
{
	struct s3_config *cfg;
	struct source *src = NULL;
	char ep[64], why[512], v[1024];
	const char *url = "s3://bucket/dir/a%20b+c,d~e%25f%20\xc3\xa9.txt";
	const char *key = "/bucket/dir/a%20b%2Bc%2Cd~e%25f%20%C3%A9.txt";

	clear_env();
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", httpstub_port(s));
	setenv("AWS_ENDPOINT_URL_S3", ep, 1);
	setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "VerySecretValue", 1);
	setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
	cfg = config(false, false);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	s3_config_describe(cfg, why, sizeof(why));
	CHECK(strstr(why, ep) != NULL);
	CHECK(strstr(why, "path-style") != NULL);
	CHECK(strstr(why, "region eu-west-3") != NULL);
	CHECK(strstr(why, "credentials from environment") != NULL);
	CHECK(strstr(why, "VerySecret") == NULL);

	CHECK(new_source(cfg, url, &src, why, sizeof(why)) == 0);
	if (!src) {
		s3_config_free(cfg);
		return;
	}
	answer(s, key, 200, "0123456789");
	CHECK(run(src, FETCH_GET, "0-9", why, sizeof(why)) == 0);
	CHECK(httpstub_saw(s,
	                   "GET /bucket/dir/a%20b%2Bc%2Cd~e%25f%20%C3%A9.txt "
	                   "HTTP/1.1\r\n"));
	CHECK(header(s, "Host", v, sizeof(v)));
	CHECK_STR(v, ep + 7);
	CHECK(header(s, "Range", v, sizeof(v)));
	CHECK_STR(v, "bytes=0-9");
	CHECK(header(s, "x-amz-content-sha256", v, sizeof(v)));
	CHECK_STR(v, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
	             "1b7852b855");
	CHECK(header(s, "x-amz-date", v, sizeof(v)));
	CHECK(strlen(v) == 16 && v[8] == 'T' && v[15] == 'Z');
	CHECK(!httpstub_saw(s, "x-amz-security-token"));
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "AWS4-HMAC-SHA256 Credential=S3RVER/") == v);
	CHECK(strstr(v, "/eu-west-3/s3/aws4_request, SignedHeaders=host;"
	                "range;x-amz-content-sha256;x-amz-date, "
	                "Signature=") != NULL);
	CHECK(!httpstub_saw(s, "VerySecretValue"));

	/* HEAD, without a range. */
	answer(s, key, 200, "");
	CHECK(run(src, FETCH_HEAD, NULL, why, sizeof(why)) == 0);
	CHECK(httpstub_saw(s, "HEAD /bucket/dir/a%20b"));
	CHECK(!httpstub_saw(s, "Range:"));
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v,
	             "SignedHeaders=host;x-amz-content-sha256;x-amz-date,") !=
	      NULL);
	source_free(src);

	/* The query of the URL goes with every request, canonical. */
	CHECK(new_source(cfg, "s3://b/k%3Fnot-a-query?versionId=abc%2F1&flag",
	                 &src, why, sizeof(why)) == 0);
	answer(s, "/b/k%3Fnot-a-query?flag=&versionId=abc%2F1", 200, "");
	answer(s, "/b/caf%C3%A9.txt", 200, "");
	answer(s, "/b/k", 200, "");
	if (src) {
		CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
		CHECK(httpstub_saw(
		        s, "GET /b/k%3Fnot-a-query?flag=&versionId=abc%2F1 "
		           "HTTP/1.1\r\n"));
		source_free(src);
	}
	/* UTF-8 as written and percent-encoded name the same key. */
	CHECK(new_source(cfg, "s3://b/caf%C3%a9.txt", &src, why, sizeof(why)) ==
	      0);
	if (src) {
		CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
		CHECK(httpstub_saw(s, "GET /b/caf%C3%A9.txt HTTP/1.1\r\n"));
		source_free(src);
	}
	CHECK(new_source(cfg, "s3://b/caf\xc3\xa9.txt", &src, why,
	                 sizeof(why)) == 0);
	if (src) {
		CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
		CHECK(httpstub_saw(s, "GET /b/caf%C3%A9.txt HTTP/1.1\r\n"));
		source_free(src);
	}
	s3_config_free(cfg);

	/* A session token is sent and signed. */
	setenv("AWS_SESSION_TOKEN", "Session/Token+Value=", 1);
	cfg = config(false, false);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (cfg && src) {
		CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
		CHECK(header(s, "x-amz-security-token", v, sizeof(v)));
		CHECK_STR(v, "Session/Token+Value=");
		CHECK(header(s, "Authorization", v, sizeof(v)));
		CHECK(strstr(v, ";x-amz-date;x-amz-security-token, ") != NULL);
		source_free(src);
	}
	s3_config_free(cfg);

	/* --s3-no-sign: nothing of AWS's at all. */
	cfg = config(false, true);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (cfg && src) {
		CHECK(run(src, FETCH_GET, "5-", why, sizeof(why)) == 0);
		CHECK(httpstub_saw(s, "GET /b/k HTTP/1.1"));
		CHECK(header(s, "Range", v, sizeof(v)));
		CHECK_STR(v, "bytes=5-");
		CHECK(!httpstub_saw(s, "Authorization"));
		CHECK(!httpstub_saw(s, "x-amz-"));
		source_free(src);
	}
	s3_config_free(cfg);

	/* No credentials anywhere: the request is not made. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	cfg = config(false, false);
	if (cfg) {
		s3_config_describe(cfg, why, sizeof(why));
		CHECK(strstr(why, "no credentials found") != NULL);
	}
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (cfg && src) {
		answer(s, "/b/k", 200, "");
		CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == -EIO);
		CHECK(strstr(why, "no AWS credentials") != NULL);
		CHECK(hits(s) == 0);
		source_free(src);
	}
	s3_config_free(cfg);
}

static bool fail(struct source *src, long status, const char *body, char *cause,
                 size_t n)
{
	return src->ops->failed(src, status, body, body ? strlen(body) : 0,
	                        cause, n);
}

static void test_errors(void)
{
	struct s3_config *cfg;
	struct source *src = NULL;
	char cause[512], why[512], body[2048], big[1200];

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIA", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "TopSecretKey", 1);
	cfg = config(false, false);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (!cfg || !src) {
		s3_config_free(cfg);
		return;
	}

	CHECK(!fail(src, 403,
	            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
	            "<Code>SignatureDoesNotMatch</Code><Message>The request "
	            "signature we calculated does not match the signature you "
	            "provided. Check your key and signing method.</Message>"
	            "<AWSAccessKeyId>AKIA</AWSAccessKeyId><StringToSign>"
	            "AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
	            "</Error>",
	            cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 403 SignatureDoesNotMatch: The request "
	                 "signature we calculated does not match the signature "
	                 "you provided. Check your key and signing method.");

	CHECK(!fail(src, 404,
	            "<Error><Code>NoSuchKey</Code><Message>The specified key "
	            "does not exist.</Message><Key>k</Key></Error>",
	            cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 404 NoSuchKey: The specified key does not "
	                 "exist.");
	CHECK(!fail(src, 503,
	            "<Error><Code>SlowDown</Code><Message>Please reduce your "
	            "request rate.</Message></Error>",
	            cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 503 SlowDown: Please reduce your request rate.");

	/* A HEAD has no body; a proxy may answer with HTML. */
	CHECK(!fail(src, 403, NULL, cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 403");
	CHECK(!fail(src, 502, "<html><body>Bad gateway</body></html>", cause,
	            sizeof(cause)));
	CHECK_STR(cause, "HTTP 502");

	/* Messages from the network: controls flattened, length capped. */
	CHECK(!fail(src, 400,
	            "<Error><Code>Bad\nCode</Code><Message>line1\r\nline2"
	            "</Message></Error>",
	            cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 400 Bad Code: line1  line2");
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(body, sizeof(body),
	         "<Error><Code>InternalError</Code><Message>%s</Message>"
	         "</Error>",
	         big);
	CHECK(!fail(src, 500, body, cause, sizeof(cause)));
	CHECK(strlen(cause) == strlen("HTTP 500 InternalError: ") + 200);

	/* ExpiredToken with fixed credentials: nothing to refresh. */
	CHECK(!fail(src, 400,
	            "<Error><Code>ExpiredToken</Code><Message>The provided "
	            "token has expired.</Message></Error>",
	            cause, sizeof(cause)));
	CHECK_STR(cause, "HTTP 400 ExpiredToken: The provided token has "
	                 "expired.");
	CHECK(strstr(cause, "TopSecret") == NULL);
	source_free(src);
	s3_config_free(cfg);
}

static void test_region_switch(struct httpstub *s)
{
	struct s3_config *cfg;
	struct source *src = NULL;
	char ep[64], cause[512], why[512], v[1024];

	clear_env();
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", httpstub_port(s));
	setenv("AWS_ENDPOINT_URL_S3", ep, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIA", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	cfg = config(false, false);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (!cfg || !src) {
		s3_config_free(cfg);
		return;
	}
	answer(s, "/b/k", 200, "");
	CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "/us-east-1/s3/aws4_request") != NULL);

	/* 400 AuthorizationHeaderMalformed naming the region: once. */
	CHECK(fail(src, 400,
	           "<Error><Code>AuthorizationHeaderMalformed</Code><Message>"
	           "the region 'us-east-1' is wrong; expecting 'eu-west-1'"
	           "</Message><Region>eu-west-1</Region></Error>",
	           cause, sizeof(cause)));
	CHECK(strstr(cause, "HTTP 400 AuthorizationHeaderMalformed") == cause);
	CHECK(run(src, FETCH_GET, NULL, why, sizeof(why)) == 0);
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "/eu-west-1/s3/aws4_request") != NULL);
	CHECK(!fail(src, 400,
	            "<Error><Code>AuthorizationHeaderMalformed</Code>"
	            "<Region>eu-west-1</Region></Error>",
	            cause, sizeof(cause)));

	/* 301 PermanentRedirect naming the endpoint. */
	CHECK(fail(src, 301,
	           "<Error><Code>PermanentRedirect</Code><Message>The bucket "
	           "you are attempting to access must be addressed using the "
	           "specified endpoint.</Message><Endpoint>b.s3.ap-southeast-2"
	           ".amazonaws.com</Endpoint><Bucket>b</Bucket></Error>",
	           cause, sizeof(cause)));
	CHECK(run(src, FETCH_HEAD, NULL, why, sizeof(why)) == 0);
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "/ap-southeast-2/s3/aws4_request") != NULL);
	CHECK(fail(src, 301,
	           "<Error><Code>PermanentRedirect</Code>"
	           "<Endpoint>b.s3.amazonaws.com</Endpoint></Error>",
	           cause, sizeof(cause)));
	CHECK(run(src, FETCH_HEAD, NULL, why, sizeof(why)) == 0);
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "/us-east-1/s3/aws4_request") != NULL);
	CHECK(fail(src, 301,
	           "<Error><Code>PermanentRedirect</Code>"
	           "<Endpoint>s3-eu-central-1.amazonaws.com</Endpoint></Error>",
	           cause, sizeof(cause)));
	CHECK(run(src, FETCH_HEAD, NULL, why, sizeof(why)) == 0);
	CHECK(header(s, "Authorization", v, sizeof(v)));
	CHECK(strstr(v, "/eu-central-1/s3/aws4_request") != NULL);

	/* Nothing usable named: no switch. */
	CHECK(!fail(src, 301, NULL, cause, sizeof(cause)));
	CHECK(!fail(src, 400,
	            "<Error><Code>AuthorizationHeaderMalformed</Code>"
	            "<Region>evil.example.com/x</Region></Error>",
	            cause, sizeof(cause)));
	CHECK(!fail(src, 301,
	            "<Error><Endpoint>elsewhere.example.com</Endpoint></Error>",
	            cause, sizeof(cause)));
	/* A 403 naming a region is not a redirect. */
	CHECK(!fail(src, 403, "<Error><Region>sa-east-1</Region></Error>",
	            cause, sizeof(cause)));
	source_free(src);
	s3_config_free(cfg);
}

static void test_expired_token_refresh(struct httpstub *s)
{
	struct s3_config *cfg;
	struct source *src = NULL;
	char url[128], cause[512], why[512];

	/* Container credentials: ExpiredToken forgets them, one more try
	 * fetches new ones. */
	clear_env();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds",
	         httpstub_port(s));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1", 1);
	cfg = config(false, false);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (!cfg || !src) {
		s3_config_free(cfg);
		return;
	}
	CHECK(fail(src, 400,
	           "<Error><Code>ExpiredToken</Code><Message>The provided "
	           "token has expired.</Message></Error>",
	           cause, sizeof(cause)));
	CHECK(!fail(src, 403,
	            "<Error><Code>AccessDenied</Code><Message>Access Denied"
	            "</Message></Error>",
	            cause, sizeof(cause)));
	source_free(src);
	s3_config_free(cfg);

	/* --s3-no-sign never asks for credentials. */
	cfg = config(false, true);
	CHECK(cfg && new_source(cfg, "s3://b/k", &src, why, sizeof(why)) == 0);
	if (cfg && src) {
		CHECK(!fail(src, 400,
		            "<Error><Code>ExpiredToken</Code></Error>", cause,
		            sizeof(cause)));
		source_free(src);
	}
	s3_config_free(cfg);
}

int main(void)
{
	struct httpstub *s;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_addressing();
	test_odd_keys();
	test_new();
	test_errors();
	if (httpstub_start(&s) == 0) {
		test_signed_request(s);
		test_region_switch(s);
		test_expired_token_refresh(s);
		httpstub_stop(s);
	} else {
		CHECK(!"stand-in server started");
	}
	curl_global_cleanup();
	return check_done();
}
