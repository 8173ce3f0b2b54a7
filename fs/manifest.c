/*
 * The manifest: finds the artifacts list in any of the accepted shapes and
 * checks every field of every artifact, collecting one line per fault so
 * that a user fixes them all in one go.  The rules are in docs/manifest.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "caps.h"
#include "manifest.h"
#include "slurp.h"
#include "banned.h"

#define DEFAULT_MODE 0644

/* Room for "'" + a name capped at CAP_LOG_FIELD + "'", or "#N". */
#define LABEL_BYTES (CAP_LOG_FIELD + 32)

/* The working state of one artifact while it is checked. */
struct work {
	const cJSON *obj; /* NULL when the entry is not an object */
	const char *name; /* a valid name, else NULL */
	size_t dup_of;    /* 1-based position of the first holder, or 0 */
	bool path_ok;     /* items[i].path holds a valid path */
	bool ok;          /* no fault in this artifact */
};

struct parse {
	struct diag *d;
	bool bad; /* at least one fault reported */
	const char *container;
	struct manifest *m;
	struct work *w;
};

static void diag_vadd(struct diag *d, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void diag_vadd(struct diag *d, const char *fmt, va_list ap)
{
	char *line = NULL;
	char **grown;

	if (!d || d->count >= CAP_DIAG_LINES)
		return;
	if (d->count == CAP_DIAG_LINES - 1)
		line = strdup("too many faults: the rest are not shown");
	else if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	if (!line)
		return;
	grown = realloc(d->lines, (d->count + 1) * sizeof(*d->lines));
	if (!grown) {
		free(line);
		return;
	}
	d->lines = grown;
	d->lines[d->count++] = line;
}

void diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, fmt, ap);
	va_end(ap);
}

void diag_clear(struct diag *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->count; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->count = 0;
}

const char *manifest_mode_str(mode_t mode, char *buf)
{
	snprintf(buf, 6, "%04o", (unsigned int)(mode & 07777));
	return buf;
}

int manifest_path_cmp(const char *a, const char *b)
{
	size_t i = 0;
	unsigned char x, y;

	while (a[i] && a[i] == b[i])
		i++;
	x = (unsigned char)a[i];
	y = (unsigned char)b[i];
	if (x == y)
		return 0;
	if (x == '\0' || y == '\0')
		return x == '\0' ? -1 : 1;
	if (x == '/' || y == '/')
		return x == '/' ? -1 : 1;
	return x < y ? -1 : 1;
}

static void fault(struct parse *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void fault(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->d, fmt, ap);
	va_end(ap);
	p->bad = true;
}

/* Length of the UTF-8 sequence at s, or 0 when it is not valid (overlong
 * forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, unsigned int *cp)
{
	size_t n, i;
	unsigned int c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Why S may not be a name or a path, or NULL when it may: control
 * characters (C0, DEL, C1) and text that is not UTF-8 are refused. */
static const char *text_fault(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned int cp = 0;
	size_t n;

	while (*u) {
		n = utf8_len(u, &cp);
		if (n == 0)
			return "not valid UTF-8";
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return "contains a control character";
		u += n;
	}
	return NULL;
}

/* A user-supplied value made fit to quote in a message: at most
 * CAP_DIAG_VALUE bytes, anything unprintable as '?'. */
