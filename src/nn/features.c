/* features.c: KataGo inputs v7 (see features.h; formats.md §2; NNInputs::fillRowV7).
 *
 * Notes on matching KataGo exactly:
 *  - Channel 6 in the main phase is the simple-ko point plus every superko-banned point; in
 *    the encore only the superko bans (the encore keeps no simple-ko point). Channel 7 is
 *    every ko-recapture-blocked stone, as KataGo's koRecapBlocked[] (either colour).
 *  - History: up to 5 moves, at most num_turns_this_phase, stopping at the first move whose
 *    player does not alternate opp, pla, opp, ...; a pass sets global k-1 instead of plane
 *    8+k. None at all (and global 14 = 0) when a pass would end the game and the root is
 *    conservative, or the rules make that pass "friendly" (suppressed), or passing hacks are
 *    on and pla would not win by ending now; only 1 move once the game is over or past the
 *    normal phase end.
 *  - Planes 15/16 use the board 1/2 turns ago only as far as history was included, falling
 *    back to the more recent board otherwise.
 *  - The ladder search starts from the simple-ko point in force on each board (none in the
 *    encore, where KataGo clears it after every ko capture). */
#include "nn/features.h"

#include <math.h>
#include <string.h>

#include "game/ladder.h"
#include "util/error.h"

tg_nn_input_params_t tg_nn_input_params_default(void) {
    tg_nn_input_params_t p;
    p.draw_equivalent_wins_for_white = 0.5;
    p.playout_doubling_advantage = 0.0;
    p.conservative_pass_and_is_root = false;
    p.enable_passing_hacks = false;
    p.max_history = 5;
    p.pass_alive_suicide = false;
    return p;
}

/* KataGo's BoardHistory::shouldSuppressEndGameFromFriendlyPass: friendly-pass rules under area
 * scoring, where this pass would be the 2nd consecutive ending pass and not a Spight-like
 * ending (same player passing again in the same position, only tracked under simple ko). */
static bool features__friendly_pass_suppressed(const tg_game_t *g, tg_color_t pla) {
    if (!g->rules.friendly_pass_ok || g->rules.scoring != TG_SCORING_AREA) return false;
    if (g->encore_phase > 0 || g->rules.ko == TG_KO_SPIGHT) return false; /* not +1 passes */
    if (g->consecutive_ending_passes + 1 != 2) return false;
    if (g->rules.ko == TG_KO_SIMPLE) {
        /* Spight-like ending: pla passed before in this same position (ko hash = stones hash
         * xor ko-recapture blocks, no player term under simple ko in the main phase). */
        tg_hash128_t h = tg_hash_xor(g->board.hash, g->ko_recap_block_hash);
        for (int i = 0; i < g->num_pass_hashes; i++)
            if (g->pass_hashes[i].color == pla && tg_hash_eq(g->pass_hashes[i].hash, h))
                return false;
    }
    return true;
}

/* Would pla win if the game were scored now (passing hacks)? */
static bool features__pla_wins_now(const tg_game_t *g, tg_color_t pla) {
    float white_minus_black = tg_game_final_score(g);
    return pla == TG_WHITE ? white_minus_black > 0.0f : white_minus_black < 0.0f;
}

static inline void set_plane(float *spatial, int plane, int plane_size, int pos) {
    spatial[plane * plane_size + pos] = 1.0f;
}

/* Ladder planes (14..17) for one board. */
static void features__ladders(const tg_board_t *b, tg_loc_t ko_loc, int plane, bool with_working,
                              tg_color_t opp, int len, float *spatial) {
    uint8_t laddered[TG_BOARD_CELLS];
    uint8_t working[TG_BOARD_CELLS];
    tg_ladder_mark_board(b, ko_loc, laddered, with_working ? working : NULL, opp);
    int plane_size = len * len;
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            int pos = y * len + x;
            if (laddered[loc]) set_plane(spatial, plane, plane_size, pos);
            if (with_working && working[loc]) set_plane(spatial, 17, plane_size, pos);
        }
}

