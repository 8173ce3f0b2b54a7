/*
 * artifactfs-podspec: an ECS task definition in, a Kubernetes Pod out.
 * The containers that declare artifacts find them at /artifacts, mounted
 * lazily by one privileged artifactfs sidecar (--mode sidecar) or placed
 * up front by init containers running `artifactfs fetch` (--mode init).
 * The Pod is built as a cJSON tree, then written as YAML through libyaml's
 * emitter or as JSON.  What cannot be translated is named in a warning on
 * stderr; input that `artifactfs check` refuses is refused with the same
 * lines, exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <yaml.h>

#include "caps.h"
#include "manifest.h"
#include "banned.h"

#define EXIT_FAILED  1 /* could not read or write, out of memory */
#define EXIT_INVALID 2 /* bad usage or bad input */

/* Where things live inside the sidecar and the init containers. */
#define SIDECAR_NAME    "artifactfs"
#define MANIFEST_DIR    "/etc/artifactfs"
#define MANIFEST_KEY    "task-definition.json"
#define MANIFEST_PATH   MANIFEST_DIR "/" MANIFEST_KEY
#define CACHE_DIR       "/var/cache/artifactfs"
#define MOUNT_ROOT      "/mnt/artifacts"
#define APP_DIR         "/artifacts"
#define MANIFEST_VOLUME "artifactfs-manifest"
#define CACHE_VOLUME    "artifactfs-cache"
#define CREDS_SECRET    "artifactfs-aws"
#define SECRET_PREFIX   "kecs-secret-"
/* FUSE_SUPER_MAGIC, as `stat -f -c %t` shows it */
#define FUSE_MAGIC_HEX "65735546"

/* ECS health check defaults, seconds and tries. */
#define HC_INTERVAL 30
#define HC_TIMEOUT  5
#define HC_RETRIES  3

#define WHERE_BYTES (CAP_LOG_FIELD + 32)

/*
 * The sidecar's command, run by bash as `bash -c SCRIPT artifactfs-sidecar
 * MANIFEST CACHE [ECS-NAME DIR OPTS]...`.  One `artifactfs mount -f` per
 * container; SIGTERM is passed on to every mount (each unmounts, then
 * exits); a mount that ends on its own brings the others down, so that
 * the kubelet restarts the sidecar whole.  A mount left by a sidecar that
 * died answers nothing, not even statfs: it is detached before mounting.
 */
static const char sidecar_script[] =
        "set -u\n"
        "manifest=$1 cache=$2\n"
        "shift 2\n"
        "pids=()\n"
        "stopping=0\n"
        "stop() {\n"
        "  stopping=1\n"
        "  kill -TERM \"${pids[@]}\" 2>/dev/null\n"
        "}\n"
        "trap stop TERM INT\n"
        "while [ $# -ge 3 ] && [ $stopping = 0 ]; do\n"
        "  stat -f \"$2\" >/dev/null 2>&1 || umount -l \"$2\"\n"
        "  artifactfs mount -f --cache-dir \"$cache\" --container \"$1\" \\\n"
        "    ${3:+-o \"$3\"} \"$manifest\" \"$2\" &\n"
        "  pids+=($!)\n"
        "  shift 3\n"
        "done\n"
        "wait -n\n"
        "status=$?\n"
        "if [ $stopping = 0 ]; then\n"
        "  echo \"artifactfs-sidecar: a mount ended (status $status),\" \\\n"
        "    \"stopping the others\" >&2\n"
        "  stop\n"
        "  wait\n"
        "  exit 1\n"
        "fi\n"
        "status=0\n"
        "for pid in \"${pids[@]}\"; do\n"
        "  wait \"$pid\" || status=$?\n"
        "done\n"
        "exit $status\n";

/* The sidecar's probes: every directory given must be a FUSE mount whose
 * daemon answers (statfs goes to the daemon; a dead one fails it). */
static const char probe_script[] =
        "for d in \"$@\"; do\n"
        "  [ \"$(stat -f -c %t \"$d\" 2>/dev/null)\" = " FUSE_MAGIC_HEX
        " ] || exit 1\n"
        "done\n";

enum pod_mode { MODE_SIDECAR, MODE_INIT };
enum out_format { FMT_YAML, FMT_JSON };

struct options {
	enum pod_mode mode;
	enum out_format format;
	const char *image;
	const char *name;
	const char *ns;
	const char *input;
};

/* One ECS container, and the names it gets in the Pod. */
struct ctr {
	const cJSON *def;
	const char *ecs_name;    /* NULL when the definition has none */
	char where[WHERE_BYTES]; /* "container 'web'" or "container #2" */
	char name[CAP_K8S_LABEL + 1];
	char vol[CAP_K8S_LABEL + 1];   /* artifacts-<name>; "" without any */
	char fetch[CAP_K8S_LABEL + 1]; /* --mode init: fetch-<name> */
	bool artifacts;
	bool essential;
	long uid, gid; /* -1 unless the user is given as numbers */
};

struct vol {
	const char *ecs_name;
	char name[CAP_K8S_LABEL + 1];
};

/* Names already given out in one Kubernetes namespace of names. */
struct nameset {
	char (*names)[CAP_K8S_LABEL + 1];
	size_t count, alloc;
};

struct gen {
	const struct options *opt;
	const char *text; /* the input, as manifest_parse reads it */
	size_t len;
	const cJSON *td; /* the task definition */
	struct ctr *ctrs;
	size_t nctr;
	struct vol *vols;
	size_t nvol;
	struct nameset cnames; /* containers and init containers */
	struct nameset vnames; /* volumes */
	struct nameset pnames; /* port names */
	char pod[CAP_K8S_LABEL + 1];
	long task_cpu, task_mem; /* ECS units and MiB; -1 when not given */
	long grace;              /* largest stopTimeout, -1 when none */
	bool s3;
	int faults; /* lines printed about bad input */
	int err;    /* first allocation failure, sticky */
};

struct key_hint {
	const char *key;
	const char *hint; /* why it is not translated; NULL: handled */
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fault(struct gen *g, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("artifactfs-podspec: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A fault of the input: one line on stderr, as `artifactfs check` does. */
static void fault(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	g->faults++;
}

/* ---- building the tree: every helper takes and returns NULL after an
 * allocation failure, which is kept in g->err ---- */

static cJSON *put(struct gen *g, cJSON *parent, const char *key, cJSON *item)
{
	cJSON_bool ok;

	if (!item) {
		g->err = -ENOMEM;
		return NULL;
	}
	if (!parent) {
		cJSON_Delete(item);
		return NULL;
	}
	if (key)
		ok = cJSON_AddItemToObject(parent, key, item);
	else
		ok = cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		g->err = -ENOMEM;
		return NULL;
	}
	return item;
}

static cJSON *put_str(struct gen *g, cJSON *parent, const char *key,
                      const char *s)
{
	return put(g, parent, key, cJSON_CreateString(s));
}

static cJSON *put_num(struct gen *g, cJSON *parent, const char *key, long n)
{
	return put(g, parent, key, cJSON_CreateNumber((double)n));
}

static cJSON *put_bool(struct gen *g, cJSON *parent, const char *key, bool b)
{
	return put(g, parent, key, cJSON_CreateBool(b));
}

static cJSON *put_obj(struct gen *g, cJSON *parent, const char *key)
{
	return put(g, parent, key, cJSON_CreateObject());
}

static cJSON *put_arr(struct gen *g, cJSON *parent, const char *key)
{
	return put(g, parent, key, cJSON_CreateArray());
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* ---- names ---- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Writes into OUT (at least MAX + 1 bytes, MAX at most CAP_K8S_SUBDOMAIN)
 * a DNS-1123 label made from IN: letters lowercased, digits kept, every
 * run of other characters turned into one '-', no '-' at either end, at
 * most MAX bytes.  "Log_Shipper" becomes "log-shipper".  Returns false,
 * OUT untouched, when nothing is left.
 */
static bool dns_label(const char *in, size_t max, char *out)
{
	char buf[CAP_K8S_SUBDOMAIN + 1];
	size_t n = 0;
	bool dash = false;

	if (max > CAP_K8S_SUBDOMAIN)
		max = CAP_K8S_SUBDOMAIN;
	for (; *in && n < max; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!is_lower_alnum(c)) {
			dash = n > 0;
			continue;
		}
		if (dash && n + 1 >= max)
			break;
		if (dash)
			buf[n++] = '-';
		dash = false;
		buf[n++] = c;
	}
	if (n == 0)
		return false;
	memcpy(out, buf, n);
	out[n] = '\0';
	return true;
}

static bool is_dns_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CAP_K8S_LABEL)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

static bool nameset_has(const struct nameset *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		if (strcmp(s->names[i], name) == 0)
			return true;
	}
	return false;
}

static int nameset_add(struct nameset *s, const char *name)
{
	if (s->count == s->alloc) {
		size_t n = s->alloc ? 2 * s->alloc : 16;
		void *p = realloc(s->names, n * sizeof(*s->names));

		if (!p)
			return -ENOMEM;
		s->names = p;
		s->alloc = n;
	}
	snprintf(s->names[s->count++], sizeof(*s->names), "%s", name);
	return 0;
}

static void nameset_free(struct nameset *s)
{
	free(s->names);
	s->names = NULL;
	s->count = s->alloc = 0;
}

/* BASE cut to at most MAX bytes, without a trailing '-', then SUFFIX. */
static void cut_label(const char *base, size_t max, const char *suffix,
                      char *out)
{
	size_t n = strlen(base), room = max - strlen(suffix);

	if (n > room)
		n = room;
	while (n > 0 && base[n - 1] == '-')
		n--;
	memcpy(out, base, n);
	snprintf(out + n, CAP_K8S_LABEL + 1 - n, "%s", suffix);
}

/*
 * Gives out a label of at most CAP_K8S_LABEL bytes made from BASE (already
 * label characters): BASE itself, else BASE-2, BASE-3... each cut to fit.
 * Writes it to OUT and returns 0, or -ENOMEM.
 */
static int nameset_claim(struct nameset *s, const char *base, char *out)
{
	char cand[CAP_K8S_LABEL + 1], suffix[24];
	size_t k;

	cut_label(base, CAP_K8S_LABEL, "", cand);
	for (k = 2; nameset_has(s, cand); k++) {
		snprintf(suffix, sizeof(suffix), "-%zu", k);
		cut_label(base, CAP_K8S_LABEL, suffix, cand);
	}
	if (nameset_add(s, cand) < 0)
		return -ENOMEM;
	memcpy(out, cand, sizeof(cand));
	return 0;
}

