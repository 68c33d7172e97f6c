/* bench/playout.c: stand-alone bench_playout program; see src/bench/bench_playout.c. */
#include "bench/bench.h"

int main(int argc, char **argv) { return bench_playout_main(argc, argv); }
