// Parameter export and import as raw little-endian float32, concatenated in parameters() order:
// the layout of numpy's tofile over PyTorch's parameters(), so weights move between the two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ddp/nn/module.hpp"

namespace ddp::io {

// The bytes export writes: 4 per element of every parameter.
std::int64_t parameter_bytes(const std::vector<nn::Parameter*>& params);

// Writes every parameter's value, each row-major (a Linear's weight [out, in] then its bias).
void export_parameters(const std::vector<nn::Parameter*>& params, const std::string& path);
// Why export_parameters could not write path ("" when it can: a writable folder, no folder of
// that name), checked without writing anything: before a run that ends with the export.
std::string export_obstacle(const std::string& path);

// Reads what export_parameters (or torch's tofile) wrote into the parameters' values, in place;
// an InvalidArgument when the file cannot be read or its size is not exactly parameter_bytes
// (another architecture).
void import_parameters(const std::vector<nn::Parameter*>& params, const std::string& path);

}  // namespace ddp::io