static const char *show(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < CAP_DIAG_VALUE && i + 4 < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (s[i] && i + 4 <= n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static const char *label_of(const struct parse *p, size_t i, char *buf)
{
	if (p->w[i].name && !p->w[i].dup_of)
		snprintf(buf, LABEL_BYTES, "'%.*s'", CAP_LOG_FIELD,
		         p->w[i].name);
	else
		snprintf(buf, LABEL_BYTES, "#%zu", i + 1);
	return buf;
}

/* The member KEY of OBJ (exact case), or NULL; *dups counts it. */
static const cJSON *member(const cJSON *obj, const char *key, int *dups)
{
	const cJSON *it;
	const cJSON *found = NULL;

	*dups = 0;
	for (it = obj->child; it; it = it->next) {
		if (it->string && strcmp(it->string, key) == 0) {
			if (!found)
				found = it;
			(*dups)++;
		}
	}
	if (found && cJSON_IsNull(found))
		found = NULL;
	return found;
}

/*
 * cJSON ends a decoded string at its first NUL, silently dropping the rest:
 * a targetPath of "a\u0000/../x" would come out as "a".  So a raw NUL, or
 * a \u0000 escape inside a string, refuses the whole manifest.
 */
static bool has_nul(const char *t, size_t len)
{
	bool in_str = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (t[i] == '\0')
			return true;
		if (t[i] == '"') {
			in_str = !in_str;
			continue;
		}
		if (!in_str || t[i] != '\\')
			continue;
		if (i + 1 >= len)
			break;
		i++;
		if (t[i] == 'u' && i + 4 < len &&
		    memcmp(t + i + 1, "0000", 4) == 0)
			return true;
		if (t[i] == '\0')
			return true;
	}
	return false;
}

static void position_of(const char *text, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static cJSON *json_parse(struct parse *p, const char *text, size_t len)
{
	const char *end = NULL;
	size_t off, line, col;
	cJSON *root;

	if (has_nul(text, len)) {
		fault(p, "manifest: a string holds a NUL character");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	off = end && end >= text ? (size_t)(end - text) : 0;
	if (off > len)
		off = len;
	if (root) {
		while (off < len && strchr(" \t\r\n", text[off]))
			off++;
		if (off == len)
			return root;
		cJSON_Delete(root);
		position_of(text, off, &line, &col);
		fault(p,
		      "manifest: text after the JSON value (line %zu, "
		      "column %zu)",
		      line, col);
		return NULL;
	}
	position_of(text, off, &line, &col);
	fault(p, "manifest: not valid JSON (line %zu, column %zu)", line, col);
	return NULL;
}

/* ----- one artifact, field by field ----- */

/* Why the name of artifact OBJ is not valid, or NULL with *name set. */
static const char *name_fault(const cJSON *obj, const char **name)
{
	const cJSON *v;
	int dups;

	v = member(obj, "name", &dups);
	if (dups > 1)
		return "given more than once";
	if (!v)
		return "missing";
	if (!cJSON_IsString(v))
		return "not a string";
	if (v->valuestring[0] == '\0')
		return "empty";
	if (strlen(v->valuestring) > CAP_NAME_BYTES)
		return "longer than 255 bytes";
	if (text_fault(v->valuestring))
		return text_fault(v->valuestring);
	*name = v->valuestring;
	return NULL;
}

static void check_name(struct parse *p, size_t i)
{
	char lb[LABEL_BYTES];
	const char *name = NULL;
	const char *why = name_fault(p->w[i].obj, &name);

	if (!why)
		return;
	fault(p, "artifact %s: name: %s", label_of(p, i, lb), why);
	p->w[i].ok = false;
}

/* Faults of a duplicate name, reported once the names are all known. */
static void check_name_dup(struct parse *p, size_t i)
{
	char lb[LABEL_BYTES];

	if (!p->w[i].dup_of)
		return;
	fault(p, "artifact %s: name: '%.*s' is also the name of artifact #%zu",
	      label_of(p, i, lb), CAP_LOG_FIELD, p->w[i].name, p->w[i].dup_of);
	p->w[i].ok = false;
}

static int cmp_work_name(const void *a, const void *b, void *arg)
{
	const struct work *w = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(w[x].name, w[y].name);

	if (c)
		return c;
	return x < y ? -1 : (x > y);
}

/* Marks every later holder of an already used name, in O(n log n). */
static int find_dup_names(struct parse *p)
{
	size_t n = p->m->count;
	size_t *idx, k = 0, i;

	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (p->w[i].name)
			idx[k++] = i;
	}
	qsort_r(idx, k, sizeof(*idx), cmp_work_name, p->w);
	for (i = 1; i < k; i++) {
		size_t first = idx[i - 1];

		if (p->w[first].dup_of)
			first = p->w[first].dup_of - 1;
		if (strcmp(p->w[idx[i]].name, p->w[first].name) == 0)
			p->w[idx[i]].dup_of = first + 1;
	}
	free(idx);
	return 0;
}

static const char *string_field(const cJSON *obj, const char *key,
                                bool required, const cJSON **out)
{
	const cJSON *v;
	int dups;

	v = member(obj, key, &dups);
	*out = NULL;
	if (dups > 1)
		return "given more than once";
	if (!v)
		return required ? "missing" : NULL;
	if (!cJSON_IsString(v))
		return "not a string";
	*out = v;
	return NULL;
}

static void check_url(struct parse *p, size_t i, bool *have_scheme)
{
	struct artifact *a = &p->m->items[i];
	struct url_parts up;
	char lb[LABEL_BYTES];
	const cJSON *v;
	const char *why;

	*have_scheme = false;
	why = string_field(p->w[i].obj, "artifactUrl", true, &v);
	if (!why && url_parse(v->valuestring, &up, &why) == 0) {
		a->scheme = up.scheme;
		url_parts_clear(&up);
		a->url = strdup(v->valuestring);
		*have_scheme = true;
		return;
	}
	fault(p, "artifact %s: artifactUrl: %s", label_of(p, i, lb), why);
	p->w[i].ok = false;
}

static const char *scheme_name(enum url_scheme s)
{
	switch (s) {
	case URL_HTTP:
		return "http";
	case URL_HTTPS:
		return "https";
	case URL_S3:
		return "s3";
	}
	return "?";
}

static void check_type(struct parse *p, size_t i, bool have_scheme)
{
	const struct artifact *a = &p->m->items[i];
	char lb[LABEL_BYTES], sv[CAP_DIAG_VALUE + 8];
	const cJSON *v;
	const char *why;
	const char *t;

	why = string_field(p->w[i].obj, "type", false, &v);
	if (why) {
		fault(p, "artifact %s: type: %s", label_of(p, i, lb), why);
		p->w[i].ok = false;
		return;
	}
	if (!v)
		return;
	t = v->valuestring;
	if (strcmp(t, "s3") && strcmp(t, "http") && strcmp(t, "https")) {
		fault(p,
		      "artifact %s: type: '%s' is not one of s3, http, https",
		      label_of(p, i, lb), show(t, sv, sizeof(sv)));
		p->w[i].ok = false;
		return;
	}
	if (have_scheme && strcmp(t, scheme_name(a->scheme))) {
		fault(p,
		      "artifact %s: type: '%s' does not agree with the "
		      "artifactUrl's scheme '%s'",
		      label_of(p, i, lb), t, scheme_name(a->scheme));
		p->w[i].ok = false;
	}
}

static const char *mode_parse(const char *s, mode_t *mode)
{
	size_t n = strlen(s), i;
	mode_t m = 0;

	if (n != 3 && n != 4)
		return "3 or 4 octal digits expected, as \"0644\" or \"644\"";
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return "not an octal number";
		m = m * 8 + (mode_t)(s[i] - '0');
	}
	if (m > 0777)
		return "setuid, setgid and sticky bits are not allowed";
	*mode = m;
	return NULL;
}

static void check_permissions(struct parse *p, size_t i)
{
	struct artifact *a = &p->m->items[i];
	char lb[LABEL_BYTES], sv[CAP_DIAG_VALUE + 8];
	const cJSON *v;
	const char *why;

	a->mode = DEFAULT_MODE;
	why = string_field(p->w[i].obj, "permissions", false, &v);
	if (why && strcmp(why, "not a string") == 0)
		why = "not a string (write the mode as a string: \"0644\")";
	if (!why && v) {
		why = mode_parse(v->valuestring, &a->mode);
		if (why) {
			fault(p, "artifact %s: permissions: '%s': %s",
			      label_of(p, i, lb),
			      show(v->valuestring, sv, sizeof(sv)), why);
			p->w[i].ok = false;
			return;
		}
	}
	if (why) {
		fault(p, "artifact %s: permissions: %s", label_of(p, i, lb),
		      why);
		p->w[i].ok = false;
	}
}

static int hex_digits(int type)
{
	return type == CK_SHA256 ? 64 : 32;
}

static const char *type_name(int type)
{
	return type == CK_SHA256 ? "sha256" : "md5";
}

/* checksumType: CK_NONE when absent, -1 after a fault. */
static int checksum_type_field(struct parse *p, size_t i, bool have_ck)
{
	char lb[LABEL_BYTES], sv[CAP_DIAG_VALUE + 8];
	const cJSON *v;
	const char *why;

	why = string_field(p->w[i].obj, "checksumType", false, &v);
	if (!why && !v)
		return CK_NONE;
	if (!why && strcmp(v->valuestring, "sha256") == 0)
		why = have_ck ? NULL : "given without a checksum";
	else if (!why && strcmp(v->valuestring, "md5") == 0)
		why = have_ck ? NULL : "given without a checksum";
	else if (!why) {
		fault(p,
		      "artifact %s: checksumType: '%s' is not supported "
		      "(sha256 or md5)",
		      label_of(p, i, lb), show(v->valuestring, sv, sizeof(sv)));
		p->w[i].ok = false;
		return -1;
	}
	if (why) {
		fault(p, "artifact %s: checksumType: %s", label_of(p, i, lb),
		      why);
		p->w[i].ok = false;
		return -1;
	}
	return v->valuestring[0] == 's' ? CK_SHA256 : CK_MD5;
}

static const char *split_checksum(const char *s, int *prefix, const char **hex)
{
	const char *colon = strchr(s, ':');
	size_t n;

	*prefix = CK_NONE;
	*hex = s;
	if (!colon)
		return NULL;
	n = (size_t)(colon - s);
	if (n == 6 && strncmp(s, "sha256", 6) == 0)
		*prefix = CK_SHA256;
	else if (n == 3 && strncmp(s, "md5", 3) == 0)
		*prefix = CK_MD5;
	else
		return "unknown prefix (write sha256:<hex> or md5:<hex>)";
	*hex = colon + 1;
	return NULL;
}

static void checksum_fault(struct parse *p, size_t i, const char *field,
                           const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void checksum_fault(struct parse *p, size_t i, const char *field,
                           const char *fmt, ...)
{
	char lb[LABEL_BYTES], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fault(p, "artifact %s: %s: %s", label_of(p, i, lb), field, msg);
	p->w[i].ok = false;
}

static void check_checksum(struct parse *p, size_t i)
{
	struct artifact *a = &p->m->items[i];
	const cJSON *v;
	const char *why, *hex;
	int declared, prefix, type;
	size_t n, k;

	why = string_field(p->w[i].obj, "checksum", false, &v);
	declared = checksum_type_field(p, i, v || why);
	if (why) {
		checksum_fault(p, i, "checksum", "%s", why);
		return;
	}
	if (!v || declared < 0)
		return;
	if (v->valuestring[0] == '\0') {
		checksum_fault(p, i, "checksum", "empty");
		return;
	}
	why = split_checksum(v->valuestring, &prefix, &hex);
	if (why) {
		checksum_fault(p, i, "checksum", "%s", why);
		return;
	}
	n = strlen(hex);
	if (n == 0 || strspn(hex, "0123456789abcdefABCDEF") != n) {
		checksum_fault(p, i, "checksum", "not hexadecimal");
		return;
	}
	if (prefix != CK_NONE && declared != CK_NONE && prefix != declared) {
		checksum_fault(p, i, "checksumType",
		               "'%s' does not agree with the checksum's "
		               "'%s:' prefix",
		               type_name(declared), type_name(prefix));
		return;
	}
	type = prefix != CK_NONE ? prefix : declared;
	if (type == CK_NONE && (n == 64 || n == 32))
		type = n == 64 ? CK_SHA256 : CK_MD5;
	if (type == CK_NONE) {
		checksum_fault(p, i, "checksum",
		               "%zu hex digits is neither sha256 (64) nor "
		               "md5 (32)",
		               n);
		return;
	}
	if (n != (size_t)hex_digits(type)) {
		checksum_fault(p, i, "checksum",
		               "%zu hex digits, but a %s digest (%s) has %d", n,
		               type_name(type),
		               prefix != CK_NONE ? "from its prefix"
		                                 : "from checksumType",
		               hex_digits(type));
		return;
	}
	for (k = 0; k < n; k++)
		a->ck_hex[k] = (char)(hex[k] >= 'A' && hex[k] <= 'F'
		                              ? hex[k] - 'A' + 'a'
		                              : hex[k]);
	a->ck_hex[n] = '\0';
	a->ck_type = type;
}

/*
 * Normalises a targetPath: leading and repeated '/' and "." components
 * go; "..", a final '/' or ".", control characters, an empty result and
 * the length caps are faults.  Returns a new string or NULL with *why.
 */
static char *path_normalise(const char *in, const char **why)
{
	size_t n = strlen(in), o = 0, i = 0, len;
	char *out;

	*why = text_fault(in);
	if (*why)
		return NULL;
	if (n > 0 && in[n - 1] == '/') {
		*why = "ends with '/' (a directory, not a file)";
		return NULL;
	}
	if (strcmp(in, ".") == 0 || (n >= 2 && strcmp(in + n - 2, "/.") == 0)) {
		*why = "ends with '.' (a directory, not a file)";
		return NULL;
	}
	out = malloc(n + 1);
	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	while (i < n) {
		len = strcspn(in + i, "/");
		if (len == 2 && strncmp(in + i, "..", 2) == 0) {
			*why = "'..' is not allowed";
			goto fail;
		}
		if (len > CAP_COMPONENT_BYTES) {
			*why = "a component is longer than 255 bytes";
			goto fail;
		}
		if (len > 0 && !(len == 1 && in[i] == '.')) {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, in + i, len);
			o += len;
		}
		i += len + 1;
	}
	out[o] = '\0';
	if (o == 0) {
		*why = "empty";
		goto fail;
	}
	if (o > CAP_PATH_BYTES) {
		*why = "longer than 4095 bytes";
		goto fail;
	}
	return out;
fail:
	free(out);
	return NULL;
}

static void check_path(struct parse *p, size_t i)
{
	struct artifact *a = &p->m->items[i];
	char lb[LABEL_BYTES];
	const cJSON *v;
	const char *why;

	why = string_field(p->w[i].obj, "targetPath", true, &v);
	if (!why) {
		a->path = path_normalise(v->valuestring, &why);
		if (a->path) {
			p->w[i].path_ok = true;
			return;
		}
	}
	fault(p, "artifact %s: targetPath: %s", label_of(p, i, lb), why);
	p->w[i].ok = false;
}

static int cmp_work_path(const void *a, const void *b, void *arg)
{
	const struct artifact *items = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = manifest_path_cmp(items[x].path, items[y].path);

	if (c)
		return c;
	return x < y ? -1 : (x > y);
}

/* Whether P lies under directory D ("a/b" under "a"). */
static bool is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * Two artifacts at one path, or a file where another needs a directory.
 * In manifest_path_cmp order a path's descendants follow it directly, so
 * one pass remembering the last file seen finds every collision.
 */
static int check_collisions(struct parse *p)
{
	const struct artifact *items = p->m->items;
	char la[LABEL_BYTES], lb[LABEL_BYTES];
	size_t *idx, k = 0, i, n = p->m->count;
	size_t file = 0;
	bool have_file = false;

	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (p->w[i].path_ok)
			idx[k++] = i;
	}
	qsort_r(idx, k, sizeof(*idx), cmp_work_path, p->m->items);
	for (i = 0; i < k; i++) {
		size_t cur = idx[i];

		if (have_file &&
		    strcmp(items[cur].path, items[file].path) == 0) {
			fault(p,
			      "artifact %s: targetPath: '%.*s' is also the "
			      "path of artifact %s",
			      label_of(p, cur, la), CAP_LOG_FIELD,
			      items[cur].path, label_of(p, file, lb));
			p->w[cur].ok = false;
			continue;
		}
		if (have_file && is_under(items[cur].path, items[file].path)) {
			fault(p,
			      "artifact %s: targetPath: '%.*s' needs '%.*s' "
			      "to be a directory, but it is the file of "
			      "artifact %s",
			      label_of(p, cur, la), CAP_LOG_FIELD,
			      items[cur].path, CAP_LOG_FIELD, items[file].path,
			      label_of(p, file, lb));
			p->w[cur].ok = false;
			continue;
		}
		file = cur;
		have_file = true;
	}
	free(idx);
	return 0;
}

