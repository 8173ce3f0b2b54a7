/*
 * tree_new and its lookups: shape, order, modes, collisions, and that a
 * tree of 100,000 files is built in well under a second's order of time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tree.h"
#include "check.h"
#include "banned.h"

#define SENTINEL ((struct tree *)0x1)

static struct manifest *make(size_t n)
{
	struct manifest *m = calloc(1, sizeof(*m));

	m->items = calloc(n ? n : 1, sizeof(*m->items));
	m->count = n;
	return m;
}

static void set(struct manifest *m, size_t i, const char *path, mode_t mode)
{
	m->items[i].path = strdup(path);
	m->items[i].name = strdup(path);
	m->items[i].url = strdup("http://h/f");
	m->items[i].mode = mode;
}

static const struct tree_node *walk(const struct tree *t, const char *path)
{
	char *copy = strdup(path);
	char *c = copy, *slash;
	uint64_t ino = TREE_ROOT;
	const struct tree_node *n = tree_get(t, TREE_ROOT);

	while (n && c) {
		slash = strchr(c, '/');
		if (slash)
			*slash = '\0';
		n = tree_lookup(t, ino, c);
		if (n)
			ino = n->ino;
		c = slash ? slash + 1 : NULL;
	}
	free(copy);
	return n;
}

/* Every directory's children are sorted, name each other's parent, and
 * every node but the root is some directory's child exactly once. */
static void consistent(const struct tree *t)
{
	size_t count = tree_count(t), i, k, seen = 0;
	const struct tree_node *root = tree_get(t, TREE_ROOT);
	int bad = 0;

	CHECK(root && root->is_dir && root->parent == TREE_ROOT &&
	      root->ino == TREE_ROOT && strcmp(root->name, "") == 0 &&
	      root->mode == 0755);
	for (i = 1; i <= count; i++) {
		const struct tree_node *n = tree_get(t, i);

		if (!n || n->ino != i || strchr(n->name, '/')) {
			bad++;
			continue;
		}
		if (!n->is_dir) {
			bad += n->nchildren != 0;
			continue;
		}
		bad += n->mode != 0755;
		for (k = 0; k < n->nchildren; k++) {
			const struct tree_node *c = tree_get(t, n->children[k]);

			seen++;
			bad += !c || c->parent != i;
			if (c && k > 0)
				bad += strcmp(tree_get(t, n->children[k - 1])
				                      ->name,
				              c->name) >= 0;
			if (c)
				bad += tree_lookup(t, i, c->name) != c;
		}
	}
	CHECK(bad == 0);
	CHECK(seen == count - 1);
}

static void test_seed(void)
{
	struct manifest *m = make(4);
	struct tree *t = SENTINEL;
	const struct tree_node *n, *certs;
	const struct tree_node *root;

	set(m, 0, "config/app.conf", 0644);
	set(m, 1, "assets/assets.tar.gz", 0755);
	set(m, 2, "certs/app.crt", 0644);
	set(m, 3, "certs/app.key", 0600);
	CHECK(tree_new(m, &t) == 0);
	if (t == SENTINEL)
		return;
	/* the tree owns its names: the manifest may go first */
	memset(m->items[3].path, 'X', strlen(m->items[3].path));
	manifest_free(m);

	CHECK(tree_count(t) == 8);
	consistent(t);
	root = tree_get(t, TREE_ROOT);
	CHECK(root->nchildren == 3);
	CHECK_STR(tree_get(t, root->children[0])->name, "assets");
	CHECK_STR(tree_get(t, root->children[1])->name, "certs");
	CHECK_STR(tree_get(t, root->children[2])->name, "config");

	certs = tree_lookup(t, TREE_ROOT, "certs");
	CHECK(certs && certs->is_dir && certs->mode == 0755 &&
	      certs->nchildren == 2);
	n = walk(t, "certs/app.key");
	CHECK(n && !n->is_dir && n->mode == 0600 && n->artifact == 3 && certs &&
	      n->parent == certs->ino);
	n = walk(t, "assets/assets.tar.gz");
	CHECK(n && !n->is_dir && n->mode == 0755 && n->artifact == 1);
	n = walk(t, "config/app.conf");
	CHECK(n && n->mode == 0644 && n->artifact == 0);

	CHECK(tree_lookup(t, TREE_ROOT, "nope") == NULL);
	CHECK(tree_lookup(t, TREE_ROOT, "") == NULL);
	CHECK(tree_lookup(t, n ? n->ino : 0, "x") == NULL);
	CHECK(tree_lookup(t, 999, "certs") == NULL);
	CHECK(tree_get(t, 0) == NULL);
	CHECK(tree_get(t, 9) == NULL);
	CHECK(tree_get(t, 8) != NULL);
	tree_free(t);
	tree_free(NULL);
}

