/*
 * The AWS credentials chain: environment, shared files, container
 * endpoint, web identity.  Fixed credentials are read once; those from an
 * endpoint are fetched with a blocking curl easy handle of their own
 * (timeouts set, TLS verified, body capped) and refreshed before expiry.
 * Every copy of a secret is wiped before it is freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "creds.h"
#include "slurp.h"
#include "sigv4.h"
#include "xml.h"
#include "url.h"
#include "banned.h"

/* Where the ECS agent serves AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, as
 * AWS defines it.  Used only when that variable is set. */
#define ECS_CONTAINER_HOST "http://169.254.170.2"

#define STS_VERSION "2011-06-15"

struct creds {
	pthread_mutex_t lock; /* guards cur and fetched_at */
	enum creds_kind kind;
	char origin[CAP_NAME_BYTES + 16];
	char region[CAP_AWS_REGION];
	char *ca_file;

	struct creds_value cur; /* access_key NULL until fetched */
	time_t fetched_at;

	/* CREDS_CONTAINER */
	char *url;
	char *auth_token; /* a credential: wiped on free */
	char *auth_token_file;

	/* CREDS_WEB_IDENTITY; url is the STS endpoint */
	char *token_file;
	char *role_arn;
	char *session_name;
};

/* What one profile of the shared files says. */
struct profile {
	char *access_key;
	char *secret_key;
	char *token;
	char *region;
	bool found;
};

/* A response body, capped. */
struct body {
	char *p;
	size_t len;
	bool over;
};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* PATH made absolute against the current directory, which the daemon
 * leaves for "/" once it runs; the file need not exist yet. */
static char *abs_path(const char *path)
{
	char cwd[PATH_MAX];
	size_t len;
	char *p;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	len = strlen(cwd) + strlen(path) + 2;
	p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s", cwd, path);
	return p;
}

void creds_value_clear(struct creds_value *v)
{
	wipe_free(v->access_key);
	wipe_free(v->secret_key);
	wipe_free(v->token);
	memset(v, 0, sizeof(*v));
}

static void profile_clear(struct profile *p)
{
	wipe_free(p->access_key);
	wipe_free(p->secret_key);
	wipe_free(p->token);
	free(p->region);
	memset(p, 0, sizeof(*p));
}

/* Reads the whole file at PATH, at most CAP bytes.  Returns 0 and a
 * NUL-terminated buffer in *out, or -errno (-EFBIG when over CAP). */
static int read_capped(const char *path, size_t cap, char **out, size_t *len)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	rc = slurp_fd(fd, cap, out, len);
out:
	close(fd);
	return rc;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Whether the section header TEXT (inside the brackets) names PROFILE:
 * "[name]" in the credentials file; "[profile name]" in the config file,
 * where the default profile may also be "[default]". */
static bool section_matches(const char *text, const char *profile, bool config)
{
	if (!config)
		return !strcmp(text, profile);
	if (!strcmp(profile, "default") && !strcmp(text, "default"))
		return true;
	if (strncmp(text, "profile", 7) || (text[7] != ' ' && text[7] != '\t'))
		return false;
	text += 7;
	while (*text == ' ' || *text == '\t')
		text++;
	return !strcmp(text, profile);
}

static int set_field(char **field, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	wipe_free(*field);
	*field = d;
	return 0;
}

/*
 * Reads the keys of PROFILE from TEXT, an INI file of the AWS tools.
 * Lines that start with a blank continue a nested block (such as "s3 =")
 * and are skipped; '#' and ';' start comments.  Later values win.
 */
static int parse_profile(char *text, const char *profile, bool config,
                         struct profile *p)
{
	bool in = false;
	char *line, *next;
	int rc = 0;

	for (line = text; line && !rc; line = next) {
		char *eq, *key, *val;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == ' ' || *line == '\t')
			continue;
		line = trim(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *close = strrchr(line, ']');

			in = false;
			if (!close)
				continue;
			*close = '\0';
			in = section_matches(trim(line + 1), profile, config);
			if (in)
				p->found = true;
			continue;
		}
		if (!in)
			continue;
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (!strcmp(key, "aws_access_key_id"))
			rc = set_field(&p->access_key, val);
		else if (!strcmp(key, "aws_secret_access_key"))
			rc = set_field(&p->secret_key, val);
		else if (!strcmp(key, "aws_session_token"))
			rc = set_field(&p->token, val);
		else if (!strcmp(key, "region") && config)
			rc = set_field(&p->region, val);
	}
	return rc;
}

