/* ladder.c: KataGo-exact ladder search (see ladder.h for the rules of the search).
 *
 * The search runs on a private colour-only board (ladder_board_t). Chains and liberties are
 * found by flood fill when needed, which is cheap at ladder scale (a ladder node touches a few
 * small chains) and leaves no incremental structure to keep consistent. Every change of a
 * point is appended to a log, so a move is undone by replaying the log backwards.
 *
 * The depth-first search is iterative, with per-ply move lists stored back to back in one
 * buffer, like KataGo's: the defender's list is the liberties of adjacent attacker chains in
 * atari (captures) followed by its own liberty; the attacker's list is the chain's two
 * liberties, pruned and ordered. An illegal move counts as a failed try. */
#include "game/ladder.h"

#include <string.h>

#include "util/error.h"

#define LB_MAX_PLIES  (TG_BOARD_MAX * TG_BOARD_MAX * 3 / 2 + 1)
#define LB_LOG_CAP    16384 /* point changes on the current search path */
#define LB_BUF_CAP    8192  /* move-list entries on the current search path */
#define LB_MAX_POINTS (TG_BOARD_MAX * TG_BOARD_MAX)

typedef struct ladder_board_s {
    int size;
    uint8_t color[TG_BOARD_CELLS]; /* tg_color_t; margin = TG_WALL */
    tg_loc_t ko_loc;
    uint32_t mark[TG_BOARD_CELLS]; /* flood-fill visit marks (== gen: visited) */
    uint32_t gen;
    uint32_t lib_mark[TG_BOARD_CELLS]; /* liberty dedup marks */
    uint32_t lib_gen;
    /* Liberty-count cache: cache_libs[loc] is valid while cache_ver[loc] == version; version
     * changes with every change of the board, so a hit is always exact. */
    uint32_t version;
    uint32_t cache_ver[TG_BOARD_CELLS];
    int16_t cache_libs[TG_BOARD_CELLS];
    tg_loc_t flood[LB_MAX_POINTS]; /* scratch stack/list of the last flood fill */
    tg_loc_t log_loc[LB_LOG_CAP];
    uint8_t log_old[LB_LOG_CAP];
    int log_len;
    bool overflow; /* a capacity was exceeded: the board must be reloaded */
    /* search stack */
    int list_start[LB_MAX_PLIES + 1];
    int list_len[LB_MAX_PLIES + 1];
    int list_cur[LB_MAX_PLIES + 1];
    int rec_log[LB_MAX_PLIES + 1];
    tg_loc_t rec_ko[LB_MAX_PLIES + 1];
    tg_loc_t buf[LB_BUF_CAP];
} ladder_board_t;

static void lb_load(ladder_board_t *lb, const tg_board_t *b, tg_loc_t ko_loc) {
    lb->size = b->size;
    memcpy(lb->color, b->color, sizeof(lb->color));
    lb->ko_loc = ko_loc;
    memset(lb->mark, 0, sizeof(lb->mark));
    memset(lb->lib_mark, 0, sizeof(lb->lib_mark));
    memset(lb->cache_ver, 0, sizeof(lb->cache_ver));
    lb->gen = 0;
    lb->lib_gen = 0;
    lb->version = 1;
    lb->log_len = 0;
    lb->overflow = false;
}

static inline uint32_t lb_next_gen(uint32_t *gen, uint32_t *marks) {
    if (++*gen == 0) {
        memset(marks, 0, sizeof(uint32_t) * TG_BOARD_CELLS);
        *gen = 1;
    }
    return *gen;
}

/* Flood-fills the chain at loc (a stone) into stones[] (may be lb->flood) and returns its
 * number of distinct liberties; the first libs_cap liberties go to libs[] in discovery order.
 * *num_stones gets the stone count. O(chain size). */
static int lb_chain(ladder_board_t *lb, tg_loc_t loc, tg_loc_t *stones, int *num_stones,
                    tg_loc_t *libs, int libs_cap) {
    uint32_t g = lb_next_gen(&lb->gen, lb->mark);
    uint32_t lg = lb_next_gen(&lb->lib_gen, lb->lib_mark);
    uint8_t c = lb->color[loc];
    int n = 0, head = 0, nlibs = 0;
    stones[n++] = loc;
    lb->mark[loc] = g;
    while (head < n) {
        tg_loc_t s = stones[head++];
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(s + tg_board_adj[i]);
            uint8_t ac = lb->color[a];
            if (ac == c) {
                if (lb->mark[a] != g) {
                    lb->mark[a] = g;
                    stones[n++] = a;
                }
            } else if (ac == TG_EMPTY && lb->lib_mark[a] != lg) {
                lb->lib_mark[a] = lg;
                if (nlibs < libs_cap) libs[nlibs] = a;
                nlibs++;
            }
        }
    }
    for (int k = 0; k < n; k++) {
        lb->cache_ver[stones[k]] = lb->version;
        lb->cache_libs[stones[k]] = (int16_t)nlibs;
    }
    if (num_stones) *num_stones = n;
    return nlibs;
}

