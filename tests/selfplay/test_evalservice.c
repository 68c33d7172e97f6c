/* test_evalservice.c: the batched evaluation service: every request answered with its own
 * outputs, batches fill when several clients post at once, the wait bound holds with a single
 * client, backend errors reach the poster, a multi-threaded stress run, and the uniform
 * evaluator's outputs. */
#include <stdatomic.h>
#include <time.h>
#include <uv.h>

#include "search/evalservice.h"
#include "test.h"

/* A scripted backend: encodes the game and symmetry into the outputs so posters can check they
 * got their own answer; optionally sleeps per batch and fails on a marked game. */
typedef struct fake_backend_s {
    atomic_long calls, positions, max_seen;
    int sleep_us;
    int fail_moves; /* fail a batch containing a game with this many moves (-1: never) */
} fake_backend_t;

static int fake_batch(void *ctx, int n, const tg_game_t *const *games, const int *syms, int nn_len,
                      tg_nn_output_t *outs, tg_err_t *err) {
    fake_backend_t *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    atomic_fetch_add(&f->positions, n);
    long prev = atomic_load(&f->max_seen);
    while (n > prev && !atomic_compare_exchange_weak(&f->max_seen, &prev, n)) {
    }
    if (f->sleep_us > 0) {
        struct timespec ts = {0, (long)f->sleep_us * 1000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (games[i]->num_moves == f->fail_moves)
            return tg_err_set(err, TG_EIO, "fake backend: marked game");
        if (games[i]->board.size > nn_len) return tg_err_set(err, TG_EINVAL, "nn_len too small");
        outs[i].board_size = games[i]->board.size;
        outs[i].white_lead = (float)(games[i]->num_moves * 10 + syms[i]);
        outs[i].white_score_mean = (float)nn_len;
    }
    return 0;
}

static void fake_init(fake_backend_t *f) {
    atomic_init(&f->calls, 0);
    atomic_init(&f->positions, 0);
    atomic_init(&f->max_seen, 0);
    f->sleep_us = 0;
    f->fail_moves = -1;
}

/* Games with 0..7 moves on 9x9 (and one 7x7) to tell answers apart. */
static tg_game_t g_games[9];
static void make_games(void) {
    tg_rules_t rules = tg_rules_default();
    for (int i = 0; i < 8; i++) {
        tg_game_init(&g_games[i], 9, &rules);
        for (int k = 0; k < i; k++)
            tg_game_play(&g_games[i], tg_loc(k, k % 3), g_games[i].to_move, NULL);
    }
    tg_game_init(&g_games[8], 7, &rules);
}

typedef struct client_s {
    tg_evalservice_t *svc;
    int id, iters, attach, bad;
    int rc;
} client_t;

static void client_main(void *arg) {
    client_t *c = arg;
    if (c->attach) tg_evalservice_attach(c->svc);
    for (int it = 0; it < c->iters; it++) {
        int n = 1 + (c->id + it) % 4;
        const tg_game_t *games[4];
        int syms[4];
        tg_nn_output_t outs[4];
        for (int i = 0; i < n; i++) {
            int gi = (c->id * 3 + it + i) % 8;
            games[i] = &g_games[gi];
            syms[i] = (it + i) % 8;
            outs[i].white_lead = -1.0f;
        }
        tg_err_t err;
        int rc = tg_evalservice_evaluate(c->svc, n, games, syms, outs, &err);
        if (rc) {
            c->rc = rc;
            break;
        }
        for (int i = 0; i < n; i++)
            if (outs[i].white_lead != (float)(games[i]->num_moves * 10 + syms[i])) c->bad++;
    }
    if (c->attach) tg_evalservice_detach(c->svc);
}

static void run_clients(tg_evalservice_t *svc, int nclients, int iters, int attach, int *total_bad,
                        int *first_rc) {
    client_t cl[16];
    uv_thread_t tid[16];
    for (int i = 0; i < nclients; i++) {
        cl[i] = (client_t){svc, i, iters, attach, 0, 0};
        uv_thread_create(&tid[i], client_main, &cl[i]);
    }
    *total_bad = 0;
    *first_rc = 0;
    for (int i = 0; i < nclients; i++) {
        uv_thread_join(&tid[i]);
        *total_bad += cl[i].bad;
        if (cl[i].rc && !*first_rc) *first_rc = cl[i].rc;
    }
}

TEST(single_request_answered) {
    fake_backend_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = {.evaluate_batch = fake_batch, .ctx = &f};
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_batch = 4;
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    /* 6 positions > max_batch: split over two batches, all answered in order. */
    const tg_game_t *games[6];
    int syms[6];
    tg_nn_output_t outs[6];
    for (int i = 0; i < 6; i++) {
        games[i] = &g_games[i];
        syms[i] = 7 - i;
    }
    ASSERT_EQ(tg_evalservice_evaluate(svc, 6, games, syms, outs, &err), 0);
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ((int)outs[i].white_lead, i * 10 + (7 - i));
        ASSERT_EQ((int)outs[i].white_score_mean, 9); /* nn_len = largest board */
    }
    ASSERT_TRUE(atomic_load(&f.max_seen) <= 4);
    ASSERT_EQ(atomic_load(&f.positions), 6);
    /* Mixed sizes: nn_len is the max (9) and the 7x7 game is accepted. */
    const tg_game_t *mixed[2] = {&g_games[8], &g_games[1]};
    int msyms[2] = {0, 0};
    ASSERT_EQ(tg_evalservice_evaluate(svc, 2, mixed, msyms, outs, &err), 0);
    ASSERT_EQ((int)outs[0].white_score_mean, 9);
    ASSERT_EQ(tg_evalservice_evaluate(svc, 0, games, syms, outs, &err), 0);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.positions, 8);
    ASSERT_EQ(st.requests, 2);
    ASSERT_TRUE(st.batches >= 2);
    tg_evalservice_destroy(svc);
}

