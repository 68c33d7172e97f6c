/* test_board.c: board-level rules: captures, suicide, simple ko, eyes, pass-alive (Benson)
 * areas, independent life / seki, GTP coordinates. Boards are written as diagrams. */
#include "test.h"

#include "game/board.h"
#include "util/error.h"

static tg_loc_t L(const tg_board_t *b, const char *v) {
    tg_loc_t loc = TG_LOC_NULL;
    if (tg_loc_from_gtp(v, b->size, &loc) != 0) return TG_LOC_NULL;
    return loc;
}

TEST(capture_single_and_group) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". X O .\n"
                                       "X O O X\n"
                                       ". X . .\n"
                                       ". . . .\n"),
              0);
    ASSERT_TRUE(tg_board_check_consistency(&b));
    /* white chain (B4,C4,C3) has 1 liberty C2 (D4 is empty) -> actually check counts */
    ASSERT_EQ(tg_board_chain_stones(&b, L(&b, "B3")), 3);
    ASSERT_EQ(tg_board_chain_libs(&b, L(&b, "B3")), 2); /* D4, C2 */
    tg_board_play(&b, L(&b, "D4"), TG_BLACK);
    ASSERT_EQ(tg_board_chain_libs(&b, L(&b, "B3")), 1);
    ASSERT_TRUE(tg_board_would_capture(&b, L(&b, "C2"), TG_BLACK));
    tg_board_play(&b, L(&b, "C2"), TG_BLACK);
    ASSERT_EQ(b.color[L(&b, "B3")], TG_EMPTY);
    ASSERT_EQ(b.color[L(&b, "C4")], TG_EMPTY);
    ASSERT_EQ(b.captured[TG_WHITE], 3);
    ASSERT_EQ(b.ko_loc, TG_LOC_NULL);
    ASSERT_TRUE(tg_board_check_consistency(&b));
    /* the black stones around now form chains with the freed liberties */
    ASSERT_EQ(tg_board_chain_libs(&b, L(&b, "B4")), 3); /* A4, C4, B3 */
}

TEST(simple_ko) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". X O .\n"
                                       "X O . O\n"
                                       ". X O .\n"
                                       ". . . .\n"),
              0);
    /* black captures B3 by playing C3: a ko */
    tg_loc_t c3 = L(&b, "C3"), b3 = L(&b, "B3");
    ASSERT_TRUE(tg_board_is_legal(&b, c3, TG_BLACK, false));
    tg_board_play(&b, c3, TG_BLACK);
    ASSERT_EQ(b.color[b3], TG_EMPTY);
    ASSERT_EQ(b.ko_loc, b3);
    ASSERT_TRUE(!tg_board_is_legal(&b, b3, TG_WHITE, false));
    /* a move elsewhere clears the ban */
    tg_board_play(&b, L(&b, "A1"), TG_WHITE);
    ASSERT_EQ(b.ko_loc, TG_LOC_NULL);
    ASSERT_TRUE(tg_board_is_legal(&b, b3, TG_WHITE, false));
    ASSERT_TRUE(tg_board_check_consistency(&b));
}

TEST(suicide_rules) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". X . .\n"
                                       "X . . .\n"
                                       ". . . .\n"
                                       ". . . .\n"),
              0);
    tg_loc_t a4 = L(&b, "A4");
    /* single-stone suicide is never legal */
    ASSERT_TRUE(tg_board_would_be_suicide(&b, a4, TG_WHITE));
    ASSERT_TRUE(!tg_board_is_legal(&b, a4, TG_WHITE, true));
    ASSERT_TRUE(!tg_board_is_legal(&b, a4, TG_WHITE, false));
    /* multi-stone suicide: white A4 joins A3... build it */
    ASSERT_EQ(tg_board_from_string(&b, ". O X .\n"
                                       "X X . .\n"
                                       ". . . .\n"
                                       ". . . .\n"),
              0);
    ASSERT_TRUE(tg_board_would_be_suicide(&b, a4, TG_WHITE));
    ASSERT_TRUE(!tg_board_is_legal(&b, a4, TG_WHITE, false));
    ASSERT_TRUE(tg_board_is_legal(&b, a4, TG_WHITE, true));
    tg_hash128_t h0 = b.hash;
    tg_board_play(&b, a4, TG_WHITE);
    ASSERT_EQ(b.color[a4], TG_EMPTY);
    ASSERT_EQ(b.color[L(&b, "B4")], TG_EMPTY);
    ASSERT_EQ(b.captured[TG_WHITE], 2);
    ASSERT_TRUE(!tg_hash_eq(h0, b.hash));
    ASSERT_TRUE(tg_board_check_consistency(&b));
    /* a capturing move with no empty neighbour is not suicide */
    ASSERT_EQ(tg_board_from_string(&b, ". O X .\n"
                                       "O X . .\n"
                                       ". . . .\n"
                                       ". . . .\n"),
              0);
    ASSERT_TRUE(!tg_board_would_be_suicide(&b, a4, TG_BLACK));
    ASSERT_TRUE(tg_board_is_legal(&b, a4, TG_BLACK, false));
    tg_board_play(&b, a4, TG_BLACK);
    ASSERT_EQ(b.color[L(&b, "B4")], TG_EMPTY);
    ASSERT_EQ(b.ko_loc, L(&b, "B4")); /* single stone took single stone, 1 liberty left: ko */
}

