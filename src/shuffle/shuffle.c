/* shuffle.c: the replay window itself: chunked row storage, KataGo's window-size formula,
 * uniform sampling and the train bucket. Design, lock rule and guarantees: see shuffle.h. File
 * loading, save and restore live in shuffle_state.c. */
#include "shuffle/shuffle_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define SHUFFLE_RNG_STREAM 0x73687566ULL /* "shuf" */
#define MAX_RING_SLOTS     (1 << 22)

void shuffle_config_default(shuffle_config_t *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->pos_len = 19;
    cfg->min_rows = 250000;
    cfg->max_rows = 0;
    cfg->expand_window_per_row = 0.4;
    cfg->taper_window_exponent = 0.65;
    cfg->taper_window_scale = 0;
    cfg->max_bytes = (size_t)4 << 30;
    cfg->chunk_rows = 1024;
    cfg->max_train_per_data = 4.0;
    cfg->samples_per_epoch = 1000000;
    cfg->max_train_bucket_size = 5000000;
    cfg->seed = 0;
    cfg->sample_mode = SHUFFLE_SAMPLE_REPLACE;
    cfg->pass_refresh_rows = 0;
}

int64_t shuffle_window_target(const shuffle_config_t *cfg, int64_t usable_rows) {
    int64_t m = cfg->min_rows;
    int64_t window = m;
    /* The power law is increasing and equals m at usable = m, so below m the floor wins (and
     * x could go negative, where x^e is undefined). */
    if (usable_rows > m) {
        double s = (double)(cfg->taper_window_scale > 0 ? cfg->taper_window_scale : m);
        double e = cfg->taper_window_exponent;
        double x = (double)(usable_rows - m) + s;
        /* Same operation order as python/shuffle.py, so int() truncates the same double. */
        double unscaled = pow(x, e) - pow(s, e);
        double scaled = unscaled / (e * pow(s, e - 1.0));
        double v = scaled * cfg->expand_window_per_row + (double)m;
        window = v >= 9.0e18 ? INT64_MAX : (int64_t)v;
    }
    if (window < m) window = m;
    if (cfg->max_rows > 0 && window > cfg->max_rows) window = cfg->max_rows;
    return window;
}

size_t shuffle__row_bytes(int pos_len) {
    size_t area = (size_t)pos_len * pos_len, policy = area + 1;
    return TRAINROWS_BIN_CHANNELS * ((area + 7) / 8) + TRAINROWS_GLOBAL_INPUTS * sizeof(float) +
           TRAINROWS_POLICY_CHANNELS * policy * sizeof(int16_t) +
           TRAINROWS_GLOBAL_TARGETS * sizeof(float) + (2 * area + 2 * TRAINROWS_SCORE_RADIUS) +
           TRAINROWS_VALUE_CHANNELS * area + TRAINROWS_QVALUE_CHANNELS * policy * sizeof(int16_t);
}

void shuffle__copy_rows(trainrows_t *dst, int dst_row, const trainrows_t *src, int src_row, int n) {
    size_t k = (size_t)n;
    memcpy(trainrows_binary_row(dst, dst_row), trainrows_binary_row(src, src_row),
           k * TRAINROWS_BIN_CHANNELS * src->packed_len);
    memcpy(trainrows_global_input_row(dst, dst_row), trainrows_global_input_row(src, src_row),
           k * TRAINROWS_GLOBAL_INPUTS * sizeof(float));
    memcpy(trainrows_policy_row(dst, dst_row), trainrows_policy_row(src, src_row),
           k * TRAINROWS_POLICY_CHANNELS * src->policy_len * sizeof(int16_t));
    memcpy(trainrows_global_targets_row(dst, dst_row), trainrows_global_targets_row(src, src_row),
           k * TRAINROWS_GLOBAL_TARGETS * sizeof(float));
    memcpy(trainrows_score_distr_row(dst, dst_row), trainrows_score_distr_row(src, src_row),
           k * src->score_len);
    memcpy(trainrows_value_row(dst, dst_row), trainrows_value_row(src, src_row),
           k * TRAINROWS_VALUE_CHANNELS * src->area);
    memcpy(trainrows_qvalue_row(dst, dst_row), trainrows_qvalue_row(src, src_row),
           k * TRAINROWS_QVALUE_CHANNELS * src->policy_len * sizeof(int16_t));
}

