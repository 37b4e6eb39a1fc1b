//===- ExpandDepthwise.cpp - a product or convolution and its depthwise conv -*- C++ -*-===//

#include "runtime/kernels/ExpandDepthwise.h"

#include "codegen/cpu/KernelAbi.h"
#include "runtime/BufferPool.h"
#include "runtime/KernelProfile.h"
#include "runtime/kernels/Depthwise.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/KernelUtil.h"
#include "runtime/kernels/RowRange.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <vector>

namespace {

using namespace dlc;

/// Distinguishes the transposed weights in the GemmPackCache from the
/// other packings of the same weight (Winograd's -1, the pixel-rows
/// filter's -2).
constexpr int64_t kExpandKeyTag = -3;
/// And the transposed depthwise filter from the packings of its weight.
constexpr int64_t kDepthwiseKeyTag = -4;
/// Half of a core's L1 data cache (shared/PERF.md): a task's ring of
/// expanded rows and its row of sums, which the depthwise sums read nine
/// times each, stay in it beside the weights' panel and the input rows.
constexpr size_t kScratchBytes = 16 << 10;
/// The fewest output rows a thread with no task left takes over from a
/// task still running (it computes up to two expanded rows above them
/// again).
constexpr int64_t kMinCutRows = 2;

template <typename T> T as(int64_t value) {
  if constexpr (std::is_pointer_v<T>)
    return reinterpret_cast<T>(value);
  else
    return T(value);
}

/// The two calls' arguments, by name: the first kernel's (dlc_gemm_f32's
/// or dlc_conv2d_f32's), the depthwise convolution's.
struct Arguments {
  const int64_t *first, *depthwise;
  bool conv; ///< the first kernel is dlc_conv2d_f32

  int64_t d(unsigned position) const { return depthwise[position]; }
  template <typename T> T d(unsigned position) const { return as<T>(depthwise[position]); }
  /// The first kernel's argument at `gemm` or at `conv`, whichever it is.
  int64_t f(unsigned gemm, unsigned conv) const { return first[this->conv ? conv : gemm]; }
  template <typename T> T f(unsigned gemm, unsigned conv) const { return as<T>(f(gemm, conv)); }

