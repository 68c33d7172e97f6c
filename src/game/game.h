/* game.h: a game of Go under a KataGo ruleset: the board plus everything the rules need from
 * the past (KataGo's BoardHistory): move list, superko history, passes and phase ends, the
 * territory-scoring encore with its ko-recapture blocks, button, handicap bonus, scoring.
 *
 * Why: legality (superko), game end (two passes, Spight-like pass, 3-fold no-result cycles,
 * encore phases) and the final score must behave exactly like KataGo for self-play, GTP and
 * the net's input features (formats.md 2.2/2.3: channels 6, 7, 18-21; global features
 * 0-5, 12-14, 17, 18).
 *
 * Design: tg_game_t is fixed-size and copyable by value (no pointers; about 90 KB). Every
 * move appends to a move list (at most TG_GAME_MAX_MOVES) and to the ko-hash history used for
 * superko; after each move the points banned by superko for the next player are recomputed
 * (O(size^2), fast thanks to a "never occupied" filter and a small Bloom filter over the
 * history). Undo replays the game from its initial position.
 *
 * Thread safety: functions touch only the caller's game; distinct games are independent. No
 * function allocates memory. */
#ifndef TENGEN_GAME_GAME_H
#define TENGEN_GAME_GAME_H

#include <stdbool.h>
#include <stdint.h>

#include "game/board.h"
#include "game/rules.h"
#include "util/error.h"
#include "util/rng.h"

#define TG_GAME_MAX_MOVES       2000 /* moves (incl. passes) after the initial position */
#define TG_GAME_RECENT_BOARDS   3    /* boards kept: now, 1 and 2 turns ago */
#define TG_GAME_MAX_PASS_HASHES 256  /* per phase; older entries are dropped beyond this */
#define TG_GAME_MAX_ENCORE_KO   256  /* encore ko captures remembered per phase */
#define TG_GAME_BLOOM_WORDS     128  /* 8192-bit Bloom filter over the ko-hash history */

typedef struct tg_move_s {
    tg_loc_t loc;  /* on-board loc or TG_LOC_PASS */
    uint8_t color; /* TG_BLACK or TG_WHITE */
} tg_move_t;

typedef struct tg_game_pass_hash_s {
    tg_hash128_t hash; /* ko hash of the position before a pass */
    uint8_t color;     /* who passed */
} tg_game_pass_hash_t;

typedef struct tg_game_encore_ko_s {
    tg_hash128_t pos_hash_before; /* board hash before the ko capture */
    tg_loc_t loc;                 /* where the capturing stone was played */
    uint8_t color;                /* who captured */
} tg_game_encore_ko_t;

typedef struct tg_game_s {
    tg_board_t board; /* the current position */
    tg_rules_t rules;
    tg_color_t to_move; /* KataGo's presumedNextMovePla */

    /* Start of the game, for undo and SGF. */
    tg_board_t initial_board;
    tg_color_t initial_to_move;
    int initial_encore_phase;
    bool assume_multiple_starting_black_moves_are_handicap; /* default true (as KataGo GTP) */

    int num_moves;
    tg_move_t moves[TG_GAME_MAX_MOVES];

    tg_board_t recent_boards[TG_GAME_RECENT_BOARDS]; /* ring; see tg_game_recent_board */
    int recent_board_idx;

    /* Ko-hash history since the last clear; ko_hash_first_turn = move index of entry 0. */
    int ko_hash_count;
    int ko_hash_first_turn;
    tg_hash128_t ko_hashes[TG_GAME_MAX_MOVES + 1];
    uint64_t ko_hash_bloom[TG_GAME_BLOOM_WORDS];

    bool was_ever_occupied_or_played[TG_BOARD_CELLS];
    /* Points where to_move may not play because of superko (main phase) or because that ko
     * was already captured in this position (encore). Input channel 6 with board.ko_loc. */
    bool super_ko_banned[TG_BOARD_CELLS];
    /* Encore: stones (of either colour) whose ko recapture is blocked until a pass-for-ko.
     * Input channel 7 uses the points holding the opponent's blocked stones. */
    bool ko_recap_blocked[TG_BOARD_CELLS];
    tg_hash128_t ko_recap_block_hash;

    int consecutive_ending_passes;
    int num_pass_hashes;
    tg_game_pass_hash_t pass_hashes[TG_GAME_MAX_PASS_HASHES];
    int num_encore_ko;
    tg_game_encore_ko_t encore_ko[TG_GAME_MAX_ENCORE_KO];

    int encore_phase;         /* 0 main phase; 1, 2 territory-scoring encore */
    int num_turns_this_phase; /* turns since the phase began (history features use this) */
    uint8_t second_encore_start_colors[TG_BOARD_CELLS];

    float white_bonus_score;          /* button, territory "1 point per stone played" */
    float white_handicap_bonus_score; /* from rules.white_handicap_bonus */
    bool has_button;                  /* button still available */
    bool white_has_moved;

    /* Result. */
    bool is_past_normal_phase_end;
    bool game_over;
    bool is_scored;
    bool no_result; /* long cycle under simple ko or in the encore */
    bool resigned;
    tg_color_t winner; /* TG_EMPTY for a draw or no result */
    float final_score; /* white minus black, komi and bonuses included */
} tg_game_t;

