/* bench_search.c: MCTS playouts per second with a free fake evaluator (uniform policy over the
 * legal moves, value from the position hash), so the figure is the search's own cost: root
 * copy, selection, move playing, expansion (legality of every point), backup.
 *
 * Usage: bench_search [--size N] [--visits V] [--searches K] [--threads T]
 * Prints: bench=search size=9 threads=1 visits=800 searches=20 playouts_per_s=... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"
#include "search/search.h"

int bench_search_main(int argc, char **argv);

/* Uniform legal policy; white win rate from the board hash (deterministic, no allocation). */
static int bench__fake_evaluate(void *ctx, int n, const tg_game_t *const *games,
                                const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    (void)ctx;
    (void)symmetries;
    (void)err;
    for (int i = 0; i < n; i++) {
        const tg_game_t *g = games[i];
        tg_nn_output_t *o = &outs[i];
        int size = g->board.size, legal = 1;
        o->board_size = size;
        for (int p = 0; p < size * size; p++) {
            tg_loc_t loc = tg_loc(p % size, p / size);
            o->policy[p] = g->board.color[loc] == TG_EMPTY ? 1.0f : -1.0f;
            legal += o->policy[p] > 0.0f;
        }
        for (int p = 0; p < size * size; p++)
            if (o->policy[p] > 0.0f) o->policy[p] = 1.0f / (float)legal;
        o->policy_pass = 1.0f / (float)legal;
        double ww = 0.2 + 0.6 * (double)((g->board.hash.lo >> 13) % 1000) / 1000.0;
        o->white_win = (float)ww;
        o->white_loss = (float)(1.0 - ww);
        o->no_result = 0.0f;
        o->white_score_mean = (float)(20.0 * (ww - 0.5));
        o->white_score_mean_sq = o->white_score_mean * o->white_score_mean + 4.0f;
        o->white_lead = o->white_score_mean;
    }
    return 0;
}

static double bench__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bench_search_main(int argc, char **argv) {
    int size = 9, visits = 800, searches = 20, threads = 1;
    static const struct option opts[] = {
        {"size", required_argument, NULL, 's'},     {"visits", required_argument, NULL, 'v'},
        {"searches", required_argument, NULL, 'k'}, {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            size = atoi(optarg);
            break;
        case 'v':
            visits = atoi(optarg);
            break;
        case 'k':
            searches = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'h':
            printf("usage: %s [--size N] [--visits V] [--searches K] [--threads T]\n", argv[0]);
            return 0;
        default:
            return 2;
        }
    }
    if (size < 2 || size > TG_BOARD_MAX || visits < 1 || searches < 1 || threads < 1) {
        fprintf(stderr, "bench search: bad arguments\n");
        return 2;
    }
    tg_search_params_t p = tg_search_params_selfplay();
    p.max_visits = visits;
    p.num_threads = threads;
    p.seed = 1;
    tg_search_evaluator_t ev = {bench__fake_evaluate, NULL};
    tg_search_t *s;
    tg_err_t err;
    if (tg_search_create(&p, &ev, &s, &err)) {
        fprintf(stderr, "bench search: %s\n", err.msg);
        return 1;
    }
    tg_rules_t rules = tg_rules_default();
    tg_game_t *g = malloc(sizeof(*g));
    if (!g) {
        tg_search_destroy(s);
        return 1;
    }
    tg_game_init(g, size, &rules);
    int rc = 0;
    int64_t playouts = 0;
    double t_total = 0.0;
    for (int k = 0; k <= searches && !rc; k++) { /* k = 0 is the warm-up */
        if (tg_search_set_position(s, g, &err)) break;
        double t0 = bench__now();
        rc = tg_search_run(s, &err);
        double dt = bench__now() - t0;
        tg_search_stats_t st;
        tg_search_get_stats(s, &st);
        if (!rc && st.root_visits != visits) { /* correctness check before timing counts */
            fprintf(stderr, "bench search: root visits %lld != %d\n", (long long)st.root_visits,
                    visits);
            rc = 1;
        }
        if (k > 0) {
            playouts += st.playouts;
            t_total += dt;
        }
        tg_loc_t mv;
        tg_rng_t rng;
        tg_rng_seed(&rng, 1, (uint64_t)k);
        if (!rc && !tg_search_choose_move(s, 0.0, false, &rng, &mv) && !g->game_over)
            tg_game_play(g, mv, g->to_move, NULL);
        if (g->game_over) tg_game_init(g, size, &rules);
    }
    if (!rc)
        printf("bench=search size=%d threads=%d visits=%d searches=%d playouts=%lld "
               "seconds=%.3f playouts_per_s=%.0f\n",
               size, threads, visits, searches, (long long)playouts, t_total,
               (double)playouts / t_total);
    else
        fprintf(stderr, "bench search: %s\n", err.msg);
    free(g);
    tg_search_destroy(s);
    return rc ? 1 : 0;
}
