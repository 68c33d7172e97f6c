/* evalservice.c: the batched evaluation service (see evalservice.h for the design, thread
 * layout and lock rules) and the uniform "random net" evaluator.
 *
 * A request lives on its poster's stack: a slice of the poster's arrays plus a condition the
 * poster sleeps on. The queue is an intrusive FIFO of requests; `taken` says how many of a
 * request's positions have been handed to a batch and `remaining` how many are not answered
 * yet. Timing uses uv_hrtime (monotonic, ns). */
#include "search/evalservice.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct evalservice_req_s {
    struct evalservice_req_s *next;
    const tg_game_t *const *games;
    const int *symmetries;
    tg_nn_output_t *outs;
    int n, taken, remaining;
    int rc;
    bool done;
    uint64_t post_ns;
    uv_cond_t cond;
    tg_err_t err;
} evalservice_req_t;

/* Per evaluator thread: the batch it is assembling / running. */
typedef struct evalservice_worker_s {
    struct tg_evalservice_s *svc;
    uv_thread_t tid;
    const tg_game_t **games;  /* (max_batch) */
    int *symmetries;          /* (max_batch) */
    evalservice_req_t **reqs; /* (max_batch) which request each position belongs to */
    int *idx;                 /* (max_batch) index within that request */
    tg_nn_output_t *outs;     /* (max_batch) */
    tg_err_t err;
} evalservice_worker_t;

struct tg_evalservice_s {
    tg_evalservice_params_t params;
    tg_evalservice_backend_t backend;

    /* Lock: lock guards everything below up to the stats (see evalservice.h). */
    uv_mutex_t lock;
    uv_cond_t work_cond; /* evaluator threads wait here for positions */
    evalservice_req_t *head, *tail;
    int queued;          /* positions in the queue not yet taken */
    int blocked_clients; /* posters whose request is not done */
    int attached;        /* attached clients */
    bool stop;

    /* Stats, also under lock. */
    int64_t requests, positions, batches, full_batches, errors;
    double queue_wait_s, backend_s;
    uint64_t start_ns;

    int num_workers; /* started */
    evalservice_worker_t *workers;
};

/* ---- Uniform evaluator ------------------------------------------------------------------------
 */

void tg_evalservice_fill_uniform(const tg_game_t *g, tg_nn_output_t *out) {
    int n = g->board.size, legal = 1; /* pass is always legal */
    out->board_size = n;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            bool ok = tg_game_is_legal(g, tg_loc(x, y), g->to_move);
            out->policy[y * n + x] = ok ? 1.0f : -1.0f;
            out->white_ownership[y * n + x] = 0.0f;
            legal += ok;
        }
    }
    float p = 1.0f / (float)legal;
    for (int i = 0; i < n * n; i++)
        if (out->policy[i] > 0.0f) out->policy[i] = p;
    out->policy_pass = p;
    out->white_win = 0.5f;
    out->white_loss = 0.5f;
    out->no_result = 0.0f;
    out->white_lead = out->white_score_mean = out->white_score_mean_sq = 0.0f;
    out->var_time_left = out->shortterm_winloss_error = out->shortterm_score_error = -1.0f;
}

static int evalservice__uniform_batch(void *ctx, int n, const tg_game_t *const *games,
                                      const int *symmetries, int nn_len, tg_nn_output_t *outs,
                                      tg_err_t *err) {
    (void)ctx, (void)symmetries, (void)nn_len, (void)err;
    for (int i = 0; i < n; i++)
        tg_evalservice_fill_uniform(games[i], &outs[i]);
    return 0;
}

static int evalservice__uniform_eval(void *ctx, int n, const tg_game_t *const *games,
                                     const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    return evalservice__uniform_batch(ctx, n, games, symmetries, 0, outs, err);
}

tg_evalservice_backend_t tg_evalservice_backend_uniform(void) {
    tg_evalservice_backend_t b = {evalservice__uniform_batch, NULL};
    return b;
}

tg_search_evaluator_t tg_evalservice_uniform_evaluator(void) {
    tg_search_evaluator_t e = {evalservice__uniform_eval, NULL};
    return e;
}

static int evalservice__nn_batch(void *ctx, int n, const tg_game_t *const *games,
                                 const int *symmetries, int nn_len, tg_nn_output_t *outs,
                                 tg_err_t *err) {
    return tg_nn_evaluate_batch(ctx, n, games, symmetries, nn_len, outs, err);
}

