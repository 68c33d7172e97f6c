/* shuffle_state.c: getting rows into the replay window from .npz files, and its resume state.
 *
 * The state file is small text, written atomically (util/fileio.h), so that a person can read
 * it and a crash leaves the old or the new one:
 *
 *     tengen-shuffle-state 1
 *     pos_len 19
 *     rows_total 1234567          (N: next global row index)
 *     random_rows 250000
 *     window_start 1000000
 *     samples_taken 800000
 *     bucket_level 0x1.86ap+19    (hex float: exact)
 *     bucket_row 1200000
 *     rng <4 x 16 hex digits>     (the sampler's xoshiro state)
 *     pass <lo> <n> <cursor> <rows_at> <key>   (SHUFFLE_SAMPLE_PASS position)
 *     segments K
 *     seg <first> <count> <src_row> <is_random> <sidecar> <path to end of line>   (K lines)
 *     end
 *
 * Segments are listed oldest first and together cover [window_start, rows_total) (the first one
 * may start below window_start). Rows that have no source file are dumped to sidecar .npz files
 * next to the state file before it is written; sidecars of segments that left the window are
 * removed only after a newer state no longer names them. */
#include "shuffle/shuffle_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/log.h"

#define STATE_MAGIC     "tengen-shuffle-state 1"
#define STATE_MAX_BYTES ((size_t)64 << 20)

/* ---- Loading .npz files ------------------------------------------------------------------- */

int shuffle_window_load_npz(shuffle_window_t *w, const char *path, int is_random, tg_err_t *err) {
    trainrows_t tr;
    memset(&tr, 0, sizeof(tr));
    int rc = trainrows_load_npz(&tr, path, err);
    if (rc != 0) return rc;
    if (tr.pos_len != w->cfg.pos_len) {
        rc = tg_err_set(err, TG_EINVAL, "%s: rows have pos_len %d, the window expects %d", path,
                        tr.pos_len, w->cfg.pos_len);
    } else {
        rc = shuffle_window_append(w, &tr, 0, tr.num_rows, is_random, path, 0, err);
    }
    trainrows_free(&tr);
    return rc;
}

typedef struct npz_entry_s {
    char *path;
    int64_t mtime_ns;
} npz_entry_t;

typedef struct npz_list_s {
    npz_entry_t *items;
    int n, cap;
} npz_list_t;

static int list_npz(const char *dir, npz_list_t *list, int depth, tg_err_t *err) {
    if (depth > 32) return tg_err_set(err, TG_EINVAL, "%s: directories nested too deeply", dir);
    DIR *d = opendir(dir);
    if (!d) return tg_err_set(err, TG_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", dir);
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) {
            free(p); /* vanished meanwhile */
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = list_npz(p, list, depth + 1, err);
            free(p);
            continue;
        }
        size_t nl = strlen(e->d_name);
        if (!S_ISREG(st.st_mode) || nl < 4 || strcmp(e->d_name + nl - 4, ".npz") != 0 ||
            strchr(e->d_name, '_')) {
            free(p);
            continue;
        }
        if (list->n == list->cap) {
            int cap = list->cap ? 2 * list->cap : 64;
            npz_entry_t *it = realloc(list->items, (size_t)cap * sizeof(*it));
            if (!it) {
                free(p);
                rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", dir);
                break;
            }
            list->items = it;
            list->cap = cap;
        }
        list->items[list->n++] = (npz_entry_t){
            .path = p,
            .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
        };
    }
    closedir(d);
    return rc;
}

static int npz_entry_cmp(const void *a, const void *b) {
    const npz_entry_t *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns) return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

