/* cmd_config.c: `tengen config`: validate a config file and print the effective config. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "config/config.h"

static void usage(FILE *out) {
    fprintf(out, "usage: tengen config [--print] [FILE] [--set section.key=value ...]\n"
                 "  Checks FILE (or the defaults) and prints the effective config, each key with\n"
                 "  its one-line doc and where its value came from. Exit 0 if valid, 1 if not.\n"
                 "  -p, --print            print the effective config (default action)\n"
                 "  -s, --set S.K=V        override one key after reading FILE\n"
                 "  -c, --config FILE      same as the positional FILE\n"
                 "  -h, --help             this help\n");
}

int cmd_config(int argc, char **argv) {
    static const struct option opts[] = {{"print", no_argument, 0, 'p'},
                                         {"set", required_argument, 0, 's'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    const char *sets[64];
    int nsets = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ps:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            break;
        case 's':
            if (nsets == 64) {
                fprintf(stderr, "tengen config: too many --set options\n");
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "tengen config: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    tg_config_t cfg;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    if (path && tg_config_load_file(&cfg, path, &err) != 0) {
        fprintf(stderr, "tengen config: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < nsets; i++) {
        if (tg_config_set(&cfg, sets[i], &err) != 0) {
            fprintf(stderr, "tengen config: %s\n", err.msg);
            return 1;
        }
    }
    tg_config_print(&cfg, stdout);
    return 0;
}
