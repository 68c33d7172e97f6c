/* test_cli.c: `tengen export` end to end through the real binary ($TENGEN_BIN).
 *
 * A trainer checkpoint is saved, exported by the binary (by --name and by --prefix), and the
 * result must load with tg_model_load and equal a direct tg_export_model of the same weights.
 * A checkpoint holding an SWA average exports the average by default and the raw weights with
 * --no-swa. Usage errors exit 2, a corrupt checkpoint or a missing output directory exit 1 with
 * a message on stderr. Skips (77) when the binary has no `export` subcommand yet. */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "export/export.h"
#include "export_test_util.h"
#include "nn/model.h"
#include "test.h"
#include "train/train_internal.h"
#include "util/fileio.h"

static char g_dir[256];
static const char *g_bin;

/* Runs `$TENGEN_BIN export ARGS` with stdout+stderr to dir/out.txt; returns the exit code and
 * reads the output into out (n bytes). */
static int run_export(const char *args, char *out, size_t n) {
    char cmd[2048], log[300];
    snprintf(log, sizeof log, "%s/out.txt", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' export %s > '%s' 2>&1", g_bin, args, log);
    int st = system(cmd);
    out[0] = '\0';
    FILE *f = fopen(log, "rb");
    if (f) {
        size_t r = fread(out, 1, n - 1, f);
        out[r] = '\0';
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static trainer_t *g_trainer;
static char g_ckpt[512];

static int setup(void) {
    train_config_t c;
    if (train_config_by_name("b2c16", &c) != 0) return -1;
    train_options_t o;
    train_options_default(&o, &c);
    o.pos_len = 9;
    o.batch = 1;
    tg_err_t err;
    if (trainer_create(&g_trainer, &o, &err) != 0) return -1;
    train_model_t *m = trainer_model(g_trainer);
    for (size_t i = 0; i < m->num_params; i++) /* non-zero everywhere, deterministic */
        m->params[i] = (float)((int)(i % 13) - 6) * 0.01f;
    snprintf(g_ckpt, sizeof g_ckpt, "%s/t.ckpt", g_dir);
    if (trainer_save(g_trainer, g_ckpt, &err) != 0) {
        printf("  %s\n", err.msg);
        return -1;
    }
    return 0;
}

TEST(export_by_name_and_prefix) {
    char out[4096], args[1600], model[512], direct[512];
    snprintf(model, sizeof model, "%s/m.bin.gz", g_dir);
    snprintf(direct, sizeof direct, "%s/direct.bin", g_dir);
    snprintf(args, sizeof args, "--checkpoint '%s' --output '%s' --name cli-test", g_ckpt, model);
    int rc = run_export(args, out, sizeof out);
    if (rc != 0) printf("  %s", out);
    ASSERT_EQ(rc, 0);
    ASSERT_CONTAINS(out, "model=cli-test");
    tg_err_t err;
    tg_model_t *a = NULL, *b = NULL;
    ASSERT_EQ(tg_model_load(model, &a, &err), 0);
    ASSERT_STREQ(tg_model_name(a), "cli-test");
    ASSERT_EQ(tg_export_model(trainer_model(g_trainer), "cli-test", direct, &err), 0);
    ASSERT_EQ(tg_model_load(direct, &b, &err), 0);
    ASSERT_EQ(a->num_weights, b->num_weights);
    ASSERT_TRUE(memcmp(a->weights, b->weights, a->num_weights * sizeof(float)) == 0);
    tg_model_free(a);
    tg_model_free(b);

    snprintf(args, sizeof args, "-c '%s' -o '%s' --prefix run1 --data-rows 4242", g_ckpt, model);
    ASSERT_EQ(run_export(args, out, sizeof out), 0);
    ASSERT_EQ(tg_model_load(model, &a, &err), 0);
    ASSERT_STREQ(tg_model_name(a), "run1-s0-d4242");
    tg_model_free(a);
}

TEST(errors_and_usage) {
    char out[4096], args[1600], model[512], bad[512];
    snprintf(model, sizeof model, "%s/nodir/m.bin.gz", g_dir);
    snprintf(args, sizeof args, "--checkpoint '%s' --output '%s' --name x", g_ckpt, model);
    ASSERT_EQ(run_export(args, out, sizeof out), 1);
    ASSERT_CONTAINS(out, "does not exist");

    snprintf(bad, sizeof bad, "%s/bad.ckpt", g_dir);
    FILE *f = fopen(bad, "wb");
    ASSERT_TRUE(f != NULL);
    fputs("this is not a checkpoint, just some text that is long enough........................"
          "...............................................................................",
          f);
    fclose(f);
    snprintf(model, sizeof model, "%s/m2.bin.gz", g_dir);
    snprintf(args, sizeof args, "--checkpoint '%s' --output '%s' --name x", bad, model);
    ASSERT_EQ(run_export(args, out, sizeof out), 1);
    ASSERT_CONTAINS(out, "not a tengen checkpoint");
    struct stat st;
    ASSERT_TRUE(stat(model, &st) != 0);

    snprintf(args, sizeof args, "--checkpoint '%s'", g_ckpt);
    ASSERT_EQ(run_export(args, out, sizeof out), 2);
    snprintf(args, sizeof args, "--checkpoint '%s' --output '%s' --name a --prefix b", g_ckpt,
             model);
    ASSERT_EQ(run_export(args, out, sizeof out), 2);
    ASSERT_EQ(run_export("--data-rows -5 --checkpoint x --output y.bin --name z", out, sizeof out),
              2);
    ASSERT_EQ(run_export("--help", out, sizeof out), 0);
    ASSERT_CONTAINS(out, "--checkpoint");
}

TEST(swa_by_default_raw_with_no_swa) {
    /* A checkpoint whose SWA average differs from the params everywhere. */
    const train_model_t *m = trainer_model(g_trainer);
    const size_t np = m->num_params;
    train_swa_t swa = {malloc(np * sizeof(float)), 3, 40};
    float *slow = malloc(np * sizeof(float));
    ASSERT_TRUE(swa.avg && slow);
    for (size_t i = 0; i < np; i++)
        swa.avg[i] = 0.5f * m->params[i] + 0.003f, slow[i] = m->params[i];
    train_ckpt_state_t st = {.steps = 9, .samples = 72};
    char ckpt[512], model[512], out[4096], args[1600];
    snprintf(ckpt, sizeof ckpt, "%s/swa.ckpt", g_dir);
    snprintf(model, sizeof model, "%s/swa.bin.gz", g_dir);
    tg_err_t err;
    ASSERT_EQ(train__ckpt_save(ckpt, m, slow, &swa, &st, &err), 0);
    train_model_t avg = *m;
    avg.params = swa.avg;

    snprintf(args, sizeof args, "-c '%s' -o '%s' --prefix b2c16", ckpt, model);
    int rc = run_export(args, out, sizeof out);
    if (rc != 0) printf("  %s", out);
    ASSERT_EQ(rc, 0);
    ASSERT_CONTAINS(out, "model=b2c16-s72-d0");
    ASSERT_CONTAINS(out, "weights=swa swa_updates=3");
    ASSERT_EQ(export_test_same_weights(model, &avg, g_dir), 0);
    ASSERT_NE(export_test_same_weights(model, m, g_dir), 0);

    snprintf(args, sizeof args, "-c '%s' -o '%s' --prefix b2c16 --no-swa", ckpt, model);
    ASSERT_EQ(run_export(args, out, sizeof out), 0);
    ASSERT_CONTAINS(out, "weights=raw swa_updates=3");
    ASSERT_EQ(export_test_same_weights(model, m, g_dir), 0);

    /* The earlier checkpoint has no average: raw weights either way. */
    snprintf(args, sizeof args, "-c '%s' -o '%s' --name plain", g_ckpt, model);
    ASSERT_EQ(run_export(args, out, sizeof out), 0);
    ASSERT_CONTAINS(out, "weights=raw swa_updates=0");
    ASSERT_EQ(export_test_same_weights(model, m, g_dir), 0);
    free(swa.avg);
    free(slow);
}

int main(void) {
    g_bin = getenv("TENGEN_BIN");
    if (!g_bin) {
        printf("SKIP: TENGEN_BIN not set\n");
        return 77;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/tg_export_cli_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    char out[4096];
    int rc = run_export("--help", out, sizeof out);
    if (rc != 0 || !strstr(out, "--checkpoint")) {
        printf("SKIP: %s has no `export` subcommand yet\n", g_bin);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) return 77;
        return 77;
    }
    if (setup() != 0) {
        printf("setup failed\n");
        return 1;
    }
    RUN(export_by_name_and_prefix);
    RUN(errors_and_usage);
    RUN(swa_by_default_raw_with_no_swa);
    trainer_destroy(g_trainer);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", g_dir);
    TEST_MAIN_END();
}
