#!/usr/bin/env bash
# Runs one of the tests that take PyTorch as the oracle: PYTHON SCRIPT ARGS, where PYTHON is
# Debian's /usr/bin/python3 with python3-torch and python3-numpy (not a pyenv python3 on PATH).
# When PYTHON cannot import torch and numpy it exits 77, which ctest reports as skipped, unless
# DDP_TEST_REQUIRE_PYTORCH=1 (launch/test.sh, which installs them) makes that a failure.
# Usage: run_test.sh PYTHON SCRIPT [ARGS...]
set -uo pipefail
python=$1
shift
if ! why=$("$python" -c "import torch, numpy" 2>&1); then
  why="$python cannot import torch and numpy (${why##*$'\n'});"
  why+=" install them with launch/setup.sh --with-pytorch"
  [ "${DDP_TEST_REQUIRE_PYTORCH:-0}" = 1 ] && { echo "FAILED: $why"; exit 1; }
  echo "SKIPPED: $why"
  exit 77
fi
exec "$python" "$@"
