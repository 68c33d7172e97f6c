/* rules.c: KataGo ruleset presets, parsing (names, JSON, short form) and JSON output.
 *
 * Follows KataGo's Rules::parseRules (cpp/game/rules.cpp): preset names are matched
 * case-insensitively after trimming; JSON keys and values and the short form are matched
 * case-sensitively, as KataGo does. The JSON reader is a small flat-object parser: string,
 * boolean and number values only, which is all a ruleset holds. */
#include "game/rules.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tg_rules_t tg_rules_default(void) {
    tg_rules_t r = {TG_KO_POSITIONAL, TG_SCORING_AREA, TG_TAX_NONE, true, false,
                    TG_WHB_0,         false,           7.5f};
    return r;
}

const char *tg_rules_ko_name(tg_ko_rule_t ko) {
    switch (ko) {
    case TG_KO_SIMPLE:
        return "SIMPLE";
    case TG_KO_POSITIONAL:
        return "POSITIONAL";
    case TG_KO_SITUATIONAL:
        return "SITUATIONAL";
    case TG_KO_SPIGHT:
        return "SPIGHT";
    }
    return "UNKNOWN";
}
const char *tg_rules_scoring_name(tg_scoring_t s) {
    return s == TG_SCORING_AREA ? "AREA" : s == TG_SCORING_TERRITORY ? "TERRITORY" : "UNKNOWN";
}
const char *tg_rules_tax_name(tg_tax_t t) {
    return t == TG_TAX_NONE   ? "NONE"
           : t == TG_TAX_SEKI ? "SEKI"
           : t == TG_TAX_ALL  ? "ALL"
                              : "UNKNOWN";
}
const char *tg_rules_whb_name(tg_whb_t w) {
    return w == TG_WHB_0 ? "0" : w == TG_WHB_N ? "N" : w == TG_WHB_N_MINUS_1 ? "N-1" : "UNKNOWN";
}

bool tg_rules_equal(const tg_rules_t *a, const tg_rules_t *b) {
    return a->ko == b->ko && a->scoring == b->scoring && a->tax == b->tax &&
           a->multi_stone_suicide_legal == b->multi_stone_suicide_legal &&
           a->has_button == b->has_button && a->white_handicap_bonus == b->white_handicap_bonus &&
           a->friendly_pass_ok == b->friendly_pass_ok && a->komi == b->komi;
}

bool tg_rules_result_is_integer(const tg_rules_t *rules) {
    bool komi_int = ((float)(int)rules->komi == rules->komi);
    return komi_int != rules->has_button;
}

static tg_rules_t make(tg_ko_rule_t ko, tg_scoring_t sc, tg_tax_t tax, bool sui, bool button,
                       tg_whb_t whb, bool fpok, float komi) {
    tg_rules_t r = {ko, sc, tax, sui, button, whb, fpok, komi};
    return r;
}

static bool name_is(const char *s, const char *const *names) {
    for (; *names; names++)
        if (strcmp(s, *names) == 0) return true;
    return false;
}

