//===- KernelsTest.cpp - GEMM, thread pool and buffer pool ------*- C++ -*-===//
//
// Every micro-kernel this CPU can run, on shapes that exercise every edge
// (partial tiles, K past one block, strided rows, accumulation), on one and
// two threads, against float64 products computed here.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/KernelAbi.h"
#include "frontend/builder/Examples.h"
#include "runtime/BufferPool.h"
#include "runtime/Executable.h"
#include "runtime/KernelProfile.h"
#include "runtime/ThreadPool.h"
#include "runtime/kernels/Depthwise.h"
#include "runtime/kernels/ExpandDepthwise.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/Pool.h"
#include "runtime/kernels/RowRange.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <sys/mman.h>
#include <unistd.h>

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

using namespace dlc;

namespace {

std::vector<const GemmMicroKernel *> runnableKernels() {
  std::vector<const GemmMicroKernel *> kernels = {portableGemmKernel()};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    kernels.push_back(avx2GemmKernel());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
    kernels.push_back(avx512GemmKernel());
  return kernels;
}

struct Shape {
  int64_t m, n, k;
};

/// `count` floats drawn uniformly from [-1, 1) with `seed`.
std::vector<float> randomFloats(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(count);
  for (float &x : values)
    x = uniform(rng);
  return values;
}

/// What a product's element becomes after the GEMM's epilogue: (product
/// q, row i, column j, A·B there) -> the expected value.
using ExpectedAfter = llvm::function_ref<double(int64_t, int64_t, int64_t, double)>;

/// Checks `batch` products C[q] = A[q]·B[q] (m×k times k×n, each packed
/// densely after the previous one; B[q]'s element (p, j) at p·strideK +
/// j·strideN) against float64, every `step`-th row and column, each element
/// through `after` when given.
void expectProducts(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a,
                    const float *b, int64_t strideK, int64_t strideN, const float *c,
                    int64_t step = 1, ExpectedAfter after = nullptr) {
  for (int64_t q = 0; q < batch; ++q)
    for (int64_t i = 0; i < m; i += step)
      for (int64_t j = 0; j < n; j += step) {
        double want = 0;
        for (int64_t p = 0; p < k; ++p)
          want += double(a[q * m * k + i * k + p]) * b[q * k * n + p * strideK + j * strideN];
        if (after)
          want = after(q, i, j, want);
        ASSERT_NEAR(c[q * m * n + i * n + j], want, 1e-4)
            << "product " << q << " of " << m << "x" << n << "x" << k << " at " << i << ","
            << j;
      }
}

/// Products that take each path of the GEMM driver: packed, B read in
/// place (few rows), transposed B with few rows (dot products), batched
/// (a product per thread; with a short k, its panels packed in groups),
/// and the empty sum (k = 0).
struct PathCase {
  int64_t batch, m, n, k;
  bool transposed;
};
constexpr PathCase kPathCases[] = {{1, 40, 70, 300, false},
                                   {1, 40, 70, 300, true},
                                   {3, 33, 1100, 50, true},
                                   {1, 5, 33, 600, false},
                                   {1, 5, 33, 600, true},
                                   {3, 9, 17, 20, false},
                                   {2, 40, 100, 24, false},
                                   {2, 40, 300, 16, false},
                                   {2, 4, 8, 0, false}};

/// C (initially random) += A·B with row strides wider than the matrices,
/// B row-major or transposed, A row-major or transposed (stored k×m),
/// checked against float64.
void checkGemm(const GemmMicroKernel *kernel, Shape s, ThreadPool *pool,
               bool transposedB = false, bool transposedA = false) {
  std::mt19937 rng(int(s.m * 131 + s.n * 17 + s.k));
  std::uniform_real_distribution<float> uniform(-1, 1);
  int64_t lda = transposedA ? s.m + 3 : s.k + 3, ldb = transposedB ? s.k + 5 : s.n + 5,
          ldc = s.n + 1;
  int64_t strideK = transposedB ? 1 : ldb, strideN = transposedB ? ldb : 1;
  // A's element (i, p).
  auto at = [&](int64_t i, int64_t p) { return transposedA ? p * lda + i : i * lda + p; };
  std::vector<float> a((transposedA ? s.k : s.m) * lda), b((transposedB ? s.n : s.k) * ldb),
      c(s.m * ldc);
  for (float &x : a)
    x = uniform(rng);
  for (float &x : b)
    x = uniform(rng);
  for (float &x : c)
    x = uniform(rng);
  std::vector<float> before = c;
  {
    ThreadPool::Scope scope(pool);
    gemmF32(s.m, s.n, s.k, a.data(), lda, b.data(), strideK, strideN, c.data(), ldc, kernel,
            transposedA);
  }
  double worst = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      if (j >= s.n) {
        // Padding between rows is never written.
        ASSERT_EQ(c[i * ldc + j], before[i * ldc + j]) << "wrote past column " << s.n;
        continue;
      }
      double want = before[i * ldc + j];
      for (int64_t p = 0; p < s.k; ++p)
        want += double(a[at(i, p)]) * b[p * strideK + j * strideN];
      worst = std::max(worst, std::abs(c[i * ldc + j] - want) / std::sqrt(double(s.k)));
    }
  EXPECT_LT(worst, 2e-6) << kernel->name << " " << s.m << "x" << s.n << "x" << s.k
                         << (pool ? " threaded" : "") << (transposedA ? " Aᵀ" : "")
                         << (transposedB ? " Bᵀ" : "");
}

TEST(GemmTest, EveryKernelMatchesFloat64OnEdgeShapes) {
  const Shape shapes[] = {{1, 1, 1},    {7, 13, 5},    {8, 32, 16},  {9, 33, 257},
                          {1, 100, 600}, {31, 47, 300}, {130, 65, 20}, {200, 96, 520},
                          {64, 300, 64}, {40, 77, 300}, {128, 1030, 70}, {64, 1030, 300},
                          // Last panels of 8, 9, 17, 24, 25 and 29 columns: the
                          // AVX-512 kernel sums 8, 16, 24 or 32 of them.
                          {5, 40, 9},    {12, 41, 20},  {16, 49, 33}, {40, 56, 70},
                          {9, 25, 12},   {24, 61, 40},
                          // On one thread, B packed whole in one block of k,
                          // rows beyond a task's 96: row tiles sweep the
                          // task's panels (the last one partial).
                          {200, 900, 100}};
  ThreadPool two(2);
  for (const GemmMicroKernel *kernel : runnableKernels())
    for (Shape shape : shapes) {
      checkGemm(kernel, shape, nullptr);
      checkGemm(kernel, shape, &two);
      checkGemm(kernel, shape, &two, /*transposedB=*/true);
      // A stored transposed (copied to rows first, through the kernel's
      // transpose where it has one), with B row-major and transposed.
      checkGemm(kernel, shape, &two, /*transposedB=*/false, /*transposedA=*/true);
      checkGemm(kernel, shape, nullptr, /*transposedB=*/true, /*transposedA=*/true);
    }
}

TEST(GemmTest, BatchedEntryPointUsesBatchStrides) {
  // 5 products of 19×23 · 23×29, more than the pool has threads (one
  // product per thread) and, with a pool of 8, fewer (split products).
  const int64_t batch = 5, m = 19, n = 29, k = 23;
  std::vector<float> a = randomFloats(batch * m * k, 3), b = randomFloats(batch * k * n, 4);
  for (unsigned threads : {2u, 8u}) {
    ThreadPool pool(threads);
    ThreadPool::Scope scope(&pool);
    std::vector<float> c(batch * m * n, 0.0f);
    dlc_gemm_f32(batch, m, n, k, a.data(), m * k, k, b.data(), k * n, n, 1, c.data(), m * n, n, 0);
    expectProducts(batch, m, n, k, a.data(), b.data(), n, 1, c.data());
  }
}

TEST(GemmTest, OverwriteNeverReadsC) {
  // With kGemmOverwriteC, C = A·B whatever C held (NaN here), on every
  // path of the driver.
  ThreadPool pool(2);
  ThreadPool::Scope scope(&pool);
  unsigned seed = 11;
  for (PathCase shape : kPathCases) {
    auto [batch, m, n, k, transposed] = shape;
    std::vector<float> a = randomFloats(batch * m * k + 1, seed++),
                       b = randomFloats(batch * k * n + 1, seed++);
    int64_t strideK = transposed ? 1 : n, strideN = transposed ? k : 1;
    std::vector<float> c(batch * m * n, std::nanf(""));
    dlc_gemm_f32(batch, m, n, k, a.data(), m * k, k, b.data(), k * n, strideK, strideN,
                 c.data(), m * n, n, kGemmOverwriteC);
    expectProducts(batch, m, n, k, a.data(), b.data(), strideK, strideN, c.data());
  }
}

/// The bits of `value`, as dlc_gemm_f32 takes its clamp bounds.
int64_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

TEST(GemmTest, EpilogueAppliesEachTermAfterTheProduct) {
  // C = min(max(A·B · scale[r] + shift[r] + R, lo), hi), term by term, on
  // every path of the driver; then with only the shift and the max; then
  // added to what C held.
  ThreadPool pool(2);
  ThreadPool::Scope scope(&pool);
  unsigned seed = 21;
  for (PathCase shape : kPathCases)
    for (int variant : {0, 1, 2}) {
      // 0: all terms; 1: only the shift and the max; 2: all terms on C +
      // A·B (the epilogue applies to the sum with what C held).
      const bool allTerms = variant != 1, accumulate = variant == 2;
      auto [batch, m, n, k, transposed] = shape;
      std::vector<float> a = randomFloats(batch * m * k + 1, seed++),
                         b = randomFloats(batch * k * n + 1, seed++),
                         scale = randomFloats(m, seed++), shift = randomFloats(m, seed++),
                         residual = randomFloats(batch * m * n, seed++);
      const float lo = -0.25f, hi = 0.5f;
      int64_t strideK = transposed ? 1 : n, strideN = transposed ? k : 1;
      std::vector<float> c = accumulate ? randomFloats(batch * m * n, seed++)
                                        : std::vector<float>(batch * m * n, std::nanf(""));
      const std::vector<float> before = c;
      const float *s = allTerms ? scale.data() : nullptr;
      const float *r = allTerms ? residual.data() : nullptr;
      const bool low = allTerms;
      dlc_gemm_f32(batch, m, n, k, a.data(), m * k, k, b.data(), k * n, strideK, strideN,
                   c.data(), m * n, n,
                   (accumulate ? 0 : kGemmOverwriteC) | (low ? kGemmClampMin : 0) |
                       kGemmClampMax,
                   s, shift.data(), r, m * n, n, bitsOf(lo), bitsOf(hi));
      SCOPED_TRACE(variant == 0 ? "all terms" : variant == 1 ? "shift and max" : "accumulate");
      expectProducts(batch, m, n, k, a.data(), b.data(), strideK, strideN, c.data(), 1,
                     [&](int64_t q, int64_t i, int64_t j, double product) {
                       if (accumulate)
                         product += before[(q * m + i) * n + j];
                       double want = product * (s ? s[i] : 1.0) + shift[i] +
                                     (r ? r[(q * m + i) * n + j] : 0.0);
                       if (low)
                         want = std::max(want, double(lo));
                       return std::min(want, double(hi));
                     });
    }
}