int shuffle_window_load_dir(shuffle_window_t *w, const char *dir, int *num_files, tg_err_t *err) {
    npz_list_t list = {0};
    if (num_files) *num_files = 0;
    int rc = list_npz(dir, &list, 0, err);
    if (rc == 0) {
        qsort(list.items, (size_t)list.n, sizeof(*list.items), npz_entry_cmp);
        for (int i = 0; i < list.n && rc == 0; i++) {
            int is_random = strstr(list.items[i].path, "random/tdata/") != NULL;
            rc = shuffle_window_load_npz(w, list.items[i].path, is_random, err);
            if (rc == 0 && num_files) (*num_files)++;
        }
    }
    for (int i = 0; i < list.n; i++)
        free(list.items[i].path);
    free(list.items);
    return rc;
}

/* ---- Save ---------------------------------------------------------------------------------- */

typedef struct strbuf_s {
    char *data;
    size_t len, cap;
    int failed;
} strbuf_t;

static void sb_printf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf_t *sb, const char *fmt, ...) {
    if (sb->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(sb->data ? sb->data + sb->len : NULL, sb->data ? sb->cap - sb->len : 0,
                          fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->failed = 1;
            return;
        }
        if (sb->data && sb->len + (size_t)n < sb->cap) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap : 4096;
        while (cap <= sb->len + (size_t)n)
            cap *= 2;
        char *d = realloc(sb->data, cap);
        if (!d) {
            sb->failed = 1;
            return;
        }
        sb->data = d;
        sb->cap = cap;
    }
}

/* Writes the in-window rows of unsourced segment i to a sidecar next to the state file and makes
 * the segment point at it. Runs without the lock: only the producer changes rows or segments,
 * and save may not run concurrently with it; the segment update itself is locked. */
static int dump_sidecar(shuffle_window_t *w, int i, int64_t lo, const char *state_path,
                        tg_err_t *err) {
    shuffle__segment_t *s = &w->segs[w->seg_head + i];
    int64_t start = s->first > lo ? s->first : lo, end = s->first + s->count;
    int n = (int)(end - start);
    size_t len = strlen(state_path) + 64;
    char *path = malloc(len);
    if (!path) return tg_err_set(err, TG_ENOMEM, "shuffle: out of memory");
    snprintf(path, len, "%s.r%" PRId64 "-%d.npz", state_path, start, n);
    trainrows_t tr;
    int rc = trainrows_init(&tr, w->cfg.pos_len, n, err);
    if (rc != 0) {
        free(path);
        return rc;
    }
    for (int done = 0; done < n;) {
        int row;
        const trainrows_t *c = shuffle__chunk_of(w, start + done, &row);
        int k = n - done < w->cfg.chunk_rows - row ? n - done : w->cfg.chunk_rows - row;
        shuffle__copy_rows(&tr, done, c, row, k);
        done += k;
    }
    tr.num_rows = n;
    rc = trainrows_write_npz(&tr, path, 1, err);
    trainrows_free(&tr);
    if (rc != 0) {
        free(path);
        return rc;
    }
    uv_mutex_lock(&w->mutex);
    s->first = start;
    s->count = n;
    s->src_row = 0;
    s->path = path;
    s->sidecar = 1;
    uv_mutex_unlock(&w->mutex);
    return 0;
}

