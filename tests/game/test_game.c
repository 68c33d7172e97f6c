/* test_game.c: game-level rules: superko (positional vs situational) checked against an
 * independent oracle over random games, passes and game end, the territory encore, scoring
 * under each preset, handicap placement, undo, random moves. */
#include "test.h"

#include "game/game.h"
#include "util/error.h"

static tg_rules_t R(const char *name) {
    tg_rules_t r;
    tg_err_t err;
    if (tg_rules_parse(name, &r, &err) != 0) abort();
    return r;
}

static tg_loc_t L(int size, const char *v) {
    tg_loc_t loc = TG_LOC_NULL;
    if (tg_loc_from_gtp(v, size, &loc) != 0) abort();
    return loc;
}

/* Plays the game on: every superko ban must equal "the resulting (board[, player]) already
 * occurred since the start" computed from full board copies. Returns bans seen. */
typedef struct {
    uint8_t color[TG_BOARD_CELLS];
    tg_color_t to_move;
} snap_t;

static int superko_oracle_run(tg_ko_rule_t ko, uint64_t seed, int *mismatches, int *pos_only) {
    static tg_game_t g;
    static snap_t hist[TG_GAME_MAX_MOVES + 1];
    tg_rules_t r = R("tromp-taylor");
    r.ko = ko;
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 7);
    int size = 4 + (int)(seed % 2);
    tg_game_init(&g, size, &r);
    int n = 0, bans = 0;
    memcpy(hist[n].color, g.board.color, TG_BOARD_CELLS);
    hist[n++].to_move = g.to_move;
    for (int turn = 0; turn < 300 && !g.game_over; turn++) {
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                tg_loc_t loc = tg_loc(x, y);
                if (!tg_board_is_legal(&g.board, loc, g.to_move, true)) continue;
                tg_board_t after = g.board;
                tg_board_play(&after, loc, g.to_move);
                bool pos = false, sit = false;
                for (int i = 0; i < n; i++) {
                    if (memcmp(hist[i].color, after.color, TG_BOARD_CELLS) != 0) continue;
                    pos = true;
                    if (hist[i].to_move == tg_color_opp(g.to_move)) sit = true;
                }
                bool expect = (ko == TG_KO_POSITIONAL) ? pos : sit;
                if (expect != g.super_ko_banned[loc]) (*mismatches)++;
                bans += expect;
                if (pos && !sit) (*pos_only)++;
            }
        tg_loc_t mv = tg_rng_below(&rng, 100) < 3 ? TG_LOC_PASS : tg_game_random_move(&g, &rng);
        if (mv == TG_LOC_PASS && tg_rng_below(&rng, 2)) {
            /* prefer a capture-ish legal non-eye move including own-eye fills to make cycles */
            for (int t = 0; t < 20; t++) {
                tg_loc_t c = tg_loc((int)tg_rng_below(&rng, (uint32_t)size),
                                    (int)tg_rng_below(&rng, (uint32_t)size));
                if (tg_game_is_legal(&g, c, g.to_move)) {
                    mv = c;
                    break;
                }
            }
        }
        if (tg_game_play(&g, mv, g.to_move, NULL) != 0) return -1;
        memcpy(hist[n].color, g.board.color, TG_BOARD_CELLS);
        hist[n++].to_move = g.to_move;
    }
    return bans;
}

TEST(superko_matches_oracle) {
    int mism_p = 0, mism_s = 0, bans_p = 0, bans_s = 0, pos_only = 0, dummy = 0;
    for (uint64_t s = 1; s <= 150; s++) {
        int b = superko_oracle_run(TG_KO_POSITIONAL, s, &mism_p, &pos_only);
        ASSERT_TRUE(b >= 0);
        bans_p += b;
        b = superko_oracle_run(TG_KO_SITUATIONAL, s, &mism_s, &dummy);
        ASSERT_TRUE(b >= 0);
        bans_s += b;
    }
    ASSERT_EQ(mism_p, 0);
    ASSERT_EQ(mism_s, 0);
    ASSERT_TRUE(bans_p > 0);
    ASSERT_TRUE(bans_s > 0);
    ASSERT_TRUE(pos_only > 0); /* positional bans that situational allows did occur */
    printf("  superko bans: positional %d, situational %d, positional-only %d\n", bans_p, bans_s,
           pos_only);
}

