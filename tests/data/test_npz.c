/* test_npz.c: the .npz writer and reader without Python: KataGo's benchmark file read with the
 * shapes and facts of formats.md §4.11, write -> read round trips (stored and deflate, every
 * dtype, 0-d and empty arrays), the exact NumPy .npy header text, the 4 GiB refusal, atomic
 * writes, and a fuzz pass: every truncation and thousands of random byte mutations of small
 * archives, plus truncations and directory mutations of the fixture, must give an error (or a
 * valid parse), never a crash. */
#include "data/npz.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/fileio.h"
#include "util/rng.h"

static char tmp_dir[64];

static void tmp_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmp_dir, name);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Counts entries in tmp_dir whose name contains ".tmp". */
static int count_temp_files(void) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c '\\.tmp' > %s/count.txt", tmp_dir, tmp_dir);
    if (system(cmd) < 0) return -1;
    char path[256];
    tmp_path(path, sizeof(path), "count.txt");
    FILE *f = fopen(path, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1) n = -1;
        fclose(f);
    }
    unlink(path);
    return n;
}

TEST(header_matches_numpy_text) {
    char h[256];
    int64_t shape2[2] = {1024, 19};
    size_t n = npz_npy_header_build(h, sizeof(h), NPZ_DTYPE_F4, 2, shape2);
    /* NumPy 1.24: np.save of float32 (1024, 19) gives exactly this 128-byte prefix. */
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1024, 19), }";
    ASSERT_EQ(n, 128);
    ASSERT_TRUE(memcmp(h, "\x93NUMPY\x01\x00", 8) == 0);
    ASSERT_EQ((unsigned char)h[8] | (unsigned char)h[9] << 8, 118);
    ASSERT_TRUE(memcmp(h + 10, dict, strlen(dict)) == 0);
    for (size_t i = 10 + strlen(dict); i < n - 1; i++)
        ASSERT_EQ(h[i], ' ');
    ASSERT_EQ(h[n - 1], '\n');

    int64_t shape1[1] = {7};
    n = npz_npy_header_build(h, sizeof(h), NPZ_DTYPE_U1, 1, shape1);
    ASSERT_EQ(n % 64, 0);
    ASSERT_TRUE(memcmp(h + 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }", 57) ==
                0);
    n = npz_npy_header_build(h, sizeof(h), NPZ_DTYPE_I2, 0, NULL);
    ASSERT_EQ(n, 128); /* NumPy: 66 bytes of prefix, padded to the next multiple of 64 */
    ASSERT_TRUE(memcmp(h + 10, "{'descr': '<i2', 'fortran_order': False, 'shape': (), }", 55) == 0);
    ASSERT_EQ(npz_npy_header_build(h, 16, NPZ_DTYPE_I2, 0, NULL), 0); /* too small */
}

