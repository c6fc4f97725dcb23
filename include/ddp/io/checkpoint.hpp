// Training checkpoints: a versioned, checksummed file of model, optimizer, position and RNG state,
// written atomically, kept newest-K in one folder, and read by a parser that trusts no byte.
//
// File format, version 1 (every integer little-endian):
//   magic "DDPCKPT\0" (8 bytes), u32 format version, u64 body size,
//   body: records up to its end, each u8 kind, u32 name length, name bytes, then by kind:
//     1 integer : i64                         ("step", "epoch", "next_batch", each exactly once)
//     2 metadata: u32 length, value bytes
//     3 tensor  : u8 section (0 model, 1 optimizer, 2 extra), u8 dtype (1 float32, 2 float64,
//                 3 int32, 4 int64, 5 bfloat16, 6 float16), u8 rank, i64 shape[rank], the data
//                 row-major; tensors keep their order within a section
//   u32 CRC-32C (Castagnoli) of every byte before it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/optim/optimizer.hpp"

namespace ddp::io {

// A checkpoint file that cannot be written or is not a usable checkpoint (unreadable, truncated,
// corrupt, another format version); the message starts with the file's path.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// Everything a run needs to continue where it stopped. Tensors must be defined CPU tensors.
struct Checkpoint {
  std::int64_t step = 0;        // optimizer steps taken
  std::int64_t epoch = 0;       // sampler position: the epoch being read ...
  std::int64_t next_batch = 0;  // ... and the next global batch in it
  // Free-form description, e.g. "model" = "mlp:784,128,10", "optimizer" = "sgd", "world_size" =
  // "2".
  std::map<std::string, std::string> metadata;
  std::vector<NamedTensor> model;      // Module::state_dict(): parameters and buffers
  std::vector<NamedTensor> optimizer;  // Optimizer::state()
  std::vector<NamedTensor> extra;      // anything else, e.g. generator_state() tensors
};

// The whole file's bytes.
std::vector<std::uint8_t> serialize(const Checkpoint& checkpoint);

// Parses a whole file's bytes; origin (the file's path) starts every error message. Checks the
// size, magic, version and checksum, then every count and shape against the bytes left before
// allocating anything, so hostile bytes give a CheckpointError, never a crash. The fuzzing entry;
// a harness that re-seals its input with a correct size and CRC reaches the record parser.
Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& origin);

// Writes file.tmp.<pid> in file's folder, fsyncs it, renames it over file and fsyncs the folder, so
// a crash at any point leaves the previous file whole. On failure: CheckpointError naming the
// folder and the system's reason, with the temporary file removed.
void write_checkpoint_file(const Checkpoint& checkpoint, const std::filesystem::path& file);
// parse_checkpoint of the file's bytes; CheckpointError also when it cannot be read.
Checkpoint read_checkpoint_file(const std::filesystem::path& file);

// A checkpoint read back by CheckpointDirectory::load_newest.
struct LoadedCheckpoint {
  std::filesystem::path file;  // which one it was
  Checkpoint checkpoint;
};

// The checkpoints of one run: checkpoint-<step, 10 digits>.ddpckpt files in one folder.
class CheckpointDirectory {
 public:
  // Creates the folder if needed (CheckpointError if it cannot); keeps the newest `keep` >= 1.
  CheckpointDirectory(std::filesystem::path directory, int keep);

  // Writes checkpoint-<step>.ddpckpt; once it is durable, deletes the oldest beyond `keep` of
  // those up to this step (later ones are left alone) and temporary files of earlier steps'
  // crashed writes. Returns the file written. Call it on one rank only.
  std::filesystem::path save(const Checkpoint& checkpoint);
  // The newest checkpoint that reads back whole, warning (DDP_WARN) about each newer one skipped
  // and why; nullopt when there is no checkpoint file, a CheckpointError when none reads back.
  std::optional<LoadedCheckpoint> load_newest() const;
  // The checkpoint files, oldest (lowest step) first.
  std::vector<std::filesystem::path> list() const;

  // Where save() writes the checkpoint of step.
  std::filesystem::path file_for_step(std::int64_t step) const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
  int keep_;
};

// Host copies of the model's state_dict (parameters and buffers), for Checkpoint::model.
std::vector<NamedTensor> model_state(nn::Module& model);

// Copies saved values into the model's parameters and buffers. Before changing anything, refuses
// (ddp::Error) a checkpoint of another model, naming the first tensor whose name, shape or dtype
// differs or the one missing or extra; origin names the checkpoint in that message.
void load_model_state(const std::vector<NamedTensor>& saved, nn::Module& model,
                      const std::string& origin = "checkpoint");

// A generator's state as an int64 [4] tensor for Checkpoint::extra, and back (Error when the
// tensor is not int64 [4]).
Tensor generator_state(const Generator& generator);
Generator::State generator_state_from(const Tensor& tensor);

// The tensor named name in tensors; Error naming origin and name when it is absent.
const Tensor& find_tensor(const std::vector<NamedTensor>& tensors, const std::string& name,
                          const std::string& origin = "checkpoint");

}  // namespace ddp::io
