/* test_window.c: the replay window (src/shuffle): KataGo's window-size formula against worked
 * values, in-order eviction, the random-row cap, the memory cap, uniform and deterministic
 * sampling, the train bucket arithmetic, loading KataGo's fixture .npz and directories, and an
 * exact save/restore round trip. Threads are in test_threads.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "shuffle/shuffle.h"
#include "shuffle/shuffle_internal.h" /* shuffle__permute */
#include "synth_rows.h"
#include "test.h"

#define POS_LEN 5

/* A small config: rows of pos_len 5, chunks of 16 rows, fixed window of min_rows (r = 0). */
static shuffle_config_t small_config(int64_t min_rows) {
    shuffle_config_t c;
    shuffle_config_default(&c);
    c.pos_len = POS_LEN;
    c.min_rows = min_rows;
    c.expand_window_per_row = 0.0;
    c.taper_window_exponent = 1.0;
    c.chunk_rows = 16;
    c.max_bytes = (size_t)64 << 20;
    c.max_train_per_data = 0.0;
    c.seed = 1234;
    return c;
}

/* Appends synthetic rows with global ids rows_total .. +n-1, in games of `game` rows. */
static int append_synth(shuffle_window_t *w, int n, int game, int is_random) {
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    trainrows_t tr;
    tg_err_t err;
    if (trainrows_init(&tr, POS_LEN, game, &err) != 0) return -1;
    int rc = 0;
    for (int done = 0; done < n && rc == 0;) {
        int k = n - done < game ? n - done : game;
        synth_fill(&tr, st.rows_total + done, k);
        rc = shuffle_window_append(w, &tr, 0, k, is_random, NULL, 0, &err);
        done += k;
    }
    trainrows_free(&tr);
    return rc;
}

/* ---- Window size formula --------------------------------------------------------------------- */

TEST(formula_docs_table) {
    /* formats.md §5.5 / algorithms.md §6.1 worked values. */
    shuffle_config_t sync;
    shuffle_config_default(&sync);
    sync.min_rows = 100000;
    sync.taper_window_scale = 50000;
    ASSERT_EQ(shuffle_window_target(&sync, 100000), 100000);
    ASSERT_EQ(shuffle_window_target(&sync, 250000), 144993);
    ASSERT_EQ(shuffle_window_target(&sync, 500000), 197574);
    ASSERT_EQ(shuffle_window_target(&sync, 1000000), 277827);
    ASSERT_EQ(shuffle_window_target(&sync, 2000000), 402126);
    ASSERT_EQ(shuffle_window_target(&sync, 10000000), 1029451);
    shuffle_config_t def;
    shuffle_config_default(&def); /* shuffle.sh: m 250k, r 0.4, e 0.65, s = m */
    ASSERT_EQ(shuffle_window_target(&def, 250000), 250000);
    ASSERT_EQ(shuffle_window_target(&def, 500000), 337564);
    ASSERT_EQ(shuffle_window_target(&def, 1000000), 474967);
    ASSERT_EQ(shuffle_window_target(&def, 10000000), 1788252);
    ASSERT_EQ(shuffle_window_target(&def, 100000000), 7654480);
    /* "13.4M at 240M" */
    ASSERT_NEAR(shuffle_window_target(&def, 240000000), 13.4e6, 0.05e6);
    /* The paper's e = 0.75 gives 23.1M at 240M ("about 22 million" at 241M). */
    def.taper_window_exponent = 0.75;
    ASSERT_NEAR(shuffle_window_target(&def, 240000000), 23.1e6, 0.05e6);
}

TEST(formula_hand_examples) {
    shuffle_config_t c;
    shuffle_config_default(&c);
    /* e = 1, r = 1: the window is all usable rows. */
    c.min_rows = 100;
    c.taper_window_exponent = 1.0;
    c.expand_window_per_row = 1.0;
    ASSERT_EQ(shuffle_window_target(&c, 12345), 12345);
    /* e = 1, r = 0.5: m + 0.5 (N - m) = 100 + 0.5 * 200 = 200. */
    c.expand_window_per_row = 0.5;
    ASSERT_EQ(shuffle_window_target(&c, 300), 200);
    /* e = 0.5, s = m = 100, r = 1, N = 400: x = 400, (sqrt(400) - sqrt(100)) / (0.5 / sqrt(100))
     * = 10 / 0.05 = 200, + 100 = 300. */
    c.taper_window_exponent = 0.5;
    c.expand_window_per_row = 1.0;
    ASSERT_EQ(shuffle_window_target(&c, 400), 300);
    /* s = 25, N = 175: x = 175 - 100 + 25 = 100, (10 - 5) / (0.5 / 5) = 50, + 100 = 150. */
    c.taper_window_scale = 25;
    ASSERT_EQ(shuffle_window_target(&c, 175), 150);
    /* Below and at min_rows: the floor. */
    c.taper_window_scale = 0;
    ASSERT_EQ(shuffle_window_target(&c, 0), 100);
    ASSERT_EQ(shuffle_window_target(&c, 99), 100);
    ASSERT_EQ(shuffle_window_target(&c, 100), 100);
    /* max_rows clamps last. */
    c.max_rows = 250;
    ASSERT_EQ(shuffle_window_target(&c, 400), 250);
    /* Truncation as python int(): e = 1, r = 0.3, N = 105: 100 + 1.5 -> 101. */
    c.max_rows = 0;
    c.taper_window_exponent = 1.0;
    c.expand_window_per_row = 0.3;
    ASSERT_EQ(shuffle_window_target(&c, 105), 101);
}

