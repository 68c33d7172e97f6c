/* test_trainrows.c: the training-row batch: sizes for several pos_len, bit packing against a
 * hand-packed vector and its inverse, the score-distribution target against formats.md §4.7's
 * worked examples and its sum-to-100 invariant, game-hash chunks, write_npz -> load_npz round
 * trips, and load_npz on KataGo's benchmark file (64 -> 80 channel padding, packing identical
 * to the file's bytes) and on files with missing keys or wrong shapes. */
#include "data/trainrows.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "data/npz.h"
#include "test.h"
#include "util/rng.h"

static char tmp_dir[64];

TEST(sizes) {
    trainrows_t tr;
    tg_err_t err = {0};
    ASSERT_EQ(trainrows_init(&tr, 19, 3, &err), 0);
    ASSERT_EQ(tr.area, 361);
    ASSERT_EQ(tr.packed_len, 46);
    ASSERT_EQ(tr.policy_len, 362);
    ASSERT_EQ(tr.score_len, 842);
    ASSERT_EQ(tr.num_rows, 0);
    ASSERT_EQ((uintptr_t)tr.global_targets % 64, 0);
    trainrows_free(&tr);
    ASSERT_EQ(trainrows_init(&tr, 9, 3, &err), 0);
    ASSERT_EQ(tr.packed_len, 11);
    ASSERT_EQ(tr.policy_len, 82);
    ASSERT_EQ(tr.score_len, 282);
    trainrows_free(&tr);
    trainrows_free(&tr);
    ASSERT_EQ(trainrows_init(&tr, 20, 3, &err), TG_EINVAL);
    ASSERT_EQ(trainrows_init(&tr, 19, 0, &err), TG_EINVAL);
}

TEST(append_until_full) {
    trainrows_t tr;
    tg_err_t err = {0};
    ASSERT_EQ(trainrows_init(&tr, 7, 4, &err), 0);
    for (int i = 0; i < 4; i++) {
        int row = trainrows_append(&tr);
        ASSERT_EQ(row, i);
        /* Dirty the row so that the next append after clear must zero it again. */
        memset(trainrows_value_row(&tr, row), 5, 5 * 49);
        trainrows_policy_row(&tr, row)[3] = 9;
    }
    ASSERT_EQ(trainrows_append(&tr), TG_ERANGE);
    ASSERT_EQ(tr.num_rows, 4);
    trainrows_clear(&tr);
    ASSERT_EQ(trainrows_append(&tr), 0);
    const float *gt = trainrows_global_targets_row(&tr, 0);
    for (int c = 0; c < TRAINROWS_GLOBAL_TARGETS; c++)
        ASSERT_EQ(gt[c], c == TRAINROWS_GT_DATA_VERSION ? 3.0f : 0.0f);
    for (int i = 0; i < 5 * 49; i++)
        ASSERT_EQ(trainrows_value_row(&tr, 0)[i], 0);
    ASSERT_EQ(trainrows_policy_row(&tr, 0)[3], 0);
    trainrows_free(&tr);
}

TEST(pack_bits) {
    const float v[10] = {1, 0, 2.5f, 1, 0, 0, 0, -1, 1, 1};
    uint8_t out[2] = {0xFF, 0xFF};
    trainrows_pack_bits(v, 10, out);
    ASSERT_EQ(out[0], 0xB1); /* 1011 0001 */
    ASSERT_EQ(out[1], 0xC0); /* 11 + six zero pad bits */
    float back[10];
    trainrows_unpack_bits(out, 10, back);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(back[i], v[i] != 0.0f ? 1.0f : 0.0f);

    tg_rng_t rng;
    tg_rng_seed(&rng, 5, 0);
    float plane[361], again[361];
    uint8_t packed[46];
    for (int i = 0; i < 361; i++)
        plane[i] = (float)tg_rng_below(&rng, 2);
    trainrows_pack_bits(plane, 361, packed);
    ASSERT_EQ(packed[45] & 0x7F, 0);
    for (int i = 0; i < 361; i++)
        ASSERT_EQ((packed[i / 8] >> (7 - i % 8)) & 1, (int)plane[i]);
    trainrows_unpack_bits(packed, 361, again);
    ASSERT_TRUE(memcmp(plane, again, sizeof(plane)) == 0);
}

