/* test_grad.c: finite-difference gradient checks of the training net.
 *
 * Every op's backward is checked: convolutions (1x1, 3x3, 5x5) directly against a naive
 * reference and central differences, and the whole net on the tiny "b2c8test" config (one
 * regular and one gpool block, all heads, score belief), tensor by tensor, on a 5x5 board with
 * a masked 4x4 row, under a non-trivial symmetry (with the net's default Winograd convolutions;
 * wino_net_matches_im2col compares them with the im2col path on the whole net). Loss gradients use
 * the exact derivatives (KataGo's floored softplus gradients and stop-gradients are checked in
 * test_loss). The 2-thread gradient must equal the 1-thread one up to float summation order. */
#include <math.h>

#include "../test.h"
#include "train/train_internal.h"
#include "train_testdata.h"

/* Naive conv in double: out[r][o] = sum w[dy][dx][i][o] in[r + shift][i]. */
static void conv_ref(const float *w, int k, int ic, int oc, const float *in, int n, int len,
                     double *out) {
    const int hw = len * len, pad = k / 2;
    for (int s = 0; s < n; s++)
        for (int y = 0; y < len; y++)
            for (int x = 0; x < len; x++)
                for (int o = 0; o < oc; o++) {
                    double acc = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++) {
                            int yy = y + dy - pad, xx = x + dx - pad;
                            if (yy < 0 || yy >= len || xx < 0 || xx >= len) continue;
                            for (int i = 0; i < ic; i++)
                                acc += (double)w[((dy * k + dx) * ic + i) * oc + o] *
                                       in[((size_t)s * hw + yy * len + xx) * ic + i];
                        }
                    out[((size_t)s * hw + y * len + x) * oc + o] = acc;
                }
}

static void check_conv(int k) {
    const int n = 2, len = 6, ic = 3, oc = 4, hw = len * len, K = k * k * ic;
    tg_rng_t rng;
    tg_rng_seed(&rng, 7, (uint64_t)k);
    float *w = malloc(sizeof(float) * K * oc), *in = malloc(sizeof(float) * n * hw * ic);
    float *out = malloc(sizeof(float) * n * hw * oc), *r = malloc(sizeof(float) * n * hw * oc);
    float *dw = calloc((size_t)K * oc, sizeof(float)), *din = malloc(sizeof(float) * n * hw * ic);
    float *scratch = malloc(sizeof(float) * 2 * TRAIN_CONV_CHUNK * K);
    double *ref = malloc(sizeof(double) * n * hw * oc);
    for (int i = 0; i < K * oc; i++)
        w[i] = (float)tg_rng_normal(&rng);
    for (int i = 0; i < n * hw * ic; i++)
        in[i] = (float)tg_rng_normal(&rng);
    for (int i = 0; i < n * hw * oc; i++)
        r[i] = (float)tg_rng_normal(&rng);
    train__conv_fwd(w, k, ic, oc, in, n, len, out, scratch);
    conv_ref(w, k, ic, oc, in, n, len, ref);
    double maxerr = 0;
    for (int i = 0; i < n * hw * oc; i++)
        maxerr = fmax(maxerr, fabs(out[i] - ref[i]));
    ASSERT_NEAR(maxerr, 0.0, 1e-4);
    /* L = sum r * out: dL/dw and dL/din against central differences of the double reference. */
    train__conv_bwd(w, k, ic, oc, in, n, len, r, dw, din, 0, scratch);
    for (int t = 0; t < 12; t++) {
        int iw = (int)tg_rng_below(&rng, (uint32_t)(K * oc));
        float keep = w[iw];
        double lp = 0, lm = 0;
        w[iw] = keep + 1e-2f;
        conv_ref(w, k, ic, oc, in, n, len, ref);
        for (int i = 0; i < n * hw * oc; i++)
            lp += r[i] * ref[i];
        w[iw] = keep - 1e-2f;
        conv_ref(w, k, ic, oc, in, n, len, ref);
        for (int i = 0; i < n * hw * oc; i++)
            lm += r[i] * ref[i];
        w[iw] = keep;
        ASSERT_NEAR(dw[iw], (lp - lm) / 2e-2, 1e-3 * (1 + fabs(dw[iw])));
        int ii = (int)tg_rng_below(&rng, (uint32_t)(n * hw * ic));
        keep = in[ii];
        lp = lm = 0;
        in[ii] = keep + 1e-2f;
        conv_ref(w, k, ic, oc, in, n, len, ref);
        for (int i = 0; i < n * hw * oc; i++)
            lp += r[i] * ref[i];
        in[ii] = keep - 1e-2f;
        conv_ref(w, k, ic, oc, in, n, len, ref);
        for (int i = 0; i < n * hw * oc; i++)
            lm += r[i] * ref[i];
        in[ii] = keep;
        ASSERT_NEAR(din[ii], (lp - lm) / 2e-2, 1e-3 * (1 + fabs(din[ii])));
    }
    free(w), free(in), free(out), free(r), free(dw), free(din), free(scratch), free(ref);
}