static int check_artifacts(struct parse *p, const cJSON *list)
{
	char lb[LABEL_BYTES];
	const cJSON *it;
	size_t i = 0, n;
	bool have_scheme;
	int rc;

	n = (size_t)cJSON_GetArraySize(list);
	p->m->items = calloc(n ? n : 1, sizeof(*p->m->items));
	p->w = calloc(n ? n : 1, sizeof(*p->w));
	if (!p->m->items || !p->w)
		return -ENOMEM;
	p->m->count = n;
	for (it = list->child; it; it = it->next, i++) {
		p->w[i].ok = true;
		if (cJSON_IsObject(it)) {
			p->w[i].obj = it;
			name_fault(it, &p->w[i].name);
		}
	}
	rc = find_dup_names(p);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (!p->w[i].obj) {
			fault(p, "artifact %s: not an object",
			      label_of(p, i, lb));
			continue;
		}
		check_name(p, i);
		check_name_dup(p, i);
		check_url(p, i, &have_scheme);
		check_type(p, i, have_scheme);
		check_path(p, i);
		check_permissions(p, i);
		check_checksum(p, i);
		if (p->w[i].name) {
			p->m->items[i].name = strdup(p->w[i].name);
			if (!p->m->items[i].name)
				return -ENOMEM;
		}
		if (p->w[i].ok && !p->m->items[i].url)
			return -ENOMEM;
	}
	return check_collisions(p);
}

