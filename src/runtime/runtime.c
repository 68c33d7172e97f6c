/* runtime.c: `tengen run`'s loop thread: plan and validation, run directory, the libuv loop
 * (signals, status timer, worker events), pause and the final save point. See runtime.h for
 * the run directory and resume guarantees.
 *
 * Thread layout:
 *
 *     main thread = libuv loop (owns lifecycle: pausing, cycles, limits, status, metrics)
 *       | uv_signal SIGINT/SIGTERM: 1st -> pause (stop games, flush rows, checkpoint, state);
 *       |                           2nd -> return at once (files on disk are always complete)
 *       | uv_signal SIGUSR1: status line now
 *       | uv_timer every run.status_every_s: status line + metrics.jsonl record
 *       | uv_async <- event queue (Lock: ev_lock) <- workers post RT_EV_* events
 *       +-- selfplay driver thread -> tg_selfplay_run -> game threads, evaluator threads
 *       +-- trainer thread (bucket -> sample -> step -> export -> periodic save points)
 *       +-- gate thread (optional: gate.enabled or gate.ladder_games > 0)
 *   (threads and the scheduler: runtime_workers.c; save points and resume: runtime_state.c)
 *
 * Pause: the loop sets the stop flags; selfplay drops its games in progress and flushes every
 * buffered row (each flush goes through the window and the ledger); the trainer finishes its
 * step; the gate abandons its match (the candidate stays queued on disk). When every worker
 * has been joined, the loop thread (now the trainer's owner) takes the final save point. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/rng.h"

double rt__now_s(void) { return 1e-9 * (double)uv_hrtime(); }

double rt__thread_cpu_s(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rt__wall_clock_s(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rt__process_cpu_s(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rt__post(rt_runtime_t *rt, rt_event_kind_t kind, int worker, int code, const char *name,
              const char *text) {
    rt_event_t *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        TG_LOGE("run: out of memory for an event");
        return;
    }
    ev->kind = kind;
    ev->worker = worker;
    ev->code = code;
    snprintf(ev->name, sizeof(ev->name), "%s", name ? name : "");
    snprintf(ev->text, sizeof(ev->text), "%s", text ? text : "");
    uv_mutex_lock(&rt->ev_lock);
    if (rt->ev_tail)
        rt->ev_tail->next = ev;
    else
        rt->ev_head = ev;
    rt->ev_tail = ev;
    uv_mutex_unlock(&rt->ev_lock);
    uv_async_send(&rt->async);
}

/* ---- Plan --------------------------------------------------------------------------------- */

/* "file:line: " for a key set in the config file, else "". */
static const char *rt__where(const tg_config_t *cfg, int key, char *buf, size_t cap) {
    buf[0] = '\0';
    if (cfg->origin_line[key] > 0)
        snprintf(buf, cap, "%s:%d: ", cfg->path, cfg->origin_line[key]);
    else if (cfg->origin_line[key] < 0)
        snprintf(buf, cap, "--set: ");
    return buf;
}

