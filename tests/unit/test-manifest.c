/*
 * manifest_parse and manifest_load: each accepted shape, each rule of
 * docs/manifest.md, and the exact line each fault gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "manifest.h"
#include "check.h"
#include "banned.h"

#define SENTINEL ((struct manifest *)0x1)

/* The cases are written with ' for " so that they stay readable. */
static char *dq(const char *s)
{
	char *t = strdup(s);
	char *c;

	for (c = t; *c; c++) {
		if (*c == '\'')
			*c = '"';
	}
	return t;
}

static void dump(const struct diag *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		fprintf(stderr, "    | %s\n", d->lines[i]);
}

static bool has_line(const struct diag *d, const char *line)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		if (strcmp(d->lines[i], line) == 0)
			return true;
	}
	return false;
}

/* Parses JSON (in ' form); expects a refusal whose lines include LINE
 * and number exactly NLINES when NLINES > 0. */
static void refused_n(const char *json, const char *container, const char *line,
                      size_t nlines)
{
	struct manifest *m = SENTINEL;
	struct diag d = {0};
	char *t = dq(json);
	int rc = manifest_parse(t, strlen(t), container, &m, &d);

	CHECK(rc == -EINVAL);
	CHECK(m == SENTINEL);
	CHECK(has_line(&d, line));
	if (nlines)
		CHECK(d.count == nlines);
	if (rc != -EINVAL || !has_line(&d, line) ||
	    (nlines && d.count != nlines)) {
		fprintf(stderr, "  input: %s\n  wanted: %s\n  got:\n", t, line);
		dump(&d);
	}
	if (rc == 0 && m != SENTINEL)
		manifest_free(m);
	diag_clear(&d);
	free(t);
}

static void refused(const char *json, const char *container, const char *line)
{
	refused_n(json, container, line, 1);
}

static struct manifest *accepted(const char *json, const char *container)
{
	struct manifest *m = NULL;
	struct diag d = {0};
	char *t = dq(json);
	int rc = manifest_parse(t, strlen(t), container, &m, &d);

	CHECK(rc == 0);
	CHECK(d.count == 0);
	if (rc != 0) {
		fprintf(stderr, "  input: %s\n  refused:\n", t);
		dump(&d);
		m = NULL;
	}
	diag_clear(&d);
	free(t);
	return m;
}

/* One artifact named N at PATH with EXTRA fields, as a bare array. */
static char *one(const char *fields)
{
	char *s = NULL;

	CHECK(asprintf(&s, "[{%s}]", fields) > 0);
	return s;
}

static void refused_one(const char *fields, const char *line)
{
	char *s = one(fields);

	refused(s, NULL, line);
	free(s);
}

static struct manifest *accepted_one(const char *fields)
{
	char *s = one(fields);
	struct manifest *m = accepted(s, NULL);

	free(s);
	return m;
}

#define BASE "'name':'a','artifactUrl':'http://h/f',"

/* ----- shapes ----- */

#define ART "{'name':'a','artifactUrl':'http://h/f','targetPath':'x'}"

static void test_shapes(void)
{
	struct manifest *m;

	m = accepted("[" ART "]", NULL);
	if (m) {
		CHECK(m->count == 1);
		CHECK(m->container == NULL);
		CHECK_STR(m->items[0].name, "a");
		CHECK_STR(m->items[0].url, "http://h/f");
		CHECK_STR(m->items[0].path, "x");
		CHECK(m->items[0].mode == 0644);
		CHECK(m->items[0].scheme == URL_HTTP);
		CHECK(m->items[0].ck_type == CK_NONE);
		CHECK_STR(m->items[0].ck_hex, "");
	}
	manifest_free(m);

	/* RegisterTaskDefinition input */
	m = accepted("{'family':'f','containerDefinitions':[{'name':'web',"
	             "'image':'i','artifacts':[" ART "]}]}",
	             NULL);
	CHECK(m && m->count == 1 && m->container &&
	      strcmp(m->container, "web") == 0);
	manifest_free(m);

	/* DescribeTaskDefinition output */
	m = accepted("{'taskDefinition':{'family':'f','containerDefinitions':"
	             "[{'name':'web','artifacts':[" ART "]}]},'tags':[]}",
	             NULL);
	CHECK(m && m->count == 1 && m->container &&
	      strcmp(m->container, "web") == 0);
	manifest_free(m);

	/* one container definition */
	m = accepted("{'name':'web','image':'i','artifacts':[" ART "]}", NULL);
	CHECK(m && m->container && strcmp(m->container, "web") == 0);
	manifest_free(m);
	m = accepted("{'name':'web','artifacts':[" ART "]}", "web");
	CHECK(m && m->count == 1);
	manifest_free(m);
	m = accepted("{'image':'i','artifacts':[" ART "]}", NULL);
	CHECK(m && m->container == NULL);
	manifest_free(m);

	/* a UTF-8 byte order mark is skipped */
	m = accepted("\xef\xbb\xbf[" ART "]", NULL);
	CHECK(m && m->count == 1);
	manifest_free(m);
}