TEST(inputs_round_trip) {
    trainrows_t tr;
    tg_err_t err = {0};
    ASSERT_EQ(trainrows_init(&tr, 13, 2, &err), 0);
    static float spatial[22 * 169], back[22 * 169];
    float global[19], gback[19];
    tg_rng_t rng;
    tg_rng_seed(&rng, 11, 0);
    for (int i = 0; i < 22 * 169; i++)
        spatial[i] = tg_rng_below(&rng, 3) == 0 ? 1.0f : 0.0f;
    for (int i = 0; i < 19; i++)
        global[i] = (float)tg_rng_normal(&rng);
    ASSERT_EQ(trainrows_append(&tr), 0);
    ASSERT_EQ(trainrows_append(&tr), 1);
    trainrows_set_inputs(&tr, 1, spatial, global);
    trainrows_get_inputs(&tr, 1, back, gback);
    ASSERT_TRUE(memcmp(spatial, back, sizeof(spatial)) == 0);
    ASSERT_TRUE(memcmp(global, gback, sizeof(global)) == 0);
    /* Row 0 untouched. */
    for (int i = 0; i < 22 * tr.packed_len; i++)
        ASSERT_EQ(trainrows_binary_row(&tr, 0)[i], 0);
    trainrows_free(&tr);
}

TEST(score_distr) {
    trainrows_t tr;
    tg_err_t err = {0};
    ASSERT_EQ(trainrows_init(&tr, 19, 1, &err), 0);
    ASSERT_EQ(trainrows_append(&tr), 0);
    const int8_t *d = trainrows_score_distr_row(&tr, 0);
    const int mid = 421;
    /* formats.md §4.7 worked examples (verified on KataGo's file). */
    trainrows_set_score_distr(&tr, 0, 2.5f);
    ASSERT_EQ(d[mid + 2], 100);
    trainrows_set_score_distr(&tr, 0, -6.41f);
    ASSERT_EQ(d[mid - 7], 91);
    ASSERT_EQ(d[mid - 6], 9);
    trainrows_set_score_distr(&tr, 0, 0.0f);
    ASSERT_EQ(d[mid - 1], 50);
    ASSERT_EQ(d[mid], 50);
    trainrows_set_score_distr(&tr, 0, 5000.0f);
    ASSERT_EQ(d[841], 100);
    trainrows_set_score_distr(&tr, 0, -5000.0f);
    ASSERT_EQ(d[0], 100);
    trainrows_set_score_distr_dummy(&tr, 0);
    ASSERT_EQ(d[420], 50);
    ASSERT_EQ(d[421], 50);
    tg_rng_t rng;
    tg_rng_seed(&rng, 3, 0);
    for (int it = 0; it < 2000; it++) {
        float s = (float)((tg_rng_uniform(&rng) - 0.5) * 1000.0);
        trainrows_set_score_distr(&tr, 0, s);
        int sum = 0, nz = 0;
        double mean = 0;
        for (int i = 0; i < 842; i++) {
            sum += d[i];
            nz += d[i] != 0;
            mean += d[i] * ((i - mid) + 0.5);
        }
        ASSERT_EQ(sum, 100);
        ASSERT_TRUE(nz >= 1 && nz <= 2);
        if (fabsf(s) < 420.0f) ASSERT_NEAR(mean / 100.0, s, 0.0051);
    }
    trainrows_free(&tr);
}

TEST(game_hash_chunks) {
    trainrows_t tr;
    tg_err_t err = {0};
    ASSERT_EQ(trainrows_init(&tr, 9, 1, &err), 0);
    ASSERT_EQ(trainrows_append(&tr), 0);
    uint64_t h0 = 0x0123456789ABCDEFull, h1 = 0xFEDCBA9876543210ull;
    trainrows_set_game_hash(&tr, 0, h0, h1);
    const float *g = trainrows_global_targets_row(&tr, 0) + 41;
    uint64_t r0 = (uint64_t)g[0] | (uint64_t)g[1] << 22 | (uint64_t)g[2] << 44;
    uint64_t r1 = (uint64_t)g[3] | (uint64_t)g[4] << 22 | (uint64_t)g[5] << 44;
    ASSERT_TRUE(r0 == h0 && r1 == h1);
    trainrows_free(&tr);
}

/* Fills rows with random, KataGo-plausible content. */
static void fill_rows(trainrows_t *tr, int n, uint64_t seed) {
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 0);
    static float spatial[22 * 361];
    float global[19];
    for (int r = 0; r < n; r++) {
        int row = trainrows_append(tr);
        TG_ASSERT(row == r);
        for (int i = 0; i < 22 * tr->area; i++)
            spatial[i] = (float)tg_rng_below(&rng, 2);
        for (int i = 0; i < 19; i++)
            global[i] = (float)tg_rng_normal(&rng);
        trainrows_set_inputs(tr, row, spatial, global);
        int16_t *pol = trainrows_policy_row(tr, row);
        for (int i = 0; i < tr->policy_len; i++)
            pol[i] = (int16_t)tg_rng_below(&rng, 30000);
        trainrows_set_policy_missing(tr, row, 1);
        float *gt = trainrows_global_targets_row(tr, row);
        for (int c = 0; c < 63; c++)
            gt[c] = (float)tg_rng_uniform(&rng);
        trainrows_set_score_distr(tr, row, (float)tg_rng_normal(&rng) * 20.0f);
        int8_t *v = trainrows_value_row(tr, row);
        for (int i = 0; i < 5 * tr->area; i++)
            v[i] = (int8_t)((int)tg_rng_below(&rng, 241) - 120);
        int16_t *q = trainrows_qvalue_row(tr, row);
        for (int i = 0; i < 3 * tr->policy_len; i++)
            q[i] = (int16_t)((int)tg_rng_below(&rng, 64001) - 32000);
    }
}

