/* train_internal.h: training kernels (forward + backward) and the per-thread net workspace,
 * shared by src/train/ and its tests. Not part of the public API.
 *
 * Tensors are NHWC rows: (rows, C) with rows = n * L*L. No function allocates; scratch comes
 * from the caller. None of them is thread-safe on shared outputs; each worker calls them on
 * its own buffers. */
#ifndef TENGEN_TRAIN_TRAIN_INTERNAL_H
#define TENGEN_TRAIN_TRAIN_INTERNAL_H

#include <stddef.h>

#include "train/train.h"

/* Rows per im2col chunk in convolutions. */
#define TRAIN_CONV_CHUNK 512

/* C = alpha * op(A) op(B) + beta * C, row-major; op = transpose when ta/tb is nonzero.
 * OpenBLAS when built with it, else a portable loop. */
void train__gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc);

/* Convolution forward of a (n, len*len, ic) tensor with w (k, k, ic, oc): out (rows, oc),
 * overwritten. scratch: TRAIN_CONV_CHUNK * k*k*ic floats (unused for k = 1). */
void train__conv_fwd(const float *w, int k, int ic, int oc, const float *in, int n, int len,
                     float *out, float *scratch);

/* Convolution backward: dw (k,k,ic,oc) += gradient; din (rows, ic) = input gradient (overwritten
 * when din_accumulate is 0, added to when 1), or skipped when din is NULL. scratch:
 * 2 * TRAIN_CONV_CHUNK * k*k*ic floats. */
void train__conv_bwd(const float *w, int k, int ic, int oc, const float *in, int n, int len,
                     const float *dout, float *dw, float *din, int din_accumulate, float *scratch);

/* Winograd workspace of one worker (buffers carved by the caller, sized by train__wino_need):
 * packed weights, the weight-gradient accumulator dU, and the transform scratch. */
typedef struct train_wino_s {
    float *u, *du; /* u_floats each */
    size_t u_floats;
    float *scratch; /* scratch_floats */
} train_wino_t;

/* Raises *u_floats and *scratch_floats to what a k x k convolution ic -> oc needs in all three
 * passes (forward, input gradient, weight gradient). k odd, 1 < k <= 9. */
void train__wino_need(int k, int ic, int oc, size_t *u_floats, size_t *scratch_floats);

/* train__conv_fwd by Winograd (k > 1): same contract, scratch from ws. Float error ~1e-6 of the
 * output's scale against the im2col path. */
void train__conv_fwd_wino(const train_wino_t *ws, const float *w, int k, int ic, int oc,
                          const float *in, int n, int len, float *out);

/* train__conv_bwd by Winograd (k > 1): dw += weight gradient, din = input gradient (or added
 * when din_accumulate; skipped when NULL). Same contract as train__conv_bwd. */
void train__conv_bwd_wino(const train_wino_t *ws, const float *w, int k, int ic, int oc,
                          const float *in, int n, int len, const float *dout, float *dw, float *din,
                          int din_accumulate);

/* Fixup norm + ReLU + mask: out = relu(in * (1 + gamma) + beta) * mask, gamma may be NULL
 * (bias only). in == out is not allowed (backward needs both). */
void train__normact_fwd(const float *in, size_t rows, int c, const float *gamma, const float *beta,
                        const float *mask, float *out);

/* Backward of train__normact_fwd: dbeta/dgamma accumulate; din = (dout * relu'(.)) * (1+gamma)
 * (overwritten, or added when din_accumulate). dout and din may alias when !din_accumulate. */
void train__normact_bwd(const float *in, const float *out, const float *dout, size_t rows, int c,
                        const float *gamma, float *dgamma, float *dbeta, float *din,
                        int din_accumulate);

/* KataGo gpool of one sample: in (hw, c), out (3c) = [mean, mean*(sqrtN-14)/10, max over
 * on-board points]; argmax (c) records the max position (for backward). */
void train__gpool_fwd(const float *in, const float *mask, int hw, int c, float mask_sum, float *out,
                      int *argmax);
/* din (hw, c) += gradient of gpool given dout (3c). */
void train__gpool_bwd(const float *dout, const float *mask, const int *argmax, int hw, int c,
                      float mask_sum, float *din);