static void test_containers(void)
{
	struct manifest *m;
	const char *two = "{'containerDefinitions':["
	                  "{'name':'web','artifacts':[" ART "]},"
	                  "{'name':'plain','image':'i'},"
	                  "{'name':'empty','artifacts':[]},"
	                  "{'name':'nul','artifacts':null},"
	                  "{'name':'side','artifacts':[" ART "," ART "]}]}";

	/* one container among several declares artifacts: it is taken */
	m = accepted("{'containerDefinitions':[{'name':'plain','image':'i'},"
	             "{'name':'web','artifacts':[" ART "]},"
	             "{'name':'empty','artifacts':[]}]}",
	             NULL);
	CHECK(m && m->container && strcmp(m->container, "web") == 0);
	manifest_free(m);

	refused(two, NULL,
	        "manifest: several containers declare artifacts: 'web', "
	        "'side'; choose one with --container");
	m = accepted(two, "web");
	CHECK(m && m->count == 1 && strcmp(m->container, "web") == 0);
	manifest_free(m);
	refused_n(two, "side",
	          "artifact #2: name: 'a' is also the name of artifact #1", 2);
	refused_n(two, "side",
	          "artifact #2: targetPath: 'x' is also the path of artifact "
	          "'a'",
	          2);
	refused(two, "nope", "container 'nope': not found in the manifest");
	refused(two, "plain", "container 'plain': declares no artifacts");
	refused(two, "empty", "container 'empty': declares no artifacts");
	refused(two, "nul", "container 'nul': declares no artifacts");

	refused("{'containerDefinitions':[{'name':'a','artifacts':[" ART
	        "]},{'artifacts':[" ART "]}]}",
	        NULL,
	        "manifest: several containers declare artifacts: 'a', #2; "
	        "choose one with --container");
	refused("{'containerDefinitions':[{'name':'a','artifacts':[" ART
	        "]},{'name':'a','artifacts':[" ART "]}]}",
	        "a", "container 'a': more than one container has this name");

	refused("{'containerDefinitions':[{'name':'c','image':'i'}]}", NULL,
	        "manifest: no container declares artifacts");
	refused("{'containerDefinitions':[]}", NULL,
	        "manifest: no container declares artifacts");
	refused("{'containerDefinitions':[{'name':'c','artifacts':"
	        "{'name':'x'}}]}",
	        NULL, "container 'c': artifacts: not a list");
	refused("{'containerDefinitions':[{'name':'c','artifacts':[" ART
	        "],'artifacts':[" ART "]}]}",
	        NULL, "container 'c': artifacts: given more than once");
	refused("{'containerDefinitions':[{'name':'c','artifacts':[" ART
	        "]}, 7]}",
	        NULL, "container #2: not an object");
	refused("{'containerDefinitions':{'name':'c'}}", NULL,
	        "manifest: containerDefinitions: not a list");
	refused("{'containerDefinitions':[],'containerDefinitions':[]}", NULL,
	        "manifest: containerDefinitions: given more than once");
	refused("{'taskDefinition':[]}", NULL,
	        "manifest: taskDefinition: not an object");
	refused("{'taskDefinition':{},'taskDefinition':{}}", NULL,
	        "manifest: taskDefinition: given more than once");
	refused("{'taskDefinition':{'family':'f'}}", NULL,
	        "manifest: no containerDefinitions, taskDefinition or "
	        "artifacts found");
	refused("{}", NULL,
	        "manifest: no containerDefinitions, taskDefinition or "
	        "artifacts found");
	refused("{'containerDefinitions':[],'artifacts':[]}", NULL,
	        "manifest: both containerDefinitions and artifacts at the top "
	        "level");
	refused("{'name':'web','artifacts':[]}", NULL,
	        "container 'web': declares no artifacts");
	refused("{'name':'web','artifacts':'x'}", NULL,
	        "container 'web': artifacts: not a list");
	refused("{'artifacts':7}", NULL,
	        "container (unnamed): artifacts: not a list");
	refused("{'name':'web','artifacts':[" ART "]}", "other",
	        "container 'other': not found in the manifest");
	refused("[" ART "]", "web",
	        "container 'web': not found (the manifest is a bare list of "
	        "artifacts)");
	refused("[]", NULL, "manifest: the list of artifacts is empty");
	refused("7", NULL,
	        "manifest: neither an object nor a list of "
	        "artifacts");
	refused("'text'", NULL,
	        "manifest: neither an object nor a list of artifacts");
	refused("[" ART "]", "", "container '': not a valid container name");
	refused("[" ART "]", "a\nb",
	        "container 'a?b': not a valid container name");
}

static void test_json(void)
{
	refused("[{'name':'a',", NULL,
	        "manifest: not valid JSON (line 1, column 13)");
	refused("[\n" ART ",\n{'name' 'b'}]", NULL,
	        "manifest: not valid JSON (line 3, column 9)");
	refused("", NULL, "manifest: not valid JSON (line 1, column 1)");
	refused("[" ART "] x", NULL,
	        "manifest: text after the JSON value (line 1, column 60)");
	refused("[" ART "][]", NULL,
	        "manifest: text after the JSON value (line 1, column 59)");
	/* cJSON would cut the string at the NUL and see "x" */
	refused("[{'name':'a','artifactUrl':'http://h/f','targetPath':"
	        "'x\\u0000/../../etc/passwd'}]",
	        NULL, "manifest: a string holds a NUL character");
	/* an escaped backslash before u0000 is not a NUL */
	refused("[{'name':'a','artifactUrl':'http://h/f','targetPath':"
	        "'x\\\\u0000/..'}]",
	        NULL, "artifact 'a': targetPath: '..' is not allowed");
}

