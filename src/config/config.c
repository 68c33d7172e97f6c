/* config.c: parsing, checking and printing of the config schema (see config.h).
 *
 * inih calls our handler once per key; it does not pass line numbers in Debian's build, so the
 * file is fed through a reader that counts lines, and the handler reads that count. */
#include "config/config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct key_row_s {
    tg_config_key_info_t info;
    size_t offset; /* of the field in tg_config_t */
} key_row_t;

#define TG_CFG_ENUM_CHOICES_INT    NULL
#define TG_CFG_ENUM_CHOICES_FLOAT  NULL
#define TG_CFG_ENUM_CHOICES_BOOL   NULL
#define TG_CFG_ENUM_CHOICES_STRING NULL
#define TG_CFG_ENUM_CHOICES_ENUM   ""

static const key_row_t key_rows[TG_CONFIG_NUM_KEYS] = {
#define X(section, key, type, def, lo, hi, doc)                                                    \
    {{#section, #key, def, doc, TG_CFG_##type, (double)(lo), (double)(hi),                         \
      TG_CFG_ENUM_CHOICES_##type},                                                                 \
     offsetof(tg_config_t, section##_##key)},
    TG_CONFIG_SCHEMA(X)
#undef X
};

const tg_config_key_info_t *tg_config_key_info(int index) {
    if (index < 0 || index >= TG_CONFIG_NUM_KEYS) return NULL;
    return &key_rows[index].info;
}

/* For ENUM rows the doc starts with "[a|b|c]": is value one of them? Writes the list to buf. */
static bool enum_allows(const char *doc, const char *value, char *choices, size_t cap) {
    const char *open = strchr(doc, '['), *close = open ? strchr(open, ']') : NULL;
    if (!open || !close) return false;
    size_t n = (size_t)(close - open - 1);
    if (n >= cap) n = cap - 1;
    memcpy(choices, open + 1, n);
    choices[n] = '\0';
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", choices);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
        if (strcmp(tok, value) == 0) return true;
    return false;
}

static int find_key(const char *section, const char *key) {
    for (int i = 0; i < TG_CONFIG_NUM_KEYS; i++)
        if (strcmp(key_rows[i].info.section, section) == 0 &&
            strcmp(key_rows[i].info.key, key) == 0)
            return i;
    return -1;
}

static bool section_exists(const char *section) {
    for (int i = 0; i < TG_CONFIG_NUM_KEYS; i++)
        if (strcmp(key_rows[i].info.section, section) == 0) return true;
    return false;
}

/* Parses value into the field of row i; on failure writes "what is wrong" to why. */
static int set_value(tg_config_t *cfg, int i, const char *value, char *why, size_t why_len) {
    const key_row_t *row = &key_rows[i];
    char *field = (char *)cfg + row->offset;
    char *end = NULL;
    switch (row->info.type) {
    case TG_CFG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE) {
            snprintf(why, why_len, "\"%s\" is not an integer", value);
            return TG_EFORMAT;
        }
        if ((double)v < row->info.lo || (double)v > row->info.hi) {
            snprintf(why, why_len, "%lld is out of range [%.0f, %.0f]", v, row->info.lo,
                     row->info.hi);
            return TG_ERANGE;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case TG_CFG_FLOAT: {
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v)) {
            snprintf(why, why_len, "\"%s\" is not a number", value);
            return TG_EFORMAT;
        }
        if (v < row->info.lo || v > row->info.hi) {
            snprintf(why, why_len, "%g is out of range [%g, %g]", v, row->info.lo, row->info.hi);
            return TG_ERANGE;
        }
        *(double *)field = v;
        return 0;
    }
    case TG_CFG_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1") ||
            !strcasecmp(value, "on")) {
            *(bool *)field = true;
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0") ||
                   !strcasecmp(value, "off")) {
            *(bool *)field = false;
        } else {
            snprintf(why, why_len, "\"%s\" is not a boolean (true/false)", value);
            return TG_EFORMAT;
        }
        return 0;
    case TG_CFG_STRING:
        if (strlen(value) >= TG_CONFIG_STR_LEN) {
            snprintf(why, why_len, "value longer than %d characters", TG_CONFIG_STR_LEN - 1);
            return TG_ERANGE;
        }
        snprintf(field, TG_CONFIG_STR_LEN, "%s", value);
        return 0;
    case TG_CFG_ENUM: {
        char choices[256];
        if (!enum_allows(row->info.doc, value, choices, sizeof(choices))) {
            snprintf(why, why_len, "\"%s\" is not one of %s", value, choices);
            return TG_EFORMAT;
        }
        snprintf(field, TG_CONFIG_STR_LEN, "%s", value);
        return 0;
    }
    }
    snprintf(why, why_len, "unknown type");
    return TG_EINTERNAL;
}

void tg_config_init_defaults(tg_config_t *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    char why[256];
    for (int i = 0; i < TG_CONFIG_NUM_KEYS; i++) {
        int rc = set_value(cfg, i, key_rows[i].info.def, why, sizeof(why));
        TG_ASSERT(rc == 0); /* a default that fails its own checks is a schema bug */
    }
}

typedef struct load_ctx_s {
    tg_config_t *cfg;
    const char *path;
    FILE *fp;
    int line; /* lines read so far = the line being handled */
    int seen[TG_CONFIG_NUM_KEYS];
    tg_err_t *err;
    int rc;
    int rc_line; /* line of the first handler error */
} load_ctx_t;

