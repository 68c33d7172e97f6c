/* selfplay.c: the self-play engine: game threads, nets (evaluator + batching service + data
 * writer per net), model switching between games, SGF output and graceful stop. See
 * selfplay.h for the thread layout and lock rules. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "selfplay/selfplay_internal.h"
#include "sgf/sgf.h"
#include "util/fileio.h"
#include "util/log.h"

typedef struct selfplay_engine_s selfplay_engine_t;

typedef struct selfplay_worker_s {
    selfplay_engine_t *engine;
    int id;
    uv_thread_t tid;
    bool started;
    atomic_bool finished;
    selfplay_game_ctx_t ctx;
} selfplay_worker_t;

struct selfplay_engine_s {
    const tg_selfplay_params_t *params;
    char output_dir[1024];
    tg_evalservice_params_t svc_params;
    atomic_bool stop_all; /* user stop, an error, or the end */

    /* Lock: lock guards current, every net's refs/retired, the totals and the first error. */
    uv_mutex_t lock;
    selfplay_net_t *current;
    int64_t nets_loaded, files, rows, nn_positions, nn_batches, nn_cache_hits, nn_cache_lookups;
    int first_rc;
    tg_err_t first_err;

    atomic_llong games_claimed, games_done, moves, turns_full;
};

/* ---- Models ------------------------------------------------------------------------------- */

static bool selfplay__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Recursive scan for the newest *.bin.gz / *.bin file (depth-limited). */
static int selfplay__scan_models(const char *dir, int depth, char *best, size_t cap,
                                 int64_t *best_mtime, tg_err_t *err) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return tg_err_set(err, TG_EIO, "%s: cannot open models dir: %s", dir, strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL && rc >= 0) {
        if (de->d_name[0] == '.') continue;
        if (selfplay__ends_with(de->d_name, ".tmp") || selfplay__ends_with(de->d_name, ".exported"))
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 4) rc = selfplay__scan_models(path, depth + 1, best, cap, best_mtime, err);
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        if (!selfplay__ends_with(de->d_name, ".bin.gz") && !selfplay__ends_with(de->d_name, ".bin"))
            continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (*best_mtime < 0 || mt > *best_mtime) {
            *best_mtime = mt;
            snprintf(best, cap, "%s", path);
        }
    }
    closedir(d);
    return rc;
}

int tg_selfplay_find_latest_model(const char *models_dir, char *path, size_t path_cap, char *name,
                                  size_t name_cap, int64_t *mtime_ns, tg_err_t *err) {
    if (!models_dir || !models_dir[0]) return 0;
    char best[2048] = "";
    int64_t best_mt = -1;
    int rc = selfplay__scan_models(models_dir, 0, best, sizeof(best), &best_mt, err);
    if (rc < 0) return rc;
    if (best_mt < 0) return 0;
    snprintf(path, path_cap, "%s", best);
    *mtime_ns = best_mt;
    const char *base = strrchr(best, '/');
    base = base ? base + 1 : best;
    char nm[512];
    if (!strcmp(base, "model.bin.gz") || !strcmp(base, "model.bin")) {
        size_t dl = (size_t)(base - best);
        dl = dl > 0 ? dl - 1 : 0; /* drop the slash */
        char parent[2048];
        snprintf(parent, sizeof(parent), "%.*s", (int)dl, best);
        const char *pb = strrchr(parent, '/');
        if (snprintf(nm, sizeof(nm), "%s", pb ? pb + 1 : parent) >= (int)sizeof(nm)) nm[0] = '\0';
    } else {
        if (snprintf(nm, sizeof(nm), "%s", base) >= (int)sizeof(nm)) nm[0] = '\0';
        size_t l = strlen(nm);
        if (selfplay__ends_with(nm, ".bin.gz"))
            nm[l - 7] = '\0';
        else if (selfplay__ends_with(nm, ".bin"))
            nm[l - 4] = '\0';
    }
    if (!nm[0]) snprintf(nm, sizeof(nm), "model");
    snprintf(name, name_cap, "%s", nm);
    return 1;
}

/* ---- Nets --------------------------------------------------------------------------------- */

