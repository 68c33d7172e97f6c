/* test_features.c: input features v7 (nn/features.h) and the symmetry helpers.
 *
 * Covers: board placement and padding (planes all 0 outside the board for L > N), stones and
 * liberty planes from pla's view, the ko-ban plane (simple ko, superko points, encore), the
 * history planes with passes and the alternation rule, friendly-pass history suppression,
 * komi / parity wave values, rule-dependent globals, area planes per scoring rule, ladder
 * planes, and symmetries (round trips, inverses, and features of a transformed game equal
 * the transformed features of the original). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "game/game.h"
#include "nn/features.h"
#include "test.h"
#include "util/rng.h"

static float sp[TG_NN_NUM_SPATIAL * 19 * 19];
static float gl[TG_NN_NUM_GLOBAL];

static float plane_at(int plane, int len, int x, int y) {
    return sp[plane * len * len + y * len + x];
}

static int plane_sum(int plane, int len) {
    int s = 0;
    for (int i = 0; i < len * len; i++)
        s += sp[plane * len * len + i] != 0.0f;
    return s;
}

static tg_rules_t rules_named(const char *name, float komi) {
    tg_rules_t r;
    tg_err_t err;
    TG_ASSERT(tg_rules_parse(name, &r, &err) == 0);
    r.komi = komi;
    return r;
}

static int play(tg_game_t *g, const char *vtx, tg_color_t c) {
    tg_loc_t loc;
    tg_err_t err;
    if (tg_loc_from_gtp(vtx, g->board.size, &loc) < 0) return -1;
    return tg_game_play(g, loc, c, &err);
}

TEST(placement_padding_and_stones) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 9, &r);
    ASSERT_EQ(play(&g, "E5", TG_BLACK), 0);
    ASSERT_EQ(play(&g, "C3", TG_WHITE), 0);
    ASSERT_EQ(play(&g, "D5", TG_BLACK), 0); /* White to move */
    const int len = 13;
    tg_nn_fill_features(&g, len, sp, gl);
    ASSERT_EQ(plane_sum(0, len), 81);
    for (int c = 0; c < TG_NN_NUM_SPATIAL; c++)
        for (int y = 0; y < len; y++)
            for (int x = 0; x < len; x++)
                if (x >= 9 || y >= 9) ASSERT_EQ(plane_at(c, len, x, y), 0.0f);
    /* E5 = (4,4), D5 = (3,4): black = opp for White; C3 = (2,6) white = pla. */
    ASSERT_EQ(plane_at(2, len, 4, 4), 1.0f);
    ASSERT_EQ(plane_at(2, len, 3, 4), 1.0f);
    ASSERT_EQ(plane_at(1, len, 2, 6), 1.0f);
    ASSERT_EQ(plane_sum(1, len), 1);
    ASSERT_EQ(plane_sum(2, len), 2);
    /* Liberties: black pair has 6, white stone 4: nothing in planes 3-5. */
    ASSERT_EQ(plane_sum(3, len) + plane_sum(4, len) + plane_sum(5, len), 0);
    /* History: D5 (1 ago, opp), C3 (2 ago, pla), E5 (3 ago, opp). */
    ASSERT_EQ(plane_at(9, len, 3, 4), 1.0f);
    ASSERT_EQ(plane_at(10, len, 2, 6), 1.0f);
    ASSERT_EQ(plane_at(11, len, 4, 4), 1.0f);
    ASSERT_EQ(plane_sum(12, len) + plane_sum(13, len), 0);
    for (int k = 0; k < 5; k++)
        ASSERT_EQ(gl[k], 0.0f);
    ASSERT_EQ(plane_sum(8, len), 0);
}

TEST(liberty_planes) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 5, &r);
    /* Black A5 corner stone (2 libs), then White B5 puts it at 1 lib. */
    ASSERT_EQ(play(&g, "A5", TG_BLACK), 0);
    ASSERT_EQ(play(&g, "B5", TG_WHITE), 0);
    ASSERT_EQ(play(&g, "C3", TG_BLACK), 0);
    tg_nn_fill_features(&g, 5, sp, gl);
    ASSERT_EQ(plane_at(3, 5, 0, 0), 1.0f); /* A5: 1 liberty */
    ASSERT_EQ(plane_at(4, 5, 1, 0), 1.0f); /* B5: 2 liberties (A5 side blocked) */
    ASSERT_EQ(plane_at(3, 5, 2, 2) + plane_at(4, 5, 2, 2) + plane_at(5, 5, 2, 2), 0.0f); /* 4 */
}

