#!/usr/bin/env bash
# The README's first command: installs what is missing, builds ddp, and trains the default model
# at 2 ranks (arguments are passed to ddp-train).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/build.sh" "$root/build"
"$root/launch/ddp-mpirun" -n 2 "$root/build/src/apps/ddp-train" "$@"