/* Board with a ko for B at C3 (captures B3). */
static const char *ko_diagram = ". X O . .\n"
                                "X O . O .\n"
                                ". X O . .\n"
                                ". . . . .\n"
                                ". . . . .\n";

TEST(simple_ko_and_illegal_messages) {
    tg_game_t g;
    tg_board_t b;
    tg_err_t err;
    ASSERT_EQ(tg_board_from_string(&b, ko_diagram), 0);
    tg_rules_t r = R("japanese");
    tg_game_init(&g, 5, &r);
    tg_game_reset(&g, &b, TG_BLACK, &r, 0);
    ASSERT_EQ(tg_game_play(&g, L(5, "C4"), TG_BLACK, &err), 0);
    ASSERT_EQ(tg_game_play(&g, L(5, "B4"), TG_WHITE, &err), TG_EILLEGAL);
    ASSERT_CONTAINS(err.msg, "ko");
    ASSERT_EQ(tg_game_play(&g, L(5, "C4"), TG_WHITE, &err), TG_EILLEGAL);
    ASSERT_CONTAINS(err.msg, "occupied");
    ASSERT_TRUE(!tg_game_is_legal_to_move(&g, L(5, "E1"), TG_BLACK));
    ASSERT_TRUE(tg_game_is_legal_to_move(&g, L(5, "E1"), TG_WHITE));
}

TEST(two_passes_end_area_game) {
    tg_game_t g;
    tg_rules_t r = R("tromp-taylor");
    tg_game_init(&g, 5, &r);
    ASSERT_EQ(tg_game_play(&g, L(5, "C3"), TG_BLACK, NULL), 0);
    ASSERT_TRUE(!tg_game_pass_would_end_game(&g, TG_WHITE));
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_WHITE, NULL), 0);
    ASSERT_TRUE(tg_game_pass_would_end_phase(&g, TG_BLACK));
    ASSERT_TRUE(tg_game_pass_would_end_game(&g, TG_BLACK));
    ASSERT_TRUE(!g.game_over);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_BLACK, NULL), 0);
    ASSERT_TRUE(g.game_over);
    ASSERT_TRUE(g.is_scored);
    /* one black stone owns the whole empty board: B+25, komi 7.5 -> W-17.5 */
    ASSERT_NEAR(g.final_score, -25 + 7.5, 1e-6);
    ASSERT_EQ(g.winner, TG_BLACK);
    /* undo reopens the game */
    ASSERT_EQ(tg_game_undo(&g), 0);
    ASSERT_TRUE(!g.game_over);
    ASSERT_EQ(g.num_moves, 2);
    ASSERT_EQ(g.to_move, TG_BLACK);
    ASSERT_EQ(g.consecutive_ending_passes, 1);
}

/* Black 10 points (7 stones + 3 eyes), White 15 (7 stones + 8 territory, not pass-alive). */
static const char *score_diagram = ". X O . .\n"
                                   "X X O . .\n"
                                   ". X O O O\n"
                                   "X X O . .\n"
                                   ". X O . .\n";

static float score_under(const char *rules, int *passes) {
    static tg_game_t g;
    tg_board_t b;
    if (tg_board_from_string(&b, score_diagram) != 0) abort();
    tg_rules_t r = R(rules);
    tg_game_init(&g, 5, &r);
    tg_game_reset(&g, &b, TG_BLACK, &r, 0);
    *passes = 0;
    tg_color_t pla = TG_BLACK;
    while (!g.game_over && *passes < 10) {
        if (tg_game_play(&g, TG_LOC_PASS, pla, NULL) != 0) abort();
        pla = tg_color_opp(pla);
        (*passes)++;
    }
    return g.final_score;
}

