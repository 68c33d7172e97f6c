/* game.c: game history and rules logic (KataGo's BoardHistory): superko bans, passes and
 * phase ends, the territory-scoring encore, button, handicap bonus, no-result cycles, scoring.
 *
 * The semantics follow cpp/game/boardhistory.cpp (makeBoardMoveAssumeLegal, isLegal,
 * passWouldEndPhase, countAreaScoreWhiteMinusBlack, countTerritoryAreaScoreWhiteMinusBlack,
 * endGameIfAllPassAlive). Differences: the pass-hash and encore-ko lists are bounded
 * (TG_GAME_MAX_PASS_HASHES, TG_GAME_MAX_ENCORE_KO), and undo replays from the start. */
#include "game/game.h"

#include <string.h>

/* ---- Ko hash history ------------------------------------------------------------------------ */

static tg_hash128_t ko_hash_of(const tg_game_t *g, tg_color_t pla) {
    tg_hash128_t h = tg_hash_xor(g->board.hash, g->ko_recap_block_hash);
    if (g->rules.ko == TG_KO_SITUATIONAL || g->rules.ko == TG_KO_SIMPLE || g->encore_phase > 0)
        h = tg_hash_xor(h, tg_zobrist_player[pla]);
    return h;
}

static inline void bloom_bit(tg_hash128_t h, int *word, uint64_t *mask) {
    uint32_t bit = (uint32_t)(h.hi % (TG_GAME_BLOOM_WORDS * 64));
    *word = (int)(bit / 64);
    *mask = 1ULL << (bit % 64);
}

static void ko_history_clear(tg_game_t *g, int first_turn) {
    g->ko_hash_count = 0;
    g->ko_hash_first_turn = first_turn;
    memset(g->ko_hash_bloom, 0, sizeof(g->ko_hash_bloom));
}

static void ko_history_push(tg_game_t *g, tg_hash128_t h) {
    if (g->ko_hash_count >= TG_GAME_MAX_MOVES + 1) return; /* cannot happen: one per move */
    g->ko_hashes[g->ko_hash_count++] = h;
    int w;
    uint64_t m;
    bloom_bit(h, &w, &m);
    g->ko_hash_bloom[w] |= m;
}

static int ko_history_count(const tg_game_t *g, tg_hash128_t h, int stop_at) {
    int w;
    uint64_t m;
    bloom_bit(h, &w, &m);
    if (!(g->ko_hash_bloom[w] & m)) return 0;
    int n = 0;
    for (int i = 0; i < g->ko_hash_count; i++)
        if (tg_hash_eq(g->ko_hashes[i], h) && ++n >= stop_at) break;
    return n;
}

static void set_ko_recap_blocked(tg_game_t *g, tg_loc_t loc, bool v) {
    if (g->ko_recap_blocked[loc] == v) return;
    g->ko_recap_blocked[loc] = v;
    g->ko_recap_block_hash =
        tg_hash_xor(g->ko_recap_block_hash, tg_zobrist_ko_blocked[loc][TG_BLACK]);
    g->ko_recap_block_hash =
        tg_hash_xor(g->ko_recap_block_hash, tg_zobrist_ko_blocked[loc][TG_WHITE]);
}

