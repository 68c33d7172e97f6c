/* test_ops.c: each CPU net op against a naive reference on random inputs.
 *
 * Convolutions (1x1, 3x3, 5x5, non-square, several board lengths, split into row ranges) are
 * checked against the direct loop form of formats.md §1.4; GEMM (OpenBLAS) against the
 * portable kernel; batch norm + activations against their formulas; pooling with masks (a
 * small board top-left in a bigger tensor) against direct sums. Tolerances scale with |value|. */
#include <stdint.h>

#include "nn/ops_cpu.h"
#include "test.h"
#include "util/rng.h"

static tg_rng_t g_rng;

static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(tg_rng_uniform(&g_rng) * 2.0 - 1.0);
}

/* max |a - b| / (rms(b) + |b|): relative for large entries, scaled by the typical magnitude
 * for entries near zero (where float summation error dominates any relative measure). */
static double max_rel_err(const float *a, const float *b, size_t n) {
    double worst = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)b[i] * b[i];
    double rms = sqrt(ss / (double)(n ? n : 1)) + 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (rms + fabs((double)b[i]));
        if (e > worst) worst = e;
    }
    return worst;
}

/* Direct convolution: out(s, Y, X, o) = sum w[y][x][i][o] in(s, Y+y-ky/2, X+x-kx/2, i). */
static void conv_ref(const tg_conv_t *cv, const float *in, int n, int len, float *out) {
    for (int s = 0; s < n; s++)
        for (int Y = 0; Y < len; Y++)
            for (int X = 0; X < len; X++)
                for (int o = 0; o < cv->oc; o++) {
                    double acc = 0.0;
                    for (int y = 0; y < cv->ky; y++)
                        for (int x = 0; x < cv->kx; x++) {
                            int iy = Y + y - cv->ky / 2, ix = X + x - cv->kx / 2;
                            if (iy < 0 || iy >= len || ix < 0 || ix >= len) continue;
                            for (int i = 0; i < cv->ic; i++)
                                acc += (double)cv->w[((y * cv->kx + x) * cv->ic + i) * cv->oc + o] *
                                       in[(((size_t)s * len + iy) * len + ix) * cv->ic + i];
                        }
                    out[(((size_t)s * len + Y) * len + X) * cv->oc + o] = (float)acc;
                }
}

TEST(conv_vs_direct) {
    static const int shapes[][6] = {
        /* ky kx ic oc len n */
        {3, 3, 16, 24, 19, 2}, {5, 5, 22, 32, 9, 2}, {1, 1, 32, 7, 13, 3}, {3, 3, 8, 8, 1, 2},
        {3, 1, 5, 6, 7, 1},    {1, 3, 4, 9, 5, 2},   {5, 5, 3, 4, 2, 1},   {3, 3, 96, 96, 19, 1},
    };
    for (size_t t = 0; t < TG_ARRAY_LEN(shapes); t++) {
        tg_conv_t cv = {
            .ky = shapes[t][0], .kx = shapes[t][1], .ic = shapes[t][2], .oc = shapes[t][3]};
        int len = shapes[t][4], n = shapes[t][5];
        size_t rows = (size_t)n * len * len;
        float *w = malloc(sizeof(float) * cv.ky * cv.kx * cv.ic * cv.oc);
        float *in = malloc(sizeof(float) * rows * cv.ic);
        float *out = malloc(sizeof(float) * rows * cv.oc);
        float *ref = malloc(sizeof(float) * rows * cv.oc);
        float *scratch = malloc(sizeof(float) * NN_CONV_CHUNK_ROWS * cv.ky * cv.kx * cv.ic);
        fill(w, (size_t)cv.ky * cv.kx * cv.ic * cv.oc);
        fill(in, rows * cv.ic);
        cv.w = w;
        conv_ref(&cv, in, n, len, ref);
        for (int blas = 0; blas <= 1; blas++) {
            nn__sgemm_use_blas(blas);
            /* Three uneven row ranges, as three workers would split them; beta = 0. */
            fill(out, rows * cv.oc);
            size_t a = rows / 3, b = rows - rows / 5;
            nn__conv_rows(&cv, in, len, 0, a, 0.0f, out, scratch);
            nn__conv_rows(&cv, in, len, a, b, 0.0f, out, scratch);
            nn__conv_rows(&cv, in, len, b, rows, 0.0f, out, scratch);
            double e = max_rel_err(out, ref, rows * cv.oc);
            if (e > 1e-4) TEST__FAIL("conv %zu blas %d: rel err %g", t, blas, e);
            /* beta = 1 accumulates: out = ref + ref. */
            nn__conv_rows(&cv, in, len, 0, rows, 1.0f, out, scratch);
            for (size_t i = 0; i < rows * cv.oc; i++)
                ref[i] *= 2.0f;
            e = max_rel_err(out, ref, rows * cv.oc);
            for (size_t i = 0; i < rows * cv.oc; i++)
                ref[i] *= 0.5f;
            if (e > 1e-4) TEST__FAIL("conv %zu blas %d beta=1: rel err %g", t, blas, e);
        }
        nn__sgemm_use_blas(1);
        free(w);
        free(in);
        free(out);
        free(ref);
        free(scratch);
    }
}

