/* npz.c: .npz writer and reader (ZIP + .npy). Design and guarantees: see npz.h.
 *
 * ZIP facts used here (PKWARE APPNOTE 6.3): little-endian fields; local header 30 bytes + name +
 * extra, signature 0x04034b50, CRC at +14, compressed size at +18, uncompressed size at +22;
 * central directory entry 46 bytes + name + extra + comment, signature 0x02014b50; end record
 * 22 bytes + comment, signature 0x06054b50; ZIP64 end locator 0x07064b50 (20 bytes, just before
 * the end record) pointing to the ZIP64 end record 0x06064b50; ZIP64 extra field id 0x0001 holds
 * the 64-bit uncompressed size, compressed size and local offset, each only when the 32-bit field
 * is 0xFFFFFFFF, in that order. */
#include "data/npz.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZIP_LOCAL_SIG      0x04034b50u
#define ZIP_CENTRAL_SIG    0x02014b50u
#define ZIP_END_SIG        0x06054b50u
#define ZIP64_END_SIG      0x06064b50u
#define ZIP64_LOC_SIG      0x07064b50u
#define ZIP_LOCAL_LEN      30
#define ZIP_CENTRAL_LEN    46
#define ZIP_END_LEN        22
#define ZIP_MAX32          0xFFFFFFFFu
#define ZIP_METHOD_STORED  0
#define ZIP_METHOD_DEFLATE 8
#define ZIP_DOS_DATE_1980  0x21 /* 1980-01-01: fixed so that equal data gives equal files */

#define NPZ_CHUNK_BYTES   (64 * 1024)
#define NPY_ALIGN         64
#define NPY_GROWTH_DIGITS 21 /* NumPy pads the header for the first axis growing to 21 digits */
#define NPY_MAX_HEADER    65536
/* Deflate cannot expand data by more than about 1032:1, so a directory that claims more is lying
 * (and would make us allocate without bound). */
#define DEFLATE_MAX_RATIO 1040u

struct npz_member_s {
    char *name;
    uint32_t crc, csize, usize, offset;
    int method;
};

static const struct {
    const char *descr;
    char kind;
    size_t size;
} dtype_table[NPZ_DTYPE_COUNT] = {
    [NPZ_DTYPE_U1] = {"|u1", 'u', 1}, [NPZ_DTYPE_I1] = {"|i1", 'i', 1},
    [NPZ_DTYPE_I2] = {"<i2", 'i', 2}, [NPZ_DTYPE_F4] = {"<f4", 'f', 4},
    [NPZ_DTYPE_B1] = {"|b1", 'b', 1}, [NPZ_DTYPE_U2] = {"<u2", 'u', 2},
    [NPZ_DTYPE_I4] = {"<i4", 'i', 4}, [NPZ_DTYPE_U4] = {"<u4", 'u', 4},
    [NPZ_DTYPE_I8] = {"<i8", 'i', 8}, [NPZ_DTYPE_U8] = {"<u8", 'u', 8},
    [NPZ_DTYPE_F8] = {"<f8", 'f', 8},
};

size_t npz_dtype_size(npz_dtype_t dtype) {
    TG_ASSERT((unsigned)dtype < NPZ_DTYPE_COUNT);
    return dtype_table[dtype].size;
}

const char *npz_dtype_descr(npz_dtype_t dtype) {
    TG_ASSERT((unsigned)dtype < NPZ_DTYPE_COUNT);
    return dtype_table[dtype].descr;
}

uint32_t npz_crc32(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return crc;
}

/* ---- Little-endian byte helpers ------------------------------------------------------------- */

static void put16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    put16(p, v);
    put16(p + 2, v >> 16);
}
static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* ---- .npy header ------------------------------------------------------------------------------
 */

