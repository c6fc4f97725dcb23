#include "ddp/models/registry.hpp"

#include <map>

#include "ddp/core/error.hpp"

namespace ddp::models {
namespace {

// A function-local static: families register from static initializers of other files, which
// may run before this file's.
std::map<std::string, std::unique_ptr<ModelFamily>>& families() {
  static std::map<std::string, std::unique_ptr<ModelFamily>> registry;
  return registry;
}

std::string joined_usages() {
  std::string text;
  for (const std::string& usage : family_usages()) text += (text.empty() ? "" : "; ") + usage;
  return text;
}

}  // namespace

bool register_family(std::unique_ptr<ModelFamily> family) {
  DDP_CHECK(family != nullptr, "register_family got no family");
  std::string name = family->name();
  DDP_CHECK(families().emplace(name, std::move(family)).second,
            "two model families are named '" << name << "'");
  return true;
}

Model build_model(const std::string& spec, const BuildOptions& options) {
  const std::size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  auto found = families().find(name);
  DDP_CHECK_OPTION(found != families().end(), "model", spec,
                   "no model family is named '" << name << "'; use " << joined_usages());
  const std::string arguments = colon == std::string::npos ? "" : spec.substr(colon + 1);
  return found->second->build(spec, arguments, options);
}

std::vector<std::string> family_usages() {
  std::vector<std::string> usages;
  for (const auto& [name, family] : families()) usages.push_back(family->usage());
  return usages;
}

}  // namespace ddp::models
