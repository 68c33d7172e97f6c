/* ops_cpu.h: the CPU net operations (internal to src/nn and its tests).
 *
 * These are the building blocks of the CPU backend (nn_cpu.c) and the reference twins of
 * future CUDA kernels. Spatial tensors are NHWC, flattened as rows: row r = s*L*L + pos of
 * sample s, each row holding C contiguous channels: (n, L*L, C). Functions that take a row
 * range [r0, r1) touch only those rows of their output, so threads can split a tensor by rows.
 * None of them allocates; scratch is passed in. All are thread-safe on disjoint outputs. */
#ifndef TENGEN_NN_OPS_CPU_H
#define TENGEN_NN_OPS_CPU_H

#include <stddef.h>

#include "nn/model.h"

/* Rows per im2col chunk: scratch for nn__conv_rows must hold NN_CONV_CHUNK_ROWS * K floats,
 * K = ky*kx*ic. */
#define NN_CONV_CHUNK_ROWS 256

/* C(M,N) = A(M,K) B(K,N) + beta C, row-major with leading dimensions. OpenBLAS when built with
 * it (single-threaded: callers split the work), else a portable C kernel. */
void nn__sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc);

/* Selects the GEMM implementation: 1 = OpenBLAS (if built in; the default), 0 = portable C.
 * Process-wide; call before any forward (bench only). Returns the previous setting. */
int nn__sgemm_use_blas(int use_blas);

/* im2col of rows [r0, r1) of in (n, len*len, ic) for a ky x kx kernel with "same" zero
 * padding: cols (r1 - r0, ky*kx*ic), each row ordered (y, x, ic) like the weights. */
void nn__im2col(const float *in, int len, int ic, int ky, int kx, size_t r0, size_t r1,
                float *cols);

/* Convolution of rows [r0, r1): out[r] = conv(in)[r] + beta * out[r], out (n, len*len, oc).
 * scratch holds NN_CONV_CHUNK_ROWS * ky*kx*ic floats (unused for 1x1 kernels). */
void nn__conv_rows(const tg_conv_t *cv, const float *in, int len, size_t r0, size_t r1, float beta,
                   float *out, float *scratch);

/* out[r][c] = act(in[r][c] * merged_scale[c] + merged_bias[c]) * mask[r] for rows [r0, r1).
 * in == out is allowed. mask is (n*len*len). */
void nn__bn_act_rows(const tg_bn_t *bn, tg_act_kind_t act, const float *in, float *out,
                     const float *mask, size_t r0, size_t r1);

/* Activation applied in place to n floats. */
void nn__act_vec(tg_act_kind_t act, float *x, size_t n);
float nn__act(tg_act_kind_t act, float x);

/* KataGo's gpool of one sample: in (hw, c) masked activations, mask (hw), mask_sum = N.
 * out (3c): [mean, mean*(sqrt(N)-14)/10, max over on-board points (as max(x + mask - 1))]. */
void nn__gpool_sample(const float *in, const float *mask, int hw, int c, float mask_sum,
                      float *out);

/* KataGo's value-head pool: out (3c) = [mean, mean*(sqrt(N)-14)/10,
 * mean*((sqrt(N)-14)^2/100 - 0.1)]. */
void nn__vpool_sample(const float *in, int hw, int c, float mask_sum, float *out);

/* out (oc) = in (ic) x w (+ bias when b != NULL), one vector. */
void nn__matmul_vec(const tg_matmul_t *mm, const tg_matbias_t *b, const float *in, float *out);

#endif
