#!/usr/bin/env bash
# test_cli.sh: `tengen run` and `tengen status` as programs, checked from outside: --dry-run
# prints the plan, bad configs exit 2 with file:line, a bounded run completes a cycle and
# pauses with exit 0, SIGINT pauses a running loop and `tengen status` reports it, and a
# second run of the same command resumes (session 2). Skips (77) until main.c dispatches `run`.
set -u
: "${TENGEN_BIN:?TENGEN_BIN must point to the tengen binary}"
"$TENGEN_BIN" run --help >/dev/null 2>&1 || { echo "SKIP: tengen has no 'run' subcommand yet"; exit 77; }
tmp=$(mktemp -d /tmp/tengen_run_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/err" ] && tail -5 "$tmp/err"; exit 1; }

cat >"$tmp/tiny.ini" <<'INI'
[run]
dir = unused
seed = 3
status_every_s = 1
save_every_s = 5
[log]
level = info
[nn]
threads = 1
[selfplay]
num_game_threads = 2
board_sizes = 7
max_moves_per_game = 80
max_visits = 8
cheap_visits = 4
reduced_visits_min = 4
max_rows_per_file = 60
nn_max_batch = 2
model_poll_s = 0.2
[train]
model_kind = b2c8test
batch = 16
warmup = false
export_every_samples = 800
[shuffle]
min_rows = 200
max_mb = 16
samples_per_epoch = 200
INI

# --dry-run: the plan, nothing written
"$TENGEN_BIN" run "$tmp/tiny.ini" --dir "$tmp/run" --dry-run >"$tmp/plan" 2>"$tmp/err" ||
    fail "dry run exited with $?"
grep -q 'trainer *b2c8test' "$tmp/plan" || fail "plan lacks the trainer: $(cat "$tmp/plan")"
grep -q 'memory' "$tmp/plan" || fail "plan lacks the memory estimate"
grep -q 'threads' "$tmp/plan" || fail "plan lacks the threads"
[ -e "$tmp/run" ] && fail "dry run created the run dir"

# bad configs: exit 2, file:line
printf '[train]\nbatch = 16\nmodel_kind = b7c7\n' >"$tmp/bad.ini"
"$TENGEN_BIN" run "$tmp/bad.ini" --dir "$tmp/run" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "bad model_kind: expected exit 2"
grep -q 'bad.ini:3: train.model_kind' "$tmp/err" || fail "no file:line: $(cat "$tmp/err")"
printf '[selfplay]\nmax_visits = -4\n' >"$tmp/bad2.ini"
"$TENGEN_BIN" run "$tmp/bad2.ini" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "bad max_visits: expected exit 2"
grep -q 'bad2.ini:2' "$tmp/err" || fail "no file:line: $(cat "$tmp/err")"
"$TENGEN_BIN" status "$tmp/nothing" >/dev/null 2>&1 && fail "status of a missing run succeeded"

# a bounded run: one full cycle, then a pause with exit 0
timeout 120 "$TENGEN_BIN" run "$tmp/tiny.ini" --dir "$tmp/run" --max-cycles 1 >"$tmp/out" 2>"$tmp/err" ||
    fail "bounded run exited with $?"
grep -q 'cycles=1' "$tmp/out" || fail "no cycle: $(cat "$tmp/out")"
ls "$tmp"/run/models/*/model.bin.gz >/dev/null 2>&1 || fail "no exported model"
[ -s "$tmp/run/metrics.jsonl" ] || fail "no metrics"
grep -q '"share_trainer"' "$tmp/run/metrics.jsonl" || fail "metrics lack the shares"
"$TENGEN_BIN" status "$tmp/run" >"$tmp/status" || fail "status exited with $?"
grep -q 'paused' "$tmp/status" || fail "status does not say paused: $(cat "$tmp/status")"

# SIGINT while running: status says RUNNING before, the pause exits 0, session 2 recorded
"$TENGEN_BIN" run "$tmp/tiny.ini" --dir "$tmp/run" >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 3
"$TENGEN_BIN" status "$tmp/run" | grep -q RUNNING || fail "status does not see the running loop"
kill -USR1 $pid
sleep 1
kill -INT $pid
wait $pid || fail "paused run exited with $?"
grep -q 'signal=1' "$tmp/out" || fail "no signal pause: $(cat "$tmp/out")"
grep -q '^sessions=2$' "$tmp/run/state/run.state" || fail "session count not 2"
[ "$(grep -c 'run: games=' "$tmp/err")" -ge 2 ] || fail "no status lines"
echo "ok"
