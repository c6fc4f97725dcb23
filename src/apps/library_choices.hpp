// The names the programs' command lines give the library's enums, shared by ddp-train and
// ddp-bench so that a flag reads the same in both.
#pragma once

#include <vector>

#include "cli_options.hpp"
#include "ddp/comm/backend.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/optim/lr_schedule.hpp"
#include "ddp/parallel/reducer.hpp"

namespace ddp::cli {

inline const std::vector<Choice<kernels::Activation>> kActivations{
    {"relu", kernels::Activation::relu},
    {"gelu", kernels::Activation::gelu},
    {"tanh", kernels::Activation::tanh}};

inline const std::vector<Choice<Backend>> kBackends{
    {"auto", Backend::automatic}, {"mpi", Backend::mpi}, {"nccl", Backend::nccl}};

inline const std::vector<Choice<parallel::GradCompression>> kGradCompressions{
    {"none", parallel::GradCompression::none}, {"bf16", parallel::GradCompression::bf16}};

inline const std::vector<Choice<optim::ScheduleKind>> kSchedules{
    {"constant", optim::ScheduleKind::constant},
    {"step", optim::ScheduleKind::step},
    {"cosine", optim::ScheduleKind::cosine}};

}  // namespace ddp::cli
