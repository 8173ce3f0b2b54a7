/*
 * AWS Signature Version 4 for S3, on OpenSSL's SHA-256 and HMAC.  The
 * steps follow AWS's description: canonical request, string to sign,
 * signing key derived from the secret and the scope, signature.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sigv4.h"
#include "banned.h"

/* A growing string; on a failed allocation it stays failed. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

/* A canonical header: lowercase name, trimmed value, and what to send. */
struct hdr {
	char *lname;
	char *cvalue;
	const char *name;
	const char *value;
};

/* A query parameter, encoded. */
struct qparam {
	char *name;
	char *value;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t want;
	char *np;

	if (b->failed)
		return;
	want = b->len + n + 1;
	if (want > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;

		while (ncap < want)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Hands the string over, or NULL after a failed allocation. */
static char *sb_take(struct sbuf *b)
{
	char *p = b->p;

	if (b->failed || !p) {
		free(p);
		p = NULL;
	}
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = false;
	return p;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

int sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p;
	size_t i, j = 0;

	p = malloc(len * 3 + 1);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			p[j++] = (char)c;
		} else {
			p[j++] = '%';
			p[j++] = hex[c >> 4];
			p[j++] = hex[c & 15];
		}
	}
	p[j] = '\0';
	*out = p;
	return 0;
}

static void hex_of(const unsigned char *d, size_t n, char *outhex)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		outhex[2 * i] = hex[d[i] >> 4];
		outhex[2 * i + 1] = hex[d[i] & 15];
	}
	outhex[2 * n] = '\0';
}

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return strcmp(x->value, y->value);
}

int sigv4_query_string(const struct sigv4_pair *q, size_t n, char **out)
{
	struct qparam *ps = NULL;
	struct sbuf b = {0};
	size_t i, made = 0;
	char *s;
	int rc = -ENOMEM;

	if (n) {
		ps = calloc(n, sizeof(*ps));
		if (!ps)
			goto out;
	}
	for (i = 0; i < n; i++) {
		const char *v = q[i].value ? q[i].value : "";

		rc = sigv4_uri_encode(q[i].name, strlen(q[i].name), false,
		                      &ps[i].name);
		if (rc)
			goto out;
		made++;
		rc = sigv4_uri_encode(v, strlen(v), false, &ps[i].value);
		if (rc)
			goto out;
	}
	if (n)
		qsort(ps, n, sizeof(*ps), cmp_qparam);

	sb_str(&b, "");
	for (i = 0; i < n; i++) {
		if (i)
			sb_str(&b, "&");
		sb_str(&b, ps[i].name);
		sb_str(&b, "=");
		sb_str(&b, ps[i].value);
	}
	s = sb_take(&b);
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	*out = s;
	rc = 0;
out:
	for (i = 0; i < made; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
	return rc;
}

/* A header name is a token; no separators, controls or spaces. */
static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
			return false;
	}
	return true;
}

static bool valid_value(const char *s)
{
	return !strpbrk(s, "\r\n");
}

/* A scope part (access key, region, service) must not break the
 * Credential field apart. */
static bool valid_scope_part(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == ';')
			return false;
	}
	return true;
}

/* The value trimmed, with runs of spaces inside made one space. */
static char *canonical_value(const char *v)
{
	size_t n = strlen(v), i, j = 0;
	bool space = false;
	char *p;

	p = malloc(n + 1);
	if (!p)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	for (i = 0; v[i]; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			space = true;
			continue;
		}
		if (space && j)
			p[j++] = ' ';
		space = false;
		p[j++] = v[i];
	}
	p[j] = '\0';
	return p;
}

static char *lower_dup(const char *s)
{
	char *p = strdup(s);
	char *q;

	if (!p)
		return NULL;
	for (q = p; *q; q++) {
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	}
	return p;
}

static int cmp_hdr(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;

	return strcmp(x->lname, y->lname);
}

static bool reserved_header(const char *name)
{
	static const char *const names[] = {
	        "host",
	        "x-amz-date",
	        "x-amz-content-sha256",
	        "x-amz-security-token",
	        "authorization",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i]))
			return true;
	}
	return false;
}

