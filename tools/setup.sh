#!/usr/bin/env bash
# setup.sh: the README's first command. On a fresh Debian machine: installs what tengen needs
# (apt packages by name), builds it (build/tengen), then runs the main job on the default config
# (tools/demo.sh). Options: --no-demo (install and build only), --no-install (build and demo only).
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    --no-install) install=0 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Build tools, the libraries tengen links, and what its tests and demo use.
PACKAGES=(build-essential cmake pkg-config libuv1-dev zlib1g-dev libinih-dev libopenblas-dev
          clang-format gnugo python3-numpy)

if [ "$install" = 1 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built $(build/tengen --version)"

if [ "$demo" = 1 ]; then
  bash tools/demo.sh config/default.ini
fi
