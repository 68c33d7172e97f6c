/* test_plot.c: `tengen plot` on synthetic run directories: SVG files exist and are well formed
 * (every tag closed in order), a polyline has one point per metrics row, values map to
 * coordinates monotonically, Elo error bars and gate marks, malformed metrics lines reported
 * as "metrics.jsonl:LINE: what" and skipped, empty and one-point series, missing files. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "plot/plot.h"
#include "util/fileio.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static char *make_dir(void) {
    char *d = strdup("/tmp/tengen-plot-XXXXXX");
    return mkdtemp(d) ? d : NULL;
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[2048];
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            remove_tree(p);
        }
        closedir(d);
        rmdir(path);
    } else
        unlink(path);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char p[2048];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    TG_ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *dir, const char *name) {
    char p[2048], *data = NULL;
    size_t len;
    tg_err_t err;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return tg_file_read_all(p, 1 << 26, &data, &len, &err) ? NULL : data;
}

/* One metrics line as `tengen run` writes it (the fields the charts use, plus others). */
static void metrics_line(char *out, size_t cap, int i) {
    snprintf(out, cap,
             "{\"time\": %.3f, \"session\": 1, \"wall_s\": %.2f, \"games\": %d, \"rows\": %d, "
             "\"rows_per_s\": %.3f, \"train_per_row\": %.4f, \"target_train_per_row\": 4.000, "
             "\"samples\": %d, \"loss\": %.5f, \"loss_policy\": %.5f, \"loss_value\": %.5f, "
             "\"net\": \"random\", \"share_trainer\": %.4f, \"share_selfplay\": %.4f, "
             "\"share_gate\": 0.0000, \"cpu_cores\": 1.5}\n",
             1.8e9 + 5 * i, 5.0 * (i + 1), 10 * i, 1000 * (i + 1), 100.0 + 10 * i, 1.0 + 0.4 * i,
             6400 * (i + 1), 45.0 - 2 * i, 3.5 - 0.2 * i, 0.6 - 0.02 * i, 0.2 + 0.01 * i,
             0.8 - 0.01 * i);
}

/* Checks that every tag is closed in order (XML-ish: no entities or CDATA checks). Returns
 * NULL if balanced, else a static description of the first problem. */
static const char *xml_balance(const char *s) {
    static char why[256];
    const char *stack[256];
    size_t stack_len[256];
    int depth = 0, roots = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '?') { /* <?xml ...?> */
            p = strstr(p, "?>");
            if (!p) return "unterminated <?";
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end) return "unterminated tag";
        if (p[1] == '/') {
            size_t n = strcspn(p + 2, " >");
            if (depth == 0) return "close tag at depth 0";
            depth--;
            if (n != stack_len[depth] || strncmp(p + 2, stack[depth], n)) {
                snprintf(why, sizeof(why), "</%.*s> closes <%.*s>", (int)n, p + 2,
                         (int)stack_len[depth], stack[depth]);
                return why;
            }
        } else if (end[-1] != '/') {
            if (depth == 256) return "too deep";
            if (depth == 0) roots++;
            stack[depth] = p + 1;
            stack_len[depth++] = strcspn(p + 1, " >/");
        }
        p = end;
    }
    if (depth) return "unclosed tags at the end";
    if (roots != 1) return "not exactly one root element";
    return NULL;
}

static int count_str(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Parses the points of the k-th <polyline> (0-based) into px/py; returns the count or -1. */
static int polyline_points(const char *svg, int k, double *px, double *py, int cap) {
    const char *p = svg;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "<polyline");
        if (!p) return -1;
        if (i < k) p++;
    }
    p = strstr(p, "points=\"");
    if (!p) return -1;
    p += 8;
    int n = 0;
    while (*p != '"') {
        char *e;
        double x = strtod(p, &e);
        if (e == p || *e != ',') return -1;
        double y = strtod(e + 1, &e);
        if (n < cap) px[n] = x, py[n] = y;
        n++;
        p = e;
        while (*p == ' ')
            p++;
    }
    return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