/* A label value: [A-Za-z0-9._-], alphanumeric at both ends, at most 63
 * bytes.  Returns false when nothing is left. */
static bool label_value(const char *in, char *out)
{
	char buf[CAP_K8S_LABEL + 1];
	size_t n = 0, start = 0;

	while (in[start] && !((in[start] >= 'a' && in[start] <= 'z') ||
	                      (in[start] >= 'A' && in[start] <= 'Z') ||
	                      (in[start] >= '0' && in[start] <= '9')))
		start++;
	for (in += start; *in && n < CAP_K8S_LABEL; in++) {
		char c = *in;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		          c == '-';

		buf[n++] = ok ? c : '-';
	}
	while (n > 0 &&
	       (buf[n - 1] == '.' || buf[n - 1] == '_' || buf[n - 1] == '-'))
		n--;
	if (n == 0)
		return false;
	memcpy(out, buf, n);
	out[n] = '\0';
	return true;
}

/* ---- reading fields, with a fault for a value of the wrong type ---- */

/* The string at KEY: NULL when absent (or after a fault, when not a
 * string). */
static const char *get_str(struct gen *g, const cJSON *obj, const char *key,
                           const char *where)
{
	const cJSON *v = get(obj, key);

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		fault(g, "%s: %s: not a string", where, key);
		return NULL;
	}
	return v->valuestring;
}

/* The whole number at KEY, within [MIN, MAX], into *out: returns 1 when
 * given, 0 when absent, -EINVAL after a fault. */
static int get_long(struct gen *g, const cJSON *obj, const char *key, long min,
                    long max, const char *where, long *out)
{
	const cJSON *v = get(obj, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v)) {
		fault(g, "%s: %s: not a number", where, key);
		return -EINVAL;
	}
	d = v->valuedouble;
	if (!(d >= (double)min && d <= (double)max) || d != (double)(long)d) {
		fault(g, "%s: %s: not a whole number from %ld to %ld", where,
		      key, min, max);
		return -EINVAL;
	}
	*out = (long)d;
	return 1;
}

/* Whether KEY is true; false when absent, a fault when not a boolean. */
static bool get_flag(struct gen *g, const cJSON *obj, const char *key,
                     const char *where)
{
	const cJSON *v = get(obj, key);

	if (!v || cJSON_IsNull(v))
		return false;
	if (!cJSON_IsBool(v)) {
		fault(g, "%s: %s: not true or false", where, key);
		return false;
	}
	return cJSON_IsTrue(v);
}

/* The list at KEY: NULL when absent or after a fault. */
static const cJSON *get_list(struct gen *g, const cJSON *obj, const char *key,
                             const char *where)
{
	const cJSON *v = get(obj, key);

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		fault(g, "%s: %s: not a list", where, key);
		return NULL;
	}
	return v;
}

/* Copies the list of strings at KEY of OBJ to TO[TO_KEY]. */
static void copy_strings(struct gen *g, const cJSON *obj, const char *key,
                         cJSON *to, const char *to_key, const char *where)
{
	const cJSON *list = get_list(g, obj, key, where), *v;
	cJSON *arr;

	if (!list || !list->child)
		return;
	for (v = list->child; v; v = v->next) {
		if (!cJSON_IsString(v)) {
			fault(g, "%s: %s: not a list of strings", where, key);
			return;
		}
	}
	arr = put_arr(g, to, to_key);
	for (v = list->child; v; v = v->next)
		put_str(g, arr, NULL, v->valuestring);
}

/* Warns about every member of OBJ that TABLE does not mark handled. */
static void warn_untranslated(const cJSON *obj, const struct key_hint *table,
                              const char *where)
{
	const cJSON *v;
	size_t i;

	for (v = obj->child; v; v = v->next) {
		const char *hint = "no Kubernetes equivalent";
		bool handled = false;

		if (!v->string)
			continue;
		for (i = 0; table[i].key; i++) {
			if (strcmp(table[i].key, v->string) != 0)
				continue;
			handled = !table[i].hint;
			if (table[i].hint)
				hint = table[i].hint;
			break;
		}
		if (handled)
			continue;
		if (cJSON_IsNull(v) ||
		    (cJSON_IsString(v) && !v->valuestring[0]))
			continue;
		warn("%s: '%.200s' not translated: %s", where, v->string, hint);
	}
}

/* ---- the input ---- */

/* Reads PATH ("-": stdin) whole, NUL-terminated, within the manifest cap.
 * Prints the line manifest_load would print on failure. */
static int read_input(const char *path, char **out, size_t *out_len)
{
	FILE *f = stdin;
	char *buf = NULL;
	size_t len = 0, alloc = 0;
	int rc = 0;

	if (strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (!f) {
			rc = -errno;
			goto out;
		}
	}
	for (;;) {
		size_t n;

		if (len == alloc) {
			size_t want = alloc ? 2 * alloc : 65536;
			char *p;

			if (alloc > (size_t)CAP_MANIFEST_BYTES) {
				rc = -EFBIG;
				goto out;
			}
			p = realloc(buf, want + 1);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			buf = p;
			alloc = want;
		}
		n = fread(buf + len, 1, alloc - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f))
				rc = -EIO;
			break;
		}
	}
	if (rc == 0 && len > (size_t)CAP_MANIFEST_BYTES)
		rc = -EFBIG;
out:
	if (f && f != stdin)
		fclose(f);
	if (rc == -EFBIG)
		fprintf(stderr,
		        "manifest '%.200s': larger than the cap of %ld bytes\n",
		        path, CAP_MANIFEST_BYTES);
	else if (rc < 0)
		fprintf(stderr, "manifest '%.200s': cannot read: %s\n", path,
		        strerror(-rc));
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Runs the manifest checks for CONTAINER (NULL: the whole input) and
 * prints their lines.  Returns 0 and the manifest, or -EINVAL. */
static int check_manifest(struct gen *g, const char *container,
                          struct manifest **out)
{
	struct diag d = {0};
	struct manifest *m = NULL;
	size_t i;
	int rc;

	rc = manifest_parse(g->text, g->len, container, &m, &d);
	for (i = 0; i < d.count; i++)
		fault(g, "%s", d.lines[i]);
	diag_clear(&d);
	if (rc < 0) {
		if (g->faults == 0)
			fault(g, "manifest: %s", strerror(-rc));
		return -EINVAL;
	}
	if (out)
		*out = m;
	else
		manifest_free(m);
	return 0;
}

/* Finds the task definition in ROOT; a single container definition is
 * wrapped into one (*wrap, owned by the caller). */
static int find_task(struct gen *g, const cJSON *root, cJSON **wrap)
{
	const cJSON *td = root, *t, *defs;
	cJSON *w, *arr, *dup;

	if (cJSON_IsArray(root)) {
		check_manifest(g, NULL, NULL);
		fault(g, "manifest: a bare list of artifacts names no "
		         "container to run; give a task definition or a "
		         "container definition");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		fault(g, "manifest: neither an object nor a list of artifacts");
		return -EINVAL;
	}
	t = get(root, "taskDefinition");
	if (t) {
		static const struct key_hint top[] = {
		        {"taskDefinition", NULL},
		        {"tags", "labels come from the task definition"},
		        {NULL, NULL},
		};

		if (!cJSON_IsObject(t)) {
			fault(g, "manifest: taskDefinition: not an object");
			return -EINVAL;
		}
		warn_untranslated(root, top, "manifest");
		td = t;
	}
	defs = get(td, "containerDefinitions");
	if (defs) {
		if (!cJSON_IsArray(defs)) {
			fault(g, "manifest: containerDefinitions: not a list");
			return -EINVAL;
		}
		g->td = td;
		return 0;
	}
	if (!get(td, "name") && !get(td, "image") && !get(td, "artifacts")) {
		fault(g, "manifest: no containerDefinitions, taskDefinition "
		         "or container definition found");
		return -EINVAL;
	}
	w = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(w, "containerDefinitions");
	dup = cJSON_Duplicate(td, 1);
	if (!w || !arr || !dup || !cJSON_AddItemToArray(arr, dup)) {
		cJSON_Delete(dup);
		cJSON_Delete(w);
		return -ENOMEM;
	}
	*wrap = w;
	g->td = w;
	return 0;
}

/* Task size as ECS takes it: cpu "1024", 1024 or "1 vCPU"; memory "2048"
 * or "2 GB".  Returns the units or MiB, -1 when absent, -2 when not
 * understood. */
static long task_size(const cJSON *v, bool cpu)
{
	const char *unit;
	char *end;
	double d;

	if (!v || cJSON_IsNull(v))
		return -1;
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		unit = "";
	} else if (cJSON_IsString(v) && v->valuestring[0]) {
		errno = 0;
		d = strtod(v->valuestring, &end);
		if (errno != 0 || end == v->valuestring)
			return -2;
		while (*end == ' ')
			end++;
		unit = end;
	} else {
		return -2;
	}
	if (!(d > 0 && d < 1e9))
		return -2;
	if (cpu && strcasecmp(unit, "vcpu") == 0)
		d *= 1024;
	else if (!cpu && strcasecmp(unit, "gb") == 0)
		d *= 1024;
	else if (!(unit[0] == '\0' || (!cpu && strcasecmp(unit, "mb") == 0)))
		return -2;
	return (long)(d + 0.5);
}

/* ---- scanning: names, types and artifacts, before anything is built ---- */

static bool declares_artifacts(const cJSON *def)
{
	const cJSON *a = get(def, "artifacts");

	return a && !cJSON_IsNull(a) && !(cJSON_IsArray(a) && !a->child);
}

/* Whether URL has "user[:password]@" before its host. */
static bool has_userinfo(const char *url)
{
	const char *auth = strstr(url, "://"), *end;

	if (!auth)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	return memchr(auth, '@', (size_t)(end - auth)) != NULL;
}

/* Warnings about artifacts the containers may not be able to read. */
static void review_artifacts(const struct ctr *c, const struct manifest *m)
{
	char mode[8];
	size_t i;

	for (i = 0; i < m->count; i++) {
		const struct artifact *a = &m->items[i];

		if (strchr(a->url, '?'))
			warn("%s: artifact '%.200s': its URL has a query "
			     "string, which travels in the ConfigMap as "
			     "written, readable by whoever may read "
			     "ConfigMaps in the namespace",
			     c->where, a->name);
		if (has_userinfo(a->url))
			warn("%s: artifact '%.200s': its URL carries a user "
			     "name or password, which travels in the "
			     "ConfigMap as written, readable by whoever may "
			     "read ConfigMaps in the namespace",
			     c->where, a->name);
		if (!(a->mode & 0004) && c->uid < 0)
			warn("%s: artifact '%.200s' (%s) is not readable by "
			     "other users and the container declares no "
			     "numeric user: only root in the container can "
			     "read it",
			     c->where, a->name,
			     manifest_mode_str(a->mode, mode));
	}
}

