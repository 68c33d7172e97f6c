/* train_ops.cu: forward/backward elementwise, reduction and layout kernels of the CUDA trainer
 * (see train_ops.h).
 *
 * Elementwise kernels are grid-stride loops over rows * c (coalesced: consecutive threads touch
 * consecutive channels). Column reductions (dbeta/dgamma, bias sums) use blocks of 32 channels x
 * 8 row-threads over a chunk of rows, reduce through shared memory and add the block's partial
 * sum with one atomicAdd per channel, so a 92k-row batch needs ~1.5k atomics per channel at
 * most. Per-sample pools give one thread per (sample, channel) and walk the points in order,
 * exactly as the CPU twin does (same sum order, same first-max tie rule). */
#include <math.h>

#include "train_common.cuh"

#define COL_TX   32
#define COL_TY   8
#define COL_ROWS 64 /* rows per block and row-thread pass */

/* ---- normact ------------------------------------------------------------------------------ */

template <typename T>
__global__ void normact_fwd_kernel(const T *in, T *out, size_t rows, int c,
                                   const float *__restrict__ gamma, const float *__restrict__ beta,
                                   const float *__restrict__ mask) {
    const size_t total = rows * (size_t)c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / c;
        const int k = (int)(i % c);
        float v = 0.0f;
        if (mask[r] != 0.0f) {
            v = tgk_load(in, i);
            v = gamma ? v * (1.0f + gamma[k]) + beta[k] : v + beta[k];
            v = v > 0.0f ? v : 0.0f;
        }
        tgk_store(out, i, v);
    }
}

extern "C" cudaError_t tg_cuda_train_normact_fwd(const void *in, void *out, int dtype, size_t rows,
                                                 int c, const float *gamma, const float *beta,
                                                 const float *mask, cudaStream_t stream) {
    const unsigned th = 256;
    const unsigned bl = tgk_blocks(rows * (size_t)c, th);
    TGT_DISPATCH(dtype, normact_fwd_kernel<T>
                 <<<bl, th, 0, stream>>>((const T *)in, (T *)out, rows, c, gamma, beta, mask));
    return cudaGetLastError();
}

template <typename T>
__global__ void normact_bwd_kernel(const T *in, const T *out, const T *dout, T *din, size_t rows,
                                   int c, const float *__restrict__ gamma, float *dgamma,
                                   float *dbeta, int acc) {
    __shared__ float sb[COL_TY][COL_TX], sg[COL_TY][COL_TX];
    const int k = blockIdx.x * COL_TX + threadIdx.x;
    float db = 0.0f, dg = 0.0f;
    if (k < c) {
        const float g = gamma ? 1.0f + gamma[k] : 1.0f;
        for (size_t r0 = (size_t)blockIdx.y * COL_ROWS; r0 < rows;
             r0 += (size_t)gridDim.y * COL_ROWS) {
            const size_t r1 = r0 + COL_ROWS < rows ? r0 + COL_ROWS : rows;
            for (size_t r = r0 + threadIdx.y; r < r1; r += COL_TY) {
                const size_t i = r * c + k;
                const float d = tgk_load(out, i) > 0.0f ? tgk_load(dout, i) : 0.0f;
                db += d;
                if (gamma) dg += d * tgk_load(in, i);
                const float v = acc ? tgk_load(din, i) + d * g : d * g;
                tgk_store(din, i, v);
            }
        }
    }
    sb[threadIdx.y][threadIdx.x] = db;
    sg[threadIdx.y][threadIdx.x] = dg;
    __syncthreads();
    if (threadIdx.y != 0 || k >= c) return;
    for (int j = 1; j < COL_TY; j++) {
        db += sb[j][threadIdx.x];
        dg += sg[j][threadIdx.x];
    }
    atomicAdd(&dbeta[k], db);
    if (gamma) atomicAdd(&dgamma[k], dg);
}

static dim3 col_grid(size_t rows, int c) {
    size_t by = (rows + COL_ROWS - 1) / COL_ROWS;
    if (by > 1024) by = 1024;
    if (by < 1) by = 1;
    return dim3((unsigned)((c + COL_TX - 1) / COL_TX), (unsigned)by);
}

