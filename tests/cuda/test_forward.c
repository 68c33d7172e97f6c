/* test_forward.c: the CUDA backend's whole forward pass against the CPU backend (the
 * reference) on the real b6c96 fixture net, on random plausible positions.
 *
 *  1. fp32: several (batch, L) pairs, boards smaller than the tensor included, visited out of
 *     order so cached algorithms and descriptors are reused; every on-board output within
 *     1e-3 + 1e-3|cpu| (cuDNN vs the CPU's Winograd/im2col differ by float rounding only).
 *  2. fp16: same positions; documented looser bounds: NMSE (sum (gpu-cpu)^2 / sum cpu^2) of each
 *     output group <= 2e-3, and every value within 0.15 + 0.05|cpu|. Observed figures printed.
 *  3. CUDA graphs on vs off (heuristic algorithms on both so the kernels are the same): equal
 *     within 1e-6, also after the inputs change (a replayed graph must read the new inputs).
 *  4. Argument errors: batch > max_batch, L > 19 give TG_EINVAL, NULL outputs too.
 * Skips (77) without a CUDA device. */
#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include "cuda_test.h"
#include "nn/nn.h"
#include "util/rng.h"

#define FIXTURE_NET "g170-b6c96-s175395328-d26788732.bin.gz"
#define MAX_BATCH   8
#define HW_MAX      361

static tg_model_t *g_model;
static tg_rng_t g_rng;
static float *g_spatial, *g_global;

/* n random positions, board b x b top-left in an L x L tensor: mask plane, random stones on
 * planes 1/2, a few sparse other planes, small globals. */
static void random_inputs(int n, int b, int len) {
    const int cin = g_model->num_spatial_inputs, cg = g_model->num_global_inputs;
    const int hw = len * len;
    memset(g_spatial, 0, sizeof(float) * (size_t)n * cin * hw);
    for (int s = 0; s < n; s++) {
        float *x = g_spatial + (size_t)s * cin * hw;
        for (int y = 0; y < b; y++)
            for (int xx = 0; xx < b; xx++) {
                int p = y * len + xx;
                x[p] = 1.0f;
                uint32_t st = tg_rng_below(&g_rng, 3);
                if (st) x[st * hw + p] = 1.0f;
                if (tg_rng_below(&g_rng, 10) == 0)
                    x[(3 + tg_rng_below(&g_rng, cin - 3)) * hw + p] = 1;
            }
        for (int i = 0; i < cg; i++)
            g_global[(size_t)s * cg + i] = (float)(tg_rng_uniform(&g_rng) - 0.5);
    }
}

typedef struct {
    double max_excess; /* worst |d| - (atol + rtol|ref|) */
    double nmse_num, nmse_den;
    double max_abs;
} cmp_t;

static void cmp_add(cmp_t *c, double got, double ref, double atol, double rtol) {
    double d = fabs(got - ref);
    if (!isfinite(got)) d = INFINITY;
    double e = d - (atol + rtol * fabs(ref));
    if (e > c->max_excess) c->max_excess = e;
    if (d > c->max_abs) c->max_abs = d;
    c->nmse_num += d * d;
    c->nmse_den += ref * ref;
}

/* Compares the on-board outputs of n positions (board b in tensor L). Groups: 0 policy,
 * 1 pass, 2 value, 3 score, 4 ownership. */
static void compare_raw(const tg_nn_raw_t *got, const tg_nn_raw_t *ref, int n, int b, int len,
                        double atol, double rtol, cmp_t cmp[5]) {
    const int P = g_model->policy.num_channels, S = g_model->num_score_values, hw = len * len;
    for (int s = 0; s < n; s++) {
        for (int y = 0; y < b; y++)
            for (int x = 0; x < b; x++) {
                int p = y * len + x;
                for (int k = 0; k < P; k++) {
                    size_t i = ((size_t)s * P + k) * hw + p;
                    cmp_add(&cmp[0], got->policy[i], ref->policy[i], atol, rtol);
                }
                cmp_add(&cmp[4], got->ownership[(size_t)s * hw + p],
                        ref->ownership[(size_t)s * hw + p], atol, rtol);
            }
        for (int k = 0; k < P; k++)
            cmp_add(&cmp[1], got->policy_pass[s * P + k], ref->policy_pass[s * P + k], atol, rtol);
        for (int k = 0; k < 3; k++)
            cmp_add(&cmp[2], got->value[s * 3 + k], ref->value[s * 3 + k], atol, rtol);
        for (int k = 0; k < S; k++)
            cmp_add(&cmp[3], got->score[s * S + k], ref->score[s * S + k], atol, rtol);
    }
}

