/* test_features_ladder.c: the ladder search behind input planes 14-17 (game/ladder.h).
 *
 * Board diagrams for the textbook cases (captured, escaped through a breaker, escaped by
 * capturing an atari'd attacker stone, attacker-first 2-liberty ladders with their working
 * moves), then a differential test: on random positions, tg_ladder_is_captured must agree with
 * a plain recursive reference search written here on top of tg_board_play (board copies, no
 * undo), which follows the same KataGo rules. */
#include <stdio.h>
#include <string.h>

#include "game/board.h"
#include "game/ladder.h"
#include "test.h"
#include "util/rng.h"

/* X = black, O = white. Black at C3-ish in atari after White's ladder start. */
static const char *LADDER_9 = ". . . . . . . . .\n"
                              ". . . . . . . . .\n"
                              ". . . . . . . . .\n"
                              ". . . O . . . . .\n"
                              ". . O X O . . . .\n"
                              ". . . . . . . . .\n"
                              ". . . . . . . . .\n"
                              ". . . . . . . . .\n"
                              ". . . . . . . . .\n";

TEST(textbook_ladder_is_captured) {
    /* Black (3,4) has liberty (3,5) only after White adds (4,5)? Build it step by step:
     * with White at (2,4), (3,3), (4,4), Black's single liberty is (3,5). */
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, LADDER_9), 0);
    tg_loc_t x = tg_loc(3, 4);
    ASSERT_EQ(tg_board_chain_libs(&b, x), 1);
    /* Extending to (3,5) gives 3 liberties: not a ladder yet. */
    ASSERT_TRUE(!tg_ladder_is_captured(&b, x));
    /* With White at (4,5) too, extending gives 2 liberties and the ladder runs to the
     * lower-left edge: captured. */
    ASSERT_TRUE(tg_board_set_stone(&b, tg_loc(4, 5), TG_WHITE));
    ASSERT_TRUE(tg_ladder_is_captured(&b, x));
}

TEST(ladder_breaker_lets_it_escape) {
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, LADDER_9), 0);
    ASSERT_TRUE(tg_board_set_stone(&b, tg_loc(4, 5), TG_WHITE));
    tg_loc_t x = tg_loc(3, 4);
    ASSERT_TRUE(tg_ladder_is_captured(&b, x));
    /* A black stone on the ladder's diagonal (towards the lower left) breaks it. */
    tg_board_t b2 = b;
    ASSERT_TRUE(tg_board_set_stone(&b2, tg_loc(1, 7), TG_BLACK));
    ASSERT_TRUE(!tg_ladder_is_captured(&b2, x));
    /* A white stone there only helps White. */
    tg_board_t b3 = b;
    ASSERT_TRUE(tg_board_set_stone(&b3, tg_loc(1, 7), TG_WHITE));
    ASSERT_TRUE(tg_ladder_is_captured(&b3, x));
}

TEST(capture_escape) {
    /* The textbook ladder, but the white stone left of Black (2,4) is itself in atari (Black
     * at (1,4) and (2,3)): the defender captures it and escapes. */
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, LADDER_9), 0);
    ASSERT_TRUE(tg_board_set_stone(&b, tg_loc(4, 5), TG_WHITE));
    tg_loc_t x = tg_loc(3, 4);
    ASSERT_TRUE(tg_ladder_is_captured(&b, x));
    ASSERT_TRUE(tg_board_set_stone(&b, tg_loc(1, 4), TG_BLACK));
    ASSERT_TRUE(tg_board_set_stone(&b, tg_loc(2, 3), TG_BLACK));
    ASSERT_EQ(tg_board_chain_libs(&b, tg_loc(2, 4)), 1);
    ASSERT_TRUE(!tg_ladder_is_captured(&b, x));
}

