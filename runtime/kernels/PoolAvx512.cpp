//===- PoolAvx512.cpp - max pooling with AVX-512 ----------------*- C++ -*-===//
//
// Compiled with -mavx512f; called only on CPUs that have it.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Pool.h"
#include "runtime/kernels/EpilogueAvx512.h"

#include <algorithm>
#include <immintrin.h>

namespace {

/// arith.maximumf lane by lane: max_ps gives its second operand for NaNs
/// and for zeros of either sign, so equal lanes take a AND b (+0 if either
/// is +0) and unordered ones a + b (a NaN).
inline __m512 maximumf(__m512 a, __m512 b) {
  __m512 m = _mm512_max_ps(a, b);
  const __mmask16 equal = _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ);
  m = _mm512_mask_mov_ps(
      m, equal,
      _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b))));
  const __mmask16 unordered = _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q);
  return _mm512_mask_add_ps(m, unordered, a, b);
}

/// The even and the odd elements of the 32 in `low` then `high`.
inline void evenAndOdd(__m512 low, __m512 high, __m512 &evens, __m512 &odds) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                         28, 30);
  evens = _mm512_permutex2var_ps(low, even, high);
  odds = _mm512_permutex2var_ps(low, _mm512_add_epi32(even, _mm512_set1_epi32(1)), high);
}

} // namespace

void dlc::maxPool2x2RowsAvx512(const float *in, int64_t inRow, int64_t inNext, float *out,
                               int64_t outRow, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r, in += inRow, out += outRow) {
    const float *top = in, *bottom = in + inNext;
    for (int64_t x = 0; x < width; x += 16) {
      // Outputs [x, x + count), from input columns [2x, 2x + 2·count).
      const int64_t count = std::min<int64_t>(16, width - x);
      const __mmask16 outLanes = __mmask16((1u << count) - 1);
      const int64_t low = std::min<int64_t>(16, 2 * count), high = 2 * count - low;
      const __mmask16 lowLanes = __mmask16((1u << low) - 1),
                      highLanes = __mmask16((1u << high) - 1);
      const float *t = top + 2 * x, *u = bottom + 2 * x;
      __m512 rows0 = maximumf(_mm512_maskz_loadu_ps(lowLanes, t),
                              _mm512_maskz_loadu_ps(lowLanes, u));
      __m512 rows1 = maximumf(_mm512_maskz_loadu_ps(highLanes, t + 16),
                              _mm512_maskz_loadu_ps(highLanes, u + 16));
      // Each window's two columns: the even columns and the odd ones.
      __m512 evens, odds;
      evenAndOdd(rows0, rows1, evens, odds);
      _mm512_mask_storeu_ps(out + x, outLanes, maximumf(evens, odds));
    }
  }
}

void dlc::maxPoolRowAvx512(const float *in, int64_t inRow, int64_t kh, int64_t kw, int64_t sw,
                           float *out, int64_t width, float *scratch) {
  if (sw > 2 || kw > 32)
    return maxPoolRowPortable(in, inRow, kh, kw, sw, out, width, scratch);
  // The rows' maximum of every column the taps read, in whole vectors
  // (the lanes past the last column are zeros, and no output reads them),
  // in the scratch's first section; at stride 2 its even and odd columns
  // in the next two (see maxPoolScratchSection).
  const int64_t columns = (width - 1) * sw + kw;
  const int64_t section = maxPoolScratchSection(width, kw, sw);
  float *rows = scratch;
  for (int64_t c = 0; c < columns; c += 16) {
    const __mmask16 lanes = __mmask16(laneSpan(0, columns - c));
    __m512 m = _mm512_maskz_loadu_ps(lanes, in + c);
    for (int64_t i = 1; i < kh; ++i)
      m = maximumf(m, _mm512_maskz_loadu_ps(lanes, in + i * inRow + c));
    _mm512_storeu_ps(rows + c, m);
  }
  // Tap j of output x reads column x·sw + j: element x + j / sw of
  // phase[j % sw], the rows' maxima at stride 1, their even or odd columns
  // at stride 2. (Vectors past the last output read scratch never
  // written, into lanes that are not stored.)
  const float *phase[2] = {rows, rows};
  if (sw == 2) {
    float *evens = scratch + section, *odds = scratch + 2 * section;
    for (int64_t t = 0; 2 * t < columns; t += 16) {
      __m512 even, odd;
      evenAndOdd(_mm512_loadu_ps(rows + 2 * t), _mm512_loadu_ps(rows + 2 * t + 16), even, odd);
      _mm512_storeu_ps(evens + t, even);
      _mm512_storeu_ps(odds + t, odd);
    }
    phase[0] = evens, phase[1] = odds;
  }
  for (int64_t x = 0; x < width; x += 16) {
    const __mmask16 lanes = __mmask16(laneSpan(0, width - x));
    __m512 m = _mm512_maskz_loadu_ps(lanes, out + x);
    for (int64_t j = 0; j < kw; ++j)
      m = maximumf(m, _mm512_loadu_ps(phase[j % sw] + x + j / sw));
    _mm512_mask_storeu_ps(out + x, lanes, m);
  }
}

void dlc::maxPool2x2ScatterRowAvx512(const float *x, const float *y, const float *s, float *out,
                                     int64_t width, bool positiveOnly) {
  // Each of 16 pooled columns, twice: for the first 16 columns of a chunk
  // of 32 and for the second.
  const __m512i firstPairs =
      _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i secondPairs = _mm512_add_epi32(firstPairs, _mm512_set1_epi32(8));
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  for (int64_t w = 0; w < width; w += 32) {
    const int64_t count = std::min<int64_t>(32, width - w), pooled = (count + 1) / 2;
    const __mmask16 pooledLanes = __mmask16((1u << pooled) - 1);
    const __m512 maxima = _mm512_maskz_loadu_ps(pooledLanes, y + w / 2);
    const __m512 shares = _mm512_maskz_loadu_ps(pooledLanes, s + w / 2);
    for (int64_t half = 0; half < 2 && 16 * half < count; ++half) {
      const int64_t lanes = std::min<int64_t>(16, count - 16 * half);
      const __mmask16 mask = __mmask16((1u << lanes) - 1);
      const __m512i pairs = half ? secondPairs : firstPairs;
      const __m512 value = _mm512_maskz_loadu_ps(mask, x + w + 16 * half);
      const __mmask16 hit =
          _mm512_cmp_ps_mask(value, _mm512_permutexvar_ps(pairs, maxima), _CMP_EQ_OQ);
      // (hit ? 1 : 0) · share, as the generated code multiplies (0 · a
      // negative share is -0, 0 · NaN is NaN).
      __m512 result =
          _mm512_mul_ps(_mm512_mask_blend_ps(hit, zero, one), _mm512_permutexvar_ps(pairs, shares));
      if (positiveOnly)
        result = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(value, zero, _CMP_GT_OQ), result);
      _mm512_mask_storeu_ps(out + w + 16 * half, mask, result);
    }
  }
}
