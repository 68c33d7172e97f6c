/* test_selfplay.c: short self-play runs with the uniform random evaluator and tiny visits:
 * files land where KataGo puts them (random/tdata/X.npz, random/sgfs/X.sgf, nothing left under
 * a temp name); the rows read back; targets are sane (policy targets, score distributions,
 * outcome = sign of the final score, final score = ownership + komi + bonus under area scoring
 * without tax, every game's rows agree with its SGF result); a stop flag ends a run cleanly;
 * config parsing of the [selfplay] section. */
#include <math.h>
#include <stdatomic.h>
#include <uv.h>

#include "selfplay/selfplay.h"
#include "sp_test_util.h"
#include "test.h"
#include "util/log.h"

static tg_selfplay_params_t tiny_params(void) {
    tg_selfplay_params_t p = tg_selfplay_params_default();
    p.num_game_threads = 2;
    p.max_games = 4;
    p.seed = 12345;
    p.max_visits = 8;
    p.cheap_visits = 3;
    p.cheap_search_prob = 0.5;
    p.reduced_visits_min = 4;
    p.max_moves_per_game = 300;
    p.search.max_visits = 8;
    p.service.max_wait_us = 200;
    p.max_rows_per_file = 150;
    p.model_poll_s = 0.2;
    return p;
}