TEST(GemmTest, ConstantAWithFewColumnsRunsAsPixelRows) {
  // A pointwise convolution's product: A a weight (kGemmConstantA) shared
  // by the batch, an executable's GemmPackCache current. With at most 256
  // columns over the batch it runs as a 1×1 convolution with the columns
  // as the kernel's rows and A packed once into the cache, where the host
  // kernel reads patches in place; more columns (300; 2 × 196) stay a
  // GEMM, and so do products whose pixels that path would split between
  // threads (on two threads, no more rows than columns and at least 128
  // columns: 64 × 196; 24 × 100 still runs as pixel rows). Against
  // float64, with every epilogue term, adding to C, B and C views with
  // longer rows, and the same bits on a second run from the cache. The
  // AVX-512 kernel's wide tiles (Gemm.h, indirectWide) are among them: 6
  // × 64 for 196 and 100 pixels (the last panel 16, 32 or 48 channels
  // wide: 80, 96 and 100 rows; the last group 4 pixels for 100), 7 × 48
  // for 49 and 62 pixels (last panels of 12, 16, 32 and 4 channels; the
  // last group 6 pixels for 62); 27 pixels (3 × 9) fit neither, and 24
  // rows take the kernel's own tiles.
  struct Case {
    int64_t batch, m, n, k;
    /// Pixel rows on one thread and on two, where the host kernel can.
    bool pixelRowsOnOne, pixelRowsOnTwo;
  };
  const Case cases[] = {{1, 300, 49, 520, true, true},  {1, 160, 49, 37, true, true},
                        {3, 40, 9, 20, true, true},     {1, 2048, 49, 16, true, true},
                        {1, 64, 196, 64, true, false},  {1, 24, 100, 50, true, true},
                        {1, 64, 300, 64, false, false}, {2, 40, 196, 30, false, false},
                        {1, 80, 196, 70, true, false},  {1, 100, 100, 40, true, true},
                        {1, 100, 62, 30, true, true},   {1, 96, 196, 40, true, false}};
  const GemmMicroKernel &host = hostGemmKernel();
  const bool hostCan = host.runIndirect && host.transpose;
  unsigned seed = 500;
  for (unsigned threads : {1u, 2u}) {
    ThreadPool pool(threads);
    ThreadPool::Scope scope(&pool);
    for (const Case &test : cases)
      for (bool accumulate : {false, true}) {
        const auto [batch, m, n, k, pixelRowsOnOne, pixelRowsOnTwo] = test;
        SCOPED_TRACE(testing::Message() << batch << " x " << m << "x" << n << "x" << k
                                        << (accumulate ? " adding" : "") << ", " << threads
                                        << " threads");
        const int64_t ldb = n + 5, ldc = n + 3, ldr = n + 1;
        std::vector<float> a = randomFloats(m * k, seed++), b = randomFloats(batch * k * ldb, seed++),
                           c = randomFloats(batch * m * ldc, seed++),
                           residual = randomFloats(batch * m * ldr, seed++),
                           scale = randomFloats(m, seed++), shift = randomFloats(m, seed++);
        const std::vector<float> before = c;
        const float lo = -0.25f, hi = 0.5f;
        GemmPackCache cache;
        GemmPackCache::Scope cacheScope(&cache);
        KernelProfile profile;
        auto multiply = [&] {
          KernelProfile::Scope profiling(&profile);
          dlc_gemm_f32(batch, m, n, k, a.data(), 0, k, b.data(), k * ldb, ldb, 1, c.data(),
                       m * ldc, ldc,
                       kGemmConstantA | kGemmClampMin | kGemmClampMax |
                           (accumulate ? 0 : kGemmOverwriteC),
                       scale.data(), shift.data(), residual.data(), m * ldr, ldr, bitsOf(lo),
                       bitsOf(hi));
        };
        multiply();
        const std::vector<float> first = c;
        c = before;
        multiply();
        EXPECT_EQ(std::memcmp(first.data(), c.data(), c.size() * sizeof(float)), 0)
            << "a second run from the cache differs";
        std::vector<KernelProfile::Entry> ran = profile.entries();
        ASSERT_EQ(ran.size(), 1u);
        const bool expectPixelRows = hostCan && (threads > 1 ? pixelRowsOnTwo : pixelRowsOnOne);
        EXPECT_EQ(ran[0].kernel, expectPixelRows ? "gemm (pixel rows)" : "gemm");
        EXPECT_EQ(cache.bytesHeld() > 0, expectPixelRows);
        int64_t mismatches = 0;
        const double tolerance = 2e-6 * std::sqrt(double(k + 1));
        for (int64_t q = 0; q < batch; ++q)
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t at = (q * m + i) * ldc + j;
              double want = before[at]; // past the n columns: untouched
              if (j < n) {
                double sum = accumulate ? before[at] : 0.0;
                for (int64_t p = 0; p < k; ++p)
                  sum += double(a[i * k + p]) * b[q * k * ldb + p * ldb + j];
                want = sum * scale[i] + shift[i] + residual[(q * m + i) * ldr + j];
                want = std::min(std::max(want, double(lo)), double(hi));
              }
              if (!(std::abs(c[at] - want) <= tolerance) && mismatches++ < 5)
                ADD_FAILURE() << "product " << q << " at " << i << "," << j << ": " << c[at]
                              << " want " << want;
            }
        EXPECT_EQ(mismatches, 0);
      }
  }
}

TEST(GemmTest, EpilogueKeepsNaN) {
  // max and min with a NaN give NaN, as the elementwise kernels do.
  const int64_t m = 8, n = 16, k = 4;
  std::vector<float> a = randomFloats(m * k, 1), b = randomFloats(k * n, 2), c(m * n);
  a[3 * k] = std::nanf("");
  const float lo = 0, hi = 6, nanBound = std::nanf("");
  const int64_t clamp = kGemmOverwriteC | kGemmClampMin | kGemmClampMax;
  dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, clamp, nullptr,
               nullptr, nullptr, 0, 0, bitsOf(lo), bitsOf(hi));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_EQ(std::isnan(c[i * n + j]), i == 3) << i << "," << j;
  dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n, clamp, nullptr,
               nullptr, nullptr, 0, 0, bitsOf(nanBound), bitsOf(hi));
  for (float v : c)
    EXPECT_TRUE(std::isnan(v));
}

/// One convolution for dlc_conv2d_f32: sizes, strides and dilations, and
/// how its buffers are laid out.
struct ConvCase {
  int64_t n, c, o, kh, kw, ho, wo, sh, sw, dh, dw;
  int64_t inputSpread = 1; ///< stride of the input along x (> 1: a strided view)
  int64_t outputPad = 0;   ///< the output is a view inside a buffer this much larger
  bool epilogue = false, accumulate = false;
  /// The filter is flagged constant (kConvConstantFilter) and an
  /// executable's GemmPackCache is current: 3×3 stride-1 convolutions with
  /// enough channels and tiles run by Winograd's F(2×2, 3×3) on kernels
  /// that have its transforms.
  bool constantFilter = false;
};

/// Runs `test` through the convolution with `kernel` and compares every
/// output element with a float64 convolution (and epilogue) computed here.
void checkConv(const GemmMicroKernel *kernel, const ConvCase &test, unsigned seed) {
  SCOPED_TRACE(testing::Message() << kernel->name << " conv " << test.n << "x" << test.c << " -> " << test.o
                                  << " " << test.kh << "x" << test.kw << " out " << test.ho
                                  << "x" << test.wo << " stride " << test.sh << "," << test.sw
                                  << " dilation " << test.dh << "," << test.dw);
  const int64_t hp = (test.ho - 1) * test.sh + (test.kh - 1) * test.dh + 1;
  const int64_t wp = (test.wo - 1) * test.sw + (test.kw - 1) * test.dw + 1;
  // The input: [n, c, hp, wp] with x stride inputSpread.
  const int64_t inW = test.inputSpread, inH = wp * inW, inC = hp * inH, inN = test.c * inC;
  std::vector<float> input = randomFloats(test.n * inN, seed),
                     filter = randomFloats(test.o * test.c * test.kh * test.kw, seed + 1);
  // The output: a view at (pad, pad) of [n, o, ho + 2·pad, wo + 2·pad].
  const int64_t pad = test.outputPad, outH = test.wo + 2 * pad,
                outC = (test.ho + 2 * pad) * outH, outN = test.o * outC;
  std::vector<float> output = randomFloats(test.n * outN, seed + 2), before = output;
  float *out = output.data() + pad * outH + pad;
  const int64_t residualC = test.ho * test.wo, residualN = test.o * residualC;
  std::vector<float> scale = randomFloats(test.o, seed + 3), shift = randomFloats(test.o, seed + 4),
                     residual = randomFloats(test.n * residualN, seed + 5);
  const float lo = -0.5f, hi = 2.0f;
  int64_t flags = test.accumulate ? 0 : kGemmOverwriteC;
  if (test.epilogue)
    flags |= kGemmClampMin | kGemmClampMax;
  if (test.constantFilter)
    flags |= kConvConstantFilter;
  GemmPackCache cache;
  GemmPackCache::Scope cacheScope(test.constantFilter ? &cache : nullptr);
  KernelProfile profile;
  auto convolve = [&] {
    KernelProfile::Scope profiling(&profile);
    conv2dF32(kernel, test.n, test.c, test.o, test.kh, test.kw, test.ho, test.wo, test.sh,
              test.sw, test.dh, test.dw, input.data(), inN, inC, inH, inW, filter.data(),
              test.c * test.kh * test.kw, out, outN, outC, outH, flags,
              test.epilogue ? scale.data() : nullptr, test.epilogue ? shift.data() : nullptr,
              test.epilogue ? residual.data() : nullptr, residualN, residualC, test.wo,
              bitsOf(lo), bitsOf(hi));
  };
  convolve();
  // A constant filter's second run reads what the first kept in the cache
  // (Winograd's transform, or the transposed filter): the same output.
  if (test.constantFilter) {
    const std::vector<float> first = output;
    output = before;
    convolve();
    EXPECT_EQ(std::memcmp(first.data(), output.data(), output.size() * sizeof(float)), 0)
        << "a second run from the cache differs";
  }
  // Winograd.h's rule: at least 32 channels in and out, and a panel of 32
  // tiles of 2×2 outputs.
  const int64_t tiles = test.n * ((test.ho + 1) / 2) * ((test.wo + 1) / 2);
  const bool winograd = test.constantFilter && kernel->winogradInput && test.kh == 3 &&
                        test.kw == 3 && test.sh == 1 && test.sw == 1 && test.dh == 1 &&
                        test.dw == 1 && test.c >= 32 && test.o >= 32 && tiles >= 32;
  // Up to four input channels, rows of at least 16 outputs, a stride of
  // 1 or 2 and an input whose rows are contiguous: summed tap by tap
  // where the kernel can.
  const bool taps = !winograd && kernel->convTaps && test.c <= 4 &&
                    test.c * test.kh * test.kw <= 32 && test.wo >= 16 &&
                    (test.sw == 1 || test.sw == 2) && test.inputSpread == 1;
  std::vector<KernelProfile::Entry> ran = profile.entries();
  ASSERT_EQ(ran.size(), 1u);
  EXPECT_EQ(ran[0].kernel, winograd ? "conv2d (Winograd)" : taps ? "conv2d (taps)" : "conv2d");
  // Otherwise a constant filter with at most 256 output pixels is kept
  // transposed, where the kernel reads patches in place.
  const bool transposedFilter = !winograd && !taps && test.constantFilter && kernel->runIndirect &&
                                kernel->transpose && test.n * test.ho * test.wo <= 256;
  EXPECT_EQ(cache.bytesHeld() > 0, winograd || transposedFilter) << "the cache was used";
  int64_t mismatches = 0;
  for (int64_t b = 0; b < test.n; ++b)
    for (int64_t o = 0; o < test.o; ++o)
      for (int64_t y = -pad; y < test.ho + pad; ++y)
        for (int64_t x = -pad; x < test.wo + pad; ++x) {
          const int64_t at = b * outN + o * outC + y * outH + x;
          const float got = out[at];
          double want;
          if (y < 0 || x < 0 || y >= test.ho || x >= test.wo) {
            want = before[&out[at] - output.data()]; // outside the view: untouched
          } else {
            double sum = 0;
            for (int64_t c = 0; c < test.c; ++c)
              for (int64_t i = 0; i < test.kh; ++i)
                for (int64_t j = 0; j < test.kw; ++j)
                  sum += double(filter[((o * test.c + c) * test.kh + i) * test.kw + j]) *
                         input[b * inN + c * inC + (y * test.sh + i * test.dh) * inH +
                               (x * test.sw + j * test.dw) * inW];
            want = sum + (test.accumulate ? before[&out[at] - output.data()] : 0.0);
            if (test.epilogue) {
              want = want * scale[o] + shift[o] +
                     residual[b * residualN + o * residualC + y * test.wo + x];
              want = std::min(std::max(want, double(lo)), double(hi));
            }
          }
          // Rounding grows with the square root of the sum's length, as the
          // GEMM tests assume (Winograd's F(2×2, 3×3) stays within it too).
          const double tolerance = 2e-6 * std::sqrt(double(test.c * test.kh * test.kw + 1));
          if (!(std::abs(got - want) <= tolerance) && mismatches++ < 5)
            ADD_FAILURE() << "at image " << b << " channel " << o << " (" << y << ", " << x
                          << "): " << got << " want " << want;
        }
  EXPECT_EQ(mismatches, 0);
}