TEST(metrics_rows_become_polyline_points) {
    enum { N = 9 };
    char *dir = make_dir();
    ASSERT_TRUE(dir);
    char text[N * 600] = "", line[600];
    for (int i = 0; i < N; i++) {
        metrics_line(line, sizeof(line), i);
        strcat(text, line);
    }
    write_file(dir, "metrics.jsonl", text);
    tg_plot_result_t res;
    tg_err_t err;
    int rc = tg_plot_run_dir(dir, NULL, NULL, &res, &err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.metrics_rows, N);
    ASSERT_EQ(res.metrics_skipped, 0);
    ASSERT_TRUE(res.have_metrics && !res.have_ladder);
    char out[1100];
    snprintf(out, sizeof(out), "%s/plots", dir);
    ASSERT_STREQ(res.out_dir, out);

    static const char *const files[] = {"strength.svg", "loss.svg", "throughput.svg"};
    for (int f = 0; f < 3; f++) {
        char *svg = read_file(out, files[f]);
        ASSERT_TRUE(svg);
        const char *why = xml_balance(svg);
        if (why) printf("  %s: %s\n", files[f], why);
        ASSERT_TRUE(why == NULL);
        ASSERT_EQ(count_str(svg, "<svg"), 1);
        ASSERT_EQ(count_str(svg, "</svg>"), 1);
        ASSERT_TRUE(!strstr(svg, "nan") && !strstr(svg, "inf"));
        free(svg);
    }

    /* loss.svg: total, policy, value; N points each, samples and loss increase/decrease. */
    char *svg = read_file(out, "loss.svg");
    ASSERT_TRUE(svg);
    ASSERT_EQ(count_str(svg, "<polyline"), 3);
    ASSERT_CONTAINS(svg, "policy loss");
    ASSERT_CONTAINS(svg, "(log scale)"); /* 45 vs 0.5: log y */
    double px[N], py[N];
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ(polyline_points(svg, k, px, py, N), N);
        for (int i = 1; i < N; i++) {
            ASSERT_TRUE(px[i] > px[i - 1]); /* more samples: further right */
            ASSERT_TRUE(py[i] > py[i - 1]); /* lower loss: further down (SVG y grows down) */
        }
    }
    /* The three terms are ordered on the axis as their values: total above policy above value. */
    double tx[N], ty[N], vx[N], vy[N];
    polyline_points(svg, 0, tx, ty, N);
    polyline_points(svg, 2, vx, vy, N);
    ASSERT_TRUE(ty[0] < vy[0]);
    free(svg);

    /* throughput.svg: rows/s rising -> y px falling; 4 panels. */
    svg = read_file(out, "throughput.svg");
    ASSERT_TRUE(svg);
    ASSERT_EQ(polyline_points(svg, 0, px, py, N), N);
    for (int i = 1; i < N; i++)
        ASSERT_TRUE(px[i] > px[i - 1] && py[i] < py[i - 1]);
    ASSERT_CONTAINS(svg, "stroke-dasharray"); /* the target line */
    ASSERT_CONTAINS(svg, "selfplay rows/s");
    ASSERT_EQ(count_str(svg, "<clipPath"), 4);
    free(svg);

    svg = read_file(out, "strength.svg");
    ASSERT_CONTAINS(svg, "no elo.json");
    free(svg);
    char *html = read_file(out, "index.html");
    ASSERT_TRUE(html);
    ASSERT_CONTAINS(html, "href=\"strength.svg\"");
    ASSERT_CONTAINS(html, "href=\"loss.svg\"");
    ASSERT_CONTAINS(html, "href=\"throughput.svg\"");
    free(html);

    /* Atomic writes leave no temp files behind. */
    DIR *d = opendir(out);
    ASSERT_TRUE(d);
    int entries = 0;
    bool temp_left = false;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            entries++;
            temp_left |= strstr(e->d_name, ".tmp") != NULL;
        }
    closedir(d);
    ASSERT_TRUE(!temp_left);
    ASSERT_EQ(entries, 4);
    remove_tree(dir);
    free(dir);
}

