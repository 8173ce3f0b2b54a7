/*
 * The SigV4 signer against AWS's worked examples for S3 (GET object with a
 * Range header, GET bucket lifecycle, ListObjects with a query), and
 * against keys and tokens full of characters that need encoding, checked
 * with values computed by an independent implementation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sigv4.h"
#include "banned.h"

/* 2013-05-24T00:00:00Z, the time of AWS's examples. */
#define AWS_EXAMPLE_TIME ((time_t)1369353600)

static const struct sigv4_creds aws_example_creds = {
        .access_key = "AKIAIOSFODNN7EXAMPLE",
        .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        .token = NULL,
};

static struct sigv4_request example_request(void)
{
	struct sigv4_request r = {
	        .method = "GET",
	        .host = "examplebucket.s3.amazonaws.com",
	        .uri = "/",
	        .region = "us-east-1",
	        .service = "s3",
	        .when = AWS_EXAMPLE_TIME,
	};

	return r;
}

static const char *find_line(const struct sigv4_result *r, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->count; i++) {
		if (!strncmp(r->lines[i], name, n) && r->lines[i][n] == ':')
			return r->lines[i] + n + 2;
	}
	return NULL;
}

static void test_get_object_range(void)
{
	struct sigv4_pair range = {"Range", "bytes=0-9"};
	struct sigv4_request req = example_request();
	struct sigv4_result r;

	req.uri = "/test.txt";
	req.headers = &range;
	req.nheaders = 1;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == 0);
	CHECK_STR(r.canonical_request,
	          "GET\n"
	          "/test.txt\n"
	          "\n"
	          "host:examplebucket.s3.amazonaws.com\n"
	          "range:bytes=0-9\n"
	          "x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\n"
	          "x-amz-date:20130524T000000Z\n"
	          "\n"
	          "host;range;x-amz-content-sha256;x-amz-"
	          "date\n" SIGV4_EMPTY_SHA256);
	CHECK_STR(r.string_to_sign,
	          "AWS4-HMAC-SHA256\n"
	          "20130524T000000Z\n"
	          "20130524/us-east-1/s3/aws4_request\n"
	          "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c"
	          "48bbb2dc43964946972");
	CHECK_STR(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48"
	                       "dd91039c6036bdb41");
	CHECK_STR(find_line(&r, "Authorization"),
	          "AWS4-HMAC-SHA256 "
	          "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	          "aws4_request, "
	          "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	          "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd9"
	          "1039c6036bdb41");
	CHECK_STR(find_line(&r, "Range"), "bytes=0-9");
	CHECK_STR(find_line(&r, "Host"), "examplebucket.s3.amazonaws.com");
	CHECK_STR(find_line(&r, "x-amz-date"), "20130524T000000Z");
	CHECK_STR(find_line(&r, "x-amz-content-sha256"), SIGV4_EMPTY_SHA256);
	CHECK(find_line(&r, "x-amz-security-token") == NULL);
	CHECK(r.count == 5);
	sigv4_result_clear(&r);
	CHECK(r.count == 0 && r.canonical_request == NULL);
}

static void test_get_lifecycle(void)
{
	struct sigv4_pair q = {"lifecycle", ""};
	struct sigv4_request req = example_request();
	struct sigv4_result r;

	req.query = &q;
	req.nquery = 1;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == 0);
	CHECK(strstr(r.canonical_request, "GET\n/\nlifecycle=\n") ==
	      r.canonical_request);
	CHECK_STR(r.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91a"
	                       "c7a200a0136783543");
	sigv4_result_clear(&r);
}

static void test_list_objects(void)
{
	/* Given out of order: the signer sorts them. */
	struct sigv4_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	struct sigv4_request req = example_request();
	struct sigv4_result r;
	char *qs = NULL;

	req.query = q;
	req.nquery = 2;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == 0);
	CHECK_STR(r.canonical_request,
	          "GET\n"
	          "/\n"
	          "max-keys=2&prefix=J\n"
	          "host:examplebucket.s3.amazonaws.com\n"
	          "x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\n"
	          "x-amz-date:20130524T000000Z\n"
	          "\n"
	          "host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256);
	CHECK_STR(r.string_to_sign,
	          "AWS4-HMAC-SHA256\n"
	          "20130524T000000Z\n"
	          "20130524/us-east-1/s3/aws4_request\n"
	          "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489"
	          "c74750e0f1e7df1b9b7");
	CHECK_STR(r.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db66"
	                       "70ed5711ef69dc6f7");
	sigv4_result_clear(&r);

	CHECK(sigv4_query_string(q, 2, &qs) == 0);
	CHECK_STR(qs, "max-keys=2&prefix=J");
	free(qs);
}

