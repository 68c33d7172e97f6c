/* common.cuh: device helpers shared by the kernels/ .cu files (not a public header).
 *
 * Activations live on the GPU as fp32 or fp16 ("storage type"); every kernel computes in fp32
 * and converts at load/store, so one templated kernel body serves both precisions. Launchers
 * pick the instantiation from their `half` flag. */
#ifndef TENGEN_KERNELS_COMMON_CUH
#define TENGEN_KERNELS_COMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "act.h"

__device__ __forceinline__ float tgk_load(const float *p, size_t i) { return p[i]; }
__device__ __forceinline__ float tgk_load(const __half *p, size_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void tgk_store(float *p, size_t i, float v) { p[i] = v; }
__device__ __forceinline__ void tgk_store(__half *p, size_t i, float v) {
    p[i] = __float2half_rn(v);
}

/* The model's activations (tg_act_kind_t values), as the CPU twin nn__act computes them:
 * mish(x) = x * tanh(softplus(x)), silu(x) = x * sigmoid(x). */
__device__ __forceinline__ float tgk_act(int kind, float x) {
    switch (kind) {
    case TG_CUDA_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case TG_CUDA_ACT_MISH: {
        if (x > 20.0f) return x; /* tanh(softplus(x)) == 1 in float there */
        return x * tanhf(log1pf(expf(x)));
    }
    case TG_CUDA_ACT_SILU:
        return x / (1.0f + expf(-x));
    default:
        return x;
    }
}

/* Blocks for a 1-D grid of `count` threads, capped to keep the grid size legal. */
static inline unsigned tgk_blocks(size_t count, unsigned threads) {
    size_t b = (count + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 65535u * 32u) b = 65535u * 32u;
    return (unsigned)b;
}

#endif
