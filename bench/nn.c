/* bench/nn.c: stand-alone bench_nn program; see src/bench/bench_nn.c for options and output. */
#include "bench/bench.h"
#include "util/cpu.h"

int main(int argc, char **argv) {
    tg_cpu_tune_blas_env(argv);
    return bench_nn_main(argc, argv);
}
