/* train_optim.cu: gradient norm, SGD and lookahead on the device (see train_optim.h).
 *
 * One pass over the parameter buffer each: the update reads the norm from device memory
 * (so clipping needs no host round trip) and every thread derives the same clip factor from
 * it. The norm's reduction runs in two fixed-shape passes, so it is bit-reproducible. */
#include <math.h>

#include "train_common.cuh"
#include "train_optim.h"

__global__ void sumsq_part_kernel(const float *__restrict__ g, size_t count, double *partial) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        acc += (double)g[i] * g[i];
    acc = tgt_block_sum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void sumsq_final_kernel(const double *__restrict__ partial, int parts, double *out) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < parts; i += blockDim.x)
        acc += partial[i];
    acc = tgt_block_sum(acc);
    if (threadIdx.x == 0) out[0] = acc;
}

extern "C" cudaError_t tg_cuda_train_sumsq(const float *g, size_t count, double *partial,
                                           double *sumsq, cudaStream_t stream) {
    size_t blocks = (count + TGT_BLOCK * 4 - 1) / (TGT_BLOCK * 4);
    if (blocks > TG_CUDA_TRAIN_SUMSQ_PART) blocks = TG_CUDA_TRAIN_SUMSQ_PART;
    if (blocks < 1) blocks = 1;
    sumsq_part_kernel<<<(unsigned)blocks, TGT_BLOCK, 0, stream>>>(g, count, partial);
    sumsq_final_kernel<<<1, TGT_BLOCK, 0, stream>>>(partial, (int)blocks, sumsq);
    return cudaGetLastError();
}

__global__ void sgd_kernel(float *params, const float *__restrict__ grads, float *mom,
                           const uint8_t *__restrict__ group, size_t count, tg_cuda_sgd_args_t a,
                           const double *__restrict__ sumsq, int *skipped) {
    const double norm = sqrt(sumsq[0]) * (double)a.inv_scale;
    const int bad = !isfinite(norm);
    if (blockIdx.x == 0 && threadIdx.x == 0) *skipped = bad;
    if (bad) return;
    double gscale = 1.0;
    if (a.clip_cap > 0 && norm > a.clip_cap) gscale = a.clip_cap / norm;
    const float gs = (float)gscale;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        const int gr = group[i];
        const float p = params[i];
        const float v = a.momentum * mom[i] + (grads[i] * a.inv_scale * gs + a.wd[gr] * p);
        mom[i] = v;
        params[i] = p - a.lr[gr] * v;
    }
}

extern "C" cudaError_t tg_cuda_train_sgd(float *params, const float *grads, float *mom,
                                         const uint8_t *group, size_t count,
                                         const tg_cuda_sgd_args_t *args, const double *sumsq,
                                         int *skipped, cudaStream_t stream) {
    sgd_kernel<<<tgk_blocks(count, 256), 256, 0, stream>>>(params, grads, mom, group, count, *args,
                                                           sumsq, skipped);
    return cudaGetLastError();
}

__global__ void lookahead_kernel(float *params, float *slow, size_t count, float alpha,
                                 const int *__restrict__ skipped) {
    if (*skipped) return;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        const float s = slow[i] + alpha * (params[i] - slow[i]);
        slow[i] = s;
        params[i] = s;
    }
}

extern "C" cudaError_t tg_cuda_train_lookahead(float *params, float *slow, size_t count,
                                               float alpha, const int *skipped,
                                               cudaStream_t stream) {
    lookahead_kernel<<<tgk_blocks(count, 256), 256, 0, stream>>>(params, slow, count, alpha,
                                                                 skipped);
    return cudaGetLastError();
}