/* "uid" or "uid:gid", numbers only, into c->uid and c->gid. */
static void parse_user(struct ctr *c, const char *user)
{
	char *end;
	long uid, gid = -1;

	errno = 0;
	uid = strtol(user, &end, 10);
	if (end == user || errno != 0 || uid < 0 || uid > INT_MAX ||
	    (*end != '\0' && *end != ':')) {
		warn("%s: user '%.200s' not translated: Kubernetes takes "
		     "numeric ids (runAsUser)",
		     c->where, user);
		return;
	}
	if (*end == ':') {
		const char *g = end + 1;

		errno = 0;
		gid = strtol(g, &end, 10);
		if (end == g || errno != 0 || gid < 0 || gid > INT_MAX ||
		    *end != '\0') {
			warn("%s: group of user '%.200s' not translated: "
			     "Kubernetes takes numeric ids (runAsGroup)",
			     c->where, user);
			gid = -1;
		}
	}
	c->uid = uid;
	c->gid = gid;
}

static int scan_container(struct gen *g, struct ctr *c, size_t pos)
{
	const char *name = NULL, *image, *user;
	const cJSON *v;
	char base[CAP_K8S_LABEL + 1];
	size_t i;

	c->uid = c->gid = -1;
	c->essential = true; /* as in ECS, when not given */
	snprintf(c->where, sizeof(c->where), "container #%zu", pos);
	if (!cJSON_IsObject(c->def)) {
		fault(g, "container #%zu: not an object", pos);
		return 0;
	}
	v = get(c->def, "name");
	if (cJSON_IsString(v) && v->valuestring[0]) {
		name = v->valuestring;
		snprintf(c->where, sizeof(c->where), "container '%.200s'",
		         name);
	} else {
		fault(g, "container #%zu: name: missing or not a string", pos);
	}
	c->ecs_name = name;
	for (i = 0; name && &g->ctrs[i] != c; i++) {
		if (g->ctrs[i].ecs_name && !strcmp(g->ctrs[i].ecs_name, name))
			fault(g, "%s: name: also the name of container #%zu",
			      c->where, i + 1);
	}
	image = get_str(g, c->def, "image", c->where);
	if (!image || !image[0])
		fault(g, "%s: image: missing", c->where);
	if (get(c->def, "essential"))
		c->essential = get_flag(g, c->def, "essential", c->where);
	user = get_str(g, c->def, "user", c->where);
	if (user)
		parse_user(c, user);

	if (!name || !dns_label(name, CAP_K8S_LABEL, base))
		snprintf(base, sizeof(base), "container");
	if (nameset_claim(&g->cnames, base, c->name) < 0)
		return -ENOMEM;
	c->artifacts = declares_artifacts(c->def);
	return 0;
}

/* Validates each container's artifacts with the manifest checks. */
static int scan_artifacts(struct gen *g)
{
	struct manifest *m;
	size_t i, k;

	for (i = 0; i < g->nctr; i++) {
		struct ctr *c = &g->ctrs[i];

		if (!c->artifacts || !c->ecs_name)
			continue;
		if (check_manifest(g, c->ecs_name, &m) < 0)
			continue;
		for (k = 0; k < m->count; k++) {
			if (m->items[k].scheme == URL_S3)
				g->s3 = true;
		}
		review_artifacts(c, m);
		manifest_free(m);
	}
	return 0;
}

static int scan_volumes(struct gen *g)
{
	const cJSON *list, *v;
	char base[CAP_K8S_LABEL + 1];
	size_t i, n;

	if (nameset_add(&g->vnames, MANIFEST_VOLUME) < 0 ||
	    nameset_add(&g->vnames, CACHE_VOLUME) < 0)
		return -ENOMEM;
	list = get_list(g, g->td, "volumes", "task definition");
	n = list ? (size_t)cJSON_GetArraySize(list) : 0;
	if (n > CAP_TASK_VOLUMES) {
		fault(g,
		      "task definition: volumes: %zu entries, more than the "
		      "cap of %d",
		      n, CAP_TASK_VOLUMES);
		return 0;
	}
	if (n) {
		g->vols = calloc(n, sizeof(*g->vols));
		if (!g->vols)
			return -ENOMEM;
	}
	for (v = list ? list->child : NULL; v; v = v->next) {
		struct vol *vol = &g->vols[g->nvol];
		const cJSON *name = get(v, "name");

		if (!cJSON_IsObject(v) || !cJSON_IsString(name) ||
		    !name->valuestring[0]) {
			fault(g, "task definition: volume #%zu: name: missing",
			      g->nvol + 1);
			continue;
		}
		for (i = 0; i < g->nvol; i++) {
			if (!strcmp(g->vols[i].ecs_name, name->valuestring))
				fault(g, "volume '%.200s': name: given twice",
				      name->valuestring);
		}
		vol->ecs_name = name->valuestring;
		if (!dns_label(vol->ecs_name, CAP_K8S_LABEL, base))
			snprintf(base, sizeof(base), "volume");
		if (nameset_claim(&g->vnames, base, vol->name) < 0)
			return -ENOMEM;
		g->nvol++;
	}
	return 0;
}

