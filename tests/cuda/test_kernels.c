/* test_kernels.c: every kernel of kernels/ against its CPU twin (src/nn ops) on random inputs,
 * in fp32 and fp16 storage, with magnitude-scaled tolerances (atol + rtol * |cpu|):
 *   pack_inputs vs the NCHW->NHWC loop of nn_cpu.c (exact in fp32), unpack_nhwc (exact),
 *   bn_act vs nn__bn_act_rows (+ the per-sample bias loop) for every activation kind,
 *   vec_bias_act vs nn__act_vec, global_pool vs nn__gpool_sample / nn__vpool_sample,
 *   fp16 conversion round trip (relative error <= 2^-11).
 * fp32 tolerances: 1e-6 + 1e-5|x| (device expf/tanhf may differ from glibc's by a few ulp;
 * sums run in another order). fp16: the CPU twin gets the same fp16-rounded inputs, and only
 * the output rounding differs: 1e-3 + 2^-10 |x|. Skips (77) without a CUDA device. */
#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include <cuda_runtime_api.h>

#include "bnact.h"
#include "cuda_test.h"
#include "gpool.h"
#include "nn/ops_cpu.h"
#include "pack.h"
#include "util/rng.h"

#define FP32_ATOL 1e-6
#define FP32_RTOL 1e-5
#define FP16_ATOL 1e-3
#define FP16_RTOL (1.0 / 1024.0)

static tg_rng_t g_rng;

static void fill_uniform(float *x, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * tg_rng_uniform(&g_rng));
}

/* Device copy of a host array (fp32), or in fp16 when fp16 = 1; rounded receives the values
 * as the device holds them (fp16-rounded), for the CPU twin. NULL on failure. */
static void *dev_from_host(const float *h, size_t n, int fp16, float *rounded) {
    void *d = NULL, *tmp = NULL;
    if (cudaMalloc(&tmp, n * sizeof(float)) != cudaSuccess) return NULL;
    cudaMemcpy(tmp, h, n * sizeof(float), cudaMemcpyHostToDevice);
    if (!fp16) {
        if (rounded) memcpy(rounded, h, n * sizeof(float));
        return tmp;
    }
    if (cudaMalloc(&d, n * 2) != cudaSuccess) return NULL;
    tg_cuda_convert_to_half(tmp, d, n, 0);
    if (rounded) {
        tg_cuda_convert_to_float(d, 1, tmp, n, 0);
        cudaMemcpy(rounded, tmp, n * sizeof(float), cudaMemcpyDeviceToHost);
    }
    cudaFree(tmp);
    return d;
}

