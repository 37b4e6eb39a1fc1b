//===- gemm.cpp - GEMM micro-benchmark --------------------------*- C++ -*-===//
//
// Times dlc's single-precision GEMM (the kernel that compiled matrix
// products call) on the sizes of the performance goals, on 1 and 2
// threads, and prints GFLOP/s and the share of this machine's FMA peak,
// which it measures first with 16 independent FMA chains per thread, and
// the "paired" share: each timed batch's rate over the FMA rate measured
// right after it (steadier where neighbours slow the machine down). Every
// product is checked against a float64 recomputation of sampled entries.
// With --conv it times the implicit-GEMM convolution (dlc_conv2d_f32)
// instead, on the convolutions of bench/train_vs_pytorch.py's CNN step
// (forward, input gradient, filter gradient) and two of ResNet-50's.
// With --expand it times MobileNetV2's expansion + depthwise pairs as one
// kernel (dlc_expand_depthwise_f32) against the two kernels apart, in
// alternating rounds, and prints the ratio. With --split it times how two
// cores share one layer (see splitLayers): a chain of 1×1 convolutions on
// one thread, on two threads with a copy each, and split between two
// threads in four ways.
//
//   build/bin/dlc-gemm-bench [--threads 1,2] [--seconds 1]
//                            [--conv | --expand | --split | M N K ...]
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/KernelAbi.h"
#include "runtime/ThreadPool.h"
#include "runtime/kernels/ExpandDepthwise.h"
#include "runtime/kernels/Gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <thread>
#include <functional>
#include <atomic>
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
/// 10 million iterations take about 30 ms.
__attribute__((target("avx512f,fma"))) double fmaPeakOneThread(int64_t iterations = 10'000'000) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_ps(float(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
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

/// The pool's FMA rate now: all its threads running fmaPeakOneThread.
double fmaRate(ThreadPool &pool, int64_t iterations = 10'000'000) {
  std::vector<double> rates(pool.size());
  pool.parallelFor(pool.size(), [&](int64_t i) { rates[i] = fmaPeakOneThread(iterations); });
  double total = 0;
  for (double rate : rates)
    total += rate;
  return total;
}

/// The pool's FMA peak: the best of five measurements, since a neighbour
/// on a shared machine can only make a measurement slower.
double fmaPeak(ThreadPool &pool) {
  double best = 0;
  for (int attempt = 0; attempt < 5; ++attempt)
    best = std::max(best, fmaRate(pool));
  return best;
}

/// Measures `pool`'s FMA peak and prints the heading of its section.
double sectionPeak(ThreadPool &pool) {
  double peak = fmaPeak(pool);
  std::printf("\n%u thread%s: FMA peak %.1f GFLOP/s\n", pool.size(),
              pool.size() > 1 ? "s" : "", peak);
  return peak;
}

struct Result {
  double gflops;
  /// The median over the timed batches of each one's rate over the FMA
  /// rate measured right after it (see timeGemm).
  double pairedShare;
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
  // Median of timed batches of runs, each about 50 ms. After each batch
  // the FMA rate is measured again for 6 ms: on a machine shared with
  // neighbours (the Intel Xeon of 2026-11-27, where the same product ran
  // at 47 to 130 GFLOP/s from one run to the next) both slow down
  // together, and the batch's share of the rate beside it is steadier
  // than its share of the best peak.
  double flops = 2.0 * m * n * k;
  int64_t runs = 1;
  for (auto start = Clock::now(); since(start) < 0.05; ++runs)
    dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, 0);
  std::vector<double> rates, shares;
  auto begin = Clock::now();
  while (since(begin) < seconds || rates.size() < 5) {
    auto start = Clock::now();
    for (int64_t r = 0; r < runs; ++r)
      dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, 0);
    rates.push_back(flops * runs / since(start) * 1e-9);
    shares.push_back(rates.back() / fmaRate(pool, 2'000'000));
  }
  std::sort(rates.begin(), rates.end());
  std::sort(shares.begin(), shares.end());
  return {rates[rates.size() / 2], shares[shares.size() / 2], maxError};
}