TEST(history_with_passes_and_alternation) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 9, &r);
    ASSERT_EQ(play(&g, "E5", TG_BLACK), 0);
    ASSERT_EQ(play(&g, "pass", TG_WHITE), 0);
    ASSERT_EQ(play(&g, "C3", TG_BLACK), 0);
    ASSERT_EQ(play(&g, "G7", TG_WHITE), 0);
    ASSERT_EQ(play(&g, "pass", TG_BLACK), 0); /* White to move */
    tg_nn_fill_features(&g, 9, sp, gl);
    ASSERT_EQ(gl[0], 1.0f); /* black pass 1 ago */
    ASSERT_EQ(gl[1], 0.0f);
    ASSERT_EQ(plane_at(10, 9, 6, 2), 1.0f); /* G7 2 ago */
    ASSERT_EQ(plane_at(11, 9, 2, 6), 1.0f); /* C3 3 ago */
    ASSERT_EQ(gl[3], 1.0f);                 /* white pass 4 ago */
    ASSERT_EQ(plane_at(13, 9, 4, 4), 1.0f); /* E5 5 ago */
    ASSERT_EQ(plane_sum(9, 9), 0);
    /* A pass by White now ends the game under Tromp-Taylor: global 14. */
    ASSERT_EQ(gl[14], 1.0f);

    /* max_history caps the history. */
    tg_nn_input_params_t p = tg_nn_input_params_default();
    p.max_history = 2;
    tg_nn_fill_features_ex(&g, &p, 9, sp, gl);
    ASSERT_EQ(gl[0], 1.0f);
    ASSERT_EQ(plane_at(10, 9, 6, 2), 1.0f);
    ASSERT_EQ(plane_sum(11, 9) + plane_sum(13, 9), 0);
    ASSERT_EQ(gl[3], 0.0f);
    /* Conservative pass at the root hides all history and global 14. */
    p = tg_nn_input_params_default();
    p.conservative_pass_and_is_root = true;
    tg_nn_fill_features_ex(&g, &p, 9, sp, gl);
    ASSERT_EQ(gl[0], 0.0f);
    ASSERT_EQ(gl[14], 0.0f);
    for (int c = 9; c <= 13; c++)
        ASSERT_EQ(plane_sum(c, 9), 0);

    /* Two moves in a row by the same player stop the chain: B, B -> White to move sees the
     * last black move only. */
    static tg_game_t h;
    tg_game_init(&h, 9, &r);
    ASSERT_EQ(play(&h, "E5", TG_BLACK), 0);
    ASSERT_EQ(play(&h, "C3", TG_BLACK), 0);
    h.to_move = TG_WHITE;
    tg_nn_fill_features(&h, 9, sp, gl);
    ASSERT_EQ(plane_at(9, 9, 2, 6), 1.0f);
    ASSERT_EQ(plane_sum(10, 9) + plane_sum(11, 9), 0);
}

TEST(friendly_pass_hides_history) {
    /* Chinese rules (friendlyPassOk): after Black passes, White's pass would end the game,
     * but the rules suppress that ending: history and global 14 are hidden (KataGo GTP). */
    static tg_game_t g;
    tg_rules_t r = rules_named("chinese", 7.5f);
    ASSERT_TRUE(r.friendly_pass_ok);
    tg_game_init(&g, 9, &r);
    ASSERT_EQ(play(&g, "E5", TG_BLACK), 0);
    ASSERT_EQ(play(&g, "C3", TG_WHITE), 0);
    ASSERT_EQ(play(&g, "pass", TG_BLACK), 0);
    ASSERT_TRUE(tg_game_pass_would_end_game(&g, TG_WHITE));
    tg_nn_fill_features(&g, 9, sp, gl);
    ASSERT_EQ(gl[0], 0.0f);
    ASSERT_EQ(gl[14], 0.0f);
    for (int c = 9; c <= 13; c++)
        ASSERT_EQ(plane_sum(c, 9), 0);
    /* Same under Tromp-Taylor (no friendly pass): history shown, global 14 set. */
    static tg_game_t t;
    tg_rules_t tt = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&t, 9, &tt);
    ASSERT_EQ(play(&t, "E5", TG_BLACK), 0);
    ASSERT_EQ(play(&t, "C3", TG_WHITE), 0);
    ASSERT_EQ(play(&t, "pass", TG_BLACK), 0);
    tg_nn_fill_features(&t, 9, sp, gl);
    ASSERT_EQ(gl[0], 1.0f);
    ASSERT_EQ(gl[14], 1.0f);
    ASSERT_EQ(plane_at(10, 9, 2, 6), 1.0f);
}