static int rows_equal(const trainrows_t *a, const trainrows_t *b) {
    if (a->pos_len != b->pos_len || a->num_rows != b->num_rows) return 0;
    size_t n = (size_t)a->num_rows;
    return memcmp(a->binary_input, b->binary_input, n * 22 * a->packed_len) == 0 &&
           memcmp(a->global_input, b->global_input, n * 19 * 4) == 0 &&
           memcmp(a->policy_targets, b->policy_targets, n * 2 * a->policy_len * 2) == 0 &&
           memcmp(a->global_targets, b->global_targets, n * 80 * 4) == 0 &&
           memcmp(a->score_distr, b->score_distr, n * a->score_len) == 0 &&
           memcmp(a->value_targets, b->value_targets, n * 5 * a->area) == 0 &&
           memcmp(a->qvalue_targets, b->qvalue_targets, n * 3 * a->policy_len * 2) == 0;
}

TEST(write_load_round_trip) {
    static const int lens[] = {19, 9, 5};
    for (size_t k = 0; k < TG_ARRAY_LEN(lens); k++) {
        trainrows_t tr, back;
        tg_err_t err = {0};
        ASSERT_EQ(trainrows_init(&tr, lens[k], 40, &err), 0);
        fill_rows(&tr, 33, 100 + k);
        char path[128];
        snprintf(path, sizeof(path), "%s/rows%d.npz", tmp_dir, lens[k]);
        int rc = trainrows_write_npz(&tr, path, k == 2 ? NPZ_STORED : 6, &err);
        if (rc) TEST__FAIL("write: %s", err.msg);
        rc = trainrows_load_npz(&back, path, &err);
        if (rc) TEST__FAIL("load: %s", err.msg);
        ASSERT_EQ(back.num_rows, 33);
        ASSERT_EQ(back.pos_len, lens[k]);
        ASSERT_TRUE(rows_equal(&tr, &back));
        /* Member names are KataGo's C++ ones (no ".npy"). */
        npz_file_t f;
        ASSERT_EQ(npz_file_read(&f, path, 0, &err), 0);
        ASSERT_EQ(f.num_arrays, 7);
        ASSERT_STREQ(f.arrays[0].name, "binaryInputNCHWPacked");
        ASSERT_STREQ(f.arrays[6].name, "qValueTargetsNCMove");
        npz_file_free(&f);
        trainrows_free(&tr);
        trainrows_free(&back);
    }
}

