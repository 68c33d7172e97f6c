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
    X(match, max_moves, INT, "800", 1, 100000, "Move cap per match game (then scored as is).")

enum {
#define X(section, key, type, def, lo, hi, doc) TG_CONFIG_KEY_##section##_##key,
    TG_CONFIG_SCHEMA(X)
#undef X
        TG_CONFIG_NUM_KEYS
};

#endif
