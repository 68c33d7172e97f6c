/* test_model.c: the model loader on the real g170 b6c96 fixture and on corrupted images.
 *
 * Checks the counts of formats.md §1.14, the tensor table and merged batch norms, clear
 * refusals (unsupported versions, text files), and a fuzz pass: the decompressed fixture is
 * truncated at hundreds of offsets, has header bytes flipped, bytes inserted and NaNs planted;
 * every load must either fail with TG_EFORMAT/TG_EUNSUPPORTED and a "layer" message, or
 * succeed cleanly. Run under ASan (TENGEN_SANITIZE=address,undefined) to catch overreads. */
#include <stdint.h>

#include "nn/model.h"
#include "test.h"
#include "util/fileio.h"
#include "util/rng.h"

#define FIXTURE_NET "g170-b6c96-s175395328-d26788732.bin.gz"

static unsigned char *g_img;
static size_t g_img_len;

static int load_image(void) {
    if (g_img) return 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_fixtures_dir(), FIXTURE_NET);
    char *raw;
    size_t raw_len;
    tg_err_t err;
    if (tg_file_read_all(path, (size_t)1 << 30, &raw, &raw_len, &err) < 0) {
        printf("  cannot read fixture: %s\n", err.msg);
        return -1;
    }
    int rc = tg_model_inflate(raw, raw_len, (size_t)1 << 30, &g_img, &g_img_len, path, &err);
    free(raw);
    if (rc < 0) printf("  inflate failed: %s\n", err.msg);
    return rc;
}

