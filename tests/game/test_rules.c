/* test_rules.c: ruleset parsing (presets, JSON, KataGo short form) and kata-get-rules JSON. */
#include "test.h"

#include "game/rules.h"

static char json[512];

static const char *J(const char *text) {
    static tg_err_t err;
    tg_rules_t r;
    if (tg_rules_parse(text, &r, &err) != 0) return err.msg;
    tg_rules_to_json(&r, json, sizeof json);
    return json;
}

TEST(presets_to_json) {
    ASSERT_STREQ(J("tromp-taylor"),
                 "{\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"POSITIONAL\",\"scoring\":"
                 "\"AREA\",\"suicide\":true,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"0\"}");
    ASSERT_STREQ(J("Chinese"),
                 "{\"friendlyPassOk\":true,\"hasButton\":false,\"ko\":\"SIMPLE\",\"scoring\":"
                 "\"AREA\",\"suicide\":false,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"N\"}");
    ASSERT_STREQ(J("  JAPANESE "),
                 "{\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"SIMPLE\",\"scoring\":"
                 "\"TERRITORY\",\"suicide\":false,\"tax\":\"SEKI\",\"whiteHandicapBonus\":\"0\"}");
    ASSERT_STREQ(J("aga"),
                 "{\"friendlyPassOk\":true,\"hasButton\":false,\"ko\":\"SITUATIONAL\",\"scoring\":"
                 "\"AREA\",\"suicide\":false,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"N-1\"}");
    ASSERT_CONTAINS(J("aga-button"), "\"hasButton\":true");
    ASSERT_CONTAINS(J("new-zealand"), "\"ko\":\"SITUATIONAL\"");
    ASSERT_CONTAINS(J("nz"), "\"suicide\":true");
    ASSERT_CONTAINS(J("chinese-ogs"), "\"ko\":\"POSITIONAL\"");
    ASSERT_CONTAINS(J("chinese_kgs"), "\"suicide\":false");
    ASSERT_CONTAINS(J("stone-scoring"), "\"tax\":\"ALL\"");
    ASSERT_CONTAINS(J("korean"), "\"scoring\":\"TERRITORY\"");
    ASSERT_CONTAINS(J("bga"), "\"ko\":\"SITUATIONAL\"");
    ASSERT_CONTAINS(J("french"), "\"whiteHandicapBonus\":\"N-1\"");
}

TEST(preset_komi) {
    tg_rules_t r;
    ASSERT_EQ(tg_rules_parse("japanese", &r, NULL), 0);
    ASSERT_NEAR(r.komi, 6.5, 0);
    ASSERT_EQ(tg_rules_parse("aga-button", &r, NULL), 0);
    ASSERT_NEAR(r.komi, 7.0, 0);
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &r, NULL), 0);
    ASSERT_NEAR(r.komi, 7.5, 0);
    tg_rules_t d = tg_rules_default();
    ASSERT_TRUE(tg_rules_equal(&r, &d));
}

TEST(short_form) {
    tg_rules_t r;
    ASSERT_EQ(tg_rules_parse("koSITUATIONALscoreTERRITORYtaxALLsui1komi5.5", &r, NULL), 0);
    ASSERT_EQ(r.ko, TG_KO_SITUATIONAL);
    ASSERT_EQ(r.scoring, TG_SCORING_TERRITORY);
    ASSERT_EQ(r.tax, TG_TAX_ALL);
    ASSERT_TRUE(r.multi_stone_suicide_legal);
    ASSERT_NEAR(r.komi, 5.5, 0);
    /* tax and komi defaults follow the scoring rule */
    ASSERT_EQ(tg_rules_parse("koSIMPLEscoreTERRITORYsui0", &r, NULL), 0);
    ASSERT_EQ(r.tax, TG_TAX_SEKI);
    ASSERT_NEAR(r.komi, 6.5, 0);
    ASSERT_EQ(tg_rules_parse("koPOSITIONALscoreAREAsui1button1whbN-1fpok1", &r, NULL), 0);
    ASSERT_TRUE(r.has_button);
    ASSERT_EQ(r.white_handicap_bonus, TG_WHB_N_MINUS_1);
    ASSERT_TRUE(r.friendly_pass_ok);
    ASSERT_NEAR(r.komi, 7.0, 0);
    char s[128];
    tg_rules_to_string(&r, s, sizeof s);
    ASSERT_STREQ(s, "koPOSITIONALscoreAREAtaxNONEsui1button1whbN-1fpok1");
    tg_err_t err;
    ASSERT_EQ(tg_rules_parse("koFOO", &r, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "could not parse rules");
    ASSERT_EQ(tg_rules_parse("", &r, &err), TG_EINVAL);
    ASSERT_EQ(tg_rules_parse("klingon", &r, &err), TG_EINVAL);
}

TEST(json_form) {
    tg_rules_t r;
    tg_err_t err;
    ASSERT_EQ(
        tg_rules_parse("{\"ko\":\"SIMPLE\",\"scoring\":\"TERRITORY\",\"suicide\":false}", &r, &err),
        0);
    ASSERT_EQ(r.ko, TG_KO_SIMPLE);
    ASSERT_EQ(r.tax, TG_TAX_SEKI);
    ASSERT_NEAR(r.komi, 6.5, 0);
    ASSERT_TRUE(!r.multi_stone_suicide_legal);
    ASSERT_EQ(tg_rules_parse("{\"komi\": 6, \"hasButton\": true, \"whiteHandicapBonus\": \"N\", "
                             "\"friendlyPassOk\": true, \"tax\": \"ALL\"}",
                             &r, &err),
              0);
    ASSERT_NEAR(r.komi, 6.0, 0);
    ASSERT_TRUE(r.has_button && r.friendly_pass_ok);
    ASSERT_EQ(r.white_handicap_bonus, TG_WHB_N);
    ASSERT_EQ(r.tax, TG_TAX_ALL);
    ASSERT_EQ(tg_rules_parse("{\"komi\":6.3}", &r, &err), TG_EINVAL);
    ASSERT_EQ(tg_rules_parse("{\"color\":\"red\"}", &r, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "unknown rules option");
    ASSERT_EQ(tg_rules_parse("{\"ko\":\"simple\"}", &r, &err), TG_EINVAL);
    ASSERT_EQ(tg_rules_parse("{\"ko\":\"SIMPLE\"", &r, &err), TG_EINVAL);
    /* JSON round trip through kata-get-rules output */
    tg_rules_t a;
    ASSERT_EQ(tg_rules_parse("aga-button", &a, NULL), 0);
    char js[512];
    tg_rules_to_json_with_komi(&a, js, sizeof js);
    ASSERT_CONTAINS(js, "\"komi\":7.0,");
    ASSERT_EQ(tg_rules_parse(js, &r, &err), 0);
    ASSERT_TRUE(tg_rules_equal(&a, &r));
    ASSERT_TRUE(tg_rules_result_is_integer(&r) == false); /* integer komi + button */
}

int main(void) {
    RUN(presets_to_json);
    RUN(preset_komi);
    RUN(short_form);
    RUN(json_form);
    TEST_MAIN_END();
}
