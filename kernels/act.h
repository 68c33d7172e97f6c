/* act.h: activation kinds understood by the CUDA kernels.
 *
 * The values equal tg_act_kind_t's (src/nn/model.h); nn_cuda.c checks that at compile time,
 * so the kernels need no include path into src/. */
#ifndef TENGEN_KERNELS_ACT_H
#define TENGEN_KERNELS_ACT_H

#define TG_CUDA_ACT_IDENTITY 0
#define TG_CUDA_ACT_RELU     1
#define TG_CUDA_ACT_MISH     2
#define TG_CUDA_ACT_SILU     3

#endif