static char *counting_reader(char *str, int num, void *stream) {
    load_ctx_t *ctx = stream;
    char *r = fgets(str, num, ctx->fp);
    if (r) ctx->line++;
    return r;
}

static int ini_handler_cb(void *user, const char *section, const char *name, const char *value) {
    load_ctx_t *ctx = user;
    if (ctx->rc) return 0;
    ctx->rc_line = ctx->line;
    char why[300];
    if (!section_exists(section)) {
        ctx->rc = tg_err_set(ctx->err, TG_EFORMAT, "%s:%d: [%s]: unknown section", ctx->path,
                             ctx->line, section);
        return 0;
    }
    int i = find_key(section, name);
    if (i < 0) {
        ctx->rc = tg_err_set(ctx->err, TG_EFORMAT, "%s:%d: %s.%s: unknown key", ctx->path,
                             ctx->line, section, name);
        return 0;
    }
    if (ctx->seen[i]) {
        ctx->rc = tg_err_set(ctx->err, TG_EFORMAT, "%s:%d: %s.%s: already set on line %d",
                             ctx->path, ctx->line, section, name, ctx->seen[i]);
        return 0;
    }
    int rc = set_value(ctx->cfg, i, value, why, sizeof(why));
    if (rc) {
        ctx->rc =
            tg_err_set(ctx->err, rc, "%s:%d: %s.%s: %s", ctx->path, ctx->line, section, name, why);
        return 0;
    }
    ctx->seen[i] = ctx->line;
    ctx->cfg->origin_line[i] = ctx->line;
    return 1;
}

int tg_config_load_file(tg_config_t *cfg, const char *path, tg_err_t *err) {
    load_ctx_t ctx = {.cfg = cfg, .path = path, .err = err};
    ctx.fp = fopen(path, "r");
    if (!ctx.fp) return tg_err_set(err, TG_EIO, "%s: cannot open: %s", path, strerror(errno));
    int bad_line = ini_parse_stream(counting_reader, &ctx, ini_handler_cb, &ctx);
    fclose(ctx.fp);
    /* inih keeps going after a syntax error; report whichever problem comes first. */
    if (ctx.rc && (bad_line <= 0 || ctx.rc_line <= bad_line)) return ctx.rc;
    if (bad_line > 0)
        return tg_err_set(err, TG_EFORMAT,
                          "%s:%d: syntax error (expected [section] or key = value)", path,
                          bad_line);
    if (bad_line < 0) return tg_err_set(err, TG_EIO, "%s: read error", path);
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    return 0;
}

int tg_config_set(tg_config_t *cfg, const char *assignment, tg_err_t *err) {
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq)
        return tg_err_set(err, TG_EFORMAT, "--set %s: expected section.key=value", assignment);
    char section[64], key[64];
    size_t sl = (size_t)(dot - assignment), kl = (size_t)(eq - dot - 1);
    if (sl == 0 || sl >= sizeof(section) || kl == 0 || kl >= sizeof(key))
        return tg_err_set(err, TG_EFORMAT, "--set %s: expected section.key=value", assignment);
    memcpy(section, assignment, sl);
    section[sl] = '\0';
    memcpy(key, dot + 1, kl);
    key[kl] = '\0';
    int i = find_key(section, key);
    if (i < 0) return tg_err_set(err, TG_EFORMAT, "--set: %s.%s: unknown key", section, key);
    char why[300];
    int rc = set_value(cfg, i, eq + 1, why, sizeof(why));
    if (rc) return tg_err_set(err, rc, "--set: %s.%s: %s", section, key, why);
    cfg->origin_line[i] = -1;
    return 0;
}

void tg_config_print(const tg_config_t *cfg, FILE *out) {
    fprintf(out, "# tengen effective config%s%s\n", cfg->path[0] ? " from " : " (defaults)",
            cfg->path);
    const char *section = "";
    for (int i = 0; i < TG_CONFIG_NUM_KEYS; i++) {
        const key_row_t *row = &key_rows[i];
        if (strcmp(section, row->info.section) != 0) {
            section = row->info.section;
            fprintf(out, "\n[%s]\n", section);
        }
        const char *field = (const char *)cfg + row->offset;
        char origin[64];
        if (cfg->origin_line[i] > 0)
            snprintf(origin, sizeof(origin), "line %d", cfg->origin_line[i]);
        else
            snprintf(origin, sizeof(origin), "%s", cfg->origin_line[i] < 0 ? "--set" : "default");
        fprintf(out, "# %s (%s; default %s)\n", row->info.doc, origin,
                row->info.def[0] ? row->info.def : "\"\"");
        switch (row->info.type) {
        case TG_CFG_INT:
            fprintf(out, "%s = %lld\n", row->info.key, (long long)*(const int64_t *)field);
            break;
        case TG_CFG_FLOAT:
            fprintf(out, "%s = %.15g\n", row->info.key, *(const double *)field);
            break;
        case TG_CFG_BOOL:
            fprintf(out, "%s = %s\n", row->info.key, *(const bool *)field ? "true" : "false");
            break;
        case TG_CFG_STRING:
        case TG_CFG_ENUM:
            fprintf(out, "%s = %s\n", row->info.key, field);
            break;
        }
    }
}
