//===- ExpandDepthwiseAvx512.cpp - expansion and depthwise, AVX-512 -*- C++ -*-===//
//
// Compiled with -mavx512f; called only on CPUs that have it.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/EpilogueAvx512.h"
#include "runtime/kernels/ExpandDepthwise.h"
#include "runtime/kernels/RowRange.h"

#include <algorithm>
#include <cstdint>
#include <immintrin.h>
#include <vector>

namespace {

using dlc::ExpandDepthwise;

/// Rows of the expanded tensor a task keeps: the three a 3×3 filter reads
/// (row r in slot r % 3). The next output row's new rows (one at stride 1,
/// two at stride 2) replace rows no later output reads.
constexpr int64_t kRingRows = 3;

/// Pixels of an expanded row summed at once (each input value broadcast
/// serves 2 vectors of channels): 8, or 7 for rows of 7, 14 and 28
/// (MobileNet's late layers), which groups of 8 would leave an eighth empty.
/// A panel of 16 channels (one vector, on rows of 56 and 112) takes 16
/// pixels a tile where the row has 16 left: its 8 sums a tile left an
/// FMA's 4 cycles of latency no slack at two FMAs a cycle (MobileNetV2
/// at batch 1, in-process A/B on an Intel Xeon: one thread 0.978,
/// quartiles 0.972-0.989; two threads 1.000 and 0.979).
constexpr int kPixels = 16;
int pixelsPerTile(int64_t w) { return w % 8 != 0 && w % 7 == 0 ? 7 : 8; }

/// An epilogue's terms (scale and shift per channel, clamps) for the 16
/// channels from c: the vectors loaded once, applied to many sums.
struct ChannelTerms {
  ChannelTerms(const float *scale, const float *shift, bool clampMin, bool clampMax, float lo,
               float hi)
      : terms{scale, shift, nullptr, 0, clampMin, clampMax, lo, hi}, lo(_mm512_set1_ps(lo)),
        hi(_mm512_set1_ps(hi)) {}

  /// The scale and shift of channels [c, c + 16).
  struct Vectors {
    __m512 scale, shift;
  };
  Vectors at(int64_t c) const {
    return {terms.rowScale ? _mm512_loadu_ps(terms.rowScale + c) : _mm512_set1_ps(1.0f),
            terms.rowShift ? _mm512_loadu_ps(terms.rowShift + c) : _mm512_setzero_ps()};
  }

  __m512 operator()(__m512 v, const Vectors &channel) const {
    return dlc::applyTerms(v, terms, channel.scale, channel.shift, lo, hi, false,
                           [] { return __m512(); });
  }

