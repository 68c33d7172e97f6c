/* cmd_train.c: `tengen train`: trains a KataGo-architecture net on the CPU from training .npz
 * files, checkpointing to a directory and resuming from its newest checkpoint.
 *
 * Checkpoints are DIR/ckpt-<12-digit step>.tgck (atomic writes; the 4 newest are kept). One
 * loss line per --log-every steps goes to stdout:
 *   step=S samples=N loss=L loss_policy=.. loss_value=.. ... grad_norm=G lr=X
 * with every loss as a mean per row of the batch (KataGo's *_sum / rows). Logs go to stderr.
 * With SWA on (--swa or train.swa), checkpoints carry KataGo's SWA average, which
 * `tengen export` then writes. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "train/train.h"
#include "util/fileio.h"
#include "util/log.h"

#define CMD_TRAIN_MAX_DATA 256
#define CMD_TRAIN_KEEP     4

static void cmd_train_usage(FILE *out) {
    fprintf(out,
            "usage: tengen train [--config C] [--model-kind K] --data PATH [--data PATH ...]\n"
            "                    --checkpoint-dir D [--steps N] [--batch B] [--threads T]\n"
            "                    [--lr X] [--lr-scale S] [--no-warmup] [--seed S]\n"
            "                    [--log-every N] [--save-every N]\n"
            "                    [--swa | --no-swa] [--swa-period N] [--swa-scale S]\n"
            "  Trains on KataGo training .npz files (selfplay or shuffler output) with KataGo's\n"
            "  losses and SGD; resumes from the newest checkpoint in D.\n"
            "  -c, --config C        config file: its [train] keys (model_kind, batch, threads,\n"
            "                        lr_per_sample, lr_scale, warmup, seed, checkpoint_dir,\n"
            "                        steps, swa, swa_period_samples, swa_scale) are the\n"
            "                        defaults; the options below override them\n"
            "  -m, --model-kind K    b2c16, b4c32, b6c96 (default), b10c128\n"
            "  -d, --data PATH       a training .npz (repeatable; extra arguments count too)\n"
            "  -o, --checkpoint-dir D  checkpoints (created if missing)\n"
            "  -n, --steps N         train until this many steps in total (default 1000)\n"
            "  -b, --batch B         rows per step (default 128)\n"
            "  -t, --threads T       worker threads (default 1)\n"
            "  -l, --lr X            learning rate per sample (default 3e-5, KataGo's)\n"
            "      --lr-scale S      KataGo's -lr-scale (default 1)\n"
            "      --no-warmup       skip KataGo's warmup schedule\n"
            "      --seed S          init/sampling seed (default 1)\n"
            "      --log-every N     steps per loss line (default 10)\n"
            "      --save-every N    steps per checkpoint (default 500; always at the end)\n"
            "      --swa, --no-swa   keep KataGo's SWA weight average (default off); export\n"
            "                        writes it\n"
            "      --swa-period N    samples between SWA snapshots (default 80000)\n"
            "      --swa-scale S     each snapshot moves the average 1/S of the way (default 8)\n"
            "  -h, --help            this help\n");
}

/* Highest step among DIR/ckpt-<step>.tgck, or -1; path of it in out. */
static int64_t newest_checkpoint(const char *dir, char *out, size_t cap, int64_t *older,
                                 int max_older, int *num_older) {
    DIR *d = opendir(dir);
    int64_t best = -1;
    *num_older = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long s;
        char tail[8];
        if (sscanf(e->d_name, "ckpt-%12lld.%7s", &s, tail) == 2 && strcmp(tail, "tgck") == 0) {
            if (*num_older < max_older) older[(*num_older)++] = s;
            if (s > best) best = s;
        }
    }
    closedir(d);
    if (best >= 0) snprintf(out, cap, "%s/ckpt-%012" PRId64 ".tgck", dir, best);
    return best;
}

static int save_and_prune(trainer_t *t, const char *dir, tg_err_t *err) {
    char path[1200];
    snprintf(path, sizeof(path), "%s/ckpt-%012" PRId64 ".tgck", dir, trainer_steps(t));
    int rc = trainer_save(t, path, err);
    if (rc) return rc;
    int64_t steps[512];
    int n = 0;
    char newest[1200];
    newest_checkpoint(dir, newest, sizeof(newest), steps, 512, &n);
    for (int i = 0; i < n; i++) { /* drop all but the KEEP newest */
        int newer = 0;
        for (int j = 0; j < n; j++)
            newer += steps[j] > steps[i];
        if (newer >= CMD_TRAIN_KEEP) {
            snprintf(path, sizeof(path), "%s/ckpt-%012" PRId64 ".tgck", dir, steps[i]);
            remove(path);
        }
    }
    return 0;
}

