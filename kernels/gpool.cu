/* gpool.cu: masked global pooling (mean, scaled mean, max / value-head pool). See gpool.h.
 *
 * Grid (ceil(c / 32), n); block (32, 8). threadIdx.x is the channel inside a 32-channel slice,
 * so a warp reads 32 consecutive channels of one point (coalesced); the 8 rows of threads
 * stride over the points and are reduced through shared memory at the end. Sums in fp32. */
#include "gpool.h"

#include <math.h>

#include "common.cuh"

#define POOL_TX 32
#define POOL_TY 8

template <typename T>
__global__ void global_pool_kernel(const T *__restrict__ in, int hw, int c,
                                   const float *__restrict__ mask,
                                   const float *__restrict__ mask_sum, int kind,
                                   float *__restrict__ out, int ld_out) {
    __shared__ float sum_s[POOL_TY][POOL_TX];
    __shared__ float max_s[POOL_TY][POOL_TX];
    const int s = blockIdx.y;
    const int k = blockIdx.x * POOL_TX + threadIdx.x;
    float sum = 0.0f, mx = -INFINITY;
    if (k < c) {
        const T *x = in + (size_t)s * hw * c;
        const float *m = mask + (size_t)s * hw;
        for (int p = threadIdx.y; p < hw; p += POOL_TY) {
            const float v = tgk_load(x, (size_t)p * c + k);
            sum += v;
            if (kind == TG_CUDA_POOL_GPOOL) mx = fmaxf(mx, v + (m[p] - 1.0f));
        }
    }
    sum_s[threadIdx.y][threadIdx.x] = sum;
    max_s[threadIdx.y][threadIdx.x] = mx;
    __syncthreads();
    if (threadIdx.y != 0 || k >= c) return;
    for (int j = 1; j < POOL_TY; j++) {
        sum += sum_s[j][threadIdx.x];
        mx = fmaxf(mx, max_s[j][threadIdx.x]);
    }
    const float nsum = mask_sum[s];
    const float sq = sqrtf(nsum);
    const float mean = sum * (1.0f / nsum);
    float *o = out + (size_t)s * ld_out;
    o[k] = mean;
    o[c + k] = mean * (sq - 14.0f) * 0.1f;
    if (kind == TG_CUDA_POOL_GPOOL)
        o[2 * c + k] = mx;
    else
        o[2 * c + k] = mean * ((sq - 14.0f) * (sq - 14.0f) * 0.01f - 0.1f);
}

extern "C" cudaError_t tg_cuda_global_pool(const void *in, int fp16, int n, int hw, int c,
                                           const float *mask, const float *mask_sum, int kind,
                                           float *out, int ld_out, cudaStream_t stream) {
    const dim3 grid((unsigned)((c + POOL_TX - 1) / POOL_TX), (unsigned)n);
    const dim3 block(POOL_TX, POOL_TY);
    if (fp16)
        global_pool_kernel<<<grid, block, 0, stream>>>((const __half *)in, hw, c, mask, mask_sum,
                                                       kind, out, ld_out);
    else
        global_pool_kernel<<<grid, block, 0, stream>>>((const float *)in, hw, c, mask, mask_sum,
                                                       kind, out, ld_out);
    return cudaGetLastError();
}
