#include "ddp/parallel/linear_shards.hpp"

#include <algorithm>

#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/gemm.hpp"

namespace ddp::parallel {

using kernels::Transpose;

LinearShards::LinearShards(nn::Module& module, ProcessGroup& group, const Reducer& reducer)
    : module_(module), group_(group), reducer_(reducer), params_(module.parameters()) {
  DDP_CHECK(
      reducer_.sharded() && reducer_.compression() == GradCompression::none && group_.size() > 1,
      "LinearShards needs a sharded, uncompressed reducer over two ranks or more");
  module_.set_linear_gradient_sink(this);
  // The same model on every rank, so every rank decides the same here.
  if (layer_of_.size() != params_.size()) {
    module_.set_linear_gradient_sink(nullptr);
    return;
  }
  const auto layers = static_cast<std::int64_t>(layers_.size());
  rows_ = group_.node_shared_tensor({2 * group_.size() * layers}, DType::int64);
  active_ = rows_.defined();
  if (!active_) module_.set_linear_gradient_sink(nullptr);
}

LinearShards::~LinearShards() {
  if (active_) module_.set_linear_gradient_sink(nullptr);
}

void LinearShards::attach(nn::Parameter& weight, nn::Parameter* bias) {
  Layer layer;
  layer.weight = &weight;
  layer.bias = bias;
  layer.out = weight.value.size(0);
  layer.in = weight.value.size(1);
  layer_of_[&weight] = layers_.size();
  if (bias != nullptr) layer_of_[bias] = layers_.size();
  layers_.push_back(std::move(layer));
}

std::int64_t* LinearShards::rows_of(int rank) {
  const auto layers = static_cast<std::int64_t>(layers_.size());
  return rows_.data<std::int64_t>() + (parity() * group_.size() + rank) * layers;
}

bool LinearShards::take(nn::Parameter& weight, const Tensor& grad_output, const Tensor& input) {
  if (!reducer_.sync_enabled()) return false;
  if (mode_ == Mode::undecided) {
    const bool accumulated = std::any_of(params_.begin(), params_.end(),
                                         [](const nn::Parameter* p) { return p->has_grad; });
    mode_ = accumulated ? Mode::declined : Mode::taken;
  }
  if (mode_ == Mode::declined) return false;
  const std::size_t index = layer_of_.at(&weight);
  Layer& layer = layers_[index];
  DDP_CHECK(!layer.taken, "the gradient of '" << weight.name
                                              << "' was reported twice in one step: call finish() "
                                                 "after each backward, and use each layer once "
                                                 "per forward");
  layer.taken = true;
  layer.grad_output = grad_output;
  layer.input = input;
  const std::int64_t rows = grad_output.size(0);
  rows_of(group_.rank())[index] = rows;
  if (rows <= layer.capacity) stage(layer);
  return true;
}

Tensor LinearShards::staged_input(const Layer& layer, int rank) {
  return layer.inputs[parity()].view(rank * layer.capacity * layer.in,
                                     {rows_of(rank)[layer_index(layer)], layer.in});
}

Tensor LinearShards::staged_grad_output_t(const Layer& layer, int rank) {
  return layer.grad_outputs_t[parity()].view(rank * layer.capacity * layer.out,
                                             {layer.out, rows_of(rank)[layer_index(layer)]});
}

std::size_t LinearShards::layer_index(const Layer& layer) const {
  return static_cast<std::size_t>(&layer - layers_.data());
}

void LinearShards::stage(Layer& layer) {
  const int rank = group_.rank();
  const std::int64_t rows = rows_of(rank)[layer_index(layer)];
  if (rows == 0) return;
  staged_input(layer, rank).copy_(layer.input);
  const float* dy = layer.grad_output.data<float>();
  float* dy_t = staged_grad_output_t(layer, rank).data<float>();
  // A few rows of dy at a time: all of them at once would be reads a row's length apart, which
  // share a set of the L1 cache and evict each other.
  constexpr std::int64_t kRowsAtOnce = 8;
  for (std::int64_t s0 = 0; s0 < rows; s0 += kRowsAtOnce) {
    const std::int64_t s1 = std::min(rows, s0 + kRowsAtOnce);
    for (std::int64_t j = 0; j < layer.out; ++j) {
      for (std::int64_t s = s0; s < s1; ++s) dy_t[j * rows + s] = dy[s * layer.out + j];
    }
  }
}

bool LinearShards::finish() {
  last_compute_time_ = {};
  if (mode_ != Mode::taken) {
    start_next_step();
    return false;
  }
  // A layer backward did not reach gives no rows: its gradient counts as zero.
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    if (!layers_[l].taken) rows_of(group_.rank())[l] = 0;
  }
  group_.barrier();  // every rank's rows are staged
  bool fits = true;
  for (int r = 0; r < group_.size(); ++r) {
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      fits &= layers_[l].capacity > 0 && rows_of(r)[l] <= layers_[l].capacity;
    }
  }
  // Staged afresh into room for every rank's rows, the step computes as any other, so that its
  // bits do not depend on what earlier steps staged (a resumed run ends where one never stopped).
  const bool staged = fits || grow_staging();
  if (!fits && staged) group_.barrier();
  const auto start = std::chrono::steady_clock::now();
  if (staged) {
    compute_own_shards();
    ++computed_steps_;
  } else {
    write_local_gradients();
  }
  last_compute_time_ = std::chrono::steady_clock::now() - start;
  ++step_;
  start_next_step();
  return staged;
}

