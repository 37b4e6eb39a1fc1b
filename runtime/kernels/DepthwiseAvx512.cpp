//===- DepthwiseAvx512.cpp - depthwise convolution with AVX-512 -*- C++ -*-===//
//
// Compiled with -mavx512f; called only on CPUs that have it.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Depthwise.h"
#include "runtime/kernels/EpilogueAvx512.h"

#include <algorithm>
#include <cstdint>
#include <immintrin.h>

namespace {

/// A plane's epilogue on a vector of sums, as the GEMM applies it (its
/// channel's scale and shift broadcast once).
struct Terms {
  explicit Terms(const dlc::DepthwisePlane &p)
      : terms{p.scale, p.shift, p.residual, 0, p.clampMin, p.clampMax, p.lo, p.hi},
        scale(_mm512_set1_ps(p.scale ? *p.scale : 1.0f)),
        shift(_mm512_set1_ps(p.shift ? *p.shift : 0.0f)), lo(_mm512_set1_ps(p.lo)),
        hi(_mm512_set1_ps(p.hi)) {}

  /// `value` with the terms, `lanes` of `residual` (or null) added.
  __m512 operator()(__m512 value, const float *residual, __mmask16 lanes) const {
    return dlc::withTerms(value, terms, scale, shift, lo, hi, residual, lanes);
  }

  const dlc::GemmEpilogue terms;
  const __m512 scale, shift, lo, hi;
};

/// Outputs [x0, x0 + count) of rows [y, y + R), in V vectors of 16 a row
/// (the last ones partial), with horizontal stride S; K is the filter's
/// size where it is K×K and known (its taps then unroll), 0 otherwise.
/// Edges says whether some of the rows read rows of the padding above or
/// below the input (whose loads are then masked off). The R·V sums stay
/// in registers across all taps.
template <int R, int V, int S, int K, bool Edges>
void chunk(const dlc::DepthwisePlane &p, int64_t y, int64_t x0, int64_t count) {
  const int64_t kh = K ? K : p.kh, kw = K ? K : p.kw;
  const int64_t inRow = p.inRow, dh = p.dh, dw = p.dw;
  __mmask16 mask[V];
  __m512 sum[R][V];
  for (int v = 0; v < V; ++v)
    mask[v] = __mmask16(dlc::laneSpan(0, count - 16 * v));
  for (int r = 0; r < R; ++r) {
    const float *out = p.out + (y + r) * p.outRow + x0;
    for (int v = 0; v < V; ++v)
      sum[r][v] = p.accumulate ? _mm512_maskz_loadu_ps(mask[v], out + 16 * v)
                               : _mm512_setzero_ps();
  }
  // Input row and column of the first output's first tap (negative in the
  // padding above and left).
  const int64_t row0 = y * p.sh - p.pt, column0 = x0 * S - p.pl;
  const float *origin = p.in + row0 * inRow + column0;
  const int64_t nextRow = p.sh * inRow;
  // The elements vector v of tap column j reads: those its lanes need (up
  // to the last one's) that lie within the row. For a known filter, every
  // column's before the taps (computed per tap, they took a fifth of the
  // kernel's time).
  auto elementsOf = [&](int64_t j, int v) {
    const int64_t first = column0 + j * dw + 16 * S * v;
    const int64_t needed = S * (std::min<int64_t>(count - 16 * v, 16) - 1) + 1;
    return dlc::laneSpan(-first, std::min(needed, p.w - first));
  };
  uint32_t elements[K ? K : 1][V];
  if constexpr (K != 0)
    for (int j = 0; j < K; ++j)
      for (int v = 0; v < V; ++v)
        elements[j][v] = elementsOf(j, v);
#pragma GCC unroll 8
  for (int64_t i = 0; i < kh; ++i) {
    const float *row = origin + i * dh * inRow;
    // Rows of the padding above or below read nothing.
    uint32_t rowMask[R];
    for (int r = 0; r < R; ++r)
      rowMask[r] = !Edges || uint64_t(row0 + r * p.sh + i * dh) < uint64_t(p.h) ? ~0u : 0u;
#pragma GCC unroll 8
    for (int64_t j = 0; j < kw; ++j) {
      const __m512 w = _mm512_set1_ps(p.filter[i * kw + j]);
      const float *in = row + j * dw;
      uint32_t column[V];
      for (int v = 0; v < V; ++v)
        column[v] = K ? elements[K ? j : 0][v] : elementsOf(j, v);
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v)
          sum[r][v] = _mm512_fmadd_ps(
              w, dlc::stridedInputs<S>(in + r * nextRow + 16 * S * v, column[v] & rowMask[r]), sum[r][v]);
    }
  }
  const Terms terms(p);
  for (int r = 0; r < R; ++r) {
    float *out = p.out + (y + r) * p.outRow + x0;
    const float *residual =
        p.residual ? p.residual + (y + r) * p.residualRow + x0 : nullptr;
    for (int v = 0; v < V; ++v)
      _mm512_mask_storeu_ps(out + 16 * v, mask[v],
                            terms(sum[r][v], residual ? residual + 16 * v : nullptr, mask[v]));
  }
}

