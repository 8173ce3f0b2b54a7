/*
 * The immutable file tree of a mount, built once from a validated
 * manifest.  Inode numbers are dense: 1 is the root.  Nothing here
 * changes after tree_new returns, so readers need no lock.
 */
#ifndef ARTIFACTFS_TREE_H
#define ARTIFACTFS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"

#define TREE_ROOT 1

struct tree;

struct tree_node {
	uint64_t ino;
	uint64_t parent;  /* the root is its own parent */
	const char *name; /* one component; "" for the root */
	bool is_dir;
	mode_t mode; /* permission bits: 0755 for dirs, declared for files */
	size_t artifact;          /* files: index into items; dirs: SIZE_MAX */
	const uint64_t *children; /* dirs: inode numbers, sorted by name */
	size_t nchildren;
};

/* Builds the tree.  Returns 0 and the tree in *out (free with tree_free;
 * it keeps no pointer into M), or -EINVAL when two artifacts collide
 * (which manifest_parse already refuses), or -ENOMEM. */
int tree_new(const struct manifest *m, struct tree **out);
/* Frees T; T may be NULL. */
void tree_free(struct tree *t);

/* The node with inode INO, or NULL when there is none. */
const struct tree_node *tree_get(const struct tree *t, uint64_t ino);

/* The child NAME of directory PARENT, or NULL. O(log n). */
const struct tree_node *tree_lookup(const struct tree *t, uint64_t parent,
                                    const char *name);

/* Number of nodes, the root included. */
size_t tree_count(const struct tree *t);

#endif
