/* cmd_plot.c: `tengen plot RUNDIR [--out DIR]`: SVG charts of a `tengen run` directory
 * (strength, loss, throughput) and an index.html linking them (src/plot/plot.h). Works on a
 * running run too: it only reads metrics.jsonl, elo.json and gate records. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "plot/plot.h"

static void usage(FILE *out) {
    fprintf(out, "usage: tengen plot RUNDIR [--out DIR]\n"
                 "  Writes strength.svg (Elo ladder), loss.svg (training loss), throughput.svg\n"
                 "  (rows/s, samples per row, CPU shares) and index.html for a `tengen run`\n"
                 "  directory, running or not. Malformed metrics lines are reported and skipped.\n"
                 "  Exit 0 on success, 1 if RUNDIR holds no run or a file cannot be written.\n"
                 "  -o, --out DIR   output directory (default RUNDIR/plots)\n"
                 "  -h, --help      this help\n");
}

int cmd_plot(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out_dir = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "tengen plot: expected one RUNDIR\n");
        usage(stderr);
        return 2;
    }
    tg_plot_result_t res;
    tg_err_t err;
    if (tg_plot_run_dir(argv[optind], out_dir, stderr, &res, &err)) {
        fprintf(stderr, "tengen plot: %s\n", err.msg);
        return 1;
    }
    printf("plot: %d metrics lines (%d skipped), %d rated nets%s%s\n", res.metrics_rows,
           res.metrics_skipped, res.nets, res.have_metrics ? "" : " (no metrics.jsonl)",
           res.have_ladder ? "" : " (no elo.json)");
    printf("plot: wrote %s/{strength.svg,loss.svg,throughput.svg,index.html}\n", res.out_dir);
    return 0;
}