TEST(uniform_run_area_rules) {
    char out[256];
    ASSERT_EQ(sp_tmpdir(out, sizeof(out), "sp"), 0);
    tg_selfplay_params_t p = tiny_params();
    p.num_scoring = 1, p.scoring[0] = TG_SCORING_AREA;
    p.num_tax = 1, p.tax[0] = TG_TAX_NONE;
    p.num_button = 1, p.button[0] = false;
    tg_selfplay_stats_t st;
    tg_err_t err;
    int rc = tg_selfplay_run(&p, NULL, out, NULL, &st, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(st.games, 4);
    ASSERT_TRUE(st.rows > 0);
    ASSERT_TRUE(st.turns_full > 0);
    ASSERT_EQ(st.nets_loaded, 1);
    ASSERT_TRUE(st.nn_positions > 0);
    int rows = 0;
    ASSERT_EQ(sp_check_output(out, "random", 4, 1, &rows), 0);
    ASSERT_EQ(rows, st.rows);
    printf("  %.2fs, %lld moves, mean fill %.2f\n", st.elapsed_s, (long long)st.moves,
           st.nn_mean_fill);
    sp_rmrf(out);
}

TEST(uniform_run_randomized_rules) {
    char out[256];
    ASSERT_EQ(sp_tmpdir(out, sizeof(out), "sp"), 0);
    tg_selfplay_params_t p = tiny_params();
    p.seed = 777;
    p.max_games = 3;
    p.max_rows_per_file = 40; /* several files */
    tg_selfplay_stats_t st;
    tg_err_t err;
    int rc = tg_selfplay_run(&p, "/nonexistent/models", out, NULL, &st, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(st.games, 3);
    int rows = 0;
    ASSERT_EQ(sp_check_output(out, "random", 3, 0, &rows), 0);
    ASSERT_EQ(rows, st.rows);
    ASSERT_TRUE(st.files >= 2);
    sp_rmrf(out);
}

static void stopper_main(void *arg) {
    atomic_bool *stop = arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(stop, true);
}

TEST(stop_flag_ends_cleanly) {
    char out[256];
    ASSERT_EQ(sp_tmpdir(out, sizeof(out), "sp"), 0);
    tg_selfplay_params_t p = tiny_params();
    p.max_games = 0; /* until stopped */
    atomic_bool stop;
    atomic_init(&stop, false);
    uv_thread_t t;
    uv_thread_create(&t, stopper_main, &stop);
    tg_selfplay_stats_t st;
    tg_err_t err;
    int rc = tg_selfplay_run(&p, NULL, out, &stop, &st, &err);
    uv_thread_join(&t);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(st.elapsed_s < 20.0);
    char dir[600];
    static char names[64][256];
    int tmp = 0;
    snprintf(dir, sizeof(dir), "%s/random/sgfs", out);
    int nsgf = sp_list(dir, ".sgf", names, 64, &tmp);
    ASSERT_EQ(nsgf, st.games);
    snprintf(dir, sizeof(dir), "%s/random/tdata", out);
    int nnpz = sp_list(dir, ".npz", names, 64, &tmp);
    ASSERT_EQ(tmp, 0);
    ASSERT_EQ(nnpz, st.files);
    printf("  stopped after %lld games, %lld rows\n", (long long)st.games, (long long)st.rows);
    sp_rmrf(out);
}

TEST(config_section) {
    tg_config_t cfg;
    tg_config_init_defaults(&cfg);
    tg_err_t err;
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.board_sizes=7:1, 9:3", &err), 0);
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.tax_rules=NONE,SEKI", &err), 0);
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.max_visits=50", &err), 0);
    tg_selfplay_params_t p;
    ASSERT_EQ(tg_selfplay_params_from_config(&cfg, &p, &err), 0);
    ASSERT_EQ(p.num_sizes, 2);
    ASSERT_EQ(p.sizes[0], 7);
    ASSERT_NEAR(p.size_weights[1], 3.0, 0);
    ASSERT_EQ(p.data_len, 9);
    ASSERT_EQ(p.num_tax, 2);
    ASSERT_EQ(p.tax[1], TG_TAX_SEKI);
    ASSERT_EQ(p.max_visits, 50);
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.board_sizes=9:x", &err), 0);
    ASSERT_EQ(tg_selfplay_params_from_config(&cfg, &p, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "selfplay.board_sizes");
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.board_sizes=13", &err), 0);
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.data_board_len=9", &err), 0);
    ASSERT_EQ(tg_selfplay_params_from_config(&cfg, &p, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "data_board_len");
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.data_board_len=0", &err), 0);
    ASSERT_EQ(tg_config_set(&cfg, "selfplay.ko_rules=SIMPLE,BOGUS", &err), 0);
    ASSERT_EQ(tg_selfplay_params_from_config(&cfg, &p, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "BOGUS");
}

TEST(shipped_ini_loads) {
    const char *src = getenv("TENGEN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/config/selfplay.ini", src ? src : "..");
    tg_config_t cfg;
    tg_config_init_defaults(&cfg);
    tg_err_t err;
    int rc = tg_config_load_file(&cfg, path, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    tg_selfplay_params_t p, d = tg_selfplay_params_default();
    ASSERT_EQ(tg_selfplay_params_from_config(&cfg, &p, &err), 0);
    /* The shipped file holds KataGo's defaults on 9x9. */
    ASSERT_EQ(p.sizes[0], 9);
    ASSERT_EQ(p.data_len, 9);
    ASSERT_EQ(p.max_visits, d.max_visits);
    ASSERT_NEAR(p.cheap_search_prob, d.cheap_search_prob, 0);
    ASSERT_EQ(p.num_tax, 5);
    ASSERT_EQ(p.num_button, 3);
    /* Lead target and fair komi (KataGo: estimateLeadProb 0.05, estimateLeadVisits 6,
     * compensateKomiVisits 20). */
    ASSERT_NEAR(p.estimate_lead_prob, 0.05, 1e-12);
    ASSERT_NEAR(d.estimate_lead_prob, 0.05, 1e-12);
    ASSERT_EQ(p.estimate_lead_visits, 6);
    ASSERT_EQ(d.estimate_lead_visits, 6);
    ASSERT_EQ(p.compensate_komi_visits, 20);
    ASSERT_EQ(d.compensate_komi_visits, 20);
    ASSERT_TRUE(p.komi_auto);
    p.estimate_lead_prob = 1.5;
    ASSERT_EQ(tg_selfplay_params_validate(&p, &err), TG_EINVAL);
    p.estimate_lead_prob = 0.05;
    p.estimate_lead_visits = 0;
    ASSERT_EQ(tg_selfplay_params_validate(&p, &err), TG_EINVAL);
}

TEST(find_latest_model) {
    char dir[256];
    ASSERT_EQ(sp_tmpdir(dir, sizeof(dir), "models"), 0);
    char path[1024], name[256];
    int64_t mt;
    tg_err_t err;
    ASSERT_EQ(tg_selfplay_find_latest_model(dir, path, sizeof(path), name, sizeof(name), &mt, &err),
              0);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/b6-s100-d200 %s/x.tmp && echo a > %s/b6-s100-d200/model.bin.gz && "
             "touch -d '2020-01-01' %s/b6-s100-d200/model.bin.gz && echo b > %s/other.bin.gz && "
             "touch -d '2021-01-01' %s/other.bin.gz && echo c > %s/x.tmp/model.bin.gz",
             dir, dir, dir, dir, dir, dir, dir);
    ASSERT_EQ(system(cmd), 0);
    ASSERT_EQ(tg_selfplay_find_latest_model(dir, path, sizeof(path), name, sizeof(name), &mt, &err),
              1);
    ASSERT_STREQ(name, "other");
    snprintf(cmd, sizeof(cmd), "touch %s/b6-s100-d200/model.bin.gz", dir);
    ASSERT_EQ(system(cmd), 0);
    ASSERT_EQ(tg_selfplay_find_latest_model(dir, path, sizeof(path), name, sizeof(name), &mt, &err),
              1);
    ASSERT_STREQ(name, "b6-s100-d200");
    ASSERT_CONTAINS(path, "b6-s100-d200/model.bin.gz");
    sp_rmrf(dir);
}

int main(void) {
    tg_log_set_level(TG_LOG_WARN);
    RUN(config_section);
    RUN(shipped_ini_loads);
    RUN(find_latest_model);
    RUN(uniform_run_area_rules);
    RUN(uniform_run_randomized_rules);
    RUN(stop_flag_ends_cleanly);
    TEST_MAIN_END();
}