/* ----- finding the artifacts list ----- */

/* A container's name fit for messages, or NULL (then "#N" is used). */
static const char *container_name(const cJSON *c)
{
	const cJSON *v;
	int dups;

	v = member(c, "name", &dups);
	if (!v || dups > 1 || !cJSON_IsString(v) || !v->valuestring[0] ||
	    strlen(v->valuestring) > CAP_NAME_BYTES ||
	    text_fault(v->valuestring))
		return NULL;
	return v->valuestring;
}

static void container_label(const cJSON *c, size_t pos, char *buf)
{
	const char *name = container_name(c);

	if (name)
		snprintf(buf, LABEL_BYTES, "'%.*s'", CAP_LOG_FIELD, name);
	else if (pos)
		snprintf(buf, LABEL_BYTES, "#%zu", pos);
	else
		snprintf(buf, LABEL_BYTES, "(unnamed)");
}

/* The container's artifacts member when it declares any: a non-empty
 * list, or anything that is not a list (a fault reported later). */
static const cJSON *declared_artifacts(const cJSON *c)
{
	const cJSON *v;
	int dups;

	if (!cJSON_IsObject(c))
		return NULL;
	v = member(c, "artifacts", &dups);
	if (!v || (cJSON_IsArray(v) && !v->child))
		return NULL;
	return v;
}

