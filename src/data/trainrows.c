/* trainrows.c: KataGo-layout training rows and their .npz files. Design: see trainrows.h. */
#include "data/trainrows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/npz.h"

#define SECTION_ALIGN 64

/* The seven arrays, in the order KataGo writes them. */
enum { ARR_BIN, ARR_GIN, ARR_POL, ARR_GT, ARR_SCORE, ARR_VAL, ARR_QVAL, ARR_COUNT };

static const char *const arr_names[ARR_COUNT] = {
    [ARR_BIN] = "binaryInputNCHWPacked", [ARR_GIN] = "globalInputNC",
    [ARR_POL] = "policyTargetsNCMove",   [ARR_GT] = "globalTargetsNC",
    [ARR_SCORE] = "scoreDistrN",         [ARR_VAL] = "valueTargetsNCHW",
    [ARR_QVAL] = "qValueTargetsNCMove",
};
static const npz_dtype_t arr_dtypes[ARR_COUNT] = {
    [ARR_BIN] = NPZ_DTYPE_U1,  [ARR_GIN] = NPZ_DTYPE_F4,   [ARR_POL] = NPZ_DTYPE_I2,
    [ARR_GT] = NPZ_DTYPE_F4,   [ARR_SCORE] = NPZ_DTYPE_I1, [ARR_VAL] = NPZ_DTYPE_I1,
    [ARR_QVAL] = NPZ_DTYPE_I2,
};

/* Per-row shape (without N) of array a for data size L; returns its ndim. */
static int arr_row_shape(const trainrows_t *tr, int a, int64_t *shape) {
    switch (a) {
    case ARR_BIN:
        shape[0] = TRAINROWS_BIN_CHANNELS;
        shape[1] = tr->packed_len;
        return 2;
    case ARR_GIN:
        shape[0] = TRAINROWS_GLOBAL_INPUTS;
        return 1;
    case ARR_POL:
        shape[0] = TRAINROWS_POLICY_CHANNELS;
        shape[1] = tr->policy_len;
        return 2;
    case ARR_GT:
        shape[0] = TRAINROWS_GLOBAL_TARGETS;
        return 1;
    case ARR_SCORE:
        shape[0] = tr->score_len;
        return 1;
    case ARR_VAL:
        shape[0] = TRAINROWS_VALUE_CHANNELS;
        shape[1] = tr->pos_len;
        shape[2] = tr->pos_len;
        return 3;
    case ARR_QVAL:
        shape[0] = TRAINROWS_QVALUE_CHANNELS;
        shape[1] = tr->policy_len;
        return 2;
    }
    TG_ASSERT(0);
    return 0;
}

static size_t arr_row_bytes(const trainrows_t *tr, int a) {
    int64_t shape[4];
    int nd = arr_row_shape(tr, a, shape);
    size_t n = npz_dtype_size(arr_dtypes[a]);
    for (int i = 0; i < nd; i++)
        n *= (size_t)shape[i];
    return n;
}

static void *arr_base(const trainrows_t *tr, int a) {
    switch (a) {
    case ARR_BIN:
        return tr->binary_input;
    case ARR_GIN:
        return tr->global_input;
    case ARR_POL:
        return tr->policy_targets;
    case ARR_GT:
        return tr->global_targets;
    case ARR_SCORE:
        return tr->score_distr;
    case ARR_VAL:
        return tr->value_targets;
    case ARR_QVAL:
        return tr->qvalue_targets;
    }
    return NULL;
}