tg_evalservice_backend_t tg_evalservice_backend_nn(tg_nn_evaluator_t *ev) {
    tg_evalservice_backend_t b = {evalservice__nn_batch, ev};
    return b;
}

static int evalservice__nn_pool_batch(void *ctx, int n, const tg_game_t *const *games,
                                      const int *symmetries, int nn_len, tg_nn_output_t *outs,
                                      tg_err_t *err) {
    tg_evalservice_nn_pool_t *pool = ctx;
    for (int i = 0; i < pool->count; i++) {
        /* acq_rel: the previous user's writes to evs[i] happen before ours. */
        if (atomic_exchange_explicit(&pool->busy[i], 1, memory_order_acq_rel) == 0) {
            int rc = tg_nn_evaluate_batch(pool->evs[i], n, games, symmetries, nn_len, outs, err);
            atomic_store_explicit(&pool->busy[i], 0, memory_order_release);
            return rc;
        }
    }
    /* More callers than evaluators: evs[0]'s own lock serialises this call. */
    return tg_nn_evaluate_batch(pool->evs[0], n, games, symmetries, nn_len, outs, err);
}

tg_evalservice_backend_t tg_evalservice_backend_nn_pool(tg_evalservice_nn_pool_t *pool) {
    tg_evalservice_backend_t b = {evalservice__nn_pool_batch, pool};
    return b;
}

/* ---- Evaluator threads ------------------------------------------------------------------------
 */

tg_evalservice_params_t tg_evalservice_params_default(void) {
    tg_evalservice_params_t p = {
        .max_batch = 16, .num_threads = 1, .max_wait_us = 2000, .nn_len = 0};
    return p;
}

/* Answers every queued (untaken) position with TG_ESTATE. Lock held. */
static void evalservice__fail_queue(tg_evalservice_t *svc) {
    while (svc->head) {
        evalservice_req_t *r = svc->head;
        svc->head = r->next;
        int untaken = r->n - r->taken;
        r->taken = r->n;
        r->remaining -= untaken;
        if (!r->rc) {
            r->rc = TG_ESTATE;
            tg_err_set(&r->err, TG_ESTATE, "evalservice: stopped before evaluation");
        }
        if (r->remaining == 0) {
            r->done = true;
            svc->blocked_clients--;
            uv_cond_signal(&r->cond);
        }
    }
    svc->tail = NULL;
    svc->queued = 0;
}

/* True when the evaluator should stop waiting for more positions. Lock held. */
static bool evalservice__batch_ready(const tg_evalservice_t *svc) {
    if (svc->stop || svc->queued >= svc->params.max_batch) return true;
    return svc->attached > 0 && svc->blocked_clients >= svc->attached;
}

static void evalservice__worker_main(void *arg) {
    evalservice_worker_t *w = arg;
    tg_evalservice_t *svc = w->svc;
    const int max_batch = svc->params.max_batch;
    uv_mutex_lock(&svc->lock);
    for (;;) {
        while (!svc->stop && svc->queued == 0)
            uv_cond_wait(&svc->work_cond, &svc->lock);
        if (svc->stop) {
            evalservice__fail_queue(svc);
            break;
        }
        /* Let the batch fill, for at most max_wait_us. */
        if (!evalservice__batch_ready(svc) && svc->params.max_wait_us > 0) {
            uint64_t deadline = uv_hrtime() + (uint64_t)svc->params.max_wait_us * 1000u;
            while (!evalservice__batch_ready(svc)) {
                uint64_t now = uv_hrtime();
                if (now >= deadline) break;
                uv_cond_timedwait(&svc->work_cond, &svc->lock, deadline - now);
            }
            if (svc->stop) {
                evalservice__fail_queue(svc);
                break;
            }
            if (svc->queued == 0) continue; /* another evaluator took everything */
        }
        /* Take up to max_batch positions from the head of the queue. */
        uint64_t take_ns = uv_hrtime();
        int m = 0;
        while (svc->head && m < max_batch) {
            evalservice_req_t *r = svc->head;
            while (r->taken < r->n && m < max_batch) {
                w->games[m] = r->games[r->taken];
                w->symmetries[m] = r->symmetries[r->taken];
                w->reqs[m] = r;
                w->idx[m] = r->taken;
                svc->queue_wait_s += 1e-9 * (double)(take_ns - r->post_ns);
                r->taken++;
                m++;
            }
            if (r->taken == r->n) {
                svc->head = r->next;
                if (!svc->head) svc->tail = NULL;
            }
        }
        svc->queued -= m;
        if (svc->queued > 0) uv_cond_signal(&svc->work_cond); /* another evaluator may start */
        uv_mutex_unlock(&svc->lock);

        /* Backend call and result copies, without the lock. */
        int len = svc->params.nn_len;
        if (len <= 0)
            for (int i = 0; i < m; i++)
                if (w->games[i]->board.size > len) len = w->games[i]->board.size;
        tg_err_clear(&w->err);
        int rc = svc->backend.evaluate_batch(svc->backend.ctx, m, w->games, w->symmetries, len,
                                             w->outs, &w->err);
        uint64_t end_ns = uv_hrtime();
        if (rc == 0)
            for (int i = 0; i < m; i++)
                w->reqs[i]->outs[w->idx[i]] = w->outs[i];

        uv_mutex_lock(&svc->lock);
        svc->batches++;
        svc->positions += m;
        svc->full_batches += m == max_batch;
        svc->backend_s += 1e-9 * (double)(end_ns - take_ns);
        if (rc) svc->errors++;
        for (int i = 0; i < m; i++) {
            evalservice_req_t *r = w->reqs[i];
            if (rc && !r->rc) {
                r->rc = rc;
                r->err = w->err;
            }
            if (--r->remaining == 0) {
                r->done = true;
                svc->blocked_clients--;
                svc->requests++;
                uv_cond_signal(&r->cond);
            }
        }
    }
    uv_mutex_unlock(&svc->lock);
}

