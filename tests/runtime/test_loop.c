/* test_loop.c: `tengen run`'s loop end to end, checked from outside the process.
 *
 * Each run is a forked child calling tg_runtime_run (the same code `tengen run` calls) on a
 * tiny config (7x7, b2c8test, 8 visits); the parent sends the signals and then inspects the
 * run directory with the library's readers:
 *   - two full cycles (selfplay -> train -> export -> selfplay switches nets);
 *   - SIGINT mid-run pauses with exit 0; the next run resumes (sessions, steps and rows
 *     continue) and every .npz row is in the window exactly once (ledger == files == window);
 *   - kill -9 at random moments, then resume: no corrupt file (the resume itself re-reads the
 *     checkpoint, the window and the ledger), and again no lost or duplicated rows;
 *   - bad configs are rejected with file:line.
 * Runtime: about a minute on two cores. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "config/config.h"
#include "data/trainrows.h"
#include "runtime/runtime.h"
#include "train/train_infer.h"
#include "util/cpu.h"
#include "util/log.h"

static char g_dir[200], g_cfg[300];
static const char *g_sets[8]; /* extra section.key=value overrides for the children */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static const char *k_tiny_cfg = "[run]\n"
                                "seed = 7\n"
                                "status_every_s = 1\n"
                                "save_every_s = 2\n"
                                "trainer_share_max = 0.6\n"
                                "[log]\n"
                                "level = warn\n"
                                "[nn]\n"
                                "threads = 1\n"
                                "[selfplay]\n"
                                "num_game_threads = 2\n"
                                "board_sizes = 7\n"
                                "max_moves_per_game = 80\n"
                                "max_visits = 8\n"
                                "cheap_visits = 4\n"
                                "reduced_visits_min = 4\n"
                                "max_rows_per_file = 60\n"
                                "nn_max_batch = 2\n"
                                "model_poll_s = 0.2\n"
                                "[train]\n"
                                "model_kind = b2c8test\n"
                                "batch = 16\n"
                                "warmup = false\n"
                                "export_every_samples = 800\n"
                                "[shuffle]\n"
                                "min_rows = 200\n"
                                "max_mb = 16\n"
                                "samples_per_epoch = 200\n"
                                "max_train_bucket_size = 20000\n";

static int load_cfg(tg_config_t *cfg) {
    tg_config_init_defaults(cfg);
    tg_err_t err;
    if (tg_config_load_file(cfg, g_cfg, &err)) {
        printf("  config: %s\n", err.msg);
        return -1;
    }
    snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s", g_dir);
    for (int i = 0; i < 8 && g_sets[i]; i++)
        if (tg_config_set(cfg, g_sets[i], &err)) {
            printf("  --set: %s\n", err.msg);
            return -1;
        }
    return 0;
}

/* Starts a child running the loop; returns its pid. */
static pid_t start_run(int64_t max_cycles, double max_minutes) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    tg_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg || load_cfg(cfg)) _exit(3);
    tg_log_set_level(TG_LOG_WARN);
    tg_runtime_limits_t lim = {max_cycles, max_minutes};
    tg_runtime_result_t res;
    tg_err_t err;
    int rc = tg_runtime_run(cfg, NULL, &lim, &res, &err);
    if (res.hard_exit) _exit(130);
    if (rc) {
        printf("  child: %s\n", err.msg);
        fflush(stdout);
        _exit(1);
    }
    _exit(0);
}

/* Waits for pid up to timeout_s; returns its exit status, or -1 (then kills it). */
static int wait_run(pid_t pid, double timeout_s) {
    for (double t = 0; t < timeout_s; t += 0.05) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Reads key from run.state into out; returns 0 if found. */
static int state_get(const char *key, char *out, size_t cap) {
    char p[700], line[1200];
    snprintf(p, sizeof(p), "%s/state/run.state", g_dir);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    size_t kl = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", line + kl + 1);
            rc = 0;
            break;
        }
    fclose(f);
    return rc;
}

static long long state_int(const char *key) {
    char v[64];
    return state_get(key, v, sizeof(v)) ? -1 : atoll(v);
}

