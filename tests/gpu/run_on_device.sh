#!/usr/bin/env bash
# The GPU tests on a machine with a GPU but without ddp's build dependencies (the device machine a
# session may be lent: CUDA driver, no Open MPI, no Boost, no OpenBLAS, nothing to fetch them from).
#
# Here, after building with CUDA (cmake -B build-cuda; cmake --build build-cuda):
#   tests/gpu/run_on_device.sh pack [BUILD_DIR]     (BUILD_DIR defaults to build-cuda)
# writes build-gpu-bundle/ddp-gpu.tar.xz (ignored by git, as every build-* folder; $DDP_GPU_BUNDLE
# names another file), or fails, writing nothing, when any file it packs is missing: the test
# programs, libddp and the shared libraries a bare machine lacks, with Open MPI's launcher, daemon
# and components so that ddp-train runs under mpirun there too. The C and C++ runtimes stay behind:
# the GPU machine's own are newer.
#
# cuBLAS and NCCL stay behind too (800 MB): the GPU machine has them, with its CUDA toolkit or
# PyTorch's pip packages, and run finds them there.
#
# There, through the device tool, carrying build-gpu-bundle:
#   bash tests/gpu/run_on_device.sh                  (or: ... run)
# unpacks the bundle under /tmp, prints the GPU and what ddp sees of it, runs the GPU tests, the
# unit tests, ddp-train's device test and its GPU-equals-CPU test, and prints one PASSED/FAILED
# line each and a summary. Exit status 0 when all passed. With $OUT set, the gtest XML reports are
# written there.
#   bash tests/gpu/run_on_device.sh bench [ARGS...]
# runs benchmarks/compare_pytorch_gpu.py (ARGS passed on) against the bundle's ddp-train, with the
# table also in $OUT/compare_pytorch_gpu.csv.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bundle_file=${DDP_GPU_BUNDLE:-$root/build-gpu-bundle/ddp-gpu.tar.xz}
mode=${1:-run}