size_t npz_npy_header_build(char *out, size_t cap, npz_dtype_t dtype, int ndim,
                            const int64_t *shape) {
    if ((unsigned)dtype >= NPZ_DTYPE_COUNT || ndim < 0 || ndim > NPZ_MAX_DIMS) return 0;
    char dict[512], dims[NPZ_MAX_DIMS * 24 + 8];
    size_t dl = 0;
    dims[0] = '\0';
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return 0;
        dl += (size_t)snprintf(dims + dl, sizeof(dims) - dl, "%s%lld", i ? ", " : "",
                               (long long)shape[i]);
    }
    if (ndim == 1) snprintf(dims + dl, sizeof(dims) - dl, ",");
    int n = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     dtype_table[dtype].descr, dims);
    if (n < 0 || (size_t)n >= sizeof(dict)) return 0;
    size_t hl = (size_t)n;
    /* Same growth padding as NumPy >= 1.23: room for the first axis to grow to 21 digits. */
    if (ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS && hl + 1 < sizeof(dict); i++)
            dict[hl++] = ' ';
    }
    size_t hlen = hl + 1; /* + '\n' */
    size_t pad = NPY_ALIGN - ((10 + hlen) % NPY_ALIGN);
    size_t total = 10 + hlen + pad;
    if (total > cap || hlen + pad > 0xFFFF) return 0;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    put16((unsigned char *)out + 8, (uint32_t)(hlen + pad));
    memcpy(out + 10, dict, hl);
    memset(out + 10 + hl, ' ', pad);
    out[total - 1] = '\n';
    return total;
}

/* ---- Writer ------------------------------------------------------------------------------------
 */

static void writer_free(npz_writer_t *w) {
    for (int i = 0; i < w->num_members; i++)
        free(w->members[i].name);
    free(w->members);
    free(w->chunk);
    w->members = NULL;
    w->chunk = NULL;
    w->num_members = w->cap_members = 0;
}

int npz_writer_open(npz_writer_t *w, const char *path, int level, tg_err_t *err) {
    memset(w, 0, sizeof(*w));
    if (level < 0 || level > 9)
        return tg_err_set(err, TG_EINVAL, "%s: npz compression level %d not in 0..9", path, level);
    w->level = level;
    w->chunk = malloc(NPZ_CHUNK_BYTES);
    if (!w->chunk) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
    int rc = tg_atomic_file_open(&w->file, path, err);
    if (rc) {
        writer_free(w);
        return rc;
    }
    return 0;
}

static int writer_put(npz_writer_t *w, const void *p, size_t n, tg_err_t *err) {
    if (n && fwrite(p, 1, n, w->file.fp) != n)
        return tg_err_set(err, TG_EIO, "%s: write failed: %s", w->file.tmp_path, strerror(errno));
    w->offset += n;
    return 0;
}

/* Deflates `len` bytes of src (flush = Z_NO_FLUSH or Z_FINISH) into the file, counting output
 * bytes into *csize. */
static int writer_deflate(npz_writer_t *w, z_stream *zs, const void *src, size_t len, int flush,
                          uint64_t *csize, tg_err_t *err) {
    const unsigned char *p = src;
    for (;;) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        int last = (n == len);
        zs->next_in = (Bytef *)p;
        zs->avail_in = n;
        do {
            zs->next_out = w->chunk;
            zs->avail_out = NPZ_CHUNK_BYTES;
            int zr = deflate(zs, last ? flush : Z_NO_FLUSH);
            if (zr == Z_STREAM_ERROR)
                return tg_err_set(err, TG_EINTERNAL, "%s: deflate failed", w->file.path);
            size_t have = NPZ_CHUNK_BYTES - zs->avail_out;
            *csize += have;
            int rc = writer_put(w, w->chunk, have, err);
            if (rc) return rc;
        } while (zs->avail_out == 0);
        p += n;
        len -= n;
        if (len == 0) return 0;
    }
}

