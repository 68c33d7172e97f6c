/* cmd_selfplay.c: `tengen selfplay`: KataGo-style self-play into a data directory
 * (src/selfplay/selfplay.h).
 *
 * Nets come from --models-dir (newest .bin.gz or .bin file, KataGo's findLatestModel; none: the
 * uniform random evaluator, data under "random"); data goes to OUT/<net>/tdata/X.npz and
 * OUT/<net>/sgfs/X.sgf. SIGINT / SIGTERM stop the run gracefully: games in progress are
 * dropped, every finished game's rows and SGF are written, nothing is left half-written. The
 * summary `selfplay games=... rows=...` goes to stdout; logs to stderr. */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "selfplay/selfplay.h"
#include "util/log.h"

static atomic_bool cmd_selfplay_stop;

static void cmd_selfplay_on_signal(int sig) {
    (void)sig;
    atomic_store(&cmd_selfplay_stop, true); /* lock-free atomic: async-signal-safe */
}

static void cmd_selfplay_usage(FILE *out) {
    fprintf(out,
            "usage: tengen selfplay --models-dir M --output-dir O [--config C] [--max-games N]\n"
            "                       [--set section.key=value]...\n"
            "  Plays self-play games with the newest net in M (none: uniform random\n"
            "  evaluator, named \"random\") and writes KataGo training data:\n"
            "  O/<net>/tdata/<16HEX>.npz and O/<net>/sgfs/<16HEX>.sgf. A newer net appearing\n"
            "  in M is picked up between games. Ctrl-C stops cleanly.\n"
            "  -c, --config C       config file ([selfplay] section; see config/selfplay.ini)\n"
            "  -m, --models-dir M   directory searched for nets\n"
            "  -o, --output-dir O   output directory (created)\n"
            "  -n, --max-games N    stop after N finished games (overrides selfplay.max_games)\n"
            "  -s, --set K=V        override a config key, e.g. --set selfplay.max_visits=100\n"
            "  -h, --help           this help\n");
}

int cmd_selfplay(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"models-dir", required_argument, 0, 'm'},
                                         {"output-dir", required_argument, 0, 'o'},
                                         {"max-games", required_argument, 0, 'n'},
                                         {"set", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config_path = NULL, *models = NULL, *output = NULL;
    const char *sets[64];
    int nsets = 0;
    long long max_games = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:m:o:n:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'm':
            models = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'n': {
            char *end;
            max_games = strtoll(optarg, &end, 10);
            if (end == optarg || *end || max_games < 0) {
                fprintf(stderr, "tengen selfplay: --max-games: not a count: %s\n", optarg);
                return 2;
            }
            break;
        }
        case 's':
            if (nsets == 64) {
                fprintf(stderr, "tengen selfplay: too many --set options\n");
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case 'h':
            cmd_selfplay_usage(stdout);
            return 0;
        default:
            cmd_selfplay_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !models || !output) {
        cmd_selfplay_usage(stderr);
        return 2;
    }
    tg_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg) return 1;
    tg_config_init_defaults(cfg);
    tg_err_t err;
    int rc = 0;
    if (config_path && (rc = tg_config_load_file(cfg, config_path, &err))) {
        fprintf(stderr, "tengen selfplay: %s\n", err.msg);
        free(cfg);
        return 2;
    }
    for (int i = 0; i < nsets; i++) {
        if ((rc = tg_config_set(cfg, sets[i], &err))) {
            fprintf(stderr, "tengen selfplay: %s\n", err.msg);
            free(cfg);
            return 2;
        }
    }
    tg_log_level_t level;
    if (tg_log_parse_level(cfg->log_level, &level) == 0) tg_log_set_level(level);
    tg_log_set_thread_name("main");
    tg_selfplay_params_t p;
    rc = tg_selfplay_params_from_config(cfg, &p, &err);
    free(cfg);
    if (rc) {
        fprintf(stderr, "tengen selfplay: %s\n", err.msg);
        return 2;
    }
    if (max_games >= 0) p.max_games = max_games;

    atomic_store(&cmd_selfplay_stop, false);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cmd_selfplay_on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    tg_selfplay_stats_t st;
    rc = tg_selfplay_run(&p, models, output, &cmd_selfplay_stop, &st, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc) {
        fprintf(stderr, "tengen selfplay: %s\n", err.msg);
        return 1;
    }
    printf("selfplay games=%lld moves=%lld rows=%lld files=%lld nets=%lld nn_evals=%lld "
           "mean_batch=%.2f seconds=%.2f stopped=%d\n",
           (long long)st.games, (long long)st.moves, (long long)st.rows, (long long)st.files,
           (long long)st.nets_loaded, (long long)st.nn_positions, st.nn_mean_fill, st.elapsed_s,
           atomic_load(&cmd_selfplay_stop) ? 1 : 0);
    return 0;
}