TEST(fixture_shapes_and_facts) {
    char path[512];
    snprintf(path, sizeof(path), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    npz_file_t f;
    tg_err_t err = {0};
    int rc = npz_file_read(&f, path, 0, &err);
    if (rc) TEST__FAIL("read fixture: %s", err.msg);
    static const struct {
        const char *key;
        npz_dtype_t dtype;
        int ndim;
        int64_t shape[4];
    } want[] = {
        {"binaryInputNCHWPacked", NPZ_DTYPE_U1, 3, {1024, 22, 46}},
        {"globalInputNC", NPZ_DTYPE_F4, 2, {1024, 19}},
        {"policyTargetsNCMove", NPZ_DTYPE_I2, 3, {1024, 2, 362}},
        {"globalTargetsNC", NPZ_DTYPE_F4, 2, {1024, 64}},
        {"scoreDistrN", NPZ_DTYPE_I1, 2, {1024, 842}},
        {"valueTargetsNCHW", NPZ_DTYPE_I1, 4, {1024, 5, 19, 19}},
        {"qValueTargetsNCMove", NPZ_DTYPE_I2, 3, {1024, 3, 362}},
    };
    ASSERT_EQ(f.num_arrays, 7);
    for (size_t k = 0; k < TG_ARRAY_LEN(want); k++) {
        const npz_array_t *a = npz_file_find(&f, want[k].key);
        if (!a) TEST__FAIL("missing key %s", want[k].key);
        ASSERT_STREQ(a->name, want[k].key); /* stored as "<key>.npy", exposed bare */
        ASSERT_EQ(a->dtype, want[k].dtype);
        ASSERT_EQ(a->ndim, want[k].ndim);
        for (int d = 0; d < a->ndim; d++)
            ASSERT_EQ(a->shape[d], want[k].shape[d]);
        /* Both spellings find it, as with numpy.load. */
        char with_npy[80];
        snprintf(with_npy, sizeof(with_npy), "%s.npy", want[k].key);
        ASSERT_TRUE(npz_file_find(&f, with_npy) == a);
    }
    ASSERT_TRUE(npz_file_find(&f, "nope") == NULL);
    /* Facts from formats.md §4.11. */
    const float *gt = npz_file_find(&f, "globalTargetsNC")->data;
    const int8_t *sd = npz_file_find(&f, "scoreDistrN")->data;
    const uint8_t *bin = npz_file_find(&f, "binaryInputNCHWPacked")->data;
    const int16_t *pol = npz_file_find(&f, "policyTargetsNCMove")->data;
    int no_own = 0, no_pol1 = 0;
    for (int r = 0; r < 1024; r++) {
        ASSERT_EQ(gt[r * 64 + 63], 2.0f); /* data version 2 */
        ASSERT_EQ(gt[r * 64 + 25], 1.0f);
        ASSERT_EQ(gt[r * 64 + 26], 1.0f);
        int sum = 0;
        for (int i = 0; i < 842; i++)
            sum += sd[r * 842 + i];
        ASSERT_EQ(sum, 100);
        if (gt[r * 64 + 27] == 0.0f) {
            no_own++;
            ASSERT_EQ(sd[r * 842 + 420], 50);
            ASSERT_EQ(sd[r * 842 + 421], 50);
        }
        if (gt[r * 64 + 28] == 0.0f) {
            no_pol1++;
            for (int i = 0; i < 362; i++)
                ASSERT_EQ(pol[(r * 2 + 1) * 362 + i], 1);
        }
        for (int c = 0; c < 22; c++)
            ASSERT_EQ(bin[(r * 22 + c) * 46 + 45] & 0x7F, 0); /* pad */
    }
    ASSERT_EQ(no_own, 139);
    ASSERT_EQ(no_pol1, 137);
    npz_file_free(&f);
    npz_file_free(&f); /* idempotent */
}

/* Fills n bytes with a deterministic pattern. */
static void fill_random(void *p, size_t n, uint64_t seed) {
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 7);
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)tg_rng_u64(&rng);
}

/* Writes a small archive with one array of every dtype plus 0-d and empty arrays. */
static int write_sample(const char *path, int level, tg_err_t *err) {
    static unsigned char data[NPZ_DTYPE_COUNT][6 * 5 * 8];
    npz_writer_t w;
    int rc = npz_writer_open(&w, path, level, err);
    if (rc) return rc;
    for (int d = 0; d < NPZ_DTYPE_COUNT && !rc; d++) {
        fill_random(data[d], sizeof(data[d]), (uint64_t)d);
        if (d == NPZ_DTYPE_B1)
            for (size_t i = 0; i < 30; i++)
                data[d][i] &= 1;
        int64_t shape[3] = {2, 3, 5};
        char name[32];
        snprintf(name, sizeof(name), d % 2 ? "arr%d.npy" : "arr%d", d);
        rc = npz_writer_add(&w, name, (npz_dtype_t)d, 3, shape, data[d], err);
    }
    float scalar = 3.25f;
    int64_t empty_shape[2] = {0, 4};
    if (!rc) rc = npz_writer_add(&w, "scalar", NPZ_DTYPE_F4, 0, NULL, &scalar, err);
    if (!rc) rc = npz_writer_add(&w, "empty", NPZ_DTYPE_I2, 2, empty_shape, data[0], err);
    if (rc) {
        npz_writer_abort(&w);
        return rc;
    }
    return npz_writer_commit(&w, err);
}