TEST(simple_eye) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". X . X .\n"
                                       "X . X . X\n"
                                       ". X . X .\n"
                                       "O . . . .\n"
                                       ". . . . .\n"),
              0);
    ASSERT_TRUE(tg_board_is_simple_eye(&b, L(&b, "A5"), TG_BLACK));
    ASSERT_TRUE(tg_board_is_simple_eye(&b, L(&b, "B4"), TG_BLACK));
    ASSERT_TRUE(!tg_board_is_simple_eye(&b, L(&b, "B4"), TG_WHITE));
    ASSERT_TRUE(!tg_board_is_simple_eye(&b, L(&b, "C5"), TG_WHITE));
    /* A3: edge point with an opposing diagonal? (A3 neighbours: A4 X, A2 O) -> not an eye */
    ASSERT_TRUE(!tg_board_is_simple_eye(&b, L(&b, "A3"), TG_BLACK));
    ASSERT_TRUE(!tg_board_is_simple_eye(&b, L(&b, "C3"), TG_BLACK)); /* C2 empty */
}

static int count(const uint8_t *area, const tg_board_t *b, int c) {
    int n = 0;
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++)
            n += (area[tg_loc(x, y)] == c);
    return n;
}

TEST(pass_alive_two_eyes) {
    tg_board_t b;
    uint8_t area[TG_BOARD_CELLS];
    ASSERT_EQ(tg_board_from_string(&b, ". . O . X .\n"
                                       "X X X X X X\n"
                                       ". . . . . .\n"
                                       ". . . . . .\n"
                                       ". . . . . O\n"
                                       ". . . . . .\n"),
              0);
    /* Black: one chain, two vital regions (A6-D6 with the dead white stone, and F6). */
    tg_board_calc_area(&b, area, false, false, false, false);
    ASSERT_EQ(area[L(&b, "C6")], TG_BLACK); /* white stone inside pass-alive territory */
    ASSERT_EQ(area[L(&b, "A6")], TG_BLACK);
    ASSERT_EQ(area[L(&b, "F6")], TG_BLACK);
    ASSERT_EQ(area[L(&b, "A5")], TG_BLACK);
    ASSERT_EQ(area[L(&b, "A4")], TG_EMPTY); /* big region with a white stone */
    ASSERT_EQ(area[L(&b, "F2")], TG_EMPTY);
    ASSERT_EQ(count(area, &b, TG_BLACK), 12);
    ASSERT_EQ(count(area, &b, TG_WHITE), 0);
    /* All flags: the lower region holds a white stone, so it is no big territory; the white
     * stone counts for white as a non-pass-alive stone. */
    tg_board_calc_area(&b, area, true, true, true, false);
    ASSERT_EQ(area[L(&b, "F2")], TG_WHITE);
    ASSERT_EQ(area[L(&b, "A4")], TG_EMPTY);
    ASSERT_EQ(count(area, &b, TG_BLACK), 12);
    ASSERT_EQ(count(area, &b, TG_WHITE), 1);
    /* Without the white stone the lower region is a safe big territory. */
    ASSERT_TRUE(tg_board_set_stone(&b, L(&b, "F2"), TG_EMPTY));
    tg_board_calc_area(&b, area, false, true, false, false);
    ASSERT_EQ(count(area, &b, TG_BLACK), 36);
}

TEST(not_pass_alive_one_eye) {
    tg_board_t b;
    uint8_t area[TG_BOARD_CELLS];
    ASSERT_EQ(tg_board_from_string(&b, ". . . X .\n"
                                       "X X X X X\n"
                                       ". . . . .\n"
                                       ". . . . .\n"
                                       ". . . . .\n"),
              0);
    /* A5-C5 has 3 points, two not adjacent... all adjacent to black but region of 3 empty
     * points is vital only if every point touches the chain: A5,B5,C5 all touch row 4. So 2
     * vital regions -> pass-alive. */
    tg_board_calc_area(&b, area, false, false, false, false);
    ASSERT_EQ(area[L(&b, "A4")], TG_BLACK);
    ASSERT_EQ(area[L(&b, "B5")], TG_BLACK);
    /* Remove the D5 stone: one region left at the top -> not pass-alive. */
    ASSERT_TRUE(tg_board_set_stone(&b, L(&b, "D5"), TG_EMPTY));
    tg_board_calc_area(&b, area, false, false, false, false);
    ASSERT_EQ(count(area, &b, TG_BLACK), 0);
    /* unsafe big territories still give black both regions, stones via the stones flag */
    tg_board_calc_area(&b, area, true, false, true, false);
    ASSERT_EQ(count(area, &b, TG_BLACK), 25);
}

