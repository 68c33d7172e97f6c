/* ops_train.c: forward and backward kernels of the training net (CPU reference).
 *
 * Convolutions come in two forms. The reference: im2col + GEMM in chunks of TRAIN_CONV_CHUNK
 * rows; the backward recomputes the im2col chunk (cheaper than storing it) for the weight
 * gradient and scatters the column gradient back (col2im) for the input gradient. The fast one
 * (k > 1): Winograd F(4x4, 3x3) from nn/winograd_cpu.c for all three passes, the weights packed
 * at every call (the forward's U; the input gradient as the forward convolution of dY with the
 * rotated, channel-swapped kernel; the weight gradient as dU = sum V^T dM, then G^T dU G),
 * ~3.5x fewer multiplies at 19x19 and no im2col copies; float error ~1e-6 relative. Norms are
 * KataGo's fixup norms (x * (1 + gamma) + beta, or bias only) fused with ReLU and the board mask.
 * The ReLU derivative is read from the saved output (out > 0), which is exact for relu(.) * mask
 * with a 0/1 mask. Pools follow KataGo's KataGPool / KataValueHeadGPool. */
#include <math.h>
#include <string.h>

#include "nn/ops_cpu.h"
#include "train/train_internal.h"

#ifdef TENGEN_HAVE_OPENBLAS
#include <cblas.h>
#endif

void train__gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef TENGEN_HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#else
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
        for (int k = 0; k < K; k++) {
            float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
            if (a == 0.0f) continue;
            if (!tb) {
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++)
                    c[j] += a * b[j];
            } else {
                for (int j = 0; j < N; j++)
                    c[j] += a * B[(size_t)j * ldb + k];
            }
        }
    }
#endif
}

void train__conv_fwd(const float *w, int k, int ic, int oc, const float *in, int n, int len,
                     float *out, float *scratch) {
    const size_t rows = (size_t)n * len * len;
    if (k == 1) {
        train__gemm(0, 0, (int)rows, oc, ic, in, ic, w, oc, 0.0f, out, oc);
        return;
    }
    const int K = k * k * ic;
    for (size_t r0 = 0; r0 < rows; r0 += TRAIN_CONV_CHUNK) {
        size_t r1 = r0 + TRAIN_CONV_CHUNK < rows ? r0 + TRAIN_CONV_CHUNK : rows;
        nn__im2col(in, len, ic, k, k, r0, r1, scratch);
        train__gemm(0, 0, (int)(r1 - r0), oc, K, scratch, K, w, oc, 0.0f, out + r0 * oc, oc);
    }
}

/* din rows of the chunk's receptive fields += dcols (r1 - r0, k*k*ic), the inverse of im2col. */
static void col2im_add(const float *dcols, int len, int ic, int k, size_t r0, size_t r1,
                       float *din) {
    const int hw = len * len, pad = k / 2;
    for (size_t r = r0; r < r1; r++) {
        const size_t s = r / hw;
        const int pos = (int)(r % hw), y = pos / len, x = pos % len;
        const float *dc = dcols + (r - r0) * (size_t)k * k * ic;
        for (int dy = 0; dy < k; dy++) {
            int yy = y + dy - pad;
            if (yy < 0 || yy >= len) continue;
            for (int dx = 0; dx < k; dx++) {
                int xx = x + dx - pad;
                if (xx < 0 || xx >= len) continue;
                float *d = din + (s * hw + (size_t)yy * len + xx) * ic;
                const float *src = dc + (size_t)(dy * k + dx) * ic;
                for (int c = 0; c < ic; c++)
                    d[c] += src[c];
            }
        }
    }
}