/* Board hash after color plays loc (captures and suicide included); Board::getPosHashAfterMove. */
static tg_hash128_t pos_hash_after_move(const tg_board_t *b, tg_loc_t loc, tg_color_t pla) {
    tg_hash128_t h = tg_hash_xor(b->hash, tg_zobrist_stone[loc][pla]);
    int opp = 3 - (int)pla;
    bool suicide = true;
    tg_loc_t heads[4];
    int nh = 0;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        int c = b->color[a];
        if (c == TG_EMPTY)
            suicide = false;
        else if (c == (int)pla && tg_board_chain_libs(b, a) > 1)
            suicide = false;
        else if (c == opp && tg_board_chain_libs(b, a) == 1) {
            tg_loc_t hd = b->chain_head[a];
            bool dup = false;
            for (int j = 0; j < nh; j++)
                dup |= (heads[j] == hd);
            if (dup) continue;
            heads[nh++] = hd;
            suicide = false;
            tg_loc_t cur = a;
            do {
                h = tg_hash_xor(h, tg_zobrist_stone[cur][opp]);
                cur = b->next_stone[cur];
            } while (cur != a);
        }
    }
    if (suicide) {
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
            if (b->color[a] != (int)pla || tg_board_chain_libs(b, a) != 1) continue;
            tg_loc_t hd = b->chain_head[a];
            bool dup = false;
            for (int j = 0; j < nh; j++)
                dup |= (heads[j] == hd);
            if (dup) continue;
            heads[nh++] = hd;
            tg_loc_t cur = a;
            do {
                h = tg_hash_xor(h, tg_zobrist_stone[cur][pla]);
                cur = b->next_stone[cur];
            } while (cur != a);
        }
        h = tg_hash_xor(h, tg_zobrist_stone[loc][pla]);
    }
    return h;
}

/* Board::getKoCaptureLoc: if playing loc would capture exactly one single opposing stone with
 * loc surrounded only by opponent stones and walls, that stone's loc; else TG_LOC_NULL. */
static tg_loc_t ko_capture_loc(const tg_board_t *b, tg_loc_t loc, tg_color_t pla) {
    if (b->color[loc] != TG_EMPTY) return TG_LOC_NULL;
    int opp = 3 - (int)pla;
    tg_loc_t cap = TG_LOC_NULL;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] != TG_WALL && b->color[a] != opp) return TG_LOC_NULL;
        if (b->color[a] == opp && tg_board_chain_libs(b, a) == 1) {
            if (cap != TG_LOC_NULL) return TG_LOC_NULL;
            cap = a;
        }
    }
    if (cap == TG_LOC_NULL || tg_board_chain_stones(b, cap) != 1) return TG_LOC_NULL;
    return cap;
}

/* ---- Handicap ------------------------------------------------------------------------------- */

static int handicap_helper(const tg_board_t *b, int black_turns) {
    int nb = tg_board_count_stones(b, TG_BLACK), nw = tg_board_count_stones(b, TG_WHITE);
    if (nw != 0) return 0;
    int adv = nb + black_turns;
    return adv <= 1 ? 0 : adv;
}

int tg_game_num_handicap_stones(const tg_game_t *g) {
    int black_turns = 0;
    if (g->assume_multiple_starting_black_moves_are_handicap) {
        for (int i = 0; i < g->num_moves; i++) {
            if (g->moves[i].color != TG_BLACK) {
                if (i + 1 < g->num_moves && g->moves[i + 1].color != TG_BLACK) black_turns = 0;
                break;
            }
            if (g->moves[i].loc != TG_LOC_PASS && g->moves[i].loc != TG_LOC_NULL) black_turns++;
        }
    }
    return handicap_helper(&g->initial_board, black_turns);
}

static float white_handicap_bonus(const tg_game_t *g) {
    if (g->rules.white_handicap_bonus == TG_WHB_0) return 0.0f;
    int n = tg_game_num_handicap_stones(g);
    if (g->rules.white_handicap_bonus == TG_WHB_N) return (float)n;
    return n > 1 ? (float)(n - 1) : 0.0f;
}

/* ---- Init ----------------------------------------------------------------------------------- */

