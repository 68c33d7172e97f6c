/* train_cuda.c: the CUDA trainer (train_cuda.h): host code in C driving the CUDA runtime, cuDNN
 * (convolution forward, backward-data, backward-filter), cuBLAS (linear layers) and the
 * kernels/train_*.cu launchers.
 *
 * Design. The step is src/train/net.c's forward / loss / backward, layer for layer, with the
 * same saved activations, followed by trainer.c's optimizer; each CPU helper maps to one
 * launch (the mapping is commented where it is not 1:1). Everything of a step is queued on one
 * compute stream; batch uploads run on a second (copy) stream, ordered by events:
 *
 *   host:    gather rows k -> pinned[k%2] | enqueue step k | gather rows k+1 -> pinned[(k+1)%2]
 *   copy:    H2D[k%2] ─(up_done)──────────────────────── H2D[(k+1)%2] (after slot_free)
 *   compute:             wait ─ unpack ─(slot_free)─ fwd ─ loss ─ bwd ─ norm ─ SGD ─ D2H stats
 *
 * Memory. create() allocates everything: the four parameter-sized fp32 buffers (params,
 * grads, momentum, slow), a byte per parameter naming its weight-decay group, the conv filters
 * in cuDNN's KRSC order and the storage type (refreshed from params after every update), one
 * filter-gradient scratch, every activation and gradient tensor for opts->batch rows, the fp32
 * head outputs and their gradients, two packed staging slots (pinned host + device) and the
 * cuDNN workspace. Conv filters' gradients come back from cuDNN in KRSC and are added into the
 * grads buffer in train.h's (k, k, ic, oc) order.
 *
 * Gradients are kept multiplied by grad_mult() (1 in fp32/bf16; loss scale / batch in fp16)
 * until the SGD kernel, which unscales, clips and updates in one pass.
 *
 * Errors. CT_CUDA / CT_CUDNN / CT_CUBLAS turn any failing call into TG_EINTERNAL with
 * "train cuda: <call>: <library's message>" and return it up the stack. */
#include "train/train_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/features.h"
#include "nn/nn_cuda.h"
#include "train/train_internal.h"
#include "util/log.h"

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    return (*end == '\0' && x >= 0 && x <= 1 << 20) ? (int)x : dflt;
}

void train_cuda_options_default(train_cuda_options_t *o) {
    memset(o, 0, sizeof(*o));
    o->device = env_int("TENGEN_CUDA_DEVICE", 0);
    o->precision = TRAIN_CUDA_FP32;
    o->tf32 = 0;
    o->loss_scale = 8192.0;
    o->loss_scale_window = 1000;
    o->workspace_bytes = (size_t)env_int("TENGEN_CUDA_WORKSPACE_MB", 256) << 20;
    o->prefetch = 1;
}

int train_cuda_precision_parse(const char *name, train_cuda_precision_t *out) {
    if (!name) return TG_EINVAL;
    if (strcmp(name, "fp32") == 0)
        *out = TRAIN_CUDA_FP32;
    else if (strcmp(name, "fp16") == 0 || strcmp(name, "mixed") == 0)
        *out = TRAIN_CUDA_FP16;
    else if (strcmp(name, "bf16") == 0)
        *out = TRAIN_CUDA_BF16;
    else
        return TG_EINVAL;
    return 0;
}

const char *train_cuda_precision_name(train_cuda_precision_t p) {
    return p == TRAIN_CUDA_FP16 ? "fp16" : p == TRAIN_CUDA_BF16 ? "bf16" : "fp32";
}

#ifdef TENGEN_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "act.h"
#include "bnact.h"
#include "train_loss.h"
#include "train_ops.h"
#include "train_optim.h"
#include "train_unpack.h"

_Static_assert(TG_CUDA_TRAIN_LOSS_TERMS == TRAIN_LOSS_COUNT, "loss terms must match train.h");
_Static_assert(TG_CUDA_TRAIN_GROUPS == TRAIN_GROUP_COUNT, "groups must match train.h");
_Static_assert(TG_CUDA_TRAIN_FP16 == TRAIN_CUDA_FP16 && TG_CUDA_TRAIN_BF16 == TRAIN_CUDA_BF16,
               "precision codes must match kernels/train_ops.h");
_Static_assert(TG_CUDA_TRAIN_PLANES == TRAIN_SPATIAL_IN, "input planes");

#define CT_MAX_CONVS  (3 * TRAIN_MAX_BLOCKS + 8)
#define CT_MAX_CHANS  16
#define CT_MAX_ALGOS  8
#define CT_BLAS_BYTES ((size_t)4 << 20)

#define CT_CUDA(call)                                                                              \
    do {                                                                                           \
        cudaError_t e__ = (call);                                                                  \
        if (e__ != cudaSuccess)                                                                    \
            return tg_err_set(err, TG_EINTERNAL, "train cuda: %s: %s (%s:%d)", #call,              \
                              cudaGetErrorString(e__), __FILE__, __LINE__);                        \
    } while (0)
#define CT_CUDNN(call)                                                                             \
    do {                                                                                           \
        cudnnStatus_t s__ = (call);                                                                \
        if (s__ != CUDNN_STATUS_SUCCESS)                                                           \
            return tg_err_set(err, TG_EINTERNAL, "train cuda: %s: %s (%s:%d)", #call,              \
                              cudnnGetErrorString(s__), __FILE__, __LINE__);                       \
    } while (0)
#define CT_CUBLAS(call)                                                                            \
    do {                                                                                           \
        cublasStatus_t s__ = (call);                                                               \
        if (s__ != CUBLAS_STATUS_SUCCESS)                                                          \
            return tg_err_set(err, TG_EINTERNAL, "train cuda: %s: %s (%s:%d)", #call,              \
                              cublasGetStatusString(s__), __FILE__, __LINE__);                     \
    } while (0)
#define CT_TRY(expr)                                                                               \
    do {                                                                                           \
        int rc__ = (expr);                                                                         \
        if (rc__ < 0) return rc__;                                                                 \
    } while (0)

/* A distinct conv shape (k, ic, oc): descriptors and the algorithms for the current batch. */
typedef struct ct_shape_s {
    int k, ic, oc;
    cudnnFilterDescriptor_t wdesc;
    cudnnConvolutionDescriptor_t cdesc;
    int fwd_algo, fwd_math, bwd_data_algo, bwd_data_math, bwd_filt_algo, bwd_filt_math;
} ct_shape_t;

/* One conv layer: its weights in the params buffer and its KRSC copy. */
typedef struct ct_conv_s {
    train_layer_t w;
    int shape;
    size_t wk_off; /* elements into wk */
} ct_conv_t;

typedef struct ct_block_s {
    void *A, *H, *Bv, *G, *GG;
    float *P;
    int *arg;
} ct_block_t;

/* Views of one packed staging slot (host pinned and device: same layout). */
typedef struct ct_packed_s {
    float *global;   /* (B, 19) */
    float *gtargets; /* (B, 80) */
    int16_t *policy; /* (B, 2, hw+1) */
    uint8_t *bits;   /* (B, 22, packed_len) */
    int8_t *score;   /* (B, S) */
    int8_t *owner;   /* (B, hw) */
} ct_packed_t;

typedef struct ct_slot_s {
    void *host, *dev;
    ct_packed_t h, d;
    int n, sym;
    double weight_sum;
    cudaEvent_t up_done, slot_free;
} ct_slot_t;

struct trainer_cuda_s {
    train_options_t opt;
    train_cuda_options_t co;
    train_model_t model;
    int dtype;
    size_t es;
    int len, hw, S, B, packed_len, maxc;
    int cur_n; /* batch of the current descriptors/algorithms (0: none) */
    int exact_grad;
    int64_t steps, samples, skipped;
    uint64_t seq_pos;
    train_swa_t swa; /* SWA average on the host (num_params), trainer.c's bookkeeping */
    tg_rng_t rng;
    double loss_scale;
    int good_steps;

    cudaStream_t stream, copy_stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;

    /* Parameters (num_params floats each, train.h layout). */
    float *d_params, *d_grads, *d_mom, *d_slow;
    uint8_t *d_group;
    void *wk, *dwk;
    size_t dwk_elems;
    ct_conv_t convs[CT_MAX_CONVS];
    int nconv;
    ct_shape_t shapes[CT_MAX_CONVS];
    int nshape;
    int chans[CT_MAX_CHANS];
    cudnnTensorDescriptor_t tdesc[CT_MAX_CHANS];
    int nchan;
    void *ws;
    void *blas_ws;
    /* Conv indices by layer. */
    int c_spatial, c_conv1[TRAIN_MAX_BLOCKS], c_conv1g[TRAIN_MAX_BLOCKS], c_conv2[TRAIN_MAX_BLOCKS],
        c_p1p, c_p1g, c_p2p, c_v1, c_own;