static void check_sample(const npz_file_t *f) {
    static unsigned char data[6 * 5 * 8];
    ASSERT_EQ(f->num_arrays, NPZ_DTYPE_COUNT + 2);
    for (int d = 0; d < NPZ_DTYPE_COUNT; d++) {
        char name[32];
        snprintf(name, sizeof(name), "arr%d", d);
        const npz_array_t *a = npz_file_find(f, name);
        if (!a) TEST__FAIL("missing %s", name);
        ASSERT_EQ(a->dtype, d);
        ASSERT_EQ(a->ndim, 3);
        ASSERT_EQ(a->shape[0], 2);
        ASSERT_EQ(a->shape[1], 3);
        ASSERT_EQ(a->shape[2], 5);
        ASSERT_EQ(a->count, 30);
        ASSERT_EQ(a->nbytes, 30 * npz_dtype_size((npz_dtype_t)d));
        fill_random(data, sizeof(data), (uint64_t)d);
        if (d == NPZ_DTYPE_B1)
            for (size_t i = 0; i < 30; i++)
                data[i] &= 1;
        ASSERT_TRUE(memcmp(a->data, data, a->nbytes) == 0);
        ASSERT_EQ((uintptr_t)a->data % 8, 0);
    }
    const npz_array_t *s = npz_file_find(f, "scalar");
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(s->ndim, 0);
    ASSERT_EQ(s->count, 1);
    ASSERT_EQ(*(const float *)s->data, 3.25f);
    const npz_array_t *e = npz_file_find(f, "empty");
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ(e->ndim, 2);
    ASSERT_EQ(e->count, 0);
    ASSERT_EQ(e->nbytes, 0);
}

TEST(write_read_round_trip) {
    for (int level = 0; level <= 9; level += 3) {
        char path[128];
        tmp_path(path, sizeof(path), "sample.npz");
        tg_err_t err = {0};
        int rc = write_sample(path, level, &err);
        if (rc) TEST__FAIL("write level %d: %s", level, err.msg);
        ASSERT_EQ(count_temp_files(), 0);
        npz_file_t f;
        rc = npz_file_read(&f, path, 0, &err);
        if (rc) TEST__FAIL("read level %d: %s", level, err.msg);
        check_sample(&f);
        npz_file_free(&f);
        if (test__case_failed) return;
    }
}

