/* cmd_match.c: `tengen match`: a match between two players, each an external GTP engine or
 * tengen's own searching engine in this process (see src/match/match.h).
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
            "usage: tengen match (--black CMD | --black-model M [--black-visits V])\n"
            "                    (--white CMD | --white-model M [--white-visits V])\n"
            "                    [--games N] [--board-size S] [--komi K] [--rules NAME]\n"
            "                    [--sgf-dir DIR] [--max-moves M] [--move-timeout SECONDS]\n"
            "                    [--nn-threads T] [--resign-threshold W]\n"
            "  Plays N games between two players: GTP engines started with /bin/sh -c CMD, or\n"
            "  tengen's own engine run in this process with a net and a search. The black\n"
            "  player (A) has Black in odd games, the white player (B) in even games.\n"
            "  Every move is checked with tengen's rules: an illegal move loses the game.\n"
            "  Games end on two passes, resignation or the move cap and are scored by tengen.\n"
            "  -b, --black CMD         engine A (Black in game 1)\n"
            "  -w, --white CMD         engine B (White in game 1)\n"
            "      --black-model M     A is tengen with net M, searching in this process\n"
            "      --white-model M     B likewise\n"
            "      --black-visits V    A's visits per move (default 100; 0: raw policy)\n"
            "      --white-visits V    B's visits per move (default 100)\n"
            "      --nn-threads T      CPU threads of each internal net (default 1)\n"
            "      --resign-threshold W  internal players resign below win rate W (default 0:\n"
            "                          never)\n"
            "  -n, --games N           number of games (default 2)\n"
            "  -s, --board-size S      2..19 (default 19)\n"
            "  -k, --komi K            multiple of 0.5 (default 7.5)\n"
            "  -r, --rules NAME        KataGo rules name (default tromp-taylor)\n"
            "  -d, --sgf-dir DIR       write DIR/game_NNNN.sgf for every game\n"
            "  -m, --max-moves M       move cap per game, passes included (default 800)\n"
            "  -t, --move-timeout S    seconds an engine may take per answer (default 300)\n"
            "  -h, --help              this help\n"
            "Prints a summary with A's win rate (95%% Wilson interval) and the Elo difference,\n"
            "and the line `match games=N a_wins=A b_wins=B draws=D a_winrate=W elo=E\n"
            "elo_lo=L elo_hi=H`.\n");
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
                                         {"black-model", required_argument, 0, 'B'},
                                         {"white-model", required_argument, 0, 'W'},
                                         {"black-visits", required_argument, 0, 'V'},
                                         {"white-visits", required_argument, 0, 'U'},
                                         {"nn-threads", required_argument, 0, 'T'},
                                         {"resign-threshold", required_argument, 0, 'R'},
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
            o.a.cmd = optarg;
            break;
        case 'w':
            o.b.cmd = optarg;
            break;
        case 'B':
            o.a.model = optarg;
            break;
        case 'W':
            o.b.model = optarg;
            break;
        case 'V':
        case 'U':
            if (parse_long(optarg, 0, 100000000, &v)) goto bad_value;
            (c == 'V' ? &o.a : &o.b)->visits = v;
            break;
        case 'T':
            if (parse_long(optarg, 1, 256, &v)) goto bad_value;
            o.a.nn_threads = o.b.nn_threads = (int)v;
            break;
        case 'R': {
            double r = strtod(optarg, &end);
            if (end == optarg || *end || !(r >= 0) || r >= 1) goto bad_value;
            o.a.resign_threshold = o.b.resign_threshold = r;
            break;
        }
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
    if ((o.a.cmd && o.a.model) || (o.b.cmd && o.b.model)) {
        fprintf(stderr, "tengen match: give a player a command or a model, not both\n");
        return 2;
    }
    if (!(o.a.cmd || o.a.model) || !(o.b.cmd || o.b.model)) {
        fprintf(stderr, "tengen match: --black/--black-model and --white/--white-model are "
                        "required\n");
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
            : c == 'V' ? "black-visits"
            : c == 'U' ? "white-visits"
            : c == 'T' ? "nn-threads"
            : c == 'R' ? "resign-threshold"
                       : "move-timeout",
            optarg);
    return 2;
}
