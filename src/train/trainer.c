/* trainer.c: batches, worker threads, SGD (KataGo's optimizer) and checkpoints.
 *
 * Thread layout:
 *
 *   caller ──(trainer_step)── assembles the batch, wakes workers 1..T-1, runs slice 0
 *        │                           itself, waits, sums grads in thread order, updates params
 *   worker t ── waits on `cond` for a new generation, runs slice t into its own grads
 *
 * Lock: `mu` guards generation, pending, stop. Workers touch only their slice of the batch
 * (read-only), their own net workspace and their own grad/loss buffers, so the compute needs
 * no lock. Results are summed in fixed thread order: a run is bit-reproducible per thread count.
 *
 * Optimizer (algorithms.md §5.2): SGD, torch semantics v = mu*v + (g + wd*theta),
 * theta -= lr*v, on the gradient of the SUMMED batch loss; lr per sample = lr_per_sample *
 * lr_scale * warmup(samples) * group factor / lookahead_alpha; lookahead every k steps; global
 * grad-norm clip at clip_base * sqrt(batch/256) / sqrt(lr_scale); fixup weight decay 1e-6*b
 * (weights) and 1e-8*b (biases), b = batch/256.
 *
 * SWA (algorithms.md §5.3, KataGo train.py): after the update (and the lookahead, if due),
 * swa_accum += batch; once it reaches swa_period_samples, the first step whose lookahead weights
 * are in sync snapshots the params into the average (first snapshot: a copy; then an EMA with
 * weight 1/swa_scale) and resets swa_accum to 0. KataGo's AveragedModel does the same (its
 * n_averaged == 0 copy); fixup nets have no batch-norm statistics to recompute. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "data/npz.h"
#include "nn/features.h"
#include "train/train_internal.h"
#include "util/fileio.h"

#ifdef TENGEN_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define TRAIN_MAX_THREADS 64

struct trainer_s;

typedef struct worker_s {
    struct trainer_s *t;
    int index;
    uv_thread_t thread;
} worker_t;

struct trainer_s {
    train_options_t opt;
    train_model_t model;
    float *slow;     /* lookahead slow weights (num_params) */
    train_swa_t swa; /* SWA average (num_params, allocated always: a load may bring one) */
    int nthreads, hw, score_len;
    train_net_t *nets[TRAIN_MAX_THREADS];
    float *tgrads[TRAIN_MAX_THREADS];
    double tloss[TRAIN_MAX_THREADS][TRAIN_LOSS_COUNT];
    worker_t workers[TRAIN_MAX_THREADS];
    /* batch (batch rows) */
    float *spatial, *global, *mask, *mask_sum, *policy, *gtargets, *score, *owner;
    float *plane_a, *plane_b; /* (22, hw) */
    int n;                    /* rows in the current batch */
    int64_t steps, samples;
    uint64_t seq_pos;
    tg_rng_t rng;
    /* pool; Lock: mu guards generation, pending, stop */
    uv_mutex_t mu;
    uv_cond_t cond_work, cond_done;
    uint64_t generation;
    int pending, stop, pool_started;
};

void train_options_default(train_options_t *o, const train_config_t *cfg) {
    memset(o, 0, sizeof(*o));
    o->cfg = *cfg;
    o->pos_len = 19;
    o->batch = 128;
    o->threads = 1;
    o->seed = 1;
    o->lr_per_sample = 3e-5;
    o->lr_scale = 1.0;
    o->warmup = 1;
    o->head_lr_factor = 0.5;
    o->momentum = 0.9;
    o->lookahead_k = 6;
    o->lookahead_alpha = 0.5;
    o->clip_base = 2500.0;
    o->symmetries = 1;
    o->sample = TRAIN_SAMPLE_RANDOM;
    o->swa = 0;
    o->swa_period_samples = 80000;
    o->swa_scale = 8.0;
}

/* ---- slices and the pool ---------------------------------------------------------------- */

