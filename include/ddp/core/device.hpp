// Where a tensor's storage lives: the CPU, or one CUDA device by index.
#pragma once

#include <string>

namespace ddp {

struct Device {
  enum class Kind { cpu, cuda };

  Kind kind = Kind::cpu;
  int index = 0;  // the CUDA device ordinal; always 0 for the CPU

  static Device cpu() { return {}; }
  static Device cuda(int index) { return {Kind::cuda, index}; }

  bool is_cpu() const { return kind == Kind::cpu; }
  bool is_cuda() const { return kind == Kind::cuda; }
  bool operator==(const Device&) const = default;
};

// "cpu" or "cuda:1".
std::string to_string(const Device& device);

}  // namespace ddp