static void check_encode(const char *in, bool keep_slash, const char *want)
{
	char *out = NULL;

	CHECK(sigv4_uri_encode(in, strlen(in), keep_slash, &out) == 0);
	CHECK_STR(out, want);
	free(out);
}

static void test_uri_encode(void)
{
	check_encode("test.txt", true, "test.txt");
	check_encode("a b", true, "a%20b");
	check_encode("a+b", true, "a%2Bb");
	check_encode("a,b", true, "a%2Cb");
	check_encode("a~b", true, "a~b");
	check_encode("100%", true, "100%25");
	/* Already-encoded text is encoded again: a key is never decoded. */
	check_encode("a%20b", true, "a%2520b");
	check_encode("dir/sub/file", true, "dir/sub/file");
	check_encode("dir/sub/file", false, "dir%2Fsub%2Ffile");
	check_encode("\xc3\xa9t\xc3\xa9", true, "%C3%A9t%C3%A9");
	check_encode("\xe6\x97\xa5\xe6\x9c\xac", true, "%E6%97%A5%E6%9C%AC");
	check_encode("!*'();:@&=+$,?#[]", true,
	             "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D");
	check_encode("-_.~AZaz09", false, "-_.~AZaz09");
	check_encode("", true, "");
}

static void test_query_encoding(void)
{
	struct sigv4_pair q[] = {
	        {"prefix", "a b/c+d"}, {"delimiter", "/"}, {"key", "z"},
	        {"key", "a"},          {"\xc3\xa9", "~"},  {"uploads", ""},
	};
	char *qs = NULL;

	CHECK(sigv4_query_string(q, 6, &qs) == 0);
	CHECK_STR(qs, "%C3%A9=~&delimiter=%2F&key=a&key=z&"
	              "prefix=a%20b%2Fc%2Bd&uploads=");
	free(qs);

	CHECK(sigv4_query_string(NULL, 0, &qs) == 0);
	CHECK_STR(qs, "");
	free(qs);
}

/*
 * An odd key on a loopback endpoint, a session token, a Range header and
 * another region; the expected values come from Python's hashlib and hmac.
 */
static void test_odd_key_with_token(void)
{
	const char *key = "dir one/a b+c,d~e%f&g=h?i#j \xc3\xa9\xe6\x97\xa5"
	                  "\xe6\x9c\xac.txt";
	const char *token = "FQoGZXIvYXdzEXAMPLE//token+with/slashes=";
	struct sigv4_creds c = {"S3RVER", "S3RVER", token};
	struct sigv4_pair range = {"Range", "bytes=100-199"};
	struct sigv4_request req = {
	        .method = "GET",
	        .host = "127.0.0.1:4568",
	        .headers = &range,
	        .nheaders = 1,
	        .region = "eu-west-3",
	        .service = "s3",
	        .when = (time_t)1709251199, /* 2024-02-29T23:59:59Z */
	};
	struct sigv4_result r;
	char *enc = NULL, *uri = NULL;
	size_t n;

	CHECK(sigv4_uri_encode(key, strlen(key), true, &enc) == 0);
	CHECK_STR(enc, "dir%20one/a%20b%2Bc%2Cd~e%25f%26g%3Dh%3Fi%23j%20"
	               "%C3%A9%E6%97%A5%E6%9C%AC.txt");
	n = strlen(enc) + sizeof("/bucket/");
	uri = malloc(n);
	CHECK(uri != NULL);
	if (!uri) {
		free(enc);
		return;
	}
	snprintf(uri, n, "/bucket/%s", enc);
	req.uri = uri;

	CHECK(sigv4_sign(&req, &c, &r) == 0);
	CHECK_STR(r.canonical_request,
	          "GET\n"
	          "/bucket/dir%20one/a%20b%2Bc%2Cd~e%25f%26g%3Dh%3Fi%23j%20"
	          "%C3%A9%E6%97%A5%E6%9C%AC.txt\n"
	          "\n"
	          "host:127.0.0.1:4568\n"
	          "range:bytes=100-199\n"
	          "x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\n"
	          "x-amz-date:20240229T235959Z\n"
	          "x-amz-security-token:FQoGZXIvYXdzEXAMPLE//token+with/"
	          "slashes=\n"
	          "\n"
	          "host;range;x-amz-content-sha256;x-amz-date;"
	          "x-amz-security-token\n" SIGV4_EMPTY_SHA256);
	CHECK_STR(r.signature, "dc8f739bdb6a9580e7ff9e69a5fe836eff24226e8ab56a4"
	                       "43e13d980f5ce0945");
	CHECK_STR(find_line(&r, "x-amz-security-token"), token);
	CHECK(strstr(find_line(&r, "Authorization"),
	             "/20240229/eu-west-3/s3/aws4_request, SignedHeaders=host;"
	             "range;x-amz-content-sha256;x-amz-date;"
	             "x-amz-security-token, Signature=dc8f739b") != NULL);
	/* The secret itself is never part of what is sent. */
	CHECK(strstr(find_line(&r, "Authorization"), "S3RVER/") != NULL);
	CHECK(r.count == 6);
	sigv4_result_clear(&r);
	free(uri);
	free(enc);
}