static void slice_of(const trainer_t *t, int w, train_slice_t *s) {
    const int per = (t->n + t->nthreads - 1) / t->nthreads;
    const int s0 = w * per, s1 = s0 + per < t->n ? s0 + per : t->n;
    const size_t hw = (size_t)t->hw;
    s->n = s1 > s0 ? s1 - s0 : 0;
    s->spatial = t->spatial + (size_t)s0 * hw * TRAIN_SPATIAL_IN;
    s->global = t->global + (size_t)s0 * TRAIN_GLOBAL_IN;
    s->mask = t->mask + (size_t)s0 * hw;
    s->mask_sum = t->mask_sum + s0;
    s->policy = t->policy + (size_t)s0 * 2 * (hw + 1);
    s->gtargets = t->gtargets + (size_t)s0 * TRAINROWS_GLOBAL_TARGETS;
    s->score = t->score + (size_t)s0 * t->score_len;
    s->owner = t->owner + (size_t)s0 * hw;
}

static void run_slice(trainer_t *t, int w) {
    train_slice_t s;
    slice_of(t, w, &s);
    memset(t->tgrads[w], 0, t->model.num_params * sizeof(float));
    memset(t->tloss[w], 0, sizeof(t->tloss[w]));
    if (s.n > 0) train__net_run(t->nets[w], &t->model, &s, t->tgrads[w], t->tloss[w]);
}

static void worker_main(void *arg) {
    worker_t *wk = arg;
    trainer_t *t = wk->t;
    uint64_t seen = 0;
    for (;;) {
        uv_mutex_lock(&t->mu);
        while (!t->stop && t->generation == seen)
            uv_cond_wait(&t->cond_work, &t->mu);
        if (t->stop) {
            uv_mutex_unlock(&t->mu);
            return;
        }
        seen = t->generation;
        uv_mutex_unlock(&t->mu);
        run_slice(t, wk->index);
        uv_mutex_lock(&t->mu);
        if (--t->pending == 0) uv_cond_signal(&t->cond_done);
        uv_mutex_unlock(&t->mu);
    }
}

/* Runs all slices of the current batch and sums grads and losses (thread order). */
static void run_batch(trainer_t *t, double *loss) {
    if (t->nthreads > 1) {
        uv_mutex_lock(&t->mu);
        t->pending = t->nthreads - 1;
        t->generation++;
        uv_cond_broadcast(&t->cond_work);
        uv_mutex_unlock(&t->mu);
    }
    run_slice(t, 0);
    if (t->nthreads > 1) {
        uv_mutex_lock(&t->mu);
        while (t->pending > 0)
            uv_cond_wait(&t->cond_done, &t->mu);
        uv_mutex_unlock(&t->mu);
    }
    float *g = t->model.grads;
    const size_t np = t->model.num_params;
    memcpy(g, t->tgrads[0], np * sizeof(float));
    for (int w = 1; w < t->nthreads; w++) {
        const float *tg = t->tgrads[w];
        for (size_t i = 0; i < np; i++)
            g[i] += tg[i];
    }
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++) {
        loss[k] = 0.0;
        for (int w = 0; w < t->nthreads; w++)
            loss[k] += t->tloss[w][k];
    }
}

/* ---- create / destroy ------------------------------------------------------------------- */

