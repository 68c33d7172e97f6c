/* plot.h: charts of a `tengen run` directory as self-contained SVG files (`tengen plot`).
 *
 * Why: a run's story is in metrics.jsonl (one JSON object per status interval) and elo.json
 * (the Elo ladder of exported nets, src/gate); users want to see strength and loss over the
 * run without installing anything. The SVG files need no script, font or network: any
 * browser shows them.
 *
 * ## Overview
 *
 *     tg_plot_result_t res;  tg_err_t err;
 *     if (tg_plot_run_dir("runs/quickstart", NULL, stderr, &res, &err)) puts(err.msg);
 *     -> runs/quickstart/plots/{strength.svg, loss.svg, throughput.svg, index.html}
 *
 * Two layers:
 *   - plot_svg.c: ONE chart helper. A figure is a title over panels stacked vertically; a
 *     panel has axes with "nice" ticks (linear or log y), series drawn as a polyline (one
 *     point per finite value, so N rows give N points) and/or markers with optional error
 *     bars, and a legend. Empty and one-point series get a sensible range and "no data".
 *   - plot.c: reads the run files and builds the three figures and index.html.
 *
 * Guarantees: every file is written atomically (tg_file_write_atomic), so a browser or a
 * second `tengen plot` never sees a torn file. A malformed metrics line is reported as
 * "<path>/metrics.jsonl:LINE: what" and skipped, never fatal. Not thread-safe on one output
 * directory; otherwise no shared state. Cost: O(rows + nets) time and memory. */
#ifndef TENGEN_PLOT_PLOT_H
#define TENGEN_PLOT_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* ---- Chart helper (plot_svg.c) ------------------------------------------------------------- */

typedef enum {
    TG_PLOT_MARK_NONE = 0, /* no marker at this point */
    TG_PLOT_MARK_DOT,      /* filled circle */
    TG_PLOT_MARK_RING,     /* open circle */
    TG_PLOT_MARK_CROSS,    /* x */
} tg_plot_mark_t;

/* One data series. Points with a non-finite x or y, or |x| or |y| >= 1e15 (garbage), or
 * y <= 1e-15 on a log axis, are left out. */
typedef struct tg_plot_series_s {
    const char *name;          /* legend text; NULL or "" = not in the legend */
    const char *color;         /* CSS color; NULL = the palette's next color */
    const double *x, *y;       /* (n) */
    const double *y_err;       /* (n) half-height of an error bar, or NULL; <= 0 = no bar */
    const char *const *labels; /* (n) tooltip per point (SVG <title>), or NULL */
    int n;
    bool line;           /* draw a polyline through the points, in order */
    bool dashed;         /* the polyline is dashed (targets, reference lines) */
    tg_plot_mark_t mark; /* marker at every point (NONE = polyline only) */
} tg_plot_series_t;

typedef struct tg_plot_panel_s {
    const char *title; /* above the panel, may be NULL */
    const char *x_label, *y_label;
    bool log_y;
    bool y_from_zero; /* linear y: include 0 in the range */
    const tg_plot_series_t *series;
    int n_series;
    const char *note; /* grey text inside the plot area (e.g. why it is empty), may be NULL */
} tg_plot_panel_t;

/* Renders a whole SVG document: title over n_panels panels, each 860x330 px, stacked. On
 * success *svg is a malloc'ed NUL-terminated string (caller frees) of *len bytes. Only
 * TG_ENOMEM can fail. */
int tg_plot_render_svg(const char *title, const tg_plot_panel_t *panels, int n_panels, char **svg,
                       size_t *len, tg_err_t *err);

/* Chooses a log y axis: true when the positive finite y values of the series span more than
 * a factor of `ratio` (max/min), e.g. loss terms of very different sizes. */
bool tg_plot_wants_log_y(const tg_plot_series_t *series, int n_series, double ratio);

/* ---- Run files (plot.c) ------------------------------------------------------------------- */

/* The metrics.jsonl fields the charts use, one array entry per accepted line. A field that
 * is missing or not a number is NAN (a gap in its chart); wall_s must be present. */
