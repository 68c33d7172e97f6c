/* train_infer.h: inference-style forward of the trainer's model, and a look at a checkpoint's
 * header without loading it.
 *
 * Why: the exporter (src/export) must prove that a written KataGo file computes what the
 * trainer's own net computes, so it needs the trainer's raw head outputs for given inputs (the
 * training forward in net.c keeps them private and also needs targets). And `tengen export`
 * must build a trainer whose config matches a checkpoint before trainer_load can fill it, so
 * it reads the config from the checkpoint header first.
 *
 * The forward uses the training kernels (train_internal.h) in the same order as net.c's
 * forward, on KataGo's input layout (the one src/nn/nn.h takes), for any board tensor length L
 * (the weights do not depend on L; the score-belief head, which does, is not computed). */
#ifndef TENGEN_TRAIN_TRAIN_INFER_H
#define TENGEN_TRAIN_TRAIN_INFER_H

#include <stdint.h>

#include "train/train.h"
#include "util/error.h"

/* Raw outputs of n positions on an L x L tensor (hw = L*L), caller-owned, pla's view:
 *   policy    (n, 6, hw)  logits of the 6 training policy outputs (channel-major, like nn.h)
 *   pass      (n, 6)      pass logits
 *   value     (n, 3)      win / loss / noResult logits
 *   misc      (n, 10)     misc value outputs (0 score mean, 1 stdev, 2 lead, 3 variance
 *                         time, ...)
 *   moremisc  (n, 8)      more misc outputs (0 short-term value error, 1 short-term score
 *                         error, ...)
 *   ownership (n, hw)     pre-tanh ownership, 0 off board
 */
typedef struct train_infer_out_s {
    float *policy;
    float *pass;
    float *value;
    float *misc;
    float *moremisc;
    float *ownership;
} train_infer_out_t;

/* Runs m on n >= 1 positions: spatial (n, 22, L, L) NCHW with channel 0 the on-board mask,
 * global (n, 19), 1 <= L <= 19. Fills every array of out. TG_EINVAL for bad sizes, TG_ENOMEM.
 * Allocates its workspace per call (for tests and evaluation, not hot loops). */
int train_infer_forward(const train_model_t *m, int n, int len, const float *spatial,
                        const float *global, train_infer_out_t *out, tg_err_t *err);

/* What a checkpoint header says. */
typedef struct train_ckpt_info_s {
    train_config_t cfg;
    int pos_len;
    int64_t steps, samples;
    uint64_t num_params;
    uint32_t version;    /* 1 (before SWA) or 2 */
    int64_t swa_updates; /* SWA snapshots in the checkpoint; 0: it holds no SWA average */
} train_ckpt_info_t;

/* Reads and checks the header of a trainer_save checkpoint (format "TGCK" version 2 or 1, see
 * trainer.c): magic, version, a sane config (NUL-terminated name, sizes in range) and board
 * length. Does not verify the checksum; trainer_load does. TG_EIO (cannot read), TG_EFORMAT
 * (not a checkpoint, truncated, insane config), TG_EUNSUPPORTED (other version), with
 * "path: what is wrong". */
int train_checkpoint_peek(const char *path, train_ckpt_info_t *info, tg_err_t *err);

/* Creates a single-threaded trainer (batch 1) whose model matches the checkpoint at path and
 * loads it (trainer_load: checksum, sizes; a stored SWA average too). On success *out owns the
 * trainer (trainer_destroy). An in-process net from a checkpoint should run on
 * trainer_model_for_export(trainer, use_swa, &view) (train.h): the weights `tengen export`
 * writes, the SWA average when the checkpoint has one and use_swa is set. Errors as
 * train_checkpoint_peek and trainer_load. */
int train_checkpoint_open(const char *path, trainer_t **out, tg_err_t *err);

#endif
