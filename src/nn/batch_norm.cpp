#include "ddp/nn/batch_norm.hpp"

#include <algorithm>

#include "ddp/kernels/batch_norm.hpp"

namespace ddp::nn {

BatchNorm::BatchNorm(std::int64_t num_features, BatchNormOptions options, std::size_t min_dims,
                     std::size_t max_dims, const char* name)
    : num_features_(num_features),
      options_(options),
      min_dims_(min_dims),
      max_dims_(max_dims),
      name_(name) {
  DDP_CHECK_ARG(num_features > 0,
                name << "(" << num_features << ") needs a positive feature count");
  DDP_CHECK_ARG(options.eps > 0 && options.momentum >= 0 && options.momentum <= 1,
                name << " needs eps > 0 and momentum in [0, 1], got eps " << options.eps
                     << " and momentum " << options.momentum);
  Tensor& weight = register_parameter("weight", {num_features}).value;
  std::fill_n(weight.data<float>(), num_features, 1.0f);
  register_parameter("bias", {num_features});
  running_mean_ = &register_buffer("running_mean", Tensor::zeros({num_features}));
  Tensor ones = Tensor::empty({num_features});
  std::fill_n(ones.data<float>(), num_features, 1.0f);
  running_var_ = &register_buffer("running_var", ones);
  num_batches_tracked_ = &register_buffer("num_batches_tracked", Tensor::zeros({}, DType::int64));
}

void BatchNorm::check_input(const Tensor& input) const {
  DDP_CHECK(
      input.ndim() >= min_dims_ && input.ndim() <= max_dims_ && input.size(1) == num_features_,
      name_ << "(" << num_features_ << ") got input " << to_string(input.shape()) << "; it takes "
            << min_dims_ << " to " << max_dims_ << " dimensions with " << num_features_
            << " channels at dimension 1");
}

void BatchNorm::batch_statistics(Frame& frame) {
  const Device device = frame.input.device();
  Tensor stats = frame.stats.get({3, num_features_}, device, DType::float64);
  kernels::batch_norm_statistics(frame.input, stats);
  if (sum_) {
    sum_->sum_(stats);
    // The global count, the same on every replica (one element read back from a GPU).
    Tensor count = frame.global_count.get({1}, Device::cpu(), DType::float64);
    count.copy_(stats.view(2 * num_features_, {1}));
    frame.count = count.data<double>()[0];
  } else {
    frame.count = static_cast<double>(frame.input.numel() / num_features_);
  }
  DDP_CHECK(frame.count != 1, name_ << "(" << num_features_
                                    << "): Expected more than 1 value per channel when training, "
                                    << "got input size " << to_string(frame.input.shape())
                                    << (sum_ ? " (over every replica)" : "")
                                    << "; use a larger batch, or eval() mode");
  kernels::batch_norm_update_running(stats, options_.momentum, running_mean_->value,
                                     running_var_->value, num_batches_tracked_->value);
  if (frame.count == 0) return;  // an empty batch everywhere: nothing to normalise
  Tensor moments = frame.moments.get({2, num_features_}, device);
  kernels::batch_norm_moments(stats, options_.eps, moments);
}

Tensor BatchNorm::forward_impl(const Tensor& input) {
  check_input(input);
  Frame& frame = frames_[call_index()];
  frame.input = input;
  frame.training = is_training();
  const Device device = input.device();
  if (frame.training) {
    batch_statistics(frame);
  } else {
    Tensor moments = frame.moments.get({2, num_features_}, device);
    kernels::batch_norm_running_moments(running_mean_->value, running_var_->value, options_.eps,
                                        moments);
  }
  Tensor output = frame.output.get(input.shape(), device);
  if (input.numel() == 0) return output;
  kernels::batch_norm_forward(input, frame.moments.get({2, num_features_}, device),
                              parameter(0).value, parameter(1).value, output);
  return output;
}

Tensor BatchNorm::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  DDP_CHECK(frame.input.defined() && grad_output.shape() == frame.input.shape(),
            name_ << " backward got grad_output " << to_string(grad_output.shape())
                  << " for a forward of "
                  << (frame.input.defined() ? to_string(frame.input.shape()) : "nothing")
                  << "; call forward first, with the same batch");
  const Device device = grad_output.device();
  const Tensor moments = frame.moments.get({2, num_features_}, device);
  Tensor grad_sums = frame.grad_sums.get({2, num_features_}, device, DType::float64);
  kernels::batch_norm_backward_sums(frame.input, grad_output, moments, grad_sums);
  // This replica's sums: DDP adds the replicas' parameter gradients itself. Bias first, then
  // weight: the reverse of registration, the order DDP's buckets expect.
  Parameter& weight = parameter(0);
  Parameter& bias = parameter(1);
  kernels::batch_norm_parameter_grads(grad_sums, weight.grad, weight.has_grad, bias.grad,
                                      bias.has_grad);
  grad_ready(bias);
  grad_ready(weight);
  if (!input_grad_needed()) return {};
  Tensor grad_input = frame.grad_input.get(grad_output.shape(), device);
  if (!frame.training) {
    kernels::batch_norm_backward_input_eval(grad_output, moments, weight.value, grad_input);
    return grad_input;
  }
  // dx depends on every element of the global batch through the statistics: the sums over all.
  if (sum_) sum_->sum_(grad_sums);
  if (grad_output.numel() == 0) return grad_input;
  kernels::batch_norm_backward_input(frame.input, grad_output, moments, weight.value, grad_sums,
                                     frame.count, grad_input);
  return grad_input;
}

BatchNorm1d::BatchNorm1d(std::int64_t num_features, BatchNormOptions options)
    : BatchNorm(num_features, options, 2, 3, "BatchNorm1d") {}

BatchNorm2d::BatchNorm2d(std::int64_t num_features, BatchNormOptions options)
    : BatchNorm(num_features, options, 4, 4, "BatchNorm2d") {}

}  // namespace ddp::nn
