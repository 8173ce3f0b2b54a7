/*
 * Picks the source for an artifact's scheme.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "s3.h"
#include "source.h"
#include "banned.h"

int source_new(const struct artifact *a, const struct source_config *cfg,
               struct source **out, char *why, size_t n)
{
	switch (a->scheme) {
	case URL_HTTP:
	case URL_HTTPS:
		return source_http_new(a, out, why, n);
	case URL_S3:
		return source_s3_new(a, cfg->s3, out, why, n);
	}
	snprintf(why, n, "scheme not supported");
	return -ENOTSUP;
}

void source_free(struct source *src)
{
	if (src)
		src->ops->free(src);
}
