/* test_train_emulation.c: runs the CUDA trainer's host code (src/train/train_cuda.c, compiled
 * into this test) on the CPU, against plain-C stand-ins for the CUDA runtime, cuDNN (conv
 * forward, backward-data, backward-filter), cuBLAS (sgemm with transposes) and the
 * kernels/train_*.h launchers, and compares it with the CPU trainer (src/train/trainer.c).
 *
 * Why: no GPU is needed to catch most of what goes wrong in a GPU trainer's host side: layer
 * order, which saved activation feeds which backward, the KRSC filter transposes and their
 * gradients' way back, cuBLAS's column-major transposed GEMMs, bias-gradient reductions,
 * accumulate-vs-overwrite flags, buffer sizes, the batch packing and device unpack tables
 * (symmetries), the optimizer's groups, the prefetch/RNG bookkeeping and the checkpoints. The
 * stand-ins implement each call's documented semantics on host memory; where a launcher has a
 * CPU twin in train_internal.h the stand-in calls it, so what is compared is the
 * orchestration, not the kernels (tests/cuda/test_train_kernels.c does those, on a GPU).
 * fp16 storage is emulated with _Float16; bf16 is not emulated. Without the CUDA headers:
 * skipped (77).
 *
 * Checks (b2c8test, 7x7 data, board 6x6 in one row):
 *   grads: one batch's loss terms and every parameter's gradient vs trainer_compute_grads
 *   steps: 6 SGD steps (lookahead 3, symmetries, prefetch, a data change) vs trainer_step
 *   checkpoint: CUDA save -> CPU load -> both continue identically; CPU save -> CUDA load
 *   fp16: 6 steps with loss scaling stay close to fp32. */
#if defined(TENGEN_HAVE_CUDA) && defined(__FLT16_MAX__)

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <unistd.h>

#include "../../src/train/train_cuda.c"

#include "test.h"
#include "train/train_testdata.h"

typedef _Float16 f16;

/* ---- CUDA runtime: device memory is host memory, streams are synchronous -------------------- */

