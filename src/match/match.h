/* match.h: a match between two players, refereed by our rules, with the win rate and the Elo
 * difference and their 95% intervals.
 *
 * Why: to measure a net or a search against a reference program (GnuGo, KataGo, an older
 * tengen) or against another net, without trusting either engine's own bookkeeping.
 *
 * Players: each is either an external GTP engine or tengen's own engine (gtp/gtp.h) run in
 * this process with a net and a search (tg_match_player_t.model). Both are driven by the same
 * GTP commands, so an internal player plays exactly like `tengen gtp --model M --visits V`.
 * An external engine is started once with `/bin/sh -c CMD` (in its own process group) and
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

#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

/* One player: an external GTP command, or (model set) tengen's engine in this process. */
typedef struct tg_match_player_s {
    const char *cmd;         /* external: started with /bin/sh -c cmd */
    const char *model;       /* internal: KataGo model file; takes precedence over cmd */
    int64_t visits;          /* internal: visits per move (default 100); with time_s 0 and
                                visits 0 the raw policy plays */
    double time_s;           /* internal: seconds per move; 0: no time limit */
    int search_threads;      /* internal: threads on the tree; 0: 1 */
    int nn_threads;          /* internal: CPU threads of the net; 0: 1 */
    double resign_threshold; /* internal: see tg_gtp_options_t; 0: never resign */
    uint64_t seed;           /* internal: 0: 1 for A, 2 for B */
} tg_match_player_t;

typedef struct tg_match_options_s {
    tg_match_player_t a;   /* player A (Black in game 1) */
    tg_match_player_t b;   /* player B */
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

/* A's score over the games that count, with 95% intervals. */
typedef struct tg_match_stats_s {
    int n;                         /* games that count: all but void ones */
    double points;                 /* A's wins + half its draws (void games excluded) */
    double winrate;                /* points / n; 0.5 when n = 0 */
    double winrate_lo, winrate_hi; /* Wilson score interval, z = 1.96; [0, 1] when n = 0 */
    double elo, elo_lo, elo_hi;    /* A minus B: 400 log10(p / (1 - p)) of each; +-inf at
                                      p = 1 or 0 */
} tg_match_stats_t;

/* Fills o with defaults: 1 game, 19x19, komi 7.5, tromp-taylor, no SGFs, 800 moves, 300 s;
 * players empty (set a.cmd or a.model, b likewise), internal ones at 100 visits. */
void tg_match_options_default(tg_match_options_t *o);

/* The Elo difference of a player that scores the fraction p against its opponent:
 * 400 log10(p / (1 - p)); -inf at p <= 0, +inf at p >= 1. */
double tg_match_elo_from_winrate(double p);

/* Win rate, Wilson interval (95%, z = 1.96, draws counted as half a win) and Elo difference
 * with the interval mapped through tg_match_elo_from_winrate, for `points` out of n games. */
void tg_match_compute_stats(double points, int n, tg_match_stats_t *out);

/* Win rate statistics of a result (void games left out). */
void tg_match_result_stats(const tg_match_result_t *res, tg_match_stats_t *out);

/* Plays the match and prints the summary, ending with the line
 *   match games=N a_wins=A b_wins=B draws=D a_winrate=W elo=E elo_lo=L elo_hi=H
 * (W to 4 decimals, Elo to 1; "inf"/"-inf" when a side won every game).
 * Returns 0 when every game was played (whatever the results), or TG_EINVAL (bad options),
 * TG_EIO (an engine could not be started or an SGF not written), a model loader's error (an
 * internal player's net) with err filled. */
int tg_match_run(const tg_match_options_t *o, tg_match_result_t *res, tg_err_t *err);

#endif