/* Reference search on board copies (same rules as KataGo's searchIsLadderCaptured). */
static int ref_libs_list(const tg_board_t *b, tg_loc_t loc, tg_loc_t *out, int cap) {
    int n = 0;
    bool seen[TG_BOARD_CELLS] = {false};
    tg_loc_t s = loc;
    do {
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(s + tg_board_adj[i]);
            if (b->color[a] == TG_EMPTY && !seen[a]) {
                seen[a] = true;
                if (n < cap) out[n] = a;
                n++;
            }
        }
        s = b->next_stone[s];
    } while (s != loc);
    return n;
}

static int ref_immediate(const tg_board_t *b, tg_loc_t loc) {
    int n = 0;
    for (int i = 0; i < 4; i++)
        n += b->color[loc + tg_board_adj[i]] == TG_EMPTY;
    return n;
}

static bool ref_ko_capture(const tg_board_t *b, tg_loc_t loc, tg_color_t pla) {
    if (b->color[loc] != TG_EMPTY) return false;
    tg_color_t opp = tg_color_opp(pla);
    tg_loc_t cap = TG_LOC_NULL;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] != TG_WALL && b->color[a] != opp) return false;
        if (b->color[a] == opp && tg_board_chain_libs(b, a) == 1) {
            if (cap != TG_LOC_NULL) return false;
            cap = a;
        }
    }
    return cap != TG_LOC_NULL && tg_board_chain_stones(b, cap) == 1;
}

static int ref_libs_after(const tg_board_t *b, tg_loc_t loc, tg_color_t pla) {
    tg_board_t c = *b;
    c.ko_loc = TG_LOC_NULL;
    tg_board_play(&c, loc, pla);
    if (c.color[loc] != pla) return 0;
    return tg_board_chain_libs(&c, loc);
}

static bool ref_has_capture(const tg_board_t *b, tg_loc_t loc) {
    tg_color_t opp = tg_color_opp((tg_color_t)b->color[loc]);
    tg_loc_t s = loc;
    do {
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(s + tg_board_adj[i]);
            if (b->color[a] == opp && tg_board_chain_libs(b, a) == 1) return true;
        }
        s = b->next_stone[s];
    } while (s != loc);
    return false;
}

static bool ref_search(const tg_board_t *b, tg_loc_t loc, bool defender, int depth, int max_depth) {
    if (depth >= max_depth - 1) return true;
    tg_color_t pla = (tg_color_t)b->color[loc];
    tg_color_t opp = tg_color_opp(pla);
    int libs = tg_board_chain_libs(b, loc);
    if (!defender && libs <= 1) return true;
    if (!defender && libs >= 3) return false;
    if (defender && libs >= 2) return false;
    if (defender && b->ko_loc != TG_LOC_NULL) return false;
    tg_loc_t moves[400];
    int nm = 0;
    if (defender) {
        tg_loc_t s = loc;
        do {
            for (int i = 0; i < 4; i++) {
                tg_loc_t a = (tg_loc_t)(s + tg_board_adj[i]);
                if (b->color[a] == opp && tg_board_chain_libs(b, a) == 1) {
                    tg_loc_t l = TG_LOC_NULL;
                    ref_libs_list(b, a, &l, 1);
                    bool dup = false;
                    for (int k = 0; k < nm; k++)
                        dup |= moves[k] == l;
                    if (!dup) moves[nm++] = l;
                }
            }
            s = b->next_stone[s];
        } while (s != loc);
        tg_loc_t own[4];
        ref_libs_list(b, loc, own, 4);
        bool dup = false;
        for (int k = 0; k < nm; k++)
            dup |= moves[k] == own[0];
        if (!dup) moves[nm++] = own[0];
    } else {
        tg_loc_t two[2];
        ref_libs_list(b, loc, two, 2);
        int l0 = ref_immediate(b, two[0]), l1 = ref_immediate(b, two[1]);
        if (l0 == 0 && l1 == 0 && ref_ko_capture(b, two[0], opp) &&
            ref_ko_capture(b, two[1], opp) && ref_libs_after(b, two[0], pla) <= 2 &&
            ref_libs_after(b, two[1], pla) <= 2 && !ref_has_capture(b, loc))
            return true;
        bool adj = false;
        for (int i = 0; i < 4; i++)
            adj |= two[0] + tg_board_adj[i] == two[1];
        moves[nm++] = two[0];
        moves[nm++] = two[1];
        if (!adj) {
            if (l0 >= 3 && l1 >= 3) return false;
            if (l0 >= 3)
                nm = 1;
            else if (l1 >= 3) {
                moves[0] = two[1];
                nm = 1;
            }
        }
    }
    for (int k = 0; k < nm; k++) {
        tg_color_t p = defender ? pla : opp;
        if (!tg_board_is_legal(b, moves[k], p, false)) continue;
        tg_board_t c = *b;
        tg_board_play(&c, moves[k], p);
        bool r = ref_search(&c, loc, !defender, depth + 1, max_depth);
        if (defender && !r) return false;
        if (!defender && r) return true;
    }
    return defender;
}

