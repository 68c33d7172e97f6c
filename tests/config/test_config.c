/* test_config.c: the config schema: defaults, file loading, every kind of error with its
 * "file:line: key: what" message, --set overrides, and the printed config re-loading. */
#include <stdio.h>
#include <unistd.h>

#include "config/config.h"
#include "test.h"

static char tmp_path[256];

static const char *write_tmp(const char *text) {
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/tengen_test_config_%d.ini", (int)getpid());
    FILE *f = fopen(tmp_path, "w");
    fputs(text, f);
    fclose(f);
    return tmp_path;
}

TEST(defaults) {
    tg_config_t cfg;
    tg_config_init_defaults(&cfg);
    ASSERT_EQ(cfg.game_board_size, 19);
    ASSERT_NEAR(cfg.game_komi, 7.5, 0);
    ASSERT_STREQ(cfg.game_rules, "tromp-taylor");
    ASSERT_STREQ(cfg.log_level, "info");
    ASSERT_EQ(cfg.nn_max_batch, 16);
}

TEST(load_ok) {
    tg_config_t cfg;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    const char *p =
        write_tmp("# comment\n[game]\nboard_size = 9\nkomi = 7\n\n[log]\nlevel = debug\n");
    ASSERT_EQ(tg_config_load_file(&cfg, p, &err), 0);
    ASSERT_EQ(cfg.game_board_size, 9);
    ASSERT_NEAR(cfg.game_komi, 7.0, 0);
    ASSERT_STREQ(cfg.log_level, "debug");
    ASSERT_EQ(cfg.origin_line[TG_CONFIG_KEY_game_board_size], 3);
}

static void expect_error(const char *text, int code, const char *msg_part) {
    tg_config_t cfg;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    const char *p = write_tmp(text);
    int rc = tg_config_load_file(&cfg, p, &err);
    if (rc != code || !strstr(err.msg, msg_part) || !strstr(err.msg, p)) {
        printf("  config error mismatch for:\n%s\n  got rc=%d msg=%s (want %d, '%s')\n", text, rc,
               err.msg, code, msg_part);
        test__case_failed = 1;
    }
}

TEST(errors) {
    expect_error("[game]\nboard_size = 25\n", TG_ERANGE,
                 ":2: game.board_size: 25 is out of range [2, 19]");
    expect_error("[game]\n\nboard_size = nine\n", TG_EFORMAT,
                 ":3: game.board_size: \"nine\" is not an integer");
    expect_error("[game]\nkomi = 7.5x\n", TG_EFORMAT, ":2: game.komi: \"7.5x\" is not a number");
    expect_error("[game]\nkomi = 1000\n", TG_ERANGE, ":2: game.komi: 1000 is out of range");
    expect_error("[game]\nboardsize = 9\n", TG_EFORMAT, ":2: game.boardsize: unknown key");
    expect_error("[gamez]\nboard_size = 9\n", TG_EFORMAT, ":2: [gamez]: unknown section");
    expect_error("[log]\nlevel = loud\n", TG_EFORMAT,
                 ":2: log.level: \"loud\" is not one of debug|info|warn|error");
    expect_error("[game]\nboard_size = 9\nboard_size = 13\n", TG_EFORMAT,
                 ":3: game.board_size: already set on line 2");
    expect_error("[game]\nthis line has no equals\n", TG_EFORMAT, ":2: syntax error");
    expect_error("[game\nkomi = 6\n", TG_EFORMAT, ":1: syntax error");
    expect_error("board_size = 9\n", TG_EFORMAT, "[]: unknown section");
}

TEST(missing_file) {
    tg_config_t cfg;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    ASSERT_EQ(tg_config_load_file(&cfg, "/nonexistent/tengen.ini", &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "/nonexistent/tengen.ini: cannot open");
}

TEST(set_overrides) {
    tg_config_t cfg;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    ASSERT_EQ(tg_config_set(&cfg, "game.board_size=13", &err), 0);
    ASSERT_EQ(cfg.game_board_size, 13);
    ASSERT_EQ(tg_config_set(&cfg, "nn.model=/x/y.bin.gz", &err), 0);
    ASSERT_STREQ(cfg.nn_model, "/x/y.bin.gz");
    ASSERT_EQ(tg_config_set(&cfg, "game.board_size=1", &err), TG_ERANGE);
    ASSERT_CONTAINS(err.msg, "--set: game.board_size: 1 is out of range");
    ASSERT_EQ(tg_config_set(&cfg, "nosuch.key=1", &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "unknown key");
    ASSERT_EQ(tg_config_set(&cfg, "komi", &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "expected section.key=value");
}

TEST(print_reloads) {
    tg_config_t cfg, again;
    tg_err_t err = {0};
    tg_config_init_defaults(&cfg);
    ASSERT_EQ(tg_config_set(&cfg, "game.komi=6.5", &err), 0);
    ASSERT_EQ(tg_config_set(&cfg, "log.level=warn", &err), 0);
    char printed[256];
    snprintf(printed, sizeof(printed), "/tmp/tengen_test_config_print_%d.ini", (int)getpid());
    FILE *f = fopen(printed, "w");
    tg_config_print(&cfg, f);
    fclose(f);
    tg_config_init_defaults(&again);
    ASSERT_EQ(tg_config_load_file(&again, printed, &err), 0);
    ASSERT_NEAR(again.game_komi, 6.5, 0);
    ASSERT_STREQ(again.log_level, "warn");
    unlink(printed);
}

TEST(schema_defaults_valid) {
    for (int i = 0; i < TG_CONFIG_NUM_KEYS; i++) {
        const tg_config_key_info_t *k = tg_config_key_info(i);
        ASSERT_TRUE(k != NULL);
        ASSERT_TRUE(k->doc[0] != '\0');
    }
    ASSERT_TRUE(tg_config_key_info(TG_CONFIG_NUM_KEYS) == NULL);
}

int main(void) {
    RUN(defaults);
    RUN(load_ok);
    RUN(errors);
    RUN(missing_file);
    RUN(set_overrides);
    RUN(print_reloads);
    RUN(schema_defaults_valid);
    unlink(tmp_path);
    TEST_MAIN_END();
}
