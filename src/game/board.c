/* board.c: tengen's Go board: incremental chains with exact liberties, Zobrist hashing,
 * legality, and KataGo's Benson pass-alive / independent-life area computations.
 *
 * The area functions follow KataGo's Board::calculateAreaForPla and
 * calculateIndependentLifeAreaHelper (cpp/game/board.cpp) in behaviour, including the order
 * in which Black's and White's marks are written (Black first; White's pass-alive marks may
 * overwrite Black's "unsafe big territory" marks, never the reverse). */
#include "game/board.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

tg_hash128_t tg_zobrist_stone[TG_BOARD_CELLS][4];
tg_hash128_t tg_zobrist_player[4];
tg_hash128_t tg_zobrist_size[TG_BOARD_MAX + 1];
tg_hash128_t tg_zobrist_ko_loc[TG_BOARD_CELLS];
tg_hash128_t tg_zobrist_encore[3];
tg_hash128_t tg_zobrist_ko_blocked[TG_BOARD_CELLS][4];

static pthread_once_t zobrist_once = PTHREAD_ONCE_INIT;

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void zobrist_fill(void) {
    uint64_t s = 0x74656e67656e2121ULL; /* fixed seed: hashes are stable across runs */
    for (int i = 0; i < TG_BOARD_CELLS; i++) {
        for (int c = 0; c < 4; c++) {
            bool stone = (c == TG_BLACK || c == TG_WHITE);
            tg_zobrist_stone[i][c].lo = stone ? splitmix64(&s) : 0;
            tg_zobrist_stone[i][c].hi = stone ? splitmix64(&s) : 0;
            tg_zobrist_ko_blocked[i][c].lo = stone ? splitmix64(&s) : 0;
            tg_zobrist_ko_blocked[i][c].hi = stone ? splitmix64(&s) : 0;
        }
        tg_zobrist_ko_loc[i].lo = splitmix64(&s);
        tg_zobrist_ko_loc[i].hi = splitmix64(&s);
    }
    for (int i = 0; i < 4; i++) {
        tg_zobrist_player[i].lo = splitmix64(&s);
        tg_zobrist_player[i].hi = splitmix64(&s);
    }
    for (int i = 0; i <= TG_BOARD_MAX; i++) {
        tg_zobrist_size[i].lo = splitmix64(&s);
        tg_zobrist_size[i].hi = splitmix64(&s);
    }
    for (int i = 0; i < 3; i++) {
        tg_zobrist_encore[i].lo = splitmix64(&s);
        tg_zobrist_encore[i].hi = splitmix64(&s);
    }
}

void tg_board_zobrist_init(void) { pthread_once(&zobrist_once, zobrist_fill); }

static inline void hash_toggle(tg_board_t *b, tg_loc_t loc, int c) {
    b->hash.lo ^= tg_zobrist_stone[loc][c].lo;
    b->hash.hi ^= tg_zobrist_stone[loc][c].hi;
}

void tg_board_init(tg_board_t *b, int size) {
    TG_ASSERT(size >= 2 && size <= TG_BOARD_MAX);
    tg_board_zobrist_init();
    memset(b, 0, sizeof(*b));
    b->size = size;
    for (int i = 0; i < TG_BOARD_CELLS; i++)
        b->color[i] = TG_WALL;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            b->color[tg_loc(x, y)] = TG_EMPTY;
    b->ko_loc = TG_LOC_NULL;
    b->hash = tg_zobrist_size[size];
}

/* ---- Chains ------------------------------------------------------------------------------ */

/* Is the empty point lib adjacent to a stone of the chain with this head? */
static inline bool is_liberty_of(const tg_board_t *b, tg_loc_t lib, tg_loc_t head) {
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(lib + tg_board_adj[i]);
        if ((b->color[a] == TG_BLACK || b->color[a] == TG_WHITE) && b->chain_head[a] == head)
            return true;
    }
    return false;
}

