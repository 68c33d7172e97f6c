/* bench_selfplay.c: self-play throughput (`tengen bench selfplay`, bench_selfplay): a short 9x9
 * run with the uniform random evaluator, then with the b6c96 fixture net, into temp dirs.
 *
 * Each run plays --games games with --threads game threads sharing one batching service and
 * checks that every game finished and rows were written, then prints one line per evaluator:
 *   bench=selfplay evaluator=uniform|net size=9 threads=4 evaluators=1 nn_threads=1 visits=32
 *   cheap=8 games=4 games_per_s=... rows_per_s=... moves_per_s=... nn_evals_per_s=...
 *   mean_batch=... cache_hit_rate=... seconds=...
 * Net: --model PATH, else $TENGEN_FIXTURES/<fixture> or ../shared/fixtures/<fixture>. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "selfplay/selfplay.h"
#include "util/log.h"

#define BENCH_SP_FIXTURE "g170-b6c96-s175395328-d26788732.bin.gz"

static void bench_selfplay_usage(FILE *f) {
    fprintf(f, "usage: bench selfplay [--model PATH] [--games N] [--threads T] [--visits V]\n"
               "                      [--cheap V] [--nn-threads T] [--evaluators E] [--no-net]\n"
               "                      [--help]\n"
               "  9x9 self-play throughput, uniform evaluator then the net (defaults: fixture\n"
               "  b6c96, 4 games, 4 game threads, 32 full / 8 cheap visits, 1 evaluator thread\n"
               "  with 1 nn thread; --evaluators 2 runs two batches at once, one per core).\n");
}

static int bench_selfplay_one(const char *label, const char *model, int games, int threads,
                              int visits, int cheap, int nn_threads, int evaluators) {
    char out[256], models[256];
    snprintf(out, sizeof(out), "/tmp/tengen_bench_sp_XXXXXX");
    snprintf(models, sizeof(models), "/tmp/tengen_bench_models_XXXXXX");
    if (!mkdtemp(out) || !mkdtemp(models)) {
        fprintf(stderr, "bench selfplay: cannot make temp dirs\n");
        return 1;
    }
    char link[400];
    if (model) {
        snprintf(link, sizeof(link), "%s/model.bin.gz", models);
        char *abs = realpath(model, NULL);
        if (!abs || symlink(abs, link) != 0) {
            fprintf(stderr, "bench selfplay: cannot use model %s\n", model);
            free(abs);
            return 1;
        }
        free(abs);
    }
    tg_selfplay_params_t p = tg_selfplay_params_default();
    p.num_game_threads = threads;
    p.max_games = games;
    p.seed = 4242;
    p.max_visits = visits;
    p.search.max_visits = visits;
    p.cheap_visits = cheap;
    p.reduced_visits_min = cheap;
    p.nn_threads = nn_threads;
    p.service.num_threads = evaluators;
    p.max_moves_per_game = 400;
    tg_selfplay_stats_t st;
    tg_err_t err;
    int rc = tg_selfplay_run(&p, models, out, NULL, &st, &err);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", out, models);
    if (system(cmd) != 0) fprintf(stderr, "bench selfplay: could not remove temp dirs\n");
    if (rc) {
        fprintf(stderr, "bench selfplay: %s\n", err.msg);
        return 1;
    }
    if (st.games != games || st.rows <= 0) {
        fprintf(stderr, "bench selfplay: %lld games (want %d), %lld rows\n", (long long)st.games,
                games, (long long)st.rows);
        return 1;
    }
    double t = st.elapsed_s > 0 ? st.elapsed_s : 1e-9;
    double hit = st.nn_cache_lookups > 0 ? (double)st.nn_cache_hits / st.nn_cache_lookups : 0.0;
    printf("bench=selfplay evaluator=%s size=9 threads=%d evaluators=%d nn_threads=%d visits=%d "
           "cheap=%d games=%lld games_per_s=%.3g rows_per_s=%.3g moves_per_s=%.3g "
           "nn_evals_per_s=%.3g mean_batch=%.2f cache_hit_rate=%.3f seconds=%.2f\n",
           label, threads, evaluators, nn_threads, visits, cheap, (long long)st.games, st.games / t,
           st.rows / t, st.moves / t, st.nn_positions / t, st.nn_mean_fill, hit, st.elapsed_s);
    fflush(stdout);
    return 0;
}

int bench_selfplay_main(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"games", required_argument, 0, 'g'},
                                         {"threads", required_argument, 0, 't'},
                                         {"visits", required_argument, 0, 'v'},
                                         {"cheap", required_argument, 0, 'c'},
                                         {"nn-threads", required_argument, 0, 'n'},
                                         {"evaluators", required_argument, 0, 'e'},
                                         {"no-net", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL;
    int games = 4, threads = 4, visits = 32, cheap = 8, nn_threads = 1, evaluators = 1;
    int no_net = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:g:t:v:c:n:e:Nh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'g':
            games = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'v':
            visits = atoi(optarg);
            break;
        case 'c':
            cheap = atoi(optarg);
            break;
        case 'n':
            nn_threads = atoi(optarg);
            break;
        case 'e':
            evaluators = atoi(optarg);
            break;
        case 'N':
            no_net = 1;
            break;
        case 'h':
            bench_selfplay_usage(stdout);
            return 0;
        default:
            bench_selfplay_usage(stderr);
            return 2;
        }
    }
    if (games < 1 || threads < 1 || visits < 1 || cheap < 1 || nn_threads < 0 || evaluators < 1 ||
        evaluators > 16) {
        bench_selfplay_usage(stderr);
        return 2;
    }
    tg_log_set_level(TG_LOG_WARN);
    char fixture[1024];
    if (!model) {
        const char *dir = getenv("TENGEN_FIXTURES");
        snprintf(fixture, sizeof(fixture), "%s/%s", dir ? dir : "../shared/fixtures",
                 BENCH_SP_FIXTURE);
        model = fixture;
    }
    int rc =
        bench_selfplay_one("uniform", NULL, games, threads, visits, cheap, nn_threads, evaluators);
    if (rc || no_net) return rc;
    if (access(model, R_OK) != 0) {
        fprintf(stderr, "bench selfplay: no net at %s (use --model or --no-net)\n", model);
        return 1;
    }
    return bench_selfplay_one("net", model, games, threads, visits, cheap, nn_threads, evaluators);
}
