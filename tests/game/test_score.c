/* test_score.c: GTP final_score: the strict Tromp-Taylor count of the board as it stands under
 * tromp-taylor rules, against KataGo's pass-alive-aware scoring under other area rules. */
#include "test.h"

#include "game/game.h"
#include "util/error.h"

/* Black walls off the left edge with three single-point eyes; White owns the right side. */
static const char *diagram = ". X O . .\n"
                             "X X O . .\n"
                             ". X O . .\n"
                             "X X O . .\n"
                             ". X O . O\n";

TEST(strict_area_count) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, diagram), 0);
    /* Black: 7 stones + 3 eyes = 10; White: 6 stones + 9 empty reaching only white = 15. */
    ASSERT_EQ(tg_board_score_area_strict(&b), 15 - 10);
    tg_board_t empty;
    tg_board_init(&empty, 9);
    ASSERT_EQ(tg_board_score_area_strict(&empty), 0); /* one region touching nobody */
    tg_board_t dame;
    ASSERT_EQ(tg_board_from_string(&dame, "X . O\n. . .\n. . .\n"), 0);
    ASSERT_EQ(tg_board_score_area_strict(&dame), 0); /* stones 1-1, the rest is dame */
}

TEST(gtp_final_score_by_rules) {
    tg_rules_t tt, chinese;
    tg_err_t err = {0};
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &tt, &err), 0);
    ASSERT_EQ(tg_rules_parse("chinese", &chinese, &err), 0);
    tg_game_t *g = malloc(sizeof(*g));
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". . . . .\n"
                                       ". . . . .\n"
                                       "X X O . .\n"
                                       ". . . . .\n"
                                       ". . . . .\n"),
              0);
    tg_game_init(g, 5, &tt);
    for (int p = 0; p < TG_BOARD_CELLS; p++)
        if (b.color[p] == TG_BLACK || b.color[p] == TG_WHITE)
            tg_game_set_stone(g, (tg_loc_t)p, (tg_color_t)b.color[p], NULL);
    ASSERT_TRUE(tg_game_rules_are_tromp_taylor(g));
    /* Strict: black 2 stones, white 1 stone; every empty point reaches both: 1 - 2 + komi. */
    ASSERT_NEAR(tg_game_gtp_final_score(g), 1 - 2 + tt.komi, 1e-6);
    tg_game_init(g, 5, &chinese);
    ASSERT_TRUE(!tg_game_rules_are_tromp_taylor(g));
    ASSERT_NEAR(tg_game_gtp_final_score(g), tg_game_final_score(g), 0);
    free(g);
}

int main(void) {
    RUN(strict_area_count);
    RUN(gtp_final_score_by_rules);
    TEST_MAIN_END();
}