static const char *group_names[5] = {"policy", "pass", "value", "score", "ownership"};

/* Runs the CUDA context and the CPU one on the same cases and checks the bounds. */
static int run_cases(const tg_nn_backend_t *gpu_be, void *gpu, double atol, double rtol,
                     double max_nmse) {
    const tg_nn_backend_t *cpu_be = tg_nn_backend_cpu();
    void *cpu = NULL;
    tg_err_t err;
    tg_nn_raw_t a = {0}, r = {0};
    int failures = 0;
    if (cpu_be->create(g_model, MAX_BATCH, 2, &cpu, &err) < 0 ||
        tg_nn_raw_alloc(&a, g_model, MAX_BATCH, &err) < 0 ||
        tg_nn_raw_alloc(&r, g_model, MAX_BATCH, &err) < 0) {
        printf("  setup: %s\n", err.msg);
        return 1;
    }
    static const struct {
        int n, b, len;
    } cases[] = {{1, 19, 19}, {5, 9, 9},   {3, 13, 19}, {8, 19, 19},
                 {2, 7, 13},  {1, 19, 19}, {5, 9, 9},   {MAX_BATCH, 9, 9}};
    cmp_t cmp[5] = {{0}};
    for (size_t k = 0; k < TG_ARRAY_LEN(cases); k++) {
        random_inputs(cases[k].n, cases[k].b, cases[k].len);
        if (cpu_be->forward(cpu, cases[k].n, cases[k].len, g_spatial, g_global, &r, &err) < 0 ||
            gpu_be->forward(gpu, cases[k].n, cases[k].len, g_spatial, g_global, &a, &err) < 0) {
            printf("  case %zu: forward failed: %s\n", k, err.msg);
            failures++;
            break;
        }
        cmp_t one[5] = {{0}};
        compare_raw(&a, &r, cases[k].n, cases[k].b, cases[k].len, atol, rtol, one);
        for (int g = 0; g < 5; g++) {
            if (one[g].max_excess > 0) {
                printf("  case %zu (n=%d b=%d L=%d): %s off by %.4g (beyond tolerance by %.3g)\n",
                       k, cases[k].n, cases[k].b, cases[k].len, group_names[g], one[g].max_abs,
                       one[g].max_excess);
                failures++;
            }
            cmp[g].max_abs = fmax(cmp[g].max_abs, one[g].max_abs);
            cmp[g].nmse_num += one[g].nmse_num;
            cmp[g].nmse_den += one[g].nmse_den;
        }
    }
    for (int g = 0; g < 5; g++) {
        double nmse = cmp[g].nmse_den > 0 ? cmp[g].nmse_num / cmp[g].nmse_den : 0;
        printf("  %-9s max|diff| %.3g  nmse %.3g\n", group_names[g], cmp[g].max_abs, nmse);
        if (!(nmse <= max_nmse)) {
            printf("  %s: nmse %.3g above %.3g\n", group_names[g], nmse, max_nmse);
            failures++;
        }
    }
    tg_nn_raw_free(&a);
    tg_nn_raw_free(&r);
    cpu_be->destroy(cpu);
    return failures;
}

TEST(fp32_matches_cpu) {
    const tg_nn_backend_t *be = tg_nn_backend_cuda();
    void *ctx = NULL;
    tg_err_t err;
    ASSERT_EQ(be->create(g_model, MAX_BATCH, 0, &ctx, &err), 0);
    ASSERT_EQ(run_cases(be, ctx, 1e-3, 1e-3, 1e-6), 0);
    be->destroy(ctx);
}

TEST(fp16_close_to_cpu) {
    const tg_nn_backend_t *be = tg_nn_backend_cuda_fp16();
    void *ctx = NULL;
    tg_err_t err;
    ASSERT_EQ(be->create(g_model, MAX_BATCH, 0, &ctx, &err), 0);
    ASSERT_EQ(run_cases(be, ctx, 0.15, 0.05, 2e-3), 0);
    be->destroy(ctx);
}