/* Names of the artifacts volumes and, in init mode, of the fetchers. */
static int name_artifact_parts(struct gen *g)
{
	char base[2 * CAP_K8S_LABEL + 16];
	size_t i;

	for (i = 0; i < g->nctr; i++) {
		struct ctr *c = &g->ctrs[i];

		if (!c->artifacts)
			continue;
		snprintf(base, sizeof(base), "artifacts-%s", c->name);
		if (nameset_claim(&g->vnames, base, c->vol) < 0)
			return -ENOMEM;
		if (g->opt->mode != MODE_INIT)
			continue;
		snprintf(base, sizeof(base), "fetch-%s", c->name);
		if (nameset_claim(&g->cnames, base, c->fetch) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int scan_task(struct gen *g)
{
	const cJSON *defs = get(g->td, "containerDefinitions"), *v;
	size_t n = (size_t)cJSON_GetArraySize(defs), i = 0;
	int rc;

	if (n == 0) {
		fault(g, "manifest: containerDefinitions: empty");
		return 0;
	}
	if (n > CAP_TASK_CONTAINERS) {
		fault(g,
		      "manifest: containerDefinitions: %zu entries, more than "
		      "the cap of %d",
		      n, CAP_TASK_CONTAINERS);
		return 0;
	}
	g->ctrs = calloc(n, sizeof(*g->ctrs));
	if (!g->ctrs)
		return -ENOMEM;
	if (nameset_add(&g->cnames, SIDECAR_NAME) < 0)
		return -ENOMEM;
	for (v = defs->child; v; v = v->next) {
		g->ctrs[i].def = v;
		g->nctr = ++i;
		rc = scan_container(g, &g->ctrs[i - 1], i);
		if (rc < 0)
			return rc;
	}
	g->task_cpu = task_size(get(g->td, "cpu"), true);
	g->task_mem = task_size(get(g->td, "memory"), false);
	if (g->task_cpu == -2) {
		warn("task definition: cpu not translated: not a number of "
		     "units or of vCPU");
		g->task_cpu = -1;
	}
	if (g->task_mem == -2) {
		warn("task definition: memory not translated: not a number "
		     "of MiB or of GB");
		g->task_mem = -1;
	}
	rc = scan_volumes(g);
	if (rc < 0)
		return rc;
	rc = name_artifact_parts(g);
	if (rc < 0)
		return rc;
	return scan_artifacts(g);
}

/* ---- one app container ---- */

static const struct key_hint container_keys[] = {
        {"name", NULL},
        {"image", NULL},
        {"essential", NULL},
        {"entryPoint", NULL},
        {"command", NULL},
        {"environment", NULL},
        {"secrets", NULL},
        {"portMappings", NULL},
        {"cpu", NULL},
        {"memory", NULL},
        {"memoryReservation", NULL},
        {"workingDirectory", NULL},
        {"user", NULL},
        {"healthCheck", NULL},
        {"mountPoints", NULL},
        {"artifacts", NULL},
        {"privileged", NULL},
        {"readonlyRootFilesystem", NULL},
        {"interactive", NULL},
        {"pseudoTerminal", NULL},
        {"linuxParameters", NULL},
        {"stopTimeout", NULL},
        {"logConfiguration", NULL}, /* warned about with its driver */
        {"dependsOn", "the app containers of a Pod start together"},
        {"links", "the containers of a Pod reach each other on localhost"},
        {"volumesFrom", "declare the volumes in mountPoints instead"},
        {"dockerLabels", "Docker labels have no Pod equivalent"},
        {"environmentFiles", "environment files are not read; use environment "
                             "or secrets"},
        {"firelensConfiguration", "FireLens is an ECS log router"},
        {"repositoryCredentials", "give the Pod imagePullSecrets instead"},
        {"systemControls", "set the Pod's securityContext.sysctls instead"},
        {"dnsServers", "set the Pod's dnsConfig instead"},
        {"dnsSearchDomains", "set the Pod's dnsConfig instead"},
        {"extraHosts", "set the Pod's hostAliases instead"},
        {"restartPolicy", "the Pod's restartPolicy applies to every container"},
        {NULL, NULL},
};

/* environment: name and value pairs, appended to the container's env
 * (*env, made on first use). */
static void put_environment(struct gen *g, struct ctr *c, cJSON **env, cJSON *o)
{
	static const char *const creds[] = {"AWS_SECRET_ACCESS_KEY",
	                                    "AWS_SESSION_TOKEN",
	                                    "AWS_ACCESS_KEY_ID", NULL};
	const cJSON *list = get_list(g, c->def, "environment", c->where), *e;
	size_t pos = 0, i;

	for (e = list ? list->child : NULL; e; e = e->next) {
		const cJSON *name = get(e, "name"), *value = get(e, "value");
		cJSON *item;

		pos++;
		if (!cJSON_IsString(name) || !name->valuestring[0]) {
			fault(g, "%s: environment #%zu: name: missing",
			      c->where, pos);
			continue;
		}
		if (value && !cJSON_IsString(value) && !cJSON_IsNull(value)) {
			fault(g,
			      "%s: environment '%.200s': value: not a string",
			      c->where, name->valuestring);
			continue;
		}
		for (i = 0; creds[i]; i++) {
			if (!strcmp(creds[i], name->valuestring))
				warn("%s: environment '%s' is a credential "
				     "written as a literal; it is copied into "
				     "the Pod as is: use secrets instead",
				     c->where, creds[i]);
		}
		if (!*env)
			*env = put_arr(g, o, "env");
		item = put_obj(g, *env, NULL);
		put_str(g, item, "name", name->valuestring);
		put_str(g, item, "value",
		        cJSON_IsString(value) ? value->valuestring : "");
	}
}

/* The Secret name (SECRET_PREFIX + the parameter's or secret's name as a
 * label) and key for an ECS secret reference: an SSM parameter (ARN or
 * name) or a Secrets Manager secret (ARN, with an optional JSON key).
 * Returns false when VALUE_FROM is neither. */
static bool secret_ref(const char *vf, char *name, size_t name_len, char *key,
                       size_t key_len)
{
	static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz"
	                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                "0123456789-._";
	const char *res = vf, *field[6], *jkey = "";
	char buf[CAP_K8S_SUBDOMAIN + 1], sname[CAP_K8S_SUBDOMAIN + 1];
	char skey[CAP_K8S_SUBDOMAIN + 1];
	size_t n, i, plen = strlen(SECRET_PREFIX);
	bool sm = false;

	if (!strncmp(vf, "arn:", 4)) {
		/* arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE */
		field[0] = vf;
		for (i = 1; i < 6; i++) {
			const char *colon = strchr(field[i - 1], ':');

			if (!colon)
				return false;
			field[i] = colon + 1;
		}
		if (!strncmp(field[2], "ssm:", 4) &&
		    !strncmp(field[5], "parameter", 9)) {
			res = field[5] + 9;
		} else if (!strncmp(field[2], "secretsmanager:", 15) &&
		           !strncmp(field[5], "secret:", 7)) {
			res = field[5] + 7; /* NAME[:JSON-KEY[:STAGE[:ID]]] */
			sm = true;
		} else {
			return false;
		}
	}
	if (*res == '/')
		res++;
	n = strcspn(res, ":");
	if (n == 0 || n > CAP_K8S_SUBDOMAIN)
		return false;
	memcpy(buf, res, n);
	buf[n] = '\0';
	if (sm && res[n] == ':')
		jkey = res + n + 1;
	/* Secrets Manager ARNs end with '-' and six random characters. */
	if (sm && n > 7 && buf[n - 7] == '-' &&
	    strspn(buf + n - 6, key_chars) == 6 && !strchr(buf + n - 6, '-') &&
	    !strchr(buf + n - 6, '.') && !strchr(buf + n - 6, '_'))
		buf[n - 7] = '\0';
	memcpy(sname, SECRET_PREFIX, plen);
	if (!dns_label(buf, CAP_K8S_SUBDOMAIN - plen, sname + plen))
		return false;
	n = strcspn(jkey, ":");
	if (n > CAP_K8S_SUBDOMAIN)
		return false;
	if (n == 0)
		snprintf(skey, sizeof(skey), "value");
	else
		snprintf(skey, sizeof(skey), "%.*s", (int)n, jkey);
	if (strspn(skey, key_chars) != strlen(skey))
		return false;
	snprintf(name, name_len, "%s", sname);
	snprintf(key, key_len, "%s", skey);
	return true;
}

/* secrets: env entries from Kubernetes Secrets, appended to *env. */
static void put_secrets(struct gen *g, struct ctr *c, cJSON **env, cJSON *o)
{
	const cJSON *list = get_list(g, c->def, "secrets", c->where), *s;
	char name[CAP_K8S_SUBDOMAIN + 1], key[CAP_K8S_SUBDOMAIN + 1];
	size_t pos = 0;

	for (s = list ? list->child : NULL; s; s = s->next) {
		const cJSON *n = get(s, "name"), *vf = get(s, "valueFrom");
		cJSON *item, *ref;

		pos++;
		if (!cJSON_IsString(n) || !n->valuestring[0]) {
			fault(g, "%s: secrets #%zu: name: missing", c->where,
			      pos);
			continue;
		}
		if (!cJSON_IsString(vf) || !vf->valuestring[0]) {
			fault(g, "%s: secret '%.200s': valueFrom: missing",
			      c->where, n->valuestring);
			continue;
		}
		if (!secret_ref(vf->valuestring, name, sizeof(name), key,
		                sizeof(key))) {
			warn("%s: secret '%.200s' not translated: valueFrom is "
			     "neither an SSM parameter nor a Secrets Manager "
			     "secret",
			     c->where, n->valuestring);
			continue;
		}
		if (!*env)
			*env = put_arr(g, o, "env");
		item = put_obj(g, *env, NULL);
		put_str(g, item, "name", n->valuestring);
		ref = put_obj(g, put_obj(g, item, "valueFrom"), "secretKeyRef");
		put_str(g, ref, "name", name);
		put_str(g, ref, "key", key);
	}
}

/* IANA service name, as Kubernetes wants a port name. */
static bool is_port_name(const char *s)
{
	size_t i, n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' ||
	    strstr(s, "--"))
		return false;
	for (i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
	}
	return letter;
}

static void put_port(struct gen *g, struct ctr *c, const cJSON *m, size_t pos,
                     cJSON **ports, cJSON *o)
{
	const char *proto, *name, *upper = "TCP";
	long port = 0, host = 0;
	cJSON *p;
	int rc;

	if (!cJSON_IsObject(m)) {
		fault(g, "%s: portMappings #%zu: not an object", c->where, pos);
		return;
	}
	rc = get_long(g, m, "containerPort", 1, 65535, c->where, &port);
	if (rc == 0 && get(m, "containerPortRange")) {
		warn("%s: portMappings #%zu: containerPortRange not "
		     "translated: a Pod declares single ports",
		     c->where, pos);
		return;
	}
	if (rc == 0)
		fault(g, "%s: portMappings #%zu: containerPort: missing",
		      c->where, pos);
	if (rc <= 0)
		return;
	proto = get_str(g, m, "protocol", c->where);
	if (proto && !strcasecmp(proto, "udp"))
		upper = "UDP";
	else if (proto && strcasecmp(proto, "tcp") != 0)
		fault(g,
		      "%s: portMappings #%zu: protocol: '%.200s' is not tcp "
		      "or udp",
		      c->where, pos, proto);
	if (get_long(g, m, "hostPort", 0, 65535, c->where, &host) > 0 &&
	    host != port && host != 0)
		warn("%s: portMappings #%zu: hostPort %ld not translated: a "
		     "Pod's port is reached on the Pod's own address",
		     c->where, pos, host);
	if (get(m, "appProtocol"))
		warn("%s: portMappings #%zu: appProtocol not translated: it "
		     "belongs on a Service port",
		     c->where, pos);
	if (!*ports)
		*ports = put_arr(g, o, "ports");
	p = put_obj(g, *ports, NULL);
	name = get_str(g, m, "name", c->where);
	if (name && is_port_name(name) && !nameset_has(&g->pnames, name)) {
		if (nameset_add(&g->pnames, name) < 0)
			g->err = -ENOMEM;
		put_str(g, p, "name", name);
	} else if (name) {
		warn("%s: port name '%.200s' not translated: not a valid "
		     "Kubernetes port name, or used twice",
		     c->where, name);
	}
	put_num(g, p, "containerPort", port);
	put_str(g, p, "protocol", upper);
}

static void put_ports(struct gen *g, struct ctr *c, cJSON *o)
{
	const cJSON *list = get_list(g, c->def, "portMappings", c->where), *m;
	cJSON *ports = NULL;
	size_t pos = 0;

	for (m = list ? list->child : NULL; m; m = m->next)
		put_port(g, c, m, ++pos, &ports, o);
}

static void put_resources(struct gen *g, struct ctr *c, cJSON *o)
{
	long cpu = -1, mem = -1, res = -1;
	char q[32];
	cJSON *r, *req, *lim = NULL;

	get_long(g, c->def, "cpu", 0, 1L << 30, c->where, &cpu);
	get_long(g, c->def, "memory", 1, 1L << 30, c->where, &mem);
	get_long(g, c->def, "memoryReservation", 1, 1L << 30, c->where, &res);
	if (mem > 0 && res > mem) {
		fault(g, "%s: memoryReservation: more than memory", c->where);
		return;
	}
	/* A single container may stand for the whole task size. */
	if (g->nctr == 1 && cpu < 0)
		cpu = g->task_cpu;
	if (g->nctr == 1 && mem < 0 && res < 0)
		mem = g->task_mem;
	if (cpu <= 0 && mem <= 0 && res <= 0)
		return;
	r = put_obj(g, o, "resources");
	req = put_obj(g, r, "requests");
	if (cpu > 0 || mem > 0)
		lim = put_obj(g, r, "limits");
	if (cpu > 0) {
		long milli = cpu * 1000 / 1024;

		snprintf(q, sizeof(q), "%ldm", milli > 0 ? milli : 1);
		put_str(g, req, "cpu", q);
		put_str(g, lim, "cpu", q);
	}
	if (mem > 0 || res > 0) {
		snprintf(q, sizeof(q), "%ldMi", res > 0 ? res : mem);
		put_str(g, req, "memory", q);
	}
	if (mem > 0) {
		snprintf(q, sizeof(q), "%ldMi", mem);
		put_str(g, lim, "memory", q);
	}
}

static const struct vol *find_volume(const struct gen *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nvol; i++) {
		if (!strcmp(g->vols[i].ecs_name, name))
			return &g->vols[i];
	}
	return NULL;
}

/* Whether two mount paths name one directory ("/a" and "/a/"). */
static bool same_path(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);

	while (n > 1 && a[n - 1] == '/')
		n--;
	while (m > 1 && b[m - 1] == '/')
		m--;
	return n == m && strncmp(a, b, n) == 0;
}

