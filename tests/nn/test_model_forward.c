/* test_model_forward.c: the CPU backend's forward pass on the real b6c96 fixture.
 *
 * 1. Golden: empty 19x19, 9x9 and 13x13 boards (black to move, tromp-taylor) against KataGo's
 *    own kata-raw-nn outputs in katago-b6c96-rawnn-golden.json (policy 1e-4, ownership 2e-4,
 *    win 1e-4). Empty boards need no rules engine: only the mask plane and the rules/komi
 *    globals are set (formats.md §2.3), so this checks the net alone.
 * 2. A batch of 3 mixed positions equals 3 single calls.
 * 3. A 9x9 board inside a 19x19 tensor equals the same board on a 9x9 tensor (on-board outputs).
 * 4. 1, 2 and 3 worker threads give the same outputs (2-4 bit-exact with the portable GEMM).
 * 5. The Winograd path (default) agrees with the im2col path (TENGEN_NN_CONV=im2col) on random
 *    positions: several tensor lengths, small boards inside bigger tensors, 1-3 threads. */
#include "nn/nn.h"
#include "nn/ops_cpu.h"
#include "test.h"
#include "util/fileio.h"
#include "util/rng.h"

#define FIXTURE_NET "g170-b6c96-s175395328-d26788732.bin.gz"
#define HW          361

static tg_model_t *g_model;
static char *g_golden;

static int setup(void) {
    char path[1024];
    tg_err_t err;
    snprintf(path, sizeof path, "%s/%s", test_fixtures_dir(), FIXTURE_NET);
    if (tg_model_load(path, &g_model, &err) < 0) {
        printf("  %s\n", err.msg);
        return -1;
    }
    snprintf(path, sizeof path, "%s/katago-b6c96-rawnn-golden.json", test_fixtures_dir());
    size_t len;
    if (tg_file_read_all(path, (size_t)1 << 26, &g_golden, &len, &err) < 0) {
        printf("  %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Reads count numbers after `"key": [` (or one after `"key": `) following position id. */
static int golden_numbers(const char *id, const char *key, double *out, int count) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"id\": \"%s\"", id);
    const char *p = strstr(g_golden, pat);
    if (!p) return -1;
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(p, pat);
    if (!p) return -1;
    p += strlen(pat);
    if (*p == '[') p++;
    for (int i = 0; i < count; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p) return -1;
        p = end;
        while (*p == ',' || *p == ' ' || *p == '\n')
            p++;
    }
    return 0;
}

/* Empty board of size b in an L x L tensor, black to move, area scoring, positional ko,
 * suicide allowed, komi: globals per formats.md §2.3. */
static void empty_inputs(int b, int len, double komi, float *spatial, float *global) {
    memset(spatial, 0, sizeof(float) * 22 * len * len);
    memset(global, 0, sizeof(float) * 19);
    for (int y = 0; y < b; y++)
        for (int x = 0; x < b; x++)
            spatial[y * len + x] = 1.0f;
    double self_komi = -komi; /* black to move */
    global[5] = (float)(self_komi / 20.0);
    global[6] = 1.0f;
    global[7] = 0.5f;
    global[8] = 1.0f;
    /* Komi parity wave: board area b*b; drawable komis have its parity. */
    int even = (b * b) % 2 == 0;
    double fl = even ? floor(self_komi / 2.0) * 2.0 : floor((self_komi - 1.0) / 2.0) * 2.0 + 1.0;
    double d = self_komi - fl;
    if (d < 0) d = 0;
    if (d > 2) d = 2;
    global[18] = (float)(d < 0.5 ? d : d < 1.5 ? 1.0 - d : d - 2.0);
}