    /* Activations (storage type unless noted). */
    void *X[TRAIN_MAX_BLOCKS + 1];
    ct_block_t blk[TRAIN_MAX_BLOCKS];
    void *T, *PP, *PA, *PG, *PGG, *PLs, *VV, *V, *OWNs;
    float *PQ, *PH, *VP, *VH, *S2, *U, *dU, *Z, *dZ, *LSZ, *MIX, *LW;
    int *PARG;
    tg_cuda_train_heads_t out, grad; /* fp32 */
    void *dX, *dA, *dR, *dG, *gPLs, *gOWNs;
    float *vec1, *vec2, *vec3;
    /* Batch on the device. */
    void *spatial;
    float *mask, *mask_sum, *policy_f, *score_f, *owner_f;
    int *perm; /* (8, hw) */
    ct_slot_t slot[2];
    /* Prefetch (see trainer_cuda_step). */
    int pf_valid, pf_slot;
    uint64_t pf_sig, pf_seq_before;
    tg_rng_t pf_rng_before;
    /* Step results. */
    double *d_loss, *d_partial, *d_sumsq;
    int *d_skipped;
    double *h_loss, *h_sumsq; /* pinned */
    int *h_skipped;
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* What the loss gradients are multiplied by: 1, or in fp16 the loss scale per sample of the
 * batch (the loss is a sum over rows, so its gradients grow with the batch; dividing by it
 * gives fp16 the range PyTorch's GradScaler sees on a mean loss). */
static double grad_mult(const trainer_cuda_t *t) {
    return t->dtype == TG_CUDA_TRAIN_FP16 ? t->loss_scale / t->opt.batch : 1.0;
}

static float *dparam(const trainer_cuda_t *t, train_layer_t l) { return t->d_params + l.off; }
static float *dgrad(const trainer_cuda_t *t, train_layer_t l) { return t->d_grads + l.off; }

static int add_chan(trainer_cuda_t *t, int ch) {
    for (int i = 0; i < t->nchan; i++)
        if (t->chans[i] == ch) return 0;
    if (t->nchan == CT_MAX_CHANS) return TG_EINTERNAL;
    t->chans[t->nchan++] = ch;
    return 0;
}

static cudnnTensorDescriptor_t tdesc_of(const trainer_cuda_t *t, int ch) {
    for (int i = 0; i < t->nchan; i++)
        if (t->chans[i] == ch) return t->tdesc[i];
    return NULL;
}

/* Registers a conv layer; returns its index. */
static int add_conv(trainer_cuda_t *t, train_layer_t w, size_t *wk_total) {
    int s = 0;
    for (; s < t->nshape; s++)
        if (t->shapes[s].k == w.k && t->shapes[s].ic == w.ic && t->shapes[s].oc == w.oc) break;
    if (s == t->nshape) {
        memset(&t->shapes[s], 0, sizeof(t->shapes[s]));
        t->shapes[s].k = w.k, t->shapes[s].ic = w.ic, t->shapes[s].oc = w.oc;
        t->nshape++;
    }
    const size_t elems = (size_t)w.k * w.k * w.ic * w.oc;
    t->convs[t->nconv] = (ct_conv_t){.w = w, .shape = s, .wk_off = *wk_total};
    *wk_total += elems;
    if (elems > t->dwk_elems) t->dwk_elems = elems;
    add_chan(t, w.ic);
    add_chan(t, w.oc);
    return t->nconv++;
}

/* Row-major C (M, N) = op(A) op(B) + beta C, as train__gemm, through column-major cuBLAS:
 * C^T = op(B)^T op(A)^T. */
static int gemm(trainer_cuda_t *t, int ta, int tb, int M, int N, int K, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc, tg_err_t *err) {
    if (M <= 0 || N <= 0) return 0;
    const float one = 1.0f;
    CT_CUBLAS(cublasSgemm(t->cublas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                          N, M, K, &one, B, ldb, A, lda, &beta, C, ldc));
    return 0;
}

/* y (n, oc) = x (n, ic) W [+ b], then ReLU when relu (net.c linear_fwd [+ relu_inplace]). */
static int linear_fwd(trainer_cuda_t *t, train_layer_t w, const train_layer_t *b, const float *x,
                      int n, float *y, int relu, tg_err_t *err) {
    CT_TRY(gemm(t, 0, 0, n, w.oc, w.ic, x, w.ic, dparam(t, w), w.oc, 0.0f, y, w.oc, err));
    if (b || relu)
        CT_CUDA(tg_cuda_vec_bias_act(y, n, w.oc, w.oc, b ? dparam(t, *b) : NULL,
                                     relu ? TG_CUDA_ACT_RELU : TG_CUDA_ACT_IDENTITY, t->stream));
    return 0;
}

/* net.c linear_bwd: dW += x^T dy, db += sum dy, dx = dy W^T (added when acc). */
static int linear_bwd(trainer_cuda_t *t, train_layer_t w, const train_layer_t *b, const float *x,
                      const float *dy, int n, float *dx, int acc, tg_err_t *err) {
    CT_TRY(gemm(t, 1, 0, w.ic, w.oc, n, x, w.ic, dy, w.oc, 1.0f, dgrad(t, w), w.oc, err));
    if (b) CT_CUDA(tg_cuda_train_col_sum(dy, (size_t)n, w.oc, w.oc, dgrad(t, *b), t->stream));
    if (dx)
        CT_TRY(gemm(t, 0, 1, n, w.ic, w.oc, dy, w.oc, dparam(t, w), w.oc, acc ? 1.0f : 0.0f, dx,
                    w.ic, err));
    return 0;
}

/* y = conv(x) + beta y (train__conv_fwd; beta = 1 fuses the residual add). */
static int conv_fwd(trainer_cuda_t *t, int ci, const void *x, void *y, float beta, tg_err_t *err) {
    const ct_conv_t *cv = &t->convs[ci];
    const ct_shape_t *sh = &t->shapes[cv->shape];
    const float one = 1.0f;
    CT_CUDNN(cudnnSetConvolutionMathType(sh->cdesc, (cudnnMathType_t)sh->fwd_math));
    CT_CUDNN(cudnnConvolutionForward(t->cudnn, &one, tdesc_of(t, sh->ic), x, sh->wdesc,
                                     (char *)t->wk + cv->wk_off * t->es, sh->cdesc,
                                     (cudnnConvolutionFwdAlgo_t)sh->fwd_algo, t->ws,
                                     t->co.workspace_bytes, &beta, tdesc_of(t, sh->oc), y));
    return 0;
}

/* train__conv_bwd: grads += dW; dx = input gradient (added when dx_acc), skipped when NULL. */
static int conv_bwd(trainer_cuda_t *t, int ci, const void *x, const void *dy, void *dx, int dx_acc,
                    tg_err_t *err) {
    const ct_conv_t *cv = &t->convs[ci];
    const ct_shape_t *sh = &t->shapes[cv->shape];
    const float one = 1.0f, zero = 0.0f, bdx = dx_acc ? 1.0f : 0.0f;
    CT_CUDNN(cudnnSetConvolutionMathType(sh->cdesc, (cudnnMathType_t)sh->bwd_filt_math));
    CT_CUDNN(cudnnConvolutionBackwardFilter(
        t->cudnn, &one, tdesc_of(t, sh->ic), x, tdesc_of(t, sh->oc), dy, sh->cdesc,
        (cudnnConvolutionBwdFilterAlgo_t)sh->bwd_filt_algo, t->ws, t->co.workspace_bytes, &zero,
        sh->wdesc, t->dwk));
    CT_CUDA(tg_cuda_train_dw_from_krsc(t->dwk, t->dtype, cv->w.k * cv->w.k, cv->w.ic, cv->w.oc,
                                       dgrad(t, cv->w), t->stream));
    if (dx) {
        CT_CUDNN(cudnnSetConvolutionMathType(sh->cdesc, (cudnnMathType_t)sh->bwd_data_math));
        CT_CUDNN(cudnnConvolutionBackwardData(
            t->cudnn, &one, sh->wdesc, (char *)t->wk + cv->wk_off * t->es, tdesc_of(t, sh->oc), dy,
            sh->cdesc, (cudnnConvolutionBwdDataAlgo_t)sh->bwd_data_algo, t->ws,
            t->co.workspace_bytes, &bdx, tdesc_of(t, sh->ic), dx));
    }
    return 0;
}

/* KRSC copies of every conv filter from the current params. */
static int refresh_filters(trainer_cuda_t *t, tg_err_t *err) {
    for (int i = 0; i < t->nconv; i++) {
        const ct_conv_t *cv = &t->convs[i];
        CT_CUDA(tg_cuda_train_w_to_krsc(dparam(t, cv->w), cv->w.k * cv->w.k, cv->w.ic, cv->w.oc,
                                        (char *)t->wk + cv->wk_off * t->es, t->dtype, t->stream));
    }
    return 0;
}

/* ---- algorithm choice ---------------------------------------------------------------------- */

/* Index of the first usable result: success, within the workspace, and (fp32 without TF32)
 * FMA math in a first pass. -1 when none. */
#define CT_PICK(perf, got, t, out)                                                                 \
    do {                                                                                           \
        (out) = -1;                                                                                \
        const int strict__ = (t)->dtype == TG_CUDA_TRAIN_FP32 && !(t)->co.tf32;                    \
        for (int pass__ = strict__ ? 0 : 1; pass__ < 2 && (out) < 0; pass__++)                     \
            for (int i__ = 0; i__ < (got) && (out) < 0; i__++)                                     \
                if ((perf)[i__].status == CUDNN_STATUS_SUCCESS &&                                  \
                    (perf)[i__].memory <= (t)->co.workspace_bytes &&                               \
                    (pass__ == 1 || (perf)[i__].mathType == CUDNN_FMA_MATH))                       \
                    (out) = i__;                                                                   \
    } while (0)

/* Points the tensor descriptors at batch n and picks (cuDNN heuristics) the forward,
 * backward-data and backward-filter algorithm of every shape. */
static int set_batch(trainer_cuda_t *t, int n, tg_err_t *err) {
    if (t->cur_n == n) return 0;
    const cudnnDataType_t dt = t->dtype == TG_CUDA_TRAIN_FP16   ? CUDNN_DATA_HALF
                               : t->dtype == TG_CUDA_TRAIN_BF16 ? CUDNN_DATA_BFLOAT16
                                                                : CUDNN_DATA_FLOAT;
    t->cur_n = 0;
    for (int i = 0; i < t->nchan; i++)
        CT_CUDNN(cudnnSetTensor4dDescriptor(t->tdesc[i], CUDNN_TENSOR_NHWC, dt, n, t->chans[i],
                                            t->len, t->len));
    for (int s = 0; s < t->nshape; s++) {
        ct_shape_t *sh = &t->shapes[s];
        cudnnTensorDescriptor_t xd = tdesc_of(t, sh->ic), yd = tdesc_of(t, sh->oc);
        int got = 0, pick;
        cudnnConvolutionFwdAlgoPerf_t pf[CT_MAX_ALGOS];
        CT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(t->cudnn, xd, sh->wdesc, sh->cdesc, yd,
                                                        CT_MAX_ALGOS, &got, pf));
        CT_PICK(pf, got, t, pick);
        if (pick < 0) goto none;
        sh->fwd_algo = (int)pf[pick].algo, sh->fwd_math = (int)pf[pick].mathType;
        cudnnConvolutionBwdDataAlgoPerf_t pd[CT_MAX_ALGOS];
        CT_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(t->cudnn, sh->wdesc, yd, sh->cdesc, xd,
                                                             CT_MAX_ALGOS, &got, pd));
        CT_PICK(pd, got, t, pick);
        if (pick < 0) goto none;
        sh->bwd_data_algo = (int)pd[pick].algo, sh->bwd_data_math = (int)pd[pick].mathType;
        cudnnConvolutionBwdFilterAlgoPerf_t pw[CT_MAX_ALGOS];
        CT_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(t->cudnn, xd, yd, sh->cdesc,
                                                               sh->wdesc, CT_MAX_ALGOS, &got, pw));
        CT_PICK(pw, got, t, pick);
        if (pick < 0) goto none;
        sh->bwd_filt_algo = (int)pw[pick].algo, sh->bwd_filt_math = (int)pw[pick].mathType;
        continue;
    none:
        return tg_err_set(err, TG_EUNSUPPORTED,
                          "train cuda: no cuDNN algorithm for conv %dx%d %d->%d at batch %d, "
                          "%dx%d, %s within %zu bytes of workspace",
                          sh->k, sh->k, sh->ic, sh->oc, n, t->len, t->len,
                          train_cuda_precision_name((train_cuda_precision_t)t->dtype),
                          t->co.workspace_bytes);
    }
    t->cur_n = n;
    return 0;
}

