/* nn_cuda.c: the CUDA backend (see nn_cuda.h): host code in C driving the CUDA runtime,
 * cuDNN (convolutions, legacy v7-style API), cuBLAS (the heads' matmuls) and kernels/.
 *
 * Design. The forward pass is the CPU backend's (nn_cpu.c, formats.md §1.10) with NHWC
 * activations in the storage type (fp32 or fp16):
 *   H2D(inputs) -> pack (NCHW->NHWC, mask, mask sums) -> initial conv + global bias
 *   -> blocks: a = act(bn(t))*mask; conv(s) via cuDNN, residual add as the conv's beta = 1;
 *      gpool blocks pool on the GPU and add gpoolToBias inside the fused bn_act kernel
 *   -> tip -> heads (convs, pooling, cuBLAS sgemm on fp32 vectors) -> unpack -> D2H(outputs).
 * Everything is queued on the context's stream; forward() waits once, at the end.
 *
 * Memory. create() makes every allocation: device activations for max_batch at L = 19, the
 * model's fp32 weight buffer uploaded as is (BN, matmul and bias views index into it), conv
 * filters transposed to cuDNN's NHWC/KRSC order in the storage type, one cuDNN workspace,
 * pinned host staging buffers, descriptor pools, the algorithm cache and the graph table.
 * forward() allocates nothing on the host; on the device only cuDNN's find (first use of a
 * (batch, L)) and graph instantiation (first use, when enabled) may.
 *
 * Errors. TG_CUDA_TRY / TG_CUDNN_TRY / TG_CUBLAS_TRY turn any failing call into
 * TG_EINTERNAL with "nn cuda: <call>: <library's message>" and return it up the stack. */
#include "nn/nn_cuda.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#ifdef TENGEN_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "act.h"
#include "bnact.h"
#include "gpool.h"
#include "pack.h"

_Static_assert(TG_CUDA_ACT_IDENTITY == TG_ACT_IDENTITY && TG_CUDA_ACT_RELU == TG_ACT_RELU &&
                   TG_CUDA_ACT_MISH == TG_ACT_MISH && TG_CUDA_ACT_SILU == TG_ACT_SILU,
               "kernels/act.h must mirror tg_act_kind_t");

#define NN_HW_MAX        (TG_NN_MAX_LEN * TG_NN_MAX_LEN)
#define CU_MAX_BATCH     4096
#define CU_MAX_ALGOS     8
#define CU_BLAS_WS_BYTES ((size_t)4 << 20)

#define TG_CUDA_TRY(call)                                                                          \
    do {                                                                                           \
        cudaError_t e__ = (call);                                                                  \
        if (e__ != cudaSuccess)                                                                    \
            return tg_err_set(err, TG_EINTERNAL, "nn cuda: %s: %s (%s:%d)", #call,                 \
                              cudaGetErrorString(e__), __FILE__, __LINE__);                        \
    } while (0)
#define TG_CUDNN_TRY(call)                                                                         \
    do {                                                                                           \
        cudnnStatus_t s__ = (call);                                                                \
        if (s__ != CUDNN_STATUS_SUCCESS)                                                           \
            return tg_err_set(err, TG_EINTERNAL, "nn cuda: %s: %s (%s:%d)", #call,                 \
                              cudnnGetErrorString(s__), __FILE__, __LINE__);                       \
    } while (0)
#define TG_CUBLAS_TRY(call)                                                                        \
    do {                                                                                           \
        cublasStatus_t s__ = (call);                                                               \
        if (s__ != CUBLAS_STATUS_SUCCESS)                                                          \
            return tg_err_set(err, TG_EINTERNAL, "nn cuda: %s: %s (%s:%d)", #call,                 \
                              cublasGetStatusString(s__), __FILE__, __LINE__);                     \
    } while (0)

/* A distinct convolution shape; layers of one shape share descriptors and cached algorithms. */
typedef struct cu_shape_s {
    int ic, oc, ky, kx;
    cudnnFilterDescriptor_t wdesc;
    cudnnConvolutionDescriptor_t cdesc;
    int *algo; /* [(len - 1) * max_batch + n - 1]: 0 unknown, else 1 + algo + 16 * math type */
} cu_shape_t;

typedef struct cu_conv_s {
    const tg_conv_t *src;
    int shape;
    void *w; /* (oc, ky, kx, ic) storage type, into c->conv_w */
} cu_conv_t;

typedef struct cu_ctx_s {
    const tg_model_t *m;
    tg_nn_cuda_options_t opt;
    int max_batch;
    int fp16;
    size_t es; /* bytes per stored activation */
    cudnnDataType_t dtype;

    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;

    /* Layers. */
    int nconv, nshape, nchan;
    cu_conv_t *convs;               /* (nconv) */
    cu_shape_t *shapes;             /* (nshape) */
    int *chans;                     /* (nchan) distinct channel counts of conv inputs/outputs */
    cudnnTensorDescriptor_t *tdesc; /* (nchan), set for (cur_n, cur_len) */
    int cur_n, cur_len;

    /* Device memory. */
    float *dweights; /* (num_weights) the model's buffer */
    void *conv_w;
    void *x;
    void **trunk; /* [max_nesting + 1] */
    void *a, *r, *mbuf, *g, *own;
    float *mask, *mask_sum, *vec_a, *vec_b, *vec_c;
    size_t vec_stride;
    float *d_in, *d_out;
    void *ws;
    void *blas_ws;
    /* Pinned host staging. */
    float *h_in, *h_out;
    size_t in_floats_max, out_floats_max;

    cudaGraphExec_t *graphs; /* [(len - 1) * max_batch + n - 1] or NULL when graphs are off */
} cu_ctx_t;

/* Device view of a pointer into the model's weight buffer. */
static const float *dev_w(const cu_ctx_t *c, const float *p) {
    return c->dweights + (p - c->m->weights);
}

/* ---- Layer enumeration ------------------------------------------------------------------ */

typedef void (*conv_visit_fn)(cu_ctx_t *c, const tg_conv_t *cv);