static void test_raw_nul(void)
{
	const char text[] =
	        "[{\"name\":\"a\0b\",\"artifactUrl\":\"http://h/f\","
	        "\"targetPath\":\"x\"}]";
	struct manifest *m = SENTINEL;
	struct diag d = {0};

	CHECK(manifest_parse(text, sizeof(text) - 1, NULL, &m, &d) == -EINVAL);
	CHECK(m == SENTINEL);
	CHECK(d.count == 1 && has_line(&d, "manifest: a string holds a NUL "
	                                   "character"));
	diag_clear(&d);
}

/* ----- fields ----- */

static void test_name(void)
{
	struct manifest *m;
	char long_name[CAP_NAME_BYTES + 2];
	char *s = NULL;

	refused_one("'artifactUrl':'http://h/f','targetPath':'x'",
	            "artifact #1: name: missing");
	refused_one("'name':null,'artifactUrl':'http://h/f','targetPath':'x'",
	            "artifact #1: name: missing");
	refused_one("'name':7,'artifactUrl':'http://h/f','targetPath':'x'",
	            "artifact #1: name: not a string");
	refused_one("'name':'','artifactUrl':'http://h/f','targetPath':'x'",
	            "artifact #1: name: empty");
	refused_one("'name':'a\\u0001','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: contains a control character");
	refused_one("'name':'a\\u007f','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: contains a control character");
	refused_one("'name':'a\\u0085','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: contains a control character");
	refused_one("'name':'a\xff','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: not valid UTF-8");
	refused_one("'name':'a\xc0\xaf','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: not valid UTF-8");
	refused_one("'name':'a','name':'b','artifactUrl':'http://h/f',"
	            "'targetPath':'x'",
	            "artifact #1: name: given more than once");

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[CAP_NAME_BYTES + 1] = '\0';
	CHECK(asprintf(
	              &s,
	              "'name':'%s','artifactUrl':'http://h/f','targetPath':'x'",
	              long_name) > 0);
	refused_one(s, "artifact #1: name: longer than 255 bytes");
	free(s);
	long_name[CAP_NAME_BYTES] = '\0';
	CHECK(asprintf(
	              &s,
	              "'name':'%s','artifactUrl':'http://h/f','targetPath':'x'",
	              long_name) > 0);
	m = accepted_one(s);
	CHECK(m && strlen(m->items[0].name) == CAP_NAME_BYTES);
	manifest_free(m);
	free(s);

	m = accepted_one("'name':'caf\xc3\xa9 \xe2\x9c\x93','artifactUrl':"
	                 "'http://h/f','targetPath':'x'");
	CHECK(m && strcmp(m->items[0].name, "caf\xc3\xa9 \xe2\x9c\x93") == 0);
	manifest_free(m);

	/* every later holder of a name is named, by position */
	refused_n("[{'name':'a','artifactUrl':'http://h/f','targetPath':'x'},"
	          "{'name':'b','artifactUrl':'http://h/f','targetPath':'y'},"
	          "{'name':'a','artifactUrl':'http://h/f','targetPath':'z'},"
	          "{'name':'a','artifactUrl':'http://h/f','targetPath':'w'}]",
	          NULL,
	          "artifact #3: name: 'a' is also the name of artifact #1", 2);
	refused_n("[{'name':'a','artifactUrl':'http://h/f','targetPath':'x'},"
	          "{'name':'b','artifactUrl':'http://h/f','targetPath':'y'},"
	          "{'name':'a','artifactUrl':'http://h/f','targetPath':'z'},"
	          "{'name':'a','artifactUrl':'http://h/f','targetPath':'w'}]",
	          NULL,
	          "artifact #4: name: 'a' is also the name of artifact #1", 2);
}

static void test_url(void)
{
	struct manifest *m;

	refused_one("'name':'u','targetPath':'x'",
	            "artifact 'u': artifactUrl: missing");
	refused_one("'name':'u','artifactUrl':['http://h/f'],"
	            "'targetPath':'x'",
	            "artifact 'u': artifactUrl: not a string");
	refused_one("'name':'u','artifactUrl':'http://h/f','artifactUrl':"
	            "'http://h/g','targetPath':'x'",
	            "artifact 'u': artifactUrl: given more than once");
	refused_one("'name':'u','artifactUrl':'s3://bucket-only',"
	            "'targetPath':'x'",
	            "artifact 'u': artifactUrl: no key");
	refused_one("'name':'u','artifactUrl':'s3:///key','targetPath':'x'",
	            "artifact 'u': artifactUrl: no bucket");
	refused_one("'name':'u','artifactUrl':'s3://My_Bucket/k',"
	            "'targetPath':'x'",
	            "artifact 'u': artifactUrl: bad bucket name");
	refused_one("'name':'u','artifactUrl':'ftp://h/f','targetPath':'x'",
	            "artifact 'u': artifactUrl: scheme not supported");
	refused_one("'name':'u','artifactUrl':'http://h/a b','targetPath':'x'",
	            "artifact 'u': artifactUrl: contains a space");
	refused_one("'name':'u','artifactUrl':'','targetPath':'x'",
	            "artifact 'u': artifactUrl: empty");

	m = accepted_one("'name':'u','artifactUrl':'https://u:p@h/f?sig=1',"
	                 "'targetPath':'x'");
	CHECK(m && strcmp(m->items[0].url, "https://u:p@h/f?sig=1") == 0 &&
	      m->items[0].scheme == URL_HTTPS);
	manifest_free(m);
	m = accepted_one("'name':'u','artifactUrl':'s3://b-1/k/e/y',"
	                 "'targetPath':'x'");
	CHECK(m && m->items[0].scheme == URL_S3);
	manifest_free(m);
}

