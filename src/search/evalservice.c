/* evalservice.c: the batched evaluation service (see evalservice.h for the design, thread
 * layout, lock rules and the NN cache) and the uniform "random net" evaluator.
 *
 * A request lives on its poster's stack: a slice of the poster's arrays plus a condition the
 * poster sleeps on. The queue is an intrusive FIFO of requests; `taken` says how many of a
 * request's positions have been handed to a batch and `remaining` how many are not answered
 * yet. With a packed backend a request is one chunk of the poster's cache misses, with the
 * features in the poster's stack buffer and per-position output pointers. Timing uses
 * uv_hrtime (monotonic, ns). */
#include "search/evalservice.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Floats of a poster's feature buffer: two 19x19 positions (63.7 KB of stack). */
#define EVALSERVICE_CHUNK_FLOATS (2 * TG_NN_PACKED_FLOATS(TG_BOARD_MAX))
#define EVALSERVICE_CHUNK_POS    TG_EVALSERVICE_CHUNK_POSITIONS
#define EVALSERVICE_MAX_STRIPES  256

typedef struct evalservice_key_s {
    uint64_t lo, hi;
} evalservice_key_t;

/* Header of one cache slot, followed by policy (B*B floats) and ownership (B*B floats) at the
 * stored board size's N*N prefix, B = cache board_len. */
typedef struct evalservice_slot_s {
    uint64_t key_lo, key_hi;
    int32_t used, board_size;
    float scalars[10]; /* win, loss, no_result, lead, mean, mean_sq, vtl, st_wl, st_score, pass */
} evalservice_slot_t;

typedef struct evalservice_cache_s {
    size_t entries;
    int board_len;        /* largest board size cached */
    size_t slot_bytes;    /* header + 2 * board_len^2 floats, rounded up to 16 */
    unsigned char *slots; /* (entries, slot_bytes) */
    int num_stripes;
    uv_mutex_t *stripes; /* Lock: stripes[i % num_stripes] guards slot i (a leaf lock) */
} evalservice_cache_t;

typedef struct evalservice_req_s {
    struct evalservice_req_s *next;
    const tg_game_t *const *games;
    const int *symmetries;
    tg_nn_output_t *outs;          /* outs[i], when outp is NULL */
    tg_nn_output_t *const *outp;   /* else *outp[i] */
    const float *const *features;  /* packed features (packed backends), else NULL */
    const evalservice_key_t *keys; /* cache keys, or NULL */
    const bool *has_key;           /* has_key[i]: insert outs[i] under keys[i] */
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
    const float **features;   /* (max_batch) packed features, packed backends only */
    tg_err_t err;
} evalservice_worker_t;

struct tg_evalservice_s {
    tg_evalservice_params_t params;
    tg_evalservice_backend_t backend;
    bool packed;                /* backend.evaluate_packed: posters build the features */
    evalservice_cache_t *cache; /* NULL = off */

    /* Posting and cache counters (relaxed atomics, no lock). */
    atomic_llong posted, requests, cache_hits, cache_misses, cache_rejects, cache_inserts;

    /* Lock: lock guards everything below up to the stats (see evalservice.h). */
    uv_mutex_t lock;
    uv_cond_t work_cond; /* evaluator threads wait here for positions */
    evalservice_req_t *head, *tail;
    int queued;          /* positions in the queue not yet taken */
    int blocked_clients; /* posters whose request is not done */
    int attached;        /* attached clients */
    bool stop;

