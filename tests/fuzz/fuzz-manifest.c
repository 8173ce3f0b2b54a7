/*
 * libFuzzer entry point over manifest_parse.  Beyond not crashing, an
 * accepted manifest must hold what the rules promise (paths that stay in
 * the mount, modes without special bits, URLs that parse, a tree that
 * builds) and no fault line may carry a control character to a terminal.
 *
 * An input that starts with "container=NAME\n" is parsed with --container
 * NAME, so that the container choice is fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "tree.h"
#include "url.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "container="

static void require(int cond)
{
	if (!cond)
		abort();
}

static void check_path(const char *p)
{
	const char *c = p;

	require(p[0] != '\0' && p[0] != '/' && strlen(p) <= 4095);
	while (c) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);

		require(n > 0 && n <= 255);
		require(!(n == 1 && c[0] == '.'));
		require(!(n == 2 && c[0] == '.' && c[1] == '.'));
		c = slash ? slash + 1 : NULL;
	}
	for (c = p; *c; c++)
		require((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_accepted(const struct manifest *m)
{
	struct url_parts up;
	struct tree *t = NULL;
	size_t i;

	require(m->count > 0);
	for (i = 0; i < m->count; i++) {
		const struct artifact *a = &m->items[i];

		require(a->name && a->name[0] && a->url && a->path);
		check_path(a->path);
		require((a->mode & ~0777u) == 0);
		require(url_parse(a->url, &up, NULL) == 0);
		require(up.scheme == a->scheme);
		url_parts_clear(&up);
		if (a->ck_type == CK_NONE)
			require(a->ck_hex[0] == '\0');
		else
			require(strlen(a->ck_hex) ==
			        (a->ck_type == CK_SHA256 ? 64u : 32u));
	}
	require(tree_new(m, &t) == 0);
	require(tree_count(t) > m->count);
	tree_free(t);
}

static void check_lines(const struct diag *d)
{
	size_t i;
	const char *c;

	for (i = 0; i < d->count; i++) {
		for (c = d->lines[i]; *c; c++)
			require((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct manifest *m = NULL;
	struct diag d = {0};
	char *container = NULL;
	const char *nl;
	int rc;

	if (size > strlen(PREFIX) &&
	    memcmp(text, PREFIX, strlen(PREFIX)) == 0) {
		nl = memchr(text, '\n', size);
		if (!nl)
			return 0;
		container = strndup(text + strlen(PREFIX),
		                    (size_t)(nl - text) - strlen(PREFIX));
		size -= (size_t)(nl + 1 - text);
		text = nl + 1;
	}
	rc = manifest_parse(text, size, container, &m, &d);
	if (rc == 0) {
		require(d.count == 0);
		check_accepted(m);
		manifest_free(m);
	} else {
		require(d.count > 0);
	}
	check_lines(&d);
	diag_clear(&d);
	free(container);
	return 0;
}