int trainer_create(trainer_t **out, const train_options_t *o, tg_err_t *err) {
    *out = NULL;
    if (o->batch < 1 || o->threads < 1 || o->threads > TRAIN_MAX_THREADS)
        return tg_err_set(err, TG_EINVAL, "trainer: batch %d / threads %d out of range", o->batch,
                          o->threads);
    if (!(o->lr_per_sample >= 0) || !(o->lr_scale > 0) || !(o->momentum >= 0) ||
        o->lookahead_k < 0 || (o->lookahead_k > 0 && !(o->lookahead_alpha > 0)))
        return tg_err_set(err, TG_EINVAL, "trainer: bad optimizer settings");
    if (o->swa && (o->swa_period_samples < 1 || !(o->swa_scale >= 1.0)))
        return tg_err_set(err, TG_EINVAL,
                          "trainer: swa_period_samples %lld must be >= 1 and swa_scale %g >= 1",
                          (long long)o->swa_period_samples, o->swa_scale);
    trainer_t *t = calloc(1, sizeof(*t));
    if (!t) return tg_err_set(err, TG_ENOMEM, "trainer: out of memory");
    t->opt = *o;
#ifdef TENGEN_HAVE_OPENBLAS
    openblas_set_num_threads(1); /* process-wide: all parallelism is ours (as nn_cpu.c) */
#endif
    int rc = train_model_init(&t->model, &o->cfg, o->pos_len, o->seed, err);
    if (rc) {
        free(t);
        return rc;
    }
    t->nthreads = o->threads < o->batch ? o->threads : o->batch;
    t->hw = o->pos_len * o->pos_len;
    t->score_len = t->model.score_len;
    const size_t B = (size_t)o->batch, hw = (size_t)t->hw, np = t->model.num_params;
    t->slow = malloc(np * sizeof(float));
    t->swa.avg = malloc(np * sizeof(float));
    t->spatial = malloc(B * hw * TRAIN_SPATIAL_IN * sizeof(float));
    t->global = malloc(B * TRAIN_GLOBAL_IN * sizeof(float));
    t->mask = malloc(B * hw * sizeof(float));
    t->mask_sum = malloc(B * sizeof(float));
    t->policy = malloc(B * 2 * (hw + 1) * sizeof(float));
    t->gtargets = malloc(B * TRAINROWS_GLOBAL_TARGETS * sizeof(float));
    t->score = malloc(B * t->score_len * sizeof(float));
    t->owner = malloc(B * hw * sizeof(float));
    t->plane_a = malloc(TRAIN_SPATIAL_IN * hw * sizeof(float));
    t->plane_b = malloc(TRAIN_SPATIAL_IN * hw * sizeof(float));
    int bad = !t->slow || !t->swa.avg || !t->spatial || !t->global || !t->mask || !t->mask_sum ||
              !t->policy || !t->gtargets || !t->score || !t->owner || !t->plane_a || !t->plane_b;
    const int per = (o->batch + t->nthreads - 1) / t->nthreads;
    for (int w = 0; w < t->nthreads && !bad; w++) {
        t->tgrads[w] = aligned_alloc(64, (np * sizeof(float) + 63) / 64 * 64);
        if (!t->tgrads[w] || train__net_create(&t->nets[w], &t->model, per) != 0) bad = 1;
    }
    if (bad) {
        trainer_destroy(t);
        return tg_err_set(err, TG_ENOMEM, "trainer: out of memory for batch %d", o->batch);
    }
    memcpy(t->slow, t->model.params, np * sizeof(float));
    tg_rng_seed(&t->rng, o->seed, 0x73616d70u);
    uv_mutex_init(&t->mu);
    uv_cond_init(&t->cond_work);
    uv_cond_init(&t->cond_done);
    t->pool_started = 1;
    for (int w = 1; w < t->nthreads; w++) {
        t->workers[w].t = t;
        t->workers[w].index = w;
        if (uv_thread_create(&t->workers[w].thread, worker_main, &t->workers[w]) != 0) {
            t->nthreads = w; /* run with the threads we got */
            break;
        }
    }
    *out = t;
    return 0;
}

void trainer_destroy(trainer_t *t) {
    if (!t) return;
    if (t->pool_started) {
        uv_mutex_lock(&t->mu);
        t->stop = 1;
        uv_cond_broadcast(&t->cond_work);
        uv_mutex_unlock(&t->mu);
        for (int w = 1; w < t->nthreads; w++)
            uv_thread_join(&t->workers[w].thread);
        uv_cond_destroy(&t->cond_work);
        uv_cond_destroy(&t->cond_done);
        uv_mutex_destroy(&t->mu);
    }
    for (int w = 0; w < TRAIN_MAX_THREADS; w++) {
        train__net_destroy(t->nets[w]);
        free(t->tgrads[w]);
    }
    free(t->slow);
    free(t->swa.avg);
    free(t->spatial);
    free(t->global);
    free(t->mask);
    free(t->mask_sum);
    free(t->policy);
    free(t->gtargets);
    free(t->score);
    free(t->owner);
    free(t->plane_a);
    free(t->plane_b);
    train_model_free(&t->model);
    free(t);
}

train_model_t *trainer_model(trainer_t *t) { return &t->model; }
int64_t trainer_steps(const trainer_t *t) { return t->steps; }
int64_t trainer_samples(const trainer_t *t) { return t->samples; }
void trainer_set_lr(trainer_t *t, double lr_per_sample) { t->opt.lr_per_sample = lr_per_sample; }

/* ---- batch assembly ---------------------------------------------------------------------- */

