/* train.h: training KataGo-architecture nets on the CPU (model configs, parameters, forward and
 * backward passes, losses, SGD, checkpoints).
 *
 * Overview
 *   train_config_by_name("b6c96", &cfg)          KataGo's modelconfigs (fixup, ReLU, version 15)
 *   train_model_init(&m, &cfg, pos_len, seed)    one buffer each for params, grads, momentum
 *   trainer_create(&t, &opts, err)               model + per-thread workspaces + optimizer state
 *   trainer_step(t, data, n, &stats)             one SGD step on a random batch of rows
 *   trainer_save / trainer_load                  exact, atomic checkpoints
 *   trainer_model_for_export(t, use_swa, &view)  the net to export: SWA average or raw weights
 *
 * Parameters (llm.c style): every trainable tensor is a named view into ONE float buffer; grads,
 * momentum, the lookahead slow weights and the SWA average are buffers of the same length and
 * layout, so every optimizer update is one loop over the buffer. The tensor table (model->tensors)
 * lists name, shape, offset and weight-decay group; names follow KataGo's PyTorch module names so
 * that the exporter can map them 1:1 onto a version-15 model file (formats.md §1.12-1.13):
 *
 *   conv weights are stored (ky, kx, ic, oc), oc fastest  == the .bin conv order
 *   linear weights are stored (ic, oc), oc fastest        == the .bin matmul order
 *   fixup norms store beta (c) and, where KataGo has it, gamma (c) with scale = 1 + gamma
 *     -> export as BN: mean 0, var 1, eps 1e-20, scale = 1 + gamma (or absent), bias = beta
 *   policy conv2p / linear_pass2 have 6 outputs; a v15 file takes outputs 0 and 5
 *   value misc (10) and moremisc (8): the v15 "sv3" matmul is misc[0..3] then moremisc[0..1]
 *   score-belief tensors (model.value_head.linear_s*) are training only, never exported.
 * Not built (KataGo trains them, tengen does not yet): the scoring, future-position and seki
 * conv heads (never exported either), Q-value policy channels, intermediate heads.
 *
 * Layout of activations: NHWC rows, (n, L*L, C) with L = pos_len, like src/nn/ops_cpu.h.
 * The board mask (input plane 0) multiplies every norm+activation output; pooling divides by
 * the true on-board area, so batches may mix board sizes.
 *
 * Threads: a trainer splits each batch by samples over its worker threads; each worker owns its
 * activations and its own gradient buffer, and the buffers are summed in thread order, so a
 * run is bit-reproducible for a given thread count. Nothing allocates after trainer_create. */
#ifndef TENGEN_TRAIN_TRAIN_H
#define TENGEN_TRAIN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "data/trainrows.h"
#include "util/error.h"
#include "util/rng.h"

#define TRAIN_MAX_BLOCKS       40
#define TRAIN_NAME_MAX         64
#define TRAIN_POLICY_OUTPUTS   6 /* policy, opp, soft, soft opp, long opt, short opt */
#define TRAIN_MISC_OUTPUTS     10
#define TRAIN_MOREMISC_OUTPUTS 8
#define TRAIN_SPATIAL_IN       22
#define TRAIN_GLOBAL_IN        19

/* One model config (KataGo modelconfigs.py, conv nets, norm_kind fixup, ReLU). */
typedef struct train_config_s {
    char name[TRAIN_NAME_MAX];
    int c_trunk, c_mid, c_gpool;       /* C, M, G */
    int num_blocks;                    /* trunk blocks */
    int block_gpool[TRAIN_MAX_BLOCKS]; /* 1 = "regulargpool" block */
    int c_p1, c_g1, c_v1, c_v2;        /* head widths */
    int c_sb, num_sb;                  /* score-belief width SB and mixture components K */
    int initial_kernel;                /* first conv size (3 in KataGo's configs) */
} train_config_t;

/* Fills cfg with the named config: b2c16, b4c32, b6c96, b10c128 (algorithms.md §4.6), or the
 * test-only "b1c8" (one gpool block, tiny heads). TG_ENOTFOUND otherwise. */
