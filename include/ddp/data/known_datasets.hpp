// Datasets known by name, read from where their Debian packages install them: "fashion-mnist" is
// dataset-fashion-mnist's four .gz IDX files under /usr/share/datasets/fashion-mnist; the text
// "fortunes" is package fortunes' files under /usr/share/games/fortunes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ddp::data {

// The folder that holds the named datasets' folders: DDP_DATASETS_DIR when set (tests point it
// at a folder of their own), else /usr/share/datasets.
std::string datasets_dir();

struct IdxPaths {
  std::string images;
  std::string labels;
};

// name: "fashion-mnist" or "fashion-mnist:train" (60000 images), "fashion-mnist:test" (10000).
// Nothing when name is no known dataset. A known one whose files are missing, or an unknown part
// ("fashion-mnist:valid"), is an InvalidArgument saying what to do: "... install it with
// launch/setup.sh --with-datasets".
std::optional<IdxPaths> find_known_dataset(const std::string& name);

// The folder of the fortune files: DDP_FORTUNES_DIR when set, else /usr/share/games/fortunes.
std::string fortunes_dir();

// name: "fortunes": its text files in name order (the fortune files themselves: not the .dat
// indexes, nor the .u8 links to the same files). Nothing when name is no known text. An
// InvalidArgument saying how to install it when the folder holds none.
std::optional<std::vector<std::string>> find_known_text(const std::string& name);

}  // namespace ddp::data
