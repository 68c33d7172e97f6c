/* runtime_state.c: save points, the run state file, the ingest ledger and resume.
 *
 * Why: `tengen run` must resume exactly after a pause and lose or duplicate nothing after a
 * kill -9. Every file here is written temp + fsync + rename; a save point's files carry their
 * generation number in their names and run.state names the generation that is complete, so
 * a crash between two writes leaves the previous save point intact (see runtime.h).
 *
 * run.state is "key=value" lines (version 1). The ledger lists every .npz whose rows entered
 * the window, in order: "<first global row> <rows> <random 0|1> <path relative to the run
 * dir>"; its row counts add up to the window's rows_total, which resume checks. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/rng.h"

#define RT_STATE_VERSION 1

/* ---- key=value files ---------------------------------------------------------------------- */

int rt__read_kv_file(const char *path, char keys[][64], char vals[][RT_PATH_MAX], int cap,
                     tg_err_t *err) {
    char *text = NULL;
    size_t len = 0;
    int rc = tg_file_read_all(path, 1 << 20, &text, &len, err);
    if (rc) return rc;
    int n = 0, line = 0;
    char *save = NULL;
    for (char *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        line++;
        if (!s[0] || s[0] == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq || eq == s || (size_t)(eq - s) >= 64) {
            free(text);
            return tg_err_set(err, TG_EFORMAT, "%s:%d: expected key=value", path, line);
        }
        if (n == cap) break;
        snprintf(keys[n], 64, "%.*s", (int)(eq - s), s);
        snprintf(vals[n], RT_PATH_MAX, "%s", eq + 1);
        n++;
    }
    free(text);
    return n;
}

static const char *rt__kv_get(char keys[][64], char vals[][RT_PATH_MAX], int n, const char *k) {
    for (int i = 0; i < n; i++)
        if (!strcmp(keys[i], k)) return vals[i];
    return NULL;
}

