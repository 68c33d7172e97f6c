/* test_host_emulation.c: runs the CUDA backend's host code (src/nn/nn_cuda.c, compiled into
 * this test) on the CPU, against plain-C stand-ins for the CUDA runtime, cuDNN, cuBLAS and
 * the kernels/ launchers, and compares its forward pass with the CPU backend's.
 *
 * Why: the GPU tests cannot run without a GPU, but most of what can go wrong in a backend is
 * host-side orchestration: layer order, which buffer feeds which layer, the filter transpose to
 * cuDNN's KRSC order, cuBLAS's column-major matmul arguments, per-sample bias strides, output
 * packing, the algorithm cache and tensor descriptors per (batch, L). The stand-ins implement
 * the documented semantics of each call on host memory (NHWC cross-correlation with "same"
 * padding, y = alpha*conv + beta*y; column-major sgemm; the launchers as in pack.h, bnact.h and
 * gpool.h, fp16 storage as _Float16), so a wrong argument here is a wrong answer here.
 * This says nothing about the .cu kernels or the real libraries (cuda.kernels and cuda.forward
 * do, on a GPU). Not built with CUDA headers -> skipped (77). CUDA graphs are not emulated.
 *
 * Checks: fp32 within 1e-3 + 1e-3|x| and fp16 within 0.15 + 0.05|x| of the CPU backend on
 * random positions at several (batch, board, L), boards smaller than the tensor included. */
#if defined(TENGEN_HAVE_CUDA) && defined(__FLT16_MAX__)

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "act.h"
#include "bnact.h"
#include "gpool.h"
#include "pack.h"

#include "../../src/nn/nn_cuda.c"
#include "nn/ops_cpu.h"

#include "test.h"
#include "util/rng.h"

#define main nn_golden_main
#include "../nn/test_golden.c"
#undef main

#include "golden_fp16.h"

typedef _Float16 f16;

/* ---- CUDA runtime: device memory is host memory, every stream is synchronous ------------- */