    /* Stats, also under lock. */
    int64_t positions, batches, full_batches, errors;
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
    tg_evalservice_backend_t b = {.evaluate_batch = evalservice__uniform_batch, .ctx = NULL};
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

static int evalservice__nn_packed(void *ctx, int n, const tg_game_t *const *games,
                                  const float *const *features, const int *symmetries, int nn_len,
                                  tg_nn_output_t *outs, tg_err_t *err) {
    return tg_nn_evaluate_batch_packed(ctx, n, games, features, symmetries, nn_len, outs, err);
}

tg_evalservice_backend_t tg_evalservice_backend_nn(tg_nn_evaluator_t *ev) {
    tg_evalservice_backend_t b = {.evaluate_batch = evalservice__nn_batch,
                                  .ctx = ev,
                                  .evaluate_packed = evalservice__nn_packed,
                                  .input_params = tg_nn_evaluator_input_params(ev)};
    return b;
}

/* One pool call: features NULL = the games route. */
static int evalservice__nn_pool_run(tg_evalservice_nn_pool_t *pool, int n,
                                    const tg_game_t *const *games, const float *const *features,
                                    const int *symmetries, int nn_len, tg_nn_output_t *outs,
                                    tg_err_t *err) {
    tg_nn_evaluator_t *ev = pool->evs[0];
    int slot = -1;
    for (int i = 0; i < pool->count && slot < 0; i++)
        /* acq_rel: the previous user's writes to evs[i] happen before ours. */
        if (atomic_exchange_explicit(&pool->busy[i], 1, memory_order_acq_rel) == 0) slot = i;
    /* None free (more callers than evaluators): evs[0]'s own lock serialises this call. */
    if (slot >= 0) ev = pool->evs[slot];
    int rc = features ? tg_nn_evaluate_batch_packed(ev, n, games, features, symmetries, nn_len,
                                                    outs, err)
                      : tg_nn_evaluate_batch(ev, n, games, symmetries, nn_len, outs, err);
    if (slot >= 0) atomic_store_explicit(&pool->busy[slot], 0, memory_order_release);
    return rc;
}

static int evalservice__nn_pool_batch(void *ctx, int n, const tg_game_t *const *games,
                                      const int *symmetries, int nn_len, tg_nn_output_t *outs,
                                      tg_err_t *err) {
    return evalservice__nn_pool_run(ctx, n, games, NULL, symmetries, nn_len, outs, err);
}

static int evalservice__nn_pool_packed(void *ctx, int n, const tg_game_t *const *games,
                                       const float *const *features, const int *symmetries,
                                       int nn_len, tg_nn_output_t *outs, tg_err_t *err) {
    return evalservice__nn_pool_run(ctx, n, games, features, symmetries, nn_len, outs, err);
}

tg_evalservice_backend_t tg_evalservice_backend_nn_pool(tg_evalservice_nn_pool_t *pool) {
    /* The pool's evaluators share one net, so evs[0]'s input parameters stand for all. */
    tg_evalservice_backend_t b = {.evaluate_batch = evalservice__nn_pool_batch,
                                  .ctx = pool,
                                  .evaluate_packed = evalservice__nn_pool_packed,
                                  .input_params = tg_nn_evaluator_input_params(pool->evs[0])};
    return b;
}

/* ---- NN cache ---------------------------------------------------------------------------------
 */

static inline uint64_t evalservice__rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* splitmix64's finalizer: a bijective avalanche of 64 bits. */
static inline uint64_t evalservice__fmix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* 128-bit hash of count floats (their bit patterns). Two lanes with different rounds; in lane a
 * each step is a bijection of the state and injective in the word, so inputs that differ in a
 * single 64-bit word never collide there. O(count). */
static evalservice_key_t evalservice__hash_floats(const float *p, size_t count) {
    uint64_t a = 0x243f6a8885a308d3ULL ^ (uint64_t)count;
    uint64_t b = 0x13198a2e03707344ULL + (uint64_t)count * 0x9e3779b97f4a7c15ULL;
    size_t i = 0;
    for (; i + 2 <= count; i += 2) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        a = evalservice__rotl(a ^ (w * 0x9e3779b97f4a7c15ULL), 31) * 0xc2b2ae3d27d4eb4fULL;
        b = evalservice__rotl(b + ((w ^ 0x165667b19e3779f9ULL) * 0x87c37b91114253d5ULL), 29) *
            0x4cf5ad432745937fULL;
    }
    if (i < count) {
        uint32_t t;
        memcpy(&t, p + i, sizeof(t));
        uint64_t w = (uint64_t)t | (1ULL << 32);
        a = evalservice__rotl(a ^ (w * 0x9e3779b97f4a7c15ULL), 31) * 0xc2b2ae3d27d4eb4fULL;
        b = evalservice__rotl(b + ((w ^ 0x165667b19e3779f9ULL) * 0x87c37b91114253d5ULL), 29) *
            0x4cf5ad432745937fULL;
    }
    evalservice_key_t k = {evalservice__fmix(a ^ evalservice__rotl(b, 23)),
                           evalservice__fmix(b ^ (a * 0x9e3779b97f4a7c15ULL))};
    return k;
}

/* The cache key of features hash h for board size n, player pla and symmetry sym. */
static evalservice_key_t evalservice__key(evalservice_key_t h, int n, int pla, int sym) {
    uint64_t meta = (uint64_t)n | ((uint64_t)pla << 8) | ((uint64_t)sym << 16) | (1ULL << 24);
    evalservice_key_t k = {evalservice__fmix(h.lo ^ (meta * 0xd6e8feb86659fd93ULL)),
                           evalservice__fmix(h.hi + meta * 0xa0761d6478bd642fULL)};
    return k;
}