/* Loads path (NULL: the random net) with its service and writer. */
static int selfplay__net_open(selfplay_engine_t *e, const char *path, const char *name,
                              int64_t mtime_ns, uint64_t seed, selfplay_net_t **out,
                              tg_err_t *err) {
    const tg_selfplay_params_t *p = e->params;
    selfplay_net_t *net = calloc(1, sizeof(*net));
    if (!net) return tg_err_set(err, TG_ENOMEM, "selfplay: out of memory");
    snprintf(net->name, sizeof(net->name), "%s", name);
    snprintf(net->path, sizeof(net->path), "%s", path ? path : "");
    net->mtime_ns = mtime_ns;
    int rc;
    tg_evalservice_backend_t backend = tg_evalservice_backend_uniform();
    if (path) {
        /* One evaluator per service thread, so their batches run concurrently. */
        int k = e->svc_params.num_threads;
        if (k < 1) k = 1;
        if (k > TG_EVALSERVICE_MAX_POOL) k = TG_EVALSERVICE_MAX_POOL;
        for (int i = 0; i < k; i++) {
            rc = tg_nn_evaluator_create(path, e->svc_params.max_batch, p->nn_threads,
                                        &net->pool.evs[i], err);
            if (rc) goto fail_nn;
            net->pool.count = i + 1;
        }
        net->nn = net->pool.evs[0];
        backend = tg_evalservice_backend_nn_pool(&net->pool);
    }
    rc = tg_evalservice_create(&e->svc_params, &backend, &net->svc, err);
    if (rc) goto fail_nn;

    selfplay_writer_t *w = &net->writer;
    int l1 = snprintf(w->tdata_dir, sizeof(w->tdata_dir), "%s/%s/tdata", e->output_dir, name);
    int l2 = snprintf(w->sgfs_dir, sizeof(w->sgfs_dir), "%s/%s/sgfs", e->output_dir, name);
    if (l1 < 0 || l2 < 0 || (size_t)l1 >= sizeof(w->tdata_dir) ||
        (size_t)l2 >= sizeof(w->sgfs_dir)) {
        rc = tg_err_set(err, TG_ERANGE, "selfplay: output path too long: %s", e->output_dir);
        goto fail_svc;
    }
    if ((rc = tg_mkdir_p(w->tdata_dir, err)) || (rc = tg_mkdir_p(w->sgfs_dir, err))) goto fail_svc;
    tg_rng_seed(&w->rng, seed, 0x5e1f);
    w->hooks = &p->hooks;
    snprintf(w->net_name, sizeof(w->net_name), "%s", name);
    w->random_net = path == NULL;
    w->max_rows = p->max_rows_per_file;
    w->npz_level = p->npz_level;
    double u = tg_rng_uniform(&w->rng);
    w->file_cap = w->max_rows - (int)floor(w->max_rows * (1.0 - p->first_file_rand_min_prop) * u);
    if (w->file_cap < 1) w->file_cap = 1;
    rc = trainrows_init(&w->rows, p->data_len, w->max_rows, err);
    if (rc) goto fail_svc;
    if (uv_mutex_init(&w->lock)) {
        rc = tg_err_set(err, TG_EINTERNAL, "selfplay: mutex init failed");
        goto fail_rows;
    }
    *out = net;
    return 0;

fail_rows:
    trainrows_free(&w->rows);
fail_svc:
    tg_evalservice_destroy(net->svc);
fail_nn:
    for (int i = 0; i < net->pool.count; i++)
        tg_nn_evaluator_destroy(net->pool.evs[i]);
    free(net);
    return rc;
}

static void selfplay__record_error(selfplay_engine_t *e, int rc, const tg_err_t *err) {
    uv_mutex_lock(&e->lock);
    if (!e->first_rc) {
        e->first_rc = rc;
        e->first_err = *err;
    }
    uv_mutex_unlock(&e->lock);
    atomic_store(&e->stop_all, true);
}

