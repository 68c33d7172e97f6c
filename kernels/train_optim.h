/* train_optim.h: the optimizer on the device (train_optim.cu): gradient norm, SGD with
 * momentum, weight decay, clipping and loss-scale handling, and lookahead.
 *
 * CPU twin: optimizer_update in src/train/trainer.c. Nothing here syncs with the host: the
 * norm, the clip factor and the "skip this step" decision (a non-finite gradient under fp16
 * loss scaling) stay on the device; the host reads them back with the step's stats. */
#ifndef TENGEN_KERNELS_TRAIN_OPTIM_H
#define TENGEN_KERNELS_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_CUDA_TRAIN_GROUPS     4    /* train_group_t */
#define TG_CUDA_TRAIN_SUMSQ_PART 1024 /* partial sums of tg_cuda_train_sumsq (scratch doubles) */

/* One SGD step's settings (per weight-decay group, as trainer.c computes them). */
typedef struct tg_cuda_sgd_args_s {
    float lr[TG_CUDA_TRAIN_GROUPS]; /* per-sample lr x group factor (/ lookahead alpha) */
    float wd[TG_CUDA_TRAIN_GROUPS]; /* weight decay */
    float momentum;
    float inv_scale; /* 1 / loss scale: grads in the buffer are scaled by the loss scale */
    double clip_cap; /* clip the (unscaled) global norm to this; <= 0: no clipping */
} tg_cuda_sgd_args_t;

/* sumsq[0] = sum of g[i]^2 over count floats (fp64; deterministic two-pass reduction; NaN/inf
 * propagate). partial: TG_CUDA_TRAIN_SUMSQ_PART doubles of scratch. */
cudaError_t tg_cuda_train_sumsq(const float *g, size_t count, double *partial, double *sumsq,
                                cudaStream_t stream);

/* norm = sqrt(sumsq[0]) * inv_scale. When norm is not finite, sets *skipped = 1 and changes
 * nothing; else *skipped = 0 and, with gs = norm > clip_cap > 0 ? clip_cap / norm : 1 and
 * the group of each parameter from group (count bytes):
 *   v = momentum * v + (g * inv_scale * gs + wd * p);  p -= lr * v. */
cudaError_t tg_cuda_train_sgd(float *params, const float *grads, float *mom, const uint8_t *group,
                              size_t count, const tg_cuda_sgd_args_t *args, const double *sumsq,
                              int *skipped, cudaStream_t stream);

/* Lookahead sync unless *skipped: slow += alpha * (p - slow); p = slow. */
cudaError_t tg_cuda_train_lookahead(float *params, float *slow, size_t count, float alpha,
                                    const int *skipped, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
