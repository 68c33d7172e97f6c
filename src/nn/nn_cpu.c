/* nn_cpu.c: the CPU backend: a batched, multithreaded forward pass of a KataGo convnet.
 *
 * Design. Activations are NHWC "row" tensors (n, L*L, C) (ops_cpu.h). A forward pass runs
 * SPMD on a small pool: the calling thread is worker 0 and `threads - 1` uv threads join it.
 * Every worker walks the whole net; spatial ops split the n*L*L rows evenly between workers,
 * per-sample ops (pooling, the heads' matmuls) split the samples, and 3x3 convolutions run
 * as Winograd F(4x4,3x3) layers (winograd_cpu.c) whose 4x4 output tiles the workers claim
 * dynamically from an atomic counter (a worker slowed by another process on its core does
 * less). Workers meet at a spinning barrier wherever an op is about to read points another
 * worker wrote, or a buffer other workers still read is about to be overwritten. GEMMs other
 * than Winograd's own kernel are OpenBLAS in single-thread mode (openblas_set_num_threads(1),
 * process-wide): all parallelism is ours.
 *
 * Fusion. A Winograd layer applies the following batch norm + activation + mask as its
 * output points are made: an ordinary block's regularConv writes act(mid_bn(.)) straight into
 * M, and every block's finalConv (residual add) also writes the next block's act(pre_bn(.))
 * (or the trunk tip's) into A. A gpool block's regularConv and gpoolConv share one input
 * transform and GEMM. So an ordinary block costs two barriers and no separate norm pass.
 * TENGEN_NN_CONV=im2col (read at create) selects the im2col + sgemm path for every conv, the
 * reference the Winograd path is tested against (tests/nn/test_model_forward.c).
 *
 * Threads:
 *     caller (worker 0) --run--> [w0 | w1 | ... | wT-1] --barriers per layer--> done
 *     workers sleep on `cv_start` between forwards; the caller waits on `cv_done`.
 *
 * Memory. create() sizes every buffer for max_batch positions at L = 19 (one aligned
 * allocation per buffer); forward() never allocates. Buffers: one trunk per nesting depth,
 * four scratch tensors A R M G (n*361*max_channels each), per-worker im2col / Winograd
 * scratch, per-sample vectors, and the Winograd-domain weights of every 3x3 / 5x5 layer (4x
 * the file's 3x3 weights: 36 instead of 9 floats per channel pair). Masking follows formats.md
 * §1.10: every norm output is multiplied by the on-board mask, conv outputs and residual adds
 * are not (off-board values are junk that every consumer masks away). */
#include "nn/nn.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "util/log.h"

#include "nn/ops_cpu.h"

#ifdef TENGEN_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define NN_HW_MAX      (TG_NN_MAX_LEN * TG_NN_MAX_LEN)
#define NN_MAX_THREADS 256

typedef struct cpu_ctx_s cpu_ctx_t;

/* One atomic counter per cache line (workers hammer them at the same time). */
typedef struct nn_tile_counter_s {
    _Alignas(64) atomic_size_t next;
} nn_tile_counter_t;

/* A 3x3 layer run by Winograd, fused with a second one on the same input when cv2 != NULL. */
typedef struct wino_layer_s {
    const tg_conv_t *cv, *cv2;
} wino_layer_t;

typedef struct cpu_worker_s {
    cpu_ctx_t *ctx;
    int tid;
    int sense;      /* this worker's barrier sense; touched only by its own thread */
    int wino_seq;   /* Winograd layers this worker has run in this forward */
    float *scratch; /* im2col chunk (NN_CONV_CHUNK_ROWS * max_k) or Winograd scratch */
} cpu_worker_t;

struct cpu_ctx_s {
    const tg_model_t *m;
    int max_batch, nthreads;
    size_t max_k;      /* max ky*kx*ic over convs */
    size_t vec_stride; /* floats per sample in the vector workspaces */

    /* Winograd-domain weights of every 3x3 conv (none when TENGEN_NN_CONV=im2col). A gpool
     * block's regularConv and gpoolConv share one entry (keyed by regularConv). */
    int nwino;
    wino_layer_t *wino_conv; /* (nwino) layer(s) -> wino[i] */
    nn_wino_t *wino;         /* (nwino) */

    /* Per-call arguments, written by the caller before waking workers. */
    int n, len;
    const float *in_spatial, *in_global;
    tg_nn_raw_t out;

    /* Buffers (see file comment). */
    float *x;        /* (n, 361, C_in) NHWC input */
    float *mask;     /* (n*361) */
    float *mask_sum; /* (n) */
    float **trunk;   /* [max_nesting + 1] of (n, 361, max_channels) */
    float *a, *r, *mbuf, *g;
    float *vec_a, *vec_b, *vec_c; /* (n, vec_stride) */
    cpu_worker_t *workers;