static int count_models(void) {
    char p[700];
    snprintf(p, sizeof(p), "%s/models", g_dir);
    DIR *d = opendir(p);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char f[1400];
        struct stat st;
        snprintf(f, sizeof(f), "%s/%s/model.bin.gz", p, de->d_name);
        if (de->d_name[0] != '.' && !strstr(de->d_name, ".exported") && stat(f, &st) == 0) n++;
    }
    closedir(d);
    return n;
}

/* Checks that every .npz under selfplay/ is in the current ledger exactly once with its true
 * row count, that the ledger is contiguous from row 0, and that it covers run.state's rows.
 * Returns the row total, or -1 with a message printed. */
static long long check_rows_consistent(void) {
    long long gen = state_int("gen"), rows = state_int("rows");
    char p[800];
    snprintf(p, sizeof(p), "%s/state/ledger-%06lld.txt", g_dir, gen);
    FILE *f = fopen(p, "r");
    if (!f) {
        printf("  no ledger %s\n", p);
        return -1;
    }
    static char paths[4096][300];
    static int counts[4096];
    int n = 0;
    long long expect = 0, first;
    int count, random;
    char rel[300];
    while (n < 4096 && fscanf(f, "%lld %d %d %299s", &first, &count, &random, rel) == 4) {
        if (first != expect) {
            printf("  ledger row %lld, expected %lld\n", first, expect);
            fclose(f);
            return -1;
        }
        snprintf(paths[n], sizeof(paths[n]), "%s", rel);
        counts[n++] = count;
        expect = first + count;
    }
    fclose(f);
    if (expect != rows) {
        printf("  ledger total %lld != run.state rows %lld\n", expect, rows);
        return -1;
    }
    /* Every file on disk: in the ledger once, with its row count. */
    char sp[700];
    snprintf(sp, sizeof(sp), "%s/selfplay", g_dir);
    DIR *d = opendir(sp);
    int seen = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char td[1000];
        snprintf(td, sizeof(td), "%s/%s/tdata", sp, de->d_name);
        DIR *d2 = opendir(td);
        struct dirent *fe;
        while (d2 && (fe = readdir(d2)) != NULL) {
            size_t l = strlen(fe->d_name);
            if (l < 4 || strcmp(fe->d_name + l - 4, ".npz")) continue;
            char relp[700], full[1400];
            snprintf(relp, sizeof(relp), "selfplay/%s/tdata/%s", de->d_name, fe->d_name);
            snprintf(full, sizeof(full), "%s/%s", td, fe->d_name);
            int hits = 0, idx = -1;
            for (int i = 0; i < n; i++)
                if (!strcmp(paths[i], relp)) hits++, idx = i;
            trainrows_t tr;
            tg_err_t err;
            if (trainrows_load_npz(&tr, full, &err)) {
                printf("  corrupt npz %s: %s\n", full, err.msg);
                closedir(d2);
                closedir(d);
                return -1;
            }
            int nr = tr.num_rows;
            trainrows_free(&tr);
            if (hits != 1 || counts[idx] != nr) {
                printf("  %s: %d ledger entries (rows %d vs file %d)\n", relp, hits,
                       idx >= 0 ? counts[idx] : -1, nr);
                closedir(d2);
                closedir(d);
                return -1;
            }
            seen++;
        }
        if (d2) closedir(d2);
    }
    if (d) closedir(d);
    if (seen != n) {
        printf("  ledger lists %d files, %d on disk\n", n, seen);
        return -1;
    }
    /* The save point's checkpoint loads (checksum verified). */
    snprintf(p, sizeof(p), "%s/state/ckpt-%06lld.tgck", g_dir, gen);
    trainer_t *t = NULL;
    tg_err_t err;
    if (train_checkpoint_open(p, &t, &err)) {
        printf("  checkpoint: %s\n", err.msg);
        return -1;
    }
    long long steps = trainer_steps(t);
    trainer_destroy(t);
    if (steps != state_int("steps")) {
        printf("  checkpoint steps %lld != run.state steps %lld\n", steps, state_int("steps"));
        return -1;
    }
    return rows;
}

