/* test_golden.c: KataGo's golden kata-raw-nn outputs (17 positions, b6c96 fixture) through the
 * whole evaluation path on the CUDA fp32 backend, with exactly the CPU test's tolerances: this
 * runs tests/nn/test_golden.c itself (included below, its main renamed) with
 * TENGEN_NN_BACKEND=cuda, so the positions, fields and bounds cannot drift apart.
 * Skips (77) without a CUDA device. */
#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include "cuda_test.h"

#define main nn_golden_main
#include "../nn/test_golden.c"
#undef main

int main(void) {
    cuda_test_require_device();
    setenv("TENGEN_NN_BACKEND", "cuda", 1); /* tg_nn_evaluator_create's backend */
    return nn_golden_main();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
