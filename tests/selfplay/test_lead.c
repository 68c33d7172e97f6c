/* test_lead.c: the lead target (globalTargets C21 / C29) and the search-based fair komi.
 *
 *  - The komi bisection on stub value functions of komi lands on the known zero crossing
 *    (linear: exactly; steep: within half a point; area smoothing exact on linear values).
 *  - A whole game with a stub net whose White score is komi + white stones - black stones - 5:
 *    fair komi lands near 5, every written row gets a lead with prob 1 (and about prob of them
 *    with 0.3), each lead matches the stub's score at that turn, and rows read back from the
 *    .npz keep C21 (pla's view) and C29.
 *  - With the b6c96 fixture net: a 9x9 position where one side walls off most of the board gives
 *    a lead of the right sign and rough size; a short engine run with estimate_lead_prob = 1
 *    writes C29 = 1 on (nearly) every row with finite C21 (skipped without the fixture). */
#include <math.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/eval.h"
#include "search/evalservice.h"
#include "selfplay/selfplay_internal.h"
#include "sp_test_util.h"
#include "test.h"
#include "util/log.h"

/* ---- Bisection on stub value functions ------------------------------------------------------ */

typedef struct stub_fn_s {
    double k0;    /* komi where White's win-loss crosses zero */
    double slope; /* win-loss per point near k0 */
    bool steep;   /* tanh instead of a clamped line */
    double lead_gain, lead_bias;
    int calls;
} stub_fn_t;

static int stub_fn_eval(void *ctx, float komi, double *lead, double *wl, tg_err_t *err) {
    (void)err;
    stub_fn_t *s = ctx;
    double d = (double)komi - s->k0;
    s->calls++;
    double v = s->steep ? tanh(d * s->slope) : d * s->slope;
    *wl = v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v;
    *lead = s->lead_gain * d + s->lead_bias; /* a biased, mis-scaled lead prediction */
    return 0;
}

TEST(bisection_lands_on_linear_crossing) {
    const double k0s[] = {3.3, -17.8, 41.2, 7.0, 0.25, -150.6, 5.75};
    const double starts[] = {7.5, 0.0, -20.0};
    for (size_t i = 0; i < sizeof(k0s) / sizeof(k0s[0]); i++) {
        for (size_t j = 0; j < sizeof(starts) / sizeof(starts[0]); j++) {
            stub_fn_t s = {.k0 = k0s[i], .slope = 0.1, .lead_gain = 0.6, .lead_bias = 3.0};
            selfplay_komi_probe_t pr;
            selfplay__komi_probe_init(&pr, stub_fn_eval, &s, 361, true);
            double even = 0, lead = 0;
            tg_err_t err;
            ASSERT_EQ(selfplay__even_komi(&pr, starts[j], &even, &err), 0);
            ASSERT_NEAR(even, k0s[i], 1e-9);
            ASSERT_TRUE(pr.num_evals <= 20);
            ASSERT_EQ(pr.num_evals, s.calls); /* every probe a distinct komi */
            /* Lead = komi - even, plain and with the area-scoring smoothing. */
            ASSERT_EQ(selfplay__lead_from_probe(&pr, starts[j], false, &lead, &err), 0);
            ASSERT_NEAR(lead, starts[j] - k0s[i], 1e-9);
            selfplay__komi_probe_init(&pr, stub_fn_eval, &s, 361, true);
            ASSERT_EQ(selfplay__lead_from_probe(&pr, starts[j], true, &lead, &err), 0);
            ASSERT_NEAR(lead, starts[j] - k0s[i], 1e-9);
            ASSERT_TRUE(pr.num_evals <= 24);
        }
    }
}

TEST(bisection_steep_and_out_of_window) {
    tg_err_t err;
    double even;
    selfplay_komi_probe_t pr;
    /* Nearly a step: the crossing is found within half a point. */
    for (double k0 = -30.3; k0 < 30.0; k0 += 7.7) {
        stub_fn_t s = {.k0 = k0, .slope = 3.0, .steep = true, .lead_gain = 1.0};
        selfplay__komi_probe_init(&pr, stub_fn_eval, &s, 81, false);
        ASSERT_EQ(selfplay__even_komi(&pr, 7.0, &even, &err), 0);
        ASSERT_TRUE(fabs(even - k0) <= 0.5);
    }
    /* A lead prediction of 0 never shifts; the window stops 32 points out. */
    stub_fn_t far = {.k0 = 107.0, .slope = 0.01, .lead_gain = 0.0};
    selfplay__komi_probe_init(&pr, stub_fn_eval, &far, 361, true);
    ASSERT_EQ(selfplay__even_komi(&pr, 7.0, &even, &err), 0);
    ASSERT_NEAR(even, 39.0, 1e-9);
    /* Komis are clipped to the probe range: +-(40 + area/2) tight, +-(40 + area) loose. */
    ASSERT_NEAR(selfplay__round_clip_komi(500.0, 81, false), 80.5, 0);
    ASSERT_NEAR(selfplay__round_clip_komi(-500.0, 81, true), -121.0, 0);
    ASSERT_NEAR(selfplay__round_clip_komi(3.26, 81, true), 3.5, 0);
}

