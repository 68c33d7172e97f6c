/* bench/selfplay.c: stand-alone bench_selfplay program; see src/bench/bench_selfplay.c for
 * options and output. */
#include "bench/bench.h"
#include "util/cpu.h"

int main(int argc, char **argv) {
    tg_cpu_tune_blas_env(argv);
    return bench_selfplay_main(argc, argv);
}
