/* export.c: KataGo model files (version 15) from the trainer's parameters; see export.h.
 *
 * Design: the whole .bin image is built in a growing memory buffer (text tokens one per line,
 * as KataGo's python exporter writes them; float blocks "@BIN@" + little-endian float32 +
 * "\n"), then written raw or deflated into one gzip member, through tg_file_write_atomic. The
 * record order and names follow formats.md §1.3-1.9 and §1.12: nothing else is needed for
 * KataGo (or src/nn/model.c) to load the file, because the reader derives every float count
 * from the record headers.
 *
 * Tensor mapping (train.h): weights are already in the file's (ky, kx, ic, oc) / (ic, oc)
 * order, so most records are plain copies; only the policy outputs (0 and 5 of 6) and the
 * score values (misc 0..3 + moremisc 0..1) are column selections. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "export/export.h"
#include "train/train_infer.h"
#include "util/fileio.h"

/* The 7 post-processing multipliers, as text: the trainer's losses use exactly these
 * (loss.c: 20, 20, 20, 20, 40, 0.25, 150; KataGo's python writes the same for v >= 13). */
static const char *const export_multipliers[7] = {"20.0", "20.0", "20.0", "20.0",
                                                  "40.0", "0.25", "150.0"};

/* ---- output buffer ------------------------------------------------------------------------- */

typedef struct export_buf_s {
    unsigned char *data;
    size_t len, cap;
    int oom;                /* sticky: an allocation failed; later writes are dropped */
    const char *bad_tensor; /* first layer with a non-finite float, or NULL */
} export_buf_t;

static void buf_reserve(export_buf_t *b, size_t more) {
    if (b->oom || b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static void buf_put(export_buf_t *b, const void *p, size_t n) {
    buf_reserve(b, n);
    if (b->oom) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* One token and its "\n". */
static void put_token(export_buf_t *b, const char *tok) {
    buf_put(b, tok, strlen(tok));
    buf_put(b, "\n", 1);
}

static void put_int(export_buf_t *b, int v) {
    char s[24];
    snprintf(s, sizeof(s), "%d", v);
    put_token(b, s);
}

/* One float block: "@BIN@", count little-endian float32, "\n". Remembers the layer name of
 * the first non-finite value (KataGo refuses the whole file for one). */
static void put_floats(export_buf_t *b, const char *layer, const float *x, size_t count) {
    buf_put(b, "@BIN@", 5);
    buf_reserve(b, count * 4 + 1);
    if (b->oom) return;
    unsigned char *o = b->data + b->len;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(x[i]) && !b->bad_tensor) b->bad_tensor = layer;
        uint32_t u;
        memcpy(&u, &x[i], 4);
        o[4 * i + 0] = (unsigned char)(u & 0xff);
        o[4 * i + 1] = (unsigned char)((u >> 8) & 0xff);
        o[4 * i + 2] = (unsigned char)((u >> 16) & 0xff);
        o[4 * i + 3] = (unsigned char)(u >> 24);
    }
    b->len += count * 4;
    buf_put(b, "\n", 1);
}

/* ---- layer records (formats.md §1.4) ------------------------------------------------------- */

typedef struct export_ctx_s {
    export_buf_t *b;
    const train_model_t *m;
    char name[160]; /* current layer name */
    float *tmp;     /* scratch for built tensors: max(1 + gamma, column selections) */
} export_ctx_t;

static const char *nm(export_ctx_t *x, const char *fmt, int i) {
    snprintf(x->name, sizeof(x->name), fmt, i);
    return x->name;
}

/* Convolution record from w (k, k, ic, oc). */
static void rec_conv(export_ctx_t *x, const char *name, int k, int ic, int oc, const float *w) {
    put_token(x->b, name);
    put_int(x->b, k);
    put_int(x->b, k);
    put_int(x->b, ic);
    put_int(x->b, oc);
    put_int(x->b, 1); /* dilation y */
    put_int(x->b, 1); /* dilation x */
    put_floats(x->b, name, w, (size_t)k * k * ic * oc);
}

static void rec_conv_layer(export_ctx_t *x, const char *name, train_layer_t ly) {
    rec_conv(x, name, ly.k, ly.ic, ly.oc, x->m->params + ly.off);
}

/* A fixup norm as BN: mean 0, var 1 (= 1 - 1e-20 in float32), eps 1e-20, scale = 1 + gamma
 * when gamma is given (hasScale 1), bias = beta. */
static void rec_bn(export_ctx_t *x, const char *name, int c, const train_layer_t *gamma,
                   train_layer_t beta) {
    const float *P = x->m->params;
    TG_ASSERT(beta.oc == c && (!gamma || gamma->oc == c));
    put_token(x->b, name);
    put_int(x->b, c);
    put_token(x->b, "1e-20");
    put_int(x->b, gamma ? 1 : 0);
    put_int(x->b, 1);
    for (int i = 0; i < c; i++)
        x->tmp[i] = 0.0f;
    put_floats(x->b, name, x->tmp, (size_t)c);
    for (int i = 0; i < c; i++)
        x->tmp[i] = 1.0f;
    put_floats(x->b, name, x->tmp, (size_t)c);
    if (gamma) {
        for (int i = 0; i < c; i++)
            x->tmp[i] = 1.0f + P[gamma->off + i];
        put_floats(x->b, name, x->tmp, (size_t)c);
    }
    put_floats(x->b, name, P + beta.off, (size_t)c);
}

static void rec_relu(export_ctx_t *x, const char *name) {
    put_token(x->b, name);
    put_token(x->b, "ACTIVATION_RELU");
}

static void rec_matmul(export_ctx_t *x, const char *name, int ic, int oc, const float *w) {
    put_token(x->b, name);
    put_int(x->b, ic);
    put_int(x->b, oc);
    put_floats(x->b, name, w, (size_t)ic * oc);
}

static void rec_matbias(export_ctx_t *x, const char *name, int c, const float *bias) {
    put_token(x->b, name);
    put_int(x->b, c);
    put_floats(x->b, name, bias, (size_t)c);
}

/* tmp (rows, ncols) = the listed columns of w (rows, oc). */
static const float *select_cols(export_ctx_t *x, const float *w, int rows, int oc, const int *cols,
                                int ncols) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < ncols; j++)
            x->tmp[(size_t)r * ncols + j] = w[(size_t)r * oc + cols[j]];
    return x->tmp;
}

