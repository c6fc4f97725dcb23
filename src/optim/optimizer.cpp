#include "ddp/optim/optimizer.hpp"

namespace ddp::optim {

Optimizer::Optimizer(std::vector<nn::Parameter*> params, double lr) : params_(std::move(params)) {
  set_lr(lr);
  for (const nn::Parameter* param : params_) {
    DDP_CHECK(param != nullptr, "optimizer got a null parameter");
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