int trainrows_init(trainrows_t *tr, int pos_len, int capacity, tg_err_t *err) {
    memset(tr, 0, sizeof(*tr));
    if (pos_len < 1 || pos_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "trainrows: pos_len %d not in 1..%d", pos_len,
                          TRAINROWS_MAX_POS_LEN);
    if (capacity < 1 || capacity > (1 << 24))
        return tg_err_set(err, TG_EINVAL, "trainrows: capacity %d not in 1..%d", capacity, 1 << 24);
    tr->pos_len = pos_len;
    tr->area = pos_len * pos_len;
    tr->packed_len = (tr->area + 7) / 8;
    tr->policy_len = tr->area + 1;
    tr->score_len = 2 * tr->area + 2 * TRAINROWS_SCORE_RADIUS;
    tr->capacity = capacity;
    size_t offsets[ARR_COUNT], total = 0;
    for (int a = 0; a < ARR_COUNT; a++) {
        offsets[a] = total;
        size_t bytes = arr_row_bytes(tr, a) * (size_t)capacity; /* < 2^24 * 8 KiB: no overflow */
        total += (bytes + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
    }
    unsigned char *block = aligned_alloc(SECTION_ALIGN, total);
    if (!block) {
        memset(tr, 0, sizeof(*tr));
        return tg_err_set(err, TG_ENOMEM, "trainrows: cannot allocate %zu bytes for %d rows", total,
                          capacity);
    }
    tr->block = block;
    tr->binary_input = (uint8_t *)(block + offsets[ARR_BIN]);
    tr->global_input = (float *)(block + offsets[ARR_GIN]);
    tr->policy_targets = (int16_t *)(block + offsets[ARR_POL]);
    tr->global_targets = (float *)(block + offsets[ARR_GT]);
    tr->score_distr = (int8_t *)(block + offsets[ARR_SCORE]);
    tr->value_targets = (int8_t *)(block + offsets[ARR_VAL]);
    tr->qvalue_targets = (int16_t *)(block + offsets[ARR_QVAL]);
    return 0;
}

void trainrows_free(trainrows_t *tr) {
    if (!tr) return;
    free(tr->block);
    memset(tr, 0, sizeof(*tr));
}

void trainrows_clear(trainrows_t *tr) { tr->num_rows = 0; }

int trainrows_append(trainrows_t *tr) {
    if (tr->num_rows >= tr->capacity) return TG_ERANGE;
    int row = tr->num_rows++;
    for (int a = 0; a < ARR_COUNT; a++) {
        size_t rb = arr_row_bytes(tr, a);
        memset((unsigned char *)arr_base(tr, a) + (size_t)row * rb, 0, rb);
    }
    trainrows_global_targets_row(tr, row)[TRAINROWS_GT_DATA_VERSION] = TRAINROWS_DATA_VERSION;
    return row;
}

void trainrows_pack_bits(const float *values, int n, uint8_t *out) {
    int nbytes = (n + 7) / 8;
    memset(out, 0, (size_t)nbytes);
    for (int i = 0; i < n; i++)
        if (values[i] != 0.0f) out[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
}

void trainrows_unpack_bits(const uint8_t *packed, int n, float *out) {
    for (int i = 0; i < n; i++)
        out[i] = (packed[i >> 3] >> (7 - (i & 7))) & 1 ? 1.0f : 0.0f;
}

void trainrows_set_inputs(trainrows_t *tr, int row, const float *spatial, const float *global) {
    TG_ASSERT(row >= 0 && row < tr->capacity);
    if (spatial) {
        uint8_t *dst = trainrows_binary_row(tr, row);
        for (int c = 0; c < TRAINROWS_BIN_CHANNELS; c++)
            trainrows_pack_bits(spatial + (size_t)c * tr->area, tr->area,
                                dst + (size_t)c * tr->packed_len);
    }
    if (global)
        memcpy(trainrows_global_input_row(tr, row), global,
               sizeof(float) * TRAINROWS_GLOBAL_INPUTS);
}

void trainrows_get_inputs(const trainrows_t *tr, int row, float *spatial, float *global) {
    TG_ASSERT(row >= 0 && row < tr->capacity);
    if (spatial) {
        const uint8_t *src = trainrows_binary_row(tr, row);
        for (int c = 0; c < TRAINROWS_BIN_CHANNELS; c++)
            trainrows_unpack_bits(src + (size_t)c * tr->packed_len, tr->area,
                                  spatial + (size_t)c * tr->area);
    }
    if (global)
        memcpy(global, trainrows_global_input_row(tr, row),
               sizeof(float) * TRAINROWS_GLOBAL_INPUTS);
}

void trainrows_set_policy_missing(trainrows_t *tr, int row, int channel) {
    TG_ASSERT(row >= 0 && row < tr->capacity && (channel == 0 || channel == 1));
    int16_t *p = trainrows_policy_row(tr, row) + (size_t)channel * tr->policy_len;
    for (int i = 0; i < tr->policy_len; i++)
        p[i] = 1;
}

void trainrows_set_score_distr(trainrows_t *tr, int row, float score) {
    TG_ASSERT(row >= 0 && row < tr->capacity);
    int8_t *d = trainrows_score_distr_row(tr, row);
    int len = tr->score_len, mid = tr->area + TRAINROWS_SCORE_RADIUS;
    memset(d, 0, (size_t)len);
    if (!(fabsf(score) < 1e6f)) score = score > 0 ? 1e6f : -1e6f; /* also maps NaN to the low end */
    int center = (int)roundf(score); /* half away from zero, as KataGo */
    int lower = center + mid - 1, upper = center + mid;
    if (upper <= 0) {
        d[0] = 100;
    } else if (lower >= len - 1) {
        d[len - 1] = 100;
    } else {
        float lambda = score - ((float)center - 0.5f);
        int up = (int)roundf(lambda * 100.0f);
        d[lower] = (int8_t)(100 - up);
        d[upper] = (int8_t)up;
    }
}

void trainrows_set_score_distr_dummy(trainrows_t *tr, int row) {
    TG_ASSERT(row >= 0 && row < tr->capacity);
    int8_t *d = trainrows_score_distr_row(tr, row);
    int mid = tr->area + TRAINROWS_SCORE_RADIUS;
    memset(d, 0, (size_t)tr->score_len);
    d[mid - 1] = 50;
    d[mid] = 50;
}

void trainrows_set_game_hash(trainrows_t *tr, int row, uint64_t hash0, uint64_t hash1) {
    float *g = trainrows_global_targets_row(tr, row) + TRAINROWS_GT_GAME_HASH;
    g[0] = (float)(hash0 & 0x3FFFFF);
    g[1] = (float)((hash0 >> 22) & 0x3FFFFF);
    g[2] = (float)((hash0 >> 44) & 0xFFFFF);
    g[3] = (float)(hash1 & 0x3FFFFF);
    g[4] = (float)((hash1 >> 22) & 0x3FFFFF);
    g[5] = (float)((hash1 >> 44) & 0xFFFFF);
}

int trainrows_write_npz(const trainrows_t *tr, const char *path, int level, tg_err_t *err) {
    npz_writer_t w;
    int rc = npz_writer_open(&w, path, level, err);
    if (rc) return rc;
    for (int a = 0; a < ARR_COUNT; a++) {
        int64_t shape[5];
        shape[0] = tr->num_rows;
        int nd = arr_row_shape(tr, a, shape + 1) + 1;
        rc = npz_writer_add(&w, arr_names[a], arr_dtypes[a], nd, shape, arr_base(tr, a), err);
        if (rc) {
            npz_writer_abort(&w);
            return rc;
        }
    }
    return npz_writer_commit(&w, err);
}

/* Checks that arr has dtype `dtype` and shape (n, row_shape...). */
static int check_array(const npz_array_t *arr, npz_dtype_t dtype, int64_t n,
                       const int64_t *row_shape, int row_nd, const char *path, tg_err_t *err) {
    char want[96], got[96];
    int wl = snprintf(want, sizeof(want), "(%lld", (long long)n);
    for (int i = 0; i < row_nd; i++)
        wl += snprintf(want + wl, sizeof(want) - (size_t)wl, ", %lld", (long long)row_shape[i]);
    snprintf(want + wl, sizeof(want) - (size_t)wl, ")");
    int ok = arr->dtype == dtype && arr->ndim == row_nd + 1 && arr->shape[0] == n;
    for (int i = 0; ok && i < row_nd; i++)
        ok = arr->shape[i + 1] == row_shape[i];
    if (ok) return 0;
    int gl = snprintf(got, sizeof(got), "(");
    for (int i = 0; i < arr->ndim && gl < (int)sizeof(got) - 24; i++)
        gl += snprintf(got + gl, sizeof(got) - (size_t)gl, "%s%lld", i ? ", " : "",
                       (long long)arr->shape[i]);
    snprintf(got + gl, sizeof(got) - (size_t)gl, ")");
    return tg_err_set(err, TG_EFORMAT, "%s: %s: expected %s %s, found %s %s", path, arr->name,
                      npz_dtype_descr(dtype), want, npz_dtype_descr(arr->dtype), got);
}

int trainrows_load_npz(trainrows_t *tr, const char *path, tg_err_t *err) {
    memset(tr, 0, sizeof(*tr));
    npz_file_t f;
    int rc = npz_file_read(&f, path, 0, err);
    if (rc) return rc;
    const npz_array_t *arrs[ARR_COUNT];
    for (int a = 0; a < ARR_COUNT; a++) {
        arrs[a] = npz_file_find(&f, arr_names[a]);
        if (!arrs[a] && a != ARR_QVAL) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: %s: required array missing", path, arr_names[a]);
            goto done;
        }
    }
    const npz_array_t *val = arrs[ARR_VAL];
    if (val->ndim != 4 || val->shape[2] != val->shape[3] || val->shape[2] < 1 ||
        val->shape[2] > TRAINROWS_MAX_POS_LEN) {
        rc = tg_err_set(err, TG_EFORMAT, "%s: valueTargetsNCHW: shape is not (N, 5, L, L), L <= %d",
                        path, TRAINROWS_MAX_POS_LEN);
        goto done;
    }
    int64_t n = arrs[ARR_BIN]->ndim > 0 ? arrs[ARR_BIN]->shape[0] : -1;
    if (n < 0 || n > (1 << 24)) {
        rc = tg_err_set(err, TG_EFORMAT, "%s: binaryInputNCHWPacked: bad row count", path);
        goto done;
    }
    rc = trainrows_init(tr, (int)val->shape[2], n > 0 ? (int)n : 1, err);
    if (rc) goto done;
    /* Data version 2 files have 64 global targets; KataGo pads them to 80 with zeros. */
    int gt_width = TRAINROWS_GLOBAL_TARGETS;
    if (arrs[ARR_GT]->ndim == 2 && arrs[ARR_GT]->shape[1] == TRAINROWS_GLOBAL_TARGETS_V2)
        gt_width = TRAINROWS_GLOBAL_TARGETS_V2;
    for (int a = 0; a < ARR_COUNT && rc == 0; a++) {
        if (!arrs[a]) continue;
        int64_t row_shape[4];
        int nd = arr_row_shape(tr, a, row_shape);
        if (a == ARR_GT) row_shape[0] = gt_width;
        rc = check_array(arrs[a], arr_dtypes[a], n, row_shape, nd, path, err);
    }
    if (rc) goto done;
    for (int a = 0; a < ARR_COUNT; a++) {
        size_t rb = arr_row_bytes(tr, a);
        unsigned char *dst = arr_base(tr, a);
        if (!arrs[a]) {
            memset(dst, 0, rb * (size_t)n);
        } else if (a == ARR_GT && gt_width != TRAINROWS_GLOBAL_TARGETS) {
            const float *src = arrs[a]->data;
            for (int64_t r = 0; r < n; r++) {
                float *g = trainrows_global_targets_row(tr, (int)r);
                memcpy(g, src + r * gt_width, sizeof(float) * (size_t)gt_width);
                memset(g + gt_width, 0,
                       sizeof(float) * (size_t)(TRAINROWS_GLOBAL_TARGETS - gt_width));
            }
        } else {
            memcpy(dst, arrs[a]->data, rb * (size_t)n);
        }
    }
    tr->num_rows = (int)n;
done:
    if (rc) trainrows_free(tr);
    npz_file_free(&f);
    return rc;
}
