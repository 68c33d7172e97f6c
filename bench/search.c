/* bench/search.c: stand-alone bench_search program; see src/bench/bench_search.c. */
#include "bench/bench.h"

int main(int argc, char **argv) { return bench_search_main(argc, argv); }
