/* rules.h: a Go ruleset as KataGo models it (ko, scoring, tax, suicide, button, white handicap
 * bonus, friendly pass, komi), with KataGo's parser and JSON writer.
 *
 * Why: self-play randomizes every dimension independently (algorithms.md 1.5), the net sees
 * them as inputs (formats.md 2.3), and GTP's kata-set-rules / kata-get-rules must accept and
 * print exactly what KataGo does. The struct is plain data, copied by value. */
#ifndef TENGEN_GAME_RULES_H
#define TENGEN_GAME_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum {
    TG_KO_SIMPLE = 0,
    TG_KO_POSITIONAL = 1,
    TG_KO_SITUATIONAL = 2,
    TG_KO_SPIGHT = 3,
} tg_ko_rule_t;

typedef enum { TG_SCORING_AREA = 0, TG_SCORING_TERRITORY = 1 } tg_scoring_t;

typedef enum { TG_TAX_NONE = 0, TG_TAX_SEKI = 1, TG_TAX_ALL = 2 } tg_tax_t;

/* White handicap bonus: White gets 0, N or N-1 points for N handicap stones. */
typedef enum { TG_WHB_0 = 0, TG_WHB_N = 1, TG_WHB_N_MINUS_1 = 2 } tg_whb_t;

/* Komi limits KataGo accepts from users (Rules::MIN_USER_KOMI / MAX_USER_KOMI). */
#define TG_RULES_MIN_USER_KOMI (-150.0f)
#define TG_RULES_MAX_USER_KOMI 150.0f

typedef struct tg_rules_s {
    tg_ko_rule_t ko;
    tg_scoring_t scoring;
    tg_tax_t tax;
    bool multi_stone_suicide_legal;
    bool has_button; /* area scoring only: first pass takes a 0.5-point button */
    tg_whb_t white_handicap_bonus;
    bool friendly_pass_ok;
    float komi; /* added to White's score; a multiple of 0.5 */
} tg_rules_t;

/* KataGo's Rules() default, Tromp-Taylor-like: POSITIONAL, AREA, NONE, suicide legal, 7.5. */
tg_rules_t tg_rules_default(void);

/* Parses a ruleset the way KataGo's Rules::parseRules does:
 *  - preset names, case-insensitive, trimmed: tromp-taylor (also tromp_taylor, "tromp taylor",
 *    tromptaylor), chinese, chinese-ogs / chinese-kgs (also _ or no separator), japanese,
 *    korean, aga, bga, french, aga-button, new-zealand / nz, stone-scoring / ancient-area,
 *    ancient-territory, goe / ing; komi comes from the preset;
 *  - JSON: {"ko":"SIMPLE","scoring":"AREA","tax":"NONE","suicide":false,"hasButton":false,
 *    "whiteHandicapBonus":"0","friendlyPassOk":false,"komi":7.5} (any subset, Tromp-Taylor
 *    defaults; values case-sensitive as in KataGo);
 *  - KataGo's short form, e.g. "koPOSITIONALscoreAREAtaxNONEsui1komi7.5" (also button, whb,
 *    fpok).
 * When the tax is not given it follows the scoring (TERRITORY -> SEKI, else NONE); when komi
 * is not given it is 7.5, 6.5 for territory scoring, 7.0 with a button.
 * Returns 0, or TG_EINVAL with "rules: could not parse rules: <text>" style messages. */
int tg_rules_parse(const char *text, tg_rules_t *out, tg_err_t *err);

/* KataGo's `kata-get-rules` answer (Rules::toJsonNoKomi().dump()): keys in sorted order,
 *   {"friendlyPassOk":false,"hasButton":false,"ko":"POSITIONAL","scoring":"AREA",
 *    "suicide":true,"tax":"NONE","whiteHandicapBonus":"0"}
 * Writes at most n bytes (NUL-terminated) and returns the length needed (snprintf-style). */
int tg_rules_to_json(const tg_rules_t *rules, char *buf, size_t n);

/* Same with "komi" included (Rules::toJson().dump()), e.g. ...,"komi":7.5,"scoring":... */
int tg_rules_to_json_with_komi(const tg_rules_t *rules, char *buf, size_t n);

/* KataGo's short form without komi, "koPOSITIONALscoreAREAtaxNONEsui1" (+ "button1",
 * "whbN", "fpok1" when set), as Rules::toStringNoKomi. Returns the length needed. */
int tg_rules_to_string(const tg_rules_t *rules, char *buf, size_t n);

/* Field names as KataGo writes them ("SIMPLE", "AREA", "SEKI", "N-1", ...). */
const char *tg_rules_ko_name(tg_ko_rule_t ko);
const char *tg_rules_scoring_name(tg_scoring_t s);
const char *tg_rules_tax_name(tg_tax_t t);
const char *tg_rules_whb_name(tg_whb_t w);

/* True if all fields, komi included, are equal. */
bool tg_rules_equal(const tg_rules_t *a, const tg_rules_t *b);

/* True if a game under these rules can end in a draw: integer komi XOR button
 * (Rules::gameResultWillBeInteger). */
bool tg_rules_result_is_integer(const tg_rules_t *rules);

#endif
