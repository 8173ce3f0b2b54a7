/*
 * HTTP and HTTPS origins: the artifact URL is requested exactly as the
 * manifest wrote it, query included, with no headers of our own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "source.h"
#include "banned.h"

struct http_source {
	struct source base;
	char *url;
};

static int http_prepare(struct source *src, enum fetch_method method,
                        const char *range, CURL *easy, struct curl_slist **hdrs,
                        char *why, size_t n)
{
	struct http_source *hs = (struct http_source *)src;

	if (curl_easy_setopt(easy, CURLOPT_URL, hs->url) != CURLE_OK) {
		snprintf(why, n, "URL refused by curl");
		return -EINVAL;
	}
	if (range && curl_easy_setopt(easy, CURLOPT_RANGE, range) != CURLE_OK) {
		snprintf(why, n, "range refused by curl");
		return -EINVAL;
	}
	return 0;
}

static bool http_failed(struct source *src, long status, const char *body,
                        size_t len, char *cause, size_t n)
{
	snprintf(cause, n, "HTTP %ld", status);
	return false;
}

static void http_free(struct source *src)
{
	struct http_source *hs = (struct http_source *)src;

	free(hs->url);
	free(hs->base.log_url);
	free(hs);
}

static const struct source_ops http_ops = {
        .prepare = http_prepare,
        .failed = http_failed,
        .free = http_free,
};

int source_http_new(const struct artifact *a, struct source **out, char *why,
                    size_t n)
{
	char shown[CAP_URL_BYTES];
	struct http_source *hs;

	hs = calloc(1, sizeof(*hs));
	if (!hs)
		goto nomem;
	hs->base.ops = &http_ops;
	hs->url = strdup(a->url);
	hs->base.log_url = strdup(url_redact(a->url, shown, sizeof(shown)));
	if (!hs->url || !hs->base.log_url)
		goto nomem;
	*out = &hs->base;
	return 0;

nomem:
	if (hs)
		http_free(&hs->base);
	snprintf(why, n, "out of memory");
	return -ENOMEM;
}
