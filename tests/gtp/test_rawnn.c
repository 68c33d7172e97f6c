/* test_rawnn.c: the GTP engine with the real KataGo b6c96 net against KataGo's own answers.
 *
 * For each of the 17 golden positions (../shared/fixtures/katago-b6c96-rawnn-golden.json),
 * replays the exact GTP commands KataGo was given through our engine and compares every
 * kata-raw-nn response with KataGo's, token by token: words must be equal, numbers within the
 * fixture's suggested tolerance. Then checks that `kata-raw-nn all` gives the 8 symmetry
 * blocks in order, and that genmove with a net plays the legal move with the highest policy
 * (taken from KataGo's printed policy). Skipped (77) when the fixture files are missing. */
#include "gtp/gtp.h"

#include <ctype.h>

#include "test.h"
#include "util/fileio.h"

/* ---- A minimal JSON reader: just enough for the golden file's layout -------------------- */

typedef struct json_s {
    const char *s;
    size_t pos, len;
} json_t;

static void js_ws(json_t *j) {
    while (j->pos < j->len && isspace((unsigned char)j->s[j->pos]))
        j->pos++;
}

/* Decodes a string at j->pos into a malloc'ed buffer (escapes \n \t \" \\ \/ \uXXXX-ASCII). */
static char *js_string(json_t *j) {
    js_ws(j);
    if (j->pos >= j->len || j->s[j->pos] != '"') return NULL;
    j->pos++;
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    while (j->pos < j->len && j->s[j->pos] != '"') {
        char c = j->s[j->pos++];
        if (c == '\\' && j->pos < j->len) {
            char e = j->s[j->pos++];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (e == 'u' && j->pos + 4 <= j->len) {
                c = (char)strtol((char[5]){j->s[j->pos], j->s[j->pos + 1], j->s[j->pos + 2],
                                           j->s[j->pos + 3], 0},
                                 NULL, 16);
                j->pos += 4;
            }
        }
        if (n + 2 > cap) out = realloc(out, cap *= 2);
        out[n++] = c;
    }
    j->pos++;
    out[n] = '\0';
    return out;
}

static void js_skip(json_t *j) {
    js_ws(j);
    if (j->pos >= j->len) return;
    char c = j->s[j->pos];
    if (c == '"') {
        free(js_string(j));
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->pos++;
        js_ws(j);
        while (j->pos < j->len && j->s[j->pos] != close) {
            if (c == '{') {
                free(js_string(j));
                js_ws(j);
                j->pos++; /* ':' */
            }
            js_skip(j);
            js_ws(j);
            if (j->s[j->pos] == ',') j->pos++;
            js_ws(j);
        }
        j->pos++;
    } else {
        while (j->pos < j->len && !strchr(",]}", j->s[j->pos]))
            j->pos++;
    }
}

/* Iterates an object: returns the next key (malloc'ed) with j->pos at its value, or NULL at
 * the end. Call js_obj_begin first. */
static void js_begin(json_t *j) {
    js_ws(j);
    j->pos++; /* '{' or '[' */
}
static int js_more(json_t *j) {
    js_ws(j);
    if (j->s[j->pos] == ',') j->pos++;
    js_ws(j);
    if (j->s[j->pos] == '}' || j->s[j->pos] == ']') {
        j->pos++;
        return 0;
    }
    return 1;
}
static char *js_key(json_t *j) {
    char *k = js_string(j);
    js_ws(j);
    j->pos++; /* ':' */
    return k;
}

/* ---- Comparison ---------------------------------------------------------------------------- */

static double max_diff_small, max_diff_score;

/* Compares two kata-raw-nn texts token by token. Returns 1 if they agree. */
static int raw_texts_agree(const char *ours, const char *theirs, char *why, size_t cap) {
    char *a = strdup(ours), *b = strdup(theirs);
    char *sa, *sb;
    char *ta = strtok_r(a, " \n", &sa), *tb = strtok_r(b, " \n", &sb);
    int ok = 1, idx = 0;
    while (ta && tb) {
        char *ea, *eb;
        double va = strtod(ta, &ea), vb = strtod(tb, &eb);
        if (*ea == '\0' && *eb == '\0' && ea != ta && eb != tb && strcmp(tb, "NAN") != 0) {
            const char *dot = strchr(tb, '.');
            int decimals = dot ? (int)strlen(dot + 1) : 0;
            double d = fabs(va - vb);
            double tol = decimals <= 3 ? 5e-3 + 2e-5 * fabs(vb) : 2e-5;
            if (decimals <= 3) {
                if (d > max_diff_score) max_diff_score = d;
            } else if (d > max_diff_small) {
                max_diff_small = d;
            }
            if (d > tol) {
                snprintf(why, cap, "token %d: %s vs KataGo %s", idx, ta, tb);
                ok = 0;
                break;
            }
        } else if (strcmp(ta, tb) != 0) {
            snprintf(why, cap, "token %d: '%s' vs KataGo '%s'", idx, ta, tb);
            ok = 0;
            break;
        }
        ta = strtok_r(NULL, " \n", &sa);
        tb = strtok_r(NULL, " \n", &sb);
        idx++;
    }
    if (ok && (ta || tb)) {
        snprintf(why, cap, "token count differs at %d", idx);
        ok = 0;
    }
    free(a);
    free(b);
    return ok;
}