TEST(scoring_presets) {
    int passes;
    ASSERT_NEAR(score_under("tromp-taylor", &passes), 5 + 7.5, 1e-6);
    ASSERT_EQ(passes, 2);
    ASSERT_NEAR(score_under("chinese", &passes), 5 + 7.5, 1e-6);
    ASSERT_EQ(passes, 2);
    ASSERT_NEAR(score_under("aga", &passes), 5 + 7.5, 1e-6);
    /* territory: W 8 territory, B 3; the encore takes 6 passes in all */
    ASSERT_NEAR(score_under("japanese", &passes), 5 + 6.5, 1e-6);
    ASSERT_EQ(passes, 6);
    /* stone scoring (tax ALL): one independent group each -> no net tax */
    ASSERT_NEAR(score_under("stone-scoring", &passes), 5 + 7.5, 1e-6);
    /* button: Black passes first and takes the button (+0.5 for black), then 2 more passes */
    ASSERT_NEAR(score_under("aga-button", &passes), 5 + 7.0 - 0.5, 1e-6);
    ASSERT_EQ(passes, 3);
}

TEST(territory_counts_stones_played) {
    /* Japanese: every stone played costs a point, captures count for the captor. */
    tg_game_t g;
    tg_rules_t r = R("japanese");
    tg_game_init(&g, 5, &r);
    ASSERT_EQ(tg_game_play(&g, L(5, "C3"), TG_BLACK, NULL), 0);
    ASSERT_NEAR(g.white_bonus_score, 1.0, 1e-6);
    ASSERT_EQ(tg_game_play(&g, L(5, "A1"), TG_WHITE, NULL), 0);
    ASSERT_NEAR(g.white_bonus_score, 0.0, 1e-6);
    ASSERT_EQ(g.encore_phase, 0);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_BLACK, NULL), 0);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_WHITE, NULL), 0);
    ASSERT_EQ(g.encore_phase, 1);
    ASSERT_TRUE(!g.game_over);
    ASSERT_TRUE(tg_game_pass_would_end_phase(&g, TG_BLACK) == false);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_BLACK, NULL), 0);
    ASSERT_TRUE(tg_game_pass_would_end_phase(&g, TG_WHITE));
    ASSERT_TRUE(!tg_game_pass_would_end_game(&g, TG_WHITE));
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_WHITE, NULL), 0);
    ASSERT_EQ(g.encore_phase, 2);
    ASSERT_EQ(g.second_encore_start_colors[L(5, "C3")], TG_BLACK);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_BLACK, NULL), 0);
    ASSERT_TRUE(tg_game_pass_would_end_game(&g, TG_WHITE));
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_WHITE, NULL), 0);
    ASSERT_TRUE(g.game_over);
    /* nothing is pass-alive or independently alive in a clean way: A1 and C3 are stones in a
     * shared empty region, both count as stones (+1 each), territory none -> 0 + 6.5 */
    ASSERT_NEAR(g.final_score, 6.5, 1e-6);
}

TEST(encore_ko_recapture_block) {
    tg_game_t g;
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ko_diagram), 0);
    tg_rules_t r = R("japanese");
    tg_game_init(&g, 5, &r);
    tg_game_reset(&g, &b, TG_BLACK, &r, 1); /* start in encore phase 1 */
    tg_loc_t c4 = L(5, "C4"), b4 = L(5, "B4");
    ASSERT_EQ(tg_game_play(&g, c4, TG_BLACK, NULL), 0); /* black takes the ko */
    ASSERT_TRUE(g.ko_recap_blocked[c4]);
    ASSERT_TRUE(tg_game_ko_recap_blocked_for(&g, c4, TG_WHITE));
    ASSERT_EQ(g.board.ko_loc, TG_LOC_NULL);
    /* White's "recapture" at B4 is a pass-for-ko: legal, lifts the block, changes no stone */
    ASSERT_TRUE(tg_game_is_pass_for_ko(&g, b4, TG_WHITE));
    ASSERT_TRUE(tg_game_is_legal(&g, b4, TG_WHITE));
    ASSERT_EQ(tg_game_play(&g, b4, TG_WHITE, NULL), 0);
    ASSERT_EQ(g.board.color[b4], TG_EMPTY);
    ASSERT_TRUE(!g.ko_recap_blocked[c4]);
    /* Black plays elsewhere; now White may really recapture */
    ASSERT_EQ(tg_game_play(&g, L(5, "E1"), TG_BLACK, NULL), 0);
    ASSERT_TRUE(!tg_game_is_pass_for_ko(&g, b4, TG_WHITE));
    ASSERT_EQ(tg_game_play(&g, b4, TG_WHITE, NULL), 0);
    ASSERT_EQ(g.board.color[c4], TG_EMPTY);
    ASSERT_TRUE(g.ko_recap_blocked[b4]);
}

