/* test_numpy.c: interoperability with NumPy itself (/usr/bin/python3; skipped with 77 when it
 * cannot import numpy). NumPy loads our archives (stored and deflate, every dtype) with the same
 * dtypes, shapes and bytes, and each of our members is byte-identical to np.save's output; we
 * read NumPy's savez / savez_compressed files (ZIP64 local headers, .npy suffixes, .npy v2.0)
 * with the same bytes; a trainrows file has exactly KataGo's keys, and its packed planes equal
 * numpy.packbits of the planes we packed; KataGo's benchmark file re-written by our writer is
 * identical key by key, and re-written through trainrows it is padded to 80 channels. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "data/npz.h"
#include "data/trainrows.h"
#include "test.h"
#include "util/rng.h"

#define PYTHON "/usr/bin/python3"

static char tmp_dir[64];

static const char *const check_py =
    "import sys, io, os, zipfile\n"
    "import numpy as np\n"
    "def fail(msg):\n"
    "    print('  python: ' + msg); sys.exit(1)\n"
    "def manifest(path):\n"
    "    out = []\n"
    "    for line in open(path):\n"
    "        f = line.split()\n"
    "        out.append((f[0], f[1], f[2], tuple(int(x) for x in f[3:])))\n"
    "    return out\n"
    "def member_bytes(z, name):\n"
    "    for m in (name, name + '.npy'):\n"
    "        if m in z.namelist(): return z.read(m)\n"
    "    fail('no member ' + name)\n"
    "mode = sys.argv[1]\n"
    "if mode == 'ours':\n"
    "    npz, man = sys.argv[2], manifest(sys.argv[3])\n"
    "    z = zipfile.ZipFile(npz)\n"
    "    if z.testzip() is not None: fail('bad CRC in ' + z.testzip())\n"
    "    d = np.load(npz)\n"
    "    if sorted(d.files) != sorted(m[0] for m in man): fail('keys %s' % d.files)\n"
    "    for name, descr, raw, shape in man:\n"
    "        a = d[name]\n"
    "        if a.dtype.str != descr: fail('%s dtype %s != %s' % (name, a.dtype.str, descr))\n"
    "        if a.shape != shape: fail('%s shape %s != %s' % (name, a.shape, shape))\n"
    "        if a.tobytes() != open(raw, 'rb').read(): fail(name + ' data differs')\n"
    "        b = io.BytesIO(); np.save(b, a)\n"
    "        if member_bytes(z, name) != b.getvalue(): fail(name + ' member != np.save bytes')\n"
    "elif mode == 'make':\n"
    "    out = sys.argv[2]\n"
    "    rng = np.random.default_rng(1)\n"
    "    arrs = {'u1': rng.integers(0, 256, (3, 4, 5)).astype(np.uint8),\n"
    "            'i1': rng.integers(-128, 128, (7,)).astype(np.int8),\n"
    "            'i2': rng.integers(-32768, 32768, (2, 362)).astype(np.int16),\n"
    "            'f4': rng.standard_normal((5, 19)).astype(np.float32),\n"
    "            'f8': np.float64(2.5), 'b1': np.array([True, False, True]),\n"
    "            'i8': rng.integers(-2**62, 2**62, (2, 2)), 'u2': np.arange(6, dtype='<u2'),\n"
    "            'i4': np.arange(-3, 3, dtype='<i4'), 'u4': np.arange(4, dtype='<u4'),\n"
    "            'u8': np.arange(4, dtype='<u8'), 'empty': np.zeros((0, 3), np.float32)}\n"
    "    np.savez_compressed(os.path.join(out, 'np_deflate.npz'), **arrs)\n"
    "    np.savez(os.path.join(out, 'np_stored.npz'), **arrs)\n"
    "    with open(os.path.join(out, 'np.manifest'), 'w') as m:\n"
    "        for k, a in arrs.items():\n"
    "            a = np.asarray(a); raw = os.path.join(out, k + '.raw')\n"
    "            open(raw, 'wb').write(a.tobytes())\n"
    "            m.write(' '.join([k, a.dtype.str, raw] + [str(s) for s in a.shape]) + '\\n')\n"
    "    with zipfile.ZipFile(os.path.join(out, 'np_v2.npz'), 'w') as z:\n"
    "        b = io.BytesIO(); np.lib.format.write_array(b, arrs['f4'], version=(2, 0))\n"
    "        z.writestr('f4.npy', b.getvalue())\n"
    "    np.savez(os.path.join(out, 'np_fortran.npz'), f=np.asfortranarray(arrs['f4']))\n"
    "elif mode == 'rows':\n"
    "    npz, spatial, L, N = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])\n"
    "    d = np.load(npz)\n"
    "    want = {'binaryInputNCHWPacked': ('|u1', (N, 22, (L*L+7)//8)),\n"
    "            'globalInputNC': ('<f4', (N, 19)), 'policyTargetsNCMove': ('<i2', (N, 2, "
    "L*L+1)),\n"
    "            'globalTargetsNC': ('<f4', (N, 80)), 'scoreDistrN': ('|i1', (N, 2*L*L+120)),\n"
    "            'valueTargetsNCHW': ('|i1', (N, 5, L, L)),\n"
    "            'qValueTargetsNCMove': ('<i2', (N, 3, L*L+1))}\n"
    "    if sorted(d.files) != sorted(want): fail('keys %s' % d.files)\n"
    "    for k, (dt, sh) in want.items():\n"
    "        if d[k].dtype.str != dt or d[k].shape != sh: fail('%s %s %s' % (k, d[k].dtype, "
    "d[k].shape))\n"
    "    sp = np.fromfile(spatial, dtype='<f4').reshape(N, 22, L*L)\n"
    "    packed = np.packbits(sp != 0, axis=2)\n"
    "    if not np.array_equal(packed, d['binaryInputNCHWPacked']): fail('packbits differs')\n"
    "    un = np.unpackbits(d['binaryInputNCHWPacked'], axis=2)[:, :, :L*L]\n"
    "    if not np.array_equal(un, (sp != 0).astype(np.uint8)): fail('unpackbits differs')\n"
    "    if not np.all(d['scoreDistrN'].astype(np.int32).sum(axis=1) == 100): fail('score sums')\n"
    "    if not np.all(d['globalTargetsNC'][:, 63] == 3): fail('data version')\n"
    "elif mode == 'same' or mode == 'pad':\n"
    "    a, b = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
    "    if sorted(a.files) != sorted(b.files): fail('keys %s vs %s' % (a.files, b.files))\n"
    "    for k in a.files:\n"
    "        x, y = a[k], b[k]\n"
    "        if mode == 'pad' and k == 'globalTargetsNC':\n"
    "            if y.shape != (x.shape[0], 80) or not np.array_equal(y[:, :64], x) or np.any(y[:, "
    "64:]):\n"
    "                fail('padding of globalTargetsNC')\n"
    "            continue\n"
    "        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():\n"
    "            fail(k + ' differs')\n"
    "print('  python: ok')\n";

static int run_py(const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), PYTHON " %s/check.py %s", tmp_dir, args);
    fflush(stdout);
    int rc = system(cmd);
    if (rc != 0) printf("  command failed (%d): %s\n", rc, cmd);
    return rc;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Writes one array to the archive, its raw bytes to <tmp>/<name>.raw and a manifest line. */