  int64_t images() const { return f(kGemmBatch, kConvImages); }
  int64_t channels() const { return f(kGemmM, kConvOutChannels); }
  /// The length of each channel's sum.
  int64_t sum() const {
    return conv ? first[kConvChannels] * first[kConvKernelH] * first[kConvKernelW]
                : first[kGemmK];
  }
  int64_t flags() const { return f(kGemmFlags, kConvFlags); }
  const float *weights() const { return f<const float *>(kGemmA, kConvFilter); }
  int64_t weightsRow() const { return f(kGemmLda, kConvFilterRowStride); }
  bool constantWeights() const { return flags() & (conv ? kConvConstantFilter : kGemmConstantA); }
  const float *input() const { return f<const float *>(kGemmB, kConvInput); }
  int64_t inputImage() const { return f(kGemmBBatchStride, kConvInputStrideN); }
  int64_t output() const { return f(kGemmC, kConvOutput); }
  int64_t outputImage() const { return f(kGemmCBatchStride, kConvOutputStrideN); }
  int64_t outputChannel() const { return f(kGemmLdc, kConvOutputStrideC); }
  const float *scale() const { return f<const float *>(kGemmRowScale, kConvRowScale); }
  const float *shift() const { return f<const float *>(kGemmRowShift, kConvRowShift); }
  int64_t residual() const { return f(kGemmResidual, kConvResidual); }
  int64_t minBits() const { return f(kGemmMinBits, kConvMinBits); }
  int64_t maxBits() const { return f(kGemmMaxBits, kConvMaxBits); }
};

bool nanBound(int64_t flags, int64_t minBits, int64_t maxBits) {
  return GemmEpilogue{nullptr, nullptr, nullptr, 0, bool(flags & kGemmClampMin),
                      bool(flags & kGemmClampMax), floatFromBits(minBits),
                      floatFromBits(maxBits)}
      .nanBound();
}

/// Whether the first kernel's output is exactly the depthwise
/// convolution's input, in row-major planes of its height × width: a
/// product's C with B read along rows (a pointwise convolution), or a
/// convolution's output with rows one after another.
bool firstWritesTheInput(const Arguments &a) {
  const int64_t height = a.d(kDepthwiseInputHeight), width = a.d(kDepthwiseInputWidth);
  const bool layout =
      a.output() == a.d(kConvInput) &&
      (a.images() == 1 || a.outputImage() == a.d(kConvInputStrideN)) &&
      a.outputChannel() == a.d(kConvInputStrideC) && a.d(kConvInputStrideH) == width &&
      a.d(kConvInputStrideW) == 1;
  if (a.conv)
    return layout && a.first[kConvOutH] == height && a.first[kConvOutW] == width &&
           a.first[kConvOutputStrideH] == width;
  return layout && a.first[kGemmN] == height * width && a.first[kGemmABatchStride] == 0 &&
         a.first[kGemmBStrideN] == 1 && !(a.flags() & kGemmTransposedA);
}

/// Whether the fused kernel computes these two calls: the first kernel
/// overwriting the depthwise convolution's input without a residual, a
/// 3×3 filter with stride 1 or 2, no dilation and no negative padding, an
/// output overwritten without a residual, channels in whole vectors, no
/// NaN bounds.
bool fusable(const Arguments &a) {
  const int64_t depthwiseFlags = a.d(kConvFlags);
  return a.images() == a.d(kConvImages) && a.channels() == a.d(kConvChannels) &&
         a.channels() > 0 && a.channels() % 16 == 0 && a.sum() > 0 &&
         a.d(kDepthwisePadTop) >= 0 && a.d(kDepthwisePadLeft) >= 0 &&
         (a.flags() & kGemmOverwriteC) &&
         !a.residual() && firstWritesTheInput(a) && a.d(kConvKernelH) == 3 &&
         a.d(kConvKernelW) == 3 && a.d(kConvDilationH) == 1 && a.d(kConvDilationW) == 1 &&
         a.d(kConvStrideH) == a.d(kConvStrideW) &&
         (a.d(kConvStrideH) == 1 || a.d(kConvStrideH) == 2) &&
         (depthwiseFlags & kGemmOverwriteC) && !a.d(kConvResidual) &&
         !nanBound(a.flags(), a.minBits(), a.maxBits()) &&
         !nanBound(depthwiseFlags, a.d(kConvMinBits), a.d(kConvMaxBits));
}

/// The two kernels one after the other, on the buffers given.
void apart(const Arguments &a) {
  const int64_t *f = a.first;
  if (a.conv)
    dlc_conv2d_f32(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10],
                   as<const float *>(f[11]), f[12], f[13], f[14], f[15],
                   as<const float *>(f[16]), f[17], as<float *>(f[18]), f[19], f[20], f[21],
                   f[22], as<const float *>(f[23]), as<const float *>(f[24]),
                   as<const float *>(f[25]), f[26], f[27], f[28], f[29], f[30]);
  else
    dlc_gemm_f32(f[0], f[1], f[2], f[3], as<const float *>(f[4]), f[5], f[6],
                 as<const float *>(f[7]), f[8], f[9], f[10], as<float *>(f[11]), f[12], f[13],
                 f[14], as<const float *>(f[15]), as<const float *>(f[16]),
                 as<const float *>(f[17]), f[18], f[19], f[20], f[21]);
  const int64_t *d = a.depthwise;
  dlc_depthwise_conv2d_f32(
      d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
      as<const float *>(d[11]), d[12], d[13], d[14], d[15], as<const float *>(d[16]), d[17],
      as<float *>(d[18]), d[19], d[20], d[21], d[22], as<const float *>(d[23]),
      as<const float *>(d[24]), as<const float *>(d[25]), d[26], d[27], d[28], d[29], d[30],
      d[31], d[32], d[33], d[34]);
}

