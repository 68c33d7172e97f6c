/* nn_cuda.h: the CUDA backend of nn.h (cuDNN convolutions, cuBLAS matmuls, kernels/) and the
 * by-name backend choice ("auto" | "cpu" | "cuda" | "cuda-fp16").
 *
 * Overview. tg_nn_backend_cuda() and tg_nn_backend_cuda_fp16() plug into tg_nn_backend_t
 * exactly like tg_nn_backend_cpu(): same inputs, same raw output layout. A context owns one
 * CUDA stream, one cuDNN and one cuBLAS handle, every device buffer (sized once for max_batch
 * positions at L = 19), pinned host staging buffers, the uploaded weights, a cache of cuDNN
 * algorithms per (conv shape, batch, L) and optionally one CUDA graph per (batch, L). For
 * several evaluator threads per GPU, create several contexts: each has its own stream.
 *
 * Precision. fp32: fp32 storage and math, TF32 disabled (cuDNN FMA math), so results match
 * the CPU backend to ~1e-5. fp16: activations and conv weights stored in fp16, tensor-core
 * convolutions with fp32 accumulation; batch norm, pooling, the heads' matmuls and all outputs
 * stay fp32. fp16 outputs differ from fp32 by ~1e-2 (tests document the bound used).
 *
 * Options from the environment (read by tg_nn_cuda_options_default; create() uses them):
 *   TENGEN_CUDA_DEVICE=N          device ordinal (default 0)
 *   TENGEN_CUDA_GRAPHS=0|1        capture/replay one CUDA graph per (batch, L) (default 0)
 *   TENGEN_CUDA_CONV_ALGO=find|heuristic   time every cuDNN algorithm once per (shape, batch,
 *                                 L) (default), or take cuDNN's heuristic first choice
 *   TENGEN_CUDA_WORKSPACE_MB=N    cuDNN workspace cap (default 256)
 *
 * Without CUDA support compiled in (TENGEN_CUDA=OFF, no nvcc/cuDNN) every function here still
 * exists: the device count is 0, creating a CUDA context fails with TG_EUNSUPPORTED
 * "CUDA backend not built", and tg_nn_backend_select("auto") gives the CPU backend.
 *
 * Threads: as nn.h. tg_nn_backend_select and tg_nn_cuda_device_count are thread-safe. */
#ifndef TENGEN_NN_NN_CUDA_H
#define TENGEN_NN_NN_CUDA_H

#include <stddef.h>

#include "nn/nn.h"

typedef struct tg_nn_cuda_options_s {
    int device;             /* CUDA device ordinal */
    int fp16;               /* 0: fp32; 1: fp16 storage + tensor cores, fp32 accumulation */
    int use_graphs;         /* 1: one CUDA graph per (batch, L), captured on first use */
    int conv_find;          /* 1: benchmark cuDNN algorithms (cudnnFind); 0: heuristics */
    size_t workspace_bytes; /* cuDNN workspace; algorithms needing more are skipped */
} tg_nn_cuda_options_t;

/* Defaults (device 0, fp32, no graphs, find, 256 MiB) overridden by the environment (above). */
void tg_nn_cuda_options_default(tg_nn_cuda_options_t *o);

/* 1 when the CUDA backend was compiled in. */
int tg_nn_cuda_built(void);

/* Number of usable CUDA devices (0 when none, when the driver is missing or too old, or when
 * the backend is not built). When it returns 0 and why != NULL, why gets the reason. */
int tg_nn_cuda_device_count(char *why, size_t why_cap);

/* One line naming device `device` ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB, driver 13.0"), or
 * the reason there is none. */
void tg_nn_cuda_device_describe(int device, char *buf, size_t cap);

/* The CUDA backends (fp32 and fp16); both use tg_nn_cuda_options_default() for the rest.
 * Never NULL: without CUDA support their create() fails with TG_EUNSUPPORTED. */
const tg_nn_backend_t *tg_nn_backend_cuda(void);
const tg_nn_backend_t *tg_nn_backend_cuda_fp16(void);

/* Creates a CUDA context for model with explicit options (the backends' create() calls this).
 * Returns 0, TG_EINVAL (max_batch out of [1, 4096]), TG_EUNSUPPORTED (not built, no device,
 * or a model feature the backend lacks), TG_ENOMEM (device or pinned memory), or
 * TG_EINTERNAL (a CUDA/cuDNN/cuBLAS error, named in err). Destroy with the backend's
 * destroy(). Slow: uploads weights, allocates everything. */
int tg_nn_cuda_create(const tg_model_t *model, int max_batch, const tg_nn_cuda_options_t *o,
                      void **ctx, tg_err_t *err);

/* Picks a backend by name: "cpu"; "cuda" (fp32) or "cuda-fp16"; "auto" (or NULL / "") = the
 * CUDA fp32 backend when a device is usable, else the CPU one. When CUDA was asked for (auto
 * or explicitly) but no device is usable, logs that once per process and gives the CPU
 * backend. Returns 0, TG_EUNSUPPORTED ("cuda"/"cuda-fp16" in a build without CUDA: "CUDA
 * backend not built") or TG_EINVAL (unknown name), with err filled. */
int tg_nn_backend_select(const char *name, const tg_nn_backend_t **out, tg_err_t *err);

#endif
