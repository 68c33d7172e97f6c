/* runtime_workers.c: the worker threads of `tengen run` and the scheduler that shares the CPU
 * between them.
 *
 *     selfplay driver thread: tg_selfplay_run (its game threads + evaluator threads)
 *        hooks: on_file  -> rt__ingest_rows (rows straight into the window, with the .npz as
 *                           their source; ledger entry)            [game threads]
 *               on_net   -> RT_EV_NET to the loop                   [selfplay main]
 *               on_game  -> counters                                [game threads]
 *               before_move -> scheduler: wait while the trainer is behind   [game threads]
 *     trainer thread: loop { scheduler cap; bucket wait; take B; sample B rows from the
 *                            window; trainer_step; export every M samples; save point every
 *                            run.save_every_s }
 *     gate thread (optional): candidate queue -> match vs accepted -> move dir, Elo ladder
 *
 * Scheduler (one place: rt__sched_*). CPU only for now (run.devices = cpu):
 *   - The trainer runs whenever the train bucket holds a batch (KataGo's
 *     max_train_per_data samples per new row), but sleeps while its busy share of wall time
 *     (EMA over ~30 s) is above run.trainer_share_max.
 *   - Selfplay gets the rest. Back-pressure: a game thread waits before its next move while
 *     the bucket holds more than run.max_backlog_batches batches (the trainer is behind its
 *     target) and the trainer is not itself capped; with run.selfplay_share_max < 1, it also
 *     waits while selfplay's CPU share is above that cap and the trainer has work.
 *   - Measured shares (CPU seconds of the trainer thread, of the gate thread, and of the rest
 *     of the process = selfplay) are reported by the loop's status line and metrics.
 * Nothing else blocks anything: the window append is a memcpy under the window lock. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "gate/gate.h"
#include "runtime/runtime_internal.h"
#include "util/fileio.h"
#include "util/log.h"

static void rt__sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- Selfplay hooks ----------------------------------------------------------------------- */

static int rt__on_file(void *ctx, const char *net_name, bool random_net, const char *path,
                       const trainrows_t *rows, tg_err_t *err) {
    (void)net_name;
    return rt__ingest_rows(ctx, rows, random_net ? 1 : 0, path, err);
}

static void rt__on_net(void *ctx, const char *net_name, const char *path) {
    (void)path;
    rt__post(ctx, RT_EV_NET, -1, 0, net_name, NULL);
}

static void rt__on_game(void *ctx, const char *net_name, int rows, int moves) {
    (void)net_name;
    (void)rows;
    rt_runtime_t *rt = ctx;
    atomic_fetch_add(&rt->games, 1);
    atomic_fetch_add(&rt->session_games, 1);
    atomic_fetch_add(&rt->moves, moves);
}

/* Scheduler, selfplay side: true while selfplay should yield the CPU to the trainer. */
static bool rt__sched_selfplay_should_wait(rt_runtime_t *rt) {
    if (atomic_load(&rt->trainer_stop) || atomic_load(&rt->trainer_capped)) return false;
    int64_t avail = shuffle_window_bucket_available(rt->window);
    int64_t limit = rt->cfg.run_max_backlog_batches * rt->cfg.train_batch;
    if (rt->cfg.shuffle_max_train_per_data > 0 && avail != INT64_MAX && avail > limit) return true;
    if (rt->cfg.run_selfplay_share_max < 1.0 && avail >= rt->cfg.train_batch &&
        !atomic_load(&rt->trainer_waiting)) {
        /* Selfplay's share of CPU time so far this session. */
        uv_mutex_lock(&rt->state_lock);
        double tr = rt->c.trainer_cpu_s, tot = rt->c.process_cpu_s;
        uv_mutex_unlock(&rt->state_lock);
        if (tot > 5.0 && (tot - tr) / tot > rt->cfg.run_selfplay_share_max) return true;
    }
    return false;
}

