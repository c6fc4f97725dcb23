// The CUDA kernels behind the kernels' dispatch, for tensors on a GPU (private to src/kernels).
// No CUDA header here: the CPU files that dispatch include it. Each has the contract of the public
// function of the same name; the dispatch has checked shapes and picked the device of the tensor
// written (or, for reductions, read), and each checks that the others are on it too. Without CUDA
// in the build, stub.cpp defines each as an Error (unreachable in practice: no CUDA tensor can
// exist there).
#pragma once

#include <cstdint>

#include "../channel_layout.hpp"
#include "../conv_shape.hpp"
#include "../pool_plan.hpp"
#include "../shape_plan.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/optimizer_update.hpp"

namespace ddp::kernels::cuda {

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdUpdate& rule);
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamwUpdate& rule);

// cuBLAS; call holds the checked sizes (m, n, k all > 0), transposes and scalars.
void gemm(const GemmCall& call, const Tensor& a, const Tensor& b, Tensor& c);
// cuBLAS strided-batched; call also holds the batch (> 0).
void gemm_batched(const GemmCall& call, const Tensor& a, const Tensor& b, Tensor& c);

void broadcast_rows(const Tensor& bias, Tensor& y);
void sum_rows(const Tensor& dy, Tensor& grad_bias, bool accumulate);
void broadcast_channels(const Tensor& bias, Tensor& y);
void sum_channels(const Tensor& dy, Tensor& grad_bias, bool accumulate);

// The image and col checked against shape (and not empty).
void im2col(const Tensor& x, const detail::ConvShape& shape, Tensor& col);
void col2im(const Tensor& col, const detail::ConvShape& shape, Tensor& x);

void activation_forward(Activation activation, const Tensor& x, Tensor& y);
void bias_activation_forward(Activation activation, const Tensor& bias, Tensor& z, Tensor& y);
void activation_backward(Activation activation, const Tensor& x, const Tensor& y, const Tensor& dy,
                         Tensor& dx);

// Batch norm: layout is x's (or dy's) view as [batch, channels, inner].
void batch_norm_statistics(const detail::ChannelLayout& layout, const Tensor& x, Tensor& stats);
void batch_norm_moments(const Tensor& stats, double eps, Tensor& moments);
void batch_norm_running_moments(const Tensor& running_mean, const Tensor& running_var, double eps,
                                Tensor& moments);
void batch_norm_update_running(const Tensor& stats, double momentum, Tensor& running_mean,
                               Tensor& running_var, Tensor& num_batches_tracked);
void batch_norm_forward(const detail::ChannelLayout& layout, const Tensor& x, const Tensor& moments,
                        const Tensor& weight, const Tensor& bias, Tensor& y);
void batch_norm_backward_sums(const detail::ChannelLayout& layout, const Tensor& x,
                              const Tensor& dy, const Tensor& moments, Tensor& grad_sums);
void batch_norm_parameter_grads(const Tensor& grad_sums, Tensor& grad_weight,
                                bool accumulate_weight, Tensor& grad_bias, bool accumulate_bias);
void batch_norm_backward_input(const detail::ChannelLayout& layout, const Tensor& x,
                               const Tensor& dy, const Tensor& moments, const Tensor& weight,
                               const Tensor& grad_sums, double count, Tensor& dx);
void batch_norm_backward_input_eval(const detail::ChannelLayout& layout, const Tensor& dy,
                                    const Tensor& moments, const Tensor& weight, Tensor& dx);

void softmax_rows(const Tensor& x, Tensor& y);
void log_softmax_rows(const Tensor& x, Tensor& y);
void causal_softmax(const Tensor& x, Tensor& y);
void softmax_backward_rows(const Tensor& y, const Tensor& dy, Tensor& dx);

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        Tensor& y, Tensor& stats);
void layer_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& stats,
                               const Tensor& weight, Tensor& dx);
void layer_norm_parameter_grads(const Tensor& x, const Tensor& dy, const Tensor& stats,
                                Tensor& grad_weight, bool accumulate_weight, Tensor& grad_bias,
                                bool accumulate_bias);

// How many int64 indices fall outside [0, limit): the dispatch checks class targets and table
// rows with it before a kernel reads through them, and reads them back to name the first.
std::int64_t count_outside(const Tensor& indices, std::int64_t limit);

// sum_r -log_probs[r, targets[r]], the targets checked: cross_entropy_forward after its softmax.
double cross_entropy_sum(const Tensor& log_probs, const Tensor& targets);
void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, float scale,
                            Tensor& grad_logits);
double squared_error_forward(const Tensor& prediction, const Tensor& target);
void squared_error_backward(const Tensor& prediction, const Tensor& target, float scale,
                            Tensor& grad);
// The *_forward_into kernels after the dispatch's checks (log_probs already computed), and the
// step totals' kernels (ddp/kernels/step_totals.hpp).
void cross_entropy_sum_into(const Tensor& log_probs, const Tensor& targets, double scale,
                            Tensor& totals);
void squared_error_sum_into(const Tensor& prediction, const Tensor& target, double scale,
                            Tensor& totals);
void mark_non_finite(const Tensor& x, Tensor& flag);
void record_step_verdict(const Tensor& flag, std::int64_t step, Tensor& totals);

void scale_(Tensor& x, float alpha);
void add(const Tensor& a, const Tensor& b, Tensor& out);
void add_scaled_(Tensor& y, float alpha, const Tensor& x);
void multiply(const Tensor& a, const Tensor& b, Tensor& out);
// The mask the CPU draws from a generator in state start (p checked); the caller moves the
// generator on by mask.numel() draws.
void dropout_mask(Tensor& mask, float p, const Generator::State& start);

double sum(const Tensor& x);
double squared_norm(const Tensor& x);

void to_bfloat16(const Tensor& src, Tensor& dst);
void from_bfloat16(const Tensor& src, Tensor& dst);

// y = x permuted as plan says (x and y checked; y has at least one element).
void permute(const Tensor& x, const detail::PermutePlan& plan, Tensor& y);
// rows rows of row_bytes bytes (all > 0) from src to dst in device's memory, consecutive rows
// src_pitch and dst_pitch bytes apart: one part of a concat or a split.
void copy_rows(const Device& device, void* dst, std::int64_t dst_pitch, const void* src,
               std::int64_t src_pitch, std::int64_t row_bytes, std::int64_t rows);

void gather_rows(const Tensor& table, const Tensor& indices, Tensor& out);
void scatter_add_rows(const Tensor& grad_out, const Tensor& indices, Tensor& grad_table);

// plan: the checked windows of x -> y (or dx -> dy), fixed or adaptive.
void max_pool2d(const Tensor& x, const detail::Pool2dPlan& plan, Tensor& y, Tensor& argmax);
void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, const detail::Pool2dPlan& plan,
                         Tensor& dx);
void avg_pool2d(const Tensor& x, const detail::Pool2dPlan& plan, Tensor& y);
void avg_pool2d_backward(const Tensor& dy, const detail::Pool2dPlan& plan, Tensor& dx);

}  // namespace ddp::kernels::cuda
