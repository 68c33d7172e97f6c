/* sgf.h: reading and writing SGF (FF[4]) game records, the main line only.
 *
 * Why: the GTP engine loads and prints SGFs (loadsgf, printsgf) and the match driver writes
 * one SGF per game. Training never reads SGFs, so this is a small, careful parser, not a
 * fast one.
 *
 * Design. tg_sgf_parse() reads the whole text, checks the syntax of every game tree in the
 * first game of the collection (balanced parentheses, terminated values, escapes), and keeps
 * the main line only: the first child at every branch. Nodes of other variations are
 * syntax-checked and dropped. The result is a tg_sgf_t that does not depend on the board
 * module: board size, komi, rules text, result, handicap, the setup (AB/AW/AE) and moves
 * (B/W) of the main line in order, a comment per node and every property as raw text.
 * Coordinates are SGF's: x = column from the left, y = row from the TOP, both 0-based, the
 * same orientation as tg_loc_t. A pass is B[] (or B[tt] on boards up to 19x19).
 *
 * Malformed input never crashes and never aborts: the parser returns TG_EFORMAT with
 * err->msg = "sgf:LINE:COL: what is wrong" (1-based line and column of the offending
 * character or property value).
 *
 * The writer, tg_sgf_write(), turns a tg_sgf_t (parsed, or built with tg_sgf_init and the
 * add functions) back into SGF text: root properties, setup, then one node per move.
 * The bridge to the rules module (tg_sgf_to_game, tg_sgf_from_game) lives in sgf_game.c.
 *
 * Not thread-safe on the same tg_sgf_t; separate records may be used from separate threads. */
#ifndef TENGEN_SGF_SGF_H
#define TENGEN_SGF_SGF_H

#include <stddef.h>

#include "util/error.h"

#define TG_SGF_MAX_SIZE     25 /* largest board side the parser accepts (SZ) */
#define TG_SGF_DEFAULT_SIZE 19 /* when SZ is absent, as FF[4] says for GM[1] */

/* Stone colours, numerically equal to the board module's TG_BLACK / TG_WHITE. */
enum {
    TG_SGF_EMPTY = 0, /* AE: clear a point */
    TG_SGF_BLACK = 1,
    TG_SGF_WHITE = 2,
};

typedef enum {
    TG_SGF_ITEM_MOVE = 0,  /* B[..] / W[..]: a move (possibly a pass) */
    TG_SGF_ITEM_SETUP = 1, /* AB/AW/AE: place or clear one point, not a move */
} tg_sgf_item_kind_t;

/* One setup point or one move of the main line, in file order. */
typedef struct tg_sgf_item_s {
    tg_sgf_item_kind_t kind;
    int color; /* TG_SGF_BLACK / TG_SGF_WHITE; TG_SGF_EMPTY only for AE setup */
    int x, y;  /* 0-based, y = 0 is the top row; x = y = -1 for a pass */
    int node;  /* index of the main-line node holding it (root = 0) */
} tg_sgf_item_t;

/* One property value as written in the file (unescaped), with where it came from. */
typedef struct tg_sgf_prop_s {
    int node;      /* main-line node index */
    char id[12];   /* property identifier, upper-case letters only ("PB", "KM") */
    char *value;   /* unescaped value, owned by the record */
    int line, col; /* position of the value's '[' (0 for records built in code) */
} tg_sgf_prop_t;

/* A parsed or built main line. Fields are read-only for users: change them through the
 * functions below, which keep the arrays consistent. */
typedef struct tg_sgf_s {
    int size;        /* board side (SZ); square boards only */
    double komi;     /* KM, 0 if absent */
    int has_komi;    /* 1 if KM was given */
    int handicap;    /* HA, 0 if absent */
    int to_move;     /* PL of the last node that set it, or 0 */
    char *rules;     /* RU value or NULL */
    char *result;    /* RE value or NULL */
    int num_nodes;   /* main-line nodes, >= 1 */
    char **comments; /* (num_nodes) C value of each node, or NULL */
    tg_sgf_item_t *items;
    int num_items;
    int cap_items;
    tg_sgf_prop_t *props; /* every property of the main line, in order */
    int num_props;
    int cap_props;
    int cap_nodes;
} tg_sgf_t;

