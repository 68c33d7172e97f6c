/* trainrows.h: an in-memory batch of training rows in KataGo's selfplay layout, and its .npz I/O.
 *
 * Why: selfplay fills rows turn by turn (KataGo's TrainingWriteBuffers) and flushes them as one
 * .npz per batch; training later reads those files back. The arrays, dtypes and shapes are
 * exactly the ones KataGo writes for data size L (formats.md §4.2), so KataGo's own shuffler and
 * trainer accept our files and we accept theirs:
 *
 *   binaryInputNCHWPacked (N, 22, ceil(L*L/8)) uint8  bit-packed planes, MSB first (packbits)
 *   globalInputNC         (N, 19)              float32
 *   policyTargetsNCMove   (N, 2, L*L+1)        int16
 *   globalTargetsNC       (N, 80)              float32 (data version 3; channels below)
 *   scoreDistrN           (N, 2*L*L+120)       int8    (sums to 100)
 *   valueTargetsNCHW      (N, 5, L, L)         int8
 *   qValueTargetsNCMove   (N, 3, L*L+1)        int16
 *
 * Design: one malloc holds all seven arrays for `capacity` rows as named views (row-major, row
 * stride = the per-row size of each array). Selfplay appends a row (zeroed, with the data
 * version set), then fills it field by field through the row views and helpers below; nothing
 * allocates after init. write_npz writes the first num_rows rows (member names without ".npy",
 * as KataGo's C++ does), atomically. load_npz reads a KataGo or tengen file back, padding
 * 64-channel (data version 2) global targets to 80 and zero-filling a missing
 * qValueTargetsNCMove, as KataGo's shuffler does.
 *
 * Not thread-safe: one batch belongs to one thread at a time. */
#ifndef TENGEN_DATA_TRAINROWS_H
#define TENGEN_DATA_TRAINROWS_H

#include <stdint.h>

#include "data/npz.h"
#include "util/error.h"

#define TRAINROWS_BIN_CHANNELS      22 /* spatial input planes (inputs version 7) */
#define TRAINROWS_GLOBAL_INPUTS     19 /* global input floats (inputs version 7) */
#define TRAINROWS_POLICY_CHANNELS   2  /* this turn, next turn */
#define TRAINROWS_GLOBAL_TARGETS    80 /* globalTargetsNC width, data version 3 */
#define TRAINROWS_GLOBAL_TARGETS_V2 64 /* width of the older data version 2 */
#define TRAINROWS_VALUE_CHANNELS    5  /* valueTargetsNCHW channels */
#define TRAINROWS_QVALUE_CHANNELS   3  /* qValueTargetsNCMove channels */
#define TRAINROWS_SCORE_RADIUS      60 /* KataGo's EXTRA_SCORE_DISTR_RADIUS */
#define TRAINROWS_DATA_VERSION      3  /* written to globalTargetsNC[63] */
#define TRAINROWS_MAX_POS_LEN       19