TEST(conv1x1) { check_conv(1); }
TEST(conv3x3) { check_conv(3); }
TEST(conv5x5) { check_conv(5); }

/* gpool / vpool backward against central differences on one sample with a partial mask. */
TEST(pools) {
    const int hw = 9, c = 3;
    float in[27], mask[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0}, out[9], d[9], din[27];
    int arg[3];
    tg_rng_t rng;
    tg_rng_seed(&rng, 3, 3);
    for (int i = 0; i < 27; i++)
        in[i] = mask[i / c] * (float)tg_rng_uniform(&rng);
    for (int i = 0; i < 9; i++)
        d[i] = (float)tg_rng_normal(&rng);
    for (int kind = 0; kind < 2; kind++) {
        memset(din, 0, sizeof(din));
        if (kind == 0) {
            train__gpool_fwd(in, mask, hw, c, 4.0f, out, arg);
            train__gpool_bwd(d, mask, arg, hw, c, 4.0f, din);
        } else {
            train__vpool_fwd(in, hw, c, 4.0f, out);
            train__vpool_bwd(d, mask, hw, c, 4.0f, din);
        }
        for (int i = 0; i < 27; i++) {
            if (mask[i / c] == 0) continue;
            float keep = in[i];
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                in[i] = keep + (sgn ? -1e-3f : 1e-3f);
                if (kind == 0)
                    train__gpool_fwd(in, mask, hw, c, 4.0f, out, arg);
                else
                    train__vpool_fwd(in, hw, c, 4.0f, out);
                l[sgn] = 0;
                for (int j = 0; j < 9; j++)
                    l[sgn] += d[j] * out[j];
            }
            in[i] = keep;
            ASSERT_NEAR(din[i], (l[0] - l[1]) / 2e-3, 2e-3);
        }
    }
}

static trainer_t *make_trainer_of(const char *kind, int pos_len, int batch, int threads) {
    train_config_t cfg;
    if (train_config_by_name(kind, &cfg)) return NULL;
    train_options_t o;
    train_options_default(&o, &cfg);
    o.pos_len = pos_len;
    o.batch = batch;
    o.threads = threads;
    o.seed = 11;
    trainer_t *t = NULL;
    tg_err_t err;
    if (trainer_create(&t, &o, &err)) return NULL;
    /* Move every parameter off its init (fixup zeros would hide paths). */
    train_model_t *m = trainer_model(t);
    tg_rng_t rng;
    tg_rng_seed(&rng, 5, 5);
    for (size_t i = 0; i < m->num_params; i++)
        m->params[i] += (float)(tg_rng_normal(&rng) * 0.15);
    return t;
}

static trainer_t *make_trainer(int threads, trainrows_t *tr) {
    (void)tr;
    return make_trainer_of("b2c8test", 5, 3, threads);
}

TEST(whole_net) {
    trainrows_t tr;
    tg_err_t err;
    ASSERT_EQ(trainrows_init(&tr, 5, 3, &err), 0);
    testdata_fill(&tr, 3, 42);
    trainer_t *t = make_trainer(1, &tr);
    ASSERT_TRUE(t != NULL);
    trainer__set_exact_grad(t, 1);
    train_model_t *m = trainer_model(t);
    const int rows[3] = {0, 1, 2}, sym = 5;
    train_stats_t st;
    ASSERT_EQ(trainer_compute_grads(t, &tr, rows, 3, sym, &st, &err), 0);
    ASSERT_TRUE(isfinite(st.loss_total) && st.loss_total > 0);
    float *g = malloc(sizeof(float) * m->num_params);
    memcpy(g, m->grads, sizeof(float) * m->num_params);
    tg_rng_t rng;
    tg_rng_seed(&rng, 9, 9);
    int checked = 0, bad = 0;
    for (int ti = 0; ti < m->num_tensors; ti++) {
        const train_tensor_t *tt = &m->tensors[ti];
        double gmax = 0;
        for (size_t i = 0; i < tt->count; i++)
            gmax = fmax(gmax, fabs(g[tt->offset + i]));
        for (int probe = 0; probe < 4; probe++) {
            size_t i = tt->offset + tg_rng_below(&rng, (uint32_t)tt->count);
            float keep = m->params[i];
            const float eps = 2e-3f;
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                m->params[i] = keep + (sgn ? -eps : eps);
                train_stats_t s2;
                trainer_compute_grads(t, &tr, rows, 3, sym, &s2, &err);
                l[sgn] = s2.loss_total;
            }
            m->params[i] = keep;
            double fd = (l[0] - l[1]) / (2.0 * eps);
            double tol = getenv("TRAIN_GRAD_VERBOSE") ? 0.0 : 2e-3 + 0.03 * fabs(fd) + 0.01 * gmax;
            checked++;
            if (fabs(fd - g[i]) > tol) {
                bad++;
                printf("  %s[%zu]: analytic %.6g fd %.6g\n", tt->name, i - tt->offset, g[i], fd);
            }
        }
    }
    printf("  checked %d parameters in %d tensors\n", checked, m->num_tensors);
    ASSERT_EQ(bad, 0);
    free(g);
    trainer_destroy(t);
    trainrows_free(&tr);
}