/* Reads PROFILE from the file at PATH; a missing file is no error. */
static int load_profile(const char *path, const char *profile, bool config,
                        struct profile *p, char *why, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_capped(path, CAP_AWS_FILE_BYTES, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(why, n, "cannot read '%.200s': %s", path,
		         strerror(-rc));
		return rc;
	}
	rc = parse_profile(text, profile, config, p);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc)
		snprintf(why, n, "out of memory");
	return rc;
}

/* A region goes into host names: lowercase letters, digits, '-'. */
static bool region_ok(const char *r)
{
	size_t i;

	if (!r[0] || strlen(r) >= CAP_AWS_REGION)
		return false;
	for (i = 0; r[i]; i++) {
		if (!((r[i] >= 'a' && r[i] <= 'z') ||
		      (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	}
	return true;
}

/* The default home for ~/.aws, or NULL. */
static int aws_path(const char *var, const char *name, char *buf, size_t n)
{
	const char *v = env(var), *home;

	if (v) {
		if ((size_t)snprintf(buf, n, "%s", v) >= n)
			return -ENAMETOOLONG;
		return 0;
	}
	home = env("HOME");
	if (!home)
		return -ENOENT;
	if ((size_t)snprintf(buf, n, "%s/.aws/%s", home, name) >= n)
		return -ENAMETOOLONG;
	return 0;
}

static int setup_profile(struct creds *c, struct profile *merged, char *why,
                         size_t n)
{
	const char *name = env("AWS_PROFILE");
	bool named = name != NULL;
	struct profile fromcred = {0}, fromconf = {0};
	char path[PATH_MAX];
	int rc = 0;

	if (!name)
		name = "default";
	if (aws_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", path,
	             sizeof(path)) == 0)
		rc = load_profile(path, name, false, &fromcred, why, n);
	if (!rc &&
	    aws_path("AWS_CONFIG_FILE", "config", path, sizeof(path)) == 0)
		rc = load_profile(path, name, true, &fromconf, why, n);
	if (rc)
		goto out;
	if (named && !fromcred.found && !fromconf.found) {
		snprintf(why, n,
		         "profile '%.200s' (AWS_PROFILE) not found in the "
		         "shared credentials or config file",
		         name);
		rc = -ENOENT;
		goto out;
	}

	/* Keys from the credentials file win over those in config. */
	if (fromcred.access_key || fromcred.secret_key) {
		*merged = fromcred;
		memset(&fromcred, 0, sizeof(fromcred));
	} else {
		merged->access_key = fromconf.access_key;
		merged->secret_key = fromconf.secret_key;
		merged->token = fromconf.token;
		fromconf.access_key = fromconf.secret_key = NULL;
		fromconf.token = NULL;
	}
	merged->region = fromconf.region;
	fromconf.region = NULL;
	if (!!merged->access_key != !!merged->secret_key) {
		snprintf(why, n,
		         "profile '%.200s' has only one of "
		         "aws_access_key_id and aws_secret_access_key",
		         name);
		rc = -EINVAL;
		goto out;
	}
	snprintf(c->origin, sizeof(c->origin), "profile '%.200s'", name);
out:
	profile_clear(&fromcred);
	profile_clear(&fromconf);
	return rc;
}

/* The host part of an http(s) URL, copied into buf, without brackets;
 * *https tells the scheme. */
static int url_host(const char *url, char *buf, size_t n, bool *https)
{
	const char *h, *e;
	bool tls;
	size_t len;

	if (!strncasecmp(url, "https://", 8)) {
		tls = true;
		h = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		tls = false;
		h = url + 7;
	} else {
		return -EINVAL;
	}
	len = strcspn(h, "/?#");
	if (memchr(h, '@', len))
		return -EINVAL;
	if (*h == '[') {
		e = memchr(h, ']', len);
		if (!e)
			return -EINVAL;
		h++;
	} else {
		e = memchr(h, ':', len);
		if (!e)
			e = h + len;
	}
	if (e == h || (size_t)(e - h) >= n)
		return -EINVAL;
	memcpy(buf, h, (size_t)(e - h));
	buf[e - h] = '\0';
	*https = tls;
	return 0;
}

/* As the AWS SDKs allow for AWS_CONTAINER_CREDENTIALS_FULL_URI: any https
 * URL; http only to loopback or the ECS and EKS agent addresses. */
static bool full_uri_ok(const char *url)
{
	static const char *const agents[] = {"169.254.170.2", "169.254.170.23",
	                                     "fd00:ec2::23"};
	unsigned char a6[16], a4[4], want6[16];
	char host[NI_MAXHOST];
	bool https;
	size_t i;

	if (url_host(url, host, sizeof(host), &https))
		return false;
	if (strpbrk(url, " \r\n\t"))
		return false;
	if (https)
		return true;
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, a4) == 1) {
		if (a4[0] == 127)
			return true;
	} else if (inet_pton(AF_INET6, host, a6) == 1) {
		if (inet_pton(AF_INET6, "::1", want6) == 1 &&
		    !memcmp(a6, want6, 16))
			return true;
	}
	for (i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		if (!strcasecmp(host, agents[i]))
			return true;
	}
	return false;
}

