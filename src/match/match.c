/* match.c: the match driver declared in match.h: players, a referee game under our rules, one
 * SGF per game and a summary with the win rate and Elo difference.
 *
 * Players: match_player_t speaks GTP text through a small table of operations with two
 * implementations: an external engine (a child process on a socketpair) and tengen's own GTP
 * engine (gtp/gtp.h) in this process, searching with a net. Both answer the same commands the
 * same way, so the game loop does not know which kind it talks to, and an internal player
 * behaves exactly as `tengen gtp --model M --visits V` would as a child process.
 *
 * Process handling: each engine runs as `/bin/sh -c CMD` in its own process group so that a
 * hung engine and anything its shell started can be stopped together. The driver's end of the
 * socketpair is written with send(MSG_NOSIGNAL), so a dead engine shows up as an error, never
 * as SIGPIPE, and the process-wide signal dispositions are left alone. */
#include "match/match.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "game/game.h"
#include "gtp/gtp.h"
#include "sgf/sgf.h"
#include "util/fileio.h"
#include "util/log.h"

#define PROC_BUF_BYTES (256 * 1024)
#define RESP_BYTES     (64 * 1024)

typedef struct match_player_s match_player_t;

/* What a kind of player implements. */
typedef struct match_player_ops_s {
    /* Starts the player. Returns 0 or TG_EIO / TG_ENOMEM / a model error, with err filled. */
    int (*start)(match_player_t *p, tg_err_t *err);
    /* Sends one GTP command and reads its response. On success *ok is 1 for '=' and 0 for '?',
     * and body holds the text after "=id " (NUL-terminated, trimmed). Returns 0, or TG_EIO
     * (player gone, timeout, garbage) with err filled. */
    int (*command)(match_player_t *p, const char *command, double timeout_s, int *ok, char *body,
                   size_t cap, tg_err_t *err);
    /* Stops the player (asks it to quit first unless force: it is known to be broken). */
    void (*stop)(match_player_t *p, int force);
} match_player_ops_t;