/* ---- A whole game with a komi-aware stub net ------------------------------------------------ */

#define STUB_BIAS 5.0

static atomic_long g_stub_calls;

/* White's score of g for the stub net: komi + white stones - black stones - STUB_BIAS. */
static double stub_white_score(const tg_game_t *g) {
    int n = g->board.size, d = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            uint8_t c = g->board.color[tg_loc(x, y)];
            d += c == TG_WHITE ? 1 : c == TG_BLACK ? -1 : 0;
        }
    return g->rules.komi + d - STUB_BIAS;
}

static int stub_net_eval(void *ctx, int n, const tg_game_t *const *games, const int *syms,
                         tg_nn_output_t *outs, tg_err_t *err) {
    (void)ctx, (void)syms, (void)err;
    atomic_fetch_add(&g_stub_calls, n);
    for (int i = 0; i < n; i++) {
        tg_evalservice_fill_uniform(games[i], &outs[i]);
        double s = stub_white_score(games[i]), wl = tanh(s / 4.0);
        outs[i].white_win = (float)(0.5 * (1.0 + wl));
        outs[i].white_loss = (float)(0.5 * (1.0 - wl));
        outs[i].no_result = 0.0f;
        outs[i].white_lead = outs[i].white_score_mean = (float)s;
        outs[i].white_score_mean_sq = (float)(s * s + 4.0);
    }
    return 0;
}

static tg_selfplay_params_t stub_params(double lead_prob) {
    tg_selfplay_params_t p = tg_selfplay_params_default();
    p.seed = 31;
    p.max_visits = p.search.max_visits = 16;
    p.cheap_visits = 4;
    p.reduced_visits_min = 4;
    p.num_ko = 1, p.ko[0] = TG_KO_POSITIONAL; /* no no-result games */
    p.komi_stdev = 0.0, p.komi_big_stdev_prob = 0.0;
    p.policy_init_area_prop = 0.0; /* fair komi is read on the empty board */
    p.compensate_komi_visits = 8;
    p.estimate_lead_prob = lead_prob;
    p.estimate_lead_visits = 4;
    p.max_moves_per_game = 200;
    return p;
}

typedef struct stub_game_s {
    tg_selfplay_params_t p;
    selfplay_game_ctx_t *ctx;
    selfplay_final_t *fin;
    tg_search_evaluator_t ev;
} stub_game_t;

static int stub_game_init(stub_game_t *sg, double lead_prob, uint64_t seed) {
    sg->p = stub_params(lead_prob);
    sg->ctx = calloc(1, sizeof(*sg->ctx));
    sg->fin = calloc(1, sizeof(*sg->fin));
    if (!sg->ctx || !sg->fin) return -1;
    sg->ev.evaluate = stub_net_eval;
    sg->ev.ctx = NULL;
    sg->ctx->params = &sg->p;
    tg_rng_seed(&sg->ctx->rng, seed, 1);
    if (selfplay__recorder_init(&sg->ctx->rec, 9, sg->p.max_moves_per_game + 1)) return -1;
    tg_search_params_t sp = sg->p.search;
    sp.seed = seed + 17;
    tg_err_t err;
    return tg_search_create(&sp, &sg->ev, &sg->ctx->search, &err);
}

static void stub_game_free(stub_game_t *sg) {
    if (sg->ctx) {
        tg_search_destroy(sg->ctx->search);
        selfplay__recorder_free(&sg->ctx->rec);
    }
    free(sg->ctx);
    free(sg->fin);
}

