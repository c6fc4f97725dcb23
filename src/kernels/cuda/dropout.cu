// Dropout masks drawn on the device, equal to the CPU's for the same generator state: each thread
// takes a run of consecutive draws, jumps its copy of the state to the run's first draw with the
// powers-of-two matrices of random_jump.hpp, and then draws as Generator::uniform() does.
#include <mutex>
#include <vector>

#include "cuda_kernels.hpp"
#include "ddp/core/random_jump.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

// Draws per thread, a power of two: a run's start is then a jump by a multiple of it.
constexpr int kRunPower = 6;
constexpr std::int64_t kRun = std::int64_t{1} << kRunPower;
constexpr std::size_t kMatrixWords = 256 * 4;

struct State {
  std::uint64_t word[4];
};

// Every jump matrix on device, uploaded once (a single host wait) and kept for the process.
const std::uint64_t* device_jump_matrices(int device) {
  static std::mutex mutex;
  static std::vector<std::uint64_t*> by_device;
  std::lock_guard lock(mutex);
  by_device.resize(static_cast<std::size_t>(cuda_device_count()), nullptr);
  std::uint64_t*& table = by_device[static_cast<std::size_t>(device)];
  if (table == nullptr) {
    std::vector<std::uint64_t> host(kJumpPowers * kMatrixWords);
    for (int power = 0; power < kJumpPowers; ++power) {
      const JumpMatrix& matrix = jump_matrix(power);
      for (std::size_t i = 0; i < 256; ++i) {
        for (std::size_t w = 0; w < 4; ++w) {
          host[static_cast<std::size_t>(power) * kMatrixWords + i * 4 + w] = matrix[i][w];
        }
      }
    }
    DeviceGuard guard(device);
    DDP_CUDA_CHECK(cudaMalloc(&table, host.size() * sizeof(std::uint64_t)));
    count_host_wait();
    DDP_CUDA_CHECK(cudaMemcpy(table, host.data(), host.size() * sizeof(std::uint64_t),
                              cudaMemcpyHostToDevice));
  }
  return table;
}

__device__ void jump(State& s, const std::uint64_t* matrix) {
  State out{{0, 0, 0, 0}};
  for (int i = 0; i < 256; ++i) {
    if (((s.word[i / 64] >> (i % 64)) & 1) == 0) continue;
    for (int w = 0; w < 4; ++w) out.word[w] ^= matrix[i * 4 + w];
  }
  s = out;
}

__device__ std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

// Generator::next_u64, word for word.
__device__ std::uint64_t next_u64(State& s) {
  const std::uint64_t result = rotl(s.word[1] * 5, 7) * 9;
  const std::uint64_t t = s.word[1] << 17;
  s.word[2] ^= s.word[0];
  s.word[3] ^= s.word[1];
  s.word[1] ^= s.word[2];
  s.word[0] ^= s.word[3];
  s.word[2] ^= t;
  s.word[3] = rotl(s.word[3], 45);
  return result;
}

}  // namespace

void dropout_mask(Tensor& mask, float p, const Generator::State& start) {
  const Device device = mask.device();
  float* data = detail::data_on<float>(mask, device, "dropout_mask");
  const std::int64_t n = mask.numel();
  const std::uint64_t* matrices = device_jump_matrices(device.index);
  const State first{{start[0], start[1], start[2], start[3]}};
  const float keep_scale = 1.0f / (1.0f - p);
  const std::int64_t runs = (n + kRun - 1) / kRun;
  for_each_index(device, runs, [=] __device__(std::int64_t run) {
    State s = first;
    // run * kRun draws: one jump per set bit of run, by the matrix of that bit times kRun.
    int power = kRunPower;
    for (std::int64_t rest = run; rest != 0; rest >>= 1, ++power) {
      if ((rest & 1) != 0) jump(s, matrices + static_cast<std::size_t>(power) * kMatrixWords);
    }
    const std::int64_t end = min(n, (run + 1) * kRun);
    for (std::int64_t i = run * kRun; i < end; ++i) {
      // Generator::uniform(): 24 bits, exact in a float.
      const float u = static_cast<float>(next_u64(s) >> 40) * 0x1.0p-24f;
      data[i] = u < p ? 0.0f : keep_scale;
    }
  });
}

}  // namespace ddp::kernels::cuda