/// Rows [y, y + R) of the plane, in chunks of V vectors (the last chunk of
/// a row with as many as it needs).
template <int R, int V, int S, int K, bool Edges>
void rowsOf(const dlc::DepthwisePlane &p, int64_t y) {
  for (int64_t x0 = 0; x0 < p.wo; x0 += 16 * V) {
    const int64_t count = std::min<int64_t>(16 * V, p.wo - x0);
    switch ((count + 15) / 16) {
    case 1:
      chunk<R, 1, S, K, Edges>(p, y, x0, count);
      break;
    case 2:
      chunk<R, (V < 2 ? V : 2), S, K, Edges>(p, y, x0, count);
      break;
    case 3:
      chunk<R, (V < 3 ? V : 3), S, K, Edges>(p, y, x0, count);
      break;
    default:
      chunk<R, V, S, K, Edges>(p, y, x0, count);
      break;
    }
  }
}

/// Rows [y, y + R): those that read the padding above or below the input
/// check each row they load, the others none.
template <int R, int V, int S, int K>
void rows(const dlc::DepthwisePlane &p, int64_t y) {
  const int64_t kh = K ? K : p.kh;
  const int64_t top = y * p.sh - p.pt, bottom = (y + R - 1) * p.sh + (kh - 1) * p.dh - p.pt;
  if (top < 0 || bottom >= p.h)
    rowsOf<R, V, S, K, true>(p, y);
  else
    rowsOf<R, V, S, K, false>(p, y);
}

/// One plane with horizontal stride S and filter size K (0: any): rows of
/// up to 64 outputs; narrow planes (MobileNet's 7-28 wide) a few rows at a
/// time, so that each tap's broadcast serves eight vectors.
template <int S, int K> void plane(const dlc::DepthwisePlane &p) {
  // The next plane's input rows that output rows [y, y + count) read here.
  const int64_t kh = K ? K : p.kh;
  auto prefetch = [&](int64_t y, int64_t count) {
    if (!p.next)
      return;
    const int64_t first = std::max<int64_t>(y * p.sh - p.pt, 0),
                  last = std::min<int64_t>(
                      y + count == p.ho ? (p.ho - 1) * p.sh + (kh - 1) * p.dh + 1 - p.pt
                                        : (y + count) * p.sh - p.pt,
                      p.h);
    for (int64_t row = first; row < last; ++row)
      for (int64_t x = 0; x < p.w; x += 16)
        _mm_prefetch(reinterpret_cast<const char *>(p.next + row * p.inRow + x),
                     _MM_HINT_T0);
  };
  int64_t y = 0;
  if (p.wo <= 16) {
    for (; y + 8 <= p.ho; y += 8)
      prefetch(y, 8), rows<8, 1, S, K>(p, y);
    for (; y + 2 <= p.ho; y += 2)
      prefetch(y, 2), rows<2, 1, S, K>(p, y);
  } else if (p.wo <= 32) {
    for (; y + 4 <= p.ho; y += 4)
      prefetch(y, 4), rows<4, 2, S, K>(p, y);
  } else {
    for (; y + 2 <= p.ho; y += 2)
      prefetch(y, 2), rows<2, 4, S, K>(p, y);
  }
  for (; y < p.ho; ++y)
    prefetch(y, 1), rows<1, 4, S, K>(p, y);
}