TEST(config_validation) {
    shuffle_config_t c = small_config(10);
    shuffle_window_t *w = NULL;
    tg_err_t err;
    c.max_bytes = 1000; /* < 3 chunks */
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "3 chunks");
    c = small_config(10);
    c.pos_len = 20;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), TG_EINVAL);
    c = small_config(0);
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), TG_EINVAL);
    c = small_config(10);
    c.taper_window_exponent = 0.0;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), TG_EINVAL);
    ASSERT_TRUE(w == NULL);
}

/* ---- Eviction and the window bound ---------------------------------------------------------- */

TEST(rows_drop_out_in_order) {
    shuffle_config_t c = small_config(100); /* window fixed at 100 rows */
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 64, &err), 0);
    int64_t ids[64];
    ASSERT_EQ(shuffle_window_sample(w, 8, &batch, ids, &err), TG_ESTATE); /* empty */
    int64_t prev_start = 0;
    for (int step = 0; step < 40; step++) {
        ASSERT_EQ(append_synth(w, 1 + (step * 7) % 23, 9, 0), 0);
        shuffle_stats_t st;
        shuffle_window_get_stats(w, &st);
        int64_t want = st.rows_total > 100 ? st.rows_total - 100 : 0;
        ASSERT_EQ(st.window_start, want);
        ASSERT_TRUE(st.window_start >= prev_start);
        prev_start = st.window_start;
        ASSERT_EQ(st.ready, st.rows_total >= 100);
        if (!st.ready) {
            ASSERT_EQ(shuffle_window_sample(w, 8, &batch, ids, &err), TG_ESTATE);
            continue;
        }
        ASSERT_EQ(shuffle_window_sample(w, 64, &batch, ids, &err), 0);
        ASSERT_EQ(batch.num_rows, 64);
        for (int i = 0; i < 64; i++) {
            ASSERT_TRUE(ids[i] >= st.window_start && ids[i] < st.rows_total);
            ASSERT_TRUE(synth_check_row(&batch, i, ids[i]));
        }
        /* Storage follows the window: at most the chunks spanning it plus one spare. */
        ASSERT_TRUE(st.bytes_used <= (size_t)(100 / 16 + 3) * (16 * 1100 + 7 * 64));
    }
    trainrows_free(&batch);
    shuffle_window_destroy(w);
}

TEST(growing_window_and_random_cap) {
    shuffle_config_t c = small_config(100);
    c.expand_window_per_row = 1.0; /* e = 1, r = 1: window = usable rows */
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 500, 50, 1), 0); /* random phase: usable capped at 100 */
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.rows_total, 500);
    ASSERT_EQ(st.random_rows, 500);
    ASSERT_EQ(st.usable_rows, 100);
    ASSERT_EQ(st.window_start, 400);
    ASSERT_EQ(append_synth(w, 100, 30, 0), 0);
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.usable_rows, 200);
    ASSERT_EQ(st.target_rows, 200);
    ASSERT_EQ(st.window_start, 400); /* 600 - 200 */
    ASSERT_EQ(st.window_rows, 200);
    /* r = 0.5 would give 150 here; with r = 1 the window keeps growing one row per row. */
    ASSERT_EQ(append_synth(w, 300, 30, 0), 0);
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.window_rows, 500);
    ASSERT_EQ(st.window_start, 400);
    shuffle_window_destroy(w);
}

TEST(memory_cap_is_hard) {
    shuffle_config_t c = small_config(10);
    c.expand_window_per_row = 1.0; /* wants every row */
    shuffle_window_t *w;
    tg_err_t err;
    /* Measure one chunk's bytes on a probe window. */
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 16, 16, 0), 0);
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    size_t chunk_bytes = st.bytes_used;
    ASSERT_TRUE(chunk_bytes > 16 * 1000);
    shuffle_window_destroy(w);

    c.max_bytes = 5 * chunk_bytes + 100; /* 5 chunks: cap_rows = 3 * 16 */
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 32, &err), 0);
    int64_t ids[32];
    for (int step = 0; step < 30; step++) {
        ASSERT_EQ(append_synth(w, 13, 13, 0), 0);
        shuffle_window_get_stats(w, &st);
        ASSERT_EQ(st.cap_rows, 48);
        ASSERT_TRUE(st.bytes_used <= c.max_bytes);
        ASSERT_TRUE(st.window_rows >= (st.rows_total < 48 ? st.rows_total : 48));
        ASSERT_TRUE(st.window_rows <= 5 * 16);
        ASSERT_EQ(shuffle_window_sample(w, 32, &batch, ids, &err), 0);
        for (int i = 0; i < 32; i++) {
            ASSERT_TRUE(ids[i] >= st.window_start && ids[i] < st.rows_total);
            ASSERT_TRUE(synth_check_row(&batch, i, ids[i]));
        }
    }
    ASSERT_EQ(st.rows_total, 390);
    trainrows_free(&batch);
    shuffle_window_destroy(w);
}

