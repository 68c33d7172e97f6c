/* test_golden_fp16.c: KataGo's golden kata-raw-nn outputs (17 positions, b6c96 fixture, fp32
 * KataGo) against tengen's CUDA backend in fp16, with the documented looser bounds of
 * golden_fp16.h (probabilities 0.01, ownership 0.02, scores 0.3 + 5 %). fp16 keeps 11
 * significant bits of every activation; the maxima are printed so a GPU run can tighten them.
 * Positions are replayed with tests/nn/test_golden.c's own code (included, main renamed).
 * Skips (77) without a CUDA device. */
#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include "cuda_test.h"

#define main nn_golden_main
#include "../nn/test_golden.c"
#undef main

#include "golden_fp16.h"

int main(void) {
    cuda_test_require_device();
    char path[1024];
    snprintf(path, sizeof(path), "%s/katago-b6c96-rawnn-golden.json", test_fixtures_dir());
    char *data = NULL;
    size_t len = 0;
    tg_err_t err;
    if (tg_file_read_all(path, 16u << 20, &data, &len, &err) < 0 ||
        tg_json_parse(data, len, &g_root, &err) < 0) {
        printf("%s: %s\n", path, err.msg);
        return 1;
    }
    free(data);
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    if (tg_nn_evaluator_create_ex(path, tg_nn_backend_cuda_fp16(), 4, 1, &g_ev, &err) < 0) {
        printf("cannot create the fp16 evaluator: %s\n", err.msg);
        return 1;
    }
    RUN(golden_fp16);
    tg_nn_evaluator_destroy(g_ev);
    tg_json_free(g_root);
    TEST_MAIN_END();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