/* Checks the artifacts member of container C (position POS, 0 when it is
 * the whole manifest) and returns the list, or NULL after a fault. */
static const cJSON *container_artifacts(struct parse *p, const cJSON *c,
                                        size_t pos)
{
	char cl[LABEL_BYTES];
	const cJSON *v;
	int dups;
	int n;

	container_label(c, pos, cl);
	v = member(c, "artifacts", &dups);
	if (dups > 1) {
		fault(p, "container %s: artifacts: given more than once", cl);
		return NULL;
	}
	if (!v || (cJSON_IsArray(v) && !v->child)) {
		fault(p, "container %s: declares no artifacts", cl);
		return NULL;
	}
	if (!cJSON_IsArray(v)) {
		fault(p, "container %s: artifacts: not a list", cl);
		return NULL;
	}
	n = cJSON_GetArraySize(v);
	if (n > CAP_ARTIFACTS) {
		fault(p,
		      "container %s: artifacts: %d entries, more than the cap "
		      "of %d",
		      cl, n, CAP_ARTIFACTS);
		return NULL;
	}
	return v;
}

static void list_candidates(struct parse *p, const cJSON *defs)
{
	char names[CAP_DIAG_NAMES * LABEL_BYTES] = "";
	char cl[LABEL_BYTES];
	const cJSON *c;
	size_t pos = 0, listed = 0, o = 0;

	for (c = defs->child; c; c = c->next) {
		pos++;
		if (!declared_artifacts(c))
			continue;
		if (listed == CAP_DIAG_NAMES) {
			snprintf(names + o, sizeof(names) - o, ", ...");
			break;
		}
		container_label(c, pos, cl);
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		                      listed ? ", " : "", cl);
		listed++;
	}
	fault(p,
	      "manifest: several containers declare artifacts: %s; choose "
	      "one with --container",
	      names);
}