void tg_game_reset(tg_game_t *g, const tg_board_t *board, tg_color_t to_move,
                   const tg_rules_t *rules, int encore_phase) {
    tg_board_t b = *board; /* board may point into g */
    tg_rules_t r = *rules;
    TG_ASSERT(encore_phase >= 0 && encore_phase <= 2);
    TG_ASSERT(encore_phase == 0 || r.scoring == TG_SCORING_TERRITORY);
    memset(g, 0, sizeof(*g));
    g->assume_multiple_starting_black_moves_are_handicap = true;
    g->board = b;
    g->rules = r;
    g->to_move = to_move;
    g->initial_board = b;
    g->initial_to_move = to_move;
    g->initial_encore_phase = encore_phase;
    for (int i = 0; i < TG_GAME_RECENT_BOARDS; i++)
        g->recent_boards[i] = b;
    g->recent_board_idx = 0;
    for (int loc = 0; loc < TG_BOARD_CELLS; loc++)
        g->was_ever_occupied_or_played[loc] =
            (b.color[loc] == TG_BLACK || b.color[loc] == TG_WHITE);
    g->has_button = r.has_button && encore_phase == 0;
    g->winner = TG_EMPTY;
    g->encore_phase = encore_phase;
    if (encore_phase == 2) memcpy(g->second_encore_start_colors, b.color, TG_BOARD_CELLS);
    ko_history_clear(g, 0);
    ko_history_push(g, ko_hash_of(g, to_move));
    if (r.scoring == TG_SCORING_TERRITORY) {
        g->white_bonus_score += (float)tg_board_count_stones(&b, TG_BLACK);
        g->white_bonus_score -= (float)tg_board_count_stones(&b, TG_WHITE);
        /* captured[c] counts stones of colour c captured: white captured black = captured[BLACK] */
        int net_white_captures = b.captured[TG_BLACK] - b.captured[TG_WHITE];
        g->white_bonus_score -= (float)net_white_captures;
    }
    g->white_handicap_bonus_score = white_handicap_bonus(g);
}

void tg_game_init(tg_game_t *g, int size, const tg_rules_t *rules) {
    tg_board_t b;
    tg_board_init(&b, size);
    memset(g, 0, sizeof(*g));
    tg_game_reset(g, &b, TG_BLACK, rules, 0);
}

int tg_game_set_stone(tg_game_t *g, tg_loc_t loc, tg_color_t color, tg_err_t *err) {
    char v[8];
    if (!tg_board_on_board(&g->board, loc))
        return tg_err_set(err, TG_EINVAL, "setup: point is not on the board");
    tg_board_t b = g->board;
    if (!tg_board_set_stone(&b, loc, color))
        return tg_err_set(err, TG_EINVAL, "setup: stone at %s would have no liberties",
                          tg_loc_to_gtp(loc, b.size, v));
    tg_rules_t r = g->rules;
    bool assume = g->assume_multiple_starting_black_moves_are_handicap;
    tg_game_reset(g, &b, g->to_move, &r, g->encore_phase);
    g->assume_multiple_starting_black_moves_are_handicap = assume;
    g->white_handicap_bonus_score = white_handicap_bonus(g);
    return 0;
}

static const int handicap_order[9][2] = {
    /* (x index, y index) into {near, far, middle}; KataGo PlayUtils::placeFixedHandicap */
    {0, 1}, {1, 0}, {0, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 2}, {2, 0}, {2, 1}};

int tg_game_fixed_handicap_points(int size, int n, tg_loc_t out[9]) {
    if (size < 7 || n < 2 || n > 9) return TG_EINVAL;
    if (size % 2 == 0 && n > 4) return TG_EINVAL;
    if (size <= 7 && n > 4) return TG_EINVAL;
    int c[3];
    c[0] = size <= 12 ? 2 : 3;
    c[1] = size <= 12 ? size - 3 : size - 4;
    c[2] = size / 2;
    /* Which of the 9 pattern points are used for each n. */
    static const uint16_t used[10] = {0, 0, 0x003, 0x007, 0x00f, 0x01f, 0x06f, 0x07f, 0x1ef, 0x1ff};
    int k = 0;
    for (int i = 0; i < 9; i++)
        if (used[n] & (1u << i))
            out[k++] = tg_loc(c[handicap_order[i][0]], c[handicap_order[i][1]]);
    return k;
}

