/*
 * The credentials chain: environment, shared files and profiles, their
 * order, the region's order, and the container and web identity
 * endpoints against the loopback HTTP stand-in (httpstub.c) started here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "check.h"
#include "creds.h"
#include "httpstub.h"
#include "banned.h"

static const char *const aws_vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL",
};

static char tmpdir[256];

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

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
		unsetenv(aws_vars[i]);
	/* An empty home: no ~/.aws of the machine running the tests. */
	setenv("HOME", tmpdir, 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static char *tmp_path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

/* A creds chain from the current environment, or NULL; *rc gets the
 * result. */
static struct creds *chain(int *rc, char *why, size_t n)
{
	struct creds *c = NULL;

	why[0] = '\0';
	*rc = creds_new(NULL, &c, why, n);
	return *rc ? NULL : c;
}

static void test_env(void)
{
	struct creds_value v = {0};
	struct creds *c;
	char why[512];
	int rc;

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0);
	if (!c)
		return;
	CHECK(creds_kind(c) == CREDS_ENV);
	CHECK_STR(creds_origin(c), "environment");
	CHECK_STR(creds_region(c), "us-east-1");
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "AKIAENV");
	CHECK_STR(v.secret_key, "envsecret");
	CHECK_STR(v.token, "envtoken");
	CHECK(v.expires == 0);
	creds_value_clear(&v);
	CHECK(v.access_key == NULL && v.secret_key == NULL);
	CHECK(!creds_invalidate(c));
	creds_free(c);

	unsetenv("AWS_SESSION_TOKEN");
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK(v.token == NULL);
		creds_value_clear(&v);
		creds_free(c);
	}

	/* Half a pair is refused, not completed from elsewhere. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
	CHECK(strstr(why, "AWS_SECRET_ACCESS_KEY") != NULL);
}

static const char credentials_file[] =
        "# comment\n"
        "[default]\n"
        "aws_access_key_id = AKIADEFAULT\n"
        "aws_secret_access_key = defaultsecret\n"
        "\n"
        "[dev]\n"
        "  ; indented comment\n"
        "aws_access_key_id=AKIADEV\n"
        "aws_secret_access_key =  dev/secret+with=equals  \r\n"
        "aws_session_token = devtoken\n"
        "region = ignored-here\n"
        "[dev-other]\n"
        "aws_access_key_id = AKIAOTHER\n"
        "aws_secret_access_key = othersecret\n";

static const char config_file[] = "[default]\n"
                                  "region = eu-central-1\n"
                                  "[profile dev]\n"
                                  "region = eu-west-2\n"
                                  "s3 =\n"
                                  "    addressing_style = path\n"
                                  "    region = nested-ignored\n"
                                  "[profile cfgonly]\n"
                                  "region = ap-south-1\n"
                                  "aws_access_key_id = AKIACFG\n"
                                  "aws_secret_access_key = cfgsecret\n"
                                  "[dev]\n"
                                  "region = wrong-section-style\n"
                                  "[profile regiononly]\n"
                                  "region = sa-east-1\n"
                                  "[profile half]\n"
                                  "aws_access_key_id = AKIAHALF\n";

static void test_files(void)
{
	struct creds_value v = {0};
	struct creds *c;
	char why[512];
	int rc;

	clear_env();
	write_file(tmp_path("credentials"), credentials_file);
	write_file(tmp_path("config"), config_file);
	setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("credentials"), 1);
	setenv("AWS_CONFIG_FILE", tmp_path("config"), 1);

	/* The default profile. */
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK(creds_kind(c) == CREDS_PROFILE);
		CHECK_STR(creds_origin(c), "profile 'default'");
		CHECK_STR(creds_region(c), "eu-central-1");
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK_STR(v.access_key, "AKIADEFAULT");
		CHECK_STR(v.secret_key, "defaultsecret");
		CHECK(v.token == NULL);
		creds_value_clear(&v);
		creds_free(c);
	}

	/* A named profile: "[dev]" in credentials, "[profile dev]" in
	 * config; nested blocks and "[dev]" in config are not it. */
	setenv("AWS_PROFILE", "dev", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK_STR(creds_origin(c), "profile 'dev'");
		CHECK_STR(creds_region(c), "eu-west-2");
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK_STR(v.access_key, "AKIADEV");
		CHECK_STR(v.secret_key, "dev/secret+with=equals");
		CHECK_STR(v.token, "devtoken");
		creds_value_clear(&v);
		creds_free(c);
	}

	/* Keys in the config file alone. */
	setenv("AWS_PROFILE", "cfgonly", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK_STR(creds_region(c), "ap-south-1");
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK_STR(v.access_key, "AKIACFG");
		creds_value_clear(&v);
		creds_free(c);
	}

	/* A profile with a region and no keys: the chain goes on. */
	setenv("AWS_PROFILE", "regiononly", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK(creds_kind(c) == CREDS_NONE);
		CHECK_STR(creds_region(c), "sa-east-1");
		CHECK(creds_get(c, &v, why, sizeof(why)) == -ENOKEY);
		CHECK(strstr(why, "no AWS credentials") != NULL);
		creds_free(c);
	}

	/* Half a pair in a profile. */
	setenv("AWS_PROFILE", "half", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
	CHECK(strstr(why, "'half'") != NULL);

	/* A named profile found nowhere. */
	setenv("AWS_PROFILE", "nosuch", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -ENOENT && c == NULL);
	CHECK(strstr(why, "'nosuch'") != NULL);

	/* The environment comes before the files. */
	setenv("AWS_PROFILE", "dev", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK(creds_kind(c) == CREDS_ENV);
		/* ... but the profile still gives the region. */
		CHECK_STR(creds_region(c), "eu-west-2");
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK_STR(v.access_key, "AKIAENV");
		creds_value_clear(&v);
		creds_free(c);
	}
}

