/*
 * Replays inputs through a fuzz target when it is built without
 * libFuzzer: each argument is a file, or a directory whose regular files
 * are all replayed.  Fails when an input cannot be read or none was given.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_BYTES (64L * 1024 * 1024)

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	int rc = -1;

	if (!f)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0)
		goto out;
	n = ftell(f);
	if (n < 0 || n > REPLAY_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto out;
	LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)n);
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "replay: cannot read '%.200s'\n", path);
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

static int replay_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[4096];
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open '%.200s'\n", dir);
		return -1;
	}
	for (;;) {
		e = readdir(d);
		if (!e)
			break;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) < 0)
			rc = -1;
		(*count)++;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	struct stat st;
	int count = 0;
	int failed = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			failed |= replay_dir(argv[i], &count) < 0;
			continue;
		}
		failed |= replay_file(argv[i]) < 0;
		count++;
	}
	printf("replayed %d inputs\n", count);
	return failed || count == 0;
}