static int check_request(const struct sigv4_request *req,
                         const struct sigv4_creds *c)
{
	size_t i;

	if (!req->method || !valid_name(req->method) || !req->host ||
	    !*req->host || !valid_value(req->host) || !req->uri ||
	    req->uri[0] != '/' || !valid_value(req->uri))
		return -EINVAL;
	if (!valid_scope_part(req->region) || !valid_scope_part(req->service))
		return -EINVAL;
	if (!c || !valid_scope_part(c->access_key) || !c->secret_key ||
	    !*c->secret_key)
		return -EINVAL;
	if (c->token && (!*c->token || !valid_value(c->token)))
		return -EINVAL;
	if (req->payload_hash &&
	    (!*req->payload_hash || !valid_value(req->payload_hash)))
		return -EINVAL;
	if (req->nheaders > CAP_SIGV4_HEADERS)
		return -EINVAL;
	for (i = 0; i < req->nheaders; i++) {
		const struct sigv4_pair *h = &req->headers[i];

		if (!h->name || !valid_name(h->name) || !h->value ||
		    !valid_value(h->value) || reserved_header(h->name))
			return -EINVAL;
	}
	for (i = 0; i < req->nquery; i++) {
		if (!req->query[i].name)
			return -EINVAL;
	}
	return 0;
}

static int add_hdr(struct hdr *hs, size_t *n, const char *name,
                   const char *value)
{
	struct hdr *h = &hs[*n];

	h->lname = lower_dup(name);
	h->cvalue = canonical_value(value);
	h->name = name;
	h->value = value;
	(*n)++;
	if (!h->lname || !h->cvalue)
		return -ENOMEM;
	return 0;
}

static int line_of(struct sigv4_result *r, const char *name, const char *value)
{
	struct sbuf b = {0};
	char *s;

	sb_str(&b, name);
	sb_str(&b, ": ");
	sb_str(&b, value);
	s = sb_take(&b);
	if (!s)
		return -ENOMEM;
	r->lines[r->count++] = s;
	return 0;
}

/* HMAC-SHA256 of DATA under KEY into MD (32 bytes). */
static int hmac256(const void *key, size_t klen, const char *data,
                   unsigned char *md)
{
	unsigned int mdlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data,
	          strlen(data), md, &mdlen) ||
	    mdlen != SHA256_DIGEST_LENGTH)
		return -EIO;
	return 0;
}

/* The signature of STS under the key derived for DATE, REGION, SERVICE. */
static int compute_signature(const char *secret, const char *date,
                             const char *region, const char *service,
                             const char *sts, char *outhex)
{
	unsigned char k1[SHA256_DIGEST_LENGTH], k2[SHA256_DIGEST_LENGTH];
	unsigned char sig[SHA256_DIGEST_LENGTH];
	size_t slen = strlen(secret);
	char *ksecret;
	int rc;

	ksecret = malloc(slen + 5);
	if (!ksecret)
		return -ENOMEM;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, slen + 1);

	rc = hmac256(ksecret, slen + 4, date, k1);
	if (rc)
		goto out;
	rc = hmac256(k1, sizeof(k1), region, k2);
	if (rc)
		goto out;
	rc = hmac256(k2, sizeof(k2), service, k1);
	if (rc)
		goto out;
	rc = hmac256(k1, sizeof(k1), "aws4_request", k2);
	if (rc)
		goto out;
	rc = hmac256(k2, sizeof(k2), sts, sig);
	if (rc)
		goto out;
	hex_of(sig, sizeof(sig), outhex);
out:
	OPENSSL_cleanse(ksecret, slen + 5);
	free(ksecret);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(sig, sizeof(sig));
	return rc;
}