int shuffle_window_create(shuffle_window_t **out, const shuffle_config_t *cfg, tg_err_t *err) {
    *out = NULL;
    if (cfg->pos_len < 1 || cfg->pos_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "shuffle: pos_len %d not in 1..%d", cfg->pos_len,
                          TRAINROWS_MAX_POS_LEN);
    if (cfg->min_rows < 1)
        return tg_err_set(err, TG_EINVAL, "shuffle: min_rows %lld must be >= 1",
                          (long long)cfg->min_rows);
    if (cfg->max_rows < 0 || cfg->taper_window_scale < 0)
        return tg_err_set(err, TG_EINVAL, "shuffle: max_rows and taper_window_scale must be >= 0");
    if (!(cfg->taper_window_exponent > 0.0) || !(cfg->expand_window_per_row >= 0.0) ||
        !isfinite(cfg->taper_window_exponent) || !isfinite(cfg->expand_window_per_row))
        return tg_err_set(err, TG_EINVAL,
                          "shuffle: taper_window_exponent %g must be > 0 and "
                          "expand_window_per_row %g >= 0",
                          cfg->taper_window_exponent, cfg->expand_window_per_row);
    if (cfg->chunk_rows < 1 || cfg->chunk_rows > (1 << 20))
        return tg_err_set(err, TG_EINVAL, "shuffle: chunk_rows %d not in 1..%d", cfg->chunk_rows,
                          1 << 20);
    if (cfg->sample_mode != SHUFFLE_SAMPLE_REPLACE && cfg->sample_mode != SHUFFLE_SAMPLE_PASS)
        return tg_err_set(err, TG_EINVAL, "shuffle: unknown sample_mode %d", (int)cfg->sample_mode);
    if (cfg->pass_refresh_rows < 0)
        return tg_err_set(err, TG_EINVAL, "shuffle: pass_refresh_rows must be >= 0");
    if (!isfinite(cfg->max_train_per_data) || cfg->samples_per_epoch < 0 ||
        cfg->max_train_bucket_size < 0)
        return tg_err_set(err, TG_EINVAL, "shuffle: bad train bucket parameters");
    /* A chunk's block: each of the seven arrays rounded up to 64 bytes (trainrows.c). */
    size_t chunk_bytes = shuffle__row_bytes(cfg->pos_len) * (size_t)cfg->chunk_rows + 7 * 64;
    size_t slots = cfg->max_bytes / chunk_bytes;
    if (slots < 3)
        return tg_err_set(err, TG_EINVAL,
                          "shuffle: max_bytes %zu holds fewer than 3 chunks of %d rows (%zu bytes "
                          "each)",
                          cfg->max_bytes, cfg->chunk_rows, chunk_bytes);
    if (slots > MAX_RING_SLOTS) slots = MAX_RING_SLOTS;

    shuffle_window_t *w = calloc(1, sizeof(*w));
    if (!w) return tg_err_set(err, TG_ENOMEM, "shuffle: out of memory");
    w->cfg = *cfg;
    w->taper_scale = cfg->taper_window_scale > 0 ? cfg->taper_window_scale : cfg->min_rows;
    w->max_chunks = (int)slots;
    w->chunk_bytes = chunk_bytes;
    w->cap_rows = (int64_t)(w->max_chunks - 2) * cfg->chunk_rows;
    w->bucket_row = -1;
    tg_rng_seed(&w->rng, cfg->seed, SHUFFLE_RNG_STREAM);
    w->ring = calloc(slots, sizeof(*w->ring));
    if (!w->ring) goto fail_ring;
    if (uv_mutex_init(&w->mutex) != 0) goto fail_mutex;
    if (uv_cond_init(&w->cond) != 0) goto fail_cond;
    *out = w;
    return 0;

fail_cond:
    uv_mutex_destroy(&w->mutex);
fail_mutex:
    free(w->ring);
fail_ring:
    free(w);
    return tg_err_set(err, TG_ENOMEM, "shuffle: cannot create the window");
}

static void chunk_free(trainrows_t *c) {
    if (!c) return;
    trainrows_free(c);
    free(c);
}

void shuffle_window_destroy(shuffle_window_t *w) {
    if (!w) return;
    for (int64_t k = w->chunk_lo; k < w->chunk_hi; k++)
        chunk_free(w->ring[k % w->max_chunks]);
    chunk_free(w->spare);
    free(w->ring);
    for (int i = 0; i < w->seg_count; i++)
        free(w->segs[w->seg_head + i].path);
    free(w->segs);
    for (int i = 0; i < w->num_dead; i++)
        free(w->dead[i]);
    free(w->dead);
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mutex);
    free(w);
}