int rt__write_state(rt_runtime_t *rt, tg_err_t *err) {
    char path[RT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/run.state", rt->state_dir);
    shuffle_stats_t ws;
    shuffle_window_get_stats(rt->window, &ws);
    tg_atomic_file_t af;
    int rc = tg_atomic_file_open(&af, path, err);
    if (rc) return rc;
    uv_mutex_lock(&rt->state_lock);
    rt_counters_t c = rt->c;
    uv_mutex_unlock(&rt->state_lock);
    FILE *f = af.fp;
    fprintf(f, "# tengen run state (written atomically at every save point)\n");
    fprintf(f, "version=%d\ngen=%" PRId64 "\nsessions=%" PRId64 "\nseed=%" PRIu64 "\n",
            RT_STATE_VERSION, c.gen, c.sessions, c.seed);
    fprintf(f,
            "exports=%" PRId64 "\ncycles=%" PRId64 "\naccepted_count=%" PRId64
            "\nrejected_count=%" PRId64 "\nnext_export_samples=%" PRId64 "\n",
            c.exports, c.cycles, c.accepted_count, c.rejected_count, c.next_export_samples);
    fprintf(f, "current_net=%s\naccepted_net=%s\nlast_export=%s\nlast_gate=%s\n", c.current_net,
            c.accepted_net, c.last_export, c.last_gate);
    fprintf(f,
            "wall_s=%.3f\ntrainer_busy_s=%.3f\ntrainer_cpu_s=%.3f\ngate_cpu_s=%.3f\n"
            "process_cpu_s=%.3f\nselfplay_wait_s=%.3f\n",
            c.wall_s, c.trainer_busy_s, c.trainer_cpu_s, c.gate_cpu_s, c.process_cpu_s,
            c.selfplay_wait_s);
    fprintf(f, "games=%lld\nmoves=%lld\n", (long long)atomic_load(&rt->games),
            (long long)atomic_load(&rt->moves));
    /* Informational (the authoritative copies are in the checkpoint and window files). */
    fprintf(f,
            "rows=%" PRId64 "\nwindow_rows=%" PRId64 "\nsamples_taken=%" PRId64 "\nfiles=%" PRId64
            "\n",
            ws.rows_total, ws.window_rows, ws.samples_taken, rt->ledger_len);
    if (rt->trainer)
        fprintf(f, "steps=%" PRId64 "\nsamples=%" PRId64 "\n", trainer_steps(rt->trainer),
                trainer_samples(rt->trainer));
    return tg_atomic_file_commit(&af, err);
}

int rt__state_load(rt_runtime_t *rt, bool *found, tg_err_t *err) {
    char path[RT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/run.state", rt->state_dir);
    *found = false;
    if (access(path, F_OK) != 0) return 0;
    static char keys[64][64];
    static char vals[64][RT_PATH_MAX];
    int n = rt__read_kv_file(path, keys, vals, 64, err);
    if (n < 0) return n;
    const char *v = rt__kv_get(keys, vals, n, "version");
    if (!v || atoi(v) != RT_STATE_VERSION)
        return tg_err_set(err, TG_EFORMAT, "%s: missing or unsupported version", path);
#define RT_GET_I64(field, key)                                                                     \
    do {                                                                                           \
        const char *s_ = rt__kv_get(keys, vals, n, key);                                           \
        if (!s_) return tg_err_set(err, TG_EFORMAT, "%s: missing %s", path, key);                  \
        rt->c.field = strtoll(s_, NULL, 10);                                                       \
    } while (0)
#define RT_GET_DBL(field, key)                                                                     \
    do {                                                                                           \
        const char *s_ = rt__kv_get(keys, vals, n, key);                                           \
        rt->c.field = s_ ? strtod(s_, NULL) : 0.0;                                                 \
    } while (0)
#define RT_GET_STR(field, key)                                                                     \
    do {                                                                                           \
        const char *s_ = rt__kv_get(keys, vals, n, key);                                           \
        snprintf(rt->c.field, sizeof(rt->c.field), "%s", s_ ? s_ : "");                            \
    } while (0)
    RT_GET_I64(gen, "gen");
    RT_GET_I64(sessions, "sessions");
    RT_GET_I64(exports, "exports");
    RT_GET_I64(cycles, "cycles");
    RT_GET_I64(accepted_count, "accepted_count");
    RT_GET_I64(rejected_count, "rejected_count");
    RT_GET_I64(next_export_samples, "next_export_samples");
    const char *s = rt__kv_get(keys, vals, n, "seed");
    if (!s) return tg_err_set(err, TG_EFORMAT, "%s: missing seed", path);
    rt->c.seed = strtoull(s, NULL, 10);
    RT_GET_STR(current_net, "current_net");
    RT_GET_STR(accepted_net, "accepted_net");
    RT_GET_STR(last_export, "last_export");
    RT_GET_STR(last_gate, "last_gate");
    RT_GET_DBL(wall_s, "wall_s");
    RT_GET_DBL(trainer_busy_s, "trainer_busy_s");
    RT_GET_DBL(trainer_cpu_s, "trainer_cpu_s");
    RT_GET_DBL(gate_cpu_s, "gate_cpu_s");
    RT_GET_DBL(process_cpu_s, "process_cpu_s");
    RT_GET_DBL(selfplay_wait_s, "selfplay_wait_s");
#undef RT_GET_I64
#undef RT_GET_DBL
#undef RT_GET_STR
    s = rt__kv_get(keys, vals, n, "games");
    atomic_store(&rt->games, s ? strtoll(s, NULL, 10) : 0);
    s = rt__kv_get(keys, vals, n, "moves");
    atomic_store(&rt->moves, s ? strtoll(s, NULL, 10) : 0);
    *found = true;
    return 0;
}

/* ---- Ledger ------------------------------------------------------------------------------- */

static int rt__ledger_push(rt_runtime_t *rt, int64_t first, int count, int random, const char *rel,
                           tg_err_t *err) {
    if (rt->ledger_len == rt->ledger_cap) {
        int64_t cap = rt->ledger_cap ? 2 * rt->ledger_cap : 256;
        rt_ledger_entry_t *nl = realloc(rt->ledger, (size_t)cap * sizeof(*nl));
        if (!nl) return tg_err_set(err, TG_ENOMEM, "run: out of memory for the ledger");
        rt->ledger = nl;
        rt->ledger_cap = cap;
    }
    rt_ledger_entry_t *e = &rt->ledger[rt->ledger_len++];
    e->first_row = first;
    e->count = count;
    e->random = random;
    snprintf(e->path, sizeof(e->path), "%s", rel);
    return 0;
}

/* path relative to the run dir if it lies under it. */
static const char *rt__rel(const rt_runtime_t *rt, const char *path) {
    size_t n = strlen(rt->dir);
    if (!strncmp(path, rt->dir, n) && path[n] == '/') return path + n + 1;
    return path;
}

int rt__ingest_rows(rt_runtime_t *rt, const trainrows_t *rows, int random, const char *path,
                    tg_err_t *err) {
    if (rows->num_rows <= 0) return 0;
    uv_mutex_lock(&rt->ingest_lock);
    shuffle_stats_t st;
    shuffle_window_get_stats(rt->window, &st);
    bool was_ready = st.ready;
    int rc = shuffle_window_append(rt->window, rows, 0, rows->num_rows, random, path, 0, err);
    if (rc == 0)
        rc = rt__ledger_push(rt, st.rows_total, rows->num_rows, random, rt__rel(rt, path), err);
    uv_mutex_unlock(&rt->ingest_lock);
    if (rc) return rc;
    atomic_fetch_add(&rt->rows_ingested, rows->num_rows);
    atomic_fetch_add(&rt->files_ingested, 1);
    if (!was_ready) {
        shuffle_window_get_stats(rt->window, &st);
        if (st.ready) {
            uv_mutex_lock(&rt->state_lock);
            rt->rows_at_ready = (double)st.rows_total;
            uv_mutex_unlock(&rt->state_lock);
            TG_LOGI("run: window ready with %" PRId64 " rows: training starts", st.rows_total);
        }
    }
    return 0;
}

static int rt__ledger_save(rt_runtime_t *rt, const char *path, tg_err_t *err) {
    tg_atomic_file_t af;
    int rc = tg_atomic_file_open(&af, path, err);
    if (rc) return rc;
    for (int64_t i = 0; i < rt->ledger_len; i++) {
        const rt_ledger_entry_t *e = &rt->ledger[i];
        fprintf(af.fp, "%" PRId64 " %d %d %s\n", e->first_row, e->count, e->random, e->path);
    }
    return tg_atomic_file_commit(&af, err);
}

static int rt__ledger_load(rt_runtime_t *rt, const char *path, tg_err_t *err) {
    FILE *f = fopen(path, "r");
    if (!f) return tg_err_set(err, TG_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[RT_PATH_MAX + 64];
    int ln = 0, rc = 0;
    int64_t expect = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        ln++;
        long long first;
        int count, random, off = 0;
        if (sscanf(line, "%lld %d %d %n", &first, &count, &random, &off) != 3 || off <= 0 ||
            first != expect || count <= 0) {
            rc = tg_err_set(err, TG_EFORMAT, "%s:%d: bad ledger line", path, ln);
            break;
        }
        char *rel = line + off;
        rel[strcspn(rel, "\n")] = '\0';
        rc = rt__ledger_push(rt, first, count, random, rel, err);
        expect = first + count;
    }
    fclose(f);
    return rc;
}

/* ---- Save points -------------------------------------------------------------------------- */

static void rt__prune_gen(rt_runtime_t *rt, int64_t keep_from) {
    DIR *d = opendir(rt->state_dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long long g;
        char kind[16];
        if (sscanf(de->d_name, "%15[a-z]-%lld.", kind, &g) != 2) continue;
        if (strcmp(kind, "ckpt") && strcmp(kind, "window") && strcmp(kind, "ledger")) continue;
        if (g >= keep_from) continue;
        char p[RT_PATH_MAX + 300];
        snprintf(p, sizeof(p), "%s/%s", rt->state_dir, de->d_name);
        remove(p);
    }
    closedir(d);
}

int rt__save_point(rt_runtime_t *rt, tg_err_t *err) {
    double t0 = rt__now_s();
    uv_mutex_lock(&rt->ingest_lock);
    int64_t gen = rt->c.gen + 1;
    char p[RT_PATH_MAX + 64];
    int rc = 0;
    snprintf(p, sizeof(p), "%s/ckpt-%06" PRId64 ".tgck", rt->state_dir, gen);
    rc = trainer_save(rt->trainer, p, err);
    if (rc == 0) {
        snprintf(p, sizeof(p), "%s/window-%06" PRId64 ".txt", rt->state_dir, gen);
        rc = shuffle_window_save(rt->window, p, err);
    }
    if (rc == 0) {
        snprintf(p, sizeof(p), "%s/ledger-%06" PRId64 ".txt", rt->state_dir, gen);
        rc = rt__ledger_save(rt, p, err);
    }
    if (rc == 0) {
        uv_mutex_lock(&rt->state_lock);
        rt->c.gen = gen;
        uv_mutex_unlock(&rt->state_lock);
        rc = rt__write_state(rt, err);
        if (rc) {
            uv_mutex_lock(&rt->state_lock);
            rt->c.gen = gen - 1;
            uv_mutex_unlock(&rt->state_lock);
        }
    }
    int64_t files = rt->ledger_len;
    uv_mutex_unlock(&rt->ingest_lock);
    if (rc) return rc;
    rt__prune_gen(rt, gen - rt->cfg.train_checkpoint_keep + 1);
    TG_LOGI("run: save point %" PRId64 " (step %" PRId64 ", %" PRId64 " files) in %.2f s", gen,
            trainer_steps(rt->trainer), files, rt__now_s() - t0);
    return 0;
}

/* ---- Resume ------------------------------------------------------------------------------- */

typedef struct rt_found_file_s {
    char rel[RT_PATH_MAX];
    int64_t mtime_ns;
    int random;
} rt_found_file_t;

static int rt__cmp_found(const void *a, const void *b) {
    const rt_found_file_t *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns) return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

static int rt__cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool rt__ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Lists selfplay/<net>/tdata/<name>.npz (no '_' in the name), removing stale temp files. */
static int rt__scan_tdata(rt_runtime_t *rt, rt_found_file_t **out, int64_t *num, tg_err_t *err) {
    *out = NULL;
    *num = 0;
    int64_t cap = 0;
    DIR *d = opendir(rt->selfplay_dir);
    if (!d) return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char td[RT_PATH_MAX + 300];
        snprintf(td, sizeof(td), "%s/%s/tdata", rt->selfplay_dir, de->d_name);
        DIR *d2 = opendir(td);
        if (!d2) continue;
        struct dirent *f;
        while (rc == 0 && (f = readdir(d2)) != NULL) {
            char full[RT_PATH_MAX + 600];
            snprintf(full, sizeof(full), "%s/%s", td, f->d_name);
            if (strstr(f->d_name, ".tmp.")) {
                TG_LOGW("run: removing stale temp file %s", full);
                remove(full);
                continue;
            }
            if (!rt__ends_with(f->d_name, ".npz") || strchr(f->d_name, '_')) continue;
            struct stat st;
            if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            if (*num == cap) {
                cap = cap ? 2 * cap : 256;
                rt_found_file_t *nf = realloc(*out, (size_t)cap * sizeof(**out));
                if (!nf) {
                    rc = tg_err_set(err, TG_ENOMEM, "run: out of memory");
                    break;
                }
                *out = nf;
            }
            rt_found_file_t *e = &(*out)[(*num)++];
            snprintf(e->rel, sizeof(e->rel), "%.1000s", rt__rel(rt, full));
            e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
            e->random = !strcmp(de->d_name, "random");
        }
        closedir(d2);
    }
    closedir(d);
    return rc;
}

int rt__resume(rt_runtime_t *rt, bool found, tg_err_t *err) {
    char p[RT_PATH_MAX + 64];
    int rc = 0;
    if (found && rt->c.gen > 0) {
        snprintf(p, sizeof(p), "%s/ckpt-%06" PRId64 ".tgck", rt->state_dir, rt->c.gen);
        if ((rc = trainer_load(rt->trainer, p, err))) return rc;
        snprintf(p, sizeof(p), "%s/window-%06" PRId64 ".txt", rt->state_dir, rt->c.gen);
        if ((rc = shuffle_window_restore(rt->window, p, err))) return rc;
        snprintf(p, sizeof(p), "%s/ledger-%06" PRId64 ".txt", rt->state_dir, rt->c.gen);
        if ((rc = rt__ledger_load(rt, p, err))) return rc;
        shuffle_stats_t st;
        shuffle_window_get_stats(rt->window, &st);
        int64_t total = rt->ledger_len ? rt->ledger[rt->ledger_len - 1].first_row +
                                             rt->ledger[rt->ledger_len - 1].count
                                       : 0;
        if (total != st.rows_total)
            return tg_err_set(err, TG_EFORMAT,
                              "%s: ledger covers %" PRId64 " rows but the window holds %" PRId64, p,
                              total, st.rows_total);
        if (st.ready) rt->rows_at_ready = -2; /* ready before this session */
        TG_LOGI("run: resumed save point %" PRId64 ": step %" PRId64 ", %" PRId64
                " rows in %" PRId64 " files, window %" PRId64,
                rt->c.gen, trainer_steps(rt->trainer), st.rows_total, rt->ledger_len,
                st.window_rows);
    }
    /* Files written after the save point (or before any): append them now. */
    rt_found_file_t *files = NULL;
    int64_t nfiles = 0;
    if ((rc = rt__scan_tdata(rt, &files, &nfiles, err))) goto done;
    const char **known = NULL;
    if (rt->ledger_len) {
        known = malloc((size_t)rt->ledger_len * sizeof(*known));
        if (!known) {
            rc = tg_err_set(err, TG_ENOMEM, "run: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < rt->ledger_len; i++)
            known[i] = rt->ledger[i].path;
        qsort(known, (size_t)rt->ledger_len, sizeof(*known), rt__cmp_str);
    }
    if (nfiles > 0) qsort(files, (size_t)nfiles, sizeof(*files), rt__cmp_found);
    int64_t added = 0, missing = 0;
    for (int64_t i = 0; i < nfiles && rc == 0; i++) {
        const char *key = files[i].rel;
        if (known && bsearch(&key, known, (size_t)rt->ledger_len, sizeof(*known), rt__cmp_str))
            continue;
        char full[RT_PATH_MAX * 2 + 8];
        snprintf(full, sizeof(full), "%s/%s", rt->dir, files[i].rel);
        trainrows_t tr;
        rc = trainrows_load_npz(&tr, full, err);
        if (rc) break;
        if (tr.pos_len != rt->plan.data_len) {
            rc = tg_err_set(err, TG_EINVAL, "%s: pos_len %d, the run uses %d", full, tr.pos_len,
                            rt->plan.data_len);
        } else {
            rc = rt__ingest_rows(rt, &tr, files[i].random, full, err);
            added++;
        }
        trainrows_free(&tr);
    }
    /* Ledger files that vanished: the window restore would have failed if it needed them. */
    for (int64_t i = 0; i < rt->ledger_len && known; i++) {
        char full[RT_PATH_MAX * 2 + 8];
        snprintf(full, sizeof(full), "%s/%s", rt->dir, rt->ledger[i].path);
        if (access(full, F_OK) != 0) missing++;
    }
    if (added) TG_LOGI("run: appended %" PRId64 " .npz files written after the save point", added);
    if (missing) TG_LOGW("run: %" PRId64 " ledger files are missing on disk", missing);
    free(known);
done:
    free(files);
    return rc;
}
