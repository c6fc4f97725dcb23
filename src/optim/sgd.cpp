#include "ddp/optim/sgd.hpp"

#include "ddp/kernels/optimizer_update.hpp"

namespace ddp::optim {

namespace {
constexpr const char* kMomentum = "momentum_buffer";
}  // namespace

Sgd::Sgd(std::vector<nn::Parameter*> params, const SgdOptions& options)
    : Sgd(std::vector<ParamGroup>{{std::move(params), std::nullopt}}, options) {}

Sgd::Sgd(std::vector<ParamGroup> groups, const SgdOptions& options)
    : Optimizer(std::move(groups), options.lr),
      options_(options),
      momentum_buffers_(params_.size()) {
  DDP_CHECK_ARG(options.momentum >= 0.0, "SGD momentum " << options.momentum << " must be >= 0");
  DDP_CHECK_ARG(options.weight_decay >= 0.0,
                "SGD weight_decay " << options.weight_decay << " must be >= 0");
  DDP_CHECK_ARG(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
                "SGD nesterov needs momentum > 0 and dampening 0, got momentum "
                    << options.momentum << " and dampening " << options.dampening);
}

void Sgd::step() {
  kernels::SgdUpdate rule;
  rule.lr = lr_;
  rule.momentum = options_.momentum;
  rule.dampening = options_.dampening;
  rule.weight_decay = options_.weight_decay;
  rule.nesterov = options_.nesterov;
  rule.skip = skip_flag();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    nn::Parameter& param = *params_[i];
    if (!param.has_grad) continue;
    rule.weight_decay = weight_decay_of(i, options_.weight_decay);
    Tensor& buffer = momentum_buffers_[i];
    rule.first_step = false;
    if (options_.momentum != 0.0 && !buffer.defined()) {
      // Zeros when the device may skip this first step: the next one then reads a defined buffer.
      buffer = rule.skip != nullptr
                   ? Tensor::zeros(param.value.shape(), DType::float32, param.value.device())
                   : Tensor::empty(param.value.shape(), DType::float32, param.value.device());
      rule.first_step = true;
    }
    kernels::sgd_update(param.value, param.grad, buffer, rule);
  }
}

std::vector<NamedTensor> Sgd::state() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (momentum_buffers_[i].defined()) {
      out.push_back({std::string(kMomentum) + "/" + params_[i]->name,
                     copy_on(momentum_buffers_[i], Device::cpu())});
    }
  }
  return out;
}

void Sgd::load_state(const std::vector<NamedTensor>& state) {
  std::vector<Tensor> loaded(params_.size());
  for (const NamedTensor& entry : state) {
    const std::size_t i = shaped_parameter_index(entry.name, kMomentum, entry.tensor);
    loaded[i] = copy_on(entry.tensor, params_[i]->value.device());
  }
  momentum_buffers_ = std::move(loaded);
}

}  // namespace ddp::optim