int tg_game_place_fixed_handicap(tg_game_t *g, int n, tg_err_t *err) {
    tg_loc_t pts[9];
    int k = tg_game_fixed_handicap_points(g->board.size, n, pts);
    if (k < 0)
        return tg_err_set(err, TG_EINVAL, "fixed_handicap: %d stones not allowed on %dx%d", n,
                          g->board.size, g->board.size);
    if (tg_board_count_stones(&g->board, TG_BLACK) + tg_board_count_stones(&g->board, TG_WHITE) > 0)
        return tg_err_set(err, TG_EINVAL, "fixed_handicap: board is not empty");
    tg_board_t b;
    tg_board_init(&b, g->board.size);
    for (int i = 0; i < k; i++)
        tg_board_set_stone(&b, pts[i], TG_BLACK);
    tg_rules_t r = g->rules;
    bool assume = g->assume_multiple_starting_black_moves_are_handicap;
    tg_game_reset(g, &b, TG_WHITE, &r, 0);
    g->assume_multiple_starting_black_moves_are_handicap = assume;
    g->white_handicap_bonus_score = white_handicap_bonus(g);
    return 0;
}

void tg_game_set_komi(tg_game_t *g, float komi) {
    float old = g->rules.komi;
    g->rules.komi = komi;
    if (g->game_over && g->is_scored) {
        g->final_score = g->final_score - old + komi;
        g->winner = g->final_score > 0 ? TG_WHITE : g->final_score < 0 ? TG_BLACK : TG_EMPTY;
    }
}

/* ---- Legality ------------------------------------------------------------------------------- */

bool tg_game_is_pass_for_ko(const tg_game_t *g, tg_loc_t loc, tg_color_t color) {
    if (g->encore_phase <= 0 || loc == TG_LOC_PASS || !tg_board_on_board(&g->board, loc))
        return false;
    tg_loc_t k = ko_capture_loc(&g->board, loc, color);
    return k != TG_LOC_NULL && g->ko_recap_blocked[k] && g->board.color[k] == tg_color_opp(color);
}

bool tg_game_is_legal(const tg_game_t *g, tg_loc_t loc, tg_color_t color) {
    if (color != TG_BLACK && color != TG_WHITE) return false;
    if (loc != TG_LOC_PASS && !tg_board_on_board(&g->board, loc)) return false;
    if (tg_game_is_pass_for_ko(g, loc, color)) return true;
    if (!tg_board_is_legal(&g->board, loc, color, g->rules.multi_stone_suicide_legal)) return false;
    if (loc != TG_LOC_PASS && g->super_ko_banned[loc]) return false;
    return true;
}

bool tg_game_is_legal_to_move(const tg_game_t *g, tg_loc_t loc, tg_color_t color) {
    return color == g->to_move && tg_game_is_legal(g, loc, color);
}

/* ---- Passes and phases ---------------------------------------------------------------------- */

static int new_consecutive_passes_after_pass(const tg_game_t *g) {
    if (g->encore_phase > 0) return g->consecutive_ending_passes + 1;
    return g->rules.ko == TG_KO_SPIGHT ? 0 : g->consecutive_ending_passes + 1;
}

static bool spightlike_phase(const tg_game_t *g) {
    return g->encore_phase > 0 || g->rules.ko == TG_KO_SIMPLE || g->rules.ko == TG_KO_SPIGHT;
}

static bool would_be_spightlike_ending_pass(const tg_game_t *g, tg_color_t pla, tg_hash128_t h) {
    if (!spightlike_phase(g)) return false;
    for (int i = 0; i < g->num_pass_hashes; i++)
        if (g->pass_hashes[i].color == pla && tg_hash_eq(g->pass_hashes[i].hash, h)) return true;
    return false;
}

bool tg_game_pass_would_end_phase(const tg_game_t *g, tg_color_t color) {
    tg_hash128_t h = ko_hash_of(g, color);
    return new_consecutive_passes_after_pass(g) >= 2 ||
           would_be_spightlike_ending_pass(g, color, h);
}

bool tg_game_pass_would_end_game(const tg_game_t *g, tg_color_t color) {
    return tg_game_pass_would_end_phase(g, color) &&
           (g->rules.scoring == TG_SCORING_AREA || g->encore_phase >= 2);
}

/* ---- Scoring -------------------------------------------------------------------------------- */

