/* test_threads.c: one selfplay-like producer appending games while one trainer-like consumer
 * waits on the train bucket, takes samples and draws batches, as `tengen run` will do. Every
 * sampled row must be intact (its bytes encode its global index), inside the window, and the
 * consumer may never take more than the bucket allows. Small chunks and a tight memory cap make
 * chunk recycling happen constantly. Also run under -DTENGEN_SANITIZE=thread. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "shuffle/shuffle.h"
#include "synth_rows.h"
#include "test.h"

#define POS_LEN    5
#define TOTAL_ROWS 100000
#define BATCH      32
#define MIN_ROWS   500
#define K          2.0
#define EPOCH      64

typedef struct ctx_s {
    shuffle_window_t *w;
    int producer_rc;
    int64_t consumer_samples;
    int consumer_batches;
    int overlapped_batches; /* batches drawn while the producer was still appending */
    int bad_rows;
    int bad_range;
    int consumer_rc;
    atomic_int producer_done; /* release by the producer after its last append */
} ctx_t;

static void producer_main(void *arg) {
    ctx_t *c = arg;
    trainrows_t tr;
    tg_err_t err;
    c->producer_rc = trainrows_init(&tr, POS_LEN, 300, &err);
    int64_t next = 0;
    tg_rng_t rng;
    tg_rng_seed(&rng, 5, 1);
    while (c->producer_rc == 0 && next < TOTAL_ROWS) {
        int n = 1 + (int)tg_rng_below(&rng, 300); /* one game's rows */
        if (n > TOTAL_ROWS - next) n = (int)(TOTAL_ROWS - next);
        synth_fill(&tr, next, n);
        c->producer_rc = shuffle_window_append(c->w, &tr, 0, n, next < 2000, NULL, 0, &err);
        next += n;
    }
    trainrows_free(&tr);
    atomic_store_explicit(&c->producer_done, 1, memory_order_release);
    shuffle_window_close(c->w);
}

static void consumer_main(void *arg) {
    ctx_t *c = arg;
    trainrows_t batch;
    tg_err_t err;
    c->consumer_rc = trainrows_init(&batch, POS_LEN, BATCH, &err);
    int64_t ids[BATCH];
    while (c->consumer_rc == 0) {
        if (!shuffle_window_bucket_wait(c->w, BATCH, 2000)) {
            /* Closed or timed out: stop once the producer is done and the bucket is drained. */
            if (shuffle_window_bucket_available(c->w) < BATCH &&
                atomic_load_explicit(&c->producer_done, memory_order_acquire))
                break;
            continue;
        }
        if (shuffle_window_bucket_take(c->w, BATCH) != 0) continue;
        shuffle_stats_t before, after;
        shuffle_window_get_stats(c->w, &before);
        c->consumer_rc = shuffle_window_sample(c->w, BATCH, &batch, ids, &err);
        if (c->consumer_rc != 0) break;
        shuffle_window_get_stats(c->w, &after);
        for (int i = 0; i < BATCH; i++) {
            if (ids[i] < before.window_start || ids[i] >= after.rows_total) c->bad_range++;
            if (!synth_check_row(&batch, i, ids[i])) c->bad_rows++;
        }
        c->consumer_samples += BATCH;
        c->consumer_batches++;
        if (!atomic_load_explicit(&c->producer_done, memory_order_acquire)) c->overlapped_batches++;
    }
    trainrows_free(&batch);
    synth_release();
}

static void stress_body(shuffle_sample_mode_t mode);
TEST(producer_consumer_stress) { stress_body(SHUFFLE_SAMPLE_REPLACE); }
TEST(producer_consumer_stress_pass) { stress_body(SHUFFLE_SAMPLE_PASS); }

static void stress_body(shuffle_sample_mode_t mode) {
    shuffle_config_t cfg;
    shuffle_config_default(&cfg);
    cfg.pos_len = POS_LEN;
    cfg.min_rows = MIN_ROWS;
    cfg.expand_window_per_row = 0.5;
    cfg.taper_window_exponent = 0.8;
    cfg.chunk_rows = 64;
    cfg.max_bytes = 40 * (64 * 1100 + 7 * 64); /* about 40 chunks: cap ~2400 rows */
    cfg.max_train_per_data = K;
    cfg.samples_per_epoch = EPOCH;
    cfg.max_train_bucket_size = 4096;
    cfg.seed = 42;
    cfg.sample_mode = mode;
    ctx_t c = {0};
    tg_err_t err;
    ASSERT_EQ(shuffle_window_create(&c.w, &cfg, &err), 0);
    uv_thread_t prod, cons;
    ASSERT_EQ(uv_thread_create(&cons, consumer_main, &c), 0);
    ASSERT_EQ(uv_thread_create(&prod, producer_main, &c), 0);
    ASSERT_EQ(uv_thread_join(&prod), 0);
    ASSERT_EQ(uv_thread_join(&cons), 0);
    ASSERT_EQ(c.producer_rc, 0);
    ASSERT_EQ(c.consumer_rc, 0);
    ASSERT_EQ(c.bad_rows, 0);
    ASSERT_EQ(c.bad_range, 0);

    shuffle_stats_t st;
    shuffle_window_get_stats(c.w, &st);
    printf("  rows %lld window [%lld, +%lld) batches %d (%d during appends) samples %lld bucket "
           "%.1f bytes %zu\n",
           (long long)st.rows_total, (long long)st.window_start, (long long)st.window_rows,
           c.consumer_batches, c.overlapped_batches, (long long)c.consumer_samples, st.bucket_level,
           st.bytes_used);
    ASSERT_EQ(st.rows_total, TOTAL_ROWS);
    ASSERT_EQ(st.samples_taken, c.consumer_samples);
    ASSERT_TRUE(st.bytes_used <= cfg.max_bytes);
    /* Never more than the bucket allowed: the first epoch plus K per row after the window
     * became ready (at most MIN_ROWS + one game). */
    ASSERT_TRUE(c.consumer_samples <= EPOCH + (int64_t)(K * (TOTAL_ROWS - MIN_ROWS)));
    /* And the consumer really ran concurrently and used most of its allowance: what is left in
     * the bucket is less than one batch. */
    ASSERT_TRUE(c.consumer_batches > 100);
    ASSERT_TRUE(c.overlapped_batches > 10);
    ASSERT_TRUE(st.bucket_level < BATCH);
    shuffle_window_destroy(c.w);
}

int main(void) {
    RUN(producer_consumer_stress);
    RUN(producer_consumer_stress_pass);
    synth_release();
    TEST_MAIN_END();
}