TEST(golden_empty_boards) {
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    void *ctx;
    tg_err_t err;
    ASSERT_EQ(be->create(g_model, 1, 2, &ctx, &err), 0);
    tg_nn_raw_t raw;
    ASSERT_EQ(tg_nn_raw_alloc(&raw, g_model, 1, &err), 0);
    static const struct {
        const char *id;
        int b;
        double komi;
    } cases[] = {{"empty19_tt", 19, 7.5}, {"empty9_tt", 9, 7.0}, {"empty13_tt", 13, 7.5}};
    float spatial[22 * HW], global[19];
    static double gpol[HW], gown[HW];
    for (size_t k = 0; k < TG_ARRAY_LEN(cases); k++) {
        int b = cases[k].b;
        empty_inputs(b, b, cases[k].komi, spatial, global);
        ASSERT_EQ(be->forward(ctx, 1, b, spatial, global, &raw, &err), 0);
        /* Post-process for black to move (formats.md §3). */
        double wl = raw.value[0], ll = raw.value[1];
        double mx = wl > ll ? wl : ll;
        double white_win = exp(ll - mx) / (exp(wl - mx) + exp(ll - mx));
        double white_lead = -raw.score[2] * 20.0;
        double pmax = raw.policy_pass[0];
        for (int i = 0; i < b * b; i++)
            pmax = raw.policy[i] > pmax ? raw.policy[i] : pmax;
        double z = exp(raw.policy_pass[0] - pmax);
        for (int i = 0; i < b * b; i++)
            z += exp(raw.policy[i] - pmax);
        double want_win, want_lead, want_pass;
        ASSERT_EQ(golden_numbers(cases[k].id, "whiteWin", &want_win, 1), 0);
        ASSERT_EQ(golden_numbers(cases[k].id, "whiteLead", &want_lead, 1), 0);
        ASSERT_EQ(golden_numbers(cases[k].id, "policyPass", &want_pass, 1), 0);
        ASSERT_EQ(golden_numbers(cases[k].id, "policy", gpol, b * b), 0);
        ASSERT_EQ(golden_numbers(cases[k].id, "whiteOwnership", gown, b * b), 0);
        ASSERT_NEAR(white_win, want_win, 1e-4);
        ASSERT_NEAR(white_lead, want_lead, 5e-3);
        ASSERT_NEAR(exp(raw.policy_pass[0] - pmax) / z, want_pass, 1e-5);
        double worst_p = 0, worst_o = 0;
        for (int i = 0; i < b * b; i++) {
            double p = exp(raw.policy[i] - pmax) / z;
            double o = -tanh(raw.ownership[i]);
            if (fabs(p - gpol[i]) > worst_p) worst_p = fabs(p - gpol[i]);
            if (fabs(o - gown[i]) > worst_o) worst_o = fabs(o - gown[i]);
        }
        printf("  %s: whiteWin %.6f (golden %.6f) max|dpolicy| %.2g max|downership| %.2g\n",
               cases[k].id, white_win, want_win, worst_p, worst_o);
        ASSERT_TRUE(worst_p <= 1e-4);
        ASSERT_TRUE(worst_o <= 2e-4);
    }
    tg_nn_raw_free(&raw);
    be->destroy(ctx);
}

/* A random but plausible position: board b x b top-left in an L x L tensor, sparse binary
 * feature planes, small globals. */
static void random_inputs(tg_rng_t *rng, int b, int len, float *spatial, float *global) {
    memset(spatial, 0, sizeof(float) * 22 * len * len);
    for (int y = 0; y < b; y++)
        for (int x = 0; x < b; x++) {
            int pos = y * len + x;
            spatial[pos] = 1.0f;
            int st = (int)tg_rng_below(rng, 5);
            if (st == 1) spatial[1 * len * len + pos] = 1.0f;
            if (st == 2) spatial[2 * len * len + pos] = 1.0f;
            for (int c = 3; c < 22; c++)
                if (tg_rng_below(rng, 12) == 0) spatial[c * len * len + pos] = 1.0f;
        }
    for (int i = 0; i < 19; i++)
        global[i] = (float)(tg_rng_uniform(rng) - 0.5);
}

