/* cuda_test.h: shared helpers of the CUDA tests: the skip rule and a magnitude-scaled compare.
 *
 * A CUDA test must never "pass" where it did not run: without the backend compiled in, or
 * without a usable device at run time, it prints why and exits 77 (ctest SKIP_RETURN_CODE). */
#ifndef TENGEN_TESTS_CUDA_TEST_H
#define TENGEN_TESTS_CUDA_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/nn_cuda.h"

/* Exits 77 unless the CUDA backend is built and a device is usable; else prints the device. */
static inline void cuda_test_require_device(void) {
    char why[512];
    if (tg_nn_cuda_device_count(why, sizeof why) <= 0) {
        printf("SKIP: %s\n", why);
        fflush(stdout);
        exit(77);
    }
    tg_nn_cuda_device_describe(0, why, sizeof why);
    printf("device: %s\n", why);
}

/* Worst excess of |got - want| over atol + rtol * |want| across count values (<= 0: all
 * within tolerance; NaN anywhere counts as a failure). *worst_i gets the index. */
static inline double cuda_test_excess(const float *got, const float *want, size_t count,
                                      double atol, double rtol, size_t *worst_i) {
    double worst = -INFINITY;
    *worst_i = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double e = isfinite(d) ? d - (atol + rtol * fabs((double)want[i])) : INFINITY;
        if (e > worst) {
            worst = e;
            *worst_i = i;
        }
    }
    return count ? worst : 0.0;
}

#define ASSERT_CLOSE(got, want, count, atol, rtol)                                                 \
    do {                                                                                           \
        size_t wi__;                                                                               \
        double ex__ = cuda_test_excess((got), (want), (count), (atol), (rtol), &wi__);             \
        if (ex__ > 0)                                                                              \
            TEST__FAIL("%s vs %s: [%zu] %.9g vs %.9g (atol %g rtol %g)", #got, #want, wi__,        \
                       (double)(got)[wi__], (double)(want)[wi__], (double)(atol), (double)(rtol)); \
    } while (0)

#endif
