/* model.c: loader for KataGo binary model files (formats.md §1), model versions 8..15.
 *
 * Design. The file is inflated into memory (zlib, gzip or zlib header auto-detected), then
 * parsed TWICE by the same code: pass 1 only counts the floats and tensors the model needs
 * (and performs every structural check), pass 2 allocates exactly one weight buffer and one
 * tensor table and fills them. Doing the walk twice keeps every layer pointer final as soon
 * as it is set (no relocation fix-ups) and costs a few milliseconds for a 4 MB net.
 *
 * Guarantees. Every read is bounds-checked against the end of the image before it happens;
 * float-block sizes are checked against the remaining bytes before anything is allocated;
 * each float must be finite; every channel chain between layers is checked (formats.md
 * §1.5-§1.9). Errors carry "what: layer NAME: problem" and never leave a partial model. */
#include "nn/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "util/fileio.h"

#define MODEL_MAX_FILE_BYTES ((size_t)1 << 31) /* 2 GiB, compressed or not */
#define MODEL_MAX_CHANNELS   65536
#define MODEL_MAX_KERNEL     31
#define MODEL_MAX_BLOCKS     100000
#define MODEL_TENSOR_ALIGN   16  /* floats: each tensor starts on a 64-byte boundary */
#define MODEL_BIN_SKIP_MAX   100 /* chars KataGo skips while looking for "@BIN@" */

/* ---- Parser state ----------------------------------------------------------------------- */

typedef struct parser_s {
    const unsigned char *p, *end; /* cursor and end of the uncompressed image */
    const char *what;             /* source name for messages */
    const char *layer;            /* layer being read, for messages ("header" etc.) */
    tg_err_t *err;
    tg_model_t *m;
    int storing; /* 0: pass 1 (count only), 1: pass 2 (fill buffers) */
    size_t used; /* floats handed out so far (aligned) */
    size_t file_floats;
    int ntensors;
    int depth; /* current nested-bottleneck depth */
} parser_t;

static int perr(parser_t *ps, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(parser_t *ps, int code, const char *fmt, ...) {
    char msg[TG_ERR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_err_set(ps->err, code, "%s: layer %s: %s", ps->what, ps->layer ? ps->layer : "?",
                      msg);
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads the next whitespace-delimited token into buf (NUL-terminated). */
static int p_token(parser_t *ps, char *buf, size_t cap, const char *field) {
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
    if (ps->p >= ps->end) return perr(ps, TG_EFORMAT, "unexpected end of file reading %s", field);
    size_t n = 0;
    while (ps->p < ps->end && !is_space(*ps->p)) {
        if (n + 1 >= cap) return perr(ps, TG_EFORMAT, "%s: token too long", field);
        buf[n++] = (char)*ps->p++;
    }
    buf[n] = '\0';
    return 0;
}

static int p_int(parser_t *ps, int *out, const char *field, long lo, long hi) {
    char tok[64];
    int rc = p_token(ps, tok, sizeof tok, field);
    if (rc < 0) return rc;
    char *endp;
    errno = 0;
    long v = strtol(tok, &endp, 10);
    if (endp == tok || *endp != '\0' || errno)
        return perr(ps, TG_EFORMAT, "%s: expected an integer, got \"%s\"", field, tok);
    if (v < lo || v > hi)
        return perr(ps, TG_EFORMAT, "%s = %ld is out of range [%ld, %ld]", field, v, lo, hi);
    *out = (int)v;
    return 0;
}

static int p_real(parser_t *ps, float *out, const char *field) {
    char tok[64];
    int rc = p_token(ps, tok, sizeof tok, field);
    if (rc < 0) return rc;
    char *endp;
    double v = strtod(tok, &endp);
    if (endp == tok || *endp != '\0')
        return perr(ps, TG_EFORMAT, "%s: expected a number, got \"%s\"", field, tok);
    if (!isfinite(v) || !isfinite((float)v))
        return perr(ps, TG_EFORMAT, "%s: %s is not a finite float", field, tok);
    *out = (float)v;
    return 0;
}

/* Hands out n aligned floats of the weight buffer (pass 2) or just counts them (pass 1), and
 * registers a tensor named "<layer>/<part>" with the given shape. */
static float *p_alloc(parser_t *ps, size_t n, const char *part, int ndim, const int *shape) {
    size_t off = ps->used;
    ps->used = off + ((n + MODEL_TENSOR_ALIGN - 1) / MODEL_TENSOR_ALIGN) * MODEL_TENSOR_ALIGN;
    int idx = ps->ntensors++;
    if (!ps->storing) return NULL;
    tg_model_t *m = ps->m;
    TG_ASSERT(ps->used <= m->num_weights && idx < m->num_tensors);
    tg_model_tensor_t *t = &m->tensors[idx];
    snprintf(t->name, sizeof t->name, "%s/%s", ps->layer, part);
    t->offset = off;
    t->count = n;
    t->ndim = ndim;
    for (int i = 0; i < ndim && i < 4; i++)
        t->shape[i] = shape[i];
    return m->weights + off;
}

/* Reads one "@BIN@" block of n little-endian float32 into a new tensor; *out points at it
 * (NULL in pass 1). Checks that the bytes exist and that every float is finite. */
static int p_floats(parser_t *ps, size_t n, const char *part, int ndim, const int *shape,
                    const float **out) {
    int skipped = 0;
    while (ps->p < ps->end && *ps->p != '@') {
        if (++skipped > MODEL_BIN_SKIP_MAX)
            return perr(ps, TG_EFORMAT, "%s: no @BIN@ float block where one is expected", part);
        ps->p++;
    }
    if ((size_t)(ps->end - ps->p) < 5 || memcmp(ps->p, "@BIN@", 5) != 0)
        return perr(ps, TG_EFORMAT, "%s: missing @BIN@ marker (truncated file?)", part);
    ps->p += 5;
    size_t avail = (size_t)(ps->end - ps->p);
    if (n > avail / 4)
        return perr(ps, TG_EFORMAT, "%s: needs %zu floats but only %zu bytes remain (truncated?)",
                    part, n, avail);
    float *dst = p_alloc(ps, n, part, ndim, shape);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = ps->p + 4 * i;
        uint32_t u =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f))
            return perr(ps, TG_EFORMAT, "%s: float %zu of %zu is not finite", part, i, n);
        if (dst) dst[i] = f;
    }
    ps->p += 4 * n;
    ps->file_floats += n;
    *out = dst;
    return 0;
}