/* Winograd F(4x4,3x3) against the direct form, 3x3 and larger kernels (as 3x3 sub-kernels):
 * channel counts on and off the 16-lane grid
 * (and above the kernel's 96-column block), board lengths that are and are not multiples of
 * the tile size (more tiles than one chunk at 19x19, n = 3), a small board masked inside a
 * bigger tensor, tile ranges split unevenly as three workers would, beta = 1 accumulation,
 * and no write outside the requested tiles. */
TEST(winograd_vs_direct) {
    static const int shapes[][7] = {
        /* ky kx ic oc len n board */
        {3, 3, 96, 96, 19, 3, 19},
        {3, 3, 96, 96, 19, 1, 9},
        {3, 3, 64, 96, 13, 2, 13},
        {3, 3, 96, 64, 9, 2, 7},
        {3, 3, 5, 7, 9, 1, 9},
        {3, 3, 33, 112, 7, 2, 5},
        {3, 3, 16, 200, 5, 1, 5},
        {3, 3, 8, 8, 1, 2, 1},
        {3, 3, 24, 16, 2, 1, 2},
        {3, 3, 96, 96, 4, 2, 3},
        {3, 3, 17, 40, 11, 2, 11},
        /* larger kernels as 3x3 sub-kernels: KataGo's 5x5 input layer, and others */
        {5, 5, 22, 96, 19, 2, 19},
        {5, 5, 22, 96, 19, 1, 9},
        {5, 5, 22, 96, 9, 2, 7},
        {5, 5, 3, 4, 2, 1, 2},
        {5, 3, 6, 20, 7, 1, 7},
        {7, 7, 4, 16, 9, 1, 9},
        {1, 3, 8, 16, 6, 1, 6},
    };
    for (size_t t = 0; t < TG_ARRAY_LEN(shapes); t++) {
        tg_conv_t cv = {
            .ky = shapes[t][0], .kx = shapes[t][1], .ic = shapes[t][2], .oc = shapes[t][3]};
        int len = shapes[t][4], n = shapes[t][5], board = shapes[t][6];
        const size_t nw = (size_t)cv.ky * cv.kx * cv.ic * cv.oc;
        size_t rows = (size_t)n * len * len;
        float *w = malloc(sizeof(float) * nw);
        float *in = malloc(sizeof(float) * rows * cv.ic);
        float *out = malloc(sizeof(float) * rows * cv.oc);
        float *ref = malloc(sizeof(float) * rows * cv.oc);
        /* Weights at a trained net's scale (~1/sqrt(fan-in)); inputs 0 off the board. */
        fill(w, nw);
        for (size_t i = 0; i < nw; i++)
            w[i] *= 1.0f / sqrtf((float)(cv.ky * cv.kx * cv.ic));
        fill(in, rows * cv.ic);
        for (size_t r = 0; r < rows; r++) {
            int pos = (int)(r % ((size_t)len * len)), y = pos / len, x = pos % len;
            if (y >= board || x >= board) memset(in + r * cv.ic, 0, sizeof(float) * cv.ic);
        }
        cv.w = w;
        conv_ref(&cv, in, n, len, ref);
        nn_wino_t wt;
        ASSERT_EQ(nn__wino_pack(&wt, &cv, NULL), 0);
        float *scratch = malloc(sizeof(float) * nn__wino_scratch_floats(&wt));
        size_t tiles = nn__wino_num_tiles(n, len);
        ASSERT_EQ(tiles, (size_t)n * ((len + 3) / 4) * ((len + 3) / 4));
        /* Only the first third of the tiles: every other point keeps its sentinel. */
        for (size_t i = 0; i < rows * cv.oc; i++)
            out[i] = 12345.0f;
        size_t a = tiles / 3, b = tiles - tiles / 5;
        nn__wino_conv_tiles(&wt, in, len, 0, a, 0.0f, out, NULL, NULL, scratch);
        int nt = (len + 3) / 4;
        for (size_t r = 0; r < rows; r++) {
            size_t s = r / ((size_t)len * len);
            int pos = (int)(r % ((size_t)len * len)), y = pos / len, x = pos % len;
            size_t tile = (s * nt + (size_t)(y / 4)) * nt + (size_t)(x / 4);
            if (tile < a) continue;
            for (int o = 0; o < cv.oc; o++)
                if (out[r * cv.oc + o] != 12345.0f)
                    TEST__FAIL("winograd %zu: row %zu outside tiles [0, %zu) written", t, r, a);
        }
        nn__wino_conv_tiles(&wt, in, len, a, b, 0.0f, out, NULL, NULL, scratch);
        nn__wino_conv_tiles(&wt, in, len, b, tiles, 0.0f, out, NULL, NULL, scratch);
        double e = max_rel_err(out, ref, rows * cv.oc);
        printf("  winograd %zu: %dx%d ic %d oc %d len %d: max rel err %.2g\n", t, cv.ky, cv.kx,
               cv.ic, cv.oc, len, e);
        if (e > 1e-4) TEST__FAIL("winograd %zu: rel err %g", t, e);
        /* Fused epilogue, y not stored: eout = relu(y * scale + bias) * mask, as bn_act_rows. */
        float *sc = malloc(sizeof(float) * cv.oc), *bi = malloc(sizeof(float) * cv.oc);
        float *mask = malloc(sizeof(float) * rows);
        float *eout = malloc(sizeof(float) * rows * cv.oc);
        float *eref = malloc(sizeof(float) * rows * cv.oc);
        fill(sc, (size_t)cv.oc);
        fill(bi, (size_t)cv.oc);
        for (size_t r = 0; r < rows; r++) {
            int pos = (int)(r % ((size_t)len * len)), y = pos / len, x = pos % len;
            mask[r] = (y < board && x < board) ? 1.0f : 0.0f;
        }
        tg_bn_t bn = {.c = cv.oc, .merged_scale = sc, .merged_bias = bi};
        nn_wino_epi_t epi = {.bn = &bn, .act = TG_ACT_RELU, .mask = mask, .out = eout};
        nn__wino_conv_tiles(&wt, in, len, 0, b, 0.0f, NULL, NULL, &epi, scratch);
        nn__wino_conv_tiles(&wt, in, len, b, tiles, 0.0f, NULL, NULL, &epi, scratch);
        nn__bn_act_rows(&bn, TG_ACT_RELU, ref, eref, mask, 0, rows);
        e = max_rel_err(eout, eref, rows * cv.oc);
        if (e > 1e-4) TEST__FAIL("winograd %zu epilogue: rel err %g", t, e);
        free(sc);
        free(bi);
        free(mask);
        free(eout);
        free(eref);
        /* beta = 1 accumulates: out = ref + ref. */
        nn__wino_conv_tiles(&wt, in, len, 0, tiles, 1.0f, out, NULL, NULL, scratch);
        for (size_t i = 0; i < rows * cv.oc; i++)
            ref[i] *= 2.0f;
        e = max_rel_err(out, ref, rows * cv.oc);
        if (e > 1e-4) TEST__FAIL("winograd %zu beta=1: rel err %g", t, e);
        nn__wino_free(&wt);
        free(w);
        free(in);
        free(out);
        free(ref);
        free(scratch);
    }
    tg_conv_t even = {.ky = 4, .kx = 3, .ic = 4, .oc = 4},
              big = {.ky = 11, .kx = 11, .ic = 4, .oc = 4};
    nn_wino_t wt;
    ASSERT_EQ(nn__wino_pack(&wt, &even, NULL), TG_EINVAL);
    ASSERT_EQ(nn__wino_pack(&wt, &big, NULL), TG_EINVAL);
}

