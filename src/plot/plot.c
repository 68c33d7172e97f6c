/* plot.c: `tengen plot`: reads a run directory (metrics.jsonl, elo.json, gate records) and
 * writes strength.svg, loss.svg, throughput.svg and index.html through plot_svg.c.
 *
 * What each chart shows (all from files `tengen run` writes, see src/runtime/runtime.h):
 *   - strength: Elo of each rated net (random = 0) vs its training samples (the "-s<N>-" part
 *     of KataGo-style names), error bars of one standard error (binomial error of each match
 *     score, in Elo, added in quadrature down the chain of opponents), gate verdicts marked.
 *   - loss: the trainer's loss EMAs (total, policy, value) vs training samples, log y when
 *     the terms differ by more than 10x (the total is ~40, the value term ~0.4).
 *   - throughput: rows/s, samples per row vs the target, CPU shares and cores vs wall time.
 * Outside input is never trusted: a bad metrics line is reported and skipped, a bad elo.json
 * is an error with its path, and a missing file gives a chart that says so. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plot/plot.h"
#include "util/fileio.h"
#include "util/json.h"

#define PLOT_PATH_MAX 1200
#define PLOT_FILE_MAX ((size_t)1 << 30)

static bool path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- metrics.jsonl ------------------------------------------------------------------------ */

static const char *const metric_keys[TG_PLOT_M_COUNT] = {
    [TG_PLOT_M_WALL_S] = "wall_s",
    [TG_PLOT_M_SESSION] = "session",
    [TG_PLOT_M_ROWS] = "rows",
    [TG_PLOT_M_ROWS_PER_S] = "rows_per_s",
    [TG_PLOT_M_SAMPLES] = "samples",
    [TG_PLOT_M_TRAIN_PER_ROW] = "train_per_row",
    [TG_PLOT_M_TARGET_TRAIN_PER_ROW] = "target_train_per_row",
    [TG_PLOT_M_LOSS] = "loss",
    [TG_PLOT_M_LOSS_POLICY] = "loss_policy",
    [TG_PLOT_M_LOSS_VALUE] = "loss_value",
    [TG_PLOT_M_SHARE_TRAINER] = "share_trainer",
    [TG_PLOT_M_SHARE_SELFPLAY] = "share_selfplay",
    [TG_PLOT_M_SHARE_GATE] = "share_gate",
    [TG_PLOT_M_CPU_CORES] = "cpu_cores",
};

void tg_plot_metrics_free(tg_plot_metrics_t *m) {
    for (int c = 0; c < TG_PLOT_M_COUNT; c++)
        free(m->col[c]);
    memset(m, 0, sizeof(*m));
}

static void metrics_warn(tg_plot_metrics_t *m, FILE *warn, const char *path, int line,
                         const char *what) {
    char msg[TG_ERR_MSG_LEN];
    snprintf(msg, sizeof(msg), "%.300s:%d: %.180s", path, line, what); /* fits TG_ERR_MSG_LEN */
    if (!m->skipped) snprintf(m->first_warning, sizeof(m->first_warning), "%s", msg);
    m->skipped++;
    if (warn) fprintf(warn, "%s (line skipped)\n", msg);
}

/* Grows every column to hold at least need entries. */
static int metrics_reserve(tg_plot_metrics_t *m, int *cap, int need, tg_err_t *err) {
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 256;
    for (int c = 0; c < TG_PLOT_M_COUNT; c++) {
        double *p = realloc(m->col[c], (size_t)ncap * sizeof(double));
        if (!p) return tg_err_set(err, TG_ENOMEM, "plot: out of memory for %d metrics rows", ncap);
        m->col[c] = p;
    }
    *cap = ncap;
    return 0;
}

