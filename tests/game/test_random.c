/* test_random.c: thousands of random games on many sizes and rule sets; after every move the
 * incremental board state (chains, exact liberties, stone counts, hash) must equal a
 * from-scratch recomputation, and a board rebuilt from colours alone must hash the same. */
#include "test.h"

#include "game/game.h"

TEST(random_games_consistent) {
    static tg_game_t g;
    static const char *rules[] = {"tromp-taylor", "chinese",     "japanese",
                                  "aga",          "new-zealand", "stone-scoring"};
    tg_rng_t rng;
    tg_rng_seed(&rng, 12345, 0);
    long moves = 0, captures = 0, suicides = 0;
    int games = 0, ended = 0;
    for (int gi = 0; gi < 2000; gi++) {
        int size = 2 + (int)tg_rng_below(&rng, 8); /* 2..9 */
        if (gi % 50 == 0) size = 19;
        tg_rules_t r;
        if (tg_rules_parse(rules[gi % 6], &r, NULL) != 0) TEST__FAIL("rules");
        tg_game_init(&g, size, &r);
        games++;
        int limit = size * size * 3;
        for (int t = 0; t < limit && !g.game_over; t++) {
            tg_loc_t mv = tg_game_random_move(&g, &rng);
            /* sometimes fill own eyes / suicide to exercise those paths */
            if (tg_rng_below(&rng, 8) == 0) {
                tg_loc_t c = tg_loc((int)tg_rng_below(&rng, (uint32_t)size),
                                    (int)tg_rng_below(&rng, (uint32_t)size));
                if (tg_game_is_legal(&g, c, g.to_move)) mv = c;
            }
            int before = g.board.captured[1] + g.board.captured[2];
            bool sui = mv != TG_LOC_PASS && tg_board_would_be_suicide(&g.board, mv, g.to_move);
            ASSERT_EQ(tg_game_play(&g, mv, g.to_move, NULL), 0);
            moves++;
            suicides += sui;
            captures += (g.board.captured[1] + g.board.captured[2]) > before;
            if (!tg_board_check_consistency(&g.board)) {
                char buf[1024];
                tg_board_to_string(&g.board, buf, sizeof buf);
                TEST__FAIL("inconsistent board after %ld moves:\n%s", moves, buf);
            }
            tg_board_t rebuilt;
            char buf[1024];
            tg_board_to_string(&g.board, buf, sizeof buf);
            ASSERT_EQ(tg_board_from_string(&rebuilt, buf), 0);
            ASSERT_TRUE(tg_hash_eq(rebuilt.hash, g.board.hash));
        }
        ended += g.game_over;
    }
    printf("  %d games, %ld moves, %ld captures, %ld suicides, %d ended by rule\n", games, moves,
           captures, suicides, ended);
    ASSERT_TRUE(captures > 1000);
    ASSERT_TRUE(suicides > 0);
    ASSERT_TRUE(ended > 100);
}

int main(void) {
    RUN(random_games_consistent);
    TEST_MAIN_END();
}
