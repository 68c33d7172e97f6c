/* npz.h: NumPy .npz archives (a ZIP of .npy arrays), written and read without Python.
 *
 * Why: KataGo's selfplay writes its training rows as .npz files, and its shuffler and trainer
 * read them with numpy.load. tengen writes the same files (src/data/trainrows.h) and reads them
 * back for training, so both directions must match NumPy byte for byte on the array data.
 *
 * Writer design: members are streamed into a temp file (util/fileio.h atomic write: temp, fsync,
 * rename), each as a local header, raw-deflate data (ZIP method 8, what numpy.savez_compressed
 * uses) or stored data (method 0), then a central directory and an end record. The local header
 * is written first with zero CRC/sizes and patched once the member is done, so no data
 * descriptors are used and nothing is buffered beyond a 64 KiB chunk. Each member is an .npy
 * v1.0 file with NumPy's own header ("{'descr': '<f4', 'fortran_order': False, 'shape': (N, 19), }"
 * padded with spaces so that the array data starts at a multiple of 64). ZIP64 is not written:
 * an archive or member that would pass 4 GiB is refused with TG_ERANGE before anything is lost.
 *
 * Reader design: the whole file is read into memory and parsed from the central directory
 * (sizes and offsets come from there, local headers are only skipped, as NumPy's ZIP64 local
 * headers require). Stored and deflate members are accepted, ZIP64 extra fields and the ZIP64
 * end record are understood, every CRC-32 is checked, the .npy header dict is parsed loosely
 * (KataGo's 256-byte space-free headers and NumPy's 128-byte ones, versions 1.0/2.0/3.0), and
 * the array byte count must equal the product of the shape times the item size. Any malformed
 * or truncated input gives TG_EFORMAT with "file: member: what is wrong", never a crash.
 * Member names are stored as written; lookups accept "key" and "key.npy" alike (as numpy.load).
 *
 * Not thread-safe per object; distinct writers/readers may run on distinct threads. */
#ifndef TENGEN_DATA_NPZ_H
#define TENGEN_DATA_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/fileio.h"

/* Element types. The first four are what KataGo's training files use. */
typedef enum npz_dtype_e {
    NPZ_DTYPE_U1 = 0, /* '|u1' uint8 */
    NPZ_DTYPE_I1,     /* '|i1' int8 */
    NPZ_DTYPE_I2,     /* '<i2' int16 little-endian */
    NPZ_DTYPE_F4,     /* '<f4' float32 little-endian */
    NPZ_DTYPE_B1,     /* '|b1' bool, one byte each */
    NPZ_DTYPE_U2,     /* '<u2' */
    NPZ_DTYPE_I4,     /* '<i4' */
    NPZ_DTYPE_U4,     /* '<u4' */
    NPZ_DTYPE_I8,     /* '<i8' */
    NPZ_DTYPE_U8,     /* '<u8' */
    NPZ_DTYPE_F8,     /* '<f8' */
    NPZ_DTYPE_COUNT
} npz_dtype_t;

#define NPZ_MAX_DIMS 8
#define NPZ_MAX_NAME 128

/* Bytes per element of dtype (1, 2, 4 or 8). */
size_t npz_dtype_size(npz_dtype_t dtype);

/* NumPy descr string of dtype ("<f4", ...). Never NULL for a valid dtype. */
const char *npz_dtype_descr(npz_dtype_t dtype);

/* ---- Writer ------------------------------------------------------------------------------- */

/* Compression levels: NPZ_STORED writes method 0; 1..9 deflate at that zlib level. */
#define NPZ_STORED          0
#define NPZ_DEFLATE_DEFAULT 6

typedef struct npz_member_s npz_member_t;

