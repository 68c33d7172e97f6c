/* bench_train.c: training throughput (forward + backward + SGD) of the CPU or CUDA trainer.
 *
 *   bench_train --model-kind b6c96 --batch 64 --threads 2 [--seconds 10] [--data F.npz]
 *               [--backend cpu|cuda] [--precision fp32|fp16|bf16] [--tf32]
 *   -> bench=train backend=cpu model=b6c96 params=... size=19 batch=64 threads=2 steps=...
 *      train_samples_per_s=... ms_per_step=... gflops=...
 *
 * The CUDA trainer's steps include the host's batch gathering and upload (double-buffered) and
 * the per-step sync for the stats, as in training; --precision picks its storage type. threads
 * is reported as 0 for cuda.
 * Rows come from --data (a KataGo .npz) or are synthetic 19x19 positions (random stones, valid
 * targets). One warm-up step, then steps until --seconds pass. The loss of every step must be
 * finite (the correctness check); gflops counts 3x the forward MACs x 2 of the trunk convs
 * (napkin math: forward + two backward GEMMs). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "train/train.h"
#include "train/train_cuda.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int synth_rows(trainrows_t *tr, int n, tg_err_t *err) {
    int rc = trainrows_init(tr, 19, n, err);
    if (rc) return rc;
    tg_rng_t rng;
    tg_rng_seed(&rng, 1234, 1);
    float *planes = malloc(sizeof(float) * 22 * 361), glob[19] = {0};
    if (!planes) return TG_ENOMEM;
    for (int i = 0; i < n; i++) {
        int row = trainrows_append(tr);
        memset(planes, 0, sizeof(float) * 22 * 361);
        for (int p = 0; p < 361; p++) {
            planes[p] = 1.0f;
            double u = tg_rng_uniform(&rng);
            if (u < 0.2)
                planes[361 + p] = 1.0f;
            else if (u < 0.4)
                planes[2 * 361 + p] = 1.0f;
        }
        glob[5] = -0.375f;
        trainrows_set_inputs(tr, row, planes, glob);
        int16_t *pol = trainrows_policy_row(tr, row);
        for (int k = 0; k < 20; k++)
            pol[tg_rng_below(&rng, 361)] += 50;
        trainrows_set_policy_missing(tr, row, 1);
        float *gt = trainrows_global_targets_row(tr, row);
        gt[0] = 1.0f;
        gt[4] = gt[8] = gt[12] = 1.0f;
        gt[TRAINROWS_GT_ROW_WEIGHT] = gt[TRAINROWS_GT_POLICY0_WEIGHT] = 1.0f;
        gt[TRAINROWS_GT_OWNERSHIP_WEIGHT] = 1.0f;
        gt[3] = (float)(tg_rng_normal(&rng) * 10);
        trainrows_set_score_distr(tr, row, gt[3]);
    }
    free(planes);
    return 0;
}

int bench_train_main(int argc, char **argv) {
    const char *kind = "b6c96", *data = NULL, *backend = "cpu", *precision = "fp32";
    int tf32 = 0;
    int batch = 64, threads = 1;
    double seconds = 5.0;
    static const struct option opts[] = {{"model-kind", required_argument, 0, 'm'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"data", required_argument, 0, 'd'},
                                         {"backend", required_argument, 0, 'B'},
                                         {"precision", required_argument, 0, 'P'},
                                         {"tf32", no_argument, 0, 'T'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            kind = optarg;
            break;
        case 'b':
            batch = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'd':
            data = optarg;
            break;
        case 'B':
            backend = optarg;
            break;
        case 'P':
            precision = optarg;
            break;
        case 'T':
            tf32 = 1;
            break;
        case 'h':
            printf("usage: bench_train [--model-kind K] [--batch B] [--threads T] [--seconds S]"
                   " [--data F.npz]\n                   [--backend cpu|cuda] [--precision "
                   "fp32|fp16|bf16] [--tf32]\n  Times training steps (defaults: b6c96, 64, 1, "
                   "5 s, cpu, fp32).\n");
            return 0;
        default:
            return 2;
        }
    }
    train_config_t cfg;
    const int cuda = strcmp(backend, "cuda") == 0;
    train_cuda_options_t co;
    train_cuda_options_default(&co);
    co.tf32 = tf32;
    if (train_config_by_name(kind, &cfg) || batch < 1 || threads < 1 || !(seconds > 0) ||
        (!cuda && strcmp(backend, "cpu") != 0) ||
        train_cuda_precision_parse(precision, &co.precision) != 0) {
        fprintf(stderr, "bench_train: bad arguments (model kind %s, backend %s, precision %s)\n",
                kind, backend, precision);
        return 2;
    }
    tg_err_t err = {0};
    trainrows_t tr;
    memset(&tr, 0, sizeof(tr));
    int rc = data ? trainrows_load_npz(&tr, data, &err) : synth_rows(&tr, 256, &err);
    if (rc) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    train_options_t o;
    train_options_default(&o, &cfg);
    o.pos_len = tr.pos_len;
    o.batch = batch;
    o.threads = threads;
    trainer_t *t = NULL;
    trainer_cuda_t *tc = NULL;
    if (cuda ? trainer_cuda_create(&tc, &o, &co, &err) : trainer_create(&t, &o, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        trainrows_free(&tr);
        return 1;
    }
    const trainrows_t *ds[1] = {&tr};
    train_stats_t st;
#define BENCH_STEP()                                                                               \
    ((cuda ? trainer_cuda_step(tc, ds, 1, &st, &err) : trainer_step(t, ds, 1, &st, &err)) == 0 &&  \
     isfinite(st.loss_total))
    int ok = BENCH_STEP() && (!cuda || BENCH_STEP()); /* warm-up (cuDNN plans, prefetch) */
    double t0 = now_s(), el = 0;
    int steps = 0;
    while (ok && el < seconds) {
        ok = BENCH_STEP();
        steps++;
        el = now_s() - t0;
    }
#undef BENCH_STEP
    if (!ok) {
        fprintf(stderr, "bench_train: step failed or loss not finite%s%s\n", err.msg[0] ? ": " : "",
                err.msg);
        trainer_destroy(t);
        trainer_cuda_destroy(tc);
        trainrows_free(&tr);
        return 1;
    }
    /* Trunk MACs per sample: first conv + 2 convs per block. */
    const train_model_t *m = cuda ? trainer_cuda_model(tc) : trainer_model(t);
    const double hw = (double)tr.pos_len * tr.pos_len;
    double macs = hw * cfg.initial_kernel * cfg.initial_kernel * 22 * cfg.c_trunk;
    for (int b = 0; b < cfg.num_blocks; b++) {
        int r = m->blocks[b].c_reg + (m->blocks[b].gpool ? cfg.c_gpool : 0);
        macs += 2 * hw * 9 * cfg.c_trunk * r;
    }
    const double sps = steps * batch / el;
    printf("bench=train backend=%s precision=%s model=%s params=%zu size=%d batch=%d threads=%d "
           "steps=%d train_samples_per_s=%.1f ms_per_step=%.2f trunk_gflops=%.2f loss=%.4f\n",
           cuda ? "cuda" : "cpu", cuda ? train_cuda_precision_name(co.precision) : "fp32", kind,
           m->num_params, tr.pos_len, batch, cuda ? 0 : threads, steps, sps, 1e3 * el / steps,
           sps * macs * 2 * 3 / 1e9, st.loss_total / batch);
    trainer_destroy(t);
    trainer_cuda_destroy(tc);
    trainrows_free(&tr);
    return 0;
}