TEST(ko_plane_simple_and_superko) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 5, &r);
    /* Ko shape around C3/D3: Black B3 C2 C4, White D2 D4 E3, then B: D3, W: C3 takes. */
    const char *seq[][2] = {{"B3", "B"}, {"D2", "W"}, {"C2", "B"}, {"D4", "W"},
                            {"C4", "B"}, {"E3", "W"}, {"D3", "B"}, {"C3", "W"}};
    for (size_t i = 0; i < TG_ARRAY_LEN(seq); i++)
        ASSERT_EQ(play(&g, seq[i][0], seq[i][1][0] == 'B' ? TG_BLACK : TG_WHITE), 0);
    /* White captured at C3; Black may not retake at D3 = (3,2). */
    ASSERT_EQ(g.board.ko_loc, tg_loc(3, 2));
    tg_nn_fill_features(&g, 5, sp, gl);
    ASSERT_EQ(plane_at(6, 5, 3, 2), 1.0f);
    ASSERT_EQ(plane_sum(6, 5), 1);
    ASSERT_EQ(plane_sum(7, 5), 0);
    /* A superko-banned point (as the rules engine marks them) joins plane 6. */
    static tg_game_t s;
    s = g;
    s.super_ko_banned[tg_loc(0, 0)] = true;
    tg_nn_fill_features(&s, 5, sp, gl);
    ASSERT_EQ(plane_at(6, 5, 0, 0), 1.0f);
    ASSERT_EQ(plane_sum(6, 5), 2);
    /* In the encore the simple-ko point is not used; superko bans and recapture blocks are. */
    s.encore_phase = 1;
    s.ko_recap_blocked[tg_loc(2, 2)] = true;
    tg_nn_fill_features(&s, 5, sp, gl);
    ASSERT_EQ(plane_sum(6, 5), 1);
    ASSERT_EQ(plane_at(6, 5, 0, 0), 1.0f);
    ASSERT_EQ(plane_at(7, 5, 2, 2), 1.0f);
    ASSERT_EQ(plane_sum(7, 5), 1);
    ASSERT_EQ(gl[12], 1.0f);
    ASSERT_EQ(gl[13], 0.0f);
}

/* Expected parity wave, computed independently with the even/odd rule in doubles. */
static double wave_of(double self_komi, int n) {
    double period_start = (n * n) % 2 == 0 ? 2.0 * floor(self_komi / 2.0)
                                           : 2.0 * floor((self_komi - 1.0) / 2.0) + 1.0;
    double d = self_komi - period_start;
    if (d < 0.5) return d;
    if (d < 1.5) return 1.0 - d;
    return d - 2.0;
}

TEST(komi_and_parity_wave) {
    static tg_game_t g;
    struct {
        int size;
        float komi;
        tg_color_t pla;
        double self_komi, wave;
    } cases[] = {
        {19, 7.5f, TG_BLACK, -7.5, -0.5}, /* formats.md example */
        {19, 7.5f, TG_WHITE, 7.5, 0.5},
        {9, 7.0f, TG_WHITE, 7.0, 0.0},        /* integer komi: draw adjustment 0 at 0.5 wins */
        {10, 7.5f, TG_WHITE, 7.5, -0.5},      /* even board */
        {9, 6.0f, TG_BLACK, -6.0, 1.0 - 1.0}, /* odd board, even komi */
        {13, 0.5f, TG_WHITE, 0.5, -0.5},      /* odd board: komi 0.5 is 1.5 above -1 */
        {19, 500.0f, TG_WHITE, 381.0, 0.0},   /* clipped at X*Y + 20 */
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        tg_rules_t r = rules_named("tromp-taylor", cases[i].komi);
        tg_game_init(&g, cases[i].size, &r);
        g.to_move = cases[i].pla;
        tg_nn_fill_features(&g, cases[i].size, sp, gl);
        ASSERT_NEAR(gl[5], cases[i].self_komi / 20.0, 1e-6);
        ASSERT_NEAR(gl[18], cases[i].wave, 1e-6);
        ASSERT_NEAR(gl[18], wave_of(cases[i].self_komi, cases[i].size), 1e-6);
    }
    /* Territory scoring: no wave in the main phase. */
    tg_rules_t j = rules_named("japanese", 6.5f);
    tg_game_init(&g, 19, &j);
    tg_nn_fill_features(&g, 19, sp, gl);
    ASSERT_NEAR(gl[5], -6.5 / 20.0, 1e-6);
    ASSERT_EQ(gl[18], 0.0f);
}

