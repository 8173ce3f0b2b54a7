/*
 * artifactfs: the command line.  `mount` validates the manifest, builds
 * the tree, mounts it and serves until unmounted or signalled; `check`
 * validates and prints the tree without touching the network.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <fuse_lowlevel.h>

#include "cache.h"
#include "caps.h"
#include "check.h"
#include "eager.h"
#include "fetch.h"
#include "fsops.h"
#include "log.h"
#include "manifest.h"
#include "s3.h"
#include "store.h"
#include "tree.h"
#include "banned.h"

struct mount_opts {
	const char *container;
	const char *cache_dir;
	const char *ca_file;
	bool foreground;
	bool s3_path_style, s3_no_sign;
	struct fuse_args fuse_args; /* -o options for libfuse */

	/* Our own -o options, taken out before libfuse sees the rest. */
	unsigned int uid, gid;
	int uid_set, gid_set;
	unsigned int connect_timeout, low_speed_time;
	int connect_timeout_set, low_speed_time_set;
	int debug;
	char *range_threshold; /* SIZE, with an optional K, M or G */
	char *cache_size;      /* SIZE: the cache's quota */
};

#define OWN_OPT(t, field)                                \
	{                                                \
		t, offsetof(struct mount_opts, field), 1 \
	}

static const struct fuse_opt own_opts[] = {
        {"uid=%u", offsetof(struct mount_opts, uid), 0},
        OWN_OPT("uid=", uid_set),
        {"gid=%u", offsetof(struct mount_opts, gid), 0},
        OWN_OPT("gid=", gid_set),
        {"connect_timeout=%u", offsetof(struct mount_opts, connect_timeout), 0},
        {"low_speed_time=%u", offsetof(struct mount_opts, low_speed_time), 0},
        OWN_OPT("connect_timeout=", connect_timeout_set),
        OWN_OPT("low_speed_time=", low_speed_time_set),
        OWN_OPT("debug", debug),
        {"range_threshold=%s", offsetof(struct mount_opts, range_threshold), 0},
        {"cache_size=%s", offsetof(struct mount_opts, cache_size), 0},
        FUSE_OPT_END,
};

static void usage(FILE *f)
{
	fputs("usage: artifactfs mount [--container NAME] [--cache-dir DIR]\n"
	      "                        [--ca-file FILE] [-f|--foreground]\n"
	      "                        [-o OPT[,OPT...]] MANIFEST MOUNTPOINT\n"
	      "       artifactfs fetch [--container NAME] [--cache-dir DIR]\n"
	      "                        [--ca-file FILE] [-o OPT[,OPT...]]\n"
	      "                        MANIFEST DIR\n"
	      "       artifactfs check [--container NAME] MANIFEST\n"
	      "       artifactfs --help | --version\n"
	      "\n"
	      "S3: --s3-path-style (bucket in the path), --s3-no-sign (public\n"
	      "  buckets); credentials, region and endpoint from the AWS\n"
	      "  variables and files (see docs/s3.md)\n"
	      "mount options (-o): uid=N, gid=N, connect_timeout=SECS\n"
	      "  (default 10), low_speed_time=SECS (default 30: a transfer\n"
	      "  under 1 KiB/s that long is cut; 3 retries), "
	      "range_threshold=SIZE (default 64M; 0\n"
	      "  turns range mode off), cache_size=SIZE (least recently used\n"
	      "  entries evicted past it), debug, and the usual FUSE options\n",
	      f);
}

