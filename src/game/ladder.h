/* ladder.h: ladder (shicho) reading for the net's input features 14-17.
 *
 * KataGo feeds its net, for every chain with 1 or 2 liberties, whether a plain ladder captures
 * it (Board::searchIsLadderCaptured / searchIsLadderCapturedAttackerFirst2Libs, iterated by
 * iterLadders in nninputs.cpp). This module reproduces that search exactly, so the features
 * match KataGo's bit for bit:
 *  - the defender moves on the chain's liberties or captures an adjacent attacker chain that
 *    is in atari; the attacker only ataris by filling one of the chain's 2 liberties;
 *  - the defender wins once the chain has 2+ liberties, or when the attacker's move left a
 *    simple-ko point (kos are assumed to work for the defender); the attacker wins once the
 *    chain has 1 liberty on its move, and also in KataGo's "double ko mouth" shortcut;
 *  - a liberty whose filling would give the defender 3+ immediate liberties is pruned when
 *    the two liberties are not adjacent, as KataGo does;
 *  - no move may be suicide and the simple-ko point is respected (multi-stone suicide off);
 *  - a search deeper than size*size*3/2 plies counts as captured (KataGo's stack limit).
 * The result of such an AND/OR search does not depend on move order, so the move-ordering
 * heuristic here is our own.
 *
 * Implementation: a private colour-only board copied from the caller's tg_board_t, with
 * chains and liberties found by flood fill and moves undone from a change log. All state
 * lives in one ~60 KB struct on the caller's stack; nothing is allocated. Thread-safe on
 * distinct boards (the input board is only read). */
#ifndef TENGEN_GAME_LADDER_H
#define TENGEN_GAME_LADDER_H

#include <stdbool.h>
#include <stdint.h>

#include "game/board.h"

/* Is the chain at loc (exactly 1 liberty) captured by a ladder with the defender to move?
 * (KataGo's searchIsLadderCaptured(loc, defenderFirst=true); the simple-ko point is ignored
 * at the root.) Returns false for empty points and chains with 2+ liberties. */
bool tg_ladder_is_captured(const tg_board_t *b, tg_loc_t loc);

/* Is the chain at loc (exactly 2 liberties) captured if the attacker ataris first?
 * (KataGo's searchIsLadderCapturedAttackerFirst2Libs.) ko_loc is the simple-ko point in force
 * for the attacker's first move (normally b->ko_loc). Writes the liberties whose filling
 * starts a working ladder to working[0..*num_working) (in liberty order, at most 2). */
bool tg_ladder_is_captured_2libs(const tg_board_t *b, tg_loc_t ko_loc, tg_loc_t loc,
                                 tg_loc_t working[2], int *num_working);

/* iterLadders over the whole board: sets laddered[loc] = 1 for every stone of every 1- or
 * 2-liberty chain that is ladder-captured (1 liberty: defender first; 2 liberties: attacker
 * first), and working[loc] = 1 on the working liberties of those 2-liberty chains whose
 * colour is working_owner (pass TG_EMPTY for none). Both arrays are cleared first; working may
 * be NULL. ko_loc as above. Cost: one search per distinct 1-2 liberty chain. */
void tg_ladder_mark_board(const tg_board_t *b, tg_loc_t ko_loc, uint8_t laddered[TG_BOARD_CELLS],
                          uint8_t *working, tg_color_t working_owner);

#endif