/* ---- Sampling ------------------------------------------------------------------------------ */

TEST(sampling_uniform_chi_square) {
    shuffle_config_t c = small_config(64);
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 200, 37, 0), 0); /* window = rows [136, 200), across chunks */
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 100, &err), 0);
    int64_t ids[100];
    int counts[64] = {0};
    const int draws = 64000;
    for (int b = 0; b < draws / 100; b++) {
        ASSERT_EQ(shuffle_window_sample(w, 100, &batch, ids, &err), 0);
        for (int i = 0; i < 100; i++) {
            ASSERT_TRUE(ids[i] >= 136 && ids[i] < 200);
            counts[ids[i] - 136]++;
        }
        ASSERT_TRUE(synth_check_row(&batch, b % 100, ids[b % 100]));
    }
    double expect = draws / 64.0, chi2 = 0;
    for (int i = 0; i < 64; i++)
        chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
    /* 63 degrees of freedom: mean 63, sd 11.2. Both tails at about 5 sd. */
    printf("  chi2 = %.1f (63 dof)\n", chi2);
    ASSERT_TRUE(chi2 < 63 + 6 * 11.23);
    ASSERT_TRUE(chi2 > 25);
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.samples_taken, draws);
    trainrows_free(&batch);
    shuffle_window_destroy(w);
}

static int sample_ids(uint64_t seed, int64_t *ids, int n) {
    shuffle_config_t c = small_config(50);
    c.seed = seed;
    shuffle_window_t *w;
    tg_err_t err;
    if (shuffle_window_create(&w, &c, &err) != 0) return -1;
    trainrows_t batch;
    int rc = append_synth(w, 120, 11, 0);
    if (rc == 0) rc = trainrows_init(&batch, POS_LEN, n, &err);
    if (rc == 0) {
        rc = shuffle_window_sample(w, n, &batch, ids, &err);
        trainrows_free(&batch);
    }
    shuffle_window_destroy(w);
    return rc;
}

TEST(sampling_deterministic_per_seed) {
    int64_t a[40], b[40], d[40];
    ASSERT_EQ(sample_ids(7, a, 40), 0);
    ASSERT_EQ(sample_ids(7, b, 40), 0);
    ASSERT_EQ(sample_ids(8, d, 40), 0);
    int same = 0;
    for (int i = 0; i < 40; i++) {
        ASSERT_EQ(a[i], b[i]);
        same += a[i] == d[i];
    }
    ASSERT_TRUE(same < 10); /* 40 draws from 50 rows: about 0.8 coincidences expected */
}

TEST(sample_argument_checks) {
    shuffle_config_t c = small_config(10);
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 20, 20, 0), 0);
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN + 1, 8, &err), 0);
    ASSERT_EQ(shuffle_window_sample(w, 4, &batch, NULL, &err), TG_EINVAL);
    trainrows_free(&batch);
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 8, &err), 0);
    ASSERT_EQ(shuffle_window_sample(w, 9, &batch, NULL, &err), TG_EINVAL);
    ASSERT_EQ(shuffle_window_sample(w, 8, &batch, NULL, &err), 0);
    /* Appending from the wrong data size is refused. */
    trainrows_t big;
    ASSERT_EQ(trainrows_init(&big, 9, 2, &err), 0);
    big.num_rows = 2;
    ASSERT_EQ(shuffle_window_append(w, &big, 0, 2, 0, NULL, 0, &err), TG_EINVAL);
    ASSERT_EQ(shuffle_window_append(w, &batch, 4, 5, 0, NULL, 0, &err), TG_EINVAL);
    trainrows_free(&big);
    trainrows_free(&batch);
    shuffle_window_destroy(w);
}

TEST(pass_permutation_is_bijection) {
    const int64_t sizes[] = {1, 2, 3, 5, 63, 64, 65, 1000, 4097};
    static unsigned char hit[4097];
    for (size_t k = 0; k < TG_ARRAY_LEN(sizes); k++) {
        int64_t n = sizes[k];
        for (uint64_t key = 1; key < 4; key++) {
            memset(hit, 0, sizeof(hit));
            int64_t fixed = 0;
            for (int64_t i = 0; i < n; i++) {
                int64_t v = shuffle__permute(key * 0x1234567ULL, n, i);
                ASSERT_TRUE(v >= 0 && v < n);
                ASSERT_EQ(hit[v], 0);
                hit[v] = 1;
                fixed += v == i;
            }
            if (n >= 1000) ASSERT_TRUE(fixed < 20); /* a shuffle, not the identity */
        }
    }
}