/* Matches a preset name (already lowercased and trimmed). */
static bool parse_preset(const char *s, tg_rules_t *r) {
    static const char *const japanese[] = {"japanese", "korean", NULL};
    static const char *const chinese[] = {"chinese", NULL};
    static const char *const chinese_ogs[] = {"chineseogs", "chinese_ogs", "chinese-ogs",
                                              "chinesekgs", "chinese_kgs", "chinese-kgs",
                                              NULL};
    static const char *const stone[] = {"ancientarea",   "ancient-area",  "ancient_area",
                                        "ancient area",  "stonescoring",  "stone-scoring",
                                        "stone_scoring", "stone scoring", NULL};
    static const char *const ancient_terr[] = {"ancientterritory", "ancient-territory",
                                               "ancient_territory", "ancient territory", NULL};
    static const char *const aga_button[] = {"agabutton", "aga-button", "aga_button", "aga button",
                                             NULL};
    static const char *const aga[] = {"aga", "bga", "french", NULL};
    static const char *const nz[] = {"nz",          "newzealand",  "new zealand",
                                     "new-zealand", "new_zealand", NULL};
    static const char *const tt[] = {"tromp-taylor", "tromp_taylor", "tromp taylor", "tromptaylor",
                                     NULL};
    static const char *const goe[] = {"goe", "ing", NULL};
    if (name_is(s, japanese))
        *r = make(TG_KO_SIMPLE, TG_SCORING_TERRITORY, TG_TAX_SEKI, false, false, TG_WHB_0, false,
                  6.5f);
    else if (name_is(s, chinese))
        *r = make(TG_KO_SIMPLE, TG_SCORING_AREA, TG_TAX_NONE, false, false, TG_WHB_N, true, 7.5f);
    else if (name_is(s, chinese_ogs))
        *r = make(TG_KO_POSITIONAL, TG_SCORING_AREA, TG_TAX_NONE, false, false, TG_WHB_N, true,
                  7.5f);
    else if (name_is(s, stone))
        *r = make(TG_KO_SIMPLE, TG_SCORING_AREA, TG_TAX_ALL, false, false, TG_WHB_0, true, 7.5f);
    else if (name_is(s, ancient_terr))
        *r = make(TG_KO_SIMPLE, TG_SCORING_TERRITORY, TG_TAX_ALL, false, false, TG_WHB_0, false,
                  6.5f);
    else if (name_is(s, aga_button))
        *r = make(TG_KO_SITUATIONAL, TG_SCORING_AREA, TG_TAX_NONE, false, true, TG_WHB_N_MINUS_1,
                  true, 7.0f);
    else if (name_is(s, aga))
        *r = make(TG_KO_SITUATIONAL, TG_SCORING_AREA, TG_TAX_NONE, false, false, TG_WHB_N_MINUS_1,
                  true, 7.5f);
    else if (name_is(s, nz))
        *r = make(TG_KO_SITUATIONAL, TG_SCORING_AREA, TG_TAX_NONE, true, false, TG_WHB_0, true,
                  7.5f);
    else if (name_is(s, tt))
        *r = make(TG_KO_POSITIONAL, TG_SCORING_AREA, TG_TAX_NONE, true, false, TG_WHB_0, false,
                  7.5f);
    else if (name_is(s, goe))
        *r =
            make(TG_KO_POSITIONAL, TG_SCORING_AREA, TG_TAX_NONE, true, false, TG_WHB_0, true, 7.5f);
    else
        return false;
    return true;
}

static int parse_ko(const char *v, tg_ko_rule_t *out) {
    if (!strcmp(v, "SIMPLE"))
        *out = TG_KO_SIMPLE;
    else if (!strcmp(v, "POSITIONAL"))
        *out = TG_KO_POSITIONAL;
    else if (!strcmp(v, "SITUATIONAL"))
        *out = TG_KO_SITUATIONAL;
    else if (!strcmp(v, "SPIGHT"))
        *out = TG_KO_SPIGHT;
    else
        return -1;
    return 0;
}
static int parse_scoring(const char *v, tg_scoring_t *out) {
    if (!strcmp(v, "AREA"))
        *out = TG_SCORING_AREA;
    else if (!strcmp(v, "TERRITORY"))
        *out = TG_SCORING_TERRITORY;
    else
        return -1;
    return 0;
}
static int parse_tax(const char *v, tg_tax_t *out) {
    if (!strcmp(v, "NONE"))
        *out = TG_TAX_NONE;
    else if (!strcmp(v, "SEKI"))
        *out = TG_TAX_SEKI;
    else if (!strcmp(v, "ALL"))
        *out = TG_TAX_ALL;
    else
        return -1;
    return 0;
}
static int parse_whb(const char *v, tg_whb_t *out) {
    if (!strcmp(v, "0"))
        *out = TG_WHB_0;
    else if (!strcmp(v, "N"))
        *out = TG_WHB_N;
    else if (!strcmp(v, "N-1"))
        *out = TG_WHB_N_MINUS_1;
    else
        return -1;
    return 0;
}

static void apply_defaults(tg_rules_t *r, bool tax_given, bool komi_given) {
    if (!tax_given) r->tax = (r->scoring == TG_SCORING_TERRITORY) ? TG_TAX_SEKI : TG_TAX_NONE;
    if (!komi_given) {
        if (r->scoring == TG_SCORING_TERRITORY)
            r->komi = 6.5f;
        else if (r->has_button)
            r->komi = 7.0f;
    }
}

static const char *skip_ws(const char *p) {
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Reads a JSON string starting at p (at the opening quote) into out (size n). Returns the
 * position after the closing quote, or NULL. Escapes other than \" and \\ are rejected. */
static const char *json_string(const char *p, char *out, size_t n) {
    if (*p != '"') return NULL;
    p++;
    size_t k = 0;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (*p != '"' && *p != '\\' && *p != '/') return NULL;
            c = *p++;
        }
        if (k + 1 >= n) return NULL;
        out[k++] = c;
    }
    if (*p != '"') return NULL;
    out[k] = '\0';
    return p + 1;
}

