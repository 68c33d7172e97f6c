/* test_evalservice_cache.c: the evaluation service's packed route (features built by the
 * posters) and its NN cache, with a scripted packed backend: the features the evaluator
 * receives are exactly tg_nn_fill_features_packed's; a game posted under several symmetries is
 * built once; a repeated position is answered from the cache with identical outputs and no
 * backend call; symmetry, komi, history and the player to move all change the key while an
 * equal copy of a game hits; boards over cache_board_len bypass the cache; cache_entries 0
 * turns it off; cache_any_symmetry shares one key across symmetries for one-position requests
 * only; the counters add up; and a multi-threaded stress run on a tiny table (constant
 * replacement, shared stripes) never gives a poster another position's answer (run it under
 * -DTENGEN_SANITIZE=thread too). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "search/evalservice.h"
#include "test.h"
#include "util/rng.h"

/* Scripted packed backend: uniform outputs (so legal moves are the game's), white_lead = a
 * fresh sequence number per evaluated position, white_score_mean = an identity of the
 * (position, symmetry) the poster can check. */
typedef struct fake_s {
    atomic_long calls, positions, seq;
    atomic_int bad_features;   /* features differing from tg_nn_fill_features_packed */
    atomic_int shared_in_call; /* calls in which two positions had the same features pointer */
    tg_nn_input_params_t ip;
} fake_t;

static float identity_of(const tg_game_t *g, int sym) {
    return (float)(g->num_moves * 64 + sym * 8 + (g->to_move == TG_WHITE ? 4 : 0)) +
           0.25f * (float)g->board.size + g->rules.komi * 1000.0f;
}

static int fake_packed(void *ctx, int n, const tg_game_t *const *games,
                       const float *const *features, const int *syms, int nn_len,
                       tg_nn_output_t *outs, tg_err_t *err) {
    fake_t *f = ctx;
    (void)err;
    (void)nn_len;
    atomic_fetch_add(&f->calls, 1);
    atomic_fetch_add(&f->positions, n);
    static _Thread_local float want[TG_NN_PACKED_FLOATS(TG_BOARD_MAX)];
    for (int i = 0; i < n; i++) {
        int bn = games[i]->board.size;
        tg_nn_fill_features_packed(games[i], &f->ip, want);
        if (memcmp(want, features[i], sizeof(float) * (size_t)TG_NN_PACKED_FLOATS(bn)) != 0)
            atomic_fetch_add(&f->bad_features, 1);
        for (int j = 0; j < i; j++)
            if (features[j] == features[i]) {
                atomic_fetch_add(&f->shared_in_call, 1);
                break;
            }
        tg_evalservice_fill_uniform(games[i], &outs[i]);
        outs[i].white_lead = (float)atomic_fetch_add(&f->seq, 1);
        outs[i].white_score_mean = identity_of(games[i], syms[i]);
    }
    return 0;
}

static int fake_games_route(void *ctx, int n, const tg_game_t *const *games, const int *syms,
                            int nn_len, tg_nn_output_t *outs, tg_err_t *err) {
    (void)ctx, (void)games, (void)syms, (void)nn_len, (void)outs, (void)n;
    return tg_err_set(err, TG_EINTERNAL, "fake: the games route must not be used");
}

static void fake_init(fake_t *f) {
    atomic_init(&f->calls, 0);
    atomic_init(&f->positions, 0);
    atomic_init(&f->seq, 0);
    atomic_init(&f->bad_features, 0);
    atomic_init(&f->shared_in_call, 0);
    f->ip = tg_nn_input_params_default();
}

static tg_evalservice_backend_t fake_backend(fake_t *f) {
    tg_evalservice_backend_t b = {.evaluate_batch = fake_games_route,
                                  .ctx = f,
                                  .evaluate_packed = fake_packed,
                                  .input_params = f->ip};
    return b;
}

static int eval1(tg_evalservice_t *svc, const tg_game_t *g, int sym, tg_nn_output_t *out) {
    tg_err_t err;
    return tg_evalservice_evaluate(svc, 1, &g, &sym, out, &err);
}

/* Outputs equal on every field a caller reads (board_size, scalars, N*N policy/ownership). */
static bool same_output(const tg_nn_output_t *a, const tg_nn_output_t *b) {
    int n = a->board_size;
    if (n != b->board_size) return false;
    if (memcmp(&a->white_win, &b->white_win, 9 * sizeof(float)) != 0) return false;
    if (a->policy_pass != b->policy_pass) return false;
    return memcmp(a->policy, b->policy, sizeof(float) * (size_t)(n * n)) == 0 &&
           memcmp(a->white_ownership, b->white_ownership, sizeof(float) * (size_t)(n * n)) == 0;
}