/* The default cache directory, into buf (size n). */
static int default_cache_dir(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (geteuid() == 0 && !xdg) {
		snprintf(buf, n, "/var/cache/artifactfs");
		return 0;
	}
	if (xdg && xdg[0] == '/') {
		snprintf(buf, n, "%s/artifactfs", xdg);
		return 0;
	}
	if (!home || home[0] != '/') {
		pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return -ENOENT;
	snprintf(buf, n, "%s/.cache/artifactfs", home);
	return 0;
}

/* --ca-file, else CURL_CA_BUNDLE, else SSL_CERT_FILE, as curl's tool. */
static const char *pick_ca_file(const char *given)
{
	const char *env;

	if (given)
		return given;
	env = getenv("CURL_CA_BUNDLE");
	if (env && env[0])
		return env;
	env = getenv("SSL_CERT_FILE");
	if (env && env[0])
		return env;
	return NULL;
}

static void print_diag(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		fprintf(stderr, "artifactfs: %s\n", d->lines[i]);
}

static void mount_opts_clear(struct mount_opts *o)
{
	fuse_opt_free_args(&o->fuse_args);
	free(o->range_threshold);
	free(o->cache_size);
}

static int parse_mount_args(int argc, char **argv, struct mount_opts *o)
{
	static const struct option longopts[] = {
	        {"container", required_argument, NULL, 'c'},
	        {"cache-dir", required_argument, NULL, 'C'},
	        {"ca-file", required_argument, NULL, 'A'},
	        {"foreground", no_argument, NULL, 'f'},
	        {"s3-path-style", no_argument, NULL, 'P'},
	        {"s3-no-sign", no_argument, NULL, 'N'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	if (fuse_opt_add_arg(&o->fuse_args, "artifactfs") < 0)
		return -ENOMEM;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+fo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->container = optarg;
			break;
		case 'C':
			o->cache_dir = optarg;
			break;
		case 'A':
			o->ca_file = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'P':
			o->s3_path_style = true;
			break;
		case 'N':
			o->s3_no_sign = true;
			break;
		case 'o':
			if (fuse_opt_add_arg(&o->fuse_args, "-o") ||
			    fuse_opt_add_arg(&o->fuse_args, optarg))
				return -ENOMEM;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -EINVAL;
	}
	if (fuse_opt_parse(&o->fuse_args, o, own_opts, NULL) < 0)
		return -EINVAL;
	return 0;
}

/* Reads SIZE ("64M", "1G", "1048576") into *out.  Returns 0 or -EINVAL. */
static int parse_size(const char *text, int64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -EINVAL;
	if (v > (1ULL << 50) >> shift)
		return -EINVAL;
	*out = (int64_t)(v << shift);
	return 0;
}

/* Resolves PATH to an absolute path: the daemon changes to "/". */
static char *absolute(const char *path, const char *what)
{
	char *abs = realpath(path, NULL);

	if (!abs)
		fprintf(stderr, "artifactfs: %s '%.200s': %s\n", what, path,
		        strerror(errno));
	return abs;
}

struct mount_state {
	struct manifest *m;
	struct tree *tree; /* mount only */
	struct cache *cache;
	struct fetch_engine *engine;
	struct store *store;
	struct s3_config *s3;
	struct fuse_session *se;
	char *cache_dir;
	char *ca_file;
	char *mountpoint;
	bool mounted, signals;
};

/* What the stop signals act on; set while the FUSE loop runs. */
static struct fuse_session *stop_session;
static struct fetch_engine *stop_engine;

static void on_stop_signal(int sig)
{
	fuse_session_exit(stop_session);
	/* Opens waiting on the network must end for the loop to end. */
	fetch_engine_interrupt(stop_engine);
}

/* Installs (or, with INSTALL false, removes) the handlers of SIGTERM,
 * SIGINT and SIGHUP, which end the FUSE loop and then unmount. */
static int stop_handlers(bool install)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = install ? on_stop_signal : SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	sa.sa_handler = install ? SIG_IGN : SIG_DFL;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Starts the engine and store threads with the stop signals blocked, as
 * libfuse does for its workers, so that the main thread, waiting in the
 * FUSE loop, is the one a stop signal interrupts.
 */
static int start_threads(struct mount_state *st)
{
	sigset_t block, old;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = fetch_engine_start(st->engine);
	if (rc == 0 && st->store)
		rc = store_start(st->store);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void mount_state_clear(struct mount_state *st)
{
	if (st->signals)
		stop_handlers(false);
	if (st->mounted)
		fuse_session_unmount(st->se);
	if (st->se)
		fuse_session_destroy(st->se);
	/* Transfers still out (a HEAD that hangs) must not hold the exit. */
	if (st->engine)
		fetch_engine_interrupt(st->engine);
	store_free(st->store);
	s3_config_free(st->s3);
	fetch_engine_free(st->engine);
	cache_free(st->cache);
	tree_free(st->tree);
	manifest_free(st->m);
	free(st->cache_dir);
	free(st->ca_file);
	free(st->mountpoint);
}

/* The S3 settings, read once, when some artifact comes from S3. */
static int setup_s3(const struct mount_opts *o, struct mount_state *st)
{
	struct s3_options so = {o->s3_path_style, o->s3_no_sign, st->ca_file};
	char why[512], desc[512];
	size_t i;
	int rc;

	for (i = 0; i < st->m->count; i++) {
		if (st->m->items[i].scheme == URL_S3)
			break;
	}
	if (i == st->m->count)
		return 0;

	rc = s3_config_new(&so, &st->s3, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "artifactfs: %s\n", why);
		return rc;
	}
	s3_config_describe(st->s3, desc, sizeof(desc));
	log_info("s3: %s", desc);
	return 0;
}

/* Everything mount and fetch need before any transfer, with one message
 * for each thing that can fail. */
static int prepare(struct mount_opts *o, const char *manifest,
                   struct mount_state *st)
{
	struct source_config scfg = {0};
	struct fetch_config fcfg;
	struct diag d = {0};
	char dir[PATH_MAX], why[512];
	int64_t quota;
	const char *ca;
	int rc;

	rc = manifest_load(manifest, o->container, &st->m, &d);
	if (rc < 0) {
		print_diag(&d);
		diag_clear(&d);
		return rc;
	}

	if (o->cache_dir) {
		snprintf(dir, sizeof(dir), "%s", o->cache_dir);
	} else if (default_cache_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "artifactfs: no home directory for the cache; "
		                "use --cache-dir\n");
		return -ENOENT;
	}
	rc = cache_open(dir, &st->cache);
	if (rc < 0) {
		fprintf(stderr, "artifactfs: cache directory '%.200s': %s\n",
		        dir,
		        rc == -EACCES  ? "not private (mode 0700): refusing to "
		                         "use a directory others can enter"
		        : rc == -EPERM ? "owned by another user"
		                       : strerror(-rc));
		return rc;
	}
	if (o->cache_size) {
		if (parse_size(o->cache_size, &quota) < 0) {
			fprintf(stderr,
			        "artifactfs: cache_size '%.100s': not a "
			        "size\n",
			        o->cache_size);
			return -EINVAL;
		}
		cache_set_quota(st->cache, (uint64_t)quota);
	}
	st->cache_dir = absolute(dir, "cache directory");
	if (!st->cache_dir)
		return -ENOENT;

	ca = pick_ca_file(o->ca_file);
	if (ca) {
		st->ca_file = absolute(ca, "CA file");
		if (!st->ca_file)
			return -ENOENT;
	}

	/* Both bound how long an open can wait: never off, never days. */
	if ((o->connect_timeout_set &&
	     (o->connect_timeout < 1 || o->connect_timeout > 3600)) ||
	    (o->low_speed_time_set &&
	     (o->low_speed_time < 1 || o->low_speed_time > 3600))) {
		fprintf(stderr,
		        "artifactfs: connect_timeout and low_speed_time "
		        "take 1 to 3600 seconds\n");
		return -EINVAL;
	}
	fcfg.ca_file = st->ca_file;
	fcfg.connect_timeout =
	        o->connect_timeout ? o->connect_timeout : DEF_CONNECT_TIMEOUT;
	fcfg.low_speed_time =
	        o->low_speed_time ? o->low_speed_time : DEF_LOW_SPEED_TIME;
	fcfg.low_speed_limit = DEF_LOW_SPEED_LIMIT;
	rc = fetch_engine_new(&fcfg, &st->engine);
	if (rc < 0) {
		fprintf(stderr, "artifactfs: cannot start curl: %s\n",
		        strerror(-rc));
		return rc;
	}

	scfg.ca_file = st->ca_file;
	rc = setup_s3(o, st);
	if (rc < 0)
		return rc;
	scfg.s3 = st->s3;
	rc = store_new(st->m, st->cache, st->engine, &scfg, &st->store, why,
	               sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "artifactfs: %s\n", why);
		return rc;
	}
	return 0;
}