    /* Pool. Lock: mu guards generation, stop and done_count; barrier state is atomic. */
    uv_thread_t *threads;
    int threads_started;
    uv_mutex_t mu;
    uv_cond_t cv_start, cv_done;
    unsigned long generation;
    int stop, done_count;
    atomic_int bar_count;
    atomic_int bar_sense;
    /* Barrier sleepers. Lock: bar_mu guards the wait on bar_cv; bar_sleepers and bar_sense are
     * seq_cst so a releaser either sees a sleeper or the sleeper sees the new sense. */
    uv_mutex_t bar_mu;
    uv_cond_t bar_cv;
    atomic_int bar_sleepers;

    /* Winograd tiles are handed out dynamically: layer call i of a forward takes claims of
     * tile_claim tiles from tile_next[i] (reset by the caller before each forward), so a
     * worker slowed by other processes on its core does less of the layer. */
    nn_tile_counter_t *tile_next; /* (nwino) */
    size_t tile_claim;
};

/* ---- Pool -------------------------------------------------------------------------------- */

/* Sense-reversing barrier: spins briefly (~60 us: layers are short), then sleeps on bar_cv,
 * so a worker waiting for one that another process holds off its core gives the core away
 * instead of burning it (the last arriver wakes sleepers). */
static void barrier(cpu_worker_t *w) {
    cpu_ctx_t *c = w->ctx;
    if (c->nthreads == 1) return;
    int s = !w->sense;
    w->sense = s;
    if (atomic_fetch_add_explicit(&c->bar_count, 1, memory_order_acq_rel) == c->nthreads - 1) {
        atomic_store_explicit(&c->bar_count, 0, memory_order_relaxed);
        atomic_store(&c->bar_sense, s); /* seq_cst: ordered before the sleeper check */
        if (atomic_load(&c->bar_sleepers) > 0) {
            uv_mutex_lock(&c->bar_mu);
            uv_cond_broadcast(&c->bar_cv);
            uv_mutex_unlock(&c->bar_mu);
        }
        return;
    }
    for (int spins = 0; spins < 4000; spins++) {
        if (atomic_load_explicit(&c->bar_sense, memory_order_acquire) == s) return;
        __builtin_ia32_pause();
    }
    uv_mutex_lock(&c->bar_mu);
    atomic_fetch_add(&c->bar_sleepers, 1);
    while (atomic_load(&c->bar_sense) != s)
        uv_cond_wait(&c->bar_cv, &c->bar_mu);
    atomic_fetch_sub(&c->bar_sleepers, 1);
    uv_mutex_unlock(&c->bar_mu);
}

static void forward_worker(cpu_worker_t *w);

static void worker_main(void *arg) {
    cpu_worker_t *w = arg;
    cpu_ctx_t *c = w->ctx;
    unsigned long seen = 0;
    for (;;) {
        uv_mutex_lock(&c->mu);
        while (c->generation == seen && !c->stop)
            uv_cond_wait(&c->cv_start, &c->mu);
        if (c->stop) {
            uv_mutex_unlock(&c->mu);
            return;
        }
        seen = c->generation;
        uv_mutex_unlock(&c->mu);
        forward_worker(w);
        uv_mutex_lock(&c->mu);
        if (++c->done_count == c->nthreads - 1) uv_cond_signal(&c->cv_done);
        uv_mutex_unlock(&c->mu);
    }
}

/* ---- Forward ----------------------------------------------------------------------------- */

static void split(size_t total, int parts, int i, size_t *b, size_t *e) {
    *b = total * (size_t)i / (size_t)parts;
    *e = total * (size_t)(i + 1) / (size_t)parts;
}

/* Rows [r0,r1) of the current call for worker w. */
typedef struct {
    size_t r0, r1; /* spatial rows */
    size_t s0, s1; /* samples */
} span_t;

static const nn_wino_t *wino_find(const cpu_ctx_t *c, const tg_conv_t *cv) {
    for (int i = 0; i < c->nwino; i++)
        if (c->wino_conv[i].cv == cv) return &c->wino[i];
    return NULL;
}

/* This worker's part of a Winograd layer: claims of c->tile_claim tiles until none are left
 * (one thread: all tiles in one call). Every worker must call this for every Winograd layer,
 * in the same order. Results do not depend on who computes which tile. */
static void wino_run(cpu_worker_t *w, const nn_wino_t *wt, const float *in, float beta, float *out,
                     float *out2, const nn_wino_epi_t *epi) {
    cpu_ctx_t *c = w->ctx;
    const size_t total = nn__wino_num_tiles(c->n, c->len);
    if (c->nthreads == 1) {
        nn__wino_conv_tiles(wt, in, c->len, 0, total, beta, out, out2, epi, w->scratch);
        return;
    }
    atomic_size_t *next = &c->tile_next[w->wino_seq++].next;
    for (;;) {
        size_t t0 = atomic_fetch_add_explicit(next, c->tile_claim, memory_order_relaxed);
        if (t0 >= total) break;
        size_t t1 = t0 + c->tile_claim < total ? t0 + c->tile_claim : total;
        nn__wino_conv_tiles(wt, in, c->len, t0, t1, beta, out, out2, epi, w->scratch);
    }
}