int npz_writer_add(npz_writer_t *w, const char *name, npz_dtype_t dtype, int ndim,
                   const int64_t *shape, const void *data, tg_err_t *err) {
    const char *path = w->file.path;
    if (w->failed) return tg_err_set(err, TG_ESTATE, "%s: npz writer already failed", path);
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen >= NPZ_MAX_NAME)
        return tg_err_set(err, TG_EINVAL, "%s: bad member name", path);
    if ((unsigned)dtype >= NPZ_DTYPE_COUNT || ndim < 0 || ndim > NPZ_MAX_DIMS)
        return tg_err_set(err, TG_EINVAL, "%s: %s: bad dtype or ndim %d", path, name, ndim);
    if (w->num_members >= 0xFFFF)
        return tg_err_set(err, TG_ERANGE, "%s: too many members for a non-ZIP64 archive", path);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && count > UINT64_MAX / 16 / (uint64_t)shape[i]))
            return tg_err_set(err, TG_EINVAL, "%s: %s: bad shape", path, name);
        count *= (uint64_t)shape[i];
    }
    uint64_t nbytes = count * dtype_table[dtype].size;
    char hdr[1024];
    size_t hdr_len = npz_npy_header_build(hdr, sizeof(hdr), dtype, ndim, shape);
    if (hdr_len == 0) return tg_err_set(err, TG_EINVAL, "%s: %s: cannot build header", path, name);
    uint64_t usize = hdr_len + nbytes;
    /* Deflate may grow incompressible data by a few bytes per 16 KiB block; keep a margin. */
    uint64_t worst = usize + usize / 1000 + 1024;
    if (usize >= ZIP_MAX32 || w->offset + ZIP_LOCAL_LEN + nlen + worst >= ZIP_MAX32)
        return tg_err_set(err, TG_ERANGE,
                          "%s: %s: archive would exceed 4 GiB (ZIP64 is not written); "
                          "write fewer rows per file",
                          path, name);
    if (w->num_members == w->cap_members) {
        int ncap = w->cap_members ? 2 * w->cap_members : 16;
        npz_member_t *nm = realloc(w->members, (size_t)ncap * sizeof(*nm));
        if (!nm) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
        w->members = nm;
        w->cap_members = ncap;
    }
    npz_member_t *m = &w->members[w->num_members];
    memset(m, 0, sizeof(*m));
    m->name = strdup(name);
    if (!m->name) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", path);
    w->num_members++;
    m->offset = (uint32_t)w->offset;
    m->method = w->level == NPZ_STORED ? ZIP_METHOD_STORED : ZIP_METHOD_DEFLATE;
    m->usize = (uint32_t)usize;
    m->crc = npz_crc32(npz_crc32(0, hdr, hdr_len), data, (size_t)nbytes);

    unsigned char lh[ZIP_LOCAL_LEN];
    memset(lh, 0, sizeof(lh));
    put32(lh, ZIP_LOCAL_SIG);
    put16(lh + 4, 20); /* version needed: 2.0 (deflate) */
    put16(lh + 8, (uint32_t)m->method);
    put16(lh + 12, ZIP_DOS_DATE_1980);
    put32(lh + 14, m->crc);
    put32(lh + 18, 0); /* compressed size: patched below */
    put32(lh + 22, m->usize);
    put16(lh + 26, (uint32_t)nlen);
    int rc = writer_put(w, lh, sizeof(lh), err);
    if (!rc) rc = writer_put(w, name, nlen, err);
    if (rc) goto fail;

    uint64_t csize = 0;
    if (m->method == ZIP_METHOD_STORED) {
        rc = writer_put(w, hdr, hdr_len, err);
        if (!rc) rc = writer_put(w, data, (size_t)nbytes, err);
        csize = usize;
    } else {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (deflateInit2(&zs, w->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = tg_err_set(err, TG_ENOMEM, "%s: %s: deflateInit failed", path, name);
            goto fail;
        }
        rc = writer_deflate(w, &zs, hdr, hdr_len, Z_NO_FLUSH, &csize, err);
        if (!rc) rc = writer_deflate(w, &zs, data, (size_t)nbytes, Z_FINISH, &csize, err);
        deflateEnd(&zs);
    }
    if (rc) goto fail;
    if (w->offset >= ZIP_MAX32) {
        rc = tg_err_set(err, TG_ERANGE, "%s: %s: archive exceeds 4 GiB (ZIP64 is not written)",
                        path, name);
        goto fail;
    }
    m->csize = (uint32_t)csize;
    unsigned char sz[4];
    put32(sz, m->csize);
    if (fseeko(w->file.fp, (off_t)m->offset + 18, SEEK_SET) != 0 ||
        fwrite(sz, 1, 4, w->file.fp) != 4 || fseeko(w->file.fp, 0, SEEK_END) != 0) {
        rc =
            tg_err_set(err, TG_EIO, "%s: seek/patch failed: %s", w->file.tmp_path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    w->failed = 1;
    return rc;
}

int npz_writer_commit(npz_writer_t *w, tg_err_t *err) {
    int rc = 0;
    if (w->failed) {
        rc = tg_err_set(err, TG_ESTATE, "%s: npz writer already failed", w->file.path);
        goto fail;
    }
    uint64_t cd_start = w->offset;
    for (int i = 0; i < w->num_members; i++) {
        const npz_member_t *m = &w->members[i];
        size_t nlen = strlen(m->name);
        unsigned char ce[ZIP_CENTRAL_LEN];
        memset(ce, 0, sizeof(ce));
        put32(ce, ZIP_CENTRAL_SIG);
        put16(ce + 4, 20); /* made by: MS-DOS attributes, spec 2.0 */
        put16(ce + 6, 20);
        put16(ce + 10, (uint32_t)m->method);
        put16(ce + 14, ZIP_DOS_DATE_1980);
        put32(ce + 16, m->crc);
        put32(ce + 20, m->csize);
        put32(ce + 24, m->usize);
        put16(ce + 28, (uint32_t)nlen);
        put32(ce + 42, m->offset);
        rc = writer_put(w, ce, sizeof(ce), err);
        if (!rc) rc = writer_put(w, m->name, nlen, err);
        if (rc) goto fail;
    }
    uint64_t cd_size = w->offset - cd_start;
    if (w->offset >= ZIP_MAX32) {
        rc = tg_err_set(err, TG_ERANGE, "%s: archive exceeds 4 GiB (ZIP64 is not written)",
                        w->file.path);
        goto fail;
    }
    unsigned char end[ZIP_END_LEN];
    memset(end, 0, sizeof(end));
    put32(end, ZIP_END_SIG);
    put16(end + 8, (uint32_t)w->num_members);
    put16(end + 10, (uint32_t)w->num_members);
    put32(end + 12, (uint32_t)cd_size);
    put32(end + 16, (uint32_t)cd_start);
    rc = writer_put(w, end, sizeof(end), err);
    if (rc) goto fail;
    rc = tg_atomic_file_commit(&w->file, err); /* removes the temp file itself on failure */
    writer_free(w);
    return rc;
fail:
    npz_writer_abort(w);
    return rc;
}

void npz_writer_abort(npz_writer_t *w) {
    if (w->file.fp) tg_atomic_file_abort(&w->file);
    writer_free(w);
    w->failed = 1;
}

/* ---- .npy header parsing ----------------------------------------------------------------------
 */

/* A cursor over the header dict text. */
typedef struct {
    const char *p, *end;
} npy_lex_t;

static void lex_skip_ws(npy_lex_t *lx) {
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static int lex_take(npy_lex_t *lx, char c) {
    lex_skip_ws(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return 1;
    }
    return 0;
}

/* Reads a '...' or "..." string into out (cap bytes). Returns 1 on success. */
static int lex_string(npy_lex_t *lx, char *out, size_t cap) {
    lex_skip_ws(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) return 0;
    char q = *lx->p++;
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != q) {
        if (n + 1 >= cap) return 0;
        out[n++] = *lx->p++;
    }
    if (lx->p >= lx->end) return 0;
    lx->p++;
    out[n] = '\0';
    return 1;
}

static int lex_word(npy_lex_t *lx, const char *word) {
    lex_skip_ws(lx);
    size_t n = strlen(word);
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0) return 0;
    lx->p += n;
    return 1;
}

/* Reads a non-negative integer (optionally with a trailing 'L', as Python 2 wrote). */
static int lex_int(npy_lex_t *lx, int64_t *v) {
    lex_skip_ws(lx);
    if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9') return 0;
    int64_t x = 0;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        if (x > (INT64_MAX - 9) / 10) return 0;
        x = x * 10 + (*lx->p++ - '0');
    }
    if (lx->p < lx->end && *lx->p == 'L') lx->p++;
    *v = x;
    return 1;
}