static void test_default_paths(void)
{
	struct creds_value v = {0};
	struct creds *c;
	char why[512];
	int rc;

	clear_env();
	mkdir(tmp_path(".aws"), 0700);
	write_file(tmp_path(".aws/credentials"),
	           "[default]\naws_access_key_id = AKIAHOME\n"
	           "aws_secret_access_key = homesecret\n");
	write_file(tmp_path(".aws/config"), "[default]\nregion = us-west-2\n");
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (c) {
		CHECK(creds_kind(c) == CREDS_PROFILE);
		CHECK_STR(creds_region(c), "us-west-2");
		CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
		CHECK_STR(v.access_key, "AKIAHOME");
		creds_value_clear(&v);
		creds_free(c);
	}
	unlink(tmp_path(".aws/credentials"));
	unlink(tmp_path(".aws/config"));
	rmdir(tmp_path(".aws"));

	/* Files named but missing are no error. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing-creds"), 1);
	setenv("AWS_CONFIG_FILE", tmp_path("missing-config"), 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c && creds_kind(c) == CREDS_NONE);
	creds_free(c);
}

static void test_region_order(void)
{
	struct creds *c;
	char why[512];
	int rc;

	clear_env();
	write_file(tmp_path("config"), config_file);
	setenv("AWS_CONFIG_FILE", tmp_path("config"), 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("none"), 1);
	setenv("AWS_PROFILE", "dev", 1);
	setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
	setenv("AWS_REGION", "eu-north-1", 1);

	c = chain(&rc, why, sizeof(why));
	CHECK(c && !strcmp(creds_region(c), "eu-north-1"));
	creds_free(c);
	unsetenv("AWS_REGION");
	c = chain(&rc, why, sizeof(why));
	CHECK(c && !strcmp(creds_region(c), "ca-central-1"));
	creds_free(c);
	unsetenv("AWS_DEFAULT_REGION");
	c = chain(&rc, why, sizeof(why));
	CHECK(c && !strcmp(creds_region(c), "eu-west-2"));
	creds_free(c);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_CONFIG_FILE");
	c = chain(&rc, why, sizeof(why));
	CHECK(c && !strcmp(creds_region(c), "us-east-1"));
	creds_free(c);

	/* A region goes into host names: nothing else gets through. */
	setenv("AWS_REGION", "evil.example.com/x", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
	setenv("AWS_REGION", "US-EAST-1", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
}

static void iso_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void container_json(char *buf, size_t n, const char *ak, time_t expires)
{
	char when[32];

	iso_time(expires, when, sizeof(when));
	snprintf(buf, n,
	         "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"contsecret\","
	         "\"Token\":\"conttoken\",\"Expiration\":\"%s\","
	         "\"RoleArn\":\"arn:aws:iam::123:role/x\"}",
	         ak, when);
}

static void test_container(struct httpstub *s)
{
	struct creds_value v = {0};
	struct creds *c;
	char url[128], why[512], json[1024];
	time_t now = time(NULL);
	int rc;

	clear_env();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/creds",
	         httpstub_port(s));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "envauth", 1);
	container_json(json, sizeof(json), "ASIAONE", now + 3600);
	answer(s, "/v2/creds", 200, json);

	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (!c)
		return;
	CHECK(creds_kind(c) == CREDS_CONTAINER);
	CHECK_STR(creds_origin(c), "container endpoint");
	/* Nothing is fetched before it is needed. */
	CHECK(hits(s) == 0);
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIAONE");
	CHECK_STR(v.secret_key, "contsecret");
	CHECK_STR(v.token, "conttoken");
	CHECK(v.expires > now + 3500 && v.expires <= now + 3601);
	CHECK(httpstub_saw(s, "GET /v2/creds HTTP/1.1"));
	CHECK(httpstub_saw(s, "\r\nAuthorization: envauth\r\n"));
	creds_value_clear(&v);

	/* Far from expiry: served from memory. */
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK(hits(s) == 1);
	creds_value_clear(&v);

	/* Forgotten (S3 said the token expired): fetched anew. */
	container_json(json, sizeof(json), "ASIATWO", now + 3600);
	answer(s, "/v2/creds", 200, json);
	CHECK(creds_invalidate(c));
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIATWO");
	CHECK(hits(s) == 1);
	creds_value_clear(&v);
	creds_free(c);

	/* Within the refresh window: every use refreshes. */
	container_json(json, sizeof(json), "ASIASOON",
	               now + DEF_CREDS_REFRESH - 60);
	answer(s, "/v2/creds", 200, json);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	creds_value_clear(&v);
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIASOON");
	creds_value_clear(&v);
	CHECK(hits(s) == 2);

	/* A failed refresh keeps credentials that have not expired. */
	answer(s, "/v2/creds", 500, "oops");
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIASOON");
	CHECK(hits(s) == 1);
	creds_value_clear(&v);
	creds_free(c);

	/* An endpoint that hands out expired credentials. */
	container_json(json, sizeof(json), "ASIAOLD", now - 60);
	answer(s, "/v2/creds", 200, json);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EKEYEXPIRED);
	CHECK(strstr(why, "expired at ") != NULL);
	CHECK(strstr(why, "contsecret") == NULL);

	/* Errors: HTTP status, not JSON, no keys. */
	answer(s, "/v2/creds", 403, "{\"message\":\"denied\"}");
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "container credentials endpoint: HTTP 403") != NULL);
	answer(s, "/v2/creds", 200, "<html>not json</html>");
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "not a JSON object") != NULL);
	answer(s, "/v2/creds", 200, "{\"AccessKeyId\":\"A\"}");
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "SecretAccessKey") != NULL);
	answer(s, "/v2/creds", 200,
	       "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
	       "\"Expiration\":\"tomorrow\"}");
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	creds_free(c);

	/* The token file wins over the variable, and is read each time. */
	write_file(tmp_path("authtoken"), "fileauth\n");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("authtoken"),
	       1);
	container_json(json, sizeof(json), "ASIAFILE", now + 3600);
	answer(s, "/v2/creds", 200, json);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK(httpstub_saw(s, "\r\nAuthorization: fileauth\r\n"));
	CHECK(!httpstub_saw(s, "envauth"));
	creds_value_clear(&v);
	write_file(tmp_path("authtoken"), "rotated");
	CHECK(creds_invalidate(c));
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK(httpstub_saw(s, "\r\nAuthorization: rotated\r\n"));
	creds_value_clear(&v);
	creds_free(c);
}