/* A batch norm + activation + mask to apply to a layer's output points as they are made
 * (nn_wino_epi_t), into out; bn == NULL: none. */
typedef struct {
    const tg_bn_t *bn;
    tg_act_kind_t act;
    float *out;
} epi_t;

/* One convolution layer, this worker's share: claimed Winograd tiles for 3x3 layers (when
 * enabled), else rows [r0, r1) by im2col. With e->bn, also e->out = act(bn(y)) * mask on the
 * same points; keep_out = 0 then lets a Winograd layer skip storing y itself (beta must be 0;
 * im2col layers store it anyway, as scratch). A tiled layer writes points other than rows
 * [r0, r1), so when the next op reads this worker's rows (sync_after), wait for everyone. */
static void conv_layer(cpu_worker_t *w, const span_t *sp, const tg_conv_t *cv, const float *in,
                       float beta, float *out, const epi_t *e, int keep_out, int sync_after) {
    cpu_ctx_t *c = w->ctx;
    const nn_wino_t *wt = wino_find(c, cv);
    const int has_epi = e && e->bn;
    if (!wt) {
        nn__conv_rows(cv, in, c->len, sp->r0, sp->r1, beta, out, w->scratch);
        if (has_epi) nn__bn_act_rows(e->bn, e->act, out, e->out, c->mask, sp->r0, sp->r1);
        return;
    }
    nn_wino_epi_t we = {.bn = has_epi ? e->bn : NULL,
                        .act = has_epi ? e->act : TG_ACT_IDENTITY,
                        .mask = c->mask,
                        .out = has_epi ? e->out : NULL};
    wino_run(w, wt, in, beta, (keep_out || !has_epi) ? out : NULL, NULL, has_epi ? &we : NULL);
    if (sync_after) barrier(w);
}

static void run_stack(cpu_worker_t *w, const span_t *sp, const tg_block_t *blocks, int nblocks,
                      int depth, const epi_t *after);

/* One residual block on trunk[depth]. pre_done: c->a already holds act(pre_bn(trunk)) (fused
 * into the previous block's last conv, and a barrier passed since). next: the norm to fuse
 * into this block's last conv (the next block's pre_bn, or the trunk tip), or NULL. */
static void run_block(cpu_worker_t *w, const span_t *sp, const tg_block_t *b, int depth,
                      int pre_done, const epi_t *next) {
    cpu_ctx_t *c = w->ctx;
    const int len = c->len, hw = len * len;
    float *t = c->trunk[depth];
    if (!pre_done) {
        nn__bn_act_rows(&b->pre_bn, b->pre_act.kind, t, c->a, c->mask, sp->r0, sp->r1);
        barrier(w);
    }
    if (b->kind == TG_BLOCK_NESTED) {
        float *u = c->trunk[depth + 1];
        conv_layer(w, sp, &b->conv1, c->a, 0.0f, u, NULL, 1, 0); /* barrier follows */
        barrier(w);
        run_stack(w, sp, b->blocks, b->num_blocks, depth + 1, NULL);
        barrier(w);
        nn__bn_act_rows(&b->mid_bn, b->mid_act.kind, u, c->mbuf, c->mask, sp->r0, sp->r1);
        barrier(w);
        conv_layer(w, sp, &b->conv2, c->mbuf, 1.0f, t, next, 1, 0); /* callers barrier next */
        return;
    }
    if (b->kind == TG_BLOCK_ORDINARY) {
        /* conv1 with mid_bn fused: c->mbuf directly (c->r is only im2col scratch). */
        const epi_t mid = {&b->mid_bn, b->mid_act.kind, c->mbuf};
        conv_layer(w, sp, &b->conv1, c->a, 0.0f, c->r, &mid, 0, 0);
        barrier(w);
        conv_layer(w, sp, &b->conv2, c->mbuf, 1.0f, t, next, 1, 0); /* callers barrier next */
        return;
    }
    /* Global-pooling block. */
    const int gc = b->gpool_conv.oc, rc = b->conv1.oc;
    const nn_wino_t *fused = wino_find(c, &b->conv1);
    if (fused && fused->oc1 < fused->oc) {
        /* regularConv and gpoolConv as one Winograd layer: c->r and c->g in one pass. */
        wino_run(w, fused, c->a, 0.0f, c->r, c->g, NULL);
        barrier(w);
    } else {
        conv_layer(w, sp, &b->conv1, c->a, 0.0f, c->r, NULL, 1, 0); /* read after barriers */
        conv_layer(w, sp, &b->gpool_conv, c->a, 0.0f, c->g, NULL, 1, 1);
    }
    nn__bn_act_rows(&b->gpool_bn, b->gpool_act.kind, c->g, c->g, c->mask, sp->r0, sp->r1);
    barrier(w);
    for (size_t s = sp->s0; s < sp->s1; s++) {
        float *pooled = c->vec_a + s * c->vec_stride;
        nn__gpool_sample(c->g + s * hw * gc, c->mask + s * hw, hw, gc, c->mask_sum[s], pooled);
        nn__matmul_vec(&b->gpool_to_bias, NULL, pooled, c->vec_b + s * c->vec_stride);
    }
    barrier(w);
    for (size_t r = sp->r0; r < sp->r1; r++) {
        const float *bias = c->vec_b + (r / hw) * c->vec_stride;
        float *row = c->r + r * rc;
        for (int i = 0; i < rc; i++)
            row[i] += bias[i];
    }
    nn__bn_act_rows(&b->mid_bn, b->mid_act.kind, c->r, c->mbuf, c->mask, sp->r0, sp->r1);
    barrier(w);
    conv_layer(w, sp, &b->conv2, c->mbuf, 1.0f, t, next, 1, 0); /* callers barrier next */
}

