/* nn.h: the neural-net backend interface (raw forward passes) and its CPU implementation.
 *
 * A backend is a struct of function pointers (ggml style) so the CUDA backend plugs in beside
 * the CPU one. A backend context is created once per model for a maximum batch size; every
 * workspace is allocated there (sized for max_batch positions at L = 19), so forward() never
 * allocates. Inputs and outputs are plain float arrays owned by the caller.
 *
 * Input layout for n positions on an L x L tensor (1 <= L <= TG_NN_MAX_LEN; L may change
 * between calls):
 *   spatial (n, C_in_spatial, L, L) NCHW. Channel 0 is the on-board mask: 1 on board, 0
 *           elsewhere. A board smaller than L sits top-left, every other cell is 0.
 *   global  (n, C_in_global).
 * Outputs (pla's view, raw: logits before softmax/tanh, no post-processing), packed for this
 * call's L (stride L*L, not 19*19):
 *   policy      (n, P, L*L)  logits; off-board entries are meaningless
 *   policy_pass (n, P)
 *   value       (n, 3)       win / loss / noResult logits
 *   score       (n, S)       raw score values (S = 4 for v8, 6 for v9+)
 *   ownership   (n, L*L)     pre-tanh; 0 off board
 *
 * Threads: create/destroy are not thread-safe with respect to the same context. forward() on
 * one context must not run from two threads at once (it uses the context's workspaces and
 * thread pool); separate contexts are independent. */
#ifndef TENGEN_NN_NN_H
#define TENGEN_NN_NN_H

#include "nn/model.h"
#include "util/error.h"

#define TG_NN_MAX_LEN 19

/* Caller-owned output arrays (see layout above). */
typedef struct tg_nn_raw_s {
    float *policy;      /* (n, P, L*L) logits */
    float *policy_pass; /* (n, P) */
    float *value;       /* (n, 3) win/loss/noresult logits */
    float *score;       /* (n, S) raw misc values (4 for v8, 6 for v9+) */
    float *ownership;   /* (n, L*L) raw ownership (pre-tanh) */
    int max_batch;      /* capacity, set by tg_nn_raw_alloc (0 when the caller filled it) */
} tg_nn_raw_t;

typedef struct tg_nn_backend_s {
    const char *name; /* "cpu", "cuda" */
    /* Builds a context for model (which must outlive it) that serves up to max_batch
     * positions per forward; threads = worker count (<= 0: all online cores). Allocates all
     * workspaces. Returns 0 or TG_EINVAL / TG_ENOMEM / TG_EUNSUPPORTED with err filled. */
    int (*create)(const tg_model_t *model, int max_batch, int threads, void **ctx, tg_err_t *err);
    /* Frees everything create made. NULL is a no-op. */
    void (*destroy)(void *ctx);
    /* Runs n (1 <= n <= max_batch) positions of len x len (see the layout above) and fills
     * out. Returns 0, or TG_EINVAL for bad arguments. No allocation. */
    int (*forward)(void *ctx, int n, int len, const float *spatial, const float *global,
                   tg_nn_raw_t *out, tg_err_t *err);
} tg_nn_backend_t;

/* The CPU backend (OpenBLAS sgemm when built with it, else portable C kernels). */
const tg_nn_backend_t *tg_nn_backend_cpu(void);

/* Allocates out's five arrays for max_batch positions at L = 19 for model m (one malloc
 * each; contents zeroed). Returns 0 or TG_ENOMEM. Free with tg_nn_raw_free. */
int tg_nn_raw_alloc(tg_nn_raw_t *out, const tg_model_t *m, int max_batch, tg_err_t *err);
void tg_nn_raw_free(tg_nn_raw_t *out);

#endif