TEST(threads_agree) {
    trainrows_t tr;
    tg_err_t err;
    ASSERT_EQ(trainrows_init(&tr, 5, 3, &err), 0);
    testdata_fill(&tr, 3, 43);
    trainer_t *t1 = make_trainer(1, &tr), *t2 = make_trainer(2, &tr);
    ASSERT_TRUE(t1 && t2);
    const int rows[3] = {0, 1, 2};
    train_stats_t s1, s2;
    ASSERT_EQ(trainer_compute_grads(t1, &tr, rows, 3, 2, &s1, &err), 0);
    ASSERT_EQ(trainer_compute_grads(t2, &tr, rows, 3, 2, &s2, &err), 0);
    ASSERT_NEAR(s1.loss_total, s2.loss_total, 1e-4 * fabs(s1.loss_total));
    train_model_t *m1 = trainer_model(t1), *m2 = trainer_model(t2);
    double maxd = 0, maxg = 0;
    for (size_t i = 0; i < m1->num_params; i++) {
        maxd = fmax(maxd, fabs(m1->grads[i] - m2->grads[i]));
        maxg = fmax(maxg, fabs(m1->grads[i]));
    }
    ASSERT_TRUE(maxg > 0);
    ASSERT_NEAR(maxd, 0.0, 1e-4 * maxg);
    trainer_destroy(t1);
    trainer_destroy(t2);
    trainrows_free(&tr);
}

/* The whole net's loss and gradient with Winograd convolutions (the default) against the im2col
 * reference path, tensor by tensor: on b2c8test at 5x5 (whole_net's setting) and b4c32 at 9x9
 * (32-channel trunk, 22-channel input layer, a board side that is not a multiple of the 4x4
 * tile). */
static void check_wino_vs_im2col(const char *kind, int pos_len, int n) {
    trainrows_t tr;
    tg_err_t err;
    ASSERT_EQ(trainrows_init(&tr, pos_len, n, &err), 0);
    testdata_fill(&tr, n, 44);
    trainer_t *t = make_trainer_of(kind, pos_len, n, 1);
    ASSERT_TRUE(t != NULL);
    train_model_t *m = trainer_model(t);
    int rows[8];
    for (int i = 0; i < n; i++)
        rows[i] = i;
    train_stats_t sw, sr;
    ASSERT_EQ(trainer_compute_grads(t, &tr, rows, n, 3, &sw, &err), 0);
    float *g = malloc(sizeof(float) * m->num_params);
    memcpy(g, m->grads, sizeof(float) * m->num_params);
    trainer__set_conv_ref(t, 1);
    ASSERT_EQ(trainer_compute_grads(t, &tr, rows, n, 3, &sr, &err), 0);
    ASSERT_NEAR(sw.loss_total, sr.loss_total, 1e-5 * fabs(sr.loss_total));
    /* Bound per tensor: 1e-4 of its largest gradient, plus 1e-5 of the net's largest (tensors whose
     * gradient is a near-cancelling sum, like a softmax bias, are ~1e-7 in both paths). */
    double gmax = 0;
    for (size_t i = 0; i < m->num_params; i++)
        gmax = fmax(gmax, fabs((double)m->grads[i]));
    ASSERT_TRUE(gmax > 0);
    int bad = 0;
    for (int ti = 0; ti < m->num_tensors; ti++) {
        const train_tensor_t *tt = &m->tensors[ti];
        double d = 0, s = 0;
        for (size_t i = 0; i < tt->count; i++) {
            d = fmax(d, fabs((double)g[tt->offset + i] - m->grads[tt->offset + i]));
            s = fmax(s, fabs((double)m->grads[tt->offset + i]));
        }
        if (d > 1e-4 * s + 1e-5 * gmax) {
            bad++;
            printf("  %s %s: max diff %.3g, max |grad| %.3g\n", kind, tt->name, d, s);
        }
    }
    ASSERT_EQ(bad, 0);
    free(g);
    trainer_destroy(t);
    trainrows_free(&tr);
}

TEST(wino_net_matches_im2col) {
    check_wino_vs_im2col("b2c8test", 5, 3);
    check_wino_vs_im2col("b4c32", 9, 2);
}

int main(void) {
    RUN(conv1x1);
    RUN(conv3x3);
    RUN(conv5x5);
    RUN(pools);
    RUN(whole_net);
    RUN(threads_agree);
    RUN(wino_net_matches_im2col);
    TEST_MAIN_END();
}
