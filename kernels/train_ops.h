/* train_ops.h: elementwise, reduction and layout kernels of the CUDA trainer's forward and
 * backward passes (train_ops.cu).
 *
 * Activations are NHWC rows (rows = n * L*L, c channels) in a storage type chosen per trainer
 * (`dtype`: TG_CUDA_TRAIN_FP32, _FP16 or _BF16); every kernel computes in fp32 and rounds once
 * at the store. Vectors (pooled features, linear layers) and every parameter or gradient are
 * fp32. Reductions into parameter gradients (dbeta, dgamma, bias sums) ADD into the caller's
 * fp32 buffer with atomics (order-dependent only in the last bits). CPU twins: the
 * train__* functions of src/train/train_internal.h and the small helpers of src/train/net.c,
 * named at each launcher. Launchers take a stream and return cudaGetLastError(). */
#ifndef TENGEN_KERNELS_TRAIN_OPS_H
#define TENGEN_KERNELS_TRAIN_OPS_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#define TG_CUDA_TRAIN_FP32 0
#define TG_CUDA_TRAIN_FP16 1
#define TG_CUDA_TRAIN_BF16 2

#ifdef __cplusplus
extern "C" {
#endif

/* out (rows, c) = relu(in * (1 + gamma) + beta) * mask[r]  (train__normact_fwd); gamma may be
 * NULL. in != out. */
cudaError_t tg_cuda_train_normact_fwd(const void *in, void *out, int dtype, size_t rows, int c,
                                      const float *gamma, const float *beta, const float *mask,
                                      cudaStream_t stream);

/* Backward of normact_fwd (train__normact_bwd): d = out > 0 ? dout : 0; dbeta[k] += sum d,
 * dgamma[k] += sum d * in (when gamma); din = d * (1 + gamma) (added when din_accumulate).
 * dout and din may alias when !din_accumulate. */
cudaError_t tg_cuda_train_normact_bwd(const void *in, const void *out, const void *dout, void *din,
                                      int dtype, size_t rows, int c, const float *gamma,
                                      float *dgamma, float *dbeta, int din_accumulate,
                                      cudaStream_t stream);

/* x (n, hw, c) += v (n, c) (row stride ldv) broadcast over points (net.c add_bcast). */
cudaError_t tg_cuda_train_add_bcast(void *x, int dtype, int n, int hw, int c, const float *v,
                                    int ldv, cudaStream_t stream);

/* v (n, c) = sum over points of x (n, hw, c) (net.c sum_points), overwritten. */
cudaError_t tg_cuda_train_sum_points(const void *x, int dtype, int n, int hw, int c, float *v,
                                     cudaStream_t stream);

/* out[k] += sum over n rows of x (n, c) fp32 with row stride ldx (bias gradients). */
cudaError_t tg_cuda_train_col_sum(const float *x, size_t n, int c, int ldx, float *out,
                                  cudaStream_t stream);

/* KataGo gpool per sample (train__gpool_fwd): out (n, 3c) = [mean, mean*(sqrtN-14)/10, max
 * over on-board points]; argmax (n, c) = first point holding the max. */
cudaError_t tg_cuda_train_gpool_fwd(const void *in, int dtype, int n, int hw, int c,
                                    const float *mask, const float *mask_sum, float *out,
                                    int *argmax, cudaStream_t stream);

/* din (n, hw, c) = gradient of gpool given dout (n, 3c) (train__gpool_bwd into a zeroed
 * buffer): overwritten. */
cudaError_t tg_cuda_train_gpool_bwd(const float *dout, const float *mask, const float *mask_sum,
                                    const int *argmax, int n, int hw, int c, void *din, int dtype,
                                    cudaStream_t stream);

/* KataGo value-head pool per sample (train__vpool_fwd): out (n, 3c) = mean * [1,
 * (sqrtN-14)/10, (sqrtN-14)^2/100 - 0.1], the mean over all points (inputs are masked). */
cudaError_t tg_cuda_train_vpool_fwd(const void *in, int dtype, int n, int hw, int c,
                                    const float *mask_sum, float *out, cudaStream_t stream);

/* din (n, hw, c) += gradient of the value-head pool given dout (n, 3c) (train__vpool_bwd). */
cudaError_t tg_cuda_train_vpool_bwd(const float *dout, const float *mask, const float *mask_sum,
                                    int n, int hw, int c, void *din, int dtype,
                                    cudaStream_t stream);

/* dy[i] = y[i] > 0 ? dy[i] : 0 over count fp32 values (net.c relu_bwd_inplace). */
cudaError_t tg_cuda_train_relu_bwd(const float *y, float *dy, size_t count, cudaStream_t stream);

/* out (rows, c) fp32 = in (storage type) * (mask ? mask[r] : 1). */
cudaError_t tg_cuda_train_to_float(const void *in, int dtype, size_t rows, int c, const float *mask,
                                   float *out, cudaStream_t stream);

/* out (rows, c) storage type = in (fp32) * (mask ? mask[r] : 1). */
cudaError_t tg_cuda_train_from_float(const float *in, size_t rows, int c, const float *mask,
                                     void *out, int dtype, cudaStream_t stream);

/* Conv weights (kk, ic, oc) fp32 (train.h's layout) -> (oc, kk, ic) storage type (cuDNN's
 * NHWC/KRSC filter layout). */
cudaError_t tg_cuda_train_w_to_krsc(const float *w, int kk, int ic, int oc, void *out, int dtype,
                                    cudaStream_t stream);

/* grad (kk, ic, oc) fp32 += dw (oc, kk, ic) storage type: a cuDNN filter gradient back in
 * train.h's layout. */
cudaError_t tg_cuda_train_dw_from_krsc(const void *dw, int dtype, int kk, int ic, int oc,
                                       float *grad, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
