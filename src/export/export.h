/* export.h: writes a trained net (train_model_t) as a KataGo model file, version 15.
 *
 * Overview
 *   tg_export_model_name(buf, n, "b6c96", samples, rows, &err)   "b6c96-s<samples>-d<rows>"
 *   tg_export_model(m, name, "dir/model.bin.gz", &err)            gzip'ed .bin, atomically
 *   tg_export_checkpoint(ckpt, NULL, "b6c96", rows, "dir/model.bin.gz", 1, &res, &err)
 *                                                                 a trainer checkpoint, exported
 *                                                                 (its SWA average if it has one)
 *
 * Why: KataGo's engine (and tengen's own loader, src/nn/model.h) read nets only in KataGo's
 * token-stream format (formats.md §1). Version 15 is what KataGo's own python exporter writes
 * for every convolutional config, and every KataGo engine from v1.14 to v1.17 loads it
 * (formats.md §1.13).
 *
 * What is written (formats.md §1.12 names, one token per line, floats as "@BIN@" + little-endian
 * float32 + "\n"):
 *   header   name, 15, 22, 19, multipliers 20.0 20.0 20.0 20.0 40.0 0.25 150.0 (the values the
 *            trainer's losses use), meta encoder 0, pass-alive flag 0, six reserved 0
 *   trunk    "trunk", blocks, C, M, M-G, G, G, norm kind 0, five reserved 0; model.conv_spatial,
 *            model.linear_global, model.blocks.<i> (ordinary_block / gpool_block), then
 *            model.norm_trunkfinal (bias-only BN) and model.act_trunkfinal (ReLU)
 *   policy   model.policy_head.*: conv2p and linear_pass2 keep training outputs 0 and 5
 *            (policy, short-term optimistic policy): P = 2; the pass MLP is linear_pass +
 *            linear_pass_bias + ReLU + linear_pass2
 *   value    model.value_head.*: linear_miscvaluehead / bias_miscvaluehead = training misc
 *            outputs 0..3 then moremisc 0..1: S = 6
 * Fixup norms become BN records with mean 0, variance 1 (1 - 1e-20 in float32), epsilon 1e-20,
 * hasBias 1, and hasScale 1 with scale = 1 + gamma where the trainer has a gamma. Training-only
 * tensors (score belief) are not written.
 *
 * Guarantees: the file is written atomically (temp file, fsync, rename): a reader sees the old
 * file or the complete new one. Output is deterministic (the gzip header carries no time
 * stamp). A non-finite parameter, a name KataGo would refuse or a missing output directory is
 * refused before anything is written.
 *
 * Thread-safety: all functions are thread-safe on distinct outputs (the model is only read).
 * Cost: the .bin image is built in memory (4 bytes per parameter plus a few KB), then deflated;
 * not for hot paths. */
#ifndef TENGEN_EXPORT_EXPORT_H
#define TENGEN_EXPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "train/train.h"
#include "util/error.h"

#define TG_EXPORT_MODEL_VERSION 15
#define TG_EXPORT_NAME_MAX      96 /* KataGo: model names match [A-Za-z0-9_-]{1,96} */

/* 0 if name is a model name KataGo accepts ([A-Za-z0-9_-]{1,96}), else TG_EINVAL with err
 * saying which character or length is wrong. */
int tg_export_check_name(const char *name, tg_err_t *err);

/* Writes KataGo's model name "<prefix>-s<samples>-d<rows>" (formats.md §7.2) into buf (n
 * bytes). TG_EINVAL if prefix is not a valid name, samples or rows is negative, or the result
 * does not fit in buf or in TG_EXPORT_NAME_MAX characters. */
int tg_export_model_name(char *buf, size_t n, const char *prefix, int64_t samples, int64_t rows,
                         tg_err_t *err);

/* Builds the uncompressed .bin image of m under name into a new malloc'ed buffer (*out, *len;
 * caller frees). TG_EINVAL for a bad name, TG_ERANGE for a non-finite parameter (err names the
 * tensor), TG_ENOMEM. */
int tg_export_model_bytes(const train_model_t *m, const char *name, unsigned char **out,
                          size_t *len, tg_err_t *err);

/* Writes m as a KataGo model to path: gzip-compressed when path ends in ".gz" (".bin.gz", as
 * KataGo's selfplay scripts write it), raw when it ends in ".bin"; any other suffix is TG_EINVAL
 * (KataGo could not load it). The directory must exist (TG_ENOTFOUND "...: directory 'D' does
 * not exist" otherwise). Errors as tg_export_model_bytes, plus TG_EIO for write failures; on
 * any error path is left untouched. */
int tg_export_model(const train_model_t *m, const char *name, const char *path, tg_err_t *err);

/* What tg_export_checkpoint wrote. */
typedef struct tg_export_result_s {
    char name[TG_EXPORT_NAME_MAX + 1]; /* model name stored in the file */
    int64_t samples;                   /* the checkpoint's trained samples */
    int64_t steps;                     /* the checkpoint's optimizer steps */
    int swa;                           /* 1: the SWA average was written, 0: the raw weights */
    int64_t swa_updates;               /* SWA snapshots the checkpoint holds (0: no average) */
} tg_export_result_t;

/* Loads the trainer checkpoint ckpt_path (trainer_save's format; its model config and board
 * length are read from the checkpoint itself, see train_infer.h) and exports its model to
 * out_path as tg_export_model does. The model is named name when name is not NULL, else
 * "<prefix>-s<samples>-d<data_rows>" with the checkpoint's sample count (prefix NULL: the
 * checkpoint's config name, e.g. "b6c96"). result (may be NULL) receives the name and the
 * checkpoint's counters. What is exported (trainer_model_for_export, train.h): with use_swa
 * set and an SWA average in the checkpoint, the average (KataGo exports its swa_model);
 * otherwise the checkpoint's current parameters (with lookahead these are the fast weights;
 * they equal the slow ones after every lookahead_k-th step). Corrupt or foreign checkpoints
 * give TG_EFORMAT / TG_EUNSUPPORTED / TG_EINVAL with "ckpt_path: what is wrong"; nothing is
 * written then. */
int tg_export_checkpoint(const char *ckpt_path, const char *name, const char *prefix,
                         int64_t data_rows, const char *out_path, int use_swa,
                         tg_export_result_t *result, tg_err_t *err);

#endif