TEST(batches_fill_with_attached_clients) {
    fake_backend_t f;
    fake_init(&f);
    f.sleep_us = 1000;
    tg_evalservice_backend_t b = {.evaluate_batch = fake_batch, .ctx = &f};
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_batch = 8;
    p.max_wait_us = 200000; /* long: only "all clients blocked" or a full batch dispatch */
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    int bad, rc;
    double t0 = 1e-9 * (double)uv_hrtime();
    run_clients(svc, 8, 40, 1, &bad, &rc);
    double dt = 1e-9 * (double)uv_hrtime() - t0;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(bad, 0);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    printf("  fill: batches=%lld mean_fill=%.2f full=%lld wait_ms=%.3f time=%.2fs\n",
           (long long)st.batches, st.mean_fill, (long long)st.full_batches, st.mean_queue_wait_ms,
           dt);
    ASSERT_EQ(st.requests, 8 * 40);
    /* 8 clients posting 1..4 positions with a slow backend: batches are mostly full. */
    ASSERT_TRUE(st.mean_fill >= 6.0);
    ASSERT_TRUE(atomic_load(&f.max_seen) <= 8);
    /* Never stalls on the 200 ms wait: 320 requests finish well under 320 * 0.2 s. */
    ASSERT_TRUE(dt < 10.0);
    tg_evalservice_destroy(svc);
}

TEST(wait_bound_with_one_unattached_client) {
    fake_backend_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = {.evaluate_batch = fake_batch, .ctx = &f};
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_batch = 64;
    p.max_wait_us = 2000;
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    const tg_game_t *games[1] = {&g_games[3]};
    int syms[1] = {2};
    tg_nn_output_t out;
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(tg_evalservice_evaluate(svc, 1, games, syms, &out, &err), 0);
    double per_ms = 1e-6 * (double)(uv_hrtime() - t0) / 20;
    ASSERT_EQ((int)out.white_lead, 32);
    /* Each request waits about max_wait_us for company, never much longer. */
    ASSERT_TRUE(per_ms >= 1.5);
    ASSERT_TRUE(per_ms < 50.0);
    /* Attached alone: no waiting at all. */
    tg_evalservice_attach(svc);
    t0 = uv_hrtime();
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(tg_evalservice_evaluate(svc, 1, games, syms, &out, &err), 0);
    double attached_ms = 1e-6 * (double)(uv_hrtime() - t0) / 20;
    tg_evalservice_detach(svc);
    printf("  unattached %.3f ms/request, attached %.3f ms/request\n", per_ms, attached_ms);
    ASSERT_TRUE(attached_ms < per_ms);
    tg_evalservice_destroy(svc);
}