/* ---- create / destroy ------------------------------------------------------------------------ */

void trainer_cuda_destroy(trainer_cuda_t *t) {
    if (!t) return;
    if (t->stream) cudaStreamSynchronize(t->stream);
    if (t->copy_stream) cudaStreamSynchronize(t->copy_stream);
    for (int s = 0; s < t->nshape; s++) {
        if (t->shapes[s].wdesc) cudnnDestroyFilterDescriptor(t->shapes[s].wdesc);
        if (t->shapes[s].cdesc) cudnnDestroyConvolutionDescriptor(t->shapes[s].cdesc);
    }
    for (int i = 0; i < t->nchan; i++)
        if (t->tdesc[i]) cudnnDestroyTensorDescriptor(t->tdesc[i]);
    for (int k = 0; k < 2; k++) {
        if (t->slot[k].host) cudaFreeHost(t->slot[k].host);
        if (t->slot[k].dev) cudaFree(t->slot[k].dev);
        if (t->slot[k].up_done) cudaEventDestroy(t->slot[k].up_done);
        if (t->slot[k].slot_free) cudaEventDestroy(t->slot[k].slot_free);
    }
    if (t->d_params) cudaFree(t->d_params); /* the one device arena (ct_carve_all) */
    if (t->h_loss) cudaFreeHost(t->h_loss);
    if (t->cublas) cublasDestroy(t->cublas);
    if (t->cudnn) cudnnDestroy(t->cudnn);
    if (t->stream) cudaStreamDestroy(t->stream);
    if (t->copy_stream) cudaStreamDestroy(t->copy_stream);
    train_model_free(&t->model);
    free(t->swa.avg);
    free(t);
}

/* Two-pass carving of the single device arena: pass 0 (base NULL) sums sizes, pass 1 assigns
 * pointers (256-byte aligned). */
typedef struct ct_carve_s {
    char *base;
    size_t used;
} ct_carve_t;

static void *ct_take(ct_carve_t *c, size_t bytes) {
    bytes = (bytes + 255) / 256 * 256;
    void *p = c->base ? c->base + c->used : NULL;
    c->used += bytes;
    return p;
}

static size_t imaxz(size_t a, size_t b) { return a > b ? a : b; }

/* Lays out every device buffer; the arena starts with d_params. */
static void ct_carve_all(trainer_cuda_t *t, ct_carve_t *c) {
    const train_model_t *m = &t->model;
    const train_config_t *cf = &m->cfg;
    const size_t np = m->num_params, B = (size_t)t->B, hw = (size_t)t->hw, rows = B * hw;
    const size_t es = t->es, S = (size_t)t->S;
    const int C = cf->c_trunk, G = cf->c_gpool, P1 = cf->c_p1, G1 = cf->c_g1, V1 = cf->c_v1;
    const int V2 = cf->c_v2, SB = cf->c_sb, K = cf->num_sb, NP = TRAIN_POLICY_OUTPUTS;
    t->d_params = ct_take(c, np * sizeof(float));
    t->d_grads = ct_take(c, np * sizeof(float));
    t->d_mom = ct_take(c, np * sizeof(float));
    t->d_slow = ct_take(c, np * sizeof(float));
    t->d_group = ct_take(c, np);
    size_t wk_total = 0;
    for (int i = 0; i < t->nconv; i++)
        wk_total += (size_t)t->convs[i].w.k * t->convs[i].w.k * t->convs[i].w.ic * t->convs[i].w.oc;
    t->wk = ct_take(c, wk_total * es);
    t->dwk = ct_take(c, t->dwk_elems * es);
    t->ws = ct_take(c, t->co.workspace_bytes);
    t->blas_ws = ct_take(c, CT_BLAS_BYTES);
    for (int b = 0; b <= cf->num_blocks; b++)
        t->X[b] = ct_take(c, rows * C * es);
    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        ct_block_t *nb = &t->blk[b];
        nb->A = ct_take(c, rows * C * es);
        nb->H = ct_take(c, rows * bk->c_reg * es);
        nb->Bv = ct_take(c, rows * bk->c_reg * es);
        if (bk->gpool) {
            nb->G = ct_take(c, rows * G * es);
            nb->GG = ct_take(c, rows * G * es);
            nb->P = ct_take(c, B * 3 * G * sizeof(float));
            nb->arg = ct_take(c, B * G * sizeof(int));
        }
    }
    t->T = ct_take(c, rows * C * es);
    t->PP = ct_take(c, rows * P1 * es);
    t->PA = ct_take(c, rows * P1 * es);
    t->PG = ct_take(c, rows * G1 * es);
    t->PGG = ct_take(c, rows * G1 * es);
    t->PLs = ct_take(c, rows * NP * es);
    t->VV = ct_take(c, rows * V1 * es);
    t->V = ct_take(c, rows * V1 * es);
    t->OWNs = ct_take(c, rows * es);
    t->PQ = ct_take(c, B * 3 * G1 * sizeof(float));
    t->PARG = ct_take(c, B * G1 * sizeof(int));
    t->PH = ct_take(c, B * P1 * sizeof(float));
    t->VP = ct_take(c, B * 3 * V1 * sizeof(float));
    t->VH = ct_take(c, B * V2 * sizeof(float));
    t->S2 = ct_take(c, B * SB * sizeof(float));
    t->U = ct_take(c, B * S * SB * sizeof(float));
    t->dU = ct_take(c, B * S * SB * sizeof(float));
    t->Z = ct_take(c, B * S * K * sizeof(float));
    t->dZ = ct_take(c, B * S * K * sizeof(float));
    t->LSZ = ct_take(c, B * S * K * sizeof(float));
    t->MIX = ct_take(c, B * K * sizeof(float));
    t->LW = ct_take(c, B * K * sizeof(float));
    tg_cuda_train_heads_t *hs[2] = {&t->out, &t->grad};
    for (int k = 0; k < 2; k++) {
        hs[k]->policy = ct_take(c, rows * NP * sizeof(float));
        hs[k]->pass = ct_take(c, B * NP * sizeof(float));
        hs[k]->value = ct_take(c, B * 3 * sizeof(float));
        hs[k]->misc = ct_take(c, B * TRAIN_MISC_OUTPUTS * sizeof(float));
        hs[k]->moremisc = ct_take(c, B * TRAIN_MOREMISC_OUTPUTS * sizeof(float));
        hs[k]->own = ct_take(c, rows * sizeof(float));
        hs[k]->score_logp = ct_take(c, B * S * sizeof(float));
    }
    t->dX = ct_take(c, rows * C * es);
    t->dA = ct_take(c, rows * t->maxc * es);
    t->dR = ct_take(c, rows * t->maxc * es);
    t->dG = ct_take(c, rows * t->maxc * es);
    t->gPLs = ct_take(c, rows * NP * es);
    t->gOWNs = ct_take(c, rows * es);
    const size_t vlen =
        B * imaxz(imaxz(3 * (size_t)t->maxc, (size_t)V2 + SB), imaxz(3 * (size_t)V1 + 3 * G1, 64));
    t->vec1 = ct_take(c, vlen * sizeof(float));
    t->vec2 = ct_take(c, vlen * sizeof(float));
    t->vec3 = ct_take(c, vlen * sizeof(float));
    t->spatial = ct_take(c, rows * TRAIN_SPATIAL_IN * es);
    t->mask = ct_take(c, rows * sizeof(float));
    t->mask_sum = ct_take(c, B * sizeof(float));
    t->policy_f = ct_take(c, B * 2 * (hw + 1) * sizeof(float));
    t->score_f = ct_take(c, B * S * sizeof(float));
    t->owner_f = ct_take(c, rows * sizeof(float));
    t->perm = ct_take(c, 8 * hw * sizeof(int));
    t->d_loss = ct_take(c, B * TRAIN_LOSS_COUNT * sizeof(double));
    t->d_partial = ct_take(c, TG_CUDA_TRAIN_SUMSQ_PART * sizeof(double));
    t->d_sumsq = ct_take(c, sizeof(double));
    t->d_skipped = ct_take(c, sizeof(int));
}

