// Whether GEMMs on CUDA tensors may use TF32 tensor cores: inputs rounded to 10 mantissa bits,
// several times the fp32 throughput on Ampere and later. Off by default, so a CUDA GEMM is exact
// fp32 like the CPU's; one setting for the whole process (CPU GEMMs ignore it).
#pragma once

namespace ddp::kernels {

void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace ddp::kernels
