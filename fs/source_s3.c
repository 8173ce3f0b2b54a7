/*
 * The S3 source: builds each request's URL and SigV4 headers on the
 * requesting thread (fetching credentials when they are due), and reads
 * S3's XML error answers into causes.  A 301 or 400 that names the
 * bucket's real region moves the source to that region once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "creds.h"
#include "s3.h"
#include "sigv4.h"
#include "xml.h"
#include "url.h"
#include "banned.h"

struct s3_config {
	struct creds *creds; /* the region, and the keys unless no_sign */
	bool no_sign;
	bool path_style; /* asked for, or the endpoint host is an address */
	char *ca_file;   /* AWS_CA_BUNDLE or --ca-file, or NULL */

	/* The endpoint; custom false means AWS's regional one. */
	bool custom;
	bool https;
	char *host; /* host[:port] as written, IPv6 in brackets */
	char *base; /* path prefix without a final '/', often "" */
};

struct s3_source {
	struct source base;
	struct s3_config *cfg; /* borrowed */
	char *bucket;
	char *key;                /* decoded */
	struct sigv4_pair *query; /* decoded; NULL when none */
	size_t nquery;
	char *qstr; /* canonical query, as sent and signed; NULL when none */
	pthread_mutex_t lock; /* guards region */
	char region[CAP_AWS_REGION];
};

/* A growing string; on a failed allocation it stays failed. */
struct sbuf {
	char *p;
	size_t len;
	bool failed;
};

static void sb_str(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	char *np;

	if (b->failed)
		return;
	np = realloc(b->p, b->len + n + 1);
	if (!np) {
		b->failed = true;
		return;
	}
	memcpy(np + b->len, s, n + 1);
	b->p = np;
	b->len += n;
}

static char *sb_take(struct sbuf *b)
{
	char *p = b->p;

	if (b->failed || !p) {
		free(p);
		p = NULL;
	}
	memset(b, 0, sizeof(*b));
	return p;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	}
	return false;
}

