/* test_select.c: choosing the backend by name (tg_nn_backend_select, TENGEN_NN_BACKEND) and
 * what the CUDA entry points do where they cannot run. Runs on every build and machine; the
 * expectations depend on what is there:
 *   "cpu" -> CPU; unknown names -> TG_EINVAL; NULL / "" = "auto";
 *   CUDA built + device:  auto / cuda -> "cuda", cuda-fp16 -> "cuda-fp16";
 *   CUDA built, no device: auto, cuda, cuda-fp16 -> CPU (said once in the log); creating a
 *                          CUDA context -> TG_EUNSUPPORTED naming the reason;
 *   not built:            auto -> CPU; cuda, cuda-fp16 -> TG_EUNSUPPORTED "CUDA backend not
 *                          built"; creating a context -> the same. */
#include <stdlib.h>

#include "nn/eval.h"
#include "nn/nn_cuda.h"
#include "test.h"

static int g_built, g_devices;

TEST(cpu_and_unknown) {
    const tg_nn_backend_t *be = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_nn_backend_select("cpu", &be, &err), 0);
    ASSERT_TRUE(be == tg_nn_backend_cpu());
    ASSERT_EQ(tg_nn_backend_select("tpu", &be, &err), TG_EINVAL);
    ASSERT_TRUE(be == NULL);
    ASSERT_CONTAINS(err.msg, "unknown backend 'tpu'");
}

TEST(auto_and_cuda) {
    const tg_nn_backend_t *be = NULL, *be2 = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_nn_backend_select("auto", &be, &err), 0);
    ASSERT_EQ(tg_nn_backend_select(NULL, &be2, &err), 0);
    ASSERT_TRUE(be == be2);
    ASSERT_STREQ(be->name, g_devices > 0 ? "cuda" : "cpu");
    int rc = tg_nn_backend_select("cuda-fp16", &be, &err);
    if (!g_built) {
        ASSERT_EQ(rc, TG_EUNSUPPORTED);
        ASSERT_CONTAINS(err.msg, "CUDA backend not built");
        ASSERT_EQ(tg_nn_backend_select("cuda", &be, &err), TG_EUNSUPPORTED);
    } else {
        ASSERT_EQ(rc, 0);
        ASSERT_STREQ(be->name, g_devices > 0 ? "cuda-fp16" : "cpu");
        ASSERT_EQ(tg_nn_backend_select("cuda", &be, &err), 0);
        ASSERT_STREQ(be->name, g_devices > 0 ? "cuda" : "cpu");
    }
}

/* Without a device (or without the build) the CUDA backends refuse cleanly, and so does an
 * evaluator told to use an unknown backend. */
TEST(create_without_device) {
    char path[1024];
    tg_err_t err;
    tg_model_t *m = NULL;
    snprintf(path, sizeof path, "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    ASSERT_EQ(tg_model_load(path, &m, &err), 0);
    if (g_devices == 0) {
        void *ctx = (void *)1;
        ASSERT_EQ(tg_nn_backend_cuda()->create(m, 4, 0, &ctx, &err), TG_EUNSUPPORTED);
        ASSERT_TRUE(ctx == NULL);
        ASSERT_CONTAINS(err.msg, g_built ? "no usable CUDA device" : "CUDA backend not built");
        ASSERT_EQ(tg_nn_backend_cuda_fp16()->create(m, 4, 0, &ctx, &err), TG_EUNSUPPORTED);
        tg_nn_backend_cuda()->destroy(NULL); /* NULL is a no-op */
    }
    tg_model_free(m);
    setenv("TENGEN_NN_BACKEND", "opencl", 1);
    tg_nn_evaluator_t *ev = NULL;
    ASSERT_EQ(tg_nn_evaluator_create(path, 1, 1, &ev, &err), TG_EINVAL);
    ASSERT_TRUE(ev == NULL);
    ASSERT_CONTAINS(err.msg, "opencl");
    setenv("TENGEN_NN_BACKEND", "auto", 1);
    ASSERT_EQ(tg_nn_evaluator_create(path, 1, 1, &ev, &err), 0);
    tg_nn_evaluator_destroy(ev);
    unsetenv("TENGEN_NN_BACKEND");
}

int main(void) {
    char why[256];
    g_built = tg_nn_cuda_built();
    g_devices = tg_nn_cuda_device_count(why, sizeof why);
    printf("  built %d, devices %d%s%s\n", g_built, g_devices, g_devices ? "" : ": ",
           g_devices ? "" : why);
    RUN(cpu_and_unknown);
    RUN(auto_and_cuda);
    RUN(create_without_device);
    TEST_MAIN_END();
}