/* Starts an empty size x size game, Black to move, under rules. g need not be initialized.
 * assume_multiple_starting_black_moves_are_handicap starts true (KataGo GTP default). */
void tg_game_init(tg_game_t *g, int size, const tg_rules_t *rules);

/* KataGo's BoardHistory::clear: makes board the initial position with to_move to play,
 * in encore_phase (0, or 1/2 under territory scoring), with empty history. Under territory
 * scoring the stones already on the board count as played (white_bonus_score). */
void tg_game_reset(tg_game_t *g, const tg_board_t *board, tg_color_t to_move,
                   const tg_rules_t *rules, int encore_phase);

/* Setup (SGF AB/AW/AE, free handicap): puts colour (TG_EMPTY removes) at loc on the current
 * position and makes it the new initial position (history cleared, to_move kept). Returns
 * 0, or TG_EINVAL if loc is off board or a chain would be left without liberties. */
int tg_game_set_stone(tg_game_t *g, tg_loc_t loc, tg_color_t color, tg_err_t *err);

/* Puts n fixed handicap stones (GTP spec 4.1.1 vertex table; n 2..9, board size 7..19 odd
 * and even as GTP allows) on an empty board, then White to move, history cleared.
 * Returns 0, or TG_EINVAL if n is not allowed for this size or the board is not empty. */
int tg_game_place_fixed_handicap(tg_game_t *g, int n, tg_err_t *err);

/* Changes only komi; re-scores a scored game (BoardHistory::setKomi). */
void tg_game_set_komi(tg_game_t *g, float komi);

/* Full legality for color at loc (KataGo's BoardHistory::isLegal): board legality with the
 * rules' suicide setting, superko / encore bans; in the encore, a move on a blocked ko point
 * is a legal "pass-for-ko". Does not check whose turn it is nor whether the game is over. */
bool tg_game_is_legal(const tg_game_t *g, tg_loc_t loc, tg_color_t color);

/* Same, plus "it is color's turn". */
bool tg_game_is_legal_to_move(const tg_game_t *g, tg_loc_t loc, tg_color_t color);

/* True for a move that only lifts an encore ko-recapture block (BoardHistory::isPassForKo). */
bool tg_game_is_pass_for_ko(const tg_game_t *g, tg_loc_t loc, tg_color_t color);

/* Plays color at loc if tg_game_is_legal; returns 0, or TG_EILLEGAL ("play: illegal move
 * Q16 for white: superko") / TG_ERANGE (move list full) leaving g unchanged. Updates passes,
 * superko bans, encore phases, game end and score (KataGo's makeBoardMoveAssumeLegal). */
int tg_game_play(tg_game_t *g, tg_loc_t loc, tg_color_t color, tg_err_t *err);

/* Plays without the legality check (still requires board-level pseudo-legality), for
 * replaying trusted moves. Returns TG_ERANGE if the move list is full, else 0. */
int tg_game_play_assume_legal(tg_game_t *g, tg_loc_t loc, tg_color_t color);