/* Adds delta to the liberties of each distinct chain of colour c adjacent to loc. */
static void change_adjacent_libs(tg_board_t *b, tg_loc_t loc, int c, int delta) {
    tg_loc_t seen[4];
    int n = 0;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] != c) continue;
        tg_loc_t h = b->chain_head[a];
        bool dup = false;
        for (int j = 0; j < n; j++)
            dup |= (seen[j] == h);
        if (dup) continue;
        seen[n++] = h;
        b->chain_libs[h] = (int16_t)(b->chain_libs[h] + delta);
    }
}

/* Merges the chain of loc2 into the chain of loc1 (the larger absorbs the smaller), counting
 * the smaller chain's liberties that are new to the larger one. */
static void merge_chains(tg_board_t *b, tg_loc_t loc1, tg_loc_t loc2) {
    tg_loc_t h1 = b->chain_head[loc1], h2 = b->chain_head[loc2];
    if (h1 == h2) return;
    if (b->chain_stones[h1] < b->chain_stones[h2]) {
        tg_loc_t t = h1;
        h1 = h2;
        h2 = t;
    }
    int new_libs = 0;
    tg_loc_t cur = h2, last = h2;
    do {
        for (int i = 0; i < 4; i++) {
            tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
            if (b->color[a] == TG_EMPTY && !is_liberty_of(b, a, h1)) {
                /* Count each such liberty once: only if no earlier stone of h2 (already
                 * relabelled h1) touches it, which is_liberty_of(h1) now covers. */
                new_libs++;
            }
        }
        b->chain_head[cur] = h1;
        last = cur;
        cur = b->next_stone[cur];
    } while (cur != h2);
    b->chain_libs[h1] = (int16_t)(b->chain_libs[h1] + new_libs);
    b->chain_stones[h1] = (int16_t)(b->chain_stones[h1] + b->chain_stones[h2]);
    b->next_stone[last] = b->next_stone[h1];
    b->next_stone[h1] = h2;
}

/* Removes the whole chain at loc, giving liberties to adjacent chains of the other colour.
 * Returns the number of stones removed. */
static int remove_chain(tg_board_t *b, tg_loc_t loc) {
    int c = b->color[loc];
    int opp = 3 - c;
    int n = 0;
    tg_loc_t cur = loc;
    do {
        hash_toggle(b, cur, c);
        b->color[cur] = TG_EMPTY;
        n++;
        change_adjacent_libs(b, cur, opp, +1);
        cur = b->next_stone[cur];
    } while (cur != loc);
    return n;
}

bool tg_board_would_be_suicide(const tg_board_t *b, tg_loc_t loc, tg_color_t color) {
    int opp = 3 - (int)color;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        int c = b->color[a];
        if (c == TG_EMPTY) return false;
        if (c == (int)color) {
            if (b->chain_libs[b->chain_head[a]] > 1) return false;
        } else if (c == opp) {
            if (b->chain_libs[b->chain_head[a]] == 1) return false;
        }
    }
    return true;
}

static bool is_illegal_suicide(const tg_board_t *b, tg_loc_t loc, tg_color_t color, bool multi_ok) {
    int opp = 3 - (int)color;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        int c = b->color[a];
        if (c == TG_EMPTY) return false;
        if (c == (int)color) {
            if (multi_ok || b->chain_libs[b->chain_head[a]] > 1) return false;
        } else if (c == opp) {
            if (b->chain_libs[b->chain_head[a]] == 1) return false;
        }
    }
    return true;
}

bool tg_board_is_legal(const tg_board_t *b, tg_loc_t loc, tg_color_t color,
                       bool multi_stone_suicide_legal) {
    if (color != TG_BLACK && color != TG_WHITE) return false;
    if (loc == TG_LOC_PASS) return true;
    if (loc < 0 || loc >= TG_BOARD_CELLS || b->color[loc] != TG_EMPTY) return false;
    if (loc == b->ko_loc) return false;
    return !is_illegal_suicide(b, loc, color, multi_stone_suicide_legal);
}