TEST(random_positions_match_reference) {
    tg_rng_t rng;
    tg_rng_seed(&rng, 12345, 7);
    int checked = 0, captured = 0, checked2 = 0, captured2 = 0;
    for (int trial = 0; trial < 1000; trial++) {
        int size = 7 + (int)tg_rng_below(&rng, 7);
        tg_board_t b;
        tg_board_init(&b, size);
        int stones = (int)tg_rng_below(&rng, (uint64_t)(size * size / 2)) + 4;
        tg_color_t c = TG_BLACK;
        for (int k = 0; k < stones; k++) {
            tg_loc_t loc = tg_loc((int)tg_rng_below(&rng, (uint64_t)size),
                                  (int)tg_rng_below(&rng, (uint64_t)size));
            if (tg_board_is_legal(&b, loc, c, false)) tg_board_play(&b, loc, c);
            c = tg_color_opp(c);
        }
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                tg_loc_t loc = tg_loc(x, y);
                if (b.color[loc] != TG_BLACK && b.color[loc] != TG_WHITE) continue;
                if (tg_board_chain_libs(&b, loc) == 2) {
                    /* Attacker first: each liberty fill, legal under b's ko point, then a
                     * defender-first search. */
                    tg_loc_t two[2];
                    ref_libs_list(&b, loc, two, 2);
                    int nwant = 0;
                    tg_loc_t want_moves[2];
                    tg_color_t att = tg_color_opp((tg_color_t)b.color[loc]);
                    for (int k = 0; k < 2; k++) {
                        if (!tg_board_is_legal(&b, two[k], att, false)) continue;
                        tg_board_t cb = b;
                        tg_board_play(&cb, two[k], att);
                        cb.ko_loc = TG_LOC_NULL;
                        if (ref_search(&cb, loc, true, 0, size * size * 3 / 2 + 1))
                            want_moves[nwant++] = two[k];
                    }
                    tg_loc_t got_moves[2];
                    int ngot = -1;
                    bool got2 = tg_ladder_is_captured_2libs(&b, b.ko_loc, loc, got_moves, &ngot);
                    ASSERT_EQ(got2, nwant > 0);
                    ASSERT_EQ(ngot, nwant);
                    for (int k = 0; k < nwant; k++) /* same set, order free */
                        ASSERT_TRUE(got_moves[k] == want_moves[0] ||
                                    (nwant == 2 && got_moves[k] == want_moves[1]));
                    if (nwant == 2) ASSERT_NE(got_moves[0], got_moves[1]);
                    checked2++;
                    captured2 += got2;
                    continue;
                }
                if (tg_board_chain_libs(&b, loc) != 1) continue;
                tg_board_t root = b;
                root.ko_loc = TG_LOC_NULL;
                bool want = ref_search(&root, loc, true, 0, size * size * 3 / 2 + 1);
                bool got = tg_ladder_is_captured(&b, loc);
                if (want != got) {
                    char s[1024];
                    tg_board_to_string(&b, s, sizeof(s));
                    printf("mismatch at (%d,%d): ref %d ladder %d\n%s\n", x, y, want, got, s);
                }
                ASSERT_EQ(got, want);
                checked++;
                captured += got;
            }
    }
    printf("  %d atari'd stones checked, %d captured; %d two-liberty stones, %d captured\n",
           checked, captured, checked2, captured2);
    ASSERT_TRUE(captured2 > 10 && captured2 < checked2);
    ASSERT_TRUE(checked > 100);
    ASSERT_TRUE(captured > 10 && captured < checked);
}

