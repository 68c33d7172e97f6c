/* bnact.cu: fused (per-sample bias) + batch norm + activation + mask over NHWC tensors, and
 * bias + activation over the heads' fp32 vectors. See bnact.h.
 *
 * Memory-bound: one read and one write per element. A thread handles consecutive elements of
 * one row so that loads and stores are coalesced; the channel index is i % c. */
#include "bnact.h"

#include "common.cuh"

template <typename T>
__global__ void bn_act_kernel(const T *in, T *out, size_t rows, int c, int hw,
                              const float *__restrict__ sample_bias, int sb_stride,
                              const float *__restrict__ scale, const float *__restrict__ bias,
                              int act, const float *__restrict__ mask) {
    const size_t total = rows * (size_t)c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / c;
        const int k = (int)(i % c);
        float v = tgk_load(in, i);
        if (sample_bias) v += sample_bias[(r / hw) * sb_stride + k];
        if (scale) v *= scale[k];
        if (bias) v += bias[k];
        v = tgk_act(act, v);
        if (mask) v *= mask[r];
        tgk_store(out, i, v);
    }
}

extern "C" cudaError_t tg_cuda_bn_act(const void *in, void *out, int fp16, size_t rows, int c,
                                      int hw, const float *sample_bias, int sb_stride,
                                      const float *scale, const float *bias, int act,
                                      const float *mask, cudaStream_t stream) {
    const size_t total = rows * (size_t)c;
    const unsigned threads = 256;
    if (fp16)
        bn_act_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>(
            (const __half *)in, (__half *)out, rows, c, hw, sample_bias, sb_stride, scale, bias,
            act, mask);
    else
        bn_act_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>(
            (const float *)in, (float *)out, rows, c, hw, sample_bias, sb_stride, scale, bias, act,
            mask);
    return cudaGetLastError();
}

__global__ void vec_bias_act_kernel(float *x, int n, int c, int ld, const float *__restrict__ bias,
                                    int act) {
    const size_t total = (size_t)n * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t s = i / c;
        const int k = (int)(i % c);
        float *p = x + s * ld + k;
        float v = *p;
        if (bias) v += bias[k];
        *p = tgk_act(act, v);
    }
}

extern "C" cudaError_t tg_cuda_vec_bias_act(float *x, int n, int c, int ld, const float *bias,
                                            int act, cudaStream_t stream) {
    const size_t total = (size_t)n * c;
    const unsigned threads = 128;
    vec_bias_act_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>(x, n, c, ld, bias, act);
    return cudaGetLastError();
}
