//===- ExpandDepthwise.h - a pointwise expansion and its depthwise conv -*- C++ -*-===//
//
// MobileNet's inverted residual blocks expand a few channels to many with
// a 1×1 convolution, then convolve each channel with a 3×3 depthwise
// filter. Computed apart, the expanded tensor (MobileNetV2's first block:
// 96 × 112 × 112 floats, 4.8 MB) is written out row-major per channel by
// one kernel and read back by the next: the depthwise kernel's rows of 7-112
// outputs leave vectors part empty, stride 2 needs a permutation per load,
// and the tensor outgrows L2. Here the two run as one: a few rows of the
// expanded tensor at a time, channels innermost (each pixel's channels
// adjacent), in a ring of rows that stays in L2; the depthwise filter then
// reads whole vectors of 16 channels with any stride, and each output row
// is transposed back to the output's layout as it is stored.
//
// Generated code calls dlc_expand_depthwise_f32 (codegen/cpu/KernelAbi.h)
// where a dlc_gemm_f32 writes a buffer that only the
// dlc_depthwise_conv2d_f32 right after it reads (dlc-cpu-pair-kernels).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_EXPANDDEPTHWISE_H
#define DLC_RUNTIME_KERNELS_EXPANDDEPTHWISE_H

#include <cstddef>
#include <cstdint>

namespace dlc {

class RowRange;

/// One image of a pointwise expansion (or a convolution) and the 3×3
/// depthwise convolution of its result, each with dlc_gemm_f32's epilogue
/// (channels as rows):
///   e[c, r, x] = epilogue1(Σ_q weights[c, q] · in[r·rowStep + x·pixelStep + taps[q]])
///   out[c, y, x] = epilogue2(Σ_{i,j<3} filter[c, i, j] ·
///                            e[c, y·stride + i - pt, x·stride + j - pl])
/// where e is h × w and zero outside it (the padding). For a pointwise
/// expansion, taps[q] is input channel q's offset, rowStep w and pixelStep
/// 1; for a convolution, q runs over its patch elements (channel, filter
/// row, filter column) and the steps are its strides.
struct ExpandDepthwise {
  int64_t k, m;      ///< the sums' length, expanded channels (a multiple of 16)
  int64_t h, w;      ///< the expanded tensor's height and width
  int64_t ho, wo, stride, pt, pl;
  const float *in;
  const int64_t *taps; ///< k offsets
  int64_t rowStep, pixelStep;
  /// The weights transposed into panels of 32 channels: channel c's weight
  /// for input q at weightsT[(c / 32)·k·32 + q·32 + c % 32] (zeros past m).
  const float *weightsT;
  const float *scale1, *shift1; ///< per expanded channel, or null
  bool min1, max1;
  float lo1, hi1;
  /// The depthwise filter transposed: tap t = 3i + j of channel c at
  /// filterT[t·m + c].
  const float *filterT;
  const float *scale2, *shift2;
  bool min2, max2;
  float lo2, hi2;
  float *out;        ///< element (c, y, x) at out + c·outChannel + y·outRow + x
  int64_t outChannel, outRow;
};

/// The floats of scratch that expandDepthwiseAvx512 needs for a task of
/// `channels` channels.
size_t expandDepthwiseScratch(const ExpandDepthwise &p, int64_t channels);

/// Output rows of channels [c0, c1) (both multiples of 16, c1 - c0 at most
/// 32 and within one panel of weightsT), taken from `outputRows` one at a
/// time until it has none left (other threads may cut rows off its end),
/// with `scratch` of expandDepthwiseScratch(p, c1 - c0) floats. For CPUs
/// with AVX-512F (ExpandDepthwiseAvx512.cpp).
void expandDepthwiseAvx512(const ExpandDepthwise &p, int64_t c0, int64_t c1,
                           RowRange &outputRows, float *scratch);

/// dlc_expand_depthwise_f32 for C++ callers: `gemm` holds dlc_gemm_f32's
/// arguments (GemmF32Argument), `depthwise` dlc_depthwise_conv2d_f32's
/// (DepthwiseConv2dF32Argument). `fuse` false runs the two kernels one
/// after the other, as generated code did before (tests compare both).
void expandDepthwiseF32(const int64_t *gemm, const int64_t *depthwise, bool fuse = true);

/// dlc_conv_depthwise_f32 for C++ callers: `conv` holds dlc_conv2d_f32's
/// arguments (Conv2dF32Argument), `depthwise` as above.
void convDepthwiseF32(const int64_t *conv, const int64_t *depthwise, bool fuse = true);

} // namespace dlc

/// The entry points generated code calls (kExpandDepthwiseF32Kernel,
/// kConvDepthwiseF32Kernel): dlc_gemm_f32's 22 arguments or
/// dlc_conv2d_f32's 31, then dlc_depthwise_conv2d_f32's 35.
extern "C" void dlc_expand_depthwise_f32(
    int64_t g0, int64_t g1, int64_t g2, int64_t g3, int64_t g4, int64_t g5, int64_t g6,
    int64_t g7, int64_t g8, int64_t g9, int64_t g10, int64_t g11, int64_t g12, int64_t g13,
    int64_t g14, int64_t g15, int64_t g16, int64_t g17, int64_t g18, int64_t g19, int64_t g20,
    int64_t g21,
    int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t d4, int64_t d5, int64_t d6,
    int64_t d7, int64_t d8, int64_t d9, int64_t d10, int64_t d11, int64_t d12, int64_t d13,
    int64_t d14, int64_t d15, int64_t d16, int64_t d17, int64_t d18, int64_t d19, int64_t d20,
    int64_t d21, int64_t d22, int64_t d23, int64_t d24, int64_t d25, int64_t d26, int64_t d27,
    int64_t d28, int64_t d29, int64_t d30, int64_t d31, int64_t d32, int64_t d33, int64_t d34);
extern "C" void dlc_conv_depthwise_f32(
    int64_t c0, int64_t c1, int64_t c2, int64_t c3, int64_t c4, int64_t c5, int64_t c6,
    int64_t c7, int64_t c8, int64_t c9, int64_t c10, int64_t c11, int64_t c12, int64_t c13,
    int64_t c14, int64_t c15, int64_t c16, int64_t c17, int64_t c18, int64_t c19, int64_t c20,
    int64_t c21, int64_t c22, int64_t c23, int64_t c24, int64_t c25, int64_t c26, int64_t c27,
    int64_t c28, int64_t c29, int64_t c30,
    int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t d4, int64_t d5, int64_t d6,
    int64_t d7, int64_t d8, int64_t d9, int64_t d10, int64_t d11, int64_t d12, int64_t d13,
    int64_t d14, int64_t d15, int64_t d16, int64_t d17, int64_t d18, int64_t d19, int64_t d20,
    int64_t d21, int64_t d22, int64_t d23, int64_t d24, int64_t d25, int64_t d26, int64_t d27,
    int64_t d28, int64_t d29, int64_t d30, int64_t d31, int64_t d32, int64_t d33, int64_t d34);

#endif // DLC_RUNTIME_KERNELS_EXPANDDEPTHWISE_H