/* Initializes an empty record for a size x size board (one root node, no moves).
 * size must be 1..TG_SGF_MAX_SIZE (else TG_ERANGE). The caller owns sgf and calls
 * tg_sgf_free() afterwards, also after a failed parse. */
int tg_sgf_init(tg_sgf_t *sgf, int size, tg_err_t *err);

/* Releases everything the record owns; sgf may then be initialized again. NULL-safe. */
void tg_sgf_free(tg_sgf_t *sgf);

/* Parses SGF text (len bytes, need not be NUL-terminated) into sgf, which must not be
 * initialized (it is initialized here; call tg_sgf_free() in all cases). Returns 0, or
 * TG_EFORMAT / TG_ERANGE ("sgf:LINE:COL: ...") or TG_ENOMEM. Cost O(len). */
int tg_sgf_parse(const char *text, size_t len, tg_sgf_t *sgf, tg_err_t *err);

/* Reads and parses a file (at most 16 MiB); messages read "PATH:LINE:COL: ...". */
int tg_sgf_load_file(const char *path, tg_sgf_t *sgf, tg_err_t *err);

/* Adds a setup point (colour TG_SGF_EMPTY/BLACK/WHITE) to the last node. Setup after moves
 * starts a new node, as SGF does not mix moves and setup in one node. */
int tg_sgf_add_setup(tg_sgf_t *sgf, int color, int x, int y, tg_err_t *err);

/* Adds a move in a new node; x = y = -1 is a pass. */
int tg_sgf_add_move(tg_sgf_t *sgf, int color, int x, int y, tg_err_t *err);

/* Sets (replaces) the comment of node (0 = root); text is copied. */
int tg_sgf_set_comment(tg_sgf_t *sgf, int node, const char *text, tg_err_t *err);

/* Sets (replaces) a root property such as "PB", "PW", "DT", "RE", "RU", "KM", "HA".
 * RE/RU/KM/HA also update the typed fields. id must be 1..11 upper-case letters. */
int tg_sgf_set_root_prop(tg_sgf_t *sgf, const char *id, const char *value, tg_err_t *err);

/* The first value of property id in node, or NULL. */
const char *tg_sgf_get_prop(const tg_sgf_t *sgf, int node, const char *id);

/* Writes the record as SGF text into a malloc'ed NUL-terminated buffer (*out, caller frees),
 * *len excludes the NUL (len may be NULL). Root node: FF, GM, CA, SZ, KM, HA, RU, RE and every
 * other stored root property, the root's setup and comment; then one node per move.
 * Returns 0 or TG_ENOMEM. */
int tg_sgf_write(const tg_sgf_t *sgf, char **out, size_t *len, tg_err_t *err);

/* Number of moves (B/W items) on the main line. */
int tg_sgf_num_moves(const tg_sgf_t *sgf);

/* ---- Bridge to the rules module (sgf_game.c) ----------------------------------------------- */

struct tg_game_s;
struct tg_rules_s;

/* Replays the record into g: a fresh game of the record's size under the rules of RU if
 * tg_rules_parse() knows it, else default_rules (NULL: tg_rules_default()); komi from KM if
 * given, else default_rules' komi; setup stones; then the moves in order, each checked for
 * legality, stopping after max_moves moves (-1 for all). A move by the player not to move is
 * allowed (SGF records do that; the turn is given to the mover first). Returns 0, TG_ERANGE
 * (a size the board module cannot hold, bad komi) or TG_EILLEGAL ("sgf: move N (B D4): ..."). */
int tg_sgf_to_game(const tg_sgf_t *sgf, int max_moves, const struct tg_rules_s *default_rules,
                   struct tg_game_s *g, tg_err_t *err);

/* Builds a record (sgf must not be initialized; free it afterwards) from g: size, komi, rules
 * as RU (KataGo's rules string), setup stones and every move so far. result may be NULL. */
int tg_sgf_from_game(const struct tg_game_s *g, const char *result, tg_sgf_t *sgf, tg_err_t *err);

#endif
