#include "ddp/io/params.hpp"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ddp/core/error.hpp"
#include "ddp/io/safetensors.hpp"

namespace ddp::io {

// The file format is little-endian; on such a host the bytes are the floats' own.
static_assert(std::endian::native == std::endian::little,
              "parameter files are little-endian; a big-endian host needs a byte swap here");

std::int64_t parameter_bytes(const std::vector<nn::Parameter*>& params) {
  std::int64_t total = 0;
  for (const nn::Parameter* param : params) {
    DDP_CHECK(param->value.dtype() == DType::float32,
              "parameter '" << param->name << "' is " << to_string(param->value.dtype())
                            << "; the parameter file holds float32 only");
    total += static_cast<std::int64_t>(param->value.nbytes());
  }
  return total;
}

void export_parameters(const std::vector<nn::Parameter*>& params, const std::string& path) {
  parameter_bytes(params);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DDP_CHECK(out.good(), "cannot open '" << path << "' for writing the parameters ("
                                        << std::strerror(errno) << ")");
  for (const nn::Parameter* param : params) {
    const Tensor host = param->value.to(Device::cpu());  // itself for CPU parameters
    out.write(static_cast<const char*>(host.data_ptr()),
              static_cast<std::streamsize>(host.nbytes()));
  }
  out.close();
  DDP_CHECK(out.good(), "writing the parameters to '" << path << "' failed (disk full?)");
}

std::string export_obstacle(const std::string& path) {
  const std::filesystem::path file(path);
  if (std::filesystem::is_directory(file)) return "it is a folder";
  const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : ".";
  if (!std::filesystem::is_directory(folder)) return "no folder " + folder.string();
  if (::access(folder.c_str(), W_OK | X_OK) != 0) return std::strerror(errno);
  return "";
}

void import_parameters(const std::vector<nn::Parameter*>& params, const std::string& path) {
  const std::int64_t expected = parameter_bytes(params);
  DDP_CHECK_ARG(!std::filesystem::is_directory(path),
                "parameter file '" << path << "' is a folder; give the file export wrote");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  DDP_CHECK_ARG(in.good(),
                "cannot open parameter file '" << path << "' (" << std::strerror(errno) << ")");
  const std::int64_t actual = static_cast<std::int64_t>(in.tellg());
  DDP_CHECK_ARG(actual == expected, "parameter file '"
                                        << path << "' has " << actual << " bytes but the model's "
                                        << expected / 4 << " parameters (" << params.size()
                                        << " tensors) need " << expected
                                        << "; it was exported from another architecture");
  in.seekg(0);
  for (nn::Parameter* param : params) {
    Tensor host = param->value.to(Device::cpu());  // itself for CPU parameters
    in.read(static_cast<char*>(host.data_ptr()), static_cast<std::streamsize>(host.nbytes()));
    param->value.copy_(host);
  }
  DDP_CHECK_ARG(in.good(), "reading the parameters from '" << path << "' failed");
}

bool is_safetensors_path(const std::string& path) {
  return std::filesystem::path(path).extension() == ".safetensors";
}

void export_model(nn::Module& model, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
  if (!is_safetensors_path(path)) return export_parameters(model.parameters(), path);
  std::map<std::string, std::string> header = metadata;
  header.emplace("format", "pt");
  write_safetensors(path, model.state_dict(), header);
}

void import_model(nn::Module& model, const std::string& path) {
  if (!is_safetensors_path(path)) return import_parameters(model.parameters(), path);
  const SafetensorsContents file = read_safetensors(path);
  std::map<std::string, const Tensor*> by_name;
  for (const NamedTensor& named : file.tensors) by_name.emplace(named.name, &named.tensor);
  const std::vector<NamedTensor> state = model.state_dict();
  std::map<std::string, std::vector<std::string>> other_names;  // canonical -> its tied names
  for (const auto& [alias, name] : model.tied_names()) other_names[name].push_back(alias);

  // Checked whole before anything is copied, so that a refused file leaves the model as it was.
  std::vector<const Tensor*> sources;
  std::map<std::string, bool> used;
  for (const NamedTensor& named : state) {
    std::vector<std::string> names{named.name};
    for (const std::string& alias : other_names[named.name]) names.push_back(alias);
    const Tensor* source = nullptr;
    for (const std::string& name : names) {
      auto found = by_name.find(name);
      if (found == by_name.end()) continue;
      used[name] = true;
      const Tensor& tensor = *found->second;
      DDP_CHECK_ARG(
          tensor.dtype() == named.tensor.dtype() && tensor.shape() == named.tensor.shape(),
          path << ": tensor '" << name << "' is " << to_string(tensor.dtype())
               << to_string(tensor.shape()) << " there but " << to_string(named.tensor.dtype())
               << to_string(named.tensor.shape())
               << " in this model; the file holds another architecture");
      if (source == nullptr) source = &tensor;
    }
    DDP_CHECK_ARG(source != nullptr, path << ": tensor '" << named.name
                                          << "' of this model is not in the file ("
                                          << file.tensors.size() << " tensors, " << state.size()
                                          << " in the model); the file holds another "
                                             "architecture");
    sources.push_back(source);
  }
  for (const NamedTensor& named : file.tensors) {
    DDP_CHECK_ARG(used.count(named.name) != 0,
                  path << ": tensor '" << named.name
                       << "' is not in this model; the file holds another architecture");
  }
  for (std::size_t i = 0; i < state.size(); ++i) {
    Tensor target = state[i].tensor;
    target.copy_(*sources[i]);
  }
}

}  // namespace ddp::io
