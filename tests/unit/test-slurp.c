/*
 * Unit tests of fs/slurp.c: whole reads within the cap, at it, past it,
 * empty input, input from a pipe larger than the first buffer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slurp.h"
#include "check.h"

/* A pipe holding LEN bytes of 'x'; returns its read end. */
static int pipe_of(size_t len)
{
	char chunk[4096];
	int p[2];
	size_t n;

	if (pipe(p) < 0)
		return -1;
	memset(chunk, 'x', sizeof(chunk));
	if (fork() == 0) {
		close(p[0]);
		while (len > 0) {
			n = len < sizeof(chunk) ? len : sizeof(chunk);
			if (write(p[1], chunk, n) != (ssize_t)n)
				_exit(1);
			len -= n;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void one(size_t len, size_t cap, int want_rc)
{
	char *buf = NULL;
	size_t got = 0, i;
	int fd = pipe_of(len), rc;
	bool all_x = true;

	rc = slurp_fd(fd, cap, &buf, &got);
	close(fd);
	CHECK(rc == want_rc);
	if (rc == 0) {
		CHECK(got == len);
		CHECK(buf[len] == '\0');
		for (i = 0; i < len; i++)
			all_x = all_x && buf[i] == 'x';
		CHECK(all_x);
		free(buf);
	}
}

int main(void)
{
	one(0, 10, 0);
	one(10, 10, 0);
	one(11, 10, -EFBIG);
	one(300000, 1000000, 0); /* several growths */
	one(262144, 262144, 0);  /* exactly a grown size, at the cap */
	one(1000001, 1000000, -EFBIG);
	return check_done();
}