/* globalTargetsNC channels (formats.md §4.6 has the full meaning). All from pla's view. */
enum trainrows_gt_e {
    TRAINROWS_GT_WIN = 0,
    TRAINROWS_GT_LOSS = 1,
    TRAINROWS_GT_NORESULT = 2,
    TRAINROWS_GT_SCORE = 3,        /* final score, capped at +-421 */
    TRAINROWS_GT_TD_SHORT = 4,     /* 4..7: TD (win, loss, noresult, score), lambda 0.176 */
    TRAINROWS_GT_TD_MID = 8,       /* 8..11: lambda 0.056 */
    TRAINROWS_GT_TD_LONG = 12,     /* 12..15: lambda 0.016 */
    TRAINROWS_GT_SEARCH = 16,      /* 16..19: this turn's search values */
    TRAINROWS_GT_FINAL_SCORE = 20, /* = 3 when 27 > 0, else 0 */
    TRAINROWS_GT_LEAD = 21,
    TRAINROWS_GT_VARIANCE_TIME = 22,
    TRAINROWS_GT_TD_WEIGHT_INV = 24, /* 1 - weight of TD value targets (0 in selfplay) */
    TRAINROWS_GT_ROW_WEIGHT = 25,
    TRAINROWS_GT_POLICY0_WEIGHT = 26,
    TRAINROWS_GT_OWNERSHIP_WEIGHT = 27,
    TRAINROWS_GT_POLICY1_WEIGHT = 28,
    TRAINROWS_GT_LEAD_WEIGHT = 29,
    TRAINROWS_GT_POLICY_SURPRISE = 30,
    TRAINROWS_GT_POLICY_ENTROPY = 31,
    TRAINROWS_GT_SEARCH_ENTROPY = 32,
    TRAINROWS_GT_FUTURE_POS_WEIGHT = 33,
    TRAINROWS_GT_SCORING_WEIGHT = 34,
    TRAINROWS_GT_VALUE_WEIGHT_INV = 35,
    TRAINROWS_GT_USE_HIST = 36,  /* 36..40 */
    TRAINROWS_GT_GAME_HASH = 41, /* 41..46, see trainrows_set_game_hash */
    TRAINROWS_GT_SELF_KOMI = 47,
    TRAINROWS_GT_AREA_SCORING = 48,
    TRAINROWS_GT_NET_CHANGED = 49,
    TRAINROWS_GT_NETS_BEHIND = 50,
    TRAINROWS_GT_TURN_INDEX = 51,
    TRAINROWS_GT_HIT_TURN_LIMIT = 52,
    TRAINROWS_GT_START_MOVES = 53,
    TRAINROWS_GT_EXTRA_BLACK = 54,
    TRAINROWS_GT_GAME_MODE = 55,
    TRAINROWS_GT_INITIAL_TURN = 56,
    TRAINROWS_GT_RAW_WINLOSS = 57,
    TRAINROWS_GT_RAW_SCORE = 58,
    TRAINROWS_GT_PRIOR_ENTROPY = 59,
    TRAINROWS_GT_VISITS = 60,
    TRAINROWS_GT_BONUS_POINTS = 61,
    TRAINROWS_GT_MAIN_LINE = 62,
    TRAINROWS_GT_DATA_VERSION = 63,
    TRAINROWS_GT_REANALYSIS = 64,
    TRAINROWS_GT_PASS_ALIVE_SUICIDE = 68,
};

typedef struct trainrows_s {
    int pos_len;             /* L */
    int area;                /* L*L */
    int packed_len;          /* ceil(L*L/8): bytes per packed plane */
    int policy_len;          /* L*L+1 (pass last) */
    int score_len;           /* 2*L*L + 2*TRAINROWS_SCORE_RADIUS */
    int capacity;            /* rows the buffers hold */
    int num_rows;            /* rows filled so far */
    void *block;             /* the single allocation behind the views */
    uint8_t *binary_input;   /* (capacity, 22, packed_len) */
    float *global_input;     /* (capacity, 19) */
    int16_t *policy_targets; /* (capacity, 2, policy_len) */
    float *global_targets;   /* (capacity, 80) */
    int8_t *score_distr;     /* (capacity, score_len) */
    int8_t *value_targets;   /* (capacity, 5, L, L) */
    int16_t *qvalue_targets; /* (capacity, 3, policy_len) */
} trainrows_t;

/* Allocates buffers for `capacity` rows of data size pos_len (1..19). Caller owns tr and
 * calls trainrows_free. TG_EINVAL for bad sizes, TG_ENOMEM if the allocation fails. */
int trainrows_init(trainrows_t *tr, int pos_len, int capacity, tg_err_t *err);

/* Frees the buffers; safe on a zeroed or already-freed struct. */
void trainrows_free(trainrows_t *tr);

/* Forgets all rows (num_rows = 0); keeps the buffers. O(1). */
void trainrows_clear(trainrows_t *tr);

/* Appends a row and returns its index, or TG_ERANGE when the batch is full. The new row is all
 * zeros except globalTargetsNC[63] = TRAINROWS_DATA_VERSION. Cost: zeroes one row. */
int trainrows_append(trainrows_t *tr);

/* ---- Row views (row < num_rows or a just-appended row) ----------------------------------------
 */