int train_config_by_name(const char *name, train_config_t *cfg);

/* Weight-decay / learning-rate groups (KataGo's reg_dict). */
typedef enum train_group_e {
    TRAIN_GROUP_NORMAL = 0,   /* input and trunk conv/linear weights, trunk gammas */
    TRAIN_GROUP_NOREG,        /* trunk biases (betas) */
    TRAIN_GROUP_OUTPUT,       /* head weights (lr x head factor) */
    TRAIN_GROUP_OUTPUT_NOREG, /* head biases (lr x head factor) */
    TRAIN_GROUP_COUNT
} train_group_t;

/* One named tensor of the parameter buffer. */
typedef struct train_tensor_s {
    char name[TRAIN_NAME_MAX];
    int ndim;
    int shape[4];
    size_t offset, count; /* in floats, into params/grads/momentum */
    train_group_t group;
} train_tensor_t;

/* A layer's view of the buffers: offset of its weights, kernel k (1 for linear and vectors),
 * ic and oc (for a vector, ic = 1, oc = length). Weights are (k, k, ic, oc). */
typedef struct train_layer_s {
    size_t off;
    int k, ic, oc;
} train_layer_t;

typedef struct train_block_s {
    int gpool;                   /* 1 for a global-pooling block */
    int c_reg;                   /* channels of the regular path: M, or M - G in a gpool block */
    train_layer_t beta1;         /* (C) */
    train_layer_t conv1;         /* 3x3 C -> c_reg */
    train_layer_t conv1g, betag; /* gpool only: 3x3 C -> G, (G) */
    train_layer_t linear_g;      /* gpool only: 3G -> c_reg */
    train_layer_t beta2, gamma2; /* (c_reg) */
    train_layer_t conv2;         /* 3x3 c_reg -> C */
} train_block_t;

typedef struct train_model_s {
    train_config_t cfg;
    int pos_len;       /* L: the training tensors are L x L */
    int score_len;     /* score-belief bins, 2*(L*L + 60) */
    size_t num_params; /* floats in each buffer */
    float *params;     /* (num_params) */
    float *grads;      /* (num_params) */
    float *momentum;   /* (num_params) */
    train_tensor_t *tensors;
    int num_tensors;
    /* trunk */
    train_layer_t conv_spatial, linear_global;
    train_block_t blocks[TRAIN_MAX_BLOCKS];
    train_layer_t beta_final;
    /* policy head */
    train_layer_t p_conv1p, p_conv1g, p_biasg, p_linear_g, p_bias2, p_conv2p;
    train_layer_t p_linear_pass, p_linear_pass_bias, p_linear_pass2;
    /* value head */
    train_layer_t v_conv1, v_bias1, v_linear2, v_bias2;
    train_layer_t v_linear_value, v_bias_value, v_linear_misc, v_bias_misc;
    train_layer_t v_linear_moremisc, v_bias_moremisc, v_conv_own;
    /* score belief (training only) */
    train_layer_t s_linear2, s_bias2, s_off, s_par, s_linear3, s_bias3, s_mix, s_bias_mix;
} train_model_t;

/* Lays out the tensors for cfg at board length pos_len (1..19) and initialises them as KataGo
 * does (truncated normal, std = scale*gain/sqrt(fan_in)/0.8796; fixup: conv1 x 1/sqrt(blocks),
 * conv2 = 0, gammas and betas 0) from seed. Grads and momentum start at 0. Caller owns m and
 * calls train_model_free. TG_EINVAL for bad sizes, TG_ENOMEM. */
int train_model_init(train_model_t *m, const train_config_t *cfg, int pos_len, uint64_t seed,
                     tg_err_t *err);
void train_model_free(train_model_t *m);

/* The tensor named name, or NULL. O(tensors). */
const train_tensor_t *train_model_find(const train_model_t *m, const char *name);

/* ---- Losses ------------------------------------------------------------------------------- */