TEST(bad_configs_rejected_with_line) {
    char p[700];
    snprintf(p, sizeof(p), "%s/bad1.ini", g_dir);
    write_file(p, "[run]\nseed = 1\n[train]\nbatch = 0\n");
    tg_config_t *cfg = malloc(sizeof(*cfg));
    tg_config_init_defaults(cfg);
    tg_err_t err;
    ASSERT_NE(tg_config_load_file(cfg, p, &err), 0);
    ASSERT_CONTAINS(err.msg, "bad1.ini:4:");
    ASSERT_CONTAINS(err.msg, "train.batch");

    snprintf(p, sizeof(p), "%s/bad2.ini", g_dir);
    write_file(p, "[run]\ndevices = cpu\n[train]\nmodel_kind = b99c1\n");
    tg_config_init_defaults(cfg);
    ASSERT_EQ(tg_config_load_file(cfg, p, &err), 0);
    tg_runtime_plan_t plan;
    ASSERT_NE(tg_runtime_plan(cfg, "/tmp/x", &plan, &err), 0);
    ASSERT_CONTAINS(err.msg, "bad2.ini:4:");
    ASSERT_CONTAINS(err.msg, "train.model_kind");

    snprintf(p, sizeof(p), "%s/bad3.ini", g_dir);
    write_file(p, "[run]\n\ndevices = tpu\n");
    tg_config_init_defaults(cfg);
    ASSERT_EQ(tg_config_load_file(cfg, p, &err), 0);
    ASSERT_NE(tg_runtime_plan(cfg, "/tmp/x", &plan, &err), 0);
    ASSERT_CONTAINS(err.msg, "bad3.ini:3:");
    ASSERT_CONTAINS(err.msg, "run.devices");

    snprintf(p, sizeof(p), "%s/bad4.ini", g_dir);
    write_file(p, "[shuffle]\nmin_rows = 10\n[train]\nbatch = 64\n");
    tg_config_init_defaults(cfg);
    ASSERT_EQ(tg_config_load_file(cfg, p, &err), 0);
    ASSERT_NE(tg_runtime_plan(cfg, "/tmp/x", &plan, &err), 0);
    ASSERT_CONTAINS(err.msg, "bad4.ini:4:");

    /* The shipped configs are valid. */
    const char *src = getenv("TENGEN_SOURCE_DIR");
    if (src) {
        const char *names[] = {"quickstart.ini", "9x9-1gpu.ini", "19x19-b6c96-1gpu.ini"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s/config/%s", src, names[i]);
            tg_config_init_defaults(cfg);
            if (tg_config_load_file(cfg, p, &err)) TEST__FAIL("%s", err.msg);
            if (tg_runtime_plan(cfg, NULL, &plan, &err)) TEST__FAIL("%s", err.msg);
        }
    }
    free(cfg);
}

TEST(two_full_cycles) {
    pid_t pid = start_run(2, 3.0);
    int st = wait_run(pid, 200);
    ASSERT_EQ(st, 0);
    ASSERT_TRUE(count_models() >= 2);
    ASSERT_TRUE(state_int("cycles") >= 2);
    ASSERT_TRUE(state_int("steps") > 0);
    /* Selfplay wrote data under the exported nets' names. */
    char net[256], p[1000];
    ASSERT_EQ(state_get("current_net", net, sizeof(net)), 0);
    ASSERT_TRUE(strncmp(net, "b2c8test-s", 10) == 0);
    snprintf(p, sizeof(p), "%s/selfplay/%s/tdata", g_dir, net);
    struct stat sb;
    ASSERT_EQ(stat(p, &sb), 0);
    snprintf(p, sizeof(p), "%s/selfplay/random/tdata", g_dir);
    ASSERT_EQ(stat(p, &sb), 0);
    ASSERT_TRUE(check_rows_consistent() > 0);
}