TEST(fixture_counts) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_fixtures_dir(), FIXTURE_NET);
    tg_model_t *m = NULL;
    tg_err_t err;
    int rc = tg_model_load(path, &m, &err);
    if (rc < 0) TEST__FAIL("load: %s", err.msg);
    ASSERT_STREQ(tg_model_name(m), "g170-b6c96-s175395328-d26788732");
    ASSERT_EQ(tg_model_version(m), 8);
    ASSERT_EQ(tg_model_num_spatial_inputs(m), 22);
    ASSERT_EQ(tg_model_num_global_inputs(m), 19);
    ASSERT_EQ(tg_model_num_policy_channels(m), 1);
    ASSERT_EQ(tg_model_num_score_values(m), 4);
    ASSERT_EQ(tg_model_num_params(m), 1030599); /* 91 @BIN@ blocks, formats.md §1.14 */
    ASSERT_NEAR(tg_model_multipliers(m)->score_mean, 20.0, 0);
    ASSERT_NEAR(tg_model_multipliers(m)->shortterm_score_error, 30.0, 0);
    const tg_trunk_t *t = &m->trunk;
    ASSERT_EQ(t->num_blocks, 6);
    ASSERT_EQ(t->trunk_channels, 96);
    ASSERT_EQ(t->mid_channels, 96);
    ASSERT_EQ(t->regular_channels, 64);
    ASSERT_EQ(t->gpool_channels, 32);
    ASSERT_EQ(t->initial_conv.ky, 5);
    ASSERT_EQ(t->initial_conv.ic, 22);
    ASSERT_EQ(t->initial_conv.oc, 96);
    ASSERT_STREQ(t->initial_conv.name, "conv1");
    ASSERT_STREQ(t->initial_matmul.name, "ginputw");
    static const int kinds[6] = {0, 0, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) {
        const tg_block_t *b = &t->blocks[i];
        ASSERT_EQ(b->kind, kinds[i]);
        ASSERT_EQ(b->pre_bn.c, 96);
        ASSERT_EQ(b->pre_bn.has_scale, 0);
        ASSERT_EQ(b->pre_bn.has_bias, 1);
        ASSERT_EQ(b->mid_bn.has_scale, 1);
        ASSERT_EQ(b->conv2.oc, 96);
        ASSERT_EQ(b->pre_act.kind, TG_ACT_RELU);
        if (b->kind == TG_BLOCK_GPOOL) {
            ASSERT_EQ(b->conv1.oc, 64);
            ASSERT_EQ(b->gpool_conv.oc, 32);
            ASSERT_EQ(b->gpool_to_bias.ic, 96);
            ASSERT_EQ(b->gpool_to_bias.oc, 64);
        } else {
            ASSERT_EQ(b->conv1.oc, 96);
        }
    }
    ASSERT_STREQ(t->blocks[0].name, "rconv1");
    ASSERT_STREQ(t->blocks[5].name, "rconv6");
    ASSERT_STREQ(t->tip_bn.name, "trunk/norm");
    ASSERT_EQ(m->policy.p1_conv.oc, 32);
    ASSERT_EQ(m->policy.p2_conv.oc, 1);
    ASSERT_EQ(m->policy.pass_mul.ic, 96);
    ASSERT_EQ(m->policy.pass_mul.oc, 1);
    ASSERT_EQ(m->policy.has_pass_mlp, 0);
    ASSERT_STREQ(m->policy.pass_mul.name, "matmulpass");
    ASSERT_EQ(m->value.v2_mul.ic, 96);
    ASSERT_EQ(m->value.v2_mul.oc, 64);
    ASSERT_EQ(m->value.sv3_mul.oc, 4);
    ASSERT_EQ(m->value.ownership_conv.oc, 1);
    ASSERT_STREQ(m->value.ownership_conv.name, "vownership/w");
    ASSERT_EQ(m->max_conv_pad, 2);
    ASSERT_EQ(m->max_channels, 96);
    ASSERT_EQ(m->max_nesting, 0);
    /* 91 file tensors + 2 merged per batch norm (18 BNs). */
    ASSERT_EQ(m->num_tensors, 91 + 2 * 18);

    /* Every tensor lies inside the one buffer, aligned, and the sum of file tensors matches. */
    size_t file_floats = 0;
    for (int i = 0; i < m->num_tensors; i++) {
        const tg_model_tensor_t *tt = &m->tensors[i];
        ASSERT_TRUE(tt->offset + tt->count <= m->num_weights);
        ASSERT_EQ(tt->offset % 16, 0);
        if (!strstr(tt->name, "/merged_")) file_floats += tt->count;
    }
    ASSERT_EQ(file_floats, 1030599);
    const tg_model_tensor_t *tw = tg_model_find_tensor(m, "conv1/w");
    ASSERT_TRUE(tw != NULL);
    ASSERT_EQ(tw->count, 5 * 5 * 22 * 96);
    ASSERT_EQ(tw->shape[0], 5);
    ASSERT_EQ(tw->shape[3], 96);
    ASSERT_TRUE(m->weights + tw->offset == t->initial_conv.w);
    /* Fixup net: mean 0, variance 1, eps 1e-20 -> merged_scale = scale, merged_bias = bias. */
    const tg_bn_t *bn = &t->blocks[0].mid_bn;
    for (int c = 0; c < bn->c; c++) {
        ASSERT_NEAR(bn->mean[c], 0.0, 0);
        ASSERT_NEAR(bn->merged_scale[c], bn->scale[c], 1e-6 * fabs(bn->scale[c]));
        ASSERT_NEAR(bn->merged_bias[c], bn->bias[c], 1e-6);
    }
    /* 5x5 input conv 19.1M + 4 ordinary blocks 59.9M each + 2 gpool blocks 49.9M each + heads. */
    ASSERT_TRUE(tg_model_macs(m, 19) > 3.6e8 && tg_model_macs(m, 19) < 3.65e8);
    tg_model_free(m);
}