TEST(ConvTest, ImplicitGemmMatchesFloat64Convolution) {
  const ConvCase cases[] = {
      // Panels that straddle images (7·9 pixels), 19 channels (partial
      // tiles), K in one block.
      {3, 5, 19, 3, 3, 7, 9, 1, 1, 1, 1},
      // Strides and dilations; an input read with a stride along x.
      {2, 4, 9, 3, 2, 4, 5, 2, 3, 2, 1, 2},
      // Into a view of a bigger buffer, with the epilogue; then adding to
      // what the output held.
      {2, 3, 17, 3, 3, 6, 6, 1, 1, 1, 1, 1, 2, true},
      {2, 3, 8, 3, 3, 5, 5, 1, 1, 1, 1, 1, 1, false, true},
      // The epilogue on what was added (the kernel's copy applies it).
      {2, 3, 8, 3, 3, 5, 5, 1, 1, 1, 1, 1, 1, true, true},
      // A filter's gradient: few output pixels, sums over three blocks
      // (K = 64·14·14), split between the threads.
      {2, 64, 16, 14, 14, 3, 3, 1, 1, 1, 1},
      // Few pixels and many channels (a late layer at batch 1): rows split
      // between the threads.
      {1, 512, 160, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, true},
      // One pixel, a 1×1 filter.
      {1, 7, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      // Three panels of output channels read in place.
      {2, 4, 70, 3, 2, 4, 5, 2, 3, 2, 1, 2},
      // Up to 256 output channels with at least 1024 pixels (2·24·24): read
      // in place too.
      {2, 3, 140, 3, 3, 24, 24, 1, 1, 1, 1, 1, 0, true},
      // More than 128 output channels: patches packed on every kernel.
      {2, 4, 140, 3, 2, 4, 5, 2, 3, 2, 1, 2},
      {2, 3, 150, 3, 3, 6, 6, 1, 1, 1, 1, 1, 2, true},
      {2, 3, 136, 3, 3, 5, 5, 1, 1, 1, 1, 1, 1, false, true},
      // Into a dense output with the epilogue: adding to what it held;
      // panels that straddle images (7·9 pixels).
      {2, 3, 136, 3, 3, 5, 5, 1, 1, 1, 1, 1, 0, true, true},
      {3, 5, 140, 3, 3, 7, 9, 1, 1, 1, 1, 1, 0, true},
      // Patches two floats apart along x, packed (a horizontal stride of 2,
      // and a stride of 1 on an input read with a stride of 2), runs longer
      // than a vector.
      {2, 3, 140, 3, 3, 5, 20, 2, 2, 1, 1},
      {1, 3, 136, 3, 1, 4, 19, 1, 1, 1, 1, 2, 0, true},
      // A constant filter, 3×3 stride 1, enough channels and tiles:
      // Winograd's F(2×2, 3×3) where the kernel has its transforms. Odd
      // output sizes (tiles past the edges), groups of 16 tiles that
      // straddle rows and images, a partial last block, output channels
      // not a multiple of 8; into a view with the epilogue; adding to the
      // output with it; more input channels than one kernel call sums
      // (300 > 256); two waves of blocks (2·16·16 tiles of 264 channels).
      {2, 40, 36, 3, 3, 7, 9, 1, 1, 1, 1, 1, 0, false, false, true},
      {2, 33, 41, 3, 3, 9, 6, 1, 1, 1, 1, 1, 2, true, false, true},
      {2, 32, 40, 3, 3, 8, 8, 1, 1, 1, 1, 1, 0, true, true, true},
      {2, 300, 40, 3, 3, 8, 8, 1, 1, 1, 1, 1, 0, true, false, true},
      {2, 264, 32, 3, 3, 32, 32, 1, 1, 1, 1, 1, 0, false, false, true},
      // One tile per tile row (every lane a run of its own), its second
      // output column outside the output; with the epilogue and adding.
      {1, 32, 32, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, true, true, true},
      // Constant filters that Winograd leaves to the implicit GEMM: a
      // stride of 2, too few tiles, too few channels.
      {2, 40, 36, 3, 3, 7, 9, 2, 2, 1, 1, 1, 0, false, false, true},
      {1, 40, 36, 3, 3, 7, 7, 1, 1, 1, 1, 1, 0, false, false, true},
      {2, 8, 36, 3, 3, 7, 9, 1, 1, 1, 1, 1, 0, false, false, true},
      // Constant filters of few output pixels (a late layer at batch 1):
      // pixels read in place, the filter transposed once into the cache,
      // tasks split by output channels. 49 and 98 pixels in groups of 7
      // (the kernel's short tile, where it has one); 300 channels (a
      // partial last panel) with the epilogue; a stride of 2 into a view,
      // adding, with the epilogue; a strided 1×1 filter with K in three
      // blocks (520); 75 pixels (groups of 8, the last partial) with
      // dilation; 288 pixels and 300 channels: patches packed as before.
      {1, 40, 300, 3, 3, 7, 7, 1, 1, 1, 1, 1, 0, true, false, true},
      {2, 64, 160, 3, 3, 7, 7, 2, 2, 1, 1, 1, 1, true, true, true},
      {1, 520, 256, 1, 1, 14, 14, 2, 2, 1, 1, 1, 0, false, false, true},
      {3, 16, 64, 3, 3, 5, 5, 1, 1, 2, 2, 1, 0, true, false, true},
      {2, 8, 300, 3, 3, 12, 12, 2, 2, 1, 1, 1, 0, false, false, true},
      // Up to four input channels and 32 patch elements (an image
      // network's first layer), summed tap by tap where the kernel can:
      // MobileNetV2's 3×3 stride 2 into a view with the epilogue (rows of
      // 112: chunks of 48, 48 and 16); a 1×5 filter of 4 channels, stride
      // 2, 20 output channels (the last eight partial), rows of 40 (48
      // less 8), adding; stride 1 with dilation, rows of 27 (16 and 11)
      // and one channel; two channels, rows of 70 (48 and 22), stride 2
      // with dilation 2, the epilogue on what was added; stride 1, rows of
      // 100 (two whole chunks of 48, read without masks, and 4), into a
      // view with the epilogue, adding. ResNet-50's 7×7 (K = 147) stays an
      // implicit GEMM.
      {1, 3, 32, 3, 3, 5, 112, 2, 2, 1, 1, 1, 1, true, false, true},
      {2, 4, 20, 1, 5, 3, 40, 2, 2, 1, 1, 1, 0, false, true, true},
      {1, 3, 20, 7, 7, 2, 40, 2, 2, 1, 1, 1, 0, true, false, true},
      {2, 1, 9, 3, 3, 4, 27, 1, 1, 2, 2, 1, 0, true},
      {1, 2, 17, 3, 3, 3, 70, 2, 2, 2, 2, 1, 2, true, true},
      {1, 3, 12, 3, 3, 3, 100, 1, 1, 1, 1, 1, 1, true, true},
  };
  unsigned seed = 100;
  for (const GemmMicroKernel *kernel : runnableKernels())
    for (unsigned threads : {1u, 2u}) {
      ThreadPool pool(threads);
      ThreadPool::Scope scope(&pool);
      for (const ConvCase &test : cases)
        checkConv(kernel, test, seed += 10);
    }
}

TEST(ConvTest, KernelTransposesBlocksOfSums) {
  // Row counts that are and are not multiples of 16; source and target
  // rows longer than the block; the target's padding past `rows` may be
  // written, nothing past the block's columns.
  for (const GemmMicroKernel *kernel : runnableKernels()) {
    if (!kernel->transpose)
      continue;
    for (int rows : {1, 8, 13, 16, 40})
      for (int cols : {16, 64}) {
        const int64_t lds = cols + 5, ldt = (rows + 15) / 16 * 16 + 3;
        std::vector<float> source = randomFloats(rows * lds, unsigned(rows * cols));
        std::vector<float> target((cols + 1) * ldt, -7.0f);
        kernel->transpose(source.data(), lds, rows, cols, target.data(), ldt);
        for (int j = 0; j < cols; ++j)
          for (int i = 0; i < rows; ++i)
            ASSERT_EQ(target[j * ldt + i], source[i * lds + j])
                << kernel->name << " rows " << rows << " cols " << cols << " at " << i << ", " << j;
        for (int64_t e = cols * ldt; e < int64_t(target.size()); ++e)
          ASSERT_EQ(target[e], -7.0f) << kernel->name << " wrote past the block";
      }
  }
}

TEST(KernelProfileTest, EntryPointsTimeThemselvesIntoTheCurrentProfile) {
  // Two products of one shape and a 3×3 convolution of a weight (Winograd
  // where the host kernel has it): an entry per kernel and shape, with its
  // calls and FLOPs; nothing is added without a current profile.
  const int64_t m = 8, n = 16, k = 4;
  std::vector<float> a = randomFloats(m * k, 1), b = randomFloats(k * n, 2), c(m * n);
  const int64_t C = 32, O = 32, ho = 8, wo = 8, hp = ho + 2, wp = wo + 2;
  std::vector<float> input = randomFloats(2 * C * hp * wp, 3), filter = randomFloats(O * C * 9, 4),
                     output(2 * O * ho * wo);
  KernelProfile profile;
  auto runKernels = [&] {
    for (int i = 0; i < 2; ++i)
      dlc_gemm_f32(1, m, n, k, a.data(), 0, k, b.data(), 0, n, 1, c.data(), 0, n,
                   kGemmOverwriteC);
    GemmPackCache cache;
    GemmPackCache::Scope packings(&cache);
    dlc_conv2d_f32(2, C, O, 3, 3, ho, wo, 1, 1, 1, 1, input.data(), C * hp * wp, hp * wp, wp, 1,
                   filter.data(), C * 9, output.data(), O * ho * wo, ho * wo, wo,
                   kGemmOverwriteC | kConvConstantFilter);
  };
  runKernels();
  EXPECT_TRUE(profile.entries().empty());
  {
    KernelProfile::Scope scope(&profile);
    runKernels();
  }
  std::vector<KernelProfile::Entry> entries = profile.entries();
  ASSERT_EQ(entries.size(), 2u);
  auto find = [&](llvm::StringRef kernel) -> const KernelProfile::Entry * {
    for (const KernelProfile::Entry &entry : entries)
      if (entry.kernel == kernel)
        return &entry;
    return nullptr;
  };
  const KernelProfile::Entry *gemm = find("gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->shape, "1 x (8x4 · 4x16)");
  EXPECT_EQ(gemm->calls, 2);
  EXPECT_EQ(gemm->flops, 2.0 * 2 * m * n * k);
  EXPECT_GT(gemm->seconds, 0.0);
  const KernelProfile::Entry *conv =
      find(hostGemmKernel().winogradInput ? "conv2d (Winograd)" : "conv2d");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->shape, "2x32 -> 32x8x8, 3x3 stride 1x1");
  EXPECT_EQ(conv->calls, 1);
  EXPECT_EQ(conv->flops, 2.0 * 2 * O * ho * wo * C * 9);
  EXPECT_GE(entries[0].seconds, entries[1].seconds);
}

TEST(ConvTest, EntryPointUsesTheHostKernel) {
  // dlc_conv2d_f32, as generated code calls it: a 3×3 convolution of two
  // images equals the float64 sums.
  const int64_t n = 2, c = 3, o = 5, ho = 4, wo = 6, hp = ho + 2, wp = wo + 2;
  std::vector<float> input = randomFloats(n * c * hp * wp, 7), filter = randomFloats(o * c * 9, 8),
                     output(n * o * ho * wo, std::nanf(""));
  dlc_conv2d_f32(n, c, o, 3, 3, ho, wo, 1, 1, 1, 1, input.data(), c * hp * wp, hp * wp, wp, 1,
                 filter.data(), c * 9, output.data(), o * ho * wo, ho * wo, wo, kGemmOverwriteC);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t q = 0; q < o; ++q)
      for (int64_t y = 0; y < ho; ++y)
        for (int64_t x = 0; x < wo; ++x) {
          double want = 0;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j)
                want += double(filter[(q * c + ch) * 9 + i * 3 + j]) *
                        input[((b * c + ch) * hp + y + i) * wp + x + j];
          EXPECT_NEAR(output[((b * o + q) * ho + y) * wo + x], want, 1e-5);
        }
}

