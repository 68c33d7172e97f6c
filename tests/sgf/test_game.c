/* test_game.c: SGF <-> game bridge: write -> read -> same game (board hash, moves, komi,
 * rules, player to move) over random games and every rules preset, a real-world style record
 * with variations replayed onto a board diagram, and rule violations in records. */
#include "game/game.h"
#include "sgf/sgf.h"

#include "test.h"
#include "util/rng.h"

/* game -> SGF text -> record -> game */
static int round_trip(const tg_game_t *g, tg_game_t *back, char **text_out) {
    tg_sgf_t a, b;
    tg_err_t err = {0};
    char *text = NULL;
    int rc = tg_sgf_from_game(g, NULL, &a, &err);
    if (!rc) rc = tg_sgf_write(&a, &text, NULL, &err);
    if (!rc) rc = tg_sgf_parse(text, strlen(text), &b, &err);
    if (!rc) rc = tg_sgf_to_game(&b, -1, NULL, back, &err);
    if (rc) printf("  round trip: %s\n", err.msg);
    tg_sgf_free(&a);
    tg_sgf_free(&b);
    if (text_out)
        *text_out = text;
    else
        free(text);
    return rc;
}

static tg_game_t g1, g2; /* ~90 KB each: keep off the stack */

TEST(random_games_round_trip) {
    static const char *const presets[] = {"tromp-taylor",  "chinese",   "japanese",
                                          "korean",        "aga",       "new-zealand",
                                          "stone-scoring", "aga-button"};
    tg_rng_t rng;
    tg_rng_seed(&rng, 99, 1);
    for (size_t p = 0; p < TG_ARRAY_LEN(presets); p++) {
        for (int size = 7; size <= 19; size += 6) {
            tg_rules_t rules;
            tg_err_t err;
            ASSERT_EQ(tg_rules_parse(presets[p], &rules, &err), 0);
            rules.komi = (float)(p % 3) - 0.5f;
            tg_game_init(&g1, size, &rules);
            if (p % 2) ASSERT_EQ(tg_game_place_fixed_handicap(&g1, 2, &err), 0);
            for (int i = 0; i < 60 && !g1.game_over; i++) {
                tg_loc_t loc = (i % 17 == 16) ? TG_LOC_PASS : tg_game_random_move(&g1, &rng);
                ASSERT_EQ(tg_game_play(&g1, loc, g1.to_move, &err), 0);
            }
            char *text = NULL;
            ASSERT_EQ(round_trip(&g1, &g2, &text), 0);
            if (!tg_rules_equal(&g1.rules, &g2.rules) || g1.num_moves != g2.num_moves)
                printf("  preset %s size %d:\n%s\n", presets[p], size, text);
            free(text);
            ASSERT_TRUE(tg_rules_equal(&g1.rules, &g2.rules));
            ASSERT_EQ(g2.board.size, size);
            ASSERT_EQ(g2.num_moves, g1.num_moves);
            for (int i = 0; i < g1.num_moves; i++) {
                ASSERT_EQ(g2.moves[i].loc, g1.moves[i].loc);
                ASSERT_EQ(g2.moves[i].color, g1.moves[i].color);
            }
            ASSERT_TRUE(tg_hash_eq(g2.board.hash, g1.board.hash));
            ASSERT_TRUE(tg_hash_eq(g2.initial_board.hash, g1.initial_board.hash));
            ASSERT_EQ(g2.to_move, g1.to_move);
            ASSERT_EQ(g2.initial_to_move, g1.initial_to_move);
            ASSERT_NEAR(tg_game_final_score(&g2), tg_game_final_score(&g1), 0);
        }
    }
}

TEST(setup_only_position_keeps_player_to_move) {
    tg_rules_t rules = tg_rules_default();
    tg_err_t err;
    tg_game_init(&g1, 9, &rules);
    ASSERT_EQ(tg_game_set_stone(&g1, tg_loc(2, 2), TG_WHITE, &err), 0);
    ASSERT_EQ(tg_game_set_stone(&g1, tg_loc(6, 6), TG_BLACK, &err), 0);
    g1.to_move = TG_WHITE;
    g1.initial_to_move = TG_WHITE;
    char *text = NULL;
    ASSERT_EQ(round_trip(&g1, &g2, &text), 0);
    ASSERT_CONTAINS(text, "PL[W]");
    free(text);
    ASSERT_EQ(g2.to_move, TG_WHITE);
    ASSERT_TRUE(tg_hash_eq(g2.board.hash, g1.board.hash));
}

