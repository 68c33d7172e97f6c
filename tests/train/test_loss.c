/* test_loss.c: each loss term against a hand-computed value, and the loss gradient w.r.t. the
 * head outputs against central differences (exact mode) plus KataGo's floored softplus. */
#include <math.h>

#include "../test.h"
#include "train/train_internal.h"

enum { HW = 4, S = 2 * (HW + 60) }; /* a 2x2 board: score_len = 2*(L*L + 60) */

typedef struct fixture_s {
    float policy[HW * 6], pass[6], value[3], misc[10], moremisc[8], own[HW], logp[S];
    float gpolicy[HW * 6], gpass[6], gvalue[3], gmisc[10], gmoremisc[8], gown[HW], glogp[S];
    float mask[HW], ptarget[2 * (HW + 1)], gt[80], score[S], owner[HW];
    float scratch[4 * (HW + 1) + 2 * S];
    train_outputs_t o, g;
} fixture_t;

static void fixture_init(fixture_t *f) {
    memset(f, 0, sizeof(*f));
    f->o = (train_outputs_t){HW,      S,           f->policy, f->pass, f->value,
                             f->misc, f->moremisc, f->own,    f->logp};
    f->g = (train_outputs_t){HW,           S,       f->gpolicy, f->gpass, f->gvalue, f->gmisc,
                             f->gmoremisc, f->gown, f->glogp};
    for (int p = 0; p < HW; p++)
        f->mask[p] = 1;
    for (int i = 0; i < S; i++)
        f->logp[i] = (float)-log((double)S); /* uniform belief */
    f->ptarget[0] = 50;                      /* one-hot at point 0 */
    for (int p = 0; p <= HW; p++)
        f->ptarget[HW + 1 + p] = 7;     /* uniform opponent target */
    f->gt[0] = 1;                       /* win */
    f->gt[3] = 5;                       /* final score */
    f->gt[4] = 1;                       /* TD 1: (1,0,0) */
    f->gt[8] = 0.5f, f->gt[9] = 0.5f;   /* TD 2: (.5,.5,0) */
    f->gt[12] = 0.7f, f->gt[13] = 0.3f; /* TD 3: (.7,.3,0) */
    f->gt[7] = 7, f->gt[11] = 30, f->gt[15] = 3;
    f->gt[TRAINROWS_GT_LEAD] = 0;
    f->gt[TRAINROWS_GT_VARIANCE_TIME] = 0;
    f->gt[25] = f->gt[26] = f->gt[27] = f->gt[28] = f->gt[29] = 1;
    f->score[S / 2] = 100; /* score +0.5 */
    f->owner[0] = 1, f->owner[1] = -1;
    f->moremisc[5] = 0.5f, f->moremisc[6] = 0.5f, f->moremisc[7] = 0.0f;
    f->misc[0] = 0.1f, f->misc[2] = 1.0f;
}

static void run(fixture_t *f, int exact, double *loss) {
    memset(loss, 0, sizeof(double) * TRAIN_LOSS_COUNT);
    train__loss_sample(&f->o, &f->g, f->mask, (float)HW, f->ptarget, f->gt, f->score, f->owner,
                       exact, loss, f->scratch);
}

static double huber(double x, double d) {
    return fabs(x) > d ? 0.5 * d * d + d * (fabs(x) - d) : 0.5 * x * x;
}

TEST(hand_values) {
    static fixture_t f;
    fixture_init(&f);
    double l[TRAIN_LOSS_COUNT];
    run(&f, 0, l);
    const double l5 = log(5.0), l3 = log(3.0), tol = 1e-5;
    /* Zero logits: CE = log(5) for any normalised target over 4 points + pass. */
    ASSERT_NEAR(l[TRAIN_LOSS_POLICY], 0.93 * l5, tol);
    ASSERT_NEAR(l[TRAIN_LOSS_POLICY_OPP], 0.15 * l5, tol);
    ASSERT_NEAR(l[TRAIN_LOSS_POLICY_SOFT], 8.0 * l5, tol);
    ASSERT_NEAR(l[TRAIN_LOSS_POLICY_OPP_SOFT], 8.0 * 0.15 * l5, tol);
    ASSERT_NEAR(l[TRAIN_LOSS_POLICY_OPT], (0.05 + 0.1) * l5, tol);
    ASSERT_NEAR(l[TRAIN_LOSS_VALUE], 0.72 * l3, tol);
    /* TD value: CE - entropy(target): (1,0,0) -> log3; (.5,.5,0) -> log3 - log2;
     * (.7,.3,0) -> log3 - H(.7,.3). */
    double h73 = -(0.7 * log(0.7) + 0.3 * log(0.3));
    ASSERT_NEAR(l[TRAIN_LOSS_TD_VALUE], 0.72 * (3 * l3 - log(2.0) - h73), 1e-4);
    /* TD score: preds 10, 10, 0 vs 7, 30, 3. */
    ASSERT_NEAR(l[TRAIN_LOSS_TD_SCORE], 0.0004 * (huber(3, 12) + huber(-20, 12) + huber(-3, 12)),
                tol);
    ASSERT_NEAR(l[TRAIN_LOSS_OWNERSHIP], 1.5 * log(2.0), tol); /* pretanh 0: BCE = log 2 */
    ASSERT_NEAR(l[TRAIN_LOSS_SCORE_MEAN], 0.0015 * huber(2.0 - 5.0, 12), tol);
    ASSERT_NEAR(l[TRAIN_LOSS_LEAD], 0.006 * huber(20.0, 8), 1e-4);
    ASSERT_NEAR(l[TRAIN_LOSS_VARIANCE_TIME], 0.0003 * huber(40 * log(2.0) - 1e-5, 50), 1e-4);
    ASSERT_NEAR(l[TRAIN_LOSS_SCORE_PDF], 0.02 * log((double)S), 1e-4);
    double cdf = 0, P = 0, T = 0, var = 0;
    for (int i = 0; i < S; i++) {
        P += 1.0 / S;
        T += i == S / 2 ? 1.0 : 0.0;
        cdf += (P - T) * (P - T);
        double o = (i - S / 2) + 0.5;
        var += o * o / S;
    }
    ASSERT_NEAR(l[TRAIN_LOSS_SCORE_CDF], 0.02 * cdf, 1e-5);
    ASSERT_NEAR(l[TRAIN_LOSS_SCORE_STDEV], 0.001 * huber(20 * log(2.0) - sqrt(0.001 + var), 10),
                1e-4);
    /* Short-term errors: predicted value 0 (uniform), actual 0.7 - 0.3 = 0.4. */
    double lg2 = log(2.0);
    ASSERT_NEAR(l[TRAIN_LOSS_ST_VALUE_ERR], 2.0 * huber(0.25 * lg2 * lg2 - (0.16 + 1e-8), 0.4),
                1e-6);
    ASSERT_NEAR(l[TRAIN_LOSS_ST_SCORE_ERR], 0.00002 * huber(150 * lg2 * lg2 - (9 + 1e-4), 100),
                1e-6);
}