/* Reads a layer name token into name and makes it the current layer for messages. */
static int p_name(parser_t *ps, char *name, const char *kind) {
    int rc = p_token(ps, name, TG_MODEL_LAYER_NAME_MAX, kind);
    if (rc < 0) return rc;
    ps->layer = name;
    return 0;
}

/* ---- Layer records (formats.md §1.4) ---------------------------------------------------- */

static void note_channels(parser_t *ps, int c) {
    if (c > ps->m->max_channels) ps->m->max_channels = c;
}

static int p_conv(parser_t *ps, tg_conv_t *cv, const char *role, int want_ic, int want_oc) {
    int rc, dy, dx;
    if ((rc = p_name(ps, cv->name, role)) < 0) return rc;
    if ((rc = p_int(ps, &cv->ky, "convYSize", 1, MODEL_MAX_KERNEL)) < 0 ||
        (rc = p_int(ps, &cv->kx, "convXSize", 1, MODEL_MAX_KERNEL)) < 0 ||
        (rc = p_int(ps, &cv->ic, "inChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &cv->oc, "outChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &dy, "dilationY", 1, 1 << 20)) < 0 ||
        (rc = p_int(ps, &dx, "dilationX", 1, 1 << 20)) < 0)
        return rc;
    if (cv->ky % 2 == 0 || cv->kx % 2 == 0)
        return perr(ps, TG_EFORMAT, "%s: kernel %dx%d must have odd sizes", role, cv->ky, cv->kx);
    if (dy != 1 || dx != 1)
        return perr(ps, TG_EUNSUPPORTED, "%s: dilation %dx%d is not supported (only 1)", role, dy,
                    dx);
    if (want_ic > 0 && cv->ic != want_ic)
        return perr(ps, TG_EFORMAT, "%s: inChannels %d, expected %d from the previous layer", role,
                    cv->ic, want_ic);
    if (want_oc > 0 && cv->oc != want_oc)
        return perr(ps, TG_EFORMAT, "%s: outChannels %d, expected %d", role, cv->oc, want_oc);
    int shape[4] = {cv->ky, cv->kx, cv->ic, cv->oc};
    size_t n = (size_t)cv->ky * cv->kx * cv->ic * cv->oc;
    if ((rc = p_floats(ps, n, "w", 4, shape, &cv->w)) < 0) return rc;
    int pad = (cv->ky > cv->kx ? cv->ky : cv->kx) / 2;
    if (pad > ps->m->max_conv_pad) ps->m->max_conv_pad = pad;
    note_channels(ps, cv->ic);
    note_channels(ps, cv->oc);
    return 0;
}