/* From a KataGo raw text: the vertex of the highest policy entry (or pass). */
static void best_policy_vertex(const char *raw, int n, char *vertex, size_t cap, double *margin) {
    const char *p = strstr(raw, "\npolicy\n");
    double best = -1, second = -1;
    int best_i = -1;
    p += 8;
    for (int i = 0; i < n * n; i++) {
        while (*p == ' ' || *p == '\n')
            p++;
        char *end;
        double v = strncmp(p, "NAN", 3) == 0 ? -1 : strtod(p, &end);
        p = strncmp(p, "NAN", 3) == 0 ? p + 3 : end;
        if (v > best) {
            second = best;
            best = v;
            best_i = i;
        } else if (v > second) {
            second = v;
        }
    }
    const char *pp = strstr(raw, "policyPass ");
    double pass = strtod(pp + 11, NULL);
    if (pass > best) {
        snprintf(vertex, cap, "pass");
        *margin = pass - best;
        return;
    }
    if (pass > second) second = pass;
    *margin = best - second;
    static const char letters[] = "ABCDEFGHJKLMNOPQRST";
    snprintf(vertex, cap, "%c%d", letters[best_i % n], n - best_i / n);
}

/* ---- The test ------------------------------------------------------------------------------ */

static char *golden_text;
static size_t golden_len;
static char model_path[1024];

static tg_gtp_engine_t *engine_with_model(void) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    o.model_path = model_path;
    o.nn_threads = 1;
    o.seed = 1;
    o.max_visits = 0; /* genmove by raw policy: checked against the golden policy below */
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    if (tg_gtp_engine_create(&o, &e, &err) != 0) printf("  engine: %s\n", err.msg);
    return e;
}

static const char *gtp(tg_gtp_engine_t *e, const char *line) {
    const char *r;
    tg_gtp_engine_handle_line(e, line, &r);
    return r;
}