int tg_plot_metrics_load(const char *path, FILE *warn, tg_plot_metrics_t *m, tg_err_t *err) {
    memset(m, 0, sizeof(*m));
    if (!path_exists(path)) return tg_err_set(err, TG_ENOTFOUND, "%s: no such file", path);
    char *text = NULL;
    size_t len = 0;
    int rc = tg_file_read_all(path, PLOT_FILE_MAX, &text, &len, err);
    if (rc) return rc;
    int cap = 0, line_no = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t next = end < len ? end + 1 : end;
        line_no++;
        size_t b = pos, e = end;
        while (b < e && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r'))
            b++;
        while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
            e--;
        pos = next;
        if (b == e) continue;
        tg_json_t *root = NULL;
        tg_err_t jerr;
        if (tg_json_parse(text + b, e - b, &root, &jerr)) {
            if (jerr.code == TG_ENOMEM) {
                rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
                break;
            }
            metrics_warn(m, warn, path, line_no, jerr.msg);
            continue;
        }
        const tg_json_t *wall = tg_json_get(root, "wall_s");
        if (root->type != TG_JSON_OBJECT)
            metrics_warn(m, warn, path, line_no, "not a JSON object");
        else if (!wall || wall->type != TG_JSON_NUMBER)
            metrics_warn(m, warn, path, line_no, "no number \"wall_s\"");
        else if ((rc = metrics_reserve(m, &cap, m->n + 1, err)) == 0) {
            for (int c = 0; c < TG_PLOT_M_COUNT; c++) {
                const tg_json_t *v = tg_json_get(root, metric_keys[c]);
                m->col[c][m->n] = v && v->type == TG_JSON_NUMBER ? v->number : NAN;
            }
            m->n++;
        }
        tg_json_free(root);
        if (rc) break;
    }
    free(text);
    if (rc) tg_plot_metrics_free(m);
    return rc;
}

/* ---- elo.json and gate records --------------------------------------------------------------- */

void tg_plot_ladder_free(tg_plot_ladder_t *ladder) {
    free(ladder->nets);
    ladder->nets = NULL;
    ladder->n = 0;
}

/* Training samples from a KataGo-style name "<kind>-s<samples>-d<rows>", else NAN. */
static double name_samples(const char *name) {
    for (const char *p = strstr(name, "-s"); p; p = strstr(p + 1, "-s")) {
        const char *q = p + 2;
        double v = 0;
        int digits = 0;
        while (*q >= '0' && *q <= '9')
            v = v * 10 + (*q++ - '0'), digits++;
        if (digits && (*q == '-' || *q == '\0')) return v;
    }
    return NAN;
}

/* One standard error of the Elo implied by points out of games (score clamped to
 * [0.5/N, 1 - 0.5/N] as the ladder does): 400/ln(10) / sqrt(N s (1 - s)). */
static double match_sigma_elo(double points, int games) {
    if (games <= 0) return 0;
    double s = points / games, lo = 0.5 / games;
    if (s < lo) s = lo;
    if (s > 1 - lo) s = 1 - lo;
    return 400.0 / log(10.0) / sqrt(games * s * (1 - s));
}