static int parse_descr(const char *s, npz_dtype_t *dtype, const char **why) {
    char order = '|';
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=') order = *s++;
    char kind = *s++;
    if (kind == '\0') {
        *why = "empty descr";
        return TG_EFORMAT;
    }
    char *endp;
    long size = strtol(s, &endp, 10);
    if (endp == s || *endp != '\0') {
        *why = "descr is not a simple dtype";
        return TG_EUNSUPPORTED;
    }
    if (order == '>' && size > 1) {
        *why = "big-endian arrays are not supported";
        return TG_EUNSUPPORTED;
    }
    for (int d = 0; d < NPZ_DTYPE_COUNT; d++) {
        if (dtype_table[d].kind == kind && (long)dtype_table[d].size == size) {
            *dtype = (npz_dtype_t)d;
            return 0;
        }
    }
    *why = "unsupported dtype";
    return TG_EUNSUPPORTED;
}

/* Parses one .npy member held in buf[0..len). On success fills arr (not data) and sets
 * *data_off to where the array bytes start. */
static int npy_parse(const unsigned char *buf, size_t len, npz_array_t *arr, size_t *data_off,
                     const char *what, const char *member, tg_err_t *err) {
#define NPY_BAD(code, ...)                                                                         \
    do {                                                                                           \
        tg_err_set(err, code, __VA_ARGS__);                                                        \
        tg_err_prefix(err, "%s: %s", what, member);                                                \
        return code;                                                                               \
    } while (0)
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) NPY_BAD(TG_EFORMAT, "not an .npy array");
    size_t prefix, hlen;
    if (buf[6] == 1) {
        prefix = 10;
        hlen = get16(buf + 8);
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12) NPY_BAD(TG_EFORMAT, "truncated .npy header");
        prefix = 12;
        hlen = get32(buf + 8);
    } else {
        NPY_BAD(TG_EUNSUPPORTED, "unknown .npy version %u.%u", buf[6], buf[7]);
    }
    if (hlen > NPY_MAX_HEADER || hlen > len - prefix)
        NPY_BAD(TG_EFORMAT, ".npy header length %zu exceeds the member", hlen);
    npy_lex_t lx = {(const char *)buf + prefix, (const char *)buf + prefix + hlen};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    npz_dtype_t dtype = NPZ_DTYPE_U1;
    int ndim = 0;
    int64_t shape[NPZ_MAX_DIMS];
    if (!lex_take(&lx, '{')) NPY_BAD(TG_EFORMAT, ".npy header is not a dict");
    for (;;) {
        if (lex_take(&lx, '}')) break;
        char key[32], val[32];
        if (!lex_string(&lx, key, sizeof(key)) || !lex_take(&lx, ':'))
            NPY_BAD(TG_EFORMAT, ".npy header: expected 'key':");
        if (strcmp(key, "descr") == 0) {
            if (!lex_string(&lx, val, sizeof(val)))
                NPY_BAD(TG_EUNSUPPORTED, ".npy header: descr is not a simple dtype string");
            const char *why = "";
            int rc = parse_descr(val, &dtype, &why);
            if (rc) NPY_BAD(rc, ".npy header: descr '%s': %s", val, why);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (lex_word(&lx, "False"))
                fortran = 0;
            else if (lex_word(&lx, "True"))
                fortran = 1;
            else
                NPY_BAD(TG_EFORMAT, ".npy header: fortran_order is not True/False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!lex_take(&lx, '(')) NPY_BAD(TG_EFORMAT, ".npy header: shape is not a tuple");
            ndim = 0;
            while (!lex_take(&lx, ')')) {
                if (ndim == NPZ_MAX_DIMS)
                    NPY_BAD(TG_EUNSUPPORTED, ".npy header: more than %d dims", NPZ_MAX_DIMS);
                if (!lex_int(&lx, &shape[ndim]))
                    NPY_BAD(TG_EFORMAT, ".npy header: bad shape entry");
                ndim++;
                if (!lex_take(&lx, ',')) {
                    if (!lex_take(&lx, ')')) NPY_BAD(TG_EFORMAT, ".npy header: bad shape tuple");
                    break;
                }
            }
            have_shape = 1;
        } else {
            NPY_BAD(TG_EFORMAT, ".npy header: unexpected key '%s'", key);
        }
        if (!lex_take(&lx, ',')) {
            if (!lex_take(&lx, '}')) NPY_BAD(TG_EFORMAT, ".npy header: expected ',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        NPY_BAD(TG_EFORMAT, ".npy header lacks descr, fortran_order or shape");
    uint64_t count = 1;
    int big_dims = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] > 1) big_dims++;
        if (shape[i] != 0 && count > ((uint64_t)1 << 60) / (uint64_t)shape[i])
            NPY_BAD(TG_EFORMAT, ".npy header: shape too large");
        count *= (uint64_t)shape[i];
    }
    if (fortran && big_dims > 1) NPY_BAD(TG_EUNSUPPORTED, "Fortran-order arrays are not supported");
    size_t data_len = len - prefix - hlen;
    uint64_t want = count * dtype_table[dtype].size;
    if (want != data_len)
        NPY_BAD(TG_EFORMAT, "shape and dtype need %llu data bytes but the member holds %zu",
                (unsigned long long)want, data_len);
    arr->dtype = dtype;
    arr->ndim = ndim;
    memcpy(arr->shape, shape, sizeof(int64_t) * (size_t)ndim);
    arr->count = (int64_t)count;
    arr->nbytes = (size_t)want;
    *data_off = prefix + hlen;
    return 0;
#undef NPY_BAD
}

