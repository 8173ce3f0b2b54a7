/*
 * libFuzzer entry point over what S3 and STS answer: the XML text finder
 * on any body, and the S3 source reading a failed response into a cause.
 * Beyond not crashing, a cause must be one bounded line without control
 * characters, and a region switch must name a region that fits a host
 * name.
 *
 * The first byte picks the HTTP status the body comes with (301, 400,
 * 403, 404, 500); the rest is the body.  The same bytes, after "s3://",
 * are also an artifact URL: when the source accepts it, its logged form
 * holds no control character and its request URL builds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "xml.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
	if (!cond)
		abort();
}

static struct s3_config *cfg;

static void setup(void)
{
	struct s3_options o = {.no_sign = true};
	char why[256];

	if (cfg)
		return;
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1", 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	require(s3_config_new(&o, &cfg, why, sizeof(why)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {301, 400, 403, 404, 500};
	static const char *const tags[] = {"Code",        "Message",
	                                   "Region",      "Endpoint",
	                                   "AccessKeyId", "Expiration"};
	struct artifact a = {0};
	struct source *src = NULL;
	const char *body;
	char cause[512], why[256], *url;
	size_t i, blen;
	long status;

	if (size == 0)
		return 0;
	setup();
	status = statuses[data[0] % 5];
	body = (const char *)data + 1;
	blen = size - 1;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char *t = NULL;

		if (xml_text(body, blen, tags[i], 64, &t) == 0) {
			require(strlen(t) <= 64);
			free(t);
		}
	}

	a.name = "fuzz";
	a.url = "s3://bucket/key";
	a.scheme = URL_S3;
	require(source_s3_new(&a, cfg, &src, why, sizeof(why)) == 0);
	src->ops->failed(src, status, blen ? body : NULL, blen, cause,
	                 sizeof(cause));
	require(strlen(cause) < sizeof(cause));
	require(strlen(cause) <= 24 + 100 + 2 + 200);
	for (i = 0; cause[i]; i++)
		require((unsigned char)cause[i] >= 0x20 && cause[i] != 0x7f);
	source_free(src);

	url = malloc(blen + 6);
	require(url != NULL);
	memcpy(url, "s3://", 5);
	memcpy(url + 5, body, blen);
	url[blen + 5] = '\0';
	a.url = url;
	src = NULL;
	if (source_s3_new(&a, cfg, &src, why, sizeof(why)) == 0) {
		for (i = 0; src->log_url[i]; i++)
			require((unsigned char)src->log_url[i] >= 0x20);
		require(strncmp(src->log_url, "s3://", 5) == 0);
		source_free(src);
	}
	free(url);
	return 0;
}