static int parse_json(const char *text, tg_rules_t *r, tg_err_t *err) {
    bool tax_given = false, komi_given = false;
    *r = tg_rules_default();
    const char *p = skip_ws(text);
    if (*p != '{') goto bad;
    p = skip_ws(p + 1);
    if (*p == '}') {
        p++;
    } else {
        for (;;) {
            char key[64], sval[64];
            p = json_string(p, key, sizeof key);
            if (!p) goto bad;
            p = skip_ws(p);
            if (*p != ':') goto bad;
            p = skip_ws(p + 1);
            /* value: string, bool, or number */
            int vtype; /* 0 string, 1 bool, 2 number */
            bool bval = false;
            double dval = 0;
            if (*p == '"') {
                p = json_string(p, sval, sizeof sval);
                if (!p) goto bad;
                vtype = 0;
            } else if (!strncmp(p, "true", 4)) {
                bval = true, vtype = 1, p += 4;
            } else if (!strncmp(p, "false", 5)) {
                bval = false, vtype = 1, p += 5;
            } else {
                char *end;
                dval = strtod(p, &end);
                if (end == p) goto bad;
                p = end;
                vtype = 2;
            }
            int rc = 0;
            if (!strcmp(key, "ko"))
                rc = vtype == 0 ? parse_ko(sval, &r->ko) : -1;
            else if (!strcmp(key, "score") || !strcmp(key, "scoring"))
                rc = vtype == 0 ? parse_scoring(sval, &r->scoring) : -1;
            else if (!strcmp(key, "tax")) {
                rc = vtype == 0 ? parse_tax(sval, &r->tax) : -1;
                tax_given = true;
            } else if (!strcmp(key, "suicide")) {
                rc = vtype == 1 ? 0 : -1;
                r->multi_stone_suicide_legal = bval;
            } else if (!strcmp(key, "hasButton")) {
                rc = vtype == 1 ? 0 : -1;
                r->has_button = bval;
            } else if (!strcmp(key, "whiteHandicapBonus"))
                rc = vtype == 0 ? parse_whb(sval, &r->white_handicap_bonus) : -1;
            else if (!strcmp(key, "friendlyPassOk")) {
                rc = vtype == 1 ? 0 : -1;
                r->friendly_pass_ok = bval;
            } else if (!strcmp(key, "komi")) {
                if (vtype != 2) goto bad;
                float k = (float)dval;
                if (!(k >= TG_RULES_MIN_USER_KOMI && k <= TG_RULES_MAX_USER_KOMI) ||
                    k * 2 != (float)(int)(k * 2))
                    return tg_err_set(
                        err, TG_EINVAL,
                        "rules: komi value is not a half-integer or is too extreme: %s", text);
                r->komi = k;
                komi_given = true;
            } else {
                return tg_err_set(err, TG_EINVAL, "rules: unknown rules option: %s", key);
            }
            if (rc != 0) goto bad;
            p = skip_ws(p);
            if (*p == ',') {
                p = skip_ws(p + 1);
                continue;
            }
            if (*p == '}') {
                p++;
                break;
            }
            goto bad;
        }
    }
    if (*skip_ws(p) != '\0') goto bad;
    apply_defaults(r, tax_given, komi_given);
    return 0;
bad:
    return tg_err_set(err, TG_EINVAL, "rules: could not parse rules: %s", text);
}

/* Short form: "koPOSITIONALscoreAREAtaxNONEsui1komi7.5" etc. */
static bool strip(const char **p, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(*p, prefix, n) != 0) return false;
    *p = skip_ws(*p + n);
    return true;
}