static int lb_libs(ladder_board_t *lb, tg_loc_t loc) {
    if (lb->cache_ver[loc] == lb->version) return lb->cache_libs[loc];
    return lb_chain(lb, loc, lb->flood, NULL, NULL, 0);
}

static inline void lb_touch(ladder_board_t *lb) {
    if (++lb->version == 0) { /* wrapped: invalidate everything */
        memset(lb->cache_ver, 0, sizeof(lb->cache_ver));
        lb->version = 1;
    }
}

static int lb_immediate_libs(const ladder_board_t *lb, tg_loc_t loc) {
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (lb->color[loc + tg_board_adj[i]] == TG_EMPTY) n++;
    return n;
}

/* KataGo's Board::isLegal with multi-stone suicide illegal. */
static bool lb_is_legal(ladder_board_t *lb, tg_loc_t loc, uint8_t pla) {
    if (lb->color[loc] != TG_EMPTY || loc == lb->ko_loc) return false;
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        uint8_t ac = lb->color[a];
        if (ac == TG_EMPTY) return true;
        if (ac == pla && lb_libs(lb, a) > 1) return true;
        if (ac == opp && lb_libs(lb, a) == 1) return true;
    }
    return false;
}

static inline void lb_set(ladder_board_t *lb, tg_loc_t loc, uint8_t c) {
    lb_touch(lb);
    if (lb->log_len >= LB_LOG_CAP) {
        lb->overflow = true;
    } else {
        lb->log_loc[lb->log_len] = loc;
        lb->log_old[lb->log_len] = lb->color[loc];
        lb->log_len++;
    }
    lb->color[loc] = c;
}

/* Plays a legal, non-suicidal move: captures, then sets the simple-ko point exactly as
 * KataGo's Board::playMoveAssumeLegal does. */
static void lb_play(ladder_board_t *lb, tg_loc_t loc, uint8_t pla) {
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    lb_set(lb, loc, pla);
    int captured = 0;
    tg_loc_t ko_cand = TG_LOC_NULL;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (lb->color[a] != opp) continue;
        int n;
        if (lb_chain(lb, a, lb->flood, &n, NULL, 0) == 0) {
            for (int k = 0; k < n; k++)
                lb_set(lb, lb->flood[k], TG_EMPTY);
            captured += n;
            ko_cand = a;
        }
    }
    lb->ko_loc = TG_LOC_NULL;
    if (captured == 1) {
        int n;
        int libs = lb_chain(lb, loc, lb->flood, &n, NULL, 0);
        if (n == 1 && libs == 1) lb->ko_loc = ko_cand;
    }
}

static void lb_undo_to(ladder_board_t *lb, int log_len, tg_loc_t ko_loc) {
    if (lb->log_len > log_len) lb_touch(lb);
    while (lb->log_len > log_len) {
        lb->log_len--;
        lb->color[lb->log_loc[lb->log_len]] = lb->log_old[lb->log_len];
    }
    lb->ko_loc = ko_loc;
}

/* Appends loc to buf[start..*len) unless already there. */
static void lb_buf_add(ladder_board_t *lb, int start, int *len, tg_loc_t loc) {
    for (int j = start; j < *len; j++)
        if (lb->buf[j] == loc) return;
    if (*len >= LB_BUF_CAP) {
        lb->overflow = true;
        return;
    }
    lb->buf[(*len)++] = loc;
}

/* KataGo's wouldBeKoCapture(loc, pla): every neighbour is wall or opp, exactly one opp
 * neighbour chain is in atari, and that chain is a single stone. */
static bool lb_would_be_ko_capture(ladder_board_t *lb, tg_loc_t loc, uint8_t pla) {
    if (lb->color[loc] != TG_EMPTY) return false;
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    tg_loc_t cap = TG_LOC_NULL;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        uint8_t ac = lb->color[a];
        if (ac != TG_WALL && ac != opp) return false;
        if (ac == opp && lb_libs(lb, a) == 1) {
            if (cap != TG_LOC_NULL) return false;
            cap = a;
        }
    }
    if (cap == TG_LOC_NULL) return false;
    int n;
    lb_chain(lb, cap, lb->flood, &n, NULL, 0);
    return n == 1;
}

