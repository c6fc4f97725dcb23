// permute, concat, split and add on a GPU against the CPU path, bit for bit: the shape operations
// move bytes (random bits, NaN payloads included, must arrive unchanged), and add rounds each sum
// once as the CPU does. Views at an odd element offset force the narrowest units of the copies.
#include <cstdint>
#include <string>
#include <vector>

#include "compare.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/shape.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_equal;
using gpu_test::expect_error_naming_both_devices;
using gpu_test::expect_same_bits;
using gpu_test::kGpu;
using gpu_test::random_tensor;

const std::vector<DType> kDTypes = {DType::float32, DType::int64, DType::bfloat16};

// A host tensor of random bytes.
Tensor random_bits(const Shape& shape, DType dtype, std::uint64_t seed) {
  Generator generator(seed);
  Tensor t = Tensor::empty(shape, dtype);
  auto* data = static_cast<unsigned char*>(t.data_ptr());
  for (std::size_t i = 0; i < t.nbytes(); ++i) {
    data[i] = static_cast<unsigned char>(generator.next_u64());
  }
  return t;
}

// t's values on the GPU, offset elements into an allocation of their own: with an odd offset
// the data is aligned to the element size only.
Tensor on_gpu_at(const Tensor& t, std::int64_t offset) {
  Tensor storage = Tensor::zeros({offset + t.numel()}, t.dtype(), kGpu);
  Tensor view = storage.view(offset, t.shape());
  view.copy_(t);
  return view;
}

Tensor empty_gpu_at(const Shape& shape, DType dtype, std::int64_t offset) {
  return Tensor::empty({offset + numel(shape)}, dtype, kGpu).view(offset, shape);
}

Shape permuted_shape(const Shape& shape, const std::vector<int>& dims) {
  Shape out(dims.size());
  for (std::size_t j = 0; j < dims.size(); ++j) out[j] = shape[static_cast<std::size_t>(dims[j])];
  return out;
}

struct PermuteCase {
  Shape shape;
  std::vector<int> dims;
};

const std::vector<PermuteCase> kPermuteCases = {
    {{}, {}},
    {{1000}, {0}},
    {{8, 128, 12, 64}, {0, 2, 1, 3}},  // [B, T, H, D] -> [B, H, T, D]
    {{8, 12, 128, 64}, {0, 2, 1, 3}},  // and back
    {{4, 33, 12, 5}, {0, 2, 1, 3}},    // runs of an odd length
    {{257, 385}, {1, 0}},
    {{4, 33, 35}, {2, 1, 0}},
    {{2, 3, 4, 5}, {2, 3, 0, 1}},
    {{3, 1, 4, 5}, {3, 0, 2, 1}},
    {{2, 1, 2, 3, 1, 2, 2, 3}, {7, 6, 5, 4, 3, 2, 1, 0}},
    {{2, 0, 3}, {2, 0, 1}},
};

using CudaShape = GpuTest;

TEST_F(CudaShape, PermuteEqualsTheCpuBitForBit) {
  std::uint64_t seed = 1;
  for (const PermuteCase& c : kPermuteCases) {
    for (DType dtype : kDTypes) {
      const Tensor x = random_bits(c.shape, dtype, seed++);
      const Shape y_shape = permuted_shape(c.shape, c.dims);
      Tensor y = Tensor::empty(y_shape, dtype);
      kernels::permute(x, c.dims, y);
      for (std::int64_t offset : {0, 1}) {
        Tensor gpu_y = empty_gpu_at(y_shape, dtype, offset);
        kernels::permute(on_gpu_at(x, offset), c.dims, gpu_y);
        SCOPED_TRACE(to_string(c.shape) + " " + to_string(dtype) + " offset " +
                     std::to_string(offset));
        expect_same_bits(gpu_y, y);
      }
    }
  }
}

