/* cmd_run.c: `tengen run CONFIG`: the whole training loop in one process (src/runtime), with
 * pause by SIGINT/SIGTERM and exact resume by running the same command again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/runtime.h"
#include "util/log.h"

static void cmd_run_usage(FILE *out) {
    fprintf(out,
            "usage: tengen run CONFIG [--dir RUNDIR] [--dry-run] [--set section.key=value ...]\n"
            "                  [--max-cycles N] [--max-minutes M]\n"
            "  Runs selfplay, the replay window, training, export and (optionally) gating in\n"
            "  one process. SIGINT/SIGTERM pause (state saved, exit 0); a second signal exits\n"
            "  at once; SIGUSR1 prints a status line. The same command resumes exactly.\n"
            "  -d, --dir RUNDIR     run directory (default: run.dir of the config)\n"
            "  -n, --dry-run        validate the config and print the plan, run nothing\n"
            "  -s, --set K=V        override a config key (repeatable)\n"
            "      --max-cycles N   pause after N model switches in this invocation\n"
            "      --max-minutes M  pause after M minutes in this invocation\n"
            "  -h, --help           this help\n");
}

int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"dry-run", no_argument, 0, 'n'},
                                         {"set", required_argument, 0, 's'},
                                         {"max-cycles", required_argument, 0, 1},
                                         {"max-minutes", required_argument, 0, 2},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *sets[64];
    int nsets = 0;
    bool dry = false;
    tg_runtime_limits_t lim = {0, 0.0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "d:ns:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            dry = true;
            break;
        case 's':
            if (nsets == 64) {
                fprintf(stderr, "tengen run: too many --set options\n");
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case 1:
            lim.max_cycles = strtoll(optarg, &end, 10);
            if (end == optarg || *end || lim.max_cycles < 0) {
                fprintf(stderr, "tengen run: --max-cycles: not a count: %s\n", optarg);
                return 2;
            }
            break;
        case 2:
            lim.max_minutes = strtod(optarg, &end);
            if (end == optarg || *end || !(lim.max_minutes >= 0)) {
                fprintf(stderr, "tengen run: --max-minutes: not a number: %s\n", optarg);
                return 2;
            }
            break;
        case 'h':
            cmd_run_usage(stdout);
            return 0;
        default:
            cmd_run_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        cmd_run_usage(stderr);
        return 2;
    }
    tg_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg) return 1;
    tg_config_init_defaults(cfg);
    tg_err_t err;
    int rc = tg_config_load_file(cfg, argv[optind], &err);
    for (int i = 0; rc == 0 && i < nsets; i++)
        rc = tg_config_set(cfg, sets[i], &err);
    tg_runtime_plan_t plan;
    if (rc == 0) rc = tg_runtime_plan(cfg, dir, &plan, &err);
    if (rc) {
        fprintf(stderr, "tengen run: %s\n", err.msg);
        free(cfg);
        return 2;
    }
    tg_log_level_t level;
    if (tg_log_parse_level(cfg->log_level, &level) == 0) tg_log_set_level(level);
    tg_log_set_thread_name("loop");
    if (dry) {
        tg_runtime_print_plan(&plan, cfg, stdout);
        free(cfg);
        return 0;
    }
    tg_runtime_result_t res;
    rc = tg_runtime_run(cfg, dir, &lim, &res, &err);
    free(cfg);
    if (res.hard_exit) {
        /* Workers are still running; every file on disk is complete. Leave now. */
        fflush(NULL);
        _exit(130);
    }
    if (rc) {
        fprintf(stderr, "tengen run: %s\n", err.msg);
        return 1;
    }
    printf("run paused games=%lld rows=%lld steps=%lld exports=%lld cycles=%lld signal=%d\n",
           (long long)res.games, (long long)res.rows, (long long)res.steps, (long long)res.exports,
           (long long)res.cycles, res.paused_by_signal ? 1 : 0);
    return 0;
}