TEST(weights_zero_terms) {
    static fixture_t f;
    fixture_init(&f);
    f.gt[27] = 0; /* no ownership/score target: value-like terms vanish, policy/value stay */
    f.gt[29] = 0;
    double l[TRAIN_LOSS_COUNT];
    run(&f, 0, l);
    ASSERT_NEAR(l[TRAIN_LOSS_OWNERSHIP], 0, 0);
    ASSERT_NEAR(l[TRAIN_LOSS_SCORE_PDF], 0, 0);
    ASSERT_NEAR(l[TRAIN_LOSS_LEAD], 0, 0);
    ASSERT_TRUE(l[TRAIN_LOSS_POLICY] > 0 && l[TRAIN_LOSS_VALUE] > 0);
    f.gt[25] = 0.5f; /* row weight halves the policy term */
    f.gt[27] = 1;
    double l2[TRAIN_LOSS_COUNT];
    run(&f, 0, l2);
    ASSERT_NEAR(l2[TRAIN_LOSS_POLICY], 0.5 * l[TRAIN_LOSS_POLICY], 1e-6);
}

/* All output gradients against central differences, at random outputs (exact mode). */
TEST(output_gradients) {
    static fixture_t f;
    fixture_init(&f);
    tg_rng_t rng;
    tg_rng_seed(&rng, 1, 2);
    float *groups[7] = {f.policy, f.pass, f.value, f.misc, f.moremisc, f.own, f.logp};
    float *ggroups[7] = {f.gpolicy, f.gpass, f.gvalue, f.gmisc, f.gmoremisc, f.gown, f.glogp};
    const int sizes[7] = {HW * 6, 6, 3, 10, 8, HW, S};
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < sizes[k]; i++)
            groups[k][i] = (float)(tg_rng_normal(&rng) * 0.5);
    for (int i = 0; i < S; i++)
        f.logp[i] = (float)(tg_rng_normal(&rng) * 0.5);
    double l[TRAIN_LOSS_COUNT];
    run(&f, 1, l);
    float saved[S];
    for (int k = 0; k < 7; k++) {
        memcpy(saved, ggroups[k], sizeof(float) * sizes[k]);
        for (int i = 0; i < sizes[k]; i += (k == 6 ? 7 : 1)) {
            float keep = groups[k][i];
            double tot[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                groups[k][i] = keep + (sgn ? -1e-3f : 1e-3f);
                run(&f, 1, l);
                tot[sgn] = 0;
                for (int j = 0; j < TRAIN_LOSS_COUNT; j++)
                    tot[sgn] += l[j];
            }
            groups[k][i] = keep;
            double fd = (tot[0] - tot[1]) / 2e-3;
            ASSERT_NEAR(saved[i], fd, 2e-3 + 2e-3 * fabs(fd));
        }
    }
    /* KataGo's floor: at a very negative pre-softplus the variance-time gradient stays
     * >= 0.05 * coefficient instead of vanishing. */
    f.misc[3] = -20.0f;
    f.gt[TRAINROWS_GT_VARIANCE_TIME] = 1.0f; /* Huber slope ~ -1 */
    run(&f, 0, l);
    ASSERT_NEAR(f.gmisc[3], -0.0003 * 40 * 0.05, 1e-6);
    double dfl, dex;
    train__softplus_floor(-20.0, 0, 0, &dfl);
    train__softplus_floor(-20.0, 0, 1, &dex);
    ASSERT_NEAR(dfl, 0.05, 1e-12);
    ASSERT_TRUE(dex < 1e-8);
}

int main(void) {
    RUN(hand_values);
    RUN(weights_zero_terms);
    RUN(output_gradients);
    TEST_MAIN_END();
}