  const dlc::GemmEpilogue terms;
  const __m512 lo, hi;
};

/// P pixels of expanded row `in` (their first inputs at `at`) for V vectors of channels
/// from c, written to `row` (pixel x's channels from c0 at row + x·ld) for
/// the first `pixels` of them.
template <int P, int V>
void expandTile(const ExpandDepthwise &p, const float *in, const int64_t (&at)[kPixels],
                int pixels, int64_t c, int64_t c0, float *row, int64_t x0, int64_t ld,
                const ChannelTerms &terms) {
  __m512 acc[P][V];
  dlc::zeroTile(acc);
  const float *weights = p.weightsT + c / 32 * p.k * 32 + c % 32;
  for (int64_t q = 0; q < p.k; ++q, weights += 32) {
    const float *tap = in + p.taps[q];
    __m512 b[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      b[v] = _mm512_loadu_ps(weights + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < P; ++i) {
      const __m512 a = _mm512_set1_ps(tap[at[i]]);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v)
        acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
  }
  ChannelTerms::Vectors channel[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; ++v)
    channel[v] = terms.at(c + 16 * v);
#pragma GCC unroll 16
  for (int i = 0; i < P; ++i) {
    if (i >= pixels)
      continue;
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      _mm512_storeu_ps(row + (x0 + i) * ld + (c - c0) + 16 * v, terms(acc[i][v], channel[v]));
  }
}

/// Row r of the expanded tensor, channels [c0, c1), into `row`, P pixels
/// a tile.
template <int P>
void expandRow(const ExpandDepthwise &p, int64_t r, int64_t c0, int64_t c1, float *row,
               const ChannelTerms &terms) {
  const int64_t ld = c1 - c0;
  const float *in = p.in + r * p.rowStep;
  const bool onePanel16 = P == 8 && c1 - c0 <= 16;
  for (int64_t x0 = 0; x0 < p.w; x0 += onePanel16 && p.w - x0 >= 16 ? 16 : P) {
    if (onePanel16 && p.w - x0 >= 16) {
      int64_t at[kPixels];
      for (int i = 0; i < 16; ++i)
        at[i] = (x0 + i) * p.pixelStep;
      expandTile<16, 1>(p, in, at, 16, c0, c0, row, x0, ld, terms);
      continue;
    }
    const int pixels = int(std::min<int64_t>(P, p.w - x0));
    // Pixels past the row's end read its last one again (and are dropped).
    int64_t at[kPixels];
    for (int i = 0; i < kPixels; ++i)
      at[i] = (x0 + std::min(i, pixels - 1)) * p.pixelStep;
    for (int64_t c = c0; c < c1; c += 32) {
      if (c1 - c >= 32)
        expandTile<P, 2>(p, in, at, pixels, c, c0, row, x0, ld, terms);
      else
        expandTile<P, 1>(p, in, at, pixels, c, c0, row, x0, ld, terms);
    }
  }
}

/// An output row's sums for channels [c, c + 16), from the three expanded
/// rows `rows` it reads (row i's pixel x's channels from c0 at
/// rows[i] + x·ld + c - c0), with the epilogue, into `sums` (output x's at
/// sums + x·ld). The taps of outputs [xa, xb) lie inside the row, eight
/// outputs summed at once; the others check theirs.
/// S is the stride: known, the loads that neighbouring outputs' taps share
/// (all but one of three at stride 1) are made once.
template <int S>
void depthwiseVector(const ExpandDepthwise &p, const float *const (&rows)[3],
                     const __m512 (&filter)[9], int64_t c, int64_t c0, int64_t ld, int64_t xa,
                     int64_t xb, float *sums, const ChannelTerms &terms) {
  constexpr int64_t s = S;
  const ChannelTerms::Vectors channel = terms.at(c);
  auto checked = [&](int64_t x) {
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        // A column of the padding multiplies as a zero (0 · inf is NaN, as
        // in the depthwise kernel and the generated loops).
        const int64_t column = x * s - p.pl + j;
        const __m512 in = column >= 0 && column < p.w
                              ? _mm512_loadu_ps(rows[i] + column * ld + (c - c0))
                              : _mm512_setzero_ps();
        acc = _mm512_fmadd_ps(in, filter[3 * i + j], acc);
      }
    _mm512_storeu_ps(sums + x * ld + (c - c0), terms(acc, channel));
  };
  for (int64_t x = 0; x < xa; ++x)
    checked(x);
  constexpr int kOutputs = 8;
  int64_t x = xa;
  for (; x + kOutputs <= xb; x += kOutputs) {
    __m512 acc[kOutputs];
#pragma GCC unroll 8
    for (int t = 0; t < kOutputs; ++t)
      acc[t] = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (int i = 0; i < 3; ++i) {
      const float *first = rows[i] + ((x * s - p.pl) * ld + (c - c0));
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j)
#pragma GCC unroll 8
        for (int t = 0; t < kOutputs; ++t)
          acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(first + (t * s + j) * ld), filter[3 * i + j],
                                   acc[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < kOutputs; ++t)
      _mm512_storeu_ps(sums + (x + t) * ld + (c - c0), terms(acc[t], channel));
  }
  for (; x < p.wo; ++x)
    checked(x);
}

/// Output row y of channels [c0, c1), its sums at sums (output x's
/// channels at sums + x·ld), transposed into the output.
void storeRow(const ExpandDepthwise &p, const float *sums, int64_t ld, int64_t c0, int64_t c1,
              int64_t y) {
  // Locals: the stores could alias p's fields for all the compiler knows,
  // which it then reloaded after each one.
  const int64_t outChannel = p.outChannel, wo = p.wo;
  float *const row = p.out + y * p.outRow;
  for (int64_t x0 = 0; x0 < wo; x0 += 16) {
    const int count = int(std::min<int64_t>(16, wo - x0));
    const __mmask16 lanes = __mmask16(dlc::laneSpan(0, count));
    for (int64_t c = c0; c < c1; c += 16) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t)
        r[t] = t < count ? _mm512_loadu_ps(sums + (x0 + t) * ld + (c - c0)) : _mm512_setzero_ps();
      dlc::transpose16(r);
      float *out = row + c * outChannel + x0;
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t)
        _mm512_mask_storeu_ps(out + t * outChannel, lanes, r[t]);
    }
  }
}

} // namespace

