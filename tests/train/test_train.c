/* test_train.c: end-to-end training on KataGo's benchmark_data_1024.npz (fixtures).
 *
 *  - overfit: 16 fixed rows, b2c16: the policy cross-entropy falls to near the targets' own
 *    entropy (KL -> ~0), from ~log(361) at init.
 *  - learns: random batches over all 1024 rows with symmetries: the loss of the last steps is
 *    clearly below the first steps'.
 *  - resume: N steps straight == N/2 steps, save, load into a fresh trainer, N/2 steps, bit for
 *    bit (params, momentum, counters), across a lookahead sync; corrupt files are refused.
 *  - resume with SWA: the same, plus the SWA average and its snapshot count, with the save
 *    point between two snapshots (the sample accumulator must come along). */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "../test.h"
#include "train/train.h"

static int load_bench(trainrows_t *tr) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    tg_err_t err;
    memset(tr, 0, sizeof(*tr));
    if (trainrows_load_npz(tr, path, &err)) {
        printf("  cannot load %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* dst gets rows [r0, r0 + n) of src. */
static int copy_rows(const trainrows_t *src, int r0, int n, trainrows_t *dst) {
    tg_err_t err;
    if (trainrows_init(dst, src->pos_len, n, &err)) return -1;
    for (int i = 0; i < n; i++) {
        int r = trainrows_append(dst), s = r0 + i;
        memcpy(trainrows_binary_row(dst, r), trainrows_binary_row(src, s),
               (size_t)TRAINROWS_BIN_CHANNELS * src->packed_len);
        memcpy(trainrows_global_input_row(dst, r), trainrows_global_input_row(src, s),
               sizeof(float) * TRAINROWS_GLOBAL_INPUTS);
        memcpy(trainrows_policy_row(dst, r), trainrows_policy_row(src, s),
               sizeof(int16_t) * 2 * src->policy_len);
        memcpy(trainrows_global_targets_row(dst, r), trainrows_global_targets_row(src, s),
               sizeof(float) * TRAINROWS_GLOBAL_TARGETS);
        memcpy(trainrows_score_distr_row(dst, r), trainrows_score_distr_row(src, s),
               (size_t)src->score_len);
        memcpy(trainrows_value_row(dst, r), trainrows_value_row(src, s),
               (size_t)TRAINROWS_VALUE_CHANNELS * src->area);
    }
    return 0;
}

static trainer_t *make_swa(const char *kind, int batch, int threads, double lr, int sym,
                           train_sample_t sample, int swa, int64_t swa_period) {
    train_config_t cfg;
    if (train_config_by_name(kind, &cfg)) return NULL;
    train_options_t o;
    train_options_default(&o, &cfg);
    o.batch = batch;
    o.threads = threads;
    o.seed = 3;
    o.lr_per_sample = lr;
    o.warmup = 0;
    o.symmetries = sym;
    o.sample = sample;
    o.swa = swa;
    o.swa_period_samples = swa_period;
    trainer_t *t = NULL;
    tg_err_t err;
    if (trainer_create(&t, &o, &err)) {
        printf("  trainer_create: %s\n", err.msg);
        return NULL;
    }
    return t;
}

static trainer_t *make(const char *kind, int batch, int threads, double lr, int sym,
                       train_sample_t sample) {
    return make_swa(kind, batch, threads, lr, sym, sample, 0, 1);
}

TEST(overfit_small_batch) {
    trainrows_t all, few;
    if (load_bench(&all)) TEST__FAIL("fixture missing");
    ASSERT_EQ(copy_rows(&all, 100, 16, &few), 0);
    /* Mean entropy of the 16 normalised policy targets: the floor of the policy CE. */
    double ent = 0;
    for (int r = 0; r < 16; r++) {
        const int16_t *p = trainrows_policy_row(&few, r);
        double sum = 0;
        for (int i = 0; i < few.policy_len; i++)
            sum += p[i];
        for (int i = 0; i < few.policy_len; i++)
            if (p[i] > 0) ent -= p[i] / sum * log(p[i] / sum);
    }
    ent /= 16;
    trainer_t *t = make("b2c16", 16, 2, 3e-3, 0, TRAIN_SAMPLE_SEQUENTIAL);
    ASSERT_TRUE(t != NULL);
    const trainrows_t *ds[1] = {&few};
    train_stats_t st;
    tg_err_t err;
    double first = 0, last = 0;
    for (int s = 0; s < 260; s++) {
        ASSERT_EQ(trainer_step(t, ds, 1, &st, &err), 0);
        double ce = st.loss[TRAIN_LOSS_POLICY] / 0.93 / 16;
        if (s == 0) first = ce;
        last = ce;
        ASSERT_TRUE(isfinite(st.loss_total));
    }
    printf("  policy CE %.3f -> %.3f (target entropy %.3f)\n", first, last, ent);
    ASSERT_TRUE(first > 4.0);
    ASSERT_NEAR(last - ent, 0.0, 0.15);
    trainer_destroy(t);
    trainrows_free(&few);
    trainrows_free(&all);
}

TEST(loss_falls) {
    trainrows_t all;
    if (load_bench(&all)) TEST__FAIL("fixture missing");
    trainer_t *t = make("b2c16", 16, 2, 3e-4, 1, TRAIN_SAMPLE_RANDOM);
    ASSERT_TRUE(t != NULL);
    const trainrows_t *ds[1] = {&all};
    train_stats_t st;
    tg_err_t err;
    const int steps = 200, win = 25;
    double head = 0, tail = 0, phead = 0, ptail = 0;
    for (int s = 0; s < steps; s++) {
        ASSERT_EQ(trainer_step(t, ds, 1, &st, &err), 0);
        if (s < win) head += st.loss_total, phead += st.loss[TRAIN_LOSS_POLICY];
        if (s >= steps - win) tail += st.loss_total, ptail += st.loss[TRAIN_LOSS_POLICY];
    }
    printf("  loss/row %.3f -> %.3f, policy/row %.3f -> %.3f\n", head / win / 16, tail / win / 16,
           phead / win / 16, ptail / win / 16);
    ASSERT_EQ(trainer_samples(t), steps * 16);
    ASSERT_TRUE(tail < 0.95 * head); /* the total is mostly the 8x soft policy term */
    ASSERT_TRUE(ptail < 0.85 * phead);
    trainer_destroy(t);
    trainrows_free(&all);
}

TEST(resume_bit_identical) {
    trainrows_t all;
    if (load_bench(&all)) TEST__FAIL("fixture missing");
    const trainrows_t *ds[1] = {&all};
    tg_err_t err;
    const int N = 14; /* crosses lookahead syncs at 6 and 12 and the save point 7 */
    trainer_t *a = make("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM);
    ASSERT_TRUE(a != NULL);
    for (int s = 0; s < N; s++)
        ASSERT_EQ(trainer_step(a, ds, 1, NULL, &err), 0);

    char path[256];
    snprintf(path, sizeof(path), "/tmp/tengen_train_ckpt_%d.bin", (int)getpid());
    trainer_t *b = make("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM);
    for (int s = 0; s < N / 2; s++)
        ASSERT_EQ(trainer_step(b, ds, 1, NULL, &err), 0);
    ASSERT_EQ(trainer_save(b, path, &err), 0);
    trainer_destroy(b);
    trainer_t *c = make("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM);
    /* a fresh trainer with another seed's init must be fully overwritten by the load */
    ASSERT_EQ(trainer_load(c, path, &err), 0);
    ASSERT_EQ(trainer_steps(c), N / 2);
    for (int s = N / 2; s < N; s++)
        ASSERT_EQ(trainer_step(c, ds, 1, NULL, &err), 0);
    train_model_t *ma = trainer_model(a), *mc = trainer_model(c);
    ASSERT_EQ(trainer_steps(a), trainer_steps(c));
    ASSERT_EQ(trainer_samples(a), trainer_samples(c));
    ASSERT_TRUE(memcmp(ma->params, mc->params, ma->num_params * sizeof(float)) == 0);
    ASSERT_TRUE(memcmp(ma->momentum, mc->momentum, ma->num_params * sizeof(float)) == 0);

    /* Corruption: one flipped byte fails the checksum; a truncated file is refused. */
    FILE *fp = fopen(path, "r+b");
    ASSERT_TRUE(fp != NULL);
    fseek(fp, -100, SEEK_END); /* inside the lookahead weights */
    int ch = fgetc(fp);
    fseek(fp, -100, SEEK_END);
    fputc(ch ^ 0x40, fp);
    fclose(fp);
    ASSERT_EQ(trainer_load(c, path, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "checksum");
    ASSERT_EQ(truncate(path, 100), 0);
    ASSERT_NE(trainer_load(c, path, &err), 0);
    /* A checkpoint of another model kind is refused. */
    trainer_t *d = make("b4c32", 8, 1, 1e-4, 1, TRAIN_SAMPLE_RANDOM);
    ASSERT_EQ(trainer_save(a, path, &err), 0);
    ASSERT_EQ(trainer_load(d, path, &err), TG_EINVAL);
    remove(path);
    trainer_destroy(a);
    trainer_destroy(c);
    trainer_destroy(d);
    trainrows_free(&all);
}

TEST(resume_bit_identical_swa) {
    trainrows_t all;
    if (load_bench(&all)) TEST__FAIL("fixture missing");
    const trainrows_t *ds[1] = {&all};
    tg_err_t err;
    /* batch 8, period 16, lookahead 6: snapshots at steps 6, 12, 18; the save at step 9 falls
     * between two, with 24 samples accumulated. */
    const int N = 18;
    trainer_t *a = make_swa("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM, 1, 16);
    ASSERT_TRUE(a != NULL);
    for (int s = 0; s < N; s++)
        ASSERT_EQ(trainer_step(a, ds, 1, NULL, &err), 0);
    ASSERT_EQ(trainer_swa_updates(a), 3);

    char path[256];
    snprintf(path, sizeof(path), "/tmp/tengen_train_swa_ckpt_%d.bin", (int)getpid());
    trainer_t *b = make_swa("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM, 1, 16);
    for (int s = 0; s < N / 2; s++)
        ASSERT_EQ(trainer_step(b, ds, 1, NULL, &err), 0);
    ASSERT_EQ(trainer_swa_updates(b), 1);
    ASSERT_EQ(trainer_save(b, path, &err), 0);
    trainer_destroy(b);
    trainer_t *c = make_swa("b2c16", 8, 2, 1e-4, 1, TRAIN_SAMPLE_RANDOM, 1, 16);
    ASSERT_EQ(trainer_load(c, path, &err), 0);
    for (int s = N / 2; s < N; s++)
        ASSERT_EQ(trainer_step(c, ds, 1, NULL, &err), 0);
    train_model_t *ma = trainer_model(a), *mc = trainer_model(c);
    const size_t bytes = ma->num_params * sizeof(float);
    ASSERT_EQ(trainer_steps(a), trainer_steps(c));
    ASSERT_EQ(trainer_swa_updates(a), trainer_swa_updates(c));
    ASSERT_TRUE(memcmp(ma->params, mc->params, bytes) == 0);
    ASSERT_TRUE(memcmp(ma->momentum, mc->momentum, bytes) == 0);
    ASSERT_TRUE(memcmp(trainer_swa_params(a), trainer_swa_params(c), bytes) == 0);
    /* The average is not the current weights (it lags them). */
    ASSERT_TRUE(memcmp(trainer_swa_params(a), ma->params, bytes) != 0);
    remove(path);
    trainer_destroy(a);
    trainer_destroy(c);
    trainrows_free(&all);
}

int main(void) {
    RUN(overfit_small_batch);
    RUN(loss_falls);
    RUN(resume_bit_identical);
    RUN(resume_bit_identical_swa);
    TEST_MAIN_END();
}