/* Removes the last move by replaying the game from its initial position. O(moves * size^2).
 * Returns 0, or TG_ESTATE if there is no move to undo. */
int tg_game_undo(tg_game_t *g);

/* Board n turns ago, 0 <= n < TG_GAME_RECENT_BOARDS; before the start it is the initial board. */
const tg_board_t *tg_game_recent_board(const tg_game_t *g, int n);

/* Whether a pass by color now would end the phase (global feature 14) / the whole game. */
bool tg_game_pass_would_end_phase(const tg_game_t *g, tg_color_t color);
bool tg_game_pass_would_end_game(const tg_game_t *g, tg_color_t color);

/* Superko-banned for the player to move (main phase: repetition; encore: ko captured
 * before in this position). The simple-ko point is g->board.ko_loc, checked separately. */
static inline bool tg_game_superko_banned(const tg_game_t *g, tg_loc_t loc) {
    return g->super_ko_banned[loc];
}

/* Encore: would color be blocked from recapturing the ko at loc (channel 7)? True if loc
 * holds an opposing stone marked ko-recapture-blocked. */
static inline bool tg_game_ko_recap_blocked_for(const tg_game_t *g, tg_loc_t loc,
                                                tg_color_t color) {
    return g->ko_recap_blocked[loc] && g->board.color[loc] == tg_color_opp(color);
}

/* Komi from pla's view as the net sees it (BoardHistory::currentSelfKomi): komi + white
 * bonus + handicap bonus + draw adjustment (integer komi: draw_wins_for_white - 0.5),
 * negated for Black. */
float tg_game_self_komi(const tg_game_t *g, tg_color_t pla, double draw_wins_for_white);

/* Area as the rules score it now (BoardHistory::getAreaNow), no state change: result[loc]
 * = TG_BLACK / TG_WHITE / TG_EMPTY; this is the final-ownership target. Returns the board
 * part of the score, white minus black (no komi, no bonuses). */
int tg_game_area_now(const tg_game_t *g, uint8_t result[TG_BOARD_CELLS]);

/* Ends and scores the game now (BoardHistory::endAndScoreGameNow): sets game_over,
 * final_score, winner; area (may be NULL) receives the ownership. */
void tg_game_end_and_score(tg_game_t *g, uint8_t area[TG_BOARD_CELLS]);

/* Ends the game if every point is pass-alive area of one side (endGameIfAllPassAlive).
 * Returns true if it ended the game. */
bool tg_game_end_if_all_pass_alive(tg_game_t *g);

/* Resignation: game over, winner = the other player of `resigner`. */
void tg_game_resign(tg_game_t *g, tg_color_t resigner);

/* Score white-minus-black that the game would get if ended and scored now, without changing
 * g (komi and bonuses included; the button goes to the player to move), the way KataGo's
 * endAndScoreGameNow scores: area scoring counts stones inside the opponent's pass-alive
 * territory for the opponent. */
float tg_game_final_score(const tg_game_t *g);

/* True when g's rules are Tromp-Taylor's (positional superko, area scoring, no tax,
 * suicide legal, no button), whatever the komi. */
bool tg_game_rules_are_tromp_taylor(const tg_game_t *g);

/* The score GTP's final_score reports: under Tromp-Taylor rules the strict area count of the
 * board as it stands (tg_board_score_area_strict) plus komi and handicap bonus; under any other
 * rules tg_game_final_score. White minus black. */
float tg_game_gtp_final_score(const tg_game_t *g);

/* Number of handicap stones KataGo would count (computeNumHandicapStones). */
int tg_game_num_handicap_stones(const tg_game_t *g);

/* A uniformly random legal move for g->to_move that does not fill its own simple eye;
 * TG_LOC_PASS if there is none. O(size^2) worst case; no allocation. */
tg_loc_t tg_game_random_move(const tg_game_t *g, tg_rng_t *rng);

/* Standard fixed-handicap points for GTP (spec 4.1.1). Writes up to 9 locs into out and
 * returns the count, or TG_EINVAL if n is not allowed on this size. */
int tg_game_fixed_handicap_points(int size, int n, tg_loc_t out[9]);

#endif
