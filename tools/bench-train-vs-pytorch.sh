#!/usr/bin/env bash
# bench-train-vs-pytorch.sh: issue #5's CPU training bar, measured side by side: tengen's CPU
# trainer (`tengen bench train`) against bench/train_pytorch.py (the same net and loss in
# PyTorch) on the same machine, the same KataGo rows and the same batch/thread settings.
#
#   tools/bench-train-vs-pytorch.sh [BUILD_DIR]      (default: build)
#
# For kind in b2c16 b6c96, batch 64 128, threads 1 2 it runs, ROUNDS times (default 2):
# tengen, PyTorch NCHW (KataGo's layout), PyTorch channels_last (often PyTorch's faster
# layout on CPU) one after another, so that load from other jobs hits all of them alike. It
# prints every `bench=train ...` line (PyTorch's carry impl=pytorch), the load average before
# each round, a parameter-count check per kind and a closing table of best-of-rounds figures.
# Exits 77 ("skipped") when PyTorch is not installed (it is not a project dependency; Debian:
# apt-get install python3-torch). Env: PYTHON (/usr/bin/python3), ROUNDS (2), SECONDS_SMALL (3)
# and SECONDS_BIG (8): timed seconds per run for b2c16 / b6c96, KINDS, BATCHES, THREADS, and
# OMP_WAIT_POLICY for PyTorch's OpenMP threads (default PASSIVE: on a shared 2-core machine
# spinning OpenMP workers lose their core to other jobs at every barrier; tengen's workers also
# sleep after a short spin).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
py="${PYTHON:-/usr/bin/python3}"
rounds="${ROUNDS:-2}"
data="${TENGEN_FIXTURES:-$PWD/../shared/fixtures}/benchmark_data_1024.npz"

if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "skipped: python3-torch not installed"
  exit 77
fi
if [ -x "$build/tengen" ]; then
  tengen=("$build/tengen" bench train)
elif [ -x "$build/bench_train" ]; then
  tengen=("$build/bench_train")
else
  echo "bench-train-vs-pytorch: no $build/tengen or $build/bench_train (build first)" >&2
  exit 1
fi
[ -r "$data" ] || { echo "bench-train-vs-pytorch: missing $data" >&2; exit 1; }

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# tengen: ${tengen[*]}; pytorch: $py bench/train_pytorch.py"
"$py" - <<'PYEOF'
import re, torch
c = torch.__config__.show()
mk = "yes" if "USE_MKLDNN=ON" in c and torch.backends.mkldnn.is_available() else "no"
facts = re.findall(r"MKL-DNN v[0-9.]+|CPU capability usage: \w+|BLAS_INFO=\w+|USE_OPENMP=\w+", c)
print("# torch", torch.__version__, "| mkldnn:", mk, "|", "; ".join(facts))
PYEOF
echo "# libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
echo "# OMP_WAIT_POLICY=$OMP_WAIT_POLICY (PyTorch's OpenMP; tengen does not use OpenMP)"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for kind in ${KINDS:-b2c16 b6c96}; do
  secs="${SECONDS_SMALL:-3}"
  [ "$kind" = b2c16 ] || secs="${SECONDS_BIG:-8}"
  for batch in ${BATCHES:-64 128}; do
    for threads in ${THREADS:-1 2}; do
      for round in $(seq 1 "$rounds"); do
        echo "# round $round $kind batch $batch threads $threads, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
        a="$("${tengen[@]}" --model-kind "$kind" --batch "$batch" --threads "$threads" \
               --seconds "$secs" --data "$data")"
        echo "$a"
        echo "tengen $a" >>"$results"
        for layout in nchw nhwc; do
          extra=()
          [ "$layout" = nhwc ] && extra=(--channels-last)
          out="$("$py" bench/train_pytorch.py --model-kind "$kind" --batch "$batch" \
                   --threads "$threads" --warmup 1 --seconds "$secs" --data "$data" "${extra[@]}")"
          b="$(grep '^bench=train' <<<"$out")"
          echo "$b layout=$layout"
          echo "pytorch_$layout $b" >>"$results"
          # Parameter check: tengen prints its padded buffer; the script recomputes it.
          tbuf="$(grep -o 'tengen_buffer=[0-9]*' <<<"$out" | cut -d= -f2)"
          tpar="$(grep -o ' params=[0-9]*' <<<"$a" | cut -d= -f2)"
          if [ "$round" = 1 ] && [ "$layout" = nchw ]; then
            grep '^# params' <<<"$out" | sed "s/\$/ tengen_printed=$tpar/"
            if [ "$tbuf" != "$tpar" ]; then
              echo "bench-train-vs-pytorch: parameter buffers differ ($tbuf vs $tpar)" >&2
              exit 1
            fi
          fi
        done
      done
    done
  done
done

echo
echo "| kind | batch | threads | tengen samples/s | pytorch NCHW samples/s | pytorch NHWC samples/s | tengen / best pytorch |"
echo "|---|---|---|---|---|---|---|"
awk '
  { impl = $1; for (i = 2; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] }
    key = v["model"] " " v["batch"] " " v["threads"]
    if (!(key in seen)) { seen[key] = 1; order[n++] = key }
    s = v["train_samples_per_s"] + 0
    if (s > best[impl, key]) best[impl, key] = s }
  END {
    for (i = 0; i < n; i++) {
      k = order[i]; split(k, f, " ")
      t = best["tengen", k]; a = best["pytorch_nchw", k]; b = best["pytorch_nhwc", k]
      m = (a > b) ? a : b
      r = (m > 0) ? t / m : 0
      printf("| %s | %s | %s | %.1f | %.1f | %.1f | %.2fx |\n", f[1], f[2], f[3], t, a, b, r)
    }
  }' "$results"
echo "(best of $rounds rounds per cell)"
