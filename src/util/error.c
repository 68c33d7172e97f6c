/* error.c: error names and the tg_err_t helpers (see error.h). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tg_strerror(int code) {
    switch (code) {
    case TG_OK:
        return "ok";
    case TG_EINVAL:
        return "invalid argument";
    case TG_ENOMEM:
        return "out of memory";
    case TG_EIO:
        return "input/output error";
    case TG_EFORMAT:
        return "bad format";
    case TG_ERANGE:
        return "out of range";
    case TG_EILLEGAL:
        return "illegal";
    case TG_EUNSUPPORTED:
        return "unsupported";
    case TG_ENOTFOUND:
        return "not found";
    case TG_ESTATE:
        return "invalid state";
    case TG_EINTERNAL:
        return "internal error";
    default:
        return "unknown error";
    }
}

int tg_err_set(tg_err_t *err, int code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void tg_err_prefix(tg_err_t *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[TG_ERR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[TG_ERR_MSG_LEN];
    memcpy(old, err->msg, sizeof(old));
    size_t n = strlen(prefix);
    if (n > sizeof(err->msg) - 3) n = sizeof(err->msg) - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof(err->msg) - n - 2;
    size_t m = strlen(old);
    if (m > room - 1) m = room - 1;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
}

void tg_err_clear(tg_err_t *err) {
    if (!err) return;
    err->code = TG_OK;
    err->msg[0] = '\0';
}

void tg__assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "tengen: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