static void put_mounts(struct gen *g, struct ctr *c, cJSON *o)
{
	const cJSON *list = get_list(g, c->def, "mountPoints", c->where), *m,
	            *prev;
	cJSON *mounts = NULL, *vm;
	size_t pos = 0;

	for (m = list ? list->child : NULL; m; m = m->next) {
		const char *src, *path;
		const struct vol *vol;

		pos++;
		if (!cJSON_IsObject(m)) {
			fault(g, "%s: mountPoints #%zu: not an object",
			      c->where, pos);
			continue;
		}
		src = get_str(g, m, "sourceVolume", c->where);
		path = get_str(g, m, "containerPath", c->where);
		vol = src ? find_volume(g, src) : NULL;
		if (!vol) {
			fault(g,
			      "%s: mountPoints #%zu: sourceVolume: '%.200s' is "
			      "not a volume of the task definition",
			      c->where, pos, src ? src : "");
			continue;
		}
		if (!path || path[0] != '/') {
			fault(g,
			      "%s: mountPoints #%zu: containerPath: missing or "
			      "not absolute",
			      c->where, pos);
			continue;
		}
		if (c->artifacts && same_path(path, APP_DIR)) {
			fault(g,
			      "%s: mountPoints #%zu: containerPath: " APP_DIR
			      " is where the artifacts go",
			      c->where, pos);
			continue;
		}
		for (prev = list->child; prev != m; prev = prev->next) {
			const cJSON *pp = get(prev, "containerPath");

			if (cJSON_IsString(pp) &&
			    same_path(pp->valuestring, path))
				fault(g,
				      "%s: mountPoints #%zu: containerPath: "
				      "'%.200s' is mounted twice",
				      c->where, pos, path);
		}
		if (!mounts)
			mounts = put_arr(g, o, "volumeMounts");
		vm = put_obj(g, mounts, NULL);
		put_str(g, vm, "name", vol->name);
		put_str(g, vm, "mountPath", path);
		if (get_flag(g, m, "readOnly", c->where))
			put_bool(g, vm, "readOnly", true);
	}
	if (!c->artifacts)
		return;
	if (!mounts)
		mounts = put_arr(g, o, "volumeMounts");
	vm = put_obj(g, mounts, NULL);
	put_str(g, vm, "name", c->vol);
	put_str(g, vm, "mountPath", APP_DIR);
	put_bool(g, vm, "readOnly", true);
	if (g->opt->mode == MODE_SIDECAR)
		put_str(g, vm, "mountPropagation", "HostToContainer");
}

/* The probe command of an ECS health check, into a new exec object. */
static cJSON *health_exec(struct gen *g, const cJSON *cmd)
{
	const cJSON *first = cmd->child, *v;
	cJSON *exec = cJSON_CreateObject(), *arr;
	char *joined = NULL;
	size_t len = 0;

	arr = put_arr(g, exec, "command");
	if (!strcmp(first->valuestring, "CMD-SHELL")) {
		/* Docker joins the rest with spaces and runs it by /bin/sh. */
		for (v = first->next; v; v = v->next)
			len += strlen(v->valuestring) + 1;
		joined = calloc(1, len + 1);
		if (!joined) {
			g->err = -ENOMEM;
			cJSON_Delete(exec);
			return NULL;
		}
		for (v = first->next; v; v = v->next) {
			if (v != first->next)
				strncat(joined, " ", len);
			strncat(joined, v->valuestring, len);
		}
		put_str(g, arr, NULL, "/bin/sh");
		put_str(g, arr, NULL, "-c");
		put_str(g, arr, NULL, joined);
		free(joined);
		return exec;
	}
	v = strcmp(first->valuestring, "CMD") == 0 ? first->next : first;
	for (; v; v = v->next)
		put_str(g, arr, NULL, v->valuestring);
	return exec;
}

static void put_probe(struct gen *g, cJSON *o, const char *key,
                      const cJSON *cmd, long period, long timeout, long fails)
{
	cJSON *p = put_obj(g, o, key);

	put(g, p, "exec", health_exec(g, cmd));
	put_num(g, p, "periodSeconds", period);
	put_num(g, p, "timeoutSeconds", timeout);
	put_num(g, p, "failureThreshold", fails);
}

/* healthCheck: liveness and readiness probes with its interval, timeout
 * and retries; its startPeriod as a startup probe that allows that long
 * before the others count. */
static void put_health(struct gen *g, struct ctr *c, cJSON *o)
{
	const cJSON *hc = get(c->def, "healthCheck"), *cmd, *v;
	long interval = HC_INTERVAL, timeout = HC_TIMEOUT, retries = HC_RETRIES;
	long start = 0;

	if (!hc || cJSON_IsNull(hc))
		return;
	if (!cJSON_IsObject(hc)) {
		fault(g, "%s: healthCheck: not an object", c->where);
		return;
	}
	cmd = get(hc, "command");
	if (!cJSON_IsArray(cmd) || !cmd->child) {
		fault(g, "%s: healthCheck: command: missing", c->where);
		return;
	}
	for (v = cmd->child; v; v = v->next) {
		if (!cJSON_IsString(v)) {
			fault(g,
			      "%s: healthCheck: command: not a list of strings",
			      c->where);
			return;
		}
	}
	if (!strcmp(cmd->child->valuestring, "NONE"))
		return;
	if ((!strcmp(cmd->child->valuestring, "CMD-SHELL") ||
	     !strcmp(cmd->child->valuestring, "CMD")) &&
	    !cmd->child->next) {
		fault(g, "%s: healthCheck: command: nothing after '%s'",
		      c->where, cmd->child->valuestring);
		return;
	}
	if (strcmp(cmd->child->valuestring, "CMD-SHELL") != 0 &&
	    strcmp(cmd->child->valuestring, "CMD") != 0)
		warn("%s: healthCheck: command starts with neither CMD nor "
		     "CMD-SHELL; run as given",
		     c->where);
	get_long(g, hc, "interval", 1, 86400, c->where, &interval);
	get_long(g, hc, "timeout", 1, 86400, c->where, &timeout);
	get_long(g, hc, "retries", 1, 1000, c->where, &retries);
	get_long(g, hc, "startPeriod", 0, 86400, c->where, &start);
	if (start > 0)
		put_probe(g, o, "startupProbe", cmd, interval, timeout,
		          (start + interval - 1) / interval + retries);
	put_probe(g, o, "livenessProbe", cmd, interval, timeout, retries);
	put_probe(g, o, "readinessProbe", cmd, interval, timeout, retries);
}

static void put_capabilities(struct gen *g, struct ctr *c, const cJSON *lp,
                             cJSON **sc, cJSON *o)
{
	static const char *const keys[] = {"add", "drop", NULL};
	const cJSON *caps = get(lp, "capabilities");
	cJSON *to;
	size_t i;

	if (!caps || cJSON_IsNull(caps))
		return;
	if (!cJSON_IsObject(caps)) {
		fault(g, "%s: linuxParameters: capabilities: not an object",
		      c->where);
		return;
	}
	if (!*sc)
		*sc = put_obj(g, o, "securityContext");
	to = put_obj(g, *sc, "capabilities");
	for (i = 0; keys[i]; i++)
		copy_strings(g, caps, keys[i], to, keys[i], c->where);
}

static void put_security(struct gen *g, struct ctr *c, cJSON *o)
{
	static const struct key_hint lp_keys[] = {
	        {"capabilities", NULL},
	        {"initProcessEnabled", "no init process is added"},
	        {"sharedMemorySize", "mount an emptyDir of medium Memory on "
	                             "/dev/shm instead"},
	        {NULL, NULL},
	};
	const cJSON *lp = get(c->def, "linuxParameters");
	char where[WHERE_BYTES + 24];
	cJSON *sc = NULL;
	bool priv = get_flag(g, c->def, "privileged", c->where);
	bool ro = get_flag(g, c->def, "readonlyRootFilesystem", c->where);

	if (c->uid >= 0 || priv || ro)
		sc = put_obj(g, o, "securityContext");
	if (c->uid >= 0)
		put_num(g, sc, "runAsUser", c->uid);
	if (c->gid >= 0)
		put_num(g, sc, "runAsGroup", c->gid);
	if (priv)
		put_bool(g, sc, "privileged", true);
	if (ro)
		put_bool(g, sc, "readOnlyRootFilesystem", true);
	if (!lp || cJSON_IsNull(lp))
		return;
	if (!cJSON_IsObject(lp)) {
		fault(g, "%s: linuxParameters: not an object", c->where);
		return;
	}
	put_capabilities(g, c, lp, &sc, o);
	snprintf(where, sizeof(where), "%s: linuxParameters", c->where);
	warn_untranslated(lp, lp_keys, where);
}

static void warn_container(struct gen *g, struct ctr *c)
{
	const cJSON *lc = get(c->def, "logConfiguration");
	const char *driver = NULL;
	long stop = -1;

	if (lc && !cJSON_IsNull(lc)) {
		const cJSON *d =
		        cJSON_IsObject(lc) ? get(lc, "logDriver") : NULL;

		driver = cJSON_IsString(d) ? d->valuestring : NULL;
		warn("%s: 'logConfiguration' (%.200s) not translated: the "
		     "cluster's log collector reads container output",
		     c->where, driver ? driver : "no driver");
	}
	warn_untranslated(c->def, container_keys, c->where);
	if (!c->essential)
		warn("%s: essential false not enforced: Kubernetes restarts "
		     "a container that ends, essential or not (recorded in "
		     "annotation kecs.dev/essential-containers)",
		     c->where);
	if (get_long(g, c->def, "stopTimeout", 0, 86400, c->where, &stop) > 0 &&
	    stop > g->grace)
		g->grace = stop;
}

static void put_container(struct gen *g, struct ctr *c, cJSON *list)
{
	cJSON *o = put_obj(g, list, NULL), *env = NULL;
	const char *wd;

	put_str(g, o, "name", c->name);
	put_str(g, o, "image", get(c->def, "image")->valuestring);
	copy_strings(g, c->def, "entryPoint", o, "command", c->where);
	copy_strings(g, c->def, "command", o, "args", c->where);
	wd = get_str(g, c->def, "workingDirectory", c->where);
	if (wd && wd[0])
		put_str(g, o, "workingDir", wd);
	put_environment(g, c, &env, o);
	put_secrets(g, c, &env, o);
	put_ports(g, c, o);
	put_resources(g, c, o);
	put_mounts(g, c, o);
	put_health(g, c, o);
	put_security(g, c, o);
	if (get_flag(g, c->def, "interactive", c->where))
		put_bool(g, o, "stdin", true);
	if (get_flag(g, c->def, "pseudoTerminal", c->where))
		put_bool(g, o, "tty", true);
	warn_container(g, c);
}

/* ---- what artifactfs adds ---- */

static void put_volume_mount(struct gen *g, cJSON *mounts, const char *name,
                             const char *path, bool ro, const char *prop)
{
	cJSON *m = put_obj(g, mounts, NULL);

	put_str(g, m, "name", name);
	put_str(g, m, "mountPath", path);
	if (ro)
		put_bool(g, m, "readOnly", true);
	if (prop)
		put_str(g, m, "mountPropagation", prop);
}

