/* main.c: the `tengen` program: dispatches `tengen <subcommand> [--options]`.
 *
 * Every stage of the training loop is a subcommand of this one binary; each subcommand parses
 * its own GNU-style long options and answers --help (see cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cpu.h"

typedef struct subcommand_s {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"run", cmd_run,
     "the whole loop (selfplay, train, export, gate) from one config; pause/resume"},
    {"status", cmd_status, "summarise a run directory, running or not"},
    {"plot", cmd_plot, "SVG charts of a run directory: strength, loss, throughput"},
    {"gtp", cmd_gtp,
     "play Go over GTP (MCTS with a KataGo net via --model, else random legal play)"},
    {"match", cmd_match,
     "games between two players (GTP programs or in-process nets): SGFs, win rate, Elo"},
    {"config", cmd_config, "check a config file and print the effective config with docs"},
    {"selfplay", cmd_selfplay, "selfplay games with MCTS: KataGo .npz training rows and SGFs"},
    {"train", cmd_train, "train a net on KataGo .npz data, with resumable checkpoints"},
    {"export", cmd_export, "export a trainer checkpoint as a KataGo model (version 15)"},
    {"bench", cmd_bench, "benchmarks: playout, nn, search, selfplay, train"},
};

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: tengen <subcommand> [--options]   (tengen <subcommand> --help for details)\n"
            "       tengen --version | --help\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv) {
    tg_cpu_tune_blas_env(argv);
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("tengen %s\n", TENGEN_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tengen: unknown subcommand '%s'\n", argv[1]);
    print_usage(stderr);
    return 2;
}
