/* test_search_net.c: the search driving the real b6c96 fixture net on 9x9 tactics: it takes an
 * obvious capture, saves a group in atari by connecting it to a wall, and passes when a pass
 * ends a finished game that it wins. 200 visits each, cheap-search settings (no noise), move
 * chosen by argmax with LCB. Skips (77) if the fixture net cannot be loaded. */
#include <stdio.h>
#include <string.h>

#include "search/search.h"
#include "test.h"

static tg_nn_evaluator_t *g_ev;

/* Searches `diagram` (to_move to play; if last_pass, the opponent has just passed) and returns
 * the chosen move as GTP text in buf. */
static int search_move(const char *diagram, tg_color_t to_move, bool last_pass, float komi,
                       char *buf) {
    tg_board_t b;
    if (tg_board_from_string(&b, diagram) != 0) return -1;
    tg_rules_t rules = tg_rules_default();
    rules.komi = komi;
    static tg_game_t g;
    tg_game_init(&g, b.size, &rules);
    tg_game_reset(&g, &b, last_pass ? tg_color_opp(to_move) : to_move, &rules, 0);
    if (last_pass && tg_game_play(&g, TG_LOC_PASS, tg_color_opp(to_move), NULL) != 0) return -1;

    tg_search_params_t p = tg_search_params_selfplay();
    tg_search_params_make_cheap(&p, 200);
    p.seed = 42;
    tg_search_evaluator_t ev = tg_search_evaluator_nn(g_ev);
    tg_search_t *s;
    tg_err_t err;
    if (tg_search_create(&p, &ev, &s, &err)) return -1;
    int rc = tg_search_set_position(s, &g, &err);
    if (!rc) rc = tg_search_run(s, &err);
    tg_loc_t mv = TG_LOC_NULL;
    tg_rng_t rng;
    tg_rng_seed(&rng, 1, 0);
    if (!rc) rc = tg_search_choose_move(s, 0.0, true, &rng, &mv);
    tg_search_values_t v;
    tg_loc_t pv[6];
    int npv = rc ? 0 : tg_search_pv(s, pv, 6);
    if (!rc && tg_search_root_values(s, &v) == 0) {
        printf("  chosen %s, white winrate %.3f, lead %.1f, visits %lld, pv",
               tg_loc_to_gtp(mv, b.size, buf), v.white_win, v.white_lead, (long long)v.visits);
        for (int i = 0; i < npv; i++)
            printf(" %s", tg_loc_to_gtp(pv[i], b.size, buf));
        printf("\n");
        tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
        int nk = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
        for (int i = 0; i < nk; i++)
            if (kids[i].visits >= 10)
                printf("    %-4s visits %3lld prior %.3f white winrate %.3f lead %.1f\n",
                       tg_loc_to_gtp(kids[i].loc, b.size, buf), (long long)kids[i].visits,
                       kids[i].prior, kids[i].values.white_win, kids[i].values.white_lead);
    } else {
        printf("  search failed: %s\n", err.msg);
    }
    tg_search_destroy(s);
    tg_loc_to_gtp(mv, b.size, buf);
    return rc;
}

TEST(takes_capture) {
    char buf[16];
    /* White C6-D6 in atari; unless Black captures at D5, White connects them to its wall. */
    ASSERT_EQ(search_move(". . . . . . . . .\n"
                          ". . . . . . . . .\n"
                          ". . X X . . . . .\n"
                          ". X O O X . . . .\n"
                          ". . X . O O O . .\n"
                          ". . . . . . . . .\n"
                          ". . . . . . O . .\n"
                          ". . . . . . . . .\n"
                          ". . . . . . . . .\n",
                          TG_BLACK, false, 7.5f, buf),
              0);
    ASSERT_STREQ(buf, "D5");
}

TEST(saves_atari) {
    char buf[16];
    /* Black C6-D6 in atari; D5 connects them to the black wall. */
    ASSERT_EQ(search_move(". . . . . . . . .\n"
                          ". . . . . . . . .\n"
                          ". . O O . . . . .\n"
                          ". O X X O . . . .\n"
                          ". . O . X X X . .\n"
                          ". . . . . . . . .\n"
                          ". . . . . . X . .\n"
                          ". . . . . . . . .\n"
                          ". . . . . . . . .\n",
                          TG_BLACK, false, 7.5f, buf),
              0);
    ASSERT_STREQ(buf, "D5");
}

TEST(passes_when_finished) {
    char buf[16];
    /* Black owns columns A-E (45 points), White F-J (36 + 7.5 komi): White just passed, and
     * Black's pass ends the game with a 1.5-point win. */
    const char *rows = ". . . . X O . . .\n";
    char diagram[256] = "";
    for (int i = 0; i < 9; i++)
        strcat(diagram, rows);
    ASSERT_EQ(search_move(diagram, TG_BLACK, true, 7.5f, buf), 0);
    ASSERT_STREQ(buf, "pass");
}

int main(void) {
    char path[1024];
    tg_err_t err;
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    if (tg_nn_evaluator_create(path, 8, 1, &g_ev, &err) < 0) {
        printf("SKIP: cannot load %s: %s\n", path, err.msg);
        return 77;
    }
    RUN(takes_capture);
    RUN(saves_atari);
    RUN(passes_when_finished);
    tg_nn_evaluator_destroy(g_ev);
    TEST_MAIN_END();
}