static void test_container_uris(void)
{
	static const char *const refused[] = {
	        "http://10.0.0.1/creds",   "http://example.com/creds",
	        "http://169.254.169.254/", "ftp://127.0.0.1/",
	        "http://user@127.0.0.1/",  "127.0.0.1/creds",
	};
	static const char *const allowed[] = {
	        "http://127.0.0.1:1/c",    "http://127.1.2.3/c",
	        "http://localhost:1/c",    "http://[::1]:1/c",
	        "https://example.com/c",   "http://169.254.170.2/c",
	        "http://169.254.170.23/c", "http://[fd00:ec2::23]/c",
	};
	struct creds *c;
	char why[512];
	size_t i;
	int rc;

	clear_env();
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
		c = chain(&rc, why, sizeof(why));
		CHECK(rc == -EINVAL && c == NULL);
		CHECK(strstr(why, "FULL_URI") != NULL);
	}
	/* Only chosen here: nothing is fetched. */
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i], 1);
		c = chain(&rc, why, sizeof(why));
		CHECK(rc == 0 && c && creds_kind(c) == CREDS_CONTAINER);
		creds_free(c);
	}
	/* The relative form, as ECS sets it, wins over the full one. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.1/", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x",
	       1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c && creds_kind(c) == CREDS_CONTAINER);
	creds_free(c);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "no-slash", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	/* The container endpoint comes before web identity. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/", 1);
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tmp_path("webtoken"), 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c && creds_kind(c) == CREDS_CONTAINER);
	creds_free(c);
	/* A token file without a role is not web identity. */
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_ROLE_ARN");
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c && creds_kind(c) == CREDS_NONE);
	creds_free(c);
}

