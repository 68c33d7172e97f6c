/* selfplay_params.c: self-play settings: KataGo's selfplay1.cfg defaults (algorithms.md §1.5,
 * §2.9) on 9x9, and reading them from the [selfplay] section of tengen's config. The comma
 * lists of the config (board sizes with weights, rule choices) are parsed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/trainrows.h"
#include "selfplay/selfplay.h"

tg_selfplay_params_t tg_selfplay_params_default(void) {
    tg_selfplay_params_t p;
    memset(&p, 0, sizeof(p));
    p.num_game_threads = 4;
    p.num_sizes = 1;
    p.sizes[0] = 9;
    p.size_weights[0] = 1.0;
    p.data_len = 9;
    p.max_moves_per_game = 1600;
    p.max_visits = 600;
    p.cheap_visits = 100;
    p.cheap_search_prob = 0.75;
    p.reduce_visits = true;
    p.reduce_visits_threshold = 0.9;
    p.reduce_visits_lookback = 3;
    p.reduced_visits_min = 100;
    p.reduced_visits_weight = 0.1;
    p.policy_surprise_weight = 0.5;
    p.value_surprise_weight = 0.1;
    p.estimate_lead_prob = 0.05;
    p.estimate_lead_visits = 6;
    p.komi_auto = true;
    p.compensate_komi_visits = 20;
    p.komi_base = 7.0;
    p.komi_stdev = 1.0;
    p.komi_big_stdev_prob = 0.06;
    p.komi_big_stdev = 12.0;
    p.fancy_komi_varying = true;
    p.draw_rand_radius = 0.5;
    p.no_result_stdev = 0.1667;
    p.num_ko = 3;
    p.ko[0] = TG_KO_SIMPLE, p.ko[1] = TG_KO_POSITIONAL, p.ko[2] = TG_KO_SITUATIONAL;
    p.num_scoring = 2;
    p.scoring[0] = TG_SCORING_AREA, p.scoring[1] = TG_SCORING_TERRITORY;
    p.num_tax = 5;
    p.tax[0] = p.tax[1] = TG_TAX_NONE, p.tax[2] = p.tax[3] = TG_TAX_SEKI, p.tax[4] = TG_TAX_ALL;
    p.num_suicide = 2;
    p.suicide[0] = false, p.suicide[1] = true;
    p.num_button = 3;
    p.button[0] = p.button[1] = false, p.button[2] = true;
    p.policy_init_area_prop = 0.04;
    p.policy_init_temperature = 1.0;
    p.compensate_after_policy_init_prob = 0.2;
    p.end_if_all_pass_alive_prob = 0.98;
    p.max_rows_per_file = 10000;
    p.first_file_rand_min_prop = 0.15;
    p.npz_level = 6;
    p.search = tg_search_params_selfplay();
    p.service = tg_evalservice_params_default();
    p.service.max_batch = 0;
    p.service.cache_entries = 65536; /* NN cache, 46.7 MB at 9x9 (evalservice.h) */
    p.nn_threads = 0;
    p.model_poll_s = 10.0;
    return p;
}

/* Splits a comma list into at most TG_SELFPLAY_MAX_CHOICES trimmed tokens. Returns the count or
 * -1 when there are too many / none. */
static int selfplay__split(const char *text, char toks[][32]) {
    int n = 0;
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > s) {
            if (n >= TG_SELFPLAY_MAX_CHOICES || t - s >= 32) return -1;
            memcpy(toks[n], s, (size_t)(t - s));
            toks[n][t - s] = '\0';
            n++;
        }
        s = *e ? e + 1 : e;
    }
    return n > 0 ? n : -1;
}

static int selfplay__parse_bool(const char *t, bool *out) {
    if (!strcasecmp(t, "true") || !strcmp(t, "1")) return *out = true, 0;
    if (!strcasecmp(t, "false") || !strcmp(t, "0")) return *out = false, 0;
    return -1;
}