/* Host fp32 copy of n device values of the storage type. */
static int host_from_dev(float *h, const void *d, size_t n, int fp16) {
    float *tmp = NULL;
    if (cudaMalloc((void **)&tmp, n * sizeof(float)) != cudaSuccess) return -1;
    cudaError_t e = tg_cuda_convert_to_float(d, fp16, tmp, n, 0);
    if (e == cudaSuccess) e = cudaMemcpy(h, tmp, n * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(tmp);
    return e == cudaSuccess ? 0 : -1;
}

/* n samples of (cin, len, len): sample s has a b_s x b_s board top-left (b = len, len - 2, 0),
 * channel 0 the mask, the rest random 0/1 planes (zero off board). */
static void random_spatial(float *sp, int n, int cin, int len) {
    const int hw = len * len;
    for (int s = 0; s < n; s++) {
        int b = s % 3 == 0 ? len : s % 3 == 1 ? len - 2 : 0;
        for (int ch = 0; ch < cin; ch++)
            for (int p = 0; p < hw; p++) {
                int on = p / len < b && p % len < b;
                float v = ch == 0 ? 1.0f : tg_rng_below(&g_rng, 3) == 0 ? 1.0f : 0.0f;
                sp[((size_t)s * cin + ch) * hw + p] = on ? v : 0.0f;
            }
    }
}

TEST(pack_inputs) {
    enum { N = 4, CIN = 22, LEN = 7, HW = LEN * LEN };
    static float sp[N * CIN * HW], x[N * HW * CIN], want_x[N * HW * CIN];
    static float mask[N * HW], want_mask[N * HW], msum[N], want_msum[N];
    random_spatial(sp, N, CIN, LEN);
    for (int s = 0; s < N; s++) {
        float sum = 0;
        for (int p = 0; p < HW; p++) {
            for (int ch = 0; ch < CIN; ch++)
                want_x[((size_t)s * HW + p) * CIN + ch] = sp[((size_t)s * CIN + ch) * HW + p];
            want_mask[s * HW + p] = sp[(size_t)s * CIN * HW + p];
            sum += want_mask[s * HW + p];
        }
        want_msum[s] = sum > 0 ? sum : 1.0f;
    }
    for (int fp16 = 0; fp16 <= 1; fp16++) {
        float *d_sp = dev_from_host(sp, TG_ARRAY_LEN(sp), 0, NULL);
        void *d_x = NULL;
        float *d_mask = NULL, *d_msum = NULL;
        ASSERT_TRUE(d_sp != NULL);
        ASSERT_EQ(cudaMalloc(&d_x, sizeof x), cudaSuccess);
        ASSERT_EQ(cudaMalloc((void **)&d_mask, sizeof mask), cudaSuccess);
        ASSERT_EQ(cudaMalloc((void **)&d_msum, sizeof msum), cudaSuccess);
        ASSERT_EQ(tg_cuda_pack_inputs(d_sp, N, CIN, HW, d_x, fp16, d_mask, d_msum, 0), cudaSuccess);
        ASSERT_EQ(host_from_dev(x, d_x, TG_ARRAY_LEN(x), fp16), 0);
        ASSERT_EQ(cudaMemcpy(mask, d_mask, sizeof mask, cudaMemcpyDeviceToHost), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(msum, d_msum, sizeof msum, cudaMemcpyDeviceToHost), cudaSuccess);
        /* 0 and 1 are exact in fp16 too. */
        ASSERT_CLOSE(x, want_x, TG_ARRAY_LEN(x), 0.0, 0.0);
        ASSERT_CLOSE(mask, want_mask, TG_ARRAY_LEN(mask), 0.0, 0.0);
        ASSERT_CLOSE(msum, want_msum, (size_t)N, 0.0, 0.0);
        ASSERT_EQ(msum[2], 1.0f); /* the empty board pools over N = 1 */
        cudaFree(d_sp);
        cudaFree(d_x);
        cudaFree(d_mask);
        cudaFree(d_msum);
    }
}

TEST(unpack_nhwc) {
    enum { N = 3, HW = 25, C = 3 };
    static float in[N * HW * C], rin[N * HW * C], out[N * C * HW], want[N * C * HW];
    fill_uniform(in, TG_ARRAY_LEN(in), -8, 8);
    for (int fp16 = 0; fp16 <= 1; fp16++) {
        void *d_in = dev_from_host(in, TG_ARRAY_LEN(in), fp16, rin);
        float *d_out = NULL;
        ASSERT_TRUE(d_in != NULL);
        ASSERT_EQ(cudaMalloc((void **)&d_out, sizeof out), cudaSuccess);
        for (int s = 0; s < N; s++)
            for (int p = 0; p < HW; p++)
                for (int k = 0; k < C; k++)
                    want[(s * C + k) * HW + p] = rin[(s * HW + p) * C + k];
        ASSERT_EQ(tg_cuda_unpack_nhwc(d_in, fp16, N, HW, C, d_out, 0), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(out, d_out, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
        ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), 0.0, 0.0);
        cudaFree(d_in);
        cudaFree(d_out);
    }
}

TEST(bn_act) {
    enum { N = 3, LEN = 7, HW = LEN * LEN, C = 40, ROWS = N * HW, SB = 48 };
    static float in[ROWS * C], rin[ROWS * C], out[ROWS * C], want[ROWS * C], tmp[ROWS * C];
    static float scale[C], bias[C], sbias[N * SB], mask[ROWS];
    fill_uniform(in, TG_ARRAY_LEN(in), -4, 4);
    fill_uniform(scale, C, 0.2, 2.0);
    fill_uniform(bias, C, -1, 1);
    fill_uniform(sbias, TG_ARRAY_LEN(sbias), -1, 1);
    for (int r = 0; r < ROWS; r++)
        mask[r] = (r % HW) % LEN < LEN - 2 ? 1.0f : 0.0f;
    tg_bn_t bn = {.c = C, .merged_scale = scale, .merged_bias = bias};
    float *d_scale = dev_from_host(scale, C, 0, NULL), *d_bias = dev_from_host(bias, C, 0, NULL);
    float *d_sb = dev_from_host(sbias, TG_ARRAY_LEN(sbias), 0, NULL);
    float *d_mask = dev_from_host(mask, ROWS, 0, NULL);
    ASSERT_TRUE(d_scale && d_bias && d_sb && d_mask);
    for (int fp16 = 0; fp16 <= 1; fp16++) {
        for (int act = TG_ACT_IDENTITY; act <= TG_ACT_SILU; act++) {
            for (int use_sb = 0; use_sb <= 1; use_sb++) {
                void *d_in = dev_from_host(in, TG_ARRAY_LEN(in), fp16, rin);
                ASSERT_TRUE(d_in != NULL);
                /* CPU twin: per-sample bias loop of nn_cpu.c, then nn__bn_act_rows. */
                for (int r = 0; r < ROWS; r++)
                    for (int k = 0; k < C; k++)
                        tmp[r * C + k] = rin[r * C + k] + (use_sb ? sbias[(r / HW) * SB + k] : 0);
                nn__bn_act_rows(&bn, (tg_act_kind_t)act, tmp, want, mask, 0, ROWS);
                /* In place on the device, as the forward pass uses it. */
                ASSERT_EQ(tg_cuda_bn_act(d_in, d_in, fp16, ROWS, C, HW, use_sb ? d_sb : NULL, SB,
                                         d_scale, d_bias, act, d_mask, 0),
                          cudaSuccess);
                ASSERT_EQ(host_from_dev(out, d_in, TG_ARRAY_LEN(out), fp16), 0);
                if (fp16)
                    ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), FP16_ATOL, FP16_RTOL);
                else
                    ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), FP32_ATOL, FP32_RTOL);
                cudaFree(d_in);
            }
        }
        /* No scale, bias or mask: only the per-sample bias (the trunk's global input). */
        void *d_in = dev_from_host(in, TG_ARRAY_LEN(in), fp16, rin);
        ASSERT_TRUE(d_in != NULL);
        for (int r = 0; r < ROWS; r++)
            for (int k = 0; k < C; k++)
                want[r * C + k] = rin[r * C + k] + sbias[(r / HW) * SB + k];
        ASSERT_EQ(tg_cuda_bn_act(d_in, d_in, fp16, ROWS, C, HW, d_sb, SB, NULL, NULL,
                                 TG_ACT_IDENTITY, NULL, 0),
                  cudaSuccess);
        ASSERT_EQ(host_from_dev(out, d_in, TG_ARRAY_LEN(out), fp16), 0);
        ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), fp16 ? FP16_ATOL : FP32_ATOL,
                     fp16 ? FP16_RTOL : FP32_RTOL);
        cudaFree(d_in);
    }
    cudaFree(d_scale);
    cudaFree(d_bias);
    cudaFree(d_sb);
    cudaFree(d_mask);
}