/* Row i of the batch from row r of d under symmetry sym. */
static void batch_put_row(trainer_t *t, int i, const trainrows_t *d, int r, int sym) {
    const int hw = t->hw, len = t->opt.pos_len;
    float *src = t->plane_a, *dst = t->plane_b;
    trainrows_get_inputs(d, r, src, t->global + (size_t)i * TRAIN_GLOBAL_IN);
    if (sym)
        tg_nn_symmetry_apply(src, dst, TRAIN_SPATIAL_IN, len, sym);
    else
        memcpy(dst, src, sizeof(float) * TRAIN_SPATIAL_IN * hw);
    float *sp = t->spatial + (size_t)i * hw * TRAIN_SPATIAL_IN;
    float *mk = t->mask + (size_t)i * hw;
    float msum = 0.0f;
    for (int p = 0; p < hw; p++) {
        for (int c = 0; c < TRAIN_SPATIAL_IN; c++)
            sp[p * TRAIN_SPATIAL_IN + c] = dst[c * hw + p];
        mk[p] = dst[p];
        msum += dst[p];
    }
    t->mask_sum[i] = msum > 0.0f ? msum : 1.0f;
    /* Policy targets: both channels' board parts go through the symmetry; pass stays. */
    const int16_t *pol = trainrows_policy_row(d, r);
    float *pt = t->policy + (size_t)i * 2 * (hw + 1);
    for (int ch = 0; ch < 2; ch++) {
        for (int p = 0; p < hw; p++)
            src[ch * hw + p] = pol[ch * (hw + 1) + p];
        pt[ch * (hw + 1) + hw] = pol[ch * (hw + 1) + hw];
    }
    if (sym)
        tg_nn_symmetry_apply(src, dst, 2, len, sym);
    else
        memcpy(dst, src, sizeof(float) * 2 * hw);
    for (int ch = 0; ch < 2; ch++)
        memcpy(pt + ch * (hw + 1), dst + ch * hw, sizeof(float) * hw);
    memcpy(t->gtargets + (size_t)i * TRAINROWS_GLOBAL_TARGETS, trainrows_global_targets_row(d, r),
           sizeof(float) * TRAINROWS_GLOBAL_TARGETS);
    const int8_t *sd = trainrows_score_distr_row(d, r);
    float *sc = t->score + (size_t)i * t->score_len;
    for (int k = 0; k < t->score_len; k++)
        sc[k] = sd[k];
    const int8_t *vt = trainrows_value_row(d, r); /* channel 0: ownership */
    for (int p = 0; p < hw; p++)
        src[p] = vt[p];
    if (sym)
        tg_nn_symmetry_apply(src, t->owner + (size_t)i * hw, 1, len, sym);
    else
        memcpy(t->owner + (size_t)i * hw, src, sizeof(float) * hw);
}

static int check_data(const trainer_t *t, const trainrows_t *d, tg_err_t *err) {
    if (d->pos_len != t->opt.pos_len || d->score_len != t->score_len)
        return tg_err_set(err, TG_EINVAL, "trainer: data pos_len %d, model pos_len %d", d->pos_len,
                          t->opt.pos_len);
    return 0;
}

/* ---- optimizer --------------------------------------------------------------------------- */

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

