/* conv_cpu.c: 2-D convolution on NHWC row tensors, by im2col + GEMM.
 *
 * A convolution of rows [r0, r1) gathers each output pixel's ky*kx*ic input window (zero
 * outside the L x L tensor) into one row of a scratch matrix, in the (y, x, ic) order of the
 * file's weights, so the weight tensor (ky*kx*ic, oc) multiplies it directly: no weight
 * repacking. Rows are processed NN_CONV_CHUNK_ROWS at a time so the scratch stays in L2.
 * 1x1 kernels skip the gather and multiply the input rows in place. The CPU reference for
 * tests is the direct 7-loop form in tests/nn/test_ops.c.
 *
 * The CPU backend runs 3x3 and 5x5 layers by Winograd (winograd_cpu.c, ~3x faster); this
 * path serves the other layers (1x1 heads) and, with TENGEN_NN_CONV=im2col, every layer, as
 * the reference the Winograd path is checked against. */
#include <string.h>

#include "nn/ops_cpu.h"

void nn__im2col(const float *in, int len, int ic, int ky, int kx, size_t r0, size_t r1,
                float *cols) {
    const size_t hw = (size_t)len * len;
    const int py = ky / 2, px = kx / 2;
    const size_t row_len = (size_t)ky * kx * ic;
    for (size_t r = r0; r < r1; r++) {
        size_t s = r / hw, pos = r % hw;
        int y = (int)(pos / len), x = (int)(pos % len);
        const float *base = in + s * hw * ic;
        float *dst = cols + (r - r0) * row_len;
        for (int dy = 0; dy < ky; dy++) {
            int iy = y + dy - py;
            if (iy < 0 || iy >= len) {
                memset(dst, 0, (size_t)kx * ic * sizeof(float));
                dst += (size_t)kx * ic;
                continue;
            }
            for (int dx = 0; dx < kx; dx++, dst += ic) {
                int ix = x + dx - px;
                if (ix < 0 || ix >= len)
                    memset(dst, 0, (size_t)ic * sizeof(float));
                else
                    memcpy(dst, base + ((size_t)iy * len + ix) * ic, (size_t)ic * sizeof(float));
            }
        }
    }
}

void nn__conv_rows(const tg_conv_t *cv, const float *in, int len, size_t r0, size_t r1, float beta,
                   float *out, float *scratch) {
    if (r1 <= r0) return;
    if (cv->ky == 1 && cv->kx == 1) {
        nn__sgemm((int)(r1 - r0), cv->oc, cv->ic, in + r0 * cv->ic, cv->ic, cv->w, cv->oc, beta,
                  out + r0 * cv->oc, cv->oc);
        return;
    }
    const int k = cv->ky * cv->kx * cv->ic;
    for (size_t c0 = r0; c0 < r1; c0 += NN_CONV_CHUNK_ROWS) {
        size_t c1 = c0 + NN_CONV_CHUNK_ROWS < r1 ? c0 + NN_CONV_CHUNK_ROWS : r1;
        nn__im2col(in, len, cv->ic, cv->ky, cv->kx, c0, c1, scratch);
        nn__sgemm((int)(c1 - c0), cv->oc, k, scratch, k, cv->w, cv->oc, beta, out + c0 * cv->oc,
                  cv->oc);
    }
}
