/* shuffle.h: the in-memory replay window: KataGo's shuffler (python/shuffle.py) and train bucket
 * (train.py -max-train-bucket-per-new-data) without scratch files.
 *
 * ## Overview
 *
 * Selfplay appends finished training rows (KataGo's .npz layout, data/trainrows.h) in arrival
 * order; each row gets a global index 0, 1, 2, ... that never changes. After every append the
 * window's target size is recomputed from the usable row count N with KataGo's power-law taper
 * (algorithms.md §6.1, formats.md §5.2):
 *
 *     usable = min(random_rows, min_rows) + non_random_rows
 *     s      = taper_window_scale (default min_rows)
 *     x      = usable - min_rows + s
 *     window = int((x^e - s^e) / (e * s^(e-1)) * r + min_rows)
 *     window = max(window, min_rows), then min(window, max_rows), then min(window, memory cap)
 *
 * and rows with a global index below rows_total - window drop out (oldest first). The trainer
 * draws batches uniformly at random from the rows still in the window: with replacement, or with
 * SHUFFLE_SAMPLE_PASS without replacement in passes over the window (closer to how KataGo reads
 * its shuffled files). They come out in a caller-owned trainrows_t, in exactly the layout the
 * .npz loader produces (64-column global targets already padded to 80). Sampling is refused
 * until rows_total >= min_rows ("Not enough rows" in KataGo).
 *
 *     shuffle_config_t cfg; shuffle_config_default(&cfg);  cfg.pos_len = 19;
 *     shuffle_window_t *w;  shuffle_window_create(&w, &cfg, &err);
 *     shuffle_window_append(w, &game_rows, 0, game_rows.num_rows, 0, "x.npz", 0, &err);
 *     if (shuffle_window_bucket_take(w, 128) == 0)
 *         shuffle_window_sample(w, 128, &batch, NULL, &err);
 *
 * ## Storage
 *
 * Rows live in fixed-size chunks of chunk_rows rows each, every chunk one trainrows_t (packed input
 * bits stay packed, int8/int16 targets stay int8/int16: about 7.7 KB per 19x19 row). Chunk k holds
 * global rows [k*chunk_rows, (k+1)*chunk_rows); live chunks sit in a ring of max_bytes/chunk_bytes
 * slots, so max_bytes is a hard cap: when the formula asks for more rows than fit, the oldest chunk
 * is evicted early (logged once). Fully evicted chunks are recycled (one spare kept), so steady
 * state appends do not call malloc.
 *
 * ## Train bucket (algorithms.md §5.5)
 *
 * With max_train_per_data = K > 0: when the window first becomes ready (rows_total >= min_rows)
 * the bucket starts at samples_per_epoch and its fill mark at rows_total (KataGo's first epoch is
 * free: the rows of the first shuffle do not fill the bucket). Every later append adds
 * K * (rows_total - fill mark), capped at max(max_train_bucket_size, samples_per_epoch). The
 * trainer takes samples out of it (per batch, or per epoch with KataGo's 0.99 rule) and waits
 * when it is empty: the back-pressure between selfplay and training. K <= 0 disables the bucket.
 *
 * ## Resume
 *
 * The window remembers where its rows came from: a segment table of (first global row, count,
 * random flag, source .npz path, first row inside that file). shuffle_window_save writes the
 * counters, the bucket, the sampler's RNG state and the segments that still overlap the window to
 * a small text file, atomically; rows that were appended without a source file are first dumped to
 * sidecar files "<state>.r<first>-<count>.npz" so that the state is always complete.
 * shuffle_window_restore rebuilds an identical window (same global indices, counters, RNG) by
 * re-reading just the overlapping rows from those files.
 *
 * ## Threads
 *
 *     selfplay thread (producer)          trainer thread (consumer)
 *        append: copy rows into chunk        bucket_take / bucket_wait
 *        slots >= rows_total, no lock        sample: pick + copy rows out
 *        publish under the lock  ------->      entirely under the lock
 *
 * One producer and one consumer (any number of readers of stats/bucket). Lock rule: `mutex`
 * guards every counter, the chunk ring, the segment table and the sampler RNG. The producer
 * writes row data only into rows >= rows_total, which no reader touches, and then publishes them
 * (bumps rows_total, moves the window start, retires chunks) under the lock; the consumer copies
 * its batch out while holding the lock (about B * 7.7 KB of memcpy: ~0.1 ms for B = 128), so a
 * chunk is never recycled under a reader. Only one thread may append at a time (caller's rule);
 * save may run on any thread but not concurrently with an append. Every function below is
 * thread-safe in that sense unless it says otherwise. */
#ifndef TENGEN_SHUFFLE_SHUFFLE_H
#define TENGEN_SHUFFLE_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>

