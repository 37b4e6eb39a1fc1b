//===- Gemm.h - dense matrix products for the CPU ---------------*- C++ -*-===//
//
// Single-precision GEMM with packed B panels and register-tiled
// micro-kernels for AVX-512 (8×32) and AVX2 (6×16), chosen by the host
// CPU's features, split over the current ThreadPool. Generated code calls
// dlc_gemm_f32 (the name and argument order are fixed in
// codegen/cpu/KernelAbi.h).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_GEMM_H
#define DLC_RUNTIME_KERNELS_GEMM_H

#include <cstdint>

namespace dlc {

/// One micro-kernel: computes an mr×nr tile of C += A·B from `rows` rows of
/// A (row stride lda) and kc rows of nr floats of B (row stride ldb: nr for
/// a packed panel), updating the first `rows`×`cols` elements of C. All nr
/// columns of B are read, so a partial tile must come from a padded panel.
struct GemmMicroKernel {
  const char *name;
  int mr, nr;
  void (*run)(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
              int64_t ldb, float *c, int64_t ldc, int cols);
};

/// The micro-kernels this build has, best first; each is usable only where
/// `supported()` says so.
const GemmMicroKernel *avx512GemmKernel();
const GemmMicroKernel *avx2GemmKernel();
const GemmMicroKernel *portableGemmKernel();

/// The best micro-kernel for this CPU.
const GemmMicroKernel &hostGemmKernel();

/// C += A·B for row-major A (m×k) and C (m×n) with row strides lda and ldc;
/// B's element (p, j) is at b[p·bStrideK + j·bStrideN] (bStrideN = 1 for a
/// row-major B, bStrideK = 1 for a transposed one). Uses `kernel` (the
/// host's when null) and the current ThreadPool.
void gemmF32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
             const float *b, int64_t bStrideK, int64_t bStrideN, float *c,
             int64_t ldc, const GemmMicroKernel *kernel = nullptr);

} // namespace dlc

/// The entry point generated code calls (codegen/cpu/KernelAbi.h): for each
/// of `batch` products, C[i] += A[i]·B[i], where X[i] starts `xBatchStride`
/// elements after X[i-1].
extern "C" void dlc_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t aBatchStride, int64_t lda,
                             const float *b, int64_t bBatchStride, int64_t bStrideK,
                             int64_t bStrideN, float *c, int64_t cBatchStride,
                             int64_t ldc);

#endif // DLC_RUNTIME_KERNELS_GEMM_H
