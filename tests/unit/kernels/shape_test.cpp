// permute, concat and split against index computations written out here, on float32, int64 and
// bfloat16 data compared byte for byte; every argument check; and add, the residual sum.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ddp/core/bfloat16.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/shape.hpp"
#include "expect_error.hpp"

namespace ddp::kernels {
namespace {

using ddp::testing::expect_error_with;

const std::vector<DType> kDTypes = {DType::float32, DType::int64, DType::bfloat16};

// A host tensor of random values of dtype: uniform floats, all 64 bits of int64s, rounded
// bfloat16s.
Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed) {
  Generator generator(seed);
  Tensor t = Tensor::empty(shape, dtype);
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::float32:
        t.data<float>()[i] = generator.uniform(-1.0f, 1.0f);
        break;
      case DType::int64:
        t.data<std::int64_t>()[i] = static_cast<std::int64_t>(generator.next_u64());
        break;
      case DType::bfloat16:
        static_cast<std::uint16_t*>(t.data_ptr())[i] =
            float_to_bfloat16(generator.uniform(-100.0f, 100.0f));
        break;
      default:
        ADD_FAILURE() << "no random values of " << to_string(dtype);
    }
  }
  return t;
}

std::vector<unsigned char> bytes(const Tensor& t) {
  const auto* begin = static_cast<const unsigned char*>(t.data_ptr());
  return std::vector<unsigned char>(begin, begin + t.nbytes());
}

// Row-major flat index <-> index per dimension.
std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