static void rt__before_move(void *ctx) {
    rt_runtime_t *rt = ctx;
    double t0 = 0.0;
    while (!atomic_load(&rt->selfplay_stop) && rt__sched_selfplay_should_wait(rt)) {
        if (t0 == 0.0) {
            t0 = rt__now_s();
            atomic_store(&rt->selfplay_throttled, true);
        }
        rt__sleep_ms(10);
    }
    if (t0 != 0.0) {
        atomic_store(&rt->selfplay_throttled, false);
        double w = rt__now_s() - t0;
        uv_mutex_lock(&rt->state_lock);
        rt->c.selfplay_wait_s += w / (double)rt->sp.num_game_threads;
        uv_mutex_unlock(&rt->state_lock);
    }
}

static void rt__selfplay_main(void *arg) {
    rt_runtime_t *rt = arg;
    tg_log_set_thread_name("selfplay");
    tg_err_t err;
    tg_err_clear(&err);
    int rc = tg_selfplay_run(&rt->sp, rt->models_dir, rt->selfplay_dir, &rt->selfplay_stop,
                             &rt->sp_stats, &err);
    rt__post(rt, RT_EV_WORKER_DONE, RT_WORKER_SELFPLAY, rc, "", rc ? err.msg : "");
}

/* ---- Trainer ------------------------------------------------------------------------------ */

/* Exports the trainer's model as models/<name>/ (or modelstobetested/ with the gate): written
 * into <name>.exported/ and renamed into place; the SWA average when train.swa is on and the
 * trainer has taken a snapshot, else the raw weights. Trainer thread (it owns the model). */
static int rt__export(rt_runtime_t *rt, char *name, size_t cap, tg_err_t *err) {
    shuffle_stats_t ws;
    shuffle_window_get_stats(rt->window, &ws);
    int rc = tg_export_model_name(name, cap, rt->cfg.train_model_kind, trainer_samples(rt->trainer),
                                  ws.rows_total, err);
    if (rc) return rc;
    const char *base = rt->cfg.gate_enabled ? rt->test_dir : rt->models_dir;
    char tmpdir[RT_PATH_MAX + 256], final[RT_PATH_MAX + 256], file[RT_PATH_MAX + 300];
    snprintf(tmpdir, sizeof(tmpdir), "%s/%s.exported", base, name);
    snprintf(final, sizeof(final), "%s/%s", base, name);
    snprintf(file, sizeof(file), "%s/model.bin.gz", tmpdir);
    if ((rc = tg_mkdir_p(tmpdir, err))) return rc;
    train_model_t net;
    trainer_model_for_export(rt->trainer, rt->cfg.train_swa, &net);
    if ((rc = tg_export_model(&net, name, file, err))) return rc;
    struct stat st;
    if (stat(final, &st) == 0) { /* redone after a crash: replace */
        char old[RT_PATH_MAX + 300];
        snprintf(old, sizeof(old), "%s/model.bin.gz", final);
        remove(old);
        rmdir(final);
    }
    if (rename(tmpdir, final) != 0)
        return tg_err_set(err, TG_EIO, "%s: cannot rename to %s", tmpdir, final);
    return 0;
}