/* Runs a stack of blocks on trunk[depth]; each block's last conv also computes the next
 * block's pre_bn into c->a, and the last block's computes `after` (when not NULL). */
static void run_stack(cpu_worker_t *w, const span_t *sp, const tg_block_t *blocks, int nblocks,
                      int depth, const epi_t *after) {
    cpu_ctx_t *c = w->ctx;
    for (int i = 0; i < nblocks; i++) {
        if (i > 0) barrier(w); /* block i-1's last conv wrote c->a points of other workers */
        epi_t next = {0};
        if (i + 1 < nblocks)
            next = (epi_t){&blocks[i + 1].pre_bn, blocks[i + 1].pre_act.kind, c->a};
        else if (after)
            next = *after;
        run_block(w, sp, &blocks[i], depth, i > 0, &next);
    }
}

static void forward_worker(cpu_worker_t *w) {
    cpu_ctx_t *c = w->ctx;
    const tg_model_t *m = c->m;
    const int n = c->n, len = c->len, hw = len * len;
    const int cin = m->num_spatial_inputs;
    span_t sp;
    split((size_t)n * hw, c->nthreads, w->tid, &sp.r0, &sp.r1);
    split((size_t)n, c->nthreads, w->tid, &sp.s0, &sp.s1);

    /* Input NCHW -> NHWC rows, and the mask. */
    for (size_t r = sp.r0; r < sp.r1; r++) {
        size_t s = r / hw, pos = r % hw;
        const float *src = c->in_spatial + s * (size_t)cin * hw + pos;
        float *dst = c->x + r * cin;
        for (int i = 0; i < cin; i++)
            dst[i] = src[(size_t)i * hw];
        c->mask[r] = src[0];
    }
    /* Per-sample: mask sums and the global-input bias of the initial layer. */
    const tg_trunk_t *tr = &m->trunk;
    const int W = tr->trunk_channels;
    for (size_t s = sp.s0; s < sp.s1; s++) {
        float sum = 0.0f;
        const float *mk = c->in_spatial + s * (size_t)cin * hw;
        for (int p = 0; p < hw; p++)
            sum += mk[p];
        c->mask_sum[s] = sum > 0.0f ? sum : 1.0f; /* an empty mask pools to 0, not NaN */
        nn__matmul_vec(&tr->initial_matmul, NULL, c->in_global + s * (size_t)m->num_global_inputs,
                       c->vec_a + s * c->vec_stride);
    }
    barrier(w);
    float *t = c->trunk[0];
    conv_layer(w, &sp, &tr->initial_conv, c->x, 0.0f, t, NULL, 1, 1);
    for (size_t r = sp.r0; r < sp.r1; r++) {
        const float *gb = c->vec_a + (r / hw) * c->vec_stride;
        float *row = t + r * W;
        for (int i = 0; i < W; i++)
            row[i] += gb[i];
    }
    barrier(w); /* vec_a is reused by gpool blocks */
    /* The trunk; its last conv also applies the trunk tip norm, into c->a. */
    const epi_t tip = {&tr->tip_bn, tr->tip_act.kind, c->a};
    if (tr->num_blocks > 0) {
        run_stack(w, &sp, tr->blocks, tr->num_blocks, 0, &tip);
    } else {
        nn__bn_act_rows(&tr->tip_bn, tr->tip_act.kind, t, c->a, c->mask, sp.r0, sp.r1);
    }
    barrier(w);

    /* The heads' first convolutions. */
    const tg_policy_head_t *ph = &m->policy;
    const tg_value_head_t *vh = &m->value;
    const int cp1 = ph->p1_conv.oc, cg1 = ph->g1_conv.oc, cv1 = vh->v1_conv.oc;
    const int P = ph->num_channels, S = m->num_score_values;
    conv_layer(w, &sp, &ph->p1_conv, c->a, 0.0f, c->r, NULL, 1, 0);
    conv_layer(w, &sp, &ph->g1_conv, c->a, 0.0f, c->g, NULL, 1, 1);
    nn__bn_act_rows(&ph->g1_bn, ph->g1_act.kind, c->g, c->g, c->mask, sp.r0, sp.r1);
    conv_layer(w, &sp, &vh->v1_conv, c->a, 0.0f, c->mbuf, NULL, 1, 1);
    nn__bn_act_rows(&vh->v1_bn, vh->v1_act.kind, c->mbuf, c->mbuf, c->mask, sp.r0, sp.r1);
    barrier(w);

    /* Ownership (conv C_v1 -> 1) straight into the output, rows = (n, L*L). */
    conv_layer(w, &sp, &vh->ownership_conv, c->mbuf, 0.0f, c->out.ownership, NULL, 1, 0);
    /* Per-sample head vectors. */
    for (size_t s = sp.s0; s < sp.s1; s++) {
        float *q = c->vec_a + s * c->vec_stride;
        float *pb = c->vec_b + s * c->vec_stride;
        float *tmp = c->vec_c + s * c->vec_stride;
        nn__gpool_sample(c->g + s * hw * cg1, c->mask + s * hw, hw, cg1, c->mask_sum[s], q);
        nn__matmul_vec(&ph->gpool_to_bias, NULL, q, pb);
        float *pass = c->out.policy_pass + s * P;
        if (!ph->has_pass_mlp) {
            nn__matmul_vec(&ph->pass_mul, NULL, q, pass);
        } else {
            nn__matmul_vec(&ph->pass_mul, &ph->pass_bias, q, tmp);
            nn__act_vec(ph->pass_act.kind, tmp, (size_t)ph->pass_mul.oc);
            nn__matmul_vec(&ph->pass_mul2, NULL, tmp, pass);
        }
        /* Value head: vpool -> v2 -> (value, score). tmp holds the pooled values, q is free. */
        nn__vpool_sample(c->mbuf + s * hw * cv1, hw, cv1, c->mask_sum[s], tmp);
        nn__matmul_vec(&vh->v2_mul, &vh->v2_bias, tmp, q);
        nn__act_vec(vh->v2_act.kind, q, (size_t)vh->v2_mul.oc);
        nn__matmul_vec(&vh->v3_mul, &vh->v3_bias, q, c->out.value + s * 3);
        nn__matmul_vec(&vh->sv3_mul, &vh->sv3_bias, q, c->out.score + s * S);
    }
    barrier(w);

    /* Policy: p += gpool bias; p = act(bn(p)) * mask; logits = p2conv(p). */
    for (size_t r = sp.r0; r < sp.r1; r++) {
        const float *bias = c->vec_b + (r / hw) * c->vec_stride;
        float *row = c->r + r * cp1;
        for (int i = 0; i < cp1; i++)
            row[i] += bias[i];
    }
    nn__bn_act_rows(&ph->p1_bn, ph->p1_act.kind, c->r, c->r, c->mask, sp.r0, sp.r1);
    if (ph->p2_conv.ky != 1 || ph->p2_conv.kx != 1) barrier(w);
    conv_layer(w, &sp, &ph->p2_conv, c->r, 0.0f, c->g, NULL, 1, 1);
    for (size_t r = sp.r0; r < sp.r1; r++) {
        size_t s = r / hw, pos = r % hw;
        for (int k = 0; k < P; k++)
            c->out.policy[(s * P + k) * hw + pos] = c->g[r * P + k];
    }
}

