// Losses with an explicit backward: CrossEntropyLoss (log-softmax + NLL over integer targets) and
// MSELoss. Both average by default and accept the count to divide by instead, which is how a
// data-parallel step takes the mean over the global batch (see forward).
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class Loss {
 public:
  virtual ~Loss() = default;

  // The summed loss of this batch's rows divided by normalizer rows; normalizer 0 means the
  // batch's own rows (PyTorch's reduction='mean'). Under DDP pass the global batch size on every
  // rank: each rank's value is then local_n / global_n times its local mean, the values add up to
  // the global mean, and so do the gradients after an all-reduce SUM, uneven or empty slices
  // included. A batch of 0 rows gives 0 and a gradient of 0 rows.
  virtual float forward(const Tensor& prediction, const Tensor& target,
                        std::int64_t normalizer = 0) = 0;
  // forward, with the loss added to totals[kernels::kLossSum] (kernels/step_totals.hpp, on the
  // prediction's device) instead of returned: nothing for the host to wait for. backward as after
  // forward.
  virtual void forward_into(const Tensor& prediction, const Tensor& target, std::int64_t normalizer,
                            Tensor& totals) = 0;
  // d (scale * loss) / d prediction for the last forward; valid until the next backward.
  virtual Tensor backward(float scale = 1.0f) = 0;
};

// prediction: logits [n, classes]; target: int64 class indices [n]. Or a language model's logits
// [n, T, classes] (any leading dimensions) with targets [n, T]: every position is a row, and the
// normalizer counts rows, i.e. tokens (under DDP: the global batch's samples * T).
class CrossEntropyLoss : public Loss {
 public:
  float forward(const Tensor& prediction, const Tensor& target,
                std::int64_t normalizer = 0) override;
  void forward_into(const Tensor& prediction, const Tensor& target, std::int64_t normalizer,
                    Tensor& totals) override;
  Tensor backward(float scale = 1.0f) override;

 private:
  void prepare(const Tensor& prediction, const Tensor& target, std::int64_t normalizer);

  Tensor target_;     // flat: [rows]
  Tensor log_probs_;  // [rows, classes]
  Shape prediction_shape_;
  std::int64_t divisor_ = 0;
  Workspace log_probs_buffer_;
  Workspace grad_;
};

// Squared error averaged over all elements: prediction and target of the same shape, rows along
// dimension 0; a normalizer counts rows (each row's elements are divided out as well).
class MSELoss : public Loss {
 public:
  float forward(const Tensor& prediction, const Tensor& target,
                std::int64_t normalizer = 0) override;
  void forward_into(const Tensor& prediction, const Tensor& target, std::int64_t normalizer,
                    Tensor& totals) override;
  Tensor backward(float scale = 1.0f) override;

 private:
  void prepare(const Tensor& prediction, const Tensor& target, std::int64_t normalizer);

  Tensor prediction_;
  Tensor target_;
  double divisor_ = 0.0;
  Workspace grad_;
};

}  // namespace ddp::nn
