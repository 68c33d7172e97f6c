/* cmd_bench.c: `tengen bench <name>`: runs one of the benchmarks of src/bench/. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli/cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: tengen bench <name> [--options]   (tengen bench <name> --help)\n"
                 "  playout   random legal playouts per second (Go rules speed)\n"
                 "  nn        net evaluations per second (--model PATH --board-size N --batch B "
                 "--threads T)\n"
                 "  search    MCTS playouts per second with a fake evaluator (search overhead)\n"
                 "  train     training samples per second (--model-kind K --batch B --threads T)\n"
                 "  selfplay  selfplay games/s, rows/s, nn evals/s and batch fill (9x9)\n"
                 "Each prints one key=value line per figure.\n");
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "playout")) return bench_playout_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "nn")) return bench_nn_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "search")) return bench_search_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return bench_train_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "selfplay")) return bench_selfplay_main(argc - 1, argv + 1);
    fprintf(stderr, "tengen bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