static int g_fake_stream;
const char *cudaGetErrorString(cudaError_t e) {
    return e == cudaSuccess ? "no error" : "fake error";
}
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
    *s = (cudaStream_t)&g_fake_stream;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t size) {
    *p = malloc(size);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaHostAlloc(void **p, size_t size, unsigned int flags) { return cudaMalloc(p, size); }
cudaError_t cudaFree(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaFreeHost(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaMemset(void *p, int v, size_t n) { return memset(p, v, n), cudaSuccess; }
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k) {
    return memcpy(d, s, n), cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                            cudaStream_t st) {
    return memcpy(d, s, n), cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode m) {
    return cudaErrorNotSupported;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) { return cudaErrorNotSupported; }
cudaError_t cudaGraphDestroy(cudaGraph_t g) { return cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t g) { return cudaSuccess; }
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags) {
    return cudaErrorNotSupported;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) { return cudaErrorNotSupported; }

/* ---- cuDNN --------------------------------------------------------------------------------- */

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
static int g_fake_handle;
static long g_find_calls, g_conv_calls;

const char *cudnnGetErrorString(cudnnStatus_t s) { return s ? "fake cudnn error" : "ok"; }
size_t cudnnGetVersion(void) { return 91900; }
cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { return (*h = (cudnnHandle_t)&g_fake_handle), 0; }
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

/* The descriptors must agree with each other, as cuDNN checks: NHWC everywhere, same type,
 * channels chaining, same spatial size, stride 1, dilation 1, cross-correlation. */
static cudnnStatus_t check_conv(const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
                                const cudnnConvolutionDescriptor_t c,
                                const cudnnTensorDescriptor_t y) {
    int ok = x->fmt == CUDNN_TENSOR_NHWC && y->fmt == CUDNN_TENSOR_NHWC &&
             w->fmt == CUDNN_TENSOR_NHWC && x->dt == y->dt && w->dt == x->dt && x->n == y->n &&
             x->c == w->c && y->c == w->k && x->h == y->h && x->w == y->w && c->u == 1 &&
             c->v == 1 && c->dh == 1 && c->dw == 1 && c->mode == CUDNN_CROSS_CORRELATION &&
             c->pad_h == w->h / 2 && c->pad_w == w->w / 2 && x->n >= 1;
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

static void one_algo(cudnnConvolutionFwdAlgoPerf_t *perf, int *returned,
                     const cudnnConvolutionDescriptor_t c) {
    memset(perf, 0, sizeof *perf);
    perf->algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    perf->status = CUDNN_STATUS_SUCCESS;
    perf->mathType = c->math;
    *returned = 1;
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(
    cudnnHandle_t h, const cudnnTensorDescriptor_t x, const void *xp,
    const cudnnFilterDescriptor_t w, const void *wp, const cudnnConvolutionDescriptor_t c,
    const cudnnTensorDescriptor_t y, void *yp, const int req, int *ret,
    cudnnConvolutionFwdAlgoPerf_t *perf, void *ws, size_t wsb) {
    g_find_calls++;
    cudnnStatus_t s = check_conv(x, w, c, y);
    if (s == CUDNN_STATUS_SUCCESS) one_algo(perf, ret, c);
    return s;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t h, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t y, const int req, int *ret,
    cudnnConvolutionFwdAlgoPerf_t *perf) {
    cudnnStatus_t s = check_conv(x, w, c, y);
    if (s == CUDNN_STATUS_SUCCESS) one_algo(perf, ret, c);
    return s;
}

static float ld_any(const void *p, size_t i, int half) {
    return half ? (float)((const f16 *)p)[i] : ((const float *)p)[i];
}
static void st_any(void *p, size_t i, float v, int half) {
    if (half)
        ((f16 *)p)[i] = (f16)v;
    else
        ((float *)p)[i] = v;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha,
                                      const cudnnTensorDescriptor_t xd, const void *x,
                                      const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t wsb,
                                      const void *beta, const cudnnTensorDescriptor_t yd, void *y) {
    cudnnStatus_t s = check_conv(xd, wd, cd, yd);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    g_conv_calls++;
    /* im2col + nn__sgemm in fp32 (fp16 operands are exact in fp32; the result is rounded to
     * the storage type once, as cuDNN's fp32-accumulating fp16 kernels do). */
    const int half = xd->dt == CUDNN_DATA_HALF;
    const float a = *(const float *)alpha, b = *(const float *)beta;
    const int H = xd->h, W = xd->w, ic = xd->c, oc = wd->k, ky = wd->h, kx = wd->w;
    const size_t hw = (size_t)H * W, K = (size_t)ky * kx * ic;
    float *wt = malloc(K * oc * sizeof(float)), *cols = malloc(hw * K * sizeof(float));
    float *res = malloc(hw * oc * sizeof(float));
    if (!wt || !cols || !res) return CUDNN_STATUS_ALLOC_FAILED;
    for (int o = 0; o < oc; o++) /* KRSC (oc, K) -> (K, oc) */
        for (size_t k = 0; k < K; k++)
            wt[k * oc + o] = ld_any(w, (size_t)o * K + k, half);
    for (int n = 0; n < xd->n; n++) {
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) {
                float *row = cols + ((size_t)yy * W + xx) * K;
                for (int dy = 0; dy < ky; dy++)
                    for (int dx = 0; dx < kx; dx++) {
                        int sy = yy + dy - cd->pad_h, sx = xx + dx - cd->pad_w;
                        float *dst = row + ((size_t)dy * kx + dx) * ic;
                        int in = sy >= 0 && sy < H && sx >= 0 && sx < W;
                        size_t xo = (((size_t)n * H + (in ? sy : 0)) * W + (in ? sx : 0)) * ic;
                        for (int i = 0; i < ic; i++)
                            dst[i] = in ? ld_any(x, xo + i, half) : 0.0f;
                    }
            }
        nn__sgemm((int)hw, oc, (int)K, cols, (int)K, wt, oc, 0.0f, res, oc);
        for (size_t i = 0; i < hw * oc; i++) {
            size_t yo = (size_t)n * hw * oc + i;
            float prev = b != 0.0f ? ld_any(y, yo, half) : 0.0f;
            st_any(y, yo, a * res[i] + b * prev, half);
        }
    }
    free(wt);
    free(cols);
    free(res);
    return CUDNN_STATUS_SUCCESS;
}

/* ---- cuBLAS --------------------------------------------------------------------------------- */

static int g_fake_blas;
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "fake cublas error" : "ok"; }
cublasStatus_t cublasCreate(cublasHandle_t *h) { return (*h = (cublasHandle_t)&g_fake_blas), 0; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes) {
    return CUBLAS_STATUS_SUCCESS;
}
/* Column-major C (m, n) = alpha * A (m, k) B (k, n) + beta * C, no transposes. */
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    if (ta != CUBLAS_OP_N || tb != CUBLAS_OP_N || lda < m || ldb < k || ldc < m)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++)
                acc += A[(size_t)p * lda + i] * B[(size_t)j * ldb + p];
            float prev = *beta != 0.0f ? C[(size_t)j * ldc + i] : 0.0f;
            C[(size_t)j * ldc + i] = *alpha * acc + *beta * prev;
        }
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- kernels/ launchers, as their headers specify ------------------------------------------ */

