/* selfplay.h: KataGo-style self-play: game threads play complete games with the MCTS, record
 * every turn, and write training rows (.npz, KataGo's layout) and one SGF per game.
 *
 * Why: this is the data source of the training loop (algorithms.md §1.5, §2.8, §3; formats.md
 * §4, §7). One process runs N game threads whose net queries meet in a batched evaluation
 * service (search/evalservice.h), like KataGo's `selfplay` with numGameThreads and
 * nnMaxBatchSize.
 *
 * Thread layout:
 *
 *     main thread (tg_selfplay_run): starts game threads, polls the models dir every
 *       model_poll_s, loads a newer net (evaluator + service + data writer) and makes it current
 *       |
 *       +-- game thread 1..N: loop { take current net (ref++); play a game with own search;
 *       |                            compute targets; append rows to that net's writer; write
 *       |                            the SGF; ref-- (last user of a replaced net frees it) }
 *       +-- evaluator thread(s) of each live net's service
 *
 * Per game (selfplay_game.c): rules / komi / draw value randomization (§1.5), opening moves
 * sampled from the raw policy, then per move: playout-cap randomization (cheap searches reuse
 * the tree and are not rows; full searches clear it), reduced visits instead of resignation,
 * move choice with temperature, and the turn's record (inputs, policy target, Q values, search
 * and raw values, surprise). After the game (selfplay_rows.c): final outcome, ownership, seki
 * and scoring maps, TD value targets, policy/value surprise weighting, integer row copies.
 *
 * Writers: one per net, `<out>/<net name>/tdata/<16HEX>.npz`, flushed at max_rows_per_file
 * rows (the first file of each writer at a random 15-100 % of that), when the net is replaced
 * and at the end; SGFs go to `<out>/<net name>/sgfs/<16HEX>.sgf`. Every file is written to a
 * temp name and renamed, so a stop (SIGINT) never leaves a half-written file under a final
 * name; a game cut short by a stop is dropped, as KataGo does.
 *
 * Lock rules: engine->lock guards the current-net pointer and each net's reference count (never
 * held while playing or writing); writer->lock guards a writer's row buffer and its files (held
 * while appending a game's rows and while flushing); the service has its own lock. A thread
 * never holds two of these at once, except engine->lock is never taken under writer->lock.
 *
 * After the game, surprise weights are resolved to row counts and, on estimate_lead_prob of the
 * rows (5 %), the lead target is estimated by replaying the game to that turn and bisecting
 * over komi with 6-visit searches of the thread's own tree (selfplay_lead.c); the fair komi of a
 * game start uses the same bisection with 20-visit searches.
 *
 * Known gaps versus KataGo: no handicap games, asymmetric playouts, forks, side positions or
 * encore-cleanup games; no lead target or fair komi with the uniform random net (its values are
 * constant, so its "lead" would be noise); the net's inputs use draw value 0.5 (the rows use
 * the game's own); nets switch between games only; the scoring-map target (value plane 4) is
 * written for area scoring without tax only (weight 34 = 0 otherwise). */
#ifndef TENGEN_SELFPLAY_SELFPLAY_H
#define TENGEN_SELFPLAY_SELFPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "data/trainrows.h"
#include "game/rules.h"
#include "search/evalservice.h"
#include "search/search.h"
#include "util/error.h"

#define TG_SELFPLAY_MAX_CHOICES 16 /* entries per randomized-rules list and board-size list */

/* Optional callbacks for a runtime that embeds selfplay (`tengen run`); each may be NULL and
 * the zeroed struct (the default) changes nothing. */
typedef struct tg_selfplay_hooks_s {
    /* After an .npz file was committed under its final name, with rows = exactly its rows.
     * Called from a game thread or selfplay's main thread while that net's writer lock is held
     * (keep it short; it must be thread-safe across nets, whose writers flush concurrently).
     * random_net: the rows come from the uniform random evaluator. A negative return is treated
     * as a write error (selfplay stops with it). */
    int (*on_file)(void *ctx, const char *net_name, bool random_net, const char *path,
                   const trainrows_t *rows, tg_err_t *err);
    /* After a net became the current one (selfplay's main thread); path "" for the random net. */
    void (*on_net)(void *ctx, const char *net_name, const char *path);
    /* After a game's rows and SGF were written (game thread). */
    void (*on_game)(void *ctx, const char *net_name, int rows, int moves);
    /* Before each move of every game (game threads): may block to throttle selfplay, and must
     * return promptly once the stop flag passed to tg_selfplay_run is set. */
    void (*before_move)(void *ctx);
    void *ctx;
} tg_selfplay_hooks_t;

