/* selfplay_internal.h: structures shared by the selfplay files (engine, nets and writers, the
 * per-thread game recorder). Not a public API; tests may use it. */
#ifndef TENGEN_SELFPLAY_SELFPLAY_INTERNAL_H
#define TENGEN_SELFPLAY_SELFPLAY_INTERNAL_H

#include <uv.h>

#include "data/trainrows.h"
#include "nn/eval.h"
#include "selfplay/selfplay.h"
#include "util/rng.h"

/* One net's row buffer and output directories. Lock: lock guards rows, file_cap, files,
 * rows_written and rng. */
typedef struct selfplay_writer_s {
    uv_mutex_t lock;
    trainrows_t rows;
    int file_cap; /* rows in the current file before a flush (first file: random smaller) */
    int max_rows, npz_level;
    char tdata_dir[1024];
    char sgfs_dir[1024];
    int64_t files, rows_written;
    tg_rng_t rng; /* file names */
    /* Set at creation, read-only afterwards: for hooks->on_file. */
    const tg_selfplay_hooks_t *hooks;
    char net_name[256];
    bool random_net;
} selfplay_writer_t;

/* A loaded net (or the random one) with its service and writer. refs and retired are guarded by
 * the engine's lock. */
typedef struct selfplay_net_s {
    char name[256];
    char path[1024]; /* "" for the random net */
    int64_t mtime_ns;
    tg_nn_evaluator_t *nn;         /* NULL for the random net; = pool.evs[0] */
    tg_evalservice_nn_pool_t pool; /* one evaluator per service thread */
    tg_evalservice_t *svc;
    selfplay_writer_t writer;
    int refs;
    bool retired;
} selfplay_net_t;

/* What the game thread remembers of one turn (§3.1). Arrays live in the recorder's pools. */
typedef struct selfplay_turn_s {
    uint8_t pla;
    bool full;       /* full search (row candidate before surprise weighting) */
    int turn_number; /* moves since the empty board before this turn */
    float weight;    /* §2.8 weight, then surprise-weighted */
    int64_t visits;  /* visits of the search, before any reduction */
    float white_win, white_loss, white_nr, white_score;                 /* search root values */
    float raw_white_win, raw_white_loss, raw_white_nr, raw_white_score; /* raw net at the root */
    float policy_surprise, policy_entropy, search_entropy, value_surprise;
    float self_komi;   /* for pla, with the game's draw value */
    int copies;        /* rows written for this turn: the weight resolved to an integer */
    bool has_lead;     /* white_lead estimated (globalTargets C21 / C29) */
    float white_lead;  /* komi change that would make the position even, White's view */
    bool area_scoring; /* area scoring or encore 2 */
    float white_bonus; /* game white_bonus_score at this turn */
    float global[TRAINROWS_GLOBAL_INPUTS];
} selfplay_turn_t;

/* Per-game-thread recorder: turn records plus pools sized for max_moves_per_game turns. */
typedef struct selfplay_recorder_s {
    int len, area, policy_len, packed_len; /* data length L and derived sizes */
    int cap_turns;
    int num_turns;
    selfplay_turn_t *turns; /* (cap_turns) */
    int16_t *policy;        /* (cap_turns, policy_len) policy target, scaled int16 */
    int16_t *qvalues;       /* (cap_turns, 3, policy_len) */
    uint8_t *packed;        /* (cap_turns, 22, packed_len) */
    int8_t *stones;         /* (cap_turns + 1, area): +1 black, -1 white; [num_turns] = final */
    float *spatial;         /* (22, L, L) scratch */
} selfplay_recorder_t;

/* The finished game as the row writer needs it. */
typedef struct selfplay_final_s {
    float white_win, white_loss, white_nr, white_score; /* score draw-adjusted */
    bool has_ownership;
    int8_t own_white[TRAINROWS_MAX_POS_LEN * TRAINROWS_MAX_POS_LEN];  /* +1 white, -1 black */
    int8_t seki_white[TRAINROWS_MAX_POS_LEN * TRAINROWS_MAX_POS_LEN]; /* unowned full area */
    bool scoring_exact; /* the scoring map equals the ownership (area scoring, no tax) */
    bool hit_turn_limit;
    bool no_result;
    float final_white_bonus;
    uint64_t hash0, hash1;
    int start_moves; /* opening moves before the first recorded turn */
    int board_size;
} selfplay_final_t;

int selfplay__recorder_init(selfplay_recorder_t *r, int len, int max_turns);
void selfplay__recorder_free(selfplay_recorder_t *r);

/* Surprise weighting (§3.2) over the recorder's turns; fills value_surprise and changes
 * weights. */
void selfplay__apply_surprise_weights(const tg_selfplay_params_t *p, selfplay_recorder_t *r,
                                      const selfplay_final_t *fin);

/* Resolves each turn's weight to its row count: floor(w) + Bernoulli(w - floor(w)), into
 * turns[i].copies (KataGo resolves weights before the lead estimation, so only rows get one). */
void selfplay__resolve_copies(selfplay_recorder_t *r, tg_rng_t *rng);