static void test_header_values(void)
{
	struct sigv4_pair h[] = {{"X-Custom", "  a   b \t c  "},
	                         {"If-Match", "\"etag\""}};
	struct sigv4_request req = example_request();
	struct sigv4_result r;

	req.headers = h;
	req.nheaders = 2;
	req.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == 0);
	CHECK(strstr(r.canonical_request, "\nx-custom:a b c\n") != NULL);
	CHECK(strstr(r.canonical_request, "\nif-match:\"etag\"\n") != NULL);
	CHECK(strstr(r.canonical_request,
	             "\nhost;if-match;x-amz-content-sha256;x-amz-date;"
	             "x-custom\nUNSIGNED-PAYLOAD") != NULL);
	CHECK_STR(find_line(&r, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
	/* Sent as given, signed canonically. */
	CHECK_STR(find_line(&r, "X-Custom"), "  a   b \t c  ");
	sigv4_result_clear(&r);
}

static void test_refusals(void)
{
	struct sigv4_pair crlf = {"Range", "bytes=0-1\r\nX-Evil: 1"};
	struct sigv4_pair dup = {"x-amz-date", "20000101T000000Z"};
	struct sigv4_pair auth = {"Authorization", "x"};
	struct sigv4_pair badname = {"Bad Name", "x"};
	struct sigv4_pair many[CAP_SIGV4_HEADERS + 1];
	struct sigv4_creds badkey = {"AK/IA", "secret", NULL};
	struct sigv4_creds nosecret = {"AKIA", "", NULL};
	struct sigv4_creds badtoken = {"AKIA", "secret", "a\nb"};
	struct sigv4_request req = example_request();
	struct sigv4_result r = {0};
	size_t i;

	req.headers = &crlf;
	req.nheaders = 1;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	req.headers = &dup;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	req.headers = &auth;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	req.headers = &badname;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	for (i = 0; i < CAP_SIGV4_HEADERS + 1; i++) {
		many[i].name = "X-A";
		many[i].value = "v";
	}
	req.headers = many;
	req.nheaders = CAP_SIGV4_HEADERS + 1;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	/* Two headers of one name are refused rather than merged. */
	req.nheaders = 2;
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);

	req = example_request();
	CHECK(sigv4_sign(&req, &badkey, &r) == -EINVAL);
	CHECK(sigv4_sign(&req, &nosecret, &r) == -EINVAL);
	CHECK(sigv4_sign(&req, &badtoken, &r) == -EINVAL);
	req.uri = "relative";
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	req = example_request();
	req.region = "us east";
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	req = example_request();
	req.host = "a\r\nb";
	CHECK(sigv4_sign(&req, &aws_example_creds, &r) == -EINVAL);
	/* Nothing was written on failure. */
	CHECK(r.count == 0 && r.canonical_request == NULL);
}

static void test_time_changes_signature(void)
{
	struct sigv4_request req = example_request();
	struct sigv4_result a, b;

	CHECK(sigv4_sign(&req, &aws_example_creds, &a) == 0);
	req.when += 1;
	CHECK(sigv4_sign(&req, &aws_example_creds, &b) == 0);
	CHECK_STR(a.amz_date, "20130524T000000Z");
	CHECK_STR(b.amz_date, "20130524T000001Z");
	CHECK(strcmp(a.signature, b.signature) != 0);
	sigv4_result_clear(&a);
	sigv4_result_clear(&b);
}

int main(void)
{
	test_get_object_range();
	test_get_lifecycle();
	test_list_objects();
	test_uri_encode();
	test_query_encoding();
	test_odd_key_with_token();
	test_header_values();
	test_refusals();
	test_time_changes_signature();
	return check_done();
}
