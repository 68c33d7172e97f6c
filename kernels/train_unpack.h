/* train_unpack.h: a training batch unpacked on the device (train_unpack.cu).
 *
 * The host gathers the chosen rows in their packed KataGo form (bits, int16, int8: ~3 KB per
 * 19x19 row instead of ~45 KB of floats) and uploads them; this kernel expands them into the
 * net's inputs and targets under one of the 8 board symmetries. CPU twin: batch_put_row in
 * src/train/trainer.c (trainrows_get_inputs + tg_nn_symmetry_apply + the float copies). */
#ifndef TENGEN_KERNELS_TRAIN_UNPACK_H
#define TENGEN_KERNELS_TRAIN_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_CUDA_TRAIN_PLANES 22 /* binary input planes */

/* For each of n rows, with hw = len*len and src = perm[p] the source point of destination
 * point p (the symmetry as a table, (hw) ints):
 *   bits (n, 22, packed_len) MSB-first planes -> spatial (n, hw, 22) storage type (dtype as
 *     train_ops.h), mask (n, hw) = plane 0, mask_sum (n) = its sum, or 1 when 0;
 *   policy (n, 2, hw+1) int16 -> policy_out fp32, board points permuted, pass kept;
 *   score (n, score_len) int8 -> score_out fp32; owner (n, hw) int8 -> owner_out fp32,
 *     permuted. */
cudaError_t tg_cuda_train_unpack(const uint8_t *bits, int packed_len, const int16_t *policy,
                                 const int8_t *score, const int8_t *owner, int n, int len,
                                 int score_len, const int *perm, void *spatial, int dtype,
                                 float *mask, float *mask_sum, float *policy_out, float *score_out,
                                 float *owner_out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