TEST(backend_error_reaches_poster) {
    fake_backend_t f;
    fake_init(&f);
    f.fail_moves = 5;
    tg_evalservice_backend_t b = {.evaluate_batch = fake_batch, .ctx = &f};
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_wait_us = 0;
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    const tg_game_t *games[2] = {&g_games[1], &g_games[5]};
    int syms[2] = {0, 0};
    tg_nn_output_t outs[2];
    tg_err_clear(&err);
    ASSERT_EQ(tg_evalservice_evaluate(svc, 2, games, syms, outs, &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "marked game");
    /* The service keeps working after an error. */
    ASSERT_EQ(tg_evalservice_evaluate(svc, 1, games, syms, outs, &err), 0);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.errors, 1);
    tg_evalservice_destroy(svc);
}

TEST(stress_many_threads_two_evaluators) {
    fake_backend_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = {.evaluate_batch = fake_batch, .ctx = &f};
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_batch = 5;
    p.num_threads = 2;
    p.max_wait_us = 100;
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    int bad, rc;
    run_clients(svc, 16, 300, 1, &bad, &rc); /* half the clients attach: mixed rules */
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(bad, 0);
    run_clients(svc, 12, 200, 0, &bad, &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(bad, 0);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.requests, 16 * 300 + 12 * 200);
    ASSERT_EQ(st.positions, atomic_load(&f.positions));
    ASSERT_TRUE(atomic_load(&f.max_seen) <= 5);
    printf("  stress: %lld positions in %lld batches (mean fill %.2f)\n", (long long)st.positions,
           (long long)st.batches, st.mean_fill);
    tg_evalservice_destroy(svc);
}

TEST(uniform_evaluator) {
    tg_game_t g = g_games[4];
    tg_nn_output_t o;
    tg_evalservice_fill_uniform(&g, &o);
    int legal = 1;
    double sum = o.policy_pass;
    for (int i = 0; i < 81; i++) {
        if (o.policy[i] >= 0) {
            legal++;
            sum += o.policy[i];
        }
    }
    ASSERT_EQ(legal, 81 - 4 + 1); /* 4 stones on the board */
    ASSERT_NEAR(sum, 1.0, 1e-5);
    ASSERT_TRUE(o.policy[0] < 0); /* A9 (0,0) holds a stone */
    ASSERT_NEAR(o.white_win - o.white_loss, 0.0, 1e-7);
    ASSERT_NEAR(o.white_score_mean, 0.0, 1e-7);
    /* Through the service with the uniform backend: same answer. */
    tg_evalservice_backend_t b = tg_evalservice_backend_uniform();
    tg_evalservice_params_t p = tg_evalservice_params_default();
    tg_evalservice_t *svc;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    const tg_game_t *games[1] = {&g};
    int syms[1] = {3};
    tg_nn_output_t o2;
    ASSERT_EQ(tg_evalservice_evaluate(svc, 1, games, syms, &o2, &err), 0);
    ASSERT_NEAR(o2.policy_pass, o.policy_pass, 0);
    ASSERT_NEAR(o2.policy[40], o.policy[40], 0);
    tg_evalservice_destroy(svc);
    /* Bad params are rejected. */
    p.max_batch = 0;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "max_batch");
}

int main(void) {
    make_games();
    RUN(single_request_answered);
    RUN(batches_fill_with_attached_clients);
    RUN(wait_bound_with_one_unattached_client);
    RUN(backend_error_reaches_poster);
    RUN(stress_many_threads_two_evaluators);
    RUN(uniform_evaluator);
    TEST_MAIN_END();
}