static int add_with_manifest(npz_writer_t *w, FILE *man, const char *name, npz_dtype_t dt, int nd,
                             const int64_t *shape, const void *data, tg_err_t *err) {
    int rc = npz_writer_add(w, name, dt, nd, shape, data, err);
    if (rc) return rc;
    size_t n = npz_dtype_size(dt);
    for (int i = 0; i < nd; i++)
        n *= (size_t)shape[i];
    char raw[160];
    snprintf(raw, sizeof(raw), "%s/%s.raw", tmp_dir, name);
    if (write_file(raw, data, n)) return -1;
    size_t nl = strlen(name);
    fprintf(man, "%.*s %s %s", (int)(nl > 4 && !strcmp(name + nl - 4, ".npy") ? nl - 4 : nl), name,
            npz_dtype_descr(dt), raw);
    for (int i = 0; i < nd; i++)
        fprintf(man, " %lld", (long long)shape[i]);
    fprintf(man, "\n");
    return 0;
}

TEST(numpy_reads_ours) {
    for (int level = 0; level <= 9; level += 9) {
        char path[128], mpath[128];
        snprintf(path, sizeof(path), "%s/ours.npz", tmp_dir);
        snprintf(mpath, sizeof(mpath), "%s/ours.manifest", tmp_dir);
        FILE *man = fopen(mpath, "w");
        ASSERT_TRUE(man != NULL);
        npz_writer_t w;
        tg_err_t err = {0};
        ASSERT_EQ(npz_writer_open(&w, path, level, &err), 0);
        static unsigned char data[200000];
        tg_rng_t rng;
        tg_rng_seed(&rng, 42, (uint64_t)level);
        for (size_t i = 0; i < sizeof(data); i++)
            data[i] = (unsigned char)(i % 7 == 0 ? tg_rng_u64(&rng) : i / 300);
        int rc = 0;
        for (int d = 0; d < NPZ_DTYPE_COUNT && !rc; d++) {
            if (d == NPZ_DTYPE_B1) continue; /* bool must hold 0/1: below */
            char name[32];
            snprintf(name, sizeof(name), d % 2 ? "a%d.npy" : "a%d", d);
            int64_t shape[3] = {3 + d, 7, 5};
            if (d == NPZ_DTYPE_F4 || d == NPZ_DTYPE_F8) { /* finite floats only */
                size_t n = (size_t)(3 + d) * 35;
                static float ff[16 * 35];
                static double fd[16 * 35];
                for (size_t i = 0; i < n; i++) {
                    ff[i] = (float)tg_rng_normal(&rng);
                    fd[i] = tg_rng_normal(&rng);
                }
                rc = add_with_manifest(&w, man, name, (npz_dtype_t)d, 3, shape,
                                       d == NPZ_DTYPE_F4 ? (void *)ff : (void *)fd, &err);
            } else {
                rc = add_with_manifest(&w, man, name, (npz_dtype_t)d, 3, shape, data, &err);
            }
        }
        uint8_t bools[4] = {1, 0, 0, 1};
        int64_t s4[1] = {4}, sbig[2] = {1000, 190}, sempty[2] = {0, 4};
        float scalar = -1.5f;
        if (!rc) rc = add_with_manifest(&w, man, "bools", NPZ_DTYPE_B1, 1, s4, bools, &err);
        if (!rc) rc = add_with_manifest(&w, man, "big", NPZ_DTYPE_U1, 2, sbig, data, &err);
        if (!rc) rc = add_with_manifest(&w, man, "empty", NPZ_DTYPE_F4, 2, sempty, data, &err);
        if (!rc) rc = add_with_manifest(&w, man, "scalar", NPZ_DTYPE_F4, 0, NULL, &scalar, &err);
        fclose(man);
        if (rc) TEST__FAIL("write: %d %s", rc, err.msg);
        ASSERT_EQ(npz_writer_commit(&w, &err), 0);
        char args[300];
        snprintf(args, sizeof(args), "ours %s %s", path, mpath);
        ASSERT_EQ(run_py(args), 0);
    }
}