TEST(malformed_metrics_lines_are_reported_and_skipped) {
    char *dir = make_dir();
    ASSERT_TRUE(dir);
    char a[600], b[600], c[600], text[4096];
    metrics_line(a, sizeof(a), 0);
    metrics_line(b, sizeof(b), 1);
    metrics_line(c, sizeof(c), 2);
    snprintf(text, sizeof(text),
             "%s%s{\"wall_s\": 7, oops\n\n[1, 2]\n{\"rows\": 5}\n%s {\"wall_s\": 30}\r\n"
             "{\"wall_s\": 20, \"ro",
             a, b, c); /* 1, 2 ok, 3 bad json, 4 blank, 5 array, 6 no wall_s, 7, 8 ok, 9 torn */
    write_file(dir, "metrics.jsonl", text);
    char path[1100];
    snprintf(path, sizeof(path), "%s/metrics.jsonl", dir);
    FILE *warn = tmpfile();
    ASSERT_TRUE(warn);
    tg_plot_metrics_t m;
    tg_err_t err;
    ASSERT_EQ(tg_plot_metrics_load(path, warn, &m, &err), 0);
    ASSERT_EQ(m.n, 4);
    ASSERT_EQ(m.skipped, 4);
    ASSERT_CONTAINS(m.first_warning, "metrics.jsonl:3: ");
    ASSERT_NEAR(m.col[TG_PLOT_M_WALL_S][2], 15.0, 1e-9);
    ASSERT_NEAR(m.col[TG_PLOT_M_SAMPLES][1], 12800, 1e-9);
    ASSERT_NEAR(m.col[TG_PLOT_M_WALL_S][3], 30.0, 1e-9);
    ASSERT_TRUE(isnan(m.col[TG_PLOT_M_LOSS][3])); /* missing field: a gap */
    tg_plot_metrics_free(&m);
    char log[4096] = "";
    rewind(warn);
    size_t got = fread(log, 1, sizeof(log) - 1, warn);
    log[got] = 0;
    fclose(warn);
    ASSERT_CONTAINS(log, "metrics.jsonl:3: json: ");
    ASSERT_CONTAINS(log, "metrics.jsonl:5: not a JSON object");
    ASSERT_CONTAINS(log, "metrics.jsonl:6: no number \"wall_s\"");
    ASSERT_CONTAINS(log, "metrics.jsonl:9: json: ");
    ASSERT_TRUE(!strstr(log, "metrics.jsonl:4:"));

    /* The whole run still plots, with the good rows only. */
    tg_plot_result_t res;
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), 0);
    ASSERT_EQ(res.metrics_rows, 4);
    ASSERT_EQ(res.metrics_skipped, 4);
    char out[1100];
    snprintf(out, sizeof(out), "%s/plots", dir);
    char *svg = read_file(out, "throughput.svg");
    double px[8], py[8];
    ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 3); /* rows/s missing on line 8: a gap */
    free(svg);
    remove_tree(dir);
    free(dir);
}