static void optimizer_update(trainer_t *t, train_stats_t *st) {
    train_model_t *m = &t->model;
    const train_options_t *o = &t->opt;
    double ss = 0.0;
    for (size_t i = 0; i < m->num_params; i++)
        ss += (double)m->grads[i] * m->grads[i];
    const double norm = sqrt(ss);
    double gscale = 1.0;
    if (o->clip_base > 0) {
        double cap = o->clip_base * sqrt(o->batch / 256.0) / sqrt(o->lr_scale);
        if (norm > cap) gscale = cap / norm;
    }
    const double bfac = o->batch / 256.0;
    const double warm = o->warmup ? warmup_factor(t->samples) : 1.0;
    const double base =
        o->lr_per_sample * o->lr_scale * warm / (o->lookahead_k > 0 ? o->lookahead_alpha : 1.0);
    const float mu = (float)o->momentum;
    for (int ti = 0; ti < m->num_tensors; ti++) {
        const train_tensor_t *tt = &m->tensors[ti];
        const int head = tt->group == TRAIN_GROUP_OUTPUT || tt->group == TRAIN_GROUP_OUTPUT_NOREG;
        const int noreg = tt->group == TRAIN_GROUP_NOREG || tt->group == TRAIN_GROUP_OUTPUT_NOREG;
        const float lr = (float)(base * (head ? o->head_lr_factor : 1.0));
        const float wd = (float)((noreg ? 1e-8 : 1e-6) * bfac);
        const float gs = (float)gscale;
        float *p = m->params + tt->offset, *g = m->grads + tt->offset;
        float *v = m->momentum + tt->offset;
        for (size_t i = 0; i < tt->count; i++) {
            v[i] = mu * v[i] + (g[i] * gs + wd * p[i]);
            p[i] -= lr * v[i];
        }
    }
    t->steps++;
    t->samples += t->n;
    if (o->lookahead_k > 0 && t->steps % o->lookahead_k == 0) {
        const float a = (float)o->lookahead_alpha;
        for (size_t i = 0; i < m->num_params; i++) {
            t->slow[i] += a * (m->params[i] - t->slow[i]);
            m->params[i] = t->slow[i];
        }
    }
    if (train__swa_advance(&t->swa, o, t->n, t->steps))
        train__swa_update(&t->swa, m->params, m->num_params, o->swa_scale);
    if (st) {
        st->grad_norm = norm;
        st->clipped = gscale < 1.0;
        st->lr = base;
    }
}

static void fill_stats(const trainer_t *t, const double *loss, train_stats_t *st) {
    if (!st) return;
    memset(st, 0, sizeof(*st));
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++) {
        st->loss[k] = loss[k];
        st->loss_total += loss[k];
    }
    for (int i = 0; i < t->n; i++)
        st->weight_sum +=
            t->gtargets[(size_t)i * TRAINROWS_GLOBAL_TARGETS + TRAINROWS_GT_ROW_WEIGHT];
}

int trainer_step(trainer_t *t, const trainrows_t *const *data, int num_data, train_stats_t *st,
                 tg_err_t *err) {
    int64_t total = 0;
    for (int k = 0; k < num_data; k++) {
        int rc = check_data(t, data[k], err);
        if (rc) return rc;
        total += data[k]->num_rows;
    }
    if (total <= 0) return tg_err_set(err, TG_EINVAL, "trainer_step: no training rows");
    const int sym = t->opt.symmetries ? (int)tg_rng_below(&t->rng, 8) : 0;
    t->n = t->opt.batch;
    for (int i = 0; i < t->n; i++) {
        int64_t idx;
        if (t->opt.sample == TRAIN_SAMPLE_SEQUENTIAL)
            idx = (int64_t)(t->seq_pos++ % (uint64_t)total);
        else
            idx = (int64_t)(tg_rng_u64(&t->rng) % (uint64_t)total);
        int k = 0;
        while (idx >= data[k]->num_rows)
            idx -= data[k++]->num_rows;
        batch_put_row(t, i, data[k], (int)idx, sym);
    }
    double loss[TRAIN_LOSS_COUNT];
    run_batch(t, loss);
    fill_stats(t, loss, st);
    optimizer_update(t, st);
    return 0;
}

int trainer_compute_grads(trainer_t *t, const trainrows_t *data, const int *rows, int n, int sym,
                          train_stats_t *st, tg_err_t *err) {
    int rc = check_data(t, data, err);
    if (rc) return rc;
    if (n < 1 || n > t->opt.batch || sym < 0 || sym > 7)
        return tg_err_set(err, TG_EINVAL, "trainer_compute_grads: n %d or sym %d out of range", n,
                          sym);
    t->n = n;
    for (int i = 0; i < n; i++) {
        if (rows[i] < 0 || rows[i] >= data->num_rows)
            return tg_err_set(err, TG_EINVAL, "trainer_compute_grads: row %d out of range",
                              rows[i]);
        batch_put_row(t, i, data, rows[i], sym);
    }
    double loss[TRAIN_LOSS_COUNT];
    run_batch(t, loss);
    fill_stats(t, loss, st);
    return 0;
}

void trainer__set_exact_grad(trainer_t *t, int exact) {
    for (int w = 0; w < t->nthreads; w++)
        train__net_set_exact_grad(t->nets[w], exact);
}

void trainer__set_conv_ref(trainer_t *t, int ref) {
    for (int w = 0; w < t->nthreads; w++)
        train__net_set_conv_ref(t->nets[w], ref);
}