extern "C" cudaError_t tg_cuda_train_normact_bwd(const void *in, const void *out, const void *dout,
                                                 void *din, int dtype, size_t rows, int c,
                                                 const float *gamma, float *dgamma, float *dbeta,
                                                 int din_accumulate, cudaStream_t stream) {
    const dim3 grid = col_grid(rows, c), block(COL_TX, COL_TY);
    TGT_DISPATCH(dtype, normact_bwd_kernel<T><<<grid, block, 0, stream>>>(
                            (const T *)in, (const T *)out, (const T *)dout, (T *)din, rows, c,
                            gamma, dgamma, dbeta, din_accumulate));
    return cudaGetLastError();
}

/* ---- broadcasts and sums ------------------------------------------------------------------ */

template <typename T>
__global__ void add_bcast_kernel(T *x, int n, int hw, int c, const float *__restrict__ v, int ldv) {
    const size_t total = (size_t)n * hw * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t s = i / ((size_t)hw * c);
        const int k = (int)(i % c);
        tgk_store(x, i, tgk_load(x, i) + v[s * ldv + k]);
    }
}

extern "C" cudaError_t tg_cuda_train_add_bcast(void *x, int dtype, int n, int hw, int c,
                                               const float *v, int ldv, cudaStream_t stream) {
    const unsigned th = 256;
    const unsigned bl = tgk_blocks((size_t)n * hw * c, th);
    TGT_DISPATCH(dtype, add_bcast_kernel<T><<<bl, th, 0, stream>>>((T *)x, n, hw, c, v, ldv));
    return cudaGetLastError();
}

/* Grid (ceil(c/32), n), block (32, 8): as gpool.cu. */
template <typename T> __global__ void sum_points_kernel(const T *x, int hw, int c, float *v) {
    __shared__ float s_s[COL_TY][COL_TX];
    const int s = blockIdx.y, k = blockIdx.x * COL_TX + threadIdx.x;
    float sum = 0.0f;
    if (k < c)
        for (int p = threadIdx.y; p < hw; p += COL_TY)
            sum += tgk_load(x, ((size_t)s * hw + p) * c + k);
    s_s[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y != 0 || k >= c) return;
    for (int j = 1; j < COL_TY; j++)
        sum += s_s[j][threadIdx.x];
    v[(size_t)s * c + k] = sum;
}

extern "C" cudaError_t tg_cuda_train_sum_points(const void *x, int dtype, int n, int hw, int c,
                                                float *v, cudaStream_t stream) {
    const dim3 grid((unsigned)((c + COL_TX - 1) / COL_TX), (unsigned)n), block(COL_TX, COL_TY);
    TGT_DISPATCH(dtype, sum_points_kernel<T><<<grid, block, 0, stream>>>((const T *)x, hw, c, v));
    return cudaGetLastError();
}

__global__ void col_sum_kernel(const float *x, size_t n, int c, int ldx, float *out) {
    __shared__ float s_s[COL_TY][COL_TX];
    const int k = blockIdx.x * COL_TX + threadIdx.x;
    float sum = 0.0f;
    if (k < c)
        for (size_t r0 = (size_t)blockIdx.y * COL_ROWS; r0 < n;
             r0 += (size_t)gridDim.y * COL_ROWS) {
            const size_t r1 = r0 + COL_ROWS < n ? r0 + COL_ROWS : n;
            for (size_t r = r0 + threadIdx.y; r < r1; r += COL_TY)
                sum += x[r * ldx + k];
        }
    s_s[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y != 0 || k >= c) return;
    for (int j = 1; j < COL_TY; j++)
        sum += s_s[j][threadIdx.x];
    atomicAdd(&out[k], sum);
}

extern "C" cudaError_t tg_cuda_train_col_sum(const float *x, size_t n, int c, int ldx, float *out,
                                             cudaStream_t stream) {
    col_sum_kernel<<<col_grid(n, c), dim3(COL_TX, COL_TY), 0, stream>>>(x, n, c, ldx, out);
    return cudaGetLastError();
}

/* ---- pools -------------------------------------------------------------------------------- */

template <typename T>
__global__ void gpool_fwd_kernel(const T *in, int n, int hw, int c, const float *__restrict__ mask,
                                 const float *__restrict__ mask_sum, float *out, int *argmax) {
    const size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)n * c) return;
    const int s = (int)(i / c), k = (int)(i % c);
    const float *m = mask + (size_t)s * hw;
    float sum = 0.0f, mx = -1e30f;
    int am = 0;
    for (int p = 0; p < hw; p++) {
        if (m[p] == 0.0f) continue;
        const float v = tgk_load(in, ((size_t)s * hw + p) * c + k);
        sum += v;
        if (v > mx) mx = v, am = p;
    }
    const float ms = mask_sum[s], scale = (sqrtf(ms) - 14.0f) * 0.1f;
    float *o = out + (size_t)s * 3 * c;
    o[k] = sum / ms;
    o[c + k] = o[k] * scale;
    o[2 * c + k] = mx;
    argmax[(size_t)s * c + k] = am;
}