/* ---- model ----------------------------------------------------------------------------------- */

static void write_header(export_ctx_t *x, const char *name) {
    put_token(x->b, name);
    put_int(x->b, TG_EXPORT_MODEL_VERSION);
    put_int(x->b, TRAIN_SPATIAL_IN);
    put_int(x->b, TRAIN_GLOBAL_IN);
    for (int i = 0; i < 7; i++)
        put_token(x->b, export_multipliers[i]);
    put_int(x->b, 0); /* metaEncoderVersion: no SGF-metadata encoder */
    put_int(x->b, 0); /* preferPassAliveUnderSuicideRules */
    for (int i = 0; i < 6; i++)
        put_int(x->b, 0); /* reserved */
}

static void write_trunk(export_ctx_t *x) {
    const train_model_t *m = x->m;
    const train_config_t *c = &m->cfg;
    const float *P = m->params;
    put_token(x->b, "trunk");
    put_int(x->b, c->num_blocks);
    put_int(x->b, c->c_trunk);
    put_int(x->b, c->c_mid);
    put_int(x->b, c->c_mid - c->c_gpool);
    put_int(x->b, c->c_gpool);
    put_int(x->b, c->c_gpool);
    put_int(x->b, 0); /* trunk norm kind: BN tip */
    for (int i = 0; i < 5; i++)
        put_int(x->b, 0);
    rec_conv_layer(x, "model.conv_spatial", m->conv_spatial);
    rec_matmul(x, "model.linear_global", TRAIN_GLOBAL_IN, c->c_trunk, P + m->linear_global.off);
    for (int b = 0; b < c->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        put_token(x->b, bk->gpool ? "gpool_block" : "ordinary_block");
        put_token(x->b, nm(x, "model.blocks.%d", b));
        rec_bn(x, nm(x, "model.blocks.%d.normactconv1.norm", b), c->c_trunk, NULL, bk->beta1);
        rec_relu(x, nm(x, "model.blocks.%d.normactconv1.act", b));
        if (bk->gpool) {
            rec_conv_layer(x, nm(x, "model.blocks.%d.normactconv1.convpool.conv1r", b), bk->conv1);
            rec_conv_layer(x, nm(x, "model.blocks.%d.normactconv1.convpool.conv1g", b), bk->conv1g);
            rec_bn(x, nm(x, "model.blocks.%d.normactconv1.convpool.normg", b), c->c_gpool, NULL,
                   bk->betag);
            rec_relu(x, nm(x, "model.blocks.%d.normactconv1.convpool.actg", b));
            rec_matmul(x, nm(x, "model.blocks.%d.normactconv1.convpool.linear_g", b),
                       bk->linear_g.ic, bk->linear_g.oc, P + bk->linear_g.off);
        } else {
            rec_conv_layer(x, nm(x, "model.blocks.%d.normactconv1.conv", b), bk->conv1);
        }
        rec_bn(x, nm(x, "model.blocks.%d.normactconv2.norm", b), bk->c_reg, &bk->gamma2, bk->beta2);
        rec_relu(x, nm(x, "model.blocks.%d.normactconv2.act", b));
        rec_conv_layer(x, nm(x, "model.blocks.%d.normactconv2.conv", b), bk->conv2);
    }
    rec_bn(x, "model.norm_trunkfinal", c->c_trunk, NULL, m->beta_final);
    rec_relu(x, "model.act_trunkfinal");
}

