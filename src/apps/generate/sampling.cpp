#include "sampling.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "ddp/core/error.hpp"

namespace ddp::generate {

std::int64_t sample_token(const float* logits, std::int64_t vocab, const SamplingOptions& options,
                          Generator& generator) {
  DDP_CHECK(vocab > 0 && options.temperature > 0, "sample_token needs logits and temperature > 0");
  const std::int64_t k = options.top_k > 0 ? std::min(options.top_k, vocab) : vocab;
  std::vector<float> sorted(logits, logits + vocab);
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
  const float kth = sorted[static_cast<std::size_t>(k - 1)];
  const float largest = *std::max_element(logits, logits + vocab);
  // Weights exp((logit - largest) / temperature) of the kept tokens, in double: no overflow.
  std::vector<double> cumulative(static_cast<std::size_t>(vocab));
  double total = 0;
  for (std::int64_t i = 0; i < vocab; ++i) {
    if (logits[i] >= kth) total += std::exp((logits[i] - largest) / options.temperature);
    cumulative[static_cast<std::size_t>(i)] = total;
  }
  const double draw = static_cast<double>(generator.uniform()) * total;
  const auto chosen = std::upper_bound(cumulative.begin(), cumulative.end(), draw);
  // A draw of exactly total (only by rounding) takes the last kept token.
  std::int64_t token = std::min<std::int64_t>(chosen - cumulative.begin(), vocab - 1);
  while (logits[token] < kth) --token;
  return token;
}

std::vector<std::int64_t> generate_tokens(nn::Module& model, std::int64_t context,
                                          std::vector<std::int64_t> prompt, std::int64_t count,
                                          const SamplingOptions& options, Generator& generator) {
  DDP_CHECK(!prompt.empty() && context > 0, "generate_tokens needs a prompt and a context");
  model.eval();
  std::vector<std::int64_t> tokens = std::move(prompt);
  const std::size_t prompt_length = tokens.size();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t window = std::min<std::int64_t>(context, tokens.size());
    const std::vector<std::int64_t> last(tokens.end() - window, tokens.end());
    const Tensor logits = model.forward(Tensor::from_vector(last, {1, window}));
    const std::int64_t vocab = logits.size(2);
    const std::vector<float> row = logits.view((window - 1) * vocab, {vocab}).to_vector<float>();
    tokens.push_back(sample_token(row.data(), vocab, options, generator));
  }
  return {tokens.begin() + static_cast<std::ptrdiff_t>(prompt_length), tokens.end()};
}

}  // namespace ddp::generate