static void visit_stack(cu_ctx_t *c, const tg_block_t *b, int n, conv_visit_fn fn) {
    for (int i = 0; i < n; i++) {
        fn(c, &b[i].conv1);
        if (b[i].kind == TG_BLOCK_GPOOL) fn(c, &b[i].gpool_conv);
        if (b[i].kind == TG_BLOCK_NESTED) visit_stack(c, b[i].blocks, b[i].num_blocks, fn);
        fn(c, &b[i].conv2);
    }
}

static void visit_convs(cu_ctx_t *c, conv_visit_fn fn) {
    const tg_model_t *m = c->m;
    fn(c, &m->trunk.initial_conv);
    visit_stack(c, m->trunk.blocks, m->trunk.num_blocks, fn);
    fn(c, &m->policy.p1_conv);
    fn(c, &m->policy.g1_conv);
    fn(c, &m->policy.p2_conv);
    fn(c, &m->value.v1_conv);
    fn(c, &m->value.ownership_conv);
}

static void count_conv(cu_ctx_t *c, const tg_conv_t *cv) {
    (void)cv;
    c->nconv++;
}

static void add_chan(cu_ctx_t *c, int ch) {
    for (int i = 0; i < c->nchan; i++)
        if (c->chans[i] == ch) return;
    c->chans[c->nchan++] = ch;
}

/* Records cv and its shape (arrays sized by count_conv's total). */
static void add_conv(cu_ctx_t *c, const tg_conv_t *cv) {
    int s = 0;
    for (; s < c->nshape; s++) {
        const cu_shape_t *sh = &c->shapes[s];
        if (sh->ic == cv->ic && sh->oc == cv->oc && sh->ky == cv->ky && sh->kx == cv->kx) break;
    }
    if (s == c->nshape) {
        c->shapes[s] = (cu_shape_t){.ic = cv->ic, .oc = cv->oc, .ky = cv->ky, .kx = cv->kx};
        c->nshape++;
    }
    c->convs[c->nconv++] = (cu_conv_t){.src = cv, .shape = s};
    add_chan(c, cv->ic);
    add_chan(c, cv->oc);
}

static const cu_conv_t *conv_of(const cu_ctx_t *c, const tg_conv_t *cv) {
    for (int i = 0; i < c->nconv; i++)
        if (c->convs[i].src == cv) return &c->convs[i];
    return NULL;
}

static cudnnTensorDescriptor_t tdesc_of(const cu_ctx_t *c, int ch) {
    for (int i = 0; i < c->nchan; i++)
        if (c->chans[i] == ch) return c->tdesc[i];
    return NULL;
}

static void stack_vec_limits(const tg_block_t *b, int n, int *max_vec) {
    for (int i = 0; i < n; i++) {
        if (b[i].kind == TG_BLOCK_GPOOL) {
            if (b[i].gpool_to_bias.ic > *max_vec) *max_vec = b[i].gpool_to_bias.ic;
            if (b[i].gpool_to_bias.oc > *max_vec) *max_vec = b[i].gpool_to_bias.oc;
        }
        if (b[i].kind == TG_BLOCK_NESTED) stack_vec_limits(b[i].blocks, b[i].num_blocks, max_vec);
    }
}

/* ---- Create / destroy -------------------------------------------------------------------- */

static void cu_destroy(void *vctx) {
    cu_ctx_t *c = vctx;
    if (!c) return;
    if (c->stream) cudaStreamSynchronize(c->stream);
    if (c->graphs) {
        for (size_t i = 0; i < (size_t)TG_NN_MAX_LEN * c->max_batch; i++)
            if (c->graphs[i]) cudaGraphExecDestroy(c->graphs[i]);
        free(c->graphs);
    }
    if (c->shapes) {
        for (int s = 0; s < c->nshape; s++) {
            if (c->shapes[s].wdesc) cudnnDestroyFilterDescriptor(c->shapes[s].wdesc);
            if (c->shapes[s].cdesc) cudnnDestroyConvolutionDescriptor(c->shapes[s].cdesc);
            free(c->shapes[s].algo);
        }
    }
    if (c->tdesc)
        for (int i = 0; i < c->nchan; i++)
            if (c->tdesc[i]) cudnnDestroyTensorDescriptor(c->tdesc[i]);
    free(c->tdesc);
    free(c->shapes);
    free(c->convs);
    free(c->chans);
    void *dev[] = {c->dweights, c->conv_w, c->x,     c->a,        c->r,      c->mbuf,
                   c->g,        c->own,    c->mask,  c->mask_sum, c->vec_a,  c->vec_b,
                   c->vec_c,    c->d_in,   c->d_out, c->ws,       c->blas_ws};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i]) cudaFree(dev[i]);
    if (c->trunk) {
        for (int d = 0; d <= c->m->max_nesting; d++)
            if (c->trunk[d]) cudaFree(c->trunk[d]);
        free(c->trunk);
    }
    if (c->h_in) cudaFreeHost(c->h_in);
    if (c->h_out) cudaFreeHost(c->h_out);
    if (c->cublas) cublasDestroy(c->cublas);
    if (c->cudnn) cudnnDestroy(c->cudnn);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c);
}

static int dev_alloc(void **p, size_t bytes, tg_err_t *err) {
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 16);
    if (e != cudaSuccess) {
        *p = NULL;
        return tg_err_set(err, TG_ENOMEM, "nn cuda: cannot allocate %zu bytes of device memory: %s",
                          bytes, cudaGetErrorString(e));
    }
    TG_CUDA_TRY(cudaMemset(*p, 0, bytes ? bytes : 16));
    return 0;
}

/* Uploads every conv filter, transposed from (ky, kx, ic, oc) to cuDNN's (oc, ky, kx, ic), in
 * the storage type. Uses one host and (for fp16) one device staging buffer, freed here. */