typedef struct tg_selfplay_params_s {
    int num_game_threads;
    int64_t max_games; /* 0 = until stopped */
    uint64_t seed;     /* 0 = from the clock */

    /* Board sizes (square) with relative weights. */
    int num_sizes;
    int sizes[TG_SELFPLAY_MAX_CHOICES];
    double size_weights[TG_SELFPLAY_MAX_CHOICES];
    int data_len; /* training-data board length L (>= every size) */
    int max_moves_per_game;

    /* Per-move schedule (§2.8). */
    int64_t max_visits, cheap_visits;
    double cheap_search_prob;
    bool reduce_visits;
    double reduce_visits_threshold;
    int reduce_visits_lookback;
    int64_t reduced_visits_min;
    double reduced_visits_weight;
    double policy_surprise_weight, value_surprise_weight;
    /* Lead target (§2.8, §3.3 C21/C29): estimated on this share of the rows written, by
     * bisection over komi with searches of estimate_lead_visits visits. */
    double estimate_lead_prob;
    int64_t estimate_lead_visits;

    /* Komi, draw and no-result utilities (§1.5). komi_auto: start each game from the komi
     * that compensate_komi_visits-visit searches find even (KataGo's adjustKomiToEven). */
    bool komi_auto;
    int64_t compensate_komi_visits;
    double komi_base, komi_stdev, komi_big_stdev_prob, komi_big_stdev;
    bool fancy_komi_varying;
    double draw_rand_radius, no_result_stdev;

    /* Rules, each drawn uniformly from its list (duplicates weight a choice). */
    int num_ko, num_scoring, num_tax, num_suicide, num_button;
    tg_ko_rule_t ko[TG_SELFPLAY_MAX_CHOICES];
    tg_scoring_t scoring[TG_SELFPLAY_MAX_CHOICES];
    tg_tax_t tax[TG_SELFPLAY_MAX_CHOICES];
    bool suicide[TG_SELFPLAY_MAX_CHOICES];
    bool button[TG_SELFPLAY_MAX_CHOICES];

    /* Opening and game end. */
    double policy_init_area_prop, policy_init_temperature, compensate_after_policy_init_prob;
    double end_if_all_pass_alive_prob;

    /* Files. */
    int max_rows_per_file;
    double first_file_rand_min_prop;
    int npz_level;

    /* Evaluation. */
    tg_search_params_t search;       /* full-search base; cheap ones derived from it */
    tg_evalservice_params_t service; /* max_batch 0 = num_game_threads */
    int nn_threads;                  /* CPU threads of the net backend (0 = all cores) */
    double model_poll_s;

    tg_selfplay_hooks_t hooks; /* all NULL by default */
} tg_selfplay_params_t;

/* KataGo's selfplay1.cfg values (algorithms.md §1.5, §2.9) on 9x9: 4 game threads. */
tg_selfplay_params_t tg_selfplay_params_default(void);

/* Reads the [selfplay] section (and nn.threads, run.seed) of cfg over the defaults. Returns 0, or
 * TG_EINVAL with "selfplay.<key>: what is wrong" for unparsable lists or inconsistent sizes. */
int tg_selfplay_params_from_config(const tg_config_t *cfg, tg_selfplay_params_t *out,
                                   tg_err_t *err);

/* Checks ranges and consistency. Returns 0 or TG_EINVAL with the offending field. */
int tg_selfplay_params_validate(const tg_selfplay_params_t *p, tg_err_t *err);

/* Finds the net selfplay should use in models_dir, as KataGo's findLatestModel: the regular
 * file with the newest mtime ending in .bin.gz or .bin, at any depth (entries whose names end
 * in .tmp or .exported are skipped). The name is the parent directory's name for a file named
 * model.bin.gz / model.bin, else the file name without the extension. Returns 1 and fills
 * path/name/mtime_ns, 0 if there is none (or the dir does not exist), or TG_EIO. */
int tg_selfplay_find_latest_model(const char *models_dir, char *path, size_t path_cap, char *name,
                                  size_t name_cap, int64_t *mtime_ns, tg_err_t *err);

typedef struct tg_selfplay_stats_s {
    int64_t games;                           /* finished games written */
    int64_t moves;                           /* moves played in them (opening included) */
    int64_t turns_full;                      /* full searches */
    int64_t rows;                            /* rows written to .npz files */
    int64_t files;                           /* .npz files written */
    int64_t nets_loaded;                     /* nets used, the random one included */
    int64_t nn_positions, nn_batches;        /* summed over every net's service */
    int64_t nn_cache_hits, nn_cache_lookups; /* NN cache, summed likewise (0 with the cache off) */
    double nn_mean_fill;
    double elapsed_s;
} tg_selfplay_stats_t;

/* Runs self-play until max_games games are finished or *stop becomes true (stop may be NULL;
 * setting it from a signal handler is fine). Nets come from models_dir (NULL or no model: the
 * uniform random evaluator, named "random"); output goes under output_dir (created). Blocks;
 * returns 0 after writing every pending row and SGF, or the first error of any thread (the
 * other threads are stopped and pending rows still written). stats may be NULL. */
int tg_selfplay_run(const tg_selfplay_params_t *p, const char *models_dir, const char *output_dir,
                    atomic_bool *stop, tg_selfplay_stats_t *stats, tg_err_t *err);

#endif