TEST(ladder_error_bars_gate_marks_and_order) {
    char *dir = make_dir();
    ASSERT_TRUE(dir);
    /* File order differs from sample order; the third net is rejected by the gate. */
    write_file(dir, "elo.json",
               "{\"anchor\": \"random = 0\", \"nets\": [\n"
               "  {\"name\": \"b2c16-s40000-d9000\", \"elo\": 250.0, \"opponent\": "
               "\"b2c16-s20032-d5000\", \"points\": 4.5, \"games\": 6},\n"
               "  {\"name\": \"b2c16-s20032-d5000\", \"elo\": 120.4, \"opponent\": \"random\", "
               "\"points\": 4.0, \"games\": 6},\n"
               "  {\"name\": \"b2c16-s60032-d14000\", \"elo\": 100.0, \"opponent\": "
               "\"b2c16-s40000-d9000\", \"points\": 1.0, \"games\": 6}\n]}\n");
    char p[1100];
    snprintf(p, sizeof(p), "%s/models/b2c16-s40000-d9000", dir);
    tg_err_t err;
    ASSERT_EQ(tg_mkdir_p(p, &err), 0);
    write_file(p, "gate.json", "{\"candidate\": \"x\", \"games\": 6, \"accepted\": true}\n");
    snprintf(p, sizeof(p), "%s/rejectedmodels/b2c16-s60032-d14000", dir);
    ASSERT_EQ(tg_mkdir_p(p, &err), 0);
    write_file(p, "gate.json", "{\"candidate\": \"x\", \"games\": 6, \"accepted\": false}\n");

    tg_plot_ladder_t ld;
    ASSERT_EQ(tg_plot_ladder_load(dir, &ld, &err), 0);
    ASSERT_EQ(ld.n, 3);
    ASSERT_STREQ(ld.nets[0].name, "b2c16-s20032-d5000");
    ASSERT_STREQ(ld.nets[1].name, "b2c16-s40000-d9000");
    ASSERT_NEAR(ld.nets[0].samples, 20032, 0);
    ASSERT_EQ(ld.nets[0].gate, TG_PLOT_GATE_NONE);
    ASSERT_EQ(ld.nets[1].gate, TG_PLOT_GATE_ACCEPTED);
    ASSERT_EQ(ld.nets[2].gate, TG_PLOT_GATE_REJECTED);
    /* One match: 400/ln10 / sqrt(N s (1-s)); chained ones add in quadrature. */
    double k = 400.0 / log(10.0);
    double s1 = k / sqrt(6 * (4.0 / 6) * (2.0 / 6)), s2 = k / sqrt(6 * 0.75 * 0.25),
           s3 = k / sqrt(6 * (1.0 / 6) * (5.0 / 6));
    ASSERT_NEAR(ld.nets[0].elo_sigma, s1, 1e-9);
    ASSERT_NEAR(ld.nets[1].elo_sigma, sqrt(s1 * s1 + s2 * s2), 1e-9);
    ASSERT_NEAR(ld.nets[2].elo_sigma, sqrt(s1 * s1 + s2 * s2 + s3 * s3), 1e-9);
    tg_plot_ladder_free(&ld);

    tg_plot_result_t res;
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), 0);
    ASSERT_TRUE(res.have_ladder && !res.have_metrics);
    ASSERT_EQ(res.nets, 3);
    char out[1100];
    snprintf(out, sizeof(out), "%s/plots", dir);
    char *svg = read_file(out, "strength.svg");
    ASSERT_TRUE(svg);
    ASSERT_TRUE(xml_balance(svg) == NULL);
    double px[8], py[8];
    ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 4); /* random + 3 nets */
    for (int i = 1; i < 4; i++)
        ASSERT_TRUE(px[i] > px[i - 1]);
    ASSERT_TRUE(py[1] < py[0]); /* Elo 120 above random's 0 */
    ASSERT_TRUE(py[2] < py[1]); /* 250 above 120 */
    ASSERT_TRUE(py[3] > py[2]); /* 100 below 250 */
    ASSERT_CONTAINS(svg, "b2c16-s40000-d9000: Elo 250 +- ");
    ASSERT_CONTAINS(svg, "gate: rejected");
    ASSERT_CONTAINS(svg, "gate accepted");
    ASSERT_CONTAINS(svg, "gate rejected");
    ASSERT_CONTAINS(svg, "h8M"); /* error bar caps */
    ASSERT_CONTAINS(svg, "Elo ladder: 3 nets rated");
    free(svg);
    svg = read_file(out, "loss.svg");
    ASSERT_CONTAINS(svg, "no metrics.jsonl");
    free(svg);

    /* A ladder anchored at one of its nets has no extra random point, and says its anchor. */
    write_file(dir, "elo.json",
               "{\"anchor\": \"b2c16-s20032-d5000 = 0\", \"nets\": [\n"
               "  {\"name\": \"b2c16-s20032-d5000\", \"elo\": 0.0, \"opponent\": \"anchor\", "
               "\"points\": 0, \"games\": 0},\n"
               "  {\"name\": \"b2c16-s40000-d9000\", \"elo\": 190.8, \"opponent\": "
               "\"b2c16-s20032-d5000\", \"points\": 5.0, \"games\": 6}\n]}\n");
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), 0);
    svg = read_file(out, "strength.svg");
    ASSERT_TRUE(svg);
    ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 2);
    ASSERT_CONTAINS(svg, "(b2c16-s20032-d5000 = 0)");
    ASSERT_TRUE(strstr(svg, "random: Elo 0") == NULL);
    free(svg);

    /* A broken ladder file is an error naming the file. */
    write_file(dir, "elo.json", "{\"nets\": [{\"name\": 3}]}");
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "elo.json: nets[0]: needs a string \"name\"");
    write_file(dir, "elo.json", "{\"nets\": [");
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "elo.json: json: ");
    remove_tree(dir);
    free(dir);
}

TEST(empty_run_dir_is_not_found) {
    char *dir = make_dir();
    ASSERT_TRUE(dir);
    tg_plot_result_t res;
    tg_err_t err;
    ASSERT_EQ(tg_plot_run_dir(dir, NULL, NULL, &res, &err), TG_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, dir);
    ASSERT_CONTAINS(err.msg, "no metrics.jsonl or elo.json");
    char p[1100];
    snprintf(p, sizeof(p), "%s/plots", dir);
    struct stat st;
    ASSERT_TRUE(stat(p, &st) != 0); /* nothing written */
    remove_tree(dir);
    free(dir);
}