#include "data/trainrows.h"
#include "util/error.h"
#include "util/rng.h"

/* How shuffle_window_sample draws rows. */
typedef enum shuffle_sample_mode_e {
    /* Independent uniform draws (with replacement) from the current window. */
    SHUFFLE_SAMPLE_REPLACE = 0,
    /* Without replacement, as KataGo's shuffled files are read: a "pass" is a random
     * permutation of the window as it was when the pass began (O(1) memory: a keyed Feistel
     * bijection), read in order; rows evicted meanwhile are skipped. A new pass starts when the
     * permutation is used up or when pass_refresh_rows new rows have arrived since it began. */
    SHUFFLE_SAMPLE_PASS = 1,
} shuffle_sample_mode_t;

/* Window and bucket parameters. shuffle_config_default gives KataGo's python/selfplay/shuffle.sh
 * window (min 250k rows, r 0.4, e 0.65, s = min_rows) and SelfplayTraining.md's bucket (K = 4,
 * cap 5M, epoch 1M samples: train.py's -samples-per-epoch default). */
typedef struct shuffle_config_s {
    int pos_len;                   /* data size L of the rows (1..19); 19 for KataGo data */
    int64_t min_rows;              /* -min-rows: no sampling below this; window floor (250000) */
    int64_t max_rows;              /* -max-rows: window ceiling; 0 = unbounded */
    double expand_window_per_row;  /* -expand-window-per-row r: window slope at min_rows (0.4) */
    double taper_window_exponent;  /* -taper-window-exponent e: window ~ N^e (0.65) */
    int64_t taper_window_scale;    /* -taper-window-scale s; 0 = min_rows (the default) */
    size_t max_bytes;              /* hard cap on row storage in bytes (4 GiB); >= 3 chunks */
    int chunk_rows;                /* rows per storage chunk (1024) */
    double max_train_per_data;     /* K: training samples per new row; <= 0 disables (4) */
    int64_t samples_per_epoch;     /* bucket start level and cap floor (1000000) */
    int64_t max_train_bucket_size; /* bucket cap (5000000) */
    uint64_t seed;                 /* sampler RNG seed (stream "shuf") */
    shuffle_sample_mode_t sample_mode; /* SHUFFLE_SAMPLE_REPLACE (default) or _PASS */
    int64_t pass_refresh_rows;         /* PASS: new rows that start a new pass; 0 = a quarter of the
                                        * pass's size (so new rows wait at most that long) */
} shuffle_config_t;

void shuffle_config_default(shuffle_config_t *cfg);

/* The window size KataGo's shuffler would use for `usable_rows` usable rows (formula above),
 * clamped to [min_rows, max_rows] but not to the memory cap. Pure; O(1). */
int64_t shuffle_window_target(const shuffle_config_t *cfg, int64_t usable_rows);

/* A snapshot of the window's counters (taken under the lock). */
typedef struct shuffle_stats_s {
    int64_t rows_total;    /* rows ever appended = next global row index (N) */
    int64_t random_rows;   /* of which from the random-net phase */
    int64_t usable_rows;   /* min(random_rows, min_rows) + non-random rows */
    int64_t target_rows;   /* shuffle_window_target(usable_rows) */
    int64_t window_start;  /* first global row still in the window */
    int64_t window_rows;   /* rows_total - window_start: rows sampling draws from */
    int64_t cap_rows;      /* most rows the memory cap can always hold */
    size_t bytes_used;     /* chunk storage allocated now (live + spare) */
    int ready;             /* rows_total >= min_rows: sampling allowed */
    double bucket_level;   /* samples the trainer may take now (if the bucket is enabled) */
    int64_t bucket_row;    /* rows_total at the last bucket fill (-1 before the first) */
    int64_t samples_taken; /* samples drawn by shuffle_window_sample so far */
    int num_segments;      /* source segments still overlapping the window */
} shuffle_stats_t;

typedef struct shuffle_window_s shuffle_window_t;

/* Validates cfg and creates an empty window. No row storage is allocated yet. TG_EINVAL with a
 * message for bad parameters (e.g. max_bytes below 3 chunks), TG_ENOMEM. */
int shuffle_window_create(shuffle_window_t **out, const shuffle_config_t *cfg, tg_err_t *err);

/* Frees everything; NULL is fine. No other thread may use the window any more. */
void shuffle_window_destroy(shuffle_window_t *w);

/* Appends rows [first, first+count) of src (pos_len must match) as the newest rows, in order.
 * is_random marks rows from the random-net phase (capped at min_rows for the window formula).
 * source_path, when not NULL, names an .npz file that holds the same rows starting at its row
 * source_row; it is what resume re-reads (otherwise save dumps these rows to a sidecar file).
 * Rows are published to the consumer atomically in pieces of at most chunk_rows rows (a whole
 * game if it is no longer than that). Wakes bucket waiters. Cost: one memcpy of the rows; malloc
 * only for a new chunk or a new segment. Producer thread only. TG_EINVAL for bad arguments. */