/* Two 3x3 layers on the same input packed as one Winograd layer (a gpool block's regularConv
 * and gpoolConv) give each layer's own output, in two tensors, with beta = 0 and 1. */
TEST(winograd_fused_pair) {
    static const int shapes[][5] = {
        /* ic oc1 oc2 len n */
        {96, 64, 32, 19, 2},
        {32, 40, 8, 9, 1},
        {16, 16, 100, 7, 2},
    };
    for (size_t t = 0; t < TG_ARRAY_LEN(shapes); t++) {
        int ic = shapes[t][0], len = shapes[t][3], n = shapes[t][4];
        tg_conv_t cv[2] = {{.ky = 3, .kx = 3, .ic = ic, .oc = shapes[t][1]},
                           {.ky = 3, .kx = 3, .ic = ic, .oc = shapes[t][2]}};
        size_t rows = (size_t)n * len * len;
        float *in = malloc(sizeof(float) * rows * ic);
        float *w[2], *out[2], *ref[2];
        fill(in, rows * ic);
        for (int k = 0; k < 2; k++) {
            w[k] = malloc(sizeof(float) * 9 * ic * cv[k].oc);
            out[k] = malloc(sizeof(float) * rows * cv[k].oc);
            ref[k] = malloc(sizeof(float) * rows * cv[k].oc);
            fill(w[k], (size_t)9 * ic * cv[k].oc);
            cv[k].w = w[k];
            conv_ref(&cv[k], in, n, len, ref[k]);
        }
        nn_wino_t wt;
        ASSERT_EQ(nn__wino_pack(&wt, &cv[0], &cv[1]), 0);
        float *scratch = malloc(sizeof(float) * nn__wino_scratch_floats(&wt));
        ASSERT_EQ(wt.oc1, cv[0].oc);
        ASSERT_EQ(wt.oc, cv[0].oc + cv[1].oc);
        size_t tiles = nn__wino_num_tiles(n, len);
        for (int beta = 0; beta <= 1; beta++) {
            nn__wino_conv_tiles(&wt, in, len, 0, tiles / 2, (float)beta, out[0], out[1], NULL,
                                scratch);
            nn__wino_conv_tiles(&wt, in, len, tiles / 2, tiles, (float)beta, out[0], out[1], NULL,
                                scratch);
            for (int k = 0; k < 2; k++) {
                double e = max_rel_err(out[k], ref[k], rows * cv[k].oc);
                if (e > 1e-4) TEST__FAIL("fused %zu layer %d beta %d: rel err %g", t, k, beta, e);
                for (size_t i = 0; i < rows * cv[k].oc; i++)
                    ref[k][i] *= 2.0f; /* beta = 1 next: out = ref + ref */
            }
        }
        nn__wino_free(&wt);
        for (int k = 0; k < 2; k++) {
            free(w[k]);
            free(out[k]);
            free(ref[k]);
        }
        free(in);
        free(scratch);
    }
    tg_conv_t a = {.ky = 3, .kx = 3, .ic = 8, .oc = 4}, b = {.ky = 3, .kx = 3, .ic = 9, .oc = 4};
    tg_conv_t c = {.ky = 5, .kx = 5, .ic = 8, .oc = 4};
    nn_wino_t wt;
    ASSERT_EQ(nn__wino_pack(&wt, &a, &b), TG_EINVAL);
    ASSERT_EQ(nn__wino_pack(&wt, &a, &c), TG_EINVAL);
}