int tg_selfplay_params_from_config(const tg_config_t *cfg, tg_selfplay_params_t *out,
                                   tg_err_t *err) {
    tg_selfplay_params_t p = tg_selfplay_params_default();
    char toks[TG_SELFPLAY_MAX_CHOICES][32];
    int n;

    p.num_game_threads = (int)cfg->selfplay_num_game_threads;
    p.max_games = cfg->selfplay_max_games;
    p.seed = (uint64_t)cfg->run_seed;

    n = selfplay__split(cfg->selfplay_board_sizes, toks);
    if (n < 0)
        return tg_err_set(err, TG_EINVAL, "selfplay.board_sizes: expected 1..%d sizes",
                          TG_SELFPLAY_MAX_CHOICES);
    p.num_sizes = n;
    int maxsize = 0;
    for (int i = 0; i < n; i++) {
        char *end;
        long sz = strtol(toks[i], &end, 10);
        double w = 1.0;
        if (*end == ':') w = strtod(end + 1, &end);
        if (*end || sz < 2 || sz > TG_BOARD_MAX || !(w > 0.0))
            return tg_err_set(err, TG_EINVAL,
                              "selfplay.board_sizes: bad entry '%s' (want SIZE or SIZE:WEIGHT, "
                              "size 2..%d, weight > 0)",
                              toks[i], TG_BOARD_MAX);
        p.sizes[i] = (int)sz;
        p.size_weights[i] = w;
        if (sz > maxsize) maxsize = (int)sz;
    }
    p.data_len = cfg->selfplay_data_board_len > 0 ? (int)cfg->selfplay_data_board_len : maxsize;
    if (p.data_len < maxsize)
        return tg_err_set(err, TG_EINVAL,
                          "selfplay.data_board_len: %d is smaller than the board size %d",
                          p.data_len, maxsize);
    p.max_moves_per_game = (int)cfg->selfplay_max_moves_per_game;
    p.max_visits = cfg->selfplay_max_visits;
    p.cheap_visits = cfg->selfplay_cheap_visits;
    p.cheap_search_prob = cfg->selfplay_cheap_search_prob;
    p.reduce_visits = cfg->selfplay_reduce_visits;
    p.reduce_visits_threshold = cfg->selfplay_reduce_visits_threshold;
    p.reduce_visits_lookback = (int)cfg->selfplay_reduce_visits_lookback;
    p.reduced_visits_min = cfg->selfplay_reduced_visits_min;
    p.reduced_visits_weight = cfg->selfplay_reduced_visits_weight;
    p.policy_surprise_weight = cfg->selfplay_policy_surprise_weight;
    p.value_surprise_weight = cfg->selfplay_value_surprise_weight;
    p.estimate_lead_prob = cfg->selfplay_estimate_lead_prob;
    p.estimate_lead_visits = cfg->selfplay_estimate_lead_visits;
    p.komi_auto = cfg->selfplay_komi_auto;
    p.compensate_komi_visits = cfg->selfplay_compensate_komi_visits;
    p.komi_base = cfg->selfplay_komi_base;
    p.komi_stdev = cfg->selfplay_komi_stdev;
    p.komi_big_stdev_prob = cfg->selfplay_komi_big_stdev_prob;
    p.komi_big_stdev = cfg->selfplay_komi_big_stdev;
    p.fancy_komi_varying = cfg->selfplay_fancy_komi_varying;
    p.draw_rand_radius = cfg->selfplay_draw_rand_radius;
    p.no_result_stdev = cfg->selfplay_no_result_stdev;

    n = selfplay__split(cfg->selfplay_ko_rules, toks);
    if (n < 0) return tg_err_set(err, TG_EINVAL, "selfplay.ko_rules: empty or too long");
    p.num_ko = n;
    for (int i = 0; i < n; i++) {
        if (!strcmp(toks[i], "SIMPLE"))
            p.ko[i] = TG_KO_SIMPLE;
        else if (!strcmp(toks[i], "POSITIONAL"))
            p.ko[i] = TG_KO_POSITIONAL;
        else if (!strcmp(toks[i], "SITUATIONAL"))
            p.ko[i] = TG_KO_SITUATIONAL;
        else
            return tg_err_set(err, TG_EINVAL, "selfplay.ko_rules: unknown '%s'", toks[i]);
    }
    n = selfplay__split(cfg->selfplay_scoring_rules, toks);
    if (n < 0) return tg_err_set(err, TG_EINVAL, "selfplay.scoring_rules: empty or too long");
    p.num_scoring = n;
    for (int i = 0; i < n; i++) {
        if (!strcmp(toks[i], "AREA"))
            p.scoring[i] = TG_SCORING_AREA;
        else if (!strcmp(toks[i], "TERRITORY"))
            p.scoring[i] = TG_SCORING_TERRITORY;
        else
            return tg_err_set(err, TG_EINVAL, "selfplay.scoring_rules: unknown '%s'", toks[i]);
    }
    n = selfplay__split(cfg->selfplay_tax_rules, toks);
    if (n < 0) return tg_err_set(err, TG_EINVAL, "selfplay.tax_rules: empty or too long");
    p.num_tax = n;
    for (int i = 0; i < n; i++) {
        if (!strcmp(toks[i], "NONE"))
            p.tax[i] = TG_TAX_NONE;
        else if (!strcmp(toks[i], "SEKI"))
            p.tax[i] = TG_TAX_SEKI;
        else if (!strcmp(toks[i], "ALL"))
            p.tax[i] = TG_TAX_ALL;
        else
            return tg_err_set(err, TG_EINVAL, "selfplay.tax_rules: unknown '%s'", toks[i]);
    }
    n = selfplay__split(cfg->selfplay_multi_stone_suicide, toks);
    if (n < 0) return tg_err_set(err, TG_EINVAL, "selfplay.multi_stone_suicide: empty or too long");
    p.num_suicide = n;
    for (int i = 0; i < n; i++)
        if (selfplay__parse_bool(toks[i], &p.suicide[i]))
            return tg_err_set(err, TG_EINVAL, "selfplay.multi_stone_suicide: not a bool '%s'",
                              toks[i]);
    n = selfplay__split(cfg->selfplay_has_buttons, toks);
    if (n < 0) return tg_err_set(err, TG_EINVAL, "selfplay.has_buttons: empty or too long");
    p.num_button = n;
    for (int i = 0; i < n; i++)
        if (selfplay__parse_bool(toks[i], &p.button[i]))
            return tg_err_set(err, TG_EINVAL, "selfplay.has_buttons: not a bool '%s'", toks[i]);

    p.policy_init_area_prop = cfg->selfplay_policy_init_area_prop;
    p.policy_init_temperature = cfg->selfplay_policy_init_temperature;
    p.compensate_after_policy_init_prob = cfg->selfplay_compensate_after_policy_init_prob;
    p.end_if_all_pass_alive_prob = cfg->selfplay_end_if_all_pass_alive_prob;
    p.max_rows_per_file = (int)cfg->selfplay_max_rows_per_file;
    p.first_file_rand_min_prop = cfg->selfplay_first_file_rand_min_prop;
    p.npz_level = (int)cfg->selfplay_npz_level;
    p.service.max_batch = (int)cfg->selfplay_nn_max_batch;
    p.service.num_threads = (int)cfg->selfplay_nn_eval_threads;
    p.service.max_wait_us = (int)cfg->selfplay_nn_batch_wait_us;
    p.service.nn_len = (int)cfg->selfplay_nn_len;
    p.service.cache_entries = (int)cfg->selfplay_nn_cache_entries;
    p.service.cache_any_symmetry = cfg->selfplay_nn_cache_any_symmetry;
    p.nn_threads = (int)cfg->nn_threads;
    p.model_poll_s = cfg->selfplay_model_poll_s;
    p.search.max_visits = p.max_visits;
    int rc = tg_selfplay_params_validate(&p, err);
    if (rc) return rc;
    *out = p;
    return 0;
}

