/*
 * The immutable tree of a mount.  Built in one pass over the artifacts
 * sorted by path (manifest_path_cmp), so that every directory's entries
 * arrive together and in name order: O(n log n) for n artifacts, no scan
 * of siblings, whatever the shape of the tree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"
#include "banned.h"

#define DIR_MODE 0755

struct tree {
	struct tree_node *nodes; /* nodes[ino - 1] */
	size_t count;
	uint64_t *kids; /* every directory's children, one list after another */
	char *names;    /* every path, '/' turned into NUL: the node names */
};

static int cmp_path(const void *a, const void *b, void *arg)
{
	const struct artifact *items = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return manifest_path_cmp(items[x].path, items[y].path);
}

/* A component the tree can hold: not empty, not "." or "..". */
static int component_ok(const char *c)
{
	if (c[0] == '\0' || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
		return -EINVAL;
	return 0;
}

static struct tree_node *add_node(struct tree *t, uint64_t parent,
                                  const char *name, bool is_dir)
{
	struct tree_node *n = &t->nodes[t->count++];

	n->ino = t->count;
	n->parent = parent;
	n->name = name;
	n->is_dir = is_dir;
	n->mode = DIR_MODE;
	n->artifact = SIZE_MAX;
	return n;
}

/*
 * Adds the file at NAMES[0..len) (components NUL-separated) as artifact
 * AI.  STACK holds the inodes along the previous file's path, *depth of
 * them; the new path shares a prefix with it and branches off after.
 */
static int add_file(struct tree *t, const struct artifact *a, size_t ai,
                    char *names, size_t len, uint64_t *stack, size_t *depth)
{
	char *c = names, *end = names + len;
	size_t j = 0;
	uint64_t parent = TREE_ROOT;
	struct tree_node *n;

	while (j < *depth && c < end &&
	       strcmp(t->nodes[stack[j] - 1].name, c) == 0) {
		parent = stack[j++];
		c += strlen(c) + 1;
	}
	if (c >= end || !t->nodes[parent - 1].is_dir)
		return -EINVAL;
	*depth = j;
	for (;;) {
		size_t clen = strlen(c);
		bool last = c + clen + 1 >= end;

		if (component_ok(c) < 0)
			return -EINVAL;
		n = add_node(t, parent, c, !last);
		stack[(*depth)++] = n->ino;
		if (last)
			break;
		parent = n->ino;
		c += clen + 1;
	}
	n->mode = a->mode & 0777;
	n->artifact = ai;
	return 0;
}

/* Gives each directory its children, in creation order, which is name
 * order because the files were added sorted. */
static int link_children(struct tree *t)
{
	size_t *fill;
	size_t i, off = 0;

	t->kids = malloc((t->count ? t->count : 1) * sizeof(*t->kids));
	fill = calloc(t->count, sizeof(*fill));
	if (!t->kids || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (i = 1; i < t->count; i++)
		t->nodes[t->nodes[i].parent - 1].nchildren++;
	for (i = 0; i < t->count; i++) {
		fill[i] = off;
		t->nodes[i].children = t->kids + off;
		off += t->nodes[i].nchildren;
	}
	for (i = 1; i < t->count; i++)
		t->kids[fill[t->nodes[i].parent - 1]++] = t->nodes[i].ino;
	free(fill);
	return 0;
}

int tree_new(const struct manifest *m, struct tree **out)
{
	struct tree *t = NULL;
	size_t *idx = NULL;
	uint64_t *stack = NULL;
	size_t i, bytes = 0, max_nodes = 1, depth = 0, o = 0;
	int rc = -ENOMEM;

	for (i = 0; i < m->count; i++) {
		size_t n = strlen(m->items[i].path), k;

		bytes += n + 1;
		for (k = 0; k < n; k++)
			max_nodes += m->items[i].path[k] == '/';
		max_nodes++;
	}
	t = calloc(1, sizeof(*t));
	idx = malloc((m->count ? m->count : 1) * sizeof(*idx));
	stack = malloc(max_nodes * sizeof(*stack));
	if (!t || !idx || !stack)
		goto out;
	t->nodes = calloc(max_nodes, sizeof(*t->nodes));
	t->names = malloc(bytes ? bytes : 1);
	if (!t->nodes || !t->names)
		goto out;

	for (i = 0; i < m->count; i++)
		idx[i] = i;
	qsort_r(idx, m->count, sizeof(*idx), cmp_path, m->items);

	add_node(t, TREE_ROOT, "", true);
	for (i = 0; i < m->count; i++) {
		const struct artifact *a = &m->items[idx[i]];
		size_t n = strlen(a->path), k;
		char *name = t->names + o;

		for (k = 0; k <= n; k++)
			name[k] = a->path[k] == '/' ? '\0' : a->path[k];
		o += n + 1;
		rc = add_file(t, a, idx[i], name, n + 1, stack, &depth);
		if (rc < 0)
			goto out;
	}
	rc = link_children(t);
	if (rc < 0)
		goto out;
	*out = t;
	t = NULL;
out:
	free(stack);
	free(idx);
	tree_free(t);
	return rc;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->kids);
	free(t->names);
	free(t);
}

const struct tree_node *tree_get(const struct tree *t, uint64_t ino)
{
	if (ino < 1 || ino > t->count)
		return NULL;
	return &t->nodes[ino - 1];
}

const struct tree_node *tree_lookup(const struct tree *t, uint64_t parent,
                                    const char *name)
{
	const struct tree_node *dir = tree_get(t, parent);
	size_t lo = 0, hi;

	if (!dir || !dir->is_dir)
		return NULL;
	hi = dir->nchildren;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tree_node *n = &t->nodes[dir->children[mid] - 1];
		int c = strcmp(name, n->name);

		if (c == 0)
			return n;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t tree_count(const struct tree *t)
{
	return t->count;
}
