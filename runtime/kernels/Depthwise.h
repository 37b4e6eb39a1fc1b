//===- Depthwise.h - depthwise convolution for the CPU ----------*- C++ -*-===//
//
// A depthwise convolution (one filter per channel, as in MobileNet) does a
// few multiply-adds per element it reads, so it is bound by memory: the
// kernel computes each output row in registers, tap by tap, and applies
// the fused epilogue (batch norm, ReLU6) before its one store. Generated
// loops needed a zero fill before, a pass for the epilogue after, and read
// and wrote the output once per tap. Generated code calls
// dlc_depthwise_conv2d_f32 (name and arguments in codegen/cpu/KernelAbi.h).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_DEPTHWISE_H
#define DLC_RUNTIME_KERNELS_DEPTHWISE_H

#include <cstdint>

namespace dlc {

/// One channel of one image of a depthwise convolution, and its epilogue:
///   out[y, x] = Σ_{i,j} filter[i·kw + j] · in[y·sh + i·dh - pt, x·sw + j·dw - pl]
/// (added to out with `accumulate`), then, in dlc_gemm_f32's order,
///   min(max(v · scale + shift + residual[y, x], lo), hi)
/// where a max or min keeps a NaN v (the bounds are not NaN). The input is
/// h × w; the elements outside it are zeros (the convolution's padding,
/// which is never stored). Rows are inRow, outRow and residualRow floats
/// apart; columns are adjacent.
struct DepthwisePlane {
  const float *in;
  int64_t inRow, h, w, pt, pl;
  const float *filter;
  int64_t kh, kw, sh, sw, dh, dw;
  float *out;
  int64_t outRow, ho, wo;
  bool accumulate;
  const float *scale, *shift; ///< the channel's, or null without the term
  const float *residual;
  int64_t residualRow;
  bool clampMin, clampMax;
  float lo, hi;
  /// The input of the plane that comes next (same layout), or null: its
  /// rows are prefetched as this plane's are consumed. (Each plane starts
  /// a new stream, which the hardware prefetcher only picks up late: on
  /// MobileNet's 7-28 wide planes, the first loads of each row missed.)
  const float *next;
  /// For a small plane whose input and output rows follow one another, as
  /// wide as each other (a stride-1 convolution of a 7×7 plane): the
  /// plane as flat vectors of 16 outputs across rows, and for vector q and
  /// tap t = i·kw + j the lanes whose input lies inside, at
  /// flatMasks[q·kh·kw + t] (see flatMasksFor); null otherwise.
  const uint16_t *flatMasks = nullptr;
};

/// The most flat vectors a plane may have (flatMasks), and taps.
constexpr int64_t kDepthwiseFlatVectors = 13, kDepthwiseFlatTaps = 25;

/// Fills `masks` (kDepthwiseFlatVectors · kDepthwiseFlatTaps) for planes of
/// `plane`'s geometry and returns true, if such planes can be computed
/// flat (see DepthwisePlane::flatMasks); false otherwise.
bool flatMasksFor(const DepthwisePlane &plane, uint16_t *masks);

/// Computes one plane.
using DepthwisePlaneKernel = void (*)(const DepthwisePlane &plane);

/// The AVX-512 version (DepthwiseAvx512.cpp), for CPUs with AVX-512F: rows
/// of outputs a vector at a time for horizontal strides 1 and 2, the
/// portable version for others.
void depthwisePlaneAvx512(const DepthwisePlane &plane);
/// The portable version.
void depthwisePlanePortable(const DepthwisePlane &plane);

/// The best version for this CPU.
DepthwisePlaneKernel hostDepthwisePlane();

} // namespace dlc

/// The entry point of generated code (kDepthwiseConv2dF32Kernel), with
/// dlc_conv2d_f32's arguments and then the input's height and width and
/// the padding above and left of it (DepthwiseConv2dF32Argument):
/// `outChannels` equals `channels`, and the filter is [C, KH·KW] with rows
/// filterRowStride apart. The planes are split over the current ThreadPool.
extern "C" void dlc_depthwise_conv2d_f32(
    int64_t images, int64_t channels, int64_t outChannels, int64_t kh,
    int64_t kw, int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t dh,
    int64_t dw, const float *input, int64_t inN, int64_t inC, int64_t inH,
    int64_t inW, const float *filter, int64_t filterRowStride, float *output,
    int64_t outN, int64_t outC, int64_t outH, int64_t flags, const float *scale,
    const float *shift, const float *residual, int64_t residualN,
    int64_t residualC, int64_t residualH, int64_t minBits, int64_t maxBits,
    int64_t height, int64_t width, int64_t padTop, int64_t padLeft);

namespace dlc {

/// dlc_depthwise_conv2d_f32 with `kernel` (the host's when null): tests run
/// each version through it.
void depthwiseConv2dF32(
    DepthwisePlaneKernel kernel, int64_t images, int64_t channels, int64_t kh,
    int64_t kw, int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t dh,
    int64_t dw, const float *input, int64_t inN, int64_t inC, int64_t inH,
    const float *filter, int64_t filterRowStride, float *output, int64_t outN,
    int64_t outC, int64_t outH, int64_t flags, const float *scale,
    const float *shift, const float *residual, int64_t residualN,
    int64_t residualC, int64_t residualH, int64_t minBits, int64_t maxBits,
    int64_t height, int64_t width, int64_t padTop, int64_t padLeft);

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_DEPTHWISE_H
