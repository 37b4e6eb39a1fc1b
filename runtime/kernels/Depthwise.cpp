//===- Depthwise.cpp - depthwise convolution for the CPU --------*- C++ -*-===//

#include "runtime/kernels/Depthwise.h"

#include "codegen/cpu/KernelAbi.h"
#include "runtime/KernelProfile.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/KernelUtil.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <limits>

void dlc::depthwisePlanePortable(const DepthwisePlane &p) {
  for (int64_t y = 0; y < p.ho; ++y) {
    float *out = p.out + y * p.outRow;
    const float *residual =
        p.residual ? p.residual + y * p.residualRow : nullptr;
    for (int64_t x = 0; x < p.wo; ++x) {
      float v = p.accumulate ? out[x] : 0.0f;
      for (int64_t i = 0; i < p.kh; ++i) {
        const int64_t row = y * p.sh + i * p.dh - p.pt;
        const bool rowInside = row >= 0 && row < p.h;
        for (int64_t j = 0; j < p.kw; ++j) {
          const int64_t column = x * p.sw + j * p.dw - p.pl;
          // A zero of the padding still multiplies, as the AVX-512
          // version's masked loads and the generated loops do: 0 · inf is
          // NaN.
          const float in = rowInside && column >= 0 && column < p.w
                               ? p.in[row * p.inRow + column]
                               : 0.0f;
          v += p.filter[i * p.kw + j] * in;
        }
      }
      if (p.scale)
        v *= *p.scale;
      if (p.shift)
        v += *p.shift;
      if (residual)
        v += residual[x];
      // `v < lo ? lo : v` keeps a NaN v, as the GEMM's epilogue does.
      if (p.clampMin)
        v = v < p.lo ? p.lo : v;
      if (p.clampMax)
        v = v > p.hi ? p.hi : v;
      out[x] = v;
    }
  }
}

bool dlc::flatMasksFor(const DepthwisePlane &p, uint16_t *masks) {
  // Narrower than a vector (wider rows are whole vectors already), rows
  // contiguous in the input, the output and the residual, input rows as
  // wide as output rows (so that a tap is one offset for the whole plane).
  const int64_t outputs = p.ho * p.wo, taps = p.kh * p.kw;
  if (p.wo >= 16 || p.sh != 1 || p.sw != 1 || p.w != p.wo || p.inRow != p.w ||
      p.outRow != p.wo || (p.residual && p.residualRow != p.wo) ||
      outputs > 16 * kDepthwiseFlatVectors || taps > kDepthwiseFlatTaps)
    return false;
  // A tap reads inside the input for a rectangle of outputs: rows
  // [y0, y1), columns [x0, x1). Its lanes are that rectangle's rows as
  // spans of the flat outputs, set in a bit set of all of them.
  constexpr int64_t kWords = (16 * kDepthwiseFlatVectors + 63) / 64;
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t i = t / p.kw, j = t % p.kw;
    // Output y reads row y + i·dh - pt, inside for y in [y0, y1).
    const int64_t rowShift = i * p.dh - p.pt, columnShift = j * p.dw - p.pl;
    const int64_t y0 = std::max<int64_t>(0, -rowShift),
                  y1 = std::min(p.ho, p.h - rowShift);
    const int64_t x0 = std::max<int64_t>(0, -columnShift),
                  x1 = std::min(p.wo, p.w - columnShift);
    uint64_t bits[kWords] = {};
    for (int64_t y = y0; y < y1 && x0 < x1; ++y)
      for (int64_t e = y * p.wo + x0, end = y * p.wo + x1; e < end;) {
        // The span's part in word e / 64.
        const int64_t word = e / 64, first = e % 64,
                      count = std::min<int64_t>(end - e, 64 - first);
        bits[word] |= (count == 64 ? ~uint64_t(0) : ((uint64_t(1) << count) - 1)) << first;
        e += count;
      }
    for (int64_t q = 0; q * 16 < outputs; ++q)
      masks[q * taps + t] = uint16_t(bits[q / 4] >> (q % 4 * 16));
  }
  return true;
}

dlc::DepthwisePlaneKernel dlc::hostDepthwisePlane() {
  static const DepthwisePlaneKernel best =
      hostVersion(&depthwisePlaneAvx512, &depthwisePlanePortable);
  return best;
}