/* KataGo value-head pool: out (3c) = mean * [1, (sqrtN-14)/10, (sqrtN-14)^2/100 - 0.1]. */
void train__vpool_fwd(const float *in, int hw, int c, float mask_sum, float *out);
void train__vpool_bwd(const float *dout, const float *mask, int hw, int c, float mask_sum,
                      float *din);

/* Score-belief bin constants: offset 0.05*(i - mid + 0.5), parity 0.5 - ((i - mid) mod 2). */
float train__score_offset(int i, int score_len);
float train__score_parity(int i, int score_len);

/* Workspace of one worker: activations of up to max_n samples plus scratch. */
typedef struct train_net_s train_net_t;

/* One batch slice as the net sees it: NHWC inputs and KataGo-layout targets (after symmetry). */
typedef struct train_slice_s {
    int n;                 /* samples */
    const float *spatial;  /* (n, hw, 22) */
    const float *global;   /* (n, 19) */
    const float *mask;     /* (n, hw) */
    const float *mask_sum; /* (n) */
    const float *policy;   /* (n, 2, hw+1) raw target weights */
    const float *gtargets; /* (n, 80) */
    const float *score;    /* (n, score_len) percent */
    const float *owner;    /* (n, hw) in {-1, 0, 1} */
} train_slice_t;

int train__net_create(train_net_t **out, const train_model_t *m, int max_n);
void train__net_destroy(train_net_t *net);

/* Forward, losses and backward of a slice: adds d(sum of losses)/d(params) into grads (a
 * num_params buffer) and the per-term loss sums into loss[TRAIN_LOSS_COUNT]. */
void train__net_run(train_net_t *net, const train_model_t *m, const train_slice_t *s, float *grads,
                    double *loss);

/* 1 = convolutions by the im2col reference path instead of Winograd (default 0, or 1 when the
 * environment has TENGEN_TRAIN_CONV=im2col at create time: A/B benchmarks, as TENGEN_NN_CONV). */
void train__net_set_conv_ref(train_net_t *net, int ref);

/* 1 = exact loss gradients (see train__loss_sample); default 0. */
void train__net_set_exact_grad(train_net_t *net, int exact);

/* Forward only (for checks): same as net_run without the backward; returns through loss. */
void train__net_forward_loss(train_net_t *net, const train_model_t *m, const train_slice_t *s,
                             double *loss);

/* Per-sample outputs of the last forward (sample i): policy logits (hw, 6) and pass (6). */
const float *train__net_policy(const train_net_t *net, int i);
const float *train__net_pass(const train_net_t *net, int i);

/* ---- Loss of one sample ------------------------------------------------------------------- */

/* Raw head outputs of one sample and their gradients (same shapes). */
typedef struct train_outputs_s {
    int hw, score_len;
    float *policy;     /* (hw, 6) */
    float *pass;       /* (6) */
    float *value;      /* (3) */
    float *misc;       /* (10) */
    float *moremisc;   /* (8) */
    float *own;        /* (hw) pretanh */
    float *score_logp; /* (score_len) log-probabilities */
} train_outputs_t;

/* Adds the loss terms of one sample into loss[] and writes d(loss)/d(outputs) into grad
 * (overwriting). mask (hw), mask_sum, targets as in train_slice_t for that sample.
 * exact_grad = 1 replaces KataGo's floored softplus gradients by the true derivative (for
 * finite-difference checks). scratch: 4*(hw+1) + 2*score_len floats. */
void train__loss_sample(const train_outputs_t *out, const train_outputs_t *grad, const float *mask,
                        float mask_sum, const float *policy, const float *gtargets,
                        const float *score, const float *owner, int exact_grad, double *loss,
                        float *scratch);

/* KataGo's SoftPlusWithGradientFloor: y = softplus(x), or softplus(x/2)^2 when squared; the
 * backward uses max(sigmoid(x), 0.05) in both forms ("keeping the same gradient"), or the true
 * derivative when exact is set. */
double train__softplus_floor(double x, int squared, int exact, double *dydx);
double train__huber(double x, double delta, double *dydx);

/* ---- SWA (shared by the CPU and CUDA trainers) ------------------------------------------- */