static void test_type(void)
{
	struct manifest *m;

	m = accepted_one(BASE "'targetPath':'x','type':'http'");
	manifest_free(m);
	m = accepted_one("'name':'a','artifactUrl':'s3://bkt/k','type':'s3',"
	                 "'targetPath':'x'");
	manifest_free(m);
	m = accepted_one("'name':'a','artifactUrl':'https://h/k',"
	                 "'type':'https','targetPath':'x'");
	manifest_free(m);
	m = accepted_one(BASE "'targetPath':'x','type':null");
	manifest_free(m);

	refused_one(BASE "'targetPath':'x','type':'s3'",
	            "artifact 'a': type: 's3' does not agree with the "
	            "artifactUrl's scheme 'http'");
	refused_one(BASE "'targetPath':'x','type':'https'",
	            "artifact 'a': type: 'https' does not agree with the "
	            "artifactUrl's scheme 'http'");
	refused_one(BASE "'targetPath':'x','type':'ftp'",
	            "artifact 'a': type: 'ftp' is not one of s3, http, https");
	refused_one(BASE "'targetPath':'x','type':'HTTP'",
	            "artifact 'a': type: 'HTTP' is not one of s3, http, https");
	refused_one(BASE "'targetPath':'x','type':1",
	            "artifact 'a': type: not a string");
	refused_one(BASE "'targetPath':'x','type':'http','type':'http'",
	            "artifact 'a': type: given more than once");
	/* a bad URL is one fault, not two */
	refused_one("'name':'a','artifactUrl':'s3://bkt','targetPath':'x',"
	            "'type':'http'",
	            "artifact 'a': artifactUrl: no key");
}

static void path_is(const char *target, const char *want)
{
	struct manifest *m;
	char *s = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'%s'", target) > 0);
	m = accepted_one(s);
	CHECK(m && strcmp(m->items[0].path, want) == 0);
	if (m && strcmp(m->items[0].path, want) != 0)
		fprintf(stderr, "  '%s' gave '%s'\n", target, m->items[0].path);
	manifest_free(m);
	free(s);
}

static void path_refused(const char *target, const char *why)
{
	char *s = NULL, *line = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'%s'", target) > 0);
	CHECK(asprintf(&line, "artifact 'a': targetPath: %s", why) > 0);
	refused_one(s, line);
	free(line);
	free(s);
}

static void test_path(void)
{
	char *big = malloc(CAP_PATH_BYTES + 64);
	char *want = malloc(CAP_PATH_BYTES + 64);
	size_t n;

	path_is("config/app.conf", "config/app.conf");
	path_is("/config/app.conf", "config/app.conf");
	path_is("//a///b//c", "a/b/c");
	path_is("./x", "x");
	path_is("a/./b/./c", "a/b/c");
	path_is("/./a", "a");
	path_is("...", "...");
	path_is(".hidden/..x/x..", ".hidden/..x/x..");
	path_is("a b/c\\\\d", "a b/c\\d");
	path_is("d\xc3\xa9j\xc3\xa0", "d\xc3\xa9j\xc3\xa0");

	path_refused("../outside", "'..' is not allowed");
	path_refused("a/../../outside", "'..' is not allowed");
	path_refused("/../outside", "'..' is not allowed");
	path_refused("a/../b", "'..' is not allowed");
	path_refused("a/..", "'..' is not allowed");
	path_refused("..", "'..' is not allowed");
	path_refused("config/", "ends with '/' (a directory, not a file)");
	path_refused("/", "ends with '/' (a directory, not a file)");
	path_refused("./", "ends with '/' (a directory, not a file)");
	path_refused("a/.", "ends with '.' (a directory, not a file)");
	path_refused(".", "ends with '.' (a directory, not a file)");
	path_refused("", "empty");
	path_refused("a\\u0001b", "contains a control character");
	path_refused("a\\nb", "contains a control character");
	path_refused("a\\tb", "contains a control character");
	path_refused("a\\u009bb", "contains a control character");
	path_refused("a\xfe", "not valid UTF-8");
	path_refused("a\xed\xa0\x80", "not valid UTF-8");

	refused_one("'name':'a','artifactUrl':'http://h/f'",
	            "artifact 'a': targetPath: missing");
	refused_one(BASE "'targetPath':['x']",
	            "artifact 'a': targetPath: not a string");
	refused_one(BASE "'targetPath':'x','targetPath':'y'",
	            "artifact 'a': targetPath: given more than once");

	/* one component: 255 bytes pass, 256 do not */
	memset(big, 'c', CAP_COMPONENT_BYTES + 1);
	big[CAP_COMPONENT_BYTES] = '\0';
	path_is(big, big);
	big[CAP_COMPONENT_BYTES] = 'c';
	big[CAP_COMPONENT_BYTES + 1] = '\0';
	path_refused(big, "a component is longer than 255 bytes");

	/* the whole path: 4095 bytes pass, 4096 do not */
	for (n = 0; n < CAP_PATH_BYTES; n++)
		big[n] = (n % 100 == 99) ? '/' : 'p';
	big[CAP_PATH_BYTES] = '\0';
	path_is(big, big);
	memcpy(want, big, CAP_PATH_BYTES + 1);
	big[0] = '/';
	memcpy(big + 1, want, CAP_PATH_BYTES + 1);
	path_is(big, want);
	big[CAP_PATH_BYTES] = 'p';
	big[CAP_PATH_BYTES + 1] = '\0';
	memcpy(big, want, CAP_PATH_BYTES);
	path_refused(big, "longer than 4095 bytes");
	free(big);
	free(want);
}

