/* test_train_kernels.c: every training kernel (kernels/train_*.cu) against its CPU twin on random
 * inputs, on a GPU; fp32 tight, fp16/bf16 storage with bounds scaled to the storage precision.
 * Skipped (77) without the CUDA backend or a usable device.
 *
 * Twins: train__normact_fwd/bwd, train__gpool_fwd/bwd, train__vpool_fwd/bwd (ops_train.c),
 * train__loss_sample (loss.c), trainer.c's optimizer formula, and the (k,k,ic,oc) <-> KRSC
 * transposes by index. The score-belief and unpack kernels are covered end to end by
 * cuda.train_curve (whole steps vs the CPU trainer). */
#include "cuda_test.h"

#ifdef TENGEN_HAVE_CUDA

#include "test.h"

#include <cuda_runtime_api.h>
#include <string.h>

#include "train/train_internal.h"
#include "train_loss.h"
#include "train_ops.h"
#include "train_optim.h"
#include "util/rng.h"

static tg_rng_t g_rng;

static void *dup_dev(const void *h, size_t bytes) {
    void *d = NULL;
    if (cudaMalloc(&d, bytes ? bytes : 4) != cudaSuccess) return NULL;
    cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
    return d;
}
static void get(void *h, const void *d, size_t bytes) {
    cudaDeviceSynchronize();
    cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost);
}
static void fill(float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(tg_rng_normal(&g_rng) * scale);
}

/* Storage-type round trip on the device: fp32 -> dtype -> fp32 (the CPU twin then sees the
 * same rounded inputs the kernel sees). */
static void *to_dtype(const float *h, size_t n, int dt, float *rounded) {
    float *d = dup_dev(h, n * sizeof(float));
    void *s = NULL;
    cudaMalloc(&s, n * 4);
    tg_cuda_train_from_float(d, n, 1, NULL, s, dt, 0);
    tg_cuda_train_to_float(s, dt, n, 1, NULL, d, 0);
    get(rounded, d, n * sizeof(float));
    cudaFree(d);
    return s;
}
static void from_dtype(float *h, const void *s, size_t n, int dt) {
    float *d = NULL;
    cudaMalloc((void **)&d, n * sizeof(float));
    tg_cuda_train_to_float(s, dt, n, 1, NULL, d, 0);
    get(h, d, n * sizeof(float));
    cudaFree(d);
}

static const int dts[3] = {TG_CUDA_TRAIN_FP32, TG_CUDA_TRAIN_FP16, TG_CUDA_TRAIN_BF16};
static const double dtol[3] = {1e-5, 2e-3, 1.6e-2};

