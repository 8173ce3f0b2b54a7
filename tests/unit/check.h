/*
 * A minimal check harness for the unit tests: CHECK() reports the failed
 * expression with its place and counts it; check_done() prints the tally
 * and gives the exit status.
 */
#ifndef ARTIFACTFS_TEST_CHECK_H
#define ARTIFACTFS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed;
static int check_count;

#define CHECK(expr)                                                            \
	do {                                                                   \
		check_count++;                                                 \
		if (!(expr)) {                                                 \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #expr);                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		check_count++;                                                 \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {    \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, \
			        __LINE__, check_a_ ? check_a_ : "(null)",      \
			        check_b_ ? check_b_ : "(null)");               \
		}                                                              \
	} while (0)

static inline int check_done(void)
{
	printf("%d checks, %d failed\n", check_count, check_failed);
	return check_failed ? 1 : 0;
}

#endif