static void mode_is(const char *perm, mode_t want)
{
	struct manifest *m;
	char *s = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'x','permissions':%s", perm) > 0);
	m = accepted_one(s);
	CHECK(m && m->items[0].mode == want);
	manifest_free(m);
	free(s);
}

static void mode_refused(const char *perm, const char *why)
{
	char *s = NULL;
	char *line = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'x','permissions':%s", perm) > 0);
	CHECK(asprintf(&line, "artifact 'a': permissions: %s", why) > 0);
	refused_one(s, line);
	free(line);
	free(s);
}

static void test_permissions(void)
{
	struct manifest *m;

	m = accepted_one(BASE "'targetPath':'x'");
	CHECK(m && m->items[0].mode == 0644);
	manifest_free(m);
	mode_is("null", 0644);
	mode_is("'0644'", 0644);
	mode_is("'644'", 0644);
	mode_is("'0640'", 0640);
	mode_is("'0755'", 0755);
	mode_is("'755'", 0755);
	mode_is("'0600'", 0600);
	mode_is("'0777'", 0777);
	mode_is("'000'", 0);
	mode_is("'0000'", 0);

	mode_refused("'0999'", "'0999': not an octal number");
	mode_refused("'0o64'", "'0o64': not an octal number");
	mode_refused("'+644'", "'+644': not an octal number");
	mode_refused("' 644'", "' 644': not an octal number");
	mode_refused("'12345'", "'12345': 3 or 4 octal digits expected, as "
	                        "\"0644\" or \"644\"");
	mode_refused("'64'", "'64': 3 or 4 octal digits expected, as "
	                     "\"0644\" or \"644\"");
	mode_refused("''", "'': 3 or 4 octal digits expected, as \"0644\" or "
	                   "\"644\"");
	mode_refused("'4755'", "'4755': setuid, setgid and sticky bits are "
	                       "not allowed");
	mode_refused("'2755'", "'2755': setuid, setgid and sticky bits are "
	                       "not allowed");
	mode_refused("'1777'", "'1777': setuid, setgid and sticky bits are "
	                       "not allowed");
	mode_refused("420", "not a string (write the mode as a string: "
	                    "\"0644\")");
	mode_refused("true", "not a string (write the mode as a string: "
	                     "\"0644\")");
	mode_refused("'0644','permissions':'0644'", "given more than once");
}

#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_UP \
	"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define MD5 "d41d8cd98f00b204e9800998ecf8427e"

static void ck_is(const char *fields, enum checksum_type type, const char *hex)
{
	struct manifest *m;
	char *s = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'x',%s", fields) > 0);
	m = accepted_one(s);
	CHECK(m && m->items[0].ck_type == type);
	CHECK(m && strcmp(m->items[0].ck_hex, hex) == 0);
	manifest_free(m);
	free(s);
}

static void ck_refused(const char *fields, const char *line)
{
	char *s = NULL;

	CHECK(asprintf(&s, BASE "'targetPath':'x',%s", fields) > 0);
	refused_one(s, line);
	free(s);
}

