/* sgf.c: the SGF (FF[4]) main-line parser and writer declared in sgf.h.
 *
 * The parser is a single iterative pass (no recursion, so deeply nested variations cannot
 * overflow the stack) followed by an interpretation pass over the stored properties:
 *
 *   pass 1 (syntax): tokens '(' ')' ';' PropIdent '[' value ']'. The main line is every node
 *   read before the first ')' of the first game tree: while no tree has closed yet, each '('
 *   opens the first child of the main-line tree, so its nodes continue the main line. The first
 *   ')' ends the main line; everything after it up to the end of the first game tree is a side
 *   variation, checked for syntax and dropped. Later game trees of a collection are ignored.
 *
 *   pass 2 (meaning): SZ is read from the root first, since coordinates depend on it; then
 *   every property in file order fills the typed fields, setup points and moves.
 *
 * Every error carries the 1-based line and column of where it was found. All allocations go
 * through grow_array(), and every failure path leaves the record freeable. */
#include "sgf/sgf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

#define SGF_MAX_FILE_BYTES (16u << 20)

/* ---- Small helpers ------------------------------------------------------------------------- */

/* Grows *arr (elements of elem bytes) so that it holds at least need elements.
 * Returns 0 or TG_ENOMEM; *arr and *cap are unchanged on failure. */
static int grow_array(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > INT32_MAX / 2) return TG_ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return TG_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* Makes sure node index `node` exists (num_nodes > node), with NULL comments. */
static int ensure_node(tg_sgf_t *sgf, int node) {
    if (node < sgf->num_nodes) return 0;
    void *arr = sgf->comments;
    if (grow_array(&arr, &sgf->cap_nodes, node + 1, sizeof(char *))) return TG_ENOMEM;
    sgf->comments = arr;
    for (int i = sgf->num_nodes; i <= node; i++)
        sgf->comments[i] = NULL;
    sgf->num_nodes = node + 1;
    return 0;
}

static int push_item(tg_sgf_t *sgf, tg_sgf_item_kind_t kind, int color, int x, int y, int node) {
    void *arr = sgf->items;
    if (grow_array(&arr, &sgf->cap_items, sgf->num_items + 1, sizeof(tg_sgf_item_t)))
        return TG_ENOMEM;
    sgf->items = arr;
    sgf->items[sgf->num_items++] = (tg_sgf_item_t){kind, color, x, y, node};
    return 0;
}

/* Appends a property; value is copied. */
static int push_prop(tg_sgf_t *sgf, int node, const char *id, const char *value, int line,
                     int col) {
    void *arr = sgf->props;
    if (grow_array(&arr, &sgf->cap_props, sgf->num_props + 1, sizeof(tg_sgf_prop_t)))
        return TG_ENOMEM;
    sgf->props = arr;
    tg_sgf_prop_t *p = &sgf->props[sgf->num_props];
    memset(p, 0, sizeof(*p));
    p->value = dup_string(value);
    if (!p->value) return TG_ENOMEM;
    p->node = node;
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->line = line;
    p->col = col;
    sgf->num_props++;
    return 0;
}

