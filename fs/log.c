/*
 * Log sink: stderr in the foreground, syslog when daemonised.  Lines are
 * formatted into a bounded buffer first, so a long user-supplied string
 * can never make a line unbounded.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "caps.h"
#include "log.h"
#include "banned.h"

static bool use_syslog;
static enum log_level max_level = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(bool to_syslog, enum log_level level)
{
	use_syslog = to_syslog;
	max_level = level;
	if (to_syslog)
		openlog("artifactfs", LOG_PID, LOG_DAEMON);
}

bool log_enabled(enum log_level level)
{
	return level <= max_level;
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static const char *level_name(enum log_level level)
{
	static const char *const names[] = {"error", "warning", "info",
	                                    "debug"};

	return names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[CAP_LOG_LINE];
	va_list ap;

	if (!log_enabled(level))
		return;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (use_syslog) {
		syslog(syslog_priority(level), "%s", line);
		return;
	}

	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "artifactfs: %s: %s\n", level_name(level), line);
	pthread_mutex_unlock(&log_lock);
}