bool tg_board_would_capture(const tg_board_t *b, tg_loc_t loc, tg_color_t color) {
    int opp = 3 - (int)color;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] == opp && b->chain_libs[b->chain_head[a]] == 1) return true;
    }
    return false;
}

void tg_board_play(tg_board_t *b, tg_loc_t loc, tg_color_t color) {
    if (loc == TG_LOC_PASS) {
        b->ko_loc = TG_LOC_NULL;
        return;
    }
    int pla = (int)color, opp = 3 - pla;
    b->color[loc] = (uint8_t)pla;
    hash_toggle(b, loc, pla);
    b->chain_head[loc] = loc;
    b->next_stone[loc] = loc;
    b->chain_stones[loc] = 1;
    int libs = 0;
    for (int i = 0; i < 4; i++)
        libs += (b->color[loc + tg_board_adj[i]] == TG_EMPTY);
    b->chain_libs[loc] = (int16_t)libs;

    int num_captured = 0;
    tg_loc_t possible_ko = TG_LOC_NULL;
    tg_loc_t opp_seen[4];
    int num_opp_seen = 0;
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] == pla) {
            if (b->chain_head[a] == b->chain_head[loc]) continue;
            b->chain_libs[b->chain_head[a]]--;
            merge_chains(b, a, loc);
        } else if (b->color[a] == opp) {
            tg_loc_t h = b->chain_head[a];
            bool seen = false;
            for (int j = 0; j < num_opp_seen; j++)
                seen |= (opp_seen[j] == h);
            if (seen) continue;
            opp_seen[num_opp_seen++] = h;
            b->chain_libs[h]--;
            if (b->chain_libs[h] == 0) {
                num_captured += remove_chain(b, a);
                possible_ko = a;
            }
        }
    }
    tg_loc_t head = b->chain_head[loc];
    if (num_captured == 1 && b->chain_stones[head] == 1 && b->chain_libs[head] == 1)
        b->ko_loc = possible_ko;
    else
        b->ko_loc = TG_LOC_NULL;
    b->captured[opp] += num_captured;

    if (b->chain_libs[head] == 0) { /* (multi-stone) suicide */
        int n = remove_chain(b, loc);
        b->captured[pla] += n;
    }
}

/* Rebuilds every chain from color[] (used by set_stone and the consistency check). */
static void rebuild_all_chains(tg_board_t *b) {
    uint8_t done[TG_BOARD_CELLS];
    tg_loc_t stack[TG_BOARD_CELLS];
    memset(done, 0, sizeof(done));
    for (int loc = 0; loc < TG_BOARD_CELLS; loc++) {
        int c = b->color[loc];
        if ((c != TG_BLACK && c != TG_WHITE) || done[loc]) continue;
        int sp = 0, n = 0;
        stack[sp++] = (tg_loc_t)loc;
        done[loc] = 1;
        tg_loc_t prev = (tg_loc_t)loc;
        b->next_stone[loc] = (tg_loc_t)loc;
        while (sp > 0) {
            tg_loc_t cur = stack[--sp];
            b->chain_head[cur] = (tg_loc_t)loc;
            if (cur != loc) {
                b->next_stone[cur] = (tg_loc_t)loc;
                b->next_stone[prev] = cur;
                prev = cur;
            }
            n++;
            for (int i = 0; i < 4; i++) {
                tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
                if (b->color[a] == c && !done[a]) {
                    done[a] = 1;
                    stack[sp++] = a;
                }
            }
        }
        b->chain_stones[loc] = (int16_t)n;
        int libs = 0;
        tg_loc_t cur = (tg_loc_t)loc;
        do {
            for (int i = 0; i < 4; i++) {
                tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
                if (b->color[a] != TG_EMPTY) continue;
                /* count a once: only from the first stone (in ring order) touching it */
                bool earlier = false;
                tg_loc_t s = (tg_loc_t)loc;
                while (s != cur) {
                    for (int k = 0; k < 4; k++)
                        earlier |= (s + tg_board_adj[k] == a);
                    if (earlier) break;
                    s = b->next_stone[s];
                }
                if (!earlier) libs++;
            }
            cur = b->next_stone[cur];
        } while (cur != loc);
        b->chain_libs[loc] = (int16_t)libs;
    }
}