static int area_score(const tg_game_t *g, uint8_t *area) {
    const tg_board_t *b = &g->board;
    int score = 0;
    if (g->rules.tax == TG_TAX_NONE) {
        tg_board_calc_area(b, area, true, true, true, g->rules.multi_stone_suicide_legal);
    } else {
        int wmb = 0;
        tg_board_calc_independent_life_area(b, area, &wmb, false, true,
                                            g->rules.multi_stone_suicide_legal);
        if (g->rules.tax == TG_TAX_ALL) score -= 2 * wmb;
    }
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            int a = area[tg_loc(x, y)];
            score += (a == TG_WHITE) - (a == TG_BLACK);
        }
    return score;
}

static int territory_score(const tg_game_t *g, uint8_t *area) {
    const tg_board_t *b = &g->board;
    bool keep_territories = (g->rules.tax == TG_TAX_NONE);
    int wmb = 0, score = 0;
    tg_board_calc_independent_life_area(b, area, &wmb, keep_territories, false,
                                        g->rules.multi_stone_suicide_legal);
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (area[loc] == TG_WHITE)
                score += 1;
            else if (area[loc] == TG_BLACK)
                score -= 1;
            else {
                int c = b->color[loc];
                if (c == TG_WHITE &&
                    (g->encore_phase < 2 || g->second_encore_start_colors[loc] == TG_WHITE)) {
                    score += 1;
                    area[loc] = TG_WHITE;
                }
                if (c == TG_BLACK &&
                    (g->encore_phase < 2 || g->second_encore_start_colors[loc] == TG_BLACK)) {
                    score -= 1;
                    area[loc] = TG_BLACK;
                }
            }
        }
    if (g->rules.tax == TG_TAX_ALL) score -= 2 * wmb;
    return score;
}

int tg_game_area_now(const tg_game_t *g, uint8_t result[TG_BOARD_CELLS]) {
    return g->rules.scoring == TG_SCORING_AREA ? area_score(g, result) : territory_score(g, result);
}

static void set_final(tg_game_t *g, float score) {
    g->final_score = score;
    g->winner = score > 0 ? TG_WHITE : score < 0 ? TG_BLACK : TG_EMPTY;
    g->is_scored = true;
    g->no_result = false;
    g->resigned = false;
    g->game_over = true;
    g->is_past_normal_phase_end = false;
}

void tg_game_end_and_score(tg_game_t *g, uint8_t area[TG_BOARD_CELLS]) {
    uint8_t tmp[TG_BOARD_CELLS];
    if (!area) area = tmp;
    int board_score = tg_game_area_now(g, area);
    if (g->has_button) {
        g->has_button = false;
        g->white_bonus_score += (g->to_move == TG_WHITE ? 0.5f : -0.5f);
    }
    set_final(g, (float)board_score + g->white_bonus_score + g->white_handicap_bonus_score +
                     g->rules.komi);
}

bool tg_game_end_if_all_pass_alive(tg_game_t *g) {
    uint8_t area[TG_BOARD_CELLS];
    tg_board_calc_area(&g->board, area, false, false, false, g->rules.multi_stone_suicide_legal);
    int score = 0;
    for (int y = 0; y < g->board.size; y++)
        for (int x = 0; x < g->board.size; x++) {
            int a = area[tg_loc(x, y)];
            if (a == TG_EMPTY) return false;
            score += (a == TG_WHITE) ? 1 : -1;
        }
    if (g->rules.tax == TG_TAX_ALL) {
        tg_game_end_and_score(g, NULL);
        return true;
    }
    if (g->has_button) {
        g->has_button = false;
        g->white_bonus_score += (g->to_move == TG_WHITE ? 0.5f : -0.5f);
    }
    set_final(g,
              (float)score + g->white_bonus_score + g->white_handicap_bonus_score + g->rules.komi);
    return true;
}

void tg_game_resign(tg_game_t *g, tg_color_t resigner) {
    g->game_over = true;
    g->is_past_normal_phase_end = false;
    g->is_scored = false;
    g->no_result = false;
    g->resigned = true;
    g->winner = tg_color_opp(resigner);
    g->final_score = 0.0f;
}

