/* search_svb.c: KataGo's subtree value bias table (subtreeValueBiasFactor, algorithms.md §2.4).
 *
 * Why: the net makes the same mistake in the same local shape again and again. Nodes that share
 * a bucket (who moved, the move before the last, the last move, the 5x5 pattern around the last
 * move on the board before it with atari marks, and the simple-ko point) pool "what the subtree
 * said minus what the net said", and every node of the bucket shifts its own net utility by
 * factor * that pooled average (at creation and at every stats recomputation).
 *
 * Each node remembers the delta sum and weight it last contributed, so a recomputation replaces
 * its contribution instead of adding to it; a node dropped by tree reuse withdraws
 * subtree_value_bias_free_prop of its contribution (KataGo keeps the rest while the bucket has
 * other users), and buckets no kept node uses are forgotten.
 *
 * Storage: one open-addressing table per search (64-bit keys, linear probing), at least twice
 * the node capacity so it cannot fill, allocated when the arenas grow or the tree is compacted,
 * never during a playout. Insertion is lock-free (CAS on the key); each entry's sums are guarded
 * by its own spin lock (Lock: entry->lock is a leaf lock: a thread may take it while holding a
 * node lock, never the other way round). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_internal.h"

#define SVB_PATTERN 5 /* KataGo's 5x5 local pattern */

static uint64_t svb_z_move[TG_BOARD_CELLS][2]; /* [loc][0: move before last, 1: last move] */
static uint64_t svb_z_ko[TG_BOARD_CELLS];
static uint64_t svb_z_pattern[4][SVB_PATTERN * SVB_PATTERN]; /* [colour][cell] */
static uint64_t svb_z_atari[SVB_PATTERN * SVB_PATTERN];
static uint64_t svb_z_pla[4];
static pthread_once_t svb_once = PTHREAD_ONCE_INIT;

static void search__svb_init_zobrist(void) {
    tg_rng_t r;
    tg_rng_seed(&r, 0x5356425441424c45ull, 7); /* fixed: keys are the same in every run */
    for (int i = 0; i < TG_BOARD_CELLS; i++) {
        svb_z_move[i][0] = tg_rng_u64(&r);
        svb_z_move[i][1] = tg_rng_u64(&r);
        svb_z_ko[i] = tg_rng_u64(&r);
    }
    for (int c = 0; c < 4; c++) {
        svb_z_pla[c] = tg_rng_u64(&r);
        for (int k = 0; k < SVB_PATTERN * SVB_PATTERN; k++)
            svb_z_pattern[c][k] = tg_rng_u64(&r);
    }
    for (int k = 0; k < SVB_PATTERN * SVB_PATTERN; k++)
        svb_z_atari[k] = tg_rng_u64(&r);
}

uint64_t search__svb_key(const tg_game_t *g, tg_loc_t loc) {
    pthread_once(&svb_once, search__svb_init_zobrist);
    if (g->num_moves < 1) return 0;
    tg_loc_t prev = g->moves[g->num_moves - 1].loc;
    const tg_board_t *b = &g->board;
    uint64_t h = svb_z_move[prev][0] ^ svb_z_move[loc][1] ^ svb_z_pla[g->to_move];
    if (loc != TG_LOC_PASS) {
        const int r = SVB_PATTERN / 2, n = b->size;
        int x = tg_loc_x(loc), y = tg_loc_y(loc);
        for (int dy = -r; dy <= r; dy++) {
            if (y + dy < 0 || y + dy >= n) continue;
            for (int dx = -r; dx <= r; dx++) {
                if (x + dx < 0 || x + dx >= n) continue;
                tg_loc_t l2 = tg_loc(x + dx, y + dy);
                int cell = (dy + r) * SVB_PATTERN + (dx + r);
                uint8_t c = b->color[l2];
                h ^= svb_z_pattern[c][cell];
                if ((c == TG_BLACK || c == TG_WHITE) && tg_board_chain_libs(b, l2) == 1)
                    h ^= svb_z_atari[cell];
            }
        }
    }
    if (b->ko_loc != TG_LOC_NULL) h ^= svb_z_ko[b->ko_loc];
    return h ? h : 1; /* 0 marks an empty slot */
}

/* Finds or claims key's slot in tab (capacity cap, a power of two). Returns the index, or -1
 * if the table is full. Thread-safe. */
