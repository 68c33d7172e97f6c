/* cpu.c: see cpu.h. */
#include "util/cpu.h"

#include <stdlib.h>
#include <unistd.h>

const char *tg_cpu_blas_coretype(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void tg_cpu_tune_blas_env(char **argv) {
#ifdef TENGEN_HAVE_OPENBLAS
    if (getenv("OPENBLAS_CORETYPE") || getenv("TENGEN_NO_REEXEC")) return;
    const char *core = tg_cpu_blas_coretype();
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with whatever kernels OpenBLAS picked. */
#else
    (void)argv;
#endif
}