/// Whether `got` is `want` exactly: both NaN, or equal with the same sign
/// (a -0 for a +0 is a mismatch).
bool sameFloat(float got, float want) {
  return std::isnan(want) ? std::isnan(got)
                          : got == want && std::signbit(got) == std::signbit(want);
}

/// arith.maximumf, written independently of the kernels: NaN if either
/// is NaN, and +0 above -0.
/// One depthwise convolution for dlc_depthwise_conv2d_f32.
struct DepthwiseCase {
  int64_t n, c, kh, kw, ho, wo, sh, sw, dh, dw;
  bool epilogue = false, accumulate = false;
  /// The padding above, left, below and right of the input, which the
  /// kernel reads as zeros. (Negative below or right: the input has rows
  /// or columns there that no output reads.)
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  /// Input rows exactly w floats apart and the output a whole buffer (no
  /// view): the planes a stride-1 convolution of a narrow plane computes
  /// as flat vectors across rows.
  bool dense = false;
};

/// Runs `test` through depthwiseConv2dF32 with `kernel`, its output a view
/// inside a bigger buffer, and compares every element of that buffer with
/// a float64 convolution (and epilogue) computed here.
void checkDepthwise(const char *name, DepthwisePlaneKernel kernel, const DepthwiseCase &test,
                    unsigned seed) {
  SCOPED_TRACE(testing::Message() << name << " depthwise " << test.n << "x" << test.c << " "
                                  << test.kh << "x" << test.kw << " out " << test.ho << "x"
                                  << test.wo << " stride " << test.sh << "," << test.sw
                                  << " dilation " << test.dh << "," << test.dw
                                  << (test.epilogue ? " epilogue" : "")
                                  << (test.accumulate ? " accumulate" : "") << " padding "
                                  << test.pt << "," << test.pl << "," << test.pb << ","
                                  << test.pr);
  // The input, h × w inside its padding.
  const int64_t h = (test.ho - 1) * test.sh + (test.kh - 1) * test.dh + 1 - test.pt - test.pb;
  const int64_t w = (test.wo - 1) * test.sw + (test.kw - 1) * test.dw + 1 - test.pl - test.pr;
  // Input rows three floats longer than they need be (unless dense),
  // planes exactly h rows.
  const int64_t inH = test.dense ? w : w + 3, inC = h * inH, inN = test.c * inC;
  std::vector<float> input = randomFloats(test.n * inN, seed),
                     filter = randomFloats(test.c * test.kh * test.kw, seed + 1);
  // The output: a view at (1, 2) of planes of (ho + 2) × (wo + 3), or
  // (dense) planes of ho × wo.
  const int64_t outH = test.dense ? test.wo : test.wo + 3,
                outC = (test.dense ? test.ho : test.ho + 2) * outH, outN = test.c * outC;
  std::vector<float> output = randomFloats(test.n * outN, seed + 2), before = output;
  const int64_t top = test.dense ? 0 : 1, left = test.dense ? 0 : 2;
  float *out = output.data() + top * outH + left;
  const int64_t residualC = test.ho * test.wo, residualN = test.c * residualC;
  std::vector<float> scale = randomFloats(test.c, seed + 3), shift = randomFloats(test.c, seed + 4),
                     residual = randomFloats(test.n * residualN, seed + 5);
  const float lo = -0.5f, hi = 1.5f;
  int64_t flags = test.accumulate ? 0 : kGemmOverwriteC;
  if (test.epilogue)
    flags |= kGemmClampMin | kGemmClampMax;
  depthwiseConv2dF32(kernel, test.n, test.c, test.kh, test.kw, test.ho, test.wo, test.sh,
                     test.sw, test.dh, test.dw, input.data(), inN, inC, inH, filter.data(),
                     test.kh * test.kw, out, outN, outC, outH, flags,
                     test.epilogue ? scale.data() : nullptr,
                     test.epilogue ? shift.data() : nullptr,
                     test.epilogue ? residual.data() : nullptr, residualN, residualC, test.wo,
                     bitsOf(lo), bitsOf(hi), h, w, test.pt, test.pl);
  int64_t mismatches = 0;
  for (int64_t e = 0; e < int64_t(output.size()); ++e) {
    const int64_t b = e / outN, c = e % outN / outC, y = e % outC / outH - top,
                  x = e % outH - left;
    double want = before[e]; // outside the view: untouched
    if (y >= 0 && y < test.ho && x >= 0 && x < test.wo) {
      double sum = test.accumulate ? before[e] : 0.0;
      for (int64_t i = 0; i < test.kh; ++i)
        for (int64_t j = 0; j < test.kw; ++j) {
          const int64_t row = y * test.sh + i * test.dh - test.pt,
                        column = x * test.sw + j * test.dw - test.pl;
          const bool inside = row >= 0 && row < h && column >= 0 && column < w;
          sum += double(filter[(c * test.kh + i) * test.kw + j]) *
                 (inside ? input[b * inN + c * inC + row * inH + column] : 0.0);
        }
      want = sum;
      if (test.epilogue) {
        want = want * scale[c] + shift[c] + residual[b * residualN + c * residualC + y * test.wo + x];
        want = std::min(std::max(want, double(lo)), double(hi));
      }
    }
    const double tolerance = 2e-6 * std::sqrt(double(test.kh * test.kw + 1));
    if (!(std::abs(output[e] - want) <= tolerance) && mismatches++ < 5)
      ADD_FAILURE() << "image " << b << " channel " << c << " (" << y << ", " << x
                    << "): " << output[e] << " want " << want;
  }
  EXPECT_EQ(mismatches, 0);
}

std::vector<std::pair<const char *, DepthwisePlaneKernel>> runnableDepthwiseKernels() {
  __builtin_cpu_init();
  std::vector<std::pair<const char *, DepthwisePlaneKernel>> kernels = {
      {"portable", &depthwisePlanePortable}};
  if (__builtin_cpu_supports("avx512f"))
    kernels.push_back({"avx512", &depthwisePlaneAvx512});
  return kernels;
}

