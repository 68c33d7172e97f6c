/* log.c: the logger behind log.h. Lock: log_mutex guards log_file and every write. */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <uv.h>

static uv_once_t log_once = UV_ONCE_INIT;
static uv_mutex_t log_mutex;
static FILE *log_file;                              /* Lock: log_mutex. */
static tg_log_level_t log_file_level = TG_LOG_INFO; /* Lock: log_mutex. */
static volatile int log_level_stderr = TG_LOG_INFO; /* Read racily on purpose: a stale level only
                                                       changes which lines show. */
static _Thread_local char log_thread_name[16] = "main";

static void log_init_once(void) { TG_ASSERT(uv_mutex_init(&log_mutex) == 0); }

void tg_log_set_level(tg_log_level_t level) { log_level_stderr = (int)level; }
tg_log_level_t tg_log_get_level(void) { return (tg_log_level_t)log_level_stderr; }

int tg_log_parse_level(const char *name, tg_log_level_t *out) {
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (tg_log_level_t)i;
            return 0;
        }
    }
    return TG_EINVAL;
}

int tg_log_open_file(const char *path, tg_log_level_t file_level, tg_err_t *err) {
    uv_once(&log_once, log_init_once);
    FILE *f = fopen(path, "a");
    if (!f) return tg_err_set(err, TG_EIO, "%s: cannot open log file: %s", path, strerror(errno));
    uv_mutex_lock(&log_mutex);
    if (log_file) fclose(log_file);
    log_file = f;
    log_file_level = file_level;
    uv_mutex_unlock(&log_mutex);
    return 0;
}

void tg_log_close_file(void) {
    uv_once(&log_once, log_init_once);
    uv_mutex_lock(&log_mutex);
    if (log_file) fclose(log_file);
    log_file = NULL;
    uv_mutex_unlock(&log_mutex);
}

void tg_log_set_thread_name(const char *name) {
    snprintf(log_thread_name, sizeof(log_thread_name), "%s", name);
}

void tg_log(tg_log_level_t level, const char *fmt, ...) {
    static const char *tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    if (level >= TG_LOG_OFF) return;
    uv_once(&log_once, log_init_once);
    int to_stderr = (int)level >= log_level_stderr;
    /* Cheap unlocked peek: a file opened concurrently may miss this one line. */
    if (!to_stderr && !log_file) return;

    char stamp[48];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(stamp + n, sizeof(stamp) - n, ".%03d", (int)(tv.tv_usec / 1000));

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    uv_mutex_lock(&log_mutex);
    if (to_stderr) {
        fprintf(stderr, "%s %s [%s] %s\n", stamp, tags[level], log_thread_name, msg);
        fflush(stderr);
    }
    if (log_file && level >= log_file_level) {
        fprintf(log_file, "%s %s [%s] %s\n", stamp, tags[level], log_thread_name, msg);
        fflush(log_file);
    }
    uv_mutex_unlock(&log_mutex);
}