TEST(fixed_handicap_points) {
    tg_loc_t pts[9];
    char v[8];
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 2, pts), 2);
    ASSERT_STREQ(tg_loc_to_gtp(pts[0], 19, v), "D4");
    ASSERT_STREQ(tg_loc_to_gtp(pts[1], 19, v), "Q16");
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 9, pts), 9);
    ASSERT_STREQ(tg_loc_to_gtp(pts[4], 19, v), "K10");
    ASSERT_EQ(tg_game_fixed_handicap_points(9, 3, pts), 3);
    ASSERT_STREQ(tg_loc_to_gtp(pts[0], 9, v), "C3");
    ASSERT_STREQ(tg_loc_to_gtp(pts[1], 9, v), "G7");
    ASSERT_STREQ(tg_loc_to_gtp(pts[2], 9, v), "C7");
    ASSERT_EQ(tg_game_fixed_handicap_points(13, 4, pts), 4);
    ASSERT_STREQ(tg_loc_to_gtp(pts[3], 13, v), "K4");
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 6, pts), 6);
    ASSERT_STREQ(tg_loc_to_gtp(pts[4], 19, v), "D10");
    ASSERT_STREQ(tg_loc_to_gtp(pts[5], 19, v), "Q10");
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 8, pts), 8);
    ASSERT_STREQ(tg_loc_to_gtp(pts[6], 19, v), "K16");
    ASSERT_STREQ(tg_loc_to_gtp(pts[7], 19, v), "K4");
    ASSERT_EQ(tg_game_fixed_handicap_points(8, 5, pts), TG_EINVAL);
    ASSERT_EQ(tg_game_fixed_handicap_points(7, 5, pts), TG_EINVAL);
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 1, pts), TG_EINVAL);
    ASSERT_EQ(tg_game_fixed_handicap_points(19, 10, pts), TG_EINVAL);

    tg_game_t g;
    tg_rules_t r = R("chinese");
    tg_game_init(&g, 19, &r);
    ASSERT_EQ(tg_game_place_fixed_handicap(&g, 4, NULL), 0);
    ASSERT_EQ(g.to_move, TG_WHITE);
    ASSERT_EQ(tg_board_count_stones(&g.board, TG_BLACK), 4);
    ASSERT_EQ(tg_game_num_handicap_stones(&g), 4);
    ASSERT_NEAR(g.white_handicap_bonus_score, 4.0, 1e-6); /* chinese: N */
    tg_err_t err;
    ASSERT_EQ(tg_game_place_fixed_handicap(&g, 2, &err), TG_EINVAL); /* not empty */
    r = R("aga");
    tg_game_init(&g, 19, &r);
    ASSERT_EQ(tg_game_place_fixed_handicap(&g, 4, NULL), 0);
    ASSERT_NEAR(g.white_handicap_bonus_score, 3.0, 1e-6); /* aga: N-1 */
}

TEST(undo_replays_exactly) {
    static tg_game_t g, h;
    tg_rules_t r = R("tromp-taylor");
    tg_rng_t rng;
    tg_rng_seed(&rng, 42, 1);
    tg_game_init(&g, 9, &r);
    for (int i = 0; i < 60; i++)
        ASSERT_EQ(tg_game_play(&g, tg_game_random_move(&g, &rng), g.to_move, NULL), 0);
    h = g;
    tg_loc_t mv = tg_game_random_move(&g, &rng);
    ASSERT_EQ(tg_game_play(&g, mv, g.to_move, NULL), 0);
    ASSERT_EQ(tg_game_undo(&g), 0);
    ASSERT_TRUE(tg_hash_eq(g.board.hash, h.board.hash));
    ASSERT_EQ(g.num_moves, h.num_moves);
    ASSERT_EQ(g.to_move, h.to_move);
    ASSERT_EQ(memcmp(g.super_ko_banned, h.super_ko_banned, sizeof g.super_ko_banned), 0);
    ASSERT_EQ(g.board.ko_loc, h.board.ko_loc);
    ASSERT_TRUE(tg_hash_eq(tg_game_recent_board(&g, 1)->hash, tg_game_recent_board(&h, 1)->hash));
    tg_game_t e;
    tg_game_init(&e, 9, &r);
    ASSERT_EQ(tg_game_undo(&e), TG_ESTATE);
}