static void sts_xml(char *buf, size_t n, const char *ak, time_t expires)
{
	char when[32];

	iso_time(expires, when, sizeof(when));
	snprintf(buf, n,
	         "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts."
	         "amazonaws.com/doc/2011-06-15/\">"
	         "<AssumeRoleWithWebIdentityResult><Credentials>"
	         "<SessionToken>sts/token+&amp;=</SessionToken>"
	         "<SecretAccessKey>stssecret</SecretAccessKey>"
	         "<Expiration>%s</Expiration>"
	         "<AccessKeyId>%s</AccessKeyId>"
	         "</Credentials></AssumeRoleWithWebIdentityResult>"
	         "</AssumeRoleWithWebIdentityResponse>",
	         when, ak);
}

static void test_web_identity(struct httpstub *s)
{
	struct creds_value v = {0};
	struct creds *c;
	char url[128], why[512], xml[2048];
	time_t now = time(NULL);
	int rc;

	clear_env();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", httpstub_port(s));
	write_file(tmp_path("webtoken"), "eyJ.web+token/x=\n");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tmp_path("webtoken"), 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/my role", 1);
	setenv("AWS_ROLE_SESSION_NAME", "sess1", 1);
	setenv("AWS_ENDPOINT_URL_STS", url, 1);
	sts_xml(xml, sizeof(xml), "ASIAWEB", now + 3600);
	answer(s, "/", 200, xml);

	c = chain(&rc, why, sizeof(why));
	CHECK(rc == 0 && c);
	if (!c)
		return;
	CHECK(creds_kind(c) == CREDS_WEB_IDENTITY);
	CHECK_STR(creds_origin(c), "web identity");
	CHECK(hits(s) == 0);
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIAWEB");
	CHECK_STR(v.secret_key, "stssecret");
	CHECK_STR(v.token, "sts/token+&=");
	CHECK(v.expires > now + 3500);
	creds_value_clear(&v);
	CHECK(httpstub_saw(s, "POST / HTTP/1.1"));
	CHECK(httpstub_saw(s, "Action=AssumeRoleWithWebIdentity"));
	CHECK(httpstub_saw(s, "Version=2011-06-15"));
	CHECK(httpstub_saw(s, "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole"
	                      "%2Fmy%20role"));
	CHECK(httpstub_saw(s, "RoleSessionName=sess1"));
	CHECK(httpstub_saw(s, "WebIdentityToken=eyJ.web%2Btoken%2Fx%3D"));
	/* The token travels in the body, never in the URL. */
	CHECK(!httpstub_saw(s, "POST /?"));

	/* Cached until near expiry. */
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK(hits(s) == 1);
	creds_value_clear(&v);
	creds_free(c);

	/* STS refuses: the cause carries its code and message. */
	answer(s, "/", 400,
	       "<ErrorResponse><Error><Type>Sender</Type>"
	       "<Code>InvalidIdentityToken</Code>"
	       "<Message>Couldn't retrieve verification key</Message>"
	       "</Error></ErrorResponse>");
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "HTTP 400 InvalidIdentityToken: Couldn't") != NULL);
	CHECK(strstr(why, "eyJ") == NULL);
	creds_free(c);

	/* AWS_ENDPOINT_URL stands in for the STS one. */
	unsetenv("AWS_ENDPOINT_URL_STS");
	setenv("AWS_ENDPOINT_URL", url, 1);
	sts_xml(xml, sizeof(xml), "ASIAGEN", now + 3600);
	answer(s, "/", 200, xml);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	CHECK_STR(v.access_key, "ASIAGEN");
	creds_value_clear(&v);
	creds_free(c);

	/* A relative token file is read from where the chain was made,
	 * even after the daemon moved to "/". */
	CHECK(chdir(tmpdir) == 0);
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "webtoken", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(chdir("/") == 0);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == 0);
	creds_value_clear(&v);
	creds_free(c);

	/* A missing token file. */
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tmp_path("no-such-token"), 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "token file") != NULL);
	creds_free(c);

	/* A bad STS endpoint is refused up front. */
	setenv("AWS_ENDPOINT_URL", "ftp://127.0.0.1/", 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(rc == -EINVAL && c == NULL);
}