static int upload_convs(cu_ctx_t *c, tg_err_t *err) {
    size_t total = 0, max_one = 0;
    for (int i = 0; i < c->nconv; i++) {
        const tg_conv_t *cv = c->convs[i].src;
        size_t k = (size_t)cv->ky * cv->kx * cv->ic * cv->oc;
        total += k;
        if (k > max_one) max_one = k;
    }
    int rc = dev_alloc(&c->conv_w, total * c->es, err);
    if (rc < 0) return rc;
    float *host = malloc(max_one * sizeof(float));
    float *stage = NULL;
    if (!host) return tg_err_set(err, TG_ENOMEM, "nn cuda: out of host memory for filters");
    if (c->fp16 && (rc = dev_alloc((void **)&stage, max_one * sizeof(float), err)) < 0) {
        free(host);
        return rc;
    }
    size_t off = 0;
    for (int i = 0; i < c->nconv && rc == 0; i++) {
        const tg_conv_t *cv = c->convs[i].src;
        const int ky = cv->ky, kx = cv->kx, ic = cv->ic, oc = cv->oc;
        for (int y = 0; y < ky; y++)
            for (int x = 0; x < kx; x++)
                for (int j = 0; j < ic; j++)
                    for (int o = 0; o < oc; o++)
                        host[(((size_t)o * ky + y) * kx + x) * ic + j] =
                            cv->w[(((size_t)y * kx + x) * ic + j) * oc + o];
        size_t k = (size_t)ky * kx * ic * oc;
        c->convs[i].w = (char *)c->conv_w + off * c->es;
        cudaError_t e;
        if (c->fp16) {
            e = cudaMemcpy(stage, host, k * sizeof(float), cudaMemcpyHostToDevice);
            if (e == cudaSuccess) e = tg_cuda_convert_to_half(stage, c->convs[i].w, k, c->stream);
            if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);
        } else {
            e = cudaMemcpy(c->convs[i].w, host, k * sizeof(float), cudaMemcpyHostToDevice);
        }
        if (e != cudaSuccess)
            rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: uploading filter %s: %s", cv->name,
                            cudaGetErrorString(e));
        off += k;
    }
    free(host);
    if (stage) cudaFree(stage);
    return rc;
}

