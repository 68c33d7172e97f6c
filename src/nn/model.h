/* model.h: KataGo convolutional model files (.bin / .bin.gz, model versions 8..15) in memory.
 *
 * Overview. tg_model_load() reads a KataGo binary model file (gzip-compressed or not), checks
 * every record against formats.md §1 (counts, channel chains between layers, finite floats,
 * header fields) and builds a read-only descriptor tree: trunk -> blocks -> layers, plus the
 * policy and value heads. Every float of the net lives in ONE contiguous buffer (`weights`),
 * and a named tensor table maps names such as "rconv1/w1/w" to (offset, shape) views of it.
 * Layer structs point straight into that buffer, so backends (CPU, CUDA) read them directly.
 *
 * Supported: versions 8..15; conv (any odd kernel, dilation 1), batch norm (scale/bias form,
 * KataGo's merged scale and bias precomputed), activations identity/relu/mish/silu, matmul,
 * matbias, ordinary, global-pooling and nested-bottleneck residual blocks, BN trunk tip,
 * linear (v < 15) and MLP (v = 15) pass heads.
 * Refused with TG_EUNSUPPORTED: versions < 8 and >= 16 (16/17 are not implemented), the v15
 * SGF-metadata encoder (metaEncoderVersion 1), RMSNorm trunk tips, dilation != 1, text (.txt)
 * files. Malformed input of any kind gives TG_EFORMAT and "file: layer NAME: what is wrong";
 * the loader never crashes on bad input and never trusts a count before checking that the
 * file holds that many bytes.
 *
 * Example:
 *     tg_model_t *m; tg_err_t err;
 *     if (tg_model_load("net.bin.gz", &m, &err) < 0) { TG_LOGE("%s", err.msg); return; }
 *     printf("%s v%d\n", tg_model_name(m), tg_model_version(m));
 *     tg_model_free(m);
 *
 * Thread-safety: a loaded model is immutable; any number of threads may read it. */
#ifndef TENGEN_NN_MODEL_H
#define TENGEN_NN_MODEL_H

#include <stddef.h>

#include "util/error.h"

#define TG_MODEL_VERSION_MIN    8
#define TG_MODEL_VERSION_MAX    15
#define TG_MODEL_LAYER_NAME_MAX 128 /* bytes incl. NUL; longer layer names are refused */
#define TG_MODEL_MAX_NESTING    8   /* nested-bottleneck depth limit */

typedef enum {
    TG_ACT_IDENTITY = 0,
    TG_ACT_RELU = 1,
    TG_ACT_MISH = 2,
    TG_ACT_SILU = 3,
} tg_act_kind_t;

/* Convolution, no bias. Weights (ky, kx, ic, oc), oc fastest: w[((y*kx + x)*ic + i)*oc + o].
 * "Same" zero padding ky/2, kx/2 at the tensor border; cross-correlation like PyTorch. */
typedef struct tg_conv_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int ky, kx, ic, oc;
    const float *w; /* (ky, kx, ic, oc) */
} tg_conv_t;

/* Batch norm in KataGo's scale/bias form: y = (x - mean) * scale / sqrt(var + eps) + bias,
 * precomputed (in float, as KataGo does) as y = x * merged_scale + merged_bias. */
typedef struct tg_bn_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int c;
    float epsilon;
    int has_scale, has_bias;
    const float *mean, *var;   /* (c) as in the file */
    const float *scale, *bias; /* (c) as in the file, NULL when absent (1 / 0) */
    const float *merged_scale; /* (c) scale / sqrt(var + eps) */
    const float *merged_bias;  /* (c) bias - merged_scale * mean */
} tg_bn_t;

typedef struct tg_act_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    tg_act_kind_t kind; /* always TG_ACT_RELU for v <= 10 (no kind token) */
} tg_act_t;

/* Fully connected, no bias: out[o] = sum_i in[i] * w[i*oc + o]. */
typedef struct tg_matmul_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int ic, oc;
    const float *w; /* (ic, oc) */
} tg_matmul_t;

