//===- Winograd.h - 3×3 convolutions by Winograd's F(2×2, 3×3) -*- C++ -*-===//
//
// A stride-1 3×3 convolution computed on 2×2 output tiles: each tile's
// 4×4 input window d and each filter g are transformed,
//
//   V = Bᵀ·d·B,  U = G·g·Gᵀ,  M = Σ_c U ⊙ V,  Y = Aᵀ·M·A,
//
// so the sum over input channels is 16 matrix products (one per element ξ
// of the 4×4 transforms: M_ξ[K × tiles] = U_ξ[K × C] · V_ξ[C × tiles]) with
// 16 multiply-adds per tile and channel pair instead of 36: 2.25 times
// fewer. The filter's transform is kept in the executable's GemmPackCache,
// so only weights (a constant filter) take this path.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_WINOGRAD_H
#define DLC_RUNTIME_KERNELS_WINOGRAD_H

#include <cstdint>

namespace dlc {

class GemmPackCache;
struct GemmEpilogue;
struct GemmMicroKernel;

/// Sixteen 2×2 output tiles, one per vector lane, for the micro-kernel's
/// transforms (GemmMicroKernel::winogradInput and winogradOutput), as
/// runs of tiles that follow one another along a tile row (a group of 16
/// tiles of a 7-tile-wide image is 3-4 runs). The tiles of a run have
/// windows 2 floats apart, whose rows overlap, and outputs 2 floats
/// apart, so each of its window rows and output rows is one stretch of
/// memory. Offsets count floats from the base pointers the transforms
/// get.
struct WinogradTiles {
  struct Run {
    /// The first tile's window's first element (channel 0), and its first
    /// output's and residual's.
    int32_t input, output, residual;
    /// Its lanes: [first, first + count).
    uint8_t first, count;
    /// Floats of each window row inside the input, from the first
    /// window's; bit r set when window row r is inside.
    uint8_t inputFloats, inputRows;
    /// Floats of each output row inside the output, from the first
    /// tile's; whether the second output row is inside.
    uint8_t outputFloats;
    bool outputRow1;
  };
  /// Bit q set when lane q holds a tile.
  uint16_t lanes;
  uint8_t runCount;
  Run runs[16];
};

/// Whether conv2dWinogradF32 computes a convolution of these sizes (its
/// filter 3×3, strides and dilations 1, the input's x stride 1) with
/// `kernel` and is expected to be faster than the implicit GEMM: the
/// kernel has the transforms and the layer is large enough that the
/// transforms' cost is repaid.
bool winogradApplies(const GemmMicroKernel &kernel, int64_t images, int64_t channels,
                     int64_t outChannels, int64_t kh, int64_t kw, int64_t ho, int64_t wo,
                     int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t inN, int64_t inC,
                     int64_t inH, int64_t inW, int64_t outN, int64_t outH,
                     int64_t residualN, int64_t residualH);

/// dlc_conv2d_f32 for a convolution winogradApplies to, with its filter's
/// transform packed once into `cache`. Returns false, having written
/// nothing, when the cache cannot hold the transform (the caller then
/// computes it otherwise). `epilogue` may be null, never has a NaN bound,
/// and its residual has channels ldr apart, images residualN apart and
/// image rows residualH apart.
bool conv2dWinogradF32(const GemmMicroKernel &kernel, GemmPackCache &cache, int64_t images,
                       int64_t channels, int64_t outChannels, int64_t ho, int64_t wo,
                       const float *input, int64_t inN, int64_t inC, int64_t inH,
                       const float *filter, int64_t filterRowStride, float *output,
                       int64_t outN, int64_t outC, int64_t outH, bool overwrite,
                       const GemmEpilogue *epilogue, int64_t residualN, int64_t residualH);

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_WINOGRAD_H