/// The two kernels one after the other. Where the compiler left the
/// intermediate out of the memory plan (its address 0: the fused kernel
/// never writes it), it is a buffer from dlc_malloc, as the generated
/// code's are: the run's BufferPool (reused from run to run), or the
/// system's outside a run.
void separately(const Arguments &a) {
  if (a.output() != 0 && a.d(kConvInput) != 0) {
    apart(a);
    return;
  }
  if (a.output() != 0 || a.d(kConvInput) != 0) {
    std::fprintf(stderr, "dlc: a fused pair's intermediate is given to only one of its kernels\n");
    std::abort();
  }
  // The buffer covers what the first kernel writes and what the depthwise
  // convolution reads (the same elements where the compiler left it out),
  // in floats.
  const int64_t *f = a.first;
  const int64_t written =
      a.conv ? (f[kConvImages] - 1) * f[kConvOutputStrideN] +
                   (f[kConvOutChannels] - 1) * f[kConvOutputStrideC] +
                   (f[kConvOutH] - 1) * f[kConvOutputStrideH] + f[kConvOutW]
             : (f[kGemmBatch] - 1) * f[kGemmCBatchStride] + (f[kGemmM] - 1) * f[kGemmLdc] +
                   f[kGemmN];
  const int64_t read = (a.d(kConvImages) - 1) * a.d(kConvInputStrideN) +
                       (a.d(kConvChannels) - 1) * a.d(kConvInputStrideC) +
                       (a.d(kDepthwiseInputHeight) - 1) * a.d(kConvInputStrideH) +
                       (a.d(kDepthwiseInputWidth) - 1) * a.d(kConvInputStrideW) + 1;
  const int64_t extent = std::max(written, read);
  if (a.images() <= 0 || a.channels() <= 0 || a.d(kConvImages) <= 0 ||
      a.d(kConvChannels) <= 0 || a.d(kDepthwiseInputHeight) <= 0 ||
      a.d(kDepthwiseInputWidth) <= 0 || extent <= 0)
    return apart(a);
  const size_t bytes = size_t(extent) * sizeof(float);
  void *buffer = dlc_malloc(bytes);
  if (!buffer) {
    std::fprintf(stderr, "dlc: out of memory: %zu bytes for a depthwise convolution's input\n",
                 bytes);
    std::abort();
  }
  static_assert(kConv2dF32Arguments >= kGemmF32Arguments);
  int64_t first[kConv2dF32Arguments], depthwise[kDepthwiseConv2dF32Arguments];
  const unsigned firstCount = a.conv ? kConv2dF32Arguments : kGemmF32Arguments;
  std::copy(a.first, a.first + firstCount, first);
  std::copy(a.depthwise, a.depthwise + kDepthwiseConv2dF32Arguments, depthwise);
  first[a.conv ? kConvOutput : kGemmC] = reinterpret_cast<int64_t>(buffer);
  depthwise[kConvInput] = reinterpret_cast<int64_t>(buffer);
  apart(Arguments{first, depthwise, a.conv});
  dlc_free(buffer);
}