void tg_nn_fill_features_ex(const tg_game_t *g, const tg_nn_input_params_t *params, int nn_len,
                            float *spatial, float *global) {
    tg_nn_input_params_t defaults = tg_nn_input_params_default();
    const tg_nn_input_params_t *p = params ? params : &defaults;
    const tg_board_t *b = &g->board;
    const int n = b->size;
    const int len = nn_len;
    const int plane_size = len * len;
    TG_ASSERT(n >= 2 && n <= len && len <= TG_BOARD_MAX);
    const tg_color_t pla = g->to_move;
    const tg_color_t opp = tg_color_opp(pla);
    TG_ASSERT(pla == TG_BLACK || pla == TG_WHITE);

    memset(spatial, 0, sizeof(float) * (size_t)TG_NN_NUM_SPATIAL * (size_t)plane_size);
    memset(global, 0, sizeof(float) * TG_NN_NUM_GLOBAL);

    /* 0-5: on board, stones, liberties. */
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            tg_loc_t loc = tg_loc(x, y);
            int pos = y * len + x;
            set_plane(spatial, 0, plane_size, pos);
            uint8_t c = b->color[loc];
            if (c == pla)
                set_plane(spatial, 1, plane_size, pos);
            else if (c == opp)
                set_plane(spatial, 2, plane_size, pos);
            if (c == TG_BLACK || c == TG_WHITE) {
                int libs = tg_board_chain_libs(b, loc);
                if (libs >= 1 && libs <= 3) set_plane(spatial, 2 + libs, plane_size, pos);
            }
        }
    }

    /* 6-7: ko bans and encore recapture blocks. */
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            tg_loc_t loc = tg_loc(x, y);
            int pos = y * len + x;
            if (g->encore_phase == 0) {
                if (loc == b->ko_loc || g->super_ko_banned[loc])
                    set_plane(spatial, 6, plane_size, pos);
            } else {
                if (g->super_ko_banned[loc]) set_plane(spatial, 6, plane_size, pos);
                if (g->ko_recap_blocked[loc]) set_plane(spatial, 7, plane_size, pos);
            }
        }
    }

    /* 9-13 and globals 0-4: history. */
    int max_turns = 5;
    bool suppress_pass_ends_phase = false;
    if (tg_game_pass_would_end_game(g, pla) &&
        (p->conservative_pass_and_is_root || features__friendly_pass_suppressed(g, pla) ||
         (p->enable_passing_hacks && !features__pla_wins_now(g, pla)))) {
        max_turns = 0;
        suppress_pass_ends_phase = true;
    } else if (g->game_over || g->is_past_normal_phase_end) {
        max_turns = 1;
    }
    if (p->max_history < max_turns) max_turns = p->max_history < 0 ? 0 : p->max_history;
    if (g->num_turns_this_phase < max_turns) max_turns = g->num_turns_this_phase;
    if (g->num_moves < max_turns) max_turns = g->num_moves;

    int turns_included = 0;
    for (int k = 1; k <= max_turns; k++) {
        const tg_move_t *m = &g->moves[g->num_moves - k];
        tg_color_t expected = (k % 2 == 1) ? opp : pla;
        if (m->color != expected) break;
        turns_included = k;
        if (m->loc == TG_LOC_PASS)
            global[k - 1] = 1.0f;
        else if (tg_board_on_board(b, m->loc))
            set_plane(spatial, 8 + k, plane_size, tg_loc_y(m->loc) * len + tg_loc_x(m->loc));
    }

    /* 14-17: ladders now, 1 and 2 turns ago. */
    const bool encore = g->encore_phase > 0;
    features__ladders(b, encore ? TG_LOC_NULL : b->ko_loc, 14, true, opp, len, spatial);
    const tg_board_t *prev1 = turns_included >= 1 ? tg_game_recent_board(g, 1) : b;
    features__ladders(prev1, encore ? TG_LOC_NULL : prev1->ko_loc, 15, false, opp, len, spatial);
    const tg_board_t *prev2 = turns_included >= 2 ? tg_game_recent_board(g, 2) : prev1;
    features__ladders(prev2, encore ? TG_LOC_NULL : prev2->ko_loc, 16, false, opp, len, spatial);

    /* 18-19: area. */
    const tg_rules_t *r = &g->rules;
    const bool suicide_for_area = r->multi_stone_suicide_legal || p->pass_alive_suicide;
    uint8_t area[TG_BOARD_CELLS];
    bool has_area = false;
    if (r->scoring == TG_SCORING_AREA && r->tax == TG_TAX_NONE) {
        tg_board_calc_area(b, area, true, true, true, suicide_for_area);
        has_area = true;
    } else {
        bool keep_territories = false, keep_stones = false;
        if (r->scoring == TG_SCORING_AREA) { /* tax seki / all */
            has_area = true;
            keep_stones = true;
        } else if (g->encore_phase >= 2) { /* territory scoring counts only from encore 2 */
            has_area = true;
            keep_territories = r->tax == TG_TAX_NONE;
        }
        if (has_area) {
            int region_count = 0;
            tg_board_calc_independent_life_area(b, area, &region_count, keep_territories,
                                                keep_stones, suicide_for_area);
        }
    }
    if (has_area) {
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                tg_loc_t loc = tg_loc(x, y);
                int pos = y * len + x;
                if (area[loc] == pla)
                    set_plane(spatial, 18, plane_size, pos);
                else if (area[loc] == opp)
                    set_plane(spatial, 19, plane_size, pos);
                else if (r->scoring == TG_SCORING_TERRITORY) {
                    /* Stones there both now and at the start of encore 2 count too. */
                    if (b->color[loc] == pla && g->second_encore_start_colors[loc] == pla)
                        set_plane(spatial, 18, plane_size, pos);
                    else if (b->color[loc] == opp && g->second_encore_start_colors[loc] == opp)
                        set_plane(spatial, 19, plane_size, pos);
                }
            }
        }
    }

    /* 20-21: stones at the start of the second encore phase. */
    if (g->encore_phase >= 2) {
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                tg_loc_t loc = tg_loc(x, y);
                int pos = y * len + x;
                if (g->second_encore_start_colors[loc] == pla)
                    set_plane(spatial, 20, plane_size, pos);
                else if (g->second_encore_start_colors[loc] == opp)
                    set_plane(spatial, 21, plane_size, pos);
            }
        }
    }

    /* Globals 5-18. */
    float self_komi = tg_game_self_komi(g, pla, p->draw_equivalent_wins_for_white);
    float board_area = (float)(n * n);
    if (self_komi > board_area + 20.0f) self_komi = board_area + 20.0f;
    if (self_komi < -board_area - 20.0f) self_komi = -board_area - 20.0f;
    global[5] = self_komi / 20.0f;

    if (r->ko == TG_KO_POSITIONAL || r->ko == TG_KO_SPIGHT) {
        global[6] = 1.0f;
        global[7] = 0.5f;
    } else if (r->ko == TG_KO_SITUATIONAL) {
        global[6] = 1.0f;
        global[7] = -0.5f;
    }
    if (r->multi_stone_suicide_legal) global[8] = 1.0f;
    if (r->scoring == TG_SCORING_TERRITORY) global[9] = 1.0f;
    if (r->tax == TG_TAX_SEKI || r->tax == TG_TAX_ALL) global[10] = 1.0f;
    if (r->tax == TG_TAX_ALL) global[11] = 1.0f;
    if (g->encore_phase > 0) global[12] = 1.0f;
    if (g->encore_phase > 1) global[13] = 1.0f;
    bool pass_ends_phase = !suppress_pass_ends_phase && tg_game_pass_would_end_phase(g, pla);
    global[14] = pass_ends_phase ? 1.0f : 0.0f;
    if (p->playout_doubling_advantage != 0.0) {
        global[15] = 1.0f;
        global[16] = (float)(0.5 * p->playout_doubling_advantage);
    }
    if (g->has_button) global[17] = 1.0f;

    /* Komi parity wave: distance above the nearest drawable komi, as a triangle wave. */
    if (r->scoring == TG_SCORING_AREA || g->encore_phase >= 2) {
        bool drawable_komis_even = (n * n) % 2 == 0;
        float komi_floor;
        if (drawable_komis_even)
            komi_floor = floorf(self_komi / 2.0f) * 2.0f;
        else
            komi_floor = floorf((self_komi - 1.0f) / 2.0f) * 2.0f + 1.0f;
        float delta = self_komi - komi_floor;
        if (delta < 0.0f) delta = 0.0f;
        if (delta > 2.0f) delta = 2.0f;
        float wave;
        if (delta < 0.5f)
            wave = delta;
        else if (delta < 1.5f)
            wave = 1.0f - delta;
        else
            wave = delta - 2.0f;
        global[18] = wave;
    }
}

