/* cmd_gtp.c: `tengen gtp`: a GTP engine on stdin/stdout (see src/gtp/gtp.h).
 *
 * Settings come from the config file (game.*, nn.*, gtp.name, run.seed, log.level), then
 * --set overrides, then the explicit options. stdout carries GTP only; logs go to stderr. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "config/config.h"
#include "gtp/gtp.h"
#include "util/log.h"
#include "util/rng.h"

#define CMD_GTP_MAX_SETS 64

static void cmd_gtp_usage(FILE *out) {
    fprintf(out,
            "usage: tengen gtp [--model PATH] [--config FILE] [--set section.key=value ...]\n"
            "                  [--seed N] [--threads T] [--visits N] [--time S]\n"
            "                  [--search-threads T] [--resign-threshold W]\n"
            "  Speaks GTP v2 on stdin/stdout. Without a model, genmove plays a random legal\n"
            "  move that does not fill its own eye; with one, it searches (KataGo-style MCTS,\n"
            "  KataGo's GTP settings, tree reused across moves). Logs go to stderr.\n"
            "  -m, --model PATH     KataGo model (.bin.gz / .bin); overrides nn.model\n"
            "  -v, --visits N       visits per genmove, reused ones included (default 400);\n"
            "                       --visits 0 --time 0: raw policy, no search\n"
            "      --time S         seconds per genmove (default 0: no time limit)\n"
            "      --search-threads T  threads on the search tree (default 1)\n"
            "      --resign-threshold W  resign below win rate W (0..1) for 3 own moves\n"
            "                       in a row (default 0: never)\n"
            "  -c, --config FILE    config file (game.board_size, game.rules, game.komi, nn.*,\n"
            "                       gtp.name, run.seed, log.level)\n"
            "  -s, --set K=V        override one config key (repeatable)\n"
            "      --seed N         random seed (0: from the clock); overrides run.seed\n"
            "  -t, --threads T      CPU threads for the net (0: all cores); overrides nn.threads\n"
            "  -h, --help           this help\n");
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

int cmd_gtp(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"threads", required_argument, 0, 't'},
                                         {"visits", required_argument, 0, 'v'},
                                         {"time", required_argument, 0, 'T'},
                                         {"search-threads", required_argument, 0, 'j'},
                                         {"resign-threshold", required_argument, 0, 'R'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *config_path = NULL, *sets[CMD_GTP_MAX_SETS];
    int nsets = 0, threads = -1, have_seed = 0;
    uint64_t seed = 0;
    long long visits = 400;
    double time_s = 0.0, resign = 0.0;
    int search_threads = 1;
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:s:t:v:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 's':
            if (nsets == CMD_GTP_MAX_SETS) {
                fprintf(stderr, "tengen gtp: too many --set options\n");
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case 'S':
            if (parse_u64(optarg, &seed)) {
                fprintf(stderr, "tengen gtp: --seed: not a non-negative integer: '%s'\n", optarg);
                return 2;
            }
            have_seed = 1;
            break;
        case 't': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 256) {
                fprintf(stderr, "tengen gtp: --threads: expected 0..256, got '%s'\n", optarg);
                return 2;
            }
            threads = (int)v;
            break;
        }
        case 'v':
            visits = strtoll(optarg, &end, 10);
            if (end == optarg || *end || visits < 0 || visits > 100000000) {
                fprintf(stderr, "tengen gtp: --visits: expected 0..1e8, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'T':
            time_s = strtod(optarg, &end);
            if (end == optarg || *end || !(time_s >= 0) || time_s > 1e6) {
                fprintf(stderr, "tengen gtp: --time: expected seconds >= 0, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'j': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 256) {
                fprintf(stderr, "tengen gtp: --search-threads: expected 1..256, got '%s'\n",
                        optarg);
                return 2;
            }
            search_threads = (int)v;
            break;
        }
        case 'R':
            resign = strtod(optarg, &end);
            if (end == optarg || *end || !(resign >= 0) || resign >= 1) {
                fprintf(stderr, "tengen gtp: --resign-threshold: expected 0 <= W < 1, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            cmd_gtp_usage(stdout);
            return 0;
        default:
            cmd_gtp_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tengen gtp: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    tg_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg) return 1;
    tg_err_t err = {0};
    tg_config_init_defaults(cfg);
    if (config_path && tg_config_load_file(cfg, config_path, &err) != 0) {
        fprintf(stderr, "tengen gtp: %s\n", err.msg);
        free(cfg);
        return 2;
    }
    for (int i = 0; i < nsets; i++) {
        if (tg_config_set(cfg, sets[i], &err) != 0) {
            fprintf(stderr, "tengen gtp: %s\n", err.msg);
            free(cfg);
            return 2;
        }
    }
    tg_log_level_t level;
    if (tg_log_parse_level(cfg->log_level, &level) == 0) tg_log_set_level(level);
    tg_log_set_thread_name("gtp");

    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    o.name = cfg->gtp_name;
    o.board_size = (int)cfg->game_board_size;
    o.rules = cfg->game_rules;
    o.has_komi = 1;
    o.komi = (float)cfg->game_komi;
    o.model_path = model ? model : cfg->nn_model;
    o.nn_threads = threads >= 0 ? threads : (int)cfg->nn_threads;
    o.nn_max_batch = (int)cfg->nn_max_batch < 8 ? 8 : (int)cfg->nn_max_batch;
    o.seed = have_seed ? seed : (uint64_t)cfg->run_seed;
    o.max_visits = visits;
    o.max_time_s = time_s;
    o.search_threads = search_threads;
    o.resign_threshold = resign;
    if (o.seed == 0) {
        o.seed = tg_rng_entropy_seed();
        TG_LOGI("gtp: seed %" PRIu64 " (from the clock)", o.seed);
    }

    tg_gtp_engine_t *engine = NULL;
    int rc = tg_gtp_engine_create(&o, &engine, &err);
    if (rc) {
        fprintf(stderr, "tengen gtp: %s\n", err.msg);
        free(cfg);
        return 1;
    }
    if (o.model_path && o.model_path[0]) {
        if (visits > 0 || time_s > 0)
            TG_LOGI("gtp: loaded model %s; search: %lld visits, %.1f s, %d threads", o.model_path,
                    visits, time_s, search_threads);
        else
            TG_LOGI("gtp: loaded model %s; no search (raw policy)", o.model_path);
    }
    free(cfg); /* o's strings point into cfg: not used after this */
    TG_LOGI("gtp: ready");
    rc = tg_gtp_engine_run(engine, stdin, stdout);
    tg_gtp_engine_destroy(engine);
    return rc ? 1 : 0;
}
