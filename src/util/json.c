/* json.c: recursive-descent JSON reader (see json.h). Depth is bounded, so the recursion is
 * too; every error reports the line and column where parsing stopped. */
#include "util/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 512

typedef struct json_parser_s {
    const char *s;
    size_t len, pos;
    tg_err_t *err;
    int rc;
} json_parser_t;

static int json__fail(json_parser_t *p, const char *what) {
    int line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    p->rc = tg_err_set(p->err, TG_EFORMAT, "json: line %d col %d: %s", line, col, what);
    return p->rc;
}

static void json__ws(json_parser_t *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static tg_json_t *json__node(json_parser_t *p, tg_json_type_t type) {
    tg_json_t *v = calloc(1, sizeof(*v));
    if (!v)
        p->rc = tg_err_set(p->err, TG_ENOMEM, "json: out of memory");
    else
        v->type = type;
    return v;
}

static int json__hex4(json_parser_t *p, uint32_t *out) {
    if (p->pos + 4 > p->len) return json__fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return json__fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* Parses a string literal at p->pos (which is '"') into a new malloc'ed buffer. */
static char *json__string(json_parser_t *p) {
    p->pos++; /* opening quote */
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    if (!out) {
        p->rc = tg_err_set(p->err, TG_ENOMEM, "json: out of memory");
        return NULL;
    }
    for (;;) {
        if (p->pos >= p->len) {
            json__fail(p, "unterminated string");
            goto fail;
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        char tmp[4];
        int tn = 0;
        if (c == '"') break;
        if (c < 0x20) {
            json__fail(p, "control character in string");
            goto fail;
        }
        if (c != '\\') {
            tmp[tn++] = (char)c;
        } else {
            if (p->pos >= p->len) {
                json__fail(p, "unterminated escape");
                goto fail;
            }
            char e = p->s[p->pos++];
            switch (e) {
            case '"':
                tmp[tn++] = '"';
                break;
            case '\\':
                tmp[tn++] = '\\';
                break;
            case '/':
                tmp[tn++] = '/';
                break;
            case 'b':
                tmp[tn++] = '\b';
                break;
            case 'f':
                tmp[tn++] = '\f';
                break;
            case 'n':
                tmp[tn++] = '\n';
                break;
            case 'r':
                tmp[tn++] = '\r';
                break;
            case 't':
                tmp[tn++] = '\t';
                break;
            case 'u': {
                uint32_t cp;
                if (json__hex4(p, &cp) < 0) goto fail;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p->pos + 2 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                        json__fail(p, "unpaired surrogate");
                        goto fail;
                    }
                    p->pos += 2;
                    if (json__hex4(p, &lo) < 0) goto fail;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        json__fail(p, "bad low surrogate");
                        goto fail;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    json__fail(p, "unpaired surrogate");
                    goto fail;
                }
                if (cp == 0) {
                    json__fail(p, "\\u0000 in string");
                    goto fail;
                }
                if (cp < 0x80) {
                    tmp[tn++] = (char)cp;
                } else if (cp < 0x800) {
                    tmp[tn++] = (char)(0xC0 | (cp >> 6));
                    tmp[tn++] = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    tmp[tn++] = (char)(0xE0 | (cp >> 12));
                    tmp[tn++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    tmp[tn++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    tmp[tn++] = (char)(0xF0 | (cp >> 18));
                    tmp[tn++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    tmp[tn++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    tmp[tn++] = (char)(0x80 | (cp & 0x3F));
                }
                break;
            }
            default:
                json__fail(p, "bad escape");
                goto fail;
            }
        }
        if (n + (size_t)tn + 1 > cap) {
            cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                p->rc = tg_err_set(p->err, TG_ENOMEM, "json: out of memory");
                goto fail;
            }
            out = grown;
        }
        memcpy(out + n, tmp, (size_t)tn);
        n += (size_t)tn;
    }
    out[n] = '\0';
    return out;
fail:
    free(out);
    return NULL;
}

static tg_json_t *json__value(json_parser_t *p, int depth);

static tg_json_t *json__container(json_parser_t *p, int depth, bool is_object) {
    tg_json_t *v = json__node(p, is_object ? TG_JSON_OBJECT : TG_JSON_ARRAY);
    if (!v) return NULL;
    char close = is_object ? '}' : ']';
    p->pos++;
    json__ws(p);
    tg_json_t **tail = &v->child;
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        if (is_object) {
            json__ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                json__fail(p, "expected a string key");
                goto fail;
            }
            key = json__string(p);
            if (!key) goto fail;
            json__ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                json__fail(p, "expected ':'");
                goto fail;
            }
            p->pos++;
        }
        tg_json_t *c = json__value(p, depth + 1);
        if (!c) {
            free(key);
            goto fail;
        }
        c->key = key;
        *tail = c;
        tail = &c->next;
        v->count++;
        json__ws(p);
        if (p->pos >= p->len) {
            json__fail(p, is_object ? "unterminated object" : "unterminated array");
            goto fail;
        }
        char d = p->s[p->pos++];
        if (d == close) return v;
        if (d != ',') {
            p->pos--;
            json__fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
            goto fail;
        }
    }
fail:
    tg_json_free(v);
    return NULL;
}

static tg_json_t *json__value(json_parser_t *p, int depth) {
    if (depth > JSON_MAX_DEPTH) {
        json__fail(p, "nesting too deep");
        return NULL;
    }
    json__ws(p);
    if (p->pos >= p->len) {
        json__fail(p, "unexpected end of input");
        return NULL;
    }
    char c = p->s[p->pos];
    if (c == '{' || c == '[') return json__container(p, depth, c == '{');
    if (c == '"') {
        tg_json_t *v = json__node(p, TG_JSON_STRING);
        if (!v) return NULL;
        v->string = json__string(p);
        if (!v->string) {
            free(v);
            return NULL;
        }
        return v;
    }
    static const struct {
        const char *word;
        tg_json_type_t type;
        bool b;
    } words[] = {{"true", TG_JSON_BOOL, true},
                 {"false", TG_JSON_BOOL, false},
                 {"null", TG_JSON_NULL, false}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t wl = strlen(words[i].word);
        if (p->len - p->pos >= wl && memcmp(p->s + p->pos, words[i].word, wl) == 0) {
            p->pos += wl;
            tg_json_t *v = json__node(p, words[i].type);
            if (v) v->boolean = words[i].b;
            return v;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        /* Validate the RFC grammar, then convert with strtod on a bounded copy. */
        size_t start = p->pos, i = p->pos;
        if (i < p->len && p->s[i] == '-') i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') {
            p->pos = i;
            json__fail(p, "bad number");
            return NULL;
        }
        if (p->s[i] == '0')
            i++;
        else
            while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        if (i < p->len && p->s[i] == '.') {
            i++;
            if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') {
                p->pos = i;
                json__fail(p, "bad number fraction");
                return NULL;
            }
            while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        }
        if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
            i++;
            if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
            if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') {
                p->pos = i;
                json__fail(p, "bad number exponent");
                return NULL;
            }
            while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        }
        char tmp[64];
        size_t n = i - start;
        if (n >= sizeof(tmp)) {
            json__fail(p, "number too long");
            return NULL;
        }
        memcpy(tmp, p->s + start, n);
        tmp[n] = '\0';
        p->pos = i;
        tg_json_t *v = json__node(p, TG_JSON_NUMBER);
        if (v) v->number = strtod(tmp, NULL);
        return v;
    }
    json__fail(p, "unexpected character");
    return NULL;
}