std::int64_t ravel(const std::vector<std::int64_t>& index, const Shape& shape) {
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

void copy_element(const Tensor& from, std::int64_t from_index, Tensor& to, std::int64_t to_index) {
  const std::size_t elem = dtype_size(from.dtype());
  std::memcpy(
      static_cast<char*>(to.data_ptr()) + static_cast<std::size_t>(to_index) * elem,
      static_cast<const char*>(from.data_ptr()) + static_cast<std::size_t>(from_index) * elem,
      elem);
}

Shape permuted_shape(const Shape& shape, const std::vector<int>& dims) {
  Shape out(dims.size());
  for (std::size_t j = 0; j < dims.size(); ++j) out[j] = shape[static_cast<std::size_t>(dims[j])];
  return out;
}

// By the definition: y[i_0, .., i_n-1] = x at the index whose entry dims[j] is i_j.
Tensor reference_permute(const Tensor& x, const std::vector<int>& dims) {
  Tensor y = Tensor::empty(permuted_shape(x.shape(), dims), x.dtype());
  for (std::int64_t flat = 0; flat < y.numel(); ++flat) {
    const std::vector<std::int64_t> y_index = unravel(flat, y.shape());
    std::vector<std::int64_t> x_index(x.ndim());
    for (std::size_t j = 0; j < dims.size(); ++j) {
      x_index[static_cast<std::size_t>(dims[j])] = y_index[j];
    }
    copy_element(x, ravel(x_index, x.shape()), y, flat);
  }
  return y;
}

std::vector<int> inverse(const std::vector<int>& dims) {
  std::vector<int> inv(dims.size());
  for (std::size_t j = 0; j < dims.size(); ++j)
    inv[static_cast<std::size_t>(dims[j])] = static_cast<int>(j);
  return inv;
}

struct PermuteCase {
  Shape shape;
  std::vector<int> dims;
};

// Every path of the CPU copy: runs of the last dimension, tiled transposes with remainders,
// dimensions of size 1 dropped and adjacent ones merged, 0 and 1 elements, 8 dimensions.
const std::vector<PermuteCase> kPermuteCases = {
    {{}, {}},
    {{5}, {0}},
    {{2, 3, 4}, {0, 1, 2}},
    {{2, 5, 3, 4}, {0, 2, 1, 3}},   // [B, T, H, D] -> [B, H, T, D]
    {{2, 3, 5, 4}, {0, 2, 1, 3}},   // and back
    {{2, 6, 4, 64}, {0, 2, 1, 3}},  // a head size of 64
    {{7, 9}, {1, 0}},
    {{67, 131}, {1, 0}},
    {{4, 33, 35}, {0, 2, 1}},
    {{4, 33, 35}, {2, 1, 0}},
    {{4, 33, 35}, {1, 2, 0}},
    {{3, 1, 4, 5}, {3, 0, 2, 1}},
    {{3, 4, 1}, {0, 2, 1}},
    {{3, 1, 4}, {2, 1, 0}},
    {{2, 3, 4, 5}, {2, 3, 0, 1}},  // merges into one [6, 20] transpose
    {{2, 3, 2, 3, 2}, {4, 2, 0, 3, 1}},
    {{2, 1, 2, 3, 1, 2, 2, 3}, {7, 6, 5, 4, 3, 2, 1, 0}},
    {{2, 1, 2, 3, 1, 2, 2, 3}, {1, 0, 3, 2, 5, 4, 6, 7}},
    {{2, 0, 3}, {2, 0, 1}},
    {{0, 4}, {1, 0}},
    {{1, 1, 1}, {2, 1, 0}},
};

TEST(ShapePermute, SmallCasesByHand) {
  const Tensor x = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor y = Tensor::empty({3, 2});
  permute(x, {1, 0}, y);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // [B=1, T=2, H=2, D=2] -> [B, H, T, D]: y[0, h, t, d] = x[0, t, h, d] = t * 4 + h * 2 + d.
  const Tensor heads = Tensor::from_vector<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7}, {1, 2, 2, 2});
  Tensor by_head = Tensor::empty({1, 2, 2, 2}, DType::int64);
  permute(heads, {0, 2, 1, 3}, by_head);
  EXPECT_EQ(by_head.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 4, 5, 2, 3, 6, 7}));
  // [2, 1, 3] -> [3, 2, 1]: a transpose with a dimension of size 1 along.
  const Tensor z = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 1, 3});
  Tensor zt = Tensor::empty({3, 2, 1});
  permute(z, {2, 0, 1}, zt);
  EXPECT_EQ(zt.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(ShapePermute, MatchesTheIndexDefinitionForEveryDtype) {
  std::uint64_t seed = 1;
  for (const PermuteCase& c : kPermuteCases) {
    for (DType dtype : kDTypes) {
      const Tensor x = random_tensor(c.shape, dtype, seed++);
      const Tensor expected = reference_permute(x, c.dims);
      Tensor y = Tensor::empty(permuted_shape(c.shape, c.dims), dtype);
      permute(x, c.dims, y);
      EXPECT_EQ(bytes(y), bytes(expected))
          << to_string(c.shape) << " by " << to_string(Shape(c.dims.begin(), c.dims.end())) << " "
          << to_string(dtype);
    }
  }
}

TEST(ShapePermute, TheInversePermutationGivesXBack) {
  std::uint64_t seed = 100;
  for (const PermuteCase& c : kPermuteCases) {
    for (DType dtype : kDTypes) {
      const Tensor x = random_tensor(c.shape, dtype, seed++);
      Tensor y = Tensor::empty(permuted_shape(c.shape, c.dims), dtype);
      Tensor back = Tensor::empty(c.shape, dtype);
      permute(x, c.dims, y);
      permute(y, inverse(c.dims), back);
      EXPECT_EQ(bytes(back), bytes(x))
          << to_string(c.shape) << " by " << to_string(Shape(c.dims.begin(), c.dims.end()));
    }
  }
}

TEST(ShapePermute, ReadsAndWritesViewsAtAnOffset) {
  const Tensor storage = random_tensor({1 + 3 * 5}, DType::float32, 7);
  const Tensor x = storage.view(1, {3, 5});
  Tensor out_storage = Tensor::zeros({2 + 15});
  Tensor y = out_storage.view(2, {5, 3});
  permute(x, {1, 0}, y);
  EXPECT_EQ(bytes(y), bytes(reference_permute(x, {1, 0})));
  EXPECT_EQ(out_storage.data<float>()[0], 0.0f);  // nothing written before the view
  EXPECT_EQ(out_storage.data<float>()[1], 0.0f);
}

TEST(ShapePermute, BadArgumentsAreErrorsThatSayWhy) {
  const Tensor x = Tensor::zeros({2, 3, 4});
  Tensor y = Tensor::empty({4, 2, 3});
  expect_error_with([&] { permute(x, {0, 1}, y); }, {"dims [0, 1]", "[2, 3, 4]"});
  expect_error_with([&] { permute(x, {2, 0, 0}, y); }, {"[2, 0, 0]", "not a permutation"});
  expect_error_with([&] { permute(x, {3, 0, 1}, y); }, {"not a permutation"});
  expect_error_with([&] { permute(x, {-1, 0, 1}, y); }, {"not a permutation", "negative"});
  // The wrong out shape names both shapes and the one expected.
  Tensor wrong = Tensor::empty({2, 3, 4});
  expect_error_with(
      [&] {
        permute(x, {2, 0, 1}, wrong);
      },
      {"y has shape [2, 3, 4]", "x of shape [2, 3, 4]", "is [4, 2, 3]"});
  Tensor as_int = Tensor::empty({4, 2, 3}, DType::int64);
  expect_error_with([&] { permute(x, {2, 0, 1}, as_int); }, {"float32", "int64"});
  const Tensor nine = Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1});
  Tensor nine_out = Tensor::empty({1, 1, 1, 1, 1, 1, 1, 1, 1});
  expect_error_with(
      [&] {
        permute(nine, {0, 1, 2, 3, 4, 5, 6, 7, 8}, nine_out);
      },
      {"9 dimensions", "at most 8"});
  // In place, or into a view of its own storage: the copy would read what it overwrote.
  Tensor same = x;
  expect_error_with([&] { permute(x, {0, 1, 2}, same); }, {"overlaps"});
  Tensor square = Tensor::zeros({4, 4});
  Tensor tail = square.view(2, {4, 2});
  expect_error_with([&] { permute(square.view(0, {2, 4}), {1, 0}, tail); }, {"overlaps"});
  Tensor undefined;
  expect_error_with([&] { permute(x, {2, 0, 1}, undefined); }, {"undefined"});
}