/* ---- Backend entry points ------------------------------------------------------------------ */

static void stack_limits(const tg_block_t *b, int n, size_t *max_k, int *max_vec) {
    for (int i = 0; i < n; i++) {
        const tg_conv_t *convs[3] = {&b[i].conv1, &b[i].conv2, &b[i].gpool_conv};
        for (int j = 0; j < 3; j++) {
            if (!convs[j]->w) continue;
            size_t k = (size_t)convs[j]->ky * convs[j]->kx * convs[j]->ic;
            if (k > *max_k) *max_k = k;
        }
        if (b[i].kind == TG_BLOCK_GPOOL) {
            if (b[i].gpool_to_bias.ic > *max_vec) *max_vec = b[i].gpool_to_bias.ic;
            if (b[i].gpool_to_bias.oc > *max_vec) *max_vec = b[i].gpool_to_bias.oc;
        }
        if (b[i].kind == TG_BLOCK_NESTED)
            stack_limits(b[i].blocks, b[i].num_blocks, max_k, max_vec);
    }
}

/* Layers run by Winograd: 3x3, and 5x5 (KataGo's input layer) as four 3x3 sub-kernels
 * (2.8x fewer multiplies than direct). */
static int is_wino_conv(const tg_conv_t *cv) {
    return cv->w && cv->ky == cv->kx && (cv->ky == 3 || cv->ky == 5);
}