bool tg_board_set_stone(tg_board_t *b, tg_loc_t loc, tg_color_t color) {
    if (!tg_board_on_board(b, loc)) return false;
    if (color != TG_EMPTY && color != TG_BLACK && color != TG_WHITE) return false;
    uint8_t old = b->color[loc];
    if (old == color) {
        b->ko_loc = TG_LOC_NULL;
        return true;
    }
    b->color[loc] = (uint8_t)color;
    rebuild_all_chains(b);
    for (int l = 0; l < TG_BOARD_CELLS; l++) {
        int c = b->color[l];
        if ((c == TG_BLACK || c == TG_WHITE) && b->chain_libs[b->chain_head[l]] == 0) {
            b->color[loc] = old;
            rebuild_all_chains(b);
            return false;
        }
    }
    if (old == TG_BLACK || old == TG_WHITE) hash_toggle(b, loc, old);
    if (color != TG_EMPTY) hash_toggle(b, loc, color);
    b->ko_loc = TG_LOC_NULL;
    return true;
}

int tg_board_count_stones(const tg_board_t *b, tg_color_t c) {
    int n = 0;
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++)
            n += (b->color[tg_loc(x, y)] == c);
    return n;
}

int tg_board_score_area_strict(const tg_board_t *b) {
    uint8_t seen[TG_BOARD_CELLS] = {0};
    tg_loc_t stack[TG_BOARD_CELLS];
    int score = 0;
    for (int y = 0; y < b->size; y++) {
        for (int x = 0; x < b->size; x++) {
            tg_loc_t start = tg_loc(x, y);
            int c = b->color[start];
            if (c == TG_BLACK || c == TG_WHITE) {
                score += (c == TG_WHITE) ? 1 : -1;
                continue;
            }
            if (seen[start]) continue;
            /* Flood the empty region, noting which colours it reaches. */
            int n = 0, region = 0, reaches = 0;
            stack[n++] = start;
            seen[start] = 1;
            while (n > 0) {
                tg_loc_t p = stack[--n];
                region++;
                for (int i = 0; i < 4; i++) {
                    tg_loc_t q = (tg_loc_t)(p + tg_board_adj[i]);
                    int qc = b->color[q];
                    if (qc == TG_EMPTY && !seen[q]) {
                        seen[q] = 1;
                        stack[n++] = q;
                    } else if (qc == TG_BLACK || qc == TG_WHITE) {
                        reaches |= qc;
                    }
                }
            }
            if (reaches == TG_WHITE) score += region;
            if (reaches == TG_BLACK) score -= region;
        }
    }
    return score;
}

bool tg_board_is_simple_eye(const tg_board_t *b, tg_loc_t loc, tg_color_t c) {
    if (b->color[loc] != TG_EMPTY) return false;
    bool against_wall = false;
    for (int i = 0; i < 4; i++) {
        int a = b->color[loc + tg_board_adj[i]];
        if (a == TG_WALL)
            against_wall = true;
        else if (a != (int)c)
            return false;
    }
    static const int diag[4] = {-TG_BOARD_STRIDE - 1, -TG_BOARD_STRIDE + 1, TG_BOARD_STRIDE - 1,
                                TG_BOARD_STRIDE + 1};
    int opp = 3 - (int)c, n_opp = 0;
    for (int i = 0; i < 4; i++)
        n_opp += (b->color[loc + diag[i]] == opp);
    if (n_opp >= 2 || (against_wall && n_opp >= 1)) return false;
    return true;
}