// By the definition: out at index i reads the input p whose range along dim holds i[dim].
Tensor reference_concat(const std::vector<Tensor>& inputs, int dim, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, inputs[0].dtype());
  const auto d = static_cast<std::size_t>(dim);
  for (std::int64_t flat = 0; flat < out.numel(); ++flat) {
    std::vector<std::int64_t> index = unravel(flat, out_shape);
    std::size_t p = 0;
    while (index[d] >= inputs[p].size(d)) index[d] -= inputs[p++].size(d);
    copy_element(inputs[p], ravel(index, inputs[p].shape()), out, flat);
  }
  return out;
}

TEST(ShapeConcatSplit, SmallCasesByHand) {
  const Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from_vector<float>({5, 6}, {2, 1});
  Tensor columns = Tensor::empty({2, 3});
  concat({a, b}, 1, columns);
  EXPECT_EQ(columns.to_vector<float>(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  const Tensor c = Tensor::from_vector<float>({7, 8}, {1, 2});
  Tensor rows = Tensor::empty({3, 2});
  concat({a, c}, 0, rows);
  EXPECT_EQ(rows.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 7, 8}));
  // q, k and v of one token each from [2 tokens, 3 * 2].
  const Tensor qkv =
      Tensor::from_vector<std::int64_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 6});
  std::vector<Tensor> parts = {Tensor::empty({2, 2}, DType::int64),
                               Tensor::empty({2, 2}, DType::int64),
                               Tensor::empty({2, 2}, DType::int64)};
  split(qkv, 1, parts);
  EXPECT_EQ(parts[0].to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 7, 8}));
  EXPECT_EQ(parts[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 4, 9, 10}));
  EXPECT_EQ(parts[2].to_vector<std::int64_t>(), (std::vector<std::int64_t>{5, 6, 11, 12}));
}

// Parts of sizes 2, 0, 3 and 1 along each dimension of [3, 4, 5] (and of [0, 4, 5]), for every
// dtype: concat equals the definition, and split gives the parts back.
TEST(ShapeConcatSplit, MatchTheIndexDefinitionAndRoundTrip) {
  std::uint64_t seed = 200;
  for (const Shape& base : {Shape{3, 4, 5}, Shape{0, 4, 5}}) {
    for (int dim = 0; dim < 3; ++dim) {
      for (DType dtype : kDTypes) {
        std::vector<Tensor> inputs;
        std::int64_t total = 0;
        for (std::int64_t k : {2, 0, 3, 1}) {
          Shape shape = base;
          shape[static_cast<std::size_t>(dim)] = k;
          inputs.push_back(random_tensor(shape, dtype, seed++));
          total += k;
        }
        Shape out_shape = base;
        out_shape[static_cast<std::size_t>(dim)] = total;
        Tensor out = Tensor::empty(out_shape, dtype);
        concat(inputs, dim, out);
        const std::string what =
            to_string(out_shape) + " along " + std::to_string(dim) + " " + to_string(dtype);
        EXPECT_EQ(bytes(out), bytes(reference_concat(inputs, dim, out_shape))) << what;
        std::vector<Tensor> outputs;
        for (const Tensor& input : inputs) outputs.push_back(Tensor::empty(input.shape(), dtype));
        split(out, dim, outputs);
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          EXPECT_EQ(bytes(outputs[i]), bytes(inputs[i])) << what << " part " << i;
        }
      }
    }
  }
}

TEST(ShapeConcatSplit, OnePartIsACopy) {
  const Tensor x = random_tensor({3, 4}, DType::bfloat16, 9);
  Tensor out = Tensor::empty({3, 4}, DType::bfloat16);
  concat({x}, 1, out);
  EXPECT_EQ(bytes(out), bytes(x));
  std::vector<Tensor> outputs = {Tensor::empty({3, 4}, DType::bfloat16)};
  split(x, 0, outputs);
  EXPECT_EQ(bytes(outputs[0]), bytes(x));
}

