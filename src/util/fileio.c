/* fileio.c: see fileio.h. */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tg_file_read_all(const char *path, size_t max_len, char **data, size_t *len, tg_err_t *err) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tg_err_set(err, TG_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char *buf = NULL;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max_len) {
            rc = tg_err_set(err, TG_ERANGE, "%s: file larger than %zu bytes", path, max_len);
            break;
        }
        if (got == 0) {
            if (ferror(f)) rc = tg_err_set(err, TG_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

static void fsync_parent_dir(const char *path) {
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int tg_atomic_file_open(tg_atomic_file_t *af, const char *path, tg_err_t *err) {
    if (strlen(path) >= sizeof(af->path))
        return tg_err_set(err, TG_EINVAL, "%s: path too long", path);
    snprintf(af->path, sizeof(af->path), "%s", path);
    snprintf(af->tmp_path, sizeof(af->tmp_path), "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp)
        return tg_err_set(err, TG_EIO, "%s: cannot create: %s", af->tmp_path, strerror(errno));
    return 0;
}

int tg_atomic_file_commit(tg_atomic_file_t *af, tg_err_t *err) {
    int rc = 0;
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0)
        rc = tg_err_set(err, TG_EIO, "%s: write failed: %s", af->tmp_path, strerror(errno));
    if (fclose(af->fp) != 0 && rc == 0)
        rc = tg_err_set(err, TG_EIO, "%s: close failed: %s", af->tmp_path, strerror(errno));
    af->fp = NULL;
    if (rc == 0 && rename(af->tmp_path, af->path) != 0)
        rc = tg_err_set(err, TG_EIO, "%s: rename failed: %s", af->path, strerror(errno));
    if (rc != 0) {
        unlink(af->tmp_path);
        return rc;
    }
    fsync_parent_dir(af->path);
    return 0;
}

void tg_atomic_file_abort(tg_atomic_file_t *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    unlink(af->tmp_path);
}

int tg_file_write_atomic(const char *path, const void *data, size_t len, tg_err_t *err) {
    tg_atomic_file_t af;
    int rc = tg_atomic_file_open(&af, path, err);
    if (rc) return rc;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        tg_atomic_file_abort(&af);
        return tg_err_set(err, TG_EIO, "%s: write failed", path);
    }
    return tg_atomic_file_commit(&af, err);
}

int tg_mkdir_p(const char *path, tg_err_t *err) {
    char buf[1024];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return tg_err_set(err, TG_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return tg_err_set(err, TG_EIO, "%s: mkdir failed: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return tg_err_set(err, TG_EIO, "%s: mkdir failed: %s", buf, strerror(errno));
    return 0;
}
