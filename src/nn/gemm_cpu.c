/* gemm_cpu.c: single-precision GEMM for the CPU backend.
 *
 * With OpenBLAS (TENGEN_HAVE_OPENBLAS) this is cblas_sgemm; OpenBLAS is put in single-thread
 * mode by the CPU backend, which splits work across its own pool (see nn_cpu.c). Without it, a
 * portable C kernel blocked for cache (i-k-j loop order, the j loop vectorizes) serves as the
 * fallback; it is correct for any shape and about 5x slower per core than OpenBLAS with its
 * AVX-512 kernels (bench/RESULTS.md). */
#include <stdatomic.h>
#include <string.h>

#include "nn/ops_cpu.h"

#ifdef TENGEN_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* Lock: none; set once by benches before any forward, read by every gemm (relaxed). */
static atomic_int gemm_use_blas = 1;

int nn__sgemm_use_blas(int use_blas) {
    return atomic_exchange_explicit(&gemm_use_blas, use_blas ? 1 : 0, memory_order_relaxed);
}

/* Portable kernel: blocks of KB rows of B stay in cache while MB rows of A stream by. */
static void sgemm_portable(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc) {
    enum { MB = 64, KB = 256 };
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
    for (int k0 = 0; k0 < K; k0 += KB) {
        int k1 = k0 + KB < K ? k0 + KB : K;
        for (int i0 = 0; i0 < M; i0 += MB) {
            int i1 = i0 + MB < M ? i0 + MB : M;
            for (int i = i0; i < i1; i++) {
                const float *a = A + (size_t)i * lda;
                float *restrict c = C + (size_t)i * ldc;
                for (int k = k0; k < k1; k++) {
                    float av = a[k];
                    const float *restrict b = B + (size_t)k * ldb;
                    for (int j = 0; j < N; j++)
                        c[j] += av * b[j];
                }
            }
        }
    }
}

void nn__sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef TENGEN_HAVE_OPENBLAS
    if (atomic_load_explicit(&gemm_use_blas, memory_order_relaxed)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta,
                    C, ldc);
        return;
    }
#endif
    sgemm_portable(M, N, K, A, lda, B, ldb, beta, C, ldc);
}