/* Bytes of one packed staging slot, and its views at base. */
static size_t slot_layout(const trainer_cuda_t *t, char *base, ct_packed_t *v) {
    ct_carve_t c = {.base = base, .used = 0};
    const size_t B = (size_t)t->B, hw = (size_t)t->hw;
    ct_packed_t tmp;
    if (!v) v = &tmp;
    v->global = ct_take(&c, B * TRAIN_GLOBAL_IN * sizeof(float));
    v->gtargets = ct_take(&c, B * TRAINROWS_GLOBAL_TARGETS * sizeof(float));
    v->policy = ct_take(&c, B * 2 * (hw + 1) * sizeof(int16_t));
    v->bits = ct_take(&c, B * TRAIN_SPATIAL_IN * (size_t)t->packed_len);
    v->score = ct_take(&c, B * (size_t)t->S);
    v->owner = ct_take(&c, B * hw);
    return c.used;
}

static int create_device(trainer_cuda_t *t, tg_err_t *err) {
    CT_CUDA(cudaSetDevice(t->co.device));
    CT_CUDA(cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking));
    CT_CUDA(cudaStreamCreateWithFlags(&t->copy_stream, cudaStreamNonBlocking));
    if (cudnnCreate(&t->cudnn) != CUDNN_STATUS_SUCCESS) {
        t->cudnn = NULL;
        return tg_err_set(err, TG_EINTERNAL, "train cuda: cudnnCreate failed");
    }
    if (cublasCreate(&t->cublas) != CUBLAS_STATUS_SUCCESS) {
        t->cublas = NULL;
        return tg_err_set(err, TG_EINTERNAL, "train cuda: cublasCreate failed");
    }
    CT_CUDNN(cudnnSetStream(t->cudnn, t->stream));
    CT_CUBLAS(cublasSetStream(t->cublas, t->stream));
    CT_CUBLAS(cublasSetMathMode(t->cublas, (t->dtype == TG_CUDA_TRAIN_FP32 && !t->co.tf32)
                                               ? CUBLAS_DEFAULT_MATH
                                               : CUBLAS_TF32_TENSOR_OP_MATH));

    /* Conv layers in forward order. */
    const train_model_t *m = &t->model;
    const train_config_t *cf = &m->cfg;
    size_t wk_total = 0;
    t->c_spatial = add_conv(t, m->conv_spatial, &wk_total);
    for (int b = 0; b < cf->num_blocks; b++) {
        t->c_conv1[b] = add_conv(t, m->blocks[b].conv1, &wk_total);
        t->c_conv1g[b] = m->blocks[b].gpool ? add_conv(t, m->blocks[b].conv1g, &wk_total) : -1;
        t->c_conv2[b] = add_conv(t, m->blocks[b].conv2, &wk_total);
    }
    t->c_p1p = add_conv(t, m->p_conv1p, &wk_total);
    t->c_p1g = add_conv(t, m->p_conv1g, &wk_total);
    t->c_p2p = add_conv(t, m->p_conv2p, &wk_total);
    t->c_v1 = add_conv(t, m->v_conv1, &wk_total);
    t->c_own = add_conv(t, m->v_conv_own, &wk_total);
    if (t->nchan > CT_MAX_CHANS)
        return tg_err_set(err, TG_EINTERNAL, "train cuda: too many channel counts");
    const cudnnDataType_t dt = t->dtype == TG_CUDA_TRAIN_FP16   ? CUDNN_DATA_HALF
                               : t->dtype == TG_CUDA_TRAIN_BF16 ? CUDNN_DATA_BFLOAT16
                                                                : CUDNN_DATA_FLOAT;
    for (int s = 0; s < t->nshape; s++) {
        ct_shape_t *sh = &t->shapes[s];
        CT_CUDNN(cudnnCreateFilterDescriptor(&sh->wdesc));
        CT_CUDNN(cudnnSetFilter4dDescriptor(sh->wdesc, dt, CUDNN_TENSOR_NHWC, sh->oc, sh->ic, sh->k,
                                            sh->k));
        CT_CUDNN(cudnnCreateConvolutionDescriptor(&sh->cdesc));
        CT_CUDNN(cudnnSetConvolution2dDescriptor(sh->cdesc, sh->k / 2, sh->k / 2, 1, 1, 1, 1,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        CT_CUDNN(cudnnSetConvolutionMathType(
            sh->cdesc, (t->dtype == TG_CUDA_TRAIN_FP32 && !t->co.tf32) ? CUDNN_FMA_MATH
                                                                       : CUDNN_TENSOR_OP_MATH));
    }
    for (int i = 0; i < t->nchan; i++)
        CT_CUDNN(cudnnCreateTensorDescriptor(&t->tdesc[i]));

    /* The device arena. */
    ct_carve_t c = {.base = NULL, .used = 0};
    ct_carve_all(t, &c);
    void *arena = NULL;
    cudaError_t e = cudaMalloc(&arena, c.used);
    if (e != cudaSuccess)
        return tg_err_set(err, TG_ENOMEM,
                          "train cuda: cannot allocate %zu MiB of device memory: %s", c.used >> 20,
                          cudaGetErrorString(e));
    CT_CUDA(cudaMemset(arena, 0, c.used));
    ct_carve_t c2 = {.base = arena, .used = 0};
    ct_carve_all(t, &c2); /* d_params == arena */
    CT_CUBLAS(cublasSetWorkspace(t->cublas, t->blas_ws, CT_BLAS_BYTES));

    /* Staging slots, results. */
    const size_t slot_bytes = slot_layout(t, NULL, NULL);
    for (int k = 0; k < 2; k++) {
        ct_slot_t *sl = &t->slot[k];
        if (cudaHostAlloc(&sl->host, slot_bytes, 0) != cudaSuccess) {
            sl->host = NULL;
            return tg_err_set(err, TG_ENOMEM, "train cuda: cannot allocate pinned staging");
        }
        memset(sl->host, 0, slot_bytes);
        CT_CUDA(cudaMalloc(&sl->dev, slot_bytes));
        slot_layout(t, sl->host, &sl->h);
        slot_layout(t, sl->dev, &sl->d);
        CT_CUDA(cudaEventCreateWithFlags(&sl->up_done, cudaEventDisableTiming));
        CT_CUDA(cudaEventCreateWithFlags(&sl->slot_free, cudaEventDisableTiming));
    }
    const size_t res_bytes =
        (size_t)t->B * TRAIN_LOSS_COUNT * sizeof(double) + sizeof(double) + sizeof(int);
    if (cudaHostAlloc((void **)&t->h_loss, res_bytes, 0) != cudaSuccess) {
        t->h_loss = NULL;
        return tg_err_set(err, TG_ENOMEM, "train cuda: cannot allocate pinned results");
    }
    t->h_sumsq = t->h_loss + (size_t)t->B * TRAIN_LOSS_COUNT;
    t->h_skipped = (int *)(t->h_sumsq + 1);

    /* Symmetry tables (perm[sym][dst] = src, as tg_nn_symmetry_apply), groups, params. */
    const int len = t->len, hw = t->hw;
    int *perm = malloc(sizeof(int) * 8 * (size_t)hw);
    uint8_t *group = calloc(m->num_params, 1); /* gaps between tensors: group 0 */
    if (!perm || !group) {
        free(perm);
        free(group);
        return tg_err_set(err, TG_ENOMEM, "train cuda: out of host memory");
    }
    for (int sym = 0; sym < 8; sym++)
        for (int y = 0; y < len; y++)
            for (int x = 0; x < len; x++) {
                int sx, sy;
                tg_nn_symmetry_point(x, y, len, sym, &sx, &sy);
                perm[sym * hw + sy * len + sx] = y * len + x;
            }
    for (int i = 0; i < m->num_tensors; i++)
        memset(group + m->tensors[i].offset, (int)m->tensors[i].group, m->tensors[i].count);
    e = cudaMemcpy(t->perm, perm, sizeof(int) * 8 * (size_t)hw, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(t->d_group, group, m->num_params, cudaMemcpyHostToDevice);
    free(perm);
    free(group);
    CT_CUDA(e);
    CT_TRY(trainer_cuda_upload_params(t, err));
    return 0;
}

int trainer_cuda_create(trainer_cuda_t **out, const train_options_t *o,
                        const train_cuda_options_t *co, tg_err_t *err) {
    *out = NULL;
    if (o->batch < 1 || o->batch > 4096)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: batch %d out of range [1, 4096]",
                          o->batch);
    if (o->pos_len < 1 || o->pos_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: pos_len %d out of range", o->pos_len);
    if (!(o->lr_per_sample >= 0) || !(o->lr_scale > 0) || !(o->momentum >= 0) ||
        o->lookahead_k < 0 || (o->lookahead_k > 0 && !(o->lookahead_alpha > 0)))
        return tg_err_set(err, TG_EINVAL, "trainer cuda: bad optimizer settings");
    if (o->swa && (o->swa_period_samples < 1 || !(o->swa_scale >= 1.0)))
        return tg_err_set(err, TG_EINVAL, "trainer cuda: bad SWA settings (period %lld, scale %g)",
                          (long long)o->swa_period_samples, o->swa_scale);
    if ((int)co->precision < 0 || co->precision > TRAIN_CUDA_BF16)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: bad precision %d", (int)co->precision);
    if (o->cfg.num_sb > 64)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: %d score-belief components (max 64)",
                          o->cfg.num_sb);
    char why[256];
    const int ndev = tg_nn_cuda_device_count(why, sizeof why);
    if (ndev <= 0) return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", why);
    if (co->device < 0 || co->device >= ndev)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: device %d out of range [0, %d)",
                          co->device, ndev);
    trainer_cuda_t *t = calloc(1, sizeof(*t));
    if (!t) return tg_err_set(err, TG_ENOMEM, "trainer cuda: out of memory");
    t->opt = *o;
    t->co = *co;
    if (t->co.workspace_bytes < ((size_t)1 << 20)) t->co.workspace_bytes = (size_t)1 << 20;
    if (t->co.loss_scale_window < 1) t->co.loss_scale_window = 1;
    int rc = train_model_init(&t->model, &o->cfg, o->pos_len, o->seed, err);
    if (rc) {
        free(t);
        return rc;
    }
    t->swa.avg = malloc(t->model.num_params * sizeof(float));
    if (!t->swa.avg) {
        trainer_cuda_destroy(t);
        return tg_err_set(err, TG_ENOMEM, "trainer cuda: out of memory");
    }
    const train_config_t *cf = &o->cfg;
    t->dtype = (int)co->precision;
    t->es = t->dtype == TG_CUDA_TRAIN_FP32 ? 4 : 2;
    t->len = o->pos_len;
    t->hw = o->pos_len * o->pos_len;
    t->S = t->model.score_len;
    t->B = o->batch;
    t->packed_len = (t->hw + 7) / 8;
    int maxc = cf->c_trunk > cf->c_mid ? cf->c_trunk : cf->c_mid;
    const int hc[3] = {cf->c_p1, cf->c_g1, cf->c_v1};
    for (int i = 0; i < 3; i++)
        if (hc[i] > maxc) maxc = hc[i];
    t->maxc = maxc;
    t->loss_scale = t->dtype == TG_CUDA_TRAIN_FP16 && co->loss_scale > 0 ? co->loss_scale : 1.0;
    tg_rng_seed(&t->rng, o->seed, 0x73616d70u); /* trainer.c's sampling stream */
    rc = create_device(t, err);
    if (rc < 0) {
        trainer_cuda_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- params to and from the device ------------------------------------------------------------
 */

int trainer_cuda_upload_params(trainer_cuda_t *t, tg_err_t *err) {
    const size_t bytes = t->model.num_params * sizeof(float);
    CT_CUDA(cudaStreamSynchronize(t->stream));
    CT_CUDA(cudaMemcpy(t->d_params, t->model.params, bytes, cudaMemcpyHostToDevice));
    CT_CUDA(cudaMemcpy(t->d_mom, t->model.momentum, bytes, cudaMemcpyHostToDevice));
    CT_CUDA(cudaMemcpy(t->d_slow, t->model.params, bytes, cudaMemcpyHostToDevice));
    CT_TRY(refresh_filters(t, err));
    CT_CUDA(cudaStreamSynchronize(t->stream));
    return 0;
}

static int download_params(trainer_cuda_t *t, float *slow, tg_err_t *err) {
    const size_t bytes = t->model.num_params * sizeof(float);
    CT_CUDA(cudaStreamSynchronize(t->stream));
    CT_CUDA(cudaMemcpy(t->model.params, t->d_params, bytes, cudaMemcpyDeviceToHost));
    CT_CUDA(cudaMemcpy(t->model.momentum, t->d_mom, bytes, cudaMemcpyDeviceToHost));
    if (slow) CT_CUDA(cudaMemcpy(slow, t->d_slow, bytes, cudaMemcpyDeviceToHost));
    return 0;
}

train_model_t *trainer_cuda_model(trainer_cuda_t *t) {
    tg_err_t err;
    if (download_params(t, NULL, &err) < 0) TG_LOGE("%s", err.msg);
    return &t->model;
}

int64_t trainer_cuda_steps(const trainer_cuda_t *t) { return t->steps; }
int64_t trainer_cuda_samples(const trainer_cuda_t *t) { return t->samples; }
int64_t trainer_cuda_skipped_steps(const trainer_cuda_t *t) { return t->skipped; }
double trainer_cuda_loss_scale(const trainer_cuda_t *t) { return t->loss_scale; }
void trainer_cuda_set_lr(trainer_cuda_t *t, double lr) { t->opt.lr_per_sample = lr; }
void trainer_cuda__set_exact_grad(trainer_cuda_t *t, int exact) { t->exact_grad = exact; }

/* ---- batches ------------------------------------------------------------------------------------
 */

/* Row i of slot sl from row r of d, packed (the CPU twin is trainer.c's batch_put_row). */
static void slot_put_row(const trainer_cuda_t *t, ct_slot_t *sl, int i, const trainrows_t *d,
                         int r) {
    const size_t hw = (size_t)t->hw, pl = (size_t)t->packed_len;
    memcpy(sl->h.bits + (size_t)i * TRAIN_SPATIAL_IN * pl, trainrows_binary_row(d, r),
           TRAIN_SPATIAL_IN * pl);
    memcpy(sl->h.global + (size_t)i * TRAIN_GLOBAL_IN, trainrows_global_input_row(d, r),
           sizeof(float) * TRAIN_GLOBAL_IN);
    memcpy(sl->h.policy + (size_t)i * 2 * (hw + 1), trainrows_policy_row(d, r),
           sizeof(int16_t) * 2 * (hw + 1));
    const float *gt = trainrows_global_targets_row(d, r);
    memcpy(sl->h.gtargets + (size_t)i * TRAINROWS_GLOBAL_TARGETS, gt,
           sizeof(float) * TRAINROWS_GLOBAL_TARGETS);
    memcpy(sl->h.score + (size_t)i * t->S, trainrows_score_distr_row(d, r), (size_t)t->S);
    memcpy(sl->h.owner + (size_t)i * hw, trainrows_value_row(d, r), hw); /* channel 0 */
    sl->weight_sum += gt[TRAINROWS_GT_ROW_WEIGHT];
}

/* Waits until slot k's host buffer may be rewritten (its last upload is done). */
static int slot_acquire(trainer_cuda_t *t, int k, tg_err_t *err) {
    CT_CUDA(cudaEventSynchronize(t->slot[k].up_done));
    t->slot[k].weight_sum = 0.0;
    return 0;
}

/* Queues the upload of slot k on the copy stream, after the slot's previous unpack. */
static int slot_upload(trainer_cuda_t *t, int k, tg_err_t *err) {
    ct_slot_t *sl = &t->slot[k];
    const size_t bytes = slot_layout(t, NULL, NULL);
    CT_CUDA(cudaStreamWaitEvent(t->copy_stream, sl->slot_free, 0));
    CT_CUDA(cudaMemcpyAsync(sl->dev, sl->host, bytes, cudaMemcpyHostToDevice, t->copy_stream));
    CT_CUDA(cudaEventRecord(sl->up_done, t->copy_stream));
    return 0;
}

/* Draws a batch exactly as trainer_step does (symmetry, then rows) into slot k. */
static int slot_sample(trainer_cuda_t *t, int k, const trainrows_t *const *data, int num_data,
                       int64_t total, tg_err_t *err) {
    CT_TRY(slot_acquire(t, k, err));
    ct_slot_t *sl = &t->slot[k];
    sl->sym = t->opt.symmetries ? (int)tg_rng_below(&t->rng, 8) : 0;
    sl->n = t->opt.batch;
    for (int i = 0; i < sl->n; i++) {
        int64_t idx;
        if (t->opt.sample == TRAIN_SAMPLE_SEQUENTIAL)
            idx = (int64_t)(t->seq_pos++ % (uint64_t)total);
        else
            idx = (int64_t)(tg_rng_u64(&t->rng) % (uint64_t)total);
        int j = 0;
        while (idx >= data[j]->num_rows)
            idx -= data[j++]->num_rows;
        slot_put_row(t, sl, i, data[j], (int)idx);
    }
    (void)num_data;
    return slot_upload(t, k, err);
}

static uint64_t data_signature(const trainrows_t *const *data, int num_data) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)num_data;
    for (int k = 0; k < num_data; k++) {
        h = (h ^ (uint64_t)(uintptr_t)data[k]) * 1099511628211ull;
        h = (h ^ (uint64_t)data[k]->num_rows) * 1099511628211ull;
    }
    return h;
}