/* Plays one game and runs the after-game steps up to the lead estimation. */
static int stub_game_play(stub_game_t *sg, tg_err_t *err) {
    int rc = selfplay__play_game(sg->ctx, &sg->ev, sg->fin, err);
    if (rc) return rc;
    selfplay__apply_surprise_weights(&sg->p, &sg->ctx->rec, sg->fin);
    selfplay__resolve_copies(&sg->ctx->rec, &sg->ctx->rng);
    return selfplay__estimate_leads(sg->ctx, sg->fin, err);
}

/* White's stub score at turn i from the recorded stones. */
static double stub_turn_score(const selfplay_recorder_t *r, int i, double komi) {
    const int8_t *st = r->stones + (size_t)i * r->area;
    int d = 0;
    for (int k = 0; k < r->area; k++)
        d -= st[k]; /* +1 black, -1 white */
    return komi + d - STUB_BIAS;
}

TEST(stub_game_every_row_gets_its_lead) {
    stub_game_t sg;
    memset(&sg, 0, sizeof(sg));
    ASSERT_EQ(stub_game_init(&sg, 1.0, 5), 0);
    tg_err_t err;
    int rc = stub_game_play(&sg, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    const selfplay_recorder_t *r = &sg.ctx->rec;
    double komi = sg.ctx->game.rules.komi;
    printf("  komi %.1f, %d turns, %d moves\n", komi, r->num_turns, sg.ctx->game.num_moves);
    /* Fair komi: the stub is even at komi 5 on the empty board, 6 after Black's first move. */
    ASSERT_TRUE(komi >= 4.5 && komi <= 6.5);
    ASSERT_TRUE(!sg.fin->no_result);
    int rows = 0, leads = 0;
    double err_sum = 0.0, err_max = 0.0;
    for (int i = 0; i < r->num_turns; i++) {
        const selfplay_turn_t *t = &r->turns[i];
        ASSERT_EQ(t->has_lead, t->copies > 0);
        if (t->copies <= 0) continue;
        rows++;
        leads++;
        ASSERT_TRUE(isfinite(t->white_lead));
        double want = stub_turn_score(r, i, komi);
        double e = fabs(t->white_lead - want);
        err_sum += e;
        err_max = e > err_max ? e : err_max;
    }
    printf("  %d rows with lead, |lead - stub score| mean %.2f max %.2f\n", leads, err_sum / leads,
           err_max);
    ASSERT_TRUE(rows >= 5);
    /* The searches average the turn's position with its children (one stone more, captures). */
    ASSERT_TRUE(err_sum / leads < 1.5);
    ASSERT_TRUE(err_max < 4.0);

    /* Rows read back from the .npz keep C21 (pla's view, capped) and C29. */
    char dir[256];
    ASSERT_EQ(sp_tmpdir(dir, sizeof(dir), "lead"), 0);
    selfplay_writer_t *w = calloc(1, sizeof(*w));
    ASSERT_TRUE(w != NULL);
    ASSERT_EQ(trainrows_init(&w->rows, 9, 4096, &err), 0);
    ASSERT_EQ(uv_mutex_init(&w->lock), 0);
    snprintf(w->tdata_dir, sizeof(w->tdata_dir), "%s", dir);
    w->max_rows = w->file_cap = 4096;
    w->npz_level = 1;
    tg_rng_seed(&w->rng, 3, 3);
    int written = selfplay__write_game_rows(w, r, sg.fin, &sg.ctx->rng, &err);
    ASSERT_TRUE(written >= rows);
    uv_mutex_lock(&w->lock);
    ASSERT_EQ(selfplay__writer_flush_locked(w, &err), 0);
    uv_mutex_unlock(&w->lock);
    static char names[4][256];
    ASSERT_EQ(sp_list(dir, ".npz", names, 4, NULL), 1);
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
    trainrows_t tr;
    memset(&tr, 0, sizeof(tr));
    ASSERT_EQ(trainrows_load_npz(&tr, path, &err), 0);
    ASSERT_EQ(tr.num_rows, written);
    int row = 0;
    for (int i = 0; i < r->num_turns; i++) {
        const selfplay_turn_t *t = &r->turns[i];
        for (int c = 0; c < t->copies; c++, row++) {
            const float *gt = trainrows_global_targets_row(&tr, row);
            ASSERT_EQ((int)gt[51], t->turn_number);
            float want = t->pla == TG_WHITE ? t->white_lead : -t->white_lead;
            want = want > 421.0f ? 421.0f : want < -421.0f ? -421.0f : want;
            ASSERT_NEAR(gt[29], 1.0, 0);
            ASSERT_NEAR(gt[21], want, 0);
            /* Pla's lead agrees in sign with pla's search score when either is clear. */
            if (fabsf(gt[19]) > 3.0f && fabsf(gt[21]) > 3.0f) ASSERT_TRUE(gt[19] * gt[21] > 0);
        }
    }
    ASSERT_EQ(row, tr.num_rows);
    trainrows_free(&tr);
    trainrows_free(&w->rows);
    uv_mutex_destroy(&w->lock);
    free(w);
    sp_rmrf(dir);
    stub_game_free(&sg);
}

TEST(stub_games_lead_rate_follows_prob) {
    const double prob = 0.3;
    int rows = 0, leads = 0, games = 0;
    long calls0 = atomic_load(&g_stub_calls);
    for (uint64_t seed = 100; seed < 130; seed++) {
        stub_game_t sg;
        memset(&sg, 0, sizeof(sg));
        ASSERT_EQ(stub_game_init(&sg, prob, seed), 0);
        tg_err_t err;
        int rc = stub_game_play(&sg, &err);
        if (rc) printf("  %s\n", err.msg);
        ASSERT_EQ(rc, 0);
        for (int i = 0; i < sg.ctx->rec.num_turns; i++) {
            const selfplay_turn_t *t = &sg.ctx->rec.turns[i];
            if (t->copies <= 0) {
                ASSERT_TRUE(!t->has_lead);
                continue;
            }
            rows++;
            leads += t->has_lead;
        }
        games++;
        stub_game_free(&sg);
    }
    double rate = (double)leads / rows, sd = sqrt(prob * (1 - prob) / rows);
    printf("  %d games, %d rows, %d with lead (rate %.3f, want %.2f +- %.3f), %ld stub evals\n",
           games, rows, leads, rate, prob, 4 * sd, atomic_load(&g_stub_calls) - calls0);
    ASSERT_TRUE(rows >= 200);
    ASSERT_TRUE(fabs(rate - prob) <= 4 * sd);
}

/* ---- The fixture net ---------------------------------------------------------------------- */

static char g_fixture[1024];

/* Black walls column bx, White walls column wx (9x9, area rules, komi 7), Black to move. */
static int wall_position(tg_game_t *g, int bx, int wx, tg_err_t *err) {
    tg_rules_t rules = tg_rules_default();
    rules.komi = 7.0f;
    tg_game_init(g, 9, &rules);
    for (int y = 0; y < 9; y++) {
        int rc = tg_game_play(g, tg_loc(bx, y), TG_BLACK, err);
        if (!rc) rc = tg_game_play(g, tg_loc(wx, y), TG_WHITE, err);
        if (rc) return rc;
    }
    return 0;
}

TEST(fixture_net_lead_sign_and_size) {
    tg_err_t err;
    tg_nn_evaluator_t *nn = NULL;
    int rc = tg_nn_evaluator_create(g_fixture, 8, 1, &nn, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    tg_search_evaluator_t ev = tg_search_evaluator_nn(nn);
    tg_selfplay_params_t p = tg_selfplay_params_default();
    selfplay_game_ctx_t *ctx = calloc(1, sizeof(*ctx));
    ASSERT_TRUE(ctx != NULL);
    ctx->params = &p;
    tg_search_params_t sp = p.search;
    sp.seed = 11;
    ASSERT_EQ(tg_search_create(&sp, &ev, &ctx->search, &err), 0);
    /* Black owns columns 0-5 (54 points), White 7-8 (18): Black ahead by about 36 - 7 = 29. */
    ASSERT_EQ(wall_position(&ctx->scratch, 5, 7, &err), 0);
    double lead = 0.0;
    int evals = 0;
    ASSERT_EQ(selfplay__search_lead(ctx, &sp, &ctx->scratch, 6, &lead, &evals, &err), 0);
    printf("  black walls: White's lead %.2f (%d searches)\n", lead, evals);
    ASSERT_TRUE(lead < -15.0 && lead > -50.0);
    ASSERT_NEAR(ctx->scratch.rules.komi, 7.0, 0); /* the position keeps its komi */
    /* Mirrored: White owns columns 3-8. */
    ASSERT_EQ(wall_position(&ctx->scratch, 1, 3, &err), 0);
    ASSERT_EQ(selfplay__search_lead(ctx, &sp, &ctx->scratch, 6, &lead, &evals, &err), 0);
    printf("  white walls: White's lead %.2f (%d searches)\n", lead, evals);
    ASSERT_TRUE(lead > 25.0 && lead < 65.0);
    /* Fair komi of the empty board: near KataGo's 9x9 area komi (7). */
    tg_rules_t rules = tg_rules_default();
    rules.komi = 7.0f;
    tg_game_init(&ctx->scratch, 9, &rules);
    double komi = 0.0;
    ASSERT_EQ(selfplay__search_even_komi(ctx, &sp, &ctx->scratch, 20, &komi, &evals, &err), 0);
    printf("  empty 9x9 fair komi %.2f (%d searches)\n", komi, evals);
    ASSERT_TRUE(komi > 3.0 && komi < 11.0);
    tg_search_destroy(ctx->search);
    free(ctx);
    tg_nn_evaluator_destroy(nn);
}

TEST(fixture_engine_run_prob1) {
    char out[256], models[256], link[600];
    ASSERT_EQ(sp_tmpdir(out, sizeof(out), "leadrun"), 0);
    ASSERT_EQ(sp_tmpdir(models, sizeof(models), "leadmodels"), 0);
    snprintf(link, sizeof(link), "%s/b6c96", models);
    ASSERT_EQ(mkdir(link, 0755), 0);
    snprintf(link, sizeof(link), "%s/b6c96/model.bin.gz", models);
    ASSERT_EQ(symlink(g_fixture, link), 0);
    tg_selfplay_params_t p = tg_selfplay_params_default();
    p.num_game_threads = 2;
    p.max_games = 2;
    p.seed = 5;
    p.max_visits = p.search.max_visits = 6;
    p.cheap_visits = 2;
    p.reduced_visits_min = 3;
    p.max_moves_per_game = 150;
    p.nn_threads = 1;
    p.estimate_lead_prob = 1.0;
    p.estimate_lead_visits = 2;
    p.compensate_komi_visits = 4;
    p.service.max_wait_us = 500;
    tg_selfplay_stats_t st;
    tg_err_t err;
    int rc = tg_selfplay_run(&p, models, out, NULL, &st, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(st.games, 2);
    int rows = 0;
    ASSERT_EQ(sp_check_output(out, "b6c96", 2, 0, &rows), 0);
    char tdata[600];
    snprintf(tdata, sizeof(tdata), "%s/b6c96/tdata", out);
    static char names[8][256];
    int n = sp_list(tdata, ".npz", names, 8, NULL), total = 0, with = 0, nonzero = 0;
    for (int f = 0; f < n && f < 8; f++) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%.255s", tdata, names[f]);
        trainrows_t tr;
        memset(&tr, 0, sizeof(tr));
        ASSERT_EQ(trainrows_load_npz(&tr, path, &err), 0);
        for (int r = 0; r < tr.num_rows; r++) {
            const float *gt = trainrows_global_targets_row(&tr, r);
            total++;
            with += gt[29] == 1.0f;
            nonzero += gt[21] != 0.0f;
        }
        trainrows_free(&tr);
    }
    printf("  %d rows, %d with lead, %d nonzero, %lld evals\n", total, with, nonzero,
           (long long)st.nn_positions);
    ASSERT_EQ(total, rows);
    /* Only rows whose search said no-result >= 0.3 may lack one (none expected here). */
    ASSERT_TRUE(with >= total * 9 / 10);
    ASSERT_TRUE(nonzero >= with / 2);
    sp_rmrf(out);
    sp_rmrf(models);
}

int main(void) {
    tg_log_set_level(TG_LOG_WARN);
    atomic_init(&g_stub_calls, 0);
    RUN(bisection_lands_on_linear_crossing);
    RUN(bisection_steep_and_out_of_window);
    RUN(stub_game_every_row_gets_its_lead);
    RUN(stub_games_lead_rate_follows_prob);
    snprintf(g_fixture, sizeof(g_fixture), "%s/g170-b6c96-s175395328-d26788732.bin.gz",
             test_fixtures_dir());
    if (access(g_fixture, R_OK) == 0) {
        char *abs = realpath(g_fixture, NULL);
        if (abs && strlen(abs) < sizeof(g_fixture)) memcpy(g_fixture, abs, strlen(abs) + 1);
        free(abs);
        RUN(fixture_net_lead_sign_and_size);
        RUN(fixture_engine_run_prob1);
    } else {
        printf("fixture net missing: fixture tests skipped\n");
    }
    TEST_MAIN_END();
}