TEST(pass_sampling_without_replacement) {
    shuffle_config_t c = small_config(64);
    c.sample_mode = SHUFFLE_SAMPLE_PASS;
    c.pass_refresh_rows = 40;
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 100, 30, 0), 0); /* window [36, 100) */
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 64, &err), 0);
    int64_t ids[64], first[64];
    for (int pass = 0; pass < 3; pass++) {
        int seen[64] = {0};
        for (int part = 0; part < 4; part++) { /* one pass = 4 batches of 16 */
            ASSERT_EQ(shuffle_window_sample(w, 16, &batch, ids, &err), 0);
            for (int i = 0; i < 16; i++) {
                ASSERT_TRUE(ids[i] >= 36 && ids[i] < 100);
                ASSERT_EQ(seen[ids[i] - 36], 0);
                seen[ids[i] - 36] = 1;
                ASSERT_TRUE(synth_check_row(&batch, i, ids[i]));
                if (pass == 0) first[part * 16 + i] = ids[i];
            }
        }
    }
    /* A later pass is a different order. */
    ASSERT_EQ(shuffle_window_sample(w, 64, &batch, ids, &err), 0);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += ids[i] == first[i];
    ASSERT_TRUE(same < 10);
    /* Rows arriving mid-pass: the pass goes on (no repeats) until 40 new rows have come, and
     * rows evicted meanwhile are skipped. */
    ASSERT_EQ(shuffle_window_sample(w, 8, &batch, ids, &err), 0); /* pass over [36, 100) */
    int seen[200] = {0};
    for (int i = 0; i < 8; i++)
        seen[ids[i]] = 1;
    ASSERT_EQ(append_synth(w, 20, 20, 0), 0); /* window [56, 120) */
    ASSERT_EQ(shuffle_window_sample(w, 36, &batch, ids, &err), 0);
    for (int i = 0; i < 36; i++) {
        ASSERT_TRUE(ids[i] >= 56 && ids[i] < 100); /* still the old pass, minus evicted rows */
        ASSERT_EQ(seen[ids[i]], 0);
        seen[ids[i]] = 1;
    }
    ASSERT_EQ(append_synth(w, 20, 20, 0), 0); /* 40 new rows: next draw starts a new pass */
    ASSERT_EQ(shuffle_window_sample(w, 64, &batch, ids, &err), 0);
    int cover[64] = {0};
    for (int i = 0; i < 64; i++) {
        ASSERT_TRUE(ids[i] >= 76 && ids[i] < 140);
        cover[ids[i] - 76]++;
    }
    for (int i = 0; i < 64; i++)
        ASSERT_EQ(cover[i], 1);
    trainrows_free(&batch);
    shuffle_window_destroy(w);
}

/* ---- Train bucket --------------------------------------------------------------------------- */

TEST(bucket_arithmetic) {
    shuffle_config_t c = small_config(100);
    c.max_train_per_data = 2.0;
    c.samples_per_epoch = 50;
    c.max_train_bucket_size = 300;
    shuffle_window_t *w;
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 99, 33, 0), 0);
    ASSERT_EQ(shuffle_window_bucket_available(w), 0); /* not ready */
    ASSERT_EQ(shuffle_window_bucket_take(w, 1), TG_ESTATE);
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 1), 0);
    ASSERT_EQ(append_synth(w, 1, 1, 0), 0);
    /* Ready: the bucket starts at samples_per_epoch, and the first rows do not fill it. */
    ASSERT_EQ(shuffle_window_bucket_available(w), 50);
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.bucket_row, 100);
    ASSERT_EQ(shuffle_window_bucket_take(w, 30), 0);
    ASSERT_EQ(shuffle_window_bucket_available(w), 20);
    ASSERT_EQ(shuffle_window_bucket_take(w, 30), TG_ESTATE); /* nothing taken */
    ASSERT_EQ(shuffle_window_bucket_available(w), 20);
    ASSERT_EQ(append_synth(w, 10, 4, 0), 0); /* + 2 * 10 */
    ASSERT_EQ(shuffle_window_bucket_available(w), 40);
    ASSERT_EQ(append_synth(w, 200, 64, 0), 0); /* + 400, capped at max(300, 50) */
    ASSERT_EQ(shuffle_window_bucket_available(w), 300);
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 100), 1);
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 100), 1);
    ASSERT_EQ(shuffle_window_bucket_available(w), 100);
    ASSERT_EQ(shuffle_window_bucket_take(w, 1), 0); /* 99 left: not > 0.99 * 100 */
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 100), 0);
    ASSERT_EQ(append_synth(w, 1, 1, 0), 0); /* 101 > 99 */
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 100), 1);
    ASSERT_EQ(shuffle_window_bucket_available(w), 1);
    ASSERT_EQ(shuffle_window_bucket_take(w, 1), 0);
    ASSERT_EQ(shuffle_window_bucket_wait(w, 1, 10), 0); /* times out: empty */
    shuffle_window_destroy(w);

    c.max_train_per_data = 0.5;
    c.samples_per_epoch = 100;
    c.max_train_bucket_size = 0; /* cap = samples_per_epoch */
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(append_synth(w, 100, 100, 0), 0);
    ASSERT_EQ(shuffle_window_bucket_take(w, 1), 0); /* 99 */
    ASSERT_EQ(append_synth(w, 1, 1, 0), 0);         /* 99.5 */
    ASSERT_EQ(shuffle_window_bucket_available(w), 99);
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 100), 1);
    shuffle_window_get_stats(w, &st);
    ASSERT_NEAR(st.bucket_level, -0.5, 1e-12);
    ASSERT_EQ(shuffle_window_bucket_available(w), 0);
    ASSERT_EQ(append_synth(w, 400, 100, 0), 0); /* capped at 100 */
    ASSERT_EQ(shuffle_window_bucket_available(w), 100);
    shuffle_window_destroy(w);

    /* Disabled bucket: unlimited once ready. */
    c.max_train_per_data = 0.0;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(shuffle_window_bucket_available(w), 0);
    ASSERT_EQ(append_synth(w, 100, 100, 0), 0);
    ASSERT_EQ(shuffle_window_bucket_available(w), INT64_MAX);
    ASSERT_EQ(shuffle_window_bucket_take(w, 1000000000), 0);
    ASSERT_EQ(shuffle_window_bucket_try_epoch(w, 1000000000), 1);
    ASSERT_EQ(shuffle_window_bucket_wait(w, 5, 0), 1);
    shuffle_window_close(w);
    shuffle_window_destroy(w);
}