TEST(independent_life_seki_dame) {
    tg_board_t b;
    uint8_t area[TG_BOARD_CELLS];
    int wmb = 99;
    /* a dame column: both sides' areas touch dame -> all seki for independent life */
    ASSERT_EQ(tg_board_from_string(&b, "X X . O O\n"
                                       "X X . O O\n"
                                       "X X . O O\n"
                                       "X X . O O\n"
                                       "X X . O O\n"),
              0);
    tg_board_calc_independent_life_area(&b, area, &wmb, false, false, false);
    ASSERT_EQ(count(area, &b, TG_BLACK) + count(area, &b, TG_WHITE), 0);
    ASSERT_EQ(wmb, 0);
    tg_board_calc_independent_life_area(&b, area, &wmb, false, true, false);
    ASSERT_EQ(count(area, &b, TG_BLACK), 10);
    ASSERT_EQ(count(area, &b, TG_WHITE), 10);
    /* two separate white living groups vs one black: wmb = 2 - 1 */
    ASSERT_EQ(tg_board_from_string(&b, ". O X . X\n"
                                       "O O X X X\n"
                                       "X X X . X\n"
                                       "O O X X X\n"
                                       ". O X . X\n"),
              0);
    tg_board_calc_independent_life_area(&b, area, &wmb, true, true, false);
    /* Black is pass-alive (D5, D3, D1 are vital) and each white corner region has only one
     * point not touching black, so the corners are black's pass-alive territory: the white
     * stones are dead by proof and the whole board is one black region. */
    ASSERT_EQ(wmb, -1);
    ASSERT_EQ(area[L(&b, "A5")], TG_BLACK);
    ASSERT_EQ(area[L(&b, "B4")], TG_BLACK);
    ASSERT_EQ(count(area, &b, TG_BLACK), 25);
}

TEST(gtp_coords) {
    tg_loc_t loc;
    char buf[8];
    ASSERT_EQ(tg_loc_from_gtp("Q16", 19, &loc), 0);
    ASSERT_EQ(tg_loc_x(loc), 15);
    ASSERT_EQ(tg_loc_y(loc), 3);
    ASSERT_STREQ(tg_loc_to_gtp(loc, 19, buf), "Q16");
    ASSERT_EQ(tg_loc_from_gtp("j9", 9, &loc), 0);
    ASSERT_EQ(tg_loc_x(loc), 8);
    ASSERT_EQ(tg_loc_y(loc), 0);
    ASSERT_STREQ(tg_loc_to_gtp(loc, 9, buf), "J9");
    ASSERT_STREQ(tg_loc_to_gtp(tg_loc(0, 8), 9, buf), "A1");
    ASSERT_EQ(tg_loc_from_gtp("PASS", 9, &loc), 0);
    ASSERT_EQ(loc, TG_LOC_PASS);
    ASSERT_STREQ(tg_loc_to_gtp(TG_LOC_PASS, 9, buf), "pass");
    ASSERT_EQ(tg_loc_from_gtp("I5", 9, &loc), TG_EINVAL);
    ASSERT_EQ(tg_loc_from_gtp("K5", 9, &loc), TG_EINVAL);
    ASSERT_EQ(tg_loc_from_gtp("A10", 9, &loc), TG_EINVAL);
    ASSERT_EQ(tg_loc_from_gtp("A0", 9, &loc), TG_EINVAL);
    ASSERT_EQ(tg_loc_from_gtp("", 9, &loc), TG_EINVAL);
    ASSERT_EQ(tg_loc_from_gtp("T19", 19, &loc), 0);
    ASSERT_EQ(loc, tg_loc(18, 0));
}

TEST(diagram_roundtrip) {
    tg_board_t b;
    char buf[256];
    const char *d = "X . O\n. X .\nO . .\n";
    ASSERT_EQ(tg_board_from_string(&b, d), 0);
    tg_board_to_string(&b, buf, sizeof buf);
    ASSERT_STREQ(buf, d);
    ASSERT_EQ(tg_board_from_string(&b, "X O\nO .\n"), TG_EINVAL); /* X has no liberty */
    ASSERT_EQ(tg_board_from_string(&b, "X ?\n. .\n"), TG_EINVAL);
}

int main(void) {
    RUN(capture_single_and_group);
    RUN(simple_ko);
    RUN(suicide_rules);
    RUN(simple_eye);
    RUN(pass_alive_two_eyes);
    RUN(not_pass_alive_one_eye);
    RUN(independent_life_seki_dame);
    RUN(gtp_coords);
    RUN(diagram_roundtrip);
    TEST_MAIN_END();
}
