/* bnact.h: the fused per-channel affine + activation + mask kernel, and its small-vector twin
 * for the heads (bnact.cu).
 *
 * One pass over an NHWC tensor does what nn_cpu.c does in up to three: a per-sample bias add
 * (a gpool block's gpoolToBias, the policy head's gpool bias, the trunk's global-input bias),
 * batch norm in merged scale/bias form, the activation, and the on-board mask. CPU twins:
 * nn__bn_act_rows (ops_cpu.h) plus the bias loops of nn_cpu.c; nn__act_vec for the vectors.
 * Launchers take a stream and return cudaGetLastError(). */
#ifndef TENGEN_KERNELS_BNACT_H
#define TENGEN_KERNELS_BNACT_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* For rows r in [0, rows) of in/out (rows, c) (storage type; fp16 = 1 for fp16) and
 * channels k:
 *   out[r][k] = act((in[r][k] + sample_bias[(r / hw) * sb_stride + k]) * scale[k] + bias[k])
 *               * mask[r]
 * Each of sample_bias, scale, bias and mask may be NULL (then 0, 1, 0 and 1); act is a
 * TG_CUDA_ACT_* kind (act.h). in == out is allowed. sample_bias, scale, bias and mask are
 * fp32. The sum is rounded to the storage type only once, at the store. */
cudaError_t tg_cuda_bn_act(const void *in, void *out, int fp16, size_t rows, int c, int hw,
                           const float *sample_bias, int sb_stride, const float *scale,
                           const float *bias, int act, const float *mask, cudaStream_t stream);

/* x (n, c) fp32 with row stride ld: x[s][k] = act(x[s][k] + bias[k]) (bias may be NULL). */
cudaError_t tg_cuda_vec_bias_act(float *x, int n, int c, int ld, const float *bias, int act,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
