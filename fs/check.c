/*
 * `artifactfs check`: the manifest's verdict for a human or a script.  The
 * listing is built from the tree, so what it shows is what a mount shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "check.h"
#include "manifest.h"
#include "tree.h"
#include "url.h"
#include "banned.h"

#define EXIT_INVALID 2

static int cmp_path(const void *a, const void *b, void *arg)
{
	const struct artifact *items = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return strcmp(items[x].path, items[y].path);
}

static const char *ck_prefix(enum checksum_type t)
{
	switch (t) {
	case CK_SHA256:
		return "sha256:";
	case CK_MD5:
		return "md5:";
	case CK_NONE:
		break;
	}
	return "";
}

/* Prints the files of T, bytewise sorted by path. */
static int print_tree(const struct manifest *m, const struct tree *t)
{
	static char src[CAP_URL_BYTES + 1];
	char mode[8];
	size_t *idx, i, k = 0;

	idx = malloc((tree_count(t) ? tree_count(t) : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 1; i <= tree_count(t); i++) {
		const struct tree_node *n = tree_get(t, i);

		if (!n->is_dir)
			idx[k++] = n->artifact;
	}
	qsort_r(idx, k, sizeof(*idx), cmp_path, m->items);
	for (i = 0; i < k; i++) {
		const struct artifact *a = &m->items[idx[i]];

		printf("%s\t%s\t%s\t%s%s\n", manifest_mode_str(a->mode, mode),
		       a->path, url_redact(a->url, src, sizeof(src)),
		       ck_prefix(a->ck_type), a->ck_hex[0] ? a->ck_hex : "-");
	}
	free(idx);
	if (fflush(stdout) != 0 || ferror(stdout))
		return -EIO;
	return 0;
}

int check_run(const char *manifest_path, const char *container)
{
	struct diag d = {0};
	struct manifest *m = NULL;
	struct tree *t = NULL;
	size_t i;
	int rc;

	rc = manifest_load(manifest_path, container, &m, &d);
	if (rc < 0)
		goto out;
	rc = tree_new(m, &t);
	if (rc < 0) {
		diag_add(&d, "manifest: cannot build the tree: %s",
		         strerror(-rc));
		goto out;
	}
	rc = print_tree(m, t);
	if (rc < 0)
		diag_add(&d, "cannot write the listing: %s", strerror(-rc));
out:
	for (i = 0; i < d.count; i++)
		fprintf(stderr, "%s\n", d.lines[i]);
	diag_clear(&d);
	tree_free(t);
	manifest_free(m);
	return rc < 0 ? EXIT_INVALID : 0;
}