/* A record in the style of real files: header properties, comments with escapes, a handicap
 * setup, captures, and variations whose side lines must not be replayed. */
static const char *const real_world =
    "(;GM[1]FF[4]CA[UTF-8]AP[CGoban:3]ST[2]\n"
    "RU[Japanese]SZ[9]KM[0.50]HA[2]\n"
    "PW[White player]PB[Black player]WR[3d]BR[1k]DT[2023-05-06]PC[The Internet]\n"
    "AB[cc][gg]C[Handicap game \\[2 stones\\]]\n"
    ";W[cd];B[dd];W[ce];B[bd];W[de];B[ed];W[be](;B[bc]C[main line];W[ee]\n"
    "(;B[ef];W[df];B[eg]LB[dg:A]\n"
    ";W[ad]C[no capture: the black group keeps liberties at ac and bb])\n"
    "(;B[df]C[variation, not replayed]))\n"
    "(;B[ee]C[other variation]))\n";

TEST(real_world_record_replays_main_line) {
    tg_sgf_t s;
    tg_err_t err = {0};
    int rc = tg_sgf_parse(real_world, strlen(real_world), &s, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(s.handicap, 2);
    ASSERT_NEAR(s.komi, 0.5, 0);
    ASSERT_STREQ(s.comments[0], "Handicap game [2 stones]");
    ASSERT_EQ(tg_sgf_num_moves(&s), 13);
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "WR"), "3d");
    ASSERT_EQ(tg_sgf_to_game(&s, -1, NULL, &g1, &err), 0);
    tg_rules_t jp;
    ASSERT_EQ(tg_rules_parse("japanese", &jp, &err), 0);
    jp.komi = 0.5f;
    ASSERT_TRUE(tg_rules_equal(&g1.rules, &jp));
    char diagram[512];
    tg_board_to_string(&g1.board, diagram, sizeof(diagram));
    ASSERT_STREQ(diagram, ". . . . . . . . .\n"
                          ". . . . . . . . .\n"
                          ". X X . . . . . .\n"
                          "O X O X X . . . .\n"
                          ". O O O O . . . .\n"
                          ". . . O X . . . .\n"
                          ". . . . X . X . .\n"
                          ". . . . . . . . .\n"
                          ". . . . . . . . .\n");
    /* max_moves stops early */
    ASSERT_EQ(tg_sgf_to_game(&s, 2, NULL, &g2, &err), 0);
    ASSERT_EQ(g2.num_moves, 2);
    ASSERT_EQ(tg_board_count_stones(&g2.board, TG_BLACK), 3);
    tg_sgf_free(&s);
}

TEST(rule_violations_in_records) {
    static const struct {
        const char *text;
        int code;
        const char *what;
    } cases[] = {
        {"(;SZ[9];B[ee];W[ee])", TG_EILLEGAL, "sgf: move 2 (W E5)"},
        {"(;SZ[5]AB[ba][ab];W[aa])", TG_EILLEGAL, "sgf: move 1 (W A5)"}, /* suicide */
        {"(;SZ[25];B[aa])", TG_ERANGE, "board size 25 not supported"},
        {"(;SZ[9]KM[7.3])", TG_ERANGE, "komi 7.3"},
        {"(;SZ[9]KM[500])", TG_ERANGE, "komi 500"},
        {"(;SZ[3]AB[ab][ba][bc][cb]AW[bb])", TG_EINVAL, "setup"}, /* W surrounded */
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        tg_sgf_t s;
        tg_err_t err = {0};
        ASSERT_EQ(tg_sgf_parse(cases[i].text, strlen(cases[i].text), &s, &err), 0);
        int rc = tg_sgf_to_game(&s, -1, NULL, &g1, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].what))
            printf("  case %zu: rc %d msg '%s'\n", i, rc, err.msg);
        ASSERT_EQ(rc, cases[i].code);
        ASSERT_CONTAINS(err.msg, cases[i].what);
        tg_sgf_free(&s);
    }
}

int main(void) {
    RUN(random_games_round_trip);
    RUN(setup_only_position_keeps_player_to_move);
    RUN(real_world_record_replays_main_line);
    RUN(rule_violations_in_records);
    TEST_MAIN_END();
}
