#!/usr/bin/env bash
# test_cli.sh: `tengen plot` as a program: writes the three SVGs and index.html into
# RUNDIR/plots (or --out DIR), reports a malformed metrics line as metrics.jsonl:LINE on
# stderr and still exits 0, exits 1 with a clear message on a directory that holds no run,
# and 2 on bad usage. Skips (77) until main.c dispatches `plot`.
set -u
: "${TENGEN_BIN:?TENGEN_BIN must point to the tengen binary}"
"$TENGEN_BIN" plot --help >/dev/null 2>&1 || { echo "SKIP: tengen has no 'plot' subcommand yet"; exit 77; }
tmp=$(mktemp -d /tmp/tengen_plot_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/err" ] && tail -5 "$tmp/err"; exit 1; }

run="$tmp/run"
mkdir -p "$run"
for i in 1 2 3 4 5; do
  printf '{"session": 1, "wall_s": %d, "rows": %d, "rows_per_s": 150.0, "samples": %d, "train_per_row": 3.9, "target_train_per_row": 4.0, "loss": %d.5, "loss_policy": 2.%d, "loss_value": 0.4, "share_trainer": 0.2, "share_selfplay": 0.8, "share_gate": 0, "cpu_cores": 1.1}\n' \
    $((5 * i)) $((700 * i)) $((2500 * i)) $((50 - i)) $((9 - i)) >>"$run/metrics.jsonl"
done
echo '{"wall_s": 30, "rows": ' >>"$run/metrics.jsonl"   # line 6: torn
cat >"$run/elo.json" <<'JSON'
{"anchor": "random = 0", "nets": [
  {"name": "b2c16-s5000-d700", "elo": 80.0, "opponent": "random", "points": 4.0, "games": 6},
  {"name": "b2c16-s10000-d1400", "elo": 150.0, "opponent": "b2c16-s5000-d700", "points": 3.5, "games": 6}
]}
JSON

"$TENGEN_BIN" plot "$run" >"$tmp/out" 2>"$tmp/err" || fail "plot exited $?"
grep -q 'metrics.jsonl:6: json: ' "$tmp/err" || fail "torn line 6 not reported: $(cat "$tmp/err")"
grep -q '5 metrics lines (1 skipped), 2 rated nets' "$tmp/out" || fail "summary: $(cat "$tmp/out")"
grep -q "wrote $run/plots/" "$tmp/out" || fail "no output location: $(cat "$tmp/out")"
for f in strength.svg loss.svg throughput.svg index.html; do
  [ -s "$run/plots/$f" ] || fail "$f missing"
done
for f in strength loss throughput; do
  tail -c 7 "$run/plots/$f.svg" | grep -q '</svg>' || fail "$f.svg does not end with </svg>"
done
grep -q 'b2c16-s10000-d1400: Elo 150' "$run/plots/strength.svg" || fail "strength.svg lacks the net"
grep -q '<img src="loss.svg"' "$run/plots/index.html" || fail "index.html lacks loss.svg"

"$TENGEN_BIN" plot --out "$tmp/elsewhere" "$run" >/dev/null 2>&1 || fail "--out exited $?"
[ -s "$tmp/elsewhere/throughput.svg" ] || fail "--out wrote nothing"

mkdir -p "$tmp/empty"
"$TENGEN_BIN" plot "$tmp/empty" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "an empty directory did not exit 1"
grep -q 'no metrics.jsonl or elo.json' "$tmp/err" || fail "empty dir message: $(cat "$tmp/err")"
[ -e "$tmp/empty/plots" ] && fail "plots written for an empty directory"

"$TENGEN_BIN" plot >/dev/null 2>&1
[ $? -eq 2 ] || fail "no RUNDIR is not a usage error"
"$TENGEN_BIN" plot "$run" extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "two RUNDIRs is not a usage error"
"$TENGEN_BIN" plot --bogus "$run" >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown option is not a usage error"
echo "ok"