/* ---- Files ----------------------------------------------------------------------------------- */

static int rows_equal(const trainrows_t *a, int ra, const trainrows_t *b, int rb) {
    return memcmp(trainrows_binary_row(a, ra), trainrows_binary_row(b, rb),
                  (size_t)TRAINROWS_BIN_CHANNELS * a->packed_len) == 0 &&
           memcmp(trainrows_global_input_row(a, ra), trainrows_global_input_row(b, rb),
                  TRAINROWS_GLOBAL_INPUTS * 4) == 0 &&
           memcmp(trainrows_policy_row(a, ra), trainrows_policy_row(b, rb),
                  (size_t)TRAINROWS_POLICY_CHANNELS * a->policy_len * 2) == 0 &&
           memcmp(trainrows_global_targets_row(a, ra), trainrows_global_targets_row(b, rb),
                  TRAINROWS_GLOBAL_TARGETS * 4) == 0 &&
           memcmp(trainrows_score_distr_row(a, ra), trainrows_score_distr_row(b, rb),
                  (size_t)a->score_len) == 0 &&
           memcmp(trainrows_value_row(a, ra), trainrows_value_row(b, rb),
                  (size_t)TRAINROWS_VALUE_CHANNELS * a->area) == 0 &&
           memcmp(trainrows_qvalue_row(a, ra), trainrows_qvalue_row(b, rb),
                  (size_t)TRAINROWS_QVALUE_CHANNELS * a->policy_len * 2) == 0;
}

TEST(fixture_npz_rows_come_back) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    tg_err_t err;
    trainrows_t ref = {0};
    ASSERT_EQ(trainrows_load_npz(&ref, path, &err), 0);
    ASSERT_EQ(ref.num_rows, 1024);
    ASSERT_EQ(ref.pos_len, 19);

    shuffle_config_t c;
    shuffle_config_default(&c);
    c.min_rows = 1024;
    c.chunk_rows = 100; /* chunk boundaries do not line up with anything */
    c.seed = 99;
    shuffle_window_t *w;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_EQ(shuffle_window_load_npz(w, path, 0, &err), 0);
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.rows_total, 1024);
    ASSERT_EQ(st.window_start, 0);
    ASSERT_EQ(st.num_segments, 1);
    ASSERT_TRUE(st.ready);
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, 19, 256, &err), 0);
    int64_t ids[256];
    int seen[1024] = {0}, distinct = 0;
    for (int b = 0; b < 4; b++) {
        ASSERT_EQ(shuffle_window_sample(w, 256, &batch, ids, &err), 0);
        for (int i = 0; i < 256; i++) {
            ASSERT_TRUE(ids[i] >= 0 && ids[i] < 1024);
            ASSERT_TRUE(rows_equal(&batch, i, &ref, (int)ids[i]));
            /* v2 file: targets 64..79 are the loader's zero padding; 63 is the data version. */
            ASSERT_EQ(trainrows_global_targets_row(&batch, i)[70], 0);
            distinct += !seen[ids[i]];
            seen[ids[i]] = 1;
        }
    }
    ASSERT_TRUE(distinct > 500); /* 1024 draws of 1024: about 647 distinct */
    /* A file of another data size is refused with the path in the message. */
    shuffle_config_t c9 = c;
    c9.pos_len = 9;
    shuffle_window_t *w9;
    ASSERT_EQ(shuffle_window_create(&w9, &c9, &err), 0);
    ASSERT_EQ(shuffle_window_load_npz(w9, path, 0, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "benchmark_data_1024.npz");
    ASSERT_EQ(shuffle_window_load_npz(w9, "/nonexistent/x.npz", 0, &err) < 0, 1);
    shuffle_window_destroy(w9);
    trainrows_free(&batch);
    trainrows_free(&ref);
    shuffle_window_destroy(w);
}

static char tmp_dirs[16][64];
static int num_tmp_dirs;

/* A fresh directory under /tmp, removed at the end of main. */
static const char *make_tmp_dir(void) {
    if (num_tmp_dirs == 16) return NULL;
    char *d = tmp_dirs[num_tmp_dirs];
    snprintf(d, sizeof(tmp_dirs[0]), "/tmp/tengen_shuffle_XXXXXX");
    if (!mkdtemp(d)) return NULL;
    num_tmp_dirs++;
    return d;
}

