/* gtp.h: a GTP v2 engine (Go Text Protocol) that is fed one line at a time.
 *
 * Why: `tengen gtp` must speak to GUIs, to match drivers and to KataGo-compatible tools
 * (kata-set-rules, kata-get-rules, kata-raw-nn), and tests must drive it without processes.
 * So the engine is a plain struct: tg_gtp_engine_handle_line() takes one input line and gives
 * back the complete response text; tg_gtp_engine_run() is the stdin/stdout loop around it.
 *
 * Protocol (GTP v2, as KataGo and GnuGo implement it):
 *  - bytes outside printable ASCII are dropped (tabs become spaces), '#' starts a comment,
 *    blank lines are ignored (no response);
 *  - an optional numeric id before the command is echoed: "=12 D4\n\n", "?12 illegal move\n\n";
 *  - every response ends with one empty line; success starts with '=', failure with '?';
 *  - every malformed or illegal command is answered with "? <reason>" and the engine keeps
 *    its state and goes on. Reasons follow KataGo: "unknown command", "illegal move",
 *    "unacceptable size", "cannot undo", "Could not parse vertex: 'Z99'", ...
 *
 * Commands: protocol_version name version known_command list_commands quit boardsize
 * clear_board komi play genmove undo showboard final_score final_status_list fixed_handicap
 * place_free_handicap set_free_handicap loadsgf printsgf time_settings time_left
 * kata-set-rules kata-get-rules kata-raw-nn kata-analyze.
 *
 * genmove: without a model, a uniformly random legal move that does not fill one's own eye
 * (pass if none). With a model, a KataGo-style MCTS (search/search.h) with KataGo's GTP
 * settings (algorithms.md §2.9, "GTP fallback" column: no noise, dynamic cPUCT, move
 * temperature 0.5 -> 0.1) limited by max_visits / max_time_s; it passes when the search
 * prefers passing and resigns only if resign_threshold is set. With max_visits = 0 and
 * max_time_s = 0 it plays the legal move with the highest raw policy (no search).
 *
 * Clock: after time_settings with a limited clock (main time, or byo-yomi with stones), each
 * search is also capped in time: in byo-yomi 80% of the period per stone, in main time the
 * time left (time_left, else the main time) over max(10, (0.6 area - moves) / 2) own moves
 * plus 80% of a byo-yomi stone's share, less 0.3 s of protocol margin (at least 0.05 s).
 * The smaller of that and max_time_s applies; max_visits still applies as well.
 *
 * Tree reuse: the search tree follows the game. After every successful play/genmove the tree
 * is advanced along the moves actually played (the opponent's included) and keeps the subtree
 * under them; whenever the game is no longer a continuation of the tree's root (clear_board,
 * boardsize, undo, loadsgf, komi or rules changes, handicap, a move out of turn) the tree is
 * dropped and the next search starts fresh. Visits kept this way count towards max_visits.
 *
 * kata-analyze [color] [interval] [maxmoves N]: runs one search from the current position
 * (the engine's limits, tree reuse as for genmove) without playing, and answers with one line
 * of KataGo-style `info move X visits N edgeVisits N utility U winrate W scoreMean S
 * scoreStdev D scoreLead L prior P order K pv ...` entries, best first, values from the
 * point of view of the player to move. Unlike KataGo it does not stream updates every
 * interval centiseconds: the answer ends when the search ends (interval is accepted and
 * ignored). Only the first entry's pv goes deeper than its own move.
 *
 * Not thread-safe: one engine is driven by one thread. */
#ifndef TENGEN_GTP_GTP_H
#define TENGEN_GTP_GTP_H

#include <stdint.h>
#include <stdio.h>

#include "game/game.h"
#include "search/search.h"
#include "util/error.h"

typedef struct tg_gtp_engine_s tg_gtp_engine_t;

typedef struct tg_gtp_options_s {
    const char *name;  /* answer to `name`; NULL: "tengen" */
    int board_size;    /* initial board size (2..TG_BOARD_MAX); 0: 19 */
    const char *rules; /* initial rules (tg_rules_parse names); NULL: "tromp-taylor" */
    int has_komi;      /* if set, komi overrides the rules' komi */
    float komi;
    uint64_t seed;          /* random moves; same seed and commands -> same answers */
    const char *model_path; /* KataGo model for genmove / kata-raw-nn; NULL: none */
    int nn_threads;         /* CPU threads for the net (<= 0: all cores) */
    int nn_max_batch;       /* largest batch (>= 8 for kata-raw-nn all); 0: 8 */

    /* Search (with a model only). max_visits = 0 and max_time_s = 0: raw policy, no search. */
    int64_t max_visits;      /* per genmove, reused visits included; default 400 */
    double max_time_s;       /* per genmove, seconds; 0: no time limit */
    int search_threads;      /* threads on one search tree; 0: 1 */
    double resign_threshold; /* resign when the mover's win rate stays below this for 3 of its
                                own consecutive searches (after move 1 + area/5); 0: never */
} tg_gtp_options_t;

/* Fills o with the defaults above. */
void tg_gtp_options_default(tg_gtp_options_t *o);

/* Allocates an engine (about 200 KB) with an empty board. Loads the model if one is named.
 * Returns 0, or TG_EINVAL (bad rules/size/komi), TG_ENOMEM, or the model loader's error. */
int tg_gtp_engine_create(const tg_gtp_options_t *opt, tg_gtp_engine_t **out, tg_err_t *err);

/* Frees the engine and its evaluator. NULL-safe. */
void tg_gtp_engine_destroy(tg_gtp_engine_t *e);

enum { TG_GTP_CONTINUE = 0, TG_GTP_QUIT = 1 };

/* Handles one input line (without or with its trailing newline). *response receives the full
 * response text ("= ...\n\n" or "? ...\n\n"), or "" for a blank/comment line; the text lives
 * in the engine and is valid until the next call. Returns TG_GTP_QUIT after `quit`, else
 * TG_GTP_CONTINUE. Cost: that of the command (genmove / kata-analyze with a net: one search). */
int tg_gtp_engine_handle_line(tg_gtp_engine_t *e, const char *line, const char **response);

/* Reads lines from in until EOF or quit, writing each response to out and flushing.
 * Lines longer than 64 KiB are answered "? line too long". Returns 0, or TG_EIO if out
 * could not be written. */
int tg_gtp_engine_run(tg_gtp_engine_t *e, FILE *in, FILE *out);

/* The current game (read-only), for tests and the match driver. */
const tg_game_t *tg_gtp_engine_game(const tg_gtp_engine_t *e);

/* The engine's search (read-only: root values, children, PV, stats), or NULL when no model is
 * loaded or search is off. Its root is the position after the last synced move; it is valid
 * until the next command. */
const tg_search_t *tg_gtp_engine_search(const tg_gtp_engine_t *e);

#endif