typedef struct tg_matbias_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int c;
    const float *b; /* (c) */
} tg_matbias_t;

typedef enum {
    TG_BLOCK_ORDINARY = 0,
    TG_BLOCK_GPOOL = 1,
    TG_BLOCK_NESTED = 2, /* nested_bottleneck_block */
} tg_block_kind_t;

/* One residual block of a stack of width W. Field use by kind:
 *   ORDINARY: pre_bn, pre_act, conv1 (regularConv W->M), mid_bn, mid_act, conv2 (finalConv M->W)
 *   GPOOL:    as ORDINARY plus gpool_conv (W->G), gpool_bn, gpool_act, gpool_to_bias (3G->M)
 *   NESTED:   pre_bn, pre_act, conv1 (preConv W->M), blocks[num_blocks] (a stack of width M),
 *             mid_bn/mid_act (postBN/postActivation), conv2 (postConv M->W) */
typedef struct tg_block_s {
    tg_block_kind_t kind;
    char name[TG_MODEL_LAYER_NAME_MAX];
    tg_bn_t pre_bn;
    tg_act_t pre_act;
    tg_conv_t conv1;
    tg_conv_t gpool_conv;
    tg_bn_t gpool_bn;
    tg_act_t gpool_act;
    tg_matmul_t gpool_to_bias;
    int num_blocks;
    struct tg_block_s *blocks; /* (num_blocks), NESTED only */
    tg_bn_t mid_bn;
    tg_act_t mid_act;
    tg_conv_t conv2;
} tg_block_t;

typedef struct tg_trunk_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int num_blocks;
    int trunk_channels;                                 /* W */
    int mid_channels, regular_channels, gpool_channels; /* informational header values */
    tg_conv_t initial_conv;                             /* C_in_spatial -> W */
    tg_matmul_t initial_matmul;                         /* C_in_global -> W */
    tg_block_t *blocks;                                 /* (num_blocks) */
    tg_bn_t tip_bn;
    tg_act_t tip_act;
} tg_trunk_t;

typedef struct tg_policy_head_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int num_channels;  /* P: 1 for v <= 11, 2 for v12..15 */
    tg_conv_t p1_conv; /* W -> C_p1 */
    tg_conv_t g1_conv; /* W -> C_g1 */
    tg_bn_t g1_bn;
    tg_act_t g1_act;
    tg_matmul_t gpool_to_bias; /* 3*C_g1 -> C_p1 */
    tg_bn_t p1_bn;
    tg_act_t p1_act;
    tg_conv_t p2_conv;      /* C_p1 -> P */
    tg_matmul_t pass_mul;   /* v < 15: 3*C_g1 -> P;  v15: 3*C_g1 -> C_p1 */
    int has_pass_mlp;       /* v15: pass_bias, pass_act, pass_mul2 are valid */
    tg_matbias_t pass_bias; /* C_p1 */
    tg_act_t pass_act;
    tg_matmul_t pass_mul2; /* C_p1 -> P */
} tg_policy_head_t;

typedef struct tg_value_head_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    tg_conv_t v1_conv; /* W -> C_v1 */
    tg_bn_t v1_bn;
    tg_act_t v1_act;
    tg_matmul_t v2_mul; /* 3*C_v1 -> C_v2 */
    tg_matbias_t v2_bias;
    tg_act_t v2_act;
    tg_matmul_t v3_mul; /* C_v2 -> 3 */
    tg_matbias_t v3_bias;
    tg_matmul_t sv3_mul; /* C_v2 -> S */
    tg_matbias_t sv3_bias;
    tg_conv_t ownership_conv; /* C_v1 -> 1 */
} tg_value_head_t;

/* The 7 post-processing multipliers of the v13+ header (defaults for v <= 12). */
typedef struct tg_model_multipliers_s {
    float td_score;              /* 20 */
    float score_mean;            /* 20 */
    float score_stdev;           /* 20 */
    float lead;                  /* 20 */
    float variance_time;         /* 40 */
    float shortterm_value_error; /* 0.25 */
    float shortterm_score_error; /* 30 (v <= 12 default; Python writes 150) */
} tg_model_multipliers_t;

