/* cpu.h: process start-up tuning for the CPU math library.
 *
 * Debian's OpenBLAS (0.3.21) picks its kernels once, when the library is loaded, from the CPU
 * model number. It does not know recent Xeons (e.g. family 6 model 207) and falls back to its
 * SSE3 "Prescott" kernels, 3-4x slower than its AVX-512 ones on the same chip. The only knob is
 * the OPENBLAS_CORETYPE environment variable, read at load time, so a program that wants the
 * right kernels must set it and re-execute itself before any BLAS call. */
#ifndef TENGEN_UTIL_CPU_H
#define TENGEN_UTIL_CPU_H

/* The OpenBLAS core type this CPU's instruction set supports ("SkylakeX" with AVX-512
 * F/BW/DQ/VL, "Haswell" with AVX2+FMA), or NULL when there is nothing better to ask for. */
const char *tg_cpu_blas_coretype(void);

/* Call first in main(). If OpenBLAS is linked, OPENBLAS_CORETYPE is unset and the CPU supports
 * a better core type, sets it and re-executes /proc/self/exe with the same argv (once: the
 * variable then guards against a loop). A value already in the environment is respected.
 * Returns only when no re-exec happened (or it failed, which is harmless: slower kernels). */
void tg_cpu_tune_blas_env(char **argv);

#endif
