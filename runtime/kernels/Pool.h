//===- Pool.h - max pooling for the CPU -------------------------*- C++ -*-===//
//
// The usual 2×2, stride-2 max pooling of a CNN and the last pass of its
// gradient, which generated loops compute poorly: their rows of 7-28
// outputs are too short to vectorize, so LLVM vectorizes across rows with
// gathers and scatters. The runtime's kernels read whole rows with vector
// loads and pair the pooled grid's columns with the input's by
// permutations. So does the k×k pooling of an input padded already
// (ResNet's 3×3, stride 2): the rows' maximum first, then the columns'.
// Generated code calls dlc_max_pool2x2_f32, dlc_max_pool_f32 and
// dlc_max_pool2x2_scatter_f32 (names and argument orders are fixed in
// codegen/cpu/KernelAbi.h).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_POOL_H
#define DLC_RUNTIME_KERNELS_POOL_H

#include <cstdint>

namespace dlc {

/// Computes `rows` output rows of `width` floats: row r is
/// out + r·outRow, from input rows in + r·inRow and in + r·inRow + inNext
/// (the window's two rows). out[x] is the maximum of the four elements at
/// columns 2x and 2x + 1 of both input rows, by arith.maximumf's rules: a
/// NaN if any is NaN, and +0 above -0.
using MaxPool2x2Rows = void (*)(const float *in, int64_t inRow, int64_t inNext, float *out,
                                int64_t outRow, int64_t rows, int64_t width);

/// The AVX-512 version (PoolAvx512.cpp), for CPUs with AVX-512F.
void maxPool2x2RowsAvx512(const float *in, int64_t inRow, int64_t inNext, float *out,
                          int64_t outRow, int64_t rows, int64_t width);
/// The portable version.
void maxPool2x2RowsPortable(const float *in, int64_t inRow, int64_t inNext, float *out,
                            int64_t outRow, int64_t rows, int64_t width);

/// The best version for this CPU.
MaxPool2x2Rows hostMaxPool2x2Rows();

/// The 2×2, stride-2 max pooling of [N, C, HO, WO] outputs from an input
/// with two rows and columns per output row and column (a last odd row or
/// column is not read), split over the current ThreadPool, with `rowsOf`
/// (the host's when null). Strides are in floats; both inner strides are 1.
void maxPool2x2F32(MaxPool2x2Rows rowsOf, int64_t n, int64_t c, int64_t ho, int64_t wo,
                   const float *in, int64_t inN, int64_t inC, int64_t inH, float *out,
                   int64_t outN, int64_t outC, int64_t outH);

/// One output row of a k×k max pooling of an input padded already (see
/// kMaxPoolF32Kernel): from kh input rows at `in`, inRow floats apart,
///   out[x] = maximumf(out[x], max over i < kh, j < kw of in[i·inRow + x·sw + j])
/// for x < width. `scratch` has 3 · maxPoolScratchSection(width, kw, sw)
/// floats.
using MaxPoolRow = void (*)(const float *in, int64_t inRow, int64_t kh, int64_t kw, int64_t sw,
                            float *out, int64_t width, float *scratch);

/// The floats of each of a MaxPoolRow's three scratch sections (the rows'
/// maxima, then at stride 2 their even and their odd columns): the columns
/// the taps read and two vectors more, whole vectors, for the loads of the
/// last partial ones (taps up to 32 wide).
inline int64_t maxPoolScratchSection(int64_t width, int64_t kw, int64_t sw) {
  return ((width - 1) * sw + kw + 47) / 16 * 16;
}

/// The AVX-512 version (PoolAvx512.cpp), for CPUs with AVX-512F: strides 1
/// and 2 (the portable version's for others). The rows' maximum column by
/// column first, then the columns' over the taps, from the even and the
/// odd columns apart at stride 2, so that every tap is a vector load.
void maxPoolRowAvx512(const float *in, int64_t inRow, int64_t kh, int64_t kw, int64_t sw,
                      float *out, int64_t width, float *scratch);
/// The portable version.
void maxPoolRowPortable(const float *in, int64_t inRow, int64_t kh, int64_t kw, int64_t sw,
                        float *out, int64_t width, float *scratch);
/// The best version for this CPU.
MaxPoolRow hostMaxPoolRow();

/// The k×k max pooling of [N, C, HO, WO] outputs (kMaxPoolF32Kernel) with
/// `rowOf` (the host's when null), split over the current ThreadPool.
/// Strides are in floats; both inner strides are 1.
void maxPoolF32(MaxPoolRow rowOf, int64_t n, int64_t c, int64_t ho, int64_t wo, int64_t kh,
                int64_t kw, int64_t sh, int64_t sw, const float *in, int64_t inN, int64_t inC,
                int64_t inH, float *out, int64_t outN, int64_t outC, int64_t outH);

/// Computes one row of `width` elements of the pooling's gradient: with
/// y, s the pooled row's maxima and shares (element w/2 for column w),
/// out[w] = (x[w] == y[w/2] ? 1 : 0) · s[w/2], and with `positiveOnly`
/// then 0 where x[w] > 0 does not hold (a ReLU before the pooling).
using MaxPool2x2ScatterRow = void (*)(const float *x, const float *y, const float *s,
                                      float *out, int64_t width, bool positiveOnly);

void maxPool2x2ScatterRowAvx512(const float *x, const float *y, const float *s, float *out,
                                int64_t width, bool positiveOnly);
void maxPool2x2ScatterRowPortable(const float *x, const float *y, const float *s, float *out,
                                  int64_t width, bool positiveOnly);
MaxPool2x2ScatterRow hostMaxPool2x2ScatterRow();

/// A buffer of [N, C, H, W] floats: its address and three outer strides
/// (the inner stride is 1).
struct PlaneView {
  const float *data;
  int64_t n, c, h;