size_t dlc::expandDepthwiseScratch(const ExpandDepthwise &p, int64_t channels) {
  // The ring, the sums of an output row.
  return size_t(kRingRows * p.w * channels + p.wo * channels);
}

void dlc::expandDepthwiseAvx512(const ExpandDepthwise &p, int64_t c0, int64_t c1,
                                RowRange &outputRows, float *scratch) {
  int64_t y;
  if (!outputRows.take(y))
    return;
  const int64_t ld = c1 - c0, rowFloats = p.w * ld;
  float *ring = scratch, *sums = scratch + kRingRows * rowFloats;
  // A row of zeros for the padding above and below: grown (with zeros)
  // as needed and never written, so not filled again on every call (the
  // fills were ~0.5% of MobileNetV2's samples).
  thread_local std::vector<float> zeroRow;
  if (zeroRow.size() < size_t(rowFloats))
    zeroRow.resize(size_t(rowFloats));
  const float *zeros = zeroRow.data();
  const ChannelTerms expandTerms(p.scale1, p.shift1, p.min1, p.max1, p.lo1, p.hi1);
  const ChannelTerms depthwiseTerms(p.scale2, p.shift2, p.min2, p.max2, p.lo2, p.hi2);
  const int64_t s = p.stride;
  // Outputs whose three taps all lie inside a row: x·s - pl >= 0 and
  // x·s - pl + 2 < w.
  const int64_t xa = std::min(p.wo, (p.pl + s - 1) / s);
  const int64_t xb =
      p.w - 3 + p.pl < 0 ? xa : std::max(xa, std::min(p.wo, (p.w - 3 + p.pl) / s + 1));
  const int tile = pixelsPerTile(p.w);
  // The next expanded row to compute (the output rows come in order).
  int64_t next = std::max<int64_t>(0, y * s - p.pt);
  do {
    const float *rows[3];
    for (int i = 0; i < 3; ++i) {
      const int64_t r = y * s - p.pt + i;
      if (r < 0 || r >= p.h) {
        rows[i] = zeros;
        continue;
      }
      for (; next <= r; ++next) {
        float *slot = ring + next % kRingRows * rowFloats;
        if (tile == 7)
          expandRow<7>(p, next, c0, c1, slot, expandTerms);
        else
          expandRow<8>(p, next, c0, c1, slot, expandTerms);
      }
      rows[i] = ring + r % kRingRows * rowFloats;
    }
    for (int64_t c = c0; c < c1; c += 16) {
      __m512 filter[9];
      for (int t = 0; t < 9; ++t)
        filter[t] = _mm512_loadu_ps(p.filterT + t * p.m + c);
      if (s == 1)
        depthwiseVector<1>(p, rows, filter, c, c0, ld, xa, xb, sums, depthwiseTerms);
      else
        depthwiseVector<2>(p, rows, filter, c, c0, ld, xa, xb, sums, depthwiseTerms);
    }
    storeRow(p, sums, ld, c0, c1, y);
  } while (outputRows.take(y));
}
