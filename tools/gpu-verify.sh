#!/usr/bin/env bash
# gpu-verify.sh: build tengen's CUDA backend on a GPU machine and verify it in one call: every
# CUDA test (kernels vs CPU twins, forward vs CPU, KataGo golden in fp32 and fp16, backend
# choice, the host emulation of the backend's orchestration) and the benches (`tengen bench nn --backend cuda|cuda-fp16`, batch 1..256, 19x19 and
# 9x9; `tengen bench selfplay` on the GPU). The CUDA trainer too: its kernels vs their CPU twins
# (cuda.train_kernels), its host emulation (cuda.train_emulation), grads and a 100-step loss
# curve vs the CPU trainer in fp32/fp16/bf16 (cuda.train_curve), and `tengen bench train
# --backend cuda` for b6c96 and b10c128 at batch 128 and 256 in fp32, fp16 and bf16.
# Results go to $OUT (7 files, see the end).
#
# Two steps, because the GPU machine has CUDA, cuDNN and CMake but no Debian registry:
#   1. Here (a machine with apt):      tools/gpu-verify.sh --prepare [--with-openblas]
#      downloads the libuv, inih, zlib and pkgconf .debs (and OpenBLAS with --with-openblas;
#      ~45 MB, without it the CPU reference uses the portable GEMM), extracts them into
#      .deps/gpu/root (ignored by git), makes their pkg-config files relocatable, and copies
#      the b6c96 fixture net and KataGo's golden outputs to .deps/gpu/fixtures (../shared does
#      not travel to the GPU machine).
#   2. On the GPU machine (the device `run` tool, carry [".deps"]):
#      OUT=... tools/gpu-verify.sh
#      Knobs: BENCH_SECONDS (default 0.5), BENCH_BATCHES (default "1 2 4 8 16 32 64 128 256"),
#      TRAIN_BENCH_SECONDS (default 2), JOBS (default nproc), SKIP_BENCH=1.
# Exit status: 0 when the build and every test passed (a CUDA test that SKIPs counts as a
# failure here: this script only runs where a GPU is expected), 1 otherwise.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS=$ROOT/.deps/gpu