TEST(graphs_match_streams) {
    tg_nn_cuda_options_t o;
    tg_nn_cuda_options_default(&o);
    o.conv_find = 0; /* same algorithms in both contexts */
    void *plain = NULL, *graph = NULL;
    tg_err_t err;
    const tg_nn_backend_t *be = tg_nn_backend_cuda(); /* for forward/destroy */
    for (int fp16 = 0; fp16 <= 1; fp16++) {
        o.fp16 = fp16;
        o.use_graphs = 0;
        ASSERT_EQ(tg_nn_cuda_create(g_model, 4, &o, &plain, &err), 0);
        o.use_graphs = 1;
        ASSERT_EQ(tg_nn_cuda_create(g_model, 4, &o, &graph, &err), 0);
        tg_nn_raw_t a = {0}, b = {0};
        ASSERT_EQ(tg_nn_raw_alloc(&a, g_model, 4, &err), 0);
        ASSERT_EQ(tg_nn_raw_alloc(&b, g_model, 4, &err), 0);
        for (int rep = 0; rep < 3; rep++) { /* capture, replay, replay with other inputs */
            int n = rep == 1 ? 2 : 4, len = rep == 1 ? 9 : 19;
            random_inputs(n, len, len);
            ASSERT_EQ(be->forward(plain, n, len, g_spatial, g_global, &a, &err), 0);
            ASSERT_EQ(be->forward(graph, n, len, g_spatial, g_global, &b, &err), 0);
            size_t hw = (size_t)len * len;
            ASSERT_CLOSE(b.policy, a.policy, n * hw, 1e-6, 1e-6);
            ASSERT_CLOSE(b.ownership, a.ownership, n * hw, 1e-6, 1e-6);
            ASSERT_CLOSE(b.value, a.value, (size_t)n * 3, 1e-6, 1e-6);
            ASSERT_CLOSE(b.score, a.score, (size_t)n * g_model->num_score_values, 1e-6, 1e-6);
        }
        tg_nn_raw_free(&a);
        tg_nn_raw_free(&b);
        be->destroy(plain);
        be->destroy(graph);
    }
}

TEST(bad_arguments) {
    const tg_nn_backend_t *be = tg_nn_backend_cuda();
    void *ctx = NULL;
    tg_err_t err;
    ASSERT_EQ(be->create(g_model, 2, 0, &ctx, &err), 0);
    tg_nn_raw_t out = {0};
    ASSERT_EQ(tg_nn_raw_alloc(&out, g_model, 2, &err), 0);
    random_inputs(2, 9, 9);
    ASSERT_EQ(be->forward(ctx, 3, 9, g_spatial, g_global, &out, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "batch 3");
    ASSERT_EQ(be->forward(ctx, 1, 20, g_spatial, g_global, &out, &err), TG_EINVAL);
    float *keep = out.value;
    out.value = NULL;
    ASSERT_EQ(be->forward(ctx, 1, 9, g_spatial, g_global, &out, &err), TG_EINVAL);
    out.value = keep;
    ASSERT_EQ(be->forward(ctx, 2, 9, g_spatial, g_global, &out, &err), 0); /* still usable */
    ASSERT_TRUE(isfinite(out.value[0]) && isfinite(out.value[5]));
    tg_nn_raw_free(&out);
    be->destroy(ctx);
    ASSERT_EQ(be->create(g_model, 0, 0, &ctx, &err), TG_EINVAL);
}

int main(void) {
    cuda_test_require_device();
    char path[1024];
    tg_err_t err;
    snprintf(path, sizeof path, "%s/%s", test_fixtures_dir(), FIXTURE_NET);
    if (tg_model_load(path, &g_model, &err) < 0) {
        printf("%s\n", err.msg);
        return 1;
    }
    tg_rng_seed(&g_rng, 7, 0);
    g_spatial = malloc(sizeof(float) * MAX_BATCH * g_model->num_spatial_inputs * HW_MAX);
    g_global = malloc(sizeof(float) * MAX_BATCH * g_model->num_global_inputs);
    if (!g_spatial || !g_global) return 1;
    RUN(fp32_matches_cpu);
    RUN(fp16_close_to_cpu);
    RUN(graphs_match_streams);
    RUN(bad_arguments);
    free(g_spatial);
    free(g_global);
    tg_model_free(g_model);
    TEST_MAIN_END();
}

#else

#include <stdio.h>

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
