/* export_test_util.h: a check shared by the export tests (test_export.c, test_cli.c).
 *
 * Why: both need to know whether a written model file holds exactly a given trainer model's
 * weights (SWA average or raw weights), and one definition keeps them comparing the same way. */
#ifndef TENGEN_TESTS_EXPORT_TEST_UTIL_H
#define TENGEN_TESTS_EXPORT_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#include "export/export.h"
#include "nn/model.h"
#include "train/train_internal.h"

/* 0 if the model file at path holds exactly the weights of m, compared through a direct export
 * of m to scratch_dir/same.bin loaded back; nonzero otherwise or on any error. */
static inline int export_test_same_weights(const char *path, const train_model_t *m,
                                           const char *scratch_dir) {
    char direct[512];
    snprintf(direct, sizeof direct, "%s/same.bin", scratch_dir);
    tg_err_t err;
    tg_model_t *a = NULL, *b = NULL;
    int rc = tg_model_load(path, &a, &err) || tg_export_model(m, "same", direct, &err) ||
             tg_model_load(direct, &b, &err);
    if (!rc)
        rc = a->num_weights != b->num_weights ||
             memcmp(a->weights, b->weights, a->num_weights * sizeof(float)) != 0;
    tg_model_free(a);
    tg_model_free(b);
    return rc;
}

#endif
