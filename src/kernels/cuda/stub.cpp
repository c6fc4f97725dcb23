// The CUDA functions of a build without CUDA (DDP_WITH_CUDA=OFF, or no toolkit found): no device
// is ever usable, and no CUDA allocator is registered, so a CUDA tensor is an Error that says so.
#include "cuda_kernels.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_memory.hpp"
#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::kernels {
namespace {

constexpr const char* kNotBuilt =
    "this build of ddp has no CUDA support (configured with DDP_WITH_CUDA=OFF, or no CUDA toolkit "
    "and NCCL were found)";

}  // namespace

bool cuda_built() {
  return false;
}

int cuda_device_count() {
  return 0;
}

std::string cuda_unavailable_reason() {
  return kNotBuilt;
}

int cuda_device_for_local_rank(int local_rank) {
  DDP_THROW(Error, "no CUDA device for local rank " << local_rank << ": " << kNotBuilt);
}

void set_cuda_device(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

std::string cuda_device_description(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

void cuda_synchronize(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

std::int64_t cuda_host_waits() {
  return 0;
}

CudaMemoryStats cuda_memory_stats(int) {
  return {};
}

void cuda_empty_cache() {}

struct CudaEvent::Impl {};

CudaEvent::CudaEvent(int device) {
  DDP_THROW(Error, "an event on cuda:" << device << ": " << kNotBuilt);
}

CudaEvent::~CudaEvent() = default;

int CudaEvent::device() const {
  return 0;
}

void CudaEvent::record(CudaStream) {}

void CudaEvent::block(CudaStream) const {}

bool CudaEvent::query() const {
  return true;
}

void CudaEvent::synchronize() const {}

void* cuda_stream_handle(int device, CudaStream) {
  DDP_THROW(Error, "a stream of cuda:" << device << ": " << kNotBuilt);
}

void cuda_copy_async(void*, const void*, std::size_t, int device, CudaStream) {
  DDP_THROW(Error, "a copy on cuda:" << device << ": " << kNotBuilt);
}

void cuda_stream_synchronize(int device, CudaStream) {
  DDP_THROW(Error, "a stream of cuda:" << device << ": " << kNotBuilt);
}

namespace cuda {
namespace {

[[noreturn]] void not_built(const char* op, const Tensor& t) {
  DDP_THROW(Error, op << " on " << to_string(t.device()) << ": " << kNotBuilt);
}

}  // namespace

void sgd_update(Tensor& param, const Tensor&, Tensor&, const SgdUpdate&) {
  not_built("sgd_update", param);
}

void adamw_update(Tensor& param, const Tensor&, Tensor&, Tensor&, const AdamwUpdate&) {
  not_built("adamw_update", param);
}

void gemm(const GemmCall&, const Tensor&, const Tensor&, Tensor& c) {
  not_built("gemm", c);
}

void gemm_batched(const GemmCall&, const Tensor&, const Tensor&, Tensor& c) {
  not_built("gemm_batched", c);
}

void broadcast_rows(const Tensor&, Tensor& y) {
  not_built("broadcast_rows", y);
}

void sum_rows(const Tensor&, Tensor& grad_bias, bool) {
  not_built("sum_rows", grad_bias);
}

void broadcast_channels(const Tensor&, Tensor& y) {
  not_built("broadcast_channels", y);
}

void sum_channels(const Tensor&, Tensor& grad_bias, bool) {
  not_built("sum_channels", grad_bias);
}

void im2col(const Tensor&, const detail::ConvShape&, Tensor& col) {
  not_built("im2col", col);
}

void col2im(const Tensor&, const detail::ConvShape&, Tensor& x) {
  not_built("col2im", x);
}

void batch_norm_statistics(const detail::ChannelLayout&, const Tensor&, Tensor& stats) {
  not_built("batch_norm_statistics", stats);
}

void batch_norm_moments(const Tensor&, double, Tensor& moments) {
  not_built("batch_norm_moments", moments);
}

void batch_norm_running_moments(const Tensor&, const Tensor&, double, Tensor& moments) {
  not_built("batch_norm_running_moments", moments);
}

void batch_norm_update_running(const Tensor&, double, Tensor& running_mean, Tensor&, Tensor&) {
  not_built("batch_norm_update_running", running_mean);
}

void batch_norm_forward(const detail::ChannelLayout&, const Tensor&, const Tensor&, const Tensor&,
                        const Tensor&, Tensor& y) {
  not_built("batch_norm_forward", y);
}

void batch_norm_backward_sums(const detail::ChannelLayout&, const Tensor&, const Tensor&,
                              const Tensor&, Tensor& grad_sums) {
  not_built("batch_norm_backward_sums", grad_sums);
}

void batch_norm_parameter_grads(const Tensor&, Tensor& grad_weight, bool, Tensor&, bool) {
  not_built("batch_norm_parameter_grads", grad_weight);
}

void batch_norm_backward_input(const detail::ChannelLayout&, const Tensor&, const Tensor&,
                               const Tensor&, const Tensor&, const Tensor&, double, Tensor& dx) {
  not_built("batch_norm_backward_input", dx);
}

void batch_norm_backward_input_eval(const detail::ChannelLayout&, const Tensor&, const Tensor&,
                                    const Tensor&, Tensor& dx) {
  not_built("batch_norm_backward_input_eval", dx);
}

void activation_forward(Activation, const Tensor&, Tensor& y) {
  not_built("activation_forward", y);
}

void bias_activation_forward(Activation, const Tensor&, Tensor&, Tensor& y) {
  not_built("bias_activation_forward", y);
}

void activation_backward(Activation, const Tensor&, const Tensor&, const Tensor&, Tensor& dx) {
  not_built("activation_backward", dx);
}

void softmax_rows(const Tensor&, Tensor& y) {
  not_built("softmax_rows", y);
}

void log_softmax_rows(const Tensor&, Tensor& y) {
  not_built("log_softmax_rows", y);
}

void causal_softmax(const Tensor&, Tensor& y) {
  not_built("causal_softmax", y);
}

void softmax_backward_rows(const Tensor&, const Tensor&, Tensor& dx) {
  not_built("softmax_backward_rows", dx);
}

void layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, double, Tensor& y, Tensor&) {
  not_built("layer_norm_forward", y);
}

void layer_norm_backward_input(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                               Tensor& dx) {
  not_built("layer_norm_backward_input", dx);
}

void layer_norm_parameter_grads(const Tensor&, const Tensor&, const Tensor&, Tensor& grad_weight,
                                bool, Tensor&, bool) {
  not_built("layer_norm_parameter_grads", grad_weight);
}

std::int64_t count_outside(const Tensor& indices, std::int64_t) {
  not_built("an index check", indices);
}

double cross_entropy_sum(const Tensor& log_probs, const Tensor&) {
  not_built("cross_entropy_forward", log_probs);
}

void cross_entropy_backward(const Tensor&, const Tensor&, float, Tensor& grad_logits) {
  not_built("cross_entropy_backward", grad_logits);
}

double squared_error_forward(const Tensor& prediction, const Tensor&) {
  not_built("squared_error_forward", prediction);
}

void squared_error_backward(const Tensor&, const Tensor&, float, Tensor& grad) {
  not_built("squared_error_backward", grad);
}

void scale_(Tensor& x, float) {
  not_built("scale_", x);
}

void add(const Tensor&, const Tensor&, Tensor& out) {
  not_built("add", out);
}

void add_scaled_(Tensor& y, float, const Tensor&) {
  not_built("add_scaled_", y);
}

void multiply(const Tensor&, const Tensor&, Tensor& out) {
  not_built("multiply", out);
}

void cross_entropy_sum_into(const Tensor&, const Tensor&, double, Tensor& totals) {
  not_built("cross_entropy_forward_into", totals);
}

void squared_error_sum_into(const Tensor&, const Tensor&, double, Tensor& totals) {
  not_built("squared_error_forward_into", totals);
}

void mark_non_finite(const Tensor&, Tensor& flag) {
  not_built("mark_non_finite", flag);
}

void record_step_verdict(const Tensor&, std::int64_t, Tensor& totals) {
  not_built("record_step_verdict", totals);
}

void dropout_mask(Tensor& mask, float, const Generator::State&) {
  not_built("dropout_mask", mask);
}

double sum(const Tensor& x) {
  not_built("sum", x);
}

double squared_norm(const Tensor& x) {
  not_built("squared_norm", x);
}

void to_bfloat16(const Tensor&, Tensor& dst) {
  not_built("to_bfloat16", dst);
}

void from_bfloat16(const Tensor&, Tensor& dst) {
  not_built("from_bfloat16", dst);
}

void permute(const Tensor&, const detail::PermutePlan&, Tensor& y) {
  not_built("permute", y);
}

void copy_rows(const Device& device, void*, std::int64_t, const void*, std::int64_t, std::int64_t,
               std::int64_t) {
  DDP_THROW(Error, "concat or split on " << to_string(device) << ": " << kNotBuilt);
}

void gather_rows(const Tensor&, const Tensor&, Tensor& out) {
  not_built("gather_rows", out);
}

void scatter_add_rows(const Tensor&, const Tensor&, Tensor& grad_table) {
  not_built("scatter_add_rows", grad_table);
}

void max_pool2d(const Tensor&, const detail::Pool2dPlan&, Tensor& y, Tensor&) {
  not_built("max_pool2d", y);
}

void max_pool2d_backward(const Tensor&, const Tensor&, const detail::Pool2dPlan&, Tensor& dx) {
  not_built("max_pool2d_backward", dx);
}

void avg_pool2d(const Tensor&, const detail::Pool2dPlan&, Tensor& y) {
  not_built("avg_pool2d", y);
}

void avg_pool2d_backward(const Tensor&, const detail::Pool2dPlan&, Tensor& dx) {
  not_built("avg_pool2d_backward", dx);
}

}  // namespace cuda

}  // namespace ddp::kernels