static void remove_tmp_dirs(void) {
    for (int i = 0; i < num_tmp_dirs; i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%.63s'", tmp_dirs[i]);
        if (system(cmd) != 0) printf("  could not remove %s\n", tmp_dirs[i]);
    }
}

static int write_synth_npz(const char *path, int64_t first, int n, time_t mtime) {
    trainrows_t tr;
    tg_err_t err;
    if (trainrows_init(&tr, POS_LEN, n, &err) != 0) return -1;
    synth_fill(&tr, first, n);
    int rc = trainrows_write_npz(&tr, path, 1, &err);
    trainrows_free(&tr);
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    if (rc == 0) rc = utimes(path, tv);
    return rc;
}

TEST(load_dir_order_and_random) {
    const char *dir = make_tmp_dir();
    ASSERT_TRUE(dir != NULL);
    char p[512];
    snprintf(p, sizeof(p), "%s/random/tdata", dir);
    tg_err_t err;
    ASSERT_EQ(tg_mkdir_p(p, &err), 0);
    snprintf(p, sizeof(p), "%s/net1/tdata", dir);
    ASSERT_EQ(tg_mkdir_p(p, &err), 0);
    /* Global order by mtime: random (rows 0..29), then net1/b (30..49), then net1/a (50..59). */
    snprintf(p, sizeof(p), "%s/random/tdata/r.npz", dir);
    ASSERT_EQ(write_synth_npz(p, 0, 30, 1000000), 0);
    snprintf(p, sizeof(p), "%s/net1/tdata/b.npz", dir);
    ASSERT_EQ(write_synth_npz(p, 30, 20, 1000100), 0);
    snprintf(p, sizeof(p), "%s/net1/tdata/a.npz", dir);
    ASSERT_EQ(write_synth_npz(p, 50, 10, 1000200), 0);
    snprintf(p, sizeof(p), "%s/net1/tdata/skip_me.npz", dir); /* '_' in the name: skipped */
    ASSERT_EQ(write_synth_npz(p, 999, 5, 1000300), 0);

    shuffle_config_t c = small_config(20);
    c.expand_window_per_row = 1.0;
    shuffle_window_t *w;
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    int files = 0;
    ASSERT_EQ(shuffle_window_load_dir(w, dir, &files, &err), 0);
    ASSERT_EQ(files, 3);
    shuffle_stats_t st;
    shuffle_window_get_stats(w, &st);
    ASSERT_EQ(st.rows_total, 60);
    ASSERT_EQ(st.random_rows, 30);
    ASSERT_EQ(st.usable_rows, 50); /* min(30, 20) + 30 */
    ASSERT_EQ(st.window_start, 10);
    trainrows_t batch;
    ASSERT_EQ(trainrows_init(&batch, POS_LEN, 50, &err), 0);
    int64_t ids[50];
    ASSERT_EQ(shuffle_window_sample(w, 50, &batch, ids, &err), 0);
    for (int i = 0; i < 50; i++)
        ASSERT_TRUE(synth_check_row(&batch, i, ids[i]));
    trainrows_free(&batch);
    shuffle_window_destroy(w);
    ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
    ASSERT_TRUE(shuffle_window_load_dir(w, "/nonexistent_dir_xyz", NULL, &err) == TG_EIO);
    shuffle_window_destroy(w);
}

/* Samples `rounds` batches of 24 from both windows and checks they agree exactly. */
static int same_samples(shuffle_window_t *a, shuffle_window_t *b, int rounds) {
    trainrows_t ba, bb;
    tg_err_t err;
    if (trainrows_init(&ba, POS_LEN, 24, &err) || trainrows_init(&bb, POS_LEN, 24, &err)) return 0;
    int ok = 1;
    int64_t ia[24], ib[24];
    for (int r = 0; r < rounds && ok; r++) {
        ok = shuffle_window_sample(a, 24, &ba, ia, &err) == 0 &&
             shuffle_window_sample(b, 24, &bb, ib, &err) == 0;
        for (int i = 0; i < 24 && ok; i++)
            ok = ia[i] == ib[i] && synth_check_row(&ba, i, ia[i]) && rows_equal(&ba, i, &bb, i);
    }
    trainrows_free(&ba);
    trainrows_free(&bb);
    return ok;
}

static void save_restore_body(shuffle_sample_mode_t mode);
TEST(save_restore_exact) { save_restore_body(SHUFFLE_SAMPLE_REPLACE); }
TEST(save_restore_exact_pass) { save_restore_body(SHUFFLE_SAMPLE_PASS); }