TEST(ShapeConcatSplit, BadArgumentsAreErrorsThatSayWhy) {
  const Tensor a = Tensor::zeros({2, 2, 4});
  const Tensor b = Tensor::zeros({2, 3, 4});
  Tensor out = Tensor::empty({2, 5, 4});
  concat({a, b}, 1, out);  // the good call the others spoil
  expect_error_with([&] { concat({}, 1, out); }, {"no inputs"});
  expect_error_with([&] { concat({a, b}, 3, out); }, {"dim 3", "out of range", "[2, 5, 4]"});
  expect_error_with([&] { concat({a, b}, -1, out); }, {"dim -1", "negative"});
  expect_error_with(
      [&] {
        concat({a, Tensor::zeros({2, 3, 5})}, 1, out);
      },
      {"input 1 has shape [2, 3, 5]", "out [2, 5, 4]", "but dim 1"});
  expect_error_with([&] { concat({a, Tensor::zeros({2, 12})}, 1, out); }, {"input 1", "[2, 12]"});
  expect_error_with(
      [&] {
        concat({a, Tensor::zeros({2, 3, 4}, DType::int64)}, 1, out);
      },
      {"input 1 holds int64", "float32"});
  expect_error_with([&] { concat({a, a}, 1, out); }, {"sum to 4", "has 5"});
  expect_error_with([&] { concat({out.view(0, {2, 5, 4})}, 1, out); }, {"overlaps"});
  Tensor undefined;
  expect_error_with([&] { concat({a, b}, 1, undefined); }, {"undefined"});

  std::vector<Tensor> parts = {Tensor::empty({2, 2, 4}), Tensor::empty({2, 3, 4})};
  split(out, 1, parts);
  std::vector<Tensor> none;
  expect_error_with([&] { split(out, 1, none); }, {"no outputs"});
  expect_error_with([&] { split(out, 3, parts); }, {"dim 3", "out of range"});
  std::vector<Tensor> misshaped = {Tensor::empty({2, 2, 4}), Tensor::empty({3, 3, 4})};
  expect_error_with([&] { split(out, 1, misshaped); },
                    {"output 1 has shape [3, 3, 4]", "x [2, 5, 4]"});
  std::vector<Tensor> as_int = {Tensor::empty({2, 2, 4}, DType::int64), Tensor::empty({2, 3, 4})};
  expect_error_with([&] { split(out, 1, as_int); }, {"output 0 holds int64"});
  std::vector<Tensor> too_few = {Tensor::empty({2, 2, 4}), Tensor::empty({2, 2, 4})};
  expect_error_with([&] { split(out, 1, too_few); }, {"sum to 4", "has 5"});
  std::vector<Tensor> into_itself = {out};
  expect_error_with([&] { split(out, 1, into_itself); }, {"overlaps"});
}

TEST(PointwiseAdd, EqualsAHandLoopAlsoInPlace) {
  const Tensor a = random_tensor({1001}, DType::float32, 11);
  const Tensor b = random_tensor({7, 143}, DType::float32, 12);
  std::vector<float> expected(1001);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    expected[i] = a.data<float>()[i] + b.data<float>()[i];
  }
  Tensor out = Tensor::empty({1001});
  add(a, b, out);
  EXPECT_EQ(out.to_vector<float>(), expected);
  Tensor in_a = a.clone();
  add(in_a, b, in_a);
  EXPECT_EQ(in_a.to_vector<float>(), expected);
  Tensor in_b = b.clone();
  add(a, in_b, in_b);
  EXPECT_EQ(in_b.to_vector<float>(), expected);
  // Exact values: 0.1f + 0.2f rounds to the float nearest 0.3000000119.
  const Tensor x = Tensor::from_vector<float>({0.1f, 1e30f, -2.0f}, {3});
  const Tensor y = Tensor::from_vector<float>({0.2f, -1e30f, 0.5f}, {3});
  Tensor z = Tensor::empty({3});
  add(x, y, z);
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{0.1f + 0.2f, 0.0f, -1.5f}));
}

TEST(PointwiseAdd, MismatchedSizesAndOtherDtypesAreErrors) {
  const Tensor a = Tensor::zeros({4});
  Tensor out = Tensor::empty({4});
  expect_error_with([&] { add(a, Tensor::zeros({5}), out); }, {"add", "[4]", "[5]"});
  Tensor small = Tensor::empty({3});
  expect_error_with([&] { add(a, a, small); }, {"add", "[3]"});
  const Tensor ints = Tensor::zeros({4}, DType::int64);
  EXPECT_THROW(add(a, ints, out), Error);
}

}  // namespace
}  // namespace ddp::kernels