TEST(DepthwiseTest, EveryKernelMatchesFloat64Convolution) {
  const DepthwiseCase cases[] = {
      // MobileNet's 3×3 layers at both strides, on the plane widths that
      // take each path: up to 16 (eight rows, then two, then one at a
      // time), up to 32 (four rows), wider (chunks of 64, a partial last).
      {1, 3, 3, 3, 7, 7, 1, 1, 1, 1},
      {2, 3, 3, 3, 14, 14, 1, 1, 1, 1, true},
      {1, 2, 3, 3, 19, 16, 2, 2, 1, 1, false, true},
      {1, 3, 3, 3, 9, 28, 1, 1, 1, 1, true},
      {1, 2, 3, 3, 6, 17, 2, 2, 1, 1, false, true},
      {2, 2, 3, 3, 5, 56, 2, 2, 1, 1, true},
      {1, 2, 3, 3, 3, 112, 1, 1, 1, 1},
      {1, 2, 3, 3, 5, 70, 1, 1, 1, 1, true, true},
      // Other filters (taps not unrolled), dilations, a stride of 3 (the
      // portable version's on every CPU).
      {1, 3, 5, 5, 6, 20, 1, 1, 1, 1, true},
      {2, 2, 3, 2, 4, 9, 2, 2, 2, 3},
      {1, 2, 3, 3, 4, 11, 3, 3, 1, 1, true},
      {1, 2, 1, 1, 3, 40, 1, 2, 1, 1},
      // Padding read as zeros (MobileNet's: 1 all round at stride 1; at
      // stride 2, 1 with the last row and column never read), on every
      // path; wider padding, more on one side, dilated taps reaching past
      // a whole vector of padding; an input narrower than the filter.
      {1, 3, 3, 3, 7, 7, 1, 1, 1, 1, true, false, 1, 1, 1, 1},
      {2, 3, 3, 3, 14, 14, 1, 1, 1, 1, false, true, 1, 1, 1, 1},
      {1, 2, 3, 3, 14, 14, 2, 2, 1, 1, true, false, 1, 1, 0, 0},
      {1, 2, 3, 3, 9, 28, 1, 1, 1, 1, false, false, 1, 1, 1, 1},
      {1, 2, 3, 3, 8, 28, 2, 2, 1, 1, true, false, 1, 1, -1, -1},
      {2, 2, 3, 3, 5, 56, 2, 2, 1, 1, true, true, 1, 1, 0, 0},
      {1, 2, 3, 3, 4, 112, 1, 1, 1, 1, false, false, 1, 1, 1, 1},
      {1, 2, 3, 3, 5, 70, 1, 1, 1, 1, true, true, 2, 3, 0, 1},
      {1, 3, 5, 5, 6, 20, 1, 1, 1, 1, true, false, 2, 2, 2, 2},
      {2, 2, 3, 3, 6, 40, 1, 1, 9, 9, false, false, 9, 17, 9, 17},
      {1, 2, 3, 2, 6, 9, 2, 2, 2, 3, false, false, 3, 4, 1, 2},
      {1, 2, 3, 3, 4, 11, 3, 3, 1, 1, true, false, 1, 2, 1, 0},
      {1, 2, 3, 3, 5, 5, 1, 1, 1, 1, false, false, 3, 3, 3, 3},
      // Dense planes narrower than a vector at stride 1, as flat vectors
      // across rows: MobileNet's 7×7 (four vectors) and 14×14 (13, the
      // most), one vector, eight, a 5×5 filter, dilation, more rows than
      // the output.
      {1, 3, 3, 3, 7, 7, 1, 1, 1, 1, true, false, 1, 1, 1, 1, true},
      {2, 2, 3, 3, 7, 7, 1, 1, 1, 1, false, true, 1, 1, 1, 1, true},
      {1, 2, 3, 3, 3, 4, 1, 1, 1, 1, true, false, 1, 1, 1, 1, true},
      {1, 2, 3, 3, 16, 8, 1, 1, 1, 1, true, true, 1, 1, 1, 1, true},
      {1, 2, 5, 5, 6, 9, 1, 1, 1, 1, true, false, 2, 2, 2, 2, true},
      {1, 2, 3, 3, 6, 6, 1, 1, 2, 2, false, false, 2, 2, 2, 2, true},
      {1, 2, 3, 3, 5, 7, 1, 1, 1, 1, true, false, 0, 1, -1, 1, true},
      {1, 2, 3, 3, 14, 14, 1, 1, 1, 1, true, false, 1, 1, 1, 1, true},
      // Dense but not flat: wider than a vector, more than 13 vectors.
      {1, 2, 3, 3, 4, 16, 1, 1, 1, 1, true, false, 1, 1, 1, 1, true},
      {1, 2, 3, 3, 15, 15, 1, 1, 1, 1, true, false, 1, 1, 1, 1, true},
  };
  unsigned seed = 300;
  for (auto [name, kernel] : runnableDepthwiseKernels())
    for (unsigned threads : {1u, 2u}) {
      ThreadPool pool(threads);
      ThreadPool::Scope scope(&pool);
      for (const DepthwiseCase &test : cases)
        checkDepthwise(name, kernel, test, seed += 10);
    }
}

TEST(DepthwiseTest, OverwriteNeverReadsTheOutputAndNaNBoundsGiveNaN) {
  // Generated code's entry point (the host's kernel), as a call after
  // dlc-cpu-kernel-calls makes it: a NaN in the output it overwrites must
  // not come through; with a NaN bound every element is NaN.
  // The input is ho × wo with a padding of 1 all round (read as zeros).
  const int64_t c = 4, ho = 5, wo = 21;
  std::vector<float> input = randomFloats(c * ho * wo, 7), filter = randomFloats(c * 9, 8);
  for (float nanBound : {0.0f, std::numeric_limits<float>::quiet_NaN()}) {
    std::vector<float> output(c * ho * wo, std::numeric_limits<float>::quiet_NaN());
    dlc_depthwise_conv2d_f32(1, c, c, 3, 3, ho, wo, 1, 1, 1, 1, input.data(), c * ho * wo,
                             ho * wo, wo, 1, filter.data(), 9, output.data(), c * ho * wo,
                             ho * wo, wo, kGemmOverwriteC | kGemmClampMin, nullptr, nullptr,
                             nullptr, 0, 0, 0, bitsOf(nanBound), 0, ho, wo, 1, 1);
    for (float v : output)
      EXPECT_EQ(std::isnan(v), std::isnan(nanBound));
  }
}

TEST(DepthwiseTest, PaddingMultipliesAsZeros) {
  // The padding is never stored, but every kernel multiplies it as a
  // stored zero would be (the padded copy and the generated loops do):
  // with an infinite weight, 0 · inf makes the outputs that read the
  // padding there NaN; the others read a finite input there (±inf).
  const int64_t c = 2, ho = 5, wo = 6;
  std::vector<float> input = randomFloats(c * ho * wo, 9), filter = randomFloats(c * 9, 10);
  for (float &x : input)
    x = x == 0.0f ? 0.5f : x;
  filter[1] = std::numeric_limits<float>::infinity(); // channel 0, tap (0, 1)
  for (auto [name, kernel] : runnableDepthwiseKernels()) {
    SCOPED_TRACE(name);
    std::vector<float> output(c * ho * wo);
    depthwiseConv2dF32(kernel, 1, c, 3, 3, ho, wo, 1, 1, 1, 1, input.data(), c * ho * wo,
                       ho * wo, wo, filter.data(), 9, output.data(), c * ho * wo, ho * wo, wo,
                       kGemmOverwriteC, nullptr, nullptr, nullptr, 0, 0, 0, 0, 0, ho, wo, 1, 1);
    for (int64_t y = 0; y < ho; ++y)
      for (int64_t x = 0; x < wo; ++x) {
        EXPECT_EQ(std::isnan(output[y * wo + x]), y == 0) << "channel 0 (" << y << ", " << x << ")";
        EXPECT_TRUE(std::isfinite(output[(ho + y) * wo + x]))
            << "channel 1 (" << y << ", " << x << ")";
      }
  }
}

/// A pointwise product and the depthwise convolution of its result, for
/// dlc_expand_depthwise_f32.
struct ExpandDepthwiseCase {
  int64_t n, k, m, h, w, stride;
  int64_t pt = 1, pl = 1, pb = 1, pr = 1; ///< the depthwise convolution's padding
  /// Whether the two kernels' shapes let the runtime fuse them (on a CPU
  /// with AVX-512): the test then checks that it did, from the profile.
  bool fusable = true;
  /// The first kernel: a pointwise product of k channels (0), or a 3×3
  /// convolution of k channels with this stride (dlc_conv2d_f32, its input
  /// padded already).
  int64_t convStride = 0;
  /// Scales, shifts and clamps on both kernels (or only shifts).
  bool terms = true;
  /// Channel 0's first depthwise tap infinite: where it meets the
  /// padding, 0 · inf makes the output NaN, as in the depthwise kernel.
  bool infiniteTap = false;
};