extern "C" cudaError_t tg_cuda_train_gpool_fwd(const void *in, int dtype, int n, int hw, int c,
                                               const float *mask, const float *mask_sum, float *out,
                                               int *argmax, cudaStream_t stream) {
    const unsigned th = 128;
    const unsigned bl = tgk_blocks((size_t)n * c, th);
    TGT_DISPATCH(dtype, gpool_fwd_kernel<T>
                 <<<bl, th, 0, stream>>>((const T *)in, n, hw, c, mask, mask_sum, out, argmax));
    return cudaGetLastError();
}

template <typename T>
__global__ void gpool_bwd_kernel(const float *__restrict__ dout, const float *__restrict__ mask,
                                 const float *__restrict__ mask_sum, const int *__restrict__ argmax,
                                 int n, int hw, int c, T *din) {
    const size_t total = (size_t)n * hw * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / c;
        const int s = (int)(r / hw), p = (int)(r % hw), k = (int)(i % c);
        const float *d = dout + (size_t)s * 3 * c;
        float v = 0.0f;
        if (mask[r] != 0.0f) {
            const float ms = mask_sum[s], scale = (sqrtf(ms) - 14.0f) * 0.1f;
            v = (d[k] + d[c + k] * scale) / ms;
        }
        if (argmax[(size_t)s * c + k] == p) v += d[2 * c + k];
        tgk_store(din, i, v);
    }
}

extern "C" cudaError_t tg_cuda_train_gpool_bwd(const float *dout, const float *mask,
                                               const float *mask_sum, const int *argmax, int n,
                                               int hw, int c, void *din, int dtype,
                                               cudaStream_t stream) {
    const unsigned th = 256;
    const unsigned bl = tgk_blocks((size_t)n * hw * c, th);
    TGT_DISPATCH(dtype, gpool_bwd_kernel<T>
                 <<<bl, th, 0, stream>>>(dout, mask, mask_sum, argmax, n, hw, c, (T *)din));
    return cudaGetLastError();
}

template <typename T>
__global__ void vpool_fwd_kernel(const T *in, int n, int hw, int c,
                                 const float *__restrict__ mask_sum, float *out) {
    const size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)n * c) return;
    const int s = (int)(i / c), k = (int)(i % c);
    float sum = 0.0f;
    for (int p = 0; p < hw; p++)
        sum += tgk_load(in, ((size_t)s * hw + p) * c + k);
    const float ms = mask_sum[s], q = sqrtf(ms) - 14.0f;
    const float s1 = q * 0.1f, s2 = q * q * 0.01f - 0.1f;
    float *o = out + (size_t)s * 3 * c;
    o[k] = sum / ms;
    o[c + k] = o[k] * s1;
    o[2 * c + k] = o[k] * s2;
}

extern "C" cudaError_t tg_cuda_train_vpool_fwd(const void *in, int dtype, int n, int hw, int c,
                                               const float *mask_sum, float *out,
                                               cudaStream_t stream) {
    const unsigned bl = tgk_blocks((size_t)n * c, 128);
    TGT_DISPATCH(dtype, vpool_fwd_kernel<T>
                 <<<bl, 128, 0, stream>>>((const T *)in, n, hw, c, mask_sum, out));
    return cudaGetLastError();
}

template <typename T>
__global__ void vpool_bwd_kernel(const float *__restrict__ dout, const float *__restrict__ mask,
                                 const float *__restrict__ mask_sum, int n, int hw, int c, T *din) {
    const size_t total = (size_t)n * hw * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / c;
        if (mask[r] == 0.0f) continue;
        const int s = (int)(r / hw), k = (int)(i % c);
        const float ms = mask_sum[s], q = sqrtf(ms) - 14.0f;
        const float s1 = q * 0.1f, s2 = q * q * 0.01f - 0.1f;
        const float *d = dout + (size_t)s * 3 * c;
        tgk_store(din, i, tgk_load(din, i) + (d[k] + d[c + k] * s1 + d[2 * c + k] * s2) / ms);
    }
}