/* ---- Window bookkeeping (all under the lock) --------------------------------------------- */

static int64_t usable_rows_locked(const shuffle_window_t *w) {
    int64_t rnd = w->random_rows < w->cfg.min_rows ? w->random_rows : w->cfg.min_rows;
    return rnd + (w->rows_total - w->random_rows);
}

/* Drops segments that end at or below lo; sidecar paths go to the dead list for the next save. */
static void drop_segments_locked(shuffle_window_t *w) {
    while (w->seg_count > 0) {
        shuffle__segment_t *s = &w->segs[w->seg_head];
        if (s->first + s->count > w->lo) break;
        if (s->sidecar && s->path) {
            if (w->num_dead == w->cap_dead) {
                int cap = w->cap_dead ? 2 * w->cap_dead : 16;
                char **d = realloc(w->dead, (size_t)cap * sizeof(*d));
                if (d) {
                    w->dead = d;
                    w->cap_dead = cap;
                }
            }
            if (w->num_dead < w->cap_dead) {
                w->dead[w->num_dead++] = s->path;
                s->path = NULL;
            }
        }
        free(s->path);
        s->path = NULL;
        w->seg_head++;
        w->seg_count--;
    }
    if (w->seg_count == 0) w->seg_head = 0;
}

int shuffle__move_window(shuffle_window_t *w, trainrows_t **retired, int max_retired) {
    int64_t target = shuffle_window_target(&w->cfg, usable_rows_locked(w));
    int64_t keep = target < w->cap_rows ? target : w->cap_rows;
    if (target > w->cap_rows && !w->cap_warned) {
        w->cap_warned = 1;
        TG_LOGW("shuffle: window of %lld rows wanted, memory cap (%zu bytes) holds %lld: "
                "keeping the newest %lld",
                (long long)target, w->cfg.max_bytes, (long long)w->cap_rows,
                (long long)w->cap_rows);
    }
    if (w->rows_total - keep > w->lo) w->lo = w->rows_total - keep;
    int n = 0;
    int64_t cr = w->cfg.chunk_rows;
    while (w->chunk_lo < w->chunk_hi && (w->chunk_lo + 1) * cr <= w->lo) {
        trainrows_t **slot = &w->ring[w->chunk_lo % w->max_chunks];
        if (!w->spare)
            w->spare = *slot;
        else if (n < max_retired)
            retired[n++] = *slot;
        else
            chunk_free(*slot);
        *slot = NULL;
        w->chunk_lo++;
    }
    drop_segments_locked(w);
    return n;
}

void shuffle__bucket_fill(shuffle_window_t *w) {
    const shuffle_config_t *c = &w->cfg;
    if (c->max_train_per_data <= 0.0) return;
    if (w->bucket_row < 0) {
        /* KataGo sets the fill mark at the first shuffle's end row: those rows do not fill. */
        if (w->rows_total >= c->min_rows) {
            w->bucket_row = w->rows_total;
            w->bucket_level = (double)c->samples_per_epoch;
        }
        return;
    }
    if (w->rows_total > w->bucket_row) {
        w->bucket_level += (double)(w->rows_total - w->bucket_row) * c->max_train_per_data;
        int64_t cap = c->max_train_bucket_size > c->samples_per_epoch ? c->max_train_bucket_size
                                                                      : c->samples_per_epoch;
        if (w->bucket_level > (double)cap) w->bucket_level = (double)cap;
        w->bucket_row = w->rows_total;
    }
}

/* Adds a published run of rows to the segment table, extending the last segment when it
 * continues it. path ownership passes to the table (or is freed). Under the lock. */