static int g_stream_a, g_stream_b, g_event;
static long g_h2d_bytes;
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "fake"; }
cudaError_t cudaGetDeviceCount(int *count) { return (*count = 1), cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { return (*v = 13000), cudaSuccess; }
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "host emulation");
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags) {
    static int which;
    *s = (cudaStream_t)(which++ % 2 ? &g_stream_b : &g_stream_a);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int f) {
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int f) {
    *e = (cudaEvent_t)&g_event;
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t size) {
    *p = malloc(size ? size : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaHostAlloc(void **p, size_t size, unsigned int flags) { return cudaMalloc(p, size); }
cudaError_t cudaFree(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaFreeHost(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaMemset(void *p, int v, size_t n) { return memset(p, v, n), cudaSuccess; }
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s) {
    return memset(p, v, n), cudaSuccess;
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k) {
    if (k == cudaMemcpyHostToDevice) g_h2d_bytes += (long)n;
    return memmove(d, s, n), cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                            cudaStream_t st) {
    if (k == cudaMemcpyHostToDevice) g_h2d_bytes += (long)n;
    return memmove(d, s, n), cudaSuccess;
}

/* ---- storage types ----------------------------------------------------------------------------
 */

static float ld(const void *p, size_t i, int dt) {
    return dt == TG_CUDA_TRAIN_FP16 ? (float)((const f16 *)p)[i] : ((const float *)p)[i];
}
static void st(void *p, size_t i, float v, int dt) {
    if (dt == TG_CUDA_TRAIN_FP16)
        ((f16 *)p)[i] = (f16)v;
    else
        ((float *)p)[i] = v;
}
static int dt_of(cudnnDataType_t d) { return d == CUDNN_DATA_HALF ? TG_CUDA_TRAIN_FP16 : 0; }

/* ---- cuDNN ----------------------------------------------------------------------------------- */

struct cudnnTensorStruct {
    cudnnTensorFormat_t fmt;
    cudnnDataType_t dt;
    int n, c, h, w;
};
struct cudnnFilterStruct {
    cudnnTensorFormat_t fmt;
    cudnnDataType_t dt;
    int k, c, h, w;
};
struct cudnnConvolutionStruct {
    int pad_h, pad_w, u, v, dh, dw;
    cudnnConvolutionMode_t mode;
    cudnnMathType_t math;
};
static int g_handle;
static long g_conv_calls[3];

const char *cudnnGetErrorString(cudnnStatus_t s) { return s ? "fake cudnn error" : "ok"; }
size_t cudnnGetVersion(void) { return 91900; }
cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { return (*h = (cudnnHandle_t)&g_handle), 0; }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) {
    return (*d = calloc(1, sizeof **d)) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) {
    return free(d), CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f,
                                         cudnnDataType_t dt, int n, int c, int h, int w) {
    *d = (struct cudnnTensorStruct){f, dt, n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) {
    return (*d = calloc(1, sizeof **d)) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) {
    return free(d), CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t dt,
                                         cudnnTensorFormat_t f, int k, int c, int h, int w) {
    *d = (struct cudnnFilterStruct){f, dt, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d) {
    return (*d = calloc(1, sizeof **d)) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) {
    return free(d), CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u,
                                              int v, int dh, int dw, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t ct) {
    d->pad_h = ph, d->pad_w = pw, d->u = u, d->v = v, d->dh = dh, d->dw = dw, d->mode = mode;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) {
    d->math = m;
    return CUDNN_STATUS_SUCCESS;
}

/* As cuDNN checks: NHWC everywhere, one type, channels chaining, same size, "same" padding,
 * stride and dilation 1, cross-correlation. */
static cudnnStatus_t check_conv(const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
                                const cudnnConvolutionDescriptor_t c,
                                const cudnnTensorDescriptor_t y) {
    int ok = x->fmt == CUDNN_TENSOR_NHWC && y->fmt == CUDNN_TENSOR_NHWC &&
             w->fmt == CUDNN_TENSOR_NHWC && x->dt == y->dt && w->dt == x->dt && x->n == y->n &&
             x->c == w->c && y->c == w->k && x->h == y->h && x->w == y->w && c->u == 1 &&
             c->v == 1 && c->dh == 1 && c->dw == 1 && c->mode == CUDNN_CROSS_CORRELATION &&
             c->pad_h == w->h / 2 && c->pad_w == w->w / 2 && x->n >= 1 && w->h == w->w;
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

#define ONE_ALGO(perf, ret, c, algo_value)                                                         \
    do {                                                                                           \
        memset(perf, 0, sizeof *(perf));                                                           \
        (perf)->algo = (algo_value);                                                               \
        (perf)->status = CUDNN_STATUS_SUCCESS;                                                     \
        (perf)->mathType = (c)->math;                                                              \
        *(ret) = 1;                                                                                \
    } while (0)

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t h, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t y, const int req, int *ret,
    cudnnConvolutionFwdAlgoPerf_t *perf) {
    cudnnStatus_t s = check_conv(x, w, c, y);
    if (s == CUDNN_STATUS_SUCCESS)
        ONE_ALGO(perf, ret, c, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
    return s;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t h, const cudnnFilterDescriptor_t w, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t dx, const int req, int *ret,
    cudnnConvolutionBwdDataAlgoPerf_t *perf) {
    cudnnStatus_t s = check_conv(dx, w, c, dy);
    if (s == CUDNN_STATUS_SUCCESS) ONE_ALGO(perf, ret, c, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
    return s;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t h, const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnFilterDescriptor_t dw, const int req, int *ret,
    cudnnConvolutionBwdFilterAlgoPerf_t *perf) {
    cudnnStatus_t s = check_conv(x, dw, c, dy);
    if (s == CUDNN_STATUS_SUCCESS) ONE_ALGO(perf, ret, c, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
    return s;
}

/* Visits every (output point, tap) pair of a "same" KxK conv on (n, H, W): f(xo, yo, wo) with
 * the element offsets of the input row, the output row and the filter tap (times channels). */
#define CONV_LOOP(xd, wd, BODY)                                                                    \
    do {                                                                                           \
        const int H__ = (xd)->h, W__ = (xd)->w, k__ = (wd)->h, pad__ = k__ / 2;                    \
        for (int n__ = 0; n__ < (xd)->n; n__++)                                                    \
            for (int y__ = 0; y__ < H__; y__++)                                                    \
                for (int x__ = 0; x__ < W__; x__++)                                                \
                    for (int dy__ = 0; dy__ < k__; dy__++)                                         \
                        for (int dx__ = 0; dx__ < k__; dx__++) {                                   \
                            const int sy__ = y__ + dy__ - pad__, sx__ = x__ + dx__ - pad__;        \
                            if (sy__ < 0 || sy__ >= H__ || sx__ < 0 || sx__ >= W__) continue;      \
                            const size_t xrow = ((size_t)n__ * H__ + sy__) * W__ + sx__;           \
                            const size_t yrow = ((size_t)n__ * H__ + y__) * W__ + x__;             \
                            const int tap = dy__ * k__ + dx__;                                     \
                            BODY;                                                                  \
                        }                                                                          \
    } while (0)

/* y = alpha conv(x, w) + beta y; filters KRSC: w[(o * kk + tap) * ic + i]. fp32 accumulation,
 * one rounding to the storage type at the end. */
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha,
                                      const cudnnTensorDescriptor_t xd, const void *x,
                                      const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t wsb,
                                      const void *beta, const cudnnTensorDescriptor_t yd, void *y) {
    cudnnStatus_t s = check_conv(xd, wd, cd, yd);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    g_conv_calls[0]++;
    const int dt = dt_of(xd->dt), ic = xd->c, oc = yd->c, kk = wd->h * wd->w;
    const size_t rows = (size_t)xd->n * xd->h * xd->w;
    float *acc = calloc(rows * oc, sizeof(float));
    if (!acc) return CUDNN_STATUS_ALLOC_FAILED;
    CONV_LOOP(xd, wd, {
        for (int o = 0; o < oc; o++) {
            float a = 0.0f;
            for (int i = 0; i < ic; i++)
                a += ld(x, xrow * ic + i, dt) * ld(w, ((size_t)o * kk + tap) * ic + i, dt);
            acc[yrow * oc + o] += a;
        }
    });
    const float al = *(const float *)alpha, be = *(const float *)beta;
    for (size_t i = 0; i < rows * oc; i++)
        st(y, i, al * acc[i] + (be != 0.0f ? be * ld(y, i, dt) : 0.0f), dt);
    free(acc);
    return CUDNN_STATUS_SUCCESS;
}

/* dx = alpha convT(dy, w) + beta dx. */
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha,
                                           const cudnnFilterDescriptor_t wd, const void *w,
                                           const cudnnTensorDescriptor_t dyd, const void *dy,
                                           const cudnnConvolutionDescriptor_t cd,
                                           cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t wsb,
                                           const void *beta, const cudnnTensorDescriptor_t dxd,
                                           void *dx) {
    cudnnStatus_t s = check_conv(dxd, wd, cd, dyd);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    g_conv_calls[1]++;
    const int dt = dt_of(dxd->dt), ic = dxd->c, oc = dyd->c, kk = wd->h * wd->w;
    const size_t rows = (size_t)dxd->n * dxd->h * dxd->w;
    float *acc = calloc(rows * ic, sizeof(float));
    if (!acc) return CUDNN_STATUS_ALLOC_FAILED;
    CONV_LOOP(dxd, wd, {
        for (int i = 0; i < ic; i++) {
            float a = 0.0f;
            for (int o = 0; o < oc; o++)
                a += ld(dy, yrow * oc + o, dt) * ld(w, ((size_t)o * kk + tap) * ic + i, dt);
            acc[xrow * ic + i] += a;
        }
    });
    const float al = *(const float *)alpha, be = *(const float *)beta;
    for (size_t i = 0; i < rows * ic; i++)
        st(dx, i, al * acc[i] + (be != 0.0f ? be * ld(dx, i, dt) : 0.0f), dt);
    free(acc);
    return CUDNN_STATUS_SUCCESS;
}

/* dw = alpha sum x (x) dy + beta dw, KRSC. */
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha,
                                             const cudnnTensorDescriptor_t xd, const void *x,
                                             const cudnnTensorDescriptor_t dyd, const void *dy,
                                             const cudnnConvolutionDescriptor_t cd,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void *ws,
                                             size_t wsb, const void *beta,
                                             const cudnnFilterDescriptor_t wd, void *dw) {
    cudnnStatus_t s = check_conv(xd, wd, cd, dyd);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    g_conv_calls[2]++;
    const int dt = dt_of(xd->dt), ic = xd->c, oc = dyd->c, kk = wd->h * wd->w;
    const size_t count = (size_t)oc * kk * ic;
    float *acc = calloc(count, sizeof(float));
    if (!acc) return CUDNN_STATUS_ALLOC_FAILED;
    CONV_LOOP(xd, wd, {
        for (int o = 0; o < oc; o++) {
            const float g = ld(dy, yrow * oc + o, dt);
            if (g == 0.0f) continue;
            float *a = acc + ((size_t)o * kk + tap) * ic;
            for (int i = 0; i < ic; i++)
                a[i] += g * ld(x, xrow * ic + i, dt);
        }
    });
    const float al = *(const float *)alpha, be = *(const float *)beta;
    for (size_t i = 0; i < count; i++)
        st(dw, i, al * acc[i] + (be != 0.0f ? be * ld(dw, i, dt) : 0.0f), dt);
    free(acc);
    return CUDNN_STATUS_SUCCESS;
}

/* ---- cuBLAS -----------------------------------------------------------------------------------
 */

static int g_blas;
static long g_gemm_calls;
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "fake cublas error" : "ok"; }
cublasStatus_t cublasCreate(cublasHandle_t *h) { return (*h = (cublasHandle_t)&g_blas), 0; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes) {
    return CUBLAS_STATUS_SUCCESS;
}
/* Column-major C (m, n) = alpha op(A) op(B) + beta C, with cuBLAS's leading-dimension rules. */
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    const int at = ta == CUBLAS_OP_T, bt = tb == CUBLAS_OP_T;
    if ((ta != CUBLAS_OP_N && !at) || (tb != CUBLAS_OP_N && !bt) || lda < (at ? k : m) ||
        ldb < (bt ? n : k) || ldc < m || m < 0 || n < 0 || k < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    g_gemm_calls++;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                const float a = at ? A[(size_t)i * lda + p] : A[(size_t)p * lda + i];
                const float b = bt ? B[(size_t)p * ldb + j] : B[(size_t)j * ldb + p];
                acc += (double)a * b;
            }
            float prev = *beta != 0.0f ? C[(size_t)j * ldc + i] : 0.0f;
            C[(size_t)j * ldc + i] = *alpha * (float)acc + *beta * prev;
        }
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- kernels/ launchers, as their headers specify ----------------------------------------------
 */

cudaError_t tg_cuda_bn_act(const void *in, void *out, int fp16, size_t rows, int c, int hw,
                           const float *sb, int sb_stride, const float *scale, const float *bias,
                           int act, const float *mask, cudaStream_t s) {
    return cudaErrorNotSupported; /* inference only; never called by the trainer */
}
cudaError_t tg_cuda_vec_bias_act(float *x, int n, int c, int ld_, const float *bias, int act,
                                 cudaStream_t s) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            float v = x[(size_t)i * ld_ + k] + (bias ? bias[k] : 0.0f);
            if (act == TG_CUDA_ACT_RELU)
                v = v > 0.0f ? v : 0.0f;
            else if (act != TG_CUDA_ACT_IDENTITY)
                return cudaErrorInvalidValue;
            x[(size_t)i * ld_ + k] = v;
        }
    return cudaSuccess;
}

