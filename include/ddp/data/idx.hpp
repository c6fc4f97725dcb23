// Reading the IDX format of MNIST (ubyte images and labels), refusing malformed or hostile files.
#pragma once

#include <cstdint>
#include <string>

#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {

// Images (magic 0x00000803, [n, rows, cols] bytes) become float32 [n, 1, rows, cols] in [0, 1]
// (one channel: the dataset's sample shape is {1, rows, cols}); labels (magic 0x00000801, [n]
// bytes) int64 in [0, class_count), or class_count 0 for the labels' maximum + 1. Either file may
// be gzip-compressed (recognised by its first bytes, not its name) and is then inflated as it is
// read. A plain file's size is checked against its header before anything is allocated; a gzip
// file's inflated data must match it as exactly. Problems are an InvalidArgument naming the file
// and the field: "train-images.idx3-ubyte: magic 0x00000802 is not an IDX image file (expected
// 0x00000803)", "t10k-images-idx3-ubyte.gz: corrupt gzip data (invalid stored block lengths)".
TensorDataset load_idx(const std::string& images_path, const std::string& labels_path,
                       std::int64_t class_count = 10);

}  // namespace ddp::data
