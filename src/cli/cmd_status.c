/* cmd_status.c: `tengen status RUNDIR`: summarises a `tengen run` directory, running or not
 * (counters at the last save point, live metrics, models, gate results, Elo ladder). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/runtime.h"

int cmd_status(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: tengen status RUNDIR\n"
               "  Summarises a `tengen run` directory, running or not.\n");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: tengen status RUNDIR\n");
        return 2;
    }
    tg_err_t err;
    if (tg_runtime_print_status(argv[1], stdout, &err)) {
        fprintf(stderr, "tengen status: %s\n", err.msg);
        return 1;
    }
    return 0;
}