static int set_owned_string(char **dst, const char *value) {
    char *d = dup_string(value);
    if (!d) return TG_ENOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

/* ---- Record lifetime ----------------------------------------------------------------------- */

int tg_sgf_init(tg_sgf_t *sgf, int size, tg_err_t *err) {
    memset(sgf, 0, sizeof(*sgf));
    if (size < 1 || size > TG_SGF_MAX_SIZE)
        return tg_err_set(err, TG_ERANGE, "sgf: board size %d out of range 1..%d", size,
                          TG_SGF_MAX_SIZE);
    sgf->size = size;
    if (ensure_node(sgf, 0)) return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

void tg_sgf_free(tg_sgf_t *sgf) {
    if (!sgf) return;
    for (int i = 0; i < sgf->num_nodes; i++)
        free(sgf->comments ? sgf->comments[i] : NULL);
    for (int i = 0; i < sgf->num_props; i++)
        free(sgf->props[i].value);
    free(sgf->comments);
    free(sgf->items);
    free(sgf->props);
    free(sgf->rules);
    free(sgf->result);
    memset(sgf, 0, sizeof(*sgf));
}

/* ---- Pass 1: syntax ------------------------------------------------------------------------ */

typedef struct scanner_s {
    const char *s;
    size_t len, pos;
    int line, col;
} scanner_t;

static int sc_peek(const scanner_t *sc) {
    return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static void sc_advance(scanner_t *sc) {
    if (sc->pos >= sc->len) return;
    if (sc->s[sc->pos] == '\n') {
        sc->line++;
        sc->col = 1;
    } else {
        sc->col++;
    }
    sc->pos++;
}

static void sc_skip_ws(scanner_t *sc) {
    int c;
    while ((c = sc_peek(sc)) >= 0 && isspace(c))
        sc_advance(sc);
}

/* Describes character c for an error message ("'x'" or "byte 0x07"). */
static void describe_char(int c, char *buf, size_t cap) {
    if (c < 0)
        snprintf(buf, cap, "end of input");
    else if (isprint(c))
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
}

/* Reads one bracketed value starting at '[' into a growing buffer (unescaped, soft line breaks
 * removed, CR LF folded to LF). Returns 0, TG_EFORMAT (unterminated) or TG_ENOMEM. */
static int sc_read_value(scanner_t *sc, char **buf, int *cap, const char *id, tg_err_t *err) {
    int line = sc->line, col = sc->col;
    sc_advance(sc); /* '[' */
    int n = 0;
    for (;;) {
        int c = sc_peek(sc);
        if (c < 0)
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s: value not closed with ']'", line,
                              col, id);
        sc_advance(sc);
        if (c == ']') break;
        if (c == '\\') {
            c = sc_peek(sc);
            if (c < 0)
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s: value not closed with ']'", line,
                                  col, id);
            sc_advance(sc);
            if (c == '\n') continue; /* soft line break */
            if (c == '\r') {
                if (sc_peek(sc) == '\n') sc_advance(sc);
                continue;
            }
        } else if (c == '\r') {
            if (sc_peek(sc) == '\n') sc_advance(sc);
            c = '\n';
        }
        if (c == 0) c = ' '; /* a NUL would cut the C string short */
        void *arr = *buf;
        if (grow_array(&arr, cap, n + 2, 1))
            return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
        *buf = arr;
        (*buf)[n++] = (char)c;
    }
    void *arr = *buf;
    if (grow_array(&arr, cap, n + 1, 1)) return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    *buf = arr;
    (*buf)[n] = '\0';
    return 0;
}

/* Pass 1 (see file header): fills sgf->props with the main line's properties and sets
 * num_nodes. */
static int parse_syntax(const char *text, size_t len, tg_sgf_t *sgf, tg_err_t *err) {
    scanner_t sc = {text, len, 0, 1, 1};
    char *val = NULL;
    int val_cap = 0, rc = 0;

    /* Anything before the first '(' is ignored (mail headers, a BOM). */
    while (sc_peek(&sc) >= 0 && sc_peek(&sc) != '(')
        sc_advance(&sc);
    if (sc_peek(&sc) < 0) {
        rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: no game tree: '(' not found", sc.line, sc.col);
        goto done;
    }

    int depth = 0;      /* open '(' */
    int main_done = 0;  /* first ')' seen: the main line is complete */
    int need_node = 0;  /* just after '(': a ';' must follow */
    int in_node = 0;    /* properties may follow */
    int main_nodes = 0; /* nodes on the main line */
    int open_line = 1, open_col = 1;
    for (;;) {
        sc_skip_ws(&sc);
        int c = sc_peek(&sc);
        int line = sc.line, col = sc.col;
        if (c < 0) {
            rc = tg_err_set(err, TG_EFORMAT,
                            "sgf:%d:%d: unexpected end of input: %d game tree(s) not closed "
                            "(last '(' at %d:%d)",
                            line, col, depth, open_line, open_col);
            goto done;
        }
        if (c == '(') {
            if (need_node) {
                rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: game tree has no node before '('",
                                line, col);
                goto done;
            }
            depth++;
            need_node = 1;
            in_node = 0;
            open_line = line;
            open_col = col;
            sc_advance(&sc);
        } else if (c == ')') {
            if (need_node) {
                rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: empty game tree '()'", line, col);
                goto done;
            }
            depth--;
            main_done = 1;
            in_node = 0;
            sc_advance(&sc);
            if (depth == 0) break; /* end of the first game tree */
        } else if (c == ';') {
            need_node = 0;
            in_node = 1;
            if (!main_done) main_nodes++;
            sc_advance(&sc);
        } else if (isalpha(c)) {
            char id[16];
            int n = 0;
            while ((c = sc_peek(&sc)) >= 0 && isalpha(c)) {
                /* FF[3] allowed lower-case letters inside identifiers ("AddBlack"); only the
                 * upper-case ones form the identifier. */
                if (isupper(c)) {
                    if (n < (int)sizeof(id) - 1) id[n] = (char)c;
                    n++;
                }
                sc_advance(&sc);
            }
            if (!in_node) {
                rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: property outside a node (missing ';')",
                                line, col);
                goto done;
            }
            if (n == 0 || n > 11) {
                rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: bad property identifier (%s)", line,
                                col, n == 0 ? "no upper-case letter" : "too long");
                goto done;
            }
            id[n] = '\0';
            sc_skip_ws(&sc);
            if (sc_peek(&sc) != '[') {
                char what[32];
                describe_char(sc_peek(&sc), what, sizeof(what));
                rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: property %s has no value (found %s)",
                                sc.line, sc.col, id, what);
                goto done;
            }
            while (sc_peek(&sc) == '[') {
                int vline = sc.line, vcol = sc.col;
                rc = sc_read_value(&sc, &val, &val_cap, id, err);
                if (rc) goto done;
                if (!main_done) {
                    if (push_prop(sgf, main_nodes - 1, id, val, vline, vcol)) {
                        rc = tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
                        goto done;
                    }
                }
                sc_skip_ws(&sc);
            }
        } else {
            char what[32];
            describe_char(c, what, sizeof(what));
            rc = tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: unexpected %s", line, col, what);
            goto done;
        }
    }
    if (ensure_node(sgf, main_nodes - 1)) rc = tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