static float act_f(int kind, float x) { return nn__act((tg_act_kind_t)kind, x); }

cudaError_t tg_cuda_pack_inputs(const float *sp, int n, int cin, int hw, void *x, int fp16,
                                float *mask, float *mask_sum, cudaStream_t st) {
    for (int s = 0; s < n; s++) {
        float sum = 0.0f;
        for (int p = 0; p < hw; p++) {
            for (int c = 0; c < cin; c++)
                st_any(x, ((size_t)s * hw + p) * cin + c, sp[((size_t)s * cin + c) * hw + p], fp16);
            mask[(size_t)s * hw + p] = sp[(size_t)s * cin * hw + p];
            sum += mask[(size_t)s * hw + p];
        }
        mask_sum[s] = sum > 0.0f ? sum : 1.0f;
    }
    return cudaSuccess;
}
cudaError_t tg_cuda_unpack_nhwc(const void *in, int fp16, int n, int hw, int c, float *out,
                                cudaStream_t st) {
    for (int s = 0; s < n; s++)
        for (int k = 0; k < c; k++)
            for (int p = 0; p < hw; p++)
                out[((size_t)s * c + k) * hw + p] = ld_any(in, ((size_t)s * hw + p) * c + k, fp16);
    return cudaSuccess;
}
cudaError_t tg_cuda_convert_to_half(const float *in, void *out, size_t count, cudaStream_t st) {
    for (size_t i = 0; i < count; i++)
        ((f16 *)out)[i] = (f16)in[i];
    return cudaSuccess;
}
cudaError_t tg_cuda_convert_to_float(const void *in, int fp16, float *out, size_t count,
                                     cudaStream_t st) {
    for (size_t i = 0; i < count; i++)
        out[i] = ld_any(in, i, fp16);
    return cudaSuccess;
}
cudaError_t tg_cuda_bn_act(const void *in, void *out, int fp16, size_t rows, int c, int hw,
                           const float *sb, int sb_stride, const float *scale, const float *bias,
                           int act, const float *mask, cudaStream_t st) {
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < c; k++) {
            float v = ld_any(in, r * c + k, fp16);
            if (sb) v += sb[(r / hw) * sb_stride + k];
            if (scale) v *= scale[k];
            if (bias) v += bias[k];
            v = act_f(act, v);
            if (mask) v *= mask[r];
            st_any(out, r * c + k, v, fp16);
        }
    return cudaSuccess;
}
cudaError_t tg_cuda_vec_bias_act(float *x, int n, int c, int ld, const float *bias, int act,
                                 cudaStream_t st) {
    for (int s = 0; s < n; s++)
        for (int k = 0; k < c; k++)
            x[(size_t)s * ld + k] = act_f(act, x[(size_t)s * ld + k] + (bias ? bias[k] : 0.0f));
    return cudaSuccess;
}
cudaError_t tg_cuda_global_pool(const void *in, int fp16, int n, int hw, int c, const float *mask,
                                const float *mask_sum, int kind, float *out, int ld_out,
                                cudaStream_t st) {
    static float tmp[TG_NN_MAX_LEN * TG_NN_MAX_LEN * 1024];
    if ((size_t)hw * c > TG_ARRAY_LEN(tmp)) return cudaErrorInvalidValue;
    for (int s = 0; s < n; s++) {
        for (size_t i = 0; i < (size_t)hw * c; i++)
            tmp[i] = ld_any(in, (size_t)s * hw * c + i, fp16);
        if (kind == TG_CUDA_POOL_GPOOL)
            nn__gpool_sample(tmp, mask + (size_t)s * hw, hw, c, mask_sum[s],
                             out + (size_t)s * ld_out);
        else
            nn__vpool_sample(tmp, hw, c, mask_sum[s], out + (size_t)s * ld_out);
    }
    return cudaSuccess;
}

