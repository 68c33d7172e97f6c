/* plot_svg.c: the one chart helper of `tengen plot`: panels with axes, ticks, polylines,
 * markers with error bars and a legend, rendered as a self-contained SVG document.
 *
 * Values are drawn when finite and within +-1e15 (log axes: above 1e-15); others are left out.
 *
 * Design: a figure is a title over panels stacked vertically, each PANEL_W x PANEL_H px. Each
 * panel's ranges come from its drawable points (error bars included): x spans the data exactly
 * (1 % pad), y the data plus 5 % (or from 0). Ticks are "nice" (1, 2, 5 x 10^k) multiples
 * inside the range; a log axis ticks at 1, 2, 5 x 10^k (only 10^k over more than 3 decades).
 * An empty panel gets the range [0, 1] and the note "no data"; a single value is widened.
 * The legend is one row in the panel's top margin, so it never hides data. Text is
 * XML-escaped; ids (clip paths) are unique per document. Nothing here reads or writes files. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot.h"

enum {
    PANEL_W = 860,
    PANEL_H = 330,
    TITLE_H = 34,
    MARGIN_L = 78,
    MARGIN_R = 24,
    MARGIN_T = 50,
    MARGIN_B = 48,
    MAX_TICKS = 64,
};

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

/* ---- Growable text buffer ------------------------------------------------------------------ */

typedef struct sbuf_s {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* Appends s with &, <, >, " escaped (SVG text and attribute values). */
static void sb_escaped(sbuf_t *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sb_printf(b, "&amp;");
            break;
        case '<':
            sb_printf(b, "&lt;");
            break;
        case '>':
            sb_printf(b, "&gt;");
            break;
        case '"':
            sb_printf(b, "&quot;");
            break;
        default:
            sb_printf(b, "%c", *s);
        }
    }
}

/* ---- Ranges and ticks ---------------------------------------------------------------------- */

typedef struct axis_s {
    double lo, hi; /* data space */
    bool log;
    int n_ticks;
    double ticks[MAX_TICKS];
    double step; /* linear tick step (label precision); 0 for 1-2-5 log ticks */
} axis_t;

/* Drawable: finite, within +-1e15 (beyond that a value is garbage, and ranges would overflow),
 * and above 1e-15 on a log axis. */
static bool point_ok(const tg_plot_series_t *s, int i, bool log_y) {
    double x = s->x[i], y = s->y[i];
    return fabs(x) < 1e15 && fabs(y) < 1e15 && (!log_y || y > 1e-15);
}

/* Has an error bar: y_err[i] in (0, 1e15). */
static bool err_ok(const tg_plot_series_t *s, int i) {
    return s->y_err && s->y_err[i] > 0 && s->y_err[i] < 1e15;
}

/* 1, 2 or 5 times a power of ten, the nearest to raw (on a log scale, roughly). */
static double nice_step(double raw) {
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1.0 : m < 3.0 ? 2.0 : m < 7.0 ? 5.0 : 10.0) * p;
}

static void axis_linear_ticks(axis_t *a) {
    double step = nice_step((a->hi - a->lo) / 6.0);
    a->step = step;
    a->n_ticks = 0;
    for (double k = ceil(a->lo / step - 1e-9); k * step <= a->hi + step * 1e-9; k++) {
        if (a->n_ticks == MAX_TICKS) break;
        double v = k * step;
        a->ticks[a->n_ticks++] = fabs(v) < step * 1e-9 ? 0.0 : v;
    }
}

static void axis_log_ticks(axis_t *a) {
    int e0 = (int)floor(log10(a->lo)), e1 = (int)ceil(log10(a->hi));
    static const double mult_125[] = {1, 2, 5};
    int n_mult = e1 - e0 > 3 ? 1 : 3, e_step = (e1 - e0 + 7) / 8; /* at most ~8 decade ticks */
    if (e_step < 1) e_step = 1;
    a->n_ticks = 0;
    a->step = 0;
    for (int e = e0; e <= e1; e += e_step)
        for (int m = 0; m < n_mult; m++) {
            double v = mult_125[m] * pow(10.0, e);
            if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9) && a->n_ticks < MAX_TICKS)
                a->ticks[a->n_ticks++] = v;
        }
    if (a->n_ticks < 2) axis_linear_ticks(a); /* less than a factor 2: linear ticks read better */
}