float tg_game_final_score(const tg_game_t *g) {
    if (g->game_over && g->is_scored) return g->final_score;
    uint8_t area[TG_BOARD_CELLS];
    int board_score = tg_game_area_now(g, area);
    float bonus = g->white_bonus_score;
    if (g->has_button) bonus += (g->to_move == TG_WHITE ? 0.5f : -0.5f);
    return (float)board_score + bonus + g->white_handicap_bonus_score + g->rules.komi;
}

bool tg_game_rules_are_tromp_taylor(const tg_game_t *g) {
    const tg_rules_t *r = &g->rules;
    return r->ko == TG_KO_POSITIONAL && r->scoring == TG_SCORING_AREA && r->tax == TG_TAX_NONE &&
           r->multi_stone_suicide_legal && !r->has_button;
}

float tg_game_gtp_final_score(const tg_game_t *g) {
    if (!tg_game_rules_are_tromp_taylor(g)) return tg_game_final_score(g);
    return (float)tg_board_score_area_strict(&g->board) + g->white_handicap_bonus_score +
           g->rules.komi;
}

float tg_game_self_komi(const tg_game_t *g, tg_color_t pla, double draw_wins_for_white) {
    bool komi_int = ((float)(int)g->rules.komi == g->rules.komi);
    float draw_adj = komi_int ? (float)(draw_wins_for_white - 0.5) : 0.0f;
    float w = g->white_bonus_score + g->white_handicap_bonus_score + g->rules.komi + draw_adj;
    return pla == TG_WHITE ? w : -w;
}

/* ---- Moves ---------------------------------------------------------------------------------- */

const tg_board_t *tg_game_recent_board(const tg_game_t *g, int n) {
    TG_ASSERT(n >= 0 && n < TG_GAME_RECENT_BOARDS);
    int idx = (g->recent_board_idx - n + TG_GAME_RECENT_BOARDS) % TG_GAME_RECENT_BOARDS;
    return &g->recent_boards[idx];
}

static void push_pass_hash(tg_game_t *g, tg_hash128_t h, tg_color_t pla) {
    if (g->num_pass_hashes >= TG_GAME_MAX_PASS_HASHES) {
        memmove(&g->pass_hashes[0], &g->pass_hashes[1],
                sizeof(g->pass_hashes[0]) * (TG_GAME_MAX_PASS_HASHES - 1));
        g->num_pass_hashes--;
    }
    g->pass_hashes[g->num_pass_hashes].hash = h;
    g->pass_hashes[g->num_pass_hashes].color = (uint8_t)pla;
    g->num_pass_hashes++;
}

static void update_superko_bans(tg_game_t *g, tg_color_t next) {
    const tg_board_t *b = &g->board;
    if (g->encore_phase <= 0 && g->rules.ko != TG_KO_SIMPLE) {
        bool situational = (g->rules.ko == TG_KO_SITUATIONAL);
        for (int y = 0; y < b->size; y++)
            for (int x = 0; x < b->size; x++) {
                tg_loc_t loc = tg_loc(x, y);
                bool banned = false;
                if (b->color[loc] != TG_EMPTY || loc == b->ko_loc ||
                    !tg_board_is_legal(b, loc, next, g->rules.multi_stone_suicide_legal)) {
                    banned = false;
                } else if (!g->was_ever_occupied_or_played[loc] &&
                           !tg_board_would_be_suicide(b, loc, next)) {
                    banned = false;
                } else {
                    tg_hash128_t h = pos_hash_after_move(b, loc, next);
                    if (situational) h = tg_hash_xor(h, tg_zobrist_player[tg_color_opp(next)]);
                    banned = ko_history_count(g, h, 1) > 0;
                }
                g->super_ko_banned[loc] = banned;
            }
    } else if (g->encore_phase > 0) {
        memset(g->super_ko_banned, 0, sizeof(g->super_ko_banned));
        for (int i = 0; i < g->num_encore_ko; i++) {
            const tg_game_encore_ko_t *e = &g->encore_ko[i];
            if (tg_hash_eq(e->pos_hash_before, b->hash) && e->color == next)
                g->super_ko_banned[e->loc] = true;
        }
    }
}