TEST(rule_globals) {
    static tg_game_t g;
    struct {
        const char *rules;
        float g6, g7, g8, g9, g10, g11, g17;
    } cases[] = {
        {"tromp-taylor", 1, 0.5f, 1, 0, 0, 0, 0},
        {"chinese", 0, 0, 0, 0, 0, 0, 0},
        {"japanese", 0, 0, 0, 1, 1, 0, 0},
        {"{\"ko\":\"SITUATIONAL\",\"scoring\":\"AREA\",\"tax\":\"ALL\",\"suicide\":false}", 1,
         -0.5f, 0, 0, 1, 1, 0},
        {"{\"ko\":\"SPIGHT\",\"scoring\":\"AREA\",\"tax\":\"NONE\",\"hasButton\":true}", 1, 0.5f, 1,
         0, 0, 0, 1},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        tg_rules_t r = rules_named(cases[i].rules, 7.5f);
        tg_game_init(&g, 9, &r);
        tg_nn_fill_features(&g, 9, sp, gl);
        ASSERT_EQ(gl[6], cases[i].g6);
        ASSERT_EQ(gl[7], cases[i].g7);
        ASSERT_EQ(gl[8], cases[i].g8);
        ASSERT_EQ(gl[9], cases[i].g9);
        ASSERT_EQ(gl[10], cases[i].g10);
        ASSERT_EQ(gl[11], cases[i].g11);
        ASSERT_EQ(gl[12] + gl[13], 0.0f);
        ASSERT_EQ(gl[17], cases[i].g17);
        ASSERT_EQ(gl[15] + gl[16], 0.0f);
    }
    /* Playout doubling advantage. */
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 9, &r);
    tg_nn_input_params_t p = tg_nn_input_params_default();
    p.playout_doubling_advantage = -1.5;
    tg_nn_fill_features_ex(&g, &p, 9, sp, gl);
    ASSERT_EQ(gl[15], 1.0f);
    ASSERT_NEAR(gl[16], -0.75, 1e-7);
}

