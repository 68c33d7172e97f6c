/* pack.cu: input packing (NCHW fp32 -> NHWC storage type, mask, mask sums), output unpacking
 * (NHWC -> NCHW fp32) and fp32/fp16 conversion. See pack.h. All are memory-bound copies:
 * threads are laid out so that writes are coalesced (reads of a transpose cannot all be). */
#include "pack.h"

#include "common.cuh"

template <typename T>
__global__ void pack_inputs_kernel(const float *__restrict__ spatial, int n, int cin, int hw,
                                   T *__restrict__ x, float *__restrict__ mask) {
    const size_t total = (size_t)n * hw * cin;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t ch = i % cin, r = i / cin; /* r = s*hw + pos */
        const size_t s = r / hw, pos = r % hw;
        const float v = spatial[(s * cin + ch) * hw + pos];
        tgk_store(x, i, v);
        if (ch == 0) mask[r] = v;
    }
}

/* One block per sample; blockDim.x is a power of two. */
__global__ void mask_sum_kernel(const float *__restrict__ spatial, int cin, int hw,
                                float *__restrict__ mask_sum) {
    extern __shared__ float part[];
    const float *m = spatial + (size_t)blockIdx.x * cin * hw; /* channel 0 of the sample */
    float acc = 0.0f;
    for (int p = threadIdx.x; p < hw; p += blockDim.x)
        acc += m[p];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) mask_sum[blockIdx.x] = part[0] > 0.0f ? part[0] : 1.0f;
}

extern "C" cudaError_t tg_cuda_pack_inputs(const float *spatial, int n, int cin, int hw, void *x,
                                           int fp16, float *mask, float *mask_sum,
                                           cudaStream_t stream) {
    const size_t total = (size_t)n * hw * cin;
    const unsigned threads = 256;
    if (fp16)
        pack_inputs_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>(spatial, n, cin, hw,
                                                                               (__half *)x, mask);
    else
        pack_inputs_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>(spatial, n, cin, hw,
                                                                               (float *)x, mask);
    const unsigned rt = 128;
    mask_sum_kernel<<<(unsigned)n, rt, rt * sizeof(float), stream>>>(spatial, cin, hw, mask_sum);
    return cudaGetLastError();
}

template <typename T>
__global__ void unpack_kernel(const T *__restrict__ in, int n, int hw, int c,
                              float *__restrict__ out) {
    const size_t total = (size_t)n * hw * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t pos = i % hw, sc = i / hw; /* sc = s*c + ch */
        const size_t ch = sc % c, s = sc / c;
        out[i] = tgk_load(in, (s * hw + pos) * c + ch);
    }
}

extern "C" cudaError_t tg_cuda_unpack_nhwc(const void *in, int fp16, int n, int hw, int c,
                                           float *out, cudaStream_t stream) {
    const size_t total = (size_t)n * hw * c;
    const unsigned threads = 256;
    if (fp16)
        unpack_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>((const __half *)in, n, hw,
                                                                          c, out);
    else
        unpack_kernel<<<tgk_blocks(total, threads), threads, 0, stream>>>((const float *)in, n, hw,
                                                                          c, out);
    return cudaGetLastError();
}

template <typename S, typename D>
__global__ void convert_kernel(const S *__restrict__ in, D *__restrict__ out, size_t count) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        tgk_store(out, i, tgk_load(in, i));
}

extern "C" cudaError_t tg_cuda_convert_to_half(const float *in, void *out, size_t count,
                                               cudaStream_t stream) {
    const unsigned threads = 256;
    convert_kernel<<<tgk_blocks(count, threads), threads, 0, stream>>>(in, (__half *)out, count);
    return cudaGetLastError();
}

extern "C" cudaError_t tg_cuda_convert_to_float(const void *in, int fp16, float *out, size_t count,
                                                cudaStream_t stream) {
    const unsigned threads = 256;
    if (fp16)
        convert_kernel<<<tgk_blocks(count, threads), threads, 0, stream>>>((const __half *)in, out,
                                                                           count);
    else
        convert_kernel<<<tgk_blocks(count, threads), threads, 0, stream>>>((const float *)in, out,
                                                                           count);
    return cudaGetLastError();
}