/// The fused kernel on the current pool: tasks of an image, a panel of
/// 32 or 16 channels and a range of output rows, each with a ring of
/// expanded rows of its own.
void fused(const Arguments &a) {
  const int64_t images = a.images(), m = a.channels(), k = a.sum();
  const float *weights = a.weights();
  const int64_t lda = a.weightsRow();
  const int64_t panels = (m + 31) / 32;
  // The weights transposed into panels of 32 channels, once per
  // executable where there is a cache (the weights are constant).
  auto packWeights = [&](float *target) {
    for (int64_t panel = 0; panel < panels; ++panel)
      for (int64_t q = 0; q < k; ++q)
        for (int64_t t = 0; t < 32; ++t) {
          const int64_t c = panel * 32 + t;
          target[(panel * k + q) * 32 + t] = c < m ? weights[c * lda + q] : 0.0f;
        }
  };
  const size_t packedFloats = size_t(panels * k * 32);
  const float *weightsT = nullptr;
  GemmPackCache *cache = GemmPackCache::current();
  if (cache && a.constantWeights())
    weightsT = cache->get({weights, k, m, lda, kExpandKeyTag, 32}, packedFloats, packWeights,
                          weights, size_t(((m - 1) * lda + k) * sizeof(float)));
  thread_local std::vector<float> ownWeights;
  if (!weightsT) {
    ownWeights.resize(packedFloats);
    packWeights(ownWeights.data());
    weightsT = ownWeights.data();
  }
  // The depthwise filter transposed: tap t's weights for all channels
  // adjacent; kept in the cache too when it is a weight (transposed on
  // every call, serially, MobileNetV2 at batch 1 on two threads was 1-2%
  // slower).
  const float *filter = a.d<const float *>(kConvFilter);
  const int64_t filterRow = a.d(kConvFilterRowStride);
  auto transposeFilter = [&](float *target) {
    for (int64_t c = 0; c < m; ++c)
      for (int64_t t = 0; t < 9; ++t)
        target[t * m + c] = filter[c * filterRow + t];
  };
  const float *filterT = nullptr;
  if (cache && (a.d(kConvFlags) & kConvConstantFilter))
    filterT = cache->get({filter, 9, m, filterRow, kDepthwiseKeyTag, 16}, size_t(9 * m),
                         transposeFilter);
  thread_local std::vector<float> ownFilterT;
  if (!filterT) {
    ownFilterT.resize(size_t(9 * m));
    transposeFilter(ownFilterT.data());
    filterT = ownFilterT.data();
  }
  // Where each element of an expanded pixel's sum lies from the pixel's
  // first input: a pointwise product's input channels, a convolution's
  // patch elements (channel, filter row, filter column).
  thread_local std::vector<int64_t> taps;
  taps.resize(size_t(k));
  ExpandDepthwise p{};
  if (a.conv) {
    const int64_t *f = a.first;
    patchOffsets(k, f[kConvKernelH], f[kConvKernelW], f[kConvDilationH], f[kConvDilationW],
                 f[kConvInputStrideC], f[kConvInputStrideH], f[kConvInputStrideW], taps.data());
    p.rowStep = f[kConvStrideH] * f[kConvInputStrideH];
    p.pixelStep = f[kConvStrideW] * f[kConvInputStrideW];
  } else {
    patchOffsets(k, 1, 1, 1, 1, a.first[kGemmBStrideK], 0, 0, taps.data());
    p.rowStep = a.d(kDepthwiseInputWidth);
    p.pixelStep = 1;
  }

  const int64_t flags = a.flags(), depthwiseFlags = a.d(kConvFlags);
  p.k = k, p.m = m;
  p.h = a.d(kDepthwiseInputHeight), p.w = a.d(kDepthwiseInputWidth);
  p.ho = a.d(kConvOutH), p.wo = a.d(kConvOutW), p.stride = a.d(kConvStrideH);
  p.pt = a.d(kDepthwisePadTop), p.pl = a.d(kDepthwisePadLeft);
  p.taps = taps.data();
  p.weightsT = weightsT;
  p.scale1 = a.scale(), p.shift1 = a.shift();
  p.min1 = flags & kGemmClampMin, p.max1 = flags & kGemmClampMax;
  p.lo1 = floatFromBits(a.minBits()), p.hi1 = floatFromBits(a.maxBits());
  p.filterT = filterT;
  p.scale2 = a.d<const float *>(kConvRowScale), p.shift2 = a.d<const float *>(kConvRowShift);
  p.min2 = depthwiseFlags & kGemmClampMin, p.max2 = depthwiseFlags & kGemmClampMax;
  p.lo2 = floatFromBits(a.d(kConvMinBits)), p.hi2 = floatFromBits(a.d(kConvMaxBits));
  p.outChannel = a.d(kConvOutputStrideC), p.outRow = a.d(kConvOutputStrideH);

  // Tasks: a panel of channels each (an image's tasks read its input
  // rows once a panel, from cache), 32 channels wide where a task's ring
  // and sums fit in half of L1, 16 where they would not (rows of 56 and
  // 112: those pairs ran 10-16% faster alone; MobileNetV2 5% faster at
  // batch 1 on one thread, 1-2% on two, 3-5% at batch 32); then, with
  // fewer than four a thread, ranges of output rows (at least 8 each: a
  // range computes up to two expanded rows its neighbour computes too).
  // A thread out of tasks takes over the last rows of a running one
  // (forEachRowTask): the threads' idle time at the kernel's end went from
  // 6.4% to 2.0% of MobileNetV2's pairs on two threads, the pairs 1.6%
  // faster.
  ThreadPool *pool = ThreadPool::current();
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t width =
      expandDepthwiseScratch(p, 32) * sizeof(float) <= kScratchBytes ? 32 : 16;
  const int64_t channelTasks = (m + width - 1) / width;
  int64_t rowTasks = 1;
  while (threads > 1 && channelTasks * rowTasks < 4 * threads && p.ho / (rowTasks + 1) >= 8)
    ++rowTasks;
  const float *input = a.input();
  float *output = a.d<float *>(kConvOutput);
  const int64_t inImage = a.inputImage(), outImage = a.d(kConvOutputStrideN);
  auto rows = [&](int64_t task) {
    const int64_t rowTask = task % rowTasks;
    return std::pair<int64_t, int64_t>{rowTask * p.ho / rowTasks,
                                       (rowTask + 1) * p.ho / rowTasks};
  };
  forEachRowTask(pool, images * channelTasks * rowTasks, rows, kMinCutRows,
                 [&](int64_t task, RowRange &outputRows) {
    const int64_t b = task / (channelTasks * rowTasks),
                  channelTask = task / rowTasks % channelTasks;
    const int64_t c0 = channelTask * width, c1 = std::min(m, c0 + width);
    ExpandDepthwise image = p;
    image.in = input + b * inImage;
    image.out = output + b * outImage;
    thread_local std::vector<float> scratch;
    scratch.resize(std::max(scratch.size(), expandDepthwiseScratch(p, c1 - c0)));
    expandDepthwiseAvx512(image, c0, c1, outputRows, scratch.data());
  });
}