/* Loss terms (algorithms.md §5.1, KataGo metrics_pytorch.py with train.py's default scales). */
typedef enum train_loss_e {
    TRAIN_LOSS_POLICY = 0,      /* 0.93 * CE(policy, ch0) * w26 */
    TRAIN_LOSS_POLICY_OPP,      /* 0.15 * CE(next-turn policy, ch1) * w28 */
    TRAIN_LOSS_POLICY_SOFT,     /* 8 * CE(soft policy, ch2) * w26 */
    TRAIN_LOSS_POLICY_OPP_SOFT, /* 8 * 0.15 * CE(soft opp policy, ch3) * w28 */
    TRAIN_LOSS_POLICY_OPT,      /* ch4 (0.1) + ch5 (0.2), plain policy at w26/2 (KataGo's
                                   -disable-optimistic-policy form) */
    TRAIN_LOSS_VALUE,           /* 0.72 * CE(win/loss/noresult) * (1 - w35) */
    TRAIN_LOSS_TD_VALUE,        /* 0.72 * sum of 3 (CE - target entropy) * (1 - w24) */
    TRAIN_LOSS_TD_SCORE,        /* 0.0004 * sum of 3 Huber(12) * w27 */
    TRAIN_LOSS_OWNERSHIP,       /* 1.5 * mean on-board BCE(2*pretanh) * w27 */
    TRAIN_LOSS_SCORE_MEAN,      /* 0.0015 * Huber(12) * w27 */
    TRAIN_LOSS_SCORE_PDF,       /* 0.02 * CE(score distribution) * w27 */
    TRAIN_LOSS_SCORE_CDF,       /* 0.02 * sum (cdf - cdf target)^2 * w27 */
    TRAIN_LOSS_SCORE_STDEV,     /* 0.001 * Huber(pred stdev - belief stdev, 10) */
    TRAIN_LOSS_LEAD,            /* 0.006 * Huber(8) * w29 */
    TRAIN_LOSS_VARIANCE_TIME,   /* 0.0003 * Huber(50) * w27 */
    TRAIN_LOSS_ST_VALUE_ERR,    /* 2.0 * Huber(0.4) * w27 */
    TRAIN_LOSS_ST_SCORE_ERR,    /* 0.00002 * Huber(100) * w27 */
    TRAIN_LOSS_COUNT
} train_loss_t;

/* Short name of a loss term ("policy", "value", ...), used in log lines. */
const char *train_loss_name(train_loss_t term);

/* ---- Trainer ------------------------------------------------------------------------------ */

typedef enum train_sample_e {
    TRAIN_SAMPLE_RANDOM = 0, /* rows uniformly at random (with replacement) over all data */
    TRAIN_SAMPLE_SEQUENTIAL, /* rows in order, wrapping around (tests, fixed batches) */
} train_sample_t;

typedef struct train_options_s {
    train_config_t cfg;
    int pos_len;            /* board tensor length of the data (19 for KataGo data) */
    int batch;              /* rows per step */
    int threads;            /* worker threads (>= 1) */
    uint64_t seed;          /* init + sampling + symmetry */
    double lr_per_sample;   /* KataGo: 3e-5 */
    double lr_scale;        /* -lr-scale (1.0) */
    int warmup;             /* 1: KataGo's sample-count warmup table; 0: none */
    double head_lr_factor;  /* 0.5 */
    double momentum;        /* 0.9 */
    int lookahead_k;        /* 6; 0 disables lookahead */
    double lookahead_alpha; /* 0.5 */
    double clip_base;       /* 2500 (fixup); <= 0 disables clipping */
    int symmetries;         /* 1: one random symmetry of 8 per batch; 0: identity */
    train_sample_t sample;
    /* SWA (algorithms.md §5.3, KataGo's swa_model): an exponential moving average of the
     * weights, snapshotted every swa_period_samples trained samples at the first step where the
     * lookahead weights are in sync: avg <- avg + (theta - avg) / swa_scale (the first snapshot
     * copies theta). The exported net is the average. */
    int swa;                    /* 1: keep the SWA average; 0: none (default) */
    int64_t swa_period_samples; /* KataGo -swa-period-samples; 80000 (the sync loop's) */
    double swa_scale;           /* KataGo -swa-scale (8); >= 1 */
} train_options_t;