/* Appends the Winograd layers of a block stack to list (when list != NULL) and counts them. */
static int stack_wino_layers(const tg_block_t *b, int n, wino_layer_t *list, int count) {
    for (int i = 0; i < n; i++) {
        const tg_conv_t *c1 = &b[i].conv1, *gc = &b[i].gpool_conv, *c2 = &b[i].conv2;
        int fuse = b[i].kind == TG_BLOCK_GPOOL && is_wino_conv(c1) && is_wino_conv(gc) &&
                   c1->ic == gc->ic && c1->ky == gc->ky;
        wino_layer_t layers[3] = {{c1, fuse ? gc : NULL}, {fuse ? NULL : gc, NULL}, {c2, NULL}};
        for (int j = 0; j < 3; j++) {
            if (!layers[j].cv || !is_wino_conv(layers[j].cv)) continue;
            if (list) list[count] = layers[j];
            count++;
        }
        if (b[i].kind == TG_BLOCK_NESTED)
            count = stack_wino_layers(b[i].blocks, b[i].num_blocks, list, count);
    }
    return count;
}

static int model_wino_layers(const tg_model_t *m, wino_layer_t *list) {
    const tg_conv_t *convs[6] = {&m->trunk.initial_conv, &m->policy.p1_conv,
                                 &m->policy.g1_conv,     &m->policy.p2_conv,
                                 &m->value.v1_conv,      &m->value.ownership_conv};
    int count = stack_wino_layers(m->trunk.blocks, m->trunk.num_blocks, list, 0);
    for (int j = 0; j < 6; j++) {
        if (!is_wino_conv(convs[j])) continue;
        if (list) list[count] = (wino_layer_t){convs[j], NULL};
        count++;
    }
    return count;
}

/* Winograd is the default for 3x3 and 5x5 convs; TENGEN_NN_CONV=im2col selects the im2col
 * reference path (read at create). */
static int wino_enabled(void) {
    const char *e = getenv("TENGEN_NN_CONV");
    return !(e && strcmp(e, "im2col") == 0);
}

static void cpu_destroy(void *vctx) {
    cpu_ctx_t *c = vctx;
    if (!c) return;
    if (c->threads_started > 0) {
        uv_mutex_lock(&c->mu);
        c->stop = 1;
        uv_cond_broadcast(&c->cv_start);
        uv_mutex_unlock(&c->mu);
        for (int i = 0; i < c->threads_started; i++)
            uv_thread_join(&c->threads[i]);
    }
    if (c->threads) {
        uv_cond_destroy(&c->cv_start);
        uv_cond_destroy(&c->cv_done);
        uv_mutex_destroy(&c->mu);
        uv_cond_destroy(&c->bar_cv);
        uv_mutex_destroy(&c->bar_mu);
    }
    free(c->threads);
    if (c->workers)
        for (int i = 0; i < c->nthreads; i++)
            free(c->workers[i].scratch);
    free(c->workers);
    if (c->wino)
        for (int i = 0; i < c->nwino; i++)
            nn__wino_free(&c->wino[i]);
    free(c->wino);
    free(c->wino_conv);
    free(c->tile_next);
    if (c->trunk)
        for (int d = 0; d <= c->m->max_nesting; d++)
            free(c->trunk[d]);
    free(c->trunk);
    free(c->x);
    free(c->mask);
    free(c->mask_sum);
    free(c->a);
    free(c->r);
    free(c->mbuf);
    free(c->g);
    free(c->vec_a);
    free(c->vec_b);
    free(c->vec_c);
    free(c);
}

#ifdef TENGEN_HAVE_OPENBLAS
/* OpenBLAS 0.3.21 does not recognise some recent Xeons (e.g. model 207 under KVM) and falls back
 * to its SSE3 "Prescott" kernels, about 4x slower here (bench/RESULTS.md). The core is chosen
 * when the library loads, so it can only be fixed from outside: OPENBLAS_CORETYPE=SkylakeX (or
 * Haswell). Warn once when that happens on a CPU with AVX2. */
static void warn_openblas_core(void) {
    static atomic_int warned;
    const char *core = openblas_get_corename();
    if (!core || !__builtin_cpu_supports("avx2")) return;
    static const char *slow[] = {"Prescott",    "Core2", "Penryn", "Dunnington", "Nehalem",
                                 "Sandybridge", "Atom",  "Katmai", "Coppermine", "Northwood"};
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++) {
        if (strcasecmp(core, slow[i]) == 0 && atomic_exchange(&warned, 1) == 0) {
            TG_LOGW("nn cpu: OpenBLAS runs its %s kernels on an AVX2%s CPU; set "
                    "OPENBLAS_CORETYPE=%s before starting for ~4x faster inference",
                    core, __builtin_cpu_supports("avx512f") ? "/AVX-512" : "",
                    __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
        }
    }
}
#endif

