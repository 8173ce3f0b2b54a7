/*
 * Artifact URLs: the strict split used by the manifest checks and the
 * sources, and the redacted form that is the only one allowed in a log.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caps.h"
#include "url.h"
#include "banned.h"

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A host name or an IPv4 address, percent-escapes allowed as RFC 3986
 * reg-name does; IPv6 literals are handled by the caller. */
static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	       c == '~' || c == '%';
}

static bool is_ipv6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* S3's bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a
 * letter or digit, no "..". */
static bool bucket_ok(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63)
		return false;
	if (!is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (!is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return false;
		if (b[i] == '.' && i + 1 < n && b[i + 1] == '.')
			return false;
	}
	return true;
}

/* Checks host[:port] (userinfo already removed). */
static int authority_check(const char *h, size_t n, const char **why)
{
	size_t i = 0;
	unsigned long port = 0;

	if (n == 0) {
		*why = "no host";
		return -EINVAL;
	}
	if (h[0] == '[') {
		for (i = 1; i < n && h[i] != ']'; i++) {
			if (!is_ipv6_char(h[i])) {
				*why = "bad character in the host";
				return -EINVAL;
			}
		}
		if (i >= n || i == 1) {
			*why = "bad IPv6 address";
			return -EINVAL;
		}
		i++;
	} else {
		for (; i < n && h[i] != ':'; i++) {
			if (!is_host_char(h[i])) {
				*why = "bad character in the host";
				return -EINVAL;
			}
		}
		if (i == 0) {
			*why = "no host";
			return -EINVAL;
		}
	}
	if (i == n)
		return 0;
	if (h[i] != ':' || i + 1 == n || n - i - 1 > 5) {
		*why = "bad port";
		return -EINVAL;
	}
	for (i++; i < n; i++) {
		if (h[i] < '0' || h[i] > '9') {
			*why = "bad port";
			return -EINVAL;
		}
		port = port * 10 + (unsigned long)(h[i] - '0');
	}
	if (port == 0 || port > 65535) {
		*why = "bad port";
		return -EINVAL;
	}
	return 0;
}

static int scheme_of(const char *url, enum url_scheme *scheme, size_t *skip,
                     const char **why)
{
	static const struct {
		const char *prefix;
		enum url_scheme scheme;
	} known[] = {
	        {"http://", URL_HTTP},
	        {"https://", URL_HTTPS},
	        {"s3://", URL_S3},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = strlen(known[i].prefix);

		if (strncasecmp(url, known[i].prefix, n) == 0) {
			*scheme = known[i].scheme;
			*skip = n;
			return 0;
		}
	}
	*why = strstr(url, "://") ? "scheme not supported" : "not a URL";
	return -EINVAL;
}

static int text_check(const char *url, const char **why)
{
	size_t i;

	for (i = 0; url[i]; i++) {
		if (i >= CAP_URL_BYTES) {
			*why = "too long";
			return -EINVAL;
		}
		if (url[i] == ' ') {
			*why = "contains a space";
			return -EINVAL;
		}
		if (is_ctl((unsigned char)url[i])) {
			*why = "contains a control character";
			return -EINVAL;
		}
	}
	if (i == 0) {
		*why = "empty";
		return -EINVAL;
	}
	return 0;
}

static int split_s3(const char *rest, struct url_parts *p, const char **why)
{
	const char *slash = strchr(rest, '/');
	const char *q;
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);

	if (strchr(rest, '#')) {
		*why = "a fragment ('#') is not supported in an s3 URL";
		return -EINVAL;
	}
	q = strchr(rest, '?');
	if (q && q < rest + blen)
		blen = (size_t)(q - rest);
	if (blen == 0) {
		*why = "no bucket";
		return -EINVAL;
	}
	if (!bucket_ok(rest, blen)) {
		*why = "bad bucket name";
		return -EINVAL;
	}
	if (!slash || (q && q < slash) || slash[1] == '\0' || slash[1] == '?') {
		*why = "no key";
		return -EINVAL;
	}
	p->host = strndup(rest, blen);
	p->path = q ? strndup(slash + 1, (size_t)(q - slash - 1))
	            : strdup(slash + 1);
	p->query = q ? strdup(q + 1) : NULL;
	if (!p->host || !p->path || (q && !p->query))
		return -ENOMEM;
	return 0;
}

static int split_http(const char *rest, struct url_parts *p, const char **why)
{
	size_t alen = strcspn(rest, "/?#");
	const char *at = NULL;
	const char *host = rest;
	const char *tail = rest + alen;
	size_t plen;
	size_t i;
	int rc;

	/* Parsers disagree on "a@b@host" and on a backslash before the
	 * host, so neither is let through to one that reads it otherwise. */
	for (i = 0; i < alen; i++) {
		if (rest[i] == '\\') {
			*why = "backslash in the host";
			return -EINVAL;
		}
		if (rest[i] == '@' && at) {
			*why = "more than one '@' (write %40 in the user info)";
			return -EINVAL;
		}
		if (rest[i] == '@')
			at = rest + i;
	}
	if (at) {
		host = at + 1;
		alen -= (size_t)(host - rest);
	}
	rc = authority_check(host, alen, why);
	if (rc < 0)
		return rc;

	plen = strcspn(tail, "?#");
	p->host = strndup(host, alen);
	p->path = strndup(tail, plen);
	p->query = NULL;
	if (tail[plen] == '?')
		p->query =
		        strndup(tail + plen + 1, strcspn(tail + plen + 1, "#"));
	if (!p->host || !p->path || (tail[plen] == '?' && !p->query))
		return -ENOMEM;
	return 0;
}

int url_parse(const char *url, struct url_parts *out, const char **why)
{
	struct url_parts p = {0};
	const char *reason = NULL;
	size_t skip = 0;
	int rc;

	rc = text_check(url, &reason);
	if (rc < 0)
		goto out;
	rc = scheme_of(url, &p.scheme, &skip, &reason);
	if (rc < 0)
		goto out;
	if (p.scheme == URL_S3)
		rc = split_s3(url + skip, &p, &reason);
	else
		rc = split_http(url + skip, &p, &reason);
	if (rc < 0)
		goto out;
	*out = p;
	memset(&p, 0, sizeof(p));
out:
	if (rc == -ENOMEM)
		reason = "out of memory";
	if (rc < 0 && why)
		*why = reason;
	url_parts_clear(&p);
	return rc;
}

void url_parts_clear(struct url_parts *p)
{
	if (!p)
		return;
	free(p->host);
	free(p->path);
	free(p->query);
	p->host = NULL;
	p->path = NULL;
	p->query = NULL;
}

/* Where the authority starts: after "scheme://" when the text begins with
 * one, else at the start (a bare "user:pw@host/path" is redacted too). */
static const char *authority_start(const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
	                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	if (n > 0 && strncmp(url + n, "://", 3) == 0)
		return url + n + 3;
	return url;
}

char *url_redact(const char *url, char *buf, size_t n)
{
	const char *auth = authority_start(url);
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	size_t i;
	size_t o = 0;

	if (n == 0)
		return buf;
	for (i = 0; i < alen; i++) {
		if (auth[i] == '@')
			at = auth + i;
	}
	for (i = 0; url[i] && o + 1 < n; i++) {
		const char *c = url + i;

		if (at && c >= auth && c <= at)
			continue;
		if (*c == '?' || *c == '#')
			break;
		buf[o++] = is_ctl((unsigned char)*c) ? '_' : *c;
	}
	buf[o] = '\0';
	return buf;
}