TEST(two_liberty_working_moves) {
    /* Black (3,4) with 2 liberties (3,5) and (4,4)... build: White at (2,4), (3,3), (4,5). */
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, ". . . . . . . . .\n"
                                       ". . . . . . . . .\n"
                                       ". . . . . . . . .\n"
                                       ". . . O . . . . .\n"
                                       ". . O X . . . . .\n"
                                       ". . . . O . . . .\n"
                                       ". . . . . . . . .\n"
                                       ". . . . . . . . .\n"
                                       ". . . . . . . . .\n"),
              0);
    tg_loc_t x = tg_loc(3, 4);
    ASSERT_EQ(tg_board_chain_libs(&b, x), 2);
    tg_loc_t wm[2];
    int nwm = -1;
    bool cap = tg_ladder_is_captured_2libs(&b, TG_LOC_NULL, x, wm, &nwm);
    /* The shape is symmetric about the diagonal through Black: White's atari from either
     * side starts a ladder (towards the lower left or the upper right), so both work. */
    ASSERT_TRUE(cap);
    ASSERT_EQ(nwm, 2);
    for (int k = 0; k < 2; k++) {
        ASSERT_TRUE(wm[k] == tg_loc(4, 4) || wm[k] == tg_loc(3, 5));
        tg_board_t c = b;
        tg_board_play(&c, wm[k], TG_WHITE);
        ASSERT_TRUE(tg_ladder_is_captured(&c, x));
    }
    ASSERT_NE(wm[0], wm[1]);

    /* mark_board: the black stone is laddered; working points marked only for black chains. */
    uint8_t lad[TG_BOARD_CELLS], work[TG_BOARD_CELLS];
    tg_ladder_mark_board(&b, TG_LOC_NULL, lad, work, TG_BLACK);
    ASSERT_EQ(lad[x], 1);
    ASSERT_EQ(work[tg_loc(4, 4)], 1);
    ASSERT_EQ(work[tg_loc(3, 5)], 1);
    ASSERT_EQ(work[tg_loc(2, 4)], 0);
    tg_ladder_mark_board(&b, TG_LOC_NULL, lad, work, TG_WHITE);
    ASSERT_EQ(lad[x], 1);
    ASSERT_EQ(work[tg_loc(4, 4)], 0);
    /* A ko point in force for the attacker's first move makes that atari illegal. */
    ASSERT_TRUE(tg_ladder_is_captured_2libs(&b, tg_loc(4, 4), x, wm, &nwm));
    ASSERT_EQ(nwm, 1);
    ASSERT_EQ(wm[0], tg_loc(3, 5));
    /* A black breaker on the upper-right diagonal kills that direction only. */
    tg_board_t d = b;
    ASSERT_TRUE(tg_board_set_stone(&d, tg_loc(6, 1), TG_BLACK));
    ASSERT_TRUE(tg_ladder_is_captured_2libs(&d, TG_LOC_NULL, x, wm, &nwm));
    ASSERT_EQ(nwm, 1);
    ASSERT_EQ(wm[0], tg_loc(4, 4));
}

int main(void) {
    RUN(textbook_ladder_is_captured);
    RUN(ladder_breaker_lets_it_escape);
    RUN(capture_escape);
    RUN(random_positions_match_reference);
    RUN(two_liberty_working_moves);
    TEST_MAIN_END();
}
