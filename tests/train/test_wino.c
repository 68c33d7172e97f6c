/* test_wino.c: the trainer's Winograd convolutions (forward, input gradient, weight gradient)
 * against the im2col reference path (train__conv_fwd / train__conv_bwd, itself checked against a
 * naive double convolution and finite differences in test_grad.c) on random inputs.
 *
 * Shapes cover 3x3 and 5x5 kernels, channel counts below, at and above the 16-wide vector
 * blocks and not multiples of them, board sides that are and are not multiples of the 4x4 tile
 * (5, 6, 9, 13, 19), several samples, a masked small board inside a bigger tensor, beta
 * accumulation of the input gradient, and a weight gradient added onto existing values. The
 * bound is relative to each output's scale (3e-5; Winograd F(4x4, 3x3) in float: 1e-6 to 8e-6
 * seen). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "nn/ops_cpu.h"
#include "train/train_internal.h"
#include "util/rng.h"

/* max |a - b| / max |b| over n floats (0 when b is all zero and a equals it). */
static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? d / s : d;
}

static float *rand_vec(tg_rng_t *rng, size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)tg_rng_normal(rng) * scale;
    return v;
}

/* Compares all three passes for one shape; board = side of an on-board square at the
 * tensor's corner (inputs and dout zeroed off it, like masked activations), or len. */
static int check_shape(int k, int ic, int oc, int n, int len, int board) {
    tg_rng_t rng;
    tg_rng_seed(&rng, 11, (uint64_t)(k * 1000003 + ic * 1009 + oc * 31 + len));
    const size_t hw = (size_t)len * len, rows = (size_t)n * hw, K = (size_t)k * k * ic;
    float *w = rand_vec(&rng, K * oc, 1.0f / sqrtf((float)K));
    float *in = rand_vec(&rng, rows * ic, 1.0f), *dout = rand_vec(&rng, rows * oc, 1.0f);
    for (size_t r = 0; r < rows; r++) {
        int pos = (int)(r % hw), y = pos / len, x = pos % len;
        if (y >= board || x >= board) {
            memset(in + r * ic, 0, sizeof(float) * ic);
            memset(dout + r * oc, 0, sizeof(float) * oc);
        }
    }
    size_t uf = 0, sf = 0;
    train__wino_need(k, ic, oc, &uf, &sf);
    train_wino_t ws = {.u = malloc(sizeof(float) * uf),
                       .du = malloc(sizeof(float) * uf),
                       .u_floats = uf,
                       .scratch = malloc(sizeof(float) * sf)};
    float *scratch = malloc(sizeof(float) * 2 * TRAIN_CONV_CHUNK * K);
    float *o_ref = malloc(sizeof(float) * rows * oc), *o_w = malloc(sizeof(float) * rows * oc);
    float *dw_ref = rand_vec(&rng, K * oc, 0.5f), *dw_w = malloc(sizeof(float) * K * oc);
    memcpy(dw_w, dw_ref, sizeof(float) * K * oc);
    float *di_ref = rand_vec(&rng, rows * ic, 1.0f), *di_w = malloc(sizeof(float) * rows * ic);
    memcpy(di_w, di_ref, sizeof(float) * rows * ic);

    train__conv_fwd(w, k, ic, oc, in, n, len, o_ref, scratch);
    train__conv_fwd_wino(&ws, w, k, ic, oc, in, n, len, o_w);
    double e_fwd = rel_err(o_w, o_ref, rows * oc);
    /* Accumulating form: dw += grad, din += grad. */
    train__conv_bwd(w, k, ic, oc, in, n, len, dout, dw_ref, di_ref, 1, scratch);
    train__conv_bwd_wino(&ws, w, k, ic, oc, in, n, len, dout, dw_w, di_w, 1);
    double e_dw = rel_err(dw_w, dw_ref, K * oc), e_di = rel_err(di_w, di_ref, rows * ic);
    /* Overwriting form of the input gradient (stale values in din must vanish). */
    train__conv_bwd(w, k, ic, oc, in, n, len, dout, dw_ref, di_ref, 0, scratch);
    train__conv_bwd_wino(&ws, w, k, ic, oc, in, n, len, dout, dw_w, di_w, 0);
    double e_di0 = rel_err(di_w, di_ref, rows * ic);
    printf("  k=%d ic=%d oc=%d n=%d len=%d board=%d: fwd %.2e dW %.2e dX %.2e dX(beta0) %.2e\n", k,
           ic, oc, n, len, board, e_fwd, e_dw, e_di, e_di0);
    int ok = e_fwd < 3e-5 && e_dw < 3e-5 && e_di < 3e-5 && e_di0 < 3e-5;
    free(w), free(in), free(dout), free(ws.u), free(ws.du), free(ws.scratch), free(scratch);
    free(o_ref), free(o_w), free(dw_ref), free(dw_w), free(di_ref), free(di_w);
    return ok;
}