prepare() {
    local with_blas=$1
    rm -rf "$DEPS"
    mkdir -p "$DEPS/debs" "$DEPS/root" "$DEPS/fixtures" || return 1
    local pkgs="libuv1 libuv1-dev libinih1 libinih-dev zlib1g zlib1g-dev pkgconf pkgconf-bin libpkgconf3"
    if [ "$with_blas" = 1 ]; then
        pkgs="$pkgs libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libgfortran5"
    fi
    (cd "$DEPS/debs" && apt-get download $pkgs) || return 1
    for f in "$DEPS"/debs/*.deb; do dpkg -x "$f" "$DEPS/root" || return 1; done
    rm -rf "$DEPS/debs"
    # Static archives, LAPACK and docs are not needed and would not fit the 64 MiB carry.
    find "$DEPS/root" \( -name '*.a' -o -name 'liblapack*' -o -name 'libblas*' \) -delete
    rm -rf "$DEPS/root/usr/share/doc" "$DEPS/root/usr/share/man"
    # Absolute symlinks (libz.so -> /lib/...) would point outside the tree: make them relative.
    local l t
    while IFS= read -r l; do
        t=$(readlink "$l")
        case $t in
        /*) [ -e "$DEPS/root$t" ] && ln -sfn "$(realpath --relative-to="$(dirname "$l")" "$DEPS/root$t")" "$l" ;;
        esac
    done < <(find "$DEPS/root" -type l)
    # Relocatable .pc files: every "=/usr/..." becomes relative to the .pc file's directory.
    local pc dir rel
    while IFS= read -r pc; do
        dir=$(dirname "$pc")
        rel=$(realpath --relative-to="$dir" "$DEPS/root/usr")
        sed -i -E "s#=/usr(/|\$)#=\${pcfiledir}/$rel\\1#g; s#([ =])-([IL])/usr/#\\1-\\2\${pcfiledir}/$rel/#g" "$pc"
    done < <(find "$DEPS/root" -name '*.pc')
    local fx
    fx=$(cd "$ROOT/../shared/fixtures" 2>/dev/null && pwd) || {
        echo "prepare: ../shared/fixtures not found" >&2
        return 1
    }
    cp "$fx/g170-b6c96-s175395328-d26788732.bin.gz" "$fx/katago-b6c96-rawnn-golden.json" \
        "$DEPS/fixtures/" || return 1
    du -sh "$DEPS"
    echo "prepare: done; run on the GPU machine with carry [\".deps\"]"
}

if [ "${1:-}" = "--prepare" ]; then
    blas=0
    [ "${2:-}" = "--with-openblas" ] && blas=1
    prepare $blas
    exit $?
fi

# ---- On the GPU machine ---------------------------------------------------------------------
OUT=${OUT:-$ROOT/build-gpu/out}
mkdir -p "$OUT"
BUILD=${BUILD:-$ROOT/build-gpu}
JOBS=${JOBS:-$(nproc)}
BENCH_SECONDS=${BENCH_SECONDS:-0.5}
BENCH_BATCHES=${BENCH_BATCHES:-"1 2 4 8 16 32 64 128 256"}
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
status=0

if [ ! -d "$DEPS/root" ]; then
    say "FAIL: $DEPS missing: run tools/gpu-verify.sh --prepare first and carry .deps"
    exit 1
fi
MULTI=x86_64-linux-gnu
export PKG_CONFIG_PATH="$DEPS/root/usr/lib/$MULTI/pkgconfig:$DEPS/root/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$DEPS/root/usr/lib/$MULTI:$DEPS/root/usr/lib/$MULTI/openblas-pthread:$DEPS/root/lib/$MULTI${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PKGCONF=$(command -v pkg-config || true)
[ -z "$PKGCONF" ] && PKGCONF=$DEPS/root/usr/bin/pkgconf

# cuDNN: the toolkit's, the system's, or the pip wheel's (nvidia-cudnn-cu13).
CUDNN_INC="" CUDNN_LIB=""
pip_cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
for d in ${CUDNN_ROOT:-} ${CUDA_HOME:-} /usr/local/cuda /usr $pip_cudnn; do
    [ -f "$d/include/cudnn.h" ] || continue
    for l in "$d"/lib64/libcudnn.so "$d"/lib/libcudnn.so "$d"/lib/$MULTI/libcudnn.so \
        "$d"/lib64/libcudnn.so.9 "$d"/lib/libcudnn.so.9 "$d"/lib/$MULTI/libcudnn.so.9; do
        if [ -e "$l" ]; then
            CUDNN_INC=$d/include CUDNN_LIB=$l
            break 2
        fi
    done
done
if [ -z "$CUDNN_LIB" ] && [ -f /usr/include/x86_64-linux-gnu/cudnn.h ]; then
    CUDNN_INC=/usr/include/x86_64-linux-gnu CUDNN_LIB=$(ls /usr/lib/$MULTI/libcudnn.so* | head -1)
fi
[ -n "$CUDNN_LIB" ] && export LD_LIBRARY_PATH="$(dirname "$CUDNN_LIB"):$LD_LIBRARY_PATH"
export PATH="/usr/local/cuda/bin:$PATH"

{
    echo "date: $(date -u)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    nvcc --version 2>&1 | tail -2
    cmake --version | head -1
    echo "cudnn: $CUDNN_INC $CUDNN_LIB"
    echo "pkg-config: $PKGCONF"
    uname -a
    nproc
} >"$OUT/env.txt" 2>&1
say "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"

# ---- Build ----------------------------------------------------------------------------------
TARGETS="tengen test_cuda_select test_cuda_host_emulation test_cuda_kernels test_cuda_forward test_cuda_golden test_cuda_golden_fp16"
TARGETS="$TARGETS test_cuda_train_emulation test_cuda_train_kernels test_cuda_train_curve"
ZLIB_ARGS=""
[ -f /usr/include/zlib.h ] || ZLIB_ARGS="-DZLIB_ROOT=$DEPS/root/usr"
{
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTENGEN_CUDA=ON $ZLIB_ARGS \
        -DPKG_CONFIG_EXECUTABLE="$PKGCONF" -DCUDNN_INCLUDE_DIR="$CUDNN_INC" \
        -DCUDNN_LIBRARY="$CUDNN_LIB" &&
        cmake --build "$BUILD" -j"$JOBS" --target $TARGETS
} >"$OUT/build.log" 2>&1
if [ $? -ne 0 ]; then
    say "FAIL: build (see build.log)"
    tail -40 "$OUT/build.log" >>"$SUMMARY"
    exit 1
fi
say "ok   build ($(grep -c -i 'warning' "$OUT/build.log") warning lines in build.log)"

# ---- Tests ------------------------------------------------------------------------------------
export TENGEN_FIXTURES=$DEPS/fixtures
: >"$OUT/tests.log"
for t in select host_emulation kernels forward golden golden_fp16 train_emulation train_kernels train_curve; do
    echo "=== cuda.$t" >>"$OUT/tests.log"
    (cd "$BUILD" && timeout 600 "./test_cuda_$t") >>"$OUT/tests.log" 2>&1
    rc=$?
    case $rc in
    0) say "ok   cuda.$t" ;;
    77)
        say "FAIL cuda.$t SKIPPED on a GPU machine"
        status=1
        ;;
    *)
        say "FAIL cuda.$t (exit $rc)"
        status=1
        ;;
    esac
done
grep -E "max\|diff\||nmse|^    [a-zA-Z]+ +[0-9.e-]+$|curve|mean loss|skipped steps" "$OUT/tests.log" >>"$SUMMARY"

# ---- Benches ----------------------------------------------------------------------------------
if [ "${SKIP_BENCH:-0}" != 1 ]; then
    NET=$DEPS/fixtures/g170-b6c96-s175395328-d26788732.bin.gz
    B=$OUT/bench_nn.txt
    : >"$B"
    for be in cuda cuda-fp16; do
        for size in 19 9; do
            for batch in $BENCH_BATCHES; do
                timeout 120 "$BUILD/tengen" bench nn --model "$NET" --backend $be \
                    --board-size $size --batch $batch --seconds "$BENCH_SECONDS" >>"$B" 2>&1 ||
                    echo "bench failed: $be $size $batch" >>"$B"
            done
        done
    done
    for batch in $BENCH_BATCHES; do # CUDA graphs, fp16, 19x19
        TENGEN_CUDA_GRAPHS=1 timeout 120 "$BUILD/tengen" bench nn --model "$NET" \
            --backend cuda-fp16 --board-size 19 --batch $batch --seconds "$BENCH_SECONDS" \
            >>"$B" 2>&1 || echo "bench failed: graphs $batch" >>"$B"
    done
    # Selfplay on the GPU: the evaluator takes its backend from TENGEN_NN_BACKEND.
    for be in cuda cuda-fp16; do
        TENGEN_NN_BACKEND=$be timeout 240 "$BUILD/tengen" bench selfplay --model "$NET" 2>&1 |
            sed "s/^bench=selfplay /bench=selfplay backend=$be /" >>"$OUT/bench_selfplay.txt"
    done
    # Training: CUDA trainer (fp32, fp16 with loss scaling, bf16), plus one CPU reference line.
    TB=$OUT/bench_train.txt
    : >"$TB"
    TS=${TRAIN_BENCH_SECONDS:-2}
    for model in b6c96 b10c128; do
        for batch in 128 256; do
            for prec in fp32 fp16 bf16; do
                timeout 120 "$BUILD/tengen" bench train --backend cuda --precision $prec \
                    --model-kind $model --batch $batch --seconds "$TS" >>"$TB" 2>&1 ||
                    echo "bench failed: train cuda $model $batch $prec" >>"$TB"
            done
        done
    done
    timeout 120 "$BUILD/tengen" bench train --backend cpu --model-kind b6c96 --batch 128 \
        --threads "$JOBS" --seconds "$TS" >>"$TB" 2>&1 || echo "bench failed: train cpu" >>"$TB"
    grep -h "^bench=" "$B" "$OUT/bench_selfplay.txt" "$TB" >>"$SUMMARY"
fi

say "status: $([ $status = 0 ] && echo PASS || echo FAIL)"
# Files in $OUT: summary.txt env.txt build.log tests.log bench_nn.txt bench_selfplay.txt
# bench_train.txt
exit $status
