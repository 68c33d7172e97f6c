/* log.h: leveled, timestamped, thread-named logging to stderr and optionally a log file.
 *
 * Lines look like `2026-11-26 12:30:01.123 INFO  [main] message`. Thread-safe: one process-wide
 * mutex serializes writers, so lines from different threads never interleave. The thread
 * name is thread-local and set by each thread when it starts. */
#ifndef TENGEN_UTIL_LOG_H
#define TENGEN_UTIL_LOG_H

#include "util/error.h"

typedef enum {
    TG_LOG_DEBUG = 0,
    TG_LOG_INFO = 1,
    TG_LOG_WARN = 2,
    TG_LOG_ERROR = 3,
    TG_LOG_OFF = 4,
} tg_log_level_t;

/* Messages below level are dropped (on stderr). Default TG_LOG_INFO. Thread-safe. */
void tg_log_set_level(tg_log_level_t level);
tg_log_level_t tg_log_get_level(void);

/* Parses "debug|info|warn|error|off"; returns 0 or TG_EINVAL. */
int tg_log_parse_level(const char *name, tg_log_level_t *out);

/* Also appends every message at level >= file_level to path (created if missing).
 * Returns 0 or TG_EIO with err filled. Thread-safe. */
int tg_log_open_file(const char *path, tg_log_level_t file_level, tg_err_t *err);
void tg_log_close_file(void);

/* Name shown in brackets on this thread's lines (copied, at most 15 chars). */
void tg_log_set_thread_name(const char *name);

void tg_log(tg_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define TG_LOGD(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)
#define TG_LOGI(...) tg_log(TG_LOG_INFO, __VA_ARGS__)
#define TG_LOGW(...) tg_log(TG_LOG_WARN, __VA_ARGS__)
#define TG_LOGE(...) tg_log(TG_LOG_ERROR, __VA_ARGS__)

#endif
