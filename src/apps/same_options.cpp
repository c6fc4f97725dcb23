#include "same_options.hpp"

#include <cstdint>
#include <cstring>

#include "ddp/core/error.hpp"

namespace ddp::cli {
namespace {

// FNV-1a: equal texts hash equal on every rank; a difference shows with odds of 1 - 2^-64.
std::int64_t fingerprint(const Setting& setting) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const std::string* text : {&setting.first, &setting.second}) {
    for (unsigned char c : *text) hash = (hash ^ c) * 1099511628211ull;
    hash = (hash ^ 0xffu) * 1099511628211ull;  // ends each text, so "ab"+"c" differs from "a"+"bc"
  }
  return static_cast<std::int64_t>(hash);
}

// Collective: root's text, on every rank (its length first, then its bytes in int64 words).
std::string text_from(ProcessGroup& group, int root, const std::string& mine) {
  Tensor length = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(mine.size())}, {1});
  group.broadcast(length, root);
  const std::int64_t bytes = length.data<std::int64_t>()[0];
  const std::int64_t words = (bytes + 7) / 8;
  Tensor packed = Tensor::zeros({words}, DType::int64);
  if (group.rank() == root) std::memcpy(packed.data_ptr(), mine.data(), mine.size());
  group.broadcast(packed, root);
  return std::string(static_cast<const char*>(packed.data_ptr()), static_cast<std::size_t>(bytes));
}

}  // namespace

void check_same_on_every_rank(ProcessGroup& group, const std::vector<Setting>& settings) {
  if (group.size() == 1) return;
  // The count first: the fingerprints' all-gather needs the same size on every rank.
  const auto count = static_cast<std::int64_t>(settings.size());
  Tensor counts = Tensor::empty({group.size()}, DType::int64);
  group.all_gather(Tensor::from_vector<std::int64_t>({count}, {1}), counts);
  for (int rank = 1; rank < group.size(); ++rank) {
    DDP_CHECK_ARG(counts.data<std::int64_t>()[rank] == counts.data<std::int64_t>()[0],
                  "rank " << rank << " has other options than rank 0 (another program or build?); "
                          << "launch every rank with the same program and options");
  }
  if (count == 0) return;
  std::vector<std::int64_t> mine;
  for (const Setting& setting : settings) mine.push_back(fingerprint(setting));
  Tensor all = Tensor::empty({group.size() * count}, DType::int64);
  group.all_gather(Tensor::from_vector(mine, {count}), all);
  const std::int64_t* fingerprints = all.data<std::int64_t>();
  for (int rank = 1; rank < group.size(); ++rank) {
    const std::int64_t* theirs = fingerprints + rank * count;
    for (std::int64_t i = 0; i < count; ++i) {
      if (theirs[i] == fingerprints[i]) continue;
      const Setting& setting = settings[static_cast<std::size_t>(i)];
      const Setting root{text_from(group, 0, setting.first), text_from(group, 0, setting.second)};
      const Setting other{text_from(group, rank, setting.first),
                          text_from(group, rank, setting.second)};
      DDP_CHECK_ARG(other.first == root.first,
                    "rank " << rank << " has option --" << other.first << " where rank 0 has --"
                            << root.first << " (another program or subcommand?); launch every "
                            << "rank with the same program and options");
      DDP_THROW(InvalidArgument, "--" << root.first << " is '" << root.second << "' on rank 0 but '"
                                      << other.second << "' on rank " << rank
                                      << ": every rank must run with the same options (command "
                                         "line, DDP_* variables and --config)");
    }
  }
}

}  // namespace ddp::cli