/* S3 credentials come from the environment the Pod gives (a Secret the
 * user creates, optional) or from its service account: never literals. */
static void put_creds(struct gen *g, cJSON *o)
{
	cJSON *ref;

	if (!g->s3)
		return;
	ref = put_obj(g, put_obj(g, put_arr(g, o, "envFrom"), NULL),
	              "secretRef");
	put_str(g, ref, "name", CREDS_SECRET);
	put_bool(g, ref, "optional", true);
}

static cJSON *mount_probe(struct gen *g, cJSON *o, const char *key, long period,
                          long fails)
{
	cJSON *p = put_obj(g, o, key), *cmd;
	char dir[sizeof(MOUNT_ROOT) + CAP_K8S_LABEL + 2];
	size_t i;

	cmd = put_arr(g, put_obj(g, p, "exec"), "command");
	put_str(g, cmd, NULL, "/bin/sh");
	put_str(g, cmd, NULL, "-c");
	put_str(g, cmd, NULL, probe_script);
	put_str(g, cmd, NULL, "artifactfs-probe");
	for (i = 0; i < g->nctr; i++) {
		if (!g->ctrs[i].artifacts)
			continue;
		snprintf(dir, sizeof(dir), MOUNT_ROOT "/%s", g->ctrs[i].name);
		put_str(g, cmd, NULL, dir);
	}
	put_num(g, p, "periodSeconds", period);
	put_num(g, p, "timeoutSeconds", 5);
	put_num(g, p, "failureThreshold", fails);
	return p;
}

static void put_sidecar(struct gen *g, cJSON *list)
{
	cJSON *o = put_obj(g, list, NULL), *cmd, *mounts, *r;
	char dir[sizeof(MOUNT_ROOT) + CAP_K8S_LABEL + 2], opts[64];
	size_t i;

	put_str(g, o, "name", SIDECAR_NAME);
	put_str(g, o, "image", g->opt->image);
	put_str(g, o, "imagePullPolicy", "IfNotPresent");
	put_str(g, o, "restartPolicy", "Always");
	cmd = put_arr(g, o, "command");
	put_str(g, cmd, NULL, "/bin/bash");
	put_str(g, cmd, NULL, "-c");
	put_str(g, cmd, NULL, sidecar_script);
	put_str(g, cmd, NULL, "artifactfs-sidecar");
	put_str(g, cmd, NULL, MANIFEST_PATH);
	/* A directory of its own inside the volume: an emptyDir's root is
	 * open to all, and artifactfs keeps its cache private (0700). */
	put_str(g, cmd, NULL, CACHE_DIR "/sidecar");
	for (i = 0; i < g->nctr; i++) {
		const struct ctr *c = &g->ctrs[i];

		if (!c->artifacts)
			continue;
		snprintf(dir, sizeof(dir), MOUNT_ROOT "/%s", c->name);
		opts[0] = '\0';
		if (c->uid >= 0 && c->gid >= 0)
			snprintf(opts, sizeof(opts), "uid=%ld,gid=%ld", c->uid,
			         c->gid);
		else if (c->uid >= 0)
			snprintf(opts, sizeof(opts), "uid=%ld", c->uid);
		put_str(g, cmd, NULL, c->ecs_name);
		put_str(g, cmd, NULL, dir);
		put_str(g, cmd, NULL, opts);
	}
	put_creds(g, o);
	put_bool(g, put_obj(g, o, "securityContext"), "privileged", true);
	mount_probe(g, o, "startupProbe", 1, 120);
	mount_probe(g, o, "livenessProbe", 10, 3);
	r = put_obj(g, put_obj(g, o, "resources"), "requests");
	put_str(g, r, "cpu", "50m");
	put_str(g, r, "memory", "64Mi");
	mounts = put_arr(g, o, "volumeMounts");
	put_volume_mount(g, mounts, MANIFEST_VOLUME, MANIFEST_DIR, true, NULL);
	put_volume_mount(g, mounts, CACHE_VOLUME, CACHE_DIR, false, NULL);
	for (i = 0; i < g->nctr; i++) {
		if (!g->ctrs[i].artifacts)
			continue;
		snprintf(dir, sizeof(dir), MOUNT_ROOT "/%s", g->ctrs[i].name);
		put_volume_mount(g, mounts, g->ctrs[i].vol, dir, false,
		                 "Bidirectional");
	}
}

/* --mode init: one unprivileged `artifactfs fetch` per container, as the
 * container's own user when it declares one, so that the files are its. */
static void put_fetcher(struct gen *g, const struct ctr *c, cJSON *list)
{
	cJSON *o = put_obj(g, list, NULL), *cmd, *sc, *mounts;
	char cache[sizeof(CACHE_DIR) + CAP_K8S_LABEL + 2];

	snprintf(cache, sizeof(cache), CACHE_DIR "/%s", c->name);
	put_str(g, o, "name", c->fetch);
	put_str(g, o, "image", g->opt->image);
	put_str(g, o, "imagePullPolicy", "IfNotPresent");
	cmd = put_arr(g, o, "command");
	put_str(g, cmd, NULL, "artifactfs");
	put_str(g, cmd, NULL, "fetch");
	put_str(g, cmd, NULL, "--cache-dir");
	put_str(g, cmd, NULL, cache);
	put_str(g, cmd, NULL, "--container");
	put_str(g, cmd, NULL, c->ecs_name);
	put_str(g, cmd, NULL, MANIFEST_PATH);
	put_str(g, cmd, NULL, APP_DIR);
	put_creds(g, o);
	sc = put_obj(g, o, "securityContext");
	put_bool(g, sc, "privileged", false);
	put_bool(g, sc, "allowPrivilegeEscalation", false);
	put_str(g, put_arr(g, put_obj(g, sc, "capabilities"), "drop"), NULL,
	        "ALL");
	if (c->uid >= 0)
		put_num(g, sc, "runAsUser", c->uid);
	if (c->gid >= 0)
		put_num(g, sc, "runAsGroup", c->gid);
	mounts = put_arr(g, o, "volumeMounts");
	put_volume_mount(g, mounts, MANIFEST_VOLUME, MANIFEST_DIR, true, NULL);
	put_volume_mount(g, mounts, CACHE_VOLUME, CACHE_DIR, false, NULL);
	put_volume_mount(g, mounts, c->vol, APP_DIR, false, NULL);
}

/* The artifact lists, as a task definition artifactfs reads: only the
 * containers' names and artifacts travel. */
static char *manifest_text(struct gen *g)
{
	const cJSON *family = get(g->td, "family");
	cJSON *td = cJSON_CreateObject(), *defs;
	char *text = NULL;
	size_t i;

	if (cJSON_IsString(family))
		put_str(g, td, "family", family->valuestring);
	defs = put_arr(g, td, "containerDefinitions");
	for (i = 0; i < g->nctr; i++) {
		const struct ctr *c = &g->ctrs[i];
		cJSON *d;

		if (!c->artifacts)
			continue;
		d = put_obj(g, defs, NULL);
		put_str(g, d, "name", c->ecs_name);
		put(g, d, "artifacts",
		    cJSON_Duplicate(get(c->def, "artifacts"), 1));
	}
	if (td && !g->err)
		text = cJSON_Print(td);
	if (td && !g->err && !text)
		g->err = -ENOMEM;
	cJSON_Delete(td);
	return text;
}

/* cJSON indents with tabs and puts one after each colon: two spaces a
 * level instead, and one space after a colon.  JSON strings hold no raw
 * tab, so every tab is layout.  Returns a new string with a final
 * newline, or NULL. */
static char *reindent(const char *s)
{
	size_t n = 0, i, o = 0;
	bool bol = true;
	char *out;

	for (i = 0; s[i]; i++)
		n += s[i] == '\t' ? 2 : 1;
	out = malloc(n + 2);
	if (!out)
		return NULL;
	for (i = 0; s[i]; i++) {
		if (s[i] == '\t' && bol) {
			out[o++] = ' ';
			out[o++] = ' ';
			continue;
		}
		bol = s[i] == '\n';
		out[o++] = s[i] == '\t' ? ' ' : s[i];
	}
	out[o++] = '\n';
	out[o] = '\0';
	return out;
}

/* metadata: name, namespace and the KECS-style labels; returns it. */
static cJSON *put_meta(struct gen *g, cJSON *doc, const char *name)
{
	const cJSON *family = get(g->td, "family"),
	            *rev = get(g->td, "revision");
	cJSON *meta = put_obj(g, doc, "metadata"), *labels;
	char buf[CAP_K8S_LABEL + 1];

	put_str(g, meta, "name", name);
	if (g->opt->ns)
		put_str(g, meta, "namespace", g->opt->ns);
	labels = put_obj(g, meta, "labels");
	if (cJSON_IsString(family) && label_value(family->valuestring, buf))
		put_str(g, labels, "kecs.dev/task-family", buf);
	if (cJSON_IsNumber(rev)) {
		snprintf(buf, sizeof(buf), "%ld", (long)rev->valuedouble);
		put_str(g, labels, "kecs.dev/task-revision", buf);
	}
	put_str(g, labels, "kecs.dev/managed-by", "artifactfs-podspec");
	return meta;
}

static cJSON *configmap(struct gen *g, const char *name)
{
	cJSON *doc = cJSON_CreateObject(), *data;
	char *text = manifest_text(g), *pretty = NULL;

	put_str(g, doc, "apiVersion", "v1");
	put_str(g, doc, "kind", "ConfigMap");
	put_meta(g, doc, name);
	data = put_obj(g, doc, "data");
	if (text)
		pretty = reindent(text);
	if (text && !pretty)
		g->err = -ENOMEM;
	if (pretty)
		put_str(g, data, MANIFEST_KEY, pretty);
	free(text);
	free(pretty);
	if (!doc)
		g->err = -ENOMEM;
	return doc;
}

