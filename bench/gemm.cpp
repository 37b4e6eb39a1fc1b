//===- gemm.cpp - GEMM micro-benchmark --------------------------*- C++ -*-===//
//
// Times dlc's single-precision GEMM (the kernel that compiled matrix
// products call) on the sizes of the performance goals, on 1 and 2
// threads, and prints GFLOP/s and the share of this machine's FMA peak,
// which it measures first with 16 independent FMA chains per thread. Every
// product is checked against a float64 recomputation of sampled entries.
//
//   build/bin/dlc-gemm-bench [--threads 1,2] [--seconds 1] [M N K ...]
//
//===----------------------------------------------------------------------===//

#include "runtime/ThreadPool.h"
#include "runtime/kernels/Gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace dlc;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// GFLOP/s of 16 independent 512-bit FMA chains on one thread: the most
/// this core can do (AVX-512 and AVX2 give the same FLOPs on Zen 4).
__attribute__((target("avx512f,fma"))) double fmaPeakOneThread() {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_ps(float(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  const int64_t iterations = 10'000'000;
  auto start = Clock::now();
  for (int64_t n = 0; n < iterations; ++n)
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  double seconds = since(start);
  float sink = 0;
  for (int i = 0; i < 16; ++i)
    sink += _mm512_reduce_add_ps(acc[i]);
  if (sink == 12345.0f)
    std::puts("");
  return iterations * 16.0 * 32 / seconds * 1e-9;
}

/// The pool's FMA peak: the best of five measurements, since a neighbour
/// on a shared machine can only make a measurement slower.
double fmaPeak(ThreadPool &pool) {
  double best = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::vector<double> rates(pool.size());
    pool.parallelFor(pool.size(), [&](int64_t i) { rates[i] = fmaPeakOneThread(); });
    double total = 0;
    for (double rate : rates)
      total += rate;
    best = std::max(best, total);
  }
  return best;
}

struct Result {
  double gflops;
  double maxError;
};

Result timeGemm(ThreadPool &pool, int64_t m, int64_t n, int64_t k, double seconds) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> a(m * k), b(k * n), c(m * n, 0.0f);
  for (float &x : a)
    x = uniform(rng);
  for (float &x : b)
    x = uniform(rng);
  ThreadPool::Scope scope(&pool);
  dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, 0);
  // Check sampled entries of the first product against float64.
  double maxError = 0;
  std::uniform_int_distribution<int64_t> row(0, m - 1), column(0, n - 1);
  for (int sample = 0; sample < 256; ++sample) {
    int64_t i = row(rng), j = column(rng);
    double want = 0;
    for (int64_t p = 0; p < k; ++p)
      want += double(a[i * k + p]) * b[p * n + j];
    maxError = std::max(maxError, std::abs(c[i * n + j] - want) / std::sqrt(double(k)));
  }
  // Median of timed batches of runs, each about a tenth of `seconds`.
  double flops = 2.0 * m * n * k;
  int64_t runs = 1;
  for (auto start = Clock::now(); since(start) < 0.05; ++runs)
    dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, 0);
  std::vector<double> rates;
  auto begin = Clock::now();
  while (since(begin) < seconds || rates.size() < 5) {
    auto start = Clock::now();
    for (int64_t r = 0; r < runs; ++r)
      dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, 0);
    rates.push_back(flops * runs / since(start) * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], maxError};
}

} // namespace

int main(int argc, char **argv) {
  std::vector<unsigned> threadCounts = {1, 2};
  double seconds = 1.0;
  std::vector<std::array<int64_t, 3>> sizes;
  std::vector<int64_t> numbers;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threadCounts.clear();
      for (char *t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ","))
        threadCounts.push_back(unsigned(std::atoi(t)));
    } else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      numbers.push_back(std::atoll(argv[i]));
    }
  }
  for (size_t i = 0; i + 2 < numbers.size(); i += 3)
    sizes.push_back({numbers[i], numbers[i + 1], numbers[i + 2]});
  if (sizes.empty())
    sizes = {{1024, 1024, 1024}, {3136, 64, 576}, {256, 256, 256}, {512, 768, 768},
             {64, 4096, 1024}, {1, 1000, 2048}};

  std::printf("dlc GEMM, micro-kernel %s\n", hostGemmKernel().name);
  bool ok = true;
  for (unsigned threads : threadCounts) {
    ThreadPool pool(threads);
    double peak = fmaPeak(pool);
    std::printf("\n%u thread%s: FMA peak %.1f GFLOP/s\n", threads, threads > 1 ? "s" : "",
                peak);
    std::printf("%-18s %10s %9s %12s\n", "M x N x K", "GFLOP/s", "of peak", "error");
    for (auto [m, n, k] : sizes) {
      Result result = timeGemm(pool, m, n, k, seconds);
      std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
      bool right = result.maxError < 1e-5;
      ok &= right;
      std::printf("%-18s %10.1f %8.1f%% %12.1e%s\n", shape.c_str(), result.gflops,
                  100 * result.gflops / peak, result.maxError, right ? "" : "  WRONG");
    }
  }
  return ok ? 0 : 1;
}