static int add_segment_locked(shuffle_window_t *w, int64_t first, int64_t count, int is_random,
                              char *path, int64_t src_row) {
    if (w->seg_count > 0) {
        shuffle__segment_t *s = &w->segs[w->seg_head + w->seg_count - 1];
        int contiguous = s->first + s->count == first && s->is_random == is_random && !s->sidecar;
        int same_src =
            path ? (s->path && strcmp(s->path, path) == 0 && s->src_row + s->count == src_row)
                 : (!s->path && s->count + count <= SHUFFLE__SIDECAR_MAX_ROWS);
        if (contiguous && same_src) {
            s->count += count;
            free(path);
            return 0;
        }
    }
    if (w->seg_head + w->seg_count == w->seg_cap) {
        if (w->seg_head > 0) {
            memmove(w->segs, w->segs + w->seg_head, (size_t)w->seg_count * sizeof(*w->segs));
            w->seg_head = 0;
        } else {
            int cap = w->seg_cap ? 2 * w->seg_cap : 64;
            shuffle__segment_t *s = realloc(w->segs, (size_t)cap * sizeof(*s));
            if (!s) {
                free(path);
                return TG_ENOMEM;
            }
            w->segs = s;
            w->seg_cap = cap;
        }
    }
    w->segs[w->seg_head + w->seg_count++] = (shuffle__segment_t){
        .first = first,
        .count = count,
        .src_row = src_row,
        .path = path,
        .is_random = is_random,
        .sidecar = 0,
    };
    return 0;
}

/* ---- Appending (producer) ----------------------------------------------------------------- */

/* Makes chunk ids up to last_chunk live, recycling the spare or (at the memory cap) the oldest
 * chunk. Producer only. */
static int ensure_chunks(shuffle_window_t *w, int64_t last_chunk, tg_err_t *err) {
    while (w->chunk_hi <= last_chunk) {
        uv_mutex_lock(&w->mutex);
        trainrows_t *c = w->spare;
        w->spare = NULL;
        uv_mutex_unlock(&w->mutex);
        if (!c && w->chunk_hi - w->chunk_lo < w->max_chunks) {
            c = calloc(1, sizeof(*c));
            if (!c) return tg_err_set(err, TG_ENOMEM, "shuffle: out of memory for a chunk");
            int rc = trainrows_init(c, w->cfg.pos_len, w->cfg.chunk_rows, err);
            if (rc != 0) {
                free(c);
                return rc;
            }
            c->num_rows = c->capacity;
        }
        uv_mutex_lock(&w->mutex);
        if (!c) {
            /* At the cap: every slot is live. The oldest chunk lies wholly below rows_total
             * (pieces are <= chunk_rows and slots >= 3), so evict it early. */
            int64_t k = w->chunk_lo;
            TG_ASSERT((k + 1) * w->cfg.chunk_rows <= w->rows_total);
            c = w->ring[k % w->max_chunks];
            w->ring[k % w->max_chunks] = NULL;
            w->chunk_lo++;
            if (w->lo < (k + 1) * w->cfg.chunk_rows) w->lo = (k + 1) * w->cfg.chunk_rows;
            drop_segments_locked(w);
        }
        w->ring[w->chunk_hi % w->max_chunks] = c;
        w->chunk_hi++;
        uv_mutex_unlock(&w->mutex);
    }
    return 0;
}

int shuffle__append(shuffle_window_t *w, const trainrows_t *src, int first, int count,
                    int is_random, const char *source_path, int64_t source_row, int restoring,
                    tg_err_t *err) {
    if (!src || src->pos_len != w->cfg.pos_len)
        return tg_err_set(err, TG_EINVAL, "shuffle: rows have pos_len %d, the window %d",
                          src ? src->pos_len : -1, w->cfg.pos_len);
    if (first < 0 || count < 0 || first > src->num_rows || count > src->num_rows - first)
        return tg_err_set(err, TG_EINVAL, "shuffle: rows [%d, %d+%d) outside the %d given", first,
                          first, count, src->num_rows);
    if (source_path && (strchr(source_path, '\n') || source_path[0] == '\0' || source_row < 0))
        return tg_err_set(err, TG_EINVAL, "shuffle: bad source path or row");
    int64_t cr = w->cfg.chunk_rows;
    is_random = is_random ? 1 : 0;
    while (count > 0) {
        int piece = count < cr ? count : (int)cr;
        int64_t n0 = w->rows_total; /* only the producer writes it: safe to read unlocked */
        if (w->chunk_lo == w->chunk_hi) {
            uv_mutex_lock(&w->mutex);
            w->chunk_lo = w->chunk_hi = n0 / cr;
            uv_mutex_unlock(&w->mutex);
        }
        int rc = ensure_chunks(w, (n0 + piece - 1) / cr, err);
        if (rc != 0) return rc;
        for (int done = 0; done < piece;) {
            int row;
            trainrows_t *c = shuffle__chunk_of(w, n0 + done, &row);
            int n = piece - done < (int)cr - row ? piece - done : (int)cr - row;
            shuffle__copy_rows(c, row, src, first + done, n);
            done += n;
        }
        char *path = NULL;
        if (source_path && !restoring) {
            path = strdup(source_path);
            if (!path) return tg_err_set(err, TG_ENOMEM, "shuffle: out of memory");
        }
        trainrows_t *retired[8];
        int num_retired = 0;
        uv_mutex_lock(&w->mutex);
        w->rows_total = n0 + piece;
        if (!restoring) {
            if (is_random) w->random_rows += piece;
            rc = add_segment_locked(w, n0, piece, is_random, path, source_row);
            num_retired = shuffle__move_window(w, retired, (int)TG_ARRAY_LEN(retired));
            shuffle__bucket_fill(w);
            uv_cond_broadcast(&w->cond);
        }
        uv_mutex_unlock(&w->mutex);
        for (int i = 0; i < num_retired; i++)
            chunk_free(retired[i]);
        if (rc != 0) return tg_err_set(err, rc, "shuffle: out of memory for the segment table");
        first += piece;
        count -= piece;
        if (source_path) source_row += piece;
    }
    return 0;
}

