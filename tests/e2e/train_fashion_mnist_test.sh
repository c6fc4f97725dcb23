#!/usr/bin/env bash
# ddp-train at 2 ranks on Fashion-MNIST by name (Debian's dataset-fashion-mnist, gzip IDX files),
# validated on its test set: an MLP takes the [n, 1, 28, 28] image batches and reaches
# MIN_ACCURACY in a few hundred steps (train_default_test.sh checks the run and its summary).
# Skipped (77) when the dataset is not installed, unless DDP_TEST_REQUIRE_DATASETS=1 (launch/test.sh
# installs it with launch/setup.sh --with-datasets and sets that as root).
# Usage: train_fashion_mnist_test.sh MPIEXEC DDP_TRAIN MIN_ACCURACY [FLAGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dataset="${DDP_DATASETS_DIR:-/usr/share/datasets}/fashion-mnist"
if [ ! -f "$dataset/train-images-idx3-ubyte.gz" ]; then
  why="Fashion-MNIST is not installed in $dataset (launch/setup.sh --with-datasets)"
  [ "${DDP_TEST_REQUIRE_DATASETS:-0}" = 1 ] && { echo "FAILED: $why"; exit 1; }
  echo "SKIPPED: $why"
  exit 77
fi
exec bash "$here/train_default_test.sh" "$@" --data fashion-mnist --val-data fashion-mnist:test