pack() {
  # Any failed step ends the packing: a bundle without mpirun once got through.
  set -e
  local build=${1:-$root/build-cuda}
  local programs=(tests/gpu/ddp_gpu_tests tests/gpu/ddp_gpu_comm_tests tests/gpu/ddp_cuda_probe
                  tests/unit/ddp_unit_tests tests/e2e/ddp_compare_params src/apps/ddp-train)
  # Global, for the trap: gone with the script, whichever way it ends.
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  local b=$staging/ddp-gpu
  mkdir -p "$b/bin" "$b/lib" "$b/openmpi" "$b/pmix"
  grep -q '^cuda_built=1' <("$build/tests/gpu/ddp_cuda_probe") ||
    { echo "$build is not a build with CUDA (see its 'ddp: CUDA' configure line)"; exit 1; }
  for program in "${programs[@]}"; do
    [ -x "$build/$program" ] || { echo "missing $build/$program: build it first"; exit 1; }
    cp "$build/$program" "$b/bin/"
  done

  # Open MPI's folders as this installation reports them (Debian's layout is its own).
  local ompi_bindir ompi_pkglibdir ompi_pkgdatadir ompi_sysconfdir pmix_libdir
  ompi_bindir=$(ompi_info --path bindir --parsable | cut -d: -f3-)
  ompi_pkglibdir=$(ompi_info --path pkglibdir --parsable | cut -d: -f3-)
  ompi_pkgdatadir=$(ompi_info --path pkgdatadir --parsable | cut -d: -f3-)
  ompi_sysconfdir=$(ompi_info --path sysconfdir --parsable | cut -d: -f3-)
  cp -L "$ompi_bindir/orterun" "$b/bin/mpirun"
  cp -L "$ompi_bindir/orted" "$b/bin/"
  cp -rL "$ompi_pkglibdir" "$b/openmpi/components"
  cp -rL "$ompi_pkgdatadir" "$b/openmpi/share"
  cp -rL "$ompi_sysconfdir" "$b/openmpi/etc"
  # PMIx, when Open MPI uses an external one: its library, components and help texts.
  pmix_libdir=$({ ldd "$ompi_pkglibdir"/mca_pmix_ext*.so 2>/dev/null || true; } |
                awk '/libpmix/ {print $3}' | head -n 1 | xargs -r readlink -f | xargs -r dirname)
  if [ -n "$pmix_libdir" ]; then
    cp -rL "$pmix_libdir/pmix" "$b/pmix/components"
    if [ -d "$pmix_libdir/../share/pmix" ]; then
      cp -rL "$pmix_libdir/../share/pmix" "$b/pmix/share"
    fi
  fi

  # Every library the programs and components load, but the C and C++ runtimes, CUDA's driver,
  # cuBLAS and NCCL.
  # ldd fails on scripts and grep on an empty list; a failed copy still fails the pipeline.
  { find "$b/bin" "$b/openmpi/components" "$b/pmix" -type f -exec ldd {} + 2>/dev/null || true; } |
    awk '/=> \// {print $3}' | sort -u |
    { grep -vE '/(libc|libm|libpthread|libdl|librt|libutil|libresolv|libgcc_s|libstdc\+\+|libcuda|libcublas|libcublasLt|libnccl|ld-linux[^/]*)\.so' || true; } |
    xargs -r cp -L -t "$b/lib/"
  # Whatever strip cannot read (a script) stays as it is.
  strip --strip-unneeded "$b"/bin/ddp* "$b"/lib/*.so* 2>/dev/null || true
  mkdir -p "$(dirname "$bundle_file")"
  # Written whole or not at all: a partial archive must not look like a bundle.
  tar -C "$staging" -cJf "$bundle_file.partial" ddp-gpu
  mv "$bundle_file.partial" "$bundle_file"
  echo "wrote $bundle_file ($(du -h "$bundle_file" | cut -f1)); carry build-gpu-bundle"
}

# The folders of this machine's cuBLAS and NCCL: its CUDA toolkit's, else PyTorch's pip packages'.
gpu_library_dirs() {
  local roots=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets)
  mapfile -t -O "${#roots[@]}" roots < \
    <(python3 -c 'import site; print(*site.getsitepackages(), sep="\n")' 2>/dev/null)
  local lib
  for lib in libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do
    find "${roots[@]}" -name "$lib" 2>/dev/null | head -n 1 | xargs -r dirname
  done | awk '!seen[$0]++' | paste -sd:
}

b=/tmp/ddp-gpu
# Unpacks the bundle and points the programs, Open MPI and PMIx at it.
unpack() {
  [ -f "$bundle_file" ] || { echo "no $bundle_file: run '$0 pack' where ddp was built"; exit 1; }
  rm -rf "$b"
  tar -C /tmp -xJf "$bundle_file"
  local gpu_libs
  gpu_libs=$(gpu_library_dirs)
  echo "cuBLAS and NCCL from: ${gpu_libs:-(not found)}"
  export PATH=$b/bin:$PATH
  # For ddp's programs and Open MPI only, set where they run (with_bundle_libraries): the bundle's
  # libraries (an older libgomp, libz, ...) would shadow a Python worker's own, PyTorch's among them.
  bundle_library_path=$b/lib${gpu_libs:+:$gpu_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # Open MPI and PMIx read their install folders from these, instead of the paths built in.
  export OPAL_PREFIX=$b/openmpi OPAL_BINDIR=$b/bin OPAL_LIBDIR=$b/lib
  export OPAL_PKGLIBDIR=$b/openmpi/components OPAL_PKGDATADIR=$b/openmpi/share
  export OPAL_SYSCONFDIR=$b/openmpi/etc
  export OMPI_MCA_mca_base_component_path=$b/openmpi/components
  export PMIX_MCA_mca_base_component_path=$b/pmix/components PMIX_INSTALL_PREFIX=$b/pmix
  # Components for fabrics this machine lacks (InfiniBand, UCX) fail to load, harmlessly.
  export OMPI_MCA_mca_base_component_show_load_errors=0 PMIX_MCA_mca_base_component_show_load_errors=0
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  # A sandboxed machine (gVisor) refuses the cross-process memory access (CMA) that Open MPI's
  # shared-memory transport copies with by default; plain copies through its segment always work.
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
  export DDP_TIMEOUT_SECONDS=60
}

# Runs a program of the bundle (or mpirun, or a test script that starts them) with its libraries.
with_bundle_libraries() {
  LD_LIBRARY_PATH=$bundle_library_path "$@"
}

# ddp-train as a program of its own, for Python to start without the bundle's libraries in its
# own environment.
write_ddp_train_launcher() {
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$bundle_library_path" "$b/bin/ddp-train" \
    >"$b/bin/ddp-train-bundled"
  chmod +x "$b/bin/ddp-train-bundled"
}

run() {
  unpack
  local reports=${OUT:-/tmp}

  echo "== machine"
  nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
  with_bundle_libraries ddp_cuda_probe
  local passed=() failed=()
  check() {
    local name=$1
    shift
    echo "== $name"
    if with_bundle_libraries "$@"; then passed+=("$name"); else failed+=("$name"); fi
  }
  # A GPU that the driver lists but ddp cannot use would make every GPU test skip, and pass.
  gpu_visible() {
    local listed
    listed=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
    [ "$listed" -eq 0 ] || ddp_cuda_probe | grep -q '^cuda_devices=[1-9]'
  }
  check gpu_visible gpu_visible
  check gpu_tests ddp_gpu_tests --gtest_output="xml:$reports/gpu_tests.xml"
  # NCCL at one rank; the MPI backend's staging at 1 and 2 ranks on one GPU (NCCL skips there).
  check gpu_comm_np1 mpirun -np 1 ddp_gpu_comm_tests --gtest_output="xml:$reports/gpu_comm_np1.xml"
  check gpu_comm_np2 mpirun -np 2 ddp_gpu_comm_tests
  check unit_tests ddp_unit_tests --gtest_brief=1 --gtest_output="xml:$reports/unit_tests.xml"
  check train_device bash "$root/tests/gpu/train_device_test.sh" mpirun "$b/bin/ddp-train" \
    "$b/bin/ddp_cuda_probe"
  check train_equivalence bash "$root/tests/gpu/train_gpu_equivalence_test.sh" mpirun \
    "$b/bin/ddp-train" "$b/bin/ddp_cuda_probe" "$b/bin/ddp_compare_params"
  echo "== summary"
  for name in "${passed[@]}"; do echo "PASSED $name"; done
  for name in "${failed[@]}"; do echo "FAILED $name"; done
  grep -ho 'tests="[0-9]*" failures="[0-9]*" disabled="[0-9]*" errors="[0-9]*"' \
    "$reports/gpu_tests.xml" 2>/dev/null | head -n 1 | sed 's/^/gpu_tests: /'
  grep -c '<skipped' "$reports/gpu_tests.xml" 2>/dev/null | sed 's/^/gpu_tests skipped: /'
  [ "${#failed[@]}" -eq 0 ]
}

bench() {
  unpack
  write_ddp_train_launcher
  nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
  python3 "$root/benchmarks/compare_pytorch_gpu.py" --ddp-train "$b/bin/ddp-train-bundled" \
    --csv "${OUT:-/tmp}/compare_pytorch_gpu.csv" "$@"
}

case $mode in
  pack) shift; pack "$@" ;;
  run) run ;;
  bench) shift; bench "$@" ;;
  *) echo "usage: $0 pack [BUILD_DIR] | run | bench [ARGS...]"; exit 2 ;;
esac