/* Gate verdict of net name from models/<name>/gate.json or rejectedmodels/<name>/gate.json. */
static tg_plot_gate_t gate_verdict(const char *run_dir, const char *name) {
    static const char *const dirs[] = {"models", "rejectedmodels"};
    for (size_t d = 0; d < TG_ARRAY_LEN(dirs); d++) {
        char path[PLOT_PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s/%s/gate.json", run_dir, dirs[d], name);
        char *text = NULL;
        size_t len = 0;
        tg_err_t e;
        if (!path_exists(path) || tg_file_read_all(path, 1 << 20, &text, &len, &e)) continue;
        tg_json_t *root = NULL;
        tg_plot_gate_t g = TG_PLOT_GATE_NONE;
        if (tg_json_parse(text, len, &root, &e) == 0) {
            const tg_json_t *acc = tg_json_get(root, "accepted");
            if (acc && acc->type == TG_JSON_BOOL)
                g = acc->boolean ? TG_PLOT_GATE_ACCEPTED : TG_PLOT_GATE_REJECTED;
            tg_json_free(root);
        }
        free(text);
        if (g != TG_PLOT_GATE_NONE) return g;
    }
    return TG_PLOT_GATE_NONE;
}

typedef struct net_order_s {
    double samples;
    int index;
} net_order_t;

static int net_order_cmp(const void *a, const void *b) {
    const net_order_t *x = a, *y = b;
    bool xn = isnan(x->samples), yn = isnan(y->samples);
    if (xn != yn) return xn ? 1 : -1;
    if (!xn && x->samples != y->samples) return x->samples < y->samples ? -1 : 1;
    return x->index - y->index;
}

int tg_plot_ladder_load(const char *run_dir, tg_plot_ladder_t *ladder, tg_err_t *err) {
    memset(ladder, 0, sizeof(*ladder));
    char path[PLOT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/elo.json", run_dir);
    if (!path_exists(path)) return tg_err_set(err, TG_ENOTFOUND, "%s: no such file", path);
    char *text = NULL;
    size_t len = 0;
    tg_json_t *root = NULL;
    tg_plot_net_t *nets = NULL;
    double *opp_sigma = NULL;
    char(*opp)[128] = NULL;
    net_order_t *order = NULL;
    int rc = tg_file_read_all(path, PLOT_FILE_MAX, &text, &len, err);
    if (rc) goto done;
    if ((rc = tg_json_parse(text, len, &root, err))) {
        tg_err_prefix(err, "%s", path);
        goto done;
    }
    const tg_json_t *arr = tg_json_get(root, "nets");
    if (!arr || arr->type != TG_JSON_ARRAY) {
        rc = tg_err_set(err, TG_EFORMAT, "%s: no \"nets\" array", path);
        goto done;
    }
    const char *anchor = tg_json_string(tg_json_get(root, "anchor"));
    snprintf(ladder->anchor, sizeof(ladder->anchor), "%s", anchor ? anchor : "");
    size_t count = tg_json_count(arr);
    nets = calloc(count ? count : 1, sizeof(*nets));
    opp = calloc(count ? count : 1, sizeof(*opp));
    opp_sigma = calloc(count ? count : 1, sizeof(*opp_sigma));
    order = calloc(count ? count : 1, sizeof(*order));
    if (!nets || !opp || !opp_sigma || !order) {
        rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int n = 0;
    size_t i = 0;
    for (const tg_json_t *x = arr->child; x; x = x->next, i++) {
        const char *name = tg_json_string(tg_json_get(x, "name"));
        const tg_json_t *elo = tg_json_get(x, "elo");
        if (!name || !elo || elo->type != TG_JSON_NUMBER) {
            rc = tg_err_set(err, TG_EFORMAT,
                            "%s: nets[%zu]: needs a string \"name\" and a number "
                            "\"elo\"",
                            path, i);
            goto done;
        }
        tg_plot_net_t *t = &nets[n];
        snprintf(t->name, sizeof(t->name), "%s", name);
        const char *o = tg_json_string(tg_json_get(x, "opponent"));
        snprintf(opp[n], sizeof(opp[n]), "%s", o ? o : "");
        t->elo = elo->number;
        t->points = tg_json_number(tg_json_get(x, "points"), NAN);
        double games = tg_json_number(tg_json_get(x, "games"), 0);
        t->games = games >= 0 && games <= 1e9 ? (int)games : 0; /* garbage: no error bar */
        t->samples = name_samples(name);
        t->gate = gate_verdict(run_dir, name);
        opp_sigma[n] = isfinite(t->points) ? match_sigma_elo(t->points, t->games) : 0;
        n++;
    }
    /* Sigma: this match's error plus its opponent's, down the chain (at most n links, so a
     * cyclic file cannot loop). */
    for (int k = 0; k < n; k++) {
        double var = opp_sigma[k] * opp_sigma[k];
        const char *o = opp[k];
        for (int hops = 0; hops < n && o[0] && strcmp(o, "random") != 0; hops++) {
            int j = -1;
            for (int q = 0; q < n && j < 0; q++)
                if (!strcmp(nets[q].name, o)) j = q;
            if (j < 0) break;
            var += opp_sigma[j] * opp_sigma[j];
            o = opp[j];
        }
        nets[k].elo_sigma = sqrt(var);
    }
    for (int k = 0; k < n; k++)
        order[k] = (net_order_t){nets[k].samples, k};
    qsort(order, (size_t)n, sizeof(*order), net_order_cmp);
    ladder->nets = calloc(n ? (size_t)n : 1, sizeof(*ladder->nets));
    if (!ladder->nets) {
        rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int k = 0; k < n; k++)
        ladder->nets[k] = nets[order[k].index];
    ladder->n = n;
done:
    tg_json_free(root);
    free(text);
    free(nets);
    free(opp);
    free(opp_sigma);
    free(order);
    return rc;
}

/* ---- Figures -------------------------------------------------------------------------------- */

static int write_text(const char *dir, const char *file, const char *data, size_t len,
                      tg_err_t *err) {
    char path[PLOT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return tg_file_write_atomic(path, data, len, err);
}

static int write_svg(const char *dir, const char *file, const char *title,
                     const tg_plot_panel_t *panels, int n_panels, tg_err_t *err) {
    char *svg = NULL;
    size_t len = 0;
    int rc = tg_plot_render_svg(title, panels, n_panels, &svg, &len, err);
    if (rc == 0) rc = write_text(dir, file, svg, len, err);
    free(svg);
    return rc;
}

/* strength.svg. x = training samples when every net's name carries them (random at 0), else
 * the rung index. */
static int plot_strength(const char *dir, const tg_plot_ladder_t *ld, bool have_ladder,
                         tg_err_t *err) {
    /* `tengen run` anchors its ladder at the random net (drawn at x = 0); a ladder anchored at
     * one of its own nets (elo.json "anchor": "<net> = 0") has no extra point. */
    const bool random_anchor = !ld->anchor[0] || strncmp(ld->anchor, "random", 6) == 0;
    const int r0 = random_anchor ? 1 : 0;
    int n = ld->n + r0;
    double *buf = calloc((size_t)n * 7, sizeof(double));
    char(*labels)[320] = calloc((size_t)n, sizeof(*labels));
    const char **label_ptr = calloc((size_t)n, sizeof(*label_ptr));
    if (!buf || !labels || !label_ptr) {
        free(buf);
        free(labels);
        free(label_ptr);
        return tg_err_set(err, TG_ENOMEM, "plot: out of memory");
    }
    double *x = buf, *y = buf + n, *ye = buf + 2 * n, *ya = buf + 3 * n, *yr = buf + 4 * n,
           *xa = buf + 5 * n, *xr = buf + 6 * n;
    bool by_samples = true;
    for (int i = 0; i < ld->n; i++)
        if (isnan(ld->nets[i].samples)) by_samples = false;
    int na = 0, nr = 0;
    if (random_anchor) {
        x[0] = 0;
        y[0] = 0;
        ye[0] = 0;
        snprintf(labels[0], sizeof(labels[0]), "random: Elo 0 (anchor)");
        label_ptr[0] = labels[0];
    }
    for (int i = 0; i < ld->n; i++) {
        const tg_plot_net_t *t = &ld->nets[i];
        const int k = i + r0;
        x[k] = by_samples ? t->samples : i + 1;
        y[k] = t->elo;
        ye[k] = t->elo_sigma;
        char score[64] = "";
        if (isfinite(t->points) && t->games > 0)
            snprintf(score, sizeof(score), " (%.1f/%d)", t->points, t->games);
        snprintf(labels[k], sizeof(labels[k]), "%s: Elo %.0f +- %.0f%s%s", t->name, t->elo,
                 t->elo_sigma, score,
                 t->gate == TG_PLOT_GATE_ACCEPTED   ? " gate: accepted"
                 : t->gate == TG_PLOT_GATE_REJECTED ? " gate: rejected"
                                                    : "");
        label_ptr[k] = labels[k];
        if (t->gate == TG_PLOT_GATE_ACCEPTED) xa[na] = x[k], ya[na++] = t->elo;
        if (t->gate == TG_PLOT_GATE_REJECTED) xr[nr] = x[k], yr[nr++] = t->elo;
    }
    tg_plot_series_t s[3] = {
        {.name = "Elo (bars: 1 sigma from match scores)",
         .color = "#1f77b4",
         .x = x,
         .y = y,
         .y_err = ye,
         .labels = label_ptr,
         .n = n,
         .line = true,
         .mark = TG_PLOT_MARK_DOT},
        {.name = "gate accepted",
         .color = "#2ca02c",
         .x = xa,
         .y = ya,
         .n = na,
         .mark = TG_PLOT_MARK_RING},
        {.name = "gate rejected",
         .color = "#d62728",
         .x = xr,
         .y = yr,
         .n = nr,
         .mark = TG_PLOT_MARK_CROSS},
    };
    char title[256];
    snprintf(title, sizeof(title), "Elo ladder: %d net%s rated (%s)", ld->n, ld->n == 1 ? "" : "s",
             random_anchor ? "random = 0" : ld->anchor);
    tg_plot_panel_t p = {
        .title = title,
        .x_label = by_samples ? "training samples (from the net's name)" : "ladder entry",
        .y_label = "Elo",
        .series = s,
        .n_series = 1 + (na > 0) + (nr > 0),
        .note = !have_ladder ? "no elo.json: set gate.enabled = true or gate.ladder_games > 0"
                : ld->n == 0 ? "elo.json rates no net yet"
                             : NULL,
    };
    if (!have_ladder) p.n_series = 0;
    if (na == 0 && nr > 0) { /* keep the rejected series when there is no accepted one */
        s[1] = s[2];
        p.n_series = 2;
    }
    int rc = write_svg(dir, "strength.svg", "tengen: strength", &p, 1, err);
    free(buf);
    free(labels);
    free(label_ptr);
    return rc;
}

/* A copy of column c with entries where mask_col <= 0 (or NAN) set to NAN; NULL on OOM. */
static double *column_masked(const tg_plot_metrics_t *m, int c, int mask_col) {
    double *v = malloc((size_t)(m->n ? m->n : 1) * sizeof(double));
    if (!v) return NULL;
    for (int i = 0; i < m->n; i++)
        v[i] = mask_col >= 0 && !(m->col[mask_col][i] > 0) ? NAN : m->col[c][i];
    return v;
}

static int plot_loss(const char *dir, const tg_plot_metrics_t *m, bool have, tg_err_t *err) {
    static const int cols[3] = {TG_PLOT_M_LOSS, TG_PLOT_M_LOSS_POLICY, TG_PLOT_M_LOSS_VALUE};
    static const char *const names[3] = {"total loss", "policy loss", "value loss"};
    double *y[3] = {0};
    tg_plot_series_t s[3];
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        /* loss is written as 0 before the first training step: no point then. */
        if (!(y[k] = column_masked(m, cols[k], TG_PLOT_M_LOSS))) {
            rc = tg_err_set(err, TG_ENOMEM, "plot: out of memory");
            goto done;
        }
        s[k] = (tg_plot_series_t){
            .name = names[k], .x = m->col[TG_PLOT_M_SAMPLES], .y = y[k], .n = m->n, .line = true};
    }
    tg_plot_panel_t p = {.title = "Training loss (trainer EMA) vs training samples",
                         .x_label = "training samples",
                         .y_label = "loss",
                         .series = s,
                         .n_series = have ? 3 : 0,
                         .log_y = have && tg_plot_wants_log_y(s, 3, 10.0),
                         .y_from_zero = true,
                         .note = have ? NULL : "no metrics.jsonl"};
    rc = write_svg(dir, "loss.svg", "tengen: loss", &p, 1, err);
done:
    for (int k = 0; k < 3; k++)
        free(y[k]);
    return rc;
}

static int plot_throughput(const char *dir, const tg_plot_metrics_t *m, bool have, tg_err_t *err) {
    double *minutes = malloc((size_t)(m->n ? m->n : 1) * sizeof(double));
    if (!minutes) return tg_err_set(err, TG_ENOMEM, "plot: out of memory");
    bool gate_used = false;
    for (int i = 0; i < m->n; i++) {
        minutes[i] = m->col[TG_PLOT_M_WALL_S][i] / 60.0;
        if (m->col[TG_PLOT_M_SHARE_GATE][i] > 0) gate_used = true;
    }
    const double *const *c = (const double *const *)m->col;
#define TP_SERIES(label, col) {.name = label, .x = minutes, .y = c[col], .n = m->n, .line = true}
    tg_plot_series_t rows[] = {TP_SERIES("selfplay rows/s", TG_PLOT_M_ROWS_PER_S)};
    tg_plot_series_t tpr[] = {TP_SERIES("train samples per row", TG_PLOT_M_TRAIN_PER_ROW),
                              TP_SERIES("target", TG_PLOT_M_TARGET_TRAIN_PER_ROW)};
    tpr[1].dashed = true;
    tpr[1].color = "#7f7f7f";
    tg_plot_series_t shares[] = {TP_SERIES("trainer", TG_PLOT_M_SHARE_TRAINER),
                                 TP_SERIES("selfplay", TG_PLOT_M_SHARE_SELFPLAY),
                                 TP_SERIES("gate", TG_PLOT_M_SHARE_GATE)};
    tg_plot_series_t cores[] = {TP_SERIES("process CPU cores", TG_PLOT_M_CPU_CORES)};
#undef TP_SERIES
    const char *note = have ? NULL : "no metrics.jsonl";
    int k = have ? 1 : 0;
    tg_plot_panel_t p[4] = {
        {.title = "Selfplay throughput",
         .x_label = "wall time (minutes, all sessions)",
         .y_label = "rows/s",
         .series = rows,
         .n_series = k,
         .y_from_zero = true,
         .note = note},
        {.title = "Training samples per selfplay row (cumulative) vs target",
         .x_label = "wall time (minutes, all sessions)",
         .y_label = "samples/row",
         .series = tpr,
         .n_series = 2 * k,
         .y_from_zero = true,
         .note = note},
        {.title = "Share of process CPU time per status interval",
         .x_label = "wall time (minutes, all sessions)",
         .y_label = "share",
         .series = shares,
         .n_series = (gate_used ? 3 : 2) * k,
         .y_from_zero = true,
         .note = note},
        {.title = "CPU cores in use (process CPU seconds per wall second)",
         .x_label = "wall time (minutes, all sessions)",
         .y_label = "cores",
         .series = cores,
         .n_series = k,
         .y_from_zero = true,
         .note = note},
    };
    int rc = write_svg(dir, "throughput.svg", "tengen: throughput and device shares", p, 4, err);
    free(minutes);
    return rc;
}

static void html_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

/* The last finite value of column c, or NAN. */
static double last_value(const tg_plot_metrics_t *m, int c) {
    for (int i = m->n - 1; i >= 0; i--)
        if (isfinite(m->col[c][i])) return m->col[c][i];
    return NAN;
}

static int write_index(const char *dir, const char *run_dir, const tg_plot_metrics_t *m,
                       const tg_plot_ladder_t *ld, tg_err_t *err) {
    char path[PLOT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    tg_atomic_file_t af;
    int rc = tg_atomic_file_open(&af, path, err);
    if (rc) return rc;
    FILE *f = af.fp;
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tengen run: ", f);
    html_escaped(f, run_dir);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}img{max-width:100%;"
          "border:1px solid #ccc;margin:0.5em 0}</style></head><body>\n<h1>tengen run: ",
          f);
    html_escaped(f, run_dir);
    fputs("</h1>\n<p>", f);
    if (m->n)
        fprintf(f,
                "%d status lines; at the last: %.1f minutes of wall time, %.0f selfplay rows, "
                "%.0f training samples, loss %.3f.",
                m->n, last_value(m, TG_PLOT_M_WALL_S) / 60.0, last_value(m, TG_PLOT_M_ROWS),
                last_value(m, TG_PLOT_M_SAMPLES), last_value(m, TG_PLOT_M_LOSS));
    else
        fputs("No metrics.", f);
    if (ld->n)
        fprintf(f, " %d rated net%s, the last (%s) at Elo %.0f.", ld->n, ld->n == 1 ? "" : "s",
                ld->nets[ld->n - 1].name, ld->nets[ld->n - 1].elo);
    fputs("</p>\n<ul><li><a href=\"strength.svg\">strength.svg</a>: Elo of each exported net"
          "</li>\n<li><a href=\"loss.svg\">loss.svg</a>: training loss</li>\n"
          "<li><a href=\"throughput.svg\">throughput.svg</a>: rows/s, samples per row, CPU "
          "shares</li></ul>\n",
          f);
    static const char *const files[] = {"strength.svg", "loss.svg", "throughput.svg"};
    for (size_t i = 0; i < TG_ARRAY_LEN(files); i++)
        fprintf(f, "<p><a href=\"%s\"><img src=\"%s\" alt=\"%s\"></a></p>\n", files[i], files[i],
                files[i]);
    fputs("</body></html>\n", f);
    return tg_atomic_file_commit(&af, err);
}

int tg_plot_run_dir(const char *run_dir, const char *out_dir, FILE *warn, tg_plot_result_t *res,
                    tg_err_t *err) {
    memset(res, 0, sizeof(*res));
    tg_plot_metrics_t m;
    tg_plot_ladder_t ld;
    memset(&m, 0, sizeof(m));
    memset(&ld, 0, sizeof(ld));
    char path[PLOT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/metrics.jsonl", run_dir);
    int rc = tg_plot_metrics_load(path, warn, &m, err);
    if (rc && rc != TG_ENOTFOUND) return rc;
    res->have_metrics = rc == 0;
    rc = tg_plot_ladder_load(run_dir, &ld, err);
    if (rc && rc != TG_ENOTFOUND) goto done;
    res->have_ladder = rc == 0;
    rc = 0;
    if (!res->have_metrics && !res->have_ladder) {
        rc = tg_err_set(err, TG_ENOTFOUND,
                        "%s: no metrics.jsonl or elo.json: not a tengen run directory", run_dir);
        goto done;
    }
    if (out_dir)
        snprintf(res->out_dir, sizeof(res->out_dir), "%s", out_dir);
    else
        snprintf(res->out_dir, sizeof(res->out_dir), "%s/plots", run_dir);
    res->metrics_rows = m.n;
    res->metrics_skipped = m.skipped;
    res->nets = ld.n;
    if ((rc = tg_mkdir_p(res->out_dir, err)) ||
        (rc = plot_strength(res->out_dir, &ld, res->have_ladder, err)) ||
        (rc = plot_loss(res->out_dir, &m, res->have_metrics, err)) ||
        (rc = plot_throughput(res->out_dir, &m, res->have_metrics, err)) ||
        (rc = write_index(res->out_dir, run_dir, &m, &ld, err)))
        goto done;
done:
    tg_plot_metrics_free(&m);
    tg_plot_ladder_free(&ld);
    return rc;
}