void LinearShards::compute_own_shards() {
  const BucketPlan& plan = reducer_.plan();
  for (std::size_t b = 0; b < plan.buckets.size(); ++b) {
    const Reducer::Shard mine = reducer_.shard(b);
    for (const BucketEntry& entry : plan.buckets[b].entries) {
      const std::int64_t begin = std::max(entry.offset, mine.offset) - entry.offset;
      const std::int64_t end =
          std::min(entry.offset + entry.numel, mine.offset + mine.numel) - entry.offset;
      if (begin >= end) continue;
      const nn::Parameter* param = params_[entry.parameter];
      const Layer& layer = layers_[layer_of_.at(param)];
      if (param == layer.weight) {
        write_weight_shard(layer, begin, end);
      } else {
        write_bias_shard(layer, begin, end);
      }
    }
  }
}

void LinearShards::multiply_rows(const Layer& layer, std::int64_t first, std::int64_t count,
                                 Factor factor, Tensor& c) {
  for (int r = 0; r < group_.size(); ++r) {
    const Tensor dy_t = staged_grad_output_t(layer, r);
    const std::int64_t rows = dy_t.size(1);
    const Tensor b = factor == Factor::inputs ? staged_input(layer, r) : ones_.view(0, {rows, 1});
    kernels::gemm(dy_t.view(first * rows, {count, rows}), Transpose::no, b, Transpose::no, c, 1.0f,
                  r == 0 ? 0.0f : 1.0f);
  }
}

void LinearShards::write_weight_shard(const Layer& layer, std::int64_t begin, std::int64_t end) {
  const Tensor grad = layer.weight->grad.reshape({layer.out * layer.in});
  while (begin < end) {
    const std::int64_t row = begin / layer.in;
    const std::int64_t column = begin % layer.in;
    const std::int64_t whole_rows = column == 0 ? (end - begin) / layer.in : 0;
    if (whole_rows > 0) {
      Tensor c = grad.view(begin, {whole_rows, layer.in});
      multiply_rows(layer, row, whole_rows, Factor::inputs, c);
      begin += whole_rows * layer.in;
      continue;
    }
    // The shard starts or ends inside this row: compute the row, keep the shard's part of it.
    const std::int64_t stop = std::min(end, (row + 1) * layer.in);
    Tensor whole_row = row_.view(0, {1, layer.in});
    multiply_rows(layer, row, 1, Factor::inputs, whole_row);
    grad.view(begin, {stop - begin}).copy_(whole_row.view(column, {stop - begin}));
    begin = stop;
  }
}

void LinearShards::write_bias_shard(const Layer& layer, std::int64_t begin, std::int64_t end) {
  Tensor c = layer.bias->grad.view(begin, {end - begin, 1});
  multiply_rows(layer, begin, end - begin, Factor::ones, c);
}

void LinearShards::write_local_gradients() {
  for (Layer& layer : layers_) {
    if (!layer.taken) continue;
    if (layer.bias != nullptr) {
      kernels::sum_rows(layer.grad_output, layer.bias->grad, false);
      layer.bias->has_grad = true;
    }
    kernels::gemm(layer.grad_output, Transpose::yes, layer.input, Transpose::no,
                  layer.weight->grad);
    layer.weight->has_grad = true;
  }
}

bool LinearShards::grow_staging() {
  std::int64_t largest = 0;
  std::int64_t widest = 0;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    Layer& layer = layers_[l];
    // At least a row: a layer no rank reached still gets its (zero) shard computed.
    std::int64_t needed = 1;
    for (int r = 0; r < group_.size(); ++r) needed = std::max(needed, rows_of(r)[l]);
    if (needed > layer.capacity) {
      const std::int64_t all_rows = group_.size() * needed;
      for (int p = 0; p < 2; ++p) {
        layer.inputs[p] = group_.node_shared_tensor({all_rows * layer.in}, DType::float32);
        layer.grad_outputs_t[p] = group_.node_shared_tensor({all_rows * layer.out}, DType::float32);
      }
      // Every rank gets the same answer: without room in shared memory, the reducer sums.
      if (!layer.inputs[0].defined() || !layer.inputs[1].defined() ||
          !layer.grad_outputs_t[0].defined() || !layer.grad_outputs_t[1].defined()) {
        active_ = false;
        module_.set_linear_gradient_sink(nullptr);
        return false;
      }
      layer.capacity = needed;
      stage(layer);
    }
    largest = std::max(largest, layer.capacity);
    widest = std::max(widest, layer.in);
  }
  ones_ = Tensor::empty({largest, 1});
  std::fill_n(ones_.data<float>(), ones_.numel(), 1.0f);
  row_ = Tensor::empty({1, widest});
  return true;
}

void LinearShards::start_next_step() {
  mode_ = Mode::undecided;
  for (Layer& layer : layers_) {
    layer.taken = false;
    layer.grad_output = {};
    layer.input = {};
  }
}

}  // namespace ddp::parallel