static bool region_ok(const char *r, size_t len)
{
	size_t i;

	if (len == 0 || len >= CAP_AWS_REGION)
		return false;
	for (i = 0; i < len; i++) {
		if (!((r[i] >= 'a' && r[i] <= 'z') ||
		      (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	}
	return true;
}

/* Whether HOST (without port, brackets removed) is an address or
 * localhost: then the bucket cannot be a subdomain. */
static bool host_is_address(const char *host)
{
	unsigned char a[16];

	return !strcasecmp(host, "localhost") ||
	       inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

/* Whether URL is http(s)://host[:port][/base] and nothing more; on
 * success gives the scheme, the authority (host[:port]) and the bare
 * host, brackets removed. */
static bool endpoint_ok(const char *url, bool *https, const char **auth,
                        size_t *alen, char *bare, size_t n)
{
	const char *h, *hend, *hstart;
	size_t len, hlen;
	bool tls;

	if (!strncasecmp(url, "https://", 8)) {
		tls = true;
		h = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		tls = false;
		h = url + 7;
	} else {
		return false;
	}
	if (has_ctl(url) || strpbrk(url, " ?#@\\"))
		return false;
	len = strcspn(h, "/");
	if (len == 0)
		return false;
	if (h[0] == '[') {
		hstart = h + 1;
		hend = memchr(h, ']', len);
		if (!hend)
			return false;
		hlen = (size_t)(hend - hstart);
		hend++;
	} else {
		hstart = h;
		hend = memchr(h, ':', len);
		if (!hend)
			hend = h + len;
		hlen = (size_t)(hend - h);
	}
	if (hlen == 0 || hlen >= n || (hend != h + len && *hend != ':'))
		return false;
	memcpy(bare, hstart, hlen);
	bare[hlen] = '\0';
	*https = tls;
	*auth = h;
	*alen = len;
	return true;
}

/* Takes the endpoint from URL, named by the variable VAR. */
static int parse_endpoint(struct s3_config *cfg, const char *url,
                          const char *var, char *why, size_t n)
{
	char bare[NI_MAXHOST], shown[CAP_LOG_FIELD + 1];
	const char *auth, *path;
	size_t alen, blen;
	bool https;

	if (!endpoint_ok(url, &https, &auth, &alen, bare, sizeof(bare))) {
		snprintf(why, n,
		         "%s '%.200s' is not an http(s)://host[:port][/path] "
		         "URL",
		         var, url_redact(url, shown, sizeof(shown)));
		return -EINVAL;
	}
	path = auth + alen;
	blen = strlen(path);
	while (blen && path[blen - 1] == '/')
		blen--;
	cfg->host = strndup(auth, alen);
	cfg->base = strndup(path, blen);
	if (!cfg->host || !cfg->base) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	cfg->https = https;
	cfg->custom = true;
	if (host_is_address(bare))
		cfg->path_style = true;
	return 0;
}

int s3_config_new(const struct s3_options *opts, struct s3_config **out,
                  char *why, size_t n)
{
	struct creds_options co = {0};
	struct s3_config *cfg;
	const char *ep, *var, *bundle;
	int rc;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	cfg->no_sign = opts && opts->no_sign;
	cfg->path_style = opts && opts->path_style;

	bundle = getenv("AWS_CA_BUNDLE");
	if (bundle && *bundle) {
		if (access(bundle, R_OK) != 0) {
			rc = -errno;
			snprintf(why, n, "AWS_CA_BUNDLE '%.200s': %s", bundle,
			         strerror(errno));
			goto out;
		}
		cfg->ca_file = realpath(bundle, NULL);
	} else if (opts && opts->ca_file) {
		cfg->ca_file = strdup(opts->ca_file);
	}
	if ((bundle && *bundle) || (opts && opts->ca_file)) {
		if (!cfg->ca_file) {
			snprintf(why, n, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
	}

	var = "AWS_ENDPOINT_URL_S3";
	ep = getenv(var);
	if (!ep || !*ep) {
		var = "AWS_ENDPOINT_URL";
		ep = getenv(var);
	}
	if (ep && *ep) {
		rc = parse_endpoint(cfg, ep, var, why, n);
		if (rc)
			goto out;
	}

	co.ca_file = cfg->ca_file;
	rc = creds_new(&co, &cfg->creds, why, n);
	if (rc)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	s3_config_free(cfg);
	return rc;
}

void s3_config_free(struct s3_config *cfg)
{
	if (!cfg)
		return;
	creds_free(cfg->creds);
	free(cfg->ca_file);
	free(cfg->host);
	free(cfg->base);
	free(cfg);
}

void s3_config_describe(const struct s3_config *cfg, char *buf, size_t n)
{
	const char *region = creds_region(cfg->creds);
	char who[CAP_NAME_BYTES + 32];

	if (cfg->no_sign)
		snprintf(who, sizeof(who), "unsigned requests");
	else if (creds_kind(cfg->creds) == CREDS_NONE)
		snprintf(who, sizeof(who), "no credentials found");
	else
		snprintf(who, sizeof(who), "credentials from %s",
		         creds_origin(cfg->creds));
	if (cfg->custom)
		snprintf(buf, n,
		         "endpoint %s://%.200s%.200s (%s), region %s, %s",
		         cfg->https ? "https" : "http", cfg->host, cfg->base,
		         cfg->path_style ? "path-style" : "virtual-hosted",
		         region, who);
	else
		snprintf(buf, n,
		         "endpoint https://s3.%s.amazonaws.com (%s), "
		         "region %s, %s",
		         region,
		         cfg->path_style ? "path-style" : "virtual-hosted",
		         region, who);
}

/* A bucket that can be a DNS label under TLS: no dots, no capitals. */
static bool bucket_virtual_ok(const char *b)
{
	for (; *b; b++) {
		if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') ||
		      *b == '-'))
			return false;
	}
	return true;
}

int s3_url_build(const struct s3_config *cfg, const char *bucket,
                 const char *key, const char *query, const char *region,
                 struct s3_url *out)
{
	struct sbuf b = {0};
	struct s3_url u = {0};
	char *ekey = NULL, *ebucket = NULL;
	bool path = cfg->path_style || !bucket_virtual_ok(bucket);
	int rc;

	rc = sigv4_uri_encode(key, strlen(key), true, &ekey);
	if (!rc)
		rc = sigv4_uri_encode(bucket, strlen(bucket), false, &ebucket);
	if (rc)
		goto out;

	if (!path) {
		sb_str(&b, bucket);
		sb_str(&b, ".");
	}
	if (cfg->custom) {
		sb_str(&b, cfg->host);
	} else {
		sb_str(&b, "s3.");
		sb_str(&b, region);
		sb_str(&b, ".amazonaws.com");
	}
	u.host = sb_take(&b);

	if (cfg->custom)
		sb_str(&b, cfg->base);
	if (path) {
		sb_str(&b, "/");
		sb_str(&b, ebucket);
	}
	sb_str(&b, "/");
	sb_str(&b, ekey);
	u.uri = sb_take(&b);

	if (!u.host || !u.uri) {
		rc = -ENOMEM;
		goto out;
	}
	sb_str(&b, cfg->custom && !cfg->https ? "http://" : "https://");
	sb_str(&b, u.host);
	sb_str(&b, u.uri);
	if (query && *query) {
		sb_str(&b, "?");
		sb_str(&b, query);
	}
	u.url = sb_take(&b);
	if (!u.url) {
		rc = -ENOMEM;
		goto out;
	}
	*out = u;
	memset(&u, 0, sizeof(u));
out:
	s3_url_clear(&u);
	free(ekey);
	free(ebucket);
	return rc;
}

void s3_url_clear(struct s3_url *u)
{
	free(u->url);
	free(u->host);
	free(u->uri);
	memset(u, 0, sizeof(*u));
}

static int append(struct curl_slist **hdrs, const char *line)
{
	struct curl_slist *nh = curl_slist_append(*hdrs, line);

	if (!nh)
		return -ENOMEM;
	*hdrs = nh;
	return 0;
}

static int s3_prepare(struct source *src, enum fetch_method method,
                      const char *range, CURL *easy, struct curl_slist **hdrs,
                      char *why, size_t n)
{
	struct s3_source *s = (struct s3_source *)src;
	struct s3_config *cfg = s->cfg;
	struct creds_value v = {0};
	struct sigv4_result sig = {0};
	struct sigv4_request req = {0};
	struct sigv4_creds sc;
	struct sigv4_pair rh;
	struct s3_url u = {0};
	char region[CAP_AWS_REGION], rangeval[96], line[128];
	size_t i;
	int rc;

	pthread_mutex_lock(&s->lock);
	memcpy(region, s->region, sizeof(region));
	pthread_mutex_unlock(&s->lock);

	rc = s3_url_build(cfg, s->bucket, s->key, s->qstr, region, &u);
	if (rc)
		goto out;
	if (curl_easy_setopt(easy, CURLOPT_URL, u.url) != CURLE_OK) {
		snprintf(why, n, "URL refused by curl");
		rc = -EINVAL;
		goto out;
	}
	if (cfg->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->ca_file);
	if (range) {
		if (strpbrk(range, "\r\n") ||
		    (size_t)snprintf(rangeval, sizeof(rangeval), "bytes=%s",
		                     range) >= sizeof(rangeval)) {
			snprintf(why, n, "bad range");
			rc = -EINVAL;
			goto out;
		}
	}

	if (cfg->no_sign) {
		if (range) {
			snprintf(line, sizeof(line), "Range: %s", rangeval);
			rc = append(hdrs, line);
		}
		goto out;
	}

	rc = creds_get(cfg->creds, &v, why, n);
	if (rc) {
		rc = rc == -ENOMEM ? rc : -EIO;
		goto out;
	}
	rh.name = "Range";
	rh.value = rangeval;
	req.method = method == FETCH_HEAD ? "HEAD" : "GET";
	req.host = u.host;
	req.uri = u.uri;
	req.query = s->query;
	req.nquery = s->nquery;
	req.headers = range ? &rh : NULL;
	req.nheaders = range ? 1 : 0;
	req.payload_hash = SIGV4_EMPTY_SHA256;
	req.region = region;
	req.service = "s3";
	req.when = time(NULL);
	sc.access_key = v.access_key;
	sc.secret_key = v.secret_key;
	sc.token = v.token;
	rc = sigv4_sign(&req, &sc, &sig);
	if (rc) {
		snprintf(why, n, "cannot sign the request: %s",
		         rc == -ENOMEM ? "out of memory"
		                       : "credentials or region unusable");
		goto out;
	}
	for (i = 0; i < sig.count && !rc; i++)
		rc = append(hdrs, sig.lines[i]);
out:
	if (rc == -ENOMEM)
		snprintf(why, n, "out of memory");
	sigv4_result_clear(&sig);
	creds_value_clear(&v);
	s3_url_clear(&u);
	return rc;
}

/* The region in an S3 host name: "bucket.s3.eu-west-1.amazonaws.com",
 * "s3-eu-west-1.amazonaws.com", "bucket.s3.amazonaws.com" (us-east-1). */
static bool region_of_endpoint(const char *ep, char *out, size_t n)
{
	const char *suffix = ".amazonaws.com", *p, *r = NULL, *end;
	size_t len = strlen(ep), slen = strlen(suffix);

	if (len <= slen || strcasecmp(ep + len - slen, suffix))
		return false;
	end = ep + len - slen;
	for (p = ep; p < end; p = strchr(p, '.') ? strchr(p, '.') + 1 : end) {
		if (!strncmp(p, "s3.", 3) && p + 3 <= end) {
			r = p + 3;
			break;
		}
		if (!strncmp(p, "s3-", 3)) {
			r = p + 3;
			break;
		}
	}
	if (!r) {
		/* "bucket.s3.amazonaws.com" */
		if (end - ep >= 2 && !strncmp(end - 2, "s3", 2) &&
		    (end - 2 == ep || end[-3] == '.')) {
			snprintf(out, n, "us-east-1");
			return true;
		}
		return false;
	}
	if (r < end && !strncmp(r, "dualstack.", 10))
		r += 10;
	if (r >= end) {
		snprintf(out, n, "us-east-1");
		return true;
	}
	p = memchr(r, '.', (size_t)(end - r));
	if (!p)
		p = end;
	if (!region_ok(r, (size_t)(p - r)) || (size_t)(p - r) >= n)
		return false;
	memcpy(out, r, (size_t)(p - r));
	out[p - r] = '\0';
	if (!strcmp(out, "external-1"))
		snprintf(out, n, "us-east-1");
	return true;
}

/* Control characters of a message from the network become spaces. */
static void sanitize(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = ' ';
	}
}

static bool token_code(const char *code)
{
	return !strcmp(code, "ExpiredToken") ||
	       !strcmp(code, "TokenRefreshRequired") ||
	       !strcmp(code, "InvalidToken");
}

static bool s3_failed(struct source *src, long status, const char *body,
                      size_t len, char *cause, size_t n)
{
	struct s3_source *s = (struct s3_source *)src;
	char *code = NULL, *msg = NULL, *reg = NULL, *ep = NULL;
	char newreg[CAP_AWS_REGION] = "";
	bool again = false;

	if (body && len) {
		xml_text(body, len, "Code", CAP_LOG_FIELD, &code);
		xml_text(body, len, "Message", CAP_ERROR_BODY_BYTES, &msg);
		xml_text(body, len, "Region", CAP_LOG_FIELD, &reg);
		xml_text(body, len, "Endpoint", CAP_LOG_FIELD, &ep);
	}
	if (code)
		sanitize(code);
	if (msg)
		sanitize(msg);
	snprintf(cause, n, "HTTP %ld%s%.100s%s%.200s", status, code ? " " : "",
	         code ? code : "", msg ? ": " : "", msg ? msg : "");

	if (status == 301 || status == 307 || status == 400) {
		if (reg && region_ok(reg, strlen(reg)))
			snprintf(newreg, sizeof(newreg), "%s", reg);
		else if (ep)
			region_of_endpoint(ep, newreg, sizeof(newreg));
	}
	if (newreg[0]) {
		pthread_mutex_lock(&s->lock);
		if (strcmp(newreg, s->region)) {
			memcpy(s->region, newreg, sizeof(s->region));
			again = true;
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (!again && code && token_code(code) && !s->cfg->no_sign)
		again = creds_invalidate(s->cfg->creds);

	free(code);
	free(msg);
	free(reg);
	free(ep);
	return again;
}

static void s3_free(struct source *src)
{
	struct s3_source *s = (struct s3_source *)src;
	size_t i;

	free(s->bucket);
	free(s->key);
	for (i = 0; i < s->nquery; i++) {
		free((char *)s->query[i].name);
		free((char *)s->query[i].value);
	}
	free(s->query);
	free(s->qstr);
	free(s->base.log_url);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct source_ops s3_ops = {
        .prepare = s3_prepare,
        .failed = s3_failed,
        .free = s3_free,
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes LEN bytes of S into a new string.  Every '%' must start
 * a %XX escape, and %00 is refused. */
static int pct_decode(const char *s, size_t len, char **out)
{
	char *d, *q;
	size_t i;

	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	q = d;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*q++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(d);
			return -EINVAL;
		}
		hi = hexval(s[i + 1]);
		lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(d);
			return -EINVAL;
		}
		*q++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*q = '\0';
	*out = d;
	return 0;
}

/* Splits QUERY ("a=b&c") into decoded pairs and their canonical form. */
static int split_query(struct s3_source *s, const char *query)
{
	size_t n = 1, i = 0;
	const char *p;
	int rc;

	for (p = query; *p; p++)
		n += *p == '&';
	s->query = calloc(n, sizeof(*s->query));
	if (!s->query)
		return -ENOMEM;
	for (p = query; i < n; i++) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		char *name = NULL, *value = NULL;

		if (nlen == 0)
			return -EINVAL;
		rc = pct_decode(p, nlen, &name);
		if (!rc)
			rc = pct_decode(eq ? eq + 1 : "",
			                eq ? len - nlen - 1 : 0, &value);
		if (rc) {
			free(name);
			return rc;
		}
		s->query[i].name = name;
		s->query[i].value = value;
		s->nquery++;
		p += len + (p[len] == '&');
	}
	return sigv4_query_string(s->query, s->nquery, &s->qstr);
}

/*
 * Splits "s3://bucket/key[?query]" as the manifest rules read it: the key
 * is percent-decoded (write a space as %20, '%' as %25, '?' as %3F and
 * '#' as %23), the query is kept as parameters of the request.
 */
static int split(struct s3_source *s, const char *url, const char **reason)
{
	const char *b, *slash, *q;
	size_t i, blen, klen;
	int rc;

	if (strncasecmp(url, "s3://", 5)) {
		*reason = "not an s3:// URL";
		return -EINVAL;
	}
	if (has_ctl(url) || strpbrk(url, " #")) {
		*reason = "a space, '#' or control character in the URL";
		return -EINVAL;
	}
	b = url + 5;
	slash = strchr(b, '/');
	q = strchr(b, '?');
	blen = slash ? (size_t)(slash - b) : strlen(b);
	if (blen == 0 || blen > CAP_S3_BUCKET_BYTES || (q && q < b + blen)) {
		*reason = "no bucket, or a bucket name too long";
		return -EINVAL;
	}
	for (i = 0; i < blen; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_')) {
			*reason = "bad character in the bucket name";
			return -EINVAL;
		}
	}
	klen = !slash ? 0 : q ? (size_t)(q - slash - 1) : strlen(slash + 1);
	if (klen == 0) {
		*reason = "no key";
		return -EINVAL;
	}
	s->bucket = strndup(b, blen);
	s->base.log_url = strndup(url, (size_t)(slash + 1 + klen - url));
	if (!s->bucket || !s->base.log_url) {
		*reason = "out of memory";
		return -ENOMEM;
	}
	rc = pct_decode(slash + 1, klen, &s->key);
	if (rc == -EINVAL)
		*reason = "bad percent-encoding in the key (write '%' as %25)";
	if (rc)
		return rc;
	if (strlen(s->key) > CAP_S3_KEY_BYTES) {
		*reason = "key longer than 1024 bytes";
		return -EINVAL;
	}
	if (q && q[1]) {
		rc = split_query(s, q + 1);
		if (rc == -EINVAL)
			*reason = "bad query in the URL";
		if (rc)
			return rc;
	}
	return 0;
}

int source_s3_new(const struct artifact *a, struct s3_config *cfg,
                  struct source **out, char *why, size_t n)
{
	const char *reason = "out of memory";
	struct s3_source *s;
	int rc;

	if (!cfg) {
		snprintf(why, n, "S3 is not set up");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->base.ops = &s3_ops;
	s->cfg = cfg;
	snprintf(s->region, sizeof(s->region), "%s", creds_region(cfg->creds));
	rc = split(s, a->url, &reason);
	if (rc) {
		snprintf(why, n, "%s", reason);
		s3_free(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}