TEST(gemm_blas_vs_portable) {
    static const int shapes[][3] = {{1, 1, 1}, {17, 33, 65}, {361, 96, 864}, {5, 300, 7}};
    for (size_t t = 0; t < TG_ARRAY_LEN(shapes); t++) {
        int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2];
        float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
        float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
        fill(A, (size_t)M * K);
        fill(B, (size_t)K * N);
        fill(C1, (size_t)M * N);
        memcpy(C2, C1, sizeof(float) * M * N);
        nn__sgemm_use_blas(1);
        nn__sgemm(M, N, K, A, K, B, N, 0.5f, C1, N);
        nn__sgemm_use_blas(0);
        nn__sgemm(M, N, K, A, K, B, N, 0.5f, C2, N);
        nn__sgemm_use_blas(1);
        double e = max_rel_err(C1, C2, (size_t)M * N);
        free(A);
        free(B);
        free(C1);
        free(C2);
        if (e > 1e-4) TEST__FAIL("gemm %zu: rel err %g", t, e);
    }
}

static double act_ref(tg_act_kind_t k, double x) {
    switch (k) {
    case TG_ACT_IDENTITY:
        return x;
    case TG_ACT_RELU:
        return x > 0 ? x : 0;
    case TG_ACT_MISH:
        return x * tanh(log1p(exp(x)));
    case TG_ACT_SILU:
        return x / (1 + exp(-x));
    }
    return 0;
}

