//===- ExpandDepthwise.cpp - a pointwise expansion and its depthwise conv -*- C++ -*-===//

#include "runtime/kernels/ExpandDepthwise.h"

#include "codegen/cpu/KernelAbi.h"
#include "runtime/KernelProfile.h"
#include "runtime/kernels/Depthwise.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/KernelUtil.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <vector>

namespace {

/// Distinguishes the transposed weights in the GemmPackCache from the
/// other packings of the same weight (Winograd's -1, the pixel-rows
/// filter's -2).
constexpr int64_t kExpandKeyTag = -3;

/// The arguments of the two calls, by name.
struct Arguments {
  const int64_t *gemm, *depthwise;

  template <typename T = int64_t> T g(unsigned position) const {
    return toType<T>(gemm[position]);
  }
  template <typename T = int64_t> T d(unsigned position) const {
    return toType<T>(depthwise[position]);
  }
  template <typename T> static T toType(int64_t value) {
    if constexpr (std::is_pointer_v<T>)
      return reinterpret_cast<T>(value);
    else
      return T(value);
  }
};

/// Whether the fused kernel computes these two calls: a pointwise product
/// (a constant A, no residual, C overwritten) whose C is exactly the
/// depthwise convolution's input (row-major planes), a 3×3 filter with
/// stride 1 or 2 and no dilation, an output overwritten without a
/// residual, and channels in whole vectors.
bool fusable(const Arguments &a) {
  using namespace dlc;
  const int64_t gemmFlags = a.g(kGemmFlags), depthwiseFlags = a.d(kConvFlags);
  const int64_t height = a.d(kDepthwiseInputHeight), width = a.d(kDepthwiseInputWidth);
  auto nanBound = [](int64_t flags, int64_t minBits, int64_t maxBits) {
    return GemmEpilogue{nullptr, nullptr, nullptr, 0, bool(flags & kGemmClampMin),
                        bool(flags & kGemmClampMax), floatFromBits(minBits),
                        floatFromBits(maxBits)}
        .nanBound();
  };
  return a.g(kGemmBatch) == a.d(kConvImages) && a.g(kGemmM) == a.d(kConvChannels) &&
         a.g(kGemmM) % 16 == 0 && a.g(kGemmN) == height * width && a.g(kGemmK) > 0 &&
         a.g(kGemmABatchStride) == 0 && a.g(kGemmBStrideN) == 1 &&
         (gemmFlags & kGemmOverwriteC) && !(gemmFlags & kGemmTransposedA) &&
         !a.g(kGemmResidual) && a.g(kGemmC) == a.d(kConvInput) &&
         (a.g(kGemmBatch) == 1 || a.g(kGemmCBatchStride) == a.d(kConvInputStrideN)) &&
         a.g(kGemmLdc) == a.d(kConvInputStrideC) && a.d(kConvInputStrideH) == width &&
         a.d(kConvKernelH) == 3 && a.d(kConvKernelW) == 3 && a.d(kConvDilationH) == 1 &&
         a.d(kConvDilationW) == 1 && a.d(kConvStrideH) == a.d(kConvStrideW) &&
         (a.d(kConvStrideH) == 1 || a.d(kConvStrideH) == 2) &&
         (depthwiseFlags & kGemmOverwriteC) && !a.d(kConvResidual) &&
         !nanBound(gemmFlags, a.g(kGemmMinBits), a.g(kGemmMaxBits)) &&
         !nanBound(depthwiseFlags, a.d(kConvMinBits), a.d(kConvMaxBits));
}

/// The two kernels one after the other.
void separately(const Arguments &a) {
  using namespace dlc;
  dlc_gemm_f32(a.g(kGemmBatch), a.g(kGemmM), a.g(kGemmN), a.g(kGemmK),
               a.g<const float *>(kGemmA), a.g(kGemmABatchStride), a.g(kGemmLda),
               a.g<const float *>(kGemmB), a.g(kGemmBBatchStride), a.g(kGemmBStrideK),
               a.g(kGemmBStrideN), a.g<float *>(kGemmC), a.g(kGemmCBatchStride), a.g(kGemmLdc),
               a.g(kGemmFlags), a.g<const float *>(kGemmRowScale),
               a.g<const float *>(kGemmRowShift), a.g<const float *>(kGemmResidual),
               a.g(kGemmResidualBatchStride), a.g(kGemmLdr), a.g(kGemmMinBits),
               a.g(kGemmMaxBits));
  dlc_depthwise_conv2d_f32(
      a.d(kConvImages), a.d(kConvChannels), a.d(kConvOutChannels), a.d(kConvKernelH),
      a.d(kConvKernelW), a.d(kConvOutH), a.d(kConvOutW), a.d(kConvStrideH), a.d(kConvStrideW),
      a.d(kConvDilationH), a.d(kConvDilationW), a.d<const float *>(kConvInput),
      a.d(kConvInputStrideN), a.d(kConvInputStrideC), a.d(kConvInputStrideH),
      a.d(kConvInputStrideW), a.d<const float *>(kConvFilter), a.d(kConvFilterRowStride),
      a.d<float *>(kConvOutput), a.d(kConvOutputStrideN), a.d(kConvOutputStrideC),
      a.d(kConvOutputStrideH), a.d(kConvFlags), a.d<const float *>(kConvRowScale),
      a.d<const float *>(kConvRowShift), a.d<const float *>(kConvResidual),
      a.d(kConvResidualStrideN), a.d(kConvResidualStrideC), a.d(kConvResidualStrideH),
      a.d(kConvMinBits), a.d(kConvMaxBits), a.d(kDepthwiseInputHeight),
      a.d(kDepthwiseInputWidth), a.d(kDepthwisePadTop), a.d(kDepthwisePadLeft));
}

/// The fused kernel on the current pool: tasks of an image, a range of
/// 32-channel panels and a range of output rows, each with a ring of
/// expanded rows of its own.
void fused(const Arguments &a) {
  using namespace dlc;
  const int64_t images = a.g(kGemmBatch), m = a.g(kGemmM), k = a.g(kGemmK);
  const float *weights = a.g<const float *>(kGemmA);
  const int64_t lda = a.g(kGemmLda);
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
  if (cache && (a.g(kGemmFlags) & kGemmConstantA))
    weightsT = cache->get({weights, k, m, lda, kExpandKeyTag, 32}, packedFloats, packWeights,
                          weights, size_t(((m - 1) * lda + k) * sizeof(float)));
  thread_local std::vector<float> ownWeights;
  if (!weightsT) {
    ownWeights.resize(packedFloats);
    packWeights(ownWeights.data());
    weightsT = ownWeights.data();
  }
  // The depthwise filter transposed: tap t's weights for all channels
  // adjacent.
  thread_local std::vector<float> filterT;
  filterT.resize(size_t(9 * m));
  const float *filter = a.d<const float *>(kConvFilter);
  const int64_t filterRow = a.d(kConvFilterRowStride);
  for (int64_t c = 0; c < m; ++c)
    for (int64_t t = 0; t < 9; ++t)
      filterT[size_t(t * m + c)] = filter[c * filterRow + t];

  const int64_t gemmFlags = a.g(kGemmFlags), depthwiseFlags = a.d(kConvFlags);
  ExpandDepthwise p{};
  p.k = k, p.m = m;
  p.h = a.d(kDepthwiseInputHeight), p.w = a.d(kDepthwiseInputWidth);
  p.ho = a.d(kConvOutH), p.wo = a.d(kConvOutW), p.stride = a.d(kConvStrideH);
  p.pt = a.d(kDepthwisePadTop), p.pl = a.d(kDepthwisePadLeft);
  p.inChannel = a.g(kGemmBStrideK);
  p.weightsT = weightsT;
  p.scale1 = a.g<const float *>(kGemmRowScale), p.shift1 = a.g<const float *>(kGemmRowShift);
  p.min1 = gemmFlags & kGemmClampMin, p.max1 = gemmFlags & kGemmClampMax;
  p.lo1 = floatFromBits(a.g(kGemmMinBits)), p.hi1 = floatFromBits(a.g(kGemmMaxBits));
  p.filterT = filterT.data();
  p.scale2 = a.d<const float *>(kConvRowScale), p.shift2 = a.d<const float *>(kConvRowShift);
  p.min2 = depthwiseFlags & kGemmClampMin, p.max2 = depthwiseFlags & kGemmClampMax;
  p.lo2 = floatFromBits(a.d(kConvMinBits)), p.hi2 = floatFromBits(a.d(kConvMaxBits));
  p.outChannel = a.d(kConvOutputStrideC), p.outRow = a.d(kConvOutputStrideH);

  // Tasks: a panel of channels each (an image's tasks read its input
  // rows once a panel, from cache); then, with fewer than four a thread,
  // ranges of output rows (at least 8 each: a range computes up to two
  // expanded rows its neighbour computes too).
  ThreadPool *pool = ThreadPool::current();
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t channelTasks = panels;
  int64_t rowTasks = 1;
  while (threads > 1 && channelTasks * rowTasks < 4 * threads && p.ho / (rowTasks + 1) >= 8)
    ++rowTasks;
  const float *input = a.g<const float *>(kGemmB);
  float *output = a.d<float *>(kConvOutput);
  const int64_t inImage = a.g(kGemmBBatchStride), outImage = a.d(kConvOutputStrideN);
  forEachTask(pool, images * channelTasks * rowTasks, [&](int64_t task) {
    const int64_t b = task / (channelTasks * rowTasks),
                  channelTask = task / rowTasks % channelTasks, rowTask = task % rowTasks;
    const int64_t c0 = channelTask * panels / channelTasks * 32,
                  c1 = std::min(m, (channelTask + 1) * panels / channelTasks * 32);
    const int64_t y0 = rowTask * p.ho / rowTasks, y1 = (rowTask + 1) * p.ho / rowTasks;
    ExpandDepthwise image = p;
    image.in = input + b * inImage;
    image.out = output + b * outImage;
    thread_local std::vector<float> scratch;
    scratch.resize(std::max(scratch.size(), expandDepthwiseScratch(p, c1 - c0)));
    expandDepthwiseAvx512(image, c0, c1, y0, y1, scratch.data());
  });
}

} // namespace