/* ---- The test ---------------------------------------------------------------------------------
 */

static tg_model_t *g_model;
static tg_rng_t g_rng;

static void random_inputs(float *sp, float *gl, int n, int b, int len) {
    const int cin = g_model->num_spatial_inputs, cg = g_model->num_global_inputs, hw = len * len;
    memset(sp, 0, sizeof(float) * (size_t)n * cin * hw);
    for (int s = 0; s < n; s++) {
        float *x = sp + (size_t)s * cin * hw;
        for (int y = 0; y < b; y++)
            for (int xx = 0; xx < b; xx++) {
                int p = y * len + xx;
                x[p] = 1.0f;
                uint32_t st = tg_rng_below(&g_rng, 3);
                if (st) x[st * hw + p] = 1.0f;
            }
        for (int i = 0; i < cg; i++)
            gl[(size_t)s * cg + i] = (float)(tg_rng_uniform(&g_rng) - 0.5);
    }
}

/* Worst excess over atol + rtol|cpu| among the on-board outputs of n positions. */
static double worst_excess(const tg_nn_raw_t *a, const tg_nn_raw_t *r, int n, int b, int len,
                           double atol, double rtol, double *max_abs) {
    const int P = g_model->policy.num_channels, S = g_model->num_score_values, hw = len * len;
    double worst = -1;
    *max_abs = 0;
#define EMU_CMP(x, y)                                                                              \
    do {                                                                                           \
        double d__ = fabs((double)(x) - (double)(y));                                              \
        if (!isfinite(d__)) d__ = INFINITY;                                                        \
        if (d__ > *max_abs) *max_abs = d__;                                                        \
        double e__ = d__ - (atol + rtol * fabs((double)(y)));                                      \
        if (e__ > worst) worst = e__;                                                              \
    } while (0)
    for (int s = 0; s < n; s++) {
        for (int y = 0; y < b; y++)
            for (int x = 0; x < b; x++) {
                size_t p = (size_t)y * len + x;
                for (int k = 0; k < P; k++)
                    EMU_CMP(a->policy[((size_t)s * P + k) * hw + p],
                            r->policy[((size_t)s * P + k) * hw + p]);
                EMU_CMP(a->ownership[(size_t)s * hw + p], r->ownership[(size_t)s * hw + p]);
            }
        for (int k = 0; k < P; k++)
            EMU_CMP(a->policy_pass[s * P + k], r->policy_pass[s * P + k]);
        for (int k = 0; k < 3; k++)
            EMU_CMP(a->value[s * 3 + k], r->value[s * 3 + k]);
        for (int k = 0; k < S; k++)
            EMU_CMP(a->score[s * S + k], r->score[s * S + k]);
    }
#undef EMU_CMP
    return worst;
}

