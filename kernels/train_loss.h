/* train_loss.h: KataGo's training loss on the device, and the score-belief head's mixture
 * (train_loss.cu).
 *
 * CPU twins: train__loss_sample (src/train/loss.c) for the loss, the score-belief parts of
 * net_forward / net_backward (src/train/net.c) for the rest. The loss kernel runs one block per
 * sample in fp64, like the CPU code, and writes each sample's loss terms separately so the host
 * can sum them in sample order (deterministic stats). Launchers take a stream and return
 * cudaGetLastError(). */
#ifndef TENGEN_KERNELS_TRAIN_LOSS_H
#define TENGEN_KERNELS_TRAIN_LOSS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loss terms, in the order of train_loss_t (src/train/train.h; train_cuda.c checks it). */
#define TG_CUDA_TRAIN_LOSS_TERMS 17
#define TG_CUDA_TRAIN_MAX_HW     361 /* 19 x 19 */
#define TG_CUDA_TRAIN_MAX_SCORE  (2 * 361 + 120)

/* The raw head outputs of a batch (or their gradients), fp32, sample-major. */
typedef struct tg_cuda_train_heads_s {
    float *policy;     /* (n, hw, 6) */
    float *pass;       /* (n, 6) */
    float *value;      /* (n, 3) */
    float *misc;       /* (n, 10) */
    float *moremisc;   /* (n, 8) */
    float *own;        /* (n, hw) pretanh, already masked */
    float *score_logp; /* (n, score_len) */
} tg_cuda_train_heads_t;

/* Per sample s: loss[s * TERMS + k] = term k of train__loss_sample (overwritten) and grad =
 * grad_scale * d(loss)/d(outputs) (overwritten). Targets: mask (n, hw), mask_sum (n),
 * policy (n, 2, hw+1), gtargets (n, 80), score (n, score_len) percent, owner (n, hw).
 * exact_grad as train__loss_sample. hw <= TG_CUDA_TRAIN_MAX_HW. */
cudaError_t tg_cuda_train_loss(const tg_cuda_train_heads_t *out, const tg_cuda_train_heads_t *grad,
                               int n, int hw, int score_len, const float *mask,
                               const float *mask_sum, const float *policy, const float *gtargets,
                               const float *score, const float *owner, int exact_grad,
                               float grad_scale, double *loss, cudaStream_t stream);

/* U (n, S, SB) = relu(S2[s] + offset(b) * woff + parity(b) * global[s][18] * wpar). */
cudaError_t tg_cuda_train_score_u(const float *s2, const float *global, const float *woff,
                                  const float *wpar, int n, int score_len, int sb, float *u,
                                  cudaStream_t stream);

/* Backward of score_u given dU already masked by relu': dS2 (n, SB) overwritten, gwoff and
 * gwpar (SB) accumulated. */
cudaError_t tg_cuda_train_score_u_bwd(const float *du, const float *global, int n, int score_len,
                                      int sb, float *ds2, float *gwoff, float *gwpar,
                                      cudaStream_t stream);

/* Mixture of K score distributions: lw (n, K) = log_softmax(mix); lsz (n, S, K) = log_softmax
 * over bins of z per component; logp (n, S) = logsumexp_k(lsz + lw). K <= 64. */
cudaError_t tg_cuda_train_score_mix_fwd(const float *z, const float *mix, int n, int score_len,
                                        int k, float *lsz, float *lw, float *logp,
                                        cudaStream_t stream);

/* Backward of score_mix_fwd given glogp (n, S): dz (n, S, K) and dmix (n, K) overwritten. */
cudaError_t tg_cuda_train_score_mix_bwd(const float *glogp, const float *lsz, const float *lw,
                                        const float *logp, int n, int score_len, int k, float *dz,
                                        float *dmix, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