static int make_descriptors(cu_ctx_t *c, tg_err_t *err) {
    for (int s = 0; s < c->nshape; s++) {
        cu_shape_t *sh = &c->shapes[s];
        TG_CUDNN_TRY(cudnnCreateFilterDescriptor(&sh->wdesc));
        TG_CUDNN_TRY(cudnnSetFilter4dDescriptor(sh->wdesc, c->dtype, CUDNN_TENSOR_NHWC, sh->oc,
                                                sh->ic, sh->ky, sh->kx));
        TG_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&sh->cdesc));
        TG_CUDNN_TRY(cudnnSetConvolution2dDescriptor(sh->cdesc, sh->ky / 2, sh->kx / 2, 1, 1, 1, 1,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        /* fp32: FMA only (no TF32), so results track the CPU backend; fp16: tensor cores. */
        TG_CUDNN_TRY(cudnnSetConvolutionMathType(sh->cdesc,
                                                 c->fp16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
        sh->algo = calloc((size_t)TG_NN_MAX_LEN * c->max_batch, sizeof(int));
        if (!sh->algo) return tg_err_set(err, TG_ENOMEM, "nn cuda: out of memory");
    }
    for (int i = 0; i < c->nchan; i++)
        TG_CUDNN_TRY(cudnnCreateTensorDescriptor(&c->tdesc[i]));
    return 0;
}

int tg_nn_cuda_create(const tg_model_t *m, int max_batch, const tg_nn_cuda_options_t *o, void **out,
                      tg_err_t *err) {
    *out = NULL;
    if (!m || !o || max_batch < 1 || max_batch > CU_MAX_BATCH)
        return tg_err_set(err, TG_EINVAL, "nn cuda: max_batch %d out of range [1, %d]", max_batch,
                          CU_MAX_BATCH);
    char why[256];
    int ndev = tg_nn_cuda_device_count(why, sizeof why);
    if (ndev <= 0) return tg_err_set(err, TG_EUNSUPPORTED, "nn cuda: %s", why);
    if (o->device < 0 || o->device >= ndev)
        return tg_err_set(err, TG_EINVAL, "nn cuda: device %d out of range [0, %d)", o->device,
                          ndev);
    TG_CUDA_TRY(cudaSetDevice(o->device));

    cu_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return tg_err_set(err, TG_ENOMEM, "nn cuda: out of memory");
    c->m = m;
    c->opt = *o;
    c->max_batch = max_batch;
    c->fp16 = o->fp16 != 0;
    c->es = c->fp16 ? 2 : 4;
    c->dtype = c->fp16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    if (c->opt.workspace_bytes < ((size_t)1 << 20)) c->opt.workspace_bytes = (size_t)1 << 20;

    int rc = 0;
#define CREATE_TRY(expr)                                                                           \
    do {                                                                                           \
        if ((rc = (expr)) < 0) goto fail;                                                          \
    } while (0)
#define CREATE_CUDA(call)                                                                          \
    do {                                                                                           \
        cudaError_t e__ = (call);                                                                  \
        if (e__ != cudaSuccess) {                                                                  \
            rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: %s: %s", #call, cudaGetErrorString(e__)); \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

    CREATE_CUDA(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    if (cudnnCreate(&c->cudnn) != CUDNN_STATUS_SUCCESS) {
        c->cudnn = NULL;
        rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: cudnnCreate failed (is libcudnn usable?)");
        goto fail;
    }
    if (cublasCreate(&c->cublas) != CUBLAS_STATUS_SUCCESS) {
        c->cublas = NULL;
        rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: cublasCreate failed");
        goto fail;
    }
    if (cudnnSetStream(c->cudnn, c->stream) != CUDNN_STATUS_SUCCESS ||
        cublasSetStream(c->cublas, c->stream) != CUBLAS_STATUS_SUCCESS ||
        cublasSetMathMode(c->cublas, CUBLAS_DEFAULT_MATH) != CUBLAS_STATUS_SUCCESS) {
        rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: cannot bind cuDNN/cuBLAS to the stream");
        goto fail;
    }

    /* Layers, shapes, channel counts. */
    visit_convs(c, count_conv);
    const int nconv = c->nconv;
    c->nconv = 0;
    c->convs = calloc((size_t)nconv, sizeof *c->convs);
    c->shapes = calloc((size_t)nconv, sizeof *c->shapes);
    c->chans = calloc((size_t)2 * nconv, sizeof *c->chans);
    c->tdesc = calloc((size_t)2 * nconv, sizeof *c->tdesc);
    c->trunk = calloc((size_t)m->max_nesting + 1, sizeof *c->trunk);
    if (!c->convs || !c->shapes || !c->chans || !c->tdesc || !c->trunk) {
        rc = tg_err_set(err, TG_ENOMEM, "nn cuda: out of memory");
        goto fail;
    }
    visit_convs(c, add_conv);
    for (int i = 0; i < c->nconv; i++) {
        const tg_conv_t *cv = c->convs[i].src;
        if (cv->ky % 2 == 0 || cv->kx % 2 == 0) {
            rc = tg_err_set(err, TG_EUNSUPPORTED, "nn cuda: layer %s: even kernel %dx%d", cv->name,
                            cv->ky, cv->kx);
            goto fail;
        }
    }
    CREATE_TRY(make_descriptors(c, err));

    /* Device buffers. */
    const tg_policy_head_t *ph = &m->policy;
    const int cin = m->num_spatial_inputs, cg = m->num_global_inputs;
    const int P = ph->num_channels, S = m->num_score_values;
    int maxc = m->max_channels > cin ? m->max_channels : cin;
    if (P > maxc) maxc = P;
    int max_vec = 3 * maxc;
    stack_vec_limits(m->trunk.blocks, m->trunk.num_blocks, &max_vec);
    const tg_matmul_t *mms[7] = {
        &m->trunk.initial_matmul, &ph->gpool_to_bias, &ph->pass_mul, &m->value.v2_mul,
        &m->value.v3_mul,         &m->value.sv3_mul,  &ph->pass_mul2};
    for (int i = 0; i < 7; i++) {
        if (mms[i]->ic > max_vec) max_vec = mms[i]->ic;
        if (mms[i]->oc > max_vec) max_vec = mms[i]->oc;
    }
    c->vec_stride = ((size_t)max_vec + 31) / 32 * 32;
    const size_t mb = (size_t)max_batch, rows = mb * NN_HW_MAX;
    const size_t big = rows * (size_t)maxc * c->es;
    c->in_floats_max = mb * ((size_t)cin * NN_HW_MAX + (size_t)cg);
    c->out_floats_max = mb * ((size_t)P * NN_HW_MAX + (size_t)P + 3 + (size_t)S + NN_HW_MAX);
    CREATE_TRY(dev_alloc((void **)&c->dweights, m->num_weights * sizeof(float), err));
    CREATE_CUDA(cudaMemcpy(c->dweights, m->weights, m->num_weights * sizeof(float),
                           cudaMemcpyHostToDevice));
    CREATE_TRY(dev_alloc(&c->x, rows * (size_t)cin * c->es, err));
    for (int d = 0; d <= m->max_nesting; d++)
        CREATE_TRY(dev_alloc(&c->trunk[d], big, err));
    CREATE_TRY(dev_alloc(&c->a, big, err));
    CREATE_TRY(dev_alloc(&c->r, big, err));
    CREATE_TRY(dev_alloc(&c->mbuf, big, err));
    CREATE_TRY(dev_alloc(&c->g, big, err));
    CREATE_TRY(dev_alloc(&c->own, rows * c->es, err));
    CREATE_TRY(dev_alloc((void **)&c->mask, rows * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->mask_sum, mb * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->vec_a, mb * c->vec_stride * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->vec_b, mb * c->vec_stride * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->vec_c, mb * c->vec_stride * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->d_in, c->in_floats_max * sizeof(float), err));
    CREATE_TRY(dev_alloc((void **)&c->d_out, c->out_floats_max * sizeof(float), err));
    CREATE_TRY(dev_alloc(&c->ws, c->opt.workspace_bytes, err));
    CREATE_TRY(dev_alloc(&c->blas_ws, CU_BLAS_WS_BYTES, err));
    if (cublasSetWorkspace(c->cublas, c->blas_ws, CU_BLAS_WS_BYTES) != CUBLAS_STATUS_SUCCESS) {
        rc = tg_err_set(err, TG_EINTERNAL, "nn cuda: cublasSetWorkspace failed");
        goto fail;
    }
    if (cudaHostAlloc((void **)&c->h_in, c->in_floats_max * sizeof(float), 0) != cudaSuccess ||
        cudaHostAlloc((void **)&c->h_out, c->out_floats_max * sizeof(float), 0) != cudaSuccess) {
        rc = tg_err_set(err, TG_ENOMEM, "nn cuda: cannot allocate pinned host buffers");
        goto fail;
    }
    CREATE_TRY(upload_convs(c, err));
    if (c->opt.use_graphs) {
        c->graphs = calloc((size_t)TG_NN_MAX_LEN * max_batch, sizeof *c->graphs);
        if (!c->graphs) {
            rc = tg_err_set(err, TG_ENOMEM, "nn cuda: out of memory");
            goto fail;
        }
    }
    CREATE_CUDA(cudaStreamSynchronize(c->stream));
#undef CREATE_TRY
#undef CREATE_CUDA
    *out = c;
    return 0;
fail:
    cu_destroy(c);
    return rc;
}

/* ---- Forward ------------------------------------------------------------------------------- */

static size_t plan_index(const cu_ctx_t *c, int n, int len) {
    return (size_t)(len - 1) * c->max_batch + (size_t)(n - 1);
}

/* Chooses (once) the algorithm of every conv shape for batch n at this L, with the tensor
 * descriptors already set. Find mode times the candidates on scratch buffers c->a -> c->r
 * (no live data at the start of a forward). Synchronous; never called during capture. */
static int plan_algos(cu_ctx_t *c, int n, int len, tg_err_t *err) {
    for (int s = 0; s < c->nshape; s++) {
        cu_shape_t *sh = &c->shapes[s];
        int *slot = &sh->algo[plan_index(c, n, len)];
        if (*slot) continue;
        cudnnTensorDescriptor_t xd = tdesc_of(c, sh->ic), yd = tdesc_of(c, sh->oc);
        cudnnConvolutionFwdAlgoPerf_t perf[CU_MAX_ALGOS];
        int got = 0;
        const cu_conv_t *any = NULL;
        for (int i = 0; i < c->nconv && !any; i++)
            if (c->convs[i].shape == s) any = &c->convs[i];
        if (c->opt.conv_find)
            TG_CUDNN_TRY(cudnnFindConvolutionForwardAlgorithmEx(
                c->cudnn, xd, c->a, sh->wdesc, any->w, sh->cdesc, yd, c->r, CU_MAX_ALGOS, &got,
                perf, c->ws, c->opt.workspace_bytes));
        else
            TG_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, xd, sh->wdesc, sh->cdesc,
                                                                yd, CU_MAX_ALGOS, &got, perf));
        /* Fastest usable one; in fp32 the first pass takes only FMA (no TF32) algorithms. */
        int pick = -1;
        for (int pass = c->fp16 ? 1 : 0; pass < 2 && pick < 0; pass++)
            for (int i = 0; i < got && pick < 0; i++)
                if (perf[i].status == CUDNN_STATUS_SUCCESS &&
                    perf[i].memory <= c->opt.workspace_bytes &&
                    (pass == 1 || perf[i].mathType == CUDNN_FMA_MATH))
                    pick = i;
        if (pick >= 0 && !c->fp16 && perf[pick].mathType != CUDNN_FMA_MATH)
            TG_LOGW("nn cuda: conv %dx%d %d->%d: no FMA-only algorithm; fp32 may use TF32", sh->ky,
                    sh->kx, sh->ic, sh->oc);
        if (pick < 0)
            return tg_err_set(err, TG_EUNSUPPORTED,
                              "nn cuda: no cuDNN algorithm for conv %dx%d %d->%d at batch %d, "
                              "%dx%d, %s within %zu bytes of workspace",
                              sh->ky, sh->kx, sh->ic, sh->oc, n, len, len,
                              c->fp16 ? "fp16" : "fp32", c->opt.workspace_bytes);
        *slot = 1 + (int)perf[pick].algo + 16 * (int)perf[pick].mathType;
        TG_LOGD("nn cuda: conv %dx%d %d->%d n=%d L=%d: algo %d math %d (%.3f ms, %zu B)", sh->ky,
                sh->kx, sh->ic, sh->oc, n, len, (int)perf[pick].algo, (int)perf[pick].mathType,
                (double)perf[pick].time, perf[pick].memory);
    }
    return 0;
}

/* Points the tensor descriptors at (n, len) and makes sure every shape has an algorithm. */
static int set_geometry(cu_ctx_t *c, int n, int len, tg_err_t *err) {
    if (c->cur_n == n && c->cur_len == len) return 0;
    for (int i = 0; i < c->nchan; i++)
        TG_CUDNN_TRY(cudnnSetTensor4dDescriptor(c->tdesc[i], CUDNN_TENSOR_NHWC, c->dtype, n,
                                                c->chans[i], len, len));
    c->cur_n = 0; /* until the algorithms are known */
    int rc = plan_algos(c, n, len, err);
    if (rc < 0) return rc;
    c->cur_n = n;
    c->cur_len = len;
    return 0;
}

/* y = conv(x) + beta * y on the stream. */
static int conv(cu_ctx_t *c, const tg_conv_t *cv, const void *x, float beta, void *y,
                tg_err_t *err) {
    const cu_conv_t *k = conv_of(c, cv);
    if (!k) return tg_err_set(err, TG_EINTERNAL, "nn cuda: conv %s was not uploaded", cv->name);
    cu_shape_t *sh = &c->shapes[k->shape];
    const int code = sh->algo[plan_index(c, c->cur_n, c->cur_len)] - 1;
    const float alpha = 1.0f;
    TG_CUDNN_TRY(cudnnSetConvolutionMathType(sh->cdesc, (cudnnMathType_t)(code / 16)));
    TG_CUDNN_TRY(cudnnConvolutionForward(c->cudnn, &alpha, tdesc_of(c, sh->ic), x, sh->wdesc, k->w,
                                         sh->cdesc, (cudnnConvolutionFwdAlgo_t)(code % 16), c->ws,
                                         c->opt.workspace_bytes, &beta, tdesc_of(c, sh->oc), y));
    return 0;
}

/* out = act((in + sample_bias) * bn) * mask over the current n * L * L rows. */
static int bn_act(cu_ctx_t *c, const tg_bn_t *bn, tg_act_kind_t act, const void *in, void *out,
                  int ch, const float *sample_bias, int use_mask, tg_err_t *err) {
    const int hw = c->cur_len * c->cur_len;
    TG_CUDA_TRY(tg_cuda_bn_act(in, out, c->fp16, (size_t)c->cur_n * hw, ch, hw, sample_bias,
                               (int)c->vec_stride, bn ? dev_w(c, bn->merged_scale) : NULL,
                               bn ? dev_w(c, bn->merged_bias) : NULL, (int)act,
                               use_mask ? c->mask : NULL, c->stream));
    return 0;
}

/* out (n, oc) row stride ld_out = in (n, ic) row stride ld_in x W, then + bias, act. */
static int matmul(cu_ctx_t *c, const tg_matmul_t *mm, const float *in, int ld_in, float *out,
                  int ld_out, const tg_matbias_t *b, tg_act_kind_t act, tg_err_t *err) {
    const float one = 1.0f, zero = 0.0f;
    /* Row-major (n, oc) = (n, ic)(ic, oc) is column-major (oc, n) = W^T (oc, ic) in^T (ic, n). */
    TG_CUBLAS_TRY(cublasSgemm(c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, mm->oc, c->cur_n, mm->ic, &one,
                              dev_w(c, mm->w), mm->oc, in, ld_in, &zero, out, ld_out));
    if (b || act != TG_ACT_IDENTITY)
        TG_CUDA_TRY(tg_cuda_vec_bias_act(out, c->cur_n, mm->oc, ld_out, b ? dev_w(c, b->b) : NULL,
                                         (int)act, c->stream));
    return 0;
}

static int pool(cu_ctx_t *c, const void *in, int ch, int kind, float *out, tg_err_t *err) {
    TG_CUDA_TRY(tg_cuda_global_pool(in, c->fp16, c->cur_n, c->cur_len * c->cur_len, ch, c->mask,
                                    c->mask_sum, kind, out, (int)c->vec_stride, c->stream));
    return 0;
}

#define FWD_TRY(expr)                                                                              \
    do {                                                                                           \
        int rc__ = (expr);                                                                         \
        if (rc__ < 0) return rc__;                                                                 \
    } while (0)

static int run_stack(cu_ctx_t *c, const tg_block_t *blocks, int nblocks, int depth, tg_err_t *err);

/* One residual block on trunk[depth] (CPU twin: run_block in nn_cpu.c, without its fusions). */
static int run_block(cu_ctx_t *c, const tg_block_t *b, int depth, tg_err_t *err) {
    void *t = c->trunk[depth];
    const int W = b->conv2.oc;
    FWD_TRY(bn_act(c, &b->pre_bn, b->pre_act.kind, t, c->a, W, NULL, 1, err));
    if (b->kind == TG_BLOCK_NESTED) {
        void *u = c->trunk[depth + 1];
        FWD_TRY(conv(c, &b->conv1, c->a, 0.0f, u, err));
        FWD_TRY(run_stack(c, b->blocks, b->num_blocks, depth + 1, err));
        FWD_TRY(bn_act(c, &b->mid_bn, b->mid_act.kind, u, c->mbuf, b->conv1.oc, NULL, 1, err));
    } else if (b->kind == TG_BLOCK_ORDINARY) {
        FWD_TRY(conv(c, &b->conv1, c->a, 0.0f, c->r, err));
        FWD_TRY(bn_act(c, &b->mid_bn, b->mid_act.kind, c->r, c->mbuf, b->conv1.oc, NULL, 1, err));
    } else {
        const int gc = b->gpool_conv.oc, rc = b->conv1.oc;
        FWD_TRY(conv(c, &b->conv1, c->a, 0.0f, c->r, err));
        FWD_TRY(conv(c, &b->gpool_conv, c->a, 0.0f, c->g, err));
        FWD_TRY(bn_act(c, &b->gpool_bn, b->gpool_act.kind, c->g, c->g, gc, NULL, 1, err));
        FWD_TRY(pool(c, c->g, gc, TG_CUDA_POOL_GPOOL, c->vec_a, err));
        FWD_TRY(matmul(c, &b->gpool_to_bias, c->vec_a, (int)c->vec_stride, c->vec_b,
                       (int)c->vec_stride, NULL, TG_ACT_IDENTITY, err));
        FWD_TRY(bn_act(c, &b->mid_bn, b->mid_act.kind, c->r, c->mbuf, rc, c->vec_b, 1, err));
    }
    return conv(c, &b->conv2, c->mbuf, 1.0f, t, err);
}

static int run_stack(cu_ctx_t *c, const tg_block_t *blocks, int nblocks, int depth, tg_err_t *err) {
    for (int i = 0; i < nblocks; i++)
        FWD_TRY(run_block(c, &blocks[i], depth, err));
    return 0;
}

/* Queues one whole forward pass of (cur_n, cur_len) on the stream: H2D copy of c->h_in,
 * the net, D2H copy into c->h_out. Legal inside stream capture. */
static int enqueue_forward(cu_ctx_t *c, tg_err_t *err) {
    const tg_model_t *m = c->m;
    const int n = c->cur_n, len = c->cur_len, hw = len * len;
    const int cin = m->num_spatial_inputs, cg = m->num_global_inputs;
    const tg_trunk_t *tr = &m->trunk;
    const tg_policy_head_t *ph = &m->policy;
    const tg_value_head_t *vh = &m->value;
    const int P = ph->num_channels, S = m->num_score_values, W = tr->trunk_channels;
    const size_t in_floats = (size_t)n * ((size_t)cin * hw + (size_t)cg);
    const size_t out_floats = (size_t)n * ((size_t)P * hw + (size_t)P + 3 + (size_t)S + hw);
    const float *d_spatial = c->d_in, *d_global = c->d_in + (size_t)n * cin * hw;
    float *o_policy = c->d_out, *o_pass = o_policy + (size_t)n * P * hw;
    float *o_value = o_pass + (size_t)n * P, *o_score = o_value + (size_t)n * 3;
    float *o_own = o_score + (size_t)n * S;

    TG_CUDA_TRY(cudaMemcpyAsync(c->d_in, c->h_in, in_floats * sizeof(float), cudaMemcpyHostToDevice,
                                c->stream));
    TG_CUDA_TRY(
        tg_cuda_pack_inputs(d_spatial, n, cin, hw, c->x, c->fp16, c->mask, c->mask_sum, c->stream));
    /* Trunk: t = initialConv(x) + initialMatMul(global), unmasked. */
    void *t = c->trunk[0];
    FWD_TRY(matmul(c, &tr->initial_matmul, d_global, cg, c->vec_a, (int)c->vec_stride, NULL,
                   TG_ACT_IDENTITY, err));
    FWD_TRY(conv(c, &tr->initial_conv, c->x, 0.0f, t, err));
    FWD_TRY(bn_act(c, NULL, TG_ACT_IDENTITY, t, t, W, c->vec_a, 0, err));
    FWD_TRY(run_stack(c, tr->blocks, tr->num_blocks, 0, err));
    FWD_TRY(bn_act(c, &tr->tip_bn, tr->tip_act.kind, t, c->a, W, NULL, 1, err));

    /* Heads' spatial layers. */
    const int cp1 = ph->p1_conv.oc, cg1 = ph->g1_conv.oc, cv1 = vh->v1_conv.oc;
    FWD_TRY(conv(c, &ph->p1_conv, c->a, 0.0f, c->r, err));
    FWD_TRY(conv(c, &ph->g1_conv, c->a, 0.0f, c->g, err));
    FWD_TRY(bn_act(c, &ph->g1_bn, ph->g1_act.kind, c->g, c->g, cg1, NULL, 1, err));
    FWD_TRY(conv(c, &vh->v1_conv, c->a, 0.0f, c->mbuf, err));
    FWD_TRY(bn_act(c, &vh->v1_bn, vh->v1_act.kind, c->mbuf, c->mbuf, cv1, NULL, 1, err));
    FWD_TRY(conv(c, &vh->ownership_conv, c->mbuf, 0.0f, c->own, err));

    /* Policy vectors: gpool -> bias for p1, and the pass logit(s). */
    const int vs = (int)c->vec_stride;
    FWD_TRY(pool(c, c->g, cg1, TG_CUDA_POOL_GPOOL, c->vec_a, err));
    FWD_TRY(matmul(c, &ph->gpool_to_bias, c->vec_a, vs, c->vec_b, vs, NULL, TG_ACT_IDENTITY, err));
    if (!ph->has_pass_mlp) {
        FWD_TRY(matmul(c, &ph->pass_mul, c->vec_a, vs, o_pass, P, NULL, TG_ACT_IDENTITY, err));
    } else {
        FWD_TRY(matmul(c, &ph->pass_mul, c->vec_a, vs, c->vec_c, vs, &ph->pass_bias,
                       ph->pass_act.kind, err));
        FWD_TRY(matmul(c, &ph->pass_mul2, c->vec_c, vs, o_pass, P, NULL, TG_ACT_IDENTITY, err));
    }
    /* Value head: vpool -> v2 -> (value, score). */
    FWD_TRY(pool(c, c->mbuf, cv1, TG_CUDA_POOL_VALUE, c->vec_c, err));
    FWD_TRY(matmul(c, &vh->v2_mul, c->vec_c, vs, c->vec_a, vs, &vh->v2_bias, vh->v2_act.kind, err));
    FWD_TRY(matmul(c, &vh->v3_mul, c->vec_a, vs, o_value, 3, &vh->v3_bias, TG_ACT_IDENTITY, err));
    FWD_TRY(matmul(c, &vh->sv3_mul, c->vec_a, vs, o_score, S, &vh->sv3_bias, TG_ACT_IDENTITY, err));
    /* Policy: p = act(bn(p1 + gpool bias)) * mask; logits = p2conv(p). */
    FWD_TRY(bn_act(c, &ph->p1_bn, ph->p1_act.kind, c->r, c->r, cp1, c->vec_b, 1, err));
    FWD_TRY(conv(c, &ph->p2_conv, c->r, 0.0f, c->g, err));
    TG_CUDA_TRY(tg_cuda_unpack_nhwc(c->g, c->fp16, n, hw, P, o_policy, c->stream));
    TG_CUDA_TRY(tg_cuda_convert_to_float(c->own, c->fp16, o_own, (size_t)n * hw, c->stream));
    TG_CUDA_TRY(cudaMemcpyAsync(c->h_out, c->d_out, out_floats * sizeof(float),
                                cudaMemcpyDeviceToHost, c->stream));
    return 0;
}

/* Replays (capturing first when needed) the graph of (cur_n, cur_len). */
static int launch_graph(cu_ctx_t *c, tg_err_t *err) {
    cudaGraphExec_t *slot = &c->graphs[plan_index(c, c->cur_n, c->cur_len)];
    if (!*slot) {
        cudaGraph_t graph = NULL;
        TG_CUDA_TRY(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal));
        int rc = enqueue_forward(c, err);
        cudaError_t e = cudaStreamEndCapture(c->stream, &graph);
        if (rc < 0) {
            if (graph) cudaGraphDestroy(graph);
            return rc;
        }
        if (e != cudaSuccess)
            return tg_err_set(err, TG_EINTERNAL, "nn cuda: capturing batch %d at %dx%d: %s",
                              c->cur_n, c->cur_len, c->cur_len, cudaGetErrorString(e));
        e = cudaGraphInstantiate(slot, graph, 0);
        cudaGraphDestroy(graph);
        if (e != cudaSuccess) {
            *slot = NULL;
            return tg_err_set(err, TG_EINTERNAL, "nn cuda: cudaGraphInstantiate: %s",
                              cudaGetErrorString(e));
        }
    }
    TG_CUDA_TRY(cudaGraphLaunch(*slot, c->stream));
    return 0;
}

static int cu_forward(void *vctx, int n, int len, const float *spatial, const float *global,
                      tg_nn_raw_t *out, tg_err_t *err) {
    cu_ctx_t *c = vctx;
    if (!c || !spatial || !global || !out)
        return tg_err_set(err, TG_EINVAL, "nn cuda forward: NULL argument");
    if (n < 1 || n > c->max_batch)
        return tg_err_set(err, TG_EINVAL, "nn cuda forward: batch %d out of range [1, %d]", n,
                          c->max_batch);
    if (len < 1 || len > TG_NN_MAX_LEN)
        return tg_err_set(err, TG_EINVAL, "nn cuda forward: board length %d out of range [1, %d]",
                          len, TG_NN_MAX_LEN);
    if (!out->policy || !out->policy_pass || !out->value || !out->score || !out->ownership)
        return tg_err_set(err, TG_EINVAL, "nn cuda forward: an output array is NULL");
    const tg_model_t *m = c->m;
    const size_t hw = (size_t)len * len, nn = (size_t)n;
    const size_t cin = (size_t)m->num_spatial_inputs, cg = (size_t)m->num_global_inputs;
    const size_t P = (size_t)m->policy.num_channels, S = (size_t)m->num_score_values;
    TG_CUDA_TRY(cudaSetDevice(c->opt.device));
    FWD_TRY(set_geometry(c, n, len, err));
    memcpy(c->h_in, spatial, nn * cin * hw * sizeof(float));
    memcpy(c->h_in + nn * cin * hw, global, nn * cg * sizeof(float));
    if (c->graphs)
        FWD_TRY(launch_graph(c, err));
    else
        FWD_TRY(enqueue_forward(c, err));
    TG_CUDA_TRY(cudaStreamSynchronize(c->stream));
    const float *h = c->h_out;
    memcpy(out->policy, h, nn * P * hw * sizeof(float));
    h += nn * P * hw;
    memcpy(out->policy_pass, h, nn * P * sizeof(float));
    h += nn * P;
    memcpy(out->value, h, nn * 3 * sizeof(float));
    h += nn * 3;
    memcpy(out->score, h, nn * S * sizeof(float));
    h += nn * S;
    memcpy(out->ownership, h, nn * hw * sizeof(float));
    return 0;
}

static int cu_create_default(const tg_model_t *m, int max_batch, int fp16, void **ctx,
                             tg_err_t *err) {
    tg_nn_cuda_options_t o;
    tg_nn_cuda_options_default(&o);
    o.fp16 = fp16;
    return tg_nn_cuda_create(m, max_batch, &o, ctx, err);
}

int tg_nn_cuda_built(void) { return 1; }

int tg_nn_cuda_device_count(char *why, size_t why_cap) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count <= 0) {
        if (why && why_cap)
            snprintf(why, why_cap, "no usable CUDA device (%s)",
                     e != cudaSuccess ? cudaGetErrorString(e) : "the device count is 0");
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    return count;
}

void tg_nn_cuda_device_describe(int device, char *buf, size_t cap) {
    struct cudaDeviceProp p;
    int drv = 0;
    if (tg_nn_cuda_device_count(buf, cap) <= 0) return;
    if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
        snprintf(buf, cap, "CUDA device %d: cannot read its properties", device);
        return;
    }
    cudaDriverGetVersion(&drv);
    snprintf(buf, cap, "%s, sm_%d%d, %.1f GiB, %d SMs, driver %d.%d, cuDNN %zu", p.name, p.major,
             p.minor, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), p.multiProcessorCount,
             drv / 1000, (drv % 1000) / 10, cudnnGetVersion());
}