static void test_checksum(void)
{
	ck_is("'checksum':'sha256:" SHA "'", CK_SHA256, SHA);
	ck_is("'checksum':'md5:" MD5 "'", CK_MD5, MD5);
	ck_is("'checksum':'" SHA "'", CK_SHA256, SHA);
	ck_is("'checksum':'" MD5 "'", CK_MD5, MD5);
	ck_is("'checksum':'" SHA_UP "'", CK_SHA256, SHA);
	ck_is("'checksum':'sha256:" SHA_UP "'", CK_SHA256, SHA);
	ck_is("'checksum':'" SHA "','checksumType':'sha256'", CK_SHA256, SHA);
	ck_is("'checksum':'" MD5 "','checksumType':'md5'", CK_MD5, MD5);
	ck_is("'checksum':'md5:" MD5 "','checksumType':'md5'", CK_MD5, MD5);
	ck_is("'checksum':'sha256:" SHA "','checksumType':'sha256'", CK_SHA256,
	      SHA);
	ck_is("'checksum':null,'checksumType':null", CK_NONE, "");

	ck_refused("'checksum':'sha256:" SHA "','checksumType':'md5'",
	           "artifact 'a': checksumType: 'md5' does not agree with the "
	           "checksum's 'sha256:' prefix");
	ck_refused("'checksum':'md5:" MD5 "','checksumType':'sha256'",
	           "artifact 'a': checksumType: 'sha256' does not agree with "
	           "the checksum's 'md5:' prefix");
	ck_refused("'checksum':'" SHA "','checksumType':'md5'",
	           "artifact 'a': checksum: 64 hex digits, but a md5 digest "
	           "(from checksumType) has 32");
	ck_refused("'checksum':'" MD5 "','checksumType':'sha256'",
	           "artifact 'a': checksum: 32 hex digits, but a sha256 digest "
	           "(from checksumType) has 64");
	ck_refused("'checksum':'sha256:" MD5 "'",
	           "artifact 'a': checksum: 32 hex digits, but a sha256 digest "
	           "(from its prefix) has 64");
	ck_refused("'checksum':'md5:" SHA "'",
	           "artifact 'a': checksum: 64 hex digits, but a md5 digest "
	           "(from its prefix) has 32");
	ck_refused("'checksum':'0000000000000000000000000000000000000000'",
	           "artifact 'a': checksum: 40 hex digits is neither sha256 "
	           "(64) nor md5 (32)");
	ck_refused("'checksum':'0000000000000000000000000000000000000000',"
	           "'checksumType':'sha1'",
	           "artifact 'a': checksumType: 'sha1' is not supported "
	           "(sha256 or md5)");
	ck_refused("'checksum':'" SHA "','checksumType':'SHA256'",
	           "artifact 'a': checksumType: 'SHA256' is not supported "
	           "(sha256 or md5)");
	ck_refused("'checksum':'" SHA "','checksumType':256",
	           "artifact 'a': checksumType: not a string");
	ck_refused("'checksumType':'sha256'",
	           "artifact 'a': checksumType: given without a checksum");
	ck_refused("'checksum':'sha256:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
	           "zzzzzzzzzzzzzzzzzzzzzzzz'",
	           "artifact 'a': checksum: not hexadecimal");
	ck_refused("'checksum':'sha256:'",
	           "artifact 'a': checksum: not hexadecimal");
	ck_refused("'checksum':' " MD5 "'",
	           "artifact 'a': checksum: not hexadecimal");
	ck_refused("'checksum':'sha1:0000000000000000000000000000000000000000'",
	           "artifact 'a': checksum: unknown prefix (write sha256:<hex> "
	           "or md5:<hex>)");
	ck_refused("'checksum':'SHA256:" SHA "'",
	           "artifact 'a': checksum: unknown prefix (write sha256:<hex> "
	           "or md5:<hex>)");
	ck_refused("'checksum':''", "artifact 'a': checksum: empty");
	ck_refused("'checksum':42", "artifact 'a': checksum: not a string");
	ck_refused("'checksum':'" MD5 "','checksum':'" MD5 "'",
	           "artifact 'a': checksum: given more than once");
}

static void test_collisions(void)
{
	refused("[{'name':'a','artifactUrl':'http://h/f','targetPath':'x'},"
	        "{'name':'b','artifactUrl':'http://h/f','targetPath':'/x'}]",
	        NULL,
	        "artifact 'b': targetPath: 'x' is also the path of artifact "
	        "'a'");
	refused("[{'name':'a','artifactUrl':'http://h/f','targetPath':"
	        "'d/f/g'},"
	        "{'name':'b','artifactUrl':'http://h/f','targetPath':'d/f'}]",
	        NULL,
	        "artifact 'a': targetPath: 'd/f/g' needs 'd/f' to be a "
	        "directory, but it is the file of artifact 'b'");
	/* a name that sorts between "d" and "d/..." does not hide it */
	refused_n("[{'name':'a','artifactUrl':'http://h/f','targetPath':'d'},"
	          "{'name':'b','artifactUrl':'http://h/f','targetPath':'d-1'},"
	          "{'name':'c','artifactUrl':'http://h/f','targetPath':'d/x'},"
	          "{'name':'e','artifactUrl':'http://h/f','targetPath':'d/y'}]",
	          NULL,
	          "artifact 'e': targetPath: 'd/y' needs 'd' to be a "
	          "directory, but it is the file of artifact 'a'",
	          2);
	refused_n("[{'name':'a','artifactUrl':'http://h/f','targetPath':'d'},"
	          "{'name':'b','artifactUrl':'http://h/f','targetPath':'d-1'},"
	          "{'name':'c','artifactUrl':'http://h/f','targetPath':'d/x'},"
	          "{'name':'e','artifactUrl':'http://h/f','targetPath':'d/y'}]",
	          NULL,
	          "artifact 'c': targetPath: 'd/x' needs 'd' to be a "
	          "directory, but it is the file of artifact 'a'",
	          2);
	refused_n("[{'name':'a','artifactUrl':'http://h/f','targetPath':'x'},"
	          "{'name':'b','artifactUrl':'http://h/f','targetPath':'x'},"
	          "{'name':'c','artifactUrl':'http://h/f','targetPath':'x'}]",
	          NULL,
	          "artifact 'c': targetPath: 'x' is also the path of artifact "
	          "'a'",
	          2);

	/* siblings and a shared directory are fine */
	manifest_free(accepted(
	        "[{'name':'a','artifactUrl':'http://h/f','targetPath':'d/x'},"
	        "{'name':'b','artifactUrl':'http://h/f','targetPath':'d/y'},"
	        "{'name':'c','artifactUrl':'http://h/f','targetPath':'dx'},"
	        "{'name':'e','artifactUrl':'http://h/f','targetPath':'d-/x'}]",
	        NULL));
}