static int setup_container(struct creds *c, const char *rel, const char *full,
                           char *why, size_t n)
{
	const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	size_t len;
	int rc = -ENOMEM;

	if (rel && (rel[0] != '/' || strpbrk(rel, " \r\n\t"))) {
		snprintf(why, n,
		         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must "
		         "be a path starting with '/'");
		return -EINVAL;
	}
	if (!rel && !full_uri_ok(full)) {
		snprintf(why, n,
		         "AWS_CONTAINER_CREDENTIALS_FULL_URI must be "
		         "https, or http to loopback or the ECS/EKS "
		         "agent address");
		return -EINVAL;
	}
	if (!tokfile && tok && strpbrk(tok, "\r\n")) {
		snprintf(why, n,
		         "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a "
		         "line break");
		return -EINVAL;
	}

	if (rel) {
		len = strlen(ECS_CONTAINER_HOST) + strlen(rel) + 1;
		c->url = malloc(len);
		if (c->url)
			snprintf(c->url, len, "%s%s", ECS_CONTAINER_HOST, rel);
	} else {
		c->url = strdup(full);
	}
	if (!c->url)
		goto out;
	/* The token file wins, and is read again at every fetch. */
	if (tokfile) {
		c->auth_token_file = abs_path(tokfile);
		if (!c->auth_token_file)
			goto out;
	} else if (tok) {
		c->auth_token = strdup(tok);
		if (!c->auth_token)
			goto out;
	}
	c->kind = CREDS_CONTAINER;
	snprintf(c->origin, sizeof(c->origin), "container endpoint");
	rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(why, n, "out of memory");
	return rc;
}

static int setup_web_identity(struct creds *c, const char *file,
                              const char *role, char *why, size_t n)
{
	const char *sts = env("AWS_ENDPOINT_URL_STS");
	const char *session = env("AWS_ROLE_SESSION_NAME");
	char url[CAP_AWS_REGION + 64], name[64], shown[CAP_LOG_FIELD + 1];
	bool https;
	char host[NI_MAXHOST];

	if (!sts)
		sts = env("AWS_ENDPOINT_URL");
	if (!sts) {
		snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com",
		         c->region);
		sts = url;
	} else if (url_host(sts, host, sizeof(host), &https) ||
	           strpbrk(sts, " \r\n\t?#")) {
		snprintf(why, n,
		         "the STS endpoint '%.200s' is not an http(s) "
		         "URL",
		         url_redact(sts, shown, sizeof(shown)));
		return -EINVAL;
	}
	if (!session) {
		snprintf(name, sizeof(name), "artifactfs-%ld-%ld",
		         (long)getpid(), (long)time(NULL));
		session = name;
	}
	c->url = strdup(sts);
	c->token_file = abs_path(file);
	c->role_arn = strdup(role);
	c->session_name = strdup(session);
	if (!c->url || !c->token_file || !c->role_arn || !c->session_name) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	c->kind = CREDS_WEB_IDENTITY;
	snprintf(c->origin, sizeof(c->origin), "web identity");
	return 0;
}

