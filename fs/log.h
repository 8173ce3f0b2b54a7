/*
 * Logging: to stderr in the foreground, to syslog when daemonised.
 * One line per event, lowercase, no final period.  Callers cap
 * user-supplied strings with "%.200s" (CAP_LOG_FIELD) and never pass
 * secrets or query strings: see url_redact().
 */
#ifndef ARTIFACTFS_LOG_H
#define ARTIFACTFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Chooses the sink; may be called again after daemonising.  Not
 * thread-safe: call before starting threads. */
void log_init(bool to_syslog, enum log_level max_level);

/* Thread-safe.  Lines above the configured level are dropped. */
void log_msg(enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

bool log_enabled(enum log_level level);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_enabled(LOG_LVL_DEBUG))              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
