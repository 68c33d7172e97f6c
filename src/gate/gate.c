/* gate.c: gating matches between two nets, moving candidates, and the Elo ladder file. See
 * gate.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "game/game.h"
#include "gate/gate.h"
#include "search/evalservice.h"
#include "search/search.h"
#include "selfplay/selfplay.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/rng.h"

void tg_gate_params_from_config(const tg_config_t *cfg, tg_gate_params_t *out) {
    memset(out, 0, sizeof(*out));
    out->games = (int)cfg->gate_games;
    out->visits = cfg->gate_visits;
    out->required_win_prop = cfg->gate_required_win_prop;
    out->max_moves = (int)cfg->gate_max_moves;
    out->board_size = (int)cfg->game_board_size;
    tg_selfplay_params_t sp;
    tg_err_t err;
    if (tg_selfplay_params_from_config(cfg, &sp, &err) == 0) {
        int best = 0;
        for (int i = 0; i < sp.num_sizes; i++)
            if (sp.sizes[i] > best) best = sp.sizes[i];
        if (best > 0) out->board_size = best;
    }
    snprintf(out->rules, sizeof(out->rules), "%.63s", cfg->game_rules);
    out->komi = cfg->game_komi;
    out->nn_threads = cfg->nn_threads > 0 ? (int)cfg->nn_threads : 1;
    out->early_stop = true;
    out->seed = (uint64_t)cfg->run_seed;
}

double tg_gate_elo_diff(double points, int games) {
    if (games <= 0) return 0.0;
    double s = points / games, lo = 0.5 / games;
    if (s < lo) s = lo;
    if (s > 1 - lo) s = 1 - lo;
    return 400.0 * log10(s / (1 - s));
}

/* One side of a match: its evaluator (NULL nn = uniform random) and search. */
typedef struct gate_side_s {
    tg_nn_evaluator_t *nn;
    tg_search_t *search;
    int losing_turns; /* consecutive own turns at >= 90 % loss */
} gate_side_t;

static int gate__side_open(gate_side_t *s, const char *path, const tg_gate_params_t *p,
                           uint64_t seed, tg_err_t *err) {
    memset(s, 0, sizeof(*s));
    tg_search_evaluator_t ev = tg_evalservice_uniform_evaluator();
    if (path) {
        int rc = tg_nn_evaluator_create(path, 8, p->nn_threads, &s->nn, err);
        if (rc) return rc;
        ev = tg_search_evaluator_nn(s->nn);
    }
    tg_search_params_t sp = tg_search_params_selfplay();
    sp.max_visits = p->visits;
    sp.num_threads = 1;
    sp.root_noise_enabled = false;
    sp.root_desired_per_child_visits_coeff = 0.0;
    sp.root_policy_temperature_early = 1.0;
    sp.root_policy_temperature = 1.0;
    sp.root_fpu_reduction_max = 0.1;
    sp.root_num_symmetries_to_sample = 1;
    sp.chosen_move_temperature_early = 0.5;
    sp.chosen_move_temperature = 0.2;
    sp.chosen_move_temperature_halflife = 19;
    sp.dynamic_score_utility_factor = 0.25;
    sp.use_lcb_for_selection = true;
    sp.seed = seed | 1;
    int rc = tg_search_create(&sp, &ev, &s->search, err);
    if (rc) {
        tg_nn_evaluator_destroy(s->nn);
        s->nn = NULL;
    }
    return rc;
}

static void gate__side_close(gate_side_t *s) {
    tg_search_destroy(s->search);
    tg_nn_evaluator_destroy(s->nn);
    memset(s, 0, sizeof(*s));
}