static const cJSON *pick_container(struct parse *p, const cJSON *defs,
                                   const cJSON **chosen)
{
	const cJSON *c, *found = NULL;
	size_t pos = 0, found_pos = 0, candidates = 0, matches = 0;

	for (c = defs->child; c; c = c->next) {
		const char *name;

		pos++;
		if (!cJSON_IsObject(c)) {
			fault(p, "container #%zu: not an object", pos);
			continue;
		}
		name = container_name(c);
		if (p->container) {
			if (name && strcmp(name, p->container) == 0) {
				found = c;
				found_pos = pos;
				matches++;
			}
		} else if (declared_artifacts(c)) {
			found = c;
			found_pos = pos;
			candidates++;
		}
	}
	if (p->bad)
		return NULL;
	if (p->container && matches != 1) {
		fault(p, "container '%.*s': %s", CAP_LOG_FIELD, p->container,
		      matches ? "more than one container has this name"
		              : "not found in the manifest");
		return NULL;
	}
	if (!p->container && candidates == 0) {
		fault(p, "manifest: no container declares artifacts");
		return NULL;
	}
	if (!p->container && candidates > 1) {
		list_candidates(p, defs);
		return NULL;
	}
	*chosen = found;
	return container_artifacts(p, found, found_pos);
}

/* The artifacts of a bare list (shape 4), or NULL after a fault. */
static const cJSON *locate_bare(struct parse *p, const cJSON *root)
{
	if (p->container) {
		fault(p,
		      "container '%.*s': not found (the manifest is a bare "
		      "list of artifacts)",
		      CAP_LOG_FIELD, p->container);
		return NULL;
	}
	if (!root->child) {
		fault(p, "manifest: the list of artifacts is empty");
		return NULL;
	}
	if (cJSON_GetArraySize(root) > CAP_ARTIFACTS) {
		fault(p, "manifest: more than %d artifacts", CAP_ARTIFACTS);
		return NULL;
	}
	return root;
}