/* Training policy outputs kept in a v15 file: 0 (policy) and 5 (short-term optimistic). */
static const int export_policy_cols[2] = {0, 5};

static void write_policy_head(export_ctx_t *x) {
    const train_model_t *m = x->m;
    const train_config_t *c = &m->cfg;
    const float *P = m->params;
    const int P1 = c->c_p1, G1 = c->c_g1, NP = TRAIN_POLICY_OUTPUTS;
    put_token(x->b, "model.policy_head");
    rec_conv_layer(x, "model.policy_head.conv1p", m->p_conv1p);
    rec_conv_layer(x, "model.policy_head.conv1g", m->p_conv1g);
    rec_bn(x, "model.policy_head.biasg", G1, NULL, m->p_biasg);
    rec_relu(x, "model.policy_head.actg");
    rec_matmul(x, "model.policy_head.linear_g", 3 * G1, P1, P + m->p_linear_g.off);
    rec_bn(x, "model.policy_head.bias2", P1, NULL, m->p_bias2);
    rec_relu(x, "model.policy_head.act2");
    rec_conv(x, "model.policy_head.conv2p", 1, P1, 2,
             select_cols(x, P + m->p_conv2p.off, P1, NP, export_policy_cols, 2));
    rec_matmul(x, "model.policy_head.linear_pass", 3 * G1, P1, P + m->p_linear_pass.off);
    rec_matbias(x, "model.policy_head.linear_pass_bias", P1, P + m->p_linear_pass_bias.off);
    rec_relu(x, "model.policy_head.act_pass");
    rec_matmul(x, "model.policy_head.linear_pass2", P1, 2,
               select_cols(x, P + m->p_linear_pass2.off, P1, NP, export_policy_cols, 2));
}

static void write_value_head(export_ctx_t *x) {
    const train_model_t *m = x->m;
    const train_config_t *c = &m->cfg;
    const float *P = m->params;
    const int V1 = c->c_v1, V2 = c->c_v2, MI = TRAIN_MISC_OUTPUTS, MM = TRAIN_MOREMISC_OUTPUTS;
    put_token(x->b, "model.value_head");
    rec_conv_layer(x, "model.value_head.conv1", m->v_conv1);
    rec_bn(x, "model.value_head.bias1", V1, NULL, m->v_bias1);
    rec_relu(x, "model.value_head.act1");
    rec_matmul(x, "model.value_head.linear2", 3 * V1, V2, P + m->v_linear2.off);
    rec_matbias(x, "model.value_head.bias2", V2, P + m->v_bias2.off);
    rec_relu(x, "model.value_head.act2");
    rec_matmul(x, "model.value_head.linear_valuehead", V2, 3, P + m->v_linear_value.off);
    rec_matbias(x, "model.value_head.bias_valuehead", 3, P + m->v_bias_value.off);
    /* Score values (S = 6): misc 0..3 (score mean, stdev, lead, variance time), then moremisc
     * 0..1 (short-term value error, short-term score error). */
    const float *wm = P + m->v_linear_misc.off, *wmm = P + m->v_linear_moremisc.off;
    for (int r = 0; r < V2; r++) {
        for (int j = 0; j < 4; j++)
            x->tmp[(size_t)r * 6 + j] = wm[(size_t)r * MI + j];
        for (int j = 0; j < 2; j++)
            x->tmp[(size_t)r * 6 + 4 + j] = wmm[(size_t)r * MM + j];
    }
    rec_matmul(x, "model.value_head.linear_miscvaluehead", V2, 6, x->tmp);
    const float *bm = P + m->v_bias_misc.off, *bmm = P + m->v_bias_moremisc.off;
    float sb[6] = {bm[0], bm[1], bm[2], bm[3], bmm[0], bmm[1]};
    rec_matbias(x, "model.value_head.bias_miscvaluehead", 6, sb);
    rec_conv_layer(x, "model.value_head.conv_ownership", m->v_conv_own);
}