/* ---- the step on the device ------------------------------------------------------------------ */

static int enqueue_forward(trainer_cuda_t *t, const float *global, tg_err_t *err) {
    const train_model_t *m = &t->model;
    const train_config_t *cf = &m->cfg;
    const int n = t->cur_n, hw = t->hw, dt = t->dtype, C = cf->c_trunk, G = cf->c_gpool;
    const size_t rows = (size_t)n * hw;
    cudaStream_t st = t->stream;

    CT_TRY(conv_fwd(t, t->c_spatial, t->spatial, t->X[0], 0.0f, err));
    CT_TRY(linear_fwd(t, m->linear_global, NULL, global, n, t->vec1, 0, err));
    CT_CUDA(tg_cuda_train_add_bcast(t->X[0], dt, n, hw, C, t->vec1, C, st));
    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        ct_block_t *nb = &t->blk[b];
        const int R = bk->c_reg;
        CT_CUDA(tg_cuda_train_normact_fwd(t->X[b], nb->A, dt, rows, C, NULL, dparam(t, bk->beta1),
                                          t->mask, st));
        CT_TRY(conv_fwd(t, t->c_conv1[b], nb->A, nb->H, 0.0f, err));
        if (bk->gpool) {
            CT_TRY(conv_fwd(t, t->c_conv1g[b], nb->A, nb->G, 0.0f, err));
            CT_CUDA(tg_cuda_train_normact_fwd(nb->G, nb->GG, dt, rows, G, NULL,
                                              dparam(t, bk->betag), t->mask, st));
            CT_CUDA(tg_cuda_train_gpool_fwd(nb->GG, dt, n, hw, G, t->mask, t->mask_sum, nb->P,
                                            nb->arg, st));
            CT_TRY(linear_fwd(t, bk->linear_g, NULL, nb->P, n, t->vec1, 0, err));
            CT_CUDA(tg_cuda_train_add_bcast(nb->H, dt, n, hw, R, t->vec1, R, st));
        }
        CT_CUDA(tg_cuda_train_normact_fwd(nb->H, nb->Bv, dt, rows, R, dparam(t, bk->gamma2),
                                          dparam(t, bk->beta2), t->mask, st));
        CT_CUDA(
            cudaMemcpyAsync(t->X[b + 1], t->X[b], rows * C * t->es, cudaMemcpyDeviceToDevice, st));
        CT_TRY(conv_fwd(t, t->c_conv2[b], nb->Bv, t->X[b + 1], 1.0f, err));
    }
    CT_CUDA(tg_cuda_train_normact_fwd(t->X[cf->num_blocks], t->T, dt, rows, C, NULL,
                                      dparam(t, m->beta_final), t->mask, st));

    /* Policy head. */
    const int P1 = cf->c_p1, G1 = cf->c_g1, NP = TRAIN_POLICY_OUTPUTS;
    CT_TRY(conv_fwd(t, t->c_p1p, t->T, t->PP, 0.0f, err));
    CT_TRY(conv_fwd(t, t->c_p1g, t->T, t->PG, 0.0f, err));
    CT_CUDA(tg_cuda_train_normact_fwd(t->PG, t->PGG, dt, rows, G1, NULL, dparam(t, m->p_biasg),
                                      t->mask, st));
    CT_CUDA(
        tg_cuda_train_gpool_fwd(t->PGG, dt, n, hw, G1, t->mask, t->mask_sum, t->PQ, t->PARG, st));
    CT_TRY(linear_fwd(t, m->p_linear_g, NULL, t->PQ, n, t->vec1, 0, err));
    CT_CUDA(tg_cuda_train_add_bcast(t->PP, dt, n, hw, P1, t->vec1, P1, st));
    CT_CUDA(tg_cuda_train_normact_fwd(t->PP, t->PA, dt, rows, P1, NULL, dparam(t, m->p_bias2),
                                      t->mask, st));
    CT_TRY(conv_fwd(t, t->c_p2p, t->PA, t->PLs, 0.0f, err));
    CT_CUDA(tg_cuda_train_to_float(t->PLs, dt, rows, NP, NULL, t->out.policy, st));
    CT_TRY(linear_fwd(t, m->p_linear_pass, &m->p_linear_pass_bias, t->PQ, n, t->PH, 1, err));
    CT_TRY(linear_fwd(t, m->p_linear_pass2, NULL, t->PH, n, t->out.pass, 0, err));

    /* Value head. */
    const int V1 = cf->c_v1, SB = cf->c_sb, K = cf->num_sb, S = t->S;
    CT_TRY(conv_fwd(t, t->c_v1, t->T, t->VV, 0.0f, err));
    CT_CUDA(tg_cuda_train_normact_fwd(t->VV, t->V, dt, rows, V1, NULL, dparam(t, m->v_bias1),
                                      t->mask, st));
    CT_CUDA(tg_cuda_train_vpool_fwd(t->V, dt, n, hw, V1, t->mask_sum, t->VP, st));
    CT_TRY(linear_fwd(t, m->v_linear2, &m->v_bias2, t->VP, n, t->VH, 1, err));
    CT_TRY(linear_fwd(t, m->v_linear_value, &m->v_bias_value, t->VH, n, t->out.value, 0, err));
    CT_TRY(linear_fwd(t, m->v_linear_misc, &m->v_bias_misc, t->VH, n, t->out.misc, 0, err));
    CT_TRY(linear_fwd(t, m->v_linear_moremisc, &m->v_bias_moremisc, t->VH, n, t->out.moremisc, 0,
                      err));
    CT_TRY(conv_fwd(t, t->c_own, t->V, t->OWNs, 0.0f, err));
    CT_CUDA(tg_cuda_train_to_float(t->OWNs, dt, rows, 1, t->mask, t->out.own, st));

    /* Score belief. */
    CT_TRY(linear_fwd(t, m->s_linear2, &m->s_bias2, t->VP, n, t->S2, 0, err));
    CT_CUDA(tg_cuda_train_score_u(t->S2, global, dparam(t, m->s_off), dparam(t, m->s_par), n, S, SB,
                                  t->U, st));
    CT_TRY(linear_fwd(t, m->s_linear3, &m->s_bias3, t->U, n * S, t->Z, 0, err));
    CT_TRY(linear_fwd(t, m->s_mix, &m->s_bias_mix, t->VP, n, t->MIX, 0, err));
    CT_CUDA(
        tg_cuda_train_score_mix_fwd(t->Z, t->MIX, n, S, K, t->LSZ, t->LW, t->out.score_logp, st));
    return 0;
}