/* Reads a file written by NumPy and compares every array with NumPy's raw dump. */
static void check_numpy_file(const char *file, int *failed) {
    char path[160], mpath[160];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, file);
    snprintf(mpath, sizeof(mpath), "%s/np.manifest", tmp_dir);
    npz_file_t f;
    tg_err_t err = {0};
    if (npz_file_read(&f, path, 0, &err)) {
        printf("  %s\n", err.msg);
        *failed = 1;
        return;
    }
    FILE *man = fopen(mpath, "r");
    char line[512];
    int lines = 0;
    while (man && fgets(line, sizeof(line), man)) {
        char name[64], descr[16], raw[256];
        int off = 0;
        if (sscanf(line, "%63s %15s %255s%n", name, descr, raw, &off) != 3) break;
        lines++;
        const npz_array_t *a = npz_file_find(&f, name);
        if (!a) {
            printf("  %s: missing %s\n", file, name);
            *failed = 1;
            continue;
        }
        int64_t shape[8];
        int nd = 0, used = 0;
        while (nd < 8 && sscanf(line + off, "%lld%n", (long long *)&shape[nd], &used) == 1) {
            off += used;
            nd++;
        }
        char *rdata = NULL;
        size_t rlen = 0;
        tg_err_t e2 = {0};
        int ok = tg_file_read_all(raw, 1 << 26, &rdata, &rlen, &e2) == 0 &&
                 strcmp(npz_dtype_descr(a->dtype), descr) == 0 && a->ndim == nd &&
                 a->nbytes == rlen && memcmp(a->data, rdata, rlen) == 0;
        for (int i = 0; ok && i < nd; i++)
            ok = a->shape[i] == shape[i];
        if (!ok) {
            printf("  %s: %s differs (descr %s vs %s)\n", file, name, npz_dtype_descr(a->dtype),
                   descr);
            *failed = 1;
        }
        free(rdata);
    }
    if (man) fclose(man);
    if (lines != 12 || f.num_arrays != 12) {
        printf("  %s: %d manifest lines, %d arrays\n", file, lines, f.num_arrays);
        *failed = 1;
    }
    npz_file_free(&f);
}

