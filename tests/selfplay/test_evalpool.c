/* test_evalpool.c: the evaluator-pool backend of the batched service (one net evaluator per
 * evaluator thread): with the real b6c96 fixture net, 4 client threads posting positions of
 * random 9x9 games through a 2-thread service get exactly the outputs of a direct, unbatched
 * evaluation. */
#include <stdio.h>
#include <uv.h>

#include "search/evalservice.h"
#include "test.h"
#include "util/rng.h"

#define CLIENTS    4
#define PER_CLIENT 24

typedef struct client_s {
    tg_evalservice_t *svc;
    tg_game_t games[PER_CLIENT];
    tg_nn_output_t outs[PER_CLIENT];
    int rc;
} client_t;

static void client_main(void *arg) {
    client_t *c = arg;
    tg_evalservice_attach(c->svc);
    for (int i = 0; i < PER_CLIENT && !c->rc; i++) {
        const tg_game_t *g = &c->games[i];
        int sym = i % 8;
        tg_err_t err;
        c->rc = tg_evalservice_evaluate(c->svc, 1, &g, &sym, &c->outs[i], &err);
    }
    tg_evalservice_detach(c->svc);
}

TEST(pool_matches_direct) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("  fixture missing: %s\n", path);
        exit(77);
    }
    fclose(f);
    tg_err_t err;
    tg_nn_evaluator_t *direct = NULL;
    tg_evalservice_nn_pool_t pool = {0};
    ASSERT_EQ(tg_nn_evaluator_create(path, 4, 1, &direct, &err), 0);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(tg_nn_evaluator_create(path, 4, 1, &pool.evs[i], &err), 0);
    pool.count = 2;
    tg_evalservice_params_t sp = tg_evalservice_params_default();
    sp.max_batch = 4;
    sp.num_threads = 2;
    sp.max_wait_us = 200;
    tg_evalservice_backend_t backend = tg_evalservice_backend_nn_pool(&pool);
    tg_evalservice_t *svc = NULL;
    ASSERT_EQ(tg_evalservice_create(&sp, &backend, &svc, &err), 0);

    static client_t clients[CLIENTS];
    tg_rules_t rules;
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &rules, &err), 0);
    tg_rng_t rng;
    tg_rng_seed(&rng, 7, 0);
    for (int c = 0; c < CLIENTS; c++) {
        clients[c].svc = svc;
        clients[c].rc = 0;
        for (int i = 0; i < PER_CLIENT; i++) {
            tg_game_t *g = &clients[c].games[i];
            tg_game_init(g, 9, &rules);
            int moves = (int)tg_rng_below(&rng, 40);
            for (int m = 0; m < moves && !g->game_over; m++)
                tg_game_play_assume_legal(g, tg_game_random_move(g, &rng), g->to_move);
        }
    }
    uv_thread_t th[CLIENTS];
    for (int c = 0; c < CLIENTS; c++)
        ASSERT_EQ(uv_thread_create(&th[c], client_main, &clients[c]), 0);
    for (int c = 0; c < CLIENTS; c++)
        uv_thread_join(&th[c]);
    tg_evalservice_stats_t st;
    tg_evalservice_get_stats(svc, &st);
    tg_evalservice_destroy(svc);

    double worst = 0;
    for (int c = 0; c < CLIENTS; c++) {
        ASSERT_EQ(clients[c].rc, 0);
        for (int i = 0; i < PER_CLIENT; i++) {
            tg_nn_output_t want;
            ASSERT_EQ(tg_nn_evaluate(direct, &clients[c].games[i], i % 8, &want, &err), 0);
            const tg_nn_output_t *got = &clients[c].outs[i];
            double d = fabs(got->white_win - want.white_win);
            for (int p = 0; p < 81; p++) {
                double dp = fabs(got->policy[p] - want.policy[p]);
                if (dp > d) d = dp;
            }
            if (d > worst) worst = d;
        }
    }
    printf("  %lld positions in %lld batches, worst |diff| %.3g\n", (long long)st.positions,
           (long long)st.batches, worst);
    ASSERT_EQ(st.positions, CLIENTS * PER_CLIENT);
    /* Batch composition changes float summation order in the backend only slightly. */
    ASSERT_TRUE(worst < 1e-4);
    for (int i = 0; i < 2; i++)
        tg_nn_evaluator_destroy(pool.evs[i]);
    tg_nn_evaluator_destroy(direct);
}

int main(void) {
    RUN(pool_matches_direct);
    TEST_MAIN_END();
}
