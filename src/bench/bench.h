/* bench.h: benchmarks shared by `tengen bench <name>` and the bench/ programs.
 * Each prints one machine-readable `key=value ...` line per figure to stdout and returns a
 * process exit code (0 ok, 1 error, 2 usage). argv[0] is the benchmark name. */
#ifndef TENGEN_BENCH_BENCH_H
#define TENGEN_BENCH_BENCH_H

int bench_playout_main(int argc, char **argv);  /* bench_playout.c: random legal playouts/s */
int bench_nn_main(int argc, char **argv);       /* bench_nn.c: net evaluations/s */
int bench_search_main(int argc, char **argv);   /* bench_search.c: MCTS playouts/s (fake net) */
int bench_train_main(int argc, char **argv);    /* bench_train.c: training samples/s */
int bench_selfplay_main(int argc, char **argv); /* bench_selfplay.c: selfplay games/rows/s */

#endif
