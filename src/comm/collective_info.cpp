#include "collective_info.hpp"

namespace ddp::comm {

std::string describe(const CollectiveInfo& info) {
  std::string text = std::string(info.name) + " #" + std::to_string(info.sequence);
  if (info.count == 0 && info.root < 0) return text;  // a barrier: no data to name
  text += " (" + std::to_string(info.bytes()) + " bytes of " + to_string(info.dtype);
  if (info.root >= 0) text += ", root " + std::to_string(info.root);
  return text + ")";
}

}  // namespace ddp::comm