static void test_connection_refused(void)
{
	struct creds_value v = {0};
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	struct creds *c;
	char url[128], why[512];
	int fd, rc;

	/* A port that was free a moment ago and has no listener. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	close(fd);

	clear_env();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/c", ntohs(a.sin_port));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	c = chain(&rc, why, sizeof(why));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(creds_get(c, &v, why, sizeof(why)) == -EIO);
	CHECK(strstr(why, "container credentials endpoint: ") == why);
	/* The endpoint's path is not in the cause. */
	CHECK(strstr(why, "/c") == NULL);
	creds_free(c);
}

int main(void)
{
	struct httpstub *s;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-creds-%ld-%ld",
	         (long)getpid(), (long)time(NULL));
	if (mkdir(tmpdir, 0700) != 0) {
		perror(tmpdir);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	test_env();
	test_files();
	test_default_paths();
	test_region_order();
	test_container_uris();
	test_connection_refused();
	if (httpstub_start(&s) == 0) {
		test_container(s);
		test_web_identity(s);
		httpstub_stop(s);
	} else {
		CHECK(!"stand-in server started");
	}

	unlink(tmp_path("credentials"));
	unlink(tmp_path("config"));
	unlink(tmp_path("authtoken"));
	unlink(tmp_path("webtoken"));
	rmdir(tmpdir);
	curl_global_cleanup();
	return check_done();
}
