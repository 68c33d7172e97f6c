/* test_swa.c: the trainer's SWA average (algorithms.md §5.3, KataGo train.py's swa_model) and its
 * checkpoint format (TGCK version 2, reading version 1).
 *
 *  - arithmetic: b2c8test on synthetic rows, tiny period; the params after every step are kept
 *    and the average is recomputed by hand in double (first snapshot = copy, then
 *    avg + (theta - avg)/scale) at the steps KataGo's rule picks: accum >= period AND the
 *    lookahead weights in sync; accum resets to 0 (not period) at a snapshot.
 *  - off: no average is kept; a trainer with swa off loads a stored average (for export) and
 *    drops it at its first step; its next checkpoint holds none.
 *  - checkpoints: the average, its count and the sample accumulator survive a save/load bit for
 *    bit; file sizes follow the layout; inconsistent SWA fields and unknown versions are
 *    refused; a version-1 file (written by hand from a version-2 one) still loads.
 * Resume determinism with SWA on is in test_train.c (resume_bit_identical_swa). */
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "data/npz.h"
#include "train/train_infer.h"
#include "train/train_internal.h"
#include "train/train_testdata.h"
#include "util/fileio.h"

#define L 7

static trainrows_t g_rows;

static trainer_t *make(int swa, int64_t period, double scale, int lookahead_k) {
    train_config_t cfg;
    if (train_config_by_name("b2c8test", &cfg)) return NULL;
    train_options_t o;
    train_options_default(&o, &cfg);
    o.pos_len = L;
    o.batch = 2;
    o.threads = 1;
    o.seed = 11;
    o.warmup = 0;
    o.lr_per_sample = 2e-3;
    o.lookahead_k = lookahead_k;
    o.swa = swa;
    o.swa_period_samples = period;
    o.swa_scale = scale;
    trainer_t *t = NULL;
    tg_err_t err;
    if (trainer_create(&t, &o, &err)) {
        printf("  trainer_create: %s\n", err.msg);
        return NULL;
    }
    return t;
}

static int step(trainer_t *t) {
    const trainrows_t *ds[1] = {&g_rows};
    tg_err_t err;
    int rc = trainer_step(t, ds, 1, NULL, &err);
    if (rc) printf("  trainer_step: %s\n", err.msg);
    return rc;
}

/* Runs `steps` steps of t, keeping the params after each in hist[s] (np floats each), and
 * checks the snapshot count after each step against want_updates[s]. Then compares the average
 * with the hand computation over the snapshot steps. Returns the worst relative error, or a
 * huge value on a count mismatch. */
static double check_schedule(trainer_t *t, int steps, const int *want_updates, double scale) {
    const train_model_t *m = trainer_model(t);
    const size_t np = m->num_params;
    float *hist = malloc((size_t)steps * np * sizeof(float));
    double *avg = calloc(np, sizeof(double));
    double worst = 1e30;
    int64_t prev = 0, snaps = 0;
    for (int s = 0; s < steps; s++) {
        if (step(t)) goto done;
        memcpy(hist + (size_t)s * np, m->params, np * sizeof(float));
        const int64_t u = trainer_swa_updates(t);
        if (u != want_updates[s]) {
            printf("  after step %d: %lld snapshots, expected %d\n", s + 1, (long long)u,
                   want_updates[s]);
            goto done;
        }
        if (u != prev) { /* a snapshot of the params after this step */
            const float *th = hist + (size_t)s * np;
            for (size_t i = 0; i < np; i++)
                avg[i] = snaps == 0 ? th[i] : avg[i] + (th[i] - avg[i]) / scale;
            snaps++;
            prev = u;
        }
    }
    const float *got = trainer_swa_params(t);
    if (snaps == 0) {
        worst = got == NULL ? 0.0 : 1e30;
        goto done;
    }
    if (!got) goto done;
    worst = 0.0;
    double moved = 0.0; /* the average is not just the last params (unless scale is 1) */
    for (size_t i = 0; i < np; i++) {
        double e = fabs(got[i] - avg[i]) / (1e-3 + fabs(avg[i]));
        if (!(e <= worst)) worst = e;
        moved += fabs(avg[i] - hist[(size_t)(steps - 1) * np + i]);
    }
    printf("  %lld snapshots, max rel err %.2e, |avg - last params|_1 = %.3g\n", (long long)snaps,
           worst, moved);
    if (snaps > 1 && scale > 1 && !(moved > 0)) worst = 1e30;
done:
    free(hist);
    free(avg);
    return worst;
}