struct match_player_s {
    const match_player_ops_t *ops;
    const tg_match_player_t *spec;
    const char *desc; /* the command, or a description of the internal engine */
    char desc_buf[512];
    char label; /* 'A' or 'B' */
    char name[128];
    int has_kata_rules;
    /* External engine. */
    pid_t pid;
    int fd;    /* our end of the socketpair; -1 when not running */
    char *buf; /* PROC_BUF_BYTES of received, not yet consumed bytes ('\r' removed) */
    size_t len;
    /* Internal engine. */
    tg_gtp_engine_t *engine;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- Child processes ----------------------------------------------------------------------- */

static int proc_start(match_player_t *p, tg_err_t *err) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return tg_err_set(err, TG_EIO, "match: socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return tg_err_set(err, TG_EIO, "match: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        setpgid(0, 0);
        if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", p->spec->cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so the group exists whichever side runs first */
    close(sv[1]);
    p->pid = pid;
    p->fd = sv[0];
    p->len = 0;
    TG_LOGI("match: engine %c started (pid %d): %s", p->label, (int)pid, p->spec->cmd);
    return 0;
}

/* Splits the response r[0..len) ("=id body" / "?id body", without the final empty line) into
 * *ok and body (trimmed, truncated to cap - 1). Returns 0 or TG_EIO if it is not a response. */
static int parse_response(const match_player_t *p, const char *command, const char *r, size_t len,
                          int *ok, char *body, size_t cap, tg_err_t *err) {
    if (len == 0 || (r[0] != '=' && r[0] != '?'))
        return tg_err_set(err, TG_EIO, "engine %c: malformed response to '%s': %.60s", p->label,
                          command, r);
    *ok = r[0] == '=';
    size_t i = 1;
    while (i < len && r[i] >= '0' && r[i] <= '9')
        i++;
    while (i < len && (r[i] == ' ' || r[i] == '\t'))
        i++;
    size_t blen = len - i;
    while (blen > 0 && (r[i + blen - 1] == ' ' || r[i + blen - 1] == '\n'))
        blen--;
    if (blen >= cap) blen = cap - 1;
    memcpy(body, r + i, blen);
    body[blen] = '\0';
    return 0;
}

/* Sends one command and reads its response (up to the empty line). On success *ok is 1 for
 * '=' and 0 for '?', and body holds the text after "=id " (NUL-terminated, trimmed).
 * Returns 0, or TG_EIO (engine gone, timeout, garbage) with err filled. */
static int proc_command(match_player_t *p, const char *command, double timeout_s, int *ok,
                        char *body, size_t cap, tg_err_t *err) {
    if (p->fd < 0) return tg_err_set(err, TG_EIO, "engine %c is not running", p->label);
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s\n", command);
    if (n < 0 || (size_t)n >= sizeof(line))
        return tg_err_set(err, TG_EINVAL, "match: command too long");
    for (int off = 0; off < n;) {
        ssize_t w = send(p->fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return tg_err_set(err, TG_EIO, "engine %c: write failed: %s", p->label,
                              strerror(errno));
        off += (int)w;
    }
    double deadline = now_s() + timeout_s;
    for (;;) {
        /* A response is complete at the first empty line after some text. */
        size_t start = 0;
        while (start < p->len && p->buf[start] == '\n')
            start++;
        char *end = NULL;
        if (start < p->len) {
            p->buf[p->len] = '\0';
            end = strstr(p->buf + start, "\n\n");
        }
        if (end) {
            size_t resp_len = (size_t)(end - (p->buf + start));
            int rc = parse_response(p, command, p->buf + start, resp_len, ok, body, cap, err);
            if (rc) return rc;
            size_t consumed = (size_t)(end - p->buf) + 2;
            memmove(p->buf, p->buf + consumed, p->len - consumed);
            p->len -= consumed;
            return 0;
        }
        if (p->len >= PROC_BUF_BYTES - 1)
            return tg_err_set(err, TG_EIO, "engine %c: response to '%s' too long", p->label,
                              command);
        double left = deadline - now_s();
        if (left <= 0)
            return tg_err_set(err, TG_EIO, "engine %c: no answer to '%s' within %.1f s", p->label,
                              command, timeout_s);
        struct pollfd pfd = {p->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0)
            return tg_err_set(err, TG_EIO, "engine %c: poll: %s", p->label, strerror(errno));
        if (pr == 0) continue;
        char tmp[4096];
        ssize_t r = recv(p->fd, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return tg_err_set(err, TG_EIO, "engine %c exited while answering '%s'", p->label,
                              command);
        for (ssize_t k = 0; k < r && p->len < PROC_BUF_BYTES - 1; k++)
            if (tmp[k] != '\r') p->buf[p->len++] = tmp[k];
    }
}

/* Asks the engine to quit (unless force: it is known to be hung or broken), then stops its
 * process group if it lingers: SIGTERM, and SIGKILL 2 s later. */
static void proc_stop(match_player_t *p, int force) {
    if (p->fd < 0) return;
    int ok;
    char body[256];
    tg_err_t err;
    if (!force) proc_command(p, "quit", 5.0, &ok, body, sizeof(body), &err);
    close(p->fd);
    p->fd = -1;
    int status;
    double deadline = now_s() + (force ? 0.0 : 5.0);
    int sig_sent = 0;
    for (;;) {
        pid_t w = waitpid(p->pid, &status, WNOHANG);
        if (w == p->pid || (w < 0 && errno != EINTR)) break;
        if (now_s() > deadline) {
            if (sig_sent == 0) {
                kill(-p->pid, SIGTERM);
                deadline = now_s() + 2.0;
                sig_sent = 1;
            } else {
                kill(-p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    p->pid = -1;
}

static const match_player_ops_t process_player_ops = {proc_start, proc_command, proc_stop};

/* ---- Internal players ------------------------------------------------------------------------ */

/* Creates tengen's GTP engine with the spec's net and search limits. */
static int internal_start(match_player_t *p, tg_err_t *err) {
    const tg_match_player_t *sp = p->spec;
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    o.name = p->name;
    o.model_path = sp->model;
    o.nn_threads = sp->nn_threads > 0 ? sp->nn_threads : 1;
    o.seed = sp->seed ? sp->seed : (uint64_t)(p->label == 'A' ? 1 : 2);
    o.max_visits = sp->visits;
    o.max_time_s = sp->time_s;
    o.search_threads = sp->search_threads > 0 ? sp->search_threads : 1;
    o.resign_threshold = sp->resign_threshold;
    int rc = tg_gtp_engine_create(&o, &p->engine, err);
    if (rc) return rc;
    TG_LOGI("match: engine %c started in process: %s", p->label, p->desc);
    return 0;
}

/* One command through the engine's line handler; the response is parsed as a child's would be.
 * The search's own limits bound the time; timeout_s does not apply. */
static int internal_command(match_player_t *p, const char *command, double timeout_s, int *ok,
                            char *body, size_t cap, tg_err_t *err) {
    (void)timeout_s;
    if (!p->engine) return tg_err_set(err, TG_EIO, "engine %c is not running", p->label);
    const char *resp;
    tg_gtp_engine_handle_line(p->engine, command, &resp);
    size_t len = strlen(resp);
    while (len > 0 && resp[len - 1] == '\n')
        len--;
    return parse_response(p, command, resp, len, ok, body, cap, err);
}

static void internal_stop(match_player_t *p, int force) {
    (void)force;
    tg_gtp_engine_destroy(p->engine);
    p->engine = NULL;
}

static const match_player_ops_t internal_player_ops = {internal_start, internal_command,
                                                       internal_stop};

/* ---- Either kind ----------------------------------------------------------------------------- */

/* Fills p for spec (no process or engine yet). */
static void player_init(match_player_t *p, const tg_match_player_t *spec, char label) {
    memset(p, 0, sizeof(*p));
    p->spec = spec;
    p->label = label;
    p->pid = -1;
    p->fd = -1;
    if (spec->model && spec->model[0]) {
        const char *base = strrchr(spec->model, '/');
        base = base ? base + 1 : spec->model;
        p->ops = &internal_player_ops;
        snprintf(p->name, sizeof(p->name), "tengen %.80s v%lld", base, (long long)spec->visits);
        snprintf(p->desc_buf, sizeof(p->desc_buf),
                 "internal: model %.300s, %lld visits, %.1f s, %d search threads", spec->model,
                 (long long)spec->visits, spec->time_s,
                 spec->search_threads > 0 ? spec->search_threads : 1);
        p->desc = p->desc_buf;
    } else {
        p->ops = &process_player_ops;
        p->desc = spec->cmd;
    }
}

static int player_command(match_player_t *p, const char *command, double timeout_s, int *ok,
                          char *body, size_t cap, tg_err_t *err) {
    return p->ops->command(p, command, timeout_s, ok, body, cap, err);
}

static void player_stop(match_player_t *p, int force) { p->ops->stop(p, force); }

/* Starts the player and learns its name and whether it takes kata-set-rules. */
static int player_open(match_player_t *p, double timeout_s, tg_err_t *err) {
    int rc = p->ops->start(p, err);
    if (rc) return rc;
    int ok;
    char body[RESP_BYTES];
    rc = player_command(p, "name", timeout_s, &ok, body, sizeof(body), err);
    if (rc) return rc;
    snprintf(p->name, sizeof(p->name), "%.127s", ok && body[0] ? body : p->desc);
    char *nl = strchr(p->name, '\n');
    if (nl) *nl = '\0';
    rc = player_command(p, "known_command kata-set-rules", timeout_s, &ok, body, sizeof(body), err);
    if (rc) return rc;
    p->has_kata_rules = ok && strcmp(body, "true") == 0;
    return 0;
}

/* ---- One game ------------------------------------------------------------------------------ */

typedef enum { END_SCORED, END_RESIGN, END_ILLEGAL, END_VOID } game_end_t;

typedef struct game_state_s {
    tg_game_t game;
    game_end_t end;
    tg_color_t winner; /* TG_EMPTY: draw or void */
    char result[32];   /* SGF RE */
    char note[512];    /* why the game ended, when not by passes */
    int broken[2];     /* engine index (0 A, 1 B) that must be restarted */
} game_state_t;

static int send_setup(match_player_t *p, const tg_match_options_t *o, double t, tg_err_t *err) {
    char cmd[256], body[RESP_BYTES];
    int ok, rc;
    const char *setup[4];
    char size_cmd[32], komi_cmd[64], rules_cmd[160];
    snprintf(size_cmd, sizeof(size_cmd), "boardsize %d", o->board_size);
    snprintf(komi_cmd, sizeof(komi_cmd), "komi %g", (double)o->komi);
    snprintf(rules_cmd, sizeof(rules_cmd), "kata-set-rules %s", o->rules);
    setup[0] = size_cmd;
    setup[1] = "clear_board";
    setup[2] = komi_cmd;
    setup[3] = p->has_kata_rules ? rules_cmd : NULL;
    for (int i = 0; i < 4 && setup[i]; i++) {
        snprintf(cmd, sizeof(cmd), "%s", setup[i]);
        if ((rc = player_command(p, cmd, t, &ok, body, sizeof(body), err))) return rc;
        if (!ok) return tg_err_set(err, TG_EIO, "engine %c refused '%s': %s", p->label, cmd, body);
    }
    return 0;
}

static void set_result(game_state_t *s, tg_color_t winner, game_end_t end, float score) {
    s->end = end;
    s->winner = winner;
    char w = winner == TG_BLACK ? 'B' : 'W';
    if (end == END_VOID)
        snprintf(s->result, sizeof(s->result), "Void");
    else if (end == END_RESIGN)
        snprintf(s->result, sizeof(s->result), "%c+R", w);
    else if (end == END_ILLEGAL)
        snprintf(s->result, sizeof(s->result), "%c+F", w);
    else if (winner == TG_EMPTY)
        snprintf(s->result, sizeof(s->result), "0");
    else
        snprintf(s->result, sizeof(s->result), "%c+%.1f", w, fabs((double)score));
}

/* Scores the referee game as it stands (or as the rules ended it). */
static void score_game(game_state_t *s) {
    tg_game_t *g = &s->game;
    if (!(g->game_over && g->is_scored) && !g->no_result) tg_game_end_and_score(g, NULL);
    if (g->no_result) {
        snprintf(s->note, sizeof(s->note), "no result: a position repeated (long cycle)");
        set_result(s, TG_EMPTY, END_VOID, 0);
        return;
    }
    float sc = g->final_score;
    set_result(s, sc > 0 ? TG_WHITE : sc < 0 ? TG_BLACK : TG_EMPTY, END_SCORED, sc);
}

/* Plays one game between procs[black_idx] (Black) and the other (White). */
static int play_game(match_player_t *procs, int black_idx, const tg_match_options_t *o,
                     const tg_rules_t *rules, double t, game_state_t *s, tg_err_t *err) {
    memset(s->broken, 0, sizeof(s->broken));
    s->note[0] = '\0';
    tg_game_init(&s->game, o->board_size, rules);
    for (int i = 0; i < 2; i++) {
        tg_err_t e2;
        if (send_setup(&procs[i], o, t, &e2) != 0) {
            s->broken[i] = 1;
            snprintf(s->note, sizeof(s->note), "setup failed: %.400s", e2.msg);
            TG_LOGE("match: %s", e2.msg);
            set_result(s, TG_EMPTY, END_VOID, 0);
            return 0;
        }
    }
    tg_game_t *g = &s->game;
    int passes = 0;
    char body[RESP_BYTES], cmd[64], vertex[16];
    while (1) {
        if (g->game_over || passes >= 2 || g->num_moves >= o->max_moves) {
            score_game(s);
            if (g->num_moves >= o->max_moves && passes < 2 && s->end == END_SCORED)
                snprintf(s->note, sizeof(s->note), "move cap %d reached; scored as it stands",
                         o->max_moves);
            return 0;
        }
        tg_color_t pla = g->to_move;
        int mover = pla == TG_BLACK ? black_idx : 1 - black_idx;
        match_player_t *me = &procs[mover], *other = &procs[1 - mover];
        const char *cname = pla == TG_BLACK ? "black" : "white";
        snprintf(cmd, sizeof(cmd), "genmove %s", pla == TG_BLACK ? "b" : "w");
        int ok;
        tg_err_t e2;
        if (player_command(me, cmd, t, &ok, body, sizeof(body), &e2) != 0) {
            s->broken[mover] = 1;
            snprintf(s->note, sizeof(s->note), "%s (engine %c) failed: %.400s", cname, me->label,
                     e2.msg);
            TG_LOGW("match: %s", s->note);
            set_result(s, tg_color_opp(pla), END_ILLEGAL, 0);
            return 0;
        }
        if (ok && !strcasecmp(body, "resign")) {
            snprintf(s->note, sizeof(s->note), "%s (engine %c) resigned", cname, me->label);
            set_result(s, tg_color_opp(pla), END_RESIGN, 0);
            return 0;
        }
        tg_loc_t loc;
        if (!ok || tg_loc_from_gtp(body, o->board_size, &loc) != 0 ||
            !tg_game_is_legal(g, loc, pla)) {
            snprintf(s->note, sizeof(s->note),
                     "illegal move by %s (engine %c) at move %d: '%.40s'%s", cname, me->label,
                     g->num_moves + 1, body, ok ? "" : " (genmove failed)");
            TG_LOGW("match: %s", s->note);
            set_result(s, tg_color_opp(pla), END_ILLEGAL, 0);
            return 0;
        }
        if (tg_game_play(g, loc, pla, &e2) != 0) {
            snprintf(s->note, sizeof(s->note), "referee: %.400s", e2.msg);
            set_result(s, tg_color_opp(pla), END_ILLEGAL, 0);
            return 0;
        }
        passes = loc == TG_LOC_PASS ? passes + 1 : 0;
        snprintf(cmd, sizeof(cmd), "play %s %s", pla == TG_BLACK ? "b" : "w",
                 tg_loc_to_gtp(loc, o->board_size, vertex));
        int prc = player_command(other, cmd, t, &ok, body, sizeof(body), &e2);
        if (prc != 0 || !ok) {
            if (prc != 0)
                s->broken[1 - mover] = 1;
            else
                snprintf(e2.msg, sizeof(e2.msg), "rejected: %.200s", body);
            snprintf(s->note, sizeof(s->note),
                     "engine %c did not accept the legal move '%s' (%.300s); game void",
                     other->label, cmd, e2.msg);
            TG_LOGW("match: %s", s->note);
            set_result(s, TG_EMPTY, END_VOID, 0);
            return 0;
        }
    }
    (void)err;
}

static int write_game_sgf(const tg_match_options_t *o, int index, const match_player_t *procs,
                          int black_idx, const game_state_t *s, tg_err_t *err) {
    tg_sgf_t sgf;
    char path[1200], date[32], comment[1024];
    int rc = tg_sgf_from_game(&s->game, s->result, &sgf, err);
    if (rc) goto done;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    const match_player_t *b = &procs[black_idx], *w = &procs[1 - black_idx];
    if ((rc = tg_sgf_set_root_prop(&sgf, "PB", b->name, err)) ||
        (rc = tg_sgf_set_root_prop(&sgf, "PW", w->name, err)) ||
        (rc = tg_sgf_set_root_prop(&sgf, "DT", date, err)) ||
        (rc = tg_sgf_set_root_prop(&sgf, "GN", "tengen match", err)))
        goto done;
    snprintf(comment, sizeof(comment),
             "game %d: black = engine %c (%s), white = engine %c (%s)%s%s", index + 1, b->label,
             b->desc, w->label, w->desc, s->note[0] ? "\n" : "", s->note);
    if ((rc = tg_sgf_set_comment(&sgf, 0, comment, err))) goto done;
    char *text = NULL;
    size_t len = 0;
    if ((rc = tg_sgf_write(&sgf, &text, &len, err))) goto done;
    snprintf(path, sizeof(path), "%s/game_%04d.sgf", o->sgf_dir, index + 1);
    rc = tg_file_write_atomic(path, text, len, err);
    free(text);
done:
    tg_sgf_free(&sgf);
    return rc;
}

/* ---- The match ----------------------------------------------------------------------------- */

void tg_match_options_default(tg_match_options_t *o) {
    memset(o, 0, sizeof(*o));
    o->games = 1;
    o->board_size = 19;
    o->komi = 7.5f;
    o->rules = "tromp-taylor";
    o->max_moves = 800;
    o->move_timeout_s = 300;
    o->a.visits = 100;
    o->b.visits = 100;
}

/* ---- Statistics --------------------------------------------------------------------------------
 */

double tg_match_elo_from_winrate(double p) {
    if (p <= 0.0) return -INFINITY;
    if (p >= 1.0) return INFINITY;
    return 400.0 * log10(p / (1.0 - p));
}

void tg_match_compute_stats(double points, int n, tg_match_stats_t *out) {
    const double z = 1.959963984540054; /* two-sided 95% normal quantile */
    memset(out, 0, sizeof(*out));
    out->n = n;
    out->points = points;
    if (n <= 0) {
        out->winrate = 0.5;
        out->winrate_lo = 0.0;
        out->winrate_hi = 1.0;
    } else {
        /* Wilson score interval: the p whose normal test at z just accepts the result. Unlike
         * the plain normal interval it stays inside [0, 1] and is sensible at 0 or n wins. */
        double p = points / n, z2n = z * z / n;
        double centre = (p + z2n / 2.0) / (1.0 + z2n);
        double half = z * sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n);
        out->winrate = p;
        out->winrate_lo = centre - half < 0.0 ? 0.0 : centre - half;
        out->winrate_hi = centre + half > 1.0 ? 1.0 : centre + half;
        if (p == 0.0) out->winrate_lo = 0.0; /* exact: rounding must not give -1e-17 */
        if (p == 1.0) out->winrate_hi = 1.0;
    }
    out->elo = tg_match_elo_from_winrate(out->winrate);
    out->elo_lo = tg_match_elo_from_winrate(out->winrate_lo);
    out->elo_hi = tg_match_elo_from_winrate(out->winrate_hi);
}

void tg_match_result_stats(const tg_match_result_t *res, tg_match_stats_t *out) {
    int n = res->games - res->void_games;
    double points = res->a_wins + 0.5 * (res->draws - res->void_games);
    tg_match_compute_stats(points, n, out);
}

static int player_spec_ok(const tg_match_player_t *p) {
    return (p->model && p->model[0]) || (p->cmd && p->cmd[0]);
}

int tg_match_run(const tg_match_options_t *o, tg_match_result_t *res, tg_err_t *err) {
    memset(res, 0, sizeof(*res));
    if (!player_spec_ok(&o->a) || !player_spec_ok(&o->b))
        return tg_err_set(err, TG_EINVAL, "match: both players need an engine command or a model");
    for (int i = 0; i < 2; i++) {
        const tg_match_player_t *p = i ? &o->b : &o->a;
        if (p->model && p->model[0] &&
            (p->visits < 0 || p->time_s < 0 || isnan(p->time_s) || p->search_threads < 0 ||
             p->nn_threads < 0 || !(p->resign_threshold >= 0 && p->resign_threshold < 1)))
            return tg_err_set(err, TG_EINVAL,
                              "match: player %c: bad visits, time, threads or resign threshold",
                              'A' + i);
    }
    if (o->games < 1) return tg_err_set(err, TG_EINVAL, "match: games must be >= 1");
    if (o->board_size < 2 || o->board_size > TG_BOARD_MAX)
        return tg_err_set(err, TG_EINVAL, "match: board size %d out of range 2..%d", o->board_size,
                          TG_BOARD_MAX);
    if (o->max_moves < 1 || o->max_moves > TG_GAME_MAX_MOVES)
        return tg_err_set(err, TG_EINVAL, "match: max moves %d out of range 1..%d", o->max_moves,
                          TG_GAME_MAX_MOVES);
    if (isnan(o->komi) || o->komi * 2 != floorf(o->komi * 2) || o->komi < TG_RULES_MIN_USER_KOMI ||
        o->komi > TG_RULES_MAX_USER_KOMI)
        return tg_err_set(err, TG_EINVAL, "match: komi %g is not a multiple of 0.5 in [-150, 150]",
                          (double)o->komi);
    tg_rules_t rules;
    int rc = tg_rules_parse(o->rules ? o->rules : "tromp-taylor", &rules, err);
    if (rc) return rc;
    rules.komi = o->komi;
    if (o->sgf_dir && (rc = tg_mkdir_p(o->sgf_dir, err))) return rc;
    double t = o->move_timeout_s > 0 ? o->move_timeout_s : 300;
    FILE *out = o->summary ? o->summary : stdout;

    match_player_t procs[2];
    player_init(&procs[0], &o->a, 'A');
    player_init(&procs[1], &o->b, 'B');
    game_state_t *s = calloc(1, sizeof(*s));
    procs[0].buf = malloc(PROC_BUF_BYTES);
    procs[1].buf = malloc(PROC_BUF_BYTES);
    if (!s || !procs[0].buf || !procs[1].buf) {
        rc = tg_err_set(err, TG_ENOMEM, "match: out of memory");
        goto done;
    }
    for (int i = 0; i < 2; i++) {
        if ((rc = player_open(&procs[i], t, err))) {
            tg_err_prefix(err, "match: starting engine %c (%s)", procs[i].label, procs[i].desc);
            goto done;
        }
    }
    for (int game = 0; game < o->games; game++) {
        int black_idx = game % 2; /* A is Black in odd-numbered games (1, 3, ...) */
        rc = play_game(procs, black_idx, o, &rules, t, s, err);
        if (rc) goto done;
        res->games++;
        res->total_moves += s->game.num_moves;
        int winner_idx = -1;
        if (s->winner == TG_BLACK)
            winner_idx = black_idx;
        else if (s->winner == TG_WHITE)
            winner_idx = 1 - black_idx;
        if (winner_idx == 0) {
            res->a_wins++;
            if (s->winner == TG_BLACK)
                res->a_wins_black++;
            else
                res->a_wins_white++;
        } else if (winner_idx == 1) {
            res->b_wins++;
            if (s->winner == TG_BLACK)
                res->b_wins_black++;
            else
                res->b_wins_white++;
        } else {
            res->draws++;
        }
        res->void_games += s->end == END_VOID;
        res->illegal_moves += s->end == END_ILLEGAL;
        res->resignations += s->end == END_RESIGN;
        TG_LOGI("match: game %d/%d: black %c, white %c, %d moves, result %s%s%s", game + 1,
                o->games, procs[black_idx].label, procs[1 - black_idx].label, s->game.num_moves,
                s->result, s->note[0] ? " - " : "", s->note);
        if (o->sgf_dir && (rc = write_game_sgf(o, game, procs, black_idx, s, err))) goto done;
        for (int i = 0; i < 2; i++) {
            if (!s->broken[i]) continue;
            player_stop(&procs[i], 1);
            if (game + 1 == o->games) continue;
            TG_LOGW("match: restarting engine %c", procs[i].label);
            if ((rc = player_open(&procs[i], t, err))) {
                tg_err_prefix(err, "match: restarting engine %c (%s)", procs[i].label,
                              procs[i].desc);
                goto done;
            }
        }
    }
    tg_match_stats_t st;
    tg_match_result_stats(res, &st);
    fprintf(out, "engine A: %s (%s): %d wins (%d as black, %d as white)\n", procs[0].name,
            procs[0].desc, res->a_wins, res->a_wins_black, res->a_wins_white);
    fprintf(out, "engine B: %s (%s): %d wins (%d as black, %d as white)\n", procs[1].name,
            procs[1].desc, res->b_wins, res->b_wins_black, res->b_wins_white);
    fprintf(out,
            "draws: %d (void games: %d), illegal-move losses: %d, resignations: %d, "
            "moves: %d\n",
            res->draws, res->void_games, res->illegal_moves, res->resignations, res->total_moves);
    fprintf(out,
            "A's score: %.1f / %d = %.1f%% (95%% Wilson interval %.1f%% .. %.1f%%); "
            "Elo A - B: %+.0f (95%%: %+.0f .. %+.0f)\n",
            st.points, st.n, 100.0 * st.winrate, 100.0 * st.winrate_lo, 100.0 * st.winrate_hi,
            st.elo, st.elo_lo, st.elo_hi);
    fprintf(out,
            "match games=%d a_wins=%d b_wins=%d draws=%d a_winrate=%.4f elo=%.1f elo_lo=%.1f "
            "elo_hi=%.1f\n",
            res->games, res->a_wins, res->b_wins, res->draws, st.winrate, st.elo, st.elo_lo,
            st.elo_hi);
    fflush(out);
    rc = 0;
done:
    player_stop(&procs[0], 0);
    player_stop(&procs[1], 0);
    free(procs[0].buf);
    free(procs[1].buf);
    free(s);
    return rc;
}