int tg_json_parse(const char *text, size_t len, tg_json_t **out, tg_err_t *err) {
    json_parser_t p = {text, len, 0, err, 0};
    *out = NULL;
    tg_json_t *root = json__value(&p, 0);
    if (!root) return p.rc ? p.rc : TG_EFORMAT;
    json__ws(&p);
    if (p.pos != p.len) {
        tg_json_free(root);
        return json__fail(&p, "trailing characters after the value");
    }
    *out = root;
    return 0;
}

void tg_json_free(tg_json_t *v) {
    while (v) {
        tg_json_t *next = v->next;
        tg_json_free(v->child);
        free(v->string);
        free(v->key);
        free(v);
        v = next;
    }
}

const tg_json_t *tg_json_get(const tg_json_t *v, const char *key) {
    if (!v || v->type != TG_JSON_OBJECT) return NULL;
    for (const tg_json_t *c = v->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0) return c;
    return NULL;
}

const tg_json_t *tg_json_at(const tg_json_t *v, size_t i) {
    if (!v || (v->type != TG_JSON_ARRAY && v->type != TG_JSON_OBJECT)) return NULL;
    const tg_json_t *c = v->child;
    while (c && i > 0) {
        c = c->next;
        i--;
    }
    return c;
}

double tg_json_number(const tg_json_t *v, double fallback) {
    return v && v->type == TG_JSON_NUMBER ? v->number : fallback;
}

const char *tg_json_string(const tg_json_t *v) {
    return v && v->type == TG_JSON_STRING ? v->string : NULL;
}

bool tg_json_bool(const tg_json_t *v, bool fallback) {
    return v && v->type == TG_JSON_BOOL ? v->boolean : fallback;
}

size_t tg_json_count(const tg_json_t *v) {
    return v && (v->type == TG_JSON_ARRAY || v->type == TG_JSON_OBJECT) ? v->count : 0;
}
