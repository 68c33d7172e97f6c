/* gate.h: the gatekeeper (algorithms.md §7) and the Elo ladder of a run's nets.
 *
 * Why: KataGo optionally tests each exported net against the accepted one before selfplay may
 * use it, and a run needs a strength curve. tg_gate_play_match plays N games between two nets
 * (or a net and the uniform random evaluator) at V visits with gatekeeper1.cfg's flavour (no
 * root noise, no forced playouts, LCB, move temperature 0.5 -> 0.2 with half-life 19,
 * resignation after 5 turns at >= 90 % against the mover), colours alternating. The ladder
 * file (JSON) anchors "random" at Elo 0 and gives each net the rating implied by its match
 * score against an already rated opponent: elo = elo(opp) + 400 log10(s / (1 - s)), with s
 * clamped to [0.5/N, 1 - 0.5/N].
 *
 * Threads: a match runs on the calling thread (one search thread per side); the functions are
 * thread-safe on distinct files. */
#ifndef TENGEN_GATE_GATE_H
#define TENGEN_GATE_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "util/error.h"

typedef struct tg_gate_params_s {
    int games;                /* total games, colours alternate (candidate Black in even games) */
    int64_t visits;           /* per move */
    double required_win_prop; /* accept when points >= this * games (ties accepted) */
    int max_moves;            /* then scored as it stands */
    int board_size;
    char rules[64]; /* a KataGo rules name */
    double komi;
    int nn_threads;  /* CPU threads per net evaluator */
    bool early_stop; /* stop once the verdict is decided (gating); false: play every game */
    uint64_t seed;
} tg_gate_params_t;

/* gate.games/visits/required_win_prop/max_moves, game.rules/komi, the largest selfplay board
 * size, nn.threads (0 -> 1), run.seed; early_stop true. */
void tg_gate_params_from_config(const tg_config_t *cfg, tg_gate_params_t *out);

typedef struct tg_gate_result_s {
    int games; /* games finished */
    int candidate_wins, baseline_wins, draws;
    int candidate_black_wins; /* of candidate_wins, as Black */
    double candidate_points;  /* wins + draws/2 */
    bool accepted;
} tg_gate_result_t;

/* Plays the match. base_path NULL = the uniform random evaluator. Returns 0 with res filled,
 * 1 if *stop became true first (res holds the games so far, not accepted), or a negative
 * error (model load errors with their path). Cost: games * moves * visits evaluations. */
int tg_gate_play_match(const tg_gate_params_t *p, const char *cand_path, const char *base_path,
                       atomic_bool *stop, tg_gate_result_t *res, tg_err_t *err);

/* Moves from_dir/<name> to to_dir/<name> (rename; to_dir created) and writes the match record
 * to_dir/<name>/gate.json (atomically), with note (may be NULL). */
int tg_gate_move_candidate(const char *from_dir, const char *to_dir, const char *name,
                           const tg_gate_result_t *res, const char *note, tg_err_t *err);

/* Adds or replaces net `name` in the ladder at elo_path (created if missing), rated from res
 * against `opponent` ("random" = 0 or an earlier entry; an unknown opponent counts as 0).
 * Written atomically. */
int tg_gate_ladder_record(const char *elo_path, const char *name, const char *opponent,
                          const tg_gate_result_t *res, tg_err_t *err);

/* Elo implied by a score of points out of games (clamped as above). */
double tg_gate_elo_diff(double points, int games);

#endif