/* ---- ZIP reading ------------------------------------------------------------------------------
 */

/* Inflates a raw deflate stream src[0..clen) into dst of exactly ulen bytes. */
static int inflate_exact(const unsigned char *src, size_t clen, unsigned char *dst, size_t ulen,
                         const char **why) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK) {
        *why = "inflateInit failed";
        return TG_ENOMEM;
    }
    int rc = 0, zr = Z_OK;
    size_t in_left = clen, out_left = ulen;
    zs.next_in = (Bytef *)src;
    zs.next_out = dst;
    while (zr == Z_OK) {
        uInt in_n = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt out_n = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        zs.avail_in = in_n;
        zs.avail_out = out_n;
        zr = inflate(&zs, Z_NO_FLUSH);
        in_left -= in_n - zs.avail_in;
        out_left -= out_n - zs.avail_out;
        if (zr == Z_BUF_ERROR) {
            *why = out_left == 0 ? "deflate data is longer than the directory's size"
                                 : "deflate data is truncated";
            rc = TG_EFORMAT;
            break;
        }
        if (zr == Z_OK && out_left == 0 && zs.avail_out == 0 && in_left == 0) {
            *why = "deflate stream does not end";
            rc = TG_EFORMAT;
            break;
        }
    }
    if (!rc && zr != Z_STREAM_END) {
        *why = zr == Z_MEM_ERROR ? "out of memory in inflate" : "corrupt deflate data";
        rc = zr == Z_MEM_ERROR ? TG_ENOMEM : TG_EFORMAT;
    }
    if (!rc && out_left != 0) {
        *why = "deflate data is shorter than the directory's size";
        rc = TG_EFORMAT;
    }
    inflateEnd(&zs);
    return rc;
}