  /// The first element of image b's channel.
  const float *planeOf(int64_t b, int64_t channel) const { return data + b * n + channel * c; }
};

/// The gradient's pass over [N, C, H, W] (`rowOf`: the host's when null),
/// rows of x, the pooled maxima y and shares s (row h/2 for row h) and the
/// output out, split over the current ThreadPool.
void maxPool2x2ScatterF32(MaxPool2x2ScatterRow rowOf, int64_t n, int64_t c, int64_t h,
                          int64_t w, PlaneView x, PlaneView y, PlaneView s, float *out,
                          int64_t outN, int64_t outC, int64_t outH, bool positiveOnly);

} // namespace dlc

/// The entry point of generated code (kMaxPool2x2F32Kernel): maxPool2x2F32
/// with the host's kernel.
extern "C" void dlc_max_pool2x2_f32(int64_t n, int64_t c, int64_t ho, int64_t wo,
                                    const float *in, int64_t inN, int64_t inC, int64_t inH,
                                    float *out, int64_t outN, int64_t outC, int64_t outH);

/// The entry point of generated code (kMaxPoolF32Kernel): maxPoolF32 with
/// the host's kernel.
extern "C" void dlc_max_pool_f32(int64_t n, int64_t c, int64_t ho, int64_t wo, int64_t kh,
                                 int64_t kw, int64_t sh, int64_t sw, const float *in,
                                 int64_t inN, int64_t inC, int64_t inH, float *out, int64_t outN,
                                 int64_t outC, int64_t outH);

/// The entry point of generated code (kMaxPool2x2ScatterF32Kernel):
/// maxPool2x2ScatterF32 with the host's kernel.
extern "C" void dlc_max_pool2x2_scatter_f32(int64_t n, int64_t c, int64_t h, int64_t w,
                                            const float *x, int64_t xN, int64_t xC, int64_t xH,
                                            const float *y, int64_t yN, int64_t yC, int64_t yH,
                                            const float *s, int64_t sN, int64_t sC, int64_t sH,
                                            float *out, int64_t outN, int64_t outC,
                                            int64_t outH, int64_t flags);

#endif // DLC_RUNTIME_KERNELS_POOL_H