void train__conv_bwd(const float *w, int k, int ic, int oc, const float *in, int n, int len,
                     const float *dout, float *dw, float *din, int din_accumulate, float *scratch) {
    const size_t rows = (size_t)n * len * len;
    if (k == 1) {
        train__gemm(1, 0, ic, oc, (int)rows, in, ic, dout, oc, 1.0f, dw, oc);
        if (din)
            train__gemm(0, 1, (int)rows, ic, oc, dout, oc, w, oc, din_accumulate ? 1.0f : 0.0f, din,
                        ic);
        return;
    }
    const int K = k * k * ic;
    float *cols = scratch, *dcols = scratch + (size_t)TRAIN_CONV_CHUNK * K;
    if (din && !din_accumulate) memset(din, 0, rows * ic * sizeof(float));
    for (size_t r0 = 0; r0 < rows; r0 += TRAIN_CONV_CHUNK) {
        size_t r1 = r0 + TRAIN_CONV_CHUNK < rows ? r0 + TRAIN_CONV_CHUNK : rows;
        const int cr = (int)(r1 - r0);
        nn__im2col(in, len, ic, k, k, r0, r1, cols);
        train__gemm(1, 0, K, oc, cr, cols, K, dout + r0 * oc, oc, 1.0f, dw, oc);
        if (din) {
            train__gemm(0, 1, cr, K, oc, dout + r0 * oc, oc, w, oc, 0.0f, dcols, K);
            col2im_add(dcols, len, ic, k, r0, r1, din);
        }
    }
}

/* ---- Winograd F(4x4, 3x3) convolutions (nn/winograd_cpu.c) ------------------------------ */

void train__wino_need(int k, int ic, int oc, size_t *u_floats, size_t *scratch_floats) {
    nn_wino_t sh;
    for (int dir = 0; dir < 2; dir++) { /* forward / weight-gradient shape, then input-gradient */
        if (nn__wino_shape(&sh, k, k, dir ? oc : ic, dir ? ic : oc) != 0) return;
        size_t u = nn__wino_u_floats(&sh), sc = nn__wino_scratch_floats(&sh);
        if (u > *u_floats) *u_floats = u;
        if (sc > *scratch_floats) *scratch_floats = sc;
    }
}

void train__conv_fwd_wino(const train_wino_t *ws, const float *w, int k, int ic, int oc,
                          const float *in, int n, int len, float *out) {
    nn_wino_t wt;
    int rc = nn__wino_shape(&wt, k, k, ic, oc);
    TG_ASSERT(rc == 0 && nn__wino_u_floats(&wt) <= ws->u_floats);
    nn__wino_pack_w(&wt, ws->u, w, 0);
    nn__wino_conv_tiles(&wt, in, len, 0, nn__wino_num_tiles(n, len), 0.0f, out, NULL, NULL,
                        ws->scratch);
}

void train__conv_bwd_wino(const train_wino_t *ws, const float *w, int k, int ic, int oc,
                          const float *in, int n, int len, const float *dout, float *dw, float *din,
                          int din_accumulate) {
    const size_t tiles = nn__wino_num_tiles(n, len);
    nn_wino_t wt;
    int rc = nn__wino_shape(&wt, k, k, ic, oc);
    TG_ASSERT(rc == 0 && nn__wino_u_floats(&wt) <= ws->u_floats);
    memset(ws->du, 0, sizeof(float) * nn__wino_u_floats(&wt));
    nn__wino_wgrad_tiles(&wt, in, dout, len, 0, tiles, ws->du, ws->scratch);
    nn__wino_wgrad_finish(&wt, ws->du, dw);
    if (din) {
        rc = nn__wino_shape(&wt, k, k, oc, ic);
        TG_ASSERT(rc == 0 && nn__wino_u_floats(&wt) <= ws->u_floats);
        nn__wino_pack_w(&wt, ws->u, w, 1);
        nn__wino_conv_tiles(&wt, dout, len, 0, tiles, din_accumulate ? 1.0f : 0.0f, din, NULL, NULL,
                            ws->scratch);
    }
}

void train__normact_fwd(const float *in, size_t rows, int c, const float *gamma, const float *beta,
                        const float *mask, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * c;
        float *y = out + r * c;
        if (mask[r] == 0.0f) {
            memset(y, 0, (size_t)c * sizeof(float));
            continue;
        }
        if (gamma) {
            for (int i = 0; i < c; i++) {
                float v = x[i] * (1.0f + gamma[i]) + beta[i];
                y[i] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (int i = 0; i < c; i++) {
                float v = x[i] + beta[i];
                y[i] = v > 0.0f ? v : 0.0f;
            }
        }
    }
}