done:
    free(val);
    return rc;
}

/* ---- Pass 2: meaning ----------------------------------------------------------------------- */

static int coord_index(int c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A' + 26;
    return -1;
}

static int coord_char(int i) { return i < 26 ? 'a' + i : 'A' + (i - 26); }

/* Decodes a two-letter point. allow_pass: "" and (size <= 19) "tt" mean a pass (x = y = -1).
 * Returns 0 or TG_EFORMAT with a message naming prop. */
static int decode_point(const tg_sgf_t *sgf, const tg_sgf_prop_t *p, const char *v, int allow_pass,
                        int *x, int *y, tg_err_t *err) {
    size_t n = strlen(v);
    if (allow_pass && (n == 0 || (n == 2 && sgf->size <= 19 && v[0] == 't' && v[1] == 't'))) {
        *x = *y = -1;
        return 0;
    }
    if (n != 2 || coord_index((unsigned char)v[0]) < 0 || coord_index((unsigned char)v[1]) < 0)
        return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s[%.20s]: bad point (expected two letters)",
                          p->line, p->col, p->id, v);
    *x = coord_index((unsigned char)v[0]);
    *y = coord_index((unsigned char)v[1]);
    if (*x >= sgf->size || *y >= sgf->size)
        return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s[%s]: point off the %dx%d board", p->line,
                          p->col, p->id, v, sgf->size, sgf->size);
    return 0;
}

/* Parses a whole string as a number: optional spaces, then strtod/strtol must consume the
 * rest. */
static int parse_double(const char *v, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || errno) return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static int parse_int(const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long l = strtol(v, &end, 10);
    if (end == v || errno) return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || l < lo || l > hi) return -1;
    *out = (int)l;
    return 0;
}

