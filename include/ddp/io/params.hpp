// A model's weights in a file, to and from PyTorch: safetensors (a FILE.safetensors path) holds
// the state_dict, parameters and buffers by name; any other path is raw little-endian float32,
// the parameters concatenated in parameters() order (numpy's tofile over PyTorch's
// parameters()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ddp/nn/module.hpp"

namespace ddp::io {

// Whether path names a safetensors file (ends in .safetensors), which export_model and
// import_model then read and write; every other path is the raw format.
bool is_safetensors_path(const std::string& path);

// Writes model's weights to path in the format its name says; metadata goes into a safetensors
// header's "__metadata__" (with "format": "pt", which PyTorch's loaders expect).
void export_model(nn::Module& model, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});
// Reads path into model's parameters and buffers, in place, as load_state_dict(strict=True):
// every tensor of the state_dict must be in the file under its name (a tied parameter under any
// of its names, tied_names()), with its dtype and shape, and nothing else may be. Otherwise an
// InvalidArgument naming the file and the first tensor at fault, with nothing loaded.
void import_model(nn::Module& model, const std::string& path);

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