/* Every fault of every artifact, each on its own line, in order. */
static void test_every_fault(void)
{
	const char *json =
	        "[{'name':'a','artifactUrl':'ftp://h','targetPath':'../x',"
	        "'permissions':'4755','checksum':'ab','type':'s4'},"
	        "7,"
	        "{'artifactUrl':'http://h/f','targetPath':'y'},"
	        "{'name':'ok','artifactUrl':'http://h/f','targetPath':'z',"
	        "'description':'unknown fields are fine'}]";
	const char *want[] = {
	        "artifact 'a': artifactUrl: scheme not supported",
	        "artifact 'a': type: 's4' is not one of s3, http, https",
	        "artifact 'a': targetPath: '..' is not allowed",
	        "artifact 'a': permissions: '4755': setuid, setgid and sticky "
	        "bits are not allowed",
	        "artifact 'a': checksum: 2 hex digits is neither sha256 (64) "
	        "nor md5 (32)",
	        "artifact #2: not an object",
	        "artifact #3: name: missing",
	};
	struct manifest *m = SENTINEL;
	struct diag d = {0};
	char *t = dq(json);
	size_t i;

	CHECK(manifest_parse(t, strlen(t), NULL, &m, &d) == -EINVAL);
	CHECK(m == SENTINEL);
	CHECK(d.count == sizeof(want) / sizeof(want[0]));
	for (i = 0; i < d.count && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(d.lines[i], want[i]);
	diag_clear(&d);
	CHECK(d.count == 0 && d.lines == NULL);
	free(t);
}

/* A name quoted in a line is capped; one with control characters is not
 * quoted at all. */
static void test_quoting(void)
{
	char name[CAP_NAME_BYTES + 1];
	char *s = NULL, *line = NULL;

	memset(name, 'q', CAP_NAME_BYTES);
	name[CAP_NAME_BYTES] = '\0';
	CHECK(asprintf(&s,
	               "'name':'%s','artifactUrl':'ftp://h/f',"
	               "'targetPath':'x'",
	               name) > 0);
	name[CAP_LOG_FIELD] = '\0';
	CHECK(asprintf(&line,
	               "artifact '%s': artifactUrl: scheme not "
	               "supported",
	               name) > 0);
	refused_one(s, line);
	free(s);
	free(line);
	refused_one(BASE "'targetPath':'x','type':'a\\u0007b'",
	            "artifact 'a': type: 'a?b' is not one of s3, http, https");
}

/* ----- caps ----- */

static char *many(size_t n, const char *prefix, const char *suffix)
{
	size_t cap = n * 96 + 256, o;
	char *s = malloc(cap);
	size_t i;

	o = (size_t)snprintf(s, cap, "%s", prefix);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o,
		                      "%s{\"name\":\"n%zu\",\"artifactUrl\":"
		                      "\"http://h/f\",\"targetPath\":"
		                      "\"d%zu/f%zu\"}",
		                      i ? "," : "", i, i % 97, i);
	snprintf(s + o, cap - o, "%s", suffix);
	return s;
}

static void test_caps(void)
{
	struct manifest *m = SENTINEL;
	struct diag d = {0};
	char *s, *big;
	size_t i;
	clock_t t0;

	s = many(CAP_ARTIFACTS + 1, "[", "]");
	CHECK(manifest_parse(s, strlen(s), NULL, &m, &d) == -EINVAL);
	CHECK(d.count == 1 && has_line(&d, "manifest: more than 100000 "
	                                   "artifacts"));
	diag_clear(&d);
	free(s);

	s = many(CAP_ARTIFACTS + 1, "{\"name\":\"c\",\"artifacts\":[", "]}");
	CHECK(manifest_parse(s, strlen(s), NULL, &m, &d) == -EINVAL);
	CHECK(d.count == 1 && has_line(&d, "container 'c': artifacts: 100001 "
	                                   "entries, more than the cap of "
	                                   "100000"));
	diag_clear(&d);
	free(s);
	CHECK(m == SENTINEL);

	/* the cap itself passes, and fast: no quadratic step anywhere */
	s = many(CAP_ARTIFACTS, "[", "]");
	t0 = clock();
	CHECK(manifest_parse(s, strlen(s), NULL, &m, &d) == 0);
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
	CHECK(m != SENTINEL && m->count == CAP_ARTIFACTS);
	if (m != SENTINEL)
		manifest_free(m);
	m = SENTINEL;
	free(s);

	big = malloc(CAP_MANIFEST_BYTES + 2);
	memset(big, ' ', CAP_MANIFEST_BYTES + 1);
	big[0] = '[';
	big[CAP_MANIFEST_BYTES] = ']';
	CHECK(manifest_parse(big, CAP_MANIFEST_BYTES + 1, NULL, &m, &d) ==
	      -EINVAL);
	CHECK(d.count == 1 && has_line(&d, "manifest: 16777217 bytes, more "
	                                   "than the cap of 16777216"));
	diag_clear(&d);
	/* just under the cap is parsed (and refused for being empty) */
	CHECK(manifest_parse(big, CAP_MANIFEST_BYTES, NULL, &m, &d) == -EINVAL);
	CHECK(d.count == 1 && has_line(&d, "manifest: not valid JSON (line 1, "
	                                   "column 16777216)"));
	diag_clear(&d);
	free(big);

	/* faults beyond CAP_DIAG_LINES are counted out, not kept */
	s = malloc(CAP_DIAG_LINES * 4 + 16);
	snprintf(s, 3, "[");
	for (i = 0; i < CAP_DIAG_LINES + 10; i++)
		memcpy(s + 1 + i * 3, i ? ",{}" : "{} ", 3);
	memcpy(s + 1 + i * 3, "]", 2);
	CHECK(manifest_parse(s, strlen(s), NULL, &m, &d) == -EINVAL);
	CHECK(d.count == CAP_DIAG_LINES);
	CHECK(d.count > 0 &&
	      strcmp(d.lines[d.count - 1],
	             "too many faults: the rest are not shown") == 0);
	CHECK(d.count > 0 &&
	      strcmp(d.lines[0], "artifact #1: name: missing") == 0);
	diag_clear(&d);
	free(s);
	CHECK(m == SENTINEL);
}