static const struct key_hint task_keys[] = {
        {"family", NULL},
        {"containerDefinitions", NULL},
        {"volumes", NULL},
        {"cpu", NULL},
        {"memory", NULL},
        {"networkMode", NULL},
        {"pidMode", NULL},
        {"ipcMode", NULL},
        {"taskRoleArn", NULL},
        {"executionRoleArn", NULL},
        {"runtimePlatform", NULL},
        {"taskDefinitionArn", NULL},
        {"revision", NULL},
        /* What DescribeTaskDefinition reports about the registration. */
        {"status", NULL},
        {"requiresAttributes", NULL},
        {"compatibilities", NULL},
        {"registeredAt", NULL},
        {"registeredBy", NULL},
        {"deregisteredAt", NULL},
        {"requiresCompatibilities", "an ECS launch setting; a Pod runs "
                                    "wherever the cluster schedules it"},
        {"placementConstraints", "use the Pod's nodeSelector or affinity"},
        {"proxyConfiguration", "an App Mesh proxy setting"},
        {"ephemeralStorage", "set ephemeral-storage on the containers"},
        {"tags", "labels come from the task definition"},
        {NULL, NULL},
};

static void put_task_modes(struct gen *g, cJSON *spec)
{
	const char *net, *pid, *ipc;

	net = get_str(g, g->td, "networkMode", "task definition");
	if (net && !strcmp(net, "host"))
		put_bool(g, spec, "hostNetwork", true);
	else if (net && strcmp(net, "awsvpc") != 0)
		warn("task definition: networkMode '%.200s' not translated: "
		     "the containers of a Pod share the Pod's network, as "
		     "with awsvpc",
		     net);
	pid = get_str(g, g->td, "pidMode", "task definition");
	if (pid && !strcmp(pid, "host"))
		put_bool(g, spec, "hostPID", true);
	else if (pid && !strcmp(pid, "task"))
		put_bool(g, spec, "shareProcessNamespace", true);
	else if (pid)
		warn("task definition: pidMode '%.200s' not translated", pid);
	ipc = get_str(g, g->td, "ipcMode", "task definition");
	if (ipc && !strcmp(ipc, "host"))
		put_bool(g, spec, "hostIPC", true);
	else if (ipc && strcmp(ipc, "task") != 0)
		warn("task definition: ipcMode '%.200s' not translated: the "
		     "containers of a Pod share IPC",
		     ipc);
}

static void put_platform(struct gen *g, cJSON *spec)
{
	const cJSON *rp = get(g->td, "runtimePlatform");
	const char *os, *arch, *kos = NULL, *karch = NULL;
	cJSON *sel;

	if (!cJSON_IsObject(rp))
		return;
	os = get_str(g, rp, "operatingSystemFamily", "runtimePlatform");
	arch = get_str(g, rp, "cpuArchitecture", "runtimePlatform");
	if (os && !strcmp(os, "LINUX"))
		kos = "linux";
	else if (os && !strncmp(os, "WINDOWS", 7))
		kos = "windows";
	else if (os)
		warn("task definition: runtimePlatform: operatingSystemFamily "
		     "'%.200s' not translated",
		     os);
	if (arch && !strcmp(arch, "X86_64"))
		karch = "amd64";
	else if (arch && !strcmp(arch, "ARM64"))
		karch = "arm64";
	else if (arch)
		warn("task definition: runtimePlatform: cpuArchitecture "
		     "'%.200s' not translated",
		     arch);
	if (!kos && !karch)
		return;
	sel = put_obj(g, spec, "nodeSelector");
	if (kos)
		put_str(g, sel, "kubernetes.io/os", kos);
	if (karch)
		put_str(g, sel, "kubernetes.io/arch", karch);
}

static void put_annotations(struct gen *g, cJSON *meta)
{
	static const char *const roles[][3] = {
	        {"taskRoleArn", "kecs.dev/task-role-arn",
	         "give the Pod a service account bound to that role"},
	        {"executionRoleArn", "kecs.dev/execution-role-arn",
	         "the kubelet pulls the images, and secrets come from "
	         "Kubernetes Secrets"},
	};
	const char *arn;
	cJSON *ann = put_obj(g, meta, "annotations");
	char *list;
	size_t i, n = 1;

	arn = get_str(g, g->td, "taskDefinitionArn", "task definition");
	if (arn && arn[0])
		put_str(g, ann, "kecs.dev/task-definition-arn", arn);
	for (i = 0; i < 2; i++) {
		arn = get_str(g, g->td, roles[i][0], "task definition");
		if (!arn || !arn[0])
			continue;
		put_str(g, ann, roles[i][1], arn);
		warn("task definition: %s recorded in annotation %s, not "
		     "applied: %s",
		     roles[i][0], roles[i][1], roles[i][2]);
	}
	for (i = 0; i < g->nctr; i++)
		n += strlen(g->ctrs[i].name) + 1;
	list = calloc(1, n);
	if (!list) {
		g->err = -ENOMEM;
		return;
	}
	for (i = 0; i < g->nctr; i++) {
		if (!g->ctrs[i].essential)
			continue;
		if (list[0])
			strncat(list, ",", n - strlen(list) - 1);
		strncat(list, g->ctrs[i].name, n - strlen(list) - 1);
	}
	put_str(g, ann, "kecs.dev/essential-containers", list);
	free(list);
}

static void put_volumes(struct gen *g, cJSON *spec, const char *cm_name)
{
	const cJSON *list = get(g->td, "volumes"), *v;
	cJSON *vols = NULL, *o;
	size_t i = 0;
	bool any = false;

	for (i = 0; i < g->nctr; i++)
		any = any || g->ctrs[i].artifacts;
	if (g->nvol || any)
		vols = put_arr(g, spec, "volumes");
	i = 0;
	for (v = list ? list->child : NULL; v && i < g->nvol; v = v->next) {
		const cJSON *host = get(v, "host"), *path;
		char where[WHERE_BYTES];

		if (!cJSON_IsObject(v) || !cJSON_IsString(get(v, "name")))
			continue;
		snprintf(where, sizeof(where), "volume '%.200s'",
		         g->vols[i].ecs_name);
		o = put_obj(g, vols, NULL);
		put_str(g, o, "name", g->vols[i++].name);
		path = cJSON_IsObject(host) ? get(host, "sourcePath") : NULL;
		if (cJSON_IsString(path) && path->valuestring[0]) {
			put_str(g, put_obj(g, o, "hostPath"), "path",
			        path->valuestring);
			continue;
		}
		put_obj(g, o, "emptyDir");
		if (get(v, "efsVolumeConfiguration"))
			warn("%s: efsVolumeConfiguration not translated: an "
			     "emptyDir stands in; use a PersistentVolumeClaim",
			     where);
		if (get(v, "fsxWindowsFileServerVolumeConfiguration"))
			warn("%s: fsxWindowsFileServerVolumeConfiguration not "
			     "translated: an emptyDir stands in",
			     where);
		if (get(v, "dockerVolumeConfiguration"))
			warn("%s: dockerVolumeConfiguration not translated: an "
			     "emptyDir stands in",
			     where);
		if (get(v, "configuredAtLaunch"))
			warn("%s: configuredAtLaunch not translated", where);
	}
	if (!any)
		return;
	o = put_obj(g, vols, NULL);
	put_str(g, o, "name", MANIFEST_VOLUME);
	put_str(g, put_obj(g, o, "configMap"), "name", cm_name);
	o = put_obj(g, vols, NULL);
	put_str(g, o, "name", CACHE_VOLUME);
	put_obj(g, o, "emptyDir");
	for (i = 0; i < g->nctr; i++) {
		if (!g->ctrs[i].artifacts)
			continue;
		o = put_obj(g, vols, NULL);
		put_str(g, o, "name", g->ctrs[i].vol);
		put_obj(g, o, "emptyDir");
	}
}

static void warn_task_size(struct gen *g)
{
	static const char *const keys[] = {"cpu", "memory"};
	const long sizes[] = {g->task_cpu, g->task_mem};
	size_t i, k;

	if (g->nctr < 2)
		return;
	for (k = 0; k < 2; k++) {
		bool all = true;

		for (i = 0; i < g->nctr; i++)
			all = all && get(g->ctrs[i].def, keys[k]);
		if (sizes[k] > 0 && !all)
			warn("task definition: %s not translated: Kubernetes "
			     "has no limit for a whole Pod, and not every "
			     "container declares its own",
			     keys[k]);
	}
}

static cJSON *pod(struct gen *g, const char *cm_name)
{
	cJSON *doc = cJSON_CreateObject(), *spec, *inits = NULL, *ctrs;
	size_t i;
	bool any = false;

	put_str(g, doc, "apiVersion", "v1");
	put_str(g, doc, "kind", "Pod");
	put_annotations(g, put_meta(g, doc, g->pod));
	spec = put_obj(g, doc, "spec");
	put_task_modes(g, spec);
	put_platform(g, spec);
	for (i = 0; i < g->nctr; i++)
		any = any || g->ctrs[i].artifacts;
	if (any)
		inits = put_arr(g, spec, "initContainers");
	if (any && g->opt->mode == MODE_SIDECAR)
		put_sidecar(g, inits);
	for (i = 0; any && g->opt->mode == MODE_INIT && i < g->nctr; i++) {
		if (g->ctrs[i].artifacts)
			put_fetcher(g, &g->ctrs[i], inits);
	}
	ctrs = put_arr(g, spec, "containers");
	for (i = 0; i < g->nctr; i++)
		put_container(g, &g->ctrs[i], ctrs);
	if (g->grace > 0)
		put_num(g, spec, "terminationGracePeriodSeconds", g->grace);
	put_volumes(g, spec, cm_name);
	warn_task_size(g);
	warn_untranslated(g->td, task_keys, "task definition");
	if (!doc)
		g->err = -ENOMEM;
	return doc;
}

/* The documents to write, in order: the ConfigMap (when any container
 * declares artifacts), then the Pod. */
static int build(struct gen *g, cJSON **out)
{
	cJSON *docs = cJSON_CreateArray();
	char cm_name[CAP_K8S_LABEL + 16];
	size_t i;
	bool any = false;

	if (!docs)
		return -ENOMEM;
	snprintf(cm_name, sizeof(cm_name), "%s-artifacts", g->pod);
	for (i = 0; i < g->nctr; i++)
		any = any || g->ctrs[i].artifacts;
	if (any)
		put(g, docs, NULL, configmap(g, cm_name));
	put(g, docs, NULL, pod(g, cm_name));
	if (g->err < 0 || g->faults) {
		cJSON_Delete(docs);
		return g->err < 0 ? g->err : -EINVAL;
	}
	*out = docs;
	return 0;
}

static int pod_name(struct gen *g)
{
	const cJSON *family = get(g->td, "family");

	if (g->opt->name) {
		snprintf(g->pod, sizeof(g->pod), "%s", g->opt->name);
		return 0;
	}
	if (cJSON_IsString(family) &&
	    dns_label(family->valuestring, CAP_K8S_LABEL, g->pod))
		return 0;
	if (g->nctr && g->ctrs[0].name[0]) {
		snprintf(g->pod, sizeof(g->pod), "%s", g->ctrs[0].name);
		return 0;
	}
	snprintf(g->pod, sizeof(g->pod), "task");
	return 0;
}

