// compare_params A B RTOL [ATOL]: two raw float32 parameter files (ddp-train --export-params) agree
// when every element satisfies |a - b| <= RTOL * |b| + ATOL (ATOL 1e-7 unless given). Prints the
// largest differences; exit 0 when they agree, 1 when not, 2 when the files cannot be compared.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

bool read_floats(const char* path, std::vector<float>& values) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() % sizeof(float) != 0) return false;
  values.resize(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(values.data()));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s A B RTOL [ATOL]\n", argv[0]);
    return 2;
  }
  std::vector<float> a, b;
  if (!read_floats(argv[1], a) || !read_floats(argv[2], b) || a.size() != b.size() || a.empty()) {
    std::fprintf(stderr, "cannot compare %s and %s: unreadable or of different sizes\n", argv[1],
                 argv[2]);
    return 2;
  }
  const double rtol = std::atof(argv[3]);
  const double atol = argc == 5 ? std::atof(argv[4]) : 1e-7;
  double max_abs = 0, max_rel = 0;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    max_abs = std::max(max_abs, diff);
    if (b[i] != 0) max_rel = std::max(max_rel, diff / std::fabs(b[i]));
    failures += diff > rtol * std::fabs(b[i]) + atol;
  }
  std::printf("%zu parameters, max abs diff %.3g, max rel diff %.3g, %zu beyond rtol %g atol %g\n",
              a.size(), max_abs, max_rel, failures, rtol, atol);
  return failures == 0 ? 0 : 1;
}