static void run_precision(int fp16) {
    tg_nn_cuda_options_t o;
    tg_nn_cuda_options_default(&o);
    o.fp16 = fp16;
    o.conv_find = !fp16; /* find in fp32, heuristics in fp16: both paths */
    void *gpu = NULL, *cpu = NULL;
    tg_err_t err;
    const tg_nn_backend_t *cpu_be = tg_nn_backend_cpu(), *gpu_be = tg_nn_backend_cuda();
    ASSERT_EQ(tg_nn_cuda_create(g_model, 3, &o, &gpu, &err), 0);
    ASSERT_EQ(cpu_be->create(g_model, 3, 1, &cpu, &err), 0);
    tg_nn_raw_t a = {0}, r = {0};
    ASSERT_EQ(tg_nn_raw_alloc(&a, g_model, 3, &err), 0);
    ASSERT_EQ(tg_nn_raw_alloc(&r, g_model, 3, &err), 0);
    static float sp[3 * 22 * 361], gl[3 * 19];
    static const struct {
        int n, b, len;
    } cases[] = {{2, 9, 9}, {1, 7, 11}, {3, 5, 5}, {2, 9, 9}, {1, 19, 19}};
    const long find_before = g_find_calls;
    for (size_t k = 0; k < TG_ARRAY_LEN(cases); k++) {
        random_inputs(sp, gl, cases[k].n, cases[k].b, cases[k].len);
        ASSERT_EQ(cpu_be->forward(cpu, cases[k].n, cases[k].len, sp, gl, &r, &err), 0);
        if (gpu_be->forward(gpu, cases[k].n, cases[k].len, sp, gl, &a, &err) < 0)
            TEST__FAIL("emulated forward: %s", err.msg);
        double max_abs;
        double ex = worst_excess(&a, &r, cases[k].n, cases[k].b, cases[k].len, fp16 ? 0.15 : 1e-3,
                                 fp16 ? 0.05 : 1e-3, &max_abs);
        printf("  %s n=%d board=%d L=%d: max|diff| %.3g\n", fp16 ? "fp16" : "fp32", cases[k].n,
               cases[k].b, cases[k].len, max_abs);
        ASSERT_TRUE(ex <= 0);
    }
    /* 4 distinct (n, L) geometries: one find per conv shape and geometry, none on repeats. */
    cu_ctx_t *c = gpu;
    if (!fp16) ASSERT_EQ(g_find_calls - find_before, 4L * c->nshape);
    tg_nn_raw_free(&a);
    tg_nn_raw_free(&r);
    cpu_be->destroy(cpu);
    gpu_be->destroy(gpu);
}

TEST(fp32_emulated_matches_cpu) { run_precision(0); }
TEST(fp16_emulated_close_to_cpu) { run_precision(1); }

/* KataGo's golden outputs through the emulated backend: fp32 with the CPU test's own code and
 * tolerances (tests/nn/test_golden.c), fp16 with golden_fp16.h's bounds. */
static void run_golden(void) {
    setenv("TENGEN_NN_BACKEND", "cuda", 1);
    int rc = nn_golden_main(); /* creates and frees its own evaluator and JSON */
    if (rc != 0) TEST__FAIL("golden fp32 on the emulated backend failed");
    char path[1024];
    snprintf(path, sizeof(path), "%s/katago-b6c96-rawnn-golden.json", test_fixtures_dir());
    char *data = NULL;
    size_t len = 0;
    tg_err_t err;
    ASSERT_EQ(tg_file_read_all(path, 16u << 20, &data, &len, &err), 0);
    ASSERT_EQ(tg_json_parse(data, len, &g_root, &err), 0);
    free(data);
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    ASSERT_EQ(tg_nn_evaluator_create_ex(path, tg_nn_backend_cuda_fp16(), 4, 1, &g_ev, &err), 0);
    memset(max_diff, 0, sizeof max_diff);
    test_golden_fp16();
    tg_nn_evaluator_destroy(g_ev);
    tg_json_free(g_root);
    unsetenv("TENGEN_NN_BACKEND");
}
TEST(golden_emulated) { run_golden(); }

int main(void) {
    char path[1024];
    tg_err_t err;
    snprintf(path, sizeof path, "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    if (tg_model_load(path, &g_model, &err) < 0) {
        printf("%s\n", err.msg);
        return 1;
    }
    tg_rng_seed(&g_rng, 99, 0);
    RUN(fp32_emulated_matches_cpu);
    RUN(fp16_emulated_close_to_cpu);
    RUN(golden_emulated);
    printf("  %ld emulated convolutions\n", g_conv_calls);
    tg_model_free(g_model);
    TEST_MAIN_END();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: needs the CUDA headers (TENGEN_HAVE_CUDA) and _Float16\n");
    return 77;
}

#endif