void npz_file_free(npz_file_t *f) {
    if (!f) return;
    for (int i = 0; i < f->num_arrays; i++)
        free(f->arrays[i].data);
    free(f->arrays);
    f->arrays = NULL;
    f->num_arrays = 0;
}

static int name_matches(const char *stored, const char *key) {
    size_t kl = strlen(key);
    if (kl >= 4 && strcmp(key + kl - 4, ".npy") == 0) kl -= 4;
    return strlen(stored) == kl && memcmp(stored, key, kl) == 0;
}

const npz_array_t *npz_file_find(const npz_file_t *f, const char *key) {
    for (int i = 0; i < f->num_arrays; i++)
        if (name_matches(f->arrays[i].name, key)) return &f->arrays[i];
    return NULL;
}

/* Finds the end record and returns the central directory's position, size and entry count. */
static int zip_find_directory(const unsigned char *b, size_t len, const char *what,
                              uint64_t *cd_off, uint64_t *cd_size, uint64_t *n_entries,
                              tg_err_t *err) {
    if (len < ZIP_END_LEN)
        return tg_err_set(err, TG_EFORMAT, "%s: too short (%zu bytes) for a zip archive", what,
                          len);
    size_t lowest = len - ZIP_END_LEN > 0xFFFF ? len - ZIP_END_LEN - 0xFFFF : 0;
    size_t e = len - ZIP_END_LEN + 1;
    int found = 0;
    while (e-- > lowest) {
        if (get32(b + e) == ZIP_END_SIG && e + ZIP_END_LEN + get16(b + e + 20) <= len) {
            found = 1;
            break;
        }
    }
    if (!found)
        return tg_err_set(err, TG_EFORMAT,
                          "%s: no zip end-of-central-directory record (truncated or not a zip)",
                          what);
    if (get16(b + e + 4) != 0 || get16(b + e + 6) != 0)
        return tg_err_set(err, TG_EUNSUPPORTED, "%s: multi-disk zip archives are not supported",
                          what);
    *n_entries = get16(b + e + 10);
    *cd_size = get32(b + e + 12);
    *cd_off = get32(b + e + 16);
    if (*n_entries == 0xFFFF || *cd_size == ZIP_MAX32 || *cd_off == ZIP_MAX32) {
        /* ZIP64: the locator sits right before the end record. */
        if (e < 20 || get32(b + e - 20) != ZIP64_LOC_SIG)
            return tg_err_set(err, TG_EFORMAT, "%s: ZIP64 end locator missing", what);
        uint64_t z = get64(b + e - 20 + 8);
        if (z > len || len - z < 56 || get32(b + z) != ZIP64_END_SIG)
            return tg_err_set(err, TG_EFORMAT, "%s: ZIP64 end record missing or truncated", what);
        *n_entries = get64(b + z + 32);
        *cd_size = get64(b + z + 40);
        *cd_off = get64(b + z + 48);
    }
    if (*cd_off > len || *cd_size > len - *cd_off)
        return tg_err_set(err, TG_EFORMAT,
                          "%s: central directory (offset %llu, %llu bytes) lies outside the "
                          "%zu-byte file (truncated?)",
                          what, (unsigned long long)*cd_off, (unsigned long long)*cd_size, len);
    if (*n_entries > *cd_size / ZIP_CENTRAL_LEN)
        return tg_err_set(err, TG_EFORMAT, "%s: %llu entries cannot fit a %llu-byte directory",
                          what, (unsigned long long)*n_entries, (unsigned long long)*cd_size);
    return 0;
}