/* Appends the game's rows (turns[i].copies copies of each turn) to the writer, flushing files
 * as they fill. Takes writer->lock. Returns rows written into the buffer, or a negative error. */
int selfplay__write_game_rows(selfplay_writer_t *w, const selfplay_recorder_t *r,
                              const selfplay_final_t *fin, tg_rng_t *rng, tg_err_t *err);

/* Flushes the writer's buffer to a new .npz (no-op when empty). Caller holds writer->lock. */
int selfplay__writer_flush_locked(selfplay_writer_t *w, tg_err_t *err);

/* One game thread's state, passed to selfplay__play_game. */
typedef struct selfplay_game_ctx_s {
    const tg_selfplay_params_t *params;
    tg_rng_t rng;
    tg_search_t *search;
    selfplay_recorder_t rec;
    tg_game_t game;    /* the game being played */
    tg_game_t scratch; /* komi / opening evaluation */
    atomic_bool *stop; /* may be NULL */
    bool random_net;
    /* Full-search params of the current game (its draw value and no-result utility): the base
     * of the komi / lead probe searches. Set by selfplay__play_game. */
    tg_search_params_t game_search;
} selfplay_game_ctx_t;

/* Plays one complete game with evaluator ev (random_net: no model yet), recording its turns
 * into ctx->rec and the result into fin. Returns 0, 1 if stopped before the end (nothing to
 * write), or a negative error. */
int selfplay__play_game(selfplay_game_ctx_t *ctx, const tg_search_evaluator_t *ev,
                        selfplay_final_t *fin, tg_err_t *err);

/* ---- Komi probes (selfplay_lead.c) ------------------------------------------------------ */

/* White's lead and win-loss value (in [-1, 1]) for one komi: the function that the komi
 * bisection reads. Returns 0 or a negative error with err filled. */
typedef int (*selfplay_komi_eval_fn)(void *ctx, float komi, double *white_lead,
                                     double *white_winloss, tg_err_t *err);

#define SELFPLAY_KOMI_CACHE 64

/* One bisection's evaluator and its cache of probed komis (multiples of 0.5). */
typedef struct selfplay_komi_probe_s {
    selfplay_komi_eval_fn eval;
    void *ctx;
    int board_area;
    bool loose_clip; /* clip komis to +-(40 + area) (leads), else +-(40 + area / 2) */
    int num_cached;
    double cache_komi[SELFPLAY_KOMI_CACHE], cache_lead[SELFPLAY_KOMI_CACHE],
        cache_wl[SELFPLAY_KOMI_CACHE];
    int num_evals; /* eval calls made (cache misses) */
} selfplay_komi_probe_t;

void selfplay__komi_probe_init(selfplay_komi_probe_t *pr, selfplay_komi_eval_fn eval, void *ctx,
                               int board_area, bool loose_clip);

/* komi rounded to the nearest multiple of 0.5 after clipping to the probe range. */
double selfplay__round_clip_komi(double komi, int board_area, bool loose_clip);

/* The komi at which White's win-loss crosses zero, starting from komi (a multiple of 0.5),
 * unrounded (KataGo's getNaiveEvenKomiHelper). At most ~20 evals. Returns 0 or the eval's
 * error. */
int selfplay__even_komi(selfplay_komi_probe_t *pr, double komi, double *out, tg_err_t *err);

/* White's lead at komi: komi - the even komi, smoothed over area scoring's 2-point steps when
 * coarse (area scoring without button), as KataGo's computeLead. */
int selfplay__lead_from_probe(selfplay_komi_probe_t *pr, double komi, bool coarse, double *lead,
                              tg_err_t *err);

/* The same with fresh noiseless searches of visits visits on ctx->search (whose evaluator must
 * be set), base = the game's full-search params; pos keeps its komi. num_evals (may be NULL):
 * searches run. Fair komi uses the tight clip, leads the loose one. */
int selfplay__search_even_komi(selfplay_game_ctx_t *ctx, const tg_search_params_t *base,
                               tg_game_t *pos, int64_t visits, double *komi_out, int *num_evals,
                               tg_err_t *err);
int selfplay__search_lead(selfplay_game_ctx_t *ctx, const tg_search_params_t *base, tg_game_t *pos,
                          int64_t visits, double *white_lead, int *num_evals, tg_err_t *err);

/* After selfplay__resolve_copies: for each turn with rows (copies > 0) and a search no-result
 * value below 0.3, with probability estimate_lead_prob, replays the game to that turn (in
 * ctx->scratch) and estimates its lead with estimate_lead_visits-visit searches on ctx->search
 * (the evaluator of the game just played), setting has_lead / white_lead. Nothing for games
 * that ended without result or with the random net. Returns 0 or a negative error. */
int selfplay__estimate_leads(selfplay_game_ctx_t *ctx, const selfplay_final_t *fin, tg_err_t *err);

/* SGF result text for a finished game: "W+3.5", "B+1", "0" (draw), "Void" (no result). */
void selfplay__result_string(const tg_game_t *g, char *buf, size_t cap);

#endif
