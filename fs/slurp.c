/*
 * Whole-input reads with a cap.  The buffer grows by doubling; each old
 * buffer is wiped before it is freed, since credentials pass through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "slurp.h"
#include "banned.h"

#define SLURP_FIRST (64 * 1024)

static void wipe_free(char *buf, size_t len)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* Makes BUF (of *room bytes, N used) at least one byte larger, within
 * CAP + 1.  Returns the new buffer, or NULL with BUF untouched. */
static char *grow(char *buf, size_t n, size_t *room, size_t cap)
{
	size_t want = *room ? *room * 2 : SLURP_FIRST;
	char *bigger;

	if (want > cap + 1)
		want = cap + 1;
	bigger = malloc(want);
	if (!bigger)
		return NULL;
	if (n)
		memcpy(bigger, buf, n);
	wipe_free(buf, *room);
	*room = want;
	return bigger;
}

int slurp_fd(int fd, size_t cap, char **out, size_t *len)
{
	size_t room = 0, n = 0;
	char *buf = NULL, *bigger;
	ssize_t r;
	int rc;

	for (;;) {
		if (n == room) {
			if (room == cap + 1) {
				rc = -EFBIG;
				goto out_err;
			}
			bigger = grow(buf, n, &room, cap);
			if (!bigger) {
				rc = -ENOMEM;
				goto out_err;
			}
			buf = bigger;
		}
		r = read(fd, buf + n, room - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out_err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > cap) {
		rc = -EFBIG;
		goto out_err;
	}
	if (n == room) {
		bigger = grow(buf, n, &room, cap + 1);
		if (!bigger) {
			rc = -ENOMEM;
			goto out_err;
		}
		buf = bigger;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;

out_err:
	wipe_free(buf, room);
	return rc;
}