TEST(load_fixture) {
    char path[512];
    snprintf(path, sizeof(path), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    trainrows_t tr;
    npz_file_t f;
    tg_err_t err = {0};
    int rc = trainrows_load_npz(&tr, path, &err);
    if (rc) TEST__FAIL("load: %s", err.msg);
    ASSERT_EQ(npz_file_read(&f, path, 0, &err), 0);
    ASSERT_EQ(tr.num_rows, 1024);
    ASSERT_EQ(tr.pos_len, 19);
    const float *gt64 = npz_file_find(&f, "globalTargetsNC")->data;
    for (int r = 0; r < 1024; r++) {
        const float *g = trainrows_global_targets_row(&tr, r);
        ASSERT_TRUE(memcmp(g, gt64 + r * 64, 64 * sizeof(float)) == 0);
        for (int c = 64; c < 80; c++)
            ASSERT_EQ(g[c], 0.0f);
    }
    ASSERT_TRUE(memcmp(tr.binary_input, npz_file_find(&f, "binaryInputNCHWPacked")->data,
                       1024 * 22 * 46) == 0);
    ASSERT_TRUE(memcmp(tr.qvalue_targets, npz_file_find(&f, "qValueTargetsNCMove")->data,
                       1024 * 3 * 362 * 2) == 0);
    /* Unpacking and re-packing every row reproduces the file's bytes (same bit order). */
    static float spatial[22 * 361];
    static uint8_t repacked[22 * 46];
    for (int r = 0; r < 1024; r++) {
        trainrows_get_inputs(&tr, r, spatial, NULL);
        for (int c = 0; c < 22; c++)
            trainrows_pack_bits(spatial + c * 361, 361, repacked + c * 46);
        ASSERT_TRUE(memcmp(repacked, trainrows_binary_row(&tr, r), 22 * 46) == 0);
    }
    int full = 0;
    for (int r = 0; r < 1024; r++) {
        trainrows_get_inputs(&tr, r, spatial, NULL);
        int on = 0;
        for (int i = 0; i < 361; i++)
            on += spatial[i] != 0.0f;
        full += on == 361;
    }
    ASSERT_EQ(full, 709);
    npz_file_free(&f);
    trainrows_free(&tr);
}

TEST(load_rejects_bad_files) {
    char path[128];
    snprintf(path, sizeof(path), "%s/bad.npz", tmp_dir);
    tg_err_t err = {0};
    trainrows_t tr;
    static int16_t zeros[4 * 3 * 82];
    memset(zeros, 0, sizeof(zeros));
    /* Missing keys. */
    npz_writer_t w;
    ASSERT_EQ(npz_writer_open(&w, path, 1, &err), 0);
    int64_t s1[2] = {4, 19};
    ASSERT_EQ(npz_writer_add(&w, "globalInputNC", NPZ_DTYPE_F4, 2, s1, zeros, &err), 0);
    ASSERT_EQ(npz_writer_commit(&w, &err), 0);
    ASSERT_EQ(trainrows_load_npz(&tr, path, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "bad.npz: binaryInputNCHWPacked: required array missing");
    ASSERT_TRUE(tr.block == NULL);
    /* A good 9x9 file with one wrong shape. */
    trainrows_t good;
    ASSERT_EQ(trainrows_init(&good, 9, 4, &err), 0);
    fill_rows(&good, 4, 9);
    static const char *names[] = {"binaryInputNCHWPacked", "globalInputNC", "policyTargetsNCMove",
                                  "globalTargetsNC",       "scoreDistrN",   "valueTargetsNCHW"};
    ASSERT_EQ(npz_writer_open(&w, path, 1, &err), 0);
    int64_t shapes[6][4] = {{4, 22, 11}, {4, 19}, {4, 2, 82}, {4, 80}, {4, 282}, {4, 5, 9, 9}};
    int nds[6] = {3, 2, 3, 2, 2, 4};
    npz_dtype_t dts[6] = {NPZ_DTYPE_U1, NPZ_DTYPE_F4, NPZ_DTYPE_I2,
                          NPZ_DTYPE_F4, NPZ_DTYPE_I1, NPZ_DTYPE_I1};
    const void *datas[6] = {good.binary_input,   good.global_input, good.policy_targets,
                            good.global_targets, good.score_distr,  good.value_targets};
    shapes[4][1] = 281; /* wrong */
    for (int a = 0; a < 6; a++)
        ASSERT_EQ(npz_writer_add(&w, names[a], dts[a], nds[a], shapes[a], datas[a], &err), 0);
    ASSERT_EQ(npz_writer_commit(&w, &err), 0);
    ASSERT_EQ(trainrows_load_npz(&tr, path, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "scoreDistrN: expected |i1 (4, 282), found |i1 (4, 281)");
    /* Same without the wrong shape and without qValueTargetsNCMove: loads, q reads as zeros. */
    shapes[4][1] = 282;
    ASSERT_EQ(npz_writer_open(&w, path, 1, &err), 0);
    for (int a = 0; a < 6; a++)
        ASSERT_EQ(npz_writer_add(&w, names[a], dts[a], nds[a], shapes[a], datas[a], &err), 0);
    ASSERT_EQ(npz_writer_commit(&w, &err), 0);
    int rc = trainrows_load_npz(&tr, path, &err);
    if (rc) TEST__FAIL("load: %s", err.msg);
    ASSERT_EQ(tr.num_rows, 4);
    for (int i = 0; i < 4 * 3 * 82; i++)
        ASSERT_EQ(tr.qvalue_targets[i], 0);
    ASSERT_TRUE(memcmp(tr.score_distr, good.score_distr, 4 * 282) == 0);
    trainrows_free(&tr);
    trainrows_free(&good);
}

int main(void) {
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/tg_rows_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temp dir\n");
        return 1;
    }
    RUN(sizes);
    RUN(append_until_full);
    RUN(pack_bits);
    RUN(inputs_round_trip);
    RUN(score_distr);
    RUN(game_hash_chunks);
    RUN(write_load_round_trip);
    RUN(load_fixture);
    RUN(load_rejects_bad_files);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmp_dir);
    TEST_MAIN_END();
}