TEST(bn_act_mask) {
    const int c = 37, n = 2, len = 7, hw = len * len;
    float mean[37], var[37], scale[37], bias[37], ms[37], mb[37];
    fill(mean, c);
    fill(scale, c);
    fill(bias, c);
    for (int i = 0; i < c; i++)
        var[i] = 0.5f + (float)tg_rng_uniform(&g_rng);
    for (int i = 0; i < c; i++) {
        ms[i] = scale[i] / sqrtf(var[i] + 1e-5f);
        mb[i] = bias[i] - ms[i] * mean[i];
    }
    tg_bn_t bn = {.c = c,
                  .epsilon = 1e-5f,
                  .mean = mean,
                  .var = var,
                  .scale = scale,
                  .bias = bias,
                  .merged_scale = ms,
                  .merged_bias = mb};
    float in[2 * 49 * 37], out[2 * 49 * 37], mask[2 * 49];
    for (int r = 0; r < n * hw; r++)
        mask[r] = ((r % hw) % len < 5 && (r % hw) / len < 5) ? 1.f : 0.f;
    for (int k = 0; k < 4; k++) {
        fill(in, sizeof in / sizeof in[0]);
        for (size_t i = 0; i < TG_ARRAY_LEN(in); i++)
            in[i] *= 4.0f; /* exercise large |x| */
        nn__bn_act_rows(&bn, (tg_act_kind_t)k, in, out, mask, 0, 30);
        nn__bn_act_rows(&bn, (tg_act_kind_t)k, in, out, mask, 30, (size_t)n * hw);
        for (int r = 0; r < n * hw; r++)
            for (int i = 0; i < c; i++) {
                double x =
                    ((double)in[r * c + i] - mean[i]) * scale[i] / sqrt(var[i] + 1e-5) + bias[i];
                double want = act_ref((tg_act_kind_t)k, x) * mask[r];
                ASSERT_NEAR(out[r * c + i], want, 1e-5 * (1 + fabs(want)));
            }
        /* vector form */
        float v[64], v2[64];
        fill(v, 64);
        for (int i = 0; i < 64; i++)
            v[i] *= 30.0f;
        memcpy(v2, v, sizeof v);
        nn__act_vec((tg_act_kind_t)k, v2, 64);
        for (int i = 0; i < 64; i++)
            ASSERT_NEAR(v2[i], act_ref((tg_act_kind_t)k, v[i]), 1e-5 * (1 + fabs(v[i])));
    }
}