/* KataGo's getNumLibertiesAfterPlay(loc, pla, max): liberties a pla stone at loc would have
 * (captured opp chains' points count as liberties), capped at max. */
static int lb_libs_after_play(ladder_board_t *lb, tg_loc_t loc, uint8_t pla, int max) {
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    tg_loc_t libs[8] = {0};
    int nlibs = 0;
    /* captured opp stones, marked with a fresh lib_gen-independent generation */
    tg_loc_t cap_stones[LB_MAX_POINTS];
    int ncap = 0;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (lb->color[a] == TG_EMPTY || (lb->color[a] == opp && lb_libs(lb, a) == 1)) {
            bool dup = false;
            for (int j = 0; j < nlibs; j++)
                dup |= libs[j] == a;
            if (!dup) libs[nlibs++] = a;
            if (nlibs >= max) return max;
            if (lb->color[a] == opp) {
                bool known = false;
                for (int j = 0; j < ncap; j++)
                    known |= cap_stones[j] == a;
                if (!known) {
                    int n;
                    lb_chain(lb, a, lb->flood, &n, NULL, 0);
                    for (int k = 0; k < n && ncap < LB_MAX_POINTS; k++)
                        cap_stones[ncap++] = lb->flood[k];
                }
            }
        }
    }
    tg_loc_t stones[LB_MAX_POINTS];
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (lb->color[a] != pla) continue;
        int n;
        lb_chain(lb, a, stones, &n, NULL, 0); /* duplicates of one chain only re-add nothing */
        for (int k = 0; k < n; k++) {
            for (int d = 0; d < 4; d++) {
                tg_loc_t p = (tg_loc_t)(stones[k] + tg_board_adj[d]);
                if (p == loc) continue;
                bool empty_after = lb->color[p] == TG_EMPTY;
                if (!empty_after && lb->color[p] == opp)
                    for (int j = 0; j < ncap && !empty_after; j++)
                        empty_after = cap_stones[j] == p;
                if (!empty_after) continue;
                bool dup = false;
                for (int j = 0; j < nlibs; j++)
                    dup |= libs[j] == p;
                if (dup) continue;
                libs[nlibs++] = p;
                if (nlibs >= max) return max;
            }
        }
    }
    return nlibs;
}

/* Does some opp chain adjacent to the chain at loc have exactly 1 liberty? */
static bool lb_has_liberty_gaining_capture(ladder_board_t *lb, tg_loc_t loc) {
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)lb->color[loc]);
    tg_loc_t stones[LB_MAX_POINTS];
    int n;
    lb_chain(lb, loc, stones, &n, NULL, 0);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(stones[k] + tg_board_adj[i]);
            if (lb->color[a] == opp && lb_libs(lb, a) == 1) return true;
        }
    return false;
}

/* Move-ordering score for an attacker liberty fill: twice the point's empty neighbours plus,
 * for each other defender chain the defender could connect to there, 2*libs - 3. Only the
 * order of trying moves depends on it, never the result. */
static int lb_escape_score_x2(ladder_board_t *lb, tg_loc_t lib, tg_loc_t target, uint8_t pla) {
    int score = 2 * lb_immediate_libs(lb, lib);
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(lib + tg_board_adj[i]);
        if (lb->color[a] != pla) continue;
        int n;
        int libs = lb_chain(lb, a, lb->flood, &n, NULL, 0);
        bool is_target = false;
        for (int k = 0; k < n && !is_target; k++)
            is_target = lb->flood[k] == target;
        if (!is_target) score += 2 * libs - 3;
    }
    return score;
}

/* Generates the defender's moves at buf[start..): liberties of adjacent opp chains in atari,
 * then the chain's own liberties. Returns the count. */
static int lb_gen_defender(ladder_board_t *lb, tg_loc_t loc, int start) {
    uint8_t pla = lb->color[loc];
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    tg_loc_t stones[LB_MAX_POINTS];
    int n, len = start;
    tg_loc_t own_libs[LB_MAX_POINTS];
    int nown = lb_chain(lb, loc, stones, &n, own_libs, LB_MAX_POINTS);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(stones[k] + tg_board_adj[i]);
            if (lb->color[a] != opp || lb_libs(lb, a) != 1) continue;
            tg_loc_t lib;
            if (lb_chain(lb, a, lb->flood, NULL, &lib, 1) == 1) lb_buf_add(lb, start, &len, lib);
        }
    for (int k = 0; k < nown; k++)
        lb_buf_add(lb, start, &len, own_libs[k]);
    return len - start;
}