TEST(recent_boards_and_self_komi) {
    tg_game_t g;
    tg_rules_t r = R("tromp-taylor");
    tg_game_init(&g, 9, &r);
    tg_hash128_t h0 = g.board.hash;
    ASSERT_EQ(tg_game_play(&g, L(9, "E5"), TG_BLACK, NULL), 0);
    tg_hash128_t h1 = g.board.hash;
    ASSERT_EQ(tg_game_play(&g, L(9, "C3"), TG_WHITE, NULL), 0);
    ASSERT_TRUE(tg_hash_eq(tg_game_recent_board(&g, 0)->hash, g.board.hash));
    ASSERT_TRUE(tg_hash_eq(tg_game_recent_board(&g, 1)->hash, h1));
    ASSERT_TRUE(tg_hash_eq(tg_game_recent_board(&g, 2)->hash, h0));
    ASSERT_NEAR(tg_game_self_komi(&g, TG_BLACK, 0.5), -7.5, 1e-6);
    ASSERT_NEAR(tg_game_self_komi(&g, TG_WHITE, 0.5), 7.5, 1e-6);
    tg_game_set_komi(&g, 7.0f);
    ASSERT_NEAR(tg_game_self_komi(&g, TG_WHITE, 1.0), 7.5, 1e-6); /* integer komi: draw adj */
}

TEST(end_if_all_pass_alive) {
    tg_game_t g;
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". X O . O\n"
                                       "X X O O O\n"
                                       ". X O . O\n"
                                       "X X O O O\n"
                                       ". X O . O\n"),
              0);
    tg_rules_t r = R("tromp-taylor");
    tg_game_init(&g, 5, &r);
    tg_game_reset(&g, &b, TG_BLACK, &r, 0);
    ASSERT_TRUE(tg_game_end_if_all_pass_alive(&g));
    ASSERT_TRUE(g.game_over);
    ASSERT_NEAR(g.final_score, (15 - 10) + 7.5, 1e-6);
    /* an empty board is not all pass-alive */
    tg_game_init(&g, 5, &r);
    ASSERT_TRUE(!tg_game_end_if_all_pass_alive(&g));
}

TEST(random_move_respects_eyes) {
    tg_game_t g;
    tg_board_t b;
    tg_rng_t rng;
    tg_rng_seed(&rng, 3, 0);
    ASSERT_EQ(tg_board_from_string(&b, ". X . X\n"
                                       "X X X X\n"
                                       "O O O O\n"
                                       ". O . O\n"),
              0);
    tg_rules_t r = R("tromp-taylor");
    tg_game_init(&g, 4, &r);
    tg_game_reset(&g, &b, TG_BLACK, &r, 0);
    /* black's only empty points are its own eyes; white's are its own eyes: both pass */
    ASSERT_EQ(tg_game_random_move(&g, &rng), TG_LOC_PASS);
    g.to_move = TG_WHITE;
    ASSERT_EQ(tg_game_random_move(&g, &rng), TG_LOC_PASS);
}

int main(void) {
    RUN(superko_matches_oracle);
    RUN(simple_ko_and_illegal_messages);
    RUN(two_passes_end_area_game);
    RUN(scoring_presets);
    RUN(territory_counts_stones_played);
    RUN(encore_ko_recapture_block);
    RUN(fixed_handicap_points);
    RUN(undo_replays_exactly);
    RUN(recent_boards_and_self_komi);
    RUN(end_if_all_pass_alive);
    RUN(random_move_respects_eyes);
    TEST_MAIN_END();
}