void tg_nn_fill_features(const tg_game_t *g, int nn_len, float *spatial, float *global) {
    tg_nn_fill_features_ex(g, NULL, nn_len, spatial, global);
}

void tg_nn_symmetry_point(int x, int y, int len, int sym, int *out_x, int *out_y) {
    if (sym & 2) x = len - 1 - x;
    if (sym & 1) y = len - 1 - y;
    if (sym & 4) {
        int t = x;
        x = y;
        y = t;
    }
    *out_x = x;
    *out_y = y;
}

int tg_nn_symmetry_invert(int sym) {
    if (sym == 5) return 6;
    if (sym == 6) return 5;
    return sym;
}

void tg_nn_symmetry_apply(const float *src, float *dst, int channels, int len, int sym) {
    const int plane = len * len;
    for (int y = 0; y < len; y++)
        for (int x = 0; x < len; x++) {
            int sx, sy;
            tg_nn_symmetry_point(x, y, len, sym, &sx, &sy);
            int from = y * len + x, to = sy * len + sx;
            for (int c = 0; c < channels; c++)
                dst[c * plane + to] = src[c * plane + from];
        }
}

void tg_nn_symmetry_unapply(const float *src, float *dst, int channels, int len, int sym) {
    const int plane = len * len;
    for (int y = 0; y < len; y++)
        for (int x = 0; x < len; x++) {
            int sx, sy;
            tg_nn_symmetry_point(x, y, len, sym, &sx, &sy);
            int to = y * len + x, from = sy * len + sx;
            for (int c = 0; c < channels; c++)
                dst[c * plane + to] = src[c * plane + from];
        }
}

void tg_nn_fill_features_packed(const tg_game_t *g, const tg_nn_input_params_t *params,
                                float *out) {
    const int n = g->board.size;
    tg_nn_fill_features_ex(g, params, n, out, out + (size_t)TG_NN_NUM_SPATIAL * n * n);
}

void tg_nn_symmetry_apply_embed(const float *src, int n, float *dst, int channels, int len,
                                int sym) {
    TG_ASSERT(n >= 1 && n <= len);
    const int plane = len * len, src_plane = n * n;
    memset(dst, 0, sizeof(float) * (size_t)channels * (size_t)plane);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int sx, sy;
            tg_nn_symmetry_point(x, y, len, sym, &sx, &sy);
            int from = y * n + x, to = sy * len + sx;
            for (int c = 0; c < channels; c++)
                dst[c * plane + to] = src[c * src_plane + from];
        }
}