extern "C" cudaError_t tg_cuda_train_vpool_bwd(const float *dout, const float *mask,
                                               const float *mask_sum, int n, int hw, int c,
                                               void *din, int dtype, cudaStream_t stream) {
    const unsigned th = 256;
    const unsigned bl = tgk_blocks((size_t)n * hw * c, th);
    TGT_DISPATCH(dtype, vpool_bwd_kernel<T>
                 <<<bl, th, 0, stream>>>(dout, mask, mask_sum, n, hw, c, (T *)din));
    return cudaGetLastError();
}

/* ---- small elementwise and layout kernels ---------------------------------------------------- */

__global__ void relu_bwd_kernel(const float *__restrict__ y, float *dy, size_t count) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

extern "C" cudaError_t tg_cuda_train_relu_bwd(const float *y, float *dy, size_t count,
                                              cudaStream_t stream) {
    relu_bwd_kernel<<<tgk_blocks(count, 256), 256, 0, stream>>>(y, dy, count);
    return cudaGetLastError();
}

template <typename T>
__global__ void to_float_kernel(const T *in, size_t rows, int c, const float *mask, float *out) {
    const size_t total = rows * (size_t)c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = tgk_load(in, i);
        if (mask) v *= mask[i / c];
        out[i] = v;
    }
}

extern "C" cudaError_t tg_cuda_train_to_float(const void *in, int dtype, size_t rows, int c,
                                              const float *mask, float *out, cudaStream_t stream) {
    const unsigned bl = tgk_blocks(rows * (size_t)c, 256);
    TGT_DISPATCH(dtype,
                 to_float_kernel<T><<<bl, 256, 0, stream>>>((const T *)in, rows, c, mask, out));
    return cudaGetLastError();
}

template <typename T>
__global__ void from_float_kernel(const float *in, size_t rows, int c, const float *mask, T *out) {
    const size_t total = rows * (size_t)c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = in[i];
        if (mask) v *= mask[i / c];
        tgk_store(out, i, v);
    }
}

extern "C" cudaError_t tg_cuda_train_from_float(const float *in, size_t rows, int c,
                                                const float *mask, void *out, int dtype,
                                                cudaStream_t stream) {
    const unsigned bl = tgk_blocks(rows * (size_t)c, 256);
    TGT_DISPATCH(dtype, from_float_kernel<T><<<bl, 256, 0, stream>>>(in, rows, c, mask, (T *)out));
    return cudaGetLastError();
}

/* Thread per destination element (o, q, i) of (oc, kk, ic). */
template <typename T>
__global__ void w_to_krsc_kernel(const float *__restrict__ w, int kk, int ic, int oc, T *out) {
    const size_t total = (size_t)kk * ic * oc;
    for (size_t d = blockIdx.x * (size_t)blockDim.x + threadIdx.x; d < total;
         d += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(d % ic);
        const size_t t = d / ic;
        const int q = (int)(t % kk), o = (int)(t / kk);
        tgk_store(out, d, w[((size_t)q * ic + i) * oc + o]);
    }
}

extern "C" cudaError_t tg_cuda_train_w_to_krsc(const float *w, int kk, int ic, int oc, void *out,
                                               int dtype, cudaStream_t stream) {
    const unsigned bl = tgk_blocks((size_t)kk * ic * oc, 256);
    TGT_DISPATCH(dtype, w_to_krsc_kernel<T><<<bl, 256, 0, stream>>>(w, kk, ic, oc, (T *)out));
    return cudaGetLastError();
}

/* Thread per destination element (q, i, o) of (kk, ic, oc): coalesced adds into grad. */
template <typename T>
__global__ void dw_from_krsc_kernel(const T *dw, int kk, int ic, int oc, float *grad) {
    const size_t total = (size_t)kk * ic * oc;
    for (size_t d = blockIdx.x * (size_t)blockDim.x + threadIdx.x; d < total;
         d += (size_t)gridDim.x * blockDim.x) {
        const int o = (int)(d % oc);
        const size_t t = d / oc;
        const int i = (int)(t % ic), q = (int)(t / ic);
        grad[d] += tgk_load(dw, ((size_t)o * kk + q) * ic + i);
    }
}

extern "C" cudaError_t tg_cuda_train_dw_from_krsc(const void *dw, int dtype, int kk, int ic, int oc,
                                                  float *grad, cudaStream_t stream) {
    const unsigned bl = tgk_blocks((size_t)kk * ic * oc, 256);
    TGT_DISPATCH(dtype,
                 dw_from_krsc_kernel<T><<<bl, 256, 0, stream>>>((const T *)dw, kk, ic, oc, grad));
    return cudaGetLastError();
}