int tg_game_play_assume_legal(tg_game_t *g, tg_loc_t loc, tg_color_t pla) {
    if (g->num_moves >= TG_GAME_MAX_MOVES) return TG_ERANGE;
    tg_color_t opp = tg_color_opp(pla);
    tg_hash128_t pos_hash_before = g->board.hash;

    g->game_over = false;
    g->is_past_normal_phase_end = false;
    g->winner = TG_EMPTY;
    g->final_score = 0.0f;
    g->is_scored = false;
    g->no_result = false;
    g->resigned = false;

    bool spight_end = false;
    if (loc != TG_LOC_PASS) {
        g->consecutive_ending_passes = 0;
    } else if (g->has_button) {
        g->has_button = false;
        g->white_bonus_score += (pla == TG_WHITE ? 0.5f : -0.5f);
        g->consecutive_ending_passes = 0;
        g->num_pass_hashes = 0;
        ko_history_clear(g, g->num_moves + 1);
    } else {
        if (spightlike_phase(g)) ko_history_clear(g, g->num_moves + 1);
        tg_hash128_t before = ko_hash_of(g, pla);
        g->consecutive_ending_passes = new_consecutive_passes_after_pass(g);
        spight_end = would_be_spightlike_ending_pass(g, pla, before);
        push_pass_hash(g, before, pla);
    }

    bool pass_for_ko = false;
    if (g->encore_phase > 0 && loc != TG_LOC_PASS) {
        tg_loc_t k = ko_capture_loc(&g->board, loc, pla);
        if (k != TG_LOC_NULL && g->ko_recap_blocked[k] && g->board.color[k] == opp) {
            set_ko_recap_blocked(g, k, false);
            pass_for_ko = true;
            g->board.ko_loc = TG_LOC_NULL;
        }
    }
    if (!pass_for_ko) {
        tg_board_play(&g->board, loc, pla);
        if (g->encore_phase > 0) {
            if (g->board.ko_loc != TG_LOC_NULL) {
                set_ko_recap_blocked(g, loc, true);
                if (g->num_encore_ko < TG_GAME_MAX_ENCORE_KO) {
                    tg_game_encore_ko_t *e = &g->encore_ko[g->num_encore_ko++];
                    e->pos_hash_before = pos_hash_before;
                    e->loc = loc;
                    e->color = (uint8_t)pla;
                }
                g->board.ko_loc = TG_LOC_NULL;
            }
            for (int y = 0; y < g->board.size; y++)
                for (int x = 0; x < g->board.size; x++) {
                    tg_loc_t l = tg_loc(x, y);
                    if (g->board.color[l] == TG_EMPTY && g->ko_recap_blocked[l])
                        set_ko_recap_blocked(g, l, false);
                }
        }
    }

    g->recent_board_idx = (g->recent_board_idx + 1) % TG_GAME_RECENT_BOARDS;
    g->recent_boards[g->recent_board_idx] = g->board;

    ko_history_push(g, ko_hash_of(g, opp));
    g->moves[g->num_moves].loc = loc;
    g->moves[g->num_moves].color = (uint8_t)pla;
    g->num_moves++;
    g->num_turns_this_phase++;
    g->to_move = opp;
    if (loc != TG_LOC_PASS) g->was_ever_occupied_or_played[loc] = true;

    update_superko_bans(g, opp);

    if (g->rules.scoring == TG_SCORING_TERRITORY && g->encore_phase <= 1 && loc != TG_LOC_PASS &&
        !pass_for_ko)
        g->white_bonus_score += (pla == TG_BLACK ? 1.0f : -1.0f);

    if (pla == TG_WHITE) g->white_has_moved = true;
    if (g->assume_multiple_starting_black_moves_are_handicap && !g->white_has_moved &&
        pla == TG_BLACK && g->rules.white_handicap_bonus != TG_WHB_0)
        g->white_handicap_bonus_score = white_handicap_bonus(g);

    if (g->consecutive_ending_passes >= 2 || spight_end) {
        if (g->rules.scoring == TG_SCORING_AREA || g->encore_phase >= 2) {
            tg_game_end_and_score(g, NULL);
        } else {
            g->encore_phase++;
            g->num_turns_this_phase = 0;
            if (g->encore_phase == 2)
                memcpy(g->second_encore_start_colors, g->board.color, TG_BOARD_CELLS);
            memset(g->super_ko_banned, 0, sizeof(g->super_ko_banned));
            g->consecutive_ending_passes = 0;
            g->num_pass_hashes = 0;
            memset(g->ko_recap_blocked, 0, sizeof(g->ko_recap_blocked));
            g->ko_recap_block_hash.lo = g->ko_recap_block_hash.hi = 0;
            g->num_encore_ko = 0;
            ko_history_clear(g, g->num_moves);
            ko_history_push(g, ko_hash_of(g, opp));
        }
    }

    if (loc != TG_LOC_PASS && (g->encore_phase > 0 || g->rules.ko == TG_KO_SIMPLE)) {
        if (ko_history_count(g, g->ko_hashes[g->ko_hash_count - 1], 3) >= 3) {
            g->no_result = true;
            g->game_over = true;
        }
    }
    return 0;
}