TEST(empty_and_one_point_series) {
    char *dir = make_dir();
    ASSERT_TRUE(dir);
    write_file(dir, "metrics.jsonl", "\n");
    write_file(dir, "elo.json", "{\"anchor\": \"random = 0\", \"nets\": []}\n");
    tg_plot_result_t res;
    tg_err_t err;
    char out[1100];
    snprintf(out, sizeof(out), "%s/elsewhere/x", dir);
    ASSERT_EQ(tg_plot_run_dir(dir, out, NULL, &res, &err), 0); /* --out, created */
    ASSERT_EQ(res.metrics_rows, 0);
    char *svg = read_file(out, "loss.svg");
    ASSERT_TRUE(svg);
    ASSERT_TRUE(xml_balance(svg) == NULL);
    ASSERT_CONTAINS(svg, "no data");
    ASSERT_TRUE(!strstr(svg, "nan") && !strstr(svg, "inf"));
    free(svg);
    svg = read_file(out, "strength.svg");
    ASSERT_CONTAINS(svg, "rates no net yet");
    free(svg);

    /* One metrics row: one point per polyline, finite coordinates inside the plot area. */
    char line[600];
    metrics_line(line, sizeof(line), 3);
    write_file(dir, "metrics.jsonl", line);
    ASSERT_EQ(tg_plot_run_dir(dir, out, NULL, &res, &err), 0);
    svg = read_file(out, "throughput.svg");
    ASSERT_TRUE(xml_balance(svg) == NULL);
    ASSERT_TRUE(!strstr(svg, "nan") && !strstr(svg, "inf"));
    double px[2], py[2];
    ASSERT_EQ(polyline_points(svg, 0, px, py, 2), 1);
    ASSERT_TRUE(px[0] >= 78 && px[0] <= 836 && py[0] > 34 && py[0] < 34 + 330);
    free(svg);
    remove_tree(dir);
    free(dir);
}

TEST(render_escapes_text_and_skips_bad_points) {
    double x[5] = {0, 1, NAN, 3, 4}, y[5] = {1, -2, 5, INFINITY, 100};
    tg_plot_series_t s = {
        .name = "a<b & \"c\"", .x = x, .y = y, .n = 5, .line = true, .mark = TG_PLOT_MARK_DOT};
    tg_plot_panel_t p = {
        .title = "t&t", .x_label = "x", .y_label = "y", .series = &s, .n_series = 1};
    char *svg = NULL;
    size_t len = 0;
    tg_err_t err;
    ASSERT_EQ(tg_plot_render_svg("<title>", &p, 1, &svg, &len, &err), 0);
    ASSERT_EQ(len, strlen(svg));
    ASSERT_TRUE(xml_balance(svg) == NULL);
    ASSERT_CONTAINS(svg, "a&lt;b &amp; &quot;c&quot;");
    ASSERT_CONTAINS(svg, "&lt;title&gt;");
    double px[8], py[8];
    ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 3); /* NaN x and infinite y left out */
    ASSERT_EQ(count_str(svg, "<circle"), 3 + 1);      /* + the legend's marker */
    free(svg);
    /* Log y drops y <= 0 too; the choice of log y follows the spread of the values. */
    p.log_y = true;
    ASSERT_EQ(tg_plot_render_svg(NULL, &p, 1, &svg, &len, &err), 0);
    ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 2);
    ASSERT_TRUE(py[1] < py[0]); /* 100 above 1 */
    free(svg);
    /* Extreme values: garbage beyond 1e15 is left out, tiny and huge spans stay finite. */
    double ex[4] = {0, 1, 2, 3}, ey[4] = {1e-12, 5e14, 1e300, -1e300}, ee[4] = {1e300, 0, 0, 0};
    tg_plot_series_t es = {.name = "e", .x = ex, .y = ey, .y_err = ee, .n = 4, .line = true};
    tg_plot_panel_t ep = {.series = &es, .n_series = 1};
    for (int log = 0; log < 2; log++) {
        ep.log_y = log;
        ASSERT_EQ(tg_plot_render_svg(NULL, &ep, 1, &svg, &len, &err), 0);
        ASSERT_TRUE(xml_balance(svg) == NULL);
        ASSERT_TRUE(!strstr(svg, "nan") && !strstr(svg, "inf"));
        ASSERT_EQ(polyline_points(svg, 0, px, py, 8), 2);
        free(svg);
    }
    ASSERT_TRUE(tg_plot_wants_log_y(&s, 1, 10.0));   /* 1 .. 100 */
    ASSERT_TRUE(!tg_plot_wants_log_y(&s, 1, 200.0)); /* not over 200x */
}

int main(void) {
    RUN(metrics_rows_become_polyline_points);
    RUN(malformed_metrics_lines_are_reported_and_skipped);
    RUN(ladder_error_bars_gate_marks_and_order);
    RUN(empty_run_dir_is_not_found);
    RUN(empty_and_one_point_series);
    RUN(render_escapes_text_and_skips_bad_points);
    TEST_MAIN_END();
}