static void rt__trainer_main(void *arg) {
    rt_runtime_t *rt = arg;
    tg_log_set_thread_name("trainer");
    tg_err_t err;
    tg_err_clear(&err);
    int rc = 0;
    const int B = (int)rt->cfg.train_batch;
    const double cap = rt->cfg.run_trainer_share_max;
    double busy_ema = 0.0, last_t = rt__now_s(), last_save = last_t;
    double cpu0 = rt__thread_cpu_s(), cpu_last = cpu0;
    const trainrows_t *data[1] = {&rt->batch_rows};
    while (!atomic_load(&rt->trainer_stop)) {
        /* Cap: busy share EMA (time constant 30 s) above run.trainer_share_max -> sleep. */
        if (busy_ema > cap) {
            atomic_store(&rt->trainer_capped, true);
            rt__sleep_ms(20);
            double now = rt__now_s();
            double a = exp(-(now - last_t) / 30.0);
            busy_ema = busy_ema * a;
            last_t = now;
            continue;
        }
        atomic_store(&rt->trainer_capped, false);
        atomic_store(&rt->trainer_waiting, true);
        int ok = shuffle_window_bucket_wait(rt->window, B, 200);
        atomic_store(&rt->trainer_waiting, false);
        double now = rt__now_s();
        if (!ok || shuffle_window_bucket_take(rt->window, B) != 0) {
            busy_ema *= exp(-(now - last_t) / 30.0);
            last_t = now;
            if (now - last_save >= rt->cfg.run_save_every_s && trainer_steps(rt->trainer) > 0) {
                if ((rc = rt__save_point(rt, &err))) break;
                last_save = rt__now_s();
            }
            continue;
        }
        double t0 = rt__now_s();
        if ((rc = shuffle_window_sample(rt->window, B, &rt->batch_rows, NULL, &err))) break;
        train_stats_t st;
        if ((rc = trainer_step(rt->trainer, data, 1, &st, &err))) break;
        if (!isfinite(st.loss_total)) {
            rc = tg_err_set(&err, TG_EINTERNAL, "trainer: loss is not finite at step %" PRId64,
                            trainer_steps(rt->trainer));
            break;
        }
        int64_t samples = trainer_samples(rt->trainer);
        atomic_store(&rt->steps_pub, trainer_steps(rt->trainer));
        atomic_store(&rt->samples_pub, samples);
        bool do_export = samples >= rt->c.next_export_samples; /* only this thread writes it */
        char name[TG_EXPORT_NAME_MAX + 1] = "";
        if (do_export) {
            if ((rc = rt__export(rt, name, sizeof(name), &err))) break;
        }
        double t1 = rt__now_s(), cpu = rt__thread_cpu_s();
        uv_mutex_lock(&rt->state_lock);
        const double a = rt->have_loss ? 0.98 : 0.0;
        for (int k = 0; k < TRAIN_LOSS_COUNT; k++)
            rt->loss_ema[k] = a * rt->loss_ema[k] + (1 - a) * st.loss[k] / B;
        rt->loss_total_ema = a * rt->loss_total_ema + (1 - a) * st.loss_total / B;
        rt->have_loss = true;
        rt->c.trainer_busy_s += t1 - t0;
        rt->c.trainer_cpu_s += cpu - cpu_last;
        if (do_export) {
            rt->c.exports++;
            snprintf(rt->c.last_export, sizeof(rt->c.last_export), "%s", name);
            while (rt->c.next_export_samples <= samples)
                rt->c.next_export_samples += rt->cfg.train_export_every_samples;
        }
        uv_mutex_unlock(&rt->state_lock);
        cpu_last = cpu;
        rt->trainer_busy_session_s += t1 - t0;
        double decay = exp(-(t1 - last_t) / 30.0);
        busy_ema = busy_ema * decay + (1 - decay) * ((t1 - t0) / fmax(t1 - last_t, 1e-6));
        last_t = t1;
        if (do_export) {
            TG_LOGI("run: exported %s", name);
            rt__post(rt, RT_EV_EXPORT, -1, 0, name, NULL);
        }
        if (t1 - last_save >= rt->cfg.run_save_every_s) {
            if ((rc = rt__save_point(rt, &err))) break;
            last_save = rt__now_s();
        }
    }
    uv_mutex_lock(&rt->state_lock);
    rt->c.trainer_cpu_s += rt__thread_cpu_s() - cpu_last;
    uv_mutex_unlock(&rt->state_lock);
    (void)cpu0;
    atomic_store(&rt->trainer_capped, false);
    rt__post(rt, RT_EV_WORKER_DONE, RT_WORKER_TRAINER, rc, "", rc ? err.msg : "");
}

/* ---- Gate --------------------------------------------------------------------------------- */