#else /* !TENGEN_HAVE_CUDA */

#define CU_NOT_BUILT                                                                               \
    "CUDA backend not built (configure with TENGEN_CUDA=ON or AUTO where nvcc and cuDNN exist)"

int tg_nn_cuda_built(void) { return 0; }

int tg_nn_cuda_device_count(char *why, size_t why_cap) {
    if (why && why_cap) snprintf(why, why_cap, "%s", CU_NOT_BUILT);
    return 0;
}

void tg_nn_cuda_device_describe(int device, char *buf, size_t cap) {
    (void)device;
    snprintf(buf, cap, "%s", CU_NOT_BUILT);
}

int tg_nn_cuda_create(const tg_model_t *m, int max_batch, const tg_nn_cuda_options_t *o, void **ctx,
                      tg_err_t *err) {
    (void)m;
    (void)max_batch;
    (void)o;
    *ctx = NULL;
    return tg_err_set(err, TG_EUNSUPPORTED, "nn cuda: %s", CU_NOT_BUILT);
}

static int cu_create_default(const tg_model_t *m, int max_batch, int fp16, void **ctx,
                             tg_err_t *err) {
    (void)fp16;
    return tg_nn_cuda_create(m, max_batch, NULL, ctx, err);
}

static void cu_destroy(void *ctx) { (void)ctx; }