static tg_evalservice_params_t cache_params(int entries) {
    tg_evalservice_params_t p = tg_evalservice_params_default();
    p.max_batch = 8;
    p.max_wait_us = 100;
    p.cache_entries = entries;
    p.cache_board_len = 9;
    return p;
}

static void play(tg_game_t *g, int x, int y) {
    ASSERT_EQ(tg_game_play(g, tg_loc(x, y), g->to_move, NULL), 0);
}

static tg_nn_output_t g_a, g_b;

TEST(hit_returns_identical_outputs) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(1024);
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();
    tg_game_t g;
    tg_game_init(&g, 9, &rules);
    play(&g, 2, 2);
    play(&g, 6, 6);
    play(&g, 2, 6); /* white to move, a ko-free middle game */

    ASSERT_EQ(eval1(svc, &g, 3, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions), 1);
    memset(&g_b, 0, sizeof(g_b));
    ASSERT_EQ(eval1(svc, &g, 3, &g_b), 0);
    ASSERT_EQ(atomic_load(&f.positions), 1); /* answered from the cache */
    ASSERT_TRUE(same_output(&g_a, &g_b));
    ASSERT_EQ(g_b.white_lead, 0.0f); /* the first evaluation's sequence number */
    ASSERT_EQ(g_b.white_score_mean, identity_of(&g, 3));
    ASSERT_TRUE(g_b.policy[2 * 9 + 2] < 0); /* occupied: illegal */

    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.posted, 2);
    ASSERT_EQ(st.requests, 2);
    ASSERT_EQ(st.positions, 1);
    ASSERT_EQ(st.cache_hits, 1);
    ASSERT_EQ(st.cache_misses, 1);
    ASSERT_EQ(st.cache_inserts, 1);
    ASSERT_EQ(st.cache_rejects, 0);
    ASSERT_NEAR(st.cache_hit_rate, 0.5, 1e-12);
    ASSERT_NEAR(st.cache_mb, (double)tg_evalservice_cache_bytes(&p) / 1048576.0, 1e-12);
    ASSERT_EQ(tg_evalservice_cache_bytes(&p), 1024 * 720); /* 64 + 8 * 81 = 712, to 16: 720 */
    ASSERT_EQ(atomic_load(&f.bad_features), 0);
    tg_evalservice_destroy(svc);
}

TEST(key_separates_symmetry_komi_history_player) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(4096);
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();

    /* Same stones, reached in different orders: different last-move planes. */
    tg_game_t g1, g2;
    tg_game_init(&g1, 9, &rules);
    play(&g1, 2, 2);
    play(&g1, 6, 6);
    play(&g1, 2, 6);
    play(&g1, 6, 2);
    tg_game_init(&g2, 9, &rules);
    play(&g2, 2, 6);
    play(&g2, 6, 2);
    play(&g2, 2, 2);
    play(&g2, 6, 6);

    long before = atomic_load(&f.positions);
    for (int sym = 0; sym < 8; sym++)
        ASSERT_EQ(eval1(svc, &g1, sym, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions) - before, 8); /* 8 symmetries: 8 keys */

    before = atomic_load(&f.positions);
    ASSERT_EQ(eval1(svc, &g2, 0, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions) - before, 1); /* other history: miss */

    tg_game_t g3 = g1; /* equal copy, other address: hit */
    before = atomic_load(&f.positions);
    ASSERT_EQ(eval1(svc, &g3, 5, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions) - before, 0);
    ASSERT_EQ(g_a.white_score_mean, identity_of(&g1, 5));

    tg_game_set_komi(&g3, g1.rules.komi + 1.0f); /* other komi: miss */
    before = atomic_load(&f.positions);
    ASSERT_EQ(eval1(svc, &g3, 5, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions) - before, 1);
    ASSERT_EQ(g_a.white_score_mean, identity_of(&g3, 5));

    /* After a pass: same stones, the other player to move (and a pass in the history). */
    tg_game_t g4 = g1;
    ASSERT_EQ(tg_game_play(&g4, TG_LOC_PASS, g4.to_move, NULL), 0);
    before = atomic_load(&f.positions);
    ASSERT_EQ(eval1(svc, &g4, 0, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions) - before, 1);
    ASSERT_EQ(g_a.white_score_mean, identity_of(&g4, 0));

    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.cache_hits, 1);
    ASSERT_EQ(st.cache_misses, 11);
    ASSERT_EQ(st.posted, st.cache_hits + st.positions);
    ASSERT_EQ(atomic_load(&f.bad_features), 0);
    tg_evalservice_destroy(svc);
}