static int format_dates(time_t when, char *amz, char *day)
{
	struct tm tm;

	if (!gmtime_r(&when, &tm))
		return -EINVAL;
	if (strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -EINVAL;
	if (strftime(day, 9, "%Y%m%d", &tm) != 8)
		return -EINVAL;
	return 0;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *c,
               struct sigv4_result *out)
{
	struct hdr hs[CAP_SIGV4_HEADERS + 4];
	struct sigv4_result r = {0};
	struct sbuf b = {0};
	unsigned char md[SHA256_DIGEST_LENGTH];
	char mdhex[2 * SHA256_DIGEST_LENGTH + 1];
	char day[9];
	const char *payload;
	char *query = NULL, *signed_names = NULL;
	size_t nh = 0, i;
	int rc;

	memset(hs, 0, sizeof(hs));
	rc = check_request(req, c);
	if (rc)
		goto out;
	rc = format_dates(req->when, r.amz_date, day);
	if (rc)
		goto out;
	payload = req->payload_hash ? req->payload_hash : SIGV4_EMPTY_SHA256;

	for (i = 0; i < req->nheaders && !rc; i++)
		rc = add_hdr(hs, &nh, req->headers[i].name,
		             req->headers[i].value);
	if (!rc)
		rc = add_hdr(hs, &nh, "Host", req->host);
	if (!rc)
		rc = add_hdr(hs, &nh, "x-amz-content-sha256", payload);
	if (!rc)
		rc = add_hdr(hs, &nh, "x-amz-date", r.amz_date);
	if (!rc && c->token)
		rc = add_hdr(hs, &nh, "x-amz-security-token", c->token);
	if (rc)
		goto out;

	/* The lines to send keep the caller's order and spelling. */
	for (i = 0; i < nh && !rc; i++)
		rc = line_of(&r, hs[i].name, hs[i].value);
	if (rc)
		goto out;

	qsort(hs, nh, sizeof(hs[0]), cmp_hdr);
	for (i = 1; i < nh; i++) {
		if (!strcmp(hs[i - 1].lname, hs[i].lname)) {
			rc = -EINVAL;
			goto out;
		}
	}

	for (i = 0; i < nh; i++) {
		if (i)
			sb_str(&b, ";");
		sb_str(&b, hs[i].lname);
	}
	signed_names = sb_take(&b);
	if (!signed_names) {
		rc = -ENOMEM;
		goto out;
	}

	rc = sigv4_query_string(req->query, req->nquery, &query);
	if (rc)
		goto out;

	sb_str(&b, req->method);
	sb_str(&b, "\n");
	sb_str(&b, req->uri);
	sb_str(&b, "\n");
	sb_str(&b, query);
	sb_str(&b, "\n");
	for (i = 0; i < nh; i++) {
		sb_str(&b, hs[i].lname);
		sb_str(&b, ":");
		sb_str(&b, hs[i].cvalue);
		sb_str(&b, "\n");
	}
	sb_str(&b, "\n");
	sb_str(&b, signed_names);
	sb_str(&b, "\n");
	sb_str(&b, payload);
	r.canonical_request = sb_take(&b);
	if (!r.canonical_request) {
		rc = -ENOMEM;
		goto out;
	}

	SHA256((const unsigned char *)r.canonical_request,
	       strlen(r.canonical_request), md);
	hex_of(md, sizeof(md), mdhex);
	sb_str(&b, "AWS4-HMAC-SHA256\n");
	sb_str(&b, r.amz_date);
	sb_str(&b, "\n");
	sb_str(&b, day);
	sb_str(&b, "/");
	sb_str(&b, req->region);
	sb_str(&b, "/");
	sb_str(&b, req->service);
	sb_str(&b, "/aws4_request\n");
	sb_str(&b, mdhex);
	r.string_to_sign = sb_take(&b);
	if (!r.string_to_sign) {
		rc = -ENOMEM;
		goto out;
	}

	rc = compute_signature(c->secret_key, day, req->region, req->service,
	                       r.string_to_sign, r.signature);
	if (rc)
		goto out;

	sb_str(&b, "Authorization: AWS4-HMAC-SHA256 Credential=");
	sb_str(&b, c->access_key);
	sb_str(&b, "/");
	sb_str(&b, day);
	sb_str(&b, "/");
	sb_str(&b, req->region);
	sb_str(&b, "/");
	sb_str(&b, req->service);
	sb_str(&b, "/aws4_request, SignedHeaders=");
	sb_str(&b, signed_names);
	sb_str(&b, ", Signature=");
	sb_str(&b, r.signature);
	r.lines[r.count] = sb_take(&b);
	if (!r.lines[r.count]) {
		rc = -ENOMEM;
		goto out;
	}
	r.count++;

	*out = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	for (i = 0; i < nh; i++) {
		free(hs[i].lname);
		if (hs[i].cvalue)
			OPENSSL_cleanse(hs[i].cvalue, strlen(hs[i].cvalue));
		free(hs[i].cvalue);
	}
	free(query);
	free(signed_names);
	sigv4_result_clear(&r);
	return rc;
}

void sigv4_result_clear(struct sigv4_result *r)
{
	size_t i;

	for (i = 0; i < r->count; i++) {
		OPENSSL_cleanse(r->lines[i], strlen(r->lines[i]));
		free(r->lines[i]);
	}
	if (r->canonical_request)
		OPENSSL_cleanse(r->canonical_request,
		                strlen(r->canonical_request));
	free(r->canonical_request);
	free(r->string_to_sign);
	OPENSSL_cleanse(r, sizeof(*r));
}