/* ---- SWA ------------------------------------------------------------------------------- */

int train__swa_advance(train_swa_t *s, const train_options_t *o, int n, int64_t steps) {
    if (!o->swa) {
        s->updates = 0;
        s->accum = 0;
        return 0;
    }
    s->accum += n;
    const int in_sync = o->lookahead_k <= 0 || steps % o->lookahead_k == 0;
    if (s->accum < o->swa_period_samples || !in_sync) return 0;
    s->accum = 0;
    return 1;
}

void train__swa_update(train_swa_t *s, const float *params, size_t np, double scale) {
    if (s->updates == 0) {
        memcpy(s->avg, params, np * sizeof(float));
    } else {
        const float f = (float)(1.0 / scale);
        float *a = s->avg;
        for (size_t i = 0; i < np; i++)
            a[i] += f * (params[i] - a[i]);
    }
    s->updates++;
}

int64_t trainer_swa_updates(const trainer_t *t) { return t->swa.updates; }

const float *trainer_swa_params(const trainer_t *t) {
    return t->swa.updates > 0 ? t->swa.avg : NULL;
}

int trainer_model_for_export(const trainer_t *t, int use_swa, train_model_t *view) {
    *view = t->model;
    if (!use_swa || t->swa.updates == 0) return 0;
    view->params = t->swa.avg;
    return 1;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

_Static_assert(offsetof(train_ckpt_header_t, flags) == TRAIN_CKPT_HEADER_V1_BYTES,
               "a version 1 checkpoint header is the prefix of version 2's");

size_t train__ckpt_header_bytes(uint32_t version) {
    if (version == TRAIN_CKPT_VERSION_V1) return TRAIN_CKPT_HEADER_V1_BYTES;
    if (version == TRAIN_CKPT_VERSION) return sizeof(train_ckpt_header_t);
    return 0;
}

static int ckpt_write(FILE *fp, const void *p, size_t n, uint32_t *crc) {
    *crc = npz_crc32(*crc, p, n);
    return fwrite(p, 1, n, fp) == n ? 0 : TG_EIO;
}

int train__ckpt_save(const char *path, const train_model_t *m, const float *slow,
                     const train_swa_t *swa, const train_ckpt_state_t *st, tg_err_t *err) {
    train_ckpt_header_t h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, TRAIN_CKPT_MAGIC, 4);
    h.version = TRAIN_CKPT_VERSION;
    h.cfg = m->cfg;
    h.pos_len = m->pos_len;
    h.num_params = m->num_params;
    h.steps = st->steps;
    h.samples = st->samples;
    h.seq_pos = st->seq_pos;
    memcpy(h.rng, st->rng, sizeof(h.rng));
    const int has_swa = swa && swa->updates > 0;
    if (swa) {
        h.flags = has_swa ? TRAIN_CKPT_HAS_SWA : 0;
        h.swa_updates = swa->updates;
        h.swa_accum = swa->accum;
    }
    tg_atomic_file_t af;
    int rc = tg_atomic_file_open(&af, path, err);
    if (rc) return rc;
    uint32_t crc = 0;
    const size_t bytes = m->num_params * sizeof(float);
    rc = ckpt_write(af.fp, &h, sizeof(h), &crc);
    if (!rc) rc = ckpt_write(af.fp, m->params, bytes, &crc);
    if (!rc) rc = ckpt_write(af.fp, m->momentum, bytes, &crc);
    if (!rc) rc = ckpt_write(af.fp, slow, bytes, &crc);
    if (!rc && has_swa) rc = ckpt_write(af.fp, swa->avg, bytes, &crc);
    if (!rc) rc = fwrite(&crc, sizeof(crc), 1, af.fp) == 1 ? 0 : TG_EIO;
    if (rc) {
        tg_atomic_file_abort(&af);
        return tg_err_set(err, TG_EIO, "%s: write failed", path);
    }
    return tg_atomic_file_commit(&af, err);
}

