/* config.h: tengen's one config file, read with inih into a typed schema.
 *
 * Every key lives in ONE table (config_schema.h): section, key, type, default, range and a
 * one-line doc. The same table generates the typed struct below, the parser's checks and
 * `tengen config --print`. Unknown sections/keys, malformed values and out-of-range numbers
 * are rejected as "FILE:LINE: section.key: what is wrong". Command-line overrides
 * (`--set section.key=value`) go through the same checks, reported as "--set: ...".
 *
 * Not thread-safe while loading; a loaded tg_config_t is read-only and may be shared. */
#ifndef TENGEN_CONFIG_CONFIG_H
#define TENGEN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

#define TG_CONFIG_STR_LEN 256

typedef enum {
    TG_CFG_INT,
    TG_CFG_FLOAT,
    TG_CFG_BOOL,
    TG_CFG_STRING,
    TG_CFG_ENUM, /* a string restricted to the '|'-separated choices in the table */
} tg_config_type_t;

/* C types per schema type. */
#define TG_CFG_CTYPE_INT    int64_t
#define TG_CFG_CTYPE_FLOAT  double
#define TG_CFG_CTYPE_BOOL   bool
#define TG_CFG_CTYPE_STRING char
#define TG_CFG_CTYPE_ENUM   char
#define TG_CFG_DIM_INT
#define TG_CFG_DIM_FLOAT
#define TG_CFG_DIM_BOOL
#define TG_CFG_DIM_STRING [TG_CONFIG_STR_LEN]
#define TG_CFG_DIM_ENUM   [TG_CONFIG_STR_LEN]

#include "config/config_schema.h"

/* The effective configuration: field <section>_<key> for every schema row. */
typedef struct tg_config_s {
#define X(section, key, type, def, lo, hi, doc)                                                    \
    TG_CFG_CTYPE_##type section##_##key TG_CFG_DIM_##type;
    TG_CONFIG_SCHEMA(X)
#undef X
    /* Where each value came from: 0 default, else the line in the file (-1: --set). */
    int origin_line[TG_CONFIG_NUM_KEYS];
    char path[TG_CONFIG_STR_LEN]; /* the file loaded, or "" */
} tg_config_t;

/* Fills cfg with every default. */
void tg_config_init_defaults(tg_config_t *cfg);

/* Reads path over the defaults already in cfg. Returns 0, or TG_EIO/TG_EFORMAT/TG_ERANGE with
 * err->msg = "path:line: section.key: what is wrong" (the first problem found). */
int tg_config_load_file(tg_config_t *cfg, const char *path, tg_err_t *err);

/* Applies one "section.key=value" override. */
int tg_config_set(tg_config_t *cfg, const char *assignment, tg_err_t *err);

/* Prints the effective config as a valid INI file, each key preceded by its doc line and
 * where its value came from. */
void tg_config_print(const tg_config_t *cfg, FILE *out);

/* Number of schema rows and their metadata, for docs and tests. */
typedef struct tg_config_key_info_s {
    const char *section, *key, *def, *doc;
    tg_config_type_t type;
    double lo, hi; /* inclusive range for INT and FLOAT; for ENUM, def's choices are in choices */
    const char *choices;
} tg_config_key_info_t;
const tg_config_key_info_t *tg_config_key_info(int index);

#endif