/* ---- public API ------------------------------------------------------------------------------ */

int tg_export_check_name(const char *name, tg_err_t *err) {
    if (!name || !name[0]) return tg_err_set(err, TG_EINVAL, "export: empty model name");
    size_t n = strlen(name);
    if (n > TG_EXPORT_NAME_MAX)
        return tg_err_set(err, TG_EINVAL, "export: model name is %zu characters, KataGo allows %d",
                          n, TG_EXPORT_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-';
        if (!ok)
            return tg_err_set(err, TG_EINVAL,
                              "export: model name '%s': character %zu (0x%02x) is not in "
                              "[A-Za-z0-9_-]",
                              name, i + 1, (unsigned char)ch);
    }
    return 0;
}

int tg_export_model_name(char *buf, size_t n, const char *prefix, int64_t samples, int64_t rows,
                         tg_err_t *err) {
    int rc = tg_export_check_name(prefix, err);
    if (rc) return rc;
    if (samples < 0 || rows < 0)
        return tg_err_set(err, TG_EINVAL, "export: negative samples (%lld) or rows (%lld)",
                          (long long)samples, (long long)rows);
    int w = snprintf(buf, n, "%s-s%lld-d%lld", prefix, (long long)samples, (long long)rows);
    if (w < 0 || (size_t)w >= n || w > TG_EXPORT_NAME_MAX)
        return tg_err_set(err, TG_EINVAL, "export: model name for prefix '%s' is too long", prefix);
    return 0;
}

/* Largest scratch a record needs: a BN vector or a column selection (rows x 6). */
static size_t export_tmp_floats(const train_config_t *c) {
    size_t t = (size_t)c->c_trunk;
    int w[] = {c->c_mid, c->c_gpool, c->c_p1, c->c_g1, c->c_v1, c->c_v2};
    for (size_t i = 0; i < TG_ARRAY_LEN(w); i++)
        if ((size_t)w[i] > t) t = (size_t)w[i];
    return 6 * t + 16;
}

