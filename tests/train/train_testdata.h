/* train_testdata.h: synthetic training rows for the train tests (random but valid targets). */
#ifndef TENGEN_TESTS_TRAIN_TESTDATA_H
#define TENGEN_TESTS_TRAIN_TESTDATA_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/trainrows.h"
#include "util/rng.h"

/* Fills tr (already init'ed with capacity >= n) with n random rows; row 1 (if any) is a smaller
 * board (pos_len - 1) in the top-left corner, to exercise masking. */
static inline void testdata_fill(trainrows_t *tr, int n, uint64_t seed) {
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 99);
    const int L = tr->pos_len, hw = L * L;
    float *planes = malloc(sizeof(float) * 22 * hw);
    float glob[19];
    for (int i = 0; i < n; i++) {
        int row = trainrows_append(tr);
        int bl = (i == 1) ? L - 1 : L;
        for (int c = 0; c < 22; c++)
            for (int p = 0; p < hw; p++) {
                int on = (p / L) < bl && (p % L) < bl;
                planes[c * hw + p] = c == 0 ? (float)on : (on && tg_rng_uniform(&rng) < 0.3);
            }
        for (int k = 0; k < 19; k++)
            glob[k] = (float)(tg_rng_normal(&rng) * 0.5);
        trainrows_set_inputs(tr, row, planes, glob);
        int16_t *pol = trainrows_policy_row(tr, row);
        for (int ch = 0; ch < 2; ch++)
            for (int p = 0; p <= hw; p++) {
                int on = p == hw || ((p / L) < bl && (p % L) < bl);
                pol[ch * (hw + 1) + p] = on ? (int16_t)tg_rng_below(&rng, 40) : 0;
            }
        pol[0] += 100; /* make sure every row has a nonzero target */
        float *gt = trainrows_global_targets_row(tr, row);
        double a = tg_rng_uniform(&rng), b = (1 - a) * tg_rng_uniform(&rng);
        gt[0] = (float)a, gt[1] = (float)b, gt[2] = (float)(1 - a - b);
        gt[3] = (float)(tg_rng_normal(&rng) * 10);
        for (int j = 0; j < 3; j++) {
            double x = tg_rng_uniform(&rng), y = (1 - x) * tg_rng_uniform(&rng);
            gt[4 + 4 * j] = (float)x, gt[5 + 4 * j] = (float)y, gt[6 + 4 * j] = (float)(1 - x - y);
            gt[7 + 4 * j] = (float)(tg_rng_normal(&rng) * 8);
        }
        gt[TRAINROWS_GT_LEAD] = (float)(tg_rng_normal(&rng) * 6);
        gt[TRAINROWS_GT_VARIANCE_TIME] = (float)tg_rng_uniform(&rng) * 3;
        gt[TRAINROWS_GT_ROW_WEIGHT] = 1.0f;
        gt[TRAINROWS_GT_POLICY0_WEIGHT] = 1.0f;
        gt[TRAINROWS_GT_OWNERSHIP_WEIGHT] = 1.0f;
        gt[TRAINROWS_GT_POLICY1_WEIGHT] = 1.0f;
        gt[TRAINROWS_GT_LEAD_WEIGHT] = 1.0f;
        trainrows_set_score_distr(tr, row, gt[3]);
        int8_t *vt = trainrows_value_row(tr, row);
        for (int p = 0; p < hw; p++) {
            int on = (p / L) < bl && (p % L) < bl;
            vt[p] = on ? (int8_t)((int)tg_rng_below(&rng, 3) - 1) : 0;
        }
    }
    free(planes);
}

#endif