void dlc::depthwiseConv2dF32(
    DepthwisePlaneKernel kernel, int64_t images, int64_t channels, int64_t kh,
    int64_t kw, int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t dh,
    int64_t dw, const float *input, int64_t inN, int64_t inC, int64_t inH,
    const float *filter, int64_t filterRowStride, float *output, int64_t outN,
    int64_t outC, int64_t outH, int64_t flags, const float *scale,
    const float *shift, const float *residual, int64_t residualN,
    int64_t residualC, int64_t residualH, int64_t minBits, int64_t maxBits,
    int64_t height, int64_t width, int64_t padTop, int64_t padLeft) {
  if (images <= 0 || channels <= 0 || ho <= 0 || wo <= 0)
    return;
  if (!kernel)
    kernel = hostDepthwisePlane();
  const bool clampMin = flags & kGemmClampMin, clampMax = flags & kGemmClampMax;
  const float lo = floatFromBits(minBits), hi = floatFromBits(maxBits);
  // A NaN bound makes every element NaN, by the GEMM epilogue's rule.
  const bool nanBound =
      GemmEpilogue{nullptr, nullptr, nullptr, 0, clampMin, clampMax, lo, hi}.nanBound();
  // Plane (b, c), without flat masks.
  auto planeOf = [&](int64_t b, int64_t c) {
    return DepthwisePlane{
        input + b * inN + c * inC, inH, height, width, padTop, padLeft,
        filter + c * filterRowStride, kh, kw,
        sh, sw, dh, dw, output + b * outN + c * outC, outH, ho, wo, !(flags & kGemmOverwriteC),
        scale ? scale + c : nullptr, shift ? shift + c : nullptr,
        residual ? residual + b * residualN + c * residualC : nullptr,
        residualH, clampMin, clampMax, lo, hi,
        // The next plane of this image, or the next image's first.
        c + 1 < channels ? input + b * inN + (c + 1) * inC
        : b + 1 < images ? input + (b + 1) * inN
                         : nullptr};
  };
  // The flat masks of this call's planes, if they can be computed flat
  // (all planes share the geometry).
  uint16_t flat[kDepthwiseFlatVectors * kDepthwiseFlatTaps];
  const uint16_t *flatMasks = flatMasksFor(planeOf(0, 0), flat) ? flat : nullptr;
  forEachPlane(images, channels, ho * wo * kh * kw, [&](int64_t b, int64_t c) {
    DepthwisePlane plane = planeOf(b, c);
    if (nanBound) {
      for (int64_t y = 0; y < ho; ++y)
        std::fill(plane.out + y * outH, plane.out + y * outH + wo,
                  std::numeric_limits<float>::quiet_NaN());
      return;
    }
    plane.flatMasks = flatMasks;
    kernel(plane);
  });
}

extern "C" void dlc_depthwise_conv2d_f32(
    int64_t images, int64_t channels, int64_t /*outChannels*/, int64_t kh,
    int64_t kw, int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t dh,
    int64_t dw, const float *input, int64_t inN, int64_t inC, int64_t inH,
    int64_t /*inW: 1*/, const float *filter, int64_t filterRowStride,
    float *output, int64_t outN, int64_t outC, int64_t outH, int64_t flags,
    const float *scale, const float *shift, const float *residual,
    int64_t residualN, int64_t residualC, int64_t residualH, int64_t minBits,
    int64_t maxBits, int64_t height, int64_t width, int64_t padTop,
    int64_t padLeft) {
  dlc::KernelProfile::Timer timer(
      "depthwise conv2d",
      [&] {
        return llvm::formatv("{0}x{1} -> {2}x{3}, {4}x{5} stride {6}x{7}", images, channels, ho,
                             wo, kh, kw, sh, sw)
            .str();
      },
      2.0 * double(images) * double(channels) * double(ho) * double(wo) * double(kh) *
          double(kw));
  dlc::depthwiseConv2dF32(
      nullptr, images, channels, kh, kw, ho, wo, sh, sw, dh, dw, input, inN,
      inC, inH, filter, filterRowStride, output, outN, outC, outH, flags, scale,
      shift, residual, residualN, residualC, residualH, minBits, maxBits,
      height, width, padTop, padLeft);
}