/* Fills a from [lo, hi] (lo > hi = no data) with pad_frac padding; log axes need lo > 0. */
static void axis_init(axis_t *a, double lo, double hi, bool log, double pad_frac, bool from_zero) {
    a->log = log;
    if (!(lo <= hi)) {
        lo = log ? 1.0 : 0.0;
        hi = log ? 10.0 : 1.0;
        pad_frac = 0;
    }
    if (log) {
        if (hi / lo < 1.01) {
            lo /= 1.5;
            hi *= 1.5;
        }
        double f = pow(hi / lo, pad_frac);
        a->lo = lo / f;
        a->hi = hi * f;
        axis_log_ticks(a);
        return;
    }
    if (from_zero && lo > 0) lo = 0;
    if (from_zero && hi < 0) hi = 0;
    if (hi - lo <= fabs(hi) * 1e-12) { /* one value: widen around it */
        double w = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= w;
        hi += w;
    }
    double pad = (hi - lo) * pad_frac;
    a->lo = (from_zero && lo == 0) ? 0 : lo - pad;
    a->hi = (from_zero && hi == 0) ? 0 : hi + pad;
    axis_linear_ticks(a);
}

/* Tick label: k from 10^4 on, M from 10^6, G from 10^9 (20k, 1.5M); decimals from the step. */
static void format_tick(char *out, size_t cap, double v, const axis_t *a) {
    double big = fmax(fabs(a->lo), fabs(a->hi));
    double scale = 1;
    const char *suffix = "";
    if (big >= 1e9) {
        scale = 1e9;
        suffix = "G";
    } else if (big >= 1e6) {
        scale = 1e6;
        suffix = "M";
    } else if (big >= 1e4) {
        scale = 1e3;
        suffix = "k";
    }
    if (v == 0) {
        snprintf(out, cap, "0");
    } else if (a->step > 0) {
        int dec = (int)ceil(-log10(a->step / scale) - 1e-9);
        if (dec < 0) dec = 0;
        if (dec > 6) dec = 6;
        snprintf(out, cap, "%.*f%s", dec, v / scale, suffix);
    } else
        snprintf(out, cap, "%g%s", v / scale, suffix);
}

/* ---- Drawing ------------------------------------------------------------------------------- */

typedef struct frame_s {
    double left, top, width, height; /* plot area in px */
    axis_t x, y;
} frame_t;

static double frame_px(const frame_t *f, double x) {
    return f->left + (x - f->x.lo) / (f->x.hi - f->x.lo) * f->width;
}

static double frame_py(const frame_t *f, double y) {
    double t = f->y.log ? (log10(y) - log10(f->y.lo)) / (log10(f->y.hi) - log10(f->y.lo))
                        : (y - f->y.lo) / (f->y.hi - f->y.lo);
    return f->top + f->height - t * f->height;
}

static void draw_marker(sbuf_t *b, tg_plot_mark_t mark, double px, double py, const char *color,
                        const char *label) {
    if (mark == TG_PLOT_MARK_NONE) return;
    if (mark == TG_PLOT_MARK_CROSS)
        sb_printf(b,
                  "<path d=\"M%.1f,%.1fl8,8m0,-8l-8,8\" stroke=\"%s\" stroke-width=\"2.2\" "
                  "fill=\"none\">",
                  px - 4, py - 4, color);
    else
        sb_printf(b,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" stroke=\"%s\" stroke-width=\"1.6\" "
                  "fill=\"%s\">",
                  px, py, color, mark == TG_PLOT_MARK_DOT ? color : "white");
    if (label) {
        sb_printf(b, "<title>");
        sb_escaped(b, label);
        sb_printf(b, "</title>");
    }
    sb_printf(b, mark == TG_PLOT_MARK_CROSS ? "</path>\n" : "</circle>\n");
}