TEST(root_symmetries_share_features_and_big_boards_bypass) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(256);
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();
    tg_game_t g;
    tg_game_init(&g, 9, &rules);
    play(&g, 4, 4);
    const tg_game_t *games[8];
    int syms[8];
    static tg_nn_output_t outs[8];
    for (int i = 0; i < 8; i++)
        games[i] = &g, syms[i] = 7 - i;
    ASSERT_EQ(tg_evalservice_evaluate(svc, 8, games, syms, outs, &err), 0);
    ASSERT_EQ(atomic_load(&f.positions), 8);
    ASSERT_TRUE(atomic_load(&f.shared_in_call) > 0); /* one feature buffer for all 8 */
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(outs[i].white_score_mean, identity_of(&g, 7 - i));
    ASSERT_EQ(tg_evalservice_evaluate(svc, 8, games, syms, outs, &err), 0);
    ASSERT_EQ(atomic_load(&f.positions), 8); /* all 8 from the cache */

    /* 13x13 > cache_board_len 9: evaluated every time, never looked up. More positions than
     * one poster chunk holds (two 19x19 / five 13x13 feature sets): posted in several chunks. */
    tg_game_t big[3];
    static const tg_game_t *bg[20];
    static int bs[20];
    static tg_nn_output_t bo[20];
    for (int k = 0; k < 3; k++) {
        tg_game_init(&big[k], k == 2 ? 19 : 13, &rules);
        play(&big[k], k, k);
    }
    for (int i = 0; i < 20; i++)
        bg[i] = &big[i % 3], bs[i] = i % 8;
    tg_evalservice_stats_t st0, st1;
    tg_evalservice_get_stats(svc, &st0);
    ASSERT_EQ(tg_evalservice_evaluate(svc, 20, bg, bs, bo, &err), 0);
    ASSERT_EQ(tg_evalservice_evaluate(svc, 20, bg, bs, bo, &err), 0);
    tg_evalservice_get_stats(svc, &st1);
    ASSERT_EQ(st1.positions - st0.positions, 40);
    ASSERT_EQ(st1.cache_hits + st1.cache_misses, st0.cache_hits + st0.cache_misses);
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(bo[i].board_size, bg[i]->board.size);
        ASSERT_EQ(bo[i].white_score_mean, identity_of(bg[i], bs[i]));
    }
    ASSERT_EQ(atomic_load(&f.bad_features), 0);
    tg_evalservice_destroy(svc);
}

TEST(cache_off_always_evaluates) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(0);
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();
    tg_game_t g;
    tg_game_init(&g, 9, &rules);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(eval1(svc, &g, 1, &g_a), 0);
    ASSERT_EQ(atomic_load(&f.positions), 3);
    ASSERT_EQ(g_a.white_lead, 2.0f);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.cache_hits + st.cache_misses + st.cache_inserts, 0);
    ASSERT_EQ(st.cache_mb, 0);
    ASSERT_EQ(tg_evalservice_cache_bytes(&p), 0);
    tg_evalservice_destroy(svc);

    /* Bad cache params are refused. */
    p.cache_entries = -1;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), TG_EINVAL);
    p.cache_entries = 10;
    p.cache_board_len = 20;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), TG_EINVAL);
}

TEST(any_symmetry_shares_single_position_keys) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(1024);
    p.cache_any_symmetry = true;
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();
    tg_game_t g, h;
    tg_game_init(&g, 9, &rules);
    play(&g, 3, 3);
    h = g;
    play(&h, 5, 5);

    ASSERT_EQ(eval1(svc, &g, 2, &g_a), 0); /* miss, stored under "any symmetry" */
    ASSERT_EQ(eval1(svc, &g, 5, &g_b), 0); /* hit: the symmetry-2 evaluation */
    ASSERT_EQ(atomic_load(&f.positions), 1);
    ASSERT_TRUE(same_output(&g_a, &g_b));
    ASSERT_EQ(g_b.white_score_mean, identity_of(&g, 2));
    ASSERT_EQ(eval1(svc, &h, 5, &g_b), 0); /* another position still misses */
    ASSERT_EQ(atomic_load(&f.positions), 2);
    ASSERT_EQ(g_b.white_score_mean, identity_of(&h, 5));

    /* Several positions in one request (root averaging): exact keys, own symmetries. */
    const tg_game_t *games[2] = {&g, &g};
    int syms[2] = {2, 5};
    static tg_nn_output_t outs[2];
    ASSERT_EQ(tg_evalservice_evaluate(svc, 2, games, syms, outs, &err), 0);
    ASSERT_EQ(atomic_load(&f.positions), 4);
    ASSERT_EQ(outs[0].white_score_mean, identity_of(&g, 2));
    ASSERT_EQ(outs[1].white_score_mean, identity_of(&g, 5));
    ASSERT_EQ(tg_evalservice_evaluate(svc, 2, games, syms, outs, &err), 0);
    ASSERT_EQ(atomic_load(&f.positions), 4); /* now cached under their exact keys */
    ASSERT_EQ(outs[1].white_score_mean, identity_of(&g, 5));
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    ASSERT_EQ(st.cache_hits, 3);
    ASSERT_EQ(st.cache_misses, 4);
    ASSERT_EQ(st.posted, st.cache_hits + st.positions);
    tg_evalservice_destroy(svc);
}

