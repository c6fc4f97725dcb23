// The arithmetic DDP relies on, with modules in one process: replicas on uneven (and empty) slices,
// each loss normalised by the global batch, add up to the gradient of the whole batch.
#include <gtest/gtest.h>

#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

std::unique_ptr<Sequential> replica() {
  Generator generator(21);  // the same seed: every replica starts from the same parameters
  auto model = std::make_unique<Sequential>();
  model->emplace<Linear>(4, 8, generator);
  model->emplace<GELU>();
  model->emplace<Linear>(8, 3, generator);
  model->set_input_grad_needed(false);
  return model;
}

TEST(DataParallelMath, ReplicasOnUnevenSlicesSumToTheWholeBatchGradient) {
  Generator generator(22);
  const std::int64_t global_n = 10;
  Tensor x = testing::random_tensor({global_n, 4}, generator);
  Tensor y = Tensor::empty({global_n}, DType::int64);
  for (std::int64_t i = 0; i < global_n; ++i) y.data<std::int64_t>()[i] = i % 3;

  auto whole = replica();
  CrossEntropyLoss loss;
  const float whole_loss = loss.forward(whole->forward(x), y);
  whole->backward(loss.backward());

  // torch.chunk of 10 rows over 8 replicas: 2, 2, 2, 2, 2, 0, 0, 0.
  std::vector<std::unique_ptr<Sequential>> replicas;
  std::vector<Tensor> summed;
  float summed_loss = 0.0f;
  for (std::int64_t r = 0; r < 8; ++r) {
    const std::int64_t begin = std::min(global_n, 2 * r);
    const std::int64_t end = std::min(global_n, 2 * r + 2);
    auto model = replica();
    model->zero_grad();
    summed_loss += loss.forward(model->forward(x.rows(begin, end)), y.rows(begin, end), global_n);
    model->backward(loss.backward());
    std::vector<Parameter*> params = model->parameters();
    for (std::size_t p = 0; p < params.size(); ++p) {
      ASSERT_TRUE(params[p]->has_grad);
      if (r == 0) {
        summed.push_back(params[p]->grad.clone());
      } else {
        for (std::int64_t i = 0; i < summed[p].numel(); ++i) {
          summed[p].data<float>()[i] += params[p]->grad.data<float>()[i];
        }
      }
    }
  }
  EXPECT_NEAR(summed_loss, whole_loss, 1e-6);
  std::vector<Parameter*> expected = whole->parameters();
  for (std::size_t p = 0; p < expected.size(); ++p) {
    for (std::int64_t i = 0; i < summed[p].numel(); ++i) {
      EXPECT_NEAR(summed[p].data<float>()[i], expected[p]->grad.data<float>()[i], 1e-6)
          << expected[p]->name << " element " << i;
    }
  }
}

}  // namespace
}  // namespace ddp::nn
