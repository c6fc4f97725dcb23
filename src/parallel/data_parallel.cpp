#include "ddp/parallel/data_parallel.hpp"

#include <algorithm>
#include <sstream>
#include <string>

#include "ddp/data/global_batch_sampler.hpp"

namespace ddp::parallel {
namespace {

// FNV-1a over a tensor's name, dtype and shape: equal on two ranks exactly when all three are.
std::int64_t fingerprint(const NamedTensor& named) {
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::uint64_t byte) {
    hash ^= byte;
    hash *= 1099511628211ull;
  };
  for (char c : named.name) mix(static_cast<unsigned char>(c));
  mix(0);
  mix(static_cast<std::uint64_t>(named.tensor.dtype()));
  for (std::int64_t dim : named.tensor.shape()) {
    for (int shift = 0; shift < 64; shift += 8)
      mix((static_cast<std::uint64_t>(dim) >> shift) & 0xff);
  }
  return static_cast<std::int64_t>(hash);
}

// The small collectives below run on device, where the group's tensors live (an NCCL group takes
// GPU tensors only), and are read back to the host.
Counts gather_one(ProcessGroup& group, std::int64_t value, const Device& device) {
  Tensor all = Tensor::zeros({group.size()}, DType::int64, device);
  group.all_gather(Tensor::from_vector<std::int64_t>({value}, {1}).to(device), all);
  return all.to_vector<std::int64_t>();
}

// Every rank's text, on every rank: for error messages only, so one int32 per character is fine.
std::vector<std::string> all_gather_text(ProcessGroup& group, const std::string& text,
                                         const Device& device) {
  Counts lengths = gather_one(group, static_cast<std::int64_t>(text.size()), device);
  std::int64_t total = 0;
  for (std::int64_t length : lengths) total += length;
  Tensor mine = Tensor::from_vector(std::vector<std::int32_t>(text.begin(), text.end()),
                                    {static_cast<std::int64_t>(text.size())});
  Tensor all = Tensor::zeros({total}, DType::int32, device);
  group.all_gatherv(mine.to(device), all, lengths);
  std::vector<std::string> texts;
  const std::vector<std::int32_t> gathered = all.to_vector<std::int32_t>();
  const std::int32_t* chars = gathered.data();
  for (std::int64_t length : lengths) {
    texts.emplace_back(chars, chars + length);
    chars += length;
  }
  return texts;
}

Shape row_shape(const Tensor& t) {
  return Shape(t.shape().begin() + 1, t.shape().end());
}

Shape with_rows(std::int64_t rows, const Shape& trailing) {
  Shape shape{rows};
  shape.insert(shape.end(), trailing.begin(), trailing.end());
  return shape;
}

// Rows per rank and the elements of one row, checked equal on every rank.
Counts rows_per_rank(ProcessGroup& group, const Tensor& local, const char* what) {
  DDP_CHECK(local.defined() && local.ndim() >= 1,
            what << " needs a tensor with rows (dimension 0) on every rank");
  const std::int64_t row_elements = ddp::numel(row_shape(local));
  Counts widths = gather_one(group, row_elements, local.device());
  DDP_CHECK(
      std::all_of(widths.begin(), widths.end(), [&](std::int64_t w) { return w == widths[0]; }),
      what << ": rank " << group.rank() << " has rows of " << row_elements
           << " elements, rank 0 of " << widths[0] << "; rows must have one shape");
  return gather_one(group, local.size(0), local.device());
}

Counts times(Counts counts, std::int64_t factor) {
  for (std::int64_t& count : counts) count *= factor;
  return counts;
}

}  // namespace