/* KataGo's searchIsLadderCaptured on lb. Leaves lb as it found it (unless lb->overflow). */
static bool lb_search(ladder_board_t *lb, tg_loc_t loc, bool defender_first) {
    uint8_t pla = lb->color[loc];
    if (pla != TG_BLACK && pla != TG_WHITE) return false;
    int root_libs = lb_libs(lb, loc);
    if (root_libs > 2 || (defender_first && root_libs > 1)) return false;
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);

    tg_loc_t ko_saved = lb->ko_loc;
    if (defender_first) lb->ko_loc = TG_LOC_NULL;

    const int max_plies = lb->size * lb->size * 3 / 2 + 1;
    int sp = 0;
    lb->list_cur[0] = -1;
    lb->list_start[0] = 0;
    lb->list_len[0] = 0;
    bool ret = false, from_deeper = false;

    for (;;) {
        if (sp <= -1) {
            lb->ko_loc = ko_saved;
            return ret;
        }
        if (sp >= max_plies - 1 || lb->overflow) { /* too deep: count as captured */
            ret = true;
            from_deeper = true;
            sp--;
            continue;
        }
        bool is_defender = (defender_first && sp % 2 == 0) || (!defender_first && sp % 2 == 1);

        if (lb->list_cur[sp] == -1) {
            int libs = lb_libs(lb, loc);
            if (!is_defender && libs <= 1) {
                ret = true;
                from_deeper = true;
                sp--;
                continue;
            }
            if (!is_defender && libs >= 3) {
                ret = false;
                from_deeper = true;
                sp--;
                continue;
            }
            if (is_defender && libs >= 2) {
                ret = false;
                from_deeper = true;
                sp--;
                continue;
            }
            if (is_defender && lb->ko_loc != TG_LOC_NULL) {
                ret = false;
                from_deeper = true;
                sp--;
                continue;
            }
            int start = lb->list_start[sp];
            if (start + 2 > LB_BUF_CAP) {
                lb->overflow = true;
                continue;
            }
            if (is_defender) {
                lb->list_len[sp] = lb_gen_defender(lb, loc, start);
            } else {
                tg_loc_t two[2];
                lb_chain(lb, loc, lb->flood, NULL, two, 2);
                lb->buf[start] = two[0];
                lb->buf[start + 1] = two[1];
                lb->list_len[sp] = 2;
                int libs0 = lb_immediate_libs(lb, two[0]);
                int libs1 = lb_immediate_libs(lb, two[1]);
                /* Double ko mouth: both liberties are ko captures for the attacker, connecting
                 * at either leaves the defender at most 2 liberties, and no attacker chain
                 * around is in atari: the attacker wins. */
                if (libs0 == 0 && libs1 == 0 && lb_would_be_ko_capture(lb, two[0], opp) &&
                    lb_would_be_ko_capture(lb, two[1], opp) &&
                    lb_libs_after_play(lb, two[0], pla, 3) <= 2 &&
                    lb_libs_after_play(lb, two[1], pla, 3) <= 2 &&
                    !lb_has_liberty_gaining_capture(lb, loc)) {
                    ret = true;
                    from_deeper = true;
                    sp--;
                    continue;
                }
                bool adjacent = false;
                for (int i = 0; i < 4; i++)
                    adjacent |= two[0] + tg_board_adj[i] == two[1];
                if (!adjacent) {
                    if (libs0 >= 3 && libs1 >= 3) {
                        ret = false;
                        from_deeper = true;
                        sp--;
                        continue;
                    } else if (libs0 >= 3) {
                        lb->list_len[sp] = 1;
                    } else if (libs1 >= 3) {
                        lb->buf[start] = two[1];
                        lb->list_len[sp] = 1;
                    }
                }
                if (lb->list_len[sp] > 1) {
                    int s0 = lb_escape_score_x2(lb, two[0], loc, pla);
                    int s1 = lb_escape_score_x2(lb, two[1], loc, pla);
                    if (s1 > s0) {
                        lb->buf[start] = two[1];
                        lb->buf[start + 1] = two[0];
                    }
                }
            }
            lb->list_cur[sp] = 0;
        } else {
            if (from_deeper) lb_undo_to(lb, lb->rec_log[sp], lb->rec_ko[sp]);
            if (is_defender && !ret) {
                from_deeper = true;
                sp--;
                continue;
            }
            if (!is_defender && ret) {
                from_deeper = true;
                sp--;
                continue;
            }
            lb->list_cur[sp]++;
        }

        if (lb->list_cur[sp] >= lb->list_len[sp]) {
            ret = is_defender;
            from_deeper = true;
            sp--;
            continue;
        }

        tg_loc_t move = lb->buf[lb->list_start[sp] + lb->list_cur[sp]];
        uint8_t p = is_defender ? pla : opp;
        if (!lb_is_legal(lb, move, p)) {
            ret = is_defender;
            from_deeper = false;
            continue;
        }
        lb->rec_log[sp] = lb->log_len;
        lb->rec_ko[sp] = lb->ko_loc;
        lb_play(lb, move, p);
        sp++;
        lb->list_cur[sp] = -1;
        lb->list_start[sp] = lb->list_start[sp - 1] + lb->list_len[sp - 1];
        lb->list_len[sp] = 0;
    }
}

