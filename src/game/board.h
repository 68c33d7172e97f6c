/* board.h: the Go board of tengen: points, colours, chains, legality, Zobrist hashes and the
 * pass-alive (Benson) area computations that KataGo's scoring and net inputs depend on.
 *
 * Design (after pachi and KataGo's Board): a fixed-size struct, copied by value, with no
 * pointers inside. Points are "locs": indices into a (TG_BOARD_MAX+2)^2 array whose one-point
 * margin holds TG_WALL, so neighbour loops need no bounds checks. Each chain is a ring of
 * stones linked through next_stone[]; every stone knows its chain head, and the head holds
 * the chain's EXACT liberty count and stone count, kept up to date incrementally by
 * tg_board_play. The 128-bit Zobrist hash covers the stones only (not the ko point nor the
 * player to move; game.h adds those where the rules need them).
 *
 * Coordinates: x = 0 is column A (left), y = 0 is the TOP row (GTP row N on an N x N board),
 * which is KataGo's printing order. Boards are square, size 2..TG_BOARD_MAX.
 *
 * Thread safety: every function works on the caller's board only, except that tg_board_init
 * builds the shared Zobrist table once (pthread_once), so all functions are thread-safe on
 * distinct boards. No function allocates memory. */
#ifndef TENGEN_GAME_BOARD_H
#define TENGEN_GAME_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_BOARD_MAX    19
#define TG_BOARD_STRIDE (TG_BOARD_MAX + 2)
#define TG_BOARD_CELLS  (TG_BOARD_STRIDE * TG_BOARD_STRIDE)

/* A point on the board array. TG_LOC_NULL and TG_LOC_PASS are margin cells, never on board. */
typedef int16_t tg_loc_t;
#define TG_LOC_NULL ((tg_loc_t)0)
#define TG_LOC_PASS ((tg_loc_t)1)

static inline tg_loc_t tg_loc(int x, int y) {
    return (tg_loc_t)((y + 1) * TG_BOARD_STRIDE + (x + 1));
}
static inline int tg_loc_x(tg_loc_t loc) { return loc % TG_BOARD_STRIDE - 1; }
static inline int tg_loc_y(tg_loc_t loc) { return loc / TG_BOARD_STRIDE - 1; }

typedef enum { TG_EMPTY = 0, TG_BLACK = 1, TG_WHITE = 2, TG_WALL = 3 } tg_color_t;

/* The other player: BLACK <-> WHITE. Only meaningful for BLACK and WHITE. */
static inline tg_color_t tg_color_opp(tg_color_t c) { return (tg_color_t)(3 - c); }

/* 128-bit Zobrist hash (KataGo's Hash128). */
typedef struct tg_hash128_s {
    uint64_t lo, hi;
} tg_hash128_t;

static inline bool tg_hash_eq(tg_hash128_t a, tg_hash128_t b) {
    return a.lo == b.lo && a.hi == b.hi;
}
static inline tg_hash128_t tg_hash_xor(tg_hash128_t a, tg_hash128_t b) {
    tg_hash128_t r = {a.lo ^ b.lo, a.hi ^ b.hi};
    return r;
}

/* Zobrist constants, filled once by tg_board_init (or tg_board_zobrist_init). */
extern tg_hash128_t tg_zobrist_stone[TG_BOARD_CELLS][4]; /* [loc][color], EMPTY/WALL entries 0 */
extern tg_hash128_t tg_zobrist_player[4];                /* [player to move] */
extern tg_hash128_t tg_zobrist_size[TG_BOARD_MAX + 1];   /* [board size], part of every hash */
extern tg_hash128_t tg_zobrist_ko_loc[TG_BOARD_CELLS];   /* for callers that hash the ko point */
extern tg_hash128_t tg_zobrist_encore[3];                /* [encore phase], for game.h */
extern tg_hash128_t tg_zobrist_ko_blocked[TG_BOARD_CELLS][4]; /* encore ko-recapture blocks */
void tg_board_zobrist_init(void);