/* ---- Pass-alive area (Benson) -------------------------------------------------------------- */

static bool adjacent_to_head(const tg_board_t *b, tg_loc_t loc, int pla, tg_loc_t head) {
    for (int i = 0; i < 4; i++) {
        tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
        if (b->color[a] == pla && b->chain_head[a] == head) return true;
    }
    return false;
}

static bool adjacent_to_color(const tg_board_t *b, tg_loc_t loc, int pla) {
    for (int i = 0; i < 4; i++)
        if (b->color[loc + tg_board_adj[i]] == pla) return true;
    return false;
}

#define AREA_MAX_REGIONS ((TG_BOARD_MAX * TG_BOARD_MAX + 1) / 2 + 1)

/* Marks pla's pass-alive stones and territory (and optional big territories) into result.
 * A region is a maximal connected set of empty-or-opp points grown from an empty point. */
static void calc_area_for_pla(const tg_board_t *b, int pla, bool safe_big, bool unsafe_big,
                              bool multi_ok, uint8_t *result) {
    int opp = 3 - pla;
    int16_t region_of[TG_BOARD_CELLS];
    tg_loc_t queue[TG_BOARD_CELLS];
    /* vital[r][0..vital_len[r]): pla chain heads region r is vital for (at most 4) */
    tg_loc_t vital[AREA_MAX_REGIONS][4];
    uint8_t vital_len[AREA_MAX_REGIONS];
    uint8_t internal_max2[AREA_MAX_REGIONS];
    bool contains_opp[AREA_MAX_REGIONS];
    bool borders_dead[AREA_MAX_REGIONS];
    tg_loc_t region_first[AREA_MAX_REGIONS];
    int num_regions = 0;
    bool any_pla = false;

    for (int i = 0; i < TG_BOARD_CELLS; i++)
        region_of[i] = -1;

    int size = b->size;
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (region_of[loc] != -1) continue;
            if (b->color[loc] != TG_EMPTY) {
                any_pla |= (b->color[loc] == pla);
                continue;
            }
            int r = num_regions++;
            TG_ASSERT(num_regions <= AREA_MAX_REGIONS);
            region_first[r] = loc;
            internal_max2[r] = 0;
            contains_opp[r] = false;
            borders_dead[r] = false;
            vital_len[r] = 0;
            for (int i = 0; i < 4; i++) {
                tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
                if (b->color[a] != pla) continue;
                tg_loc_t h = b->chain_head[a];
                bool dup = false;
                for (int j = 0; j < vital_len[r]; j++)
                    dup |= (vital[r][j] == h);
                if (!dup) vital[r][vital_len[r]++] = h;
            }
            int qh = 0, qt = 0;
            queue[qt++] = loc;
            region_of[loc] = (int16_t)r;
            while (qh != qt) {
                tg_loc_t cur = queue[qh++];
                if (multi_ok || b->color[cur] == TG_EMPTY) {
                    int nl = 0;
                    for (int j = 0; j < vital_len[r]; j++)
                        if (adjacent_to_head(b, cur, pla, vital[r][j]))
                            vital[r][nl++] = vital[r][j];
                    vital_len[r] = (uint8_t)nl;
                }
                if (internal_max2[r] < 2 && !adjacent_to_color(b, cur, pla)) internal_max2[r]++;
                if (b->color[cur] == opp) contains_opp[r] = true;
                for (int i = 0; i < 4; i++) {
                    tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
                    if ((b->color[a] == TG_EMPTY || b->color[a] == opp) && region_of[a] == -1) {
                        region_of[a] = (int16_t)r;
                        queue[qt++] = a;
                    }
                }
            }
        }
    }

    /* All pla chain heads. */
    tg_loc_t heads[TG_BOARD_MAX * TG_BOARD_MAX];
    bool killed[TG_BOARD_MAX * TG_BOARD_MAX];
    int num_heads = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (b->color[loc] == pla && b->chain_head[loc] == loc) {
                killed[num_heads] = false;
                heads[num_heads++] = loc;
            }
        }

    uint16_t vital_count[TG_BOARD_CELLS];
    for (;;) {
        for (int i = 0; i < num_heads; i++)
            vital_count[heads[i]] = 0;
        for (int r = 0; r < num_regions; r++) {
            if (borders_dead[r]) continue;
            for (int j = 0; j < vital_len[r]; j++)
                vital_count[vital[r][j]]++;
        }
        bool killed_any = false;
        for (int i = 0; i < num_heads; i++) {
            if (killed[i] || vital_count[heads[i]] >= 2) continue;
            killed[i] = true;
            killed_any = true;
            tg_loc_t cur = heads[i];
            do {
                for (int k = 0; k < 4; k++) {
                    tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[k]);
                    if (b->color[a] == TG_EMPTY || b->color[a] == opp)
                        borders_dead[region_of[a]] = true;
                }
                cur = b->next_stone[cur];
            } while (cur != heads[i]);
        }
        if (!killed_any) break;
    }

    for (int i = 0; i < num_heads; i++) {
        if (killed[i]) continue;
        tg_loc_t cur = heads[i];
        do {
            result[cur] = (uint8_t)pla;
            cur = b->next_stone[cur];
        } while (cur != heads[i]);
    }

    /* Territory: mark per region; scan the board once and dispatch on region_of. */
    uint8_t mark[AREA_MAX_REGIONS]; /* 0 no, 1 unconditional, 2 only where result empty */
    for (int r = 0; r < num_regions; r++) {
        bool m = internal_max2[r] <= 1 && any_pla && !borders_dead[r];
        m = m || (safe_big && any_pla && !contains_opp[r] && !borders_dead[r]);
        if (m)
            mark[r] = 1;
        else
            mark[r] = (unsafe_big && any_pla && !contains_opp[r]) ? 2 : 0;
    }
    (void)region_first;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            int r = region_of[loc];
            if (r < 0 || mark[r] == 0) continue;
            if (mark[r] == 1 || result[loc] == TG_EMPTY) result[loc] = (uint8_t)pla;
        }
}