/* ----- manifest_load ----- */

static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/test-manifest-XXXXXX");
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
	return path;
}

static void test_load(void)
{
	struct manifest *m = SENTINEL;
	struct diag d = {0};
	char *json = dq("[" ART "]");
	char *path = write_tmp(json, strlen(json));
	char *big;
	int saved;
	int fd;

	CHECK(manifest_load(path, NULL, &m, &d) == 0);
	CHECK(m != SENTINEL && m->count == 1);
	if (m != SENTINEL)
		manifest_free(m);
	m = SENTINEL;

	/* "-" reads stdin */
	saved = dup(0);
	fd = open(path, O_RDONLY);
	CHECK(dup2(fd, 0) == 0);
	close(fd);
	CHECK(manifest_load("-", NULL, &m, &d) == 0);
	CHECK(m != SENTINEL && m->count == 1);
	if (m != SENTINEL)
		manifest_free(m);
	m = SENTINEL;
	dup2(saved, 0);
	close(saved);
	unlink(path);
	free(path);

	CHECK(manifest_load("/nonexistent/m.json", NULL, &m, &d) == -ENOENT);
	CHECK(d.count == 1 &&
	      has_line(&d, "manifest '/nonexistent/m.json': cannot read: No "
	                   "such file or directory"));
	diag_clear(&d);
	CHECK(manifest_load("/tmp", NULL, &m, &d) == -EISDIR);
	CHECK(d.count == 1 && has_line(&d, "manifest '/tmp': cannot read: Is "
	                                   "a directory"));
	diag_clear(&d);

	big = malloc(CAP_MANIFEST_BYTES + 1);
	memset(big, ' ', CAP_MANIFEST_BYTES + 1);
	path = write_tmp(big, CAP_MANIFEST_BYTES + 1);
	CHECK(manifest_load(path, NULL, &m, &d) == -EFBIG);
	CHECK(d.count == 1 && strstr(d.lines[0], "larger than the cap of "
	                                         "16777216 bytes"));
	diag_clear(&d);
	unlink(path);
	free(path);
	free(big);

	/* a refused manifest from a file: the parse's lines, nothing else */
	path = write_tmp("[]", 2);
	CHECK(manifest_load(path, NULL, &m, &d) == -EINVAL);
	CHECK(d.count == 1 &&
	      has_line(&d, "manifest: the list of artifacts is empty"));
	diag_clear(&d);
	unlink(path);
	free(path);
	free(json);
	CHECK(m == SENTINEL);
}

static void test_helpers(void)
{
	char buf[8];

	CHECK_STR(manifest_mode_str(0644, buf), "0644");
	CHECK_STR(manifest_mode_str(0755, buf), "0755");
	CHECK_STR(manifest_mode_str(0, buf), "0000");
	CHECK_STR(manifest_mode_str(07, buf), "0007");

	CHECK(manifest_path_cmp("a", "a") == 0);
	CHECK(manifest_path_cmp("a", "a/x") < 0);
	CHECK(manifest_path_cmp("a/x", "a-b") < 0);
	CHECK(manifest_path_cmp("a-b", "a/x") > 0);
	CHECK(manifest_path_cmp("a/x", "a!") < 0);
	CHECK(manifest_path_cmp("a/z", "ab") < 0);
	CHECK(manifest_path_cmp("b", "a/z") > 0);
	CHECK(manifest_path_cmp("a\xff", "a/") > 0);
	CHECK(manifest_path_cmp("a/b", "a/c") < 0);

	diag_clear(NULL);
	manifest_free(NULL);
}

int main(void)
{
	test_shapes();
	test_containers();
	test_json();
	test_raw_nul();
	test_name();
	test_url();
	test_type();
	test_path();
	test_permissions();
	test_checksum();
	test_collisions();
	test_every_fault();
	test_quoting();
	test_caps();
	test_load();
	test_helpers();
	return check_done();
}