static inline uint8_t *trainrows_binary_row(const trainrows_t *tr, int row) {
    return tr->binary_input + (size_t)row * TRAINROWS_BIN_CHANNELS * tr->packed_len;
}
static inline float *trainrows_global_input_row(const trainrows_t *tr, int row) {
    return tr->global_input + (size_t)row * TRAINROWS_GLOBAL_INPUTS;
}
/* (2, policy_len) */
static inline int16_t *trainrows_policy_row(const trainrows_t *tr, int row) {
    return tr->policy_targets + (size_t)row * TRAINROWS_POLICY_CHANNELS * tr->policy_len;
}
static inline float *trainrows_global_targets_row(const trainrows_t *tr, int row) {
    return tr->global_targets + (size_t)row * TRAINROWS_GLOBAL_TARGETS;
}
static inline int8_t *trainrows_score_distr_row(const trainrows_t *tr, int row) {
    return tr->score_distr + (size_t)row * tr->score_len;
}
/* (5, L, L) */
static inline int8_t *trainrows_value_row(const trainrows_t *tr, int row) {
    return tr->value_targets + (size_t)row * TRAINROWS_VALUE_CHANNELS * tr->area;
}
/* (3, policy_len) */
static inline int16_t *trainrows_qvalue_row(const trainrows_t *tr, int row) {
    return tr->qvalue_targets + (size_t)row * TRAINROWS_QVALUE_CHANNELS * tr->policy_len;
}

/* ---- Fill helpers ------------------------------------------------------------------------------
 */

/* Packs n values (nonzero = 1) into ceil(n/8) bytes, MSB first, last byte zero-padded: the
 * layout of numpy.packbits(values != 0). */
void trainrows_pack_bits(const float *values, int n, uint8_t *out);

/* Inverse of trainrows_pack_bits: writes n values 0.0f / 1.0f. */
void trainrows_unpack_bits(const uint8_t *packed, int n, float *out);

/* Stores the net inputs of a row: spatial (22, L, L) NCHW floats (nonzero = 1, as
 * tg_nn_fill_features writes them) packed into binaryInputNCHWPacked, and global (19) copied.
 * Either pointer may be NULL to leave that part unchanged. */
void trainrows_set_inputs(trainrows_t *tr, int row, const float *spatial, const float *global);

/* Reads the net inputs of a row back: spatial (22, L, L) as 0/1 floats, global (19). Either
 * output may be NULL. */
void trainrows_get_inputs(const trainrows_t *tr, int row, float *spatial, float *global);

/* Fills policy channel 0 or 1 with all 1s: KataGo's marker for "no target" (set its weight,
 * globalTargets 26 or 28, to 0). */
void trainrows_set_policy_missing(trainrows_t *tr, int row, int channel);

/* Writes the score-distribution target for final score `score` (pla's view): 100 percent split
 * between the two half-integer grid points around it (formats.md §4.7); scores past either end
 * go to the end index. */
void trainrows_set_score_distr(trainrows_t *tr, int row, float score);

/* Writes the dummy 50/50 score distribution used when there is no ownership target (27 = 0). */
void trainrows_set_score_distr_dummy(trainrows_t *tr, int row);

/* Splits a 128-bit game hash into globalTargets 41..46 (22, 22, 20 bits of each half). */
void trainrows_set_game_hash(trainrows_t *tr, int row, uint64_t hash0, uint64_t hash1);

/* ---- Files ---------------------------------------------------------------------------------- */

/* Writes rows [0, num_rows) as a KataGo training .npz at path (temp + fsync + rename). level is
 * NPZ_STORED (0) or a zlib level 1..9 (6 is a good default). Cost: one pass over the data. */
int trainrows_write_npz(const trainrows_t *tr, const char *path, int level, tg_err_t *err);

/* Reads a KataGo-layout training .npz (written by tengen, KataGo's selfplay or its shuffler)
 * into tr, which must be zeroed or freed; on success tr is initialised with capacity =
 * num_rows = the file's rows and pos_len taken from the file. Checks that every required key is
 * present with the right dtype and shape and that all arrays agree on N. 64-channel global
 * targets are zero-padded to 80, and a missing qValueTargetsNCMove reads as zeros. Errors:
 * TG_EFORMAT "path: key: what is wrong" (or the npz reader's errors); tr is left empty.
 * Other keys (e.g. metadataInputNC) are ignored. Memory: the file's arrays plus the rows. */
int trainrows_load_npz(trainrows_t *tr, const char *path, tg_err_t *err);

#endif