/// Runs `test` through expandDepthwiseF32 or convDepthwiseF32 (fused, and
/// the two kernels apart; with the weights' packing in a GemmPackCache or
/// made per call), the input's channel planes 5 floats apart more than
/// they need be and the output a view inside a bigger buffer, and compares
/// every element of that buffer, and of the first kernel's output where
/// the kernels ran apart, with float64 computed here.
void checkExpandDepthwise(const ExpandDepthwiseCase &test, bool fuse, bool cached,
                          unsigned seed, bool intermediate = true) {
  const int64_t cs = test.convStride;
  SCOPED_TRACE(testing::Message()
               << (fuse ? "fused " : "apart ") << (cached ? "" : "uncached ")
               << (intermediate ? "" : "without an intermediate ")
               << (cs ? "conv " : "product ") << (test.terms ? "" : "shifts only ")
               << (test.infiniteTap ? "infinite tap " : "") << test.n << "x"
               << test.k << " -> " << test.m << "x" << test.h << "x" << test.w << " stride "
               << test.stride << " padding " << test.pt << "," << test.pl << "," << test.pb
               << "," << test.pr);
  // The first kernel's input: for a product, k planes of the expanded
  // size; for a convolution, k padded planes ((h - 1)·cs + 3 rows of
  // (w - 1)·cs + 3, each row a float longer). Planes 5 floats apart more
  // than they need be.
  const int64_t pixels = test.h * test.w;
  const int64_t inH = cs ? (test.w - 1) * cs + 4 : test.w,
                inC = (cs ? ((test.h - 1) * cs + 3) * inH : pixels) + 5, inN = test.k * inC;
  const int64_t sum = cs ? test.k * 9 : test.k;
  const int64_t ho = (test.h + test.pt + test.pb - 3) / test.stride + 1,
                wo = (test.w + test.pl + test.pr - 3) / test.stride + 1;
  std::vector<float> input = randomFloats(test.n * inN, seed),
                     weights = randomFloats(test.m * sum, seed + 1),
                     filter = randomFloats(test.m * 9, seed + 2),
                     scale1 = randomFloats(test.m, seed + 3), shift1 = randomFloats(test.m, seed + 4),
                     scale2 = randomFloats(test.m, seed + 5), shift2 = randomFloats(test.m, seed + 6);
  std::vector<float> product(test.n * test.m * pixels, 7.0f);
  const int64_t outH = wo + 3, outC = (ho + 2) * outH, outN = test.m * outC;
  std::vector<float> output = randomFloats(test.n * outN, seed + 7), before = output;
  float *out = output.data() + outH + 2;
  if (test.infiniteTap)
    filter[0] = std::numeric_limits<float>::infinity();
  const float lo1 = -0.5f, hi1 = 1.0f, lo2 = -1.0f, hi2 = 1.5f;
  const int64_t clamps = test.terms ? kGemmClampMin | kGemmClampMax : 0;
  auto address = [](const void *p) { return int64_t(reinterpret_cast<uintptr_t>(p)); };
  // Without an intermediate (as dlc-cpu-pair-kernels leaves the call), its
  // address is 0 and the kernels apart take a buffer of their own.
  const int64_t productAddress = intermediate ? address(product.data()) : 0;
  // Without terms, no scales: they read as 1 below.
  if (!test.terms) {
    std::fill(scale1.begin(), scale1.end(), 1.0f);
    std::fill(scale2.begin(), scale2.end(), 1.0f);
  }
  const int64_t scales1 = test.terms ? address(scale1.data()) : 0,
                scales2 = test.terms ? address(scale2.data()) : 0;
  const int64_t gemm[kGemmF32Arguments] = {
      test.n, test.m, pixels, test.k, address(weights.data()), 0, test.k,
      address(input.data()), inN, inC, 1, productAddress, test.m * pixels, pixels,
      kGemmOverwriteC | kGemmConstantA | clamps, scales1, address(shift1.data()), 0, 0, 0,
      bitsOf(lo1), bitsOf(hi1)};
  const int64_t conv[kConv2dF32Arguments] = {
      test.n, test.k, test.m, 3, 3, test.h, test.w, cs, cs, 1, 1, address(input.data()), inN,
      inC, inH, 1, address(weights.data()), sum, productAddress, test.m * pixels,
      pixels, test.w, kGemmOverwriteC | kConvConstantFilter | clamps, scales1,
      address(shift1.data()), 0, 0, 0, 0, bitsOf(lo1), bitsOf(hi1)};
  const int64_t depthwise[kDepthwiseConv2dF32Arguments] = {
      test.n, test.m, test.m, 3, 3, ho, wo, test.stride, test.stride, 1, 1,
      productAddress, test.m * pixels, pixels, test.w, 1, address(filter.data()), 9,
      address(out), outN, outC, outH, kGemmOverwriteC | kConvConstantFilter | clamps, scales2,
      address(shift2.data()), 0, 0, 0, 0, bitsOf(lo2), bitsOf(hi2), test.h, test.w, test.pt,
      test.pl};
  KernelProfile profile;
  // A run's pool of buffers, which the kernels apart take theirs from.
  BufferPool buffers;
  {
    // A cache of its own: the weights are new (at an address a previous
    // call's may have had).
    GemmPackCache cache;
    GemmPackCache::Scope packings(cached ? &cache : nullptr);
    KernelProfile::Scope scope(&profile);
    BufferPool::Scope pool(&buffers);
    if (cs)
      convDepthwiseF32(conv, depthwise, fuse);
    else
      expandDepthwiseF32(gemm, depthwise, fuse);
  }
  // The expanded tensor in float64, and for each element the sum of its
  // terms' magnitudes (for the tolerance).
  std::vector<double> expanded(product.size()), magnitude(product.size());
  for (int64_t b = 0; b < test.n; ++b)
    for (int64_t c = 0; c < test.m; ++c)
      for (int64_t p = 0; p < pixels; ++p) {
        double sum = 0, size = 0;
        for (int64_t q = 0; q < test.k; ++q)
          for (int64_t t = 0; t < (cs ? 9 : 1); ++t) {
            const int64_t at = cs ? (p / test.w * cs + t / 3) * inH + p % test.w * cs + t % 3 : p;
            const double term =
                double(weights[c * (cs ? test.k * 9 : test.k) + (cs ? q * 9 + t : q)]) *
                input[b * inN + q * inC + at];
            sum += term, size += std::abs(term);
          }
        double v = sum * scale1[c] + shift1[c];
        if (test.terms)
          v = std::min(std::max(v, double(lo1)), double(hi1));
        const int64_t e = (b * test.m + c) * pixels + p;
        expanded[e] = v;
        magnitude[e] = size * std::abs(scale1[c]) + std::abs(shift1[c]);
      }
  const bool ranApart = !fuse || !test.fusable || !__builtin_cpu_supports("avx512f");
  int64_t mismatches = 0;
  if (ranApart && intermediate)
    for (size_t e = 0; e < product.size(); ++e)
      if (!(std::abs(product[e] - expanded[e]) <= 2e-7 * (sum + 2) * magnitude[e] + 1e-7) &&
          mismatches++ < 5)
        ADD_FAILURE() << "expanded element " << e << ": " << product[e] << " want "
                      << expanded[e];
  if (!intermediate) {
    EXPECT_TRUE(std::all_of(product.begin(), product.end(), [](float v) { return v == 7.0f; }))
        << "the intermediate given as 0 is not written";
    EXPECT_EQ(buffers.bytesHeld() > 0, ranApart) << "the kernels apart use the run's pool";
  }
  for (int64_t e = 0; e < int64_t(output.size()); ++e) {
    const int64_t b = e / outN, c = e % outN / outC, y = e % outC / outH - 1, x = e % outH - 2;
    double want = before[e], size = 0; // outside the view: untouched
    if (y >= 0 && y < ho && x >= 0 && x < wo) {
      double sum = 0;
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          // The padding multiplies as zeros (0 · inf is NaN).
          const int64_t row = y * test.stride + i - test.pt, column = x * test.stride + j - test.pl;
          const bool inside = row >= 0 && row < test.h && column >= 0 && column < test.w;
          const int64_t at = (b * test.m + c) * pixels + row * test.w + column;
          const double in = inside ? expanded[at] : 0.0;
          sum += double(filter[c * 9 + i * 3 + j]) * in;
          if (inside)
            size += std::abs(filter[c * 9 + i * 3 + j]) * (std::abs(in) + magnitude[at]);
        }
      want = sum * scale2[c] + shift2[c];
      // max and min keep a NaN, as the kernels' epilogue does.
      if (test.terms && !std::isnan(want))
        want = std::min(std::max(want, double(lo2)), double(hi2));
      size = size * std::abs(scale2[c]) + std::abs(shift2[c]);
    }
    const bool right = std::isnan(want) ? std::isnan(output[e])
                       : std::isinf(want) ? double(output[e]) == want
                                          : std::abs(output[e] - want) <= 2e-7 * (sum + 12) * size + 1e-7;
    if (!right && mismatches++ < 5)
      ADD_FAILURE() << "image " << b << " channel " << c << " (" << y << ", " << x
                    << "): " << output[e] << " want " << want;
  }
  EXPECT_EQ(mismatches, 0);
  // Which way it ran: the profile names the fused kernel, or the two.
  std::vector<std::string> names;
  for (const auto &entry : profile.entries())
    names.push_back(entry.kernel);
  const bool fused = llvm::is_contained(names, cs ? "conv + depthwise" : "expand + depthwise");
  EXPECT_EQ(fused, !ranApart);
}

TEST(ExpandDepthwiseTest, MatchesFloat64FusedAndApart) {
  const ExpandDepthwiseCase cases[] = {
      // MobileNetV2's first block at a smaller size: rows of 40, stride 2.
      {1, 16, 96, 20, 40, 2},
      // Stride 1, channels in a panel and a half (48), two images.
      {2, 24, 48, 9, 11, 1},
      // Rows of 17: the last interior output (all taps inside) ends a run
      // of 8 outputs summed together.
      {1, 16, 32, 4, 17, 1},
      // Rows narrower than the 8 pixels a tile sums, 7×7 and 5×3.
      {1, 40, 64, 7, 7, 1},
      {1, 8, 32, 5, 3, 1},
      // Stride 2 with the padding below and right only (TensorFlow's
      // "same" for even sizes), and with none: rows of 2 left over.
      {1, 12, 16, 14, 14, 2, 0, 0, 1, 1},
      {1, 12, 16, 13, 9, 2, 0, 0, 0, 0},
      // Padding of 2 (rows and columns of zeros only), odd output rows.
      {1, 5, 32, 6, 10, 1, 2, 2, 2, 2},
      // Not fusable: channels not in whole vectors (the two kernels run).
      {1, 8, 24, 6, 6, 1, 1, 1, 1, 1, false},
      // A 3×3 convolution of 3 channels with stride 2 first (MobileNet's
      // first layer), then of 2 with stride 1, rows of 7.
      {1, 3, 32, 12, 20, 1, 1, 1, 1, 1, true, 2},
      {2, 2, 16, 5, 7, 2, 1, 1, 1, 1, true, 1},
      // Enough output rows for ranges of rows as tasks on two threads (a
      // task starts mid-image, with its rows above recomputed): stride 1;
      // stride 2 padded below and right only; padding of 2; two images.
      {1, 8, 32, 40, 12, 1},
      {1, 8, 16, 40, 10, 2, 0, 0, 1, 1},
      {1, 8, 32, 30, 9, 1, 2, 2, 2, 2},
      {2, 8, 16, 24, 8, 1},
      // Rows of 44 and 48: a ring of 32 channels would not fit in half of
      // L1, so tasks take panels of 16 (three; two after a convolution),
      // whose expansions sum 16 pixels a tile (44: 16, 16, then 8 and 4).
      {1, 8, 48, 20, 44, 1},
      {1, 3, 32, 10, 48, 1, 1, 1, 1, 1, true, 2},
      // Shifts only, no scales or clamps; and an infinite tap that meets
      // the padding (NaN there, as the depthwise kernel gives).
      {1, 16, 48, 18, 13, 1, 1, 1, 1, 1, true, 0, false},
      {1, 16, 32, 18, 13, 2, 1, 1, 1, 1, true, 0, true, true},
  };
  unsigned seed = 500;
  ThreadPool pool(2);
  for (ThreadPool *threads : {static_cast<ThreadPool *>(nullptr), &pool}) {
    ThreadPool::Scope scope(threads);
    for (const ExpandDepthwiseCase &test : cases) {
      checkExpandDepthwise(test, /*fuse=*/true, /*cached=*/true, seed += 10);
      checkExpandDepthwise(test, /*fuse=*/true, /*cached=*/false, seed += 10);
      checkExpandDepthwise(test, /*fuse=*/false, /*cached=*/true, seed += 10);
      // The two calls as the compiler leaves them: no intermediate buffer.
      checkExpandDepthwise(test, /*fuse=*/true, /*cached=*/true, seed += 10,
                           /*intermediate=*/false);
      checkExpandDepthwise(test, /*fuse=*/false, /*cached=*/true, seed += 10,
                           /*intermediate=*/false);
    }
  }
}


float referenceMaximum(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<float>::quiet_NaN();
  if (a == 0 && b == 0)
    return std::signbit(a) && std::signbit(b) ? -0.0f : 0.0f;
  return std::max(a, b);
}

/// Puts ties between zeros of both signs, NaNs and `other` (a repeated
/// value or -inf) among `values`, where maximumf's rules matter.
void sprinkleMaximumfCases(std::vector<float> &values, float other) {
  for (size_t e = 0; e < values.size(); ++e) {
    if (e % 7 == 0)
      values[e] = 0.0f;
    else if (e % 11 == 0)
      values[e] = -0.0f;
    else if (e % 97 == 0)
      values[e] = std::numeric_limits<float>::quiet_NaN();
    else if (e % 13 == 0)
      values[e] = other;
  }
}