int train__ckpt_load(const char *path, train_model_t *m, float *slow, train_swa_t *swa,
                     train_ckpt_state_t *st, tg_err_t *err) {
    char *buf = NULL;
    size_t len = 0;
    int rc = tg_file_read_all(path, (size_t)1 << 34, &buf, &len, err);
    if (rc) return rc;
    const size_t bytes = m->num_params * sizeof(float);
    train_ckpt_header_t h;
    memset(&h, 0, sizeof(h));
    if (len < TRAIN_CKPT_HEADER_V1_BYTES) {
        free(buf);
        return tg_err_set(err, TG_EFORMAT, "%s: truncated checkpoint (%zu bytes)", path, len);
    }
    memcpy(&h, buf, TRAIN_CKPT_HEADER_V1_BYTES);
    const size_t hbytes = train__ckpt_header_bytes(h.version);
    if (memcmp(h.magic, TRAIN_CKPT_MAGIC, 4) != 0)
        rc = tg_err_set(err, TG_EFORMAT, "%s: not a tengen checkpoint", path);
    else if (hbytes == 0)
        rc = tg_err_set(err, TG_EUNSUPPORTED, "%s: checkpoint version %u, expected %u or %u", path,
                        h.version, TRAIN_CKPT_VERSION_V1, TRAIN_CKPT_VERSION);
    else if (len < hbytes)
        rc = tg_err_set(err, TG_EFORMAT, "%s: truncated checkpoint (%zu bytes)", path, len);
    if (!rc) {
        memcpy(&h, buf, hbytes);
        if (memcmp(&h.cfg, &m->cfg, sizeof(h.cfg)) != 0 || h.pos_len != m->pos_len ||
            h.num_params != m->num_params)
            rc = tg_err_set(err, TG_EINVAL,
                            "%s: checkpoint is for model %s at pos_len %d, not %s at %d", path,
                            h.cfg.name, h.pos_len, m->cfg.name, m->pos_len);
        else if ((h.flags & ~TRAIN_CKPT_HAS_SWA) != 0 ||
                 ((h.flags & TRAIN_CKPT_HAS_SWA) != 0) != (h.swa_updates > 0) ||
                 h.swa_updates < 0 || h.swa_accum < 0)
            rc = tg_err_set(err, TG_EFORMAT, "%s: inconsistent SWA fields (flags %u, updates %lld)",
                            path, h.flags, (long long)h.swa_updates);
    }
    const int has_swa = (h.flags & TRAIN_CKPT_HAS_SWA) != 0;
    const size_t want = hbytes + (3 + (size_t)has_swa) * bytes + sizeof(uint32_t);
    if (!rc && len != want)
        rc = tg_err_set(err, TG_EFORMAT, "%s: checkpoint is %zu bytes, expected %zu", path, len,
                        want);
    if (!rc) {
        uint32_t crc, got = npz_crc32(0, buf, len - sizeof(uint32_t));
        memcpy(&crc, buf + len - sizeof(uint32_t), sizeof(crc));
        if (crc != got) rc = tg_err_set(err, TG_EFORMAT, "%s: checksum mismatch", path);
    }
    if (!rc) {
        const char *p = buf + hbytes;
        memcpy(m->params, p, bytes);
        memcpy(m->momentum, p + bytes, bytes);
        memcpy(slow, p + 2 * bytes, bytes);
        if (has_swa) memcpy(swa->avg, p + 3 * bytes, bytes);
        swa->updates = h.swa_updates;
        swa->accum = h.swa_accum;
        st->steps = h.steps;
        st->samples = h.samples;
        st->seq_pos = h.seq_pos;
        memcpy(st->rng, h.rng, sizeof(h.rng));
    }
    free(buf);
    return rc;
}

int trainer_save(const trainer_t *t, const char *path, tg_err_t *err) {
    train_ckpt_state_t st = {.steps = t->steps, .samples = t->samples, .seq_pos = t->seq_pos};
    memcpy(st.rng, t->rng.s, sizeof(st.rng));
    return train__ckpt_save(path, &t->model, t->slow, &t->swa, &st, err);
}

int trainer_load(trainer_t *t, const char *path, tg_err_t *err) {
    train_ckpt_state_t st;
    memset(&st, 0, sizeof(st));
    int rc = train__ckpt_load(path, &t->model, t->slow, &t->swa, &st, err);
    if (rc) return rc;
    t->steps = st.steps;
    t->samples = st.samples;
    t->seq_pos = st.seq_pos;
    memcpy(t->rng.s, st.rng, sizeof(st.rng));
    return 0;
}
