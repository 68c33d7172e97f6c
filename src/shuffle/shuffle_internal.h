/* shuffle_internal.h: the replay window's private state, shared by shuffle.c (window, sampling,
 * bucket) and shuffle_state.c (file loading, save and restore). Not for other modules. */
#ifndef TENGEN_SHUFFLE_SHUFFLE_INTERNAL_H
#define TENGEN_SHUFFLE_SHUFFLE_INTERNAL_H

#include <uv.h>

#include "shuffle/shuffle.h"

/* Unsourced appends merge into one segment up to this many rows, so that a sidecar dump of one
 * segment stays small (16384 19x19 rows = 126 MB). */
#define SHUFFLE__SIDECAR_MAX_ROWS 16384

/* One run of consecutive global rows with a common origin. */
typedef struct shuffle__segment_s {
    int64_t first;   /* global index of its first row */
    int64_t count;   /* rows */
    int64_t src_row; /* row of `first` inside path */
    char *path;      /* owned; NULL: rows exist only in memory */
    int is_random;   /* from the random-net phase */
    int sidecar;     /* path is a sidecar this window wrote: delete it once evicted */
} shuffle__segment_t;

struct shuffle_window_s {
    shuffle_config_t cfg;
    int64_t taper_scale; /* cfg.taper_window_scale resolved (0 -> min_rows) */
    int max_chunks;      /* ring slots: max_bytes / chunk_bytes */
    size_t chunk_bytes;  /* bytes of one chunk (its trainrows block) */
    int64_t cap_rows;    /* (max_chunks - 2) * chunk_rows: rows always storable */

    uv_mutex_t mutex;
    uv_cond_t cond; /* signalled on every publish and on close */

    /* Lock: every field below is guarded by mutex. Exception: the producer (the one appending
     * thread) may read ring/chunk_* and write row data of rows >= rows_total without it, since
     * only the producer changes those and no reader touches unpublished rows. `spare` and the
     * segment paths are producer-owned. */
    trainrows_t **ring; /* (max_chunks): chunk k lives at ring[k % max_chunks] */
    int64_t chunk_lo;   /* id of the oldest live chunk */
    int64_t chunk_hi;   /* one past the newest live chunk */
    trainrows_t *spare; /* one recycled chunk, or NULL */
    int64_t rows_total; /* N: published rows; next global index */
    int64_t random_rows;
    int64_t lo; /* window start: rows [lo, rows_total) are sampleable */
    int cap_warned;

    shuffle__segment_t *segs; /* segs[seg_head .. seg_head+seg_count) in row order */
    int seg_head, seg_count, seg_cap;
    char **dead; /* sidecar paths whose segments left the window: deleted by the next save */
    int num_dead, cap_dead;

    double bucket_level;
    int64_t bucket_row; /* rows_total at the last fill; -1 before the window became ready */
    int64_t samples_taken;
    tg_rng_t rng;
    /* SHUFFLE_SAMPLE_PASS: the current pass is a permutation of [pass_lo, pass_lo + pass_n),
     * keyed by pass_key, read up to pass_cursor; it began when rows_total was pass_rows_at. */
    int64_t pass_lo, pass_n, pass_cursor, pass_rows_at;
    uint64_t pass_key;
    int closed;
};

/* The pass permutation: a bijection of [0, n) for each key (keyed Feistel, cycle-walking). */
int64_t shuffle__permute(uint64_t key, int64_t n, int64_t i);

/* Bytes of one row of data size pos_len across the seven arrays. */
size_t shuffle__row_bytes(int pos_len);

/* Copies n rows src[src_row..] into dst[dst_row..] (same pos_len): seven memcpys. */
void shuffle__copy_rows(trainrows_t *dst, int dst_row, const trainrows_t *src, int src_row, int n);

/* The chunk holding global row g (must be live) and g's row inside it. */
static inline trainrows_t *shuffle__chunk_of(const shuffle_window_t *w, int64_t g, int *row) {
    int64_t k = g / w->cfg.chunk_rows;
    *row = (int)(g - k * w->cfg.chunk_rows);
    return w->ring[k % w->max_chunks];
}

/* Copies rows [first, first+count) of src to global rows [rows_total, rows_total+count) and
 * publishes them. restoring = 1 (restore only): just advance rows_total, add no segment, move
 * no window bound and fill no bucket. Producer only; takes the lock to publish. */
int shuffle__append(shuffle_window_t *w, const trainrows_t *src, int first, int count,
                    int is_random, const char *source_path, int64_t source_row, int restoring,
                    tg_err_t *err);

/* Under the lock: the window bound from the current counters, retiring chunks and segments
 * below it into *retired (up to max_retired; the rest are freed in place). Returns how many
 * chunks were put in *retired, for the caller to free after unlocking. */
int shuffle__move_window(shuffle_window_t *w, trainrows_t **retired, int max_retired);

/* Under the lock: KataGo's bucket fill from rows_total (see shuffle.h). */
void shuffle__bucket_fill(shuffle_window_t *w);

#endif