static int set_static(struct creds *c, const char *ak, const char *sk,
                      const char *tok, char *why, size_t n)
{
	if (strpbrk(ak, "\r\n") || strpbrk(sk, "\r\n") ||
	    (tok && strpbrk(tok, "\r\n"))) {
		snprintf(why, n, "credentials from the %s hold a line break",
		         c->origin);
		return -EINVAL;
	}
	c->cur.access_key = strdup(ak);
	c->cur.secret_key = strdup(sk);
	c->cur.token = tok && *tok ? strdup(tok) : NULL;
	if (!c->cur.access_key || !c->cur.secret_key ||
	    (tok && *tok && !c->cur.token)) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int choose(struct creds *c, char *why, size_t n)
{
	const char *ak = env("AWS_ACCESS_KEY_ID");
	const char *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *rel, *full, *wfile, *role, *region;
	struct profile p = {0};
	int rc;

	if (!!ak != !!sk) {
		snprintf(why, n,
		         "only one of AWS_ACCESS_KEY_ID and "
		         "AWS_SECRET_ACCESS_KEY is set");
		return -EINVAL;
	}

	/* The profile is read in any case: it may name the region. */
	rc = setup_profile(c, &p, why, n);
	if (rc)
		goto out;

	region = env("AWS_REGION");
	if (!region)
		region = env("AWS_DEFAULT_REGION");
	if (!region)
		region = p.region;
	if (!region)
		region = "us-east-1";
	if (!region_ok(region)) {
		snprintf(why, n, "'%.200s' is not an AWS region name", region);
		rc = -EINVAL;
		goto out;
	}
	snprintf(c->region, sizeof(c->region), "%s", region);

	if (ak) {
		c->kind = CREDS_ENV;
		snprintf(c->origin, sizeof(c->origin), "environment");
		rc = set_static(c, ak, sk, env("AWS_SESSION_TOKEN"), why, n);
		goto out;
	}
	if (p.access_key) {
		c->kind = CREDS_PROFILE;
		rc = set_static(c, p.access_key, p.secret_key, p.token, why, n);
		goto out;
	}

	rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	if (rel || full) {
		rc = setup_container(c, rel, full, why, n);
		goto out;
	}

	wfile = env("AWS_WEB_IDENTITY_TOKEN_FILE");
	role = env("AWS_ROLE_ARN");
	if (wfile && role) {
		rc = setup_web_identity(c, wfile, role, why, n);
		goto out;
	}

	c->kind = CREDS_NONE;
	snprintf(c->origin, sizeof(c->origin), "none");
	rc = 0;
out:
	profile_clear(&p);
	return rc;
}

int creds_new(const struct creds_options *opts, struct creds **out, char *why,
              size_t n)
{
	struct creds *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	if (opts && opts->ca_file) {
		c->ca_file = strdup(opts->ca_file);
		if (!c->ca_file) {
			snprintf(why, n, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = choose(c, why, n);
	if (rc)
		goto out;
	*out = c;
	c = NULL;
out:
	creds_free(c);
	return rc;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t len = size * nmemb;
	char *np;

	if (b->len + len > (size_t)CAP_CREDS_BODY_BYTES) {
		b->over = true;
		return 0;
	}
	np = malloc(b->len + len + 1);
	if (!np)
		return 0;
	if (b->p) {
		memcpy(np, b->p, b->len);
		OPENSSL_cleanse(b->p, b->len);
		free(b->p);
	}
	memcpy(np + b->len, data, len);
	b->len += len;
	np[b->len] = '\0';
	b->p = np;
	return len;
}

static void body_clear(struct body *b)
{
	if (b->p) {
		OPENSSL_cleanse(b->p, b->len);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/*
 * One blocking request to a credentials endpoint: GET, or POST of FORM
 * when not NULL.  WHAT names the endpoint in causes; the URL is never
 * put in a cause (its path may be a capability).  Returns 0 and the body
 * and status, or -EIO with a cause.
 */
static int http_fetch(const struct creds *c, const char *what, const char *form,
                      struct curl_slist *hdrs, struct body *b, long *status,
                      char *why, size_t n)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode code;
	CURL *easy;
	int rc = -EIO;

	easy = curl_easy_init();
	if (!easy) {
		snprintf(why, n, "%s: cannot start a request", what);
		return -ENOMEM;
	}
	curl_easy_setopt(easy, CURLOPT_URL, c->url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, DEF_CONNECT_TIMEOUT);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, DEF_CREDS_TIMEOUT);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT,
	                 "artifactfs/" ARTIFACTFS_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
	if (c->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
	if (hdrs)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	if (form)
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, form);

	code = curl_easy_perform(easy);
	if (b->over) {
		snprintf(why, n, "%s: response over %ld bytes", what,
		         (long)CAP_CREDS_BODY_BYTES);
		goto out;
	}
	if (code != CURLE_OK) {
		snprintf(why, n, "%s: %.200s", what,
		         errbuf[0] ? errbuf : curl_easy_strerror(code));
		goto out;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
	rc = 0;
out:
	curl_easy_cleanup(easy);
	return rc;
}

/* "2030-01-01T00:00:00Z", with optional fractions and a zero offset. */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	const char *rest;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
	           &used) != 6 ||
	    used != 19)
		return -EINVAL;
	rest = s + used;
	if (*rest == '.') {
		rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if (strcmp(rest, "Z") && strcmp(rest, "+00:00") && strcmp(rest, ""))
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

static void json_wipe(cJSON *item)
{
	if (item && cJSON_IsString(item) && item->valuestring)
		OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
}

static const char *json_str(const cJSON *root, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);

	if (!cJSON_IsString(it) || !it->valuestring || !*it->valuestring)
		return NULL;
	return it->valuestring;
}

static int fill_value(struct creds_value *v, const char *ak, const char *sk,
                      const char *tok, const char *exp, const char *what,
                      char *why, size_t n)
{
	struct creds_value nv = {0};

	if (!ak || !sk) {
		snprintf(why, n,
		         "%s: no AccessKeyId or SecretAccessKey in "
		         "the response",
		         what);
		return -EIO;
	}
	if (strpbrk(ak, "\r\n") || strpbrk(sk, "\r\n") ||
	    (tok && strpbrk(tok, "\r\n"))) {
		snprintf(why, n, "%s: credentials hold a line break", what);
		return -EIO;
	}
	if (exp && parse_time(exp, &nv.expires)) {
		snprintf(why, n, "%s: Expiration '%.40s' is not a time", what,
		         exp);
		return -EIO;
	}
	nv.access_key = strdup(ak);
	nv.secret_key = strdup(sk);
	nv.token = tok ? strdup(tok) : NULL;
	if (!nv.access_key || !nv.secret_key || (tok && !nv.token)) {
		creds_value_clear(&nv);
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	*v = nv;
	return 0;
}

/* Reads the token file at PATH into a new string without a final line
 * break. */
static int read_token(const char *path, const char *what, char **out, char *why,
                      size_t n)
{
	char *t = NULL;
	size_t len = 0;
	int rc;

	rc = read_capped(path, CAP_WEB_TOKEN_BYTES, &t, &len);
	if (rc) {
		snprintf(why, n, "%s: cannot read the token file '%.200s': %s",
		         what, path, strerror(-rc));
		return rc == -ENOMEM ? rc : -EIO;
	}
	while (len &&
	       (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = '\0';
	if (!len || strpbrk(t, "\r\n")) {
		snprintf(why, n,
		         "%s: the token file '%.200s' is empty or "
		         "holds a line break",
		         what, path);
		OPENSSL_cleanse(t, len);
		free(t);
		return -EIO;
	}
	*out = t;
	return 0;
}

static int fetch_container(struct creds *c, struct creds_value *v, char *why,
                           size_t n)
{
	static const char what[] = "container credentials endpoint";
	struct curl_slist *hdrs = NULL, *nh;
	struct body b = {0};
	char *token = NULL, *line = NULL;
	cJSON *root = NULL;
	long status = 0;
	size_t len;
	int rc;

	if (c->auth_token_file) {
		rc = read_token(c->auth_token_file, what, &token, why, n);
		if (rc)
			goto out;
	} else if (c->auth_token) {
		token = strdup(c->auth_token);
		if (!token) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (token) {
		len = strlen(token) + sizeof("Authorization: ");
		line = malloc(len);
		if (!line) {
			rc = -ENOMEM;
			goto out;
		}
		snprintf(line, len, "Authorization: %s", token);
		nh = curl_slist_append(hdrs, line);
		if (!nh) {
			rc = -ENOMEM;
			goto out;
		}
		hdrs = nh;
	}
	nh = curl_slist_append(hdrs, "Accept: application/json");
	if (!nh) {
		rc = -ENOMEM;
		goto out;
	}
	hdrs = nh;

	rc = http_fetch(c, what, NULL, hdrs, &b, &status, why, n);
	if (rc)
		goto out;
	if (status != 200) {
		snprintf(why, n, "%s: HTTP %ld", what, status);
		rc = -EIO;
		goto out;
	}
	root = cJSON_ParseWithLength(b.p ? b.p : "", b.len);
	if (!cJSON_IsObject(root)) {
		snprintf(why, n, "%s: the response is not a JSON object", what);
		rc = -EIO;
		goto out;
	}
	rc = fill_value(v, json_str(root, "AccessKeyId"),
	                json_str(root, "SecretAccessKey"),
	                json_str(root, "Token"), json_str(root, "Expiration"),
	                what, why, n);
out:
	if (rc == -ENOMEM)
		snprintf(why, n, "out of memory");
	if (root) {
		json_wipe(cJSON_GetObjectItemCaseSensitive(root,
		                                           "SecretAccessKey"));
		json_wipe(cJSON_GetObjectItemCaseSensitive(root, "Token"));
		cJSON_Delete(root);
	}
	curl_slist_free_all(hdrs);
	wipe_free(line);
	wipe_free(token);
	body_clear(&b);
	return rc;
}

static int form_add(char **form, size_t *len, const char *name,
                    const char *value)
{
	char *enc = NULL, *nf;
	size_t need;
	int rc;

	rc = sigv4_uri_encode(value, strlen(value), false, &enc);
	if (rc)
		return rc;
	need = *len + strlen(name) + strlen(enc) + 3;
	nf = malloc(need);
	if (!nf) {
		wipe_free(enc);
		return -ENOMEM;
	}
	snprintf(nf, need, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "",
	         name, enc);
	wipe_free(*form);
	wipe_free(enc);
	*form = nf;
	*len = strlen(nf);
	return 0;
}

/* The cause of an STS error answer: its Code and Message. */
static void sts_cause(const struct body *b, long status, char *why, size_t n)
{
	char *code = NULL, *msg = NULL;

	xml_text(b->p, b->len, "Code", CAP_LOG_FIELD, &code);
	xml_text(b->p, b->len, "Message", CAP_ERROR_BODY_BYTES, &msg);
	snprintf(why, n, "web identity: STS HTTP %ld%s%.100s%s%.200s", status,
	         code ? " " : "", code ? code : "", msg ? ": " : "",
	         msg ? msg : "");
	free(code);
	free(msg);
}

static int fetch_web_identity(struct creds *c, struct creds_value *v, char *why,
                              size_t n)
{
	static const char what[] = "web identity";
	char *token = NULL, *form = NULL;
	char *ak = NULL, *sk = NULL, *tok = NULL, *exp = NULL;
	struct body b = {0};
	long status = 0;
	size_t flen = 0;
	int rc;

	rc = read_token(c->token_file, what, &token, why, n);
	if (rc)
		goto out;
	rc = form_add(&form, &flen, "Action", "AssumeRoleWithWebIdentity");
	if (!rc)
		rc = form_add(&form, &flen, "Version", STS_VERSION);
	if (!rc)
		rc = form_add(&form, &flen, "RoleArn", c->role_arn);
	if (!rc)
		rc = form_add(&form, &flen, "RoleSessionName", c->session_name);
	if (!rc)
		rc = form_add(&form, &flen, "WebIdentityToken", token);
	if (rc) {
		snprintf(why, n, "out of memory");
		goto out;
	}

	rc = http_fetch(c, "web identity: STS", form, NULL, &b, &status, why,
	                n);
	if (rc)
		goto out;
	if (status != 200) {
		sts_cause(&b, status, why, n);
		rc = -EIO;
		goto out;
	}
	xml_text(b.p, b.len, "AccessKeyId", CAP_CREDS_BODY_BYTES, &ak);
	xml_text(b.p, b.len, "SecretAccessKey", CAP_CREDS_BODY_BYTES, &sk);
	xml_text(b.p, b.len, "SessionToken", CAP_CREDS_BODY_BYTES, &tok);
	xml_text(b.p, b.len, "Expiration", CAP_CREDS_BODY_BYTES, &exp);
	rc = fill_value(v, ak, sk, tok, exp, "web identity: STS", why, n);
out:
	wipe_free(ak);
	wipe_free(sk);
	wipe_free(tok);
	free(exp);
	wipe_free(form);
	wipe_free(token);
	body_clear(&b);
	return rc;
}

static bool fresh(const struct creds *c, time_t now)
{
	if (!c->cur.access_key)
		return false;
	if (c->cur.expires)
		return now < c->cur.expires - DEF_CREDS_REFRESH;
	return now < c->fetched_at + DEF_CREDS_MAX_AGE;
}

static bool usable(const struct creds *c, time_t now)
{
	return c->cur.access_key && (!c->cur.expires || now < c->cur.expires);
}

static int copy_value(const struct creds_value *from, struct creds_value *to)
{
	struct creds_value v = {0};

	v.access_key = strdup(from->access_key);
	v.secret_key = strdup(from->secret_key);
	v.token = from->token ? strdup(from->token) : NULL;
	v.expires = from->expires;
	if (!v.access_key || !v.secret_key || (from->token && !v.token)) {
		creds_value_clear(&v);
		return -ENOMEM;
	}
	*to = v;
	return 0;
}

static void format_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "%ld", (long)t);
}

/* Fetches anew from the endpoint.  Called with c->lock held. */
static int refresh(struct creds *c, time_t now, char *why, size_t n)
{
	struct creds_value v = {0};
	char when[32];
	int rc;

	if (c->kind == CREDS_CONTAINER)
		rc = fetch_container(c, &v, why, n);
	else
		rc = fetch_web_identity(c, &v, why, n);
	if (rc)
		return rc;
	if (v.expires && v.expires <= now) {
		format_time(v.expires, when, sizeof(when));
		snprintf(why, n, "credentials from the %s expired at %s",
		         c->origin, when);
		creds_value_clear(&v);
		return -EKEYEXPIRED;
	}
	creds_value_clear(&c->cur);
	c->cur = v;
	c->fetched_at = now;
	return 0;
}

int creds_get(struct creds *c, struct creds_value *out, char *why, size_t n)
{
	char when[32];
	time_t now = time(NULL);
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	switch (c->kind) {
	case CREDS_NONE:
		snprintf(why, n,
		         "no AWS credentials: none in the environment, the "
		         "shared files, a container endpoint or web identity "
		         "(use --s3-no-sign for public buckets)");
		rc = -ENOKEY;
		goto out;
	case CREDS_ENV:
	case CREDS_PROFILE:
		break;
	case CREDS_CONTAINER:
	case CREDS_WEB_IDENTITY:
		if (fresh(c, now))
			break;
		rc = refresh(c, now, why, n);
		/* A failed refresh still leaves unexpired ones usable. */
		if (rc && usable(c, now))
			rc = 0;
		if (rc)
			goto out;
		break;
	}
	if (c->cur.expires && c->cur.expires <= now) {
		format_time(c->cur.expires, when, sizeof(when));
		snprintf(why, n, "credentials from the %s expired at %s",
		         c->origin, when);
		rc = -EKEYEXPIRED;
		goto out;
	}
	rc = copy_value(&c->cur, out);
	if (rc)
		snprintf(why, n, "out of memory");
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

bool creds_invalidate(struct creds *c)
{
	bool forgot = false;

	pthread_mutex_lock(&c->lock);
	if (c->kind == CREDS_CONTAINER || c->kind == CREDS_WEB_IDENTITY) {
		creds_value_clear(&c->cur);
		c->fetched_at = 0;
		forgot = true;
	}
	pthread_mutex_unlock(&c->lock);
	return forgot;
}

enum creds_kind creds_kind(const struct creds *c)
{
	return c->kind;
}

const char *creds_origin(const struct creds *c)
{
	return c->origin;
}

const char *creds_region(const struct creds *c)
{
	return c->region;
}

void creds_free(struct creds *c)
{
	if (!c)
		return;
	creds_value_clear(&c->cur);
	free(c->ca_file);
	free(c->url);
	wipe_free(c->auth_token);
	free(c->auth_token_file);
	free(c->token_file);
	free(c->role_arn);
	free(c->session_name);
	pthread_mutex_destroy(&c->lock);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}