static double rel(double a, double b) { return fabs(a - b) / (1e-2 + fabs(b)); }

/* Compares output sample sa of A (tensor la) with sample sb of B (tensor lb) on a b x b board. */
static double compare(const tg_nn_raw_t *A, int sa, int la, const tg_nn_raw_t *B, int sb, int lb,
                      int b) {
    double w = 0;
    for (int i = 0; i < 3; i++)
        w = fmax(w, rel(A->value[sa * 3 + i], B->value[sb * 3 + i]));
    for (int i = 0; i < 4; i++)
        w = fmax(w, rel(A->score[sa * 4 + i], B->score[sb * 4 + i]));
    w = fmax(w, rel(A->policy_pass[sa], B->policy_pass[sb]));
    for (int y = 0; y < b; y++)
        for (int x = 0; x < b; x++) {
            w = fmax(
                w, rel(A->policy[sa * la * la + y * la + x], B->policy[sb * lb * lb + y * lb + x]));
            w = fmax(w, rel(A->ownership[sa * la * la + y * la + x],
                            B->ownership[sb * lb * lb + y * lb + x]));
        }
    return w;
}

TEST(batch_equals_singles_and_small_board_embedding) {
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    tg_err_t err;
    tg_rng_t rng;
    tg_rng_seed(&rng, 7, 0);
    static float spatial[3 * 22 * HW], global[3 * 19], one[22 * HW], small[22 * 81];
    static const int sizes[3] = {19, 9, 13};
    for (int s = 0; s < 3; s++)
        random_inputs(&rng, sizes[s], 19, spatial + s * 22 * HW, global + s * 19);
    tg_nn_raw_t batch, single[3], at9;
    ASSERT_EQ(tg_nn_raw_alloc(&batch, g_model, 3, &err), 0);
    for (int s = 0; s < 3; s++)
        ASSERT_EQ(tg_nn_raw_alloc(&single[s], g_model, 1, &err), 0);
    ASSERT_EQ(tg_nn_raw_alloc(&at9, g_model, 1, &err), 0);
    /* With the portable GEMM every output row's arithmetic is independent of how rows are
     * grouped, so batch, single, embedded and threaded runs must agree bit for bit. OpenBLAS
     * picks kernels by row count (batch and single calls, thread splits and tensor sizes give
     * it different M), which rounds differently: ~1e-7 relative with its AVX-512 kernels,
     * ~1e-6 with the generic SSE3 ones that ctest runs get (bench/RESULTS.md), amplified by the
     * net on these random positions to ~2e-5 absolute on logits near 0. Indexing bugs give
     * O(1) errors. */
    for (int run = 0; run < 6; run++) {
        int threads = 1 + run % 3, blas = run >= 3;
        double tol = blas ? 3e-3 : 0.0;
        nn__sgemm_use_blas(blas);
        void *ctx;
        ASSERT_EQ(be->create(g_model, 3, threads, &ctx, &err), 0);
        ASSERT_EQ(be->forward(ctx, 3, 19, spatial, global, &batch, &err), 0);
        for (int s = 0; s < 3; s++) {
            memcpy(one, spatial + s * 22 * HW, sizeof one);
            ASSERT_EQ(be->forward(ctx, 1, 19, one, global + s * 19, &single[s], &err), 0);
            double e = compare(&batch, s, 19, &single[s], 0, 19, sizes[s]);
            if (e > tol)
                TEST__FAIL("threads %d blas %d sample %d: batch vs single rel err %g", threads,
                           blas, s, e);
        }
        /* The 9x9 board (sample 1) on a 9x9 tensor. */
        for (int c = 0; c < 22; c++)
            for (int y = 0; y < 9; y++)
                for (int x = 0; x < 9; x++)
                    small[c * 81 + y * 9 + x] = spatial[1 * 22 * HW + c * HW + y * 19 + x];
        ASSERT_EQ(be->forward(ctx, 1, 9, small, global + 19, &at9, &err), 0);
        double e = compare(&single[1], 0, 19, &at9, 0, 9, 9);
        if (e > tol)
            TEST__FAIL("threads %d blas %d: 9x9 in 19x19 vs 9x9 rel err %g", threads, blas, e);
        /* Off-board ownership is exactly 0. */
        ASSERT_NEAR(single[1].ownership[18 * 19 + 18], 0.0, 0);
        ASSERT_NEAR(single[1].ownership[0 * 19 + 12], 0.0, 0);
        be->destroy(ctx);
    }
    nn__sgemm_use_blas(1);
    /* Arguments are checked. */
    void *ctx;
    ASSERT_EQ(be->create(g_model, 2, 1, &ctx, &err), 0);
    ASSERT_EQ(be->forward(ctx, 3, 19, spatial, global, &batch, &err), TG_EINVAL);
    ASSERT_EQ(be->forward(ctx, 1, 20, spatial, global, &batch, &err), TG_EINVAL);
    ASSERT_EQ(be->forward(ctx, 0, 19, spatial, global, &batch, &err), TG_EINVAL);
    be->destroy(ctx);
    tg_nn_raw_free(&batch);
    for (int s = 0; s < 3; s++)
        tg_nn_raw_free(&single[s]);
    tg_nn_raw_free(&at9);
}