static int evalservice__cache_board_len(const tg_evalservice_params_t *p) {
    if (p->cache_board_len > 0) return p->cache_board_len;
    return p->nn_len > 0 ? p->nn_len : TG_BOARD_MAX;
}

static size_t evalservice__slot_bytes(int board_len) {
    size_t b = sizeof(evalservice_slot_t) + 2 * sizeof(float) * (size_t)board_len * board_len;
    return (b + 15) & ~(size_t)15;
}

size_t tg_evalservice_cache_bytes(const tg_evalservice_params_t *params) {
    if (params->cache_entries <= 0) return 0;
    return (size_t)params->cache_entries *
           evalservice__slot_bytes(evalservice__cache_board_len(params));
}

static void evalservice__cache_free(evalservice_cache_t *c) {
    if (!c) return;
    for (int i = 0; i < c->num_stripes; i++)
        uv_mutex_destroy(&c->stripes[i]);
    free(c->stripes);
    free(c->slots);
    free(c);
}

/* Allocates the table (zeroed: every slot unused). Returns 0, TG_ENOMEM or TG_EINTERNAL. */
static int evalservice__cache_create(const tg_evalservice_params_t *p, evalservice_cache_t **out,
                                     tg_err_t *err) {
    evalservice_cache_t *c = calloc(1, sizeof(*c));
    if (!c) return tg_err_set(err, TG_ENOMEM, "evalservice: out of memory for the cache");
    c->entries = (size_t)p->cache_entries;
    c->board_len = evalservice__cache_board_len(p);
    c->slot_bytes = evalservice__slot_bytes(c->board_len);
    c->slots = calloc(c->entries, c->slot_bytes);
    int stripes =
        p->cache_entries < EVALSERVICE_MAX_STRIPES ? p->cache_entries : EVALSERVICE_MAX_STRIPES;
    c->stripes = calloc((size_t)stripes, sizeof(*c->stripes));
    if (!c->slots || !c->stripes) {
        evalservice__cache_free(c);
        return tg_err_set(err, TG_ENOMEM,
                          "evalservice: out of memory for a cache of %d entries "
                          "(%.1f MiB)",
                          p->cache_entries, (double)tg_evalservice_cache_bytes(p) / 1048576.0);
    }
    for (; c->num_stripes < stripes; c->num_stripes++)
        if (uv_mutex_init(&c->stripes[c->num_stripes])) {
            evalservice__cache_free(c);
            return tg_err_set(err, TG_EINTERNAL, "evalservice: cache lock init failed");
        }
    *out = c;
    return 0;
}

static evalservice_slot_t *evalservice__slot(evalservice_cache_t *c, evalservice_key_t k,
                                             uv_mutex_t **stripe) {
    size_t i = (size_t)(k.lo % c->entries);
    *stripe = &c->stripes[i % (size_t)c->num_stripes];
    return (evalservice_slot_t *)(c->slots + i * c->slot_bytes);
}

/* True when out's legal-move mask (policy >= 0) is g's. O(N^2) legality tests. */
static bool evalservice__legal_mask_matches(const tg_game_t *g, const tg_nn_output_t *out) {
    const int n = g->board.size;
    if ((out->policy_pass >= 0.0f) != tg_game_is_legal(g, TG_LOC_PASS, g->to_move)) return false;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            if ((out->policy[y * n + x] >= 0.0f) != tg_game_is_legal(g, tg_loc(x, y), g->to_move))
                return false;
    return true;
}

/* Copies the entry under k into out if there is one for g (see the legal-move guard). Poster
 * thread; takes one stripe lock. */
