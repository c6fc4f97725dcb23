// Reading the IDX format of MNIST (ubyte images and labels), refusing malformed or hostile files.
#pragma once

#include <cstdint>
#include <string>

#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {

// Images (magic 0x00000803, [n, rows, cols] bytes) become float32 [n, rows * cols] in [0, 1];
// labels (magic 0x00000801, [n] bytes) int64 in [0, class_count). The file sizes are checked
// against their headers before anything is allocated. Problems are an InvalidArgument naming the
// file and the field: "train-images.idx3-ubyte: magic 0x00000802 is not an IDX image file (expected
// 0x00000803)".
TensorDataset load_idx(const std::string& images_path, const std::string& labels_path,
                       std::int64_t class_count = 10);

}  // namespace ddp::data
