/*
 * check_run: the exit status, the listing on stdout (sorted, redacted,
 * tab-separated) and the fault lines on stderr.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fs/check.h and this directory's check.h share a name */
#include "../../fs/check.h"
#include "check.h"
#include "banned.h"

struct run {
	int rc;
	char out[8192];
	char err[8192];
};

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test-check-XXXXXX");
	int fd = mkstemp(path);
	size_t n = strlen(text);

	CHECK(fd >= 0);
	CHECK(write(fd, text, n) == (ssize_t)n);
	close(fd);
	return path;
}

static void slurp(int fd, char *buf, size_t n)
{
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	r = read(fd, buf, n - 1);
	buf[r > 0 ? r : 0] = '\0';
}

/* Runs check_run with stdout and stderr caught in temporary files. */
static void run(const char *path, const char *container, struct run *r)
{
	char out_path[] = "/tmp/test-check-out-XXXXXX";
	char err_path[] = "/tmp/test-check-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path);
	int saved_out = dup(1), saved_err = dup(2);

	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	r->rc = check_run(path, container);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	close(out);
	close(err);
	unlink(out_path);
	unlink(err_path);
}

#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_valid(void)
{
	struct run r;
	char *path = write_tmp(
	        "{\"containerDefinitions\":[{\"name\":\"web\",\"artifacts\":["
	        "{\"name\":\"k\",\"artifactUrl\":\"s3://certs/app.key\","
	        "\"targetPath\":\"/certs/app.key\",\"permissions\":\"0600\"},"
	        "{\"name\":\"c\",\"artifactUrl\":"
	        "\"https://user:pw@h.invalid/c?X-Amz-Signature=s#f\","
	        "\"targetPath\":\"config/app.conf\",\"checksum\":\"" SHA "\"},"
	        "{\"name\":\"d\",\"artifactUrl\":\"http://h.invalid/d\","
	        "\"targetPath\":\"config-d\",\"checksum\":"
	        "\"md5:D41D8CD98F00B204E9800998ECF8427E\"}]}]}");

	run(path, NULL, &r);
	CHECK(r.rc == 0);
	/* bytewise order: "config-d" < "config/app.conf" */
	CHECK_STR(r.out,
	          "0600\tcerts/app.key\ts3://certs/app.key\t-\n"
	          "0644\tconfig-d\thttp://h.invalid/d\t"
	          "md5:d41d8cd98f00b204e9800998ecf8427e\n"
	          "0644\tconfig/app.conf\thttps://h.invalid/c\tsha256:" SHA
	          "\n");
	CHECK_STR(r.err, "");
	CHECK(strstr(r.out, "pw") == NULL &&
	      strstr(r.out, "Signature") == NULL);

	run(path, "web", &r);
	CHECK(r.rc == 0);
	run(path, "db", &r);
	CHECK(r.rc == 2);
	CHECK_STR(r.out, "");
	CHECK_STR(r.err, "container 'db': not found in the manifest\n");
	unlink(path);
	free(path);
}

static void test_invalid(void)
{
	struct run r;
	char *path = write_tmp(
	        "[{\"name\":\"esc\",\"artifactUrl\":\"http://h.invalid/f\","
	        "\"targetPath\":\"../x\"},"
	        "{\"name\":\"p\",\"artifactUrl\":\"http://h.invalid/f\","
	        "\"targetPath\":\"y\",\"permissions\":\"4755\"}]");

	run(path, NULL, &r);
	CHECK(r.rc == 2);
	CHECK_STR(r.out, "");
	CHECK_STR(r.err,
	          "artifact 'esc': targetPath: '..' is not allowed\n"
	          "artifact 'p': permissions: '4755': setuid, setgid and "
	          "sticky bits are not allowed\n");
	unlink(path);
	free(path);

	run("/nonexistent/task.json", NULL, &r);
	CHECK(r.rc == 2);
	CHECK_STR(r.out, "");
	CHECK_STR(r.err, "manifest '/nonexistent/task.json': cannot read: No "
	                 "such file or directory\n");
}

int main(void)
{
	test_valid();
	test_invalid();
	return check_done();
}