/// A copy of floats that ends where a page that cannot be read begins:
/// a kernel that reads one float past the end faults.
class GuardedFloats {
public:
  explicit GuardedFloats(const std::vector<float> &values) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t bytes = values.size() * sizeof(float);
    mappedBytes = (bytes + page - 1) / page * page + page;
    mapped = static_cast<char *>(
        mmap(nullptr, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mapped == MAP_FAILED)
      std::abort();
    mprotect(mapped + mappedBytes - page, page, PROT_NONE);
    data = reinterpret_cast<float *>(mapped + mappedBytes - page - bytes);
    std::copy(values.begin(), values.end(), data);
  }
  ~GuardedFloats() { munmap(mapped, mappedBytes); }
  GuardedFloats(const GuardedFloats &) = delete;
  GuardedFloats &operator=(const GuardedFloats &) = delete;

  float *data;

private:
  char *mapped;
  size_t mappedBytes;
};

TEST(PoolTest, MaxPool2x2MatchesMaximumfOnEveryKernel) {
  __builtin_cpu_init();
  std::vector<std::pair<const char *, MaxPool2x2Rows>> kernels = {
      {"portable", &maxPool2x2RowsPortable}};
  if (__builtin_cpu_supports("avx512f"))
    kernels.push_back({"avx512", &maxPool2x2RowsAvx512});
  // Output widths around the vector's 16 (and a last odd input row and
  // column, never read); planes enough to split over two threads.
  for (auto [name, rowsOf] : kernels)
    for (int64_t wo : {1, 7, 14, 16, 17, 40})
      for (unsigned threads : {1u, 2u}) {
        SCOPED_TRACE(testing::Message() << name << " width " << wo << " threads " << threads);
        ThreadPool pool(threads);
        ThreadPool::Scope scope(&pool);
        const int64_t n = 3, c = 5, ho = 4;
        // The input: rows of 2·wo + 1 floats (+3 of padding), 2·ho + 1 rows.
        const int64_t inH = 2 * wo + 4, inC = (2 * ho + 1) * inH, inN = c * inC;
        std::vector<float> input = randomFloats(n * inN, unsigned(wo));
        sprinkleMaximumfCases(input, 0.5f); // and equal maxima
        // The output: a view at (1, 1) of planes of (ho + 2) × (wo + 2).
        const int64_t outH = wo + 2, outC = (ho + 2) * outH, outN = c * outC;
        std::vector<float> output = randomFloats(n * outN, unsigned(wo) + 1), before = output;
        float *out = output.data() + outH + 1;
        maxPool2x2F32(rowsOf, n, c, ho, wo, input.data(), inN, inC, inH, out, outN, outC, outH);
        int64_t mismatches = 0;
        for (int64_t e = 0; e < int64_t(output.size()); ++e) {
          const int64_t plane = e / outC, y = e % outC / outH - 1, x = e % outH - 1;
          float want = before[e];
          if (y >= 0 && y < ho && x >= 0 && x < wo) {
            const float *window = input.data() + plane * inC + 2 * y * inH + 2 * x;
            want = referenceMaximum(referenceMaximum(window[0], window[1]),
                                    referenceMaximum(window[inH], window[inH + 1]));
          }
          if (!sameFloat(output[e], want) && mismatches++ < 5)
            ADD_FAILURE() << "plane " << plane << " (" << y << ", " << x << "): " << output[e]
                          << " want " << want;
        }
        EXPECT_EQ(mismatches, 0);
      }
}

TEST(PoolTest, WindowMaxPoolMatchesMaximumfOnEveryKernel) {
  __builtin_cpu_init();
  std::vector<std::pair<const char *, MaxPoolRow>> kernels = {{"portable", &maxPoolRowPortable}};
  if (__builtin_cpu_supports("avx512f"))
    kernels.push_back({"avx512", &maxPoolRowAvx512});
  // ResNet's 3×3 at stride 2, other windows and strides (3 takes the
  // portable rows on every CPU), output widths around the vector's 16.
  struct Window {
    int64_t kh, kw, sh, sw;
  };
  for (auto [name, rowOf] : kernels)
    for (Window w : {Window{3, 3, 2, 2}, Window{3, 3, 1, 1}, Window{2, 5, 1, 2},
                     Window{5, 2, 2, 1}, Window{1, 1, 1, 1}, Window{3, 3, 3, 3}})
      for (int64_t wo : {1, 7, 16, 17, 56})
        for (unsigned threads : {1u, 2u}) {
          SCOPED_TRACE(testing::Message() << name << " window " << w.kh << "x" << w.kw
                                          << " stride " << w.sh << "x" << w.sw << " width "
                                          << wo << " threads " << threads);
          ThreadPool pool(threads);
          ThreadPool::Scope scope(&pool);
          const int64_t n = 2, c = 3, ho = 5;
          // The input, padded already: exactly the rows and columns the
          // windows read (a last buffer row ends where the last window does).
          const int64_t h = (ho - 1) * w.sh + w.kh, width = (wo - 1) * w.sw + w.kw;
          const int64_t inH = width + 3, inC = h * inH, inN = c * inC;
          std::vector<float> input = randomFloats(n * inN, unsigned(wo * 10 + w.kw));
          sprinkleMaximumfCases(input, -std::numeric_limits<float>::infinity());
          // The input ends with the last window's last float, before a
          // page that cannot be read: the kernel must read nothing past it.
          const GuardedFloats exact(std::vector<float>(
              input.begin(),
              input.begin() + (n - 1) * inN + (c - 1) * inC + (h - 1) * inH + width));
          // The output: a view at (1, 1) of planes of (ho + 2) × (wo + 2),
          // which the pooling takes together with its windows.
          const int64_t outH = wo + 2, outC = (ho + 2) * outH, outN = c * outC;
          std::vector<float> output = randomFloats(n * outN, unsigned(wo) + 1), before = output;
          float *out = output.data() + outH + 1;
          maxPoolF32(rowOf, n, c, ho, wo, w.kh, w.kw, w.sh, w.sw, exact.data, inN, inC, inH,
                     out, outN, outC, outH);
          int64_t mismatches = 0;
          for (int64_t e = 0; e < int64_t(output.size()); ++e) {
            const int64_t plane = e / outC, y = e % outC / outH - 1, x = e % outH - 1;
            float want = before[e];
            if (y >= 0 && y < ho && x >= 0 && x < wo) {
              const float *window = input.data() + plane * inC + y * w.sh * inH + x * w.sw;
              for (int64_t i = 0; i < w.kh; ++i)
                for (int64_t j = 0; j < w.kw; ++j)
                  want = referenceMaximum(want, window[i * inH + j]);
            }
            if (!sameFloat(output[e], want) && mismatches++ < 5)
              ADD_FAILURE() << "plane " << plane << " (" << y << ", " << x << "): " << output[e]
                            << " want " << want;
          }
          EXPECT_EQ(mismatches, 0);
        }
}

TEST(PoolTest, MaxPool2x2ScatterMatchesItsDefinitionOnEveryKernel) {
  __builtin_cpu_init();
  std::vector<std::pair<const char *, MaxPool2x2ScatterRow>> kernels = {
      {"portable", &maxPool2x2ScatterRowPortable}};
  if (__builtin_cpu_supports("avx512f"))
    kernels.push_back({"avx512", &maxPool2x2ScatterRowAvx512});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto [name, rowOf] : kernels)
    for (int64_t w : {1, 7, 14, 28, 31, 33, 64})
      for (bool positiveOnly : {false, true})
        for (unsigned threads : {1u, 2u}) {
          SCOPED_TRACE(testing::Message() << name << " width " << w << " positive only "
                                          << positiveOnly << " threads " << threads);
          ThreadPool pool(threads);
          ThreadPool::Scope scope(&pool);
          const int64_t n = 3, c = 5, h = 7, ho = (h + 1) / 2, wo = (w + 1) / 2;
          // x in rows of w + 3; y and s dense; the output a view at (1, 1).
          const int64_t xH = w + 3, xC = h * xH, xN = c * xC;
          const int64_t pC = ho * wo, pN = c * pC;
          std::vector<float> x = randomFloats(n * xN, unsigned(w)),
                             y = randomFloats(n * pN, unsigned(w) + 1),
                             shares = randomFloats(n * pN, unsigned(w) + 2);
          // Maxima at zero (x > 0 fails where x meets them), negative
          // shares (0 · them is -0) and NaN shares.
          for (int64_t e = 0; e < n * pN; ++e) {
            if (e % 4 == 0)
              y[e] = 0.0f;
            if (e % 7 == 0)
              shares[e] = -shares[e];
            if (e % 23 == 0)
              shares[e] = nan;
          }
          // Elements that meet their maximum (some windows twice), and NaNs.
          for (int64_t b = 0; b < n * c; ++b)
            for (int64_t row = 0; row < h; ++row)
              for (int64_t col = 0; col < w; ++col) {
                float &value = x[b * xC + row * xH + col];
                const float maximum = y[b * pC + row / 2 * wo + col / 2];
                const int64_t k = row * w + col;
                if (k % 3 == 0 || k % 5 == 0)
                  value = maximum;
                else if (k % 17 == 0)
                  value = nan;
              }
          const int64_t outH = w + 2, outC = (h + 2) * outH, outN = c * outC;
          std::vector<float> output = randomFloats(n * outN, unsigned(w) + 3), before = output;
          maxPool2x2ScatterF32(rowOf, n, c, h, w, {x.data(), xN, xC, xH},
                               {y.data(), pN, pC, wo}, {shares.data(), pN, pC, wo},
                               output.data() + outH + 1, outN, outC, outH, positiveOnly);
          int64_t mismatches = 0;
          for (int64_t e = 0; e < int64_t(output.size()); ++e) {
            const int64_t plane = e / outC, row = e % outC / outH - 1, col = e % outH - 1;
            float want = before[e];
            if (row >= 0 && row < h && col >= 0 && col < w) {
              const float value = x[plane * xC + row * xH + col];
              const int64_t at = plane * pC + row / 2 * wo + col / 2;
              want = float(value == y[at]) * shares[at];
              if (positiveOnly && !(value > 0))
                want = 0.0f;
            }
            if (!sameFloat(output[e], want) && mismatches++ < 5)
              ADD_FAILURE() << "plane " << plane << " (" << row << ", " << col
                            << "): " << output[e] << " want " << want;
          }
          EXPECT_EQ(mismatches, 0);
        }
}

TEST(GemmTest, ConstantBIsPackedOnceAndReused) {
  // A weight (kGemmConstantB) is packed on the first product and the
  // packing reused: the second product must give the same result without
  // packing again, for a row-major and a transposed B, batched or not.
  const int64_t batch = 2, m = 40, n = 70, k = 300;
  std::vector<float> a = randomFloats(batch * m * k, 5), b = randomFloats(batch * k * n, 6);
  ThreadPool pool(2);
  ThreadPool::Scope scope(&pool);
  for (bool transposed : {false, true}) {
    GemmPackCache cache;
    GemmPackCache::Scope packings(&cache);
    // B[q] is k×n, or n×k read transposed.
    int64_t strideK = transposed ? 1 : n, strideN = transposed ? k : 1;
    std::vector<float> first(batch * m * n, 0.0f), second(batch * m * n, 0.0f);
    dlc_gemm_f32(batch, m, n, k, a.data(), m * k, k, b.data(), k * n, strideK, strideN,
                 first.data(), m * n, n, kGemmConstantB);
    size_t held = cache.bytesHeld();
    EXPECT_GE(held, size_t(batch * k * n) * sizeof(float)) << "one packing per product";
    dlc_gemm_f32(batch, m, n, k, a.data(), m * k, k, b.data(), k * n, strideK, strideN,
                 second.data(), m * n, n, kGemmConstantB);
    EXPECT_EQ(cache.bytesHeld(), held) << "the second run packs nothing";
    EXPECT_EQ(first, second);
    expectProducts(batch, m, n, k, a.data(), b.data(), strideK, strideN, second.data());
  }
}