/* Flushes the net's rows and frees it. No game thread may use it any more. */
static void selfplay__net_close(selfplay_engine_t *e, selfplay_net_t *net) {
    tg_err_t err;
    tg_err_clear(&err);
    uv_mutex_lock(&net->writer.lock);
    int rc = selfplay__writer_flush_locked(&net->writer, &err);
    int64_t files = net->writer.files, rows = net->writer.rows_written;
    uv_mutex_unlock(&net->writer.lock);
    if (rc) {
        TG_LOGE("selfplay: %s", err.msg);
        selfplay__record_error(e, rc, &err);
    }
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(net->svc, &st);
    TG_LOGI("selfplay: net %s done: %lld rows in %lld files, %lld evals in %lld batches "
            "(mean fill %.2f), %.0f evals/s, nn cache %lld hits / %lld lookups (%.1f %%)",
            net->name, (long long)rows, (long long)files, (long long)st.positions,
            (long long)st.batches, st.mean_fill, st.evals_per_s, (long long)st.cache_hits,
            (long long)(st.cache_hits + st.cache_misses), 100.0 * st.cache_hit_rate);
    uv_mutex_lock(&e->lock);
    e->files += files;
    e->rows += rows;
    e->nn_positions += st.positions;
    e->nn_batches += st.batches;
    e->nn_cache_hits += st.cache_hits;
    e->nn_cache_lookups += st.cache_hits + st.cache_misses;
    uv_mutex_unlock(&e->lock);
    tg_evalservice_destroy(net->svc);
    for (int i = 0; i < net->pool.count; i++)
        tg_nn_evaluator_destroy(net->pool.evs[i]);
    trainrows_free(&net->writer.rows);
    uv_mutex_destroy(&net->writer.lock);
    free(net);
}

static selfplay_net_t *selfplay__net_acquire(selfplay_engine_t *e) {
    uv_mutex_lock(&e->lock);
    selfplay_net_t *net = e->current;
    net->refs++;
    uv_mutex_unlock(&e->lock);
    return net;
}

static void selfplay__net_release(selfplay_engine_t *e, selfplay_net_t *net) {
    uv_mutex_lock(&e->lock);
    bool close = --net->refs == 0 && net->retired;
    uv_mutex_unlock(&e->lock);
    if (close) selfplay__net_close(e, net);
}

/* Makes net current; the old one closes when its last game ends. Main thread. */
static void selfplay__net_install(selfplay_engine_t *e, selfplay_net_t *net) {
    uv_mutex_lock(&e->lock);
    selfplay_net_t *old = e->current;
    e->current = net;
    e->nets_loaded++;
    bool close = false;
    if (old) {
        old->retired = true;
        close = old->refs == 0;
    }
    uv_mutex_unlock(&e->lock);
    if (e->params->hooks.on_net)
        e->params->hooks.on_net(e->params->hooks.ctx, net->name, net->path);
    if (close) selfplay__net_close(e, old);
}

/* ---- Game threads ------------------------------------------------------------------------- */

static int selfplay__write_sgf(selfplay_net_t *net, selfplay_game_ctx_t *ctx, tg_err_t *err) {
    char result[32];
    selfplay__result_string(&ctx->game, result, sizeof(result));
    tg_sgf_t sgf;
    int rc = tg_sgf_from_game(&ctx->game, result, &sgf, err);
    if (rc) {
        tg_sgf_free(&sgf);
        return rc;
    }
    char player[300];
    snprintf(player, sizeof(player), "tengen-%s", net->name);
    tg_sgf_set_root_prop(&sgf, "PB", player, NULL);
    tg_sgf_set_root_prop(&sgf, "PW", player, NULL);
    char *text = NULL;
    size_t len = 0;
    rc = tg_sgf_write(&sgf, &text, &len, err);
    tg_sgf_free(&sgf);
    if (rc) return rc;
    char path[1200];
    snprintf(path, sizeof(path), "%s/%016llX.sgf", net->writer.sgfs_dir,
             (unsigned long long)tg_rng_u64(&ctx->rng));
    rc = tg_file_write_atomic(path, text, len, err);
    free(text);
    return rc;
}