TEST(golden_positions_through_gtp) {
    tg_gtp_engine_t *e = engine_with_model();
    ASSERT_TRUE(e != NULL);
    json_t j = {golden_text, 0, golden_len};
    int positions = 0, compared = 0, genmoves = 0;
    js_begin(&j);
    while (js_more(&j)) {
        char *key = js_key(&j);
        if (strcmp(key, "positions") != 0) {
            js_skip(&j);
            free(key);
            continue;
        }
        free(key);
        js_begin(&j);
        while (js_more(&j)) {
            char *id = NULL, *cmds[256], *raws[8];
            int ncmds = 0, nraws = 0, size = 19;
            js_begin(&j);
            while (js_more(&j)) {
                char *k = js_key(&j);
                if (!strcmp(k, "id")) {
                    id = js_string(&j);
                } else if (!strcmp(k, "board_size")) {
                    js_ws(&j);
                    size = atoi(j.s + j.pos);
                    js_skip(&j);
                } else if (!strcmp(k, "gtp_commands")) {
                    js_begin(&j);
                    while (js_more(&j)) {
                        char *c = js_string(&j);
                        if (ncmds < 256)
                            cmds[ncmds++] = c;
                        else
                            free(c);
                    }
                } else if (!strcmp(k, "outputs")) {
                    js_begin(&j);
                    while (js_more(&j)) {
                        js_begin(&j);
                        while (js_more(&j)) {
                            char *ok = js_key(&j);
                            if (!strcmp(ok, "raw_text") && nraws < 8)
                                raws[nraws++] = js_string(&j);
                            else
                                js_skip(&j);
                            free(ok);
                        }
                    }
                } else {
                    js_skip(&j);
                }
                free(k);
            }
            positions++;
            int raw_i = 0;
            for (int c = 0; c < ncmds; c++) {
                const char *r = gtp(e, cmds[c]);
                if (strncmp(cmds[c], "kata-raw-nn", 11) != 0) {
                    if (r[0] != '=') printf("  %s: '%s' -> %s", id, cmds[c], r);
                    ASSERT_TRUE(r[0] == '=');
                    continue;
                }
                ASSERT_TRUE(raw_i < nraws);
                ASSERT_TRUE(strncmp(r, "= symmetry ", 11) == 0);
                char why[256];
                if (!raw_texts_agree(r + 2, raws[raw_i], why, sizeof(why)))
                    printf("  %s, %s: %s\n", id, cmds[c], why);
                ASSERT_TRUE(raw_texts_agree(r + 2, raws[raw_i], why, sizeof(why)));
                ASSERT_TRUE(strstr(r, "\n\n") == r + strlen(r) - 2); /* one final blank line */
                raw_i++;
                compared++;
            }
            if (nraws == 8) {
                /* `all`: the 8 blocks, in symmetry order, as one GTP response. */
                const char *r = gtp(e, "kata-raw-nn all");
                ASSERT_TRUE(strncmp(r, "= symmetry 0\n", 13) == 0);
                size_t total = 0;
                for (int k = 0; k < 8; k++)
                    total += strlen(raws[k]) + 2;
                char *joined = calloc(1, total + 1);
                for (int k = 0; k < 8; k++) {
                    strcat(joined, raws[k]);
                    strcat(joined, "\n");
                }
                char why[256];
                int agree = raw_texts_agree(r + 2, joined, why, sizeof(why));
                if (!agree) printf("  %s, all: %s\n", id, why);
                ASSERT_TRUE(agree);
                ASSERT_TRUE(strstr(r, "\n\n") == r + strlen(r) - 2);
                free(joined);
            }
            /* genmove with a net plays the best legal move by policy, unless it is a near tie */
            char best[16];
            double margin;
            best_policy_vertex(raws[0], size, best, sizeof(best), &margin);
            char gm[32];
            int to_move_white = tg_gtp_engine_game(e)->to_move == TG_WHITE;
            snprintf(gm, sizeof(gm), "genmove %s", to_move_white ? "w" : "b");
            if (margin > 1e-3 && strstr(cmds[ncmds - 1], "kata-raw-nn 0")) {
                const char *r = gtp(e, gm);
                char want[32];
                snprintf(want, sizeof(want), "= %s\n\n", best);
                if (strcmp(r, want) != 0) printf("  %s: genmove gave %s", id, r);
                ASSERT_STREQ(r, want);
                genmoves++;
            }
            for (int c = 0; c < ncmds; c++)
                free(cmds[c]);
            for (int k = 0; k < nraws; k++)
                free(raws[k]);
            free(id);
        }
    }
    printf("  %d positions, %d kata-raw-nn answers compared, %d genmoves; max |diff| %.2g "
           "(policy/ownership/value), %.2g (score fields)\n",
           positions, compared, genmoves, max_diff_small, max_diff_score);
    ASSERT_EQ(positions, 17);
    ASSERT_TRUE(compared >= 24);
    ASSERT_TRUE(genmoves >= 8);
    /* argument checking */
    ASSERT_STREQ(gtp(e, "kata-raw-nn 8"),
                 "? Expected one argument 'all' or symmetry index [0-7] for kata-raw-nn but got "
                 "'8'\n\n");
    ASSERT_STREQ(gtp(e, "kata-raw-nn"),
                 "? Expected one argument 'all' or symmetry index [0-7] for kata-raw-nn but got "
                 "''\n\n");
    ASSERT_STREQ(gtp(e, "kata-raw-nn 0 2.0"),
                 "? Expected one argument 'all' or symmetry index [0-7] for kata-raw-nn but got "
                 "'0 2.0'\n\n");
    ASSERT_TRUE(strncmp(gtp(e, "kata-raw-nn b 0 0.5"), "= symmetry 0\n", 13) == 0);
    ASSERT_TRUE(strncmp(gtp(e, "kata-raw-nn white ALL"), "= symmetry 0\n", 13) == 0);
    tg_gtp_engine_destroy(e);
}

int main(void) {
    char golden_path[1024];
    snprintf(golden_path, sizeof(golden_path), "%s/katago-b6c96-rawnn-golden.json",
             test_fixtures_dir());
    snprintf(model_path, sizeof(model_path), "%s/g170-b6c96-s175395328-d26788732.bin.gz",
             test_fixtures_dir());
    tg_err_t err;
    FILE *f = fopen(model_path, "rb");
    if (!f || tg_file_read_all(golden_path, 64u << 20, &golden_text, &golden_len, &err) != 0) {
        printf("SKIP: fixtures not found in %s\n", test_fixtures_dir());
        if (f) fclose(f);
        return 77;
    }
    fclose(f);
    RUN(golden_positions_through_gtp);
    free(golden_text);
    TEST_MAIN_END();
}