static void rt__gate_main(void *arg) {
    rt_runtime_t *rt = arg;
    tg_log_set_thread_name("gate");
    tg_err_t err;
    tg_err_clear(&err);
    int rc = 0;
    double cpu_last = rt__thread_cpu_s();
    char elo_path[RT_PATH_MAX + 32];
    snprintf(elo_path, sizeof(elo_path), "%s/elo.json", rt->dir);
    for (;;) {
        char cand[RT_NAME_MAX];
        uv_mutex_lock(&rt->gate_lock);
        while (rt->gate_queue_len == 0 && !atomic_load(&rt->gate_stop))
            uv_cond_wait(&rt->gate_cond, &rt->gate_lock);
        if (atomic_load(&rt->gate_stop)) {
            uv_mutex_unlock(&rt->gate_lock);
            break;
        }
        /* Newest candidate first; older ones are superseded (KataGo auto-rejects them). */
        snprintf(cand, sizeof(cand), "%s", rt->gate_queue[rt->gate_queue_len - 1]);
        int skipped = rt->gate_queue_len - 1;
        char skipped_names[16][RT_NAME_MAX];
        for (int i = 0; i < skipped; i++)
            snprintf(skipped_names[i], RT_NAME_MAX, "%s", rt->gate_queue[i]);
        rt->gate_queue_len = 0;
        uv_mutex_unlock(&rt->gate_lock);

        uv_mutex_lock(&rt->state_lock);
        char base[RT_NAME_MAX];
        snprintf(base, sizeof(base), "%s", rt->c.accepted_net);

        uint64_t seed = rt->c.seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(rt->c.exports + 1));
        uv_mutex_unlock(&rt->state_lock);
        tg_gate_params_t gp;
        tg_gate_params_from_config(&rt->cfg, &gp);
        gp.seed = seed;
        if (!rt->cfg.gate_enabled) gp.games = (int)rt->cfg.gate_ladder_games;
        gp.early_stop = rt->cfg.gate_enabled;
        const char *cdir = rt->cfg.gate_enabled ? rt->test_dir : rt->models_dir;
        for (int i = 0; i < skipped && rt->cfg.gate_enabled; i++) {
            tg_gate_result_t none;
            memset(&none, 0, sizeof(none));
            tg_gate_move_candidate(cdir, rt->rejected_dir, skipped_names[i], &none,
                                   "superseded by a newer candidate", &err);
        }
        char cpath[RT_PATH_MAX + 300], bpath[RT_PATH_MAX + 300];
        snprintf(cpath, sizeof(cpath), "%s/%s/model.bin.gz", cdir, cand);
        snprintf(bpath, sizeof(bpath), "%s/%s/model.bin.gz", rt->models_dir, base);
        tg_gate_result_t res;
        rc = tg_gate_play_match(&gp, cpath, base[0] ? bpath : NULL, &rt->gate_stop, &res, &err);
        if (rc == 1) { /* stopped: the candidate stays in modelstobetested/ for next time */
            rc = 0;
            break;
        }
        if (rc) break;
        rc = tg_gate_ladder_record(elo_path, cand, base[0] ? base : "random", &res, &err);
        if (rc) break;
        char verdict[RT_NAME_MAX * 2 + 64];
        if (rt->cfg.gate_enabled) {
            rc = tg_gate_move_candidate(cdir, res.accepted ? rt->models_dir : rt->rejected_dir,
                                        cand, &res, NULL, &err);
            if (rc) break;
        }
        snprintf(verdict, sizeof(verdict), "%s %.1f/%d vs %s%s", cand, res.candidate_points,
                 res.games, base[0] ? base : "random",
                 rt->cfg.gate_enabled ? (res.accepted ? " accepted" : " rejected") : "");
        uv_mutex_lock(&rt->state_lock);
        if (rt->cfg.gate_enabled) {
            if (res.accepted) {
                rt->c.accepted_count++;
                snprintf(rt->c.accepted_net, sizeof(rt->c.accepted_net), "%s", cand);
            } else
                rt->c.rejected_count++;
        } else
            snprintf(rt->c.accepted_net, sizeof(rt->c.accepted_net), "%s", cand);
        snprintf(rt->c.last_gate, sizeof(rt->c.last_gate), "%.190s", verdict);
        double cpu = rt__thread_cpu_s();
        rt->c.gate_cpu_s += cpu - cpu_last;
        cpu_last = cpu;
        uv_mutex_unlock(&rt->state_lock);
        rt__post(rt, RT_EV_GATE, -1, 0, cand, verdict);
    }
    uv_mutex_lock(&rt->state_lock);
    rt->c.gate_cpu_s += rt__thread_cpu_s() - cpu_last;
    uv_mutex_unlock(&rt->state_lock);
    rt__post(rt, RT_EV_WORKER_DONE, RT_WORKER_GATE, rc, "", rc ? err.msg : "");
}

/* ---- Start / stop ------------------------------------------------------------------------- */

/* Candidates left in modelstobetested/ by an earlier session go back into the gate's queue
 * (oldest first; the gate then tests the newest and supersedes the rest). Loop thread, before
 * the gate thread starts. */