TEST(arithmetic_with_lookahead) {
    /* batch 2, period 4, lookahead 3: accum 2, 4 (step 2: not in sync), 6 -> snapshot at 3;
     * then again at 6, 9, 12. Scale 4 to make each snapshot count. */
    trainer_t *t = make(1, 4, 4.0, 3);
    ASSERT_TRUE(t != NULL);
    static const int want[12] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4};
    ASSERT_TRUE(check_schedule(t, 12, want, 4.0) < 1e-5);
    trainer_destroy(t);
}

TEST(arithmetic_without_lookahead) {
    /* No lookahead: always in sync. batch 2, period 5: accum 2, 4, 6 -> snapshot at step 3,
     * reset to 0 (KataGo: swa_sample_accum = 0), so again at 6 and 9. */
    trainer_t *t = make(1, 5, 8.0, 0);
    ASSERT_TRUE(t != NULL);
    static const int want[10] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3};
    ASSERT_TRUE(check_schedule(t, 10, want, 8.0) < 1e-5);
    trainer_destroy(t);
    /* Period 1: a snapshot every step. Scale 1: the average is the params themselves. */
    t = make(1, 1, 1.0, 0);
    static const int every[4] = {1, 2, 3, 4};
    ASSERT_TRUE(check_schedule(t, 4, every, 1.0) < 1e-5);
    ASSERT_TRUE(memcmp(trainer_swa_params(t), trainer_model(t)->params,
                       trainer_model(t)->num_params * sizeof(float)) == 0);
    trainer_destroy(t);
}

