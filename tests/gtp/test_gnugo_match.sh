#!/usr/bin/env bash
# test_gnugo_match.sh: end to end: `tengen match` between `tengen gtp` (random legal play) and
# GnuGo (level 1) on 9x9 for 2 games. Checks that both games finished with only legal moves
# (the referee found no illegal move, and every SGF replays legally through `tengen gtp`'s
# loadsgf), that the SGFs were written, and the summary line. Skipped (77) without GnuGo.
set -u
GNUGO=/usr/games/gnugo
[ -x "$GNUGO" ] || { echo "SKIP: $GNUGO not installed"; exit 77; }
: "${TENGEN_BIN:?TENGEN_BIN must point to the tengen binary}"

tmp=$(mktemp -d /tmp/tengen_gnugo_match.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; tail -20 "$tmp/err"; exit 1; }

timeout 120 "$TENGEN_BIN" match \
    --black "$TENGEN_BIN gtp --seed 11" \
    --white "$GNUGO --mode gtp --level 1" \
    --games 2 --board-size 9 --komi 7 --rules chinese \
    --sgf-dir "$tmp/sgf" --max-moves 400 --move-timeout 60 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "tengen match exited with $rc"

line=$(grep '^match games=' "$tmp/out") || fail "no machine-readable summary line"
[[ $line =~ ^match\ games=2\ a_wins=([0-9]+)\ b_wins=([0-9]+)\ draws=([0-9]+)\ a_winrate=[0-9.]+\ elo=[-0-9.inf]+\ elo_lo=[-0-9.inf]+\ elo_hi=[-0-9.inf]+$ ]] ||
    fail "malformed summary line: $line"
total=$(( BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] ))
[ $total -eq 2 ] || fail "wins and draws add up to $total, not 2"
grep -q 'illegal-move losses: 0,' "$tmp/out" || fail "an engine lost by an illegal move"
grep -q 'void games: 0)' "$tmp/out" || fail "a game was void"
grep -qi 'illegal move' "$tmp/err" && fail "illegal move logged"

for g in 1 2; do
    f="$tmp/sgf/game_000$g.sgf"
    [ -s "$f" ] || fail "missing SGF $f"
    grep -q 'RE\[[BW]+' "$f" || grep -q 'RE\[0\]' "$f" || fail "$f has no result"
    moves=$(grep -o ';[BW]\[' "$f" | wc -l)
    [ "$moves" -ge 20 ] || fail "$f has only $moves moves"
    # every move replays legally under the SGF's own rules
    resp=$(printf 'loadsgf %s\nquit\n' "$f" | "$TENGEN_BIN" gtp --seed 1 2>/dev/null | head -1)
    [ "$resp" = "= " ] || fail "$f does not replay: $resp"
    # the game ended by passing (two passes, or a repeated pass under simple ko)
    last=$(grep -o ';[BW]\[[a-z]*\]' "$f" | tail -1)
    [[ $last =~ ^\;[BW]\[(tt)?\]$ ]] || fail "$f does not end with a pass: $last"
done
echo "ok: $line"
