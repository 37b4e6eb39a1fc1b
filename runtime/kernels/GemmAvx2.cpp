//===- GemmAvx2.cpp - the AVX2 GEMM micro-kernel ----------------*- C++ -*-===//
//
// A 6×16 tile: 12 ymm accumulators, per k step two loads of B and six
// broadcasts of A. Compiled with -mavx2 -mfma; called only on CPUs that
// have both.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Gemm.h"

#include <immintrin.h>

namespace {

constexpr int MR = 6, NR = 16;

__m256i maskFor(int cols) {
  // Lane j is enabled when j < cols.
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void kernel(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
            int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate) {
  const float *row[MR];
  for (int i = 0; i < MR; ++i)
    row[i] = a + (i < rows ? i : rows - 1) * lda;
  __m256 acc[MR][2];
  for (int i = 0; i < MR; ++i)
    acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_loadu_ps(b + p * ldb);
    __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
    for (int i = 0; i < MR; ++i) {
      __m256 ai = _mm256_broadcast_ss(row[i] + p);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  __m256i low = maskFor(cols), high = maskFor(cols - 8);
  for (int i = 0; i < rows; ++i) {
    float *out = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm256_add_ps(_mm256_maskload_ps(out, low), acc[i][0]);
      acc[i][1] = _mm256_add_ps(_mm256_maskload_ps(out + 8, high), acc[i][1]);
    }
    _mm256_maskstore_ps(out, low, acc[i][0]);
    _mm256_maskstore_ps(out + 8, high, acc[i][1]);
  }
}

const dlc::GemmMicroKernel avx2 = {"avx2 6x16", MR, NR, kernel, nullptr, nullptr, nullptr};

} // namespace

const dlc::GemmMicroKernel *dlc::avx2GemmKernel() { return &avx2; }
