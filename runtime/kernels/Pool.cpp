//===- Pool.cpp - max pooling for the CPU -----------------------*- C++ -*-===//

#include "runtime/kernels/Pool.h"

#include "codegen/cpu/KernelAbi.h"
#include "runtime/KernelProfile.h"
#include "runtime/kernels/KernelUtil.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

/// arith.maximumf: NaN if either is NaN; +0 above -0.
inline float maximumf(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b) // equal, or zeros of either sign: +0 wins
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

} // namespace

void dlc::maxPool2x2RowsPortable(const float *in, int64_t inRow, int64_t inNext, float *out,
                                 int64_t outRow, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r, in += inRow, out += outRow) {
    const float *top = in, *bottom = in + inNext;
    for (int64_t x = 0; x < width; ++x)
      out[x] = maximumf(maximumf(top[2 * x], top[2 * x + 1]),
                        maximumf(bottom[2 * x], bottom[2 * x + 1]));
  }
}

dlc::MaxPool2x2Rows dlc::hostMaxPool2x2Rows() {
  static const MaxPool2x2Rows best = hostVersion(&maxPool2x2RowsAvx512, &maxPool2x2RowsPortable);
  return best;
}

void dlc::maxPool2x2F32(MaxPool2x2Rows rowsOf, int64_t n, int64_t c, int64_t ho, int64_t wo,
                        const float *in, int64_t inN, int64_t inC, int64_t inH, float *out,
                        int64_t outN, int64_t outC, int64_t outH) {
  if (n <= 0 || c <= 0 || ho <= 0 || wo <= 0)
    return;
  if (!rowsOf)
    rowsOf = hostMaxPool2x2Rows();
  forEachPlane(n, c, ho * wo, [&](int64_t b, int64_t channel) {
    rowsOf(in + b * inN + channel * inC, 2 * inH, inH, out + b * outN + channel * outC, outH, ho,
           wo);
  });
}

void dlc::maxPoolRowPortable(const float *in, int64_t inRow, int64_t kh, int64_t kw,
                             int64_t sw, float *out, int64_t width, float * /*scratch*/) {
  for (int64_t x = 0; x < width; ++x) {
    float m = out[x];
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        m = maximumf(m, in[i * inRow + x * sw + j]);
    out[x] = m;
  }
}

dlc::MaxPoolRow dlc::hostMaxPoolRow() {
  static const MaxPoolRow best = hostVersion(&maxPoolRowAvx512, &maxPoolRowPortable);
  return best;
}

void dlc::maxPoolF32(MaxPoolRow rowOf, int64_t n, int64_t c, int64_t ho, int64_t wo, int64_t kh,
                     int64_t kw, int64_t sh, int64_t sw, const float *in, int64_t inN,
                     int64_t inC, int64_t inH, float *out, int64_t outN, int64_t outC,
                     int64_t outH) {
  if (n <= 0 || c <= 0 || ho <= 0 || wo <= 0 || kh <= 0 || kw <= 0)
    return;
  if (!rowOf)
    rowOf = hostMaxPoolRow();
  forEachPlane(n, c, ho * wo * kh * kw, [&](int64_t b, int64_t channel) {
    // (A thread_local is each thread's own.)
    thread_local std::vector<float> scratch;
    scratch.resize(std::max(scratch.size(), size_t(3 * maxPoolScratchSection(wo, kw, sw))));
    const float *plane = in + b * inN + channel * inC;
    float *outPlane = out + b * outN + channel * outC;
    for (int64_t y = 0; y < ho; ++y)
      rowOf(plane + y * sh * inH, inH, kh, kw, sw, outPlane + y * outH, wo, scratch.data());
  });
}

void dlc::maxPool2x2ScatterRowPortable(const float *x, const float *y, const float *s,
                                       float *out, int64_t width, bool positiveOnly) {
  for (int64_t w = 0; w < width; ++w) {
    float value = (x[w] == y[w / 2] ? 1.0f : 0.0f) * s[w / 2];
    out[w] = positiveOnly && !(x[w] > 0.0f) ? 0.0f : value;
  }
}

dlc::MaxPool2x2ScatterRow dlc::hostMaxPool2x2ScatterRow() {
  static const MaxPool2x2ScatterRow best =
      hostVersion(&maxPool2x2ScatterRowAvx512, &maxPool2x2ScatterRowPortable);
  return best;
}

void dlc::maxPool2x2ScatterF32(MaxPool2x2ScatterRow rowOf, int64_t n, int64_t c, int64_t h,
                               int64_t w, PlaneView x, PlaneView y, PlaneView s, float *out,
                               int64_t outN, int64_t outC, int64_t outH, bool positiveOnly) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
    return;
  if (!rowOf)
    rowOf = hostMaxPool2x2ScatterRow();
  forEachPlane(n, c, h * w, [&](int64_t b, int64_t channel) {
    const float *xPlane = x.planeOf(b, channel), *yPlane = y.planeOf(b, channel),
                *sPlane = s.planeOf(b, channel);
    float *outPlane = out + b * outN + channel * outC;
    for (int64_t row = 0; row < h; ++row)
      rowOf(xPlane + row * x.h, yPlane + row / 2 * y.h, sPlane + row / 2 * s.h,
            outPlane + row * outH, w, positiveOnly);
  });
}

extern "C" void dlc_max_pool2x2_f32(int64_t n, int64_t c, int64_t ho, int64_t wo,
                                    const float *in, int64_t inN, int64_t inC, int64_t inH,
                                    float *out, int64_t outN, int64_t outC, int64_t outH) {
  dlc::KernelProfile::Timer timer(
      "max pool 2x2", [&] { return llvm::formatv("{0}x{1} -> {2}x{3}", n, c, ho, wo).str(); },
      0);
  dlc::maxPool2x2F32(nullptr, n, c, ho, wo, in, inN, inC, inH, out, outN, outC, outH);
}

extern "C" void dlc_max_pool_f32(int64_t n, int64_t c, int64_t ho, int64_t wo, int64_t kh,
                                 int64_t kw, int64_t sh, int64_t sw, const float *in,
                                 int64_t inN, int64_t inC, int64_t inH, float *out, int64_t outN,
                                 int64_t outC, int64_t outH) {
  dlc::KernelProfile::Timer timer(
      "max pool",
      [&] {
        return llvm::formatv("{0}x{1} -> {2}x{3}, {4}x{5} stride {6}x{7}", n, c, ho, wo, kh, kw,
                             sh, sw)
            .str();
      },
      0);
  dlc::maxPoolF32(nullptr, n, c, ho, wo, kh, kw, sh, sw, in, inN, inC, inH, out, outN, outC,
                  outH);
}

extern "C" void dlc_max_pool2x2_scatter_f32(int64_t n, int64_t c, int64_t h, int64_t w,
                                            const float *x, int64_t xN, int64_t xC, int64_t xH,
                                            const float *y, int64_t yN, int64_t yC, int64_t yH,
                                            const float *s, int64_t sN, int64_t sC, int64_t sH,
                                            float *out, int64_t outN, int64_t outC,
                                            int64_t outH, int64_t flags) {
  dlc::KernelProfile::Timer timer(
      "max pool 2x2 gradient",
      [&] { return llvm::formatv("{0}x{1} at {2}x{3}", n, c, h, w).str(); }, 0);
  dlc::maxPool2x2ScatterF32(nullptr, n, c, h, w, {x, xN, xC, xH}, {y, yN, yC, yH},
                            {s, sN, sC, sH}, out, outN, outC, outH,
                            flags & dlc::kPoolScatterPositiveOnly);
}
