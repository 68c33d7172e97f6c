/* json.h: a small, strict JSON reader (RFC 8259) building a read-only tree.
 *
 * Why: fixtures (KataGo golden outputs), rules in JSON form and tool configs are JSON; tengen
 * needs to read them without a dependency. Not for hot paths: every node is one malloc.
 *
 * Example:
 *     tg_json_t *root; tg_err_t err;
 *     if (tg_json_parse(text, len, &root, &err) < 0) { puts(err.msg); return; }
 *     const tg_json_t *p = tg_json_at(tg_json_get(root, "positions"), 0);
 *     printf("%s\n", tg_json_string(tg_json_get(p, "id")));
 *     tg_json_free(root);
 *
 * Numbers are doubles (strtod). Strings are unescaped to UTF-8 and NUL-terminated (embedded
 * \u0000 is refused). Duplicate object keys are kept; tg_json_get returns the first. Nesting
 * deeper than 512 levels is refused. Thread-safety: a parsed tree is immutable. */
#ifndef TENGEN_UTIL_JSON_H
#define TENGEN_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum {
    TG_JSON_NULL = 0,
    TG_JSON_BOOL,
    TG_JSON_NUMBER,
    TG_JSON_STRING,
    TG_JSON_ARRAY,
    TG_JSON_OBJECT,
} tg_json_type_t;

typedef struct tg_json_s tg_json_t;
struct tg_json_s {
    tg_json_type_t type;
    bool boolean;
    double number;
    char *string;     /* TG_JSON_STRING: NUL-terminated UTF-8 */
    char *key;        /* member of an object: its key, else NULL */
    size_t count;     /* arrays/objects: number of children */
    tg_json_t *child; /* arrays/objects: first child */
    tg_json_t *next;  /* next sibling */
};

/* Parses len bytes of text. On success *out owns the tree (free with tg_json_free). On error
 * returns TG_EFORMAT with "json: line L col C: what is wrong" (or TG_ENOMEM). */
int tg_json_parse(const char *text, size_t len, tg_json_t **out, tg_err_t *err);

void tg_json_free(tg_json_t *root);

/* Object member by key (first match), or NULL if v is not an object or has no such key. */
const tg_json_t *tg_json_get(const tg_json_t *v, const char *key);

/* Array (or object) element i, or NULL. O(i). */
const tg_json_t *tg_json_at(const tg_json_t *v, size_t i);

/* Accessors with fallbacks for a missing or mistyped value. */
double tg_json_number(const tg_json_t *v, double fallback);
const char *tg_json_string(const tg_json_t *v); /* NULL unless a string */
bool tg_json_bool(const tg_json_t *v, bool fallback);
size_t tg_json_count(const tg_json_t *v); /* 0 unless array/object */

#endif