int tg_game_play(tg_game_t *g, tg_loc_t loc, tg_color_t color, tg_err_t *err) {
    char v[8];
    if (color != TG_BLACK && color != TG_WHITE)
        return tg_err_set(err, TG_EINVAL, "play: invalid colour %d", (int)color);
    if (!tg_game_is_legal(g, loc, color)) {
        const tg_board_t *b = &g->board;
        const char *why = "illegal";
        if (loc != TG_LOC_PASS && !tg_board_on_board(b, loc))
            why = "not on the board";
        else if (b->color[loc] != TG_EMPTY)
            why = "point is occupied";
        else if (loc == b->ko_loc)
            why = "ko";
        else if (g->super_ko_banned[loc])
            why = g->encore_phase > 0 ? "encore ko" : "superko";
        else
            why = "suicide";
        return tg_err_set(err, TG_EILLEGAL, "play: illegal move %s for %s: %s",
                          tg_loc_to_gtp(loc, b->size, v), color == TG_BLACK ? "black" : "white",
                          why);
    }
    int rc = tg_game_play_assume_legal(g, loc, color);
    if (rc == TG_ERANGE)
        return tg_err_set(err, TG_ERANGE, "play: game is longer than %d moves", TG_GAME_MAX_MOVES);
    return rc;
}

int tg_game_undo(tg_game_t *g) {
    if (g->num_moves <= 0) return TG_ESTATE;
    int n = g->num_moves - 1;
    /* Moves are copied out first: reset clears g. */
    static _Thread_local tg_move_t moves[TG_GAME_MAX_MOVES];
    memcpy(moves, g->moves, sizeof(tg_move_t) * (size_t)n);
    tg_board_t b = g->initial_board;
    tg_rules_t r = g->rules;
    tg_color_t pla = g->initial_to_move;
    int phase = g->initial_encore_phase;
    bool assume = g->assume_multiple_starting_black_moves_are_handicap;
    tg_game_reset(g, &b, pla, &r, phase);
    g->assume_multiple_starting_black_moves_are_handicap = assume;
    g->white_handicap_bonus_score = white_handicap_bonus(g);
    for (int i = 0; i < n; i++)
        tg_game_play_assume_legal(g, moves[i].loc, moves[i].color);
    return 0;
}

tg_loc_t tg_game_random_move(const tg_game_t *g, tg_rng_t *rng) {
    const tg_board_t *b = &g->board;
    tg_color_t pla = g->to_move;
    tg_loc_t cand[TG_BOARD_MAX * TG_BOARD_MAX];
    int n = 0;
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (b->color[loc] == TG_EMPTY) cand[n++] = loc;
        }
    while (n > 0) {
        int i = (int)tg_rng_below(rng, (uint32_t)n);
        tg_loc_t loc = cand[i];
        if (!tg_board_is_simple_eye(b, loc, pla) && tg_game_is_legal(g, loc, pla)) return loc;
        cand[i] = cand[--n];
    }
    return TG_LOC_PASS;
}
