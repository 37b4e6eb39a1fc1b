//===- Pool.h - 2×2 max pooling for the CPU ---------------------*- C++ -*-===//
//
// The usual 2×2, stride-2 max pooling of a CNN, which generated loops
// compute poorly: their rows of 7-28 outputs are too short to vectorize,
// so LLVM vectorizes across rows with gathers and scatters. The runtime's
// kernel reads two input rows with whole vector loads and separates each
// window's columns with a permutation. Generated code calls
// dlc_max_pool2x2_f32 (the name and argument order are fixed in
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

} // namespace dlc

/// The entry point of generated code (kMaxPool2x2F32Kernel): maxPool2x2F32
/// with the host's kernel.
extern "C" void dlc_max_pool2x2_f32(int64_t n, int64_t c, int64_t ho, int64_t wo,
                                    const float *in, int64_t inN, int64_t inC, int64_t inH,
                                    float *out, int64_t outN, int64_t outC, int64_t outH);

#endif // DLC_RUNTIME_KERNELS_POOL_H
