/* sp_test_util.h: helpers shared by the selfplay tests: temp dirs, listing output files, and
 * checks of written rows against the SGFs of the same run. */
#ifndef TENGEN_TESTS_SELFPLAY_SP_TEST_UTIL_H
#define TENGEN_TESTS_SELFPLAY_SP_TEST_UTIL_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/trainrows.h"
#include "sgf/sgf.h"

/* Makes a fresh temp dir; returns its path in buf. */
static inline int sp_tmpdir(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/tengen_%s_XXXXXX", tag);
    return mkdtemp(buf) ? 0 : -1;
}

static inline void sp_rmrf(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Files in dir ending in suffix: up to cap names into names[i] (each 256 bytes). Also counts
 * files whose name contains ".tmp" into *tmp (may be NULL). */
static inline int sp_list(const char *dir, const char *suffix, char names[][256], int cap,
                          int *tmp) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    size_t sl = strlen(suffix);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (tmp && strstr(de->d_name, ".tmp")) (*tmp)++;
        size_t l = strlen(de->d_name);
        if (l < sl || strcmp(de->d_name + l - sl, suffix) != 0) continue;
        if (n < cap) snprintf(names[n], 256, "%s", de->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* White's final score and winner from an SGF RE value ("W+3.5", "B+1", "0", "Void"). */
static inline int sp_parse_result(const char *re, double *white_score) {
    if (!re) return -1;
    if (!strcmp(re, "0")) return *white_score = 0.0, 0;
    if (!strcmp(re, "Void")) return 1;
    if ((re[0] == 'W' || re[0] == 'B') && re[1] == '+') {
        double v = atof(re + 2);
        *white_score = re[0] == 'W' ? v : -v;
        return 0;
    }
    return -1;
}

/* Checks every row of every npz in tdata against the SGFs in sgfs. exact_area: rules were area
 * scoring without tax, so final score = ownership + self komi + bonus to come. */
static inline int sp_check_output(const char *out, const char *net, int expect_games,
                                  int exact_area, int *rows_total) {
    char tdata[600], sgfs[600];
    snprintf(tdata, sizeof(tdata), "%s/%s/tdata", out, net);
    snprintf(sgfs, sizeof(sgfs), "%s/%s/sgfs", out, net);
    static char names[64][256];
    int tmp = 0;
    int nsgf = sp_list(sgfs, ".sgf", names, 64, &tmp);
    if ((expect_games >= 0 && nsgf != expect_games) || nsgf < 1 || nsgf > 64 || tmp != 0) {
        printf("  sgfs: %d files (want %d), %d temp\n", nsgf, expect_games, tmp);
        return 1;
    }
    double sgf_scores[64];
    int sgf_void[64];
    for (int i = 0; i < nsgf; i++) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%.255s", sgfs, names[i]);
        tg_sgf_t sgf;
        tg_err_t err;
        if (tg_sgf_load_file(path, &sgf, &err)) {
            printf("  %s\n", err.msg);
            tg_sgf_free(&sgf);
            return 1;
        }
        sgf_void[i] = sp_parse_result(sgf.result, &sgf_scores[i]);
        if (sgf_void[i] < 0 || tg_sgf_num_moves(&sgf) < 1) {
            printf("  %s: bad result %s\n", names[i], sgf.result ? sgf.result : "(none)");
            tg_sgf_free(&sgf);
            return 1;
        }
        tg_sgf_free(&sgf);
    }
    int nnpz = sp_list(tdata, ".npz", names, 64, &tmp);
    if (nnpz < 1 || tmp != 0) {
        printf("  tdata: %d npz, %d temp\n", nnpz, tmp);
        return 1;
    }
    *rows_total = 0;
    /* Per game (by hash): White's final score seen in its rows. */
    double game_hash[256], game_score[256];
    int ngames = 0;
    for (int f = 0; f < nnpz; f++) {
        if (strchr(names[f], '_')) return printf("  npz name with '_'\n"), 1;
        char path[900];
        snprintf(path, sizeof(path), "%s/%.255s", tdata, names[f]);
        trainrows_t tr;
        memset(&tr, 0, sizeof(tr));
        tg_err_t err;
        if (trainrows_load_npz(&tr, path, &err)) return printf("  %s\n", err.msg), 1;
        if (tr.pos_len != 9) return printf("  pos_len %d\n", tr.pos_len), 1;
        *rows_total += tr.num_rows;
        for (int r = 0; r < tr.num_rows; r++) {
            const float *gt = trainrows_global_targets_row(&tr, r);
            const int16_t *pol = trainrows_policy_row(&tr, r);
            const int8_t *sd = trainrows_score_distr_row(&tr, r);
            const int8_t *vt = trainrows_value_row(&tr, r);
            long psum = 0, p1sum = 0;
            int16_t pmax = 0;
            for (int i = 0; i < tr.policy_len; i++) {
                if (pol[i] < 0 || pol[tr.policy_len + i] < 0) return printf("  neg policy\n"), 1;
                psum += pol[i];
                p1sum += pol[tr.policy_len + i];
                if (pol[i] > pmax) pmax = pol[i];
            }
            if (psum <= 0 || pmax < 10 || gt[26] != 1.0f)
                return printf("  row %d: policy sum %ld max %d\n", r, psum, pmax), 1;
            if (gt[28] == 0.0f && p1sum != tr.policy_len)
                return printf("  row %d: missing opp policy not all 1s\n", r), 1;
            int sdsum = 0;
            for (int i = 0; i < tr.score_len; i++)
                sdsum += sd[i];
            if (sdsum != 100) return printf("  row %d: score distr sum %d\n", r, sdsum), 1;
            if (fabsf(gt[0] + gt[1] + gt[2] - 1.0f) > 1e-5f || gt[63] != 3.0f || gt[25] != 1.0f)
                return printf("  row %d: outcome %g %g %g\n", r, gt[0], gt[1], gt[2]), 1;
            for (int k = 4; k < 20; k += 4)
                if (fabsf(gt[k] + gt[k + 1] + gt[k + 2] - 1.0f) > 1e-4f)
                    return printf("  row %d: TD group %d does not sum to 1\n", r, k), 1;
            if (gt[27] == 1.0f) {
                /* Komi randomized off the half-point grid (draw_rand_radius, as KataGo) makes a
                 * game within half a point a partial win: win = 0.5 + score, loss = 0.5 - score. */
                float sc = gt[3];
                if (fabsf(sc) < 0.5f) {
                    if (fabsf(gt[0] - (0.5f + sc)) > 1e-4f || fabsf(gt[1] - (0.5f - sc)) > 1e-4f)
                        return printf("  row %d: near-draw score %g but win %g loss %g\n", r, sc,
                                      gt[0], gt[1]),
                               1;
                } else if (sc > 0.0f && !(gt[0] > 0.99f)) {
                    return printf("  row %d: score %g but win %g\n", r, sc, gt[0]), 1;
                } else if (sc < 0.0f && !(gt[1] > 0.99f)) {
                    return printf("  row %d: score %g but loss %g\n", r, sc, gt[1]), 1;
                }
                int own = 0;
                for (int i = 0; i < tr.area; i++)
                    own += vt[i];
                double expect = own + gt[47] + gt[61];
                if (exact_area && fabs(expect - gt[3]) > 1e-3)
                    return printf("  row %d: score %g != ownership %d + komi %g + bonus %g\n", r,
                                  gt[3], own, gt[47], gt[61]),
                           1;
                if (exact_area && gt[34] != 1.0f) return printf("  row %d: scoring weight\n", r), 1;
                for (int i = 0; i < tr.area; i++)
                    if (vt[4 * tr.area + i] != 120 * vt[i] && exact_area)
                        return printf("  row %d: scoring plane\n", r), 1;
            }
            /* Lead: weight 0 or 1, finite and capped, 0 without weight, none in no-result games. */
            if (!(gt[29] == 0.0f || gt[29] == 1.0f) || !isfinite(gt[21]) ||
                fabsf(gt[21]) > 421.0f || (gt[29] == 0.0f && gt[21] != 0.0f) ||
                (gt[27] == 0.0f && gt[29] != 0.0f))
                return printf("  row %d: lead %g weight %g\n", r, gt[21], gt[29]), 1;
            /* Future-position planes hold only stones of the board: at most the area. */
            for (int i = 0; i < 4 * tr.area; i++)
                if (vt[i] < -1 || vt[i] > 1) return printf("  row %d: value plane range\n", r), 1;
            /* Pla from the turn number (no handicap: Black moves at even turns). */
            int turn = (int)gt[51];
            double white_score = (turn % 2 == 0) ? -gt[3] : gt[3];
            double h = gt[41] + 4194304.0 * gt[42];
            int gi = 0;
            while (gi < ngames && game_hash[gi] != h)
                gi++;
            if (gi == ngames) {
                if (ngames == 256) return printf("  too many games\n"), 1;
                game_hash[ngames] = h;
                game_score[ngames++] = white_score;
            } else if (fabs(game_score[gi] - white_score) > 1e-3) {
                return printf("  rows of one game disagree on the score\n"), 1;
            }
        }
        trainrows_free(&tr);
    }
    /* Every game with rows matches some SGF's result (draw adjustment: within 0.5). */
    for (int gi = 0; gi < ngames; gi++) {
        int ok = 0;
        for (int i = 0; i < nsgf; i++)
            if (!sgf_void[i] && fabs(sgf_scores[i] - game_score[gi]) <= 0.5 + 1e-6) ok = 1;
        if (!ok) return printf("  game score %g matches no SGF result\n", game_score[gi]), 1;
    }
    printf("  %d games, %d npz files, %d rows, %d row-games\n", nsgf, nnpz, *rows_total, ngames);
    return 0;
}

#endif