typedef enum {
    TG_PLOT_M_WALL_S = 0, /* run wall time, seconds (over all sessions) */
    TG_PLOT_M_SESSION,
    TG_PLOT_M_ROWS,
    TG_PLOT_M_ROWS_PER_S,
    TG_PLOT_M_SAMPLES, /* training samples so far */
    TG_PLOT_M_TRAIN_PER_ROW,
    TG_PLOT_M_TARGET_TRAIN_PER_ROW,
    TG_PLOT_M_LOSS,
    TG_PLOT_M_LOSS_POLICY,
    TG_PLOT_M_LOSS_VALUE,
    TG_PLOT_M_SHARE_TRAINER,
    TG_PLOT_M_SHARE_SELFPLAY,
    TG_PLOT_M_SHARE_GATE,
    TG_PLOT_M_CPU_CORES,
    TG_PLOT_M_COUNT
} tg_plot_metric_t;

typedef struct tg_plot_metrics_s {
    int n;                              /* accepted lines */
    double *col[TG_PLOT_M_COUNT];       /* (n) each */
    int skipped;                        /* malformed lines reported and skipped */
    char first_warning[TG_ERR_MSG_LEN]; /* the first of those reports, "" if none */
} tg_plot_metrics_t;

/* Reads metrics.jsonl at path. Blank lines are ignored; a malformed line (bad JSON, not an
 * object, no numeric wall_s, e.g. a line torn by a crash) is written to warn (may be NULL) as
 * "path:LINE: what", counted in m->skipped, and skipped. Errors: TG_ENOTFOUND (no file),
 * TG_EIO, TG_ERANGE (over 1 GiB), TG_ENOMEM; on error m is left empty. Free with
 * tg_plot_metrics_free. */
int tg_plot_metrics_load(const char *path, FILE *warn, tg_plot_metrics_t *m, tg_err_t *err);
void tg_plot_metrics_free(tg_plot_metrics_t *m);

typedef enum {
    TG_PLOT_GATE_NONE = 0, /* no gate record (ladder-only rating) */
    TG_PLOT_GATE_ACCEPTED,
    TG_PLOT_GATE_REJECTED,
} tg_plot_gate_t;

/* One rated net of elo.json. */
typedef struct tg_plot_net_s {
    char name[128];
    double elo;       /* random = 0 */
    double elo_sigma; /* one standard error: the binomial error of each match score along the
                         chain of opponents down to random, in Elo; 0 if unknown */
    double samples;   /* training samples, from the "-s<samples>-" part of the name; NAN if none */
    double points;
    int games;
    tg_plot_gate_t gate; /* from models/<name>/gate.json or rejectedmodels/<name>/gate.json */
} tg_plot_net_t;

typedef struct tg_plot_ladder_s {
    int n;
    char anchor[128];    /* elo.json's "anchor" ("random = 0" from `tengen run`; "" if absent) */
    tg_plot_net_t *nets; /* (n) sorted by samples (nets without samples last, in file order) */
} tg_plot_ladder_t;

/* Reads <run_dir>/elo.json and the gate records next to it. Errors: TG_ENOTFOUND (no
 * elo.json), TG_EFORMAT ("path: json: ..." or "path: no \"nets\" array"), TG_EIO, TG_ENOMEM.
 * Free with tg_plot_ladder_free. */
int tg_plot_ladder_load(const char *run_dir, tg_plot_ladder_t *ladder, tg_err_t *err);
void tg_plot_ladder_free(tg_plot_ladder_t *ladder);

typedef struct tg_plot_result_s {
    char out_dir[1024];
    int metrics_rows, metrics_skipped, nets;
    bool have_metrics, have_ladder;
} tg_plot_result_t;

/* Writes strength.svg, loss.svg, throughput.svg and index.html into out_dir (NULL =
 * <run_dir>/plots, created if needed). A missing elo.json or metrics.jsonl gives charts that
 * say so; both missing is TG_ENOTFOUND ("<run_dir>: no metrics.jsonl or elo.json: not a
 * tengen run directory"). Warnings (skipped metrics lines) go to warn (may be NULL). */
int tg_plot_run_dir(const char *run_dir, const char *out_dir, FILE *warn, tg_plot_result_t *res,
                    tg_err_t *err);

#endif