/// The two calls, fused where they can be.
void run(const Arguments &a, bool fuse) {
  static const bool avx512 = hostVersion(true, false);
  if (!fuse || !avx512 || !fusable(a) || a.images() <= 0 || a.d(kConvOutH) <= 0 ||
      a.d(kConvOutW) <= 0) {
    separately(a);
    return;
  }
  KernelProfile::Timer timer(
      a.conv ? "conv + depthwise" : "expand + depthwise",
      [&] {
        return llvm::formatv("{0}x{1} -> {2}x{3}x{4} -> {5}x{6}, 3x3 stride {7}", a.images(),
                             a.conv ? a.first[kConvChannels] : a.sum(), a.channels(),
                             a.d(kDepthwiseInputHeight), a.d(kDepthwiseInputWidth),
                             a.d(kConvOutH), a.d(kConvOutW), a.d(kConvStrideH))
            .str();
      },
      2.0 * double(a.images()) * double(a.channels()) *
          (double(a.d(kDepthwiseInputHeight)) * double(a.d(kDepthwiseInputWidth)) *
               double(a.sum()) +
           9.0 * double(a.d(kConvOutH)) * double(a.d(kConvOutW))));
  fused(a);
}

} // namespace

void dlc::expandDepthwiseF32(const int64_t *gemm, const int64_t *depthwise, bool fuse) {
  run(Arguments{gemm, depthwise, false}, fuse);
}

