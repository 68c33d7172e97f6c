/* cmd_match.c: `tengen match`: a match between two GTP engines (see src/match/match.h).
 *
 * The summary and the machine-readable `match games=...` line go to stdout; logs (one line
 * per game, illegal moves, restarts) go to stderr. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "match/match.h"

static void cmd_match_usage(FILE *out) {
    fprintf(out,
            "usage: tengen match --black CMD --white CMD [--games N] [--board-size S]\n"
            "                    [--komi K] [--rules NAME] [--sgf-dir DIR] [--max-moves M]\n"
            "                    [--move-timeout SECONDS]\n"
            "  Plays N games between two GTP engines started with /bin/sh -c CMD. The --black\n"
            "  engine (A) has Black in odd games, the --white engine (B) in even games.\n"
            "  Every move is checked with tengen's rules: an illegal move loses the game.\n"
            "  Games end on two passes, resignation or the move cap and are scored by tengen.\n"
            "  -b, --black CMD         engine A (Black in game 1)\n"
            "  -w, --white CMD         engine B (White in game 1)\n"
            "  -n, --games N           number of games (default 2)\n"
            "  -s, --board-size S      2..19 (default 19)\n"
            "  -k, --komi K            multiple of 0.5 (default 7.5)\n"
            "  -r, --rules NAME        KataGo rules name (default tromp-taylor)\n"
            "  -d, --sgf-dir DIR       write DIR/game_NNNN.sgf for every game\n"
            "  -m, --max-moves M       move cap per game, passes included (default 800)\n"
            "  -t, --move-timeout S    seconds an engine may take per answer (default 300)\n"
            "  -h, --help              this help\n"
            "Prints a summary and the line `match games=N a_wins=A b_wins=B draws=D`.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cmd_match(int argc, char **argv) {
    static const struct option opts[] = {{"black", required_argument, 0, 'b'},
                                         {"white", required_argument, 0, 'w'},
                                         {"games", required_argument, 0, 'n'},
                                         {"board-size", required_argument, 0, 's'},
                                         {"komi", required_argument, 0, 'k'},
                                         {"rules", required_argument, 0, 'r'},
                                         {"sgf-dir", required_argument, 0, 'd'},
                                         {"max-moves", required_argument, 0, 'm'},
                                         {"move-timeout", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    tg_match_options_t o;
    tg_match_options_default(&o);
    o.games = 2;
    long v;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:w:n:s:k:r:d:m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.cmd_a = optarg;
            break;
        case 'w':
            o.cmd_b = optarg;
            break;
        case 'n':
            if (parse_long(optarg, 1, 1000000, &v)) goto bad_value;
            o.games = (int)v;
            break;
        case 's':
            if (parse_long(optarg, 2, 19, &v)) goto bad_value;
            o.board_size = (int)v;
            break;
        case 'k': {
            double k = strtod(optarg, &end);
            if (end == optarg || *end || isnan(k) || k * 2 != floor(k * 2) || fabs(k) > 150)
                goto bad_value;
            o.komi = (float)k;
            break;
        }
        case 'r':
            o.rules = optarg;
            break;
        case 'd':
            o.sgf_dir = optarg;
            break;
        case 'm':
            if (parse_long(optarg, 1, 2000, &v)) goto bad_value;
            o.max_moves = (int)v;
            break;
        case 't': {
            double t = strtod(optarg, &end);
            if (end == optarg || *end || !(t > 0) || t > 1e6) goto bad_value;
            o.move_timeout_s = t;
            break;
        }
        case 'h':
            cmd_match_usage(stdout);
            return 0;
        default:
            cmd_match_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tengen match: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o.cmd_a || !o.cmd_b) {
        fprintf(stderr, "tengen match: --black and --white are required\n");
        cmd_match_usage(stderr);
        return 2;
    }
    tg_match_result_t res;
    tg_err_t err = {0};
    int rc = tg_match_run(&o, &res, &err);
    if (rc == TG_EINVAL) {
        fprintf(stderr, "tengen match: %s\n", err.msg);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "tengen match: %s\n", err.msg);
        return 1;
    }
    return 0;

bad_value:
    fprintf(stderr, "tengen match: bad value for --%s: '%s'\n",
            c == 'n'   ? "games"
            : c == 's' ? "board-size"
            : c == 'k' ? "komi"
            : c == 'm' ? "max-moves"
                       : "move-timeout",
            optarg);
    return 2;
}
