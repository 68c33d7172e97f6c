/* gpool.h: KataGo's masked global pooling over NHWC tensors (gpool.cu).
 *
 * CPU twins: nn__gpool_sample and nn__vpool_sample (ops_cpu.h). Inputs are already masked
 * (0 off board), so plain sums over all L*L points give the on-board sums. Launchers take a
 * stream and return cudaGetLastError(). */
#ifndef TENGEN_KERNELS_GPOOL_H
#define TENGEN_KERNELS_GPOOL_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_CUDA_POOL_GPOOL 0 /* [mean, mean*(sqrt(N)-14)/10, max over points of (x + mask - 1)] */
#define TG_CUDA_POOL_VALUE 1 /* [mean, mean*(sqrt(N)-14)/10, mean*((sqrt(N)-14)^2/100 - 0.1)] */

/* in (n, hw, c) storage type (fp16 = 1: fp16); mask (n*hw) and mask_sum (n) = N per sample,
 * fp32 (mask is only read by TG_CUDA_POOL_GPOOL). out (n, 3c) fp32 with row stride ld_out. */
cudaError_t tg_cuda_global_pool(const void *in, int fp16, int n, int hw, int c, const float *mask,
                                const float *mask_sum, int kind, float *out, int ld_out,
                                cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