TEST(atomic_abort_and_errors) {
    char path[128];
    tmp_path(path, sizeof(path), "aborted.npz");
    tg_err_t err = {0};
    npz_writer_t w;
    ASSERT_EQ(npz_writer_open(&w, path, 6, &err), 0);
    uint8_t b[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    ASSERT_EQ(npz_writer_add(&w, "b", NPZ_DTYPE_U1, 1, shape, b, &err), 0);
    ASSERT_EQ(count_temp_files(), 1); /* in progress: only the temp file exists */
    ASSERT_TRUE(!file_exists(path));
    npz_writer_abort(&w);
    ASSERT_EQ(count_temp_files(), 0);
    ASSERT_TRUE(!file_exists(path));

    /* An array that would need ZIP64 is refused before its data is touched. */
    ASSERT_EQ(npz_writer_open(&w, path, 1, &err), 0);
    int64_t big[2] = {1 << 20, 5000};
    ASSERT_EQ(npz_writer_add(&w, "big", NPZ_DTYPE_U1, 2, big, NULL, &err), TG_ERANGE);
    ASSERT_CONTAINS(err.msg, "4 GiB");
    ASSERT_EQ(npz_writer_add(&w, "", NPZ_DTYPE_U1, 1, shape, b, &err), TG_EINVAL);
    int64_t neg[1] = {-1};
    ASSERT_EQ(npz_writer_add(&w, "neg", NPZ_DTYPE_U1, 1, neg, b, &err), TG_EINVAL);
    npz_writer_abort(&w);
    ASSERT_EQ(npz_writer_open(&w, path, 10, &err), TG_EINVAL);

    npz_file_t f;
    tmp_path(path, sizeof(path), "does-not-exist.npz");
    ASSERT_EQ(npz_file_read(&f, path, 0, &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "does-not-exist.npz");
    ASSERT_EQ(npz_file_parse(&f, "PK", 2, "two.npz", &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "two.npz: ");
}

/* Parses a mutated archive; every failure must be a clean error with a message naming it. */
static int parse_checked(const unsigned char *buf, size_t len, int *failed) {
    npz_file_t f;
    tg_err_t err = {0};
    int rc = npz_file_parse(&f, buf, len, "fuzz.npz", &err);
    if (rc == 0) {
        for (int i = 0; i < f.num_arrays; i++) {
            const npz_array_t *a = &f.arrays[i];
            int64_t count = 1;
            for (int d = 0; d < a->ndim; d++)
                count *= a->shape[d];
            if (count != a->count || a->nbytes != (size_t)count * npz_dtype_size(a->dtype)) {
                *failed = 1;
                printf("  inconsistent array %s\n", a->name);
            }
        }
        npz_file_free(&f);
        return 0;
    }
    if (f.arrays != NULL || f.num_arrays != 0) *failed = 1;
    if (rc != TG_EFORMAT && rc != TG_EUNSUPPORTED) *failed = 1;
    if (strncmp(err.msg, "fuzz.npz: ", 10) != 0) {
        *failed = 1;
        printf("  bad message for rc %d: %s\n", rc, err.msg);
    }
    return rc;
}

static int read_whole(const char *path, char **buf, size_t *len) {
    tg_err_t err = {0};
    return tg_file_read_all(path, (size_t)1 << 30, buf, len, &err);
}

TEST(fuzz_small_archives) {
    for (int level = 0; level <= 6; level += 6) {
        char path[128];
        tmp_path(path, sizeof(path), "fuzz.npz");
        tg_err_t err = {0};
        ASSERT_EQ(write_sample(path, level, &err), 0);
        char *orig;
        size_t len;
        ASSERT_EQ(read_whole(path, &orig, &len), 0);
        unsigned char *buf = malloc(len);
        int failed = 0;
        /* Every truncation fails cleanly. */
        for (size_t cut = 0; cut < len; cut++) {
            memcpy(buf, orig, cut);
            if (parse_checked(buf, cut, &failed) == 0) {
                failed = 1;
                printf("  truncation to %zu parsed\n", cut);
            }
        }
        /* Random mutations of 1..4 bytes. */
        tg_rng_t rng;
        tg_rng_seed(&rng, 1234 + (uint64_t)level, 3);
        int errors = 0;
        for (int it = 0; it < 4000; it++) {
            memcpy(buf, orig, len);
            int nmut = 1 + (int)tg_rng_below(&rng, 4);
            for (int m = 0; m < nmut; m++) {
                size_t pos = tg_rng_below(&rng, (uint32_t)len);
                buf[pos] = tg_rng_below(&rng, 3) == 0 ? (unsigned char)tg_rng_u64(&rng)
                                                      : buf[pos] ^ (1u << tg_rng_below(&rng, 8));
            }
            if (parse_checked(buf, len, &failed) != 0) errors++;
        }
        /* A flipped bit anywhere in a member's data is caught (CRC or deflate check). */
        for (size_t pos = 64; pos < 400 && pos < len; pos += 7) {
            memcpy(buf, orig, len);
            buf[pos] ^= 0x10;
            (void)parse_checked(buf, len, &failed);
        }
        printf("  level %d: %zu bytes, %d of 4000 mutations rejected\n", level, len, errors);
        free(buf);
        free(orig);
        ASSERT_TRUE(!failed);
        ASSERT_TRUE(errors > 2000);
    }
}

TEST(fuzz_fixture_truncation_and_directory) {
    char path[512];
    snprintf(path, sizeof(path), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    char *orig;
    size_t len;
    ASSERT_EQ(read_whole(path, &orig, &len), 0);
    unsigned char *buf = malloc(len);
    int failed = 0;
    for (int k = 0; k < 24; k++) {
        size_t cut = len - 1 - (size_t)k * (len / 24);
        memcpy(buf, orig, cut);
        if (parse_checked(buf, cut, &failed) == 0) failed = 1;
    }
    /* Mutations in the last 1 KiB: central directory and end record. */
    tg_rng_t rng;
    tg_rng_seed(&rng, 77, 1);
    memcpy(buf, orig, len);
    for (int it = 0; it < 120; it++) {
        size_t pos = len - 1 - tg_rng_below(&rng, 1024);
        unsigned char old = buf[pos];
        buf[pos] = (unsigned char)tg_rng_u64(&rng);
        (void)parse_checked(buf, len, &failed);
        buf[pos] = old;
    }
    free(buf);
    free(orig);
    ASSERT_TRUE(!failed);
}

/* Hand-built archives: malformed .npy headers inside valid ZIP members. */
static size_t build_stored_zip(unsigned char *out, const char *name, const void *member,
                               size_t mlen) {
    size_t nlen = strlen(name), p = 0;
    uint32_t crc = npz_crc32(0, member, mlen);
    unsigned char *lh = out;
    memset(lh, 0, 30);
    memcpy(lh, "PK\x03\x04\x14\x00", 6);
    memcpy(lh + 14, &crc, 4);
    memcpy(lh + 18, &(uint32_t){(uint32_t)mlen}, 4);
    memcpy(lh + 22, &(uint32_t){(uint32_t)mlen}, 4);
    memcpy(lh + 26, &(uint16_t){(uint16_t)nlen}, 2);
    p = 30;
    memcpy(out + p, name, nlen);
    p += nlen;
    memcpy(out + p, member, mlen);
    p += mlen;
    size_t cd = p;
    unsigned char *ce = out + p;
    memset(ce, 0, 46);
    memcpy(ce, "PK\x01\x02\x14\x00\x14\x00", 8);
    memcpy(ce + 16, &crc, 4);
    memcpy(ce + 20, &(uint32_t){(uint32_t)mlen}, 4);
    memcpy(ce + 24, &(uint32_t){(uint32_t)mlen}, 4);
    memcpy(ce + 28, &(uint16_t){(uint16_t)nlen}, 2);
    p += 46;
    memcpy(out + p, name, nlen);
    p += nlen;
    unsigned char *e = out + p;
    memset(e, 0, 22);
    memcpy(e, "PK\x05\x06", 4);
    e[8] = e[10] = 1;
    memcpy(e + 12, &(uint32_t){(uint32_t)(p - cd)}, 4);
    memcpy(e + 16, &(uint32_t){(uint32_t)cd}, 4);
    return p + 22;
}

TEST(npy_header_variants) {
    static const struct {
        const char *dict;
        size_t data_len;
        int rc;
        const char *msg;
    } cases[] = {
        /* KataGo's C++ style: no spaces, no trailing comma. */
        {"{'descr':'<f4','fortran_order':False,'shape':(2,3)}", 24, 0, NULL},
        {"{\"descr\": \"|i1\", \"shape\": (5,), \"fortran_order\": False}", 5, 0, NULL},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", 11, TG_EFORMAT,
         "need 12 data bytes"},
        {"{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", 4, TG_EUNSUPPORTED,
         "big-endian"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, TG_EUNSUPPORTED,
         "unsupported dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, TG_EUNSUPPORTED,
         "Fortran"},
        {"{'descr': '<f4', 'shape': (2, 2), }", 16, TG_EFORMAT, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", 16, TG_EFORMAT,
         "unexpected key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }", 16, TG_EFORMAT,
         "bad shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 16,
         TG_EFORMAT, "too large"},
        {"['descr']", 0, TG_EFORMAT, "not a dict"},
    };
    static unsigned char member[512], zip[1024];
    for (size_t c = 0; c < TG_ARRAY_LEN(cases); c++) {
        size_t dl = strlen(cases[c].dict);
        memcpy(member, "\x93NUMPY\x01\x00", 8);
        member[8] = (unsigned char)(dl + 1);
        member[9] = 0;
        memcpy(member + 10, cases[c].dict, dl);
        member[10 + dl] = '\n';
        memset(member + 11 + dl, 0x5A, cases[c].data_len);
        size_t zl = build_stored_zip(zip, "m.npy", member, 11 + dl + cases[c].data_len);
        npz_file_t f;
        tg_err_t err = {0};
        int rc = npz_file_parse(&f, zip, zl, "h.npz", &err);
        if (rc != cases[c].rc) TEST__FAIL("case %zu: rc %d (%s)", c, rc, err.msg);
        if (rc == 0) {
            ASSERT_EQ(f.num_arrays, 1);
            ASSERT_STREQ(f.arrays[0].name, "m");
            ASSERT_EQ(f.arrays[0].nbytes, cases[c].data_len);
            npz_file_free(&f);
        } else {
            ASSERT_CONTAINS(err.msg, "h.npz: m.npy: ");
            ASSERT_CONTAINS(err.msg, cases[c].msg);
        }
    }
}

int main(void) {
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/tg_npz_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temp dir\n");
        return 1;
    }
    RUN(header_matches_numpy_text);
    RUN(fixture_shapes_and_facts);
    RUN(write_read_round_trip);
    RUN(atomic_abort_and_errors);
    RUN(fuzz_small_archives);
    RUN(fuzz_fixture_truncation_and_directory);
    RUN(npy_header_variants);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmp_dir);
    TEST_MAIN_END();
}
