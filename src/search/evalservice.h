/* evalservice.h: a batched evaluation service. Many game threads post positions; one or more
 * evaluator threads gather them into batches for one backend call, then wake the posters.
 * With a net backend the posters also build the input features themselves and may answer from
 * an NN cache, so the evaluator threads only run the net.
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
 * Features on the posting threads (backends with evaluate_packed, i.e. the net ones): the
 * features (ladder search included, the costly part) are built by the poster, unsymmetrized
 * and packed at the board's size (tg_nn_fill_features_packed), into a fixed buffer on its
 * stack (EVALSERVICE_CHUNK, ~64 KB: two 19x19 positions or eight 9x9 ones; a call with more
 * positions is posted in several chunks, and the same game pointer posted under several
 * symmetries is built once). The evaluator thread only applies the symmetry into its batch
 * tensor, runs the net and post-processes (the poster is blocked, so its game stays valid).
 * Outputs are bit-identical to the games route (tg_nn_evaluate_batch_packed).
 *
 * NN cache (params.cache_entries > 0, packed backends only): a fixed, preallocated table of
 * post-processed outputs. Key: a 128-bit hash of the exact packed features (spatial + global,
 * unsymmetrized) mixed with the board size, the player to move and the symmetry, so different
 * symmetries, komi, rules or history (last moves, ko bans) never share an entry; the board
 * size is also stored and compared. Posters look up before queueing (a hit is answered
 * without the queue); evaluator threads insert after a batch (always replacing the slot
 * key.lo % cache_entries). As a last guard a hit is used only if its legal-move mask (policy
 * >= 0) equals tg_game_is_legal's for the poster's game, else it counts as a reject + miss.
 * With cache_any_symmetry, one-position requests share a symmetry-free key instead (KataGo's
 * behaviour; several times the hit rate in self-play, see bench/RESULTS.md).
 * A hit may come from a batch of another size or tensor length, so it equals a fresh
 * evaluation up to the backend's float rounding across batch shapes (as KataGo's cache).
 * Memory: cache_entries * (64 + 8 * B^2) bytes, B = cache_board_len (9x9: 712 B/entry,
 * 46.7 MB for 65536; 19x19: 2952 B/entry, 193 MB); see tg_evalservice_cache_bytes.
 *
 * Lock rules: one mutex, svc->lock, guards the queue, the request bookkeeping (remaining, rc,
 * err, done), the client counters and the statistics. Backends are called WITHOUT the lock;
 * results are copied into the posters' output arrays without the lock too (a poster cannot
 * return, and so its arrays stay valid, until its request's `done` is set under the lock).
 * No other lock is ever taken while svc->lock is held (the backend's own lock, e.g. the
 * evaluator's, is only taken outside it). Cache: one mutex per stripe of slots (slot i under
 * stripe i % stripes), a leaf lock held only to copy one slot in or out, never together with
 * svc->lock or another stripe. Statistics of the cache and posting are relaxed atomics.
 *
 * Memory: every buffer (per-thread batch arrays, the cache table) is allocated by create;
 * posting and batching never allocate (requests and features live on the poster's stack). */
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
    /* Optional (NULL: only evaluate_batch is used, posters build nothing, no cache): the same
     * evaluation from packed features the posters built with input_params
     * (tg_nn_fill_features_packed; contract of tg_nn_evaluate_batch_packed). Same threading
     * rules as evaluate_batch. */
    int (*evaluate_packed)(void *ctx, int n, const tg_game_t *const *games,
                           const float *const *features, const int *symmetries, int nn_len,
                           tg_nn_output_t *outs, tg_err_t *err);
    tg_nn_input_params_t input_params; /* for evaluate_packed's features */
} tg_evalservice_backend_t;

/* Backend running a net (tg_nn_evaluate_batch, or tg_nn_evaluate_batch_packed with the
 * evaluator's input parameters as they are now: set them before). ev stays the caller's and
 * must outlive the service. */
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

/* Largest number of positions one poster chunk holds (see features on the posting threads). */
#define TG_EVALSERVICE_CHUNK_POSITIONS 16

/* Backend of the "random net" used before any model exists (as KataGo's selfplay does with no
 * model): uniform policy over the legal moves (pass included), value 0 (win = loss = 0.5), score,
 * lead and ownership 0. Stateless, thread-safe, no allocation. */
tg_evalservice_backend_t tg_evalservice_backend_uniform(void);

/* The same uniform evaluation as a direct (unbatched) search evaluator. */
tg_search_evaluator_t tg_evalservice_uniform_evaluator(void);

/* Fills out with the uniform evaluation of g (see above). O(size^2). */
void tg_evalservice_fill_uniform(const tg_game_t *g, tg_nn_output_t *out);

typedef struct tg_evalservice_params_s {
    int max_batch;       /* positions per backend call, >= 1 */
    int num_threads;     /* evaluator threads, >= 1 */
    int max_wait_us;     /* longest wait for a batch to fill, microseconds (0 = never wait) */
    int nn_len;          /* tensor size; 0 = largest board size in each batch */
    int cache_entries;   /* NN cache slots, 0..2^28; 0 = off (also off without evaluate_packed) */
    int cache_board_len; /* largest board size cached (sets the slot size); 0 = nn_len, or 19
                            when nn_len is 0; larger boards bypass the cache */
    bool cache_any_symmetry; /* KataGo's nnCache: a request of ONE position (a search leaf, whose
                                symmetry is random anyway) uses a symmetry-free key, so it hits
                                whatever symmetry evaluated that position first; requests of
                                several positions (root symmetry averaging) keep exact keys.
                                Off: every key includes the symmetry. */
} tg_evalservice_params_t;

/* max_batch 16, 1 thread, 2000 us, nn_len 0, no cache. */
tg_evalservice_params_t tg_evalservice_params_default(void);

/* Bytes the cache table of a service with these params takes (0 when cache_entries is 0). */
size_t tg_evalservice_cache_bytes(const tg_evalservice_params_t *params);

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
    int64_t posted;            /* positions posted; = cache_hits + positions when no errors */
    int64_t positions;         /* positions evaluated by the backend */
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
    /* NN cache (0 when off). lookups = cache_hits + cache_misses; a miss is evaluated and then
     * inserted (cache_inserts = cache_misses when no errors); boards over cache_board_len are
     * not looked up. cache_rejects: key found but the legal moves disagreed (also misses). */
    int64_t cache_hits, cache_misses, cache_rejects, cache_inserts;
    double cache_hit_rate; /* cache_hits / lookups */
    double cache_mb;       /* table size, MiB */
} tg_evalservice_stats_t;

/* Snapshot of the counters. Thread-safe. */
void tg_evalservice_get_stats(tg_evalservice_t *svc, tg_evalservice_stats_t *out);

#endif