void dlc::expandDepthwiseF32(const int64_t *gemm, const int64_t *depthwise, bool fuse) {
  const Arguments a{gemm, depthwise};
  static const bool avx512 = hostVersion(true, false);
  if (!fuse || !avx512 || !fusable(a) || a.g(kGemmBatch) <= 0 || a.d(kConvOutH) <= 0 ||
      a.d(kConvOutW) <= 0) {
    separately(a);
    return;
  }
  KernelProfile::Timer timer(
      "expand + depthwise",
      [&] {
        return llvm::formatv("{0}x{1} -> {2}x{3}x{4} -> {5}x{6}, 3x3 stride {7}", a.g(kGemmBatch),
                             a.g(kGemmK), a.g(kGemmM), a.d(kDepthwiseInputHeight),
                             a.d(kDepthwiseInputWidth), a.d(kConvOutH), a.d(kConvOutW),
                             a.d(kConvStrideH))
            .str();
      },
      2.0 * double(a.g(kGemmBatch)) * double(a.g(kGemmM)) *
          (double(a.g(kGemmN)) * double(a.g(kGemmK)) +
           9.0 * double(a.d(kConvOutH)) * double(a.d(kConvOutW))));
  fused(a);
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
    int64_t d28, int64_t d29, int64_t d30, int64_t d31, int64_t d32, int64_t d33,
    int64_t d34) {
  const int64_t gemm[] = {g0,  g1,  g2,  g3,  g4,  g5,  g6,  g7,  g8,  g9,  g10,
                          g11, g12, g13, g14, g15, g16, g17, g18, g19, g20, g21};
  const int64_t depthwise[] = {d0,  d1,  d2,  d3,  d4,  d5,  d6,  d7,  d8,  d9,  d10, d11,
                               d12, d13, d14, d15, d16, d17, d18, d19, d20, d21, d22, d23,
                               d24, d25, d26, d27, d28, d29, d30, d31, d32, d33, d34};
  static_assert(std::size(gemm) == dlc::kGemmF32Arguments);
  static_assert(std::size(depthwise) == dlc::kDepthwiseConv2dF32Arguments);
  dlc::expandDepthwiseF32(gemm, depthwise);
}