/* KataGo's searchIsLadderCapturedAttackerFirst2Libs on lb. */
static bool lb_search_2libs(ladder_board_t *lb, tg_loc_t loc, tg_loc_t working[2],
                            int *num_working) {
    *num_working = 0;
    uint8_t pla = lb->color[loc];
    if (pla != TG_BLACK && pla != TG_WHITE) return false;
    tg_loc_t two[2];
    if (lb_chain(lb, loc, lb->flood, NULL, two, 2) != 2) return false;
    uint8_t opp = (uint8_t)tg_color_opp((tg_color_t)pla);
    bool works[2] = {false, false};
    for (int m = 0; m < 2; m++) {
        if (!lb_is_legal(lb, two[m], opp)) continue;
        int log_mark = lb->log_len;
        tg_loc_t ko = lb->ko_loc;
        lb_play(lb, two[m], opp);
        works[m] = lb_search(lb, loc, true);
        lb_undo_to(lb, log_mark, ko);
    }
    for (int m = 0; m < 2; m++)
        if (works[m]) working[(*num_working)++] = two[m];
    return *num_working > 0;
}

bool tg_ladder_is_captured(const tg_board_t *b, tg_loc_t loc) {
    ladder_board_t lb;
    lb_load(&lb, b, b->ko_loc);
    return lb_search(&lb, loc, true);
}

bool tg_ladder_is_captured_2libs(const tg_board_t *b, tg_loc_t ko_loc, tg_loc_t loc,
                                 tg_loc_t working[2], int *num_working) {
    ladder_board_t lb;
    lb_load(&lb, b, ko_loc);
    return lb_search_2libs(&lb, loc, working, num_working);
}

void tg_ladder_mark_board(const tg_board_t *b, tg_loc_t ko_loc, uint8_t laddered[TG_BOARD_CELLS],
                          uint8_t *working, tg_color_t working_owner) {
    memset(laddered, 0, TG_BOARD_CELLS);
    if (working) memset(working, 0, TG_BOARD_CELLS);
    ladder_board_t lb;
    lb_load(&lb, b, ko_loc);
    int8_t solved[TG_BOARD_CELLS]; /* by chain head: -1 unknown, 0 no, 1 captured */
    memset(solved, -1, sizeof(solved));
    for (int y = 0; y < b->size; y++) {
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            uint8_t c = b->color[loc];
            if (c != TG_BLACK && c != TG_WHITE) continue;
            int libs = tg_board_chain_libs(b, loc);
            if (libs != 1 && libs != 2) continue;
            tg_loc_t head = tg_board_chain_id(b, loc);
            if (solved[head] < 0) {
                bool captured;
                if (libs == 1) {
                    captured = lb_search(&lb, loc, true);
                } else {
                    tg_loc_t wm[2];
                    int nwm = 0;
                    captured = lb_search_2libs(&lb, loc, wm, &nwm);
                    if (captured && working && c == (uint8_t)working_owner)
                        for (int k = 0; k < nwm; k++)
                            working[wm[k]] = 1;
                }
                if (lb.overflow) lb_load(&lb, b, ko_loc);
                solved[head] = captured ? 1 : 0;
            }
            if (solved[head] == 1) laddered[loc] = 1;
        }
    }
}