static float *alloc_floats(size_t n) {
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

static int cpu_create(const tg_model_t *m, int max_batch, int threads, void **out, tg_err_t *err) {
    *out = NULL;
    if (!m || max_batch < 1 || max_batch > 4096)
        return tg_err_set(err, TG_EINVAL, "nn cpu: max_batch %d out of range [1, 4096]", max_batch);
    if (threads <= 0) threads = (int)uv_available_parallelism();
    if (threads > NN_MAX_THREADS) threads = NN_MAX_THREADS;
    cpu_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return tg_err_set(err, TG_ENOMEM, "nn cpu: out of memory");
    c->m = m;
    c->max_batch = max_batch;
    c->nthreads = threads;

    size_t max_k =
        (size_t)m->trunk.initial_conv.ky * m->trunk.initial_conv.kx * m->trunk.initial_conv.ic;
    int max_vec = m->max_channels;
    stack_limits(m->trunk.blocks, m->trunk.num_blocks, &max_k, &max_vec);
    const tg_conv_t *hc[5] = {&m->policy.p1_conv, &m->policy.g1_conv, &m->policy.p2_conv,
                              &m->value.v1_conv, &m->value.ownership_conv};
    for (int i = 0; i < 5; i++) {
        size_t k = (size_t)hc[i]->ky * hc[i]->kx * hc[i]->ic;
        if (k > max_k) max_k = k;
    }
    const tg_matmul_t *mms[7] = {
        &m->trunk.initial_matmul, &m->policy.gpool_to_bias, &m->policy.pass_mul, &m->value.v2_mul,
        &m->value.v3_mul,         &m->value.sv3_mul,        &m->policy.pass_mul2};
    for (int i = 0; i < 7; i++) {
        if (mms[i]->ic > max_vec) max_vec = mms[i]->ic;
        if (mms[i]->oc > max_vec) max_vec = mms[i]->oc;
    }
    if (3 * m->max_channels > max_vec) max_vec = 3 * m->max_channels;
    c->max_k = max_k;
    size_t scratch_floats = NN_CONV_CHUNK_ROWS * max_k;
    if (wino_enabled()) {
        int nw = model_wino_layers(m, NULL);
        c->wino_conv = calloc((size_t)nw + 1, sizeof *c->wino_conv);
        c->wino = calloc((size_t)nw + 1, sizeof *c->wino);
        if (!c->wino_conv || !c->wino) {
            cpu_destroy(c);
            return tg_err_set(err, TG_ENOMEM, "nn cpu: out of memory");
        }
        model_wino_layers(m, c->wino_conv);
        c->tile_next = aligned_alloc(64, sizeof *c->tile_next * ((size_t)nw + 1));
        if (!c->tile_next) {
            cpu_destroy(c);
            return tg_err_set(err, TG_ENOMEM, "nn cpu: out of memory");
        }
        for (; c->nwino < nw; c->nwino++) {
            const wino_layer_t *l = &c->wino_conv[c->nwino];
            if (nn__wino_pack(&c->wino[c->nwino], l->cv, l->cv2) < 0) {
                cpu_destroy(c);
                return tg_err_set(err, TG_ENOMEM, "nn cpu: out of memory for layer %s",
                                  l->cv->name);
            }
            size_t f = nn__wino_scratch_floats(&c->wino[c->nwino]);
            if (f > scratch_floats) scratch_floats = f;
        }
    }
    c->vec_stride = ((size_t)max_vec + 15) / 16 * 16;

    const size_t rows = (size_t)max_batch * NN_HW_MAX;
    const size_t big = rows * (size_t)m->max_channels;
    c->x = alloc_floats(rows * (size_t)m->num_spatial_inputs);
    c->mask = alloc_floats(rows);
    c->mask_sum = alloc_floats((size_t)max_batch);
    c->trunk = calloc((size_t)m->max_nesting + 1, sizeof *c->trunk);
    c->a = alloc_floats(big);
    c->r = alloc_floats(big);
    c->mbuf = alloc_floats(big);
    c->g = alloc_floats(big);
    c->vec_a = alloc_floats((size_t)max_batch * c->vec_stride);
    c->vec_b = alloc_floats((size_t)max_batch * c->vec_stride);
    c->vec_c = alloc_floats((size_t)max_batch * c->vec_stride);
    c->workers = calloc((size_t)threads, sizeof *c->workers);
    int ok = c->x && c->mask && c->mask_sum && c->trunk && c->a && c->r && c->mbuf && c->g &&
             c->vec_a && c->vec_b && c->vec_c && c->workers;
    if (ok) {
        for (int d = 0; d <= m->max_nesting; d++)
            ok = ok && (c->trunk[d] = alloc_floats(big));
        for (int i = 0; i < threads && ok; i++) {
            c->workers[i].ctx = c;
            c->workers[i].tid = i;
            ok = (c->workers[i].scratch = alloc_floats(scratch_floats)) != NULL;
        }
    }
    if (!ok) {
        cpu_destroy(c);
        return tg_err_set(err, TG_ENOMEM, "nn cpu: cannot allocate workspaces for batch %d",
                          max_batch);
    }
#ifdef TENGEN_HAVE_OPENBLAS
    openblas_set_num_threads(1);
    warn_openblas_core();
#endif
    c->threads = calloc((size_t)threads, sizeof *c->threads);
    if (!c->threads || uv_mutex_init(&c->mu) != 0 || uv_cond_init(&c->cv_start) != 0 ||
        uv_cond_init(&c->cv_done) != 0 || uv_mutex_init(&c->bar_mu) != 0 ||
        uv_cond_init(&c->bar_cv) != 0) {
        free(c->threads);
        c->threads = NULL; /* the sync objects are leaked only in this near-impossible case */
        cpu_destroy(c);
        return tg_err_set(err, TG_ENOMEM, "nn cpu: cannot create the thread pool");
    }
    for (int i = 1; i < threads; i++) {
        if (uv_thread_create(&c->threads[c->threads_started], worker_main, &c->workers[i]) != 0) {
            cpu_destroy(c);
            return tg_err_set(err, TG_ENOMEM, "nn cpu: cannot start worker thread %d", i);
        }
        c->threads_started++;
    }
    *out = c;
    return 0;
}

static int cpu_forward(void *vctx, int n, int len, const float *spatial, const float *global,
                       tg_nn_raw_t *out, tg_err_t *err) {
    cpu_ctx_t *c = vctx;
    if (!c || !spatial || !global || !out)
        return tg_err_set(err, TG_EINVAL, "nn cpu forward: NULL argument");
    if (n < 1 || n > c->max_batch)
        return tg_err_set(err, TG_EINVAL, "nn cpu forward: batch %d out of range [1, %d]", n,
                          c->max_batch);
    if (len < 1 || len > TG_NN_MAX_LEN)
        return tg_err_set(err, TG_EINVAL, "nn cpu forward: board length %d out of range [1, %d]",
                          len, TG_NN_MAX_LEN);
    if (!out->policy || !out->policy_pass || !out->value || !out->score || !out->ownership)
        return tg_err_set(err, TG_EINVAL, "nn cpu forward: an output array is NULL");
    c->n = n;
    /* Claims of half a worker's even share, so that normally each worker takes two and a
     * slowed worker's leftovers go to the others; but at least min(32, a full share) tiles,
     * since every claim streams the layer's whole weight set (1.3 MB for 96 -> 96) through
     * the core: a batch-1 19x19 layer (25 tiles) goes out as one claim per worker. Counters
     * are reset before the workers wake (the mutex below orders these stores before their
     * loads). */
    const size_t tiles = nn__wino_num_tiles(n, len), nt = (size_t)c->nthreads;
    size_t half = (tiles + 2 * nt - 1) / (2 * nt), full = (tiles + nt - 1) / nt;
    size_t floor_claim = full < 32 ? full : 32;
    c->tile_claim = half > floor_claim ? half : floor_claim;
    for (int i = 0; i < c->nwino; i++)
        atomic_store_explicit(&c->tile_next[i].next, 0, memory_order_relaxed);
    for (int i = 0; i < c->nthreads; i++)
        c->workers[i].wino_seq = 0;
    c->len = len;
    c->in_spatial = spatial;
    c->in_global = global;
    c->out = *out;
    if (c->nthreads > 1) {
        uv_mutex_lock(&c->mu);
        c->done_count = 0;
        c->generation++;
        uv_cond_broadcast(&c->cv_start);
        uv_mutex_unlock(&c->mu);
    }
    forward_worker(&c->workers[0]);
    if (c->nthreads > 1) {
        uv_mutex_lock(&c->mu);
        while (c->done_count < c->nthreads - 1)
            uv_cond_wait(&c->cv_done, &c->mu);
        uv_mutex_unlock(&c->mu);
    }
    return 0;
}

static const tg_nn_backend_t cpu_backend = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .forward = cpu_forward,
};