static int add_mount_options(struct mount_opts *o)
{
	int rc;

	rc = fuse_opt_add_arg(&o->fuse_args,
	                      "-oro,default_permissions,fsname=artifactfs,"
	                      "subtype=artifactfs,nosuid,nodev");
	/* As root the declared modes are enforced for every user. */
	if (rc == 0 && geteuid() == 0)
		rc = fuse_opt_add_arg(&o->fuse_args, "-oallow_other");
	return rc ? -ENOMEM : 0;
}

static int cmd_mount(int argc, char **argv)
{
	struct mount_opts o = {.fuse_args = FUSE_ARGS_INIT(0, NULL)};
	struct mount_state st = {0};
	struct fsops_ctx ctx;
	struct fuse_loop_config *loop = NULL;
	struct stat sb;
	int64_t threshold;
	int rc, status = 1;

	rc = parse_mount_args(argc, argv, &o);
	if (rc < 0)
		goto out;
	log_init(false, o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	rc = prepare(&o, argv[optind], &st);
	if (rc < 0)
		goto out;
	rc = tree_new(st.m, &st.tree);
	if (rc < 0) {
		fprintf(stderr, "artifactfs: cannot build the tree: %s\n",
		        strerror(-rc));
		goto out;
	}
	st.mountpoint = absolute(argv[optind + 1], "mountpoint");
	if (!st.mountpoint)
		goto out;
	if (stat(st.mountpoint, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr,
		        "artifactfs: mountpoint '%.200s': not a "
		        "directory\n",
		        st.mountpoint);
		goto out;
	}
	if (add_mount_options(&o) < 0)
		goto out;

	if (o.range_threshold) {
		if (parse_size(o.range_threshold, &threshold) < 0) {
			fprintf(stderr,
			        "artifactfs: range_threshold '%.100s': "
			        "not a size\n",
			        o.range_threshold);
			goto out;
		}
		store_set_range_threshold(st.store, threshold);
	}

	ctx.tree = st.tree;
	ctx.manifest = st.m;
	ctx.store = st.store;
	ctx.uid = o.uid_set ? o.uid : geteuid();
	ctx.gid = o.gid_set ? o.gid : getegid();
	ctx.mounted_at = time(NULL);
	st.se = fuse_session_new(&o.fuse_args, fsops_table(),
	                         sizeof(*fsops_table()), &ctx);
	if (!st.se)
		goto out; /* libfuse said why */
	stop_session = st.se;
	stop_engine = st.engine;
	if (stop_handlers(true) < 0)
		goto out;
	st.signals = true;
	if (fuse_session_mount(st.se, st.mountpoint) != 0)
		goto out; /* libfuse said why */
	st.mounted = true;

	if (fuse_daemonize(o.foreground) != 0)
		goto out;
	if (!o.foreground)
		log_init(true, o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (start_threads(&st) < 0) {
		log_error("cannot start worker threads");
		goto out;
	}
	log_info("mounted %zu artifacts on '%.200s', cache '%.200s'",
	         st.m->count, st.mountpoint, st.cache_dir);

	loop = fuse_loop_cfg_create();
	if (!loop)
		goto out;
	fuse_loop_cfg_set_max_threads(loop, CAP_FUSE_THREADS);
	/* Idle workers are kept, never destroyed: a burst of opens would
	 * otherwise make threads come and go, and an exiting detached
	 * thread can race the process's exit. */
	fuse_loop_cfg_set_idle_threads(loop, CAP_FUSE_THREADS);
	rc = fuse_session_loop_mt(st.se, loop);
	status = rc < 0 ? 1 : 0;
	log_info("unmounting '%.200s'", st.mountpoint);

out:
	fuse_loop_cfg_destroy(loop);
	mount_state_clear(&st);
	mount_opts_clear(&o);
	return status;
}

static int cmd_fetch(int argc, char **argv)
{
	struct mount_opts o = {.fuse_args = FUSE_ARGS_INIT(0, NULL)};
	struct mount_state st = {0};
	char *dir = NULL;
	int rc, status = 1;

	rc = parse_mount_args(argc, argv, &o);
	if (rc < 0)
		goto out;
	if (o.fuse_args.argc > 1) {
		fprintf(stderr, "artifactfs: fetch: unknown option '%.200s'\n",
		        o.fuse_args.argv[o.fuse_args.argc - 1]);
		goto out;
	}
	/* Quiet but for failures: the progress display is on a terminal. */
	log_init(false, o.debug ? LOG_LVL_DEBUG : LOG_LVL_WARN);

	dir = absolute(argv[optind + 1], "directory");
	if (!dir)
		goto out;
	rc = prepare(&o, argv[optind], &st);
	if (rc < 0)
		goto out;
	if (fetch_engine_start(st.engine) < 0) {
		log_error("cannot start the fetch thread");
		goto out;
	}
	rc = eager_run(st.store, st.m, dir, isatty(STDERR_FILENO));
	status = rc < 0 ? 1 : 0;

out:
	mount_state_clear(&st);
	mount_opts_clear(&o);
	free(dir);
	return status;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"container", required_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *container = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			container = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	return check_run(argv[optind], container);
}

int main(int argc, char **argv)
{
	int status;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("artifactfs %s\n", ARTIFACTFS_VERSION);
		return 0;
	}

	umask(077);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "artifactfs: cannot initialise curl\n");
		return 1;
	}
	if (!strcmp(argv[1], "mount"))
		status = cmd_mount(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "fetch"))
		status = cmd_fetch(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "check"))
		status = cmd_check(argc - 1, argv + 1);
	else {
		fprintf(stderr, "artifactfs: unknown command '%.100s'\n",
		        argv[1]);
		usage(stderr);
		status = 2;
	}
	curl_global_cleanup();
	return status;
}