/* Runs n positions through a fresh context made with TENGEN_NN_CONV = conv. */
static int forward_with(const char *conv, int threads, int n, int len, const float *spatial,
                        const float *global, tg_nn_raw_t *out) {
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    tg_err_t err;
    void *ctx;
    setenv("TENGEN_NN_CONV", conv, 1);
    int rc = be->create(g_model, n, threads, &ctx, &err);
    unsetenv("TENGEN_NN_CONV");
    if (rc < 0) return rc;
    rc = be->forward(ctx, n, len, spatial, global, out, &err);
    be->destroy(ctx);
    return rc;
}

TEST(winograd_matches_im2col) {
    tg_rng_t rng;
    tg_rng_seed(&rng, 11, 0);
    static const struct {
        int len, boards[3], threads;
    } cases[] = {{19, {19, 9, 13}, 2}, {13, {13, 11, 7}, 1}, {9, {9, 5, 9}, 3}, {7, {7, 7, 2}, 2}};
    static float spatial[3 * 22 * HW], global[3 * 19];
    tg_nn_raw_t a, b;
    ASSERT_EQ(tg_nn_raw_alloc(&a, g_model, 3, NULL), 0);
    ASSERT_EQ(tg_nn_raw_alloc(&b, g_model, 3, NULL), 0);
    for (size_t k = 0; k < TG_ARRAY_LEN(cases); k++) {
        int len = cases[k].len, hw = len * len;
        for (int s = 0; s < 3; s++)
            random_inputs(&rng, cases[k].boards[s], len, spatial + s * 22 * hw, global + s * 19);
        ASSERT_EQ(forward_with("im2col", cases[k].threads, 3, len, spatial, global, &a), 0);
        ASSERT_EQ(forward_with("winograd", cases[k].threads, 3, len, spatial, global, &b), 0);
        for (int s = 0; s < 3; s++) {
            double e = compare(&b, s, len, &a, s, len, cases[k].boards[s]);
            printf("  L=%d board %d threads %d: winograd vs im2col max rel err %.2g\n", len,
                   cases[k].boards[s], cases[k].threads, e);
            if (e > 1e-3) TEST__FAIL("L=%d sample %d: winograd vs im2col rel err %g", len, s, e);
        }
    }
    tg_nn_raw_free(&a);
    tg_nn_raw_free(&b);
}

int main(void) {
    if (setup() < 0) return 1;
    RUN(golden_empty_boards);
    RUN(batch_equals_singles_and_small_board_embedding);
    RUN(winograd_matches_im2col);
    tg_model_free(g_model);
    free(g_golden);
    TEST_MAIN_END();
}