int tg_export_model_bytes(const train_model_t *m, const char *name, unsigned char **out,
                          size_t *len, tg_err_t *err) {
    *out = NULL;
    *len = 0;
    int rc = tg_export_check_name(name, err);
    if (rc) return rc;
    const train_config_t *c = &m->cfg;
    /* KataGo refuses any channel count that is not positive (regular = mid - gpool too). */
    if (c->num_blocks < 1 || c->c_trunk < 1 || c->c_gpool < 1 || c->c_mid <= c->c_gpool)
        return tg_err_set(err, TG_EINVAL,
                          "export: model %s: blocks %d, trunk %d, mid %d, gpool %d channels: "
                          "KataGo needs every count positive and mid > gpool",
                          name, c->num_blocks, c->c_trunk, c->c_mid, c->c_gpool);
    export_buf_t b = {0};
    export_ctx_t x = {.b = &b, .m = m};
    x.tmp = malloc(export_tmp_floats(&m->cfg) * sizeof(float));
    buf_reserve(&b, m->num_params * 4 + 65536);
    if (!x.tmp || b.oom) {
        free(x.tmp);
        free(b.data);
        return tg_err_set(err, TG_ENOMEM, "export: out of memory for %zu parameters",
                          m->num_params);
    }
    write_header(&x, name);
    write_trunk(&x);
    write_policy_head(&x);
    write_value_head(&x);
    free(x.tmp);
    if (b.oom) {
        free(b.data);
        return tg_err_set(err, TG_ENOMEM, "export: out of memory");
    }
    if (b.bad_tensor) {
        rc = tg_err_set(err, TG_ERANGE,
                        "export: layer %s holds a NaN or infinite weight (KataGo would refuse "
                        "the file)",
                        b.bad_tensor);
        free(b.data);
        return rc;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

/* One gzip member (no file name, mtime 0) of data into a new malloc'ed buffer. One deflate
 * call: the output buffer has deflateBound's size, so Z_FINISH completes at once. */
static int export_gzip(const unsigned char *data, size_t len, unsigned char **out, size_t *out_len,
                       tg_err_t *err) {
    if (len > 0xFFFFFFFFu / 2)
        return tg_err_set(err, TG_ERANGE, "export: model image of %zu bytes is too large", len);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return tg_err_set(err, TG_ENOMEM, "export: deflateInit2 failed");
    const size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return tg_err_set(err, TG_ENOMEM, "export: out of memory for %zu gzip bytes", cap);
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    const int zrc = deflate(&zs, Z_FINISH);
    const size_t produced = (size_t)zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return tg_err_set(err, TG_EINTERNAL, "export: deflate failed (%d)", zrc);
    }
    *out = buf;
    *out_len = produced;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* 0 if the directory part of path exists and is a directory. */
static int export_check_dir(const char *path, tg_err_t *err) {
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash) return 0; /* current directory */
    size_t n = (size_t)(slash - path);
    if (n == 0) return 0; /* "/name" */
    if (n >= sizeof(dir)) return tg_err_set(err, TG_EINVAL, "export: path too long: %s", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0)
        return tg_err_set(err, TG_ENOTFOUND, "export: %s: directory '%s' does not exist", path,
                          dir);
    if (!S_ISDIR(st.st_mode))
        return tg_err_set(err, TG_ENOTFOUND, "export: %s: '%s' is not a directory", path, dir);
    return 0;
}

int tg_export_model(const train_model_t *m, const char *name, const char *path, tg_err_t *err) {
    if (!path || !path[0]) return tg_err_set(err, TG_EINVAL, "export: empty output path");
    const int gz = ends_with(path, ".bin.gz");
    if (!gz && !ends_with(path, ".bin"))
        return tg_err_set(err, TG_EINVAL,
                          "export: %s: the file name must end in .bin or .bin.gz (KataGo picks "
                          "the format from the suffix)",
                          path);
    int rc = export_check_dir(path, err);
    if (rc) return rc;
    unsigned char *bin = NULL, *z = NULL;
    size_t bin_len = 0, z_len = 0;
    rc = tg_export_model_bytes(m, name, &bin, &bin_len, err);
    if (rc) return rc;
    if (gz) {
        rc = export_gzip(bin, bin_len, &z, &z_len, err);
        if (!rc) rc = tg_file_write_atomic(path, z, z_len, err);
    } else {
        rc = tg_file_write_atomic(path, bin, bin_len, err);
    }
    free(bin);
    free(z);
    return rc;
}

int tg_export_checkpoint(const char *ckpt_path, const char *name, const char *prefix,
                         int64_t data_rows, const char *out_path, int use_swa,
                         tg_export_result_t *result, tg_err_t *err) {
    trainer_t *t = NULL;
    int rc = train_checkpoint_open(ckpt_path, &t, err);
    if (rc) return rc;
    train_model_t net;
    const int swa = trainer_model_for_export(t, use_swa, &net);
    const train_model_t *m = &net;
    char built[TG_EXPORT_NAME_MAX + 1];
    if (!name) {
        rc = tg_export_model_name(built, sizeof(built), prefix ? prefix : m->cfg.name,
                                  trainer_samples(t), data_rows, err);
        name = built;
    }
    if (!rc) rc = tg_export_model(m, name, out_path, err);
    if (!rc && result) {
        snprintf(result->name, sizeof(result->name), "%s", name);
        result->samples = trainer_samples(t);
        result->steps = trainer_steps(t);
        result->swa = swa;
        result->swa_updates = trainer_swa_updates(t);
    }
    trainer_destroy(t);
    return rc;
}