TEST(sigint_pause_then_resume) {
    long long sessions0 = state_int("sessions"), rows0 = state_int("rows");
    long long steps0 = state_int("steps"), exports0 = state_int("exports");
    pid_t pid = start_run(0, 2.0);
    sleep(6);
    kill(pid, SIGINT);
    int st = wait_run(pid, 60);
    ASSERT_EQ(st, 0);
    ASSERT_EQ(state_int("sessions"), sessions0 + 1);
    long long rows1 = check_rows_consistent();
    ASSERT_TRUE(rows1 > rows0);
    long long steps1 = state_int("steps");
    ASSERT_TRUE(steps1 > steps0);
    ASSERT_TRUE(state_int("exports") >= exports0);
    /* Resume: counters continue from the paused values. */
    pid = start_run(1, 2.0);
    st = wait_run(pid, 150);
    ASSERT_EQ(st, 0);
    ASSERT_EQ(state_int("sessions"), sessions0 + 2);
    ASSERT_TRUE(state_int("steps") > steps1);
    ASSERT_TRUE(check_rows_consistent() > rows1);
}

TEST(kill9_at_random_moments) {
    srand((unsigned)time(NULL));
    for (int i = 0; i < 3; i++) {
        pid_t pid = start_run(0, 2.0);
        int ms = 1500 + rand() % 4000;
        printf("  kill -9 after %d ms\n", ms);
        usleep((useconds_t)ms * 1000);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    long long steps0 = state_int("steps");
    /* A clean session afterwards reads everything back and pauses consistently. */
    pid_t pid = start_run(0, 2.0);
    sleep(4);
    kill(pid, SIGTERM);
    int st = wait_run(pid, 60);
    ASSERT_EQ(st, 0);
    ASSERT_TRUE(check_rows_consistent() > 0);
    ASSERT_TRUE(state_int("steps") >= steps0);
}

TEST(second_signal_exits_at_once) {
    pid_t pid = start_run(0, 2.0);
    sleep(3);
    kill(pid, SIGINT);
    kill(pid, SIGINT);
    int st = wait_run(pid, 30);
    ASSERT_TRUE(st == 0 || st == 130);
    /* Whatever it left behind resumes cleanly. */
    pid = start_run(1, 2.0);
    st = wait_run(pid, 150);
    ASSERT_EQ(st, 0);
    ASSERT_TRUE(check_rows_consistent() > 0);
}

TEST(gatekeeper_in_the_loop) {
    char base[sizeof(g_dir)];
    snprintf(base, sizeof(base), "%s", g_dir);
    snprintf(g_dir, sizeof(g_dir), "%.180s/gated", base);
    g_sets[0] = "gate.enabled=true";
    g_sets[1] = "gate.games=2";
    g_sets[2] = "gate.visits=4";
    g_sets[3] = "gate.max_moves=60";
    pid_t pid = start_run(1, 0.5);
    int st = wait_run(pid, 120);
    g_sets[0] = g_sets[1] = g_sets[2] = g_sets[3] = NULL;
    char p[600];
    struct stat sb;
    snprintf(p, sizeof(p), "%s/elo.json", g_dir);
    int have_elo = stat(p, &sb) == 0;
    long long acc = state_int("accepted_count"), rej = state_int("rejected_count");
    long long rows = check_rows_consistent();
    snprintf(g_dir, sizeof(g_dir), "%s", base);
    ASSERT_EQ(st, 0);
    ASSERT_TRUE(have_elo);
    ASSERT_TRUE(acc + rej >= 1);
    ASSERT_TRUE(rows > 0);
}

int main(int argc, char **argv) {
    (void)argc;
    tg_cpu_tune_blas_env(argv); /* faster OpenBLAS kernels for the children */
    snprintf(g_dir, sizeof(g_dir), "/tmp/tengen_test_loop_%ld", (long)getpid());
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", g_dir, g_dir);
    if (system(cmd) != 0) return 1;
    snprintf(g_cfg, sizeof(g_cfg), "%s/tiny.ini", g_dir);
    write_file(g_cfg, k_tiny_cfg);
    RUN(bad_configs_rejected_with_line);
    RUN(two_full_cycles);
    RUN(sigint_pause_then_resume);
    RUN(kill9_at_random_moments);
    RUN(second_signal_exits_at_once);
    RUN(gatekeeper_in_the_loop);
    if (!test__failed_cases) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
        if (system(cmd) != 0) printf("  could not remove %s\n", g_dir);
    } else
        printf("  run dir kept: %s\n", g_dir);
    TEST_MAIN_END();
}
