/* config_schema.h: THE table of every config key (see config.h). One row per key:
 *   X(section, key, TYPE, "default", lo, hi, "one-line doc")
 * For ENUM, lo/hi are unused and the choices are written in the doc's leading "[a|b|c]".
 * Later stages add their sections here; nothing else needs to change. */
#ifndef TENGEN_CONFIG_SCHEMA_H
#define TENGEN_CONFIG_SCHEMA_H

#define TG_CONFIG_SCHEMA(X)                                                                        \
    X(run, dir, STRING, "runs/default", 0, 0,                                                      \
      "Directory for everything a run writes (logs, SGFs, models, checkpoints).")                  \
    X(run, seed, INT, "0", 0, 9223372036854775807.0,                                               \
      "Random seed; 0 picks one from the clock (and logs it).")                                    \
    X(log, level, ENUM, "info", 0, 0, "[debug|info|warn|error] Lowest level shown on stderr.")     \
    X(log, file, STRING, "", 0, 0,                                                                 \
      "Log file (appended). Empty: <run.dir>/tengen.log for long jobs, none for gtp.")             \
    X(game, board_size, INT, "19", 2, 19, "Board size for play, demo games and benchmarks.")       \
    X(game, rules, STRING, "tromp-taylor", 0, 0,                                                   \
      "Rules: a KataGo name (tromp-taylor chinese japanese korean aga new-zealand ...) or "        \
      "the koXscoreY... form.")                                                                    \
    X(game, komi, FLOAT, "7.5", -150, 150, "Komi added to White's score (multiple of 0.5).")       \
    X(nn, model, STRING, "", 0, 0,                                                                 \
      "KataGo model file (.bin.gz or .bin) to play with; empty: no net (random legal play).")      \
    X(nn, backend, ENUM, "auto", 0, 0, "[auto|cpu|cuda] Inference backend; auto prefers CUDA.")    \
    X(nn, threads, INT, "0", 0, 256, "CPU threads for net evaluation; 0 = all cores.")             \
    X(nn, max_batch, INT, "16", 1, 1024, "Largest batch of positions per net evaluation.")         \
    X(gtp, name, STRING, "tengen", 0, 0, "Engine name reported by the GTP `name` command.")        \
    X(match, games, INT, "2", 1, 100000, "Games in the demo match of `tools/demo.sh`.")            \
    X(match, opponent, STRING, "gnugo --mode gtp --level 1", 0, 0,                                 \
      "GTP command line of the demo match's opponent.")                                            \
    X(match, max_moves, INT, "800", 1, 100000, "Move cap per match game (then scored as is).")     \
    X(selfplay, num_game_threads, INT, "4", 1, 1024,                                               \
      "Games played at once (one search thread each).")                                            \
    X(selfplay, max_games, INT, "0", 0, 1e15,                                                      \
      "Stop after this many finished games; 0 = until stopped.")                                   \
    X(selfplay, board_sizes, STRING, "9", 0, 0,                                                    \
      "Square board sizes with optional relative weights, e.g. \"9\" or \"7:1,8:1,9:8\".")         \
    X(selfplay, data_board_len, INT, "0", 0, 19,                                                   \
      "Training-data board length L (npz pos_len); 0 = the largest board size.")                   \
    X(selfplay, max_moves_per_game, INT, "1600", 1, 1999,                                          \
      "Move cap per game; a game hitting it is scored as it stands.")                              \
    X(selfplay, max_visits, INT, "600", 1, 1000000, "Visits of a full search.")                    \
    X(selfplay, cheap_visits, INT, "100", 1, 1000000,                                              \
      "Visits of a cheap search (playout cap randomization).")                                     \
    X(selfplay, cheap_search_prob, FLOAT, "0.75", 0, 1,                                            \
      "Probability that a move gets a cheap, unrecorded search.")                                  \
    X(selfplay, reduce_visits, BOOL, "true", 0, 0,                                                 \
      "Reduce visits and row weight in decided games (instead of resigning).")                     \
    X(selfplay, reduce_visits_threshold, FLOAT, "0.9", 0, 0.999,                                   \
      "Root win-loss over the lookback above which visits are reduced.")                           \
    X(selfplay, reduce_visits_lookback, INT, "3", 1, 100,                                          \
      "Turns whose root values decide visit reduction.")                                           \
    X(selfplay, reduced_visits_min, INT, "100", 1, 1000000,                                        \
      "Fewest visits of a reduced full search.")                                                   \
    X(selfplay, reduced_visits_weight, FLOAT, "0.1", 0, 1,                                         \
      "Row weight of a fully reduced search.")                                                     \
    X(selfplay, policy_surprise_weight, FLOAT, "0.5", 0, 1,                                        \
      "Share of row weight moved to policy-surprising turns.")                                     \
    X(selfplay, value_surprise_weight, FLOAT, "0.1", 0, 1,                                         \
      "Share of row weight moved to value-surprising turns.")                                      \
    X(selfplay, estimate_lead_prob, FLOAT, "0.05", 0, 1,                                           \
      "Share of rows that get a lead target (globalTargets 21, weight 29).")                       \
    X(selfplay, estimate_lead_visits, INT, "6", 1, 100000,                                         \
      "Visits of each search of the lead estimation (bisection over komi).")                       \
    X(selfplay, komi_auto, BOOL, "true", 0, 0,                                                     \
      "Start from the komi that short searches find fair (bisection over komi), then noise.")      \
    X(selfplay, compensate_komi_visits, INT, "20", 1, 100000,                                      \
      "Visits of each search that makes komi fair (komi_auto, re-fair after the opening).")        \
    X(selfplay, komi_base, FLOAT, "7.0", -150, 150, "Komi before auto-fairing and noise.")         \
    X(selfplay, komi_stdev, FLOAT, "1.0", 0, 100,                                                  \
      "Komi noise stdev on 19x19 (scaled by board width / 19).")                                   \
    X(selfplay, komi_big_stdev_prob, FLOAT, "0.06", 0, 1,                                          \
      "Probability of the big komi noise instead.")                                                \
    X(selfplay, komi_big_stdev, FLOAT, "12.0", 0, 1000,                                            \
      "Big komi noise stdev on 19x19 (scaled by board width / 19).")                               \
    X(selfplay, fancy_komi_varying, BOOL, "true", 0, 0,                                            \
      "With the random net, add 1.5*width*N(0,1) to komi.")                                        \
    X(selfplay, ko_rules, STRING, "SIMPLE,POSITIONAL,SITUATIONAL", 0, 0,                           \
      "Ko rules drawn uniformly per game.")                                                        \
    X(selfplay, scoring_rules, STRING, "AREA,TERRITORY", 0, 0,                                     \
      "Scoring rules drawn uniformly per game.")                                                   \
    X(selfplay, tax_rules, STRING, "NONE,NONE,SEKI,SEKI,ALL", 0, 0,                                \
      "Tax rules drawn uniformly per game.")                                                       \
    X(selfplay, multi_stone_suicide, STRING, "false,true", 0, 0,                                   \
      "Multi-stone suicide legality drawn uniformly per game.")                                    \
    X(selfplay, has_buttons, STRING, "false,false,true", 0, 0,                                     \
      "Button (area scoring only) drawn uniformly per game.")                                      \
    X(selfplay, draw_rand_radius, FLOAT, "0.5", 0, 0.5,                                            \
      "Per-game draw value for White uniform in 0.5 +- this.")                                     \
    X(selfplay, no_result_stdev, FLOAT, "0.1667", 0, 1,                                            \
      "Per-game no-result utility for White ~ N(0, stdev^2).")                                     \
    X(selfplay, policy_init_area_prop, FLOAT, "0.04", 0, 1,                                        \
      "Opening moves from the raw policy: floor(Exp(1) * this * area).")                           \
    X(selfplay, policy_init_temperature, FLOAT, "1.0", 0.01, 100,                                  \
      "Temperature of the opening policy moves.")                                                  \
    X(selfplay, compensate_after_policy_init_prob, FLOAT, "0.2", 0, 1,                             \
      "Probability to re-fair komi after the opening moves.")                                      \
    X(selfplay, end_if_all_pass_alive_prob, FLOAT, "0.98", 0, 1,                                   \
      "Per game: end as soon as every point is pass-alive area.")                                  \
    X(selfplay, max_rows_per_file, INT, "10000", 1, 10000000,                                      \
      "Rows per .npz file (the first file of a net: 15-100 % of it).")                             \
    X(selfplay, first_file_rand_min_prop, FLOAT, "0.15", 0, 1,                                     \
      "Smallest fraction of max_rows_per_file for the first file.")                                \
    X(selfplay, npz_level, INT, "6", 0, 9, "zlib level of .npz members (0 = stored).")             \
    X(selfplay, nn_max_batch, INT, "0", 0, 4096, "Positions per net call; 0 = num_game_threads.")  \
    X(selfplay, nn_eval_threads, INT, "1", 1, 64, "Evaluator threads of the batching service.")    \
    X(selfplay, nn_batch_wait_us, INT, "2000", 0, 10000000,                                        \
      "Longest wait for a batch to fill, microseconds.")                                           \
    X(selfplay, nn_len, INT, "0", 0, 19, "Net tensor size; 0 = the largest board in each batch.")  \
    X(selfplay, nn_cache_entries, INT, "65536", 0, 268435456,                                      \
      "NN cache slots (net outputs by exact features + symmetry), 0 = off; "                       \
      "64 + 8*N^2 bytes each for boards up to N (9x9: 46.7 MB, 19x19: 193 MB).")                   \
    X(selfplay, nn_cache_any_symmetry, BOOL, "false", 0, 0,                                        \
      "NN cache: a search leaf hits the entry of any symmetry (KataGo); false = exact symmetry.")  \
    X(selfplay, model_poll_s, FLOAT, "10", 0.1, 86400,                                             \
      "Seconds between checks of the models dir for a newer net.")                                 \
    X(run, devices, STRING, "cpu", 0, 0,                                                           \
      "[cpu|cuda] `tengen run` devices: cuda = selfplay nets on the GPU, trainer on CPU.")         \
    X(run, trainer_share_max, FLOAT, "0.5", 0.01, 1,                                               \
      "Cap on the trainer's share of wall time (busy seconds / elapsed); sleeps above it.")        \
    X(run, selfplay_share_max, FLOAT, "1.0", 0.01, 1,                                              \
      "Cap on selfplay's share of CPU time while the trainer has work; 1 = no cap.")               \
    X(run, max_backlog_batches, INT, "4", 1, 1000000,                                              \
      "Back-pressure: selfplay pauses while the train bucket holds more than this many "           \
      "batches (the trainer is behind its samples-per-row target).")                               \
    X(run, status_every_s, FLOAT, "5", 0.2, 3600,                                                  \
      "Seconds between status lines (stderr) and metrics.jsonl records.")                          \
    X(run, save_every_s, FLOAT, "120", 1, 86400,                                                   \
      "Seconds between save points (checkpoint + window + run state) besides pause.")              \
    X(train, model_kind, STRING, "b6c96", 0, 0,                                                    \
      "Net config: b2c8test (tests), b2c16, b4c32, b6c96, b10c128.")                               \
    X(train, batch, INT, "128", 1, 8192, "Rows per optimizer step.")                               \
    X(train, threads, INT, "1", 1, 256, "Trainer worker threads.")                                 \
    X(train, lr_per_sample, FLOAT, "3e-5", 0, 1, "Learning rate per sample (KataGo: 3e-5).")       \
    X(train, lr_scale, FLOAT, "1.0", 0.0001, 1000, "KataGo's -lr-scale.")                          \
    X(train, warmup, BOOL, "true", 0, 0, "KataGo's sample-count learning-rate warmup.")            \
    X(train, symmetries, BOOL, "true", 0, 0, "One random board symmetry per batch.")               \
    X(train, seed, INT, "0", 0, 9223372036854775807.0,                                             \
      "Init/sampling seed of the trainer; 0 = derived from run.seed.")                             \
    X(train, checkpoint_dir, STRING, "", 0, 0,                                                     \
      "`tengen train`: checkpoint dir when --checkpoint-dir is not given.")                        \
    X(train, steps, INT, "1000", 0, 1e15,                                                          \
      "`tengen train`: total steps when --steps is not given.")                                    \
    X(train, export_every_samples, INT, "100000", 1, 1e15,                                         \
      "Export a model every this many trained samples.")                                           \
    X(train, checkpoint_keep, INT, "2", 1, 1000, "Save points (checkpoints) kept in the run.")     \
    X(train, swa, BOOL, "false", 0, 0,                                                             \
      "Keep KataGo's SWA weight average and export it instead of the raw weights.")                \
    X(train, swa_period_samples, INT, "80000", 1, 1e15,                                            \
      "SWA: trained samples between snapshots into the average (KataGo sync loop: 80000).")        \
    X(train, swa_scale, FLOAT, "8", 1, 1e6,                                                        \
      "SWA: each snapshot moves the average 1/swa_scale of the way to the weights.")               \
    X(shuffle, min_rows, INT, "250000", 1, 1e15,                                                   \
      "Rows before training starts; window floor (KataGo -min-rows).")                             \
    X(shuffle, max_rows, INT, "0", 0, 1e15, "Window ceiling; 0 = unbounded.")                      \
    X(shuffle, expand_window_per_row, FLOAT, "0.4", 0, 10, "Window slope at min_rows.")            \
    X(shuffle, taper_window_exponent, FLOAT, "0.65", 0.01, 1, "Window ~ rows^exponent.")           \
    X(shuffle, taper_window_scale, INT, "0", 0, 1e15, "Taper scale; 0 = min_rows.")                \
    X(shuffle, max_mb, INT, "4096", 1, 1048576, "Hard cap on window memory, MiB.")                 \
    X(shuffle, max_train_per_data, FLOAT, "4", 0, 1000,                                            \
      "Train bucket: target training samples per new row (0 = no bucket).")                        \
    X(shuffle, samples_per_epoch, INT, "1000000", 1, 1e15,                                         \
      "Bucket start level (the first samples are free) and cap floor.")                            \
    X(shuffle, max_train_bucket_size, INT, "5000000", 1, 1e15, "Train bucket cap.")                \
    X(shuffle, sample_mode, ENUM, "replace", 0, 0,                                                 \
      "[replace|pass] Uniform draws with replacement, or passes without replacement.")             \
    X(gate, enabled, BOOL, "false", 0, 0,                                                          \
      "Gatekeeper: test each export against the accepted net before selfplay uses it.")            \
    X(gate, games, INT, "100", 2, 100000, "Games per gating match (colours alternate).")           \
    X(gate, visits, INT, "50", 1, 1000000, "Visits per move in gating and ladder games.")          \
    X(gate, required_win_prop, FLOAT, "0.5", 0, 1,                                                 \
      "Accept when the candidate scores at least this share of the points (ties accepted).")       \
    X(gate, max_moves, INT, "300", 1, 1999, "Move cap of a gating game (then scored).")            \
    X(gate, ladder_games, INT, "0", 0, 100000,                                                     \
      "Without gating: games of each new net against the previous one for the Elo ladder.")

enum {
#define X(section, key, type, def, lo, hi, doc) TG_CONFIG_KEY_##section##_##key,
    TG_CONFIG_SCHEMA(X)
#undef X
        TG_CONFIG_NUM_KEYS
};

#endif