TEST(normact_fwd_bwd) {
    const int n = 3, hw = 49, c = 40;
    const size_t rows = (size_t)n * hw, cnt = rows * c;
    float *x = malloc(cnt * 4), *xr = malloc(cnt * 4), *dy = malloc(cnt * 4),
          *dyr = malloc(cnt * 4);
    float *y = malloc(cnt * 4), *yg = malloc(cnt * 4), *dx = malloc(cnt * 4),
          *dxg = malloc(cnt * 4);
    float gamma[40], beta[40], mask[147], dg[40], db[40], dgg[40], dbg[40];
    fill(x, cnt, 1.0), fill(dy, cnt, 1.0), fill(gamma, c, 0.3), fill(beta, c, 0.3);
    for (size_t r = 0; r < rows; r++)
        mask[r] = (r % hw) % 7 == 6 ? 0.0f : 1.0f;
    for (int k = 0; k < 3; k++) {
        const int dt = dts[k];
        void *dxs = to_dtype(x, cnt, dt, xr), *ddy = to_dtype(dy, cnt, dt, dyr);
        float *dgam = dup_dev(gamma, sizeof gamma), *dbet = dup_dev(beta, sizeof beta);
        float *dmask = dup_dev(mask, sizeof mask);
        void *dys = NULL, *dxo = NULL;
        cudaMalloc(&dys, cnt * 4), cudaMalloc(&dxo, cnt * 4);
        ASSERT_EQ(tg_cuda_train_normact_fwd(dxs, dys, dt, rows, c, dgam, dbet, dmask, 0), 0);
        train__normact_fwd(xr, rows, c, gamma, beta, mask, y);
        from_dtype(yg, dys, cnt, dt);
        ASSERT_CLOSE(yg, y, cnt, dtol[k], dtol[k]);
        /* backward against the kernel's own (rounded) forward output */
        float *zero = calloc(c, 4), *ddg = dup_dev(zero, c * 4), *ddb = dup_dev(zero, c * 4);
        ASSERT_EQ(tg_cuda_train_normact_bwd(dxs, dys, ddy, dxo, dt, rows, c, dgam, ddg, ddb, 0, 0),
                  0);
        memset(dg, 0, sizeof dg), memset(db, 0, sizeof db);
        train__normact_bwd(xr, yg, dyr, rows, c, gamma, dg, db, dx, 0);
        from_dtype(dxg, dxo, cnt, dt);
        get(dgg, ddg, sizeof dgg), get(dbg, ddb, sizeof dbg);
        ASSERT_CLOSE(dxg, dx, cnt, dtol[k], dtol[k]);
        ASSERT_CLOSE(dgg, dg, (size_t)c, 1e-3, 1e-4);
        ASSERT_CLOSE(dbg, db, (size_t)c, 1e-3, 1e-4);
        cudaFree(dxs), cudaFree(ddy), cudaFree(dgam), cudaFree(dbet), cudaFree(dmask);
        cudaFree(dys), cudaFree(dxo), cudaFree(ddg), cudaFree(ddb), free(zero);
    }
    free(x), free(xr), free(dy), free(dyr), free(y), free(yg), free(dx), free(dxg);
}

TEST(pools_fwd_bwd) {
    const int n = 4, hw = 81, c = 24;
    const size_t cnt = (size_t)n * hw * c;
    float *x = malloc(cnt * 4), *xr = malloc(cnt * 4), *din = malloc(cnt * 4),
          *dg = malloc(cnt * 4);
    float mask[324], msum[4], out[4 * 72], outg[4 * 72], dout[4 * 72];
    int arg[4 * 24], argg[4 * 24];
    fill(x, cnt, 1.0), fill(dout, 4 * 72, 1.0);
    for (int s = 0; s < n; s++) {
        const int b = 9 - s; /* boards 9, 8, 7, 6 in a 9x9 tensor */
        msum[s] = 0;
        for (int p = 0; p < hw; p++) {
            mask[s * hw + p] = (p / 9 < b && p % 9 < b) ? 1.0f : 0.0f;
            msum[s] += mask[s * hw + p];
            if (mask[s * hw + p] == 0.0f)
                for (int k = 0; k < c; k++)
                    x[((size_t)s * hw + p) * c + k] = 0.0f;
        }
    }
    for (int k = 0; k < 3; k++) {
        const int dt = dts[k];
        void *dx = to_dtype(x, cnt, dt, xr);
        float *dm = dup_dev(mask, sizeof mask), *dms = dup_dev(msum, sizeof msum);
        float *dout_d = dup_dev(dout, sizeof dout), *o = NULL;
        int *da = NULL;
        void *dd = NULL;
        cudaMalloc((void **)&o, sizeof out), cudaMalloc((void **)&da, sizeof arg);
        cudaMalloc(&dd, cnt * 4);
        /* gpool */
        ASSERT_EQ(tg_cuda_train_gpool_fwd(dx, dt, n, hw, c, dm, dms, o, da, 0), 0);
        for (int s = 0; s < n; s++)
            train__gpool_fwd(xr + (size_t)s * hw * c, mask + s * hw, hw, c, msum[s],
                             out + s * 3 * c, arg + s * c);
        get(outg, o, sizeof outg), get(argg, da, sizeof argg);
        ASSERT_CLOSE(outg, out, (size_t)n * 3 * c, 1e-5, 1e-5);
        for (int i = 0; i < n * c; i++)
            ASSERT_EQ(argg[i], arg[i]);
        ASSERT_EQ(tg_cuda_train_gpool_bwd(dout_d, dm, dms, da, n, hw, c, dd, dt, 0), 0);
        memset(din, 0, cnt * 4);
        for (int s = 0; s < n; s++)
            train__gpool_bwd(dout + s * 3 * c, mask + s * hw, arg + s * c, hw, c, msum[s],
                             din + (size_t)s * hw * c);
        from_dtype(dg, dd, cnt, dt);
        ASSERT_CLOSE(dg, din, cnt, dtol[k], dtol[k]);
        /* value pool */
        ASSERT_EQ(tg_cuda_train_vpool_fwd(dx, dt, n, hw, c, dms, o, 0), 0);
        for (int s = 0; s < n; s++)
            train__vpool_fwd(xr + (size_t)s * hw * c, hw, c, msum[s], out + s * 3 * c);
        get(outg, o, sizeof outg);
        ASSERT_CLOSE(outg, out, (size_t)n * 3 * c, 1e-5, 1e-5);
        ASSERT_EQ(tg_cuda_train_vpool_bwd(dout_d, dm, dms, n, hw, c, dd, dt, 0), 0); /* += */
        for (int s = 0; s < n; s++)
            train__vpool_bwd(dout + s * 3 * c, mask + s * hw, hw, c, msum[s],
                             din + (size_t)s * hw * c);
        from_dtype(dg, dd, cnt, dt);
        ASSERT_CLOSE(dg, din, cnt, 2 * dtol[k], 2 * dtol[k]);
        cudaFree(dx), cudaFree(dm), cudaFree(dms), cudaFree(dout_d), cudaFree(o), cudaFree(da);
        cudaFree(dd);
    }
    free(x), free(xr), free(din), free(dg);
}

