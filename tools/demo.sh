#!/usr/bin/env bash
# demo.sh CONFIG: the README's main job: checks the config, runs a short self-check (rules and
# net benchmarks), plays a demo match of tengen's searching GTP engine against the configured
# opponent (GNU Go by default), writing SGFs and a summary under run.dir, then runs the training
# loop (`tengen run config/quickstart.ini`) for two full cycles and draws it (`tengen plot`).
set -euo pipefail
cd "$(dirname "$0")/.."
cfg="${1:-config/default.ini}"
bin=build/tengen

echo "== config ($cfg)"
printed=$($bin config --print "$cfg")
get() { awk -v s="[$1]" -v k="$2" '
  $0 == s {in_s = 1; next} /^\[/ {in_s = 0} in_s && $1 == k {sub(/^[^=]*= ?/, ""); print; exit}' \
  <<<"$printed"; }
for key in "run dir" "game board_size" "game rules" "game komi" "nn model" "match games" \
           "match opponent"; do
  set -- $key
  echo "$1.$2 = $(get "$1" "$2")"
done
size=$(get game board_size); model=$(get nn model); rundir=$(get run dir)
games=$(get match games); opponent=$(get match opponent); rules=$(get game rules)
komi=$(get game komi); max_moves=$(get match max_moves)

echo "== self-check: rules speed"
$bin bench playout --board-size "$size" --seconds 1

engine="$bin gtp"
if [ -n "$model" ] && [ -f "$model" ]; then
  echo "== self-check: net speed ($model)"
  $bin bench nn --model "$model" --board-size "$size" --batch 8 --threads "$(nproc)" --seconds 2
  engine="$bin gtp --model $model --visits 50"
else
  echo "== no model file ('$model'): tengen plays random legal moves"
fi

opp_bin=${opponent%% *}
if ! command -v "$opp_bin" >/dev/null && [ ! -x "$opp_bin" ]; then
  [ -x "/usr/games/$opp_bin" ] && opponent="/usr/games/$opponent" || {
    echo "== opponent '$opp_bin' not found: demo match against tengen itself"; opponent="$bin gtp"; }
fi
mkdir -p "$rundir/sgf"
echo "== demo match: '$engine' vs '$opponent', $games games on ${size}x${size}"
$bin match --black "$engine" --white "$opponent" --games "$games" --board-size "$size" \
  --komi "$komi" --rules "$rules" --max-moves "$max_moves" --sgf-dir "$rundir/sgf"
echo "== demo done: SGFs in $rundir/sgf"

# The training loop itself, bounded so the set-up finishes: two full cycles of selfplay ->
# window -> training -> export -> model switch on config/quickstart.ini. Run it without
# --max-cycles to train for real; Ctrl-C pauses and the same command resumes.
echo "== tengen run config/quickstart.ini (bounded demo: 2 cycles)"
$bin run config/quickstart.ini --dry-run
$bin run config/quickstart.ini --max-cycles 2 --max-minutes 5
$bin status runs/quickstart
echo "== tengen plot runs/quickstart"
$bin plot runs/quickstart
echo "== plots: $(pwd)/runs/quickstart/plots/index.html (strength.svg, loss.svg, throughput.svg)"