int tg_selfplay_params_validate(const tg_selfplay_params_t *p, tg_err_t *err) {
    if (p->num_game_threads < 1 || p->num_game_threads > 1024)
        return tg_err_set(err, TG_EINVAL, "selfplay: num_game_threads %d not in 1..1024",
                          p->num_game_threads);
    if (p->num_sizes < 1 || p->num_sizes > TG_SELFPLAY_MAX_CHOICES)
        return tg_err_set(err, TG_EINVAL, "selfplay: no board size");
    for (int i = 0; i < p->num_sizes; i++)
        if (p->sizes[i] < 2 || p->sizes[i] > p->data_len || !(p->size_weights[i] > 0.0))
            return tg_err_set(err, TG_EINVAL,
                              "selfplay: board size %d not in 2..data_len %d (or weight <= 0)",
                              p->sizes[i], p->data_len);
    if (p->data_len < 2 || p->data_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "selfplay: data_len %d not in 2..19", p->data_len);
    if (p->max_moves_per_game < 1 || p->max_moves_per_game > TG_GAME_MAX_MOVES - 1)
        return tg_err_set(err, TG_EINVAL, "selfplay: max_moves_per_game %d not in 1..%d",
                          p->max_moves_per_game, TG_GAME_MAX_MOVES - 1);
    if (p->max_visits < 1 || p->cheap_visits < 1 || p->reduced_visits_min < 1 ||
        p->estimate_lead_visits < 1 || p->compensate_komi_visits < 1)
        return tg_err_set(err, TG_EINVAL, "selfplay: visit counts must be >= 1");
    if (!(p->estimate_lead_prob >= 0.0 && p->estimate_lead_prob <= 1.0))
        return tg_err_set(err, TG_EINVAL, "selfplay: estimate_lead_prob %g not in [0, 1]",
                          p->estimate_lead_prob);
    if (p->num_ko < 1 || p->num_scoring < 1 || p->num_tax < 1 || p->num_suicide < 1 ||
        p->num_button < 1)
        return tg_err_set(err, TG_EINVAL, "selfplay: empty rules list");
    if (p->max_rows_per_file < 1)
        return tg_err_set(err, TG_EINVAL, "selfplay: max_rows_per_file must be >= 1");
    if (p->policy_surprise_weight + p->value_surprise_weight > 1.0)
        return tg_err_set(err, TG_EINVAL, "selfplay: policy + value surprise weights above 1");
    if (!(p->reduce_visits_threshold < 1.0))
        return tg_err_set(err, TG_EINVAL, "selfplay: reduce_visits_threshold must be < 1");
    return tg_search_params_validate(&p->search, err);
}
