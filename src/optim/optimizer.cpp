#include "ddp/optim/optimizer.hpp"

#include <cmath>
#include <unordered_set>

namespace ddp::optim {

Optimizer::Optimizer(std::vector<nn::Parameter*> params, double lr)
    : Optimizer(std::vector<ParamGroup>{{std::move(params), std::nullopt}}, lr) {}

Optimizer::Optimizer(std::vector<ParamGroup> groups, double lr) : groups_(std::move(groups)) {
  set_lr(lr);
  std::unordered_set<const nn::Parameter*> seen;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::optional<double> decay = groups_[g].weight_decay;
    DDP_CHECK_ARG(
        !decay || (*decay >= 0.0 && std::isfinite(*decay)),
        "parameter group " << g << ": weight decay " << *decay << " must be finite and >= 0");
    for (nn::Parameter* param : groups_[g].params) {
      DDP_CHECK(param != nullptr, "optimizer got a null parameter");
      DDP_CHECK_ARG(seen.insert(param).second,
                    "parameter '" << param->name << "' is in two parameter groups");
      params_.push_back(param);
      group_of_.push_back(g);
    }
  }
}

void Optimizer::zero_grad() {
  for (nn::Parameter* param : params_) param->has_grad = false;
}

void Optimizer::set_lr(double lr) {
  DDP_CHECK_ARG(lr >= 0.0, "learning rate " << lr << " must be >= 0");
  lr_ = lr;
}

Tensor Optimizer::copy_on(const Tensor& t, const Device& device) {
  return t.device() == device ? t.clone() : t.to(device);
}

std::size_t Optimizer::parameter_index(const std::string& buffer_name,
                                       const std::string& prefix) const {
  if (buffer_name.rfind(prefix + "/", 0) == 0) {
    const std::string param_name = buffer_name.substr(prefix.size() + 1);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (params_[i]->name == param_name) return i;
    }
  }
  DDP_THROW(Error, "optimizer state '" << buffer_name
                                       << "' names no parameter of this optimizer; the checkpoint "
                                          "is from another model or optimizer");
}

std::size_t Optimizer::shaped_parameter_index(const std::string& buffer_name,
                                              const std::string& prefix,
                                              const Tensor& tensor) const {
  const std::size_t i = parameter_index(buffer_name, prefix);
  DDP_CHECK(tensor.dtype() == DType::float32 && tensor.shape() == params_[i]->value.shape(),
            "optimizer state '" << buffer_name << "' is " << to_string(tensor.dtype())
                                << to_string(tensor.shape()) << " but the parameter is float32"
                                << to_string(params_[i]->value.shape())
                                << "; the checkpoint is from another model");
  return i;
}

}  // namespace ddp::optim