static int p_bool(parser_t *ps, int *out, const char *field) { return p_int(ps, out, field, 0, 1); }

static int p_bn(parser_t *ps, tg_bn_t *bn, const char *role, int want_c) {
    int rc;
    if ((rc = p_name(ps, bn->name, role)) < 0) return rc;
    if ((rc = p_int(ps, &bn->c, "numChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_real(ps, &bn->epsilon, "epsilon")) < 0 ||
        (rc = p_bool(ps, &bn->has_scale, "hasScale")) < 0 ||
        (rc = p_bool(ps, &bn->has_bias, "hasBias")) < 0)
        return rc;
    if (!(bn->epsilon > 0.0f)) return perr(ps, TG_EFORMAT, "%s: epsilon must be > 0", role);
    if (want_c > 0 && bn->c != want_c)
        return perr(ps, TG_EFORMAT, "%s: numChannels %d, expected %d from the previous layer", role,
                    bn->c, want_c);
    int shape[1] = {bn->c};
    size_t c = (size_t)bn->c;
    bn->scale = bn->bias = NULL;
    if ((rc = p_floats(ps, c, "mean", 1, shape, &bn->mean)) < 0 ||
        (rc = p_floats(ps, c, "variance", 1, shape, &bn->var)) < 0)
        return rc;
    if (bn->has_scale && (rc = p_floats(ps, c, "scale", 1, shape, &bn->scale)) < 0) return rc;
    if (bn->has_bias && (rc = p_floats(ps, c, "bias", 1, shape, &bn->bias)) < 0) return rc;
    float *ms = p_alloc(ps, c, "merged_scale", 1, shape);
    float *mb = p_alloc(ps, c, "merged_bias", 1, shape);
    bn->merged_scale = ms;
    bn->merged_bias = mb;
    if (ps->storing) {
        for (size_t i = 0; i < c; i++) {
            /* Same float arithmetic as KataGo's desc.cpp, so the outputs match bit for bit. */
            float s = bn->scale ? bn->scale[i] : 1.0f;
            float b = bn->bias ? bn->bias[i] : 0.0f;
            float denom = sqrtf(bn->var[i] + bn->epsilon);
            ms[i] = s / denom;
            mb[i] = b - ms[i] * bn->mean[i];
            if (!isfinite(ms[i]) || !isfinite(mb[i]))
                return perr(ps, TG_EFORMAT,
                            "%s: channel %zu: variance %g + epsilon gives a non-finite scale", role,
                            i, (double)bn->var[i]);
        }
    }
    note_channels(ps, bn->c);
    return 0;
}

static int p_act(parser_t *ps, tg_act_t *act, const char *role) {
    int rc;
    if ((rc = p_name(ps, act->name, role)) < 0) return rc;
    act->kind = TG_ACT_RELU;
    if (ps->m->version < 11) return 0;
    char tok[64];
    if ((rc = p_token(ps, tok, sizeof tok, "activation kind")) < 0) return rc;
    if (strcmp(tok, "ACTIVATION_IDENTITY") == 0)
        act->kind = TG_ACT_IDENTITY;
    else if (strcmp(tok, "ACTIVATION_RELU") == 0)
        act->kind = TG_ACT_RELU;
    else if (strcmp(tok, "ACTIVATION_MISH") == 0)
        act->kind = TG_ACT_MISH;
    else if (strcmp(tok, "ACTIVATION_SILU") == 0)
        act->kind = TG_ACT_SILU;
    else
        return perr(ps, TG_EFORMAT, "%s: unknown activation kind \"%s\"", role, tok);
    return 0;
}

static int p_matmul(parser_t *ps, tg_matmul_t *mm, const char *role, int want_ic, int want_oc) {
    int rc;
    if ((rc = p_name(ps, mm->name, role)) < 0) return rc;
    if ((rc = p_int(ps, &mm->ic, "inChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &mm->oc, "outChannels", 1, MODEL_MAX_CHANNELS)) < 0)
        return rc;
    if (want_ic > 0 && mm->ic != want_ic)
        return perr(ps, TG_EFORMAT, "%s: inChannels %d, expected %d", role, mm->ic, want_ic);
    if (want_oc > 0 && mm->oc != want_oc)
        return perr(ps, TG_EFORMAT, "%s: outChannels %d, expected %d", role, mm->oc, want_oc);
    int shape[2] = {mm->ic, mm->oc};
    return p_floats(ps, (size_t)mm->ic * mm->oc, "w", 2, shape, &mm->w);
}

static int p_matbias(parser_t *ps, tg_matbias_t *mb, const char *role, int want_c) {
    int rc;
    if ((rc = p_name(ps, mb->name, role)) < 0) return rc;
    if ((rc = p_int(ps, &mb->c, "numChannels", 1, MODEL_MAX_CHANNELS)) < 0) return rc;
    if (want_c > 0 && mb->c != want_c)
        return perr(ps, TG_EFORMAT, "%s: numChannels %d, expected %d", role, mb->c, want_c);
    int shape[1] = {mb->c};
    return p_floats(ps, (size_t)mb->c, "b", 1, shape, &mb->b);
}

/* ---- Blocks and trunk (formats.md §1.5, §1.6) ------------------------------------------- */

static void blocks_free(tg_block_t *blocks, int n) {
    if (!blocks) return;
    for (int i = 0; i < n; i++)
        blocks_free(blocks[i].blocks, blocks[i].num_blocks);
    free(blocks);
}

static int p_stack(parser_t *ps, tg_block_t **out, int n, int width);

static int p_block(parser_t *ps, tg_block_t *b, int width) {
    char kind[64];
    int rc;
    if ((rc = p_token(ps, kind, sizeof kind, "block kind")) < 0) return rc;
    if (strcmp(kind, "ordinary_block") == 0)
        b->kind = TG_BLOCK_ORDINARY;
    else if (strcmp(kind, "gpool_block") == 0)
        b->kind = TG_BLOCK_GPOOL;
    else if (strcmp(kind, "nested_bottleneck_block") == 0)
        b->kind = TG_BLOCK_NESTED;
    else if (strncmp(kind, "transformer_", 12) == 0)
        return perr(ps, TG_EUNSUPPORTED, "block kind \"%s\" is not supported", kind);
    else
        return perr(ps, TG_EFORMAT, "unknown block kind \"%s\"", kind);
    if ((rc = p_name(ps, b->name, "block name")) < 0) return rc;
    if (b->kind == TG_BLOCK_NESTED &&
        (rc = p_int(ps, &b->num_blocks, "numBlocks", 1, MODEL_MAX_BLOCKS)) < 0)
        return rc;
    if ((rc = p_bn(ps, &b->pre_bn, "preBN", width)) < 0 ||
        (rc = p_act(ps, &b->pre_act, "preActivation")) < 0 ||
        (rc = p_conv(ps, &b->conv1, "regularConv", width, 0)) < 0)
        return rc;
    int mid = b->conv1.oc;
    if (b->kind == TG_BLOCK_GPOOL) {
        if ((rc = p_conv(ps, &b->gpool_conv, "gpoolConv", width, 0)) < 0 ||
            (rc = p_bn(ps, &b->gpool_bn, "gpoolBN", b->gpool_conv.oc)) < 0 ||
            (rc = p_act(ps, &b->gpool_act, "gpoolActivation")) < 0 ||
            (rc = p_matmul(ps, &b->gpool_to_bias, "gpoolToBiasMul", 3 * b->gpool_conv.oc, mid)) < 0)
            return rc;
    }
    if (b->kind == TG_BLOCK_NESTED) {
        if (ps->depth + 1 > TG_MODEL_MAX_NESTING)
            return perr(ps, TG_EUNSUPPORTED, "nested bottleneck blocks deeper than %d",
                        TG_MODEL_MAX_NESTING);
        ps->depth++;
        if (ps->depth > ps->m->max_nesting) ps->m->max_nesting = ps->depth;
        rc = p_stack(ps, &b->blocks, b->num_blocks, mid);
        ps->depth--;
        if (rc < 0) return rc;
    }
    if ((rc = p_bn(ps, &b->mid_bn, b->kind == TG_BLOCK_NESTED ? "postBN" : "midBN", mid)) < 0 ||
        (rc = p_act(ps, &b->mid_act, "midActivation")) < 0 ||
        (rc = p_conv(ps, &b->conv2, "finalConv", mid, width)) < 0)
        return rc;
    return 0;
}

static int p_stack(parser_t *ps, tg_block_t **out, int n, int width) {
    /* n was range-checked; an absurd n with a short file fails in p_block before long. The
     * array is freed by the caller's blocks_free even on error (partially filled). */
    if ((size_t)n > (size_t)(ps->end - ps->p) / 64)
        return perr(ps, TG_EFORMAT, "%d blocks cannot fit in the %zu bytes left", n,
                    (size_t)(ps->end - ps->p));
    tg_block_t *blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) return perr(ps, TG_ENOMEM, "cannot allocate %d blocks", n);
    *out = blocks;
    for (int i = 0; i < n; i++) {
        int rc = p_block(ps, &blocks[i], width);
        if (rc < 0) {
            /* Only blocks [0, i] may own nested arrays; the rest are zeroed. */
            return rc;
        }
    }
    return 0;
}

static int p_trunk(parser_t *ps) {
    tg_model_t *m = ps->m;
    tg_trunk_t *t = &m->trunk;
    int rc, dilated;
    if ((rc = p_name(ps, t->name, "trunk")) < 0) return rc;
    if ((rc = p_int(ps, &t->num_blocks, "numBlocks", 1, MODEL_MAX_BLOCKS)) < 0 ||
        (rc = p_int(ps, &t->trunk_channels, "trunkNumChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &t->mid_channels, "midNumChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &t->regular_channels, "regularNumChannels", 1, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &dilated, "dilatedNumChannels", 0, MODEL_MAX_CHANNELS)) < 0 ||
        (rc = p_int(ps, &t->gpool_channels, "gpoolNumChannels", 1, MODEL_MAX_CHANNELS)) < 0)
        return rc;
    if (m->version >= 15) {
        int kind, r;
        if ((rc = p_int(ps, &kind, "trunkNormKind", 0, 1000)) < 0) return rc;
        if (kind == 1) return perr(ps, TG_EUNSUPPORTED, "RMSNorm trunk tip is not supported");
        if (kind != 0) return perr(ps, TG_EFORMAT, "trunkNormKind %d must be 0 or 1", kind);
        for (int i = 0; i < 5; i++) {
            if ((rc = p_int(ps, &r, "reserved trunk int", 0, 0)) < 0) return rc;
        }
    }
    int w = t->trunk_channels;
    if ((rc = p_conv(ps, &t->initial_conv, "initialConv", m->num_spatial_inputs, w)) < 0 ||
        (rc = p_matmul(ps, &t->initial_matmul, "initialMatMul", m->num_global_inputs, w)) < 0)
        return rc;
    ps->layer = t->name;
    if ((rc = p_stack(ps, &t->blocks, t->num_blocks, w)) < 0) return rc;
    if ((rc = p_bn(ps, &t->tip_bn, "trunkTipNorm", w)) < 0 ||
        (rc = p_act(ps, &t->tip_act, "trunkTipActivation")) < 0)
        return rc;
    return 0;
}

/* ---- Heads (formats.md §1.8, §1.9) ------------------------------------------------------- */

static int p_policy(parser_t *ps) {
    tg_model_t *m = ps->m;
    tg_policy_head_t *h = &m->policy;
    int w = m->trunk.trunk_channels, rc;
    h->num_channels = m->version <= 11 ? 1 : 2;
    if ((rc = p_name(ps, h->name, "policy head")) < 0) return rc;
    if ((rc = p_conv(ps, &h->p1_conv, "p1Conv", w, 0)) < 0 ||
        (rc = p_conv(ps, &h->g1_conv, "g1Conv", w, 0)) < 0)
        return rc;
    int cp1 = h->p1_conv.oc, cg1 = h->g1_conv.oc, P = h->num_channels;
    if ((rc = p_bn(ps, &h->g1_bn, "g1BN", cg1)) < 0 ||
        (rc = p_act(ps, &h->g1_act, "g1Activation")) < 0 ||
        (rc = p_matmul(ps, &h->gpool_to_bias, "gpoolToBiasMul", 3 * cg1, cp1)) < 0 ||
        (rc = p_bn(ps, &h->p1_bn, "p1BN", cp1)) < 0 ||
        (rc = p_act(ps, &h->p1_act, "p1Activation")) < 0 ||
        (rc = p_conv(ps, &h->p2_conv, "p2Conv", cp1, P)) < 0)
        return rc;
    if (m->version < 15) {
        h->has_pass_mlp = 0;
        return p_matmul(ps, &h->pass_mul, "gpoolToPassMul", 3 * cg1, P);
    }
    h->has_pass_mlp = 1;
    if ((rc = p_matmul(ps, &h->pass_mul, "gpoolToPassMul", 3 * cg1, cp1)) < 0 ||
        (rc = p_matbias(ps, &h->pass_bias, "gpoolToPassBias", cp1)) < 0 ||
        (rc = p_act(ps, &h->pass_act, "passActivation")) < 0 ||
        (rc = p_matmul(ps, &h->pass_mul2, "gpoolToPassMul2", cp1, P)) < 0)
        return rc;
    return 0;
}

static int p_value(parser_t *ps) {
    tg_model_t *m = ps->m;
    tg_value_head_t *h = &m->value;
    int w = m->trunk.trunk_channels, rc;
    if ((rc = p_name(ps, h->name, "value head")) < 0) return rc;
    if ((rc = p_conv(ps, &h->v1_conv, "v1Conv", w, 0)) < 0) return rc;
    int cv1 = h->v1_conv.oc;
    if ((rc = p_bn(ps, &h->v1_bn, "v1BN", cv1)) < 0 ||
        (rc = p_act(ps, &h->v1_act, "v1Activation")) < 0 ||
        (rc = p_matmul(ps, &h->v2_mul, "v2Mul", 3 * cv1, 0)) < 0)
        return rc;
    int cv2 = h->v2_mul.oc;
    if ((rc = p_matbias(ps, &h->v2_bias, "v2Bias", cv2)) < 0 ||
        (rc = p_act(ps, &h->v2_act, "v2Activation")) < 0 ||
        (rc = p_matmul(ps, &h->v3_mul, "v3Mul", cv2, 3)) < 0 ||
        (rc = p_matbias(ps, &h->v3_bias, "v3Bias", 3)) < 0 ||
        (rc = p_matmul(ps, &h->sv3_mul, "sv3Mul", cv2, m->num_score_values)) < 0 ||
        (rc = p_matbias(ps, &h->sv3_bias, "sv3Bias", m->num_score_values)) < 0 ||
        (rc = p_conv(ps, &h->ownership_conv, "vOwnershipConv", cv1, 1)) < 0)
        return rc;
    return 0;
}

/* ---- Header (formats.md §1.3) and the whole file ---------------------------------------- */

static int p_header(parser_t *ps) {
    tg_model_t *m = ps->m;
    int rc;
    ps->layer = "header";
    if ((rc = p_token(ps, m->name, TG_MODEL_LAYER_NAME_MAX, "model name")) < 0) return rc;
    size_t len = strlen(m->name);
    if (len > 96) return perr(ps, TG_EFORMAT, "model name longer than 96 characters");
    for (size_t i = 0; i < len; i++) {
        char c = m->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return perr(ps, TG_EFORMAT, "model name \"%.40s\" has characters outside [A-Za-z0-9_-]",
                        m->name);
    }
    if ((rc = p_int(ps, &m->version, "model version", 0, 1 << 20)) < 0) return rc;
    if (m->version < TG_MODEL_VERSION_MIN || m->version > TG_MODEL_VERSION_MAX)
        return perr(ps, TG_EUNSUPPORTED, "model version %d is not supported (tengen reads %d..%d)",
                    m->version, TG_MODEL_VERSION_MIN, TG_MODEL_VERSION_MAX);
    if ((rc = p_int(ps, &m->num_spatial_inputs, "numInputChannels", 22, 22)) < 0 ||
        (rc = p_int(ps, &m->num_global_inputs, "numInputGlobalChannels", 19, 19)) < 0)
        return rc;
    m->num_score_values = m->version == 8 ? 4 : 6;
    m->mult = (tg_model_multipliers_t){20.0f, 20.0f, 20.0f, 20.0f, 40.0f, 0.25f, 30.0f};
    if (m->version >= 13) {
        static const char *names[7] = {"tdScoreMultiplier",
                                       "scoreMeanMultiplier",
                                       "scoreStdevMultiplier",
                                       "leadMultiplier",
                                       "varianceTimeMultiplier",
                                       "shorttermValueErrorMultiplier",
                                       "shorttermScoreErrorMultiplier"};
        float v[7];
        for (int i = 0; i < 7; i++) {
            if ((rc = p_real(ps, &v[i], names[i])) < 0) return rc;
            if (!(v[i] > 0.0f)) return perr(ps, TG_EFORMAT, "%s must be > 0", names[i]);
        }
        m->mult = (tg_model_multipliers_t){v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    }
    if (m->version >= 15) {
        int r;
        if ((rc = p_int(ps, &m->meta_encoder_version, "metaEncoderVersion", 0, 1)) < 0) return rc;
        if (m->meta_encoder_version != 0)
            return perr(ps, TG_EUNSUPPORTED,
                        "SGF-metadata encoder (metaEncoderVersion 1) is not supported");
        if ((rc = p_int(ps, &m->prefer_pass_alive_under_suicide, "preferPassAliveUnderSuicideRules",
                        0, 1)) < 0)
            return rc;
        for (int i = 0; i < 6; i++) {
            if ((rc = p_int(ps, &r, "reserved header int", 0, 0)) < 0) return rc;
        }
    }
    return 0;
}

static int p_model(parser_t *ps) {
    int rc;
    if ((rc = p_header(ps)) < 0 || (rc = p_trunk(ps)) < 0 || (rc = p_policy(ps)) < 0 ||
        (rc = p_value(ps)) < 0)
        return rc;
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
    ps->layer = "end";
    if (ps->p != ps->end)
        return perr(ps, TG_EFORMAT, "%zu unexpected bytes after the value head",
                    (size_t)(ps->end - ps->p));
    return 0;
}

void tg_model_free(tg_model_t *m) {
    if (!m) return;
    blocks_free(m->trunk.blocks, m->trunk.num_blocks);
    free(m->weights);
    free(m->tensors);
    free(m);
}

int tg_model_load_bytes(const void *data, size_t len, const char *what, tg_model_t **out,
                        tg_err_t *err) {
    *out = NULL;
    if (!what) what = "model";
    /* Pass 1: structure and counts. */
    tg_model_t *m = calloc(1, sizeof *m);
    if (!m) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
    parser_t ps = {
        .p = data, .end = (const unsigned char *)data + len, .what = what, .err = err, .m = m};
    int rc = p_model(&ps);
    size_t num_weights = ps.used;
    int num_tensors = ps.ntensors;
    tg_model_free(m);
    if (rc < 0) return rc;

    /* Pass 2: same walk, now filling one buffer. */
    m = calloc(1, sizeof *m);
    if (!m) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
    m->num_weights = num_weights;
    m->num_tensors = num_tensors;
    m->weights =
        aligned_alloc(64, (num_weights ? num_weights : MODEL_TENSOR_ALIGN) * sizeof(float));
    m->tensors = calloc((size_t)num_tensors, sizeof *m->tensors);
    if (!m->weights || !m->tensors) {
        tg_model_free(m);
        return tg_err_set(err, TG_ENOMEM, "%s: cannot allocate %zu weights", what, num_weights);
    }
    memset(m->weights, 0, num_weights * sizeof(float));
    ps = (parser_t){.p = data,
                    .end = (const unsigned char *)data + len,
                    .what = what,
                    .err = err,
                    .m = m,
                    .storing = 1};
    rc = p_model(&ps);
    if (rc < 0) {
        tg_model_free(m);
        return rc;
    }
    TG_ASSERT(ps.used == num_weights && ps.ntensors == num_tensors);
    m->num_file_floats = ps.file_floats;
    *out = m;
    return 0;
}

int tg_model_inflate(const void *data, size_t len, size_t max_len, unsigned char **out,
                     size_t *out_len, const char *what, tg_err_t *err) {
    const unsigned char *in = data;
    *out = NULL;
    *out_len = 0;
    int gzip = len >= 2 && in[0] == 0x1f && in[1] == 0x8b;
    if (!gzip) {
        unsigned char *copy = malloc(len ? len : 1);
        if (!copy) return tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
        memcpy(copy, in, len);
        *out = copy;
        *out_len = len;
        return 0;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return tg_err_set(err, TG_EINTERNAL, "%s: zlib init failed", what);
    size_t cap = len * 2 + 4096, used = 0;
    unsigned char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = 0;
    size_t in_left = len;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            zs.avail_in = chunk;
            in_left -= chunk;
        }
        if (used == cap) {
            if (cap >= max_len) {
                rc = tg_err_set(err, TG_EFORMAT, "%s: inflates to more than %zu bytes", what,
                                max_len);
                goto done;
            }
            size_t ncap = cap * 2 > max_len ? max_len : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = tg_err_set(err, TG_ENOMEM, "%s: out of memory", what);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - used;
        zs.next_out = buf + used;
        zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        used += before - zs.avail_out;
        if (zr == Z_STREAM_END) break;
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: truncated gzip stream", what);
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = tg_err_set(err, TG_EFORMAT, "%s: corrupt gzip stream (%s)", what,
                            zs.msg ? zs.msg : "zlib error");
            goto done;
        }
    }
done:
    inflateEnd(&zs);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = used;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

int tg_model_load(const char *path, tg_model_t **out, tg_err_t *err) {
    *out = NULL;
    if (ends_with(path, ".txt") || ends_with(path, ".txt.gz"))
        return tg_err_set(err, TG_EUNSUPPORTED, "%s: text model files are not supported", path);
    char *raw = NULL;
    size_t raw_len = 0;
    int rc = tg_file_read_all(path, MODEL_MAX_FILE_BYTES, &raw, &raw_len, err);
    if (rc < 0) return rc;
    unsigned char *img = NULL;
    size_t img_len = 0;
    rc = tg_model_inflate(raw, raw_len, MODEL_MAX_FILE_BYTES, &img, &img_len, path, err);
    free(raw);
    if (rc < 0) return rc;
    rc = tg_model_load_bytes(img, img_len, path, out, err);
    free(img);
    return rc;
}

/* ---- Accessors --------------------------------------------------------------------------- */

const char *tg_model_name(const tg_model_t *m) { return m->name; }
int tg_model_version(const tg_model_t *m) { return m->version; }
int tg_model_num_spatial_inputs(const tg_model_t *m) { return m->num_spatial_inputs; }
int tg_model_num_global_inputs(const tg_model_t *m) { return m->num_global_inputs; }
int tg_model_num_policy_channels(const tg_model_t *m) { return m->policy.num_channels; }
int tg_model_num_score_values(const tg_model_t *m) { return m->num_score_values; }
const tg_model_multipliers_t *tg_model_multipliers(const tg_model_t *m) { return &m->mult; }
size_t tg_model_num_params(const tg_model_t *m) { return m->num_file_floats; }

const tg_model_tensor_t *tg_model_find_tensor(const tg_model_t *m, const char *name) {
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

const char *tg_act_kind_name(tg_act_kind_t kind) {
    switch (kind) {
    case TG_ACT_IDENTITY:
        return "identity";
    case TG_ACT_RELU:
        return "relu";
    case TG_ACT_MISH:
        return "mish";
    case TG_ACT_SILU:
        return "silu";
    }
    return "?";
}

static double conv_macs(const tg_conv_t *c, double pts) {
    return pts * c->ky * c->kx * c->ic * c->oc;
}

static double stack_macs(const tg_block_t *b, int n, double pts) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += conv_macs(&b[i].conv1, pts) + conv_macs(&b[i].conv2, pts);
        if (b[i].kind == TG_BLOCK_GPOOL)
            s += conv_macs(&b[i].gpool_conv, pts) +
                 (double)b[i].gpool_to_bias.ic * b[i].gpool_to_bias.oc;
        if (b[i].kind == TG_BLOCK_NESTED) s += stack_macs(b[i].blocks, b[i].num_blocks, pts);
    }
    return s;
}

double tg_model_macs(const tg_model_t *m, int len) {
    double pts = (double)len * len;
    const tg_policy_head_t *p = &m->policy;
    const tg_value_head_t *v = &m->value;
    double s = conv_macs(&m->trunk.initial_conv, pts) +
               (double)m->trunk.initial_matmul.ic * m->trunk.initial_matmul.oc;
    s += stack_macs(m->trunk.blocks, m->trunk.num_blocks, pts);
    s += conv_macs(&p->p1_conv, pts) + conv_macs(&p->g1_conv, pts) + conv_macs(&p->p2_conv, pts);
    s +=
        (double)p->gpool_to_bias.ic * p->gpool_to_bias.oc + (double)p->pass_mul.ic * p->pass_mul.oc;
    if (p->has_pass_mlp) s += (double)p->pass_mul2.ic * p->pass_mul2.oc;
    s += conv_macs(&v->v1_conv, pts) + conv_macs(&v->ownership_conv, pts);
    s += (double)v->v2_mul.ic * v->v2_mul.oc + (double)v->v3_mul.ic * v->v3_mul.oc +
         (double)v->sv3_mul.ic * v->sv3_mul.oc;
    return s;
}
