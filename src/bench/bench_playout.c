/* bench_playout.c: random-playout throughput of the rules engine (tg_game_t under Tromp-Taylor
 * rules, so every move also pays for the positional-superko ban update).
 *
 * A playout starts from the empty board and plays tg_game_random_move (uniform legal move
 * that does not fill an own simple eye, else pass) until the game ends or reaches
 * 3 * size^2 moves. Warm-up: 0.2 s. Correctness check before timing: the board of a fixed
 * playout must stay internally consistent at every move. Output, one line:
 *   bench=playout size=19 threads=1 playouts_per_s=... moves_per_s=... ns_per_move=... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"
#include "game/game.h"
#include "util/rng.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One playout from the empty board; returns the number of moves played, -1 on error. */
static long run_playout(tg_game_t *g, int size, const tg_rules_t *rules, tg_rng_t *rng,
                        bool check) {
    tg_game_init(g, size, rules);
    long n = 0;
    int limit = 3 * size * size;
    while (!g->game_over && n < limit) {
        tg_loc_t mv = tg_game_random_move(g, rng);
        if (tg_game_play_assume_legal(g, mv, g->to_move) != 0) return -1;
        n++;
        if (check && !tg_board_check_consistency(&g->board)) return -1;
    }
    return n;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: bench_playout [--board-size N] [--seconds S] [--seed X]\n"
            "  random legal playouts (Tromp-Taylor rules, no own-eye filling)\n"
            "  --board-size N  board size 2..%d (default 19)\n"
            "  --seconds S     timed duration (default 3)\n"
            "  --seed X        RNG seed (default 1)\n",
            TG_BOARD_MAX);
}

int bench_playout_main(int argc, char **argv) {
    static const struct option opts[] = {{"board-size", required_argument, NULL, 'n'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"seed", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int size = 19;
    double seconds = 3.0;
    unsigned long long seed = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'n':
            size = (int)strtol(optarg, &end, 10);
            if (*end || size < 2 || size > TG_BOARD_MAX) {
                fprintf(stderr, "bench playout: --board-size must be 2..%d\n", TG_BOARD_MAX);
                return 2;
            }
            break;
        case 's':
            seconds = strtod(optarg, &end);
            if (*end || !(seconds > 0)) {
                fprintf(stderr, "bench playout: --seconds must be > 0\n");
                return 2;
            }
            break;
        case 'r':
            seed = strtoull(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "bench playout: --seed must be an integer\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }

    tg_game_t *g = malloc(sizeof(*g)); /* ~90 KB: keep it off the stack */
    if (!g) {
        fprintf(stderr, "bench playout: out of memory\n");
        return 1;
    }
    tg_rules_t rules = tg_rules_default();
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 0);

    if (run_playout(g, size, &rules, &rng, true) < 0) {
        fprintf(stderr, "bench playout: board consistency check failed\n");
        free(g);
        return 1;
    }
    double t0 = now_s();
    while (now_s() - t0 < 0.2)
        run_playout(g, size, &rules, &rng, false);

    long playouts = 0, moves = 0;
    t0 = now_s();
    double t;
    do {
        long n = run_playout(g, size, &rules, &rng, false);
        if (n < 0) {
            fprintf(stderr, "bench playout: move list overflow\n");
            free(g);
            return 1;
        }
        moves += n;
        playouts++;
        t = now_s() - t0;
    } while (t < seconds);
    printf("bench=playout size=%d threads=1 playouts_per_s=%.1f moves_per_s=%.3g "
           "ns_per_move=%.0f moves_per_playout=%.1f\n",
           size, (double)playouts / t, (double)moves / t, 1e9 * t / (double)moves,
           (double)moves / (double)playouts);
    free(g);
    return 0;
}
