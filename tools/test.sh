#!/usr/bin/env bash
# test.sh: the README's second command: the whole test suite, twice: a Release build with
# warnings as errors, and a Debug build under AddressSanitizer + UndefinedBehaviorSanitizer.
# Also checks formatting. Exits non-zero if anything fails. Options: --quick (Release only).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

echo "== format check (clang-format)"
if command -v clang-format >/dev/null; then
  files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 2>/dev/null || true)
  [ -z "$files" ] || clang-format --dry-run --Werror $files
else
  echo "clang-format not installed; skipped"
fi

echo "== Release build + tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTENGEN_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

if [ "$quick" = 0 ]; then
  echo "== ASan+UBSan build + tests"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTENGEN_SANITIZE=address,undefined \
        -DTENGEN_WERROR=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -LE slow)
fi
echo "== all tests passed"