TEST(refusals) {
    tg_model_t *m = (tg_model_t *)1;
    tg_err_t err;
    int rc = tg_model_load("/nonexistent/net.bin.gz", &m, &err);
    ASSERT_TRUE(rc < 0);
    ASSERT_TRUE(m == NULL);
    rc = tg_model_load("/nonexistent/net.txt.gz", &m, &err);
    ASSERT_EQ(rc, TG_EUNSUPPORTED);

    const char *v16 = "net 16 22 19 20 20 20 20 40 0.25 150 0 0 0 0 0 0 0 0 trunk";
    rc = tg_model_load_bytes(v16, strlen(v16), "v16.bin", &m, &err);
    ASSERT_EQ(rc, TG_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "v16.bin: layer header: model version 16");
    const char *v17 = "net 17 22 19";
    ASSERT_EQ(tg_model_load_bytes(v17, strlen(v17), "x", &m, &err), TG_EUNSUPPORTED);
    const char *v7 = "net 7 22 16";
    ASSERT_EQ(tg_model_load_bytes(v7, strlen(v7), "x", &m, &err), TG_EUNSUPPORTED);
    const char *meta = "net 15 22 19 20 20 20 20 40 0.25 150 1 0 0 0 0 0 0 0 trunk";
    ASSERT_EQ(tg_model_load_bytes(meta, strlen(meta), "x", &m, &err), TG_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "metadata");
    const char *badname = "ne*t 8 22 19";
    ASSERT_EQ(tg_model_load_bytes(badname, strlen(badname), "x", &m, &err), TG_EFORMAT);
    const char *badin = "net 8 21 19";
    ASSERT_EQ(tg_model_load_bytes(badin, strlen(badin), "x", &m, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "numInputChannels");
    const char *reserved = "net 15 22 19 20 20 20 20 40 0.25 150 0 0 0 0 3 0 0 0 trunk";
    ASSERT_EQ(tg_model_load_bytes(reserved, strlen(reserved), "x", &m, &err), TG_EFORMAT);
    const char *badmult = "net 13 22 19 20 20 -1 20 40 0.25 150 trunk";
    ASSERT_EQ(tg_model_load_bytes(badmult, strlen(badmult), "x", &m, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "scoreStdevMultiplier");
    ASSERT_EQ(tg_model_load_bytes("", 0, "x", &m, &err), TG_EFORMAT);
    ASSERT_TRUE(m == NULL);
}

/* Loads img[0..len) and checks the outcome is clean. Returns 1 on success, 0 on error, -1 if
 * the outcome is not acceptable. */
static int check_load(const unsigned char *img, size_t len, char *why, size_t why_len) {
    tg_model_t *m = NULL;
    tg_err_t err;
    tg_err_clear(&err);
    int rc = tg_model_load_bytes(img, len, "fuzz.bin", &m, &err);
    if (rc == 0) {
        if (!m) {
            snprintf(why, why_len, "success without a model");
            return -1;
        }
        tg_model_free(m);
        return 1;
    }
    if (m) {
        snprintf(why, why_len, "error with a model");
        return -1;
    }
    if (rc != TG_EFORMAT && rc != TG_EUNSUPPORTED && rc != TG_ENOMEM) {
        snprintf(why, why_len, "code %d: %s", rc, err.msg);
        return -1;
    }
    if (!strstr(err.msg, "fuzz.bin: layer ")) {
        snprintf(why, why_len, "message without location: %s", err.msg);
        return -1;
    }
    return 0;
}

/* Offsets of every "@BIN@" marker that starts a line in the image. */
static size_t find_markers(size_t *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 1; i + 5 <= g_img_len && n < cap; i++)
        if (g_img[i - 1] == '\n' && memcmp(g_img + i, "@BIN@", 5) == 0) out[n++] = i;
    return n;
}

TEST(fuzz_truncate) {
    ASSERT_EQ(load_image(), 0);
    ASSERT_EQ(g_img_len, 4124446);
    char why[600];
    ASSERT_EQ(check_load(g_img, g_img_len, why, sizeof why), 1);
    int failures = 0;
    /* Every offset through the header and the first layer records, then spread offsets. */
    for (size_t cut = 0; cut < 1200; cut += 3) {
        int r = check_load(g_img, cut, why, sizeof why);
        if (r != 0) TEST__FAIL("truncate at %zu: %s", cut, r == 1 ? "loaded" : why);
    }
    tg_rng_t rng;
    tg_rng_seed(&rng, 1234, 0);
    for (int i = 0; i < 150; i++) {
        size_t cut = (size_t)tg_rng_below(&rng, g_img_len);
        int r = check_load(g_img, cut, why, sizeof why);
        if (r != 0) failures++;
        if (r != 0) TEST__FAIL("truncate at %zu: %s", cut, r == 1 ? "loaded" : why);
    }
    /* Right around every marker: the block header, the marker itself, the payload start. */
    size_t marks[128];
    size_t nm = find_markers(marks, 128);
    ASSERT_EQ(nm, 91);
    for (size_t k = 0; k < nm; k++) {
        for (int d = -3; d <= 6; d++) {
            size_t cut = marks[k] + (size_t)d;
            int r = check_load(g_img, cut, why, sizeof why);
            if (r != 0) TEST__FAIL("truncate at marker %zu%+d: %s", k, d, r == 1 ? "loaded" : why);
        }
    }
    ASSERT_EQ(failures, 0);
}

TEST(fuzz_mutate) {
    ASSERT_EQ(load_image(), 0);
    unsigned char *buf = malloc(g_img_len + 64);
    ASSERT_TRUE(buf != NULL);
    size_t marks[128];
    size_t nm = find_markers(marks, 128);
    ASSERT_EQ(nm, 91);
    tg_rng_t rng;
    tg_rng_seed(&rng, 99, 1);
    static const unsigned char repl[] = {'0', '1', '9', '-', ' ', '\n',
                                         'x', '@', '.', 'e', 0,   0xff};
    char why[600];
    int ok = 0, errs = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(buf, g_img, g_img_len);
        size_t len = g_img_len;
        /* A byte in the text before a random marker (layer header) or in the file header. */
        size_t pos;
        if (tg_rng_below(&rng, 4) == 0) {
            pos = tg_rng_below(&rng, 300);
        } else { /* the printable text run just before the marker: the layer's header */
            size_t mk = marks[tg_rng_below(&rng, nm)], start = mk;
            while (
                start > 0 && mk - start < 80 &&
                (g_img[start - 1] == '\n' || (g_img[start - 1] >= 0x20 && g_img[start - 1] < 0x7f)))
                start--;
            pos = start + tg_rng_below(&rng, (uint32_t)(mk - start + 1));
        }
        int kind = (int)tg_rng_below(&rng, 3);
        if (kind == 0) {
            buf[pos] = repl[tg_rng_below(&rng, sizeof repl)];
        } else if (kind == 1) {
            buf[pos] ^= (unsigned char)(1u << tg_rng_below(&rng, 8));
        } else { /* insert one byte */
            memmove(buf + pos + 1, buf + pos, len - pos);
            buf[pos] = repl[tg_rng_below(&rng, sizeof repl)];
            len++;
        }
        int r = check_load(buf, len, why, sizeof why);
        if (r < 0) TEST__FAIL("mutation %d (kind %d at %zu): %s", it, kind, pos, why);
        if (r == 1)
            ok++;
        else
            errs++;
    }
    printf("  mutations: %d loaded, %d refused\n", ok, errs);
    ASSERT_TRUE(errs > 100); /* many header mutations are benign (whitespace, name letters) */

    /* A NaN or an infinity planted in each float block must be refused with "not finite". */
    for (size_t k = 0; k < nm; k++) {
        memcpy(buf, g_img, g_img_len);
        uint32_t bits = (k % 2) ? 0x7fc00000u : 0x7f800000u;
        size_t at = marks[k] + 5;
        memcpy(buf + at, &bits, 4);
        tg_model_t *m = NULL;
        tg_err_t err;
        int rc = tg_model_load_bytes(buf, g_img_len, "nan.bin", &m, &err);
        ASSERT_EQ(rc, TG_EFORMAT);
        ASSERT_CONTAINS(err.msg, "not finite");
        ASSERT_CONTAINS(err.msg, "nan.bin: layer ");
    }
    /* Trailing garbage is refused; trailing whitespace is fine. */
    memcpy(buf, g_img, g_img_len);
    memcpy(buf + g_img_len, "\n \n", 3);
    ASSERT_EQ(check_load(buf, g_img_len + 3, why, sizeof why), 1);
    memcpy(buf + g_img_len, "\nxyz", 4);
    ASSERT_EQ(check_load(buf, g_img_len + 4, why, sizeof why), 0);
    free(buf);
}

TEST(inflate_corrupt) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_fixtures_dir(), FIXTURE_NET);
    char *raw;
    size_t raw_len;
    tg_err_t err;
    ASSERT_EQ(tg_file_read_all(path, (size_t)1 << 30, &raw, &raw_len, &err), 0);
    unsigned char *out;
    size_t out_len;
    /* Truncated gzip stream. */
    int rc = tg_model_inflate(raw, raw_len / 2, (size_t)1 << 30, &out, &out_len, "half.gz", &err);
    ASSERT_EQ(rc, TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "half.gz");
    /* Corrupted deflate data. */
    for (size_t i = 100; i < 200; i++)
        raw[i] ^= 0x5a;
    rc = tg_model_inflate(raw, raw_len, (size_t)1 << 30, &out, &out_len, "bad.gz", &err);
    if (rc == 0) free(out);
    ASSERT_TRUE(rc == TG_EFORMAT);
    free(raw);
}

int main(void) {
    RUN(fixture_counts);
    RUN(refusals);
    RUN(fuzz_truncate);
    RUN(fuzz_mutate);
    RUN(inflate_corrupt);
    free(g_img);
    TEST_MAIN_END();
}