/// A plane of Q flat vectors (see DepthwisePlane::flatMasks), all in
/// registers across the taps: a 7×7 plane is four vectors, where rows of 7
/// took seven (a 14×14 one 13 instead of 14).
template <int Q, int K> void flatPlane(const dlc::DepthwisePlane &p) {
  const int64_t kh = K ? K : p.kh, kw = K ? K : p.kw, taps = kh * kw;
  const int64_t outputs = p.ho * p.wo;
  if (p.next)
    for (int64_t e = 0; e < p.h * p.w; e += 16)
      _mm_prefetch(reinterpret_cast<const char *>(p.next + e), _MM_HINT_T0);
  __mmask16 valid[Q];
  __m512 sum[Q];
#pragma GCC unroll 16
  for (int q = 0; q < Q; ++q) {
    valid[q] = __mmask16(dlc::laneSpan(0, outputs - 16 * q));
    sum[q] = p.accumulate ? _mm512_maskz_loadu_ps(valid[q], p.out + 16 * q)
                          : _mm512_setzero_ps();
  }
#pragma GCC unroll 8
  for (int64_t i = 0; i < kh; ++i)
#pragma GCC unroll 8
    for (int64_t j = 0; j < kw; ++j) {
      const int64_t t = i * kw + j;
      const __m512 w = _mm512_set1_ps(p.filter[t]);
      // The tap's input for the first output; the masks leave out the
      // lanes that fall in the padding (or in a neighbouring row).
      const float *in = p.in + (i * p.dh - p.pt) * p.w + (j * p.dw - p.pl);
#pragma GCC unroll 16
      for (int q = 0; q < Q; ++q)
        sum[q] = _mm512_fmadd_ps(
            w, _mm512_maskz_loadu_ps(__mmask16(p.flatMasks[q * taps + t]), in + 16 * q),
            sum[q]);
    }
  const Terms terms(p);
#pragma GCC unroll 16
  for (int q = 0; q < Q; ++q)
    _mm512_mask_storeu_ps(
        p.out + 16 * q, valid[q],
        terms(sum[q], p.residual ? p.residual + 16 * q : nullptr, valid[q]));
}

/// flatPlane with as many vectors as the plane has (up to
/// kDepthwiseFlatVectors).
template <int Q, int K> void flatPlaneOf(const dlc::DepthwisePlane &p) {
  if constexpr (Q < dlc::kDepthwiseFlatVectors) {
    if (p.ho * p.wo > 16 * Q)
      return flatPlaneOf<Q + 1, K>(p);
  }
  flatPlane<Q, K>(p);
}

template <int S> void plane(const dlc::DepthwisePlane &p) {
  if (S == 1 && p.flatMasks) {
    if (p.kh == 3 && p.kw == 3)
      flatPlaneOf<1, 3>(p);
    else
      flatPlaneOf<1, 0>(p);
    return;
  }
  if (p.kh == 3 && p.kw == 3)
    plane<S, 3>(p);
  else
    plane<S, 0>(p);
}

} // namespace

void dlc::depthwisePlaneAvx512(const DepthwisePlane &p) {
  if (p.sw == 1)
    plane<1>(p);
  else if (p.sw == 2)
    plane<2>(p);
  else
    depthwisePlanePortable(p);
}
