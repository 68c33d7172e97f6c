/* test_train_curve.c: the CUDA trainer against the CPU trainer on a GPU: one batch's gradients
 * tensor by tensor, then a 100-step loss curve (same options, same seed, so the same batches and
 * symmetries), in fp32, and in fp16 / bf16 against the fp32 curve with looser bounds. Also a
 * CUDA checkpoint loaded by the CPU trainer. Skipped (77) without the CUDA backend or a device.
 *
 * Bounds: fp32 per-step |loss_gpu - loss_cpu| <= 2e-3 |loss_cpu| (cuDNN's sums run in another
 * order, and 100 SGD steps let that drift grow a little); mixed: the mean loss over each
 * 20-step window within 3% of the fp32 curve's. */
#include "cuda_test.h"

#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include <string.h>
#include <unistd.h>

#include "train/train_cuda.h"
#include "train/train_internal.h"
#include "train/train_testdata.h"

#define STEPS 100
#define LEN   9

static trainrows_t g_data;

static void options(train_options_t *o) {
    train_config_t cfg;
    TG_ASSERT(train_config_by_name("b4c32", &cfg) == 0);
    train_options_default(o, &cfg);
    o->pos_len = LEN;
    o->batch = 32;
    o->threads = 4;
    o->seed = 11;
    o->lr_per_sample = 1e-3; /* with warmup 1/20: visible progress in 100 steps */
}

TEST(grads_match_cpu) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_t *cpu = NULL;
    trainer_cuda_t *gpu = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_EQ(trainer_create(&cpu, &o, &err), 0);
    if (trainer_cuda_create(&gpu, &o, &co, &err) != 0) TEST__FAIL("create: %s", err.msg);
    int rows[32];
    for (int i = 0; i < 32; i++)
        rows[i] = (i * 7) % g_data.num_rows;
    train_stats_t sc, sg;
    ASSERT_EQ(trainer_compute_grads(cpu, &g_data, rows, 32, 5, &sc, &err), 0);
    if (trainer_cuda_compute_grads(gpu, &g_data, rows, 32, 5, &sg, &err) != 0)
        TEST__FAIL("compute_grads: %s", err.msg);
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
        ASSERT_NEAR(sg.loss[k], sc.loss[k], 1e-6 + 1e-4 * fabs(sc.loss[k]));
    const train_model_t *mc = trainer_model(cpu), *mg = trainer_cuda_model(gpu);
    double gmax = 0;
    for (size_t i = 0; i < mc->num_params; i++)
        gmax = fmax(gmax, fabs(mc->grads[i]));
    for (int ti = 0; ti < mc->num_tensors; ti++) {
        const train_tensor_t *tt = &mc->tensors[ti];
        double tmax = 0, worst = 0;
        for (size_t i = 0; i < tt->count; i++)
            tmax = fmax(tmax, fabs(mc->grads[tt->offset + i]));
        for (size_t i = 0; i < tt->count; i++)
            worst = fmax(worst, fabs(mg->grads[tt->offset + i] - mc->grads[tt->offset + i]));
        const double tol = 1e-6 * gmax + 1e-3 * tmax;
        if (!(worst <= tol)) TEST__FAIL("grad %s: worst %.3g > %.3g", tt->name, worst, tol);
    }
    trainer_destroy(cpu);
    trainer_cuda_destroy(gpu);
}

static double g_curve32[STEPS];

