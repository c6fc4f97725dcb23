#!/usr/bin/env bash
# Installs what ddp needs from Debian's apt, only what is missing; does nothing when all is present.
# --with-pytorch adds Debian's PyTorch and numpy for the tests that take PyTorch as their oracle
# (tests/pytorch, run by launch/test.sh): they are never a dependency of the library.
# --with-datasets adds Debian's dataset-fashion-mnist, which ddp-train reads as --data fashion-mnist,
# and fortunes, a text corpus of about 2.5 MB, read as --data text:fortunes.
# Usage: launch/setup.sh [--with-slurm] [--with-plots] [--with-pytorch] [--with-datasets]
set -euo pipefail

packages=(cmake make g++ pkg-config openmpi-bin libopenmpi-dev libboost-program-options-dev
          libopenblas-dev zlib1g-dev libgtest-dev googletest libbenchmark-dev clang libclang-rt-dev)
for arg in "$@"; do
  case "$arg" in
    --with-slurm) packages+=(slurm-wlm) ;;
    --with-plots) packages+=(gnuplot-nox) ;;
    --with-pytorch) packages+=(python3-torch python3-numpy) ;;
    --with-datasets) packages+=(dataset-fashion-mnist fortunes) ;;
    *) echo "setup.sh: unknown option '$arg'; use --with-slurm, --with-plots, --with-pytorch or" \
            "--with-datasets" >&2
       exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: no apt-get here; install by hand: a C++20 compiler, CMake >= 3.25, Open MPI," \
       "Boost.Program_options, OpenBLAS (with cblas.h), zlib, GoogleTest, Google Benchmark," \
       "clang with libFuzzer (for tests/fuzz)" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "setup.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