/* The artifacts of one container definition (shape 3). */
static const cJSON *locate_single(struct parse *p, const cJSON *root,
                                  const cJSON **chosen)
{
	const char *name = container_name(root);

	if (p->container && !(name && strcmp(name, p->container) == 0)) {
		fault(p, "container '%.*s': not found in the manifest",
		      CAP_LOG_FIELD, p->container);
		return NULL;
	}
	*chosen = root;
	return container_artifacts(p, root, 0);
}

/* Finds the artifacts list in ROOT, whatever its shape; NULL after a
 * fault.  *chosen is the container it belongs to, NULL for a bare list. */
static const cJSON *locate(struct parse *p, const cJSON *root,
                           const cJSON **chosen)
{
	const cJSON *td, *defs, *arts;
	int d1, d2, d3;

	*chosen = NULL;
	if (cJSON_IsArray(root))
		return locate_bare(p, root);
	if (!cJSON_IsObject(root)) {
		fault(p, "manifest: neither an object nor a list of artifacts");
		return NULL;
	}
	td = member(root, "taskDefinition", &d1);
	if (d1 > 1 || (td && !cJSON_IsObject(td))) {
		fault(p, "manifest: taskDefinition: %s",
		      d1 > 1 ? "given more than once" : "not an object");
		return NULL;
	}
	if (td)
		root = td;
	defs = member(root, "containerDefinitions", &d2);
	arts = member(root, "artifacts", &d3);
	if (d2 > 1 || (defs && !cJSON_IsArray(defs))) {
		fault(p, "manifest: containerDefinitions: %s",
		      d2 > 1 ? "given more than once" : "not a list");
		return NULL;
	}
	if (defs && arts) {
		fault(p, "manifest: both containerDefinitions and artifacts at "
		         "the top level");
		return NULL;
	}
	if (defs)
		return pick_container(p, defs, chosen);
	if (d3 == 0) {
		fault(p, "manifest: no containerDefinitions, taskDefinition or "
		         "artifacts found");
		return NULL;
	}
	return locate_single(p, root, chosen);
}