TEST(small_shapes) {
    ASSERT_TRUE(check_shape(3, 3, 4, 2, 6, 6));
    ASSERT_TRUE(check_shape(3, 8, 8, 3, 5, 5));
    ASSERT_TRUE(check_shape(3, 16, 16, 2, 9, 9));
    ASSERT_TRUE(check_shape(3, 20, 37, 2, 13, 13));
}

TEST(trunk_shapes) {
    ASSERT_TRUE(check_shape(3, 96, 96, 2, 19, 19));
    ASSERT_TRUE(check_shape(3, 96, 32, 2, 19, 19));
    ASSERT_TRUE(check_shape(3, 32, 96, 1, 19, 19));
    ASSERT_TRUE(check_shape(3, 96, 96, 2, 19, 9)); /* 9x9 board in a 19x19 tensor */
}

TEST(input_layer_5x5) {
    ASSERT_TRUE(check_shape(5, 22, 96, 2, 19, 19));
    ASSERT_TRUE(check_shape(5, 22, 16, 2, 9, 7));
}

/* The packed weights and the dU accumulator depend on nothing but the call: repeated calls give
 * identical results (no state carried between layers through the shared buffers). */
TEST(repeatable) {
    tg_rng_t rng;
    tg_rng_seed(&rng, 5, 5);
    const int k = 3, ic = 16, oc = 48, n = 2, len = 7;
    const size_t rows = (size_t)n * len * len, K = (size_t)k * k * ic;
    float *w = rand_vec(&rng, K * oc, 0.3f), *w2 = rand_vec(&rng, K * oc, 0.3f);
    float *in = rand_vec(&rng, rows * ic, 1.0f), *dout = rand_vec(&rng, rows * oc, 1.0f);
    size_t uf = 0, sf = 0;
    train__wino_need(k, ic, oc, &uf, &sf);
    train__wino_need(k, oc, ic, &uf, &sf);
    train_wino_t ws = {.u = malloc(sizeof(float) * uf),
                       .du = malloc(sizeof(float) * uf),
                       .u_floats = uf,
                       .scratch = malloc(sizeof(float) * sf)};
    float *dw1 = calloc(K * oc, sizeof(float)), *dw2 = calloc(K * oc, sizeof(float));
    float *di1 = malloc(sizeof(float) * rows * ic), *di2 = malloc(sizeof(float) * rows * ic);
    float *junk = malloc(sizeof(float) * rows * ic * 3);
    train__conv_bwd_wino(&ws, w, k, ic, oc, in, n, len, dout, dw1, di1, 0);
    float *dwj = calloc(K * oc, sizeof(float));
    train__conv_bwd_wino(&ws, w2, k, oc, ic, dout, n, len, in, dwj, junk, 0); /* other layer */
    train__conv_bwd_wino(&ws, w, k, ic, oc, in, n, len, dout, dw2, di2, 0);
    ASSERT_TRUE(memcmp(dw1, dw2, sizeof(float) * K * oc) == 0);
    ASSERT_TRUE(memcmp(di1, di2, sizeof(float) * rows * ic) == 0);
    free(w), free(w2), free(in), free(dout), free(ws.u), free(ws.du), free(ws.scratch);
    free(dw1), free(dw2), free(di1), free(di2), free(junk), free(dwj);
}

int main(void) {
    RUN(small_shapes);
    RUN(trunk_shapes);
    RUN(input_layer_5x5);
    RUN(repeatable);
    TEST_MAIN_END();
}