static int cu_forward(void *ctx, int n, int len, const float *spatial, const float *global,
                      tg_nn_raw_t *out, tg_err_t *err) {
    (void)ctx, (void)n, (void)len, (void)spatial, (void)global, (void)out;
    return tg_err_set(err, TG_EUNSUPPORTED, "nn cuda: %s", CU_NOT_BUILT);
}

#endif /* TENGEN_HAVE_CUDA */

/* ---- Backends and selection (both builds) ------------------------------------------------- */

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    return (*end == '\0' && x >= 0 && x <= 1 << 20) ? (int)x : dflt;
}

void tg_nn_cuda_options_default(tg_nn_cuda_options_t *o) {
    memset(o, 0, sizeof *o);
    o->device = env_int("TENGEN_CUDA_DEVICE", 0);
    o->use_graphs = env_int("TENGEN_CUDA_GRAPHS", 0) != 0;
    const char *algo = getenv("TENGEN_CUDA_CONV_ALGO");
    o->conv_find = !(algo && strcmp(algo, "heuristic") == 0);
    o->workspace_bytes = (size_t)env_int("TENGEN_CUDA_WORKSPACE_MB", 256) << 20;
}

static int cu_create_fp32(const tg_model_t *m, int max_batch, int threads, void **ctx,
                          tg_err_t *err) {
    (void)threads; /* the GPU needs no host worker threads */
    return cu_create_default(m, max_batch, 0, ctx, err);
}

