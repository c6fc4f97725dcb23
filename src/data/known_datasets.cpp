#include "ddp/data/known_datasets.hpp"

#include <algorithm>
#include <filesystem>

#include "ddp/core/env.hpp"
#include "ddp/core/error.hpp"

namespace ddp::data {

std::string datasets_dir() {
  return env::get_string("DDP_DATASETS_DIR", "/usr/share/datasets");
}

std::optional<IdxPaths> find_known_dataset(const std::string& name) {
  const std::string family = name.substr(0, name.find(':'));
  if (family != "fashion-mnist") return std::nullopt;
  const std::string part = name.size() > family.size() ? name.substr(family.size() + 1) : "train";
  // The names the files have upstream, and in Debian's package.
  const std::string prefix = part == "train" ? "train" : part == "test" ? "t10k" : "";
  DDP_CHECK_ARG(!prefix.empty(), "dataset '" << name << "': '" << part << "' is not a part of "
                                             << family << "; use " << family << ":train or "
                                             << family << ":test");
  const std::filesystem::path folder = std::filesystem::path(datasets_dir()) / family;
  IdxPaths paths{(folder / (prefix + "-images-idx3-ubyte.gz")).string(),
                 (folder / (prefix + "-labels-idx1-ubyte.gz")).string()};
  for (const std::string& path : {paths.images, paths.labels}) {
    DDP_CHECK_ARG(std::filesystem::exists(path),
                  "dataset '" << name << "' is not installed (no " << path
                              << "); install it with launch/setup.sh --with-datasets (Debian's "
                                 "dataset-fashion-mnist)");
  }
  return paths;
}

std::string fortunes_dir() {
  return env::get_string("DDP_FORTUNES_DIR", "/usr/share/games/fortunes");
}

std::optional<std::vector<std::string>> find_known_text(const std::string& name) {
  if (name != "fortunes") return std::nullopt;
  const std::filesystem::path folder = fortunes_dir();
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::filesystem::path& path = entry.path();
    // Regular files, not links: the .u8 names link to the same text.
    if (!entry.is_symlink() && entry.is_regular_file() && path.extension() != ".dat" &&
        path.extension() != ".u8") {
      files.push_back(path.string());
    }
  }
  DDP_CHECK_ARG(!files.empty(), "text '" << name << "' is not installed (no fortune files in "
                                         << folder.string()
                                         << "); install it with launch/setup.sh --with-datasets "
                                            "(Debian's fortunes)");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ddp::data