void dlc::convDepthwiseF32(const int64_t *conv, const int64_t *depthwise, bool fuse) {
  run(Arguments{conv, depthwise, true}, fuse);
}

extern "C" void dlc_expand_depthwise_f32(
    // dlc_gemm_f32's (GemmF32Argument)
    int64_t g0, int64_t g1, int64_t g2, int64_t g3, int64_t g4, int64_t g5, int64_t g6,
    int64_t g7, int64_t g8, int64_t g9, int64_t g10, int64_t g11, int64_t g12, int64_t g13,
    int64_t g14, int64_t g15, int64_t g16, int64_t g17, int64_t g18, int64_t g19, int64_t g20,
    int64_t g21,
    // dlc_depthwise_conv2d_f32's (DepthwiseConv2dF32Argument)
    int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t d4, int64_t d5, int64_t d6,
    int64_t d7, int64_t d8, int64_t d9, int64_t d10, int64_t d11, int64_t d12, int64_t d13,
    int64_t d14, int64_t d15, int64_t d16, int64_t d17, int64_t d18, int64_t d19, int64_t d20,
    int64_t d21, int64_t d22, int64_t d23, int64_t d24, int64_t d25, int64_t d26, int64_t d27,
    int64_t d28, int64_t d29, int64_t d30, int64_t d31, int64_t d32, int64_t d33, int64_t d34) {
  const int64_t gemm[] = {
      g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10,
      g11, g12, g13, g14, g15, g16, g17, g18, g19, g20, g21};
  const int64_t depthwise[] = {
      d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10,
      d11, d12, d13, d14, d15, d16, d17, d18, d19, d20, d21,
      d22, d23, d24, d25, d26, d27, d28, d29, d30, d31, d32,
      d33, d34};
  static_assert(std::size(gemm) == dlc::kGemmF32Arguments);
  static_assert(std::size(depthwise) == dlc::kDepthwiseConv2dF32Arguments);
  dlc::expandDepthwiseF32(gemm, depthwise);
}

extern "C" void dlc_conv_depthwise_f32(
    // dlc_conv2d_f32's (Conv2dF32Argument)
    int64_t c0, int64_t c1, int64_t c2, int64_t c3, int64_t c4, int64_t c5, int64_t c6,
    int64_t c7, int64_t c8, int64_t c9, int64_t c10, int64_t c11, int64_t c12, int64_t c13,
    int64_t c14, int64_t c15, int64_t c16, int64_t c17, int64_t c18, int64_t c19, int64_t c20,
    int64_t c21, int64_t c22, int64_t c23, int64_t c24, int64_t c25, int64_t c26, int64_t c27,
    int64_t c28, int64_t c29, int64_t c30,
    // dlc_depthwise_conv2d_f32's (DepthwiseConv2dF32Argument)
    int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t d4, int64_t d5, int64_t d6,
    int64_t d7, int64_t d8, int64_t d9, int64_t d10, int64_t d11, int64_t d12, int64_t d13,
    int64_t d14, int64_t d15, int64_t d16, int64_t d17, int64_t d18, int64_t d19, int64_t d20,
    int64_t d21, int64_t d22, int64_t d23, int64_t d24, int64_t d25, int64_t d26, int64_t d27,
    int64_t d28, int64_t d29, int64_t d30, int64_t d31, int64_t d32, int64_t d33, int64_t d34) {
  const int64_t conv[] = {
      c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10,
      c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21,
      c22, c23, c24, c25, c26, c27, c28, c29, c30};
  const int64_t depthwise[] = {
      d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10,
      d11, d12, d13, d14, d15, d16, d17, d18, d19, d20, d21,
      d22, d23, d24, d25, d26, d27, d28, d29, d30, d31, d32,
      d33, d34};
  static_assert(std::size(conv) == dlc::kConv2dF32Arguments);
  static_assert(std::size(depthwise) == dlc::kDepthwiseConv2dF32Arguments);
  dlc::convDepthwiseF32(conv, depthwise);
}