static void selfplay__worker_main(void *arg) {
    selfplay_worker_t *w = arg;
    selfplay_engine_t *e = w->engine;
    const tg_selfplay_params_t *p = e->params;
    char tname[16];
    snprintf(tname, sizeof(tname), "game%d", w->id);
    tg_log_set_thread_name(tname);
    tg_err_t err;
    selfplay_final_t *fin = malloc(sizeof(*fin));
    if (!fin) {
        tg_err_set(&err, TG_ENOMEM, "selfplay: out of memory");
        selfplay__record_error(e, TG_ENOMEM, &err);
    }
    while (fin && !atomic_load(&e->stop_all)) {
        if (p->max_games > 0 && atomic_fetch_add(&e->games_claimed, 1) >= p->max_games) break;
        selfplay_net_t *net = selfplay__net_acquire(e);
        tg_evalservice_attach(net->svc);
        tg_search_evaluator_t ev = tg_evalservice_evaluator(net->svc);
        w->ctx.random_net = net->nn == NULL;
        tg_err_clear(&err);
        int rc = selfplay__play_game(&w->ctx, &ev, fin, &err);
        if (rc == 0) {
            selfplay__apply_surprise_weights(p, &w->ctx.rec, fin);
            selfplay__resolve_copies(&w->ctx.rec, &w->ctx.rng);
            rc = selfplay__estimate_leads(&w->ctx, fin, &err);
        }
        tg_evalservice_detach(net->svc);
        if (rc == 0) {
            int rows = selfplay__write_game_rows(&net->writer, &w->ctx.rec, fin, &w->ctx.rng, &err);
            rc = rows < 0 ? rows : selfplay__write_sgf(net, &w->ctx, &err);
            if (rc == 0) {
                atomic_fetch_add(&e->games_done, 1);
                atomic_fetch_add(&e->moves, w->ctx.game.num_moves);
                int full = 0;
                for (int i = 0; i < w->ctx.rec.num_turns; i++)
                    full += w->ctx.rec.turns[i].full;
                atomic_fetch_add(&e->turns_full, full);
                char res[32];
                selfplay__result_string(&w->ctx.game, res, sizeof(res));
                TG_LOGD("selfplay: game done: %dx%d, %d moves, %s, %d rows", fin->board_size,
                        fin->board_size, w->ctx.game.num_moves, res, rows);
                if (p->hooks.on_game)
                    p->hooks.on_game(p->hooks.ctx, net->name, rows, w->ctx.game.num_moves);
            }
        }
        selfplay__net_release(e, net);
        if (rc == 1) break; /* stopped mid-game: dropped */
        if (rc < 0) {
            TG_LOGE("selfplay: %s", err.msg);
            selfplay__record_error(e, rc, &err);
            break;
        }
    }
    free(fin);
    atomic_store(&w->finished, true);
}

/* ---- Run ---------------------------------------------------------------------------------- */

