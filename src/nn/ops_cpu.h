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

/* Winograd F(4x4, 3x3) for "same" convolutions (winograd_cpu.c): 3x3 kernels, and larger odd
 * kernels as ceil(ky/3) x ceil(kx/3) zero-padded 3x3 sub-kernels on shifted input patches
 * (a 5x5 kernel: 4 x 36 instead of 16 x 25 multiplies per 4x4 tile and channel pair). Tiles
 * are 4x4 output blocks numbered t = (s * T + ty) * T + tx, T = ceil(L / 4); tile t covers
 * output points (4ty..4ty+3, 4tx..4tx+3) of sample s, clipped to the L x L tensor. */
#define NN_WINO_CHUNK_TILES 64 /* tiles per transform/GEMM chunk (V and M stay in L2) */

#define NN_WINO_MAX_KERNEL 9 /* largest ky, kx accepted (odd) */

/* Layer weights in the Winograd domain: u (36, k, ocp), U = G g G^T per sub-kernel and
 * channel pair, row q*ic + i for sub-kernel q and input channel i, k = nsub * ic; ocp = oc
 * rounded up to 16 (padding columns are 0). Channels [0, oc1) are the first layer's,
 * [oc1, oc) an optional second layer's on the same input. Owned: free with nn__wino_free. */
typedef struct nn_wino_s {
    int ky, kx, ic, k, oc, oc1, ocp;
    float *u; /* (36, k, ocp) */
} nn_wino_t;

/* Transforms cv's weights, and cv2's after them when cv2 != NULL (same shape but oc), in
 * double. Returns 0, TG_EINVAL when a kernel side is even or above NN_WINO_MAX_KERNEL or the
 * two layers' shapes differ, or TG_ENOMEM. */
int nn__wino_pack(nn_wino_t *wt, const tg_conv_t *cv, const tg_conv_t *cv2);
void nn__wino_free(nn_wino_t *wt);

/* Floats of scratch one nn__wino_conv_tiles call on wt needs. */
size_t nn__wino_scratch_floats(const nn_wino_t *wt);

/* Tiles of an (n, L*L) tensor: n * ceil(L/4)^2. */
size_t nn__wino_num_tiles(int n, int len);

/* Optional fused epilogue of a Winograd layer: out[r] = act(y[r] * merged_scale +
 * merged_bias) * mask[r] (0 where the mask is 0), y the layer's output after the beta add.
 * This is nn__bn_act_rows applied to the layer's own points, saving a pass and a barrier. */
typedef struct nn_wino_epi_s {
    const tg_bn_t *bn;
    tg_act_kind_t act;
    const float *mask; /* (n*len*len) */
    float *out;        /* (n, len*len, oc1) */
} nn_wino_epi_t;

/* Convolution of tiles [t0, t1) of in (n, len*len, ic): every output point r those tiles
 * cover gets y[r] = conv(in)[r][0, oc1) + beta * out[r], stored in out (n, len*len, oc1)
 * unless out is NULL (then beta must be 0); for a fused pair, out2[r] = conv(in)[r][oc1, oc)
 * + beta * out2[r] (out2 (n, len*len, oc - oc1), else unused); with epi != NULL, also
 * epi->out[r] (see nn_wino_epi_t). No other point is touched. Zero padding outside the
 * L x L tensor; in must be finite everywhere inside it. scratch: nn__wino_scratch_floats(wt)
 * floats. No allocation. */
void nn__wino_conv_tiles(const nn_wino_t *wt, const float *in, int len, size_t t0, size_t t1,
                         float beta, float *out, float *out2, const nn_wino_epi_t *epi,
                         float *scratch);

/* ---- Winograd for training (src/train): per-step packing and the backward passes ---------- */

/* Sets wt's shape for ky x kx kernels, ic inputs, oc outputs (oc1 = oc, u = NULL): nothing is
 * allocated. Returns 0 or TG_EINVAL (even or oversized kernel, empty channels). */
int nn__wino_shape(nn_wino_t *wt, int ky, int kx, int ic, int oc);

/* Floats of U for wt's shape: 36 * k * ocp. */
size_t nn__wino_u_floats(const nn_wino_t *wt);

/* Packs float weights into u (nn__wino_u_floats(wt) floats, caller-owned; wt->u = u, so never
 * nn__wino_free such a wt). flip = 0: w is (ky, kx, wt->ic, wt->oc), the layer itself. flip = 1:
 * w is the forward layer (ky, kx, wt->oc, wt->ic) whose input gradient wt computes: its kernel
 * rotated 180 degrees with input and output channels swapped, so that nn__wino_conv_tiles of dY
 * gives dX. O(36 k ocp), vectorised over output channels, no allocation. Thread-safe on
 * distinct u. */
void nn__wino_pack_w(nn_wino_t *wt, float *u, const float *w, int flip);

/* Weight gradient, tiles [t0, t1): du (36, k, ocp) += sum over those tiles of V[xi]^T dM[xi],
 * V the input transform of in (n, len*len, wt->ic) as in nn__wino_conv_tiles and dM = A dY A^T
 * of dout (n, len*len, wt->oc), zero at points outside the tensor. du columns past oc stay
 * untouched in value (they receive zeros). scratch: nn__wino_scratch_floats(wt). wt->u is not
 * read. No allocation. */
void nn__wino_wgrad_tiles(const nn_wino_t *wt, const float *in, const float *dout, int len,
                          size_t t0, size_t t1, float *du, float *scratch);

/* dw (ky, kx, ic, oc) += G^T dU G per 3x3 sub-kernel (taps past the kernel's edge dropped), in
 * double from du (36, k, ocp). O(36 k oc). */
void nn__wino_wgrad_finish(const nn_wino_t *wt, const float *du, float *dw);

#endif