TEST(bad_options_refused) {
    train_config_t cfg;
    ASSERT_EQ(train_config_by_name("b2c8test", &cfg), 0);
    train_options_t o;
    train_options_default(&o, &cfg);
    ASSERT_EQ(o.swa, 0);
    ASSERT_EQ(o.swa_period_samples, 80000);
    ASSERT_NEAR(o.swa_scale, 8.0, 0);
    o.pos_len = L;
    o.swa = 1;
    o.swa_scale = 0.5;
    trainer_t *t = NULL;
    tg_err_t err;
    ASSERT_EQ(trainer_create(&t, &o, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "swa");
    o.swa_scale = 8;
    o.swa_period_samples = 0;
    ASSERT_EQ(trainer_create(&t, &o, &err), TG_EINVAL);
}

static char g_path[256];

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(checkpoint_round_trip) {
    trainer_t *a = make(1, 4, 8.0, 3);
    ASSERT_TRUE(a != NULL);
    for (int s = 0; s < 7; s++) /* snapshots at 3 and 6, accum 2 at the save */
        ASSERT_EQ(step(a), 0);
    ASSERT_EQ(trainer_swa_updates(a), 2);
    tg_err_t err;
    ASSERT_EQ(trainer_save(a, g_path, &err), 0);
    const size_t np = trainer_model(a)->num_params;
    ASSERT_EQ(file_size(g_path), (long)(sizeof(train_ckpt_header_t) + 4 * np * 4 + 4));
    train_ckpt_info_t info;
    ASSERT_EQ(train_checkpoint_peek(g_path, &info, &err), 0);
    ASSERT_EQ(info.version, TRAIN_CKPT_VERSION);
    ASSERT_EQ(info.swa_updates, 2);

    trainer_t *b = make(1, 4, 8.0, 3);
    ASSERT_EQ(trainer_swa_updates(b), 0);
    ASSERT_TRUE(trainer_swa_params(b) == NULL);
    ASSERT_EQ(trainer_load(b, g_path, &err), 0);
    ASSERT_EQ(trainer_swa_updates(b), 2);
    ASSERT_TRUE(memcmp(trainer_swa_params(a), trainer_swa_params(b), np * sizeof(float)) == 0);
    /* The accumulator came along: both reach the next snapshot at step 9, identically. */
    for (int s = 7; s < 9; s++) {
        ASSERT_EQ(step(a), 0);
        ASSERT_EQ(step(b), 0);
        ASSERT_EQ(trainer_swa_updates(a), s + 1 == 9 ? 3 : 2);
        ASSERT_EQ(trainer_swa_updates(b), trainer_swa_updates(a));
    }
    ASSERT_TRUE(memcmp(trainer_swa_params(a), trainer_swa_params(b), np * sizeof(float)) == 0);

    /* Before the first snapshot nothing is stored: the file has no average. */
    trainer_t *c = make(1, 400, 8.0, 3);
    ASSERT_EQ(step(c), 0);
    ASSERT_EQ(trainer_save(c, g_path, &err), 0);
    ASSERT_EQ(file_size(g_path), (long)(sizeof(train_ckpt_header_t) + 3 * np * 4 + 4));
    ASSERT_EQ(trainer_load(b, g_path, &err), 0);
    ASSERT_EQ(trainer_swa_updates(b), 0);
    ASSERT_TRUE(trainer_swa_params(b) == NULL);
    train_model_t v;
    ASSERT_EQ(trainer_model_for_export(b, 1, &v), 0); /* raw weights until a snapshot */
    ASSERT_TRUE(v.params == trainer_model(b)->params);
    trainer_destroy(a);
    trainer_destroy(b);
    trainer_destroy(c);
}

TEST(swa_off_drops_a_loaded_average) {
    trainer_t *a = make(1, 2, 8.0, 0);
    ASSERT_TRUE(a != NULL);
    for (int s = 0; s < 3; s++)
        ASSERT_EQ(step(a), 0);
    tg_err_t err;
    ASSERT_EQ(trainer_save(a, g_path, &err), 0);
    trainer_t *off = make(0, 2, 8.0, 0);
    ASSERT_EQ(trainer_load(off, g_path, &err), 0);
    ASSERT_EQ(trainer_swa_updates(off), 3); /* loaded: an exporter sees it */
    train_model_t v;
    ASSERT_EQ(trainer_model_for_export(off, 1, &v), 1);
    ASSERT_EQ(step(off), 0); /* training without SWA: the average would go stale */
    ASSERT_EQ(trainer_swa_updates(off), 0);
    ASSERT_TRUE(trainer_swa_params(off) == NULL);
    ASSERT_EQ(trainer_model_for_export(off, 1, &v), 0);
    ASSERT_EQ(trainer_save(off, g_path, &err), 0);
    train_ckpt_info_t info;
    ASSERT_EQ(train_checkpoint_peek(g_path, &info, &err), 0);
    ASSERT_EQ(info.swa_updates, 0);
    for (int s = 0; s < 5; s++)
        ASSERT_EQ(step(off), 0);
    ASSERT_EQ(trainer_swa_updates(off), 0);
    trainer_destroy(a);
    trainer_destroy(off);
}

/* Rewrites buf (a version-2 checkpoint without SWA) as version 1 into path. */
static int write_v1(const char *buf, size_t len, const char *path) {
    const size_t h2 = sizeof(train_ckpt_header_t), h1 = TRAIN_CKPT_HEADER_V1_BYTES;
    const size_t body = len - h2 - 4, n = h1 + body;
    char *v1 = malloc(n + 4);
    if (!v1) return -1;
    memcpy(v1, buf, h1);
    const uint32_t version = 1;
    memcpy(v1 + 4, &version, 4);
    memcpy(v1 + h1, buf + h2, body);
    const uint32_t crc = npz_crc32(0, v1, n);
    memcpy(v1 + n, &crc, 4);
    tg_err_t err;
    int rc = tg_file_write_atomic(path, v1, n + 4, &err);
    free(v1);
    return rc;
}

TEST(version_1_loads_and_bad_fields_are_refused) {
    trainer_t *a = make(0, 4, 8.0, 3);
    ASSERT_TRUE(a != NULL);
    for (int s = 0; s < 4; s++)
        ASSERT_EQ(step(a), 0);
    tg_err_t err;
    ASSERT_EQ(trainer_save(a, g_path, &err), 0);
    char *buf = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_file_read_all(g_path, 1 << 26, &buf, &len, &err), 0);
    char old[300];
    snprintf(old, sizeof old, "%s.v1", g_path);
    ASSERT_EQ(write_v1(buf, len, old), 0);
    ASSERT_EQ(file_size(old), (long)(len - (sizeof(train_ckpt_header_t) - 352)));

    train_ckpt_info_t info;
    ASSERT_EQ(train_checkpoint_peek(old, &info, &err), 0);
    ASSERT_EQ(info.version, 1);
    ASSERT_EQ(info.steps, 4);
    ASSERT_EQ(info.swa_updates, 0);
    /* An SWA trainer resumes from it (no average yet) and continues exactly as `a` with SWA. */
    trainer_t *b = make(1, 4, 8.0, 3);
    ASSERT_EQ(trainer_load(b, old, &err), 0);
    const size_t np = trainer_model(a)->num_params;
    ASSERT_TRUE(memcmp(trainer_model(a)->params, trainer_model(b)->params, np * 4) == 0);
    ASSERT_EQ(trainer_steps(b), 4);
    ASSERT_EQ(trainer_swa_updates(b), 0);
    for (int s = 4; s < 6; s++) {
        ASSERT_EQ(step(a), 0);
        ASSERT_EQ(step(b), 0);
    }
    ASSERT_TRUE(memcmp(trainer_model(a)->params, trainer_model(b)->params, np * 4) == 0);
    ASSERT_EQ(trainer_swa_updates(b), 1); /* accum 4 by step 6, in sync: first snapshot */
    ASSERT_TRUE(memcmp(trainer_swa_params(b), trainer_model(b)->params, np * 4) == 0);
    /* ... and the export tool reads it too. */
    trainer_t *c = NULL;
    ASSERT_EQ(train_checkpoint_open(old, &c, &err), 0);
    ASSERT_EQ(trainer_steps(c), 4);
    trainer_destroy(c);

    /* SWA flag without snapshots, a negative count, an unknown version: refused. */
    train_ckpt_header_t h;
    memcpy(&h, buf, sizeof h);
    h.flags = TRAIN_CKPT_HAS_SWA;
    memcpy(buf, &h, sizeof h);
    ASSERT_EQ(tg_file_write_atomic(old, buf, len, &err), 0);
    ASSERT_EQ(trainer_load(b, old, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "SWA");
    h.flags = 0, h.swa_accum = -1;
    memcpy(buf, &h, sizeof h);
    ASSERT_EQ(tg_file_write_atomic(old, buf, len, &err), 0);
    ASSERT_EQ(trainer_load(b, old, &err), TG_EFORMAT);
    h.swa_accum = 0, h.version = 3;
    memcpy(buf, &h, sizeof h);
    ASSERT_EQ(tg_file_write_atomic(old, buf, len, &err), 0);
    ASSERT_EQ(trainer_load(b, old, &err), TG_EUNSUPPORTED);
    ASSERT_EQ(train_checkpoint_peek(old, &info, &err), TG_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "version 3");
    /* Nothing of b changed on the failed loads. */
    ASSERT_EQ(trainer_steps(b), 6);
    ASSERT_EQ(trainer_swa_updates(b), 1);
    remove(old);
    free(buf);
    trainer_destroy(a);
    trainer_destroy(b);
}

int main(void) {
    tg_err_t err;
    if (trainrows_init(&g_rows, L, 6, &err)) return 1;
    testdata_fill(&g_rows, 6, 21);
    snprintf(g_path, sizeof g_path, "/tmp/tengen_swa_ckpt_%d.tgck", (int)getpid());
    RUN(arithmetic_with_lookahead);
    RUN(arithmetic_without_lookahead);
    RUN(bad_options_refused);
    RUN(checkpoint_round_trip);
    RUN(swa_off_drops_a_loaded_average);
    RUN(version_1_loads_and_bad_fields_are_refused);
    remove(g_path);
    trainrows_free(&g_rows);
    TEST_MAIN_END();
}