void tg_board_calc_area(const tg_board_t *b, uint8_t result[TG_BOARD_CELLS],
                        bool non_pass_alive_stones, bool safe_big_territories,
                        bool unsafe_big_territories, bool multi_stone_suicide_legal) {
    memset(result, TG_EMPTY, TG_BOARD_CELLS);
    calc_area_for_pla(b, TG_BLACK, safe_big_territories, unsafe_big_territories,
                      multi_stone_suicide_legal, result);
    calc_area_for_pla(b, TG_WHITE, safe_big_territories, unsafe_big_territories,
                      multi_stone_suicide_legal, result);
    if (non_pass_alive_stones) {
        for (int y = 0; y < b->size; y++)
            for (int x = 0; x < b->size; x++) {
                tg_loc_t loc = tg_loc(x, y);
                if (result[loc] == TG_EMPTY) result[loc] = b->color[loc];
            }
    }
}

void tg_board_calc_independent_life_area(const tg_board_t *b, uint8_t result[TG_BOARD_CELLS],
                                         int *white_minus_black_region_count, bool keep_territories,
                                         bool keep_stones, bool multi_stone_suicide_legal) {
    uint8_t basic[TG_BOARD_CELLS];
    bool seki[TG_BOARD_CELLS];
    tg_loc_t queue[TG_BOARD_CELLS];
    int size = b->size;
    memset(result, TG_EMPTY, TG_BOARD_CELLS);
    tg_board_calc_area(b, basic, true, true, true, multi_stone_suicide_legal);

    /* Owned regions touching dame, or holding an owner's stone in atari, are seki. */
    memset(seki, 0, sizeof(seki));
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (basic[loc] == TG_EMPTY || seki[loc]) continue;
            bool is_seki = (b->color[loc] == basic[loc] && tg_board_chain_libs(b, loc) == 1);
            for (int i = 0; i < 4 && !is_seki; i++) {
                tg_loc_t a = (tg_loc_t)(loc + tg_board_adj[i]);
                is_seki = (b->color[a] == TG_EMPTY && basic[a] == TG_EMPTY);
            }
            if (!is_seki) continue;
            int owner = basic[loc];
            int qh = 0, qt = 0;
            seki[loc] = true;
            queue[qt++] = loc;
            while (qh != qt) {
                tg_loc_t cur = queue[qh++];
                for (int i = 0; i < 4; i++) {
                    tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
                    if (basic[a] == owner && !seki[a]) {
                        seki[a] = true;
                        queue[qt++] = a;
                    }
                }
            }
        }

    int count = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (basic[loc] == TG_EMPTY || seki[loc] || result[loc] == basic[loc]) continue;
            int owner = basic[loc];
            count += (owner == TG_WHITE ? 1 : -1);
            int qh = 0, qt = 0;
            result[loc] = (uint8_t)owner;
            queue[qt++] = loc;
            while (qh != qt) {
                tg_loc_t cur = queue[qh++];
                for (int i = 0; i < 4; i++) {
                    tg_loc_t a = (tg_loc_t)(cur + tg_board_adj[i]);
                    if (basic[a] == owner && result[a] != owner) {
                        result[a] = (uint8_t)owner;
                        queue[qt++] = a;
                    }
                }
            }
        }
    if (white_minus_black_region_count) *white_minus_black_region_count = count;

    /* result holds the independent-life regions; add back seki parts the caller keeps. */
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (basic[loc] == TG_EMPTY) continue;
            bool is_stone = (basic[loc] == b->color[loc]);
            if ((is_stone && keep_stones) || (!is_stone && keep_territories))
                result[loc] = basic[loc];
        }
}