TEST(filter_transposes) {
    const int kk = 9, ic = 12, oc = 20;
    const size_t cnt = (size_t)kk * ic * oc;
    float w[9 * 12 * 20], back[9 * 12 * 20], krsc[9 * 12 * 20];
    fill(w, cnt, 1.0);
    float *dw = dup_dev(w, sizeof w), *dk = NULL, *dg = NULL;
    cudaMalloc((void **)&dk, sizeof w);
    memset(back, 0, sizeof back);
    dg = dup_dev(back, sizeof back);
    ASSERT_EQ(tg_cuda_train_w_to_krsc(dw, kk, ic, oc, dk, TG_CUDA_TRAIN_FP32, 0), 0);
    get(krsc, dk, sizeof krsc);
    for (int q = 0; q < kk; q++)
        for (int i = 0; i < ic; i++)
            for (int o = 0; o < oc; o++)
                ASSERT_EQ(krsc[((size_t)o * kk + q) * ic + i] == w[((size_t)q * ic + i) * oc + o],
                          1);
    ASSERT_EQ(tg_cuda_train_dw_from_krsc(dk, TG_CUDA_TRAIN_FP32, kk, ic, oc, dg, 0), 0);
    get(back, dg, sizeof back);
    ASSERT_CLOSE(back, w, cnt, 0.0, 0.0);
    cudaFree(dw), cudaFree(dk), cudaFree(dg);
}

