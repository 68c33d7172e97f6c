/* train_unpack.cu: packed training rows -> NHWC inputs and fp32 targets (see train_unpack.h).
 *
 * One block per row: the threads walk the destination points (one thread per point writes its
 * 22 input channels, its policy and ownership targets), then the score bins, then reduce the
 * mask sum. Memory-bound and tiny next to the net (a few MB per batch). */
#include "train_common.cuh"
#include "train_unpack.h"

template <typename T>
__global__ void
unpack_kernel(const uint8_t *__restrict__ bits, int packed_len, const int16_t *__restrict__ policy,
              const int8_t *__restrict__ score, const int8_t *__restrict__ owner, int hw,
              int score_len, const int *__restrict__ perm, T *spatial, float *mask, float *mask_sum,
              float *policy_out, float *score_out, float *owner_out) {
    const int s = blockIdx.x;
    const uint8_t *b = bits + (size_t)s * TG_CUDA_TRAIN_PLANES * packed_len;
    const int16_t *pol = policy + (size_t)s * 2 * (hw + 1);
    float *po = policy_out + (size_t)s * 2 * (hw + 1);
    double msum = 0.0;
    for (int p = threadIdx.x; p < hw; p += blockDim.x) {
        const int q = perm[p];
        const int byte = q >> 3, bit = 7 - (q & 7);
        T *x = spatial + ((size_t)s * hw + p) * TG_CUDA_TRAIN_PLANES;
        for (int c = 0; c < TG_CUDA_TRAIN_PLANES; c++)
            tgk_store(x, c, (float)((b[(size_t)c * packed_len + byte] >> bit) & 1));
        const float m = (float)((b[byte] >> bit) & 1);
        mask[(size_t)s * hw + p] = m;
        msum += m;
        po[p] = (float)pol[q];
        po[(hw + 1) + p] = (float)pol[(hw + 1) + q];
        owner_out[(size_t)s * hw + p] = (float)owner[(size_t)s * hw + q];
    }
    if (threadIdx.x == 0) {
        po[hw] = (float)pol[hw];
        po[(hw + 1) + hw] = (float)pol[(hw + 1) + hw];
    }
    for (int i = threadIdx.x; i < score_len; i += blockDim.x)
        score_out[(size_t)s * score_len + i] = (float)score[(size_t)s * score_len + i];
    msum = tgt_block_sum(msum);
    if (threadIdx.x == 0) mask_sum[s] = msum > 0.0 ? (float)msum : 1.0f;
}

extern "C" cudaError_t tg_cuda_train_unpack(const uint8_t *bits, int packed_len,
                                            const int16_t *policy, const int8_t *score,
                                            const int8_t *owner, int n, int len, int score_len,
                                            const int *perm, void *spatial, int dtype, float *mask,
                                            float *mask_sum, float *policy_out, float *score_out,
                                            float *owner_out, cudaStream_t stream) {
    const int hw = len * len;
    TGT_DISPATCH(dtype, unpack_kernel<T><<<(unsigned)n, TGT_BLOCK, 0, stream>>>(
                            bits, packed_len, policy, score, owner, hw, score_len, perm,
                            (T *)spatial, mask, mask_sum, policy_out, score_out, owner_out));
    return cudaGetLastError();
}