/* ---- Public API -------------------------------------------------------------------------------
 */

static void evalservice__free_workers(tg_evalservice_t *svc, int n) {
    for (int i = 0; i < n; i++) {
        evalservice_worker_t *w = &svc->workers[i];
        free(w->games);
        free(w->symmetries);
        free(w->reqs);
        free(w->idx);
        free(w->outs);
    }
    free(svc->workers);
    svc->workers = NULL;
}

int tg_evalservice_create(const tg_evalservice_params_t *params,
                          const tg_evalservice_backend_t *backend, tg_evalservice_t **out,
                          tg_err_t *err) {
    *out = NULL;
    if (!backend || !backend->evaluate_batch)
        return tg_err_set(err, TG_EINVAL, "evalservice: no backend");
    if (params->max_batch < 1 || params->max_batch > 65536)
        return tg_err_set(err, TG_EINVAL, "evalservice: max_batch %d not in 1..65536",
                          params->max_batch);
    if (params->num_threads < 1 || params->num_threads > 64)
        return tg_err_set(err, TG_EINVAL, "evalservice: num_threads %d not in 1..64",
                          params->num_threads);
    if (params->max_wait_us < 0)
        return tg_err_set(err, TG_EINVAL, "evalservice: negative max_wait_us");
    if (params->nn_len < 0 || params->nn_len > TG_BOARD_MAX)
        return tg_err_set(err, TG_EINVAL, "evalservice: nn_len %d not in 0..%d", params->nn_len,
                          TG_BOARD_MAX);
    tg_evalservice_t *svc = calloc(1, sizeof(*svc));
    if (!svc) return tg_err_set(err, TG_ENOMEM, "evalservice: out of memory");
    svc->params = *params;
    svc->backend = *backend;
    svc->start_ns = uv_hrtime();
    int rc = TG_ENOMEM;
    svc->workers = calloc((size_t)params->num_threads, sizeof(*svc->workers));
    if (!svc->workers) goto fail_svc;
    size_t mb = (size_t)params->max_batch;
    for (int i = 0; i < params->num_threads; i++) {
        evalservice_worker_t *w = &svc->workers[i];
        w->svc = svc;
        w->games = malloc(mb * sizeof(*w->games));
        w->symmetries = malloc(mb * sizeof(*w->symmetries));
        w->reqs = malloc(mb * sizeof(*w->reqs));
        w->idx = malloc(mb * sizeof(*w->idx));
        w->outs = malloc(mb * sizeof(*w->outs));
        if (!w->games || !w->symmetries || !w->reqs || !w->idx || !w->outs) goto fail_workers;
    }
    rc = TG_EINTERNAL;
    if (uv_mutex_init(&svc->lock)) goto fail_workers;
    if (uv_cond_init(&svc->work_cond)) goto fail_mutex;
    for (int i = 0; i < params->num_threads; i++) {
        if (uv_thread_create(&svc->workers[i].tid, evalservice__worker_main, &svc->workers[i]))
            break;
        svc->num_workers++;
    }
    if (svc->num_workers < params->num_threads) {
        tg_evalservice_destroy(svc);
        return tg_err_set(err, TG_EINTERNAL, "evalservice: could not start evaluator threads");
    }
    *out = svc;
    return 0;

fail_mutex:
    uv_mutex_destroy(&svc->lock);
fail_workers:
    evalservice__free_workers(svc, params->num_threads);
fail_svc:
    free(svc);
    return tg_err_set(err, rc, "evalservice: %s",
                      rc == TG_ENOMEM ? "out of memory" : "could not create the lock");
}