static void print_loss_line(const trainer_t *t, const train_stats_t *st, int rows) {
    printf("step=%" PRId64 " samples=%" PRId64 " loss=%.5f", trainer_steps(t), trainer_samples(t),
           st->loss_total / rows);
    for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
        printf(" loss_%s=%.5f", train_loss_name((train_loss_t)k), st->loss[k] / rows);
    printf(" grad_norm=%.4g lr=%.4g\n", st->grad_norm, st->lr);
    fflush(stdout);
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"model-kind", required_argument, 0, 'm'},
                                         {"data", required_argument, 0, 'd'},
                                         {"checkpoint-dir", required_argument, 0, 'o'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'},
                                         {"lr", required_argument, 0, 'l'},
                                         {"lr-scale", required_argument, 0, 1},
                                         {"no-warmup", no_argument, 0, 2},
                                         {"seed", required_argument, 0, 3},
                                         {"log-every", required_argument, 0, 4},
                                         {"save-every", required_argument, 0, 5},
                                         {"swa", no_argument, 0, 6},
                                         {"no-swa", no_argument, 0, 7},
                                         {"swa-period", required_argument, 0, 8},
                                         {"swa-scale", required_argument, 0, 9},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *kind = "b6c96", *dir = NULL, *config = NULL;
    const char *data_paths[CMD_TRAIN_MAX_DATA];
    int num_data = 0, batch = 128, threads = 1, warmup = 1;
    long steps = 1000, log_every = 10, save_every = 500;
    double lr = 3e-5, lr_scale = 1.0;
    unsigned long long seed = 1;
    int swa = 0;
    long long swa_period = 80000;
    double swa_scale = 8.0;
    /* Which options the command line gave (they win over the config). */
    bool set_kind = false, set_dir = false, set_steps = false, set_batch = false,
         set_threads = false, set_lr = false, set_scale = false, set_warmup = false,
         set_seed = false, set_swa = false, set_swa_period = false, set_swa_scale = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:m:d:o:n:b:t:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'm':
            kind = optarg, set_kind = true;
            break;
        case 'd':
            if (num_data < CMD_TRAIN_MAX_DATA) data_paths[num_data++] = optarg;
            break;
        case 'o':
            dir = optarg, set_dir = true;
            break;
        case 'n':
            steps = strtol(optarg, NULL, 10), set_steps = true;
            break;
        case 'b':
            batch = atoi(optarg), set_batch = true;
            break;
        case 't':
            threads = atoi(optarg), set_threads = true;
            break;
        case 'l':
            lr = atof(optarg), set_lr = true;
            break;
        case 1:
            lr_scale = atof(optarg), set_scale = true;
            break;
        case 2:
            warmup = 0, set_warmup = true;
            break;
        case 3:
            seed = strtoull(optarg, NULL, 10), set_seed = true;
            break;
        case 4:
            log_every = strtol(optarg, NULL, 10);
            break;
        case 5:
            save_every = strtol(optarg, NULL, 10);
            break;
        case 6:
        case 7:
            swa = c == 6, set_swa = true;
            break;
        case 8:
            swa_period = strtoll(optarg, NULL, 10), set_swa_period = true;
            break;
        case 9:
            swa_scale = atof(optarg), set_swa_scale = true;
            break;
        case 'h':
            cmd_train_usage(stdout);
            return 0;
        default:
            cmd_train_usage(stderr);
            return 2;
        }
    }
    for (int i = optind; i < argc && num_data < CMD_TRAIN_MAX_DATA; i++)
        data_paths[num_data++] = argv[i];
    static tg_config_t cfg_file; /* static: kind and dir may point into it */
    if (config) {
        tg_err_t cerr;
        tg_config_init_defaults(&cfg_file);
        if (tg_config_load_file(&cfg_file, config, &cerr)) {
            fprintf(stderr, "tengen train: %s\n", cerr.msg);
            return 2;
        }
        if (!set_kind) kind = cfg_file.train_model_kind;
        if (!set_dir && cfg_file.train_checkpoint_dir[0]) dir = cfg_file.train_checkpoint_dir;
        if (!set_steps) steps = (long)cfg_file.train_steps;
        if (!set_batch) batch = (int)cfg_file.train_batch;
        if (!set_threads) threads = (int)cfg_file.train_threads;
        if (!set_lr) lr = cfg_file.train_lr_per_sample;
        if (!set_scale) lr_scale = cfg_file.train_lr_scale;
        if (!set_warmup) warmup = cfg_file.train_warmup ? 1 : 0;
        if (!set_seed && cfg_file.train_seed) seed = (unsigned long long)cfg_file.train_seed;
        if (!set_swa) swa = cfg_file.train_swa ? 1 : 0;
        if (!set_swa_period) swa_period = (long long)cfg_file.train_swa_period_samples;
        if (!set_swa_scale) swa_scale = cfg_file.train_swa_scale;
    }
    train_config_t cfg;
    if (train_config_by_name(kind, &cfg) != 0) {
        fprintf(stderr, "tengen train: unknown --model-kind %s\n", kind);
        return 2;
    }
    if (!dir || num_data == 0 || steps < 0 || batch < 1 || threads < 1 || !(lr >= 0) ||
        !(lr_scale > 0) || log_every < 1 || save_every < 1 || swa_period < 1 || !(swa_scale >= 1)) {
        cmd_train_usage(stderr);
        return 2;
    }

    tg_err_t err = {0};
    trainrows_t *data = calloc((size_t)num_data, sizeof(trainrows_t));
    const trainrows_t **ds = calloc((size_t)num_data, sizeof(*ds));
    trainer_t *t = NULL;
    int rc = 1;
    if (!data || !ds) goto done;
    int64_t rows = 0;
    for (int i = 0; i < num_data; i++) {
        if (trainrows_load_npz(&data[i], data_paths[i], &err)) {
            fprintf(stderr, "tengen train: %s\n", err.msg);
            goto done;
        }
        if (data[i].pos_len != data[0].pos_len) {
            fprintf(stderr, "tengen train: %s: pos_len %d differs from %d\n", data_paths[i],
                    data[i].pos_len, data[0].pos_len);
            goto done;
        }
        ds[i] = &data[i];
        rows += data[i].num_rows;
    }
    train_options_t o;
    train_options_default(&o, &cfg);
    o.pos_len = data[0].pos_len;
    o.batch = batch;
    o.threads = threads;
    o.seed = seed;
    o.lr_per_sample = lr;
    o.lr_scale = lr_scale;
    o.warmup = warmup;
    o.swa = swa;
    o.swa_period_samples = swa_period;
    o.swa_scale = swa_scale;
    if (trainer_create(&t, &o, &err) || tg_mkdir_p(dir, &err)) {
        fprintf(stderr, "tengen train: %s\n", err.msg);
        goto done;
    }
    char ckpt[1200];
    int64_t older[1];
    int n_older;
    if (newest_checkpoint(dir, ckpt, sizeof(ckpt), older, 0, &n_older) >= 0) {
        if (trainer_load(t, ckpt, &err)) {
            fprintf(stderr, "tengen train: %s\n", err.msg);
            goto done;
        }
        trainer_set_lr(t, lr);
        TG_LOGI("train: resumed from %s (step %" PRId64 ")", ckpt, trainer_steps(t));
    }
    TG_LOGI("train: model %s (%zu params), %d files, %" PRId64 " rows, batch %d, %d threads", kind,
            trainer_model(t)->num_params, num_data, rows, batch, threads);
    train_stats_t st;
    while (trainer_steps(t) < steps) {
        if (trainer_step(t, ds, num_data, &st, &err)) {
            fprintf(stderr, "tengen train: %s\n", err.msg);
            goto done;
        }
        if (!isfinite(st.loss_total)) {
            fprintf(stderr, "tengen train: loss is not finite at step %" PRId64 "\n",
                    trainer_steps(t));
            goto done;
        }
        if (trainer_steps(t) % log_every == 0) print_loss_line(t, &st, batch);
        if (trainer_steps(t) % save_every == 0 && save_and_prune(t, dir, &err)) {
            fprintf(stderr, "tengen train: %s\n", err.msg);
            goto done;
        }
    }
    if (save_and_prune(t, dir, &err)) {
        fprintf(stderr, "tengen train: %s\n", err.msg);
        goto done;
    }
    if (swa)
        TG_LOGI("train: SWA average of %" PRId64 " snapshots (period %lld samples, scale %g)",
                trainer_swa_updates(t), swa_period, swa_scale);
    rc = 0;
done:
    trainer_destroy(t);
    if (data)
        for (int i = 0; i < num_data; i++)
            trainrows_free(&data[i]);
    free(data);
    free(ds);
    return rc;
}