TEST(area_planes_by_rules) {
    /* Black owns a pass-alive corner (two eyes at A1 and C1) on 7x7. */
    static tg_game_t g;
    const char *black[] = {"B1", "D1", "A2", "B2", "C2", "D2"};
    tg_rules_t tt = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 7, &tt);
    tg_err_t err;
    for (size_t i = 0; i < TG_ARRAY_LEN(black); i++) {
        tg_loc_t loc;
        ASSERT_EQ(tg_loc_from_gtp(black[i], 7, &loc), 0);
        ASSERT_EQ(tg_game_set_stone(&g, loc, TG_BLACK, &err), 0);
    }
    tg_loc_t w;
    ASSERT_EQ(tg_loc_from_gtp("F6", 7, &w), 0);
    ASSERT_EQ(tg_game_set_stone(&g, w, TG_WHITE, &err), 0);
    g.to_move = TG_WHITE;
    tg_nn_fill_features(&g, 7, sp, gl);
    /* Area scoring, no tax: black's eyes A1 (0,6) and C1 (2,6) are opp area for White, white
     * stone F6 (5,1) is pla area (non-pass-alive stones count), empty middle nobody's. */
    ASSERT_EQ(plane_at(19, 7, 0, 6), 1.0f);
    ASSERT_EQ(plane_at(19, 7, 2, 6), 1.0f);
    ASSERT_EQ(plane_at(19, 7, 1, 5), 1.0f);
    ASSERT_EQ(plane_at(18, 7, 5, 1), 1.0f);
    ASSERT_EQ(plane_at(18, 7, 3, 3) + plane_at(19, 7, 3, 3), 0.0f);
    /* Territory scoring, main phase: no area planes at all. */
    static tg_game_t j;
    j = g;
    j.rules = rules_named("japanese", 6.5f);
    tg_nn_fill_features(&j, 7, sp, gl);
    ASSERT_EQ(plane_sum(18, 7) + plane_sum(19, 7), 0);
    ASSERT_EQ(plane_sum(20, 7) + plane_sum(21, 7), 0);
    /* Area scoring with seki tax: independent-life area keeps stones but not eyes... */
    static tg_game_t s;
    s = g;
    s.rules = rules_named("{\"ko\":\"SIMPLE\",\"scoring\":\"AREA\",\"tax\":\"SEKI\"}", 7.5f);
    tg_nn_fill_features(&s, 7, sp, gl);
    ASSERT_EQ(plane_at(19, 7, 1, 5), 1.0f); /* pass-alive black stone kept */
    ASSERT_EQ(plane_at(19, 7, 0, 6), 0.0f); /* territory dropped */
    /* Encore 2 under territory scoring: territory (tax none) and the start-of-encore stones. */
    static tg_game_t e;
    e = j;
    e.rules.tax = TG_TAX_NONE;
    e.encore_phase = 2;
    memcpy(e.second_encore_start_colors, e.board.color, sizeof(e.second_encore_start_colors));
    tg_nn_fill_features(&e, 7, sp, gl);
    ASSERT_EQ(plane_at(19, 7, 0, 6), 1.0f); /* black eye = territory */
    ASSERT_EQ(plane_at(19, 7, 1, 5), 1.0f); /* black stone present at encore-2 start */
    ASSERT_EQ(plane_at(18, 7, 5, 1), 1.0f); /* white stone likewise */
    ASSERT_EQ(plane_at(20, 7, 5, 1), 1.0f);
    ASSERT_EQ(plane_at(21, 7, 1, 5), 1.0f);
    ASSERT_EQ(gl[12] + gl[13], 2.0f);
    ASSERT_TRUE(gl[18] != 0.0f || fabs(wave_of(6.5, 7)) < 1e-9); /* wave on in encore 2 */
}

TEST(ladder_planes) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    tg_game_init(&g, 9, &r);
    /* White ataris a black stone into the textbook ladder; Black to move. */
    const char *seq[][2] = {{"D5", "B"}, {"C5", "W"}, {"A9", "B"}, {"D6", "W"},
                            {"J9", "B"}, {"E4", "W"}, {"J1", "B"}, {"E5", "W"}};
    for (size_t i = 0; i < TG_ARRAY_LEN(seq); i++)
        ASSERT_EQ(play(&g, seq[i][0], seq[i][1][0] == 'B' ? TG_BLACK : TG_WHITE), 0);
    /* D5 = (3,4): in atari now (liberty D4), ladder-captured. */
    ASSERT_EQ(tg_board_chain_libs(&g.board, tg_loc(3, 4)), 1);
    tg_nn_fill_features(&g, 9, sp, gl);
    ASSERT_EQ(plane_at(14, 9, 3, 4), 1.0f);
    /* One turn ago (before E5) D5 had 2 liberties and White's E5 atari works: also 1. */
    ASSERT_EQ(plane_at(15, 9, 3, 4), 1.0f);
    /* Two turns ago (before J1... same board as one ago minus J1): still laddered. */
    ASSERT_EQ(plane_at(16, 9, 3, 4), 1.0f);
    /* Plane 17 marks working ataris on the opponent's 2-liberty chains: Black to move, white
     * chains have 3+ liberties here. */
    ASSERT_EQ(plane_sum(17, 9), 0);
}

