/* evalservice.h: a batched evaluation service. Many game threads post positions; one or more
 * evaluator threads gather them into batches for one backend call, then wake the posters.
 *
 * Why: self-play runs many games at once (one search thread each, algorithms.md §2.1) so that
 * the net sees full batches; a search only knows tg_search_evaluator_t, so the service is an
 * implementation of that interface which queues the request and blocks until it is answered.
 *
 * Thread layout:
 *
 *     game thread 1 --post--+                      +--> evaluator thread 1 --backend batch--+
 *     game thread 2 --post--+--> queue (FIFO of --+                                         |
 *     ...                   |    requests)         +--> evaluator thread k (optional)        |
 *     game thread N --post--+                                                                |
 *          ^ (each poster blocks on its own request's condition) <--- results copied, woken -+
 *
 * Batching rule: an evaluator thread takes up to max_batch positions from the head of the queue
 * (a request may be split over several batches). It first waits, at most max_wait_us, for the
 * batch to fill, but stops waiting as soon as the queue holds max_batch positions or every
 * attached client is blocked in the service (nothing more can arrive until a batch finishes).
 * Each batch runs on a tensor of nn_len (fixed, or the largest board in the batch when 0).
 *
 * Lock rules: one mutex, svc->lock, guards the queue, the request bookkeeping (remaining, rc,
 * err, done), the client counters and the statistics. Backends are called WITHOUT the lock;
 * results are copied into the posters' output arrays without the lock too (a poster cannot
 * return, and so its arrays stay valid, until its request's `done` is set under the lock).
 * No other lock is ever taken while svc->lock is held (the backend's own lock, e.g. the
 * evaluator's, is only taken outside it).
 *
 * Memory: every buffer (per-thread batch arrays) is allocated by create; posting and batching
 * never allocate (requests live on the poster's stack). */
#ifndef TENGEN_SEARCH_EVALSERVICE_H
#define TENGEN_SEARCH_EVALSERVICE_H

#include <stdatomic.h>
#include <stdint.h>

#include "game/game.h"
#include "nn/eval.h"
#include "search/search.h"
#include "util/error.h"

/* What the evaluator threads call: evaluate n positions (n <= max_batch) on an nn_len tensor,
 * outputs in White's view as tg_nn_evaluate. Called from evaluator threads only, never with the
 * service lock held; must be safe to call from several evaluator threads if num_threads > 1. */
typedef struct tg_evalservice_backend_s {
    int (*evaluate_batch)(void *ctx, int n, const tg_game_t *const *games, const int *symmetries,
                          int nn_len, tg_nn_output_t *outs, tg_err_t *err);
    void *ctx;
} tg_evalservice_backend_t;

/* Backend running a net (tg_nn_evaluate_batch). ev stays the caller's and must outlive the
 * service. */
tg_evalservice_backend_t tg_evalservice_backend_nn(tg_nn_evaluator_t *ev);

/* A pool of independent evaluators of one net, so that several evaluator threads run their
 * batches at the same time (one tg_nn_evaluator_t serialises its calls on its own lock). Each
 * call takes a free evaluator (an atomic flag per evaluator); with count >= the service's
 * num_threads one is always free, else a call waits on evs[0]'s lock. Caller-owned; the
 * evaluators stay the caller's and must outlive the service. Lock-free, no allocation. */
#define TG_EVALSERVICE_MAX_POOL 16
typedef struct tg_evalservice_nn_pool_s {
    int count; /* 1..TG_EVALSERVICE_MAX_POOL */
    tg_nn_evaluator_t *evs[TG_EVALSERVICE_MAX_POOL];
    atomic_int busy[TG_EVALSERVICE_MAX_POOL]; /* 1 while a call uses evs[i] */
} tg_evalservice_nn_pool_t;

tg_evalservice_backend_t tg_evalservice_backend_nn_pool(tg_evalservice_nn_pool_t *pool);

/* Backend of the "random net" used before any model exists (as KataGo's selfplay does with no
 * model): uniform policy over the legal moves (pass included), value 0 (win = loss = 0.5), score,
 * lead and ownership 0. Stateless, thread-safe, no allocation. */
tg_evalservice_backend_t tg_evalservice_backend_uniform(void);

/* The same uniform evaluation as a direct (unbatched) search evaluator. */
tg_search_evaluator_t tg_evalservice_uniform_evaluator(void);

/* Fills out with the uniform evaluation of g (see above). O(size^2). */
void tg_evalservice_fill_uniform(const tg_game_t *g, tg_nn_output_t *out);

typedef struct tg_evalservice_params_s {
    int max_batch;   /* positions per backend call, >= 1 */
    int num_threads; /* evaluator threads, >= 1 */
    int max_wait_us; /* longest wait for a batch to fill, microseconds (0 = never wait) */
    int nn_len;      /* tensor size; 0 = largest board size in each batch */
} tg_evalservice_params_t;

/* max_batch 16, 1 thread, 2000 us, nn_len 0. */
tg_evalservice_params_t tg_evalservice_params_default(void);

typedef struct tg_evalservice_s tg_evalservice_t;

/* Starts the evaluator threads. Returns 0, TG_EINVAL (bad params) or TG_ENOMEM / TG_EINTERNAL
 * (thread start failed). The backend's ctx must outlive the service. */
int tg_evalservice_create(const tg_evalservice_params_t *params,
                          const tg_evalservice_backend_t *backend, tg_evalservice_t **out,
                          tg_err_t *err);

/* Stops and joins the evaluator threads and frees everything. Requests still queued are
 * answered with TG_ESTATE. No thread may post after destroy has begun. NULL is a no-op. */
void tg_evalservice_destroy(tg_evalservice_t *svc);

/* Posts n positions and blocks until all are evaluated. games/symmetries/outs as
 * tg_search_evaluator_t (outs[i] for games[i]). Returns 0, TG_ESTATE if the service is
 * stopping, or the backend's error (err filled). Thread-safe; no allocation. */
int tg_evalservice_evaluate(tg_evalservice_t *svc, int n, const tg_game_t *const *games,
                            const int *symmetries, tg_nn_output_t *outs, tg_err_t *err);

/* A search evaluator that posts to svc (tg_evalservice_evaluate). */
tg_search_evaluator_t tg_evalservice_evaluator(tg_evalservice_t *svc);

/* Clients (game threads) say they are active with attach and leave with detach, so that the
 * evaluator stops waiting for a fuller batch once every attached client is blocked. Without
 * any attached client only max_batch and max_wait_us decide. Thread-safe. */
void tg_evalservice_attach(tg_evalservice_t *svc);
void tg_evalservice_detach(tg_evalservice_t *svc);

typedef struct tg_evalservice_stats_s {
    int64_t requests;          /* evaluate calls answered */
    int64_t positions;         /* positions evaluated */
    int64_t batches;           /* backend calls */
    int64_t full_batches;      /* batches of exactly max_batch positions */
    int64_t errors;            /* backend calls that failed */
    double mean_fill;          /* positions / batches */
    double mean_fill_frac;     /* mean_fill / max_batch */
    double queue_wait_s;       /* sum over positions of (batch start - post time) */
    double mean_queue_wait_ms; /* queue_wait_s / positions, in ms */
    double backend_s;          /* sum of backend call durations */
    double elapsed_s;          /* since create */
    double evals_per_s;        /* positions / elapsed_s */
} tg_evalservice_stats_t;

/* Snapshot of the counters. Thread-safe. */
void tg_evalservice_get_stats(tg_evalservice_t *svc, tg_evalservice_stats_t *out);

#endif