static void draw_series(sbuf_t *b, const frame_t *f, const tg_plot_series_t *s, const char *color,
                        bool log_y) {
    if (s->y_err) /* error bars under the line and markers */
        for (int i = 0; i < s->n; i++) {
            if (!point_ok(s, i, log_y) || !err_ok(s, i)) continue;
            double lo = s->y[i] - s->y_err[i], hi = s->y[i] + s->y_err[i];
            if (log_y && lo <= f->y.lo) lo = f->y.lo;
            double px = frame_px(f, s->x[i]), y0 = frame_py(f, lo), y1 = frame_py(f, hi);
            sb_printf(b,
                      "<path d=\"M%.1f,%.1fV%.1fM%.1f,%.1fh8M%.1f,%.1fh8\" stroke=\"%s\" "
                      "stroke-width=\"1.2\" fill=\"none\"/>\n",
                      px, y0, y1, px - 4, y0, px - 4, y1, color);
        }
    if (s->line) {
        sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
                  color, s->dashed ? " stroke-dasharray=\"6,4\"" : "");
        int k = 0;
        for (int i = 0; i < s->n; i++)
            if (point_ok(s, i, log_y))
                sb_printf(b, "%s%.1f,%.1f", k++ ? " " : "", frame_px(f, s->x[i]),
                          frame_py(f, s->y[i]));
        sb_printf(b, "\"/>\n");
    }
    for (int i = 0; i < s->n && s->mark != TG_PLOT_MARK_NONE; i++)
        if (point_ok(s, i, log_y))
            draw_marker(b, s->mark, frame_px(f, s->x[i]), frame_py(f, s->y[i]), color,
                        s->labels ? s->labels[i] : NULL);
}

