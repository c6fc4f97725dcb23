#!/usr/bin/env bash
# run_on_device.sh pack with a file missing (Open MPI's launcher, as on an Open MPI without orterun)
# must fail and write no bundle: a bundle without mpirun once got through. With the file there, the
# same packing succeeds and the bundle holds mpirun, so the failure was the missing file's.
# Usage: run_on_device_pack_test.sh RUN_ON_DEVICE_SH. Needs no GPU: the build is a stand-in.
set -uo pipefail
script=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*"
  sed 's/^/  pack: /' "$work/log" 2>/dev/null
  exit 1
}

build=$work/build
for program in tests/gpu/ddp_gpu_tests tests/gpu/ddp_gpu_comm_tests tests/unit/ddp_unit_tests \
  tests/e2e/ddp_compare_params src/apps/ddp-train; do
  mkdir -p "$(dirname "$build/$program")"
  printf '#!/bin/sh\n' >"$build/$program"
  chmod +x "$build/$program"
done
printf '#!/bin/sh\necho cuda_built=1\n' >"$build/tests/gpu/ddp_cuda_probe"
chmod +x "$build/tests/gpu/ddp_cuda_probe"

# An Open MPI whose folders ompi_info names, its launcher missing.
mkdir -p "$work/ompi/bin" "$work/ompi/lib" "$work/ompi/share" "$work/ompi/etc" "$work/fake_bin"
printf '#!/bin/sh\n' >"$work/ompi/bin/orted"
cat >"$work/fake_bin/ompi_info" <<INFO
#!/bin/sh
# ompi_info --path NAME --parsable
case "\$2" in bindir) d=bin ;; pkglibdir) d=lib ;; pkgdatadir) d=share ;; *) d=etc ;; esac
echo "path:\$2:$work/ompi/\$d"
INFO
chmod +x "$work/fake_bin/ompi_info"

bundle=$work/out/ddp-gpu.tar.xz
pack() {
  PATH=$work/fake_bin:$PATH DDP_GPU_BUNDLE=$bundle bash "$script" pack "$build" >"$work/log" 2>&1
}

pack && fail "pack exited 0 without Open MPI's orterun"
[ -e "$bundle" ] && fail "pack wrote $bundle without Open MPI's orterun"
[ -e "$bundle.partial" ] && fail "pack left $bundle.partial behind"

printf '#!/bin/sh\n' >"$work/ompi/bin/orterun"
pack || fail "pack failed with every file present"
listing=$(tar -tJf "$bundle") || fail "the bundle is no xz tar"
grep -qx 'ddp-gpu/bin/mpirun' <<<"$listing" || fail "the bundle has no bin/mpirun"
echo "PASS: a missing file fails the packing; with it there the bundle holds mpirun"