const tg_nn_backend_t *tg_nn_backend_cpu(void) { return &cpu_backend; }

int tg_nn_raw_alloc(tg_nn_raw_t *out, const tg_model_t *m, int max_batch, tg_err_t *err) {
    memset(out, 0, sizeof *out);
    if (max_batch < 1) return tg_err_set(err, TG_EINVAL, "nn raw alloc: max_batch %d", max_batch);
    size_t nb = (size_t)max_batch;
    int P = m->policy.num_channels, S = m->num_score_values;
    out->policy = calloc(nb * P * NN_HW_MAX, sizeof(float));
    out->policy_pass = calloc(nb * P, sizeof(float));
    out->value = calloc(nb * 3, sizeof(float));
    out->score = calloc(nb * S, sizeof(float));
    out->ownership = calloc(nb * NN_HW_MAX, sizeof(float));
    out->max_batch = max_batch;
    if (!out->policy || !out->policy_pass || !out->value || !out->score || !out->ownership) {
        tg_nn_raw_free(out);
        return tg_err_set(err, TG_ENOMEM, "nn raw alloc: out of memory");
    }
    return 0;
}

void tg_nn_raw_free(tg_nn_raw_t *out) {
    if (!out) return;
    free(out->policy);
    free(out->policy_pass);
    free(out->value);
    free(out->score);
    free(out->ownership);
    memset(out, 0, sizeof *out);
}