TEST(symmetry_round_trips) {
    float src[3 * 11 * 11], a[3 * 11 * 11], b[3 * 11 * 11];
    for (int i = 0; i < 3 * 11 * 11; i++)
        src[i] = (float)i;
    for (int s = 0; s < 8; s++) {
        tg_nn_symmetry_apply(src, a, 3, 11, s);
        tg_nn_symmetry_unapply(a, b, 3, 11, s);
        ASSERT_TRUE(memcmp(src, b, sizeof(src)) == 0);
        /* Applying the inverse symmetry undoes it too. */
        tg_nn_symmetry_apply(a, b, 3, 11, tg_nn_symmetry_invert(s));
        ASSERT_TRUE(memcmp(src, b, sizeof(src)) == 0);
        /* Point mapping: flipX then flipY then transpose. */
        int x, y;
        tg_nn_symmetry_point(1, 2, 11, s, &x, &y);
        int ex = (s & 2) ? 9 : 1, ey = (s & 1) ? 8 : 2;
        if (s & 4) {
            int t = ex;
            ex = ey;
            ey = t;
        }
        ASSERT_EQ(x, ex);
        ASSERT_EQ(y, ey);
        ASSERT_EQ(a[y * 11 + x], src[2 * 11 + 1]);
    }
    ASSERT_EQ(tg_nn_symmetry_invert(5), 6);
    ASSERT_EQ(tg_nn_symmetry_invert(6), 5);
    ASSERT_EQ(tg_nn_symmetry_invert(3), 3);
}

/* Features commute with symmetries: replaying a random game with every move transformed gives
 * features equal to the transformed features of the original (ladders, area, ko, history). */
TEST(features_equivariant_under_symmetry) {
    static tg_game_t g, h;
    static float f0[TG_NN_NUM_SPATIAL * 19 * 19], fs[TG_NN_NUM_SPATIAL * 19 * 19];
    static float f1[TG_NN_NUM_SPATIAL * 19 * 19];
    float g0[TG_NN_NUM_GLOBAL], g1[TG_NN_NUM_GLOBAL];
    tg_rng_t rng;
    tg_rng_seed(&rng, 99, 1);
    tg_rules_t r = rules_named("tromp-taylor", 7.5f);
    int games = 0;
    for (int trial = 0; trial < 12; trial++) {
        int n = trial % 2 ? 9 : 13;
        int sym = (int)tg_rng_below(&rng, 8);
        tg_game_init(&g, n, &r);
        tg_game_init(&h, n, &r);
        int moves = 20 + (int)tg_rng_below(&rng, 60);
        for (int k = 0; k < moves && !g.game_over; k++) {
            tg_loc_t loc = tg_game_random_move(&g, &rng);
            tg_loc_t sl = loc;
            if (loc != TG_LOC_PASS) {
                int x, y;
                tg_nn_symmetry_point(tg_loc_x(loc), tg_loc_y(loc), n, sym, &x, &y);
                sl = tg_loc(x, y);
            }
            tg_color_t c = g.to_move;
            tg_err_t err;
            ASSERT_EQ(tg_game_play(&g, loc, c, &err), 0);
            ASSERT_EQ(tg_game_play(&h, sl, c, &err), 0);
        }
        if (g.game_over) continue;
        tg_nn_fill_features(&g, n, f0, g0);
        tg_nn_fill_features(&h, n, f1, g1);
        tg_nn_symmetry_apply(f0, fs, TG_NN_NUM_SPATIAL, n, sym);
        for (int c = 0; c < TG_NN_NUM_SPATIAL; c++)
            for (int i = 0; i < n * n; i++)
                if (fs[c * n * n + i] != f1[c * n * n + i]) {
                    printf("  trial %d sym %d plane %d point %d differs\n", trial, sym, c, i);
                    ASSERT_TRUE(false);
                }
        for (int k = 0; k < TG_NN_NUM_GLOBAL; k++)
            ASSERT_EQ(g0[k], g1[k]);
        games++;
    }
    ASSERT_TRUE(games >= 8);
}

int main(void) {
    RUN(placement_padding_and_stones);
    RUN(liberty_planes);
    RUN(history_with_passes_and_alternation);
    RUN(friendly_pass_hides_history);
    RUN(ko_plane_simple_and_superko);
    RUN(komi_and_parity_wave);
    RUN(rule_globals);
    RUN(area_planes_by_rules);
    RUN(ladder_planes);
    RUN(symmetry_round_trips);
    RUN(features_equivariant_under_symmetry);
    TEST_MAIN_END();
}
