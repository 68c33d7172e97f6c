/* test_eval_packed.c: features built by the caller (tg_nn_fill_features_packed at the board's
 * size, then tg_nn_symmetry_apply_embed into the batch tensor) give exactly the tensor that
 * tg_nn_fill_features_ex + tg_nn_symmetry_apply build at the tensor size, for every symmetry,
 * board sizes below the tensor size included; and with the b6c96 fixture net
 * tg_nn_evaluate_batch_packed is bit-identical to tg_nn_evaluate_batch on mixed batches. */
#include <stdio.h>
#include <string.h>

#include "nn/eval.h"
#include "test.h"
#include "util/rng.h"

#define PLANE_MAX (TG_BOARD_MAX * TG_BOARD_MAX)

/* Plays up to `moves` random legal moves (stops at game end). */
static void random_game(tg_game_t *g, int size, const tg_rules_t *rules, int moves, tg_rng_t *rng) {
    tg_game_init(g, size, rules);
    for (int m = 0; m < moves && !g->game_over; m++)
        tg_game_play_assume_legal(g, tg_game_random_move(g, rng), g->to_move);
}

static float g_full[TG_NN_NUM_SPATIAL * PLANE_MAX], g_full_sym[TG_NN_NUM_SPATIAL * PLANE_MAX];
static float g_embed[TG_NN_NUM_SPATIAL * PLANE_MAX];
static float g_packed[TG_NN_PACKED_FLOATS(TG_BOARD_MAX)];

TEST(packed_embed_equals_full_fill) {
    tg_rules_t rules[2];
    tg_err_t err;
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &rules[0], &err), 0);
    ASSERT_EQ(tg_rules_parse("japanese", &rules[1], &err), 0);
    tg_rng_t rng;
    tg_rng_seed(&rng, 11, 0);
    const int sizes[] = {5, 7, 9, 13, 19};
    const int lens[] = {9, 13, 19};
    int checked = 0;
    for (int it = 0; it < 40; it++) {
        int n = sizes[it % 5];
        tg_game_t g;
        random_game(&g, n, &rules[it % 2], (int)tg_rng_below(&rng, (uint32_t)(n * n)), &rng);
        if (g.game_over) continue;
        tg_nn_input_params_t ip = tg_nn_input_params_default();
        ip.pass_alive_suicide = it % 3 == 0;
        float global_full[TG_NN_NUM_GLOBAL];
        tg_nn_fill_features_packed(&g, &ip, g_packed);
        for (int li = 0; li < 3; li++) {
            int len = lens[li];
            if (len < n) continue;
            tg_nn_fill_features_ex(&g, &ip, len, g_full, global_full);
            ASSERT_TRUE(memcmp(global_full, g_packed + TG_NN_NUM_SPATIAL * n * n,
                               sizeof(global_full)) == 0);
            for (int sym = 0; sym < TG_NN_NUM_SYMMETRIES; sym++) {
                tg_nn_symmetry_apply(g_full, g_full_sym, TG_NN_NUM_SPATIAL, len, sym);
                memset(g_embed, 0xff, sizeof(g_embed)); /* garbage the embed must overwrite */
                tg_nn_symmetry_apply_embed(g_packed, n, g_embed, TG_NN_NUM_SPATIAL, len, sym);
                size_t bytes = sizeof(float) * (size_t)TG_NN_NUM_SPATIAL * len * len;
                if (memcmp(g_full_sym, g_embed, bytes) != 0)
                    TEST__FAIL("size %d len %d sym %d: tensors differ", n, len, sym);
                checked++;
            }
        }
    }
    printf("  %d (position, tensor size, symmetry) tensors identical\n", checked);
    ASSERT_TRUE(checked >= 200);
}

#define NB 6
static tg_nn_output_t g_out_games[NB], g_out_packed[NB];
static float g_feat[NB][TG_NN_PACKED_FLOATS(TG_BOARD_MAX)];

TEST(packed_batch_bit_identical_with_net) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("  fixture missing: %s\n", path);
        exit(77);
    }
    fclose(f);
    tg_err_t err;
    tg_nn_evaluator_t *ev = NULL;
    ASSERT_EQ(tg_nn_evaluator_create(path, NB, 1, &ev, &err), 0);
    tg_rules_t rules;
    ASSERT_EQ(tg_rules_parse("chinese", &rules, &err), 0);
    tg_rng_t rng;
    tg_rng_seed(&rng, 5, 0);
    static tg_game_t games[NB];
    const tg_game_t *gp[NB];
    const float *fp[NB];
    int syms[NB];
    const int sizes[NB] = {9, 7, 9, 9, 5, 9};
    for (int i = 0; i < NB; i++) {
        random_game(&games[i], sizes[i], &rules, 3 + 7 * i, &rng);
        ASSERT_TRUE(!games[i].game_over);
        gp[i] = &games[i];
        syms[i] = (i * 3 + 1) % 8;
    }
    const tg_nn_input_params_t ip = tg_nn_evaluator_input_params(ev);
    for (int i = 0; i < NB; i++) {
        tg_nn_fill_features_packed(gp[i], &ip, g_feat[i]);
        fp[i] = g_feat[i];
    }
    const int lens[2] = {9, 11};
    for (int li = 0; li < 2; li++) {
        memset(g_out_games, 0, sizeof(g_out_games));
        memset(g_out_packed, 0, sizeof(g_out_packed));
        ASSERT_EQ(tg_nn_evaluate_batch(ev, NB, gp, syms, lens[li], g_out_games, &err), 0);
        ASSERT_EQ(tg_nn_evaluate_batch_packed(ev, NB, gp, fp, syms, lens[li], g_out_packed, &err),
                  0);
        for (int i = 0; i < NB; i++)
            if (memcmp(&g_out_games[i], &g_out_packed[i], sizeof(tg_nn_output_t)) != 0)
                TEST__FAIL("len %d position %d: outputs differ (win %.9g vs %.9g)", lens[li], i,
                           g_out_games[i].white_win, g_out_packed[i].white_win);
        /* Not trivially equal: the positions really differ. */
        ASSERT_TRUE(g_out_games[0].white_win != g_out_games[2].white_win);
    }
    /* Missing features are refused. */
    ASSERT_EQ(tg_nn_evaluate_batch_packed(ev, 1, gp, NULL, syms, 9, g_out_packed, &err), TG_EINVAL);
    tg_nn_evaluator_destroy(ev);
}

int main(void) {
    RUN(packed_embed_equals_full_fill);
    RUN(packed_batch_bit_identical_with_net);
    TEST_MAIN_END();
}
