/* bench_nn.c: net evaluations per second of a backend (`tengen bench nn`, bench_nn).
 *
 * Loads a model, builds a batch of random but plausible positions (board N x N in an N x N
 * tensor), checks once that the outputs are finite and that the batch agrees with a single
 * evaluation of its first position, warms up, then times whole forward calls for --seconds.
 * Prints one line:
 *   bench=nn size=19 batch=8 threads=2 gemm=openblas nn_evals_per_s=... ms_per_batch=...
 *   gflops=... macs_per_eval=...
 * (gflops = 2 * MACs per evaluation * evaluations per second). --gemm portable selects the
 * portable C GEMM instead of OpenBLAS, to compare the two. --backend cuda|cuda-fp16 times the
 * CUDA backend instead (forward() returns after its stream synchronizes, so wall time is
 * honest); the line then also says backend=... and a bench=nn_device line names the GPU. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "nn/nn.h"
#include "nn/nn_cuda.h"
#include "nn/ops_cpu.h"
#include "util/rng.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f, "usage: bench nn --model PATH [--board-size N] [--batch B] [--threads T]\n"
               "                [--seconds S] [--gemm openblas|portable]\n"
               "                [--backend cpu|cuda|cuda-fp16] [--help]\n"
               "  Times a backend's forward pass (defaults: 19, 8, 1, 3 s, openblas, cpu).\n");
}

static void fill_inputs(tg_rng_t *rng, int n, int len, int cin, int cg, float *sp, float *gl) {
    size_t hw = (size_t)len * len;
    memset(sp, 0, sizeof(float) * (size_t)n * cin * hw);
    for (int s = 0; s < n; s++) {
        float *x = sp + (size_t)s * cin * hw;
        for (size_t p = 0; p < hw; p++) {
            x[p] = 1.0f;
            uint32_t st = tg_rng_below(rng, 3);
            if (st && cin > 2) x[st * hw + p] = 1.0f;
        }
        for (int i = 0; i < cg; i++)
            gl[(size_t)s * cg + i] = (float)(tg_rng_uniform(rng) - 0.5);
    }
}

int bench_nn_main(int argc, char **argv) {
    const char *model_path = NULL, *gemm = "openblas", *backend = "cpu";
    int size = 19, batch = 8, threads = 1;
    double seconds = 3.0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"board-size", required_argument, 0, 's'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'},
                                         {"seconds", required_argument, 0, 'S'},
                                         {"gemm", required_argument, 0, 'g'},
                                         {"backend", required_argument, 0, 'B'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 's':
            size = atoi(optarg);
            break;
        case 'b':
            batch = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'S':
            seconds = atof(optarg);
            break;
        case 'g':
            gemm = optarg;
            break;
        case 'B':
            backend = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || size < 1 || size > TG_NN_MAX_LEN || batch < 1 || threads < 1 ||
        !(seconds > 0) || (strcmp(gemm, "openblas") && strcmp(gemm, "portable")) ||
        (strcmp(backend, "cpu") && strcmp(backend, "cuda") && strcmp(backend, "cuda-fp16"))) {
        usage(stderr);
        return 2;
    }
    nn__sgemm_use_blas(strcmp(gemm, "openblas") == 0);

    tg_err_t err;
    tg_model_t *m = NULL;
    if (tg_model_load(model_path, &m, &err) < 0) {
        fprintf(stderr, "bench nn: %s\n", err.msg);
        return 1;
    }
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    if (strcmp(backend, "cpu") != 0) {
        char why[256];
        if (tg_nn_cuda_device_count(why, sizeof why) <= 0) {
            fprintf(stderr, "bench nn: --backend %s: %s\n", backend, why);
            tg_model_free(m);
            return 1;
        }
        tg_nn_cuda_options_t o;
        tg_nn_cuda_options_default(&o);
        char dev[256];
        tg_nn_cuda_device_describe(o.device, dev, sizeof dev);
        printf("bench=nn_device backend=%s graphs=%d conv_algo=%s device=\"%s\"\n", backend,
               o.use_graphs, o.conv_find ? "find" : "heuristic", dev);
        be = strcmp(backend, "cuda") == 0 ? tg_nn_backend_cuda() : tg_nn_backend_cuda_fp16();
    }
    void *ctx = NULL;
    tg_nn_raw_t raw = {0}, raw1 = {0};
    int cin = tg_model_num_spatial_inputs(m), cg = tg_model_num_global_inputs(m);
    size_t hw = (size_t)size * size;
    float *sp = malloc(sizeof(float) * (size_t)batch * cin * hw);
    float *gl = malloc(sizeof(float) * (size_t)batch * cg);
    int rc = 1;
    if (!sp || !gl || be->create(m, batch, threads, &ctx, &err) < 0 ||
        tg_nn_raw_alloc(&raw, m, batch, &err) < 0 || tg_nn_raw_alloc(&raw1, m, 1, &err) < 0) {
        fprintf(stderr, "bench nn: %s\n", (sp && gl) ? err.msg : "out of memory");
        goto done;
    }
    tg_rng_t rng;
    tg_rng_seed(&rng, 12345, 0);
    fill_inputs(&rng, batch, size, cin, cg, sp, gl);

    /* Correctness check before timing: finite outputs, batch == single on position 0. */
    if (be->forward(ctx, batch, size, sp, gl, &raw, &err) < 0 ||
        be->forward(ctx, 1, size, sp, gl, &raw1, &err) < 0) {
        fprintf(stderr, "bench nn: %s\n", err.msg);
        goto done;
    }
    /* fp16 rounds activations to 11 bits; batch and single may also pick other algorithms. */
    const float tol = strcmp(backend, "cuda-fp16") == 0 ? 3e-2f : 1e-3f;
    for (int i = 0; i < 3; i++) {
        if (!isfinite(raw.value[i]) ||
            fabsf(raw.value[i] - raw1.value[i]) > tol * (1 + fabsf(raw1.value[i]))) {
            fprintf(stderr, "bench nn: batch and single outputs disagree (%g vs %g)\n",
                    (double)raw.value[i], (double)raw1.value[i]);
            goto done;
        }
    }
    /* Warm up, then time. */
    double t0 = now_s();
    while (now_s() - t0 < 0.3)
        be->forward(ctx, batch, size, sp, gl, &raw, &err);
    long iters = 0;
    t0 = now_s();
    double t1;
    do {
        be->forward(ctx, batch, size, sp, gl, &raw, &err);
        iters++;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double per_batch = (t1 - t0) / (double)iters;
    double evals = (double)batch / per_batch;
    double macs = tg_model_macs(m, size);
    printf("bench=nn backend=%s size=%d batch=%d threads=%d gemm=%s nn_evals_per_s=%.1f "
           "ms_per_batch=%.3f gflops=%.1f macs_per_eval=%.4g\n",
           backend, size, batch, threads, gemm, evals, per_batch * 1e3, 2.0 * macs * evals * 1e-9,
           macs);
    rc = 0;
done:
    be->destroy(ctx);
    tg_nn_raw_free(&raw);
    tg_nn_raw_free(&raw1);
    free(sp);
    free(gl);
    tg_model_free(m);
    return rc;
}