TEST(loss_matches_cpu) {
    const int n = 3, hw = 49, S = 2 * 49 + 120, NP = 6;
    tg_cuda_train_heads_t o, g, od, gd;
    const int cnt[7] = {hw * NP, NP, 3, 10, 8, hw, S};
    float *ho[7], *hg[7], *hgc[7];
    float **fo[7] = {&o.policy, &o.pass, &o.value, &o.misc, &o.moremisc, &o.own, &o.score_logp};
    float **fod[7] = {&od.policy,   &od.pass, &od.value,     &od.misc,
                      &od.moremisc, &od.own,  &od.score_logp};
    float **fgd[7] = {&gd.policy,   &gd.pass, &gd.value,     &gd.misc,
                      &gd.moremisc, &gd.own,  &gd.score_logp};
    for (int a = 0; a < 7; a++) {
        const size_t sz = (size_t)n * cnt[a];
        ho[a] = malloc(sz * 4), hg[a] = malloc(sz * 4), hgc[a] = malloc(sz * 4);
        fill(ho[a], sz, 1.0);
        *fo[a] = ho[a];
        *fod[a] = dup_dev(ho[a], sz * 4);
        cudaMalloc((void **)fgd[a], sz * 4);
    }
    (void)g;
    float mask[147], msum[3], pol[3 * 2 * 50], gt[3 * 80], score[3 * 218], owner[147];
    for (int s = 0; s < n; s++) {
        msum[s] = 0;
        for (int p = 0; p < hw; p++) {
            mask[s * hw + p] = (s == 1 && (p / 7 == 6 || p % 7 == 6)) ? 0.0f : 1.0f;
            msum[s] += mask[s * hw + p];
            owner[s * hw + p] = mask[s * hw + p] * (float)((int)tg_rng_below(&g_rng, 3) - 1);
        }
        for (int p = 0; p < 100; p++)
            pol[s * 100 + p] = (float)tg_rng_below(&g_rng, 30);
        for (int k = 0; k < 80; k++)
            gt[s * 80 + k] = (float)tg_rng_uniform(&g_rng);
        gt[s * 80 + 3] = 5.0f, gt[s * 80 + 21] = -3.0f;
        for (int b = 0; b < S; b++)
            score[s * S + b] = b == S / 2 + s ? 100.0f : 0.0f;
    }
    float *dmask = dup_dev(mask, sizeof mask), *dmsum = dup_dev(msum, sizeof msum);
    float *dpol = dup_dev(pol, sizeof pol), *dgt = dup_dev(gt, sizeof gt);
    float *dscore = dup_dev(score, sizeof score), *down = dup_dev(owner, sizeof owner);
    double *dloss = NULL, hloss[3 * 17];
    cudaMalloc((void **)&dloss, sizeof hloss);
    float scratch[4 * 50 + 2 * 218];
    for (int exact = 0; exact < 2; exact++) {
        const float gscale = exact ? 1.0f : 8.0f;
        ASSERT_EQ(tg_cuda_train_loss(&od, &gd, n, hw, S, dmask, dmsum, dpol, dgt, dscore, down,
                                     exact, gscale, dloss, 0),
                  0);
        get(hloss, dloss, sizeof hloss);
        for (int a = 0; a < 7; a++)
            get(hg[a], *fgd[a], (size_t)n * cnt[a] * 4);
        for (int s = 0; s < n; s++) {
            train_outputs_t oo = {.hw = hw, .score_len = S}, gg = {.hw = hw, .score_len = S};
            float **oo_f[7] = {&oo.policy,   &oo.pass, &oo.value,     &oo.misc,
                               &oo.moremisc, &oo.own,  &oo.score_logp};
            float **gg_f[7] = {&gg.policy,   &gg.pass, &gg.value,     &gg.misc,
                               &gg.moremisc, &gg.own,  &gg.score_logp};
            for (int a = 0; a < 7; a++) {
                *oo_f[a] = ho[a] + (size_t)s * cnt[a];
                *gg_f[a] = hgc[a] + (size_t)s * cnt[a];
            }
            double l[17] = {0};
            train__loss_sample(&oo, &gg, mask + s * hw, msum[s], pol + s * 100, gt + s * 80,
                               score + s * S, owner + s * hw, exact, l, scratch);
            for (int k = 0; k < 17; k++)
                if (!(fabs(hloss[s * 17 + k] - l[k]) <= 1e-9 + 1e-6 * fabs(l[k])))
                    TEST__FAIL("sample %d term %s: %.12g vs %.12g", s, train_loss_name(k),
                               hloss[s * 17 + k], l[k]);
        }
        for (int a = 0; a < 7; a++) {
            for (size_t i = 0; i < (size_t)n * cnt[a]; i++)
                hgc[a][i] *= gscale;
            ASSERT_CLOSE(hg[a], hgc[a], (size_t)n * cnt[a], 1e-7, 1e-4);
        }
    }
    for (int a = 0; a < 7; a++)
        cudaFree(*fod[a]), cudaFree(*fgd[a]), free(ho[a]), free(hg[a]), free(hgc[a]);
    cudaFree(dmask), cudaFree(dmsum), cudaFree(dpol), cudaFree(dgt), cudaFree(dscore);
    cudaFree(down), cudaFree(dloss);
}