static int parse_short(const char *s, const char *orig, tg_rules_t *r, tg_err_t *err) {
    bool tax_given = false, komi_given = false;
    *r = tg_rules_default();
    const char *p = skip_ws(s);
    if (!*p) goto bad;
    while (*p) {
        if (strip(&p, "komi")) {
            char num[64];
            size_t k = 0;
            while (p[k] && !isalpha((unsigned char)p[k]) && !isspace((unsigned char)p[k]))
                k++;
            if (k == 0 || k >= sizeof num) goto bad;
            memcpy(num, p, k);
            num[k] = '\0';
            char *end;
            double v = strtod(num, &end);
            if (*end != '\0' || !isfinite(v) || v > 1e5 || v < -1e5) goto bad;
            r->komi = (float)v;
            komi_given = true;
            p = skip_ws(p + k);
        } else if (strip(&p, "ko")) {
            if (strip(&p, "SIMPLE"))
                r->ko = TG_KO_SIMPLE;
            else if (strip(&p, "POSITIONAL"))
                r->ko = TG_KO_POSITIONAL;
            else if (strip(&p, "SITUATIONAL"))
                r->ko = TG_KO_SITUATIONAL;
            else if (strip(&p, "SPIGHT"))
                r->ko = TG_KO_SPIGHT;
            else
                goto bad;
        } else if (strip(&p, "scoring") || strip(&p, "score")) {
            if (strip(&p, "AREA"))
                r->scoring = TG_SCORING_AREA;
            else if (strip(&p, "TERRITORY"))
                r->scoring = TG_SCORING_TERRITORY;
            else
                goto bad;
        } else if (strip(&p, "tax")) {
            if (strip(&p, "NONE"))
                r->tax = TG_TAX_NONE;
            else if (strip(&p, "SEKI"))
                r->tax = TG_TAX_SEKI;
            else if (strip(&p, "ALL"))
                r->tax = TG_TAX_ALL;
            else
                goto bad;
            tax_given = true;
        } else if (strip(&p, "sui")) {
            if (strip(&p, "1"))
                r->multi_stone_suicide_legal = true;
            else if (strip(&p, "0"))
                r->multi_stone_suicide_legal = false;
            else
                goto bad;
        } else if (strip(&p, "button")) {
            if (strip(&p, "1"))
                r->has_button = true;
            else if (strip(&p, "0"))
                r->has_button = false;
            else
                goto bad;
        } else if (strip(&p, "whb")) {
            if (strip(&p, "0"))
                r->white_handicap_bonus = TG_WHB_0;
            else if (strip(&p, "N-1"))
                r->white_handicap_bonus = TG_WHB_N_MINUS_1;
            else if (strip(&p, "N"))
                r->white_handicap_bonus = TG_WHB_N;
            else
                goto bad;
        } else if (strip(&p, "fpok")) {
            if (strip(&p, "1"))
                r->friendly_pass_ok = true;
            else if (strip(&p, "0"))
                r->friendly_pass_ok = false;
            else
                goto bad;
        } else {
            goto bad;
        }
    }
    apply_defaults(r, tax_given, komi_given);
    return 0;
bad:
    return tg_err_set(err, TG_EINVAL, "rules: could not parse rules: %s", orig);
}

int tg_rules_parse(const char *text, tg_rules_t *out, tg_err_t *err) {
    if (!text) return tg_err_set(err, TG_EINVAL, "rules: no rules given");
    char buf[512];
    const char *p = skip_ws(text);
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n >= sizeof buf) return tg_err_set(err, TG_EINVAL, "rules: rules text too long");
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)p[i]);
    buf[n] = '\0';
    tg_rules_t r;
    if (parse_preset(buf, &r)) {
        *out = r;
        return 0;
    }
    int rc;
    if (text[0] == '{')
        rc = parse_json(text, &r, err);
    else {
        memcpy(buf, p, n);
        buf[n] = '\0';
        rc = parse_short(buf, text, &r, err);
    }
    if (rc == 0) *out = r;
    return rc;
}

/* nlohmann::json prints floats with the shortest round-trip form and ".0" for integers. */
static void format_komi(float komi, char *out, size_t n) {
    if (komi == (float)(long)komi)
        snprintf(out, n, "%.1f", (double)komi);
    else
        snprintf(out, n, "%g", (double)komi);
}

static int to_json(const tg_rules_t *r, bool komi, char *buf, size_t n) {
    char k[32] = "";
    if (komi) {
        char num[24];
        format_komi(r->komi, num, sizeof num);
        snprintf(k, sizeof k, "\"komi\":%s,", num);
    }
    return snprintf(buf, n,
                    "{\"friendlyPassOk\":%s,\"hasButton\":%s,\"ko\":\"%s\",%s\"scoring\":\"%s\","
                    "\"suicide\":%s,\"tax\":\"%s\",\"whiteHandicapBonus\":\"%s\"}",
                    r->friendly_pass_ok ? "true" : "false", r->has_button ? "true" : "false",
                    tg_rules_ko_name(r->ko), k, tg_rules_scoring_name(r->scoring),
                    r->multi_stone_suicide_legal ? "true" : "false", tg_rules_tax_name(r->tax),
                    tg_rules_whb_name(r->white_handicap_bonus));
}

int tg_rules_to_json(const tg_rules_t *rules, char *buf, size_t n) {
    return to_json(rules, false, buf, n);
}

int tg_rules_to_json_with_komi(const tg_rules_t *rules, char *buf, size_t n) {
    return to_json(rules, true, buf, n);
}

int tg_rules_to_string(const tg_rules_t *r, char *buf, size_t n) {
    return snprintf(buf, n, "ko%sscore%stax%ssui%d%s%s%s%s", tg_rules_ko_name(r->ko),
                    tg_rules_scoring_name(r->scoring), tg_rules_tax_name(r->tax),
                    r->multi_stone_suicide_legal ? 1 : 0, r->has_button ? "button1" : "",
                    r->white_handicap_bonus != TG_WHB_0 ? "whb" : "",
                    r->white_handicap_bonus != TG_WHB_0 ? tg_rules_whb_name(r->white_handicap_bonus)
                                                        : "",
                    r->friendly_pass_ok ? "fpok1" : "");
}