/* Plays one game; returns the winner colour (TG_EMPTY: draw / no result), 1 stop, or < 0. */
static int gate__play_game(tg_game_t *g, gate_side_t *black, gate_side_t *white,
                           const tg_gate_params_t *p, const tg_rules_t *rules, tg_rng_t *rng,
                           atomic_bool *stop, int *winner, tg_err_t *err) {
    tg_game_init(g, p->board_size, rules);
    tg_game_set_komi(g, (float)p->komi);
    black->losing_turns = white->losing_turns = 0;
    const int area = p->board_size * p->board_size;
    while (!g->game_over) {
        if (stop && atomic_load(stop)) return 1;
        if (g->num_moves >= p->max_moves || g->num_moves >= TG_GAME_MAX_MOVES - 1) {
            uint8_t own[TG_BOARD_CELLS];
            tg_game_end_and_score(g, own);
            break;
        }
        tg_color_t pla = g->to_move;
        gate_side_t *s = pla == TG_BLACK ? black : white;
        int rc = tg_search_set_position(s->search, g, err);
        if (rc) return rc;
        if ((rc = tg_search_run(s->search, err))) return rc;
        tg_search_values_t v;
        if (tg_search_root_values(s->search, &v) == 0) {
            double mine = pla == TG_WHITE ? v.white_winloss : -v.white_winloss;
            s->losing_turns = mine <= -0.9 ? s->losing_turns + 1 : 0;
            if (s->losing_turns >= 5 && g->num_moves >= 1 + area / 5) {
                tg_game_resign(g, pla);
                break;
            }
        }
        tg_loc_t loc;
        if ((rc = tg_search_choose_move(s->search, tg_search_chosen_move_temperature(s->search),
                                        true, rng, &loc)))
            return tg_err_set(err, rc, "gate: no move chosen");
        if ((rc = tg_game_play(g, loc, pla, err))) return rc;
    }
    *winner = g->no_result ? TG_EMPTY : (int)g->winner;
    return 0;
}

int tg_gate_play_match(const tg_gate_params_t *p, const char *cand_path, const char *base_path,
                       atomic_bool *stop, tg_gate_result_t *res, tg_err_t *err) {
    memset(res, 0, sizeof(*res));
    if (p->games < 1 || p->visits < 1 || p->board_size < 2 || p->board_size > TG_BOARD_MAX)
        return tg_err_set(err, TG_EINVAL, "gate: bad params (games %d, visits %lld, size %d)",
                          p->games, (long long)p->visits, p->board_size);
    tg_rules_t rules;
    int rc = tg_rules_parse(p->rules, &rules, err);
    if (rc) return rc;
    gate_side_t cand, base;
    if ((rc = gate__side_open(&cand, cand_path, p, p->seed * 3 + 1, err))) return rc;
    if ((rc = gate__side_open(&base, base_path, p, p->seed * 3 + 2, err))) {
        gate__side_close(&cand);
        return rc;
    }
    tg_game_t *g = malloc(sizeof(*g));
    if (!g) {
        rc = tg_err_set(err, TG_ENOMEM, "gate: out of memory");
        goto done;
    }
    tg_rng_t rng;
    tg_rng_seed(&rng, p->seed, 0x6a7e);
    for (int i = 0; i < p->games; i++) {
        bool cand_black = (i % 2) == 0;
        int winner = TG_EMPTY;
        rc = gate__play_game(g, cand_black ? &cand : &base, cand_black ? &base : &cand, p, &rules,
                             &rng, stop, &winner, err);
        if (rc) break;
        res->games++;
        if (winner == TG_EMPTY) {
            res->draws++;
            res->candidate_points += 0.5;
        } else if ((winner == TG_BLACK) == cand_black) {
            res->candidate_wins++;
            res->candidate_black_wins += cand_black;
            res->candidate_points += 1.0;
        } else
            res->baseline_wins++;
        /* Stop early once decided (KataGo does). */
        double need = p->required_win_prop * p->games - 1e-9;
        if (p->early_stop && (res->candidate_points >= need ||
                              res->candidate_points + (p->games - res->games) < need))
            break;
    }
    if (rc == 0) {
        res->accepted = res->candidate_points >= p->required_win_prop * p->games - 1e-9;
        TG_LOGI("gate: %s vs %s: %d games, candidate %.1f points (%d-%d-%d)%s", cand_path,
                base_path ? base_path : "random", res->games, res->candidate_points,
                res->candidate_wins, res->baseline_wins, res->draws,
                res->accepted ? ", accepted" : ", rejected");
    }
done:
    free(g);
    gate__side_close(&cand);
    gate__side_close(&base);
    return rc;
}