/* One named view of the weight buffer. Names are "<layer name>/<part>", e.g. "conv1/w",
 * "rconv1/norm1/mean", "rconv1/norm1/merged_scale"; shapes as in the layer structs. */
typedef struct tg_model_tensor_s {
    char name[TG_MODEL_LAYER_NAME_MAX + 16];
    size_t offset; /* in floats, into the weight buffer */
    size_t count;  /* floats */
    int ndim;
    int shape[4];
} tg_model_tensor_t;

typedef struct tg_model_s {
    char name[TG_MODEL_LAYER_NAME_MAX];
    int version;
    int num_spatial_inputs; /* 22 */
    int num_global_inputs;  /* 19 */
    tg_model_multipliers_t mult;
    int meta_encoder_version;            /* always 0 (1 is refused) */
    int prefer_pass_alive_under_suicide; /* v15 header flag, else 0 */
    int num_score_values;                /* S: 4 for v8, 6 for v9+ */
    int max_conv_pad;                    /* max over convs of max(ky, kx)/2 */
    int max_channels;                    /* max channel count of any spatial tensor */
    int max_nesting;                     /* nested-bottleneck depth (0 = none) */
    tg_trunk_t trunk;
    tg_policy_head_t policy;
    tg_value_head_t value;
    float *weights; /* (num_weights), one allocation */
    size_t num_weights;
    size_t num_file_floats;     /* floats read from the file (before merged BN tensors) */
    tg_model_tensor_t *tensors; /* (num_tensors) */
    int num_tensors;
} tg_model_t;

/* Loads path (".bin.gz"/".gz" gzip, ".bin" raw; the gzip magic is also sniffed). On success
 * *out owns a new model (free with tg_model_free) and 0 is returned. On failure *out is NULL,
 * err says "path: layer NAME: what is wrong" and the code is TG_EIO (cannot read),
 * TG_EFORMAT (malformed) or TG_EUNSUPPORTED (valid but not implemented, e.g. version 16).
 * Cost: one pass to inflate, two parsing passes over the bytes. Not hot; allocates. */
int tg_model_load(const char *path, tg_model_t **out, tg_err_t *err);

/* Same, from an uncompressed in-memory image of a .bin file; what names the source in
 * messages. The bytes are not retained. */
int tg_model_load_bytes(const void *data, size_t len, const char *what, tg_model_t **out,
                        tg_err_t *err);

/* Inflates a gzip/zlib buffer (or copies a raw one) into a new malloc'ed buffer. At most
 * max_len output bytes. Exposed for tests (fuzzing the decompressed image). */
int tg_model_inflate(const void *data, size_t len, size_t max_len, unsigned char **out,
                     size_t *out_len, const char *what, tg_err_t *err);

void tg_model_free(tg_model_t *m);

/* Accessors (m must be a loaded model). */
const char *tg_model_name(const tg_model_t *m);
int tg_model_version(const tg_model_t *m);
int tg_model_num_spatial_inputs(const tg_model_t *m);
int tg_model_num_global_inputs(const tg_model_t *m);
int tg_model_num_policy_channels(const tg_model_t *m); /* P */
int tg_model_num_score_values(const tg_model_t *m);    /* S */
const tg_model_multipliers_t *tg_model_multipliers(const tg_model_t *m);

/* Number of parameters as KataGo counts them (file floats: conv, matmul, bias and BN
 * mean/var/scale/bias). */
size_t tg_model_num_params(const tg_model_t *m);

/* Multiply-accumulates of one forward pass on an L x L tensor (convs, heads' matmuls). */
double tg_model_macs(const tg_model_t *m, int len);

/* The named tensor, or NULL. Linear search. */
const tg_model_tensor_t *tg_model_find_tensor(const tg_model_t *m, const char *name);

/* Human name of an activation kind ("relu", ...). */
const char *tg_act_kind_name(tg_act_kind_t kind);

#endif