/* Reads one member (already located) into arr. */
static int zip_read_member(const unsigned char *b, size_t len, const char *what, const char *member,
                           int method, uint32_t flags, uint32_t crc, uint64_t csize, uint64_t usize,
                           uint64_t loff, npz_array_t *arr, tg_err_t *err) {
    if (flags & 1)
        return tg_err_set(err, TG_EUNSUPPORTED, "%s: %s: encrypted members are not supported", what,
                          member);
    if (method != ZIP_METHOD_STORED && method != ZIP_METHOD_DEFLATE)
        return tg_err_set(err, TG_EUNSUPPORTED,
                          "%s: %s: compression method %d (only stored and deflate)", what, member,
                          method);
    if (loff > len || len - loff < ZIP_LOCAL_LEN || get32(b + loff) != ZIP_LOCAL_SIG)
        return tg_err_set(err, TG_EFORMAT, "%s: %s: bad local header at offset %llu", what, member,
                          (unsigned long long)loff);
    uint64_t start = loff + ZIP_LOCAL_LEN + get16(b + loff + 26) + get16(b + loff + 28);
    if (start > len || csize > len - start)
        return tg_err_set(err, TG_EFORMAT,
                          "%s: %s: data (%llu bytes at %llu) runs past the end of the file "
                          "(truncated?)",
                          what, member, (unsigned long long)csize, (unsigned long long)start);
    if (method == ZIP_METHOD_STORED && csize != usize)
        return tg_err_set(err, TG_EFORMAT, "%s: %s: stored member with sizes %llu != %llu", what,
                          member, (unsigned long long)csize, (unsigned long long)usize);
    if (usize > (uint64_t)DEFLATE_MAX_RATIO * csize + 64 || usize > SIZE_MAX / 2)
        return tg_err_set(err, TG_EFORMAT, "%s: %s: implausible uncompressed size %llu", what,
                          member, (unsigned long long)usize);
    unsigned char *out = malloc(usize ? (size_t)usize : 1);
    if (!out) return tg_err_set(err, TG_ENOMEM, "%s: %s: out of memory", what, member);
    int rc = 0;
    if (method == ZIP_METHOD_STORED) {
        memcpy(out, b + start, (size_t)usize);
    } else {
        const char *why = "";
        rc = inflate_exact(b + start, (size_t)csize, out, (size_t)usize, &why);
        if (rc) {
            tg_err_set(err, rc, "%s: %s: %s", what, member, why);
            goto fail;
        }
    }
    uint32_t got = npz_crc32(0, out, (size_t)usize);
    if (got != crc) {
        rc = tg_err_set(err, TG_EFORMAT, "%s: %s: CRC-32 mismatch (data %08x, directory %08x)",
                        what, member, got, crc);
        goto fail;
    }
    size_t data_off = 0;
    rc = npy_parse(out, (size_t)usize, arr, &data_off, what, member, err);
    if (rc) goto fail;
    /* Move the array to the start of the malloc'ed block so that it is aligned for any type. */
    memmove(out, out + data_off, arr->nbytes);
    arr->data = out;
    return 0;
fail:
    free(out);
    return rc;
}