/* KataGo's defaults for cfg (batch 128, 1 thread, lr 3e-5 x 1, warmup, lookahead 6/0.5, SWA off
 * with period 80000 and scale 8). */
void train_options_default(train_options_t *o, const train_config_t *cfg);

/* What one step did. Loss terms are sums over the batch rows (KataGo's *_sum). */
typedef struct train_stats_s {
    double loss[TRAIN_LOSS_COUNT];
    double loss_total;
    double weight_sum; /* sum of row weights (globalTargets 25) */
    double grad_norm;  /* before clipping */
    double lr;         /* per-sample lr of the trunk group this step */
    int clipped;
} train_stats_t;

typedef struct trainer_s trainer_t;

/* Builds a model (initialised from opts->seed) with workspaces for opts->batch rows. TG_EINVAL
 * with a message for bad options, TG_ENOMEM. */
int trainer_create(trainer_t **out, const train_options_t *opts, tg_err_t *err);
void trainer_destroy(trainer_t *t);

/* The trainer's model (params may be read or written between steps). */
train_model_t *trainer_model(trainer_t *t);
/* Steps and samples trained so far. */
int64_t trainer_steps(const trainer_t *t);
int64_t trainer_samples(const trainer_t *t);
/* Overrides the per-sample learning rate (e.g. from the command line after a resume). */
void trainer_set_lr(trainer_t *t, double lr_per_sample);

/* One optimizer step on a batch drawn from data[0..num_data) (all with pos_len = the trainer's;
 * TG_EINVAL otherwise). Fills stats if non-NULL. Cost: forward + backward of the batch. */
int trainer_step(trainer_t *t, const trainrows_t *const *data, int num_data, train_stats_t *stats,
                 tg_err_t *err);

/* Forward + backward only: fills model->grads with d(summed loss)/d(params) for the given rows
 * under symmetry sym (0..7), returns the loss terms; no update, counters unchanged. Used by
 * tests (gradient checks) and evaluation. rows has opts->batch entries or fewer (n). */
int trainer_compute_grads(trainer_t *t, const trainrows_t *data, const int *rows, int n, int sym,
                          train_stats_t *stats, tg_err_t *err);

/* Checkpoints (own format "TGCK", version 2): config, counters, RNG state, SWA counters,
 * params, momentum, lookahead slow weights, the SWA average when the trainer holds one, then a
 * CRC-32 of everything before it. Written atomically (temp, fsync, rename). Loading checks
 * magic, version, config and size, and the checksum; a load followed by steps continues
 * bit-identically to a run that never stopped (SWA included). Version 1 files (no SWA) still
 * load: the SWA average then starts afresh. trainer_load always loads a stored SWA average
 * (so an exporter sees it); a trainer whose options have swa off drops it at its next step,
 * since it would go stale, and then saves none. */
int trainer_save(const trainer_t *t, const char *path, tg_err_t *err);
int trainer_load(trainer_t *t, const char *path, tg_err_t *err);

/* SWA snapshots taken so far (0: the trainer holds no SWA average yet). */
int64_t trainer_swa_updates(const trainer_t *t);
/* The SWA average (num_params floats, the params layout), or NULL while it holds none. */
const float *trainer_swa_params(const trainer_t *t);

/* The net that export writes and in-process evaluation of a checkpoint uses: *view is a copy of
 * trainer_model(t) whose params point at the SWA average when use_swa is set and the trainer
 * holds one, else at the raw params (also before the first SWA snapshot: KataGo would export
 * the average's stale starting copy instead). The view borrows t's buffers; read it only, and
 * not after t changes or is destroyed. Returns 1 when the SWA weights were chosen, else 0. */
int trainer_model_for_export(const trainer_t *t, int use_swa, train_model_t *view);

#endif
