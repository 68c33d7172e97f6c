/* test_json.c: the JSON reader (util/json.h): values, nesting, escapes and UTF-8, lookups,
 * and rejection of malformed input with a line/column message. */
#include <string.h>

#include "test.h"
#include "util/json.h"

static tg_json_t *parse_ok(const char *text) {
    tg_json_t *v = NULL;
    tg_err_t err;
    if (tg_json_parse(text, strlen(text), &v, &err) < 0) {
        printf("  unexpected error: %s\n", err.msg);
        return NULL;
    }
    return v;
}

TEST(values_and_lookup) {
    tg_json_t *v = parse_ok(" {\"a\": [1, -2.5e2, true, false, null], \"s\": \"x\\ty\","
                            " \"o\": {\"k\": 0.125}, \"e\": [], \"a\": 7}\n");
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ(v->type, TG_JSON_OBJECT);
    ASSERT_EQ(tg_json_count(v), 5);
    const tg_json_t *a = tg_json_get(v, "a"); /* first of the duplicate keys */
    ASSERT_EQ(a->type, TG_JSON_ARRAY);
    ASSERT_EQ(tg_json_count(a), 5);
    ASSERT_NEAR(tg_json_number(tg_json_at(a, 0), 0), 1.0, 0);
    ASSERT_NEAR(tg_json_number(tg_json_at(a, 1), 0), -250.0, 0);
    ASSERT_TRUE(tg_json_bool(tg_json_at(a, 2), false));
    ASSERT_TRUE(!tg_json_bool(tg_json_at(a, 3), true));
    ASSERT_EQ(tg_json_at(a, 4)->type, TG_JSON_NULL);
    ASSERT_TRUE(tg_json_at(a, 5) == NULL);
    ASSERT_STREQ(tg_json_string(tg_json_get(v, "s")), "x\ty");
    ASSERT_NEAR(tg_json_number(tg_json_get(tg_json_get(v, "o"), "k"), 0), 0.125, 0);
    ASSERT_EQ(tg_json_count(tg_json_get(v, "e")), 0);
    ASSERT_TRUE(tg_json_get(v, "missing") == NULL);
    ASSERT_TRUE(tg_json_string(tg_json_get(v, "o")) == NULL);
    ASSERT_NEAR(tg_json_number(tg_json_get(v, "s"), 3.0), 3.0, 0);
    tg_json_free(v);
}

TEST(unicode_escapes) {
    tg_json_t *v = parse_ok("[\"\\u00e9\\u4e2d\\ud83d\\ude00\\\"\\\\\\/\"]");
    ASSERT_TRUE(v != NULL);
    ASSERT_STREQ(tg_json_string(tg_json_at(v, 0)), "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"\\/");
    tg_json_free(v);
}

TEST(malformed_input_is_refused) {
    const char *bad[] = {"",           "[1,]",          "{\"a\" 1}",   "[01]", "[1.]",
                         "\"abc",      "[\"\\ud800\"]", "{\"a\":1} x", "[-]",  "tru",
                         "[\"a\nb\"]", "{1:2}",         "[1e]"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        tg_json_t *v = NULL;
        tg_err_t err;
        int rc = tg_json_parse(bad[i], strlen(bad[i]), &v, &err);
        if (rc != TG_EFORMAT) printf("  accepted: %s\n", bad[i]);
        ASSERT_EQ(rc, TG_EFORMAT);
        ASSERT_TRUE(v == NULL);
        ASSERT_CONTAINS(err.msg, "json: line");
    }
    /* Position of the error. */
    tg_json_t *v;
    tg_err_t err;
    const char *t = "{\n  \"a\": [1,\n  2,, 3]}";
    ASSERT_EQ(tg_json_parse(t, strlen(t), &v, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "line 3");
    /* Deep nesting is bounded. */
    static char deep[2000];
    memset(deep, '[', 1000);
    deep[1000] = '\0';
    ASSERT_EQ(tg_json_parse(deep, strlen(deep), &v, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "too deep");
}

int main(void) {
    RUN(values_and_lookup);
    RUN(unicode_escapes);
    RUN(malformed_input_is_refused);
    TEST_MAIN_END();
}