int tg_gate_move_candidate(const char *from_dir, const char *to_dir, const char *name,
                           const tg_gate_result_t *res, const char *note, tg_err_t *err) {
    int rc = tg_mkdir_p(to_dir, err);
    if (rc) return rc;
    char from[2048], to[2048], rec[2100];
    snprintf(from, sizeof(from), "%s/%s", from_dir, name);
    snprintf(to, sizeof(to), "%s/%s", to_dir, name);
    if (rename(from, to) != 0)
        return tg_err_set(err, TG_EIO, "%s: cannot move to %s: %s", from, to, strerror(errno));
    char text[1024];
    int n = snprintf(text, sizeof(text),
                     "{\"candidate\": \"%s\", \"games\": %d, \"candidate_wins\": %d, "
                     "\"baseline_wins\": %d, \"draws\": %d, \"candidate_points\": %.1f, "
                     "\"accepted\": %s, \"note\": \"%s\"}\n",
                     name, res->games, res->candidate_wins, res->baseline_wins, res->draws,
                     res->candidate_points, res->accepted ? "true" : "false", note ? note : "");
    snprintf(rec, sizeof(rec), "%s/gate.json", to);
    return tg_file_write_atomic(rec, text, (size_t)n, err);
}

#define GATE_LADDER_MAX 4096

typedef struct gate_entry_s {
    char name[128], opponent[128];
    double elo, points;
    int games;
} gate_entry_t;

int tg_gate_ladder_record(const char *elo_path, const char *name, const char *opponent,
                          const tg_gate_result_t *res, tg_err_t *err) {
    gate_entry_t *e = calloc(GATE_LADDER_MAX, sizeof(*e));
    if (!e) return tg_err_set(err, TG_ENOMEM, "gate: out of memory");
    int n = 0, rc = 0;
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    if (stat(elo_path, &st) == 0) {
        tg_json_t *root = NULL;
        if ((rc = tg_file_read_all(elo_path, 64u << 20, &text, &len, err)) ||
            (rc = tg_json_parse(text, len, &root, err))) {
            tg_err_prefix(err, "%s", elo_path);
            goto done;
        }
        const tg_json_t *nets = tg_json_get(root, "nets");
        for (size_t i = 0; i < tg_json_count(nets) && n < GATE_LADDER_MAX; i++) {
            const tg_json_t *x = tg_json_at(nets, i);
            const char *nm = tg_json_string(tg_json_get(x, "name"));
            const char *op = tg_json_string(tg_json_get(x, "opponent"));
            if (!nm) continue;
            snprintf(e[n].name, sizeof(e[n].name), "%s", nm);
            snprintf(e[n].opponent, sizeof(e[n].opponent), "%s", op ? op : "");
            e[n].elo = tg_json_number(tg_json_get(x, "elo"), 0.0);
            e[n].points = tg_json_number(tg_json_get(x, "points"), 0.0);
            e[n].games = (int)tg_json_number(tg_json_get(x, "games"), 0.0);
            n++;
        }
        tg_json_free(root);
    }
    double base = 0.0;
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, opponent)) base = e[i].elo;
    int k = n;
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, name)) k = i;
    if (k == n) {
        if (n == GATE_LADDER_MAX) {
            rc = tg_err_set(err, TG_ERANGE, "%s: ladder full", elo_path);
            goto done;
        }
        n++;
    }
    snprintf(e[k].name, sizeof(e[k].name), "%s", name);
    snprintf(e[k].opponent, sizeof(e[k].opponent), "%s", opponent);
    e[k].points = res->candidate_points;
    e[k].games = res->games;
    e[k].elo = base + tg_gate_elo_diff(res->candidate_points, res->games);
    tg_atomic_file_t af;
    if ((rc = tg_atomic_file_open(&af, elo_path, err))) goto done;
    fprintf(af.fp, "{\"anchor\": \"random = 0\", \"nets\": [\n");
    for (int i = 0; i < n; i++)
        fprintf(af.fp,
                "  {\"name\": \"%s\", \"elo\": %.1f, \"opponent\": \"%s\", \"points\": %.1f, "
                "\"games\": %d}%s\n",
                e[i].name, e[i].elo, e[i].opponent, e[i].points, e[i].games, i + 1 < n ? "," : "");
    fprintf(af.fp, "]}\n");
    rc = tg_atomic_file_commit(&af, err);
done:
    free(text);
    free(e);
    return rc;
}