TEST(we_read_numpy) {
    char args[200];
    snprintf(args, sizeof(args), "make %s", tmp_dir);
    ASSERT_EQ(run_py(args), 0);
    int failed = 0;
    check_numpy_file("np_deflate.npz", &failed);
    check_numpy_file("np_stored.npz", &failed);
    ASSERT_TRUE(!failed);
    /* .npy version 2.0 member. */
    npz_file_t f;
    tg_err_t err = {0};
    char path[160];
    snprintf(path, sizeof(path), "%s/np_v2.npz", tmp_dir);
    int rc = npz_file_read(&f, path, 0, &err);
    if (rc) TEST__FAIL("v2: %s", err.msg);
    ASSERT_EQ(f.num_arrays, 1);
    ASSERT_EQ(f.arrays[0].dtype, NPZ_DTYPE_F4);
    ASSERT_EQ(f.arrays[0].shape[0], 5);
    ASSERT_EQ(f.arrays[0].shape[1], 19);
    npz_file_free(&f);
    /* Fortran order is refused clearly. */
    snprintf(path, sizeof(path), "%s/np_fortran.npz", tmp_dir);
    ASSERT_EQ(npz_file_read(&f, path, 0, &err), TG_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "np_fortran.npz: f.npy: Fortran");
}

TEST(trainrows_file_for_numpy) {
    static const int lens[] = {19, 9};
    for (size_t k = 0; k < TG_ARRAY_LEN(lens); k++) {
        int L = lens[k], N = 25;
        trainrows_t tr;
        tg_err_t err = {0};
        ASSERT_EQ(trainrows_init(&tr, L, N, &err), 0);
        float *spatial = malloc(sizeof(float) * (size_t)N * 22 * L * L);
        tg_rng_t rng;
        tg_rng_seed(&rng, 17, k);
        for (int r = 0; r < N; r++) {
            ASSERT_EQ(trainrows_append(&tr), r);
            float *sp = spatial + (size_t)r * 22 * L * L;
            for (int i = 0; i < 22 * L * L; i++)
                sp[i] = tg_rng_below(&rng, 4) == 0 ? 1.0f : 0.0f;
            trainrows_set_inputs(&tr, r, sp, NULL);
            trainrows_set_score_distr(&tr, r, (float)tg_rng_normal(&rng) * 30.0f);
            trainrows_set_policy_missing(&tr, r, r % 2);
        }
        char path[128], spath[128], args[400];
        snprintf(path, sizeof(path), "%s/rows.npz", tmp_dir);
        snprintf(spath, sizeof(spath), "%s/spatial.f32", tmp_dir);
        ASSERT_EQ(write_file(spath, spatial, sizeof(float) * (size_t)N * 22 * L * L), 0);
        int rc = trainrows_write_npz(&tr, path, 6, &err);
        if (rc) TEST__FAIL("write: %s", err.msg);
        snprintf(args, sizeof(args), "rows %s %s %d %d", path, spath, L, N);
        ASSERT_EQ(run_py(args), 0);
        free(spatial);
        trainrows_free(&tr);
    }
}

TEST(fixture_rewrite_identical) {
    char fixture[512], path[128], args[800];
    snprintf(fixture, sizeof(fixture), "%s/benchmark_data_1024.npz", test_fixtures_dir());
    snprintf(path, sizeof(path), "%s/rewrite.npz", tmp_dir);
    npz_file_t f;
    tg_err_t err = {0};
    int rc = npz_file_read(&f, fixture, 0, &err);
    if (rc) TEST__FAIL("read: %s", err.msg);
    npz_writer_t w;
    ASSERT_EQ(npz_writer_open(&w, path, 6, &err), 0);
    for (int i = 0; i < f.num_arrays; i++) {
        const npz_array_t *a = &f.arrays[i];
        rc = npz_writer_add(&w, a->name, a->dtype, a->ndim, a->shape, a->data, &err);
        if (rc) TEST__FAIL("add: %s", err.msg);
    }
    ASSERT_EQ(npz_writer_commit(&w, &err), 0);
    npz_file_free(&f);
    snprintf(args, sizeof(args), "same %s %s", fixture, path);
    ASSERT_EQ(run_py(args), 0);

    /* Through trainrows: everything identical except globalTargetsNC, padded 64 -> 80. */
    trainrows_t tr;
    rc = trainrows_load_npz(&tr, fixture, &err);
    if (rc) TEST__FAIL("load: %s", err.msg);
    ASSERT_EQ(trainrows_write_npz(&tr, path, 1, &err), 0);
    trainrows_free(&tr);
    snprintf(args, sizeof(args), "pad %s %s", fixture, path);
    ASSERT_EQ(run_py(args), 0);
}

int main(void) {
    if (system(PYTHON " -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("SKIP: " PYTHON " cannot import numpy\n");
        return 77;
    }
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/tg_numpy_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temp dir\n");
        return 1;
    }
    char script[128];
    snprintf(script, sizeof(script), "%s/check.py", tmp_dir);
    if (write_file(script, check_py, strlen(check_py)) != 0) {
        printf("cannot write %s\n", script);
        return 1;
    }
    RUN(numpy_reads_ours);
    RUN(we_read_numpy);
    RUN(trainrows_file_for_numpy);
    RUN(fixture_rewrite_identical);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmp_dir);
    TEST_MAIN_END();
}