static int parse_size(const tg_sgf_prop_t *p, int *size, tg_err_t *err) {
    int a, b;
    const char *colon = strchr(p->value, ':');
    if (colon) {
        char first[32];
        size_t n = (size_t)(colon - p->value);
        if (n >= sizeof(first)) n = sizeof(first) - 1;
        memcpy(first, p->value, n);
        first[n] = '\0';
        if (parse_int(first, 1, 1000, &a) || parse_int(colon + 1, 1, 1000, &b))
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: SZ[%.20s]: not a board size", p->line,
                              p->col, p->value);
        if (a != b)
            return tg_err_set(err, TG_EFORMAT,
                              "sgf:%d:%d: SZ[%.20s]: rectangular boards are not "
                              "supported",
                              p->line, p->col, p->value);
    } else if (parse_int(p->value, -1000000, 1000000, &a)) {
        return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: SZ[%.20s]: not a board size", p->line,
                          p->col, p->value);
    }
    if (a < 1 || a > TG_SGF_MAX_SIZE)
        return tg_err_set(err, TG_ERANGE, "sgf:%d:%d: SZ[%.20s]: board size out of range 1..%d",
                          p->line, p->col, p->value, TG_SGF_MAX_SIZE);
    *size = a;
    return 0;
}

/* Expands a point or a compressed rectangle "aa:cc" of a setup property into items. */
static int add_setup_value(tg_sgf_t *sgf, const tg_sgf_prop_t *p, int color, tg_err_t *err) {
    const char *v = p->value;
    int x0, y0, x1, y1, rc;
    const char *colon = strchr(v, ':');
    if (colon) {
        char a[8] = {0}, b[8] = {0};
        size_t na = (size_t)(colon - v), nb = strlen(colon + 1);
        if (na != 2 || nb != 2)
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s[%.20s]: bad point rectangle", p->line,
                              p->col, p->id, v);
        memcpy(a, v, 2);
        memcpy(b, colon + 1, 2);
        if ((rc = decode_point(sgf, p, a, 0, &x0, &y0, err))) return rc;
        if ((rc = decode_point(sgf, p, b, 0, &x1, &y1, err))) return rc;
        if (x1 < x0 || y1 < y0)
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s[%s]: empty point rectangle", p->line,
                              p->col, p->id, v);
    } else {
        if ((rc = decode_point(sgf, p, v, 0, &x0, &y0, err))) return rc;
        x1 = x0;
        y1 = y0;
    }
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            if (push_item(sgf, TG_SGF_ITEM_SETUP, color, x, y, p->node))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