/* ---- Stress: concurrent posters on a tiny table ---------------------------------------------- */

#define STRESS_GAMES   12
#define STRESS_CLIENTS 6
#define STRESS_ITERS   300

static tg_game_t g_stress[STRESS_GAMES];

typedef struct client_s {
    tg_evalservice_t *svc;
    int id, bad, rc;
    long calls, posted;
} client_t;

static void client_main(void *arg) {
    client_t *c = arg;
    tg_rng_t rng;
    tg_rng_seed(&rng, 99, (uint64_t)c->id);
    tg_evalservice_attach(c->svc);
    for (int it = 0; it < STRESS_ITERS && !c->rc; it++) {
        int n = 1 + (int)tg_rng_below(&rng, 4);
        const tg_game_t *games[4];
        int syms[4];
        tg_nn_output_t outs[4];
        for (int i = 0; i < n; i++) {
            games[i] = &g_stress[tg_rng_below(&rng, STRESS_GAMES)];
            syms[i] = (int)tg_rng_below(&rng, 3); /* few symmetries: many hits */
        }
        tg_err_t err;
        c->rc = tg_evalservice_evaluate(c->svc, n, games, syms, outs, &err);
        c->calls++;
        c->posted += n;
        for (int i = 0; i < n && !c->rc; i++)
            if (outs[i].white_score_mean != identity_of(games[i], syms[i]) ||
                outs[i].board_size != games[i]->board.size)
                c->bad++;
    }
    tg_evalservice_detach(c->svc);
}

TEST(stress_concurrent_posters_tiny_table) {
    fake_t f;
    fake_init(&f);
    tg_evalservice_backend_t b = fake_backend(&f);
    tg_evalservice_params_t p = cache_params(7); /* 7 slots for 36 keys: constant replacement */
    p.num_threads = 2;
    p.max_batch = 4;
    tg_evalservice_t *svc = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_evalservice_create(&p, &b, &svc, &err), 0);
    tg_rules_t rules = tg_rules_default();
    tg_rng_t rng;
    tg_rng_seed(&rng, 3, 0);
    for (int i = 0; i < STRESS_GAMES; i++) {
        tg_game_init(&g_stress[i], i % 4 == 3 ? 7 : 9, &rules);
        for (int m = 0; m < i && !g_stress[i].game_over; m++)
            tg_game_play_assume_legal(&g_stress[i], tg_game_random_move(&g_stress[i], &rng),
                                      g_stress[i].to_move);
    }
    static client_t clients[STRESS_CLIENTS];
    uv_thread_t th[STRESS_CLIENTS];
    for (int c = 0; c < STRESS_CLIENTS; c++) {
        clients[c] = (client_t){.svc = svc, .id = c};
        ASSERT_EQ(uv_thread_create(&th[c], client_main, &clients[c]), 0);
    }
    long calls = 0, posted = 0;
    for (int c = 0; c < STRESS_CLIENTS; c++) {
        uv_thread_join(&th[c]);
        ASSERT_EQ(clients[c].rc, 0);
        ASSERT_EQ(clients[c].bad, 0);
        calls += clients[c].calls;
        posted += clients[c].posted;
    }
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    tg_evalservice_destroy(svc);
    printf("  %ld posted: %lld hits, %lld misses, %lld evaluated in %lld batches\n", posted,
           (long long)st.cache_hits, (long long)st.cache_misses, (long long)st.positions,
           (long long)st.batches);
    ASSERT_EQ(st.requests, calls);
    ASSERT_EQ(st.posted, posted);
    ASSERT_EQ(st.cache_hits + st.cache_misses, posted); /* every board <= 9 is looked up */
    ASSERT_EQ(st.positions, st.cache_misses);
    ASSERT_EQ(st.cache_inserts, st.cache_misses);
    ASSERT_EQ(st.positions, atomic_load(&f.positions));
    ASSERT_EQ(st.cache_rejects, 0);
    ASSERT_TRUE(st.cache_hits > 0);
    ASSERT_TRUE(st.cache_misses > 36); /* replacements forced re-evaluations */
    ASSERT_EQ(atomic_load(&f.bad_features), 0);
}

int main(void) {
    RUN(hit_returns_identical_outputs);
    RUN(key_separates_symmetry_komi_history_player);
    RUN(root_symmetries_share_features_and_big_boards_bypass);
    RUN(cache_off_always_evaluates);
    RUN(any_symmetry_shares_single_position_keys);
    RUN(stress_concurrent_posters_tiny_table);
    TEST_MAIN_END();
}