static int enqueue_backward(trainer_cuda_t *t, const float *global, tg_err_t *err) {
    const train_model_t *m = &t->model;
    const train_config_t *cf = &m->cfg;
    const int n = t->cur_n, hw = t->hw, dt = t->dtype, C = cf->c_trunk, G = cf->c_gpool;
    const size_t rows = (size_t)n * hw;
    const int P1 = cf->c_p1, G1 = cf->c_g1, NP = TRAIN_POLICY_OUTPUTS;
    const int V1 = cf->c_v1, V2 = cf->c_v2, SB = cf->c_sb, K = cf->num_sb, S = t->S;
    cudaStream_t st = t->stream;
    float *dVP = t->vec3;

    /* Score belief. */
    float *dMIX = t->vec1, *dS2 = t->vec2;
    CT_CUDA(tg_cuda_train_score_mix_bwd(t->grad.score_logp, t->LSZ, t->LW, t->out.score_logp, n, S,
                                        K, t->dZ, dMIX, st));
    CT_TRY(linear_bwd(t, m->s_linear3, &m->s_bias3, t->U, t->dZ, n * S, t->dU, 0, err));
    CT_CUDA(tg_cuda_train_relu_bwd(t->U, t->dU, (size_t)n * S * SB, st));
    CT_CUDA(tg_cuda_train_score_u_bwd(t->dU, global, n, S, SB, dS2, dgrad(t, m->s_off),
                                      dgrad(t, m->s_par), st));
    CT_TRY(linear_bwd(t, m->s_linear2, &m->s_bias2, t->VP, dS2, n, dVP, 0, err));
    CT_TRY(linear_bwd(t, m->s_mix, &m->s_bias_mix, t->VP, dMIX, n, dVP, 1, err));

    /* Value head. */
    float *dVH = t->vec1;
    CT_TRY(
        linear_bwd(t, m->v_linear_value, &m->v_bias_value, t->VH, t->grad.value, n, dVH, 0, err));
    CT_TRY(linear_bwd(t, m->v_linear_misc, &m->v_bias_misc, t->VH, t->grad.misc, n, dVH, 1, err));
    CT_TRY(linear_bwd(t, m->v_linear_moremisc, &m->v_bias_moremisc, t->VH, t->grad.moremisc, n, dVH,
                      1, err));
    CT_CUDA(tg_cuda_train_relu_bwd(t->VH, dVH, (size_t)n * V2, st));
    CT_TRY(linear_bwd(t, m->v_linear2, &m->v_bias2, t->VP, dVH, n, dVP, 1, err));
    void *dV = t->dA;
    CT_CUDA(tg_cuda_train_from_float(t->grad.own, rows, 1, t->mask, t->gOWNs, dt, st));
    CT_TRY(conv_bwd(t, t->c_own, t->V, t->gOWNs, dV, 0, err));
    CT_CUDA(tg_cuda_train_vpool_bwd(dVP, t->mask, t->mask_sum, n, hw, V1, dV, dt, st));
    CT_CUDA(tg_cuda_train_normact_bwd(t->VV, t->V, dV, dV, dt, rows, V1, NULL, NULL,
                                      dgrad(t, m->v_bias1), 0, st));
    void *dT = t->dX;
    CT_TRY(conv_bwd(t, t->c_v1, t->T, dV, dT, 0, err));

    /* Policy head. */
    void *dPA = t->dR;
    CT_CUDA(tg_cuda_train_from_float(t->grad.policy, rows, NP, NULL, t->gPLs, dt, st));
    CT_TRY(conv_bwd(t, t->c_p2p, t->PA, t->gPLs, dPA, 0, err));
    CT_CUDA(tg_cuda_train_normact_bwd(t->PP, t->PA, dPA, dPA, dt, rows, P1, NULL, NULL,
                                      dgrad(t, m->p_bias2), 0, st));
    float *dbias = t->vec1, *dPQ = t->vec2, *dPH = t->vec1;
    CT_CUDA(tg_cuda_train_sum_points(dPA, dt, n, hw, P1, dbias, st));
    CT_TRY(linear_bwd(t, m->p_linear_g, NULL, t->PQ, dbias, n, dPQ, 0, err));
    CT_TRY(linear_bwd(t, m->p_linear_pass2, NULL, t->PH, t->grad.pass, n, dPH, 0, err));
    CT_CUDA(tg_cuda_train_relu_bwd(t->PH, dPH, (size_t)n * P1, st));
    CT_TRY(linear_bwd(t, m->p_linear_pass, &m->p_linear_pass_bias, t->PQ, dPH, n, dPQ, 1, err));
    void *dPG = t->dG;
    CT_CUDA(tg_cuda_train_gpool_bwd(dPQ, t->mask, t->mask_sum, t->PARG, n, hw, G1, dPG, dt, st));
    CT_CUDA(tg_cuda_train_normact_bwd(t->PG, t->PGG, dPG, dPG, dt, rows, G1, NULL, NULL,
                                      dgrad(t, m->p_biasg), 0, st));
    CT_TRY(conv_bwd(t, t->c_p1p, t->T, dPA, dT, 1, err));
    CT_TRY(conv_bwd(t, t->c_p1g, t->T, dPG, dT, 1, err));

    /* Trunk tip (dT and dX are the same buffer: in place). */
    CT_CUDA(tg_cuda_train_normact_bwd(t->X[cf->num_blocks], t->T, dT, t->dX, dt, rows, C, NULL,
                                      NULL, dgrad(t, m->beta_final), 0, st));
    for (int b = cf->num_blocks - 1; b >= 0; b--) {
        const train_block_t *bk = &m->blocks[b];
        ct_block_t *nb = &t->blk[b];
        const int R = bk->c_reg;
        CT_TRY(conv_bwd(t, t->c_conv2[b], nb->Bv, t->dX, t->dR, 0, err));
        CT_CUDA(tg_cuda_train_normact_bwd(nb->H, nb->Bv, t->dR, t->dR, dt, rows, R,
                                          dparam(t, bk->gamma2), dgrad(t, bk->gamma2),
                                          dgrad(t, bk->beta2), 0, st));
        if (bk->gpool) {
            CT_CUDA(tg_cuda_train_sum_points(t->dR, dt, n, hw, R, t->vec1, st));
            CT_TRY(linear_bwd(t, bk->linear_g, NULL, nb->P, t->vec1, n, t->vec2, 0, err));
            CT_CUDA(tg_cuda_train_gpool_bwd(t->vec2, t->mask, t->mask_sum, nb->arg, n, hw, G, t->dG,
                                            dt, st));
            CT_CUDA(tg_cuda_train_normact_bwd(nb->G, nb->GG, t->dG, t->dG, dt, rows, G, NULL, NULL,
                                              dgrad(t, bk->betag), 0, st));
        }
        CT_TRY(conv_bwd(t, t->c_conv1[b], nb->A, t->dR, t->dA, 0, err));
        if (bk->gpool) CT_TRY(conv_bwd(t, t->c_conv1g[b], nb->A, t->dG, t->dA, 1, err));
        CT_CUDA(tg_cuda_train_normact_bwd(t->X[b], nb->A, t->dA, t->dX, dt, rows, C, NULL, NULL,
                                          dgrad(t, bk->beta1), 1, st));
    }

    /* Input layers. */
    CT_CUDA(tg_cuda_train_sum_points(t->dX, dt, n, hw, C, t->vec1, st));
    CT_TRY(linear_bwd(t, m->linear_global, NULL, global, t->vec1, n, NULL, 0, err));
    CT_TRY(conv_bwd(t, t->c_spatial, t->spatial, t->dX, NULL, 0, err));
    return 0;
}

