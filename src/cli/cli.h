/* cli.h: the subcommands of the `tengen` program. Each takes the arguments after its name
 * (argv[0] is the subcommand name), parses GNU-style long options with getopt_long, answers
 * --help, and returns the process exit code (0 ok, 1 runtime error, 2 usage error). */
#ifndef TENGEN_CLI_CLI_H
#define TENGEN_CLI_CLI_H

int cmd_run(int argc, char **argv);      /* cmd_run.c: the whole training loop in one process */
int cmd_status(int argc, char **argv);   /* cmd_status.c: summary of a run directory */
int cmd_plot(int argc, char **argv);     /* cmd_plot.c: SVG charts of a run directory */
int cmd_gtp(int argc, char **argv);      /* cmd_gtp.c: GTP engine on stdin/stdout */
int cmd_config(int argc, char **argv);   /* cmd_config.c: check and print a config */
int cmd_bench(int argc, char **argv);    /* cmd_bench.c: benchmarks (playout, nn) */
int cmd_match(int argc, char **argv);    /* cmd_match.c: match between two GTP engines */
int cmd_export(int argc, char **argv);   /* cmd_export.c: checkpoint -> KataGo model file */
int cmd_train(int argc, char **argv);    /* cmd_train.c: train a net on .npz data */
int cmd_selfplay(int argc, char **argv); /* cmd_selfplay.c: selfplay games -> .npz rows */

#endif
