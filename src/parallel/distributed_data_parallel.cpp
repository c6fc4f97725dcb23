#include "ddp/parallel/distributed_data_parallel.hpp"

#include "ddp/core/trace.hpp"
#include "ddp/parallel/data_parallel.hpp"

namespace ddp::parallel {
namespace {

std::int64_t mib_to_bytes(double mib, const char* name) {
  check_bucket_cap_mb(mib, name);
  return static_cast<std::int64_t>(mib * 1024.0 * 1024.0);
}

// Replicates before the Reducer exists, so the reducer is built over parameters already equal.
std::vector<nn::Parameter*> replicated_parameters(nn::Module& module, ProcessGroup* group) {
  DDP_CHECK(group != nullptr, "DistributedDataParallel needs a process group");
  replicate(module, *group, 0);
  return module.parameters();
}

ReducerOptions reducer_options(const DdpOptions& options) {
  ReducerOptions out;
  out.limits.first_bucket_cap_bytes =
      mib_to_bytes(options.first_bucket_cap_mb, "first_bucket_cap_mb");
  out.limits.bucket_cap_bytes = mib_to_bytes(options.bucket_cap_mb, "bucket_cap_mb");
  out.compression = options.grad_compression;
  out.find_unused_parameters = options.find_unused_parameters;
  out.sharded = options.sharded_optimizer;
  return out;
}

}  // namespace

void check_bucket_cap_mb(double mib, const char* what) {
  DDP_CHECK_ARG(mib >= 1e-5 && mib <= 1e6,
                what << " must be between 1e-05 and 1e+06 MiB, got " << mib);
}

DistributedDataParallel::DistributedDataParallel(nn::Module& module,
                                                 std::shared_ptr<ProcessGroup> group,
                                                 const DdpOptions& options)
    : module_(module),
      group_(std::move(group)),
      reducer_(replicated_parameters(module, group_.get()), group_, reducer_options(options)),
      broadcast_buffers_(options.broadcast_buffers),
      buffer_broadcast_(module, group_) {
  module_.set_grad_ready_hook([this](std::size_t index) { reducer_.grad_ready(index); });
  module_.label_layers_for_trace();
}

DistributedDataParallel::~DistributedDataParallel() {
  module_.set_grad_ready_hook({});
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  const trace::Span span("forward", "phase");
  if (broadcast_buffers_ && module_.is_training()) buffer_broadcast_.run();
  return module_.forward(input);
}

Tensor DistributedDataParallel::backward(const Tensor& grad_output) {
  const trace::Span span("backward", "phase");
  return module_.backward(grad_output);
}

void DistributedDataParallel::finish() {
  const trace::Span span("finish", "phase");
  reducer_.finish();
}

DistributedDataParallel::NoSync::NoSync(Reducer& reducer) : reducer_(reducer) {
  reducer_.set_sync(false);
}

DistributedDataParallel::NoSync::~NoSync() {
  reducer_.set_sync(true);
}

}  // namespace ddp::parallel