TEST(GemmTest, DroppedPagesOfAMappedWeightComeBackFromTheFile) {
  // A weight in a read-only file mapping (a .dlc artifact) has its pages
  // dropped once packed; the products stay right, and reading the weight
  // again gives the file's values.
  const int64_t m = 40, n = 256, k = 512; // B: 512 KB, many whole pages
  std::vector<float> a = randomFloats(m * k, 7), b = randomFloats(k * n, 8);
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("dlc-weight", "bin", path));
  {
    std::error_code error;
    llvm::raw_fd_ostream out(path, error);
    ASSERT_FALSE(error);
    out.write(reinterpret_cast<const char *>(b.data()), b.size() * sizeof(float));
  }
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  ASSERT_TRUE(bool(file));
  ASSERT_EQ((*file)->getBufferKind(), llvm::MemoryBuffer::MemoryBuffer_MMap);
  const float *mapped = reinterpret_cast<const float *>((*file)->getBufferStart());

  GemmPackCache cache;
  cache.dropPackedSources();
  GemmPackCache::Scope packings(&cache);
  for (int round = 0; round < 2; ++round) {
    std::vector<float> c(m * n, 0.0f);
    dlc_gemm_f32(1, m, n, k, a.data(), 0, k, mapped, 0, n, 1, c.data(), 0, n, kGemmConstantB);
    SCOPED_TRACE("round " + std::to_string(round));
    expectProducts(1, m, n, k, a.data(), b.data(), n, 1, c.data(), /*step=*/7);
  }
  EXPECT_TRUE(std::equal(b.begin(), b.end(), mapped));
  llvm::sys::fs::remove(path);
}

TEST(ThreadPoolTest, EveryIndexRunsOnceAndNestingRunsInline) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.size(), 2u);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallelFor(1000, [&](int64_t i) {
      hits[i].fetch_add(1);
      // A kernel called from a worker must not wait on its own pool.
      pool.parallelFor(2, [&](int64_t) {});
    });
    for (auto &hit : hits)
      ASSERT_EQ(hit.load(), 1);
  }
  EXPECT_EQ(ThreadPool::current(), nullptr);
  {
    ThreadPool::Scope scope(&pool);
    EXPECT_EQ(ThreadPool::current(), &pool);
  }
  EXPECT_EQ(ThreadPool::current(), nullptr);
}

TEST(ThreadPoolTest, SharesCoverEveryIndexOnceWhateverTheCountAndThreads) {
  for (unsigned threads : {1u, 2u, 3u, 4u}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 2, 3, 5, 7, 64, 1001}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(count) + " indices");
      for (bool inOrder : {false, true}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        // Index 0 is slow: the other threads must take the rest of the
        // caller's share from its back, and every index still runs once.
        auto body = [&](int64_t i) {
          if (i == 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          hits[size_t(i)].fetch_add(1);
        };
        if (inOrder)
          pool.parallelForInOrder(count, body);
        else
          pool.parallelFor(count, body);
        for (auto &hit : hits)
          ASSERT_EQ(hit.load(), 1) << (inOrder ? "in order" : "in shares");
      }
    }
  }
}

TEST(ThreadPoolTest, ThreadsStartOnTheirOwnShares) {
  // Thread t's first index is the first of the t-th contiguous share, or
  // one it took from another's back; with equal, slow indices each thread
  // starts on its own, and the caller (thread 0) on index 0.
  // (The worker could take index 0 only after its own 8 indices and the
  // caller's 7 others: 75 ms with the caller stuck before its first.)
  ThreadPool pool(2);
  std::atomic<int64_t> callerFirst{-1}, workerFirst{-1};
  const std::thread::id caller = std::this_thread::get_id();
  pool.parallelFor(16, [&](int64_t i) {
    int64_t unset = -1;
    (std::this_thread::get_id() == caller ? callerFirst : workerFirst)
        .compare_exchange_strong(unset, i);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  EXPECT_EQ(callerFirst.load(), 0);
  EXPECT_EQ(workerFirst.load(), 8);
}

TEST(RowRangeTest, OwnerTakesFromTheFrontCutsTakeFromTheBack) {
  RowRange range;
  range.reset(3, 10);
  int64_t row = -1, begin = -1, end = -1;
  ASSERT_TRUE(range.take(row));
  EXPECT_EQ(row, 3);
  EXPECT_EQ(range.left(), 6);
  EXPECT_FALSE(range.cut(4, begin, end)) << "half of 6 is under 4";
  ASSERT_TRUE(range.cut(2, begin, end));
  EXPECT_EQ(begin, 7);
  EXPECT_EQ(end, 10);
  for (int64_t want : {4, 5, 6}) {
    ASSERT_TRUE(range.take(row));
    EXPECT_EQ(row, want);
  }
  EXPECT_FALSE(range.take(row));
  EXPECT_EQ(range.left(), 0);
  EXPECT_FALSE(range.cut(1, begin, end));
  range.reset(0, 1);
  EXPECT_FALSE(range.cut(1, begin, end)) << "a single row is never cut";
}

TEST(RowRangeTest, EveryRowRunsOnceInOrderWhileIdleThreadsCut) {
  std::mt19937 rng(11);
  int64_t calls = 0, tasksRun = 0;
  for (unsigned threads : {1u, 2u, 3u, 4u}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 40; ++round) {
      const int64_t count = 1 + int64_t(rng() % 7);
      std::vector<std::pair<int64_t, int64_t>> rows;
      for (int64_t t = 0; t < count; ++t) {
        const int64_t begin = int64_t(rng() % 5);
        rows.push_back({begin, begin + int64_t(rng() % 40)});
      }
      // Row r of task t counts at hits[t · kRows + r].
      constexpr int64_t kRows = 45;
      std::vector<std::atomic<int>> hits(size_t(count * kRows));
      std::atomic<int64_t> runs{0};
      forEachRowTask(threads == 1 ? nullptr : &pool, count,
                     [&](int64_t t) { return rows[size_t(t)]; }, /*minRows=*/2,
                     [&](int64_t t, RowRange &range) {
                       runs.fetch_add(1);
                       int64_t row, previous = -1;
                       while (range.take(row)) {
                         // Rows of a call come one after another.
                         if (previous >= 0)
                           EXPECT_EQ(row, previous + 1);
                         previous = row;
                         hits[size_t(t * kRows + row)].fetch_add(1);
                         // Later tasks' rows take longer: their ends get cut.
                         for (volatile int spin = 0; spin < 2000 * (t + 1); ++spin) {
                         }
                       }
                     });
      for (int64_t t = 0; t < count; ++t)
        for (int64_t r = 0; r <= rows[t].second; ++r)
          ASSERT_EQ(hits[size_t(t * kRows + r)].load(),
                    r >= rows[t].first && r < rows[t].second ? 1 : 0)
              << threads << " threads, task " << t << " row " << r;
      calls += runs.load();
      tasksRun += count;
    }
  }
  // Some rows were cut off and run by another call.
  EXPECT_GT(calls, tasksRun);
}

TEST(RowRangeTest, NestedCallsAndNoTasks) {
  ThreadPool pool(2);
  using Rows = std::function<std::pair<int64_t, int64_t>(int64_t)>;
  using Run = std::function<void(int64_t, RowRange &)>;
  int calls = 0;
  forEachRowTask(&pool, 0, Rows([](int64_t) { return std::pair<int64_t, int64_t>{0, 1}; }), 2,
                 Run([&](int64_t, RowRange &) { ++calls; }));
  EXPECT_EQ(calls, 0) << "no tasks, no calls";
  // A task that runs the same kind of call (one instantiation, one set of
  // thread_local slots) on its own thread: both see every row once.
  // Each outer task's first row runs an inner call (the calling thread
  // runs some of them).
  std::vector<std::atomic<int>> outer(4 * 30), inner(4 * 3 * 30);
  const Rows thirty = [](int64_t) { return std::pair<int64_t, int64_t>{0, 30}; };
  Run outerRun = [&](int64_t t, RowRange &range) {
    for (int64_t row; range.take(row);) {
      outer[size_t(t * 30 + row)].fetch_add(1);
      if (row == 0)
        forEachRowTask(&pool, 3, thirty, 2, Run([&, t](int64_t u, RowRange &rows) {
                         for (int64_t r; rows.take(r);)
                           inner[size_t((t * 3 + u) * 30 + r)].fetch_add(1);
                       }));
    }
  };
  forEachRowTask(&pool, 4, thirty, 2, outerRun);
  for (auto &hit : outer)
    EXPECT_EQ(hit.load(), 1);
  for (auto &hit : inner)
    EXPECT_EQ(hit.load(), 1);
}

} // namespace

namespace {

TEST(BufferPoolTest, FreedBuffersAreReusedBySize) {
  BufferPool pool;
  void *a = pool.allocate(1000), *b = pool.allocate(5000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(pool.systemAllocations(), 2u);
  EXPECT_TRUE(pool.release(a));
  EXPECT_TRUE(pool.release(b));
  EXPECT_FALSE(pool.release(a)) << "released twice";
  int foreign = 0;
  EXPECT_FALSE(pool.release(&foreign));
  // Same sizes (after rounding to 64 bytes) come back without the system.
  EXPECT_EQ(pool.allocate(5000), b);
  EXPECT_EQ(pool.allocate(990), a);
  EXPECT_EQ(pool.systemAllocations(), 2u);
  EXPECT_EQ(pool.bytesHeld(), 1024u + 5056u);
}

TEST(BufferPoolTest, GeneratedCodeAllocatesOnlyOnItsFirstRun) {
  mlir::MLIRContext context;
  MlpConfig config;
  config.batch = 4;
  config.widths = {64, 128, 32, 8};
  auto model = buildMlp(context, config);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto executable = Executable::compile(*model, CompileCache(""));
  ASSERT_TRUE(bool(executable)) << llvm::toString(executable.takeError());
  HostTensor x(DType::f32, {4, 64});
  ASSERT_TRUE(bool((*executable)->run({x})));
  uint64_t first = (*executable)->systemAllocations();
  EXPECT_GT(first, 0u);
  EXPECT_GT((*executable)->pooledBytes(), 0u);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(bool((*executable)->run({x})));
  EXPECT_EQ((*executable)->systemAllocations(), first);
  // Outside a run, dlc_malloc and dlc_free are the system's.
  void *buffer = dlc_malloc(10);
  ASSERT_NE(buffer, nullptr);
  dlc_free(buffer);
}

} // namespace