int shuffle_window_save(shuffle_window_t *w, const char *path, tg_err_t *err) {
    if (strchr(path, '\n')) return tg_err_set(err, TG_EINVAL, "shuffle: bad state path");
    uv_mutex_lock(&w->mutex);
    int64_t lo = w->lo;
    uv_mutex_unlock(&w->mutex);
    /* The producer is not running (contract), so lo and the segments stay put meanwhile. */
    for (int i = 0; i < w->seg_count; i++) {
        if (w->segs[w->seg_head + i].path) continue;
        int rc = dump_sidecar(w, i, lo, path, err);
        if (rc != 0) return rc;
    }

    strbuf_t sb = {0};
    char **dead = NULL;
    int num_dead = 0;
    uv_mutex_lock(&w->mutex);
    sb_printf(&sb, "%s\npos_len %d\nrows_total %" PRId64 "\nrandom_rows %" PRId64 "\n", STATE_MAGIC,
              w->cfg.pos_len, w->rows_total, w->random_rows);
    sb_printf(&sb, "window_start %" PRId64 "\nsamples_taken %" PRId64 "\n", w->lo,
              w->samples_taken);
    sb_printf(&sb, "bucket_level %a\nbucket_row %" PRId64 "\n", w->bucket_level, w->bucket_row);
    sb_printf(&sb, "rng %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "\n", w->rng.s[0],
              w->rng.s[1], w->rng.s[2], w->rng.s[3]);
    sb_printf(&sb, "pass %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %016" PRIx64 "\n",
              w->pass_lo, w->pass_n, w->pass_cursor, w->pass_rows_at, w->pass_key);
    sb_printf(&sb, "segments %d\n", w->seg_count);
    for (int i = 0; i < w->seg_count; i++) {
        const shuffle__segment_t *s = &w->segs[w->seg_head + i];
        sb_printf(&sb, "seg %" PRId64 " %" PRId64 " %" PRId64 " %d %d %s\n", s->first, s->count,
                  s->src_row, s->is_random, s->sidecar, s->path);
    }
    sb_printf(&sb, "end\n");
    dead = w->dead;
    num_dead = w->num_dead;
    w->dead = NULL;
    w->num_dead = w->cap_dead = 0;
    uv_mutex_unlock(&w->mutex);

    int rc = sb.failed ? tg_err_set(err, TG_ENOMEM, "shuffle: out of memory for the state")
                       : tg_file_write_atomic(path, sb.data, sb.len, err);
    free(sb.data);
    for (int i = 0; i < num_dead; i++) {
        /* Only once the new state (which no longer names them) is safely on disk. */
        if (rc == 0 && unlink(dead[i]) != 0 && errno != ENOENT)
            TG_LOGW("shuffle: cannot remove old sidecar %s: %s", dead[i], strerror(errno));
        free(dead[i]);
    }
    free(dead);
    return rc;
}

/* ---- Restore -------------------------------------------------------------------------------- */

/* Next line of buf at *pos, NUL-terminated in place (buf is ours); NULL at the end. */
static char *next_line(char *buf, size_t len, size_t *pos, int *lineno) {
    if (*pos >= len) return NULL;
    char *line = buf + *pos;
    char *nl = memchr(line, '\n', len - *pos);
    if (nl) {
        *nl = '\0';
        *pos = (size_t)(nl - buf) + 1;
    } else {
        *pos = len;
    }
    (*lineno)++;
    return line;
}

static int parse_i64_field(const char *line, const char *key, int64_t *out) {
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != ' ') return 0;
    char *end;
    errno = 0;
    long long v = strtoll(line + kl + 1, &end, 10);
    if (errno || end == line + kl + 1 || *end != '\0') return 0;
    *out = v;
    return 1;
}