TEST(loss_curve_fp32_matches_cpu) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_t *cpu = NULL;
    trainer_cuda_t *gpu = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    ASSERT_EQ(trainer_create(&cpu, &o, &err), 0);
    if (trainer_cuda_create(&gpu, &o, &co, &err) != 0) TEST__FAIL("create: %s", err.msg);
    const trainrows_t *d[1] = {&g_data};
    double worst = 0;
    for (int s = 0; s < STEPS; s++) {
        train_stats_t sc, sg;
        ASSERT_EQ(trainer_step(cpu, d, 1, &sc, &err), 0);
        if (trainer_cuda_step(gpu, d, 1, &sg, &err) != 0) TEST__FAIL("step %d: %s", s, err.msg);
        g_curve32[s] = sg.loss_total;
        const double rel = fabs(sg.loss_total - sc.loss_total) / fabs(sc.loss_total);
        worst = fmax(worst, rel);
        if (s % 20 == 0 || s == STEPS - 1)
            printf("  step %3d: loss cpu %.6f cuda %.6f (rel %.2e)\n", s, sc.loss_total / o.batch,
                   sg.loss_total / o.batch, rel);
        if (!(rel <= 2e-3)) TEST__FAIL("step %d: rel diff %.3g", s, rel);
    }
    printf("  fp32 curve: worst rel diff %.3g over %d steps\n", worst, STEPS);
    /* A CUDA checkpoint loads into the CPU trainer with the same params. */
    char path[] = "/tmp/tengen_train_curve_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_EQ(trainer_cuda_save(gpu, path, &err), 0);
    trainer_t *cpu2 = NULL;
    ASSERT_EQ(trainer_create(&cpu2, &o, &err), 0);
    ASSERT_EQ(trainer_load(cpu2, path, &err), 0);
    ASSERT_EQ(trainer_steps(cpu2), STEPS);
    const train_model_t *a = trainer_model(cpu2), *b = trainer_cuda_model(gpu);
    ASSERT_TRUE(memcmp(a->params, b->params, a->num_params * sizeof(float)) == 0);
    unlink(path);
    trainer_destroy(cpu);
    trainer_destroy(cpu2);
    trainer_cuda_destroy(gpu);
}

static void mixed_curve(train_cuda_precision_t prec) {
    train_options_t o;
    options(&o);
    tg_err_t err;
    trainer_cuda_t *gpu = NULL;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    co.precision = prec;
    if (trainer_cuda_create(&gpu, &o, &co, &err) != 0) TEST__FAIL("create: %s", err.msg);
    const trainrows_t *d[1] = {&g_data};
    double win = 0, win32 = 0;
    for (int s = 0; s < STEPS; s++) {
        train_stats_t sg;
        if (trainer_cuda_step(gpu, d, 1, &sg, &err) != 0) TEST__FAIL("step %d: %s", s, err.msg);
        ASSERT_TRUE(isfinite(sg.loss_total));
        win += sg.loss_total, win32 += g_curve32[s];
        if ((s + 1) % 20 == 0) {
            printf("  %s steps %d-%d: mean loss %.6f (fp32 %.6f)\n",
                   train_cuda_precision_name(prec), s - 19, s, win / 20 / o.batch,
                   win32 / 20 / o.batch);
            ASSERT_NEAR(win, win32, 0.03 * fabs(win32));
            win = win32 = 0;
        }
    }
    printf("  %s: %lld skipped steps, loss scale %g\n", train_cuda_precision_name(prec),
           (long long)trainer_cuda_skipped_steps(gpu), trainer_cuda_loss_scale(gpu));
    ASSERT_TRUE(trainer_cuda_skipped_steps(gpu) <= 8); /* dynamic loss scale settling */
    trainer_cuda_destroy(gpu);
}

TEST(loss_curve_fp16_close) { mixed_curve(TRAIN_CUDA_FP16); }
TEST(loss_curve_bf16_close) { mixed_curve(TRAIN_CUDA_BF16); }

int main(void) {
    cuda_test_require_device();
    tg_err_t err;
    if (trainrows_init(&g_data, LEN, 256, &err)) {
        printf("%s\n", err.msg);
        return 1;
    }
    testdata_fill(&g_data, 256, 21);
    RUN(grads_match_cpu);
    RUN(loss_curve_fp32_matches_cpu);
    RUN(loss_curve_fp16_close);
    RUN(loss_curve_bf16_close);
    trainrows_free(&g_data);
    TEST_MAIN_END();
}

#else

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