static int cu_create_fp16(const tg_model_t *m, int max_batch, int threads, void **ctx,
                          tg_err_t *err) {
    (void)threads;
    return cu_create_default(m, max_batch, 1, ctx, err);
}

static const tg_nn_backend_t cuda_backend = {
    .name = "cuda", .create = cu_create_fp32, .destroy = cu_destroy, .forward = cu_forward};
static const tg_nn_backend_t cuda_fp16_backend = {
    .name = "cuda-fp16", .create = cu_create_fp16, .destroy = cu_destroy, .forward = cu_forward};

const tg_nn_backend_t *tg_nn_backend_cuda(void) { return &cuda_backend; }
const tg_nn_backend_t *tg_nn_backend_cuda_fp16(void) { return &cuda_fp16_backend; }

int tg_nn_backend_select(const char *name, const tg_nn_backend_t **out, tg_err_t *err) {
    static atomic_int told;
    *out = NULL;
    if (!name || !*name) name = "auto";
    if (strcmp(name, "cpu") == 0) {
        *out = tg_nn_backend_cpu();
        return 0;
    }
    const int is_auto = strcmp(name, "auto") == 0;
    const int fp16 = strcmp(name, "cuda-fp16") == 0;
    if (!is_auto && !fp16 && strcmp(name, "cuda") != 0)
        return tg_err_set(err, TG_EINVAL,
                          "nn backend: unknown backend '%s' (expected auto, cpu, cuda or "
                          "cuda-fp16)",
                          name);
    if (!tg_nn_cuda_built() && !is_auto)
        return tg_err_set(err, TG_EUNSUPPORTED, "nn backend %s: CUDA backend not built", name);
    char why[256];
    if (tg_nn_cuda_device_count(why, sizeof why) > 0) {
        *out = fp16 ? tg_nn_backend_cuda_fp16() : tg_nn_backend_cuda();
        return 0;
    }
    if (atomic_exchange(&told, 1) == 0) {
        if (is_auto)
            TG_LOGI("nn backend auto: %s; using the CPU backend", why);
        else
            TG_LOGW("nn backend %s: %s; using the CPU backend instead", name, why);
    }
    *out = tg_nn_backend_cpu();
    return 0;
}
