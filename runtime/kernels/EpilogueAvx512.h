//===- EpilogueAvx512.h - what the AVX-512 kernels share --------*- C++ -*-===//
//
// The epilogue's terms on AVX-512 vectors, the bit masks of a range of
// lanes, a 16×16 transpose in registers, and a row's inputs for 16
// outputs of stride 1 or 2. For the
// sources compiled with -mavx512f (GemmAvx512.cpp, DepthwiseAvx512.cpp,
// ExpandDepthwiseAvx512.cpp), which run only on CPUs that have it; kept out of
// headers that baseline sources include, so that no inline function of
// theirs is compiled with AVX-512 in one place and chosen for all.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H
#define DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H

#include "runtime/kernels/Gemm.h"

#include <cstdint>
#include <immintrin.h>

namespace dlc {

/// The epilogue's terms for one row (`scale`, `shift`: broadcast; the
/// residual's values, when `hasResidual`, from `residual()`, called only
/// then) applied to v, in GemmEpilogue's order (e says which terms there
/// are). max(lo, v) and min(hi, v) return v where v is NaN, as the
/// portable `v < lo ? lo : v` does.
template <typename Residual>
inline __m512 applyTerms(__m512 v, const GemmEpilogue &e, __m512 scale, __m512 shift,
                         __m512 lo, __m512 hi, bool hasResidual, Residual residual) {
  if (e.rowScale)
    v = _mm512_mul_ps(v, scale);
  if (e.rowShift)
    v = _mm512_add_ps(v, shift);
  if (hasResidual)
    v = _mm512_add_ps(v, residual());
  if (e.clampMin)
    v = _mm512_max_ps(lo, v);
  if (e.clampMax)
    v = _mm512_min_ps(hi, v);
  return v;
}

/// The terms with the residual read from `r` (its `lanes`; null: none).
inline __m512 withTerms(__m512 v, const GemmEpilogue &e, __m512 scale, __m512 shift,
                        __m512 lo, __m512 hi, const float *r, __mmask16 lanes) {
  return applyTerms(v, e, scale, shift, lo, hi, r != nullptr,
                    [&] { return _mm512_maskz_loadu_ps(lanes, r); });
}

/// Zeroes a tile of R × V accumulators (unrolled whole, so that the tile
/// stays in registers).
template <int R, int V> inline void zeroTile(__m512 (&acc)[R][V]) {
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      acc[i][v] = _mm512_setzero_ps();
}

/// Bits [first, end) of 32 (clamped to the 32): the lanes of a masked
/// load or store.
inline uint32_t laneSpan(int64_t first, int64_t end) {
  auto below = [](int64_t count) {
    return count >= 32 ? ~0u : count <= 0 ? 0u : (1u << count) - 1;
  };
  return below(end) & ~below(first);
}

/// Transposes a 16×16 block in registers: r[i], row i, becomes column i.
/// Pairs of rows interleaved (unpack of floats, then of float pairs) leave,
/// in each 128-bit lane L of register 4g + j, column 4L + j of rows
/// 4g..4g+3; two shuffles of lanes gather each column's four lanes.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  auto lo = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  auto hi = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  for (int g = 0; g < 16; g += 4) {
    r[g] = lo(t[g], t[g + 2]);
    r[g + 1] = hi(t[g], t[g + 2]);
    r[g + 2] = lo(t[g + 1], t[g + 3]);
    r[g + 3] = hi(t[g + 1], t[g + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);
    const __m512 u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    t[j + 4] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    t[j + 8] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    t[j + 12] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int i = 0; i < 16; ++i)
    r[i] = t[i];
}

/// Sixteen inputs of a row for sixteen adjacent outputs with horizontal
/// stride S (1 or 2): in[S·t] for t < 16, read from the S·16 floats at
/// `in` whose bits are set in `elements` (zeros for the others). No other
/// element is read, so a vector over the edge of a row (the padding, or
/// the end of the buffer) cannot fault. (The depthwise kernel's rows and
/// the few-channel convolution's taps.)
template <int S> inline __m512 stridedInputs(const float *in, uint32_t elements) {
  static_assert(S == 1 || S == 2);
  if constexpr (S == 1) {
    return _mm512_maskz_loadu_ps(__mmask16(elements), in);
  } else {
    // Lane t is element 2t of the 32 from `in` (the odd ones, loaded where
    // they lie between, are dropped).
    const __m512 low = _mm512_maskz_loadu_ps(__mmask16(elements), in);
    const __m512 high = _mm512_maskz_loadu_ps(__mmask16(elements >> 16), in + 16);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(low, even, high);
  }
}

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H