/* ---- Checks and text ----------------------------------------------------------------------- */

bool tg_board_check_consistency(const tg_board_t *b) {
    tg_board_t r = *b;
    tg_hash128_t h = tg_zobrist_size[b->size];
    for (int loc = 0; loc < TG_BOARD_CELLS; loc++) {
        int x = tg_loc_x((tg_loc_t)loc), y = tg_loc_y((tg_loc_t)loc);
        bool on = x >= 0 && y >= 0 && x < b->size && y < b->size;
        int c = b->color[loc];
        if (!on && c != TG_WALL) return false;
        if (on && c == TG_WALL) return false;
        if (c == TG_BLACK || c == TG_WHITE) h = tg_hash_xor(h, tg_zobrist_stone[loc][c]);
    }
    if (!tg_hash_eq(h, b->hash)) return false;
    rebuild_all_chains(&r);
    for (int loc = 0; loc < TG_BOARD_CELLS; loc++) {
        int c = b->color[loc];
        if (c != TG_BLACK && c != TG_WHITE) continue;
        tg_loc_t hb = b->chain_head[loc];
        if (b->color[hb] != c || b->chain_head[hb] != hb) return false;
        /* same partition: loc and its chain head are in the same recomputed chain */
        if (r.chain_head[loc] != r.chain_head[hb]) return false;
        if (b->chain_libs[hb] != r.chain_libs[r.chain_head[loc]]) return false;
        if (b->chain_stones[hb] != r.chain_stones[r.chain_head[loc]]) return false;
        if (b->chain_libs[hb] <= 0) return false;
        /* ring: walking from loc visits chain_stones stones, all with head hb */
        int n = 0;
        tg_loc_t cur = (tg_loc_t)loc;
        do {
            if (b->chain_head[cur] != hb || ++n > TG_BOARD_MAX * TG_BOARD_MAX) return false;
            cur = b->next_stone[cur];
        } while (cur != loc);
        if (n != b->chain_stones[hb]) return false;
    }
    if (b->ko_loc != TG_LOC_NULL && b->color[b->ko_loc] != TG_EMPTY) return false;
    return true;
}

