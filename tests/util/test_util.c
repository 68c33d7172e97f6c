/* test_util.c: errors, RNG determinism and distributions, atomic file writes. */
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/rng.h"

TEST(err_helpers) {
    tg_err_t err = {0};
    ASSERT_EQ(tg_err_set(&err, TG_EFORMAT, "line %d: bad", 3), TG_EFORMAT);
    ASSERT_STREQ(err.msg, "line 3: bad");
    tg_err_prefix(&err, "file.sgf");
    ASSERT_STREQ(err.msg, "file.sgf: line 3: bad");
    ASSERT_EQ(tg_err_set(NULL, TG_EIO, "ignored"), TG_EIO);
    ASSERT_STREQ(tg_strerror(TG_EIO), "input/output error");
    tg_err_clear(&err);
    ASSERT_EQ(err.code, 0);
}

TEST(rng_deterministic) {
    tg_rng_t a, b, c;
    tg_rng_seed(&a, 42, 0);
    tg_rng_seed(&b, 42, 0);
    tg_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = tg_rng_u64(&a), y = tg_rng_u64(&b), z = tg_rng_u64(&c);
        ASSERT_EQ(x, y);
        same_c += (x == z);
    }
    ASSERT_EQ(same_c, 0);
}

TEST(rng_distributions) {
    tg_rng_t r;
    tg_rng_seed(&r, 7, 0);
    int counts[7] = {0};
    double sum = 0, sumsq = 0, gsum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        uint32_t k = tg_rng_below(&r, 7);
        ASSERT_TRUE(k < 7);
        counts[k]++;
        double u = tg_rng_uniform(&r);
        ASSERT_TRUE(u >= 0 && u < 1);
        double z = tg_rng_normal(&r);
        sum += z;
        sumsq += z * z;
        gsum += tg_rng_gamma(&r, 0.3);
    }
    for (int k = 0; k < 7; k++)
        ASSERT_NEAR(counts[k] / (double)n, 1.0 / 7, 0.01);
    ASSERT_NEAR(sum / n, 0.0, 0.02);
    ASSERT_NEAR(sumsq / n, 1.0, 0.02);
    ASSERT_NEAR(gsum / n, 0.3, 0.01); /* mean of Gamma(k,1) is k */
}

TEST(atomic_write) {
    char dir[128], path[200];
    tg_err_t err = {0};
    snprintf(dir, sizeof(dir), "/tmp/tengen_test_util_%d/a/b", (int)getpid());
    ASSERT_EQ(tg_mkdir_p(dir, &err), 0);
    snprintf(path, sizeof(path), "%s/file.txt", dir);
    ASSERT_EQ(tg_file_write_atomic(path, "hello", 5, &err), 0);
    ASSERT_EQ(tg_file_write_atomic(path, "world!", 6, &err), 0);
    char *data;
    size_t len;
    ASSERT_EQ(tg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
    ASSERT_EQ(len, 6);
    ASSERT_STREQ(data, "world!");
    free(data);
    ASSERT_EQ(tg_file_read_all(path, 3, &data, &len, &err), TG_ERANGE);
    /* An aborted write leaves the old file and no temp file behind. */
    tg_atomic_file_t af;
    ASSERT_EQ(tg_atomic_file_open(&af, path, &err), 0);
    fputs("partial", af.fp);
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s", af.tmp_path);
    tg_atomic_file_abort(&af);
    struct stat st;
    ASSERT_TRUE(stat(tmp, &st) != 0);
    ASSERT_EQ(tg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
    ASSERT_STREQ(data, "world!");
    free(data);
    ASSERT_EQ(tg_file_write_atomic("/nonexistent_dir/x", "a", 1, &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "/nonexistent_dir/x");
    unlink(path);
}

TEST(log_file) {
    char path[128];
    tg_err_t err = {0};
    snprintf(path, sizeof(path), "/tmp/tengen_test_log_%d.log", (int)getpid());
    tg_log_set_level(TG_LOG_OFF);
    ASSERT_EQ(tg_log_open_file(path, TG_LOG_INFO, &err), 0);
    tg_log_set_thread_name("tester");
    TG_LOGI("value=%d", 42);
    TG_LOGD("hidden");
    tg_log_close_file();
    char *data;
    size_t len;
    ASSERT_EQ(tg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
    ASSERT_CONTAINS(data, "INFO  [tester] value=42");
    ASSERT_TRUE(strstr(data, "hidden") == NULL);
    free(data);
    unlink(path);
    tg_log_level_t lv;
    ASSERT_EQ(tg_log_parse_level("warn", &lv), 0);
    ASSERT_EQ(lv, TG_LOG_WARN);
    ASSERT_EQ(tg_log_parse_level("loud", &lv), TG_EINVAL);
}

int main(void) {
    RUN(err_helpers);
    RUN(rng_deterministic);
    RUN(rng_distributions);
    RUN(atomic_write);
    RUN(log_file);
    TEST_MAIN_END();
}
