/* match.h: a match between two GTP engines run as child processes, refereed by our rules.
 *
 * Why: to measure a net or a search against a reference program (GnuGo, KataGo, an older
 * tengen) without trusting either engine's own bookkeeping.
 *
 * Design: each engine is started once with `/bin/sh -c CMD` (in its own process group) and
 * talked to over one Unix socketpair wired to its stdin and stdout; its stderr is inherited.
 * Engine A plays Black in odd games, White in even ones. For every move the driver asks the
 * player to move for `genmove`, checks the answer with tg_game_is_legal under the match
 * rules, plays it on the referee game and relays it with `play` to the other engine.
 * A game ends on two consecutive passes, a resignation, an illegal or unreadable move (that
 * engine loses, and the reason is logged and written into the SGF), an engine that rejects a
 * legal move or dies (the game is void: counted as a draw, logged), or max_moves (scored as it
 * stands). Scores are ours (tg_game_final_score), never the engines'. Each game is written
 * atomically to sgf_dir/game_NNNN.sgf.
 *
 * Every GTP exchange has a timeout (poll); an engine that does not answer in time loses the
 * game and is restarted for the next one. Not thread-safe; one match at a time per caller. */
#ifndef TENGEN_MATCH_MATCH_H
#define TENGEN_MATCH_MATCH_H

#include <stdio.h>

#include "util/error.h"

typedef struct tg_match_options_s {
    const char *cmd_a;     /* engine A (Black in game 1) */
    const char *cmd_b;     /* engine B */
    int games;             /* >= 1 */
    int board_size;        /* 2..19 */
    float komi;            /* multiple of 0.5 */
    const char *rules;     /* tg_rules_parse name; sent with kata-set-rules when supported */
    const char *sgf_dir;   /* created if missing; NULL: no SGFs */
    int max_moves;         /* move cap per game (passes included) */
    double move_timeout_s; /* per GTP response; <= 0: 300 s */
    FILE *summary;         /* where the human summary and the machine line go; NULL: stdout */
} tg_match_options_t;

typedef struct tg_match_result_s {
    int games;
    int a_wins, b_wins, draws;      /* draws include void games */
    int a_wins_black, a_wins_white; /* by A's colour in the won game */
    int b_wins_black, b_wins_white;
    int void_games;    /* engine rejected a legal move or died */
    int illegal_moves; /* games lost by an illegal or unreadable move */
    int resignations;
    int total_moves;
} tg_match_result_t;

/* Fills o with defaults: 1 game, 19x19, komi 7.5, tromp-taylor, no SGFs, 800 moves, 300 s. */
void tg_match_options_default(tg_match_options_t *o);

/* Plays the match and prints the summary, ending with the line
 *   match games=N a_wins=A b_wins=B draws=D
 * Returns 0 when every game was played (whatever the results), or TG_EINVAL (bad options),
 * TG_EIO (an engine could not be started or an SGF not written) with err filled. */
int tg_match_run(const tg_match_options_t *o, tg_match_result_t *res, tg_err_t *err);

#endif