static void rt__requeue_candidates(rt_runtime_t *rt) {
    DIR *d = opendir(rt->test_dir);
    if (!d) return;
    struct dirent *de;
    char names[16][RT_NAME_MAX];
    int64_t mt[16];
    int n = 0;
    while ((de = readdir(d)) != NULL && n < 16) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".exported")) continue;
        char p[RT_PATH_MAX + 300];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s/model.bin.gz", rt->test_dir, de->d_name);
        size_t len = strlen(de->d_name);
        if (stat(p, &st) != 0 || len >= RT_NAME_MAX) continue;
        memcpy(names[n], de->d_name, len + 1);
        mt[n++] = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    }
    closedir(d);
    for (int i = 0; i < n; i++) { /* insertion sort by mtime */
        for (int j = i; j > 0 && mt[j] < mt[j - 1]; j--) {
            int64_t t = mt[j];
            mt[j] = mt[j - 1], mt[j - 1] = t;
            char tmp[RT_NAME_MAX];
            memcpy(tmp, names[j], RT_NAME_MAX);
            memcpy(names[j], names[j - 1], RT_NAME_MAX);
            memcpy(names[j - 1], tmp, RT_NAME_MAX);
        }
    }
    for (int i = 0; i < n; i++)
        memcpy(rt->gate_queue[i], names[i], RT_NAME_MAX);
    rt->gate_queue_len = n;
    if (n) TG_LOGI("run: %d candidate(s) from an earlier session queued for the gate", n);
}

int rt__start_workers(rt_runtime_t *rt, tg_err_t *err) {
    int rc = tg_selfplay_params_from_config(&rt->cfg, &rt->sp, err);
    if (rc) return rc;
    /* Selfplay's RNG for this session: games restart after a pause anyway. */
    rt->sp.seed = (rt->c.seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)rt->c.sessions)) | 1;
    rt->sp.max_games = 0;
    rt->sp.hooks.on_file = rt__on_file;
    rt->sp.hooks.on_net = rt__on_net;
    rt->sp.hooks.on_game = rt__on_game;
    rt->sp.hooks.before_move = rt__before_move;
    rt->sp.hooks.ctx = rt;
    atomic_store(&rt->selfplay_stop, false);
    atomic_store(&rt->trainer_stop, false);
    atomic_store(&rt->gate_stop, false);
    if (uv_thread_create(&rt->trainer_tid, rt__trainer_main, rt))
        return tg_err_set(err, TG_EINTERNAL, "run: cannot start the trainer thread");
    rt->worker_running[RT_WORKER_TRAINER] = true;
    if (rt->gate_on) {
        if (rt->cfg.gate_enabled) rt__requeue_candidates(rt);
        if (uv_thread_create(&rt->gate_tid, rt__gate_main, rt))
            return tg_err_set(err, TG_EINTERNAL, "run: cannot start the gate thread");
        rt->worker_running[RT_WORKER_GATE] = true;
    }
    if (uv_thread_create(&rt->selfplay_tid, rt__selfplay_main, rt))
        return tg_err_set(err, TG_EINTERNAL, "run: cannot start the selfplay thread");
    rt->worker_running[RT_WORKER_SELFPLAY] = true;
    return 0;
}

void rt__stop_selfplay(rt_runtime_t *rt) { atomic_store(&rt->selfplay_stop, true); }

void rt__stop_trainer(rt_runtime_t *rt) {
    atomic_store(&rt->trainer_stop, true);
    shuffle_window_close(rt->window);
}

void rt__stop_gate(rt_runtime_t *rt) {
    if (!rt->gate_on) return;
    uv_mutex_lock(&rt->gate_lock);
    atomic_store(&rt->gate_stop, true);
    uv_cond_broadcast(&rt->gate_cond);
    uv_mutex_unlock(&rt->gate_lock);
}

void rt__join_worker(rt_runtime_t *rt, int worker) {
    uv_thread_t *t = worker == RT_WORKER_SELFPLAY  ? &rt->selfplay_tid
                     : worker == RT_WORKER_TRAINER ? &rt->trainer_tid
                                                   : &rt->gate_tid;
    uv_thread_join(t);
}