static int interpret_props(tg_sgf_t *sgf, tg_err_t *err) {
    int rc;
    sgf->size = TG_SGF_DEFAULT_SIZE;
    int seen_size = 0;
    for (int i = 0; i < sgf->num_props; i++) {
        const tg_sgf_prop_t *p = &sgf->props[i];
        if (strcmp(p->id, "SZ") != 0) continue;
        if (p->node != 0)
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: SZ outside the root node", p->line,
                              p->col);
        if (seen_size)
            return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: SZ given twice", p->line, p->col);
        if ((rc = parse_size(p, &sgf->size, err))) return rc;
        seen_size = 1;
    }

    int last_move_node = -1;
    for (int i = 0; i < sgf->num_props; i++) {
        const tg_sgf_prop_t *p = &sgf->props[i];
        const tg_sgf_prop_t *prev = i > 0 ? &sgf->props[i - 1] : NULL;
        /* Only the first value of a multi-valued property counts, except for point lists. */
        int repeat = prev && prev->node == p->node && strcmp(prev->id, p->id) == 0;
        const char *id = p->id;
        if (!strcmp(id, "B") || !strcmp(id, "W")) {
            int x, y;
            if (repeat)
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: %s has more than one value", p->line,
                                  p->col, id);
            if (last_move_node == p->node)
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: second move in one node", p->line,
                                  p->col);
            if ((rc = decode_point(sgf, p, p->value, 1, &x, &y, err))) return rc;
            if (push_item(sgf, TG_SGF_ITEM_MOVE, id[0] == 'B' ? TG_SGF_BLACK : TG_SGF_WHITE, x, y,
                          p->node))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
            last_move_node = p->node;
        } else if (!strcmp(id, "AB") || !strcmp(id, "AW") || !strcmp(id, "AE")) {
            int color = id[1] == 'B' ? TG_SGF_BLACK : id[1] == 'W' ? TG_SGF_WHITE : TG_SGF_EMPTY;
            if ((rc = add_setup_value(sgf, p, color, err))) return rc;
        } else if (repeat) {
            continue;
        } else if (!strcmp(id, "KM")) {
            if (p->value[0] == '\0') continue; /* KM[] seen in the wild: no komi given */
            if (parse_double(p->value, &sgf->komi) || fabs(sgf->komi) > 10000)
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: KM[%.20s]: not a komi", p->line,
                                  p->col, p->value);
            sgf->has_komi = 1;
        } else if (!strcmp(id, "HA")) {
            if (parse_int(p->value, 0, TG_SGF_MAX_SIZE * TG_SGF_MAX_SIZE, &sgf->handicap))
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: HA[%.20s]: not a handicap", p->line,
                                  p->col, p->value);
        } else if (!strcmp(id, "GM")) {
            int gm;
            if (parse_int(p->value, 0, 1000, &gm) || gm != 1)
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: GM[%.20s]: not a game of Go",
                                  p->line, p->col, p->value);
        } else if (!strcmp(id, "PL")) {
            int c = toupper((unsigned char)p->value[0]);
            if (c != 'B' && c != 'W')
                return tg_err_set(err, TG_EFORMAT, "sgf:%d:%d: PL[%.20s]: not a colour", p->line,
                                  p->col, p->value);
            sgf->to_move = c == 'B' ? TG_SGF_BLACK : TG_SGF_WHITE;
        } else if (!strcmp(id, "RU")) {
            if (set_owned_string(&sgf->rules, p->value))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
        } else if (!strcmp(id, "RE")) {
            if (set_owned_string(&sgf->result, p->value))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
        } else if (!strcmp(id, "C")) {
            if (set_owned_string(&sgf->comments[p->node], p->value))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
        }
    }
    return 0;
}

int tg_sgf_parse(const char *text, size_t len, tg_sgf_t *sgf, tg_err_t *err) {
    memset(sgf, 0, sizeof(*sgf));
    sgf->size = TG_SGF_DEFAULT_SIZE;
    int rc = parse_syntax(text, len, sgf, err);
    if (rc) return rc;
    return interpret_props(sgf, err);
}

int tg_sgf_load_file(const char *path, tg_sgf_t *sgf, tg_err_t *err) {
    char *data = NULL;
    size_t len = 0;
    memset(sgf, 0, sizeof(*sgf));
    int rc = tg_file_read_all(path, SGF_MAX_FILE_BYTES, &data, &len, err);
    if (rc) return rc;
    rc = tg_sgf_parse(data, len, sgf, err);
    free(data);
    if (rc && err && strncmp(err->msg, "sgf:", 4) == 0) {
        /* "sgf:L:C: ..." -> "PATH:L:C: ..." */
        char tail[256];
        snprintf(tail, sizeof(tail), "%s", err->msg + 4);
        snprintf(err->msg, sizeof(err->msg), "%.200s:%.255s", path, tail);
    }
    return rc;
}

/* ---- Building ------------------------------------------------------------------------------ */

static int last_node_has_move(const tg_sgf_t *sgf) {
    int last = sgf->num_nodes - 1;
    for (int i = sgf->num_items - 1; i >= 0 && sgf->items[i].node == last; i--)
        if (sgf->items[i].kind == TG_SGF_ITEM_MOVE) return 1;
    return 0;
}

static int check_point(const tg_sgf_t *sgf, int x, int y, int allow_pass, tg_err_t *err) {
    if (allow_pass && x == -1 && y == -1) return 0;
    if (x < 0 || y < 0 || x >= sgf->size || y >= sgf->size)
        return tg_err_set(err, TG_ERANGE, "sgf: point (%d,%d) off the %dx%d board", x, y, sgf->size,
                          sgf->size);
    return 0;
}

