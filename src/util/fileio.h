/* fileio.h: whole-file reads and crash-safe (atomic) writes.
 *
 * An atomic write goes to "<path>.tmp.<pid>", is fsync'ed, then renamed over path and the
 * directory fsync'ed: a reader sees the old file or the new one, never a torn one, even
 * after a crash or power loss. Not thread-safe on the same path (callers own their paths). */
#ifndef TENGEN_UTIL_FILEIO_H
#define TENGEN_UTIL_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* Reads the whole file into a malloc'ed buffer (NUL-terminated for convenience; *len excludes
 * the NUL). Fails with TG_ERANGE for files above max_len bytes. Caller frees *data. */
int tg_file_read_all(const char *path, size_t max_len, char **data, size_t *len, tg_err_t *err);

/* Writes len bytes to path atomically (see above). */
int tg_file_write_atomic(const char *path, const void *data, size_t len, tg_err_t *err);

/* Streaming form: open gives a FILE* on the temp file; commit flushes, fsyncs and renames;
 * abort removes the temp file. Exactly one of commit/abort must follow a successful open. */
typedef struct tg_atomic_file_s {
    FILE *fp;
    char path[1024];
    char tmp_path[1100];
} tg_atomic_file_t;

int tg_atomic_file_open(tg_atomic_file_t *af, const char *path, tg_err_t *err);
int tg_atomic_file_commit(tg_atomic_file_t *af, tg_err_t *err);
void tg_atomic_file_abort(tg_atomic_file_t *af);

/* mkdir -p. Returns 0 if the directory exists afterwards. */
int tg_mkdir_p(const char *path, tg_err_t *err);

#endif