#define RT_BAD(key, ...)                                                                           \
    do {                                                                                           \
        char where_[TG_CONFIG_STR_LEN + 32], msg_[TG_ERR_MSG_LEN + 512];                           \
        snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                 \
        return tg_err_set(err, TG_EINVAL, "%s%s",                                                  \
                          rt__where(cfg, TG_CONFIG_KEY_##key, where_, sizeof(where_)), msg_);      \
    } while (0)

static void rt__shuffle_config(const tg_config_t *cfg, int pos_len, uint64_t seed,
                               shuffle_config_t *sc) {
    shuffle_config_default(sc);
    sc->pos_len = pos_len;
    sc->min_rows = cfg->shuffle_min_rows;
    sc->max_rows = cfg->shuffle_max_rows;
    sc->expand_window_per_row = cfg->shuffle_expand_window_per_row;
    sc->taper_window_exponent = cfg->shuffle_taper_window_exponent;
    sc->taper_window_scale = cfg->shuffle_taper_window_scale;
    sc->max_bytes = (size_t)cfg->shuffle_max_mb << 20;
    sc->max_train_per_data = cfg->shuffle_max_train_per_data;
    sc->samples_per_epoch = cfg->shuffle_samples_per_epoch;
    sc->max_train_bucket_size = cfg->shuffle_max_train_bucket_size;
    sc->sample_mode =
        strcmp(cfg->shuffle_sample_mode, "pass") ? SHUFFLE_SAMPLE_REPLACE : SHUFFLE_SAMPLE_PASS;
    sc->seed = seed ^ 0x5348554646ULL;
}

static void rt__train_options(const tg_config_t *cfg, const train_config_t *tc, int pos_len,
                              uint64_t seed, train_options_t *o) {
    train_options_default(o, tc);
    o->pos_len = pos_len;
    o->batch = (int)cfg->train_batch;
    o->threads = (int)cfg->train_threads;
    o->seed = cfg->train_seed ? (uint64_t)cfg->train_seed : seed ^ 0x545241494EULL;
    o->lr_per_sample = cfg->train_lr_per_sample;
    o->lr_scale = cfg->train_lr_scale;
    o->warmup = cfg->train_warmup ? 1 : 0;
    o->symmetries = cfg->train_symmetries ? 1 : 0;
    o->sample = TRAIN_SAMPLE_SEQUENTIAL; /* the window already drew the batch at random */
    o->swa = cfg->train_swa ? 1 : 0;
    o->swa_period_samples = cfg->train_swa_period_samples;
    o->swa_scale = cfg->train_swa_scale;
}

int tg_runtime_plan(const tg_config_t *cfg, const char *dir_override, tg_runtime_plan_t *plan,
                    tg_err_t *err) {
    memset(plan, 0, sizeof(*plan));
    snprintf(plan->dir, sizeof(plan->dir), "%s", dir_override ? dir_override : cfg->run_dir);
    if (!plan->dir[0]) RT_BAD(run_dir, "run.dir: empty (give --dir or set run.dir)");
    if (strcmp(cfg->run_devices, "cpu") && strcmp(cfg->run_devices, "cuda"))
        RT_BAD(run_devices,
               "run.devices: \"%s\" is not supported (\"cpu\", or \"cuda\": "
               "selfplay inference on the GPU, training on the CPU)",
               cfg->run_devices);
    if (!strcmp(cfg->run_devices, "cuda") && !strcmp(cfg->nn_backend, "cpu"))
        RT_BAD(nn_backend, "nn.backend: cpu contradicts run.devices = cuda");
    train_config_t tc;
    if (train_config_by_name(cfg->train_model_kind, &tc))
        RT_BAD(train_model_kind,
               "train.model_kind: unknown config \"%s\" (b2c8test b2c16 b4c32 "
               "b6c96 b10c128)",
               cfg->train_model_kind);
    snprintf(plan->model_kind, sizeof(plan->model_kind), "%.63s", cfg->train_model_kind);
    tg_selfplay_params_t sp;
    tg_err_t e2;
    if (tg_selfplay_params_from_config(cfg, &sp, &e2) || tg_selfplay_params_validate(&sp, &e2)) {
        char where[TG_CONFIG_STR_LEN + 32] = "";
        if (cfg->path[0]) snprintf(where, sizeof(where), "%s: ", cfg->path);
        return tg_err_set(err, TG_EINVAL, "%s%s", where, e2.msg);
    }
    plan->data_len = sp.data_len;
    plan->game_threads = sp.num_game_threads;
    plan->eval_threads = sp.service.num_threads > 0 ? sp.service.num_threads : 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->cores = cores > 0 ? (int)cores : 1;
    plan->nn_threads = sp.nn_threads > 0 ? sp.nn_threads : plan->cores;
    plan->train_threads = (int)cfg->train_threads;
    if (cfg->train_batch > cfg->shuffle_min_rows)
        RT_BAD(train_batch, "train.batch: %" PRId64 " is more than shuffle.min_rows %" PRId64,
               cfg->train_batch, cfg->shuffle_min_rows);
    if (cfg->shuffle_max_rows && cfg->shuffle_max_rows < cfg->shuffle_min_rows)
        RT_BAD(shuffle_max_rows, "shuffle.max_rows: below shuffle.min_rows");
    if (cfg->gate_enabled && cfg->gate_ladder_games)
        RT_BAD(gate_ladder_games, "gate.ladder_games: only without gate.enabled (gating games "
                                  "already rate every net)");
    shuffle_config_t sc;
    rt__shuffle_config(cfg, sp.data_len, 1, &sc);
    shuffle_window_t *w = NULL;
    if (shuffle_window_create(&w, &sc, &e2)) RT_BAD(shuffle_max_mb, "shuffle: %s", e2.msg);
    shuffle_window_destroy(w);
    train_model_t m;
    if (train_model_init(&m, &tc, sp.data_len, 1, &e2))
        RT_BAD(train_model_kind, "train: %s", e2.msg);
    plan->num_params = (int64_t)m.num_params;
    train_model_free(&m);

    int L = sp.data_len, A = L * L;
    plan->bytes_per_row = TRAINROWS_BIN_CHANNELS * ((A + 7) / 8) + 4.0 * TRAINROWS_GLOBAL_INPUTS +
                          2.0 * TRAINROWS_POLICY_CHANNELS * (A + 1) +
                          4.0 * TRAINROWS_GLOBAL_TARGETS + 2.0 * (A + TRAINROWS_SCORE_RADIUS) +
                          TRAINROWS_VALUE_CHANNELS * A + 2.0 * TRAINROWS_QVALUE_CHANNELS * (A + 1);
    int64_t cap_rows = (int64_t)((double)sc.max_bytes / plan->bytes_per_row);
    plan->window_cap_rows = cfg->shuffle_max_rows && cfg->shuffle_max_rows < cap_rows
                                ? cfg->shuffle_max_rows
                                : cap_rows;
    plan->mem_window_mb = plan->window_cap_rows * plan->bytes_per_row / 1048576.0;
    double act = (double)cfg->train_batch * A *
                 (tc.c_trunk * (2.0 * tc.num_blocks + 4) + tc.c_mid * 4.0 * tc.num_blocks) * 4.0;
    plan->mem_trainer_mb = (5.0 * 4.0 * (double)plan->num_params + act) / 1048576.0;
    plan->mem_selfplay_mb =
        plan->game_threads * (40.0 + (double)sp.max_visits * 4.0 * 400 / 1048576.0) +
        (double)sp.max_rows_per_file * plan->bytes_per_row * 2 / 1048576.0;
    sp.service.cache_board_len = sp.data_len; /* the NN cache, as selfplay sizes it */
    plan->mem_selfplay_mb += (double)tg_evalservice_cache_bytes(&sp.service) / 1048576.0;
    plan->mem_total_mb = plan->mem_window_mb + plan->mem_trainer_mb + plan->mem_selfplay_mb;
    plan->gate = cfg->gate_enabled;
    return 0;
}

void tg_runtime_print_plan(const tg_runtime_plan_t *p, const tg_config_t *cfg, FILE *out) {
    fprintf(out, "tengen run plan (%s)\n", cfg->path[0] ? cfg->path : "defaults");
    fprintf(out, "  run dir      %s\n", p->dir);
    fprintf(out, "  devices      %s (%d cores online)%s\n", cfg->run_devices, p->cores,
            strcmp(cfg->run_devices, "cuda") ? ""
                                             : ": selfplay inference on the GPU (nn.backend), "
                                               "trainer on the CPU");
    fprintf(out, "  stages:\n");
    fprintf(out,
            "    selfplay   %d game threads, %d evaluator thread(s), %d nn threads, "
            "%dx%d data, %" PRId64 " visits (cheap %" PRId64 " at p=%.2f)\n",
            p->game_threads, p->eval_threads, p->nn_threads, p->data_len, p->data_len,
            cfg->selfplay_max_visits, cfg->selfplay_cheap_visits, cfg->selfplay_cheap_search_prob);
    fprintf(out,
            "    window     min %" PRId64 " rows, cap %" PRId64 " rows (%.0f B/row), "
            "bucket %.2f samples/row\n",
            cfg->shuffle_min_rows, p->window_cap_rows, p->bytes_per_row,
            cfg->shuffle_max_train_per_data);
    fprintf(out,
            "    trainer    %s (%" PRId64 " params), batch %" PRId64 ", %d thread(s), "
            "share cap %.2f, export every %" PRId64 " samples\n",
            p->model_kind, p->num_params, cfg->train_batch, p->train_threads,
            cfg->run_trainer_share_max, cfg->train_export_every_samples);
    if (cfg->gate_enabled)
        fprintf(out, "    gate       on: %" PRId64 " games at %" PRId64 " visits, accept at %.2f\n",
                cfg->gate_games, cfg->gate_visits, cfg->gate_required_win_prop);
    else if (cfg->gate_ladder_games)
        fprintf(out,
                "    gate       off; ladder: %" PRId64 " games per net at %" PRId64 " visits\n",
                cfg->gate_ladder_games, cfg->gate_visits);
    else
        fprintf(out, "    gate       off (every export goes to selfplay)\n");
    fprintf(out,
            "  threads      1 loop + 1 selfplay driver + %d game + %d evaluator + %d "
            "trainer%s\n",
            p->game_threads, p->eval_threads, p->train_threads,
            (cfg->gate_enabled || cfg->gate_ladder_games) ? " + 1 gate" : "");
    fprintf(out, "  memory       ~%.0f MiB (window %.0f at its cap, trainer %.0f, selfplay %.0f)\n",
            p->mem_total_mb, p->mem_window_mb, p->mem_trainer_mb, p->mem_selfplay_mb);
    fprintf(out, "  save points  every %.0f s and at pause; status every %.1f s\n",
            cfg->run_save_every_s, cfg->run_status_every_s);
}

/* ---- Status ------------------------------------------------------------------------------- */

static void rt__status(rt_runtime_t *rt, bool to_metrics) {
    double now = rt__now_s(), cpu = rt__process_cpu_s();
    double dt = now - rt->last_status_t, dcpu = cpu - rt->last_status_cpu;
    shuffle_stats_t ws;
    shuffle_window_get_stats(rt->window, &ws);
    uv_mutex_lock(&rt->state_lock);
    rt->c.wall_s += dt;
    rt->c.process_cpu_s += dcpu;
    rt_counters_t c = rt->c;
    double loss = rt->loss_total_ema, lp = rt->loss_ema[TRAIN_LOSS_POLICY],
           lv = rt->loss_ema[TRAIN_LOSS_VALUE];
    bool have_loss = rt->have_loss;
    uv_mutex_unlock(&rt->state_lock);
    double dtr = c.trainer_cpu_s - rt->last_status_trainer_cpu;
    double dg = c.gate_cpu_s - rt->last_status_gate_cpu;
    double sh_tr = dcpu > 0 ? dtr / dcpu : 0, sh_g = dcpu > 0 ? dg / dcpu : 0;
    if (sh_tr > 1) sh_tr = 1;
    double sh_sp = 1 - sh_tr - sh_g;
    if (sh_sp < 0) sh_sp = 0;
    double rows_s = dt > 0 ? (ws.rows_total - rt->last_status_rows) / dt : 0;
    double tot_tr = c.process_cpu_s > 0 ? c.trainer_cpu_s / c.process_cpu_s : 0;
    double spr = ws.rows_total > 0 ? (double)ws.samples_taken / (double)ws.rows_total : 0;
    int64_t bucket = shuffle_window_bucket_available(rt->window);
    if (bucket == INT64_MAX) bucket = -1;
    int64_t steps = atomic_load(&rt->steps_pub), samples = atomic_load(&rt->samples_pub);
    long long games = atomic_load(&rt->games);
    rt->last_status_t = now;
    rt->last_status_cpu = cpu;
    rt->last_status_trainer_cpu = c.trainer_cpu_s;
    rt->last_status_gate_cpu = c.gate_cpu_s;
    rt->last_status_rows = ws.rows_total;
    TG_LOGI("run: games=%lld rows=%" PRId64 " (%.1f/s) window=%" PRId64 " train/row=%.2f "
            "(target %.1f) bucket=%" PRId64 " steps=%" PRId64 " loss=%.3f (p %.3f v %.3f) "
            "net=%s accepted=%s cycles=%" PRId64 "%s%s | shares: trainer %.2f selfplay %.2f "
            "gate %.2f, %.2f cores%s",
            games, ws.rows_total, rows_s, ws.window_rows, spr, rt->cfg.shuffle_max_train_per_data,
            bucket, steps, have_loss ? loss : NAN, lp, lv, c.current_net[0] ? c.current_net : "-",
            c.accepted_net[0] ? c.accepted_net : "random", c.cycles, c.last_gate[0] ? " gate=" : "",
            c.last_gate, sh_tr, sh_sp, sh_g, dt > 0 ? dcpu / dt : 0,
            atomic_load(&rt->selfplay_throttled) ? " (selfplay waits)" : "");
    if (!to_metrics || !rt->metrics) return;
    fprintf(rt->metrics,
            "{\"time\": %.3f, \"session\": %" PRId64 ", \"wall_s\": %.2f, \"games\": %lld, "
            "\"moves\": %lld, \"rows\": %" PRId64
            ", \"rows_per_s\": %.3f, \"window_rows\": %" PRId64 ", \"samples_taken\": %" PRId64
            ", \"train_per_row\": %.4f, \"target_train_per_row\": "
            "%.3f, \"bucket\": %" PRId64 ", \"steps\": %" PRId64 ", \"samples\": %" PRId64
            ", \"loss\": %.5f, \"loss_policy\": %.5f, \"loss_value\": %.5f, \"net\": \"%s\", "
            "\"accepted\": \"%s\", \"cycles\": %" PRId64 ", \"exports\": %" PRId64
            ", \"gate\": \"%s\", \"share_trainer\": %.4f, \"share_selfplay\": %.4f, "
            "\"share_gate\": %.4f, \"share_trainer_total\": %.4f, \"cpu_cores\": %.3f, "
            "\"trainer_busy_s\": %.2f, \"selfplay_wait_s\": %.2f}\n",
            rt__wall_clock_s(), c.sessions, c.wall_s, games, (long long)atomic_load(&rt->moves),
            ws.rows_total, rows_s, ws.window_rows, ws.samples_taken, spr,
            rt->cfg.shuffle_max_train_per_data, bucket, steps, samples, have_loss ? loss : 0.0, lp,
            lv, c.current_net, c.accepted_net, c.cycles, c.exports, c.last_gate, sh_tr, sh_sp, sh_g,
            tot_tr, dt > 0 ? dcpu / dt : 0, c.trainer_busy_s, c.selfplay_wait_s);
    fflush(rt->metrics);
}

/* ---- Loop --------------------------------------------------------------------------------- */

static void rt__begin_pause(rt_runtime_t *rt, const char *why) {
    if (rt->pausing) return;
    rt->pausing = true;
    TG_LOGI("run: pausing (%s): stopping games, flushing rows, checkpointing", why);
    rt__stop_selfplay(rt);
    rt__stop_trainer(rt);
    rt__stop_gate(rt);
}

static void rt__close_cb(uv_handle_t *h) { (void)h; }

static void rt__maybe_finish(rt_runtime_t *rt) {
    for (int i = 0; i < RT_WORKER_COUNT; i++)
        if (rt->worker_running[i]) return;
    uv_close((uv_handle_t *)&rt->sig_int, rt__close_cb);
    uv_close((uv_handle_t *)&rt->sig_term, rt__close_cb);
    uv_close((uv_handle_t *)&rt->sig_usr1, rt__close_cb);
    uv_close((uv_handle_t *)&rt->status_timer, rt__close_cb);
    uv_close((uv_handle_t *)&rt->async, rt__close_cb);
}

static void rt__on_async(uv_async_t *h) {
    rt_runtime_t *rt = h->data;
    uv_mutex_lock(&rt->ev_lock);
    rt_event_t *ev = rt->ev_head;
    rt->ev_head = rt->ev_tail = NULL;
    uv_mutex_unlock(&rt->ev_lock);
    while (ev) {
        rt_event_t *next = ev->next;
        switch (ev->kind) {
        case RT_EV_NET: {
            uv_mutex_lock(&rt->state_lock);
            bool is_new = strcmp(rt->c.current_net, ev->name) != 0;
            snprintf(rt->c.current_net, sizeof(rt->c.current_net), "%s", ev->name);
            bool cycle = is_new && strcmp(ev->name, "random") != 0;
            if (cycle) rt->c.cycles++;
            int64_t cycles = rt->c.cycles;
            uv_mutex_unlock(&rt->state_lock);
            if (cycle) {
                rt->session_cycles++;
                TG_LOGI("run: cycle %" PRId64 " complete: selfplay switched to %s", cycles,
                        ev->name);
                if (rt->limits.max_cycles > 0 && rt->session_cycles >= rt->limits.max_cycles)
                    rt__begin_pause(rt, "--max-cycles reached");
            }
            break;
        }
        case RT_EV_EXPORT:
            if (rt->gate_on) {
                uv_mutex_lock(&rt->gate_lock);
                if (rt->gate_queue_len == 16) { /* keep the newest 15 */
                    memmove(rt->gate_queue[0], rt->gate_queue[1], 15 * sizeof(rt->gate_queue[0]));
                    rt->gate_queue_len = 15;
                }
                snprintf(rt->gate_queue[rt->gate_queue_len++], RT_NAME_MAX, "%s", ev->name);
                uv_cond_signal(&rt->gate_cond);
                uv_mutex_unlock(&rt->gate_lock);
            } else {
                uv_mutex_lock(&rt->state_lock);
                snprintf(rt->c.accepted_net, sizeof(rt->c.accepted_net), "%s", ev->name);
                uv_mutex_unlock(&rt->state_lock);
            }
            break;
        case RT_EV_GATE:
            TG_LOGI("run: gate: %s", ev->text);
            break;
        case RT_EV_WORKER_DONE:
            rt__join_worker(rt, ev->worker);
            rt->worker_running[ev->worker] = false;
            if (ev->code < 0) {
                TG_LOGE("run: %s", ev->text);
                if (!rt->first_rc) {
                    rt->first_rc = ev->code;
                    tg_err_set(&rt->first_err, ev->code, "%s", ev->text);
                }
                rt__begin_pause(rt, "a worker failed");
            } else if (!rt->pausing) {
                rt__begin_pause(rt, "a worker ended");
            }
            break;
        }
        free(ev);
        ev = next;
    }
    if (rt->pausing && !rt->hard_exit) rt__maybe_finish(rt);
}

static void rt__on_signal(uv_signal_t *h, int signum) {
    rt_runtime_t *rt = h->data;
    if (signum == SIGUSR1) {
        rt__status(rt, false);
        return;
    }
    rt->signals_seen++;
    if (rt->signals_seen == 1) {
        rt->paused_by_signal = true;
        rt__begin_pause(rt, signum == SIGINT ? "SIGINT" : "SIGTERM");
        TG_LOGI("run: a second signal exits at once (files on disk stay complete)");
        rt__maybe_finish(rt);
    } else {
        TG_LOGW("run: second signal: exiting now without waiting");
        rt->hard_exit = true;
        uv_stop(&rt->loop);
    }
}

static void rt__on_timer(uv_timer_t *h) {
    rt_runtime_t *rt = h->data;
    rt__status(rt, true);
    if (rt->limits.max_minutes > 0 && rt__now_s() - rt->t_start >= 60.0 * rt->limits.max_minutes)
        rt__begin_pause(rt, "--max-minutes reached");
    if (rt->pausing) rt__maybe_finish(rt);
}

/* ---- Setup -------------------------------------------------------------------------------- */

static int rt__setup_dirs(rt_runtime_t *rt, tg_err_t *err) {
    int rc = tg_mkdir_p(rt->plan.dir, err);
    if (rc) return rc;
    char *abs = realpath(rt->plan.dir, NULL);
    if (!abs) return tg_err_set(err, TG_EIO, "%s: %s", rt->plan.dir, strerror(errno));
    snprintf(rt->dir, sizeof(rt->dir), "%s", abs);
    free(abs);
    snprintf(rt->state_dir, sizeof(rt->state_dir), "%.900s/state", rt->dir);
    snprintf(rt->models_dir, sizeof(rt->models_dir), "%.900s/models", rt->dir);
    snprintf(rt->test_dir, sizeof(rt->test_dir), "%.900s/modelstobetested", rt->dir);
    snprintf(rt->rejected_dir, sizeof(rt->rejected_dir), "%.900s/rejectedmodels", rt->dir);
    snprintf(rt->selfplay_dir, sizeof(rt->selfplay_dir), "%.900s/selfplay", rt->dir);
    if ((rc = tg_mkdir_p(rt->state_dir, err)) || (rc = tg_mkdir_p(rt->models_dir, err)) ||
        (rc = tg_mkdir_p(rt->selfplay_dir, err)))
        return rc;
    if (rt->cfg.gate_enabled &&
        ((rc = tg_mkdir_p(rt->test_dir, err)) || (rc = tg_mkdir_p(rt->rejected_dir, err))))
        return rc;
    char p[RT_PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/run.lock", rt->dir);
    rt->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (rt->lock_fd < 0) return tg_err_set(err, TG_EIO, "%s: %s", p, strerror(errno));
    if (flock(rt->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return tg_err_set(err, TG_ESTATE, "%s: another `tengen run` is using this directory",
                          rt->dir);
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(rt->lock_fd, 0) != 0 || write(rt->lock_fd, pid, (size_t)n) != n)
        TG_LOGW("run: cannot write the pid to %s", p);
    /* Stale exports of a killed session (selfplay and KataGo's tools skip them anyway). */
    const char *mdirs[2] = {rt->models_dir, rt->test_dir};
    for (int k = 0; k < 2; k++) {
        DIR *md = opendir(mdirs[k]);
        struct dirent *me;
        while (md && (me = readdir(md)) != NULL) {
            size_t l = strlen(me->d_name);
            if (l < 9 || strcmp(me->d_name + l - 9, ".exported")) continue;
            char q[RT_PATH_MAX * 2 + 64];
            snprintf(q, sizeof(q), "%s/%s/model.bin.gz", mdirs[k], me->d_name);
            remove(q);
            snprintf(q, sizeof(q), "%s/%s", mdirs[k], me->d_name);
            DIR *inner = opendir(q);
            struct dirent *ie;
            while (inner && (ie = readdir(inner)) != NULL) {
                if (ie->d_name[0] == '.') continue;
                char r[RT_PATH_MAX * 3];
                snprintf(r, sizeof(r), "%s/%s", q, ie->d_name);
                remove(r);
            }
            if (inner) closedir(inner);
            if (rmdir(q) == 0) TG_LOGW("run: removed stale export %s", q);
        }
        if (md) closedir(md);
    }
    /* Stale temp files of a killed session. */
    DIR *d = opendir(rt->state_dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strstr(de->d_name, ".tmp.")) {
                snprintf(p, sizeof(p), "%.900s/%.100s", rt->state_dir, de->d_name);
                remove(p);
            }
        closedir(d);
    }
    return 0;
}

static void rt__free(rt_runtime_t *rt) {
    trainer_destroy(rt->trainer);
    trainrows_free(&rt->batch_rows);
    shuffle_window_destroy(rt->window);
    free(rt->ledger);
    if (rt->metrics) fclose(rt->metrics);
    if (rt->lock_fd > 0) close(rt->lock_fd);
    uv_mutex_destroy(&rt->ev_lock);
    uv_mutex_destroy(&rt->ingest_lock);
    uv_mutex_destroy(&rt->state_lock);
    uv_mutex_destroy(&rt->gate_lock);
    uv_cond_destroy(&rt->gate_cond);
    free(rt);
}

int tg_runtime_run(const tg_config_t *cfg, const char *dir_override,
                   const tg_runtime_limits_t *limits, tg_runtime_result_t *result, tg_err_t *err) {
    tg_runtime_result_t dummy;
    if (!result) result = &dummy;
    memset(result, 0, sizeof(*result));
    rt_runtime_t *rt = calloc(1, sizeof(*rt));
    if (!rt) return tg_err_set(err, TG_ENOMEM, "run: out of memory");
    rt->cfg = *cfg;
    if (limits) rt->limits = *limits;
    rt->lock_fd = -1;
    rt->rows_at_ready = -1;
    uv_mutex_init(&rt->ev_lock);
    uv_mutex_init(&rt->ingest_lock);
    uv_mutex_init(&rt->state_lock);
    uv_mutex_init(&rt->gate_lock);
    uv_cond_init(&rt->gate_cond);
    int rc = tg_runtime_plan(cfg, dir_override, &rt->plan, err);
    if (rc) goto fail;
    if ((rc = rt__setup_dirs(rt, err))) goto fail;
    if (!cfg->log_file[0]) {
        char lp[RT_PATH_MAX + 32];
        snprintf(lp, sizeof(lp), "%s/tengen.log", rt->dir);
        tg_err_t lerr;
        if (tg_log_open_file(lp, TG_LOG_INFO, &lerr)) TG_LOGW("run: %s", lerr.msg);
    }
    bool found = false;
    if ((rc = rt__state_load(rt, &found, err))) goto fail;
    if (!found) {
        rt->c.seed = cfg->run_seed ? (uint64_t)cfg->run_seed : tg_rng_entropy_seed();
        rt->c.next_export_samples = cfg->train_export_every_samples;
    }
    rt->c.sessions++;
    TG_LOGI("run: %s session %" PRId64 " in %s (seed %" PRIu64 ")", found ? "resuming" : "starting",
            rt->c.sessions, rt->dir, rt->c.seed);

    shuffle_config_t sc;
    rt__shuffle_config(cfg, rt->plan.data_len, rt->c.seed, &sc);
    if ((rc = shuffle_window_create(&rt->window, &sc, err))) goto fail;
    train_config_t tc;
    train_config_by_name(cfg->train_model_kind, &tc);
    train_options_t to;
    rt__train_options(cfg, &tc, rt->plan.data_len, rt->c.seed, &to);
    if ((rc = trainer_create(&rt->trainer, &to, err))) goto fail;
    if ((rc = trainrows_init(&rt->batch_rows, rt->plan.data_len, (int)cfg->train_batch, err)))
        goto fail;
    if ((rc = rt__resume(rt, found, err))) goto fail;
    atomic_store(&rt->steps_pub, trainer_steps(rt->trainer));
    atomic_store(&rt->samples_pub, trainer_samples(rt->trainer));
    if ((rc = rt__write_state(rt, err))) goto fail;
    {
        char cp[RT_PATH_MAX + 64];
        snprintf(cp, sizeof(cp), "%s/config-session%" PRId64 ".ini", rt->dir, rt->c.sessions);
        FILE *cf = fopen(cp, "w");
        if (cf) {
            tg_config_print(cfg, cf);
            fclose(cf);
        }
        snprintf(cp, sizeof(cp), "%s/metrics.jsonl", rt->dir);
        rt->metrics = fopen(cp, "a");
        if (!rt->metrics) TG_LOGW("run: cannot append to %s", cp);
    }
    rt->gate_on = cfg->gate_enabled || cfg->gate_ladder_games > 0;

    uv_loop_init(&rt->loop);
    rt->async.data = rt->sig_int.data = rt->sig_term.data = rt->sig_usr1.data =
        rt->status_timer.data = rt;
    uv_async_init(&rt->loop, &rt->async, rt__on_async);
    uv_signal_init(&rt->loop, &rt->sig_int);
    uv_signal_init(&rt->loop, &rt->sig_term);
    uv_signal_init(&rt->loop, &rt->sig_usr1);
    uv_signal_start(&rt->sig_int, rt__on_signal, SIGINT);
    uv_signal_start(&rt->sig_term, rt__on_signal, SIGTERM);
    uv_signal_start(&rt->sig_usr1, rt__on_signal, SIGUSR1);
    uv_timer_init(&rt->loop, &rt->status_timer);
    uint64_t every_ms = (uint64_t)(cfg->run_status_every_s * 1000.0);
    uv_timer_start(&rt->status_timer, rt__on_timer, every_ms, every_ms);
    rt->t_start = rt->last_status_t = rt__now_s();
    rt->last_status_cpu = rt__process_cpu_s();
    rt->last_status_trainer_cpu = rt->c.trainer_cpu_s;
    rt->last_status_gate_cpu = rt->c.gate_cpu_s;
    rt->last_status_rows = atomic_load(&rt->rows_ingested); /* resume appends count as new */
    {
        shuffle_stats_t ws;
        shuffle_window_get_stats(rt->window, &ws);
        rt->last_status_rows = ws.rows_total;
    }
    if ((rc = rt__start_workers(rt, err))) {
        rt__begin_pause(rt, "start failed");
        rt->first_rc = rc;
        rt->first_err = *err;
    }
    uv_run(&rt->loop, UV_RUN_DEFAULT);

    if (rt->hard_exit) {
        /* Workers still run: leave everything allocated; the caller exits the process. */
        result->hard_exit = true;
        result->paused_by_signal = true;
        return 0;
    }
    uv_loop_close(&rt->loop);
    rt__status(rt, true);
    /* Every worker is joined: this thread owns the trainer. Final save point. */
    tg_err_t serr;
    int src = rt__save_point(rt, &serr);
    if (src && !rt->first_rc) {
        rt->first_rc = src;
        rt->first_err = serr;
    }
    shuffle_stats_t ws;
    shuffle_window_get_stats(rt->window, &ws);
    result->paused_by_signal = rt->paused_by_signal;
    result->cycles = rt->session_cycles;
    result->games = atomic_load(&rt->games);
    result->rows = ws.rows_total;
    result->steps = trainer_steps(rt->trainer);
    result->exports = rt->c.exports;
    TG_LOGI("run: paused after %.0f s: %lld games, %" PRId64 " rows, %" PRId64 " steps, %" PRId64
            " exports, %" PRId64 " cycles this session; `tengen run` again resumes",
            rt__now_s() - rt->t_start, (long long)result->games, result->rows, result->steps,
            result->exports, rt->session_cycles);
    rc = rt->first_rc;
    if (rc && err) *err = rt->first_err;
    tg_log_close_file();
    rt__free(rt);
    return rc;
fail:
    tg_log_close_file();
    rt__free(rt);
    return rc;
}
