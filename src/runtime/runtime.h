/* runtime.h: `tengen run`: the whole training loop (selfplay -> replay window -> trainer ->
 * export -> optional gate -> selfplay switches nets) in ONE process, from one config, with
 * pause/resume by signals and exact resume from the run directory.
 *
 * ## Overview
 *
 *     tg_config_t cfg;  tg_config_init_defaults(&cfg);  tg_config_load_file(&cfg, path, &err);
 *     tg_runtime_plan_t plan;  tg_runtime_plan(&cfg, NULL, &plan, &err);   validated plan
 *     tg_runtime_print_plan(&plan, stdout);                                   --dry-run
 *     tg_runtime_limits_t lim = {.max_cycles = 2};
 *     tg_runtime_run(&cfg, NULL, &lim, &result, &err);                       blocks; 0 = paused
 *
 * ## Run directory (KataGo's base-dir layout, formats.md §7)
 *
 *     <dir>/models/<name>/model.bin.gz        accepted nets (selfplay polls this dir)
 *     <dir>/modelstobetested/<name>/...       candidates (gate on)
 *     <dir>/rejectedmodels/<name>/{model.bin.gz,gate.json}   rejected, with their match record
 *     <dir>/selfplay/<net>/{tdata,sgfs}/<16HEX>.{npz,sgf}          selfplay output, "random" first
 *     <dir>/state/run.state                   counters + the current save point (atomic)
 *     <dir>/state/ckpt-<gen>.tgck, window-<gen>.txt, ledger-<gen>.txt   one save point
 *     <dir>/metrics.jsonl, elo.json, run.lock, tengen.log
 *
 * Exports are written into <name>.exported/ and renamed into place, so selfplay and KataGo's
 * tools never see a half-written net. Every other file is written temp + fsync + rename.
 *
 * ## Save points and resume
 *
 * A save point is taken every run.save_every_s (on the trainer thread, between steps) and at a
 * pause: trainer checkpoint, window state and the ledger (every .npz whose rows are in the
 * window, with their global row range) are written under a new generation number, then
 * run.state is switched to that generation atomically; older generations are deleted after.
 * So the files of a save point are always complete and consistent with each other.
 *
 * Resume (the same command again): the trainer loads its checkpoint (weights, optimizer, RNG),
 * the window is restored exactly (rows re-read from their .npz files, counters, bucket and
 * sampler RNG), then every .npz under selfplay/ that is not in the ledger (written after the
 * save point, e.g. before a kill -9) is appended in mtime order. Nothing is lost or counted
 * twice: the window's row count always equals the rows in the run's .npz files. A game in
 * progress at a pause is dropped (as KataGo does); its rows never reach a file. After a kill
 * -9 the training steps since the last save point are redone (an export made in that span is
 * made again under the same name and replaces the old one). Selfplay's game RNG is reseeded
 * per session from (run seed, session number), since its games restart anyway.
 *
 * Thread layout: see runtime.c. */
#ifndef TENGEN_RUNTIME_RUNTIME_H
#define TENGEN_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "util/error.h"

/* What a config asks for, resolved and validated (no files touched). */
typedef struct tg_runtime_plan_s {
    char dir[TG_CONFIG_STR_LEN];
    char model_kind[64];
    int64_t num_params; /* trainer net size */
    int data_len;       /* training tensor length L */
    int game_threads, nn_threads, eval_threads, train_threads;
    int cores; /* online CPUs */
    int64_t window_cap_rows;
    double bytes_per_row;
    double mem_window_mb, mem_trainer_mb, mem_selfplay_mb, mem_total_mb;
    bool gate;
} tg_runtime_plan_t;

/* Validates every knob `tengen run` uses and fills plan. dir_override (may be NULL) replaces
 * run.dir. TG_EINVAL with "section.key: what is wrong" (plus the config file:line when the key
 * came from the file). */
int tg_runtime_plan(const tg_config_t *cfg, const char *dir_override, tg_runtime_plan_t *plan,
                    tg_err_t *err);

/* Prints the plan: stages, threads, devices, memory estimate. */
void tg_runtime_print_plan(const tg_runtime_plan_t *plan, const tg_config_t *cfg, FILE *out);

/* Bounds for CI and demos: 0 = none. Cycles and minutes count from this invocation. */
typedef struct tg_runtime_limits_s {
    int64_t max_cycles; /* pause after this many model switches by selfplay */
    double max_minutes; /* pause after this much wall time */
} tg_runtime_limits_t;

typedef struct tg_runtime_result_s {
    bool paused_by_signal;               /* SIGINT/SIGTERM (else a limit was reached) */
    bool hard_exit;                      /* a second signal: returned without joining workers */
    int64_t cycles;                      /* this session */
    int64_t games, rows, steps, exports; /* run totals */
} tg_runtime_result_t;

/* Runs (or resumes) the loop in cfg's run directory until a signal or a limit, then pauses:
 * stops starting games, flushes rows, checkpoints, writes the run state, and returns 0. A
 * second SIGINT/SIGTERM returns at once (result->hard_exit) without cleanup: the caller must
 * exit the process (every file on disk is complete). Must be called from the main thread with
 * no other libuv loop running on it; installs its own signal handlers for the duration.
 * Errors: TG_EINVAL (config), TG_ESTATE (another `tengen run` holds the directory), TG_EIO,
 * TG_EFORMAT (corrupt state), or the first worker's error (after a save where possible). */
int tg_runtime_run(const tg_config_t *cfg, const char *dir_override,
                   const tg_runtime_limits_t *limits, tg_runtime_result_t *result, tg_err_t *err);

/* Prints a summary of the run in dir (running or not): counters from run.state, the last
 * metrics line, models, gate results and the Elo ladder. TG_ENOTFOUND if dir holds no run. */
int tg_runtime_print_status(const char *dir, FILE *out, tg_err_t *err);

#endif