/* Copies (rows, c) of storage type to a fresh fp32 array (caller frees). */
static float *to_f32(const void *in, size_t count, int dt) {
    float *f = calloc(count + 1, sizeof(float));
    TG_ASSERT(f != NULL);
    for (size_t i = 0; i < count; i++)
        f[i] = ld(in, i, dt);
    return f;
}
static void from_f32(const float *f, void *out, size_t count, int dt) {
    for (size_t i = 0; i < count; i++)
        st(out, i, f[i], dt);
}

cudaError_t tg_cuda_train_normact_fwd(const void *in, void *out, int dt, size_t rows, int c,
                                      const float *gamma, const float *beta, const float *mask,
                                      cudaStream_t s) {
    float *a = to_f32(in, rows * c, dt), *b = calloc(rows * c + 1, sizeof(float));
    train__normact_fwd(a, rows, c, gamma, beta, mask, b);
    from_f32(b, out, rows * c, dt);
    free(a), free(b);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_normact_bwd(const void *in, const void *out, const void *dout, void *din,
                                      int dt, size_t rows, int c, const float *gamma, float *dgamma,
                                      float *dbeta, int acc, cudaStream_t s) {
    const size_t cnt = rows * c;
    float *x = to_f32(in, cnt, dt), *y = to_f32(out, cnt, dt), *dy = to_f32(dout, cnt, dt);
    float *dx = to_f32(din, cnt, dt);
    train__normact_bwd(x, y, dy, rows, c, gamma, dgamma, dbeta, acc ? dx : dy, acc);
    from_f32(acc ? dx : dy, din, cnt, dt);
    free(x), free(y), free(dy), free(dx);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_add_bcast(void *x, int dt, int n, int hw, int c, const float *v, int ldv,
                                    cudaStream_t s) {
    for (int i = 0; i < n; i++)
        for (int p = 0; p < hw; p++)
            for (int k = 0; k < c; k++) {
                size_t e = ((size_t)i * hw + p) * c + k;
                st(x, e, ld(x, e, dt) + v[(size_t)i * ldv + k], dt);
            }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_sum_points(const void *x, int dt, int n, int hw, int c, float *v,
                                     cudaStream_t s) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            float a = 0.0f;
            for (int p = 0; p < hw; p++)
                a += ld(x, ((size_t)i * hw + p) * c + k, dt);
            v[(size_t)i * c + k] = a;
        }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_col_sum(const float *x, size_t n, int c, int ldx, float *out,
                                  cudaStream_t s) {
    for (int k = 0; k < c; k++) {
        float a = 0.0f;
        for (size_t r = 0; r < n; r++)
            a += x[r * ldx + k];
        out[k] += a;
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_gpool_fwd(const void *in, int dt, int n, int hw, int c, const float *mask,
                                    const float *mask_sum, float *out, int *argmax,
                                    cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        float *a = to_f32((const char *)in + (size_t)i * hw * c * (dt ? 2 : 4), (size_t)hw * c, dt);
        train__gpool_fwd(a, mask + (size_t)i * hw, hw, c, mask_sum[i], out + (size_t)i * 3 * c,
                         argmax + (size_t)i * c);
        free(a);
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_gpool_bwd(const float *dout, const float *mask, const float *mask_sum,
                                    const int *argmax, int n, int hw, int c, void *din, int dt,
                                    cudaStream_t s) {
    float *d = calloc((size_t)n * hw * c, sizeof(float));
    for (int i = 0; i < n; i++)
        train__gpool_bwd(dout + (size_t)i * 3 * c, mask + (size_t)i * hw, argmax + (size_t)i * c,
                         hw, c, mask_sum[i], d + (size_t)i * hw * c);
    from_f32(d, din, (size_t)n * hw * c, dt);
    free(d);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_vpool_fwd(const void *in, int dt, int n, int hw, int c,
                                    const float *mask_sum, float *out, cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        float *a = to_f32((const char *)in + (size_t)i * hw * c * (dt ? 2 : 4), (size_t)hw * c, dt);
        train__vpool_fwd(a, hw, c, mask_sum[i], out + (size_t)i * 3 * c);
        free(a);
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_vpool_bwd(const float *dout, const float *mask, const float *mask_sum,
                                    int n, int hw, int c, void *din, int dt, cudaStream_t s) {
    float *d = to_f32(din, (size_t)n * hw * c, dt);
    for (int i = 0; i < n; i++)
        train__vpool_bwd(dout + (size_t)i * 3 * c, mask + (size_t)i * hw, hw, c, mask_sum[i],
                         d + (size_t)i * hw * c);
    from_f32(d, din, (size_t)n * hw * c, dt);
    free(d);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_relu_bwd(const float *y, float *dy, size_t count, cudaStream_t s) {
    for (size_t i = 0; i < count; i++)
        if (!(y[i] > 0.0f)) dy[i] = 0.0f;
    return cudaSuccess;
}
cudaError_t tg_cuda_train_to_float(const void *in, int dt, size_t rows, int c, const float *mask,
                                   float *out, cudaStream_t s) {
    for (size_t i = 0; i < rows * c; i++)
        out[i] = ld(in, i, dt) * (mask ? mask[i / c] : 1.0f);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_from_float(const float *in, size_t rows, int c, const float *mask,
                                     void *out, int dt, cudaStream_t s) {
    for (size_t i = 0; i < rows * c; i++)
        st(out, i, in[i] * (mask ? mask[i / c] : 1.0f), dt);
    return cudaSuccess;
}
static long g_krsc_calls;
cudaError_t tg_cuda_train_w_to_krsc(const float *w, int kk, int ic, int oc, void *out, int dt,
                                    cudaStream_t s) {
    g_krsc_calls++;
    for (int q = 0; q < kk; q++)
        for (int i = 0; i < ic; i++)
            for (int o = 0; o < oc; o++)
                st(out, ((size_t)o * kk + q) * ic + i, w[((size_t)q * ic + i) * oc + o], dt);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_dw_from_krsc(const void *dw, int dt, int kk, int ic, int oc, float *grad,
                                       cudaStream_t s) {
    for (int q = 0; q < kk; q++)
        for (int i = 0; i < ic; i++)
            for (int o = 0; o < oc; o++)
                grad[((size_t)q * ic + i) * oc + o] += ld(dw, ((size_t)o * kk + q) * ic + i, dt);
    return cudaSuccess;
}

/* Unpack: independent of trainer.c's code path (bits by hand, the perm table as given). */
cudaError_t tg_cuda_train_unpack(const uint8_t *bits, int packed_len, const int16_t *policy,
                                 const int8_t *score, const int8_t *owner, int n, int len,
                                 int score_len, const int *perm, void *spatial, int dt, float *mask,
                                 float *mask_sum, float *policy_out, float *score_out,
                                 float *owner_out, cudaStream_t s) {
    const int hw = len * len;
    for (int i = 0; i < n; i++) {
        float msum = 0.0f;
        for (int p = 0; p < hw; p++) {
            const int q = perm[p];
            for (int c = 0; c < TG_CUDA_TRAIN_PLANES; c++) {
                const uint8_t byte =
                    bits[((size_t)i * TG_CUDA_TRAIN_PLANES + c) * packed_len + q / 8];
                st(spatial, ((size_t)i * hw + p) * TG_CUDA_TRAIN_PLANES + c,
                   (float)((byte >> (7 - q % 8)) & 1), dt);
            }
            mask[(size_t)i * hw + p] = ld(spatial, ((size_t)i * hw + p) * TG_CUDA_TRAIN_PLANES, dt);
            msum += mask[(size_t)i * hw + p];
            for (int ch = 0; ch < 2; ch++)
                policy_out[((size_t)i * 2 + ch) * (hw + 1) + p] =
                    policy[((size_t)i * 2 + ch) * (hw + 1) + q];
            owner_out[(size_t)i * hw + p] = owner[(size_t)i * hw + q];
        }
        for (int ch = 0; ch < 2; ch++)
            policy_out[((size_t)i * 2 + ch) * (hw + 1) + hw] =
                policy[((size_t)i * 2 + ch) * (hw + 1) + hw];
        for (int b = 0; b < score_len; b++)
            score_out[(size_t)i * score_len + b] = score[(size_t)i * score_len + b];
        mask_sum[i] = msum > 0.0f ? msum : 1.0f;
    }
    return cudaSuccess;
}

static int g_exact_seen;
cudaError_t tg_cuda_train_loss(const tg_cuda_train_heads_t *o, const tg_cuda_train_heads_t *g,
                               int n, int hw, int S, const float *mask, const float *mask_sum,
                               const float *policy, const float *gtargets, const float *score,
                               const float *owner, int exact, float gscale, double *loss,
                               cudaStream_t s) {
    float *scratch = malloc(sizeof(float) * (4 * (size_t)(hw + 1) + 2 * (size_t)S));
    g_exact_seen |= exact;
    for (int i = 0; i < n; i++) {
        const int NP = TRAIN_POLICY_OUTPUTS;
        train_outputs_t oo = {.hw = hw,
                              .score_len = S,
                              .policy = o->policy + (size_t)i * hw * NP,
                              .pass = o->pass + i * NP,
                              .value = o->value + i * 3,
                              .misc = o->misc + i * 10,
                              .moremisc = o->moremisc + i * 8,
                              .own = o->own + (size_t)i * hw,
                              .score_logp = o->score_logp + (size_t)i * S};
        train_outputs_t gg = {.hw = hw,
                              .score_len = S,
                              .policy = g->policy + (size_t)i * hw * NP,
                              .pass = g->pass + i * NP,
                              .value = g->value + i * 3,
                              .misc = g->misc + i * 10,
                              .moremisc = g->moremisc + i * 8,
                              .own = g->own + (size_t)i * hw,
                              .score_logp = g->score_logp + (size_t)i * S};
        double l[TRAIN_LOSS_COUNT] = {0};
        train__loss_sample(&oo, &gg, mask + (size_t)i * hw, mask_sum[i],
                           policy + (size_t)i * 2 * (hw + 1), gtargets + (size_t)i * 80,
                           score + (size_t)i * S, owner + (size_t)i * hw, exact, l, scratch);
        for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
            loss[(size_t)i * TRAIN_LOSS_COUNT + k] = l[k];
        float *all[7] = {gg.policy, gg.pass, gg.value, gg.misc, gg.moremisc, gg.own, gg.score_logp};
        const int cnt[7] = {hw * NP, NP, 3, 10, 8, hw, S};
        for (int a = 0; a < 7; a++)
            for (int j = 0; j < cnt[a]; j++)
                all[a][j] *= gscale;
    }
    free(scratch);
    return cudaSuccess;
}
cudaError_t tg_cuda_train_score_u(const float *s2, const float *global, const float *woff,
                                  const float *wpar, int n, int S, int SB, float *u,
                                  cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        const float kp = global[(size_t)i * 19 + 18];
        for (int b = 0; b < S; b++)
            for (int j = 0; j < SB; j++) {
                float v = s2[(size_t)i * SB + j] + train__score_offset(b, S) * woff[j] +
                          train__score_parity(b, S) * kp * wpar[j];
                u[((size_t)i * S + b) * SB + j] = v > 0.0f ? v : 0.0f;
            }
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_score_u_bwd(const float *du, const float *global, int n, int S, int SB,
                                      float *ds2, float *gwoff, float *gwpar, cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        const float kp = global[(size_t)i * 19 + 18];
        for (int j = 0; j < SB; j++) {
            float a = 0, go = 0, gp = 0;
            for (int b = 0; b < S; b++) {
                const float d = du[((size_t)i * S + b) * SB + j];
                a += d;
                go += d * train__score_offset(b, S);
                gp += d * (train__score_parity(b, S) * kp);
            }
            ds2[(size_t)i * SB + j] = a;
            gwoff[j] += go;
            gwpar[j] += gp;
        }
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_score_mix_fwd(const float *z, const float *mix, int n, int S, int K,
                                        float *lsz, float *lw, float *logp, cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        const float *m = mix + (size_t)i * K, *zz = z + (size_t)i * S * K;
        float *w = lw + (size_t)i * K, *l = lsz + (size_t)i * S * K, *lp = logp + (size_t)i * S;
        double mx = -1e300, t = 0;
        for (int k = 0; k < K; k++)
            mx = fmax(mx, m[k]);
        for (int k = 0; k < K; k++)
            t += exp(m[k] - mx);
        for (int k = 0; k < K; k++)
            w[k] = (float)(m[k] - mx - log(t));
        for (int k = 0; k < K; k++) {
            double m2 = -1e300, z2 = 0;
            for (int b = 0; b < S; b++)
                m2 = fmax(m2, zz[(size_t)b * K + k]);
            for (int b = 0; b < S; b++)
                z2 += exp(zz[(size_t)b * K + k] - m2);
            for (int b = 0; b < S; b++)
                l[(size_t)b * K + k] = (float)(zz[(size_t)b * K + k] - m2 - log(z2));
        }
        for (int b = 0; b < S; b++) {
            double m3 = -1e300, z3 = 0;
            for (int k = 0; k < K; k++)
                m3 = fmax(m3, l[(size_t)b * K + k] + w[k]);
            for (int k = 0; k < K; k++)
                z3 += exp(l[(size_t)b * K + k] + w[k] - m3);
            lp[b] = (float)(m3 + log(z3));
        }
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_score_mix_bwd(const float *glogp, const float *lsz, const float *lw,
                                        const float *logp, int n, int S, int K, float *dz,
                                        float *dmix, cudaStream_t s) {
    for (int i = 0; i < n; i++) {
        const float *g = glogp + (size_t)i * S, *l = lsz + (size_t)i * S * K;
        const float *w = lw + (size_t)i * K, *lp = logp + (size_t)i * S;
        float *d = dz + (size_t)i * S * K;
        double dlw[64] = {0}, sum = 0;
        for (int b = 0; b < S; b++)
            for (int k = 0; k < K; k++) {
                double a = g[b] * exp(l[(size_t)b * K + k] + w[k] - lp[b]);
                d[(size_t)b * K + k] = (float)a;
                dlw[k] += a;
            }
        for (int b = 0; b < S; b++)
            for (int k = 0; k < K; k++)
                d[(size_t)b * K + k] -= (float)(exp(l[(size_t)b * K + k]) * dlw[k]);
        for (int k = 0; k < K; k++)
            sum += dlw[k];
        for (int k = 0; k < K; k++)
            dmix[(size_t)i * K + k] = (float)(dlw[k] - exp(w[k]) * sum);
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_sumsq(const float *g, size_t count, double *partial, double *sumsq,
                                cudaStream_t s) {
    double a = 0;
    for (size_t i = 0; i < count; i++)
        a += (double)g[i] * g[i];
    *sumsq = a;
    return cudaSuccess;
}
cudaError_t tg_cuda_train_sgd(float *p, const float *g, float *v, const uint8_t *group,
                              size_t count, const tg_cuda_sgd_args_t *a, const double *sumsq,
                              int *skipped, cudaStream_t s) {
    const double norm = sqrt(*sumsq) * a->inv_scale;
    *skipped = !isfinite(norm);
    if (*skipped) return cudaSuccess;
    const float gs = (float)(a->clip_cap > 0 && norm > a->clip_cap ? a->clip_cap / norm : 1.0);
    for (size_t i = 0; i < count; i++) {
        v[i] = a->momentum * v[i] + (g[i] * a->inv_scale * gs + a->wd[group[i]] * p[i]);
        p[i] -= a->lr[group[i]] * v[i];
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_train_lookahead(float *p, float *slow, size_t count, float alpha,
                                    const int *skipped, cudaStream_t s) {
    if (*skipped) return cudaSuccess;
    for (size_t i = 0; i < count; i++) {
        slow[i] += alpha * (p[i] - slow[i]);
        p[i] = slow[i];
    }
    return cudaSuccess;
}

/* ---- The tests ----------------------------------------------------------------------------------
 */

#define LEN 7

static trainrows_t g_data, g_data2;

static void options(train_options_t *o) {
    train_config_t cfg;
    TG_ASSERT(train_config_by_name("b2c8test", &cfg) == 0);
    train_options_default(o, &cfg);
    o->pos_len = LEN;
    o->batch = 5;
    o->threads = 1;
    o->seed = 7;
    o->lr_per_sample = 2e-3; /* large, so that 6 steps move the params visibly */
    o->warmup = 1;
    o->lookahead_k = 3;
    o->clip_base = 2500.0;
}

/* Worst |a - b| / (atol + rtol * max|b|) over count values (<= 1 passes). */
static double rel_excess(const float *a, const float *b, size_t count, double atol, double rtol) {
    double mx = 0.0, worst = 0.0;
    for (size_t i = 0; i < count; i++)
        mx = fmax(mx, fabs(b[i]));
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!isfinite(d)) return INFINITY;
        worst = fmax(worst, d / (atol + rtol * mx));
    }
    return worst;
}

static void check_stats(const train_stats_t *g, const train_stats_t *c, double rtol) {
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++) {
        const double tol = 1e-6 + rtol * fabs(c->loss[k]);
        if (!(fabs(g->loss[k] - c->loss[k]) <= tol))
            TEST__FAIL("loss %s: cuda %.9g cpu %.9g", train_loss_name(k), g->loss[k], c->loss[k]);
    }
    ASSERT_NEAR(g->weight_sum, c->weight_sum, 1e-9);
}

TEST(grads_match_cpu) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_t *cpu = NULL;
    trainer_cuda_t *gpu = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_EQ(trainer_create(&cpu, &o, &err), 0);
    if (trainer_cuda_create(&gpu, &o, &co, &err) != 0) TEST__FAIL("create: %s", err.msg);
    const train_model_t *mc = trainer_model(cpu);
    const int rows[4] = {1, 0, 3, 2}; /* row 1 is the 6x6 board */
    for (int sym = 0; sym < 8; sym += 3) {
        train_stats_t sc, sg;
        ASSERT_EQ(trainer_compute_grads(cpu, &g_data, rows, 4, sym, &sc, &err), 0);
        if (trainer_cuda_compute_grads(gpu, &g_data, rows, 4, sym, &sg, &err) != 0)
            TEST__FAIL("compute_grads: %s", err.msg);
        check_stats(&sg, &sc, 1e-4);
        const train_model_t *mg = trainer_cuda_model(gpu);
        for (int ti = 0; ti < mc->num_tensors; ti++) {
            const train_tensor_t *tt = &mc->tensors[ti];
            double ex =
                rel_excess(mg->grads + tt->offset, mc->grads + tt->offset, tt->count, 1e-7, 2e-4);
            if (!(ex <= 1.0)) TEST__FAIL("sym %d: grad of %s off (%.3g)", sym, tt->name, ex);
        }
        double ss = 0.0;
        for (size_t i = 0; i < mc->num_params; i++)
            ss += (double)mc->grads[i] * mc->grads[i];
        ASSERT_NEAR(sg.grad_norm, sqrt(ss), 1e-4 * sqrt(ss));
    }
    printf("  convs fwd/bwd-data/bwd-filter %ld/%ld/%ld, gemms %ld\n", g_conv_calls[0],
           g_conv_calls[1], g_conv_calls[2], g_gemm_calls);
    ASSERT_TRUE(g_conv_calls[1] > 0 && g_conv_calls[2] > g_conv_calls[1]);
    trainer_destroy(cpu);
    trainer_cuda_destroy(gpu);
}

/* n steps on both trainers; data switches to {data, data2} at step `switch_at`. */
static void run_steps(trainer_t *cpu, trainer_cuda_t *gpu, int n, int switch_at, double rtol) {
    tg_err_t err;
    const trainrows_t *one[1] = {&g_data}, *two[2] = {&g_data, &g_data2};
    for (int s = 0; s < n; s++) {
        const trainrows_t *const *d = s >= switch_at ? two : one;
        const int nd = s >= switch_at ? 2 : 1;
        train_stats_t sc, sg;
        ASSERT_EQ(trainer_step(cpu, d, nd, &sc, &err), 0);
        if (trainer_cuda_step(gpu, d, nd, &sg, &err) != 0) TEST__FAIL("step: %s", err.msg);
        check_stats(&sg, &sc, rtol);
        ASSERT_NEAR(sg.lr, sc.lr, 1e-15);
        ASSERT_NEAR(sg.grad_norm, sc.grad_norm, 1e-4 * sc.grad_norm + 1e-9);
        ASSERT_EQ(sg.clipped, sc.clipped);
    }
    ASSERT_EQ(trainer_cuda_steps(gpu), trainer_steps(cpu));
    ASSERT_EQ(trainer_cuda_samples(gpu), trainer_samples(cpu));
}

static void check_params(trainer_t *cpu, trainer_cuda_t *gpu, double rtol) {
    const train_model_t *mc = trainer_model(cpu), *mg = trainer_cuda_model(gpu);
    double mmax = 0.0;
    for (size_t i = 0; i < mc->num_params; i++)
        mmax = fmax(mmax, fabs(mc->momentum[i]));
    for (int ti = 0; ti < mc->num_tensors; ti++) {
        const train_tensor_t *tt = &mc->tensors[ti];
        double ex =
            rel_excess(mg->params + tt->offset, mc->params + tt->offset, tt->count, 1e-7, rtol);
        if (!(ex <= 1.0)) TEST__FAIL("param %s off (%.3g)", tt->name, ex);
        /* Momentum holds raw gradients; some are pure rounding noise (linear_s3's bias: the
         * log-softmax gradient sums to 0 over the bins), so the floor is global. */
        ex = rel_excess(mg->momentum + tt->offset, mc->momentum + tt->offset, tt->count,
                        1e-7 + rtol * mmax, rtol * 10);
        if (!(ex <= 1.0)) TEST__FAIL("momentum %s off (%.3g)", tt->name, ex);
    }
}

TEST(steps_match_cpu) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_t *cpu = NULL;
    trainer_cuda_t *gpu = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_TRUE(co.prefetch);
    ASSERT_EQ(trainer_create(&cpu, &o, &err), 0);
    if (trainer_cuda_create(&gpu, &o, &co, &err) != 0) TEST__FAIL("create: %s", err.msg);
    const float p0 = trainer_model(cpu)->params[trainer_model(cpu)->blocks[0].conv1.off];
    run_steps(cpu, gpu, 6, 4, 1e-4);
    check_params(cpu, gpu, 1e-4);
    /* the params did move (so the comparison means something) */
    ASSERT_TRUE(fabsf(trainer_model(cpu)->params[trainer_model(cpu)->blocks[0].conv1.off] - p0) >
                1e-7f);
    /* Checkpoint: CUDA save (with a prefetched batch pending) -> CPU load; both go on. */
    char path[] = "/tmp/tengen_train_emu_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    if (trainer_cuda_save(gpu, path, &err) != 0) TEST__FAIL("save: %s", err.msg);
    trainer_t *cpu2 = NULL;
    ASSERT_EQ(trainer_create(&cpu2, &o, &err), 0);
    if (trainer_load(cpu2, path, &err) != 0) TEST__FAIL("cpu load of cuda checkpoint: %s", err.msg);
    run_steps(cpu2, gpu, 3, 0, 1e-4);
    check_params(cpu2, gpu, 1e-4);
    /* CPU save -> CUDA load into a fresh trainer -> both go on. */
    ASSERT_EQ(trainer_save(cpu2, path, &err), 0);
    trainer_cuda_t *gpu2 = NULL;
    ASSERT_EQ(trainer_cuda_create(&gpu2, &o, &co, &err), 0);
    if (trainer_cuda_load(gpu2, path, &err) != 0) TEST__FAIL("cuda load: %s", err.msg);
    run_steps(cpu2, gpu2, 3, 0, 1e-4);
    check_params(cpu2, gpu2, 1e-4);
    unlink(path);
    trainer_destroy(cpu);
    trainer_destroy(cpu2);
    trainer_cuda_destroy(gpu);
    trainer_cuda_destroy(gpu2);
}

TEST(fp16_close_to_fp32) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_cuda_t *a = NULL, *h = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_EQ(trainer_cuda_create(&a, &o, &co, &err), 0);
    co.precision = TRAIN_CUDA_FP16;
    co.loss_scale = 1024.0;
    co.loss_scale_window = 2;
    if (trainer_cuda_create(&h, &o, &co, &err) != 0) TEST__FAIL("create fp16: %s", err.msg);
    const trainrows_t *one[1] = {&g_data};
    for (int s = 0; s < 6; s++) {
        train_stats_t s32, s16;
        ASSERT_EQ(trainer_cuda_step(a, one, 1, &s32, &err), 0);
        ASSERT_EQ(trainer_cuda_step(h, one, 1, &s16, &err), 0);
        printf("  step %d: loss fp32 %.6f fp16 %.6f (scale %g)\n", s, s32.loss_total,
               s16.loss_total, trainer_cuda_loss_scale(h));
        ASSERT_NEAR(s16.loss_total, s32.loss_total, 0.02 * fabs(s32.loss_total));
        ASSERT_NEAR(s16.grad_norm, s32.grad_norm, 0.05 * s32.grad_norm);
    }
    ASSERT_EQ(trainer_cuda_skipped_steps(h), 0);
    ASSERT_TRUE(trainer_cuda_loss_scale(h) > 1024.0); /* window 2: doubled */
    trainer_cuda_destroy(a);
    trainer_cuda_destroy(h);
    /* A scale that overflows fp16 gradients: the step is skipped, nothing moves, scale halves. */
    co.loss_scale = 1e12;
    ASSERT_EQ(trainer_cuda_create(&h, &o, &co, &err), 0);
    train_model_t *m = trainer_cuda_model(h);
    const float before = m->params[m->blocks[0].conv1.off];
    train_stats_t s16;
    ASSERT_EQ(trainer_cuda_step(h, one, 1, &s16, &err), 0);
    ASSERT_EQ(trainer_cuda_skipped_steps(h), 1);
    ASSERT_EQ(trainer_cuda_steps(h), 0);
    ASSERT_NEAR(trainer_cuda_loss_scale(h), 5e11, 1.0);
    m = trainer_cuda_model(h);
    ASSERT_TRUE(m->params[m->blocks[0].conv1.off] == before);
    ASSERT_TRUE(isfinite(s16.loss_total));
    trainer_cuda_destroy(h);
}

TEST(exact_grad_flag_reaches_loss) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_cuda_t *g = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_EQ(trainer_cuda_create(&g, &o, &co, &err), 0);
    trainer_cuda__set_exact_grad(g, 1);
    const int rows[2] = {0, 1};
    ASSERT_EQ(trainer_cuda_compute_grads(g, &g_data, rows, 2, 0, NULL, &err), 0);
    ASSERT_TRUE(g_exact_seen);
    /* bad inputs are refused with a message */
    const int bad[1] = {999};
    ASSERT_EQ(trainer_cuda_compute_grads(g, &g_data, bad, 1, 0, NULL, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "row 999");
    trainer_cuda_destroy(g);
}

int main(void) {
    tg_err_t err;
    if (trainrows_init(&g_data, LEN, 12, &err) || trainrows_init(&g_data2, LEN, 6, &err)) {
        printf("%s\n", err.msg);
        return 1;
    }
    testdata_fill(&g_data, 12, 3);
    testdata_fill(&g_data2, 6, 4);
    RUN(grads_match_cpu);
    RUN(steps_match_cpu);
    RUN(fp16_close_to_fp32);
    RUN(exact_grad_flag_reaches_loss);
    printf("  %ld filter refreshes, %ld bytes uploaded\n", g_krsc_calls, g_h2d_bytes);
    trainrows_free(&g_data);
    trainrows_free(&g_data2);
    TEST_MAIN_END();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: needs the CUDA headers (TENGEN_HAVE_CUDA) and _Float16\n");
    return 77;
}

#endif
