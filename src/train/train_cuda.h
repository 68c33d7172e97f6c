/* train_cuda.h: the CUDA trainer: the CPU trainer's step (train.h) with forward, losses,
 * backward and the optimizer on one GPU.
 *
 * Overview
 *   train_cuda_options_default(&co)               device 0, fp32, double-buffered batches
 *   trainer_cuda_create(&t, &opts, &co, err)      same train_options_t as trainer_create
 *   trainer_cuda_step(t, data, n, &stats, err)    one SGD step; same stats as trainer_step
 *   trainer_cuda_save / trainer_cuda_load         the CPU trainer's checkpoint format (TGCK)
 *
 * Same model, same bits on disk. The trainer keeps a host train_model_t (train.h) with the
 * SAME parameter buffer layout; the device holds params, grads, momentum and the lookahead
 * slow weights as single buffers of that layout, so a checkpoint written here loads into
 * the CPU trainer (and back), and src/export reads trainer_cuda_model()'s params unchanged.
 * A step draws its rows and symmetry from the same RNG stream as trainer_step: with the same
 * options and data, the CPU and CUDA trainers train on identical batches. SWA (opts->swa) is
 * trainer.c's bookkeeping with the average on the host: a snapshot downloads the params (once
 * per swa_period_samples), and checkpoints carry it as the CPU trainer's do.
 *
 * Data path. trainer_cuda_step gathers the chosen rows in their packed form (bit planes,
 * int16 policy, int8 score/ownership: ~3 KB per 19x19 row) into one of two pinned staging
 * buffers and uploads it on a copy stream; a kernel unpacks it (bits -> NHWC inputs, the
 * symmetry, targets to fp32). With prefetch on, while step k runs on the GPU the host already
 * gathers and uploads step k+1's rows (same RNG draws as without prefetch; if the next call
 * passes different data, the prefetched batch is dropped and the RNG rewound).
 *
 * Precision. fp32: fp32 everywhere (TF32 off unless co.tf32), matches the CPU trainer to
 * float rounding. fp16 / bf16 ("mixed"): activations, their gradients and the conv filters in
 * 16 bits with fp32 accumulation in cuDNN; vectors, heads' matmuls, the loss (fp64 inside),
 * master weights, grads and the optimizer stay fp32. fp16 uses dynamic loss scaling: a step
 * whose gradient is not finite is skipped (no update, counters unchanged) and halves the
 * scale; loss_scale_window good steps in a row double it.
 *
 * Without CUDA compiled in, every function exists; trainer_cuda_create fails with
 * TG_EUNSUPPORTED "CUDA trainer not built".
 *
 * Threads: a trainer belongs to one thread at a time. Host allocations happen only in
 * create; a step allocates nothing (cuDNN may allocate inside its first use of a shape). */
#ifndef TENGEN_TRAIN_TRAIN_CUDA_H
#define TENGEN_TRAIN_TRAIN_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "train/train.h"

typedef enum train_cuda_precision_e {
    TRAIN_CUDA_FP32 = 0,
    TRAIN_CUDA_FP16 = 1, /* == TG_CUDA_TRAIN_FP16 (kernels/train_ops.h) */
    TRAIN_CUDA_BF16 = 2,
} train_cuda_precision_t;

typedef struct train_cuda_options_s {
    int device;                       /* CUDA device ordinal */
    train_cuda_precision_t precision; /* storage type of activations and conv filters */
    int tf32;                         /* fp32 only: allow TF32 tensor cores (faster, ~1e-3) */
    double loss_scale;                /* fp16: initial loss scale (8192) per sample (the
                                         summed loss's gradients are scaled by it / batch);
                                         fp32/bf16 use 1 */
    int loss_scale_window;            /* fp16: good steps before the scale doubles (1000) */
    size_t workspace_bytes;           /* cuDNN workspace (256 MiB) */
    int prefetch;                     /* 1: gather/upload batch k+1 while step k runs */
} train_cuda_options_t;

/* Defaults above; TENGEN_CUDA_DEVICE and TENGEN_CUDA_WORKSPACE_MB as in nn_cuda.h. */
void train_cuda_options_default(train_cuda_options_t *o);

/* 1 when the CUDA trainer was compiled in. */
int train_cuda_built(void);

/* "fp32" | "fp16" | "bf16" (also "mixed" = fp16). TG_EINVAL otherwise. */
int train_cuda_precision_parse(const char *name, train_cuda_precision_t *out);
const char *train_cuda_precision_name(train_cuda_precision_t p);

typedef struct trainer_cuda_s trainer_cuda_t;

/* Builds the model from opts->seed exactly as trainer_create does, uploads it and sizes every
 * device buffer for opts->batch rows at opts->pos_len (opts->threads is ignored). TG_EINVAL
 * (bad options, pos_len > 19), TG_EUNSUPPORTED (not built, no device), TG_ENOMEM, or
 * TG_EINTERNAL (a CUDA/cuDNN/cuBLAS error, named in err). Slow. */
int trainer_cuda_create(trainer_cuda_t **out, const train_options_t *opts,
                        const train_cuda_options_t *co, tg_err_t *err);
void trainer_cuda_destroy(trainer_cuda_t *t);

/* The host model with params and momentum copied back from the device (blocking; O(params)).
 * To change params, write them here and call trainer_cuda_upload_params. */
train_model_t *trainer_cuda_model(trainer_cuda_t *t);
/* Sends the host model's params (and momentum) to the device; the lookahead slow weights are
 * reset to the params. */
int trainer_cuda_upload_params(trainer_cuda_t *t, tg_err_t *err);

int64_t trainer_cuda_steps(const trainer_cuda_t *t);
int64_t trainer_cuda_samples(const trainer_cuda_t *t);
/* Steps skipped for a non-finite gradient (fp16 loss scaling), and the current loss scale. */
int64_t trainer_cuda_skipped_steps(const trainer_cuda_t *t);
double trainer_cuda_loss_scale(const trainer_cuda_t *t);
void trainer_cuda_set_lr(trainer_cuda_t *t, double lr_per_sample);

/* As trainer_step (train.h): one optimizer step on a batch drawn from data. Blocks until the
 * step is done (stats need the losses), leaving the next batch uploading when prefetch is on. */
int trainer_cuda_step(trainer_cuda_t *t, const trainrows_t *const *data, int num_data,
                      train_stats_t *stats, tg_err_t *err);

/* As trainer_compute_grads: forward + backward of the given rows under symmetry sym; fills the
 * host model's grads (unscaled) and stats; no update. */
int trainer_cuda_compute_grads(trainer_cuda_t *t, const trainrows_t *data, const int *rows, int n,
                               int sym, train_stats_t *stats, tg_err_t *err);

/* Checkpoints in the CPU trainer's format (trainer_save / trainer_load). */
int trainer_cuda_save(trainer_cuda_t *t, const char *path, tg_err_t *err);
int trainer_cuda_load(trainer_cuda_t *t, const char *path, tg_err_t *err);

/* Tests only: exact loss gradients (train__loss_sample's exact_grad). */
void trainer_cuda__set_exact_grad(trainer_cuda_t *t, int exact);

#endif