int shuffle_window_append(shuffle_window_t *w, const trainrows_t *src, int first, int count,
                          int is_random, const char *source_path, int64_t source_row,
                          tg_err_t *err) {
    return shuffle__append(w, src, first, count, is_random, source_path, source_row, 0, err);
}

/* ---- Sampling (consumer) ------------------------------------------------------------------- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t shuffle__permute(uint64_t key, int64_t n, int64_t i) {
    /* A 4-round balanced Feistel network on 2*half bits is a bijection of [0, 4^half) with
     * 4^half < 4n; walking the cycle until the value lands below n restricts it to a bijection
     * of [0, n) (expected < 4 steps). */
    int half = 1;
    while (((int64_t)1 << (2 * half)) < n)
        half++;
    uint64_t mask = ((uint64_t)1 << half) - 1, x = (uint64_t)i;
    do {
        uint64_t l = x >> half, r = x & mask;
        for (uint64_t round = 0; round < 4; round++) {
            uint64_t f = mix64(r ^ key ^ (round * 0x9e3779b97f4a7c15ULL)) & mask;
            uint64_t t = l ^ f;
            l = r;
            r = t;
        }
        x = (l << half) | r;
    } while (x >= (uint64_t)n);
    return (int64_t)x;
}

/* Next global row of the current pass, starting a new pass when needed. Under the lock. */
static int64_t pass_next_locked(shuffle_window_t *w) {
    for (;;) {
        int64_t refresh =
            w->cfg.pass_refresh_rows > 0 ? w->cfg.pass_refresh_rows : (w->pass_n + 3) / 4;
        if (w->pass_n <= 0 || w->pass_cursor >= w->pass_n ||
            w->rows_total - w->pass_rows_at >= refresh) {
            w->pass_lo = w->lo;
            w->pass_n = w->rows_total - w->lo;
            w->pass_cursor = 0;
            w->pass_rows_at = w->rows_total;
            w->pass_key = tg_rng_u64(&w->rng);
        }
        int64_t g = w->pass_lo + shuffle__permute(w->pass_key, w->pass_n, w->pass_cursor++);
        if (g >= w->lo) return g; /* else evicted since the pass began: skip */
    }
}

int shuffle_window_sample(shuffle_window_t *w, int batch, trainrows_t *out, int64_t *row_ids,
                          tg_err_t *err) {
    if (!out || out->pos_len != w->cfg.pos_len || batch < 1 || batch > out->capacity)
        return tg_err_set(err, TG_EINVAL,
                          "shuffle: sample of %d rows into a batch of pos_len %d, capacity %d "
                          "(window pos_len %d)",
                          batch, out ? out->pos_len : -1, out ? out->capacity : -1, w->cfg.pos_len);
    uv_mutex_lock(&w->mutex);
    int64_t lo = w->lo, n = w->rows_total - w->lo;
    if (w->rows_total < w->cfg.min_rows || n <= 0) {
        int64_t total = w->rows_total;
        uv_mutex_unlock(&w->mutex);
        return tg_err_set(err, TG_ESTATE, "shuffle: not enough rows (%lld of min_rows %lld)",
                          (long long)total, (long long)w->cfg.min_rows);
    }
    for (int i = 0; i < batch; i++) {
        int64_t g;
        if (w->cfg.sample_mode == SHUFFLE_SAMPLE_PASS) {
            g = pass_next_locked(w);
        } else {
            uint64_t r = n <= (int64_t)UINT32_MAX ? tg_rng_below(&w->rng, (uint32_t)n)
                                                  : tg_rng_u64(&w->rng) % (uint64_t)n;
            g = lo + (int64_t)r;
        }
        int row;
        const trainrows_t *c = shuffle__chunk_of(w, g, &row);
        shuffle__copy_rows(out, i, c, row, 1);
        if (row_ids) row_ids[i] = g;
    }
    w->samples_taken += batch;
    uv_mutex_unlock(&w->mutex);
    out->num_rows = batch;
    return 0;
}

