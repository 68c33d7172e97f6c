/* test.h: the tiny assertion framework every tengen test binary uses.
 *
 * Each test binary lists its cases with TEST(name) and runs them from main() with RUN(name).
 * ASSERT_* print both sides with file and line and mark the binary failed; the case returns at
 * the first failed assertion. TEST_MAIN_END returns non-zero when anything failed, and prints a
 * closing "N passed, N failed" line. Exit code 77 means skipped (ctest SKIP_RETURN_CODE). */
#ifndef TENGEN_TESTS_TEST_H
#define TENGEN_TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test__failed_cases, test__passed_cases, test__case_failed;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
    do {                                                                                           \
        test__case_failed = 0;                                                                     \
        test_##name();                                                                             \
        if (test__case_failed) {                                                                   \
            test__failed_cases++;                                                                  \
            printf("FAIL %s\n", #name);                                                            \
        } else {                                                                                   \
            test__passed_cases++;                                                                  \
            printf("ok   %s\n", #name);                                                            \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)
#define TEST_MAIN_END()                                                                            \
    do {                                                                                           \
        printf("%d passed, %d failed\n", test__passed_cases, test__failed_cases);                  \
        return test__failed_cases ? 1 : 0;                                                         \
    } while (0)

#define TEST__FAIL(...)                                                                            \
    do {                                                                                           \
        printf("  %s:%d: ", __FILE__, __LINE__);                                                   \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        test__case_failed = 1;                                                                     \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c)) TEST__FAIL("expected true: %s", #c);                                             \
    } while (0)
#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a__ = (long long)(a), b__ = (long long)(b);                                      \
        if (a__ != b__) TEST__FAIL("%s == %s: %lld != %lld", #a, #b, a__, b__);                    \
    } while (0)
#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        long long a__ = (long long)(a), b__ = (long long)(b);                                      \
        if (a__ == b__) TEST__FAIL("%s != %s: both %lld", #a, #b, a__);                            \
    } while (0)
#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a__ = (a), *b__ = (b);                                                         \
        if (!a__ || !b__ || strcmp(a__, b__) != 0)                                                 \
            TEST__FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a__ ? a__ : "(null)",                 \
                       b__ ? b__ : "(null)");                                                      \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h__ = (hay), *n__ = (needle);                                                  \
        if (!h__ || !strstr(h__, n__))                                                             \
            TEST__FAIL("\"%s\" does not contain \"%s\"", h__ ? h__ : "(null)", n__);               \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double a__ = (double)(a), b__ = (double)(b), t__ = (double)(tol);                          \
        if (!(fabs(a__ - b__) <= t__))                                                             \
            TEST__FAIL("%s ~= %s: %.9g vs %.9g (tol %.3g)", #a, #b, a__, b__, t__);                \
    } while (0)

/* Directory of the shared fixtures: $TENGEN_FIXTURES, set by ctest to ../shared/fixtures. */
static inline const char *test_fixtures_dir(void) {
    const char *d = getenv("TENGEN_FIXTURES");
    return d ? d : "../shared/fixtures";
}

#endif