int npz_file_parse(npz_file_t *out, const void *buf, size_t len, const char *what, tg_err_t *err) {
    const unsigned char *b = buf;
    memset(out, 0, sizeof(*out));
    uint64_t cd_off = 0, cd_size = 0, n = 0;
    int rc = zip_find_directory(b, len, what, &cd_off, &cd_size, &n, err);
    if (rc) return rc;
    if (n == 0) return 0;
    out->arrays = calloc((size_t)n, sizeof(npz_array_t));
    if (!out->arrays) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
    size_t p = (size_t)cd_off, cd_end = (size_t)(cd_off + cd_size);
    for (uint64_t i = 0; i < n; i++) {
        if (cd_end - p < ZIP_CENTRAL_LEN || get32(b + p) != ZIP_CENTRAL_SIG) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: central directory entry %llu is malformed", what,
                            (unsigned long long)i);
            goto fail;
        }
        uint32_t flags = get16(b + p + 8), method = get16(b + p + 10), crc = get32(b + p + 16);
        uint64_t csize = get32(b + p + 20), usize = get32(b + p + 24), loff = get32(b + p + 42);
        size_t nlen = get16(b + p + 28), elen = get16(b + p + 30), clen = get16(b + p + 32);
        if (cd_end - p - ZIP_CENTRAL_LEN < nlen + elen + clen) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: central directory entry %llu is truncated", what,
                            (unsigned long long)i);
            goto fail;
        }
        char member[NPZ_MAX_NAME + 8];
        const unsigned char *name = b + p + ZIP_CENTRAL_LEN;
        if (nlen == 0 || nlen >= NPZ_MAX_NAME || memchr(name, '\0', nlen)) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: entry %llu: bad member name (length %zu)", what,
                            (unsigned long long)i, nlen);
            goto fail;
        }
        memcpy(member, name, nlen);
        member[nlen] = '\0';
        /* ZIP64 extra field: 64-bit values for the fields that hold 0xFFFFFFFF, in order. */
        const unsigned char *x = name + nlen, *xend = x + elen;
        while (xend - x >= 4) {
            uint32_t id = get16(x), sz = get16(x + 2);
            if ((size_t)(xend - x - 4) < sz) break;
            if (id == 0x0001) {
                const unsigned char *v = x + 4, *vend = v + sz;
                uint64_t *fields[3] = {&usize, &csize, &loff};
                for (int k = 0; k < 3; k++) {
                    if (*fields[k] != ZIP_MAX32) continue;
                    if (vend - v < 8) {
                        rc = tg_err_set(err, TG_EFORMAT, "%s: %s: short ZIP64 extra field", what,
                                        member);
                        goto fail;
                    }
                    *fields[k] = get64(v);
                    v += 8;
                }
            }
            x += 4 + sz;
        }
        char key[NPZ_MAX_NAME];
        memcpy(key, member, nlen + 1);
        if (nlen > 4 && strcmp(key + nlen - 4, ".npy") == 0) key[nlen - 4] = '\0';
        if (npz_file_find(out, key)) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: %s: duplicate member", what, member);
            goto fail;
        }
        npz_array_t *arr = &out->arrays[out->num_arrays];
        rc = zip_read_member(b, len, what, member, (int)method, flags, crc, csize, usize, loff, arr,
                             err);
        if (rc) goto fail;
        snprintf(arr->name, sizeof(arr->name), "%s", key);
        out->num_arrays++;
        p += ZIP_CENTRAL_LEN + nlen + elen + clen;
    }
    return 0;
fail:
    npz_file_free(out);
    return rc;
}

int npz_file_read(npz_file_t *out, const char *path, size_t max_bytes, tg_err_t *err) {
    memset(out, 0, sizeof(*out));
    if (max_bytes == 0) max_bytes = (size_t)16 << 30;
    char *buf = NULL;
    size_t len = 0;
    int rc = tg_file_read_all(path, max_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = npz_file_parse(out, buf, len, path, err);
    free(buf);
    return rc;
}