/* Offsets to the 4 orthogonal neighbours of a loc. */
static const int tg_board_adj[4] = {-TG_BOARD_STRIDE, -1, 1, TG_BOARD_STRIDE};

typedef struct tg_board_s {
    int size;                             /* board is size x size, 2..TG_BOARD_MAX */
    uint8_t color[TG_BOARD_CELLS];        /* tg_color_t per loc; margin = TG_WALL */
    tg_loc_t chain_head[TG_BOARD_CELLS];  /* for stones: the loc identifying the chain */
    tg_loc_t next_stone[TG_BOARD_CELLS];  /* for stones: next stone of the chain (a ring) */
    int16_t chain_libs[TG_BOARD_CELLS];   /* at the chain head: exact liberty count */
    int16_t chain_stones[TG_BOARD_CELLS]; /* at the chain head: number of stones */
    tg_loc_t ko_loc;                      /* simple-ko recapture ban point, or TG_LOC_NULL */
    int captured[3];                      /* [c]: stones of colour c captured so far */
    tg_hash128_t hash;                    /* Zobrist hash of size + stones */
} tg_board_t;

/* Empties a size x size board (2..TG_BOARD_MAX; asserts). Builds the Zobrist table once. */
void tg_board_init(tg_board_t *b, int size);

/* True if loc is a point of this board (not margin, not NULL/PASS). */
static inline bool tg_board_on_board(const tg_board_t *b, tg_loc_t loc) {
    int x = tg_loc_x(loc), y = tg_loc_y(loc);
    return loc >= 0 && loc < TG_BOARD_CELLS && x >= 0 && y >= 0 && x < b->size && y < b->size;
}

/* Chain of the stone at loc: head loc (the chain's id), liberties, stones. loc must hold a
 * stone. Iterate a chain's stones with:
 *   tg_loc_t s = loc; do { ...; s = b->next_stone[s]; } while (s != loc); */
static inline tg_loc_t tg_board_chain_id(const tg_board_t *b, tg_loc_t loc) {
    return b->chain_head[loc];
}
static inline int tg_board_chain_libs(const tg_board_t *b, tg_loc_t loc) {
    return b->chain_libs[b->chain_head[loc]];
}
static inline int tg_board_chain_stones(const tg_board_t *b, tg_loc_t loc) {
    return b->chain_stones[b->chain_head[loc]];
}

/* Would playing colour at the empty loc capture nothing and leave its own chain with no
 * liberty? (Single- or multi-stone suicide; KataGo's Board::isSuicide.) */
bool tg_board_would_be_suicide(const tg_board_t *b, tg_loc_t loc, tg_color_t color);

/* Board-level legality (KataGo's Board::isLegal): PASS is always legal; otherwise loc must be
 * an empty on-board point, not the simple-ko point, and not suicide, except that multi-stone
 * suicide is allowed when multi_stone_suicide_legal (single-stone suicide never is).
 * Superko and encore rules are in game.h. */
bool tg_board_is_legal(const tg_board_t *b, tg_loc_t loc, tg_color_t color,
                       bool multi_stone_suicide_legal);

/* Plays colour at loc, assuming tg_board_is_legal with suicide allowed (PASS clears the ko
 * point and does nothing else). Captures, merges chains, updates liberties, captures count,
 * simple-ko point and hash. A legal multi-stone suicide removes the suicided chain. */
void tg_board_play(tg_board_t *b, tg_loc_t loc, tg_color_t color);

/* Puts a stone of colour (or TG_EMPTY to remove one) at loc without captures or ko, as for
 * SGF setup / handicap (KataGo's Board::setStone). Returns false, changing nothing, if the
 * result would leave some chain with no liberties. Clears the ko point. */
bool tg_board_set_stone(tg_board_t *b, tg_loc_t loc, tg_color_t color);

/* Number of stones of colour c on the board. O(size^2). */
int tg_board_count_stones(const tg_board_t *b, tg_color_t c);

