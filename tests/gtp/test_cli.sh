#!/usr/bin/env bash
# test_cli.sh: `tengen gtp` and `tengen match` as programs: stdout carries GTP only (logs go to
# stderr), options and config keys take effect, usage errors exit 2, --help exits 0.
set -u
: "${TENGEN_BIN:?TENGEN_BIN must point to the tengen binary}"
tmp=$(mktemp -d /tmp/tengen_gtp_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# stdout is exactly the GTP responses; the log line goes to stderr
printf '1 name\n2 boardsize 5\n3 play b c3\n4 genmove w\n5 quit\n' |
    "$TENGEN_BIN" gtp --seed 3 >"$tmp/out" 2>"$tmp/err" || fail "gtp exited with $?"
head -c 12 "$tmp/out" | grep -q '^=1 tengen$' || fail "unexpected name response: $(head -2 "$tmp/out")"
[ "$(grep -c '^=' "$tmp/out")" -eq 5 ] || fail "expected 5 responses: $(cat "$tmp/out")"
grep -q '^=4 [A-E][1-5]$' "$tmp/out" || fail "genmove did not answer a 5x5 vertex"
grep -q 'INFO' "$tmp/out" && fail "log lines on stdout"
grep -q 'gtp: ready' "$tmp/err" || fail "no log on stderr"

# the same seed gives the same moves
for run in 1 2; do
    printf 'boardsize 9\ngenmove b\ngenmove w\ngenmove b\nquit\n' |
        "$TENGEN_BIN" gtp --seed 77 2>/dev/null >"$tmp/seed$run"
done
cmp -s "$tmp/seed1" "$tmp/seed2" || fail "same seed, different moves"

# config keys: board size, komi, rules and engine name
cat >"$tmp/t.ini" <<'INI'
[game]
board_size = 9
komi = 5.5
rules = japanese
[gtp]
name = cfgname
INI
printf 'name\nshowboard\nkata-get-rules\nquit\n' |
    "$TENGEN_BIN" gtp --config "$tmp/t.ini" 2>/dev/null >"$tmp/cfg" || fail "gtp --config failed"
grep -q '^= cfgname$' "$tmp/cfg" || fail "gtp.name not used"
grep -q '^ 9 \. \. \. \. \. \. \. \. \. 9$' "$tmp/cfg" || fail "game.board_size not used"
grep -q '"komi":5.5' "$tmp/cfg" || fail "game.komi not used"
grep -q '"scoring":"TERRITORY"' "$tmp/cfg" || fail "game.rules not used"
printf 'name\nquit\n' | "$TENGEN_BIN" gtp --config "$tmp/t.ini" --set gtp.name=other 2>/dev/null |
    grep -q '^= other$' || fail "--set not applied"

# usage errors and help
"$TENGEN_BIN" gtp --help >/dev/null || fail "gtp --help"
"$TENGEN_BIN" match --help >/dev/null || fail "match --help"
"$TENGEN_BIN" gtp --bogus </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "gtp --bogus should exit 2"
"$TENGEN_BIN" gtp --seed -4 </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "gtp --seed -4 should exit 2"
"$TENGEN_BIN" gtp --config "$tmp/missing.ini" </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing config should exit 2"
"$TENGEN_BIN" gtp --model "$tmp/missing.bin.gz" </dev/null >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing model should exit 1"
"$TENGEN_BIN" match --black x >/dev/null 2>&1; [ $? -eq 2 ] || fail "match without --white should exit 2"
"$TENGEN_BIN" match --black x --white y --komi 7.2 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad komi should exit 2"
"$TENGEN_BIN" match --black x --white y --board-size 25 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad size should exit 2"
"$TENGEN_BIN" gtp --visits -1 </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "gtp --visits -1 should exit 2"
"$TENGEN_BIN" gtp --resign-threshold 1 </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "gtp --resign-threshold 1 should exit 2"
"$TENGEN_BIN" match --black x --black-model y --white z >/dev/null 2>&1; [ $? -eq 2 ] || fail "match with --black and --black-model should exit 2"
"$TENGEN_BIN" match --black-model y --white z --black-visits -3 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --black-visits should exit 2"

# with the fixture net: genmove searches, kata-analyze answers, an internal match runs
model="${TENGEN_FIXTURES:-}/g170-b6c96-s175395328-d26788732.bin.gz"
if [ -r "$model" ]; then
    printf 'boardsize 9\ngenmove b\nkata-analyze w maxmoves 2\nquit\n' |
        "$TENGEN_BIN" gtp --model "$model" --visits 30 --threads 1 >"$tmp/s" 2>"$tmp/serr" ||
        fail "gtp --model --visits failed: $(tail -3 "$tmp/serr")"
    grep -q '^= [A-J][1-9]$' "$tmp/s" || grep -q '^= pass$' "$tmp/s" || fail "no searched move: $(cat "$tmp/s")"
    grep -q '^info move [A-J][1-9] visits [0-9]* .* order 0 pv ' "$tmp/s" || fail "no kata-analyze line: $(cat "$tmp/s")"
    grep -q 'search: 30 visits' "$tmp/serr" || fail "visits not logged"
    "$TENGEN_BIN" match --black-model "$model" --black-visits 2 --white-model "$model" \
        --white-visits 2 --nn-threads 1 --games 1 --board-size 7 --max-moves 30 >"$tmp/m" 2>/dev/null ||
        fail "internal match failed"
    grep -q '^match games=1 a_wins=[01] b_wins=[01] draws=0 a_winrate=' "$tmp/m" || fail "internal match summary: $(cat "$tmp/m")"
fi
echo ok