/* Unpack of slot k, then forward, loss, backward; grads end up scaled by the loss scale. */
static int enqueue_grads(trainer_cuda_t *t, int k, tg_err_t *err) {
    ct_slot_t *sl = &t->slot[k];
    CT_TRY(set_batch(t, sl->n, err));
    const int n = sl->n;
    CT_CUDA(cudaStreamWaitEvent(t->stream, sl->up_done, 0));
    CT_CUDA(tg_cuda_train_unpack(sl->d.bits, t->packed_len, sl->d.policy, sl->d.score, sl->d.owner,
                                 n, t->len, t->S, t->perm + (size_t)sl->sym * t->hw, t->spatial,
                                 t->dtype, t->mask, t->mask_sum, t->policy_f, t->score_f,
                                 t->owner_f, t->stream));
    CT_CUDA(cudaMemsetAsync(t->d_grads, 0, t->model.num_params * sizeof(float), t->stream));
    CT_TRY(enqueue_forward(t, sl->d.global, err));
    CT_CUDA(tg_cuda_train_loss(&t->out, &t->grad, n, t->hw, t->S, t->mask, t->mask_sum, t->policy_f,
                               sl->d.gtargets, t->score_f, t->owner_f, t->exact_grad,
                               (float)grad_mult(t), t->d_loss, t->stream));
    CT_TRY(enqueue_backward(t, sl->d.global, err));
    /* The slot's device copy is read by the backward (global inputs): free after it. */
    CT_CUDA(cudaEventRecord(sl->slot_free, t->stream));
    return 0;
}

/* ---- optimizer (trainer.c optimizer_update) ---------------------------------------------------
 */

static double warmup_factor(int64_t samples) {
    static const struct {
        int64_t below;
        double f;
    } tab[] = {{250000, 1 / 20.0}, {500000, 1 / 14.0}, {750000, 1 / 10.0}, {1000000, 1 / 7.0},
               {1250000, 1 / 5.0}, {1500000, 1 / 3.0}, {1750000, 1 / 2.0}, {2000000, 1 / 1.4}};
    for (size_t i = 0; i < TG_ARRAY_LEN(tab); i++)
        if (samples < tab[i].below) return tab[i].f;
    return 1.0;
}

static double clip_cap(const trainer_cuda_t *t) {
    const train_options_t *o = &t->opt;
    return o->clip_base > 0 ? o->clip_base * sqrt(o->batch / 256.0) / sqrt(o->lr_scale) : 0.0;
}

static int enqueue_update(trainer_cuda_t *t, double *lr_base, tg_err_t *err) {
    const train_options_t *o = &t->opt;
    const size_t np = t->model.num_params;
    const double warm = o->warmup ? warmup_factor(t->samples) : 1.0;
    const double base =
        o->lr_per_sample * o->lr_scale * warm / (o->lookahead_k > 0 ? o->lookahead_alpha : 1.0);
    const double bfac = o->batch / 256.0;
    tg_cuda_sgd_args_t a;
    memset(&a, 0, sizeof(a));
    for (int g = 0; g < TRAIN_GROUP_COUNT; g++) {
        const int head = g == TRAIN_GROUP_OUTPUT || g == TRAIN_GROUP_OUTPUT_NOREG;
        const int noreg = g == TRAIN_GROUP_NOREG || g == TRAIN_GROUP_OUTPUT_NOREG;
        a.lr[g] = (float)(base * (head ? o->head_lr_factor : 1.0));
        a.wd[g] = (float)((noreg ? 1e-8 : 1e-6) * bfac);
    }
    a.momentum = (float)o->momentum;
    a.inv_scale = (float)(1.0 / grad_mult(t));
    a.clip_cap = clip_cap(t);
    *lr_base = base;
    CT_CUDA(tg_cuda_train_sgd(t->d_params, t->d_grads, t->d_mom, t->d_group, np, &a, t->d_sumsq,
                              t->d_skipped, t->stream));
    if (o->lookahead_k > 0 && (t->steps + 1) % o->lookahead_k == 0)
        CT_CUDA(tg_cuda_train_lookahead(t->d_params, t->d_slow, np, (float)o->lookahead_alpha,
                                        t->d_skipped, t->stream));
    return refresh_filters(t, err);
}

/* Queues the copies of the losses, the norm and the skip flag to pinned memory. */
static int enqueue_results(trainer_cuda_t *t, int n, tg_err_t *err) {
    CT_CUDA(cudaMemcpyAsync(t->h_loss, t->d_loss, (size_t)n * TRAIN_LOSS_COUNT * sizeof(double),
                            cudaMemcpyDeviceToHost, t->stream));
    CT_CUDA(
        cudaMemcpyAsync(t->h_sumsq, t->d_sumsq, sizeof(double), cudaMemcpyDeviceToHost, t->stream));
    CT_CUDA(cudaMemcpyAsync(t->h_skipped, t->d_skipped, sizeof(int), cudaMemcpyDeviceToHost,
                            t->stream));
    return 0;
}

/* Stats from the pinned results (after the stream synced); losses summed in sample order. */
static void fill_stats(const trainer_cuda_t *t, int n, double weight_sum, train_stats_t *st) {
    if (!st) return;
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
            st->loss[k] += t->h_loss[(size_t)i * TRAIN_LOSS_COUNT + k];
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
        st->loss_total += st->loss[k];
    st->weight_sum = weight_sum;
    st->grad_norm = sqrt(*t->h_sumsq) / grad_mult(t);
    const double cap = clip_cap(t);
    st->clipped = cap > 0 && st->grad_norm > cap;
}