TEST(pool_with_mask) {
    /* A 5x5 board in a 9x9 tensor, activations masked (>= -1 like KataGo's). */
    const int len = 9, hw = 81, c = 11, b = 5;
    float in[81 * 11], mask[81], out[33], vout[33];
    fill(in, TG_ARRAY_LEN(in));
    for (int p = 0; p < hw; p++) {
        mask[p] = (p % len < b && p / len < b) ? 1.0f : 0.0f;
        for (int i = 0; i < c; i++)
            in[p * c + i] *= mask[p];
    }
    /* Make channel 0 all negative on board: max must still come from on-board points. */
    for (int p = 0; p < hw; p++)
        in[p * c] = mask[p] ? -0.5f - 0.01f * (float)p : 0.0f;
    nn__gpool_sample(in, mask, hw, c, 25.0f, out);
    nn__vpool_sample(in, hw, c, 25.0f, vout);
    for (int i = 0; i < c; i++) {
        double sum = 0, mx = -1e30;
        for (int p = 0; p < hw; p++) {
            if (!mask[p]) continue;
            sum += in[p * c + i];
            if (in[p * c + i] > mx) mx = in[p * c + i];
        }
        double mean = sum / 25.0;
        ASSERT_NEAR(out[i], mean, 1e-6);
        ASSERT_NEAR(out[c + i], mean * (5.0 - 14.0) / 10.0, 1e-6);
        ASSERT_NEAR(out[2 * c + i], mx, 1e-6);
        ASSERT_NEAR(vout[i], mean, 1e-6);
        ASSERT_NEAR(vout[c + i], mean * (5.0 - 14.0) / 10.0, 1e-6);
        ASSERT_NEAR(vout[2 * c + i], mean * ((5.0 - 14.0) * (5.0 - 14.0) / 100.0 - 0.1), 1e-6);
    }
    ASSERT_NEAR(out[2 * c], -0.5, 1e-6); /* the max of channel 0 is its on-board max */
}

TEST(matmul_vec) {
    float w[5 * 3], bb[3], in[5], out[3];
    fill(w, 15);
    fill(bb, 3);
    fill(in, 5);
    tg_matmul_t mm = {.ic = 5, .oc = 3, .w = w};
    tg_matbias_t b = {.c = 3, .b = bb};
    nn__matmul_vec(&mm, &b, in, out);
    for (int o = 0; o < 3; o++) {
        double acc = bb[o];
        for (int i = 0; i < 5; i++)
            acc += (double)in[i] * w[i * 3 + o];
        ASSERT_NEAR(out[o], acc, 1e-6);
    }
}

int main(void) {
    tg_rng_seed(&g_rng, 42, 0);
    RUN(conv_vs_direct);
    RUN(winograd_vs_direct);
    RUN(winograd_fused_pair);
    RUN(gemm_blas_vs_portable);
    RUN(bn_act_mask);
    RUN(pool_with_mask);
    RUN(matmul_vec);
    TEST_MAIN_END();
}