void train__normact_bwd(const float *in, const float *out, const float *dout, size_t rows, int c,
                        const float *gamma, float *dgamma, float *dbeta, float *din,
                        int din_accumulate) {
    /* Four specialised loops (gamma or not, accumulate or not) so that each vectorises: din may
     * alias dout (same index read before written, safe for vectors: ivdep), and the dbeta /
     * dgamma accumulators are distinct arrays. */
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * c, *y = out + r * c, *dy = dout + r * c;
        float *dx = din + r * c;
        if (gamma && din_accumulate) {
#pragma GCC ivdep
            for (int i = 0; i < c; i++) {
                float d = y[i] > 0.0f ? dy[i] : 0.0f;
                dbeta[i] += d;
                dgamma[i] += d * x[i];
                dx[i] += d * (1.0f + gamma[i]);
            }
        } else if (gamma) {
#pragma GCC ivdep
            for (int i = 0; i < c; i++) {
                float d = y[i] > 0.0f ? dy[i] : 0.0f;
                dbeta[i] += d;
                dgamma[i] += d * x[i];
                dx[i] = d * (1.0f + gamma[i]);
            }
        } else if (din_accumulate) {
#pragma GCC ivdep
            for (int i = 0; i < c; i++) {
                float d = y[i] > 0.0f ? dy[i] : 0.0f;
                dbeta[i] += d;
                dx[i] += d;
            }
        } else {
#pragma GCC ivdep
            for (int i = 0; i < c; i++) {
                float d = y[i] > 0.0f ? dy[i] : 0.0f;
                dbeta[i] += d;
                dx[i] = d;
            }
        }
    }
}

void train__gpool_fwd(const float *in, const float *mask, int hw, int c, float mask_sum, float *out,
                      int *argmax) {
    const float scale = (sqrtf(mask_sum) - 14.0f) * 0.1f;
    for (int i = 0; i < c; i++) {
        out[i] = 0.0f;
        out[2 * c + i] = -1e30f;
        argmax[i] = 0;
    }
    for (int p = 0; p < hw; p++) {
        if (mask[p] == 0.0f) continue;
        const float *x = in + (size_t)p * c;
        for (int i = 0; i < c; i++) {
            out[i] += x[i];
            if (x[i] > out[2 * c + i]) out[2 * c + i] = x[i], argmax[i] = p;
        }
    }
    for (int i = 0; i < c; i++) {
        out[i] /= mask_sum;
        out[c + i] = out[i] * scale;
    }
}

void train__gpool_bwd(const float *dout, const float *mask, const int *argmax, int hw, int c,
                      float mask_sum, float *din) {
    const float scale = (sqrtf(mask_sum) - 14.0f) * 0.1f;
    for (int p = 0; p < hw; p++) {
        if (mask[p] == 0.0f) continue;
        float *d = din + (size_t)p * c;
        for (int i = 0; i < c; i++)
            d[i] += (dout[i] + dout[c + i] * scale) / mask_sum;
    }
    for (int i = 0; i < c; i++)
        din[(size_t)argmax[i] * c + i] += dout[2 * c + i];
}

void train__vpool_fwd(const float *in, int hw, int c, float mask_sum, float *out) {
    const float s = sqrtf(mask_sum) - 14.0f;
    const float s1 = s * 0.1f, s2 = s * s * 0.01f - 0.1f;
    for (int i = 0; i < c; i++)
        out[i] = 0.0f;
    for (int p = 0; p < hw; p++) {
        const float *x = in + (size_t)p * c;
        for (int i = 0; i < c; i++)
            out[i] += x[i];
    }
    for (int i = 0; i < c; i++) {
        out[i] /= mask_sum;
        out[c + i] = out[i] * s1;
        out[2 * c + i] = out[i] * s2;
    }
}

void train__vpool_bwd(const float *dout, const float *mask, int hw, int c, float mask_sum,
                      float *din) {
    const float s = sqrtf(mask_sum) - 14.0f;
    const float s1 = s * 0.1f, s2 = s * s * 0.01f - 0.1f;
    for (int p = 0; p < hw; p++) {
        if (mask[p] == 0.0f) continue;
        float *d = din + (size_t)p * c;
        for (int i = 0; i < c; i++)
            d[i] += (dout[i] + dout[c + i] * s1 + dout[2 * c + i] * s2) / mask_sum;
    }
}

float train__score_offset(int i, int score_len) {
    const int mid = score_len / 2;
    return 0.05f * ((float)(i - mid) + 0.5f);
}

float train__score_parity(int i, int score_len) {
    const int mid = score_len / 2;
    int d = (i - mid) % 2;
    if (d < 0) d += 2;
    return 0.5f - (float)d;
}
