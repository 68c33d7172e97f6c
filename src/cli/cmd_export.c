/* cmd_export.c: `tengen export`: turn a trainer checkpoint into a KataGo model file.
 *
 * The checkpoint says which model config and board length it holds, so no config is needed;
 * the output is a version-15 KataGo net (.bin.gz gzip'ed, or raw .bin), written atomically, that
 * KataGo v1.14+ and tengen's own loader both read (src/export/export.h). A checkpoint with an
 * SWA average exports the average, as KataGo's selfplay export does (-use-swa); --no-swa
 * exports the raw weights. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "export/export.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: tengen export --checkpoint FILE --output MODEL.bin.gz (--name NAME |\n"
            "                     --prefix PREFIX [--data-rows N]) [--no-swa]\n"
            "  Exports a trainer checkpoint as a KataGo model (version 15). Exit 0 on success,\n"
            "  1 if the checkpoint cannot be read or the model cannot be written.\n"
            "  -c, --checkpoint FILE   trainer checkpoint (trainer_save format)\n"
            "  -o, --output FILE       model file; .bin.gz (gzip) or .bin (raw)\n"
            "  -n, --name NAME         model name stored in the file ([A-Za-z0-9_-], <= 96)\n"
            "  -p, --prefix PREFIX     name the model PREFIX-s<samples>-d<rows> instead\n"
            "                          (samples from the checkpoint; default prefix: its config)\n"
            "  -d, --data-rows N       the <rows> part of that name (default 0)\n"
            "      --no-swa            export the raw weights even when the checkpoint holds an\n"
            "                          SWA average (default: the average when there is one)\n"
            "  -h, --help              this help\n");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"name", required_argument, 0, 'n'},
                                         {"prefix", required_argument, 0, 'p'},
                                         {"data-rows", required_argument, 0, 'd'},
                                         {"no-swa", no_argument, 0, 1},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *ckpt = NULL, *output = NULL, *name = NULL, *prefix = NULL;
    long long rows = 0;
    int use_swa = 1;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:o:n:p:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ckpt = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'd': {
            char *end = NULL;
            rows = strtoll(optarg, &end, 10);
            if (!end || *end || end == optarg || rows < 0) {
                fprintf(stderr, "tengen export: --data-rows: '%s' is not a row count\n", optarg);
                return 2;
            }
            break;
        }
        case 1:
            use_swa = 0;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tengen export: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!ckpt || !output) {
        fprintf(stderr, "tengen export: --checkpoint and --output are required\n");
        usage(stderr);
        return 2;
    }
    if (name && prefix) {
        fprintf(stderr, "tengen export: give --name or --prefix, not both\n");
        return 2;
    }
    if (!name && !prefix) {
        fprintf(stderr, "tengen export: --name (or --prefix) is required\n");
        return 2;
    }
    tg_err_t err = {0};
    tg_export_result_t res;
    if (tg_export_checkpoint(ckpt, name, prefix, rows, output, use_swa, &res, &err) != 0) {
        fprintf(stderr, "tengen export: %s\n", err.msg);
        return 1;
    }
    printf("exported model=%s steps=%" PRId64 " samples=%" PRId64 " weights=%s swa_updates=%" PRId64
           " output=%s\n",
           res.name, res.steps, res.samples, res.swa ? "swa" : "raw", res.swa_updates, output);
    return 0;
}