void tg_evalservice_destroy(tg_evalservice_t *svc) {
    if (!svc) return;
    uv_mutex_lock(&svc->lock);
    svc->stop = true;
    uv_cond_broadcast(&svc->work_cond);
    uv_mutex_unlock(&svc->lock);
    for (int i = 0; i < svc->num_workers; i++)
        uv_thread_join(&svc->workers[i].tid);
    /* With no worker started (failed create) nobody answered the queue; it is empty then. */
    uv_cond_destroy(&svc->work_cond);
    uv_mutex_destroy(&svc->lock);
    evalservice__free_workers(svc, svc->params.num_threads);
    free(svc);
}

int tg_evalservice_evaluate(tg_evalservice_t *svc, int n, const tg_game_t *const *games,
                            const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    if (n <= 0) return n == 0 ? 0 : tg_err_set(err, TG_EINVAL, "evalservice: negative count");
    evalservice_req_t r;
    memset(&r, 0, sizeof(r));
    r.games = games;
    r.symmetries = symmetries;
    r.outs = outs;
    r.n = r.remaining = n;
    if (uv_cond_init(&r.cond)) return tg_err_set(err, TG_EINTERNAL, "evalservice: cond init");
    uv_mutex_lock(&svc->lock);
    if (svc->stop) {
        uv_mutex_unlock(&svc->lock);
        uv_cond_destroy(&r.cond);
        return tg_err_set(err, TG_ESTATE, "evalservice: stopping");
    }
    r.post_ns = uv_hrtime();
    if (svc->tail)
        svc->tail->next = &r;
    else
        svc->head = &r;
    svc->tail = &r;
    svc->queued += n;
    svc->blocked_clients++;
    uv_cond_signal(&svc->work_cond);
    while (!r.done)
        uv_cond_wait(&r.cond, &svc->lock);
    uv_mutex_unlock(&svc->lock);
    uv_cond_destroy(&r.cond);
    if (r.rc && err) *err = r.err;
    return r.rc;
}

static int evalservice__search_eval(void *ctx, int n, const tg_game_t *const *games,
                                    const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    return tg_evalservice_evaluate(ctx, n, games, symmetries, outs, err);
}

tg_search_evaluator_t tg_evalservice_evaluator(tg_evalservice_t *svc) {
    tg_search_evaluator_t e = {evalservice__search_eval, svc};
    return e;
}

void tg_evalservice_attach(tg_evalservice_t *svc) {
    uv_mutex_lock(&svc->lock);
    svc->attached++;
    uv_mutex_unlock(&svc->lock);
}

void tg_evalservice_detach(tg_evalservice_t *svc) {
    uv_mutex_lock(&svc->lock);
    if (svc->attached > 0) svc->attached--;
    uv_cond_broadcast(&svc->work_cond); /* the "all clients blocked" test may now pass */
    uv_mutex_unlock(&svc->lock);
}

void tg_evalservice_get_stats(tg_evalservice_t *svc, tg_evalservice_stats_t *out) {
    memset(out, 0, sizeof(*out));
    uv_mutex_lock(&svc->lock);
    out->requests = svc->requests;
    out->positions = svc->positions;
    out->batches = svc->batches;
    out->full_batches = svc->full_batches;
    out->errors = svc->errors;
    out->queue_wait_s = svc->queue_wait_s;
    out->backend_s = svc->backend_s;
    uv_mutex_unlock(&svc->lock);
    out->elapsed_s = 1e-9 * (double)(uv_hrtime() - svc->start_ns);
    if (out->batches > 0) {
        out->mean_fill = (double)out->positions / (double)out->batches;
        out->mean_fill_frac = out->mean_fill / svc->params.max_batch;
    }
    if (out->positions > 0) out->mean_queue_wait_ms = 1e3 * out->queue_wait_s / out->positions;
    if (out->elapsed_s > 0) out->evals_per_s = (double)out->positions / out->elapsed_s;
}