static bool evalservice__cache_lookup(tg_evalservice_t *svc, evalservice_key_t k,
                                      const tg_game_t *g, tg_nn_output_t *out) {
    evalservice_cache_t *c = svc->cache;
    const int n = g->board.size;
    uv_mutex_t *stripe;
    evalservice_slot_t *s = evalservice__slot(c, k, &stripe);
    const float *data = (const float *)(s + 1);
    bool found = false;
    uv_mutex_lock(stripe);
    if (s->used && s->key_lo == k.lo && s->key_hi == k.hi && s->board_size == n) {
        const float *v = s->scalars;
        out->board_size = n;
        out->white_win = v[0], out->white_loss = v[1], out->no_result = v[2];
        out->white_lead = v[3], out->white_score_mean = v[4], out->white_score_mean_sq = v[5];
        out->var_time_left = v[6], out->shortterm_winloss_error = v[7];
        out->shortterm_score_error = v[8], out->policy_pass = v[9];
        memcpy(out->policy, data, sizeof(float) * (size_t)(n * n));
        memcpy(out->white_ownership, data + n * n, sizeof(float) * (size_t)(n * n));
        found = true;
    }
    uv_mutex_unlock(stripe);
    if (!found) return false;
    if (!evalservice__legal_mask_matches(g, out)) {
        atomic_fetch_add_explicit(&svc->cache_rejects, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

/* Stores o under k (replacing the slot). Evaluator thread; takes one stripe lock. */
static void evalservice__cache_insert(tg_evalservice_t *svc, evalservice_key_t k,
                                      const tg_nn_output_t *o) {
    evalservice_cache_t *c = svc->cache;
    const int n = o->board_size;
    uv_mutex_t *stripe;
    evalservice_slot_t *s = evalservice__slot(c, k, &stripe);
    float *data = (float *)(s + 1);
    uv_mutex_lock(stripe);
    s->key_lo = k.lo, s->key_hi = k.hi;
    s->used = 1, s->board_size = n;
    float *v = s->scalars;
    v[0] = o->white_win, v[1] = o->white_loss, v[2] = o->no_result;
    v[3] = o->white_lead, v[4] = o->white_score_mean, v[5] = o->white_score_mean_sq;
    v[6] = o->var_time_left, v[7] = o->shortterm_winloss_error;
    v[8] = o->shortterm_score_error, v[9] = o->policy_pass;
    memcpy(data, o->policy, sizeof(float) * (size_t)(n * n));
    memcpy(data + n * n, o->white_ownership, sizeof(float) * (size_t)(n * n));
    uv_mutex_unlock(stripe);
    atomic_fetch_add_explicit(&svc->cache_inserts, 1, memory_order_relaxed);
}

/* ---- Evaluator threads ------------------------------------------------------------------------
 */

tg_evalservice_params_t tg_evalservice_params_default(void) {
    tg_evalservice_params_t p = {.max_batch = 16,
                                 .num_threads = 1,
                                 .max_wait_us = 2000,
                                 .nn_len = 0,
                                 .cache_entries = 0,
                                 .cache_board_len = 0,
                                 .cache_any_symmetry = false};
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
                if (w->features) w->features[m] = r->features ? r->features[r->taken] : NULL;
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
        int rc = svc->packed
                     ? svc->backend.evaluate_packed(svc->backend.ctx, m, w->games, w->features,
                                                    w->symmetries, len, w->outs, &w->err)
                     : svc->backend.evaluate_batch(svc->backend.ctx, m, w->games, w->symmetries,
                                                   len, w->outs, &w->err);
        uint64_t end_ns = uv_hrtime();
        if (rc == 0)
            for (int i = 0; i < m; i++) {
                const evalservice_req_t *r = w->reqs[i];
                const int j = w->idx[i];
                *(r->outp ? r->outp[j] : &r->outs[j]) = w->outs[i];
                if (r->keys && r->has_key[j])
                    evalservice__cache_insert(svc, r->keys[j], &w->outs[i]);
            }

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
        free(w->features);
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
    if (params->cache_entries < 0 || params->cache_entries > (1 << 28))
        return tg_err_set(err, TG_EINVAL, "evalservice: cache_entries %d not in 0..2^28",
                          params->cache_entries);
    if (params->cache_board_len < 0 || params->cache_board_len > TG_BOARD_MAX)
        return tg_err_set(err, TG_EINVAL, "evalservice: cache_board_len %d not in 0..%d",
                          params->cache_board_len, TG_BOARD_MAX);
    tg_evalservice_t *svc = calloc(1, sizeof(*svc));
    if (!svc) return tg_err_set(err, TG_ENOMEM, "evalservice: out of memory");
    svc->params = *params;
    svc->backend = *backend;
    svc->packed = backend->evaluate_packed != NULL;
    svc->start_ns = uv_hrtime();
    atomic_init(&svc->posted, 0);
    atomic_init(&svc->requests, 0);
    atomic_init(&svc->cache_hits, 0);
    atomic_init(&svc->cache_misses, 0);
    atomic_init(&svc->cache_rejects, 0);
    atomic_init(&svc->cache_inserts, 0);
    if (svc->packed && params->cache_entries > 0) {
        int crc = evalservice__cache_create(params, &svc->cache, err);
        if (crc) {
            free(svc);
            return crc;
        }
    }
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
        if (svc->packed) {
            w->features = malloc(mb * sizeof(*w->features));
            if (!w->features) goto fail_workers;
        }
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
    evalservice__cache_free(svc->cache);
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
    evalservice__cache_free(svc->cache);
    free(svc);
}

/* Queues r (n, arrays and flags filled by the caller) and sleeps until it is answered. Returns
 * r's rc (err filled on failure). Poster thread. */
static int evalservice__post(tg_evalservice_t *svc, evalservice_req_t *r, tg_err_t *err) {
    r->next = NULL;
    r->taken = r->rc = 0;
    r->remaining = r->n;
    r->done = false;
    if (uv_cond_init(&r->cond)) return tg_err_set(err, TG_EINTERNAL, "evalservice: cond init");
    uv_mutex_lock(&svc->lock);
    if (svc->stop) {
        uv_mutex_unlock(&svc->lock);
        uv_cond_destroy(&r->cond);
        return tg_err_set(err, TG_ESTATE, "evalservice: stopping");
    }
    r->post_ns = uv_hrtime();
    if (svc->tail)
        svc->tail->next = r;
    else
        svc->head = r;
    svc->tail = r;
    svc->queued += r->n;
    svc->blocked_clients++;
    uv_cond_signal(&svc->work_cond);
    while (!r->done)
        uv_cond_wait(&r->cond, &svc->lock);
    uv_mutex_unlock(&svc->lock);
    uv_cond_destroy(&r->cond);
    if (r->rc && err) *err = r->err;
    return r->rc;
}

/* A poster's chunk: up to EVALSERVICE_CHUNK_POS cache misses and the features they point to
 * (lives on the poster's stack; ~66 KB). */
typedef struct evalservice_chunk_s {
    float buf[EVALSERVICE_CHUNK_FLOATS]; /* packed features, back to back */
    size_t used;                         /* floats of buf in use */
    /* Features built in this chunk, by game pointer (a game posted under several symmetries is
     * built and hashed once). */
    int nf;
    const tg_game_t *fgame[EVALSERVICE_CHUNK_POS];
    const float *ffeat[EVALSERVICE_CHUNK_POS];
    evalservice_key_t fhash[EVALSERVICE_CHUNK_POS];
    /* Positions to evaluate. */
    int m;
    const tg_game_t *games[EVALSERVICE_CHUNK_POS];
    int syms[EVALSERVICE_CHUNK_POS];
    tg_nn_output_t *outp[EVALSERVICE_CHUNK_POS];
    const float *feats[EVALSERVICE_CHUNK_POS];
    evalservice_key_t keys[EVALSERVICE_CHUNK_POS];
    bool has_key[EVALSERVICE_CHUNK_POS];
} evalservice_chunk_t;

/* Posts the chunk's positions (if any) and empties it. */
static int evalservice__flush(tg_evalservice_t *svc, evalservice_chunk_t *c, tg_err_t *err) {
    int rc = 0;
    if (c->m > 0) {
        evalservice_req_t r;
        memset(&r, 0, sizeof(r));
        r.games = c->games;
        r.symmetries = c->syms;
        r.outp = c->outp;
        r.features = c->feats;
        r.keys = svc->cache ? c->keys : NULL;
        r.has_key = c->has_key;
        r.n = c->m;
        rc = evalservice__post(svc, &r, err);
    }
    c->m = c->nf = 0;
    c->used = 0;
    return rc;
}

/* The packed route: features built here, cache looked up here, misses posted in chunks. */
static int evalservice__evaluate_packed(tg_evalservice_t *svc, int n, const tg_game_t *const *games,
                                        const int *symmetries, tg_nn_output_t *outs,
                                        tg_err_t *err) {
    evalservice_chunk_t c;
    c.m = c.nf = 0;
    c.used = 0;
    evalservice_cache_t *cache = svc->cache;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const tg_game_t *g = games[i];
        const int bn = g->board.size;
        if (symmetries[i] < 0 || symmetries[i] >= TG_NN_NUM_SYMMETRIES) {
            rc = tg_err_set(err, TG_EINVAL, "evalservice: symmetry %d not in 0..7", symmetries[i]);
            break;
        }
        if (g->to_move != TG_BLACK && g->to_move != TG_WHITE) {
            rc = tg_err_set(err, TG_EINVAL, "evalservice: no player to move");
            break;
        }
        const size_t need = (size_t)TG_NN_PACKED_FLOATS(bn);
        int f = -1;
        for (int j = 0; j < c.nf && f < 0; j++)
            if (c.fgame[j] == g) f = j;
        if (c.m == EVALSERVICE_CHUNK_POS || (f < 0 && (c.nf == EVALSERVICE_CHUNK_POS ||
                                                       c.used + need > EVALSERVICE_CHUNK_FLOATS))) {
            rc = evalservice__flush(svc, &c, err);
            if (rc) break;
            f = -1;
        }
        if (f < 0) {
            float *feat = c.buf + c.used;
            tg_nn_fill_features_packed(g, &svc->backend.input_params, feat);
            c.used += need;
            f = c.nf++;
            c.fgame[f] = g;
            c.ffeat[f] = feat;
            if (cache) c.fhash[f] = evalservice__hash_floats(feat, need);
        }
        bool keyed = cache && bn <= cache->board_len;
        evalservice_key_t key = {0, 0};
        if (keyed) {
            /* Symmetry 8 = "any symmetry", apart from the 8 exact ones. */
            int ksym =
                svc->params.cache_any_symmetry && n == 1 ? TG_NN_NUM_SYMMETRIES : symmetries[i];
            key = evalservice__key(c.fhash[f], bn, g->to_move, ksym);
            if (evalservice__cache_lookup(svc, key, g, &outs[i])) {
                atomic_fetch_add_explicit(&svc->cache_hits, 1, memory_order_relaxed);
                continue;
            }
            atomic_fetch_add_explicit(&svc->cache_misses, 1, memory_order_relaxed);
        }
        c.games[c.m] = g;
        c.syms[c.m] = symmetries[i];
        c.outp[c.m] = &outs[i];
        c.feats[c.m] = c.ffeat[f];
        c.keys[c.m] = key;
        c.has_key[c.m] = keyed;
        c.m++;
    }
    if (rc == 0) rc = evalservice__flush(svc, &c, err);
    return rc;
}

int tg_evalservice_evaluate(tg_evalservice_t *svc, int n, const tg_game_t *const *games,
                            const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    if (n <= 0) return n == 0 ? 0 : tg_err_set(err, TG_EINVAL, "evalservice: negative count");
    atomic_fetch_add_explicit(&svc->posted, n, memory_order_relaxed);
    int rc;
    if (svc->packed) {
        rc = evalservice__evaluate_packed(svc, n, games, symmetries, outs, err);
    } else {
        evalservice_req_t r;
        memset(&r, 0, sizeof(r));
        r.games = games;
        r.symmetries = symmetries;
        r.outs = outs;
        r.n = n;
        rc = evalservice__post(svc, &r, err);
    }
    if (rc != TG_ESTATE) atomic_fetch_add_explicit(&svc->requests, 1, memory_order_relaxed);
    return rc;
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
    out->positions = svc->positions;
    out->batches = svc->batches;
    out->full_batches = svc->full_batches;
    out->errors = svc->errors;
    out->queue_wait_s = svc->queue_wait_s;
    out->backend_s = svc->backend_s;
    uv_mutex_unlock(&svc->lock);
    out->requests = atomic_load_explicit(&svc->requests, memory_order_relaxed);
    out->posted = atomic_load_explicit(&svc->posted, memory_order_relaxed);
    out->cache_hits = atomic_load_explicit(&svc->cache_hits, memory_order_relaxed);
    out->cache_misses = atomic_load_explicit(&svc->cache_misses, memory_order_relaxed);
    out->cache_rejects = atomic_load_explicit(&svc->cache_rejects, memory_order_relaxed);
    out->cache_inserts = atomic_load_explicit(&svc->cache_inserts, memory_order_relaxed);
    int64_t lookups = out->cache_hits + out->cache_misses;
    if (lookups > 0) out->cache_hit_rate = (double)out->cache_hits / (double)lookups;
    out->cache_mb = svc->cache ? (double)tg_evalservice_cache_bytes(&svc->params) / 1048576.0 : 0;
    out->elapsed_s = 1e-9 * (double)(uv_hrtime() - svc->start_ns);
    if (out->batches > 0) {
        out->mean_fill = (double)out->positions / (double)out->batches;
        out->mean_fill_frac = out->mean_fill / svc->params.max_batch;
    }
    if (out->positions > 0) out->mean_queue_wait_ms = 1e3 * out->queue_wait_s / out->positions;
    if (out->elapsed_s > 0) out->evals_per_s = (double)out->positions / out->elapsed_s;
}
