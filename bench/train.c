/* bench/train.c: stand-alone bench_train program; see src/bench/bench_train.c. */
#include "bench/bench.h"
#include "util/cpu.h"

int main(int argc, char **argv) {
    tg_cpu_tune_blas_env(argv);
    return bench_train_main(argc, argv);
}
