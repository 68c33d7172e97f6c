/* test_evalservice_cache_net.c: the evaluation service with the real b6c96 fixture net, the
 * posters building the features and the NN cache on. One poster, so every batch holds one
 * position: each answer must be bit-identical to a direct tg_nn_evaluate (features built on
 * the evaluator's thread) of the same position and symmetry, and a second pass over the same
 * positions must come entirely from the cache with the same bits. */
#include <stdio.h>
#include <string.h>

#include "search/evalservice.h"
#include "test.h"
#include "util/rng.h"

#define NPOS 12

static tg_game_t g_games[NPOS];
static tg_nn_output_t g_direct[NPOS], g_first[NPOS], g_second[NPOS];

/* Equal bits on every field a caller reads: board_size, the scalars and the N*N prefixes of
 * policy and ownership (the arrays' tails beyond N*N are unspecified). */
static bool same_output(const tg_nn_output_t *a, const tg_nn_output_t *b) {
    int n = a->board_size;
    if (n != b->board_size) return false;
    if (memcmp(&a->white_win, &b->white_win, 9 * sizeof(float)) != 0) return false;
    if (memcmp(&a->policy_pass, &b->policy_pass, sizeof(float)) != 0) return false;
    return memcmp(a->policy, b->policy, sizeof(float) * (size_t)(n * n)) == 0 &&
           memcmp(a->white_ownership, b->white_ownership, sizeof(float) * (size_t)(n * n)) == 0;
}

TEST(net_cache_bit_identical) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("  fixture missing: %s\n", path);
        exit(77);
    }
    fclose(f);
    tg_err_t err;
    tg_nn_evaluator_t *direct = NULL, *served = NULL;
    ASSERT_EQ(tg_nn_evaluator_create(path, 4, 1, &direct, &err), 0);
    ASSERT_EQ(tg_nn_evaluator_create(path, 4, 1, &served, &err), 0);
    tg_evalservice_params_t sp = tg_evalservice_params_default();
    sp.max_batch = 4;
    sp.max_wait_us = 0;
    sp.cache_entries = 4096;
    sp.cache_board_len = 9;
    tg_evalservice_backend_t backend = tg_evalservice_backend_nn(served);
    ASSERT_TRUE(backend.evaluate_packed != NULL);
    tg_evalservice_t *svc = NULL;
    ASSERT_EQ(tg_evalservice_create(&sp, &backend, &svc, &err), 0);

    tg_rules_t rules;
    ASSERT_EQ(tg_rules_parse("japanese", &rules, &err), 0);
    tg_rng_t rng;
    tg_rng_seed(&rng, 21, 0);
    for (int i = 0; i < NPOS; i++) {
        tg_game_init(&g_games[i], i % 4 == 3 ? 7 : 9, &rules);
        int moves = 2 + 4 * i;
        for (int m = 0; m < moves && !g_games[i].game_over; m++)
            tg_game_play_assume_legal(&g_games[i], tg_game_random_move(&g_games[i], &rng),
                                      g_games[i].to_move);
        ASSERT_TRUE(!g_games[i].game_over);
    }
    memset(g_direct, 0, sizeof(g_direct));
    memset(g_first, 0, sizeof(g_first));
    memset(g_second, 0, sizeof(g_second));
    for (int i = 0; i < NPOS; i++) {
        int sym = (5 * i) % 8;
        const tg_game_t *g = &g_games[i];
        ASSERT_EQ(tg_nn_evaluate(direct, g, sym, &g_direct[i], &err), 0);
        ASSERT_EQ(tg_evalservice_evaluate(svc, 1, &g, &sym, &g_first[i], &err), 0);
    }
    tg_evalservice_stats_t st1, st2;
    tg_evalservice_get_stats(svc, &st1);
    for (int i = 0; i < NPOS; i++) {
        int sym = (5 * i) % 8;
        const tg_game_t *g = &g_games[i];
        ASSERT_EQ(tg_evalservice_evaluate(svc, 1, &g, &sym, &g_second[i], &err), 0);
    }
    tg_evalservice_get_stats(svc, &st2);
    for (int i = 0; i < NPOS; i++) {
        if (!same_output(&g_direct[i], &g_first[i]))
            TEST__FAIL("position %d: served output differs from direct (win %.9g vs %.9g)", i,
                       g_first[i].white_win, g_direct[i].white_win);
        if (!same_output(&g_first[i], &g_second[i]))
            TEST__FAIL("position %d: cached output differs (win %.9g vs %.9g)", i,
                       g_second[i].white_win, g_first[i].white_win);
        ASSERT_EQ(g_second[i].board_size, g_games[i].board.size);
    }
    ASSERT_EQ(st1.positions, NPOS);
    ASSERT_EQ(st1.cache_misses, NPOS);
    ASSERT_EQ(st1.cache_hits, 0);
    ASSERT_EQ(st2.positions, NPOS);
    ASSERT_EQ(st2.cache_hits, NPOS);
    ASSERT_EQ(st2.cache_rejects, 0);
    ASSERT_EQ(st2.posted, st2.cache_hits + st2.positions);
    tg_evalservice_destroy(svc);
    tg_nn_evaluator_destroy(served);
    tg_nn_evaluator_destroy(direct);
}

int main(void) {
    RUN(net_cache_bit_identical);
    TEST_MAIN_END();
}