/* One panel with its top-left corner at (ox, oy); clip_id is unique in the document. */
static void draw_panel(sbuf_t *b, const tg_plot_panel_t *p, double ox, double oy, int clip_id) {
    frame_t f = {.left = ox + MARGIN_L,
                 .top = oy + MARGIN_T,
                 .width = PANEL_W - MARGIN_L - MARGIN_R,
                 .height = PANEL_H - MARGIN_T - MARGIN_B};
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    int drawable = 0;
    for (int s = 0; s < p->n_series; s++) {
        const tg_plot_series_t *ser = &p->series[s];
        for (int i = 0; i < ser->n; i++) {
            if (!point_ok(ser, i, p->log_y)) continue;
            drawable++;
            double e = err_ok(ser, i) ? ser->y_err[i] : 0;
            double lo = ser->y[i] - e;
            if (p->log_y && lo <= 0) lo = ser->y[i];
            x_lo = fmin(x_lo, ser->x[i]);
            x_hi = fmax(x_hi, ser->x[i]);
            y_lo = fmin(y_lo, lo);
            y_hi = fmax(y_hi, ser->y[i] + e);
        }
    }
    axis_init(&f.x, x_lo, x_hi, false, 0.01, false);
    axis_init(&f.y, y_lo, y_hi, p->log_y, 0.05, p->y_from_zero && !p->log_y);

    /* Frame, grid, ticks and labels. */
    if (p->title) {
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">", ox + 12,
                  oy + 20);
        sb_escaped(b, p->title);
        sb_printf(b, "</text>\n");
    }
    sb_printf(b,
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
              "stroke=\"#444\"/>\n",
              f.left, f.top, f.width, f.height);
    char lab[64];
    for (int i = 0; i < f.x.n_ticks; i++) {
        double px = frame_px(&f, f.x.ticks[i]);
        format_tick(lab, sizeof(lab), f.x.ticks[i], &f.x);
        sb_printf(b,
                  "<path d=\"M%.1f,%.1fV%.1f\" stroke=\"#ddd\"/><path d=\"M%.1f,%.1fv5\" "
                  "stroke=\"#444\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                  px, f.top, f.top + f.height, px, f.top + f.height, px, f.top + f.height + 18,
                  lab);
    }
    for (int i = 0; i < f.y.n_ticks; i++) {
        double py = frame_py(&f, f.y.ticks[i]);
        format_tick(lab, sizeof(lab), f.y.ticks[i], &f.y);
        sb_printf(b,
                  "<path d=\"M%.1f,%.1fH%.1f\" stroke=\"#ddd\"/><path d=\"M%.1f,%.1fh-5\" "
                  "stroke=\"#444\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                  f.left, py, f.left + f.width, f.left, py, f.left - 8, py + 4, lab);
    }
    if (p->x_label) {
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", f.left + f.width / 2,
                  f.top + f.height + 38);
        sb_escaped(b, p->x_label);
        sb_printf(b, "</text>\n");
    }
    if (p->y_label) {
        double cx = ox + 16, cy = f.top + f.height / 2;
        sb_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                  "transform=\"rotate(-90 %.1f %.1f)\">",
                  cx, cy, cx, cy);
        sb_escaped(b, p->y_label);
        sb_printf(b, "%s</text>\n", p->log_y ? " (log scale)" : "");
    }

    /* Data, clipped to the plot area (markers at the edge stay whole: 6 px slack). */
    sb_printf(b,
              "<clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
              "height=\"%.1f\"/></clipPath>\n<g clip-path=\"url(#clip%d)\">\n",
              clip_id, f.left - 6, f.top - 6, f.width + 12, f.height + 12, clip_id);
    int color_next = 0;
    const char *colors[64];
    for (int s = 0; s < p->n_series && s < 64; s++) {
        const tg_plot_series_t *ser = &p->series[s];
        colors[s] = ser->color ? ser->color : palette[color_next++ % TG_ARRAY_LEN(palette)];
        draw_series(b, &f, ser, colors[s], p->log_y);
    }
    sb_printf(b, "</g>\n");
    const char *note = p->note ? p->note : drawable ? NULL : "no data";
    if (note) {
        sb_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888\" "
                  "font-size=\"14\">",
                  f.left + f.width / 2, f.top + f.height / 2);
        sb_escaped(b, note);
        sb_printf(b, "</text>\n");
    }

    /* Legend: one row in the top margin. */
    double lx = f.left, ly = oy + 40;
    for (int s = 0; s < p->n_series && s < 64; s++) {
        const tg_plot_series_t *ser = &p->series[s];
        if (!ser->name || !ser->name[0]) continue;
        if (ser->line)
            sb_printf(b, "<path d=\"M%.1f,%.1fh22\" stroke=\"%s\" stroke-width=\"2\"%s/>", lx,
                      ly - 4, colors[s], ser->dashed ? " stroke-dasharray=\"6,4\"" : "");
        draw_marker(b, ser->mark, lx + 11, ly - 4, colors[s], NULL);
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", lx + 28, ly);
        sb_escaped(b, ser->name);
        sb_printf(b, "</text>\n");
        lx += 44 + 7.0 * (double)strlen(ser->name);
    }
}

int tg_plot_render_svg(const char *title, const tg_plot_panel_t *panels, int n_panels, char **svg,
                       size_t *len, tg_err_t *err) {
    sbuf_t b = {0};
    int height = TITLE_H + PANEL_H * (n_panels > 0 ? n_panels : 0) + 8;
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
              "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n",
              PANEL_W, height, PANEL_W, height);
    if (title) {
        sb_printf(&b, "<title>");
        sb_escaped(&b, title);
        sb_printf(&b, "</title>\n<text x=\"%d\" y=\"24\" font-size=\"18\" font-weight=\"bold\">",
                  12);
        sb_escaped(&b, title);
        sb_printf(&b, "</text>\n");
    }
    for (int i = 0; i < n_panels; i++)
        draw_panel(&b, &panels[i], 0, TITLE_H + i * PANEL_H, i);
    sb_printf(&b, "</svg>\n");
    if (b.oom) {
        free(b.p);
        return tg_err_set(err, TG_ENOMEM, "plot: out of memory rendering '%s'",
                          title ? title : "chart");
    }
    *svg = b.p;
    *len = b.len;
    return 0;
}

bool tg_plot_wants_log_y(const tg_plot_series_t *series, int n_series, double ratio) {
    double lo = INFINITY, hi = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double y = series[s].y[i];
            if (isfinite(y) && y > 0 && isfinite(series[s].x[i])) {
                lo = fmin(lo, y);
                hi = fmax(hi, y);
            }
        }
    return hi > 0 && hi / lo > ratio;
}
