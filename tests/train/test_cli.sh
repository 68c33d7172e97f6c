#!/bin/bash
# test_cli.sh: `tengen train` end to end on the benchmark npz: trains a few steps of b2c16,
# prints loss lines, writes a checkpoint, resumes from it (step counter continues), refuses bad
# usage. Skips (77) while `train` is not yet in the tengen command table.
set -u
BIN=${TENGEN_BIN:?TENGEN_BIN not set}
FIX=${TENGEN_FIXTURES:?TENGEN_FIXTURES not set}
DATA=$FIX/benchmark_data_1024.npz
if ! "$BIN" train --help >/dev/null 2>&1; then
    echo "SKIP: tengen has no train subcommand yet"
    exit 77
fi
[ -f "$DATA" ] || { echo "SKIP: $DATA missing"; exit 77; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$BIN" train --model-kind b2c16 --data "$DATA" --checkpoint-dir "$DIR/ck" --steps 6 \
      --batch 8 --log-every 3 2>"$DIR/err") || fail "train exited $?: $(cat "$DIR/err")"
echo "$out" | grep -q '^step=3 samples=24 loss=[0-9.]* loss_policy=[0-9.]* ' || fail "no loss line: $out"
echo "$out" | grep -q '^step=6 samples=48 ' || fail "no step 6 line: $out"
[ -f "$DIR/ck/ckpt-000000000006.tgck" ] || fail "no checkpoint: $(ls "$DIR/ck")"

out=$("$BIN" train --model-kind b2c16 --data "$DATA" --checkpoint-dir "$DIR/ck" --steps 9 \
      --batch 8 --log-every 3 2>"$DIR/err") || fail "resume exited $?: $(cat "$DIR/err")"
grep -q 'resumed from' "$DIR/err" || fail "did not resume: $(cat "$DIR/err")"
echo "$out" | grep -q '^step=9 samples=72 ' || fail "resume did not continue: $out"
echo "$out" | grep -q '^step=3 ' && fail "resume restarted from 0: $out"

"$BIN" train --model-kind b4c32 --data "$DATA" --checkpoint-dir "$DIR/ck" --steps 10 \
    --batch 8 >/dev/null 2>&1 && fail "a b2c16 checkpoint was accepted for b4c32"
"$BIN" train --model-kind nope --data "$DATA" --checkpoint-dir "$DIR/x" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown model kind is not a usage error"
"$BIN" train --checkpoint-dir "$DIR/x" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing --data is not a usage error"
echo "ok"
