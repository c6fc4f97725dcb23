#!/usr/bin/env bash
# Installs what is missing, then configures and builds ddp (Release, warnings as errors).
# Usage: launch/build.sh [BUILD_DIR] [extra cmake arguments...]   (BUILD_DIR defaults to build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
shift || true
"$root/launch/setup.sh"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DDDP_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