/* Strict Tromp-Taylor area count of the board as it stands, white minus black: every stone
 * counts for its colour, and an empty region counts for a colour when it reaches stones of
 * that colour only. Dead stones count as alive (nothing is inferred). O(size^2). */
int tg_board_score_area_strict(const tg_board_t *b);

/* KataGo's Board::isSimpleEye: loc is empty, all on-board neighbours are colour c, and the
 * diagonals do not show it to be a false eye (at most 1 opposing/"bad" diagonal in the centre,
 * none on the edge). Used to keep random play from filling own eyes. */
bool tg_board_is_simple_eye(const tg_board_t *b, tg_loc_t loc, tg_color_t c);

/* True if the move at loc by colour would capture at least one opposing chain. */
bool tg_board_would_capture(const tg_board_t *b, tg_loc_t loc, tg_color_t color);

/* KataGo's Board::calculateArea. Fills result[loc] (for every loc; margin = TG_EMPTY) with
 * TG_BLACK / TG_WHITE / TG_EMPTY:
 *  - always: each player's Benson pass-alive stones and pass-alive territory (territory may
 *    contain opposing stones, which are dead by proof);
 *  - non_pass_alive_stones: also every other stone, for its own colour, unless it lies in
 *    the opponent's pass-alive territory;
 *  - safe_big_territories: empty regions (no opposing stones) bordered only by pass-alive
 *    chains of one colour;
 *  - unsafe_big_territories: empty regions bordered only by one colour's stones, if not
 *    already claimed otherwise.
 * multi_stone_suicide_legal changes which regions count as vital (algorithms.md 1.4).
 * O(size^2 * rounds); no allocation. */
void tg_board_calc_area(const tg_board_t *b, uint8_t result[TG_BOARD_CELLS],
                        bool non_pass_alive_stones, bool safe_big_territories,
                        bool unsafe_big_territories, bool multi_stone_suicide_legal);

/* KataGo's Board::calculateIndependentLifeArea: starts from tg_board_calc_area with all three
 * flags; every owned region (a colour's connected stones + territory in that area) that touches
 * an unowned empty point (dame) or holds an owner's stone in atari is "seki" and is left out;
 * the rest is independent life and goes into result. keep_territories / keep_stones add back
 * the territory points / stones of the seki regions too. *white_minus_black_region_count
 * (may be NULL) gets White's independent-life regions minus Black's (for TG_TAX_ALL). */
void tg_board_calc_independent_life_area(const tg_board_t *b, uint8_t result[TG_BOARD_CELLS],
                                         int *white_minus_black_region_count, bool keep_territories,
                                         bool keep_stones, bool multi_stone_suicide_legal);

/* Recomputes chains, liberties, counts and hash from color[] alone and compares them with
 * the incremental state. Returns true if consistent. O(size^2). For tests and debug checks. */
bool tg_board_check_consistency(const tg_board_t *b);

/* Renders the board as `size` lines of ". X O" separated by spaces (row 0 first), into buf
 * (NUL-terminated, truncated to n). Returns the length it needed. */
int tg_board_to_string(const tg_board_t *b, char *buf, size_t n);

/* Sets up a board from a diagram: rows of 'X'/'x'/'B' (black), 'O'/'o'/'W' (white), '.'/'+'
 * (empty), whitespace between points ignored, one row per line; size = number of rows.
 * Returns 0, or TG_EINVAL if the diagram is malformed or has a chain without liberties. */
int tg_board_from_string(tg_board_t *b, const char *diagram);

/* GTP vertex of loc ("Q16", "pass"; columns skip I; row 1 is the bottom). buf >= 8 bytes.
 * Returns buf. An off-board loc gives "NULL". */
char *tg_loc_to_gtp(tg_loc_t loc, int size, char *buf);

/* Parses a GTP vertex (case-insensitive; "pass" accepted). Returns 0, or TG_EINVAL for
 * malformed text or a point off this board size. */
int tg_loc_from_gtp(const char *text, int size, tg_loc_t *out);

#endif