/* '/' sorts below every other byte in paths, but names are compared with
 * strcmp: the children must still come out in strcmp order. */
static void test_order(void)
{
	const char *paths[] = {"a-b",   "a/x", "a!", "b",
	                       "a/y/z", "A",   "a.", "\xc3\xa9"};
	size_t n = sizeof(paths) / sizeof(paths[0]), i;
	struct manifest *m = make(n);
	struct tree *t = SENTINEL;
	const struct tree_node *root;

	for (i = 0; i < n; i++)
		set(m, i, paths[i], 0640);
	CHECK(tree_new(m, &t) == 0);
	if (t != SENTINEL) {
		consistent(t);
		root = tree_get(t, TREE_ROOT);
		CHECK(root->nchildren == 7);
		for (i = 0; i < n; i++) {
			const struct tree_node *f = walk(t, paths[i]);

			CHECK(f && !f->is_dir && f->artifact == i &&
			      f->mode == 0640);
		}
		CHECK(walk(t, "a") && walk(t, "a")->is_dir);
		tree_free(t);
	}
	manifest_free(m);
}

static void refused(const char **paths, size_t n)
{
	struct manifest *m = make(n);
	struct tree *t = SENTINEL;
	size_t i;

	for (i = 0; i < n; i++)
		set(m, i, paths[i], 0644);
	CHECK(tree_new(m, &t) == -EINVAL);
	CHECK(t == SENTINEL);
	manifest_free(m);
}

static void test_collisions(void)
{
	const char *dup[] = {"x", "y", "x"};
	const char *file_dir[] = {"d", "d/f"};
	const char *dir_file[] = {"d/f/g", "e", "d/f"};
	const char *deep[] = {"a/b/c", "a/b"};
	const char *empty_comp[] = {"a//b"};
	const char *leading[] = {"/a"};
	const char *dotdot[] = {"a/../b"};
	const char *dot[] = {"./a"};
	const char *empty[] = {""};

	refused(dup, 3);
	refused(file_dir, 2);
	refused(dir_file, 3);
	refused(deep, 2);
	refused(empty_comp, 1);
	refused(leading, 1);
	refused(dotdot, 1);
	refused(dot, 1);
	refused(empty, 1);
}

static void test_empty(void)
{
	struct manifest *m = make(0);
	struct tree *t = SENTINEL;

	CHECK(tree_new(m, &t) == 0);
	if (t != SENTINEL) {
		CHECK(tree_count(t) == 1);
		CHECK(tree_get(t, TREE_ROOT)->nchildren == 0);
		CHECK(tree_lookup(t, TREE_ROOT, "x") == NULL);
		tree_free(t);
	}
	manifest_free(m);
}

/* 100,000 files, in reverse order: 100 directories of 1,000 files, plus a
 * chain 1,000 directories deep.  Quadratic work would take minutes. */
static void test_large(void)
{
	size_t n = 100000, i;
	struct manifest *m = make(n + 1);
	struct tree *t = SENTINEL;
	char path[8192];
	size_t o = 0;
	clock_t t0;
	int missing = 0;

	for (i = 0; i < n; i++) {
		size_t k = n - 1 - i;

		snprintf(path, sizeof(path), "d%03zu/f%05zu", k % 100, k);
		set(m, i, path, 0644);
	}
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "%s",
		                      i ? "/c" : "c");
	o += (size_t)snprintf(path + o, sizeof(path) - o, "/leaf");
	set(m, n, path, 0600);

	t0 = clock();
	CHECK(tree_new(m, &t) == 0);
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	if (t == SENTINEL) {
		manifest_free(m);
		return;
	}
	CHECK(tree_count(t) == 1 + 100 + n + 1000 + 1);
	consistent(t);
	for (i = 0; i < n; i += 997) {
		const struct tree_node *f = walk(t, m->items[i].path);

		missing += !f || f->artifact != i;
	}
	CHECK(missing == 0);
	CHECK(walk(t, path) && walk(t, path)->mode == 0600);
	CHECK(tree_get(t, TREE_ROOT)->nchildren == 101);
	tree_free(t);
	manifest_free(m);
}

int main(void)
{
	test_seed();
	test_order();
	test_collisions();
	test_empty();
	test_large();
	return check_done();
}
