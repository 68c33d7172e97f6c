/* runtime_status.c: `tengen status RUNDIR`: a summary of a run from its files, whether a
 * `tengen run` is using the directory or not (it only reads files that are written
 * atomically, so a running loop is never disturbed). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "util/fileio.h"

/* Lists the subdirectories of dir holding a model.bin.gz, newest mtime last. */
static void rt__print_models(FILE *out, const char *label, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    int n = 0;
    char last[RT_NAME_MAX * 2] = "";
    int64_t last_mt = -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".exported")) continue;
        char p[RT_PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s/model.bin.gz", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        n++;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (mt > last_mt) {
            last_mt = mt;
            snprintf(last, sizeof(last), "%s", de->d_name);
        }
    }
    closedir(d);
    fprintf(out, "  %-16s %d%s%s\n", label, n, n ? ", newest " : "", last);
}

int tg_runtime_print_status(const char *dir, FILE *out, tg_err_t *err) {
    char p[RT_PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/state/run.state", dir);
    if (access(p, R_OK) != 0)
        return tg_err_set(err, TG_ENOTFOUND, "%s: no run here (no state/run.state)", dir);
    static char keys[64][64];
    static char vals[64][RT_PATH_MAX];
    int n = rt__read_kv_file(p, keys, vals, 64, err);
    if (n < 0) return n;
    /* Running? A live `tengen run` holds an exclusive flock on run.lock. */
    bool running = false;
    long pid = 0;
    snprintf(p, sizeof(p), "%s/run.lock", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (flock(fd, LOCK_SH | LOCK_NB) != 0) running = true;
        char buf[32] = "";
        ssize_t r = read(fd, buf, sizeof(buf) - 1);
        if (r > 0) pid = strtol(buf, NULL, 10);
        close(fd);
    }
    fprintf(out, "run %s: %s\n", dir, running ? "RUNNING" : "paused (not running)");
    if (running) fprintf(out, "  pid              %ld (kill -USR1 prints a status line)\n", pid);
    fprintf(out, "  at the last save point:\n");
    static const char *const shown[] = {"gen",
                                        "sessions",
                                        "games",
                                        "rows",
                                        "window_rows",
                                        "files",
                                        "steps",
                                        "samples",
                                        "samples_taken",
                                        "exports",
                                        "cycles",
                                        "current_net",
                                        "accepted_net",
                                        "last_export",
                                        "accepted_count",
                                        "rejected_count",
                                        "last_gate",
                                        "wall_s",
                                        "trainer_cpu_s",
                                        "process_cpu_s",
                                        "selfplay_wait_s"};
    for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++)
        for (int i = 0; i < n; i++)
            if (!strcmp(keys[i], shown[k]))
                fprintf(out, "    %-16s %s\n", keys[i], vals[i][0] ? vals[i] : "-");
    double tr = 0, tot = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(keys[i], "trainer_cpu_s")) tr = strtod(vals[i], NULL);
        if (!strcmp(keys[i], "process_cpu_s")) tot = strtod(vals[i], NULL);
    }
    if (tot > 0)
        fprintf(out, "    %-16s trainer %.2f, selfplay+gate %.2f of CPU time\n", "device shares",
                tr / tot, 1 - tr / tot);
    fprintf(out, "  models:\n");
    snprintf(p, sizeof(p), "%s/models", dir);
    rt__print_models(out, "accepted", p);
    snprintf(p, sizeof(p), "%s/modelstobetested", dir);
    rt__print_models(out, "to be tested", p);
    snprintf(p, sizeof(p), "%s/rejectedmodels", dir);
    rt__print_models(out, "rejected", p);
    /* Last metrics line (live counters, every few seconds while running). */
    snprintf(p, sizeof(p), "%s/metrics.jsonl", dir);
    char *text = NULL;
    size_t len = 0;
    tg_err_t e2;
    if (tg_file_read_all(p, 256u << 20, &text, &len, &e2) == 0 && len > 0) {
        size_t end = len;
        while (end > 0 && text[end - 1] == '\n')
            end--;
        size_t start = end;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        fprintf(out, "  last metrics:    %.*s\n", (int)(end - start), text + start);
    }
    free(text);
    snprintf(p, sizeof(p), "%s/elo.json", dir);
    text = NULL;
    if (tg_file_read_all(p, 64u << 20, &text, &len, &e2) == 0)
        fprintf(out, "  elo ladder (%s):\n%s", p, text);
    free(text);
    return 0;
}