void check_same_state(nn::Module& module, ProcessGroup& group) {
  const std::vector<NamedTensor> state = module.state_dict();
  const Device device = state.empty() ? Device::cpu() : state.front().tensor.device();
  std::vector<std::int64_t> prints;
  for (const NamedTensor& named : state) prints.push_back(fingerprint(named));
  Counts counts = gather_one(group, static_cast<std::int64_t>(prints.size()), device);
  std::int64_t total = 0;
  for (std::int64_t count : counts) total += count;
  Tensor all = Tensor::zeros({total}, DType::int64, device);
  group.all_gatherv(
      Tensor::from_vector(prints, {static_cast<std::int64_t>(prints.size())}).to(device), all,
      counts);

  // Every rank sees the same gathered table, so all find the same first difference.
  const std::vector<std::int64_t> table = all.to_vector<std::int64_t>();
  std::vector<const std::int64_t*> begins;
  const std::int64_t* next = table.data();
  for (std::int64_t count : counts) {
    begins.push_back(next);
    next += count;
  }
  const std::int64_t longest = *std::max_element(counts.begin(), counts.end());
  for (std::int64_t i = 0; i < longest; ++i) {
    std::vector<int> differing;
    for (int r = 1; r < group.size(); ++r) {
      const bool both = i < counts[0] && i < counts[r];
      if (!both || begins[r][i] != begins[0][i]) differing.push_back(r);
    }
    if (differing.empty()) continue;
    std::ostringstream mine;
    if (i < static_cast<std::int64_t>(state.size())) {
      const Tensor& tensor = state[static_cast<std::size_t>(i)].tensor;
      mine << "'" << state[static_cast<std::size_t>(i)].name << "' " << to_string(tensor.dtype())
           << to_string(tensor.shape());
    } else {
      mine << "nothing (" << state.size() << " tensors)";
    }
    const std::vector<std::string> texts = all_gather_text(group, mine.str(), device);
    std::ostringstream message;
    message << "the ranks' models differ at state_dict entry #" << i << ": rank 0 has " << texts[0];
    for (int r : differing) message << ", rank " << r << " has " << texts[r];
    message << "; every rank must build the same model before DistributedDataParallel";
    DDP_THROW(Error, message.str());
  }
}

void replicate(nn::Module& module, ProcessGroup& group, int root) {
  check_same_state(module, group);
  std::vector<WorkPtr> works;
  for (NamedTensor& named : module.state_dict()) {
    works.push_back(group.broadcast_async(named.tensor, root));
  }
  for (const WorkPtr& work : works) work->wait();
}

std::vector<std::int64_t> chunk_sizes(std::int64_t rows, int world_size) {
  std::vector<std::int64_t> sizes;
  for (int r = 0; r < world_size; ++r)
    sizes.push_back(data::chunk_bounds(rows, world_size, r).size());
  return sizes;
}

Tensor scatter(ProcessGroup& group, const Tensor& input, int root, const Device& device) {
  // Root tells the others what they will receive: dtype, then the shape. The header travels on
  // device, as every tensor of the group's collectives must (an NCCL group takes GPU tensors only).
  constexpr std::int64_t kMaxDims = 8;
  Tensor header = Tensor::zeros({2 + kMaxDims}, DType::int64);
  if (group.rank() == root) {
    DDP_CHECK(input.defined() && input.ndim() >= 1 && input.ndim() <= kMaxDims,
              "scatter: root's input needs 1 to " << kMaxDims << " dimensions");
    std::int64_t* h = header.data<std::int64_t>();
    h[0] = static_cast<std::int64_t>(input.dtype());
    h[1] = static_cast<std::int64_t>(input.ndim());
    for (std::size_t d = 0; d < input.ndim(); ++d) h[2 + d] = input.size(d);
  }
  Tensor travelling = header.to(device);
  group.broadcast(travelling, root);
  header = travelling.to(Device::cpu());
  const std::int64_t* h = header.data<std::int64_t>();
  const DType dtype = static_cast<DType>(h[0]);
  const Shape shape(h + 2, h + 2 + h[1]);
  const Shape trailing(shape.begin() + 1, shape.end());
  const std::vector<std::int64_t> sizes = chunk_sizes(shape[0], group.size());
  Tensor output = Tensor::empty(with_rows(sizes[group.rank()], trailing), dtype, device);
  group.scatterv(group.rank() == root ? input.to(device) : Tensor{}, output,
                 times(sizes, ddp::numel(trailing)), root);
  return output;
}

Tensor gather(ProcessGroup& group, const Tensor& local, int root) {
  Counts rows = rows_per_rank(group, local, "gather");
  const Shape trailing = row_shape(local);
  std::int64_t total = 0;
  for (std::int64_t r : rows) total += r;
  Tensor output;
  if (group.rank() == root) {
    output = Tensor::empty(with_rows(total, trailing), local.dtype(), local.device());
  }
  group.gatherv(local, output, times(rows, ddp::numel(trailing)), root);
  return output;
}

Tensor all_gather(ProcessGroup& group, const Tensor& local) {
  Counts rows = rows_per_rank(group, local, "all_gather");
  const Shape trailing = row_shape(local);
  std::int64_t total = 0;
  for (std::int64_t r : rows) total += r;
  Tensor output = Tensor::empty(with_rows(total, trailing), local.dtype(), local.device());
  group.all_gatherv(local, output, times(rows, ddp::numel(trailing)));
  return output;
}

}  // namespace ddp::parallel