TEST(vec_bias_act) {
    enum { N = 5, C = 37, LD = 40 };
    static float x[N * LD], out[N * LD], want[N * LD], bias[C];
    fill_uniform(x, TG_ARRAY_LEN(x), -30, 30); /* mish's x > 20 branch included */
    fill_uniform(bias, C, -1, 1);
    float *d_bias = dev_from_host(bias, C, 0, NULL);
    ASSERT_TRUE(d_bias != NULL);
    for (int act = TG_ACT_IDENTITY; act <= TG_ACT_SILU; act++) {
        float *d_x = dev_from_host(x, TG_ARRAY_LEN(x), 0, NULL);
        ASSERT_TRUE(d_x != NULL);
        memcpy(want, x, sizeof want);
        for (int s = 0; s < N; s++) {
            for (int k = 0; k < C; k++)
                want[s * LD + k] += bias[k];
            nn__act_vec((tg_act_kind_t)act, want + s * LD, C);
        }
        ASSERT_EQ(tg_cuda_vec_bias_act(d_x, N, C, LD, d_bias, act, 0), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(out, d_x, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
        ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), FP32_ATOL, FP32_RTOL);
        cudaFree(d_x);
    }
    cudaFree(d_bias);
}

TEST(global_pool) {
    enum { N = 3, LEN = 9, HW = LEN * LEN, C = 70, LD = 224 };
    static float in[N * HW * C], rin[N * HW * C], mask[N * HW], msum[N];
    static float out[N * LD], want[N * LD];
    fill_uniform(in, TG_ARRAY_LEN(in), -3, 3);
    /* Boards 9, 7 and 5 in the 9x9 tensor; inputs masked as the forward pass leaves them. */
    for (int s = 0; s < N; s++) {
        int b = LEN - 2 * s;
        msum[s] = (float)(b * b);
        for (int p = 0; p < HW; p++) {
            mask[s * HW + p] = (p / LEN < b && p % LEN < b) ? 1.0f : 0.0f;
            for (int k = 0; k < C; k++)
                in[((size_t)s * HW + p) * C + k] *= mask[s * HW + p];
        }
    }
    float *d_mask = dev_from_host(mask, TG_ARRAY_LEN(mask), 0, NULL);
    float *d_msum = dev_from_host(msum, N, 0, NULL);
    float *d_out = NULL;
    ASSERT_TRUE(d_mask && d_msum);
    ASSERT_EQ(cudaMalloc((void **)&d_out, sizeof out), cudaSuccess);
    for (int fp16 = 0; fp16 <= 1; fp16++) {
        void *d_in = dev_from_host(in, TG_ARRAY_LEN(in), fp16, rin);
        ASSERT_TRUE(d_in != NULL);
        for (int kind = TG_CUDA_POOL_GPOOL; kind <= TG_CUDA_POOL_VALUE; kind++) {
            memset(want, 0, sizeof want);
            for (int s = 0; s < N; s++) {
                if (kind == TG_CUDA_POOL_GPOOL)
                    nn__gpool_sample(rin + (size_t)s * HW * C, mask + s * HW, HW, C, msum[s],
                                     want + s * LD);
                else
                    nn__vpool_sample(rin + (size_t)s * HW * C, HW, C, msum[s], want + s * LD);
            }
            ASSERT_EQ(cudaMemset(d_out, 0, sizeof out), cudaSuccess);
            ASSERT_EQ(tg_cuda_global_pool(d_in, fp16, N, HW, C, d_mask, d_msum, kind, d_out, LD, 0),
                      cudaSuccess);
            ASSERT_EQ(cudaMemcpy(out, d_out, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
            /* Same (rounded) inputs on both sides; only the fp32 summation order differs. */
            ASSERT_CLOSE(out, want, TG_ARRAY_LEN(out), 1e-5, 1e-5);
        }
        cudaFree(d_in);
    }
    cudaFree(d_mask);
    cudaFree(d_msum);
    cudaFree(d_out);
}

TEST(half_round_trip) {
    enum { N = 1000 };
    static float x[N], back[N];
    fill_uniform(x, N, -1000, 1000);
    x[0] = 0.0f;
    x[1] = 1.0f;
    x[2] = -2.5f;
    void *d = dev_from_host(x, N, 1, back);
    ASSERT_TRUE(d != NULL);
    ASSERT_EQ(back[0], 0.0f);
    ASSERT_EQ(back[1], 1.0f);
    ASSERT_EQ(back[2], -2.5f);
    ASSERT_CLOSE(back, x, (size_t)N, 0.0, 1.0 / 2048.0);
    cudaFree(d);
}

int main(void) {
    cuda_test_require_device();
    tg_rng_seed(&g_rng, 20240607, 0);
    RUN(pack_inputs);
    RUN(unpack_nhwc);
    RUN(bn_act);
    RUN(vec_bias_act);
    RUN(global_pool);
    RUN(half_round_trip);
    TEST_MAIN_END();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