static void save_restore_body(shuffle_sample_mode_t mode) {
    const char *dir = make_tmp_dir();
    ASSERT_TRUE(dir != NULL);
    char file1[512], state[512];
    snprintf(file1, sizeof(file1), "%s/f1.npz", dir);
    snprintf(state, sizeof(state), "%s/window.state", dir);
    ASSERT_EQ(write_synth_npz(file1, 0, 70, 1000), 0);

    shuffle_config_t c = small_config(60);
    c.expand_window_per_row = 0.5;
    c.max_train_per_data = 3.0;
    c.samples_per_epoch = 40;
    c.max_train_bucket_size = 1000;
    c.sample_mode = mode;
    tg_err_t err;
    shuffle_window_t *a, *b;
    ASSERT_EQ(shuffle_window_create(&a, &c, &err), 0);
    ASSERT_EQ(shuffle_window_load_npz(a, file1, 1, &err), 0); /* rows 0..69, random */
    ASSERT_EQ(append_synth(a, 45, 7, 0), 0);                  /* rows 70..114, in memory */
    trainrows_t adv;
    ASSERT_EQ(trainrows_init(&adv, POS_LEN, 10, &err), 0);
    for (int i = 0; i < 3; i++) /* advance the RNG and samples_taken */
        ASSERT_EQ(shuffle_window_sample(a, 10, &adv, NULL, &err), 0);
    trainrows_free(&adv);
    ASSERT_EQ(shuffle_window_bucket_take(a, 17), 0);
    ASSERT_EQ(shuffle_window_save(a, state, &err), 0);

    shuffle_stats_t sa, sb;
    shuffle_window_get_stats(a, &sa);
    ASSERT_EQ(sa.rows_total, 115);
    ASSERT_TRUE(sa.window_start > 0 && sa.window_start < 70); /* window straddles both sources */

    ASSERT_EQ(shuffle_window_create(&b, &c, &err), 0);
    ASSERT_EQ(shuffle_window_restore(b, state, &err), 0);
    shuffle_window_get_stats(b, &sb);
    ASSERT_EQ(sb.rows_total, sa.rows_total);
    ASSERT_EQ(sb.random_rows, sa.random_rows);
    ASSERT_EQ(sb.window_start, sa.window_start);
    ASSERT_EQ(sb.window_rows, sa.window_rows);
    ASSERT_EQ(sb.samples_taken, sa.samples_taken);
    ASSERT_EQ(sb.bucket_row, sa.bucket_row);
    ASSERT_TRUE(sb.bucket_level == sa.bucket_level);
    tg_rng_t ra, rb;
    shuffle_window_get_rng(a, &ra);
    shuffle_window_get_rng(b, &rb);
    ASSERT_TRUE(memcmp(&ra, &rb, sizeof(ra)) == 0);
    ASSERT_TRUE(same_samples(a, b, 5));

    /* Both continue identically. */
    ASSERT_EQ(append_synth(a, 50, 10, 0), 0);
    ASSERT_EQ(append_synth(b, 50, 10, 0), 0);
    ASSERT_EQ(shuffle_window_bucket_available(a), shuffle_window_bucket_available(b));
    ASSERT_TRUE(same_samples(a, b, 5));

    /* The in-memory rows went to one sidecar; once the window has moved past them, the next
     * save deletes it (after the new state is written). */
    char sidecar[600];
    snprintf(sidecar, sizeof(sidecar), "%s.r70-45.npz", state);
    ASSERT_EQ(access(sidecar, F_OK), 0);
    ASSERT_EQ(append_synth(a, 600, 50, 0), 0);
    shuffle_window_get_stats(a, &sa);
    ASSERT_TRUE(sa.window_start > 115);
    ASSERT_EQ(shuffle_window_save(a, state, &err), 0);
    ASSERT_EQ(shuffle_window_save(a, state, &err), 0); /* again: nothing new, still fine */
    ASSERT_TRUE(access(sidecar, F_OK) != 0);
    shuffle_window_destroy(b);
    ASSERT_EQ(shuffle_window_create(&b, &c, &err), 0);
    ASSERT_EQ(shuffle_window_restore(b, state, &err), 0);
    ASSERT_TRUE(same_samples(a, b, 3));
    /* Restoring into a window that already has rows is refused. */
    ASSERT_EQ(shuffle_window_restore(b, state, &err), TG_ESTATE);
    shuffle_window_destroy(b);
    /* Restoring under a smaller memory cap keeps the newest rows that fit. */
    shuffle_window_get_stats(a, &sa);
    shuffle_config_t small = c;
    small.max_bytes = 4 * (sa.bytes_used / (size_t)(sa.window_rows / 16 + 1)) + 64;
    ASSERT_EQ(shuffle_window_create(&b, &small, &err), 0);
    ASSERT_EQ(shuffle_window_restore(b, state, &err), 0);
    shuffle_window_get_stats(b, &sb);
    ASSERT_EQ(sb.rows_total, sa.rows_total);
    ASSERT_TRUE(sb.window_rows < sa.window_rows);
    ASSERT_TRUE(sb.window_rows >= sb.cap_rows);
    ASSERT_TRUE(sb.bytes_used <= small.max_bytes);
    trainrows_t bt;
    int64_t ids[24];
    ASSERT_EQ(trainrows_init(&bt, POS_LEN, 24, &err), 0);
    ASSERT_EQ(shuffle_window_sample(b, 24, &bt, ids, &err), 0);
    for (int i = 0; i < 24; i++)
        ASSERT_TRUE(ids[i] >= sb.window_start && synth_check_row(&bt, i, ids[i]));
    trainrows_free(&bt);
    shuffle_window_destroy(b);
    shuffle_window_destroy(a);
}

