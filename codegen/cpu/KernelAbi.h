//===- KernelAbi.h - runtime kernels that generated code calls --*- C++ -*-===//
//
// The names of the runtime functions that dlc-cpu-kernel-calls emits calls
// to, and their arguments. Generated code passes every argument as an
// `index` (a 64-bit integer; pointers included); the runtime defines the
// functions (runtime/kernels/) and gives their addresses to the JIT.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_KERNELABI_H
#define DLC_CODEGEN_CPU_KERNELABI_H

namespace dlc {

/// C[i] += A[i]·B[i] for i in [0, batch), single precision, then an
/// epilogue on each element of C:
///   (batch, m, n, k, a, aBatchStride, lda, b, bBatchStride, bStrideK,
///    bStrideN, c, cBatchStride, ldc, flags,
///    rowScale, rowShift, residual, residualBatchStride, ldr, minBits, maxBits)
/// A and C are row-major with unit column stride (A is column-major, its
/// element (i, p) at a + p·lda + i, with kGemmTransposedA); B's element
/// (p, j) is at b + p·bStrideK + j·bStrideN, so a transposed B needs no
/// copy. Strides
/// count elements; a, b and c are addresses. `flags` is a set of
/// GemmF32Flag bits. The epilogue makes each element c of C[i] at row r,
/// column j
///   min(max(c · rowScale[r] + rowShift[r] + R[i](r, j), lo), hi)
/// with R[i](r, j) at residual + i·residualBatchStride + r·ldr + j, and lo
/// and hi the floats whose bits minBits and maxBits hold: a fused
/// convolution's bias, batch norm, residual connection and ReLU. A term
/// whose address is 0 is skipped; max and min only with kGemmClampMin and
/// kGemmClampMax.
constexpr const char *kGemmF32Kernel = "dlc_gemm_f32";

/// The position of each of dlc_gemm_f32's arguments.
enum GemmF32Argument : unsigned {
  kGemmBatch, kGemmM, kGemmN, kGemmK,
  kGemmA, kGemmABatchStride, kGemmLda,
  kGemmB, kGemmBBatchStride, kGemmBStrideK, kGemmBStrideN,
  kGemmC, kGemmCBatchStride, kGemmLdc,
  kGemmFlags,
  kGemmRowScale, kGemmRowShift,
  kGemmResidual, kGemmResidualBatchStride, kGemmLdr,
  kGemmMinBits, kGemmMaxBits,
  kGemmF32Arguments,
};

/// What dlc_gemm_f32's `flags` may say about its operands.
enum GemmF32Flag : unsigned {
  /// B is a weight: the same values at the same address on every run of
  /// the executable, so the runtime may pack it once and keep the packing.
  kGemmConstantB = 1,
  /// C holds zeros (a fill that dlc-cpu-kernel-calls removed): the kernel
  /// writes A·B instead of adding it, and never reads C.
  kGemmOverwriteC = 2,
  /// The epilogue takes the maximum with the float in minBits.
  kGemmClampMin = 4,
  /// The epilogue takes the minimum with the float in maxBits.
  kGemmClampMax = 8,
  /// A is stored transposed, as [k, m] with rows lda apart (a weight
  /// gradient's Xᵀ), and the caller makes no copy: the runtime copies it to
  /// rows as it computes (each product of a batch its own A).
  kGemmTransposedA = 16,
  /// dlc_conv2d_f32's filter is a weight (as kGemmConstantB for B): the
  /// runtime may transform it once and keep the transform (Winograd's, for
  /// 3×3 convolutions, runtime/kernels/Winograd.h; or the filter transposed
  /// for convolutions with few output pixels, runtime/kernels/Gemm.cpp).
  kConvConstantFilter = 32,
  /// A is a weight, not transposed (a pointwise convolution's filter): a
  /// product with few columns may run with the columns as the
  /// micro-kernel's rows and A packed once, as dlc_conv2d_f32 runs a
  /// constant filter.
  kGemmConstantA = 64,
};

/// A float32 2-D convolution with one group (strides and dilations, input
/// already padded), then dlc_gemm_f32's epilogue with output channels as
/// rows:
///   out[b, o, y, x] = Σ_{c,i,j} filter[o, c, i, j] · in[b, c, y·sh + i·dh, x·sw + j·dw]
/// The input's four strides are arbitrary; the filter is [O, C·KH·KW] with
/// row stride filterRowStride; the output and the residual ([N, O, HO, WO])
/// have unit stride along x. Flags: kGemmOverwriteC, kGemmClampMin,
/// kGemmClampMax, kConvConstantFilter. The runtime computes it as an
/// implicit GEMM (the patches are packed from the images as the product
/// needs them), or, for a 3×3 stride-1 convolution with a constant filter,
/// by Winograd's F(2×2, 3×3).
constexpr const char *kConv2dF32Kernel = "dlc_conv2d_f32";

/// The position of each of dlc_conv2d_f32's arguments.
enum Conv2dF32Argument : unsigned {
  kConvImages, kConvChannels, kConvOutChannels,
  kConvKernelH, kConvKernelW, kConvOutH, kConvOutW,
  kConvStrideH, kConvStrideW, kConvDilationH, kConvDilationW,
  kConvInput, kConvInputStrideN, kConvInputStrideC, kConvInputStrideH, kConvInputStrideW,
  kConvFilter, kConvFilterRowStride,
  kConvOutput, kConvOutputStrideN, kConvOutputStrideC, kConvOutputStrideH,
  kConvFlags,
  kConvRowScale, kConvRowShift,
  kConvResidual, kConvResidualStrideN, kConvResidualStrideC, kConvResidualStrideH,
  kConvMinBits, kConvMaxBits,
  kConv2dF32Arguments,
};

/// A float32 2-D depthwise convolution (a filter per channel; strides,
/// dilations and zero padding), then dlc_gemm_f32's epilogue with channels
/// as rows:
///   out[b, c, y, x] = Σ_{i,j} filter[c, i, j] · in[b, c, y·sh + i·dh - pt, x·sw + j·dw - pl]
/// where the input is height × width and zero outside it: the padding is
/// never stored. It takes dlc_conv2d_f32's arguments, with as many output
/// channels as channels and the filter [C, KH·KW] (rows filterRowStride
/// apart), and then the input's height and width and the padding above
/// (pt) and left (pl) of it (DepthwiseConv2dF32Argument). Flags:
/// kGemmOverwriteC, kGemmClampMin, kGemmClampMax. (The generated loops
/// read the input once per tap, and need a zero fill before and a pass for
/// the epilogue after; a padded input was a copy of the input into a
/// zero-filled buffer.)
constexpr const char *kDepthwiseConv2dF32Kernel = "dlc_depthwise_conv2d_f32";

/// The position of dlc_depthwise_conv2d_f32's arguments after
/// dlc_conv2d_f32's.
enum DepthwiseConv2dF32Argument : unsigned {
  kDepthwiseInputHeight = kConv2dF32Arguments,
  kDepthwiseInputWidth, kDepthwisePadTop, kDepthwisePadLeft,
  kDepthwiseConv2dF32Arguments,
};

/// A pointwise product and the depthwise convolution that reads its
/// result, as one call (dlc-cpu-pair-kernels forms it where a
/// dlc_gemm_f32's C is a buffer that only the dlc_depthwise_conv2d_f32
/// right after it reads): dlc_gemm_f32's arguments, then
/// dlc_depthwise_conv2d_f32's (kGemmF32Arguments + kDepthwiseConv2dF32Arguments
/// in all). The runtime computes the two a few rows of the product at a
/// time, its channels innermost, where their shapes allow
/// (runtime/kernels/ExpandDepthwise.h), and otherwise calls the two kernels
/// in order; C is then written as before.
constexpr const char *kExpandDepthwiseF32Kernel = "dlc_expand_depthwise_f32";

/// The same for a dlc_conv2d_f32 and the depthwise convolution that reads
/// its output (an image network's first layer, a convolution of a few
/// channels, and the depthwise convolution after it): dlc_conv2d_f32's
/// arguments, then dlc_depthwise_conv2d_f32's (kConv2dF32Arguments +
/// kDepthwiseConv2dF32Arguments in all).
constexpr const char *kConvDepthwiseF32Kernel = "dlc_conv_depthwise_f32";

/// A float32 2×2 max pooling with stride 2 and no padding, by
/// arith.maximumf's rules (NaN if any element is; +0 above -0):
///   out[b, c, y, x] = max over i, j < 2 of in[b, c, 2y + i, 2x + j]
/// for [N, C, HO, WO] outputs. The input's and the output's three outer
/// strides are arbitrary, their inner strides 1. (Generated loops compute
/// it with gathers: its rows are too short to vectorize.)
constexpr const char *kMaxPool2x2F32Kernel = "dlc_max_pool2x2_f32";

/// The position of each of dlc_max_pool2x2_f32's arguments.
enum MaxPool2x2F32Argument : unsigned {
  kPoolImages, kPoolChannels, kPoolOutH, kPoolOutW,
  kPoolInput, kPoolInputStrideN, kPoolInputStrideC, kPoolInputStrideH,
  kPoolOutput, kPoolOutputStrideN, kPoolOutputStrideC, kPoolOutputStrideH,
  kMaxPool2x2F32Arguments,
};

/// A float32 k×k max pooling, strided, of an input padded already (the
/// padding holds -inf), taken together with what the output holds:
///   out[b, c, y, x] = maximumf(out[b, c, y, x], max_{i<kh, j<kw} in[b, c, y·sh + i, x·sw + j])
/// by arith.maximumf's rules (a NaN if any is NaN; +0 above -0). Both inner
/// strides are 1. (ResNet's 3×3, stride-2 pooling: generated loops took
/// 0.74-0.92 ms for it alone on one thread, ONNX Runtime 0.22.)
constexpr const char *kMaxPoolF32Kernel = "dlc_max_pool_f32";

/// The position of each of dlc_max_pool_f32's arguments.
enum MaxPoolF32Argument : unsigned {
  kMaxPoolImages, kMaxPoolChannels, kMaxPoolOutH, kMaxPoolOutW,
  kMaxPoolKernelH, kMaxPoolKernelW, kMaxPoolStrideH, kMaxPoolStrideW,
  kMaxPoolInput, kMaxPoolInputStrideN, kMaxPoolInputStrideC, kMaxPoolInputStrideH,
  kMaxPoolOutput, kMaxPoolOutputStrideN, kMaxPoolOutputStrideC, kMaxPoolOutputStrideH,
  kMaxPoolF32Arguments,
};

/// The last pass of a 2×2, stride-2 max pooling's gradient (ir/Gradients.cpp
/// shares each window's gradient among the elements equal to its maximum):
///   out[b, c, h, w] = (x[b, c, h, w] == y[b, c, h/2, w/2] ? 1 : 0) · s[b, c, h/2, w/2]
/// for [N, C, H, W] x and out, with y the pooled maxima and s the shares;
/// with kPoolScatterPositiveOnly, then 0 where x > 0 does not hold (a
/// ReLU's gradient before the pooling, fused). The four buffers' three
/// outer strides are arbitrary, their inner strides 1.
constexpr const char *kMaxPool2x2ScatterF32Kernel = "dlc_max_pool2x2_scatter_f32";

/// The position of each of dlc_max_pool2x2_scatter_f32's arguments.
enum MaxPool2x2ScatterF32Argument : unsigned {
  kScatterImages, kScatterChannels, kScatterHeight, kScatterWidth,
  kScatterInput, kScatterInputStrideN, kScatterInputStrideC, kScatterInputStrideH,
  kScatterMaxima, kScatterMaximaStrideN, kScatterMaximaStrideC, kScatterMaximaStrideH,
  kScatterShares, kScatterSharesStrideN, kScatterSharesStrideC, kScatterSharesStrideH,
  kScatterOutput, kScatterOutputStrideN, kScatterOutputStrideC, kScatterOutputStrideH,
  kScatterFlags,
  kMaxPool2x2ScatterF32Arguments,
};

/// dlc_max_pool2x2_scatter_f32's flags.
enum PoolScatterFlags : unsigned {
  kPoolScatterPositiveOnly = 1,
};

/// Runs `task(args, begin, end)` over [lo, hi) split into ranges, a few
/// per thread of the current pool (the later ones balance the load):
///   void dlc_parallel_for(void (*task)(void **args, int64_t begin,
///                                      int64_t end),
///                         void **args, int64_t lo, int64_t hi)
/// The JIT emits the calls (for kernels that dlc-parallel-kernels split);
/// `args` holds the kernel's other arguments, one 8-byte slot each.
constexpr const char *kParallelFor = "dlc_parallel_for";

/// The public constant array of int64 that lists the outputs computed in
/// their inputs' memory (dlc-in-place-outputs): [count, output, input,
/// output, input, ...], positions among the signature's outputs and
/// inputs. The caller gives such an output holding its input's values (or
/// the input's own buffer). Absent when there are none.
constexpr const char *kInPlaceOutputsSymbol = "dlc_in_place_outputs";

/// The LLVM function attribute that marks a kernel whose last two
/// arguments are the range [lo, hi) of its split loop.
constexpr const char *kParallelForAttribute = "dlc-parallel-for";

} // namespace dlc

#endif // DLC_CODEGEN_CPU_KERNELABI_H