/// One convolution as dlc_conv2d_f32 sees it in a compiled step: `images`
/// contiguous images of `channels` channels, already padded (inH × inW),
/// an O × K filter whose rows are `channels`·kh·kw long, stride 1. (A
/// filter gradient's images are the input's channels, its channels the
/// batch, and its filter the output gradient, each transposed first.)
struct ConvCase {
  const char *name;
  int64_t images, channels, outChannels, kh, kw, ho, wo;
};

/// Median GFLOP/s and milliseconds of `conv`, and the largest error of
/// sampled outputs against float64 (divided by the square root of the
/// sum's length).
struct ConvResult {
  double gflops, milliseconds, maxError;
};

ConvResult timeConv(ThreadPool &pool, const ConvCase &conv, double seconds) {
  const int64_t inH = conv.ho + conv.kh - 1, inW = conv.wo + conv.kw - 1;
  const int64_t plane = inH * inW, k = conv.channels * conv.kh * conv.kw;
  const int64_t inN = conv.channels * plane, inC = plane;
  const int64_t outPlane = conv.ho * conv.wo, outN = conv.outChannels * outPlane;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> input(conv.images * conv.channels * plane), filter(conv.outChannels * k),
      output(conv.images * outN);
  for (float &x : input)
    x = uniform(rng);
  for (float &x : filter)
    x = uniform(rng);
  ThreadPool::Scope scope(&pool);
  auto run = [&] {
    conv2dF32(nullptr, conv.images, conv.channels, conv.outChannels, conv.kh, conv.kw, conv.ho,
              conv.wo, 1, 1, 1, 1, input.data(), inN, inC, inW, 1, filter.data(), k,
              output.data(), outN, outPlane, conv.wo, kGemmOverwriteC, nullptr, nullptr, nullptr,
              0, 0, 0, 0, 0);
  };
  run();
  double maxError = 0;
  std::uniform_int_distribution<int64_t> image(0, conv.images - 1),
      channel(0, conv.outChannels - 1), y(0, conv.ho - 1), x(0, conv.wo - 1);
  for (int sample = 0; sample < 64; ++sample) {
    int64_t n = image(rng), o = channel(rng), i = y(rng), j = x(rng);
    double want = 0;
    for (int64_t c = 0; c < conv.channels; ++c)
      for (int64_t a = 0; a < conv.kh; ++a)
        for (int64_t b = 0; b < conv.kw; ++b)
          want += double(filter[o * k + (c * conv.kh + a) * conv.kw + b]) *
                  input[n * inN + c * inC + (i + a) * inW + j + b];
    double got = output[n * outN + o * outPlane + i * conv.wo + j];
    maxError = std::max(maxError, std::abs(got - want) / std::sqrt(double(k)));
  }
  const double flops = 2.0 * conv.images * conv.outChannels * outPlane * k;
  std::vector<double> times;
  for (auto begin = Clock::now(); since(begin) < seconds || times.size() < 5;) {
    auto start = Clock::now();
    run();
    times.push_back(since(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  return {flops / median * 1e-9, median * 1e3, maxError};
}

int convolutions(const std::vector<unsigned> &threadCounts, double seconds) {
  const ConvCase cases[] = {
      {"cnn conv1 forward", 64, 1, 32, 3, 3, 28, 28},
      {"cnn conv2 forward", 64, 32, 64, 3, 3, 14, 14},
      {"cnn conv2 input gradient", 64, 64, 32, 3, 3, 14, 14},
      {"cnn conv2 filter gradient", 32, 64, 64, 14, 14, 3, 3},
      {"cnn conv1 filter gradient", 1, 64, 32, 28, 28, 3, 3},
      {"resnet50 3x3 64, batch 1", 1, 64, 64, 3, 3, 56, 56},
      {"resnet50 3x3 256, batch 1", 1, 256, 256, 3, 3, 14, 14},
  };
  std::printf("dlc convolution (implicit GEMM), micro-kernel %s\n", hostGemmKernel().name);
  bool ok = true;
  for (unsigned threads : threadCounts) {
    ThreadPool pool(threads);
    double peak = sectionPeak(pool);
    std::printf("%-28s %9s %9s %9s %10s\n", "convolution", "ms", "GFLOP/s", "of peak", "error");
    for (const ConvCase &conv : cases) {
      ConvResult result = timeConv(pool, conv, seconds);
      bool right = result.maxError < 1e-5;
      ok &= right;
      std::printf("%-28s %9.3f %9.1f %8.1f%% %10.1e%s\n", conv.name, result.milliseconds,
                  result.gflops, 100 * result.gflops / peak, result.maxError,
                  right ? "" : "  WRONG");
    }
  }
  return ok ? 0 : 1;
}

/// MobileNetV2's pointwise expansions and the 3×3 depthwise convolutions
/// after them (bias and ReLU6 on both, padding 1), at batch 1: fused and
/// apart, in rounds that alternate, the median of each.
int expandDepthwisePairs(const std::vector<unsigned> &threadCounts, double seconds) {
  struct Pair {
    int64_t k, m, h, w, stride;
  };
  const Pair pairs[] = {{16, 96, 112, 112, 2}, {24, 144, 56, 56, 1}, {24, 144, 56, 56, 2},
                        {32, 192, 28, 28, 1},  {32, 192, 28, 28, 2}, {64, 384, 14, 14, 1},
                        {96, 576, 14, 14, 1},  {96, 576, 14, 14, 2}, {160, 960, 7, 7, 1}};
  std::printf("dlc expansion + depthwise (MobileNetV2's pairs, batch 1)\n");
  auto bitsOf = [](float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return int64_t(bits);
  };
  auto address = [](const void *p) { return int64_t(reinterpret_cast<uintptr_t>(p)); };
  bool ok = true;
  for (unsigned threads : threadCounts) {
    ThreadPool pool(threads);
    ThreadPool::Scope scope(&pool);
    std::printf("%u thread(s)\n%-28s %9s %9s %7s %10s\n", threads, "k -> m, size, stride",
                "apart ms", "fused ms", "ratio", "|diff|");
    for (const Pair &pair : pairs) {
      const int64_t pixels = pair.h * pair.w, ho = (pair.h - 1) / pair.stride + 1,
                    wo = (pair.w - 1) / pair.stride + 1;
      std::mt19937 rng(11);
      std::uniform_real_distribution<float> uniform(-1, 1);
      auto random = [&](int64_t count) {
        std::vector<float> values(count);
        for (float &x : values)
          x = uniform(rng);
        return values;
      };
      std::vector<float> input = random(pair.k * pixels), weights = random(pair.m * pair.k),
                         bias = random(pair.m), filter = random(pair.m * 9),
                         bias2 = random(pair.m), expanded(pair.m * pixels),
                         apart(pair.m * ho * wo), fused(pair.m * ho * wo);
      const int64_t flags = kGemmOverwriteC | kGemmClampMin | kGemmClampMax;
      auto arguments = [&](float *out, int64_t *gemm, int64_t *depthwise) {
        const int64_t g[kGemmF32Arguments] = {
            1, pair.m, pixels, pair.k, address(weights.data()), 0, pair.k,
            address(input.data()), pair.k * pixels, pixels, 1, address(expanded.data()),
            pair.m * pixels, pixels, flags | kGemmConstantA, 0, address(bias.data()), 0, 0, 0,
            bitsOf(0), bitsOf(6)};
        const int64_t d[kDepthwiseConv2dF32Arguments] = {
            1, pair.m, pair.m, 3, 3, ho, wo, pair.stride, pair.stride, 1, 1,
            address(expanded.data()), pair.m * pixels, pixels, pair.w, 1,
            address(filter.data()), 9, address(out), pair.m * ho * wo, ho * wo, wo, flags, 0,
            address(bias2.data()), 0, 0, 0, 0, bitsOf(0), bitsOf(6), pair.h, pair.w, 1, 1};
        std::copy(std::begin(g), std::end(g), gemm);
        std::copy(std::begin(d), std::end(d), depthwise);
      };
      int64_t gemmApart[kGemmF32Arguments], depthwiseApart[kDepthwiseConv2dF32Arguments],
          gemmFused[kGemmF32Arguments], depthwiseFused[kDepthwiseConv2dF32Arguments];
      arguments(apart.data(), gemmApart, depthwiseApart);
      arguments(fused.data(), gemmFused, depthwiseFused);
      GemmPackCache cache;
      GemmPackCache::Scope packings(&cache);
      std::vector<double> apartTimes, fusedTimes;
      auto time = [&](bool fuse, std::vector<double> &times) {
        auto start = Clock::now();
        expandDepthwiseF32(fuse ? gemmFused : gemmApart, fuse ? depthwiseFused : depthwiseApart,
                           fuse);
        times.push_back(since(start));
      };
      time(false, apartTimes), time(true, fusedTimes);
      apartTimes.clear(), fusedTimes.clear();
      for (auto begin = Clock::now(); since(begin) < 2 * seconds || apartTimes.size() < 5;)
        time(false, apartTimes), time(true, fusedTimes), time(true, fusedTimes),
            time(false, apartTimes);
      double difference = 0;
      for (size_t i = 0; i < apart.size(); ++i)
        difference = std::max(difference, double(std::abs(apart[i] - fused[i])));
      ok &= difference < 1e-4;
      auto median = [](std::vector<double> &times) {
        std::sort(times.begin(), times.end());
        return times[times.size() / 2] * 1e3;
      };
      const double apartMs = median(apartTimes), fusedMs = median(fusedTimes);
      const std::string name = std::to_string(pair.k) + " -> " + std::to_string(pair.m) + ", " +
                               std::to_string(pair.h) + "x" + std::to_string(pair.w) +
                               ", stride " + std::to_string(pair.stride);
      std::printf("%-28s %9.3f %9.3f %7.2f %10.1e%s\n", name.c_str(), apartMs, fusedMs,
                  fusedMs / apartMs, difference, difference < 1e-4 ? "" : "  WRONG");
    }
  }
  return ok ? 0 : 1;
}

/// How two cores share one layer: a chain of 1×1 convolutions 384 → 64 →
/// 384 at 14² (MobileNetV2's projection and expansion shapes), summed by
/// the kernel's convTaps (8 output channels × up to 48 pixels a call, the
/// filter packed K × 8 per panel, the input rows read in place), run in
/// six ways that alternate in rounds: on one thread; on two threads that
/// each run a copy of their own (nothing shared); and on two threads that
/// split every layer (a spin barrier between layers) by pixels with planes
/// padded to whole cache lines (208 floats), by pixels with planes of 196
/// floats (dlc's layout), by output channels, and one layer by pixels and
/// the other by channels. Prints the median time per pair of layers.
int splitLayers(double seconds) {
  const GemmMicroKernel &kernel = hostGemmKernel();
  if (!kernel.convTaps) {
    std::printf("--split needs a micro-kernel with convTaps (%s has none)\n", kernel.name);
    return 1;
  }
  static constexpr int64_t kWide = 384, kNarrow = 64, kPixels = 196, kPadded = 208, kHalf = 96;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
  auto random = [&](int64_t count) {
    std::vector<float> values(static_cast<size_t>(count));
    for (float &x : values)
      x = uniform(rng);
    return values;
  };
  // Filters as convTaps reads them: panel q of 8 output channels is K × 8.
  const std::vector<float> narrowing = random(kNarrow * kWide), widening = random(kWide * kNarrow);
  // One chain's buffers, 64-byte aligned so that planes of 208 floats
  // start on cache lines (the 196-float layout uses the first 196 · planes
  // floats of the same memory).
  struct Chain {
    std::vector<float> wideStore, narrowStore;
    float *wide = nullptr, *narrow = nullptr;
  };
  auto aligned = [](std::vector<float> &store) {
    auto at = reinterpret_cast<uintptr_t>(store.data());
    return store.data() + (64 - at % 64) % 64 / sizeof(float);
  };
  Chain chains[2];
  for (Chain &chain : chains) {
    chain.wideStore = random(kWide * kPadded + 16);
    chain.narrowStore = std::vector<float>(kNarrow * kPadded + 16);
    chain.wide = aligned(chain.wideStore), chain.narrow = aligned(chain.narrowStore);
  }
  // One layer: output channels [8·panel0, 8·panelEnd) and pixels [x0, x1)
  // of dst (k input planes of src), planes `plane` floats apart.
  auto layer = [&](const float *src, int64_t k, const float *filter, float *dst, int64_t plane,
                   int64_t x0, int64_t x1, int64_t panel0, int64_t panelEnd) {
    const float *taps[kWide];
    for (int64_t x = x0; x < x1; x += 48) {
      for (int64_t p = 0; p < k; ++p)
        taps[p] = src + p * plane + x;
      for (int64_t panel = panel0; panel < panelEnd; ++panel)
        kernel.convTaps(k, taps, 1, filter + panel * k * 8, 8, 8, std::min<int64_t>(48, x1 - x),
                        dst + panel * 8 * plane + x, plane, false, nullptr);
    }
  };
  enum Split { Pixels, Channels, Mixed };
  // Thread t's part (of `threads`) of one pair of layers: layer 0 narrows
  // (384 → 64), layer 1 widens (64 → 384); a layer split by pixels gives
  // thread t pixels [96·t, ...), one split by channels half the panels.
  auto pairOf = [&](Chain &chain, int t, int threads, Split split, int64_t plane) {
    const bool alone = threads == 1;
    const int64_t x0 = alone ? 0 : t * kHalf, x1 = alone || t ? kPixels : kHalf;
    auto half = [alone, t](int64_t panels) {
      return alone ? std::pair<int64_t, int64_t>{0, panels}
                   : std::pair<int64_t, int64_t>{t * panels / 2, (t + 1) * panels / 2};
    };
    return [&chain, &layer, &narrowing, &widening, x0, x1, half, split, plane](int phase) {
      const bool narrowingLayer = phase == 0;
      const bool byPixels = narrowingLayer ? split != Channels : split == Pixels;
      const int64_t panels = (narrowingLayer ? kNarrow : kWide) / 8;
      const auto [p0, p1] = byPixels ? std::pair<int64_t, int64_t>{0, panels} : half(panels);
      if (narrowingLayer)
        layer(chain.wide, kWide, narrowing.data(), chain.narrow, plane, byPixels ? x0 : 0,
              byPixels ? x1 : kPixels, p0, p1);
      else
        layer(chain.narrow, kNarrow, widening.data(), chain.wide, plane, byPixels ? x0 : 0,
              byPixels ? x1 : kPixels, p0, p1);
    };
  };
  constexpr int kPairs = 50;
  // The chain's values shrink layer by layer to zero; denormals on the
  // way would cost microcode assists, so every timing thread flushes them
  // to zero (MXCSR's FTZ and DAZ bits).
  auto flushDenormals = [] { _mm_setcsr(_mm_getcsr() | 0x8040); };
  flushDenormals();
  // Runs kPairs pairs of layers on two threads, each thread's part from
  // `part(t)` (a function of the layer), with a spin barrier after each
  // layer when `shared`; returns microseconds per pair.
  auto twoThreads = [&](auto &&part, bool shared) {
    std::atomic<int> arrived{0};
    auto body = [&](int t) {
      flushDenormals();
      auto run = part(t);
      int generation = 0;
      for (int i = 0; i < kPairs; ++i)
        for (int phase = 0; phase < 2; ++phase) {
          run(phase);
          if (!shared)
            continue;
          generation += 2;
          arrived.fetch_add(1);
          while (arrived.load() < generation) {
          }
        }
    };
    auto start = Clock::now();
    std::thread other(body, 1);
    body(0);
    other.join();
    return since(start) * 1e6 / kPairs;
  };
  struct Way {
    const char *name;
    std::function<double()> time;
    std::vector<double> samples;
  };
  std::vector<Way> ways;
  ways.push_back({"one thread", [&] {
                    auto run = pairOf(chains[0], 0, 1, Pixels, kPixels);
                    auto start = Clock::now();
                    for (int i = 0; i < kPairs; ++i)
                      run(0), run(1);
                    return since(start) * 1e6 / kPairs;
                  }, {}});
  ways.push_back({"two threads, a chain each", [&] {
                    // Two pairs done per pair of time: per pair, half.
                    auto own = [&](int t) { return pairOf(chains[t], 0, 1, Pixels, kPixels); };
                    return twoThreads(own, false) / 2;
                  }, {}});
  const struct {
    const char *name;
    Split split;
    int64_t plane;
  } splits[] = {{"two threads, pixels, planes of 208", Pixels, kPadded},
                {"two threads, pixels, planes of 196", Pixels, kPixels},
                {"two threads, output channels", Channels, kPixels},
                {"two threads, pixels then channels", Mixed, kPixels}};
  for (const auto &way : splits)
    ways.push_back({way.name, [&, way] {
                      auto part = [&](int t) {
                        return pairOf(chains[0], t, 2, way.split, way.plane);
                      };
                      return twoThreads(part, true);
                    }, {}});
  std::printf("dlc: a chain of 1x1 convolutions 384 -> 64 -> 384 at 14x14 (convTaps, %s), "
              "time per pair of layers\n", kernel.name);
  for (Way &way : ways)
    way.time(); // warm-up
  for (auto begin = Clock::now(); since(begin) < 10 * seconds || ways[0].samples.size() < 10;)
    for (Way &way : ways)
      way.samples.push_back(way.time());
  for (Way &way : ways)
    std::sort(way.samples.begin(), way.samples.end());
  auto median = [](const Way &way) { return way.samples[way.samples.size() / 2]; };
  std::printf("%-40s %12s %16s\n", "how", "us per pair", "one thread / it");
  for (const Way &way : ways)
    std::printf("%-40s %12.1f %16.2f\n", way.name, median(way), median(ways[0]) / median(way));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<unsigned> threadCounts = {1, 2};
  double seconds = 1.0;
  std::vector<std::array<int64_t, 3>> sizes;
  std::vector<int64_t> numbers;
  bool conv = false, expand = false, split = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threadCounts.clear();
      for (char *t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ","))
        threadCounts.push_back(unsigned(std::atoi(t)));
    } else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--conv")) {
      conv = true;
    } else if (!std::strcmp(argv[i], "--expand")) {
      expand = true;
    } else if (!std::strcmp(argv[i], "--split")) {
      split = true;
    } else {
      numbers.push_back(std::atoll(argv[i]));
    }
  }
  if (conv)
    return convolutions(threadCounts, seconds);
  if (expand)
    return expandDepthwisePairs(threadCounts, seconds);
  if (split)
    return splitLayers(seconds);
  for (size_t i = 0; i + 2 < numbers.size(); i += 3)
    sizes.push_back({numbers[i], numbers[i + 1], numbers[i + 2]});
  if (sizes.empty())
    sizes = {{1024, 1024, 1024}, {3136, 64, 576}, {256, 256, 256}, {512, 768, 768},
             {64, 4096, 1024}, {1, 1000, 2048}};

  std::printf("dlc GEMM, micro-kernel %s\n", hostGemmKernel().name);
  bool ok = true;
  for (unsigned threads : threadCounts) {
    ThreadPool pool(threads);
    double peak = sectionPeak(pool);
    std::printf("%-18s %10s %9s %9s %12s\n", "M x N x K", "GFLOP/s", "of peak", "paired",
                "error");
    for (auto [m, n, k] : sizes) {
      Result result = timeGemm(pool, m, n, k, seconds);
      std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
      bool right = result.maxError < 1e-5;
      ok &= right;
      std::printf("%-18s %10.1f %8.1f%% %8.1f%% %12.1e%s\n", shape.c_str(), result.gflops,
                  100 * result.gflops / peak, 100 * result.pairedShare, result.maxError,
                  right ? "" : "  WRONG");
    }
  }
  return ok ? 0 : 1;
}
