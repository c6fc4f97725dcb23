// LinearShards: for a sharded optimizer on ranks that share memory, each rank computes its shard
// of every Linear layer's summed gradient itself, from all ranks' inputs and output gradients:
// rows R of dW = dy_all^T[R] x_all. The FLOPs are those of the rank's own whole gradient, but
// nothing is summed, and what a rank reads of its peers (their inputs and output gradients) is
// far less than their gradients. Each rank stages its layers' inputs and transposed output
// gradients in memory the ranks share; the ranks meet once, after backward.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/linear_gradient_sink.hpp"
#include "ddp/parallel/reducer.hpp"

namespace ddp::parallel {

class LinearShards final : public nn::LinearGradientSink {
 public:
  // Collective. Installs itself on module when every parameter of reducer's is a Linear layer's
  // and the ranks share memory; active() says whether it did. reducer must be sharded, on the
  // CPU, uncompressed, over a group of two ranks or more; module and reducer outlive it.
  LinearShards(nn::Module& module, ProcessGroup& group, const Reducer& reducer);
  ~LinearShards() override;  // uninstalls itself
  LinearShards(const LinearShards&) = delete;
  LinearShards& operator=(const LinearShards&) = delete;

  bool active() const { return active_; }
  // Steps whose shards it computed (finish() returned true).
  std::int64_t computed_steps() const { return computed_steps_; }
  // What the last finish() spent computing gradients rather than waiting for the other ranks: a
  // timing split counts it as compute, not communication.
  std::chrono::steady_clock::duration last_compute_time() const { return last_compute_time_; }

  void attach(nn::Parameter& weight, nn::Parameter* bias) override;
  // Takes a synchronised step's gradients when no parameter holds one yet (a gradient accumulated
  // under no_sync is summed by the reducer, with this step's added to it).
  bool take(nn::Parameter& weight, const Tensor& grad_output, const Tensor& input) override;

  // After backward, on every rank: true when this rank's shards now hold the summed gradients
  // (where some rank's rows did not fit the staging, as at the first step, it grows to them and
  // the ranks stage again). False when the reducer must sum them: the step was not taken, or
  // shared memory had no room to grow (then each layer's gradient has been written as the layer
  // would have, and LinearShards is off from then on).
  bool finish();

 private:
  struct Layer {
    nn::Parameter* weight = nullptr;
    nn::Parameter* bias = nullptr;
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t capacity = 0;  // rows per rank that the staging holds
    // Per step parity, shared by the ranks, a region of capacity rows per rank: rank r stages its
    // inputs [rows, in] from r * capacity * in, its output gradients transposed [out, rows] from
    // r * capacity * out. Unpadded, so that a step's GEMM shapes, and with them its bits, depend
    // on its own rows alone and not on the capacity earlier steps left.
    Tensor inputs[2];
    Tensor grad_outputs_t[2];
    // This step's, kept to stage again once the staging has grown.
    Tensor grad_output;
    Tensor input;
    bool taken = false;
  };
  enum class Mode { undecided, taken, declined };
  enum class Factor { inputs, ones };  // what dy^T multiplies: a weight's gradient, or a bias's

  int parity() const { return static_cast<int>(step_ % 2); }
  std::int64_t* rows_of(int rank);  // per layer, this parity's rows of rank
  std::size_t layer_index(const Layer& layer) const;
  Tensor staged_input(const Layer& layer, int rank);          // [rows, in]
  Tensor staged_grad_output_t(const Layer& layer, int rank);  // [out, rows]
  void stage(Layer& layer);  // this rank's rows, counted in rows_ already
  void compute_own_shards();
  // c = rows [first, first + count) of dy_all^T times x_all, or times ones: one GEMM per rank,
  // over that rank's rows, summed in rank order.
  void multiply_rows(const Layer& layer, std::int64_t first, std::int64_t count, Factor factor,
                     Tensor& c);
  void write_weight_shard(const Layer& layer, std::int64_t begin, std::int64_t end);
  void write_bias_shard(const Layer& layer, std::int64_t begin, std::int64_t end);
  void write_local_gradients();
  bool grow_staging();  // false: no room in shared memory
  void start_next_step();

  nn::Module& module_;
  ProcessGroup& group_;
  const Reducer& reducer_;
  std::vector<nn::Parameter*> params_;  // the reducer's, in its order
  std::vector<Layer> layers_;
  std::map<const nn::Parameter*, std::size_t> layer_of_;  // weight or bias -> its layer
  Tensor rows_;  // shared: [2 parities][ranks][layers] rows staged
  Tensor ones_;  // [largest capacity, 1]: a bias gradient is dy^T times it
  Tensor row_;   // one weight row, for a shard that starts or ends inside a row
  bool active_ = false;
  Mode mode_ = Mode::undecided;
  std::int64_t step_ = 0;
  std::int64_t computed_steps_ = 0;
  std::chrono::steady_clock::duration last_compute_time_{};
};

}  // namespace ddp::parallel