TEST(save_restore_before_ready) {
    const char *dir = make_tmp_dir();
    ASSERT_TRUE(dir != NULL);
    char state[512];
    snprintf(state, sizeof(state), "%s/empty.state", dir);
    shuffle_config_t c = small_config(100);
    c.max_train_per_data = 1.0;
    c.samples_per_epoch = 10;
    tg_err_t err;
    shuffle_window_t *a, *b;
    ASSERT_EQ(shuffle_window_create(&a, &c, &err), 0);
    ASSERT_EQ(shuffle_window_save(a, state, &err), 0); /* empty */
    ASSERT_EQ(shuffle_window_create(&b, &c, &err), 0);
    ASSERT_EQ(shuffle_window_restore(b, state, &err), 0);
    shuffle_stats_t st;
    shuffle_window_get_stats(b, &st);
    ASSERT_EQ(st.rows_total, 0);
    ASSERT_EQ(st.bucket_row, -1);
    shuffle_window_destroy(b);
    ASSERT_EQ(append_synth(a, 60, 20, 0), 0); /* not ready yet: no bucket */
    ASSERT_EQ(shuffle_window_save(a, state, &err), 0);
    ASSERT_EQ(shuffle_window_create(&b, &c, &err), 0);
    ASSERT_EQ(shuffle_window_restore(b, state, &err), 0);
    ASSERT_EQ(append_synth(a, 45, 15, 0), 0);
    ASSERT_EQ(append_synth(b, 45, 15, 0), 0);
    /* Ready at 105 rows: the bucket starts at samples_per_epoch, then 1 per new row. */
    ASSERT_EQ(shuffle_window_bucket_available(a), 10);
    ASSERT_EQ(shuffle_window_bucket_available(b), 10);
    ASSERT_EQ(append_synth(a, 5, 5, 0), 0);
    ASSERT_EQ(append_synth(b, 5, 5, 0), 0);
    ASSERT_EQ(shuffle_window_bucket_available(a), 15);
    ASSERT_EQ(shuffle_window_bucket_available(b), 15);
    ASSERT_TRUE(same_samples(a, b, 4));
    shuffle_window_destroy(b);
    shuffle_window_destroy(a);
}

TEST(restore_rejects_bad_state) {
    const char *dir = make_tmp_dir();
    ASSERT_TRUE(dir != NULL);
    char state[512];
    snprintf(state, sizeof(state), "%s/bad.state", dir);
    shuffle_config_t c = small_config(10);
    tg_err_t err;
    shuffle_window_t *w;
    const char *bad[] = {
        "not a state\n",
        "tengen-shuffle-state 1\npos_len 19\n",
        "tengen-shuffle-state 1\npos_len 5\nrows_total 10\nrandom_rows 20\n",
        "tengen-shuffle-state 1\npos_len 5\nrows_total 10\nrandom_rows 0\nwindow_start 0\n"
        "samples_taken 0\nbucket_level 0x0p+0\nbucket_row -1\nrng 1 2 3 4\npass 0 0 0 0 0\n"
        "segments 1\n"
        "seg 0 5 0 0 0 /nonexistent.npz\nend\n", /* segments stop at 5 of 10 */
        "tengen-shuffle-state 1\npos_len 5\nrows_total 10\nrandom_rows 0\nwindow_start 0\n"
        "samples_taken 0\nbucket_level 0x0p+0\nbucket_row -1\nrng 1 2 3 4\npass 0 0 0 0 0\n"
        "segments 1\n"
        "seg 0 10 0 0 0 /nonexistent.npz\nend\n", /* missing source file */
    };
    const int codes[] = {TG_EFORMAT, TG_EFORMAT, TG_EFORMAT, TG_EFORMAT, TG_EIO};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        ASSERT_EQ(tg_file_write_atomic(state, bad[i], strlen(bad[i]), &err), 0);
        ASSERT_EQ(shuffle_window_create(&w, &c, &err), 0);
        int rc = shuffle_window_restore(w, state, &err);
        if (rc != codes[i]) printf("  case %zu: rc %d: %s\n", i, rc, err.msg);
        ASSERT_EQ(rc, codes[i]);
        ASSERT_CONTAINS(err.msg, i == 4 ? "nonexistent" : "bad.state");
        shuffle_window_destroy(w);
    }
}

int main(void) {
    RUN(formula_docs_table);
    RUN(formula_hand_examples);
    RUN(config_validation);
    RUN(rows_drop_out_in_order);
    RUN(growing_window_and_random_cap);
    RUN(memory_cap_is_hard);
    RUN(sampling_uniform_chi_square);
    RUN(sampling_deterministic_per_seed);
    RUN(sample_argument_checks);
    RUN(pass_permutation_is_bijection);
    RUN(pass_sampling_without_replacement);
    RUN(bucket_arithmetic);
    RUN(fixture_npz_rows_come_back);
    RUN(load_dir_order_and_random);
    RUN(save_restore_exact);
    RUN(save_restore_exact_pass);
    RUN(save_restore_before_ready);
    RUN(restore_rejects_bad_state);
    synth_release();
    remove_tmp_dirs();
    TEST_MAIN_END();
}