int tg_board_to_string(const tg_board_t *b, char *buf, size_t n) {
    size_t need = 0;
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            int c = b->color[tg_loc(x, y)];
            char ch = c == TG_BLACK ? 'X' : c == TG_WHITE ? 'O' : '.';
            char sep = (x == b->size - 1) ? '\n' : ' ';
            if (need + 2 < n) {
                buf[need] = ch;
                buf[need + 1] = sep;
            }
            need += 2;
        }
    if (n > 0) buf[need < n ? need : n - 1] = '\0';
    return (int)need;
}

int tg_board_from_string(tg_board_t *b, const char *diagram) {
    /* First pass: rows and columns. */
    int rows = 0, cols = 0, cur = 0;
    for (const char *p = diagram;; p++) {
        char ch = *p;
        if (ch == '\n' || ch == '\0') {
            if (cur > 0) {
                if (rows > 0 && cur != cols) return TG_EINVAL;
                cols = cur;
                rows++;
            }
            cur = 0;
            if (ch == '\0') break;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            continue;
        } else if (strchr("XxBOoW.+", ch)) {
            cur++;
        } else {
            return TG_EINVAL;
        }
    }
    if (rows < 2 || rows > TG_BOARD_MAX || cols != rows) return TG_EINVAL;
    tg_board_init(b, rows);
    int x = 0, y = 0;
    for (const char *p = diagram; *p; p++) {
        char ch = *p;
        if (ch == '\n') {
            if (x > 0) y++;
            x = 0;
            continue;
        }
        if (!strchr("XxBOoW.+", ch)) continue;
        int c = strchr("XxB", ch) ? TG_BLACK : strchr("OoW", ch) ? TG_WHITE : TG_EMPTY;
        b->color[tg_loc(x, y)] = (uint8_t)c;
        if (c != TG_EMPTY) b->hash = tg_hash_xor(b->hash, tg_zobrist_stone[tg_loc(x, y)][c]);
        x++;
    }
    rebuild_all_chains(b);
    for (int loc = 0; loc < TG_BOARD_CELLS; loc++) {
        int c = b->color[loc];
        if ((c == TG_BLACK || c == TG_WHITE) && b->chain_libs[b->chain_head[loc]] == 0)
            return TG_EINVAL;
    }
    return 0;
}

static const char gtp_cols[] = "ABCDEFGHJKLMNOPQRSTUVWXYZ";

char *tg_loc_to_gtp(tg_loc_t loc, int size, char *buf) {
    if (loc == TG_LOC_PASS) {
        strcpy(buf, "pass");
        return buf;
    }
    int x = tg_loc_x(loc), y = tg_loc_y(loc);
    if (loc <= 1 || x < 0 || y < 0 || x >= size || y >= size) {
        strcpy(buf, "NULL");
        return buf;
    }
    int row = size - y; /* 1..TG_BOARD_MAX */
    int k = 0;
    buf[k++] = gtp_cols[x];
    if (row >= 10) buf[k++] = (char)('0' + row / 10);
    buf[k++] = (char)('0' + row % 10);
    buf[k] = '\0';
    return buf;
}

int tg_loc_from_gtp(const char *text, int size, tg_loc_t *out) {
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        len--;
    if (len == 4 && strncasecmp(text, "pass", 4) == 0) {
        *out = TG_LOC_PASS;
        return 0;
    }
    if (len < 2 || len > 3) return TG_EINVAL;
    char c = text[0];
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    if (c < 'A' || c > 'Z' || c == 'I') return TG_EINVAL;
    int x = c < 'I' ? c - 'A' : c - 'A' - 1;
    int row = 0;
    for (size_t i = 1; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return TG_EINVAL;
        row = row * 10 + (text[i] - '0');
    }
    if (x >= size || row < 1 || row > size) return TG_EINVAL;
    *out = tg_loc(x, size - row);
    return 0;
}