/* The SWA average and its bookkeeping (KataGo train.py: swa_model, swa_sample_accum). */
typedef struct train_swa_s {
    float *avg;      /* (num_params), meaningful once updates > 0 */
    int64_t updates; /* snapshots taken; 0 = no average yet */
    int64_t accum;   /* samples trained since the last snapshot (or since the start) */
} train_swa_t;

/* Bookkeeping after an optimizer step of n samples that brought the step count to steps: with
 * o->swa off, drops any average (updates = accum = 0) and returns 0. Else adds n to accum and
 * returns 1 (accum reset to 0) when a snapshot is due: accum >= o->swa_period_samples and the
 * lookahead weights are in sync (no lookahead, or steps a multiple of lookahead_k); the caller
 * then calls train__swa_update with the params after the step. */
int train__swa_advance(train_swa_t *s, const train_options_t *o, int n, int64_t steps);

/* One snapshot of params (np floats): the first copies them, later ones do
 * avg += (params - avg) / scale in float; updates++. O(np). */
void train__swa_update(train_swa_t *s, const float *params, size_t np, double scale);

/* ---- Checkpoints (shared by the CPU and CUDA trainers) ------------------------------------ */

/* The fixed header at the start of a TGCK checkpoint (format in train.h, trainer_save), read
 * and written by trainer.c and peeked at by train_infer.c. Version 2 appended the SWA fields;
 * a version 1 header is the first TRAIN_CKPT_HEADER_V1_BYTES bytes (same fields), followed by
 * params, momentum and slow weights. Version 2: header, params, momentum, slow weights, then the
 * SWA average when flags has TRAIN_CKPT_HAS_SWA, then the CRC-32. */
#define TRAIN_CKPT_MAGIC           "TGCK"
#define TRAIN_CKPT_VERSION         2u
#define TRAIN_CKPT_VERSION_V1      1u
#define TRAIN_CKPT_HEADER_V1_BYTES 352u
#define TRAIN_CKPT_HAS_SWA         1u

typedef struct train_ckpt_header_s {
    char magic[4];
    uint32_t version;
    train_config_t cfg;
    int32_t pos_len, pad;
    uint64_t num_params;
    int64_t steps, samples;
    uint64_t seq_pos;
    uint64_t rng[4];
    /* version 2 */
    uint32_t flags, pad2; /* TRAIN_CKPT_HAS_SWA: the SWA average follows the slow weights */
    int64_t swa_updates;  /* > 0 exactly when TRAIN_CKPT_HAS_SWA */
    int64_t swa_accum;    /* samples since the last SWA snapshot */
} train_ckpt_header_t;

/* Bytes of the header of a checkpoint of that version (0 for an unknown version). */
size_t train__ckpt_header_bytes(uint32_t version);

/* Counters and sampling state stored in a checkpoint next to the buffers. */
typedef struct train_ckpt_state_s {
    int64_t steps, samples;
    uint64_t seq_pos;
    uint64_t rng[4]; /* tg_rng_t state */
} train_ckpt_state_t;

/* The TGCK checkpoint (format in train.h, trainer_save) of m's params and momentum, the
 * lookahead slow weights slow (num_params), the SWA state swa (its average is written when
 * swa->updates > 0; swa may be NULL: none) and st. Atomic write. */
int train__ckpt_save(const char *path, const train_model_t *m, const float *slow,
                     const train_swa_t *swa, const train_ckpt_state_t *st, tg_err_t *err);
/* Reads it back into m (params, momentum), slow, swa (avg must hold num_params floats; a file
 * without an SWA average, version 1 included, sets updates = accum = 0) and st after checking
 * magic, version, config, size and CRC; nothing is changed on error. */
int train__ckpt_load(const char *path, train_model_t *m, float *slow, train_swa_t *swa,
                     train_ckpt_state_t *st, tg_err_t *err);

/* Exact loss gradients in every worker of t (finite-difference checks only). */
void trainer__set_exact_grad(trainer_t *t, int exact);

/* The im2col reference convolutions (1) or Winograd (0, the default) in every worker of t. */
void trainer__set_conv_ref(trainer_t *t, int ref);

#endif