int tg_sgf_add_setup(tg_sgf_t *sgf, int color, int x, int y, tg_err_t *err) {
    int rc = check_point(sgf, x, y, 0, err);
    if (rc) return rc;
    if (color != TG_SGF_EMPTY && color != TG_SGF_BLACK && color != TG_SGF_WHITE)
        return tg_err_set(err, TG_EINVAL, "sgf: bad setup colour %d", color);
    if (last_node_has_move(sgf) && ensure_node(sgf, sgf->num_nodes))
        return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    if (push_item(sgf, TG_SGF_ITEM_SETUP, color, x, y, sgf->num_nodes - 1))
        return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

int tg_sgf_add_move(tg_sgf_t *sgf, int color, int x, int y, tg_err_t *err) {
    int rc = check_point(sgf, x, y, 1, err);
    if (rc) return rc;
    if (color != TG_SGF_BLACK && color != TG_SGF_WHITE)
        return tg_err_set(err, TG_EINVAL, "sgf: bad move colour %d", color);
    if (ensure_node(sgf, sgf->num_nodes)) return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    if (push_item(sgf, TG_SGF_ITEM_MOVE, color, x, y, sgf->num_nodes - 1))
        return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

int tg_sgf_set_comment(tg_sgf_t *sgf, int node, const char *text, tg_err_t *err) {
    if (node < 0 || node >= sgf->num_nodes)
        return tg_err_set(err, TG_ERANGE, "sgf: no node %d (have %d)", node, sgf->num_nodes);
    if (set_owned_string(&sgf->comments[node], text))
        return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

int tg_sgf_set_root_prop(tg_sgf_t *sgf, const char *id, const char *value, tg_err_t *err) {
    size_t n = strlen(id);
    if (n < 1 || n > 11) return tg_err_set(err, TG_EINVAL, "sgf: bad property id '%s'", id);
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)id[i]))
            return tg_err_set(err, TG_EINVAL, "sgf: bad property id '%s'", id);
    static const char *const managed[] = {"SZ", "B", "W", "AB", "AW", "AE", "C", "FF", "GM", "CA"};
    for (size_t i = 0; i < TG_ARRAY_LEN(managed); i++)
        if (!strcmp(id, managed[i]))
            return tg_err_set(err, TG_EINVAL, "sgf: %s is set through its own function", id);
    if (!strcmp(id, "KM")) {
        double k;
        if (parse_double(value, &k))
            return tg_err_set(err, TG_EINVAL, "sgf: KM[%s]: not a komi", value);
        sgf->komi = k;
        sgf->has_komi = 1;
    } else if (!strcmp(id, "HA")) {
        if (parse_int(value, 0, TG_SGF_MAX_SIZE * TG_SGF_MAX_SIZE, &sgf->handicap))
            return tg_err_set(err, TG_EINVAL, "sgf: HA[%s]: not a handicap", value);
    } else if (!strcmp(id, "RU") || !strcmp(id, "RE")) {
        if (set_owned_string(id[1] == 'U' ? &sgf->rules : &sgf->result, value))
            return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    }
    for (int i = 0; i < sgf->num_props; i++) {
        tg_sgf_prop_t *p = &sgf->props[i];
        if (p->node == 0 && !strcmp(p->id, id)) {
            if (set_owned_string(&p->value, value))
                return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
            return 0;
        }
    }
    if (push_prop(sgf, 0, id, value, 0, 0)) return tg_err_set(err, TG_ENOMEM, "sgf: out of memory");
    return 0;
}

const char *tg_sgf_get_prop(const tg_sgf_t *sgf, int node, const char *id) {
    for (int i = 0; i < sgf->num_props; i++)
        if (sgf->props[i].node == node && !strcmp(sgf->props[i].id, id)) return sgf->props[i].value;
    return NULL;
}

int tg_sgf_num_moves(const tg_sgf_t *sgf) {
    int n = 0;
    for (int i = 0; i < sgf->num_items; i++)
        n += sgf->items[i].kind == TG_SGF_ITEM_MOVE;
    return n;
}

/* ---- Writing ------------------------------------------------------------------------------- */

typedef struct strbuf_s {
    char *s;
    int len, cap;
    int oom;
} strbuf_t;

