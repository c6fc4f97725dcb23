#!/usr/bin/env bash
# Installs the built ddp into a scratch prefix, builds a separate project against it with
# find_package(ddp), and runs that project at 2 ranks.
set -euo pipefail
build_dir=$1 source_dir=$2 mpiexec=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/build" >/dev/null
output=$(LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$mpiexec" -n 2 "$scratch/build/consumer")
echo "$output"
[ "$output" = "sum 3" ] || { echo "FAILED: expected 'sum 3'"; exit 1; }
echo "PASSED"
