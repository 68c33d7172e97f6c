/* pack.h: layout and precision changes at the edges of the CUDA forward pass (pack.cu).
 *
 * The caller's inputs are NCHW fp32 (nn.h); the GPU net runs NHWC in its storage type (fp32
 * or fp16, `fp16` = 1 for fp16), which is what cuDNN's tensor-core kernels want. The outputs
 * go back to NCHW fp32. Every launcher takes a stream, launches asynchronously and returns
 * cudaGetLastError() (cudaSuccess when the launch was accepted). CPU twins: the input loop at
 * the top of nn_cpu.c's forward_worker and the policy copy at its end. */
#ifndef TENGEN_KERNELS_PACK_H
#define TENGEN_KERNELS_PACK_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* spatial (n, cin, hw) fp32 -> x (n, hw, cin) storage type; mask (n*hw) = channel 0;
 * mask_sum (n) = sum of the mask per sample, or 1 when that sum is 0 (pools to 0, not NaN). */
cudaError_t tg_cuda_pack_inputs(const float *spatial, int n, int cin, int hw, void *x, int fp16,
                                float *mask, float *mask_sum, cudaStream_t stream);

/* in (n, hw, c) storage type -> out (n, c, hw) fp32. */
cudaError_t tg_cuda_unpack_nhwc(const void *in, int fp16, int n, int hw, int c, float *out,
                                cudaStream_t stream);

/* out[i] = (half) in[i] for count floats (round to nearest). */
cudaError_t tg_cuda_convert_to_half(const float *in, void *out, size_t count, cudaStream_t stream);

/* out[i] = (float) in[i] for count storage-type values (fp16 = 1: fp16, else a copy). */
cudaError_t tg_cuda_convert_to_float(const void *in, int fp16, float *out, size_t count,
                                     cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