static void sb_append(strbuf_t *sb, const char *s, size_t n) {
    if (sb->oom) return;
    void *arr = sb->s;
    if (n > (size_t)INT32_MAX / 2 || grow_array(&arr, &sb->cap, sb->len + (int)n + 1, 1)) {
        sb->oom = 1;
        return;
    }
    sb->s = arr;
    memcpy(sb->s + sb->len, s, n);
    sb->len += (int)n;
    sb->s[sb->len] = '\0';
}

static void sb_puts(strbuf_t *sb, const char *s) { sb_append(sb, s, strlen(s)); }

static void sb_printf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf_t *sb, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    sb_append(sb, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Appends "ID[value]" with ']' and '\' escaped. */
static void sb_prop(strbuf_t *sb, const char *id, const char *value) {
    sb_puts(sb, id);
    sb_puts(sb, "[");
    for (const char *c = value; *c; c++) {
        if (*c == ']' || *c == '\\') sb_append(sb, "\\", 1);
        sb_append(sb, c, 1);
    }
    sb_puts(sb, "]");
}

static void sb_point(strbuf_t *sb, int x, int y) {
    char pt[3] = {0};
    if (x >= 0) {
        pt[0] = (char)coord_char(x);
        pt[1] = (char)coord_char(y);
    }
    sb_puts(sb, "[");
    sb_puts(sb, pt);
    sb_puts(sb, "]");
}

/* Property ids the writer regenerates from typed fields rather than copying. */
static int is_typed_prop(const char *id) {
    static const char *const typed[] = {"FF", "GM", "CA", "SZ", "KM", "HA", "RU",
                                        "RE", "AB", "AW", "AE", "B",  "W",  "C"};
    for (size_t i = 0; i < TG_ARRAY_LEN(typed); i++)
        if (!strcmp(id, typed[i])) return 1;
    return 0;
}

int tg_sgf_write(const tg_sgf_t *sgf, char **out, size_t *len, tg_err_t *err) {
    strbuf_t sb = {0};
    int item = 0;
    sb_printf(&sb, "(;FF[4]GM[1]CA[UTF-8]SZ[%d]", sgf->size);
    if (sgf->has_komi) sb_printf(&sb, "KM[%.10g]", sgf->komi);
    if (sgf->handicap) sb_printf(&sb, "HA[%d]", sgf->handicap);
    if (sgf->rules) sb_prop(&sb, "RU", sgf->rules);
    if (sgf->result) sb_prop(&sb, "RE", sgf->result);
    for (int node = 0; node < sgf->num_nodes; node++) {
        if (node > 0) sb_puts(&sb, "\n;");
        for (int i = 0; i < sgf->num_props; i++) {
            const tg_sgf_prop_t *p = &sgf->props[i];
            if (p->node == node && !is_typed_prop(p->id)) sb_prop(&sb, p->id, p->value);
        }
        /* Setup of this node, grouped by property, then its move. */
        int end = item;
        while (end < sgf->num_items && sgf->items[end].node == node)
            end++;
        static const char *const setup_ids[3] = {"AE", "AB", "AW"};
        const int order[3] = {TG_SGF_BLACK, TG_SGF_WHITE, TG_SGF_EMPTY};
        for (int k = 0; k < 3; k++) {
            int first = 1;
            for (int i = item; i < end; i++) {
                const tg_sgf_item_t *it = &sgf->items[i];
                if (it->kind != TG_SGF_ITEM_SETUP || it->color != order[k]) continue;
                if (first) sb_puts(&sb, setup_ids[order[k]]);
                first = 0;
                sb_point(&sb, it->x, it->y);
            }
        }
        for (int i = item; i < end; i++) {
            const tg_sgf_item_t *it = &sgf->items[i];
            if (it->kind != TG_SGF_ITEM_MOVE) continue;
            sb_puts(&sb, it->color == TG_SGF_BLACK ? "B" : "W");
            sb_point(&sb, it->x, it->y);
        }
        item = end;
        if (sgf->comments[node]) sb_prop(&sb, "C", sgf->comments[node]);
    }
    sb_puts(&sb, ")\n");
    if (sb.oom) {
        free(sb.s);
        return tg_err_set(err, TG_ENOMEM, "sgf: out of memory while writing");
    }
    *out = sb.s;
    if (len) *len = (size_t)sb.len;
    return 0;
}