void manifest_free(struct manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->count; i++) {
		free(m->items[i].name);
		free(m->items[i].url);
		free(m->items[i].path);
	}
	free(m->items);
	free(m->container);
	free(m);
}

int manifest_parse(const char *text, size_t len, const char *container,
                   struct manifest **out, struct diag *d)
{
	struct parse p = {.d = d, .container = container};
	const cJSON *list, *chosen = NULL;
	cJSON *root = NULL;
	char sv[CAP_DIAG_VALUE + 8];
	int rc = -EINVAL;

	if (container && (!container[0] || text_fault(container))) {
		fault(&p, "container '%s': not a valid container name",
		      show(container, sv, sizeof(sv)));
		goto out;
	}
	if (len > CAP_MANIFEST_BYTES) {
		fault(&p, "manifest: %zu bytes, more than the cap of %ld", len,
		      CAP_MANIFEST_BYTES);
		goto out;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	root = json_parse(&p, text, len);
	if (!root)
		goto out;
	list = locate(&p, root, &chosen);
	if (!list)
		goto out;

	p.m = calloc(1, sizeof(*p.m));
	if (!p.m) {
		rc = -ENOMEM;
		goto out;
	}
	if (chosen && container_name(chosen)) {
		p.m->container = strdup(container_name(chosen));
		if (!p.m->container) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = check_artifacts(&p, list);
	if (rc < 0)
		goto out;
	if (p.bad) {
		rc = -EINVAL;
		goto out;
	}
	*out = p.m;
	p.m = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		diag_add(d, "manifest: out of memory");
	manifest_free(p.m);
	free(p.w);
	cJSON_Delete(root);
	return rc;
}

int manifest_load(const char *path, const char *container,
                  struct manifest **out, struct diag *d)
{
	char sv[CAP_DIAG_VALUE + 8];
	char *text = NULL;
	size_t len = 0;
	int fd = 0;
	int rc;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto out;
		}
	}
	rc = slurp_fd(fd, CAP_MANIFEST_BYTES, &text, &len);
	if (rc < 0)
		goto out;
	rc = manifest_parse(text, len, container, out, d);
out:
	if (fd > 0)
		close(fd);
	if (rc == -EFBIG && !text)
		diag_add(d, "manifest '%s': larger than the cap of %ld bytes",
		         show(path, sv, sizeof(sv)), CAP_MANIFEST_BYTES);
	else if (rc < 0 && !text)
		diag_add(d, "manifest '%s': cannot read: %s",
		         show(path, sv, sizeof(sv)), strerror(-rc));
	free(text);
	return rc;
}