int shuffle_window_restore(shuffle_window_t *w, const char *path, tg_err_t *err) {
    if (w->rows_total != 0 || w->seg_count != 0)
        return tg_err_set(err, TG_ESTATE, "%s: restore needs an empty window", path);
    char *buf = NULL;
    size_t len = 0;
    int rc = tg_file_read_all(path, STATE_MAX_BYTES, &buf, &len, err);
    if (rc != 0) return rc;

    size_t pos = 0;
    int lineno = 0;
    char *line;
    int64_t pos_len = 0, rows_total = 0, random_rows = 0, window_start = 0, samples_taken = 0;
    int64_t bucket_row = 0, num_segs = 0;
    double bucket_level = 0;
    tg_rng_t rng;
#define BAD(...)                                                                                   \
    do {                                                                                           \
        rc = tg_err_set(err, TG_EFORMAT, __VA_ARGS__);                                             \
        goto done;                                                                                 \
    } while (0)
#define EXPECT_I64(key, var)                                                                       \
    do {                                                                                           \
        line = next_line(buf, len, &pos, &lineno);                                                 \
        if (!line || !parse_i64_field(line, key, &(var)))                                          \
            BAD("%s:%d: expected \"%s <integer>\"", path, lineno, key);                            \
    } while (0)

    line = next_line(buf, len, &pos, &lineno);
    if (!line || strcmp(line, STATE_MAGIC) != 0)
        BAD("%s:1: not a tengen shuffle state (expected \"%s\")", path, STATE_MAGIC);
    EXPECT_I64("pos_len", pos_len);
    if (pos_len != w->cfg.pos_len)
        BAD("%s:%d: pos_len %lld, the window has %d", path, lineno, (long long)pos_len,
            w->cfg.pos_len);
    EXPECT_I64("rows_total", rows_total);
    EXPECT_I64("random_rows", random_rows);
    EXPECT_I64("window_start", window_start);
    EXPECT_I64("samples_taken", samples_taken);
    if (rows_total < 0 || random_rows < 0 || random_rows > rows_total || window_start < 0 ||
        window_start > rows_total || samples_taken < 0)
        BAD("%s: inconsistent counters (rows_total %lld, random_rows %lld, window_start %lld)",
            path, (long long)rows_total, (long long)random_rows, (long long)window_start);
    line = next_line(buf, len, &pos, &lineno);
    {
        char *end;
        if (!line || strncmp(line, "bucket_level ", 13) != 0)
            BAD("%s:%d: expected \"bucket_level <float>\"", path, lineno);
        bucket_level = strtod(line + 13, &end);
        if (end == line + 13 || *end != '\0')
            BAD("%s:%d: bad bucket_level \"%s\"", path, lineno, line + 13);
    }
    EXPECT_I64("bucket_row", bucket_row);
    line = next_line(buf, len, &pos, &lineno);
    if (!line || sscanf(line, "rng %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &rng.s[0],
                        &rng.s[1], &rng.s[2], &rng.s[3]) != 4)
        BAD("%s:%d: expected \"rng\" and four hex words", path, lineno);
    line = next_line(buf, len, &pos, &lineno);
    int64_t pass_lo, pass_n, pass_cursor, pass_rows_at;
    uint64_t pass_key;
    if (!line ||
        sscanf(line, "pass %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNx64, &pass_lo,
               &pass_n, &pass_cursor, &pass_rows_at, &pass_key) != 5 ||
        pass_n < 0 || pass_cursor < 0 || pass_lo < 0 || pass_rows_at > rows_total)
        BAD("%s:%d: expected \"pass <lo> <n> <cursor> <rows_at> <key>\"", path, lineno);
    EXPECT_I64("segments", num_segs);
    if (num_segs < 0 || num_segs > (1 << 28)) BAD("%s:%d: bad segment count", path, lineno);

    /* Segments go into the table first (forced evictions while loading may drop them again). */
    int64_t expect = -1;
    for (int64_t i = 0; i < num_segs; i++) {
        line = next_line(buf, len, &pos, &lineno);
        int64_t first, count, src_row;
        int is_random, sidecar, off = 0;
        if (!line ||
            sscanf(line, "seg %" SCNd64 " %" SCNd64 " %" SCNd64 " %d %d %n", &first, &count,
                   &src_row, &is_random, &sidecar, &off) != 5 ||
            off == 0 || line[off] == '\0')
            BAD("%s:%d: expected \"seg <first> <count> <src_row> <random> <sidecar> <path>\"", path,
                lineno);
        if (count < 1 || first < 0 || src_row < 0 || first + count > rows_total ||
            first + count <= window_start || (expect >= 0 && first != expect) ||
            (expect < 0 && first > window_start))
            BAD("%s:%d: segment [%lld, +%lld) does not continue the window", path, lineno,
                (long long)first, (long long)count);
        expect = first + count;
        char *p = strdup(line + off);
        if (!p) {
            rc = tg_err_set(err, TG_ENOMEM, "shuffle: out of memory");
            goto done;
        }
        uv_mutex_lock(&w->mutex);
        rc = 0;
        if (w->seg_count == w->seg_cap) {
            int cap = w->seg_cap ? 2 * w->seg_cap : 64;
            shuffle__segment_t *s = realloc(w->segs, (size_t)cap * sizeof(*s));
            if (s) {
                w->segs = s;
                w->seg_cap = cap;
            } else {
                rc = TG_ENOMEM;
            }
        }
        if (rc == 0)
            w->segs[w->seg_count++] = (shuffle__segment_t){
                .first = first,
                .count = count,
                .src_row = src_row,
                .path = p,
                .is_random = is_random ? 1 : 0,
                .sidecar = sidecar ? 1 : 0,
            };
        uv_mutex_unlock(&w->mutex);
        if (rc != 0) {
            free(p);
            rc = tg_err_set(err, TG_ENOMEM, "shuffle: out of memory");
            goto done;
        }
    }
    if (rows_total > window_start && expect != rows_total)
        BAD("%s: segments end at row %lld, rows_total is %lld", path, (long long)expect,
            (long long)rows_total);
    line = next_line(buf, len, &pos, &lineno);
    if (!line || strcmp(line, "end") != 0) BAD("%s:%d: expected \"end\"", path, lineno);

    uv_mutex_lock(&w->mutex);
    w->lo = w->rows_total = window_start;
    w->chunk_lo = w->chunk_hi = window_start / w->cfg.chunk_rows;
    uv_mutex_unlock(&w->mutex);

    /* Re-read the rows still in the window, oldest first. Segment i is read by index each time
     * because forced evictions may shift the table. */
    for (int i = 0; i < w->seg_count; i++) {
        shuffle__segment_t s = w->segs[w->seg_head + i];
        int64_t start = s.first > w->rows_total ? s.first : w->rows_total;
        int64_t end = s.first + s.count;
        if (start >= end) continue;
        trainrows_t tr;
        memset(&tr, 0, sizeof(tr));
        rc = trainrows_load_npz(&tr, s.path, err);
        if (rc != 0) goto done;
        int64_t from = s.src_row + (start - s.first);
        if (tr.num_rows < s.src_row + s.count) {
            trainrows_free(&tr);
            BAD("%s: has %d rows, the state needs rows [%lld, %lld)", s.path, tr.num_rows,
                (long long)s.src_row, (long long)(s.src_row + s.count));
        }
        if (start != w->rows_total) {
            trainrows_free(&tr);
            BAD("%s: rows lost before segment at %lld", path, (long long)s.first);
        }
        rc = shuffle__append(w, &tr, (int)from, (int)(end - start), s.is_random, NULL, 0, 1, err);
        trainrows_free(&tr);
        if (rc != 0) goto done;
        /* The table may have lost its head to a forced eviction: find our place again. */
        while (i >= 0 && i < w->seg_count && w->segs[w->seg_head + i].first != s.first)
            i--;
    }

    if (w->rows_total != (rows_total > window_start ? rows_total : window_start))
        BAD("%s: restored %lld rows, expected %lld", path, (long long)w->rows_total,
            (long long)rows_total);
    trainrows_t *retired[8];
    int num_retired;
    uv_mutex_lock(&w->mutex);
    w->rows_total = rows_total;
    w->random_rows = random_rows;
    w->samples_taken = samples_taken;
    w->bucket_level = bucket_level;
    w->bucket_row = bucket_row;
    w->rng = rng;
    w->pass_lo = pass_lo;
    w->pass_n = pass_n;
    w->pass_cursor = pass_cursor;
    w->pass_rows_at = pass_rows_at;
    w->pass_key = pass_key;
    num_retired = shuffle__move_window(w, retired, (int)TG_ARRAY_LEN(retired));
    shuffle__bucket_fill(w);
    uv_cond_broadcast(&w->cond);
    uv_mutex_unlock(&w->mutex);
    for (int i = 0; i < num_retired; i++) {
        trainrows_free(retired[i]);
        free(retired[i]);
    }
    rc = 0;
done:
#undef BAD
#undef EXPECT_I64
    free(buf);
    return rc;
}
