#include "ddp/optim/adamw.hpp"

#include "ddp/kernels/optimizer_update.hpp"

namespace ddp::optim {

namespace {
constexpr const char* kExpAvg = "exp_avg";
constexpr const char* kExpAvgSq = "exp_avg_sq";
constexpr const char* kStep = "step";
}  // namespace

Adamw::Adamw(std::vector<nn::Parameter*> params, const AdamwOptions& options)
    : Adamw(std::vector<ParamGroup>{{std::move(params), std::nullopt}}, options) {}

Adamw::Adamw(std::vector<ParamGroup> groups, const AdamwOptions& options)
    : Optimizer(std::move(groups), options.lr),
      options_(options),
      exp_avg_(params_.size()),
      exp_avg_sq_(params_.size()),
      steps_(params_.size(), 0) {
  DDP_CHECK_ARG(
      0.0 <= options.beta1 && options.beta1 < 1.0 && 0.0 <= options.beta2 && options.beta2 < 1.0,
      "AdamW betas (" << options.beta1 << ", " << options.beta2 << ") must each be in [0, 1)");
  DDP_CHECK_ARG(options.eps >= 0.0, "AdamW eps " << options.eps << " must be >= 0");
  DDP_CHECK_ARG(options.weight_decay >= 0.0,
                "AdamW weight_decay " << options.weight_decay << " must be >= 0");
}

void Adamw::step() {
  kernels::AdamwUpdate rule;
  rule.lr = lr_;
  rule.beta1 = options_.beta1;
  rule.beta2 = options_.beta2;
  rule.eps = options_.eps;
  rule.weight_decay = options_.weight_decay;
  rule.skip = skip_flag();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    nn::Parameter& param = *params_[i];
    if (!param.has_grad) continue;
    rule.weight_decay = weight_decay_of(i, options_.weight_decay);
    if (!exp_avg_[i].defined()) {
      exp_avg_[i] = Tensor::zeros(param.value.shape(), DType::float32, param.value.device());
      exp_avg_sq_[i] = Tensor::zeros(param.value.shape(), DType::float32, param.value.device());
    }
    rule.step = ++steps_[i];
    kernels::adamw_update(param.value, param.grad, exp_avg_[i], exp_avg_sq_[i], rule);
  }
}

std::vector<NamedTensor> Adamw::state() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    const std::string& name = params_[i]->name;
    out.push_back({std::string(kExpAvg) + "/" + name, copy_on(exp_avg_[i], Device::cpu())});
    out.push_back({std::string(kExpAvgSq) + "/" + name, copy_on(exp_avg_sq_[i], Device::cpu())});
    out.push_back({std::string(kStep) + "/" + name,
                   Tensor::from_vector(std::vector<std::int64_t>{steps_[i]}, {1})});
  }
  return out;
}

void Adamw::load_state(const std::vector<NamedTensor>& state) {
  std::vector<Tensor> exp_avg(params_.size());
  std::vector<Tensor> exp_avg_sq(params_.size());
  std::vector<std::int64_t> steps(params_.size(), 0);
  for (const NamedTensor& entry : state) {
    if (entry.name.rfind(std::string(kStep) + "/", 0) == 0) {
      DDP_CHECK(entry.tensor.dtype() == DType::int64 && entry.tensor.numel() == 1,
                "optimizer state '" << entry.name << "' must be one int64");
      steps[parameter_index(entry.name, kStep)] = entry.tensor.to_vector<std::int64_t>()[0];
    } else if (entry.name.rfind(std::string(kExpAvgSq) + "/", 0) == 0) {
      const std::size_t i = shaped_parameter_index(entry.name, kExpAvgSq, entry.tensor);
      exp_avg_sq[i] = copy_on(entry.tensor, params_[i]->value.device());
    } else {
      const std::size_t i = shaped_parameter_index(entry.name, kExpAvg, entry.tensor);
      exp_avg[i] = copy_on(entry.tensor, params_[i]->value.device());
    }
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    DDP_CHECK(
        exp_avg[i].defined() == exp_avg_sq[i].defined() && exp_avg[i].defined() == (steps[i] > 0),
        "optimizer state for '" << params_[i]->name
                                << "' is incomplete: it needs exp_avg, exp_avg_sq and step");
  }
  exp_avg_ = std::move(exp_avg);
  exp_avg_sq_ = std::move(exp_avg_sq);
  steps_ = std::move(steps);
}

}  // namespace ddp::optim