int shuffle_window_append(shuffle_window_t *w, const trainrows_t *src, int first, int count,
                          int is_random, const char *source_path, int64_t source_row,
                          tg_err_t *err);

/* Reads a KataGo training .npz (64-column global targets padded to 80, missing q-values zeroed)
 * and appends all its rows with the file as their source. Memory: the file's rows, transiently.
 * Errors from the loader (TG_EIO, TG_EFORMAT with "path: key: what"), TG_EINVAL for a pos_len
 * mismatch. Producer thread only. */
int shuffle_window_load_npz(shuffle_window_t *w, const char *path, int is_random, tg_err_t *err);

/* Appends every *.npz under dir (recursively) whose name has no '_' (KataGo skips those as
 * in-progress or shuffled files), oldest mtime first (ties by path), marking files whose path
 * contains "random/tdata/" as random, as python/shuffle.py does. *num_files (may be NULL) gets
 * the number of files read. Cost: reads every file in full (a known gap: KataGo reads only npy
 * headers and skips files that would fall out of the window). Producer thread only. */
int shuffle_window_load_dir(shuffle_window_t *w, const char *dir, int *num_files, tg_err_t *err);

/* Draws `batch` rows uniformly at random (cfg.sample_mode) from the window into out rows
 * [0, batch) and sets out->num_rows = batch. out must be initialised with the window's pos_len
 * and capacity >= batch. row_ids (may be NULL) receives each row's global index. Deterministic
 * given cfg.seed and the sequence of window states. TG_ESTATE if the window is not ready
 * (rows_total < min_rows), TG_EINVAL for bad arguments. Does not touch the bucket. Cost: batch
 * RNG draws and row copies, all under the lock; no malloc. Consumer thread. */
int shuffle_window_sample(shuffle_window_t *w, int batch, trainrows_t *out, int64_t *row_ids,
                          tg_err_t *err);

/* Samples the trainer may take now: floor(bucket level); 0 while not ready; INT64_MAX when the
 * bucket is disabled (max_train_per_data <= 0) and the window is ready. */
int64_t shuffle_window_bucket_available(shuffle_window_t *w);

/* Takes n samples from the bucket if at least n are available: returns 0, or TG_ESTATE (nothing
 * taken; wait for more rows). Always 0 when the bucket is disabled and the window is ready. */
int shuffle_window_bucket_take(shuffle_window_t *w, int64_t n);

/* KataGo's epoch rule: if the bucket holds more than 0.99 * samples, subtract samples (the level
 * may go slightly negative) and return 1; otherwise return 0. With the bucket disabled: 1 once the
 * window is ready. */
int shuffle_window_bucket_try_epoch(shuffle_window_t *w, int64_t samples);

/* Blocks until at least n samples are available (returns 1), or timeout_ms passes or the window
 * is closed (returns 0). timeout_ms < 0 waits without limit. Takes nothing. */
int shuffle_window_bucket_wait(shuffle_window_t *w, int64_t n, int64_t timeout_ms);

/* Wakes every waiter for good (shutdown); later waits return 0 at once. Appends and samples still
 * work. */
void shuffle_window_close(shuffle_window_t *w);

/* Snapshot of the counters. */
void shuffle_window_get_stats(shuffle_window_t *w, shuffle_stats_t *out);

/* The sampler's RNG state (for checks; the state file stores it). */
void shuffle_window_get_rng(shuffle_window_t *w, tg_rng_t *out);

/* Writes the resume state to path atomically (temp + fsync + rename): counters, bucket, RNG, and
 * the source segments overlapping the window. Rows appended without a source are first written
 * to "<path>.r<first>-<count>.npz" (once; they then count as sourced), and sidecars of segments
 * that have since left the window are deleted after the state is committed. Must not run
 * concurrently with an append. TG_EIO with the path on failure. */
int shuffle_window_save(shuffle_window_t *w, const char *path, tg_err_t *err);

/* Rebuilds the saved window into w, which must be freshly created (no rows) with the same
 * pos_len: reads the state file and re-reads each segment's rows that are still in the window
 * from its .npz. Afterwards global indices, counters, bucket and RNG equal the saved ones, so
 * sampling continues exactly. Formula parameters come from w's config (they may change across a
 * resume). TG_EFORMAT "path:line: what" for a bad state file; loader errors for a missing or
 * short source file; TG_ESTATE if w is not empty. On error w is left unusable except for
 * destroy. Producer thread (nothing else may run). */
int shuffle_window_restore(shuffle_window_t *w, const char *path, tg_err_t *err);

#endif