int trainer_cuda_step(trainer_cuda_t *t, const trainrows_t *const *data, int num_data,
                      train_stats_t *st, tg_err_t *err) {
    int64_t total = 0;
    for (int k = 0; k < num_data; k++) {
        if (data[k]->pos_len != t->opt.pos_len || data[k]->score_len != t->S)
            return tg_err_set(err, TG_EINVAL, "trainer cuda: data pos_len %d, model pos_len %d",
                              data[k]->pos_len, t->opt.pos_len);
        total += data[k]->num_rows;
    }
    if (total <= 0) return tg_err_set(err, TG_EINVAL, "trainer_cuda_step: no training rows");
    CT_CUDA(cudaSetDevice(t->co.device));
    const uint64_t sig = data_signature(data, num_data);
    int k;
    if (t->pf_valid && t->pf_sig == sig) {
        k = t->pf_slot;
    } else {
        if (t->pf_valid) { /* stale prefetch: rewind the draws it made */
            t->rng = t->pf_rng_before;
            t->seq_pos = t->pf_seq_before;
        }
        k = t->pf_valid ? 1 - t->pf_slot : 0;
        CT_TRY(slot_sample(t, k, data, num_data, total, err));
    }
    t->pf_valid = 0;
    const int n = t->slot[k].n;
    const double wsum = t->slot[k].weight_sum;
    double lr_base = 0.0;
    CT_TRY(enqueue_grads(t, k, err));
    CT_CUDA(
        tg_cuda_train_sumsq(t->d_grads, t->model.num_params, t->d_partial, t->d_sumsq, t->stream));
    CT_TRY(enqueue_update(t, &lr_base, err));
    CT_TRY(enqueue_results(t, n, err));
    if (t->co.prefetch) { /* next batch while this one runs */
        t->pf_rng_before = t->rng;
        t->pf_seq_before = t->seq_pos;
        t->pf_slot = 1 - k;
        CT_TRY(slot_sample(t, t->pf_slot, data, num_data, total, err));
        t->pf_valid = 1;
        t->pf_sig = sig;
    }
    CT_CUDA(cudaStreamSynchronize(t->stream));
    fill_stats(t, n, wsum, st);
    if (st) st->lr = lr_base;
    if (*t->h_skipped) {
        t->skipped++;
        t->good_steps = 0;
        if (t->dtype == TG_CUDA_TRAIN_FP16 && t->loss_scale > 1.0 / 1024) t->loss_scale *= 0.5;
        TG_LOGW("trainer cuda: step %lld skipped (gradient not finite), loss scale now %g",
                (long long)t->steps, t->loss_scale);
        return 0;
    }
    t->steps++;
    t->samples += n;
    if (train__swa_advance(&t->swa, &t->opt, n, t->steps)) { /* once per period: O(params) */
        CT_TRY(download_params(t, NULL, err));
        train__swa_update(&t->swa, t->model.params, t->model.num_params, t->opt.swa_scale);
    }
    if (t->dtype == TG_CUDA_TRAIN_FP16 && ++t->good_steps >= t->co.loss_scale_window) {
        t->good_steps = 0;
        if (t->loss_scale < 16777216.0) t->loss_scale *= 2.0;
    }
    return 0;
}

int trainer_cuda_compute_grads(trainer_cuda_t *t, const trainrows_t *data, const int *rows, int n,
                               int sym, train_stats_t *st, tg_err_t *err) {
    if (data->pos_len != t->opt.pos_len || data->score_len != t->S)
        return tg_err_set(err, TG_EINVAL, "trainer cuda: data pos_len %d, model pos_len %d",
                          data->pos_len, t->opt.pos_len);
    if (n < 1 || n > t->opt.batch || sym < 0 || sym > 7)
        return tg_err_set(err, TG_EINVAL, "trainer_cuda_compute_grads: n %d or sym %d out of range",
                          n, sym);
    CT_CUDA(cudaSetDevice(t->co.device));
    /* A prefetched slot stays valid for the next step: use the other one. */
    const int k = t->pf_valid ? 1 - t->pf_slot : 0;
    CT_TRY(slot_acquire(t, k, err));
    ct_slot_t *sl = &t->slot[k];
    for (int i = 0; i < n; i++) {
        if (rows[i] < 0 || rows[i] >= data->num_rows)
            return tg_err_set(err, TG_EINVAL, "trainer_cuda_compute_grads: row %d out of range",
                              rows[i]);
        slot_put_row(t, sl, i, data, rows[i]);
    }
    sl->n = n;
    sl->sym = sym;
    CT_TRY(slot_upload(t, k, err));
    CT_TRY(enqueue_grads(t, k, err));
    CT_TRY(enqueue_results(t, n, err));
    CT_CUDA(cudaStreamSynchronize(t->stream));
    const size_t np = t->model.num_params;
    CT_CUDA(cudaMemcpy(t->model.grads, t->d_grads, np * sizeof(float), cudaMemcpyDeviceToHost));
    const float inv = (float)(1.0 / grad_mult(t));
    if (inv != 1.0f)
        for (size_t i = 0; i < np; i++)
            t->model.grads[i] *= inv;
    *t->h_sumsq = 0.0;
    for (size_t i = 0; i < np; i++)
        *t->h_sumsq += (double)t->model.grads[i] * t->model.grads[i];
    *t->h_sumsq *= grad_mult(t) * grad_mult(t);
    fill_stats(t, n, sl->weight_sum, st);
    return 0;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

int trainer_cuda_save(trainer_cuda_t *t, const char *path, tg_err_t *err) {
    float *slow = malloc(t->model.num_params * sizeof(float));
    if (!slow) return tg_err_set(err, TG_ENOMEM, "trainer cuda: out of memory");
    int rc = download_params(t, slow, err);
    if (rc == 0) {
        /* The RNG as if nothing had been prefetched: a resumed run draws the same batches. */
        const tg_rng_t *r = t->pf_valid ? &t->pf_rng_before : &t->rng;
        train_ckpt_state_t s = {.steps = t->steps,
                                .samples = t->samples,
                                .seq_pos = t->pf_valid ? t->pf_seq_before : t->seq_pos};
        memcpy(s.rng, r->s, sizeof(s.rng));
        rc = train__ckpt_save(path, &t->model, slow, &t->swa, &s, err);
    }
    free(slow);
    return rc;
}

int trainer_cuda_load(trainer_cuda_t *t, const char *path, tg_err_t *err) {
    float *slow = malloc(t->model.num_params * sizeof(float));
    if (!slow) return tg_err_set(err, TG_ENOMEM, "trainer cuda: out of memory");
    train_ckpt_state_t s;
    memset(&s, 0, sizeof(s));
    int rc = download_params(t, NULL, err);
    if (rc == 0) rc = train__ckpt_load(path, &t->model, slow, &t->swa, &s, err);
    if (rc == 0) rc = trainer_cuda_upload_params(t, err);
    if (rc == 0) {
        const size_t bytes = t->model.num_params * sizeof(float);
        cudaError_t e = cudaMemcpy(t->d_slow, slow, bytes, cudaMemcpyHostToDevice);
        if (e != cudaSuccess)
            rc = tg_err_set(err, TG_EINTERNAL, "train cuda: uploading slow weights: %s",
                            cudaGetErrorString(e));
    }
    free(slow);
    if (rc) return rc;
    t->steps = s.steps;
    t->samples = s.samples;
    t->seq_pos = s.seq_pos;
    memcpy(t->rng.s, s.rng, sizeof(s.rng));
    t->pf_valid = 0;
    return 0;
}

int train_cuda_built(void) { return 1; }

#else /* !TENGEN_HAVE_CUDA */

#define CT_NOT_BUILT "CUDA trainer not built (configure with TENGEN_CUDA=ON or AUTO)"

struct trainer_cuda_s {
    int unused;
};

int train_cuda_built(void) { return 0; }
int trainer_cuda_create(trainer_cuda_t **out, const train_options_t *opts,
                        const train_cuda_options_t *co, tg_err_t *err) {
    (void)opts, (void)co;
    *out = NULL;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}
void trainer_cuda_destroy(trainer_cuda_t *t) { (void)t; }
train_model_t *trainer_cuda_model(trainer_cuda_t *t) { return (void)t, NULL; }
int trainer_cuda_upload_params(trainer_cuda_t *t, tg_err_t *err) {
    (void)t;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}
int64_t trainer_cuda_steps(const trainer_cuda_t *t) { return (void)t, 0; }
int64_t trainer_cuda_samples(const trainer_cuda_t *t) { return (void)t, 0; }
int64_t trainer_cuda_skipped_steps(const trainer_cuda_t *t) { return (void)t, 0; }
double trainer_cuda_loss_scale(const trainer_cuda_t *t) { return (void)t, 1.0; }
void trainer_cuda_set_lr(trainer_cuda_t *t, double lr) { (void)t, (void)lr; }
void trainer_cuda__set_exact_grad(trainer_cuda_t *t, int exact) { (void)t, (void)exact; }
int trainer_cuda_step(trainer_cuda_t *t, const trainrows_t *const *data, int num_data,
                      train_stats_t *st, tg_err_t *err) {
    (void)t, (void)data, (void)num_data, (void)st;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}
int trainer_cuda_compute_grads(trainer_cuda_t *t, const trainrows_t *data, const int *rows, int n,
                               int sym, train_stats_t *st, tg_err_t *err) {
    (void)t, (void)data, (void)rows, (void)n, (void)sym, (void)st;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}
int trainer_cuda_save(trainer_cuda_t *t, const char *path, tg_err_t *err) {
    (void)t, (void)path;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}
int trainer_cuda_load(trainer_cuda_t *t, const char *path, tg_err_t *err) {
    (void)t, (void)path;
    return tg_err_set(err, TG_EUNSUPPORTED, "trainer cuda: %s", CT_NOT_BUILT);
}

#endif /* TENGEN_HAVE_CUDA */
