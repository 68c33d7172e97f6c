/* error.h: tengen's error codes and the error record filled by parsers of outside input.
 *
 * Library code never exits: functions return 0 or a negative TG_E* code, and parsers of
 * outside input (config, SGF, GTP, model and data files) also fill a caller-owned tg_err_t
 * with one line saying what is wrong and where ("file:line: key: what"). TG_ASSERT is for
 * programmer errors only: it prints the expression, file and line, then aborts. */
#ifndef TENGEN_UTIL_ERROR_H
#define TENGEN_UTIL_ERROR_H

#include <stddef.h>

enum {
    TG_OK = 0,
    TG_EINVAL = -1,       /* bad argument or malformed input */
    TG_ENOMEM = -2,       /* allocation failed */
    TG_EIO = -3,          /* read/write/open failed */
    TG_EFORMAT = -4,      /* a file or stream does not follow its format */
    TG_ERANGE = -5,       /* a value is out of its allowed range */
    TG_EILLEGAL = -6,     /* an illegal move or action in the current state */
    TG_EUNSUPPORTED = -7, /* understood but not supported (e.g. an unknown model version) */
    TG_ENOTFOUND = -8,    /* a named thing does not exist */
    TG_ESTATE = -9,       /* call not valid in the current state */
    TG_EINTERNAL = -10,   /* an internal invariant failed */
};

#define TG_ERR_MSG_LEN 512

/* One error record, owned by the caller. msg is always NUL-terminated. */
typedef struct tg_err_s {
    int code;
    char msg[TG_ERR_MSG_LEN];
} tg_err_t;

/* Human-readable name of an error code ("invalid argument", ...). Never NULL. */
const char *tg_strerror(int code);

/* Fills err (which may be NULL) with code and a printf-style message; returns code so that
 * callers can write `return tg_err_set(err, TG_EINVAL, "...")`. */
int tg_err_set(tg_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to err->msg (for adding a file name or context on the way up). */
void tg_err_prefix(tg_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to TG_OK and an empty message. */
void tg_err_clear(tg_err_t *err);

void tg__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* Programmer-error check: always on, prints expression, file and line, then aborts. */
#define TG_ASSERT(e) ((e) ? (void)0 : tg__assert_fail(#e, __FILE__, __LINE__))

#define TG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