TEST(optimizer_matches_formula) {
    const size_t np = 100003;
    float *p = malloc(np * 4), *g = malloc(np * 4), *v = malloc(np * 4), *pg = malloc(np * 4);
    uint8_t *grp = malloc(np);
    fill(p, np, 1.0), fill(g, np, 3.0), fill(v, np, 0.1);
    for (size_t i = 0; i < np; i++)
        grp[i] = (uint8_t)(i % 4);
    float *dp = dup_dev(p, np * 4), *dg = dup_dev(g, np * 4), *dv = dup_dev(v, np * 4);
    uint8_t *dgrp = dup_dev(grp, np);
    double *part = NULL, *ss = NULL, hss;
    int *skip = NULL, hskip = -1;
    cudaMalloc((void **)&part, TG_CUDA_TRAIN_SUMSQ_PART * 8), cudaMalloc((void **)&ss, 8);
    cudaMalloc((void **)&skip, 4);
    const float scale = 4.0f;
    ASSERT_EQ(tg_cuda_train_sumsq(dg, np, part, ss, 0), 0);
    get(&hss, ss, 8);
    double ref = 0;
    for (size_t i = 0; i < np; i++)
        ref += (double)g[i] * g[i];
    ASSERT_NEAR(hss, ref, 1e-9 * ref);
    tg_cuda_sgd_args_t a = {.lr = {1e-3f, 2e-3f, 5e-4f, 1e-4f},
                            .wd = {1e-6f, 1e-8f, 1e-6f, 1e-8f},
                            .momentum = 0.9f,
                            .inv_scale = 1.0f / scale};
    a.clip_cap = 0.5 * sqrt(ref) / scale; /* clips by 2 */
    ASSERT_EQ(tg_cuda_train_sgd(dp, dg, dv, dgrp, np, &a, ss, skip, 0), 0);
    get(pg, dp, np * 4), get(&hskip, skip, 4);
    ASSERT_EQ(hskip, 0);
    const float gs = (float)(a.clip_cap / (sqrt(ref) / scale));
    for (size_t i = 0; i < np; i++) {
        v[i] = 0.9f * v[i] + (g[i] * a.inv_scale * gs + a.wd[grp[i]] * p[i]);
        p[i] -= a.lr[grp[i]] * v[i];
    }
    ASSERT_CLOSE(pg, p, np, 1e-7, 1e-6);
    g[7] = INFINITY; /* a non-finite gradient skips the step */
    cudaMemcpy(dg, g, np * 4, cudaMemcpyHostToDevice);
    ASSERT_EQ(tg_cuda_train_sumsq(dg, np, part, ss, 0), 0);
    ASSERT_EQ(tg_cuda_train_sgd(dp, dg, dv, dgrp, np, &a, ss, skip, 0), 0);
    float *pg2 = malloc(np * 4);
    get(pg2, dp, np * 4), get(&hskip, skip, 4);
    ASSERT_EQ(hskip, 1);
    ASSERT_CLOSE(pg2, pg, np, 0.0, 0.0);
    cudaFree(dp), cudaFree(dg), cudaFree(dv), cudaFree(dgrp), cudaFree(part), cudaFree(ss);
    cudaFree(skip), free(p), free(g), free(v), free(pg), free(pg2), free(grp);
}

int main(void) {
    cuda_test_require_device();
    tg_rng_seed(&g_rng, 2024, 5);
    RUN(normact_fwd_bwd);
    RUN(pools_fwd_bwd);
    RUN(filter_transposes);
    RUN(loss_matches_cpu);
    RUN(optimizer_matches_formula);
    TEST_MAIN_END();
}

#else

int main(void) {
    printf("SKIP: CUDA backend not built\n");
    return 77;
}

#endif