static int64_t search__svb_slot(search_svb_entry_t *tab, int64_t cap, uint64_t key, bool *fresh) {
    int64_t mask = cap - 1;
    int64_t i = (int64_t)(key ^ (key >> 29)) & mask;
    for (int64_t probe = 0; probe < cap; probe++, i = (i + 1) & mask) {
        uint64_t k = atomic_load_explicit(&tab[i].key, memory_order_acquire);
        if (k == key) {
            *fresh = false;
            return i;
        }
        if (k != 0) continue;
        uint64_t expected = 0;
        if (atomic_compare_exchange_strong_explicit(&tab[i].key, &expected, key,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            *fresh = true;
            return i;
        }
        if (expected == key) {
            *fresh = false;
            return i;
        }
    }
    return -1;
}

uint32_t search__svb_get(tg_search_t *s, uint64_t key) {
    if (key == 0 || !s->svb) return 0;
    bool fresh;
    int64_t i = search__svb_slot(s->svb, s->svb_capacity, key, &fresh);
    return i < 0 ? 0 : (uint32_t)(i + 1);
}

static inline void search__svb_lock(search_svb_entry_t *e) {
    while (atomic_flag_test_and_set_explicit(&e->lock, memory_order_acquire)) {
    }
}
static inline void search__svb_unlock(search_svb_entry_t *e) {
    atomic_flag_clear_explicit(&e->lock, memory_order_release);
}

double search__svb_bias(tg_search_t *s, const search_node_t *n) {
    double f = s->params.subtree_value_bias_factor;
    if (f == 0.0 || n->svb == 0) return 0.0;
    search_svb_entry_t *e = &s->svb[n->svb - 1];
    search__svb_lock(e);
    double d = e->delta_sum, w = e->weight_sum;
    search__svb_unlock(e);
    return w > 0.001 ? f * d / w : 0.0;
}

double search__svb_update(tg_search_t *s, search_node_t *n, double delta_sum, double weight) {
    double f = s->params.subtree_value_bias_factor;
    if (f == 0.0 || n->svb == 0) return 0.0;
    search_svb_entry_t *e = &s->svb[n->svb - 1];
    search__svb_lock(e);
    e->delta_sum += delta_sum - n->svb_last_delta;
    e->weight_sum += weight - n->svb_last_weight;
    double d = e->delta_sum, w = e->weight_sum;
    search__svb_unlock(e);
    n->svb_last_delta = delta_sum;
    n->svb_last_weight = weight;
    return w > 0.001 ? f * d / w : 0.0;
}

void search__svb_clear(tg_search_t *s) {
    if (s->svb) memset(s->svb, 0, (size_t)s->svb_capacity * sizeof(search_svb_entry_t));
}

void search__svb_release(tg_search_t *s, search_node_t *n) {
    if (n->svb == 0 || !s->svb) return;
    double fp = s->params.subtree_value_bias_free_prop;
    search_svb_entry_t *e = &s->svb[n->svb - 1];
    e->delta_sum -= n->svb_last_delta * fp;
    e->weight_sum -= n->svb_last_weight * fp;
    n->svb = 0;
}

int search__svb_rebuild(tg_search_t *s, int64_t min_capacity) {
    int64_t cap = 1024;
    while (cap < min_capacity)
        cap *= 2;
    if (cap < s->svb_capacity) cap = s->svb_capacity;
    search_svb_entry_t *tab = calloc((size_t)cap, sizeof(search_svb_entry_t));
    s->system_allocs++;
    if (!tab) return TG_ENOMEM;
    int64_t used = atomic_load(&s->nodes_used);
    for (int64_t i = 0; i < used; i++) {
        search_node_t *n = &s->nodes[i];
        if (n->svb == 0) continue;
        const search_svb_entry_t *old = &s->svb[n->svb - 1];
        bool fresh;
        int64_t j = search__svb_slot(tab, cap, atomic_load(&old->key), &fresh);
        if (j < 0) { /* cannot happen: cap >= entries */
            n->svb = 0;
            continue;
        }
        if (fresh) {
            tab[j].delta_sum = old->delta_sum;
            tab[j].weight_sum = old->weight_sum;
        }
        n->svb = (uint32_t)(j + 1);
    }
    free(s->svb);
    s->svb = tab;
    s->svb_capacity = cap;
    return 0;
}