static void selfplay__sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int tg_selfplay_run(const tg_selfplay_params_t *p, const char *models_dir, const char *output_dir,
                    atomic_bool *stop, tg_selfplay_stats_t *stats, tg_err_t *err) {
    int rc = tg_selfplay_params_validate(p, err);
    if (rc) return rc;
    rc = tg_mkdir_p(output_dir, err);
    if (rc) return rc;
    selfplay_engine_t *e = calloc(1, sizeof(*e));
    if (!e) return tg_err_set(err, TG_ENOMEM, "selfplay: out of memory");
    e->params = p;
    snprintf(e->output_dir, sizeof(e->output_dir), "%s", output_dir);
    e->svc_params = p->service;
    if (e->svc_params.max_batch <= 0) e->svc_params.max_batch = p->num_game_threads;
    if (e->svc_params.cache_board_len <= 0) e->svc_params.cache_board_len = p->data_len;
    atomic_init(&e->stop_all, false);
    atomic_init(&e->games_claimed, 0);
    atomic_init(&e->games_done, 0);
    atomic_init(&e->moves, 0);
    atomic_init(&e->turns_full, 0);
    if (uv_mutex_init(&e->lock)) {
        free(e);
        return tg_err_set(err, TG_EINTERNAL, "selfplay: mutex init failed");
    }
    uint64_t seed = p->seed ? p->seed : tg_rng_entropy_seed();
    TG_LOGI("selfplay: seed %llu, %d game threads, %dx%d data, output %s", (unsigned long long)seed,
            p->num_game_threads, p->data_len, p->data_len, output_dir);
    double t0 = 1e-9 * (double)uv_hrtime();

    /* First net. */
    char path[2048], name[256];
    int64_t mtime = 0;
    selfplay_net_t *net = NULL;
    int found = tg_selfplay_find_latest_model(models_dir, path, sizeof(path), name, sizeof(name),
                                              &mtime, err);
    if (found < 0) {
        rc = found;
        goto fail_engine;
    }
    rc = selfplay__net_open(e, found ? path : NULL, found ? name : "random", found ? mtime : 0,
                            seed, &net, err);
    if (rc) goto fail_engine;
    TG_LOGI("selfplay: using net %s (%s)", net->name, found ? path : "uniform random evaluator");
    selfplay__net_install(e, net);

    /* Game threads. */
    int nw = p->num_game_threads;
    selfplay_worker_t *workers = calloc((size_t)nw, sizeof(*workers));
    if (!workers) {
        rc = tg_err_set(err, TG_ENOMEM, "selfplay: out of memory");
        goto fail_net;
    }
    tg_search_evaluator_t placeholder = tg_evalservice_uniform_evaluator();
    for (int i = 0; i < nw && rc == 0; i++) {
        selfplay_worker_t *w = &workers[i];
        w->engine = e;
        w->id = i;
        atomic_init(&w->finished, false);
        w->ctx.params = p;
        w->ctx.stop = &e->stop_all;
        tg_rng_seed(&w->ctx.rng, seed, (uint64_t)i + 1);
        if (selfplay__recorder_init(&w->ctx.rec, p->data_len, p->max_moves_per_game + 1)) {
            rc = tg_err_set(err, TG_ENOMEM, "selfplay: out of memory for turn records");
            break;
        }
        tg_search_params_t sp = p->search;
        sp.seed = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i + 1;
        rc = tg_search_create(&sp, &placeholder, &w->ctx.search, err);
    }
    for (int i = 0; i < nw && rc == 0; i++) {
        if (uv_thread_create(&workers[i].tid, selfplay__worker_main, &workers[i])) {
            rc = tg_err_set(err, TG_EINTERNAL, "selfplay: could not start game thread %d", i);
            atomic_store(&e->stop_all, true);
            break;
        }
        workers[i].started = true;
    }

    /* Main loop: stop flag, model polling. */
    double next_poll = 1e-9 * (double)uv_hrtime() + p->model_poll_s;
    while (rc == 0) {
        bool all_done = true;
        for (int i = 0; i < nw; i++)
            all_done = all_done && atomic_load(&workers[i].finished);
        if (all_done) break;
        if (stop && atomic_load(stop)) atomic_store(&e->stop_all, true);
        double now = 1e-9 * (double)uv_hrtime();
        if (models_dir && now >= next_poll && !atomic_load(&e->stop_all)) {
            next_poll = now + p->model_poll_s;
            tg_err_t perr;
            found = tg_selfplay_find_latest_model(models_dir, path, sizeof(path), name,
                                                  sizeof(name), &mtime, &perr);
            if (found < 0) TG_LOGW("selfplay: %s", perr.msg);
            if (found > 0 && (strcmp(path, e->current->path) || mtime != e->current->mtime_ns)) {
                selfplay_net_t *nnet;
                int lrc = selfplay__net_open(e, path, name, mtime, seed + (uint64_t)e->nets_loaded,
                                             &nnet, &perr);
                if (lrc)
                    TG_LOGW("selfplay: could not load %s, keeping %s: %s", path, e->current->name,
                            perr.msg);
                else {
                    TG_LOGI("selfplay: switching to net %s (%s)", nnet->name, path);
                    selfplay__net_install(e, nnet);
                }
            }
        }
        selfplay__sleep_ms(20);
    }
    for (int i = 0; i < nw; i++)
        if (workers[i].started) uv_thread_join(&workers[i].tid);
    for (int i = 0; i < nw; i++) {
        tg_search_destroy(workers[i].ctx.search);
        selfplay__recorder_free(&workers[i].ctx.rec);
    }
    free(workers);

fail_net:
    /* Retire the current net: flushes its rows. */
    uv_mutex_lock(&e->lock);
    net = e->current;
    e->current = NULL;
    uv_mutex_unlock(&e->lock);
    if (net) selfplay__net_close(e, net);
    if (rc == 0 && e->first_rc) {
        rc = e->first_rc;
        if (err) *err = e->first_err;
    }
    if (stats) {
        memset(stats, 0, sizeof(*stats));
        stats->games = atomic_load(&e->games_done);
        stats->moves = atomic_load(&e->moves);
        stats->turns_full = atomic_load(&e->turns_full);
        stats->rows = e->rows;
        stats->files = e->files;
        stats->nets_loaded = e->nets_loaded;
        stats->nn_positions = e->nn_positions;
        stats->nn_batches = e->nn_batches;
        stats->nn_cache_hits = e->nn_cache_hits;
        stats->nn_cache_lookups = e->nn_cache_lookups;
        stats->nn_mean_fill =
            e->nn_batches > 0 ? (double)e->nn_positions / (double)e->nn_batches : 0.0;
        stats->elapsed_s = 1e-9 * (double)uv_hrtime() - t0;
    }
fail_engine:
    uv_mutex_destroy(&e->lock);
    free(e);
    return rc;
}