TEST_F(CudaShape, ConcatAndSplitEqualTheCpuBitForBit) {
  std::uint64_t seed = 100;
  for (int dim = 0; dim < 3; ++dim) {
    for (DType dtype : kDTypes) {
      for (std::int64_t offset : {0, 1}) {
        std::vector<Tensor> inputs;
        std::vector<Tensor> gpu_inputs;
        std::int64_t total = 0;
        for (std::int64_t k : {2, 0, 3, 1}) {
          Shape shape{3, 5, 40};
          shape[static_cast<std::size_t>(dim)] = k;
          inputs.push_back(random_bits(shape, dtype, seed++));
          gpu_inputs.push_back(on_gpu_at(inputs.back(), offset));
          total += k;
        }
        Shape out_shape{3, 5, 40};
        out_shape[static_cast<std::size_t>(dim)] = total;
        Tensor out = Tensor::empty(out_shape, dtype);
        Tensor gpu_out = empty_gpu_at(out_shape, dtype, offset);
        kernels::concat(inputs, dim, out);
        kernels::concat(gpu_inputs, dim, gpu_out);
        SCOPED_TRACE("dim " + std::to_string(dim) + " " + to_string(dtype) + " offset " +
                     std::to_string(offset));
        expect_same_bits(gpu_out, out);
        std::vector<Tensor> gpu_outputs;
        for (const Tensor& input : inputs) {
          gpu_outputs.push_back(empty_gpu_at(input.shape(), dtype, offset));
        }
        kernels::split(gpu_out, dim, gpu_outputs);
        for (std::size_t i = 0; i < inputs.size(); ++i) expect_same_bits(gpu_outputs[i], inputs[i]);
      }
    }
  }
  // q, k and v from one [tokens, 3 * C] projection.
  const Tensor qkv = random_bits({512, 3 * 768}, DType::bfloat16, 7);
  std::vector<Tensor> parts;
  std::vector<Tensor> gpu_parts;
  for (int i = 0; i < 3; ++i) {
    parts.push_back(Tensor::empty({512, 768}, DType::bfloat16));
    gpu_parts.push_back(Tensor::empty({512, 768}, DType::bfloat16, kGpu));
  }
  kernels::split(qkv, 1, parts);
  kernels::split(qkv.to(kGpu), 1, gpu_parts);
  for (int i = 0; i < 3; ++i) expect_same_bits(gpu_parts[i], parts[i]);
}

TEST_F(CudaShape, AddIsExactAlsoInPlace) {
  const Tensor a = random_tensor({1000003}, 11, -1e3f, 1e3f);
  const Tensor b = random_tensor({1000003}, 12);
  Tensor sum = Tensor::empty({1000003});
  kernels::add(a, b, sum);
  Tensor gpu_sum = Tensor::empty({1000003}, DType::float32, kGpu);
  kernels::add(a.to(kGpu), b.to(kGpu), gpu_sum);
  expect_equal(gpu_sum, sum);
  Tensor gpu_a = a.to(kGpu);
  kernels::add(gpu_a, b.to(kGpu), gpu_a);  // out may be a
  expect_equal(gpu_a, sum);
  Tensor gpu_b = b.to(kGpu);
  kernels::add(a.to(kGpu), gpu_b, gpu_b);  // or b
  expect_equal(gpu_b, sum);
}

TEST_F(CudaShape, TensorsOnTwoDevicesAreAnErrorNamingBoth) {
  const Tensor cpu = Tensor::zeros({4, 3});
  const Tensor gpu = Tensor::zeros({4, 3}, DType::float32, kGpu);
  Tensor cpu_t = Tensor::empty({3, 4});
  Tensor gpu_t = Tensor::empty({3, 4}, DType::float32, kGpu);
  expect_error_naming_both_devices([&] { kernels::permute(cpu, {1, 0}, gpu_t); });
  expect_error_naming_both_devices([&] { kernels::permute(gpu, {1, 0}, cpu_t); });
  Tensor gpu_out = Tensor::empty({8, 3}, DType::float32, kGpu);
  expect_error_naming_both_devices([&] { kernels::concat({gpu, cpu}, 0, gpu_out); });
  std::vector<Tensor> mixed = {Tensor::empty({4, 1}, DType::float32, kGpu), Tensor::empty({4, 2})};
  expect_error_naming_both_devices([&] { kernels::split(gpu, 1, mixed); });
  Tensor gpu_sum = Tensor::empty({4, 3}, DType::float32, kGpu);
  expect_error_naming_both_devices([&] { kernels::add(gpu, cpu, gpu_sum); });
}

}  // namespace
}  // namespace ddp