/* One archive being written. The caller owns the struct; open fills it. */
typedef struct npz_writer_s {
    tg_atomic_file_t file; /* temp file, renamed over the final path by commit */
    int level;             /* NPZ_STORED or a zlib level 1..9 */
    uint64_t offset;       /* bytes written to the archive so far */
    npz_member_t *members; /* central directory entries, grown as members are added */
    int num_members, cap_members;
    unsigned char *chunk; /* 64 KiB deflate output buffer */
    int failed;           /* set after an error: only abort is valid */
} npz_writer_t;

/* Starts writing an .npz archive that will appear at path (atomically, on commit). level is
 * NPZ_STORED or 1..9. On error nothing is left open and nothing needs to be freed. */
int npz_writer_open(npz_writer_t *w, const char *path, int level, tg_err_t *err);

/* Appends one array as member `name` (written as given; pass "x" like KataGo's C++ or "x.npy"
 * like NumPy). data holds prod(shape) elements of dtype in C order, little-endian (the host
 * order on every machine tengen supports). ndim may be 0..NPZ_MAX_DIMS. Cost: one pass over the
 * data (CRC + deflate). Fails with TG_ERANGE if the archive would need ZIP64 (> 4 GiB). After a
 * failure the writer must be aborted. */
int npz_writer_add(npz_writer_t *w, const char *name, npz_dtype_t dtype, int ndim,
                   const int64_t *shape, const void *data, tg_err_t *err);

/* Writes the central directory, fsyncs and renames the temp file to the final path, and frees
 * the writer's memory. On failure the temp file is removed and the writer freed. */
int npz_writer_commit(npz_writer_t *w, tg_err_t *err);

/* Drops the archive: removes the temp file and frees the writer's memory. */
void npz_writer_abort(npz_writer_t *w);

/* ---- Reader ------------------------------------------------------------------------------- */

/* One array read from an archive. data is aligned for any element type. */
typedef struct npz_array_s {
    char name[NPZ_MAX_NAME]; /* member name as stored, with ".npy" removed if present */
    npz_dtype_t dtype;
    int ndim;
    int64_t shape[NPZ_MAX_DIMS];
    int64_t count; /* number of elements, prod(shape) */
    size_t nbytes; /* count * npz_dtype_size(dtype) */
    void *data;    /* owned by the npz_file_t */
} npz_array_t;

/* All arrays of one archive, in archive order. The caller owns the struct; read fills it. */
typedef struct npz_file_s {
    npz_array_t *arrays;
    int num_arrays;
} npz_file_t;

/* Reads and fully validates the archive at path (at most max_bytes long, 0 = 16 GiB).
 * On error, returns TG_EIO / TG_EFORMAT / TG_EUNSUPPORTED / TG_ENOMEM with err->msg like
 * "path: member: what is wrong", and *out is left empty (nothing to free). */
int npz_file_read(npz_file_t *out, const char *path, size_t max_bytes, tg_err_t *err);

/* Same as npz_file_read on an in-memory archive; `what` names it in error messages.
 * buf is not modified or kept. */
int npz_file_parse(npz_file_t *out, const void *buf, size_t len, const char *what, tg_err_t *err);

/* The array named key ("key" and "key.npy" both match), or NULL. */
const npz_array_t *npz_file_find(const npz_file_t *f, const char *key);

/* Frees the arrays; f may then be reused. Safe on a zeroed or already-freed struct. */
void npz_file_free(npz_file_t *f);

/* ---- Shared helpers ------------------------------------------------------------------------- */

/* CRC-32 (ZIP/zlib polynomial) of len bytes, continuing from crc (start with 0). */
uint32_t npz_crc32(uint32_t crc, const void *data, size_t len);

/* Builds NumPy's v1.0 .npy prefix (magic, version, length, dict, padding; length a multiple of
 * 64) for the given array into out (capacity cap). Returns the prefix length, or 0 if cap is too
 * small or the arguments are invalid. */
size_t npz_npy_header_build(char *out, size_t cap, npz_dtype_t dtype, int ndim,
                            const int64_t *shape);

#endif