/* ---- Train bucket -------------------------------------------------------------------------- */

static int64_t bucket_available_locked(const shuffle_window_t *w) {
    if (w->rows_total < w->cfg.min_rows) return 0;
    if (w->cfg.max_train_per_data <= 0.0) return INT64_MAX;
    if (w->bucket_level <= 0.0) return 0;
    return (int64_t)floor(w->bucket_level);
}

int64_t shuffle_window_bucket_available(shuffle_window_t *w) {
    uv_mutex_lock(&w->mutex);
    int64_t n = bucket_available_locked(w);
    uv_mutex_unlock(&w->mutex);
    return n;
}

int shuffle_window_bucket_take(shuffle_window_t *w, int64_t n) {
    int rc = TG_ESTATE;
    uv_mutex_lock(&w->mutex);
    if (n >= 0 && bucket_available_locked(w) >= n) {
        if (w->cfg.max_train_per_data > 0.0) w->bucket_level -= (double)n;
        rc = 0;
    }
    uv_mutex_unlock(&w->mutex);
    return rc;
}

int shuffle_window_bucket_try_epoch(shuffle_window_t *w, int64_t samples) {
    int ok = 0;
    uv_mutex_lock(&w->mutex);
    if (w->rows_total >= w->cfg.min_rows) {
        if (w->cfg.max_train_per_data <= 0.0) {
            ok = 1;
        } else if (w->bucket_row >= 0 && w->bucket_level > 0.99 * (double)samples) {
            w->bucket_level -= (double)samples;
            ok = 1;
        }
    }
    uv_mutex_unlock(&w->mutex);
    return ok;
}

int shuffle_window_bucket_wait(shuffle_window_t *w, int64_t n, int64_t timeout_ms) {
    uint64_t deadline = timeout_ms < 0 ? 0 : uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    int ok = 0;
    uv_mutex_lock(&w->mutex);
    for (;;) {
        if (bucket_available_locked(w) >= n) {
            ok = 1;
            break;
        }
        if (w->closed) break;
        if (timeout_ms < 0) {
            uv_cond_wait(&w->cond, &w->mutex);
        } else {
            uint64_t now = uv_hrtime();
            if (now >= deadline) break;
            uv_cond_timedwait(&w->cond, &w->mutex, deadline - now);
        }
    }
    uv_mutex_unlock(&w->mutex);
    return ok;
}

void shuffle_window_close(shuffle_window_t *w) {
    uv_mutex_lock(&w->mutex);
    w->closed = 1;
    uv_cond_broadcast(&w->cond);
    uv_mutex_unlock(&w->mutex);
}

/* ---- Inspection ----------------------------------------------------------------------------- */

void shuffle_window_get_stats(shuffle_window_t *w, shuffle_stats_t *out) {
    memset(out, 0, sizeof(*out));
    uv_mutex_lock(&w->mutex);
    out->rows_total = w->rows_total;
    out->random_rows = w->random_rows;
    out->usable_rows = usable_rows_locked(w);
    out->target_rows = shuffle_window_target(&w->cfg, out->usable_rows);
    out->window_start = w->lo;
    out->window_rows = w->rows_total - w->lo;
    out->cap_rows = w->cap_rows;
    out->bytes_used = (size_t)(w->chunk_hi - w->chunk_lo + (w->spare ? 1 : 0)) * w->chunk_bytes;
    out->ready = w->rows_total >= w->cfg.min_rows;
    out->bucket_level = w->bucket_level;
    out->bucket_row = w->bucket_row;
    out->samples_taken = w->samples_taken;
    out->num_segments = w->seg_count;
    uv_mutex_unlock(&w->mutex);
}

void shuffle_window_get_rng(shuffle_window_t *w, tg_rng_t *out) {
    uv_mutex_lock(&w->mutex);
    *out = w->rng;
    uv_mutex_unlock(&w->mutex);
}