/* Reads the input and builds the documents; bad input is -EINVAL after
 * its lines were printed. */
static int generate(struct gen *g, cJSON **out)
{
	cJSON *root = NULL, *wrap = NULL;
	const char *end = NULL;
	int rc;

	if (g->len >= 3 && !memcmp(g->text, "\xef\xbb\xbf", 3))
		root = cJSON_ParseWithOpts(g->text + 3, &end, 1);
	else
		root = cJSON_ParseWithOpts(g->text, &end, 1);
	if (!root || strlen(g->text) != g->len) {
		check_manifest(g, NULL, NULL);
		if (g->faults == 0)
			fault(g, "manifest: not valid JSON");
		rc = -EINVAL;
		goto out;
	}
	rc = find_task(g, root, &wrap);
	if (rc < 0)
		goto out;
	rc = scan_task(g);
	if (rc < 0)
		goto out;
	if (g->faults) {
		rc = -EINVAL;
		goto out;
	}
	pod_name(g);
	rc = build(g, out);
out:
	cJSON_Delete(wrap);
	cJSON_Delete(root);
	return rc;
}

/* ---- writing ---- */

/* Whether a YAML reader would take S for something else than a string:
 * a number, a boolean, null, a date; those are quoted. */
static bool yaml_ambiguous(const char *s)
{
	static const char *const words[] = {
	        "y",   "n",    "yes", "no", "true", "false", "on",
	        "off", "null", "~",   "<<", "=",    NULL,
	};
	size_t i;

	if (!s[0])
		return true;
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.')
		return true;
	if ((s[0] == '-' || s[0] == '+') &&
	    ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
		return true;
	for (i = 0; words[i]; i++) {
		if (!strcasecmp(s, words[i]))
			return true;
	}
	return false;
}

static int yaml_scalar(yaml_emitter_t *e, const char *s, bool is_string)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	yaml_event_t ev;
	bool plain = !is_string || !yaml_ambiguous(s);

	if (!is_string)
		style = YAML_PLAIN_SCALAR_STYLE;
	else if (strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
	                                  (int)strlen(s), plain, 1, style))
		return -ENOMEM;
	if (!yaml_emitter_emit(e, &ev))
		return -EIO;
	return 0;
}

static int yaml_node(yaml_emitter_t *e, const cJSON *n)
{
	yaml_event_t ev;
	const cJSON *c;
	char num[64];
	int rc;

	if (cJSON_IsObject(n) || cJSON_IsArray(n)) {
		bool map = cJSON_IsObject(n);
		int ok = map ? yaml_mapping_start_event_initialize(
		                       &ev, NULL, NULL, 1,
		                       YAML_BLOCK_MAPPING_STYLE)
		             : yaml_sequence_start_event_initialize(
		                       &ev, NULL, NULL, 1,
		                       YAML_BLOCK_SEQUENCE_STYLE);

		if (!ok)
			return -ENOMEM;
		if (!yaml_emitter_emit(e, &ev))
			return -EIO;
		for (c = n->child; c; c = c->next) {
			rc = map ? yaml_scalar(e, c->string, true) : 0;
			if (rc == 0)
				rc = yaml_node(e, c);
			if (rc < 0)
				return rc;
		}
		ok = map ? yaml_mapping_end_event_initialize(&ev)
		         : yaml_sequence_end_event_initialize(&ev);
		if (!ok)
			return -ENOMEM;
		return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
	}
	if (cJSON_IsString(n))
		return yaml_scalar(e, n->valuestring, true);
	if (cJSON_IsNumber(n)) {
		snprintf(num, sizeof(num), "%.17g", n->valuedouble);
		return yaml_scalar(e, num, false);
	}
	if (cJSON_IsBool(n))
		return yaml_scalar(e, cJSON_IsTrue(n) ? "true" : "false",
		                   false);
	return yaml_scalar(e, "null", false);
}

/* One YAML document: the first without a "---" line, the others with. */
static int yaml_emit_doc(yaml_emitter_t *e, const cJSON *doc, bool first)
{
	yaml_event_t ev;
	int rc;

	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, first))
		return -ENOMEM;
	if (!yaml_emitter_emit(e, &ev))
		return -EIO;
	rc = yaml_node(e, doc);
	if (rc < 0)
		return rc;
	if (!yaml_document_end_event_initialize(&ev, 1))
		return -ENOMEM;
	return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
}

static int write_yaml(const cJSON *docs)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	const cJSON *d;
	int rc = 0;

	if (!yaml_emitter_initialize(&e))
		return -ENOMEM;
	yaml_emitter_set_output_file(&e, stdout);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_width(&e, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) {
		rc = -ENOMEM;
		goto out;
	}
	if (!yaml_emitter_emit(&e, &ev)) {
		rc = -EIO;
		goto out;
	}
	for (d = docs->child; d; d = d->next) {
		rc = yaml_emit_doc(&e, d, d == docs->child);
		if (rc < 0)
			goto out;
	}
	if (!yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e))
		rc = -EIO;
out:
	yaml_emitter_delete(&e);
	return rc;
}

/* One document as itself; several as a v1 List, which kubectl takes. */
static int write_json(cJSON *docs)
{
	cJSON *list = NULL;
	const cJSON *top = docs->child;
	char *text, *pretty;
	int rc = 0;

	if (docs->child && docs->child->next) {
		list = cJSON_CreateObject();
		if (!list ||
		    !cJSON_AddStringToObject(list, "apiVersion", "v1") ||
		    !cJSON_AddStringToObject(list, "kind", "List") ||
		    !cJSON_AddItemReferenceToObject(list, "items", docs)) {
			cJSON_Delete(list);
			return -ENOMEM;
		}
		top = list;
	}
	text = cJSON_Print(top);
	pretty = text ? reindent(text) : NULL;
	if (!pretty)
		rc = -ENOMEM;
	else if (fputs(pretty, stdout) == EOF)
		rc = -EIO;
	free(text);
	free(pretty);
	cJSON_Delete(list);
	return rc;
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
	fputs("usage: artifactfs-podspec [--mode sidecar|init] [--image "
	      "IMAGE]\n"
	      "                          [--format yaml|json] [--name NAME]\n"
	      "                          [--namespace NS] TASKDEF\n"
	      "       artifactfs-podspec --help | --version\n"
	      "\n"
	      "Writes to stdout the Kubernetes Pod for the ECS task "
	      "definition\n"
	      "TASKDEF (\"-\" for stdin), with the ConfigMap that carries the\n"
	      "artifact lists before it in the same stream.  Containers that\n"
	      "declare artifacts find them at /artifacts.\n"
	      "\n"
	      "  --mode sidecar  a privileged native sidecar mounts them "
	      "lazily\n"
	      "                  with artifactfs (the default; Kubernetes "
	      "1.29+)\n"
	      "  --mode init     init containers run 'artifactfs fetch' "
	      "first;\n"
	      "                  no privilege\n"
	      "  --image IMAGE   the artifactfs image (default "
	      "artifactfs:latest)\n"
	      "  --format FMT    yaml (the default) or json\n"
	      "  --name NAME     the Pod's name (default: from the family)\n"
	      "  --namespace NS  the namespace of what is written\n"
	      "\n"
	      "What cannot be translated is named in a warning on stderr.\n"
	      "Exit status: 0 written; 1 cannot read or write; 2 bad usage or\n"
	      "bad input, one line per fault as 'artifactfs check' prints.\n",
	      f);
}

#define BAD_VALUE "is not a valid value"
#define BAD_LABEL                                                         \
	"is not a DNS-1123 label (lowercase letters, digits and '-', at " \
	"most 63)"

static int bad_arg(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "artifactfs-podspec: %s: '%.200s' %s\n", opt, value,
	        why);
	return -EINVAL;
}

/* Returns 0, 1 when done (help, version), or -EINVAL after a message. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	        {"mode", required_argument, NULL, 'm'},
	        {"image", required_argument, NULL, 'i'},
	        {"format", required_argument, NULL, 'f'},
	        {"name", required_argument, NULL, 'n'},
	        {"namespace", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, "h", longs, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "sidecar"))
				o->mode = MODE_SIDECAR;
			else if (!strcmp(optarg, "init"))
				o->mode = MODE_INIT;
			else
				return bad_arg("--mode", optarg, BAD_VALUE);
			break;
		case 'f':
			if (!strcmp(optarg, "yaml"))
				o->format = FMT_YAML;
			else if (!strcmp(optarg, "json"))
				o->format = FMT_JSON;
			else
				return bad_arg("--format", optarg, BAD_VALUE);
			break;
		case 'i':
			if (!optarg[0])
				return bad_arg("--image", optarg, BAD_VALUE);
			o->image = optarg;
			break;
		case 'n':
			if (!is_dns_label(optarg))
				return bad_arg("--name", optarg, BAD_LABEL);
			o->name = optarg;
			break;
		case 's':
			if (!is_dns_label(optarg))
				return bad_arg("--namespace", optarg,
				               BAD_LABEL);
			o->ns = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("artifactfs-podspec %s\n", ARTIFACTFS_VERSION);
			return 1;
		default:
			fprintf(stderr,
			        "artifactfs-podspec: unknown option or missing "
			        "value: '%.200s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->input = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {.image = "artifactfs:latest"};
	struct gen g = {.opt = &o, .grace = -1};
	cJSON *docs = NULL;
	char *text = NULL;
	int rc, status = 0;

	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc > 0 ? 0 : EXIT_INVALID;
	rc = read_input(o.input, &text, &g.len);
	if (rc < 0)
		return EXIT_INVALID;
	g.text = text;
	rc = generate(&g, &docs);
	if (rc == -EINVAL) {
		status = EXIT_INVALID;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "artifactfs-podspec: %s\n", strerror(-rc));
		status = EXIT_FAILED;
		goto out;
	}
	rc = o.format == FMT_JSON ? write_json(docs) : write_yaml(docs);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, "artifactfs-podspec: cannot write: %s\n",
		        strerror(-rc));
		status = EXIT_FAILED;
	}
out:
	cJSON_Delete(docs);
	nameset_free(&g.cnames);
	nameset_free(&g.vnames);
	nameset_free(&g.pnames);
	free(g.ctrs);
	free(g.vols);
	free(text);
	return status;
}
