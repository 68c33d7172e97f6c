/* synth_rows.h: synthetic training rows whose every array encodes the row's global index, so a
 * test can tell from a sampled row alone which row it is and whether any byte of it is torn. */
#ifndef TENGEN_TESTS_SHUFFLE_SYNTH_ROWS_H
#define TENGEN_TESTS_SHUFFLE_SYNTH_ROWS_H

#include <stdint.h>
#include <string.h>

#include "data/trainrows.h"

static inline uint8_t synth__byte(int64_t id, size_t k) {
    return (uint8_t)((uint64_t)id * 2654435761u + k * 40503u + (k >> 8));
}

/* Fills row `row` of tr with the content of global row `id`. */
static inline void synth_fill_row(trainrows_t *tr, int row, int64_t id) {
    uint8_t *b = trainrows_binary_row(tr, row);
    for (size_t k = 0; k < (size_t)TRAINROWS_BIN_CHANNELS * tr->packed_len; k++)
        b[k] = synth__byte(id, k);
    float *gi = trainrows_global_input_row(tr, row);
    for (int k = 0; k < TRAINROWS_GLOBAL_INPUTS; k++)
        gi[k] = (float)id + 0.25f * (float)k;
    int16_t *p = trainrows_policy_row(tr, row);
    for (int k = 0; k < TRAINROWS_POLICY_CHANNELS * tr->policy_len; k++)
        p[k] = (int16_t)(synth__byte(id, (size_t)k + 7) * 3 - 200);
    float *gt = trainrows_global_targets_row(tr, row);
    for (int k = 0; k < TRAINROWS_GLOBAL_TARGETS; k++)
        gt[k] = (float)id * 0.5f - (float)k;
    int8_t *s = trainrows_score_distr_row(tr, row);
    for (int k = 0; k < tr->score_len; k++)
        s[k] = (int8_t)synth__byte(id, (size_t)k + 11);
    int8_t *v = trainrows_value_row(tr, row);
    for (int k = 0; k < TRAINROWS_VALUE_CHANNELS * tr->area; k++)
        v[k] = (int8_t)synth__byte(id, (size_t)k + 13);
    int16_t *q = trainrows_qvalue_row(tr, row);
    for (int k = 0; k < TRAINROWS_QVALUE_CHANNELS * tr->policy_len; k++)
        q[k] = (int16_t)(synth__byte(id, (size_t)k + 17) * 5 - 600);
}

/* Each thread's reference row for synth_check_row. */
static __thread trainrows_t synth__ref;

/* Frees the calling thread's reference row (call before the thread ends). */
static inline void synth_release(void) { trainrows_free(&synth__ref); }

/* 1 if row `row` of tr holds exactly the content of global row `id`. */
static inline int synth_check_row(const trainrows_t *tr, int row, int64_t id) {
    trainrows_t *ref = &synth__ref;
    if (!ref->block || ref->pos_len != tr->pos_len) {
        trainrows_free(ref);
        if (trainrows_init(ref, tr->pos_len, 1, NULL) != 0) return 0;
    }
    synth_fill_row(ref, 0, id);
    return memcmp(trainrows_binary_row(tr, row), trainrows_binary_row(ref, 0),
                  (size_t)TRAINROWS_BIN_CHANNELS * tr->packed_len) == 0 &&
           memcmp(trainrows_global_input_row(tr, row), trainrows_global_input_row(ref, 0),
                  TRAINROWS_GLOBAL_INPUTS * sizeof(float)) == 0 &&
           memcmp(trainrows_policy_row(tr, row), trainrows_policy_row(ref, 0),
                  (size_t)TRAINROWS_POLICY_CHANNELS * tr->policy_len * 2) == 0 &&
           memcmp(trainrows_global_targets_row(tr, row), trainrows_global_targets_row(ref, 0),
                  TRAINROWS_GLOBAL_TARGETS * sizeof(float)) == 0 &&
           memcmp(trainrows_score_distr_row(tr, row), trainrows_score_distr_row(ref, 0),
                  (size_t)tr->score_len) == 0 &&
           memcmp(trainrows_value_row(tr, row), trainrows_value_row(ref, 0),
                  (size_t)TRAINROWS_VALUE_CHANNELS * tr->area) == 0 &&
           memcmp(trainrows_qvalue_row(tr, row), trainrows_qvalue_row(ref, 0),
                  (size_t)TRAINROWS_QVALUE_CHANNELS * tr->policy_len * 2) == 0;
}

/* Fills rows [0, n) of tr with global rows first .. first+n-1 and sets num_rows = n. */
static inline void synth_fill(trainrows_t *tr, int64_t first, int n) {
    for (int i = 0; i < n; i++)
        synth_fill_row(tr, i, first + i);
    tr->num_rows = n;
}

#endif
