/* train_common.cuh: device helpers of the training kernels (kernels/train_*.cu), not public.
 *
 * Adds bf16 storage to common.cuh's fp32/fp16 load/store overloads, a dispatch macro that
 * instantiates a kernel body for the storage type named by a TG_CUDA_TRAIN_* code, and
 * block-wide reductions (fp64, for the loss kernels that mirror the CPU's double sums). */
#ifndef TENGEN_KERNELS_TRAIN_COMMON_CUH
#define TENGEN_KERNELS_TRAIN_COMMON_CUH

#include <cuda_bf16.h>

#include "common.cuh"
#include "train_ops.h"

__device__ __forceinline__ float tgk_load(const __nv_bfloat16 *p, size_t i) {
    return __bfloat162float(p[i]);
}
__device__ __forceinline__ void tgk_store(__nv_bfloat16 *p, size_t i, float v) {
    p[i] = __float2bfloat16_rn(v);
}

/* Runs the statement(s) with T = the storage type of `dtype` (TG_CUDA_TRAIN_FP32/FP16/BF16). */
#define TGT_DISPATCH(dtype, ...)                                                                   \
    do {                                                                                           \
        if ((dtype) == TG_CUDA_TRAIN_FP16) {                                                       \
            typedef __half T;                                                                      \
            __VA_ARGS__;                                                                           \
        } else if ((dtype) == TG_CUDA_TRAIN_BF16) {                                                \
            typedef __nv_bfloat16 T;                                                               \
            __VA_ARGS__;                                                                           \
        } else {                                                                                   \
            typedef float T;                                                                       \
            __VA_ARGS__;                                                                           \
        }                                                                                          \
    } while (0)

#define TGT_BLOCK 256 /* threads of the block-per-sample kernels */

/* Sum of v over the block (every thread gets the result). blockDim.x must be TGT_BLOCK.
 * Fixed reduction tree: the result is deterministic for a given launch shape. */
__device__ __forceinline__ double tgt_block_sum(double v) {
    __shared__ double red_s[TGT_BLOCK / 32];
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) red_s[warp] = v;
    __syncthreads();
    double t = 0.0;
    for (int w = 0; w < TGT_BLOCK / 32; w++)
        t += red_s[w];
    return t;
}

/* Max of v over the block (every thread gets the result). */
__device__ __forceinline__ double tgt_block_max(double v) {
    __shared__ double redm_s[TGT_BLOCK / 32];
    for (int o = 16; o > 0; o >>= 1)
        v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) redm_s[warp] = v;
    __syncthreads();
    double t = -1e300;
    for (int w = 0; w < TGT_BLOCK / 32; w++)
        t = fmax(t, redm_s[w]);
    return t;
}

/* Score-belief bin constants (CPU twins train__score_offset / train__score_parity). */
__device__ __forceinline__ float tgt_score_offset(int i, int score_len) {
    return 0.05f * ((float)(i - score_len / 2) + 0.5f);
}
__device__ __forceinline__ float tgt_score_parity(int i, int score_len) {
    int d = (i - score_len / 2) % 2;
    if (d < 0) d += 2;
    return 0.5f - (float)d;
}

#endif
