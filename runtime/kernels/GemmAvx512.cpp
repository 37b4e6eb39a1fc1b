//===- GemmAvx512.cpp - the AVX-512 GEMM micro-kernel -----------*- C++ -*-===//
//
// An 8×32 tile: 16 zmm accumulators, per k step two loads of B and eight
// broadcasts of A. Compiled with -mavx512f -mfma; called only on CPUs that
// have both.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/EpilogueAvx512.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/Winograd.h"

#include <algorithm>
#include <immintrin.h>

namespace {

constexpr int MR = 8, NR = 32;
/// The short tile kernelIndirect sums at its own cost (7 of 8 rows): 49,
/// 196 and 784 pixels (ResNet-50's and MobileNetV2's late layers at batch
/// 1) are whole groups of 7, where groups of 8 leave an eighth of the last
/// one, or of all of them, empty.
constexpr int kShortRows = 7;

/// Writes (or adds) the first `rows` rows and `cols` columns of a tile of
/// sums to C, with `epilogue`'s terms applied on the way where there is one
/// (its row i the tile's row i).
inline void storeTile(__m512 (&acc)[MR][2], int rows, float *c, int64_t ldc, int cols,
                      bool accumulate, const dlc::GemmEpilogue *epilogue = nullptr) {
  // The columns of each half of a row to load and store.
  const __mmask16 low = cols >= 16 ? 0xFFFF : __mmask16((1u << cols) - 1);
  const __mmask16 high = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : __mmask16((1u << (cols - 16)) - 1);
  if (epilogue) {
    const dlc::GemmEpilogue &e = *epilogue;
    const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
    for (int i = 0; i < rows; ++i) {
      float *out = c + i * ldc;
      __m512 v0 = acc[i][0], v1 = acc[i][1];
      if (accumulate) {
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(low, out), v0);
        v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(high, out + 16), v1);
      }
      const __m512 scale = _mm512_set1_ps(e.rowScale ? e.rowScale[i] : 1.0f);
      const __m512 shift = _mm512_set1_ps(e.rowShift ? e.rowShift[i] : 0.0f);
      const float *r = e.residual ? e.residual + i * e.ldr : nullptr;
      _mm512_mask_storeu_ps(out, low, dlc::withTerms(v0, e, scale, shift, lo, hi, r, low));
      _mm512_mask_storeu_ps(out + 16, high,
                            dlc::withTerms(v1, e, scale, shift, lo, hi, r ? r + 16 : nullptr, high));
    }
    return;
  }
  if (cols == NR) { // whole rows: plain loads and stores
    for (int i = 0; i < rows; ++i) {
      float *out = c + i * ldc;
      if (accumulate) {
        acc[i][0] = _mm512_add_ps(_mm512_loadu_ps(out), acc[i][0]);
        acc[i][1] = _mm512_add_ps(_mm512_loadu_ps(out + 16), acc[i][1]);
      }
      _mm512_storeu_ps(out, acc[i][0]);
      _mm512_storeu_ps(out + 16, acc[i][1]);
    }
    return;
  }
  for (int i = 0; i < rows; ++i) {
    float *out = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(low, out), acc[i][0]);
      acc[i][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(high, out + 16), acc[i][1]);
    }
    _mm512_mask_storeu_ps(out, low, acc[i][0]);
    _mm512_mask_storeu_ps(out + 16, high, acc[i][1]);
  }
}

/// The 8×32 tile of sums over kc steps: A(i, p) = row[i][column(p)],
/// B's rows of 32 floats ldb apart. `column` is the identity for a matrix
/// A and a patch-offset lookup for a convolution's patches read in place.
/// Only the columns a partial tile needs are summed (the others of acc
/// stay zero): W is 8, 16, 24 or 32 of them. For 24 the third group
/// of 8 is a 256-bit FMA, which this CPU's 512-bit unit (two 256-bit
/// halves on AMD's Zen 4) runs at twice the rate. A 7×7 image's 49 pixels
/// are a panel of 32 and one of 24 instead of two of 32; 196 pixels, six
/// of 32 and one of 8: ResNet-50's and MobileNetV2's late layers did a
/// quarter and an eighth of their multiply-adds on padding. R < MR sums
/// only the first R rows (acc's others are left alone).
template <int W, int R = MR, typename Column>
inline void sumTile(int64_t kc, const float *const (&row)[MR], Column column, const float *b,
                    int64_t ldb, __m512 (&acc)[MR][2]) {
  static_assert(W == 8 || W == 16 || W == 24 || W == 32);
  static_assert(R >= 1 && R <= MR);
  __m256 half[MR];
  for (int i = 0; i < R; ++i) {
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    half[i] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < kc; ++p) {
    const int64_t at = column(p);
    if constexpr (W == 8) {
      const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
      for (int i = 0; i < R; ++i)
        half[i] = _mm256_fmadd_ps(_mm256_set1_ps(row[i][at]), b0, half[i]);
    } else {
      const __m512 b0 = _mm512_loadu_ps(b + p * ldb);
      for (int i = 0; i < R; ++i) {
        const __m512 ai = _mm512_set1_ps(row[i][at]);
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        if constexpr (W == 32)
          acc[i][1] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b + p * ldb + 16), acc[i][1]);
        if constexpr (W == 24)
          half[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(ai),
                                    _mm256_loadu_ps(b + p * ldb + 16), half[i]);
      }
    }
  }
  // The 256-bit sums go where storeTile reads them (its masks store no more).
  if constexpr (W == 8)
    for (int i = 0; i < R; ++i)
      acc[i][0] = _mm512_zextps256_ps512(half[i]);
  if constexpr (W == 24)
    for (int i = 0; i < R; ++i)
      acc[i][1] = _mm512_zextps256_ps512(half[i]);
}

/// sumTile for a tile whose first `cols` columns are needed, with the
/// fewest columns that cover them.
template <typename Column>
inline void sumTileFor(int cols, int64_t kc, const float *const (&row)[MR], Column column,
                       const float *b, int64_t ldb, __m512 (&acc)[MR][2]) {
  if (cols > 24)
    sumTile<32>(kc, row, column, b, ldb, acc);
  else if (cols > 16)
    sumTile<24>(kc, row, column, b, ldb, acc);
  else if (cols > 8)
    sumTile<16>(kc, row, column, b, ldb, acc);
  else
    sumTile<8>(kc, row, column, b, ldb, acc);
}

void kernelWithEpilogue(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
                        int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate,
                        const dlc::GemmEpilogue *epilogue) {
  // Rows past the end of A read the last row again; their results are
  // dropped.
  const float *row[MR];
  for (int i = 0; i < MR; ++i)
    row[i] = a + (i < rows ? i : rows - 1) * lda;
  __m512 acc[MR][2];
  sumTileFor(cols, kc, row, [](int64_t p) { return p; }, b, ldb, acc);
  storeTile(acc, rows, c, ldc, cols, accumulate, epilogue);
}

void kernel(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
            int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate) {
  kernelWithEpilogue(kc, a, lda, rows, b, ldb, c, ldc, cols, accumulate, nullptr);
}

void dot4(int64_t k, const float *row, const float *const *columns, float *sums) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 r = _mm512_loadu_ps(row + p);
    for (int q = 0; q < 4; ++q)
      acc[q] = _mm512_fmadd_ps(r, _mm512_loadu_ps(columns[q] + p), acc[q]);
  }
  if (p < k) {
    __mmask16 tail = __mmask16((1u << (k - p)) - 1);
    __m512 r = _mm512_maskz_loadu_ps(tail, row + p);
    for (int q = 0; q < 4; ++q)
      acc[q] = _mm512_fmadd_ps(r, _mm512_maskz_loadu_ps(tail, columns[q] + p), acc[q]);
  }
  for (int q = 0; q < 4; ++q)
    sums[q] = _mm512_reduce_add_ps(acc[q]);
}

/// Each run is one masked load and one whole store per 16 floats (two
/// loads and a permutation of their even elements at step 2): a run's
/// last store writes up to 15 floats past it (zeros), which the next run,
/// or the caller, overwrites. (Masked stores made the copy three times
/// slower.)
void copyRuns(const float *source, int step, const int64_t *offsets, const int32_t *columns,
              const int32_t *lengths, int runs, float *target) {
  for (int r = 0; r < runs; ++r) {
    const float *from = source + offsets[r];
    float *to = target + columns[r];
    int length = lengths[r], t = 0;
    if (step == 2) {
      for (; t < length; t += 16) {
        // The elements 2t' of the run from here: 2·(count − 1) + 1 of them.
        const int count = std::min(16, length - t);
        _mm512_storeu_ps(to + t,
                         dlc::stridedInputs<2>(from + 2 * t, dlc::laneSpan(0, 2 * count - 1)));
      }
      continue;
    }
    for (; t + 16 <= length; t += 16)
      _mm512_storeu_ps(to + t, _mm512_loadu_ps(from + t));
    if (t < length) {
      __mmask16 tail = __mmask16((1u << (length - t)) - 1);
      _mm512_storeu_ps(to + t, _mm512_maskz_loadu_ps(tail, from + t));
    }
  }
}

/// The 8×32 kernel with A's rows read through pixel pointers and one
/// offset per patch element: a convolution's patches read in place.
void kernelIndirect(int64_t kc, const float *const *rows, const int64_t *offsets,
                    int rowCount, const float *b, int64_t ldb, float *c, int64_t ldc,
                    bool accumulate) {
  const float *row[MR];
  for (int i = 0; i < MR; ++i)
    row[i] = rows[i < rowCount ? i : rowCount - 1];
  __m512 acc[MR][2];
  auto column = [offsets](int64_t p) { return offsets[p]; };
  if (rowCount == kShortRows)
    sumTile<NR, kShortRows>(kc, row, column, b, ldb, acc);
  else
    sumTile<NR>(kc, row, column, b, ldb, acc);
  storeTile(acc, rowCount, c, ldc, NR, accumulate);
}

/// runIndirect's wide tiles: R pixels × 16·V channels, R·V accumulators,
/// per step V loads of the filter and R broadcasts. 6 × 64 (24
/// accumulators) has 0.42 loads per multiply-add where the 8 × 32 tile
/// has 0.63; 7 × 48 (21), 0.48, for pixels that come in groups of 7
/// (7×7 outputs). A 1×1 convolution chain at 14² (1024 ↔ 256 channels)
/// ran 14% faster on one core of an Intel Xeon with 6 × 64. V below the
/// tile's width sums a last panel's channels only; the rows past
/// rowCount read the last row again and are not written.
template <int R, int V>
void sumIndirectWide(int64_t kc, const float *const *rows, const int64_t *offsets, int rowCount,
                     const float *b, int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  const float *row[R];
  for (int i = 0; i < R; ++i)
    row[i] = rows[i < rowCount ? i : rowCount - 1];
  __m512 acc[R][V];
  dlc::zeroTile(acc);
  for (int64_t p = 0; p < kc; ++p) {
    const int64_t at = offsets[p];
    __m512 filter[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      filter[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);
#pragma GCC unroll 7
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(row[i][at]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, filter[v], acc[i][v]);
    }
  }
#pragma GCC unroll 7
  for (int i = 0; i < R; ++i) {
    if (i >= rowCount)
      break;
    float *out = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      if (accumulate)
        acc[i][v] = _mm512_add_ps(_mm512_loadu_ps(out + 16 * v), acc[i][v]);
      _mm512_storeu_ps(out + 16 * v, acc[i][v]);
    }
  }
}

/// The wide tiles (GemmMicroKernel::indirectWide): 6 × 64 and 7 × 48.
constexpr dlc::GemmMicroKernel::IndirectTile kWideTiles[2] = {{6, 64}, {7, 48}};

/// sumIndirectWide with the vectors that cover `cols` columns, at most
/// MaxV (the tile's width).
template <int R, int MaxV>
void sumIndirectWideFor(int cols, int64_t kc, const float *const *rows, const int64_t *offsets,
                        int rowCount, const float *b, int64_t ldb, float *c, int64_t ldc,
                        bool accumulate) {
  static_assert(MaxV == 3 || MaxV == 4);
  const int vectors = std::clamp(cols / 16, 1, MaxV);
  if (vectors == 1)
    sumIndirectWide<R, 1>(kc, rows, offsets, rowCount, b, ldb, c, ldc, accumulate);
  else if (vectors == 2)
    sumIndirectWide<R, 2>(kc, rows, offsets, rowCount, b, ldb, c, ldc, accumulate);
  else if (vectors == 3)
    sumIndirectWide<R, 3>(kc, rows, offsets, rowCount, b, ldb, c, ldc, accumulate);
  else
    sumIndirectWide<R, MaxV>(kc, rows, offsets, rowCount, b, ldb, c, ldc, accumulate);
}

void kernelIndirectWide(int tile, int64_t kc, const float *const *rows, const int64_t *offsets,
                        int rowCount, const float *b, int64_t ldb, float *c, int64_t ldc, int cols,
                        bool accumulate) {
  if (tile == 0)
    sumIndirectWideFor<kWideTiles[0].rows, kWideTiles[0].nr / 16>(cols, kc, rows, offsets, rowCount,
                                                                  b, ldb, c, ldc, accumulate);
  else
    sumIndirectWideFor<kWideTiles[1].rows, kWideTiles[1].nr / 16>(cols, kc, rows, offsets, rowCount,
                                                                  b, ldb, c, ldc, accumulate);
}

/// Outputs [x0, x0 + count) of a row for 8 output channels (filterT's
/// columns c0..c0+7, rows ldf apart, one per tap): V vectors of 16 outputs
/// each, all 8·V sums in registers across the taps. With stride 1, whole
/// vectors (all but the last, or all of them without Tail) are plain
/// loads: with every input a masked load (its mask reloaded from the
/// stack each tap) a chunk of 48 ran at 80 GFLOP/s in L1 on an Intel Xeon
/// against 122 with plain loads (a masked load alone costs ~17% in such a
/// loop there).
template <int S, int V, bool Tail = true>
void tapsChunk(int64_t k, const float *const *taps, const float *filterT, int64_t ldf,
               int64_t x0, int64_t count, float *out, int64_t outC, int channels,
               bool accumulate, const dlc::GemmEpilogue *epilogue) {
  constexpr int R = 8;
  __m512 acc[R][V];
  dlc::zeroTile(acc);
  uint32_t elements[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    const int64_t lanes = std::min<int64_t>(16, count - 16 * v);
    elements[v] = dlc::laneSpan(0, S * (lanes - 1) + 1);
  }
  for (int64_t p = 0; p < k; ++p) {
    const float *row = taps[p] + S * x0;
    __m512 in[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      in[v] = S == 1 && (!Tail || v + 1 < V) ? _mm512_loadu_ps(row + 16 * v)
                                             : dlc::stridedInputs<S>(row + 16 * S * v, elements[v]);
    const float *w = filterT + p * ldf;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 wr = _mm512_set1_ps(w[r]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_fmadd_ps(wr, in[v], acc[r][v]);
    }
  }
  const __m512 lo = _mm512_set1_ps(epilogue ? epilogue->lo : 0.0f),
               hi = _mm512_set1_ps(epilogue ? epilogue->hi : 0.0f);
  // (Unrolled whole, so that acc is indexed by constants only and stays in
  // registers across the taps.)
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (r >= channels)
      continue;
    float *o = out + r * outC + x0;
    const float *residual =
        epilogue && epilogue->residual ? epilogue->residual + r * epilogue->ldr + x0 : nullptr;
    const __m512 scale =
        _mm512_set1_ps(epilogue && epilogue->rowScale ? epilogue->rowScale[r] : 1.0f);
    const __m512 shift =
        _mm512_set1_ps(epilogue && epilogue->rowShift ? epilogue->rowShift[r] : 0.0f);
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const __mmask16 lanes = __mmask16(dlc::laneSpan(0, count - 16 * v));
      __m512 value = acc[r][v];
      if (accumulate)
        value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(lanes, o + 16 * v));
      if (epilogue)
        value = dlc::withTerms(value, *epilogue, scale, shift, lo, hi,
                               residual ? residual + 16 * v : nullptr, lanes);
      _mm512_mask_storeu_ps(o + 16 * v, lanes, value);
    }
  }
}

template <int S>
void convTapsOf(int64_t k, const float *const *taps, const float *filterT, int64_t ldf,
                int channels, int64_t width, float *out, int64_t outC, bool accumulate,
                const dlc::GemmEpilogue *epilogue) {
  for (int c0 = 0; c0 < channels; c0 += 8) {
    dlc::GemmEpilogue terms;
    if (epilogue)
      terms = epilogue->from(c0, 0);
    const dlc::GemmEpilogue *here = epilogue ? &terms : nullptr;
    float *o = out + c0 * outC;
    const float *f = filterT + c0;
    const int rest = channels - c0;
    for (int64_t x0 = 0; x0 < width; x0 += 48) {
      const int64_t count = std::min<int64_t>(48, width - x0);
      if (S == 1 && count == 48)
        tapsChunk<S, 3, false>(k, taps, f, ldf, x0, count, o, outC, rest, accumulate, here);
      else if (count > 32)
        tapsChunk<S, 3>(k, taps, f, ldf, x0, count, o, outC, rest, accumulate, here);
      else if (count > 16)
        tapsChunk<S, 2>(k, taps, f, ldf, x0, count, o, outC, rest, accumulate, here);
      else
        tapsChunk<S, 1>(k, taps, f, ldf, x0, count, o, outC, rest, accumulate, here);
    }
  }
}

/// One output row of a convolution with few input channels: the sum for
/// output x of channel c is Σ_p filterT[p·ldf + c] · taps[p][stride·x],
/// `channels` channels 8 at a time (filterT's columns padded with zeros
/// to a multiple of 8), written to out + c·outC + x with the epilogue's
/// terms (its row c channel c). The taps' loads are masked to the
/// elements the row's outputs need.
void convTaps(int64_t k, const float *const *taps, int stride, const float *filterT,
              int64_t ldf, int channels, int64_t width, float *out, int64_t outC,
              bool accumulate, const dlc::GemmEpilogue *epilogue) {
  if (stride == 1)
    convTapsOf<1>(k, taps, filterT, ldf, channels, width, out, outC, accumulate, epilogue);
  else
    convTapsOf<2>(k, taps, filterT, ldf, channels, width, out, outC, accumulate, epilogue);
}

/// 16×16 blocks transposed in registers (dlc::transpose16). Rows past
/// `rows` read as zeros.
void transpose(const float *source, int64_t lds, int rows, int cols, float *target,
               int64_t ldt) {
  for (int i0 = 0; i0 < rows; i0 += 16) {
    const int height = rows - i0 < 16 ? rows - i0 : 16;
    for (int j0 = 0; j0 < cols; j0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < height ? _mm512_loadu_ps(source + (i0 + i) * lds + j0) : _mm512_setzero_ps();
      dlc::transpose16(r);
      for (int j = 0; j < 16; ++j)
        _mm512_storeu_ps(target + (j0 + j) * ldt + i0, r[j]);
    }
  }
}

void copyRows(const float *from, int64_t ldf, float *to, int64_t ldt, int rows,
              int64_t length, bool accumulate, const dlc::GemmEpilogue *epilogue) {
  const __mmask16 tail = __mmask16((1u << (length % 16)) - 1);
  if (epilogue) {
    const dlc::GemmEpilogue &e = *epilogue;
    const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
    for (int i = 0; i < rows; ++i, from += ldf, to += ldt) {
      const __m512 scale = _mm512_set1_ps(e.rowScale ? e.rowScale[i] : 1.0f);
      const __m512 shift = _mm512_set1_ps(e.rowShift ? e.rowShift[i] : 0.0f);
      const float *r = e.residual ? e.residual + i * e.ldr : nullptr;
      int64_t t = 0;
      for (; t + 16 <= length; t += 16) {
        __m512 v = _mm512_loadu_ps(from + t);
        if (accumulate)
          v = _mm512_add_ps(v, _mm512_loadu_ps(to + t));
        _mm512_storeu_ps(to + t, dlc::withTerms(v, e, scale, shift, lo, hi, r ? r + t : nullptr,
                                           0xFFFF));
      }
      if (t < length) {
        __m512 v = _mm512_maskz_loadu_ps(tail, from + t);
        if (accumulate)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(tail, to + t));
        _mm512_mask_storeu_ps(to + t, tail,
                              dlc::withTerms(v, e, scale, shift, lo, hi, r ? r + t : nullptr, tail));
      }
      // The residual comes from memory, row by row: ask for the next
      // panel's part of this row now, so that it is in cache by then (a
      // GEMM's epilogue runs panel by panel).
      for (int64_t j = length; r && j < 2 * length; j += 16)
        _mm_prefetch(reinterpret_cast<const char *>(r + j), _MM_HINT_T0);
    }
    return;
  }
  for (int i = 0; i < rows; ++i, from += ldf, to += ldt) {
    int64_t t = 0;
    for (; t + 16 <= length; t += 16) {
      __m512 v = _mm512_loadu_ps(from + t);
      if (accumulate)
        v = _mm512_add_ps(v, _mm512_loadu_ps(to + t));
      _mm512_storeu_ps(to + t, v);
    }
    if (t < length) {
      __m512 v = _mm512_maskz_loadu_ps(tail, from + t);
      if (accumulate)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(tail, to + t));
      _mm512_mask_storeu_ps(to + t, tail, v);
    }
  }
}

/// Winograd F(2×2, 3×3)'s input transform, Bᵀ·d·B with
/// Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], for
/// 16 tiles a lane each, channel by channel. Each run of tiles along a
/// tile row reads a window row's floats for all its tiles with four
/// (masked) loads, from its first window and 2 floats after it, and a
/// permutation takes each lane's even or odd floats: its window's columns
/// 0 and 1, or 2 and 3. (A gather per window element and 16 tiles was
/// twice as slow: 22% of a chain of 64-channel layers.)
void winogradInput(const dlc::WinogradTiles &tiles, const float *input, int64_t channels,
                   int64_t inC, int64_t inH, float *v, int64_t ldv, int64_t xiStride) {
  // Per run: the lanes it fills, the permutations that move its windows'
  // even and odd floats to them, and the masks of its four loads.
  struct Run {
    __m512i even, odd;
    int64_t origin;
    __mmask16 lanes, load[4];
    uint8_t rows;
  };
  Run runs[16];
  const int count = tiles.runCount;
  for (int s = 0; s < count; ++s) {
    const dlc::WinogradTiles::Run &from = tiles.runs[s];
    Run &run = runs[s];
    const int first = from.first, n = from.count;
    alignas(64) int32_t even[16];
    for (int q = 0; q < 16; ++q)
      even[q] = q >= first && q < first + n ? 2 * (q - first) : 0;
    run.even = _mm512_load_si512(even);
    run.odd = _mm512_add_epi32(run.even, _mm512_set1_epi32(1));
    run.origin = from.input;
    run.lanes = __mmask16(dlc::laneSpan(first, first + n));
    // Floats [0, 32) and [2, 34) of the run's window rows, those inside.
    const int starts[4] = {0, 16, 2, 18};
    for (int l = 0; l < 4; ++l)
      run.load[l] = __mmask16(dlc::laneSpan(0, from.inputFloats - starts[l]));
    run.rows = from.inputRows;
  }
  for (int64_t c = 0; c < channels; ++c, input += inC, v += ldv) {
    __m512 d[4][4];
    for (int r = 0; r < 4; ++r) {
      for (int j = 0; j < 4; ++j)
        d[r][j] = _mm512_setzero_ps();
      for (int s = 0; s < count; ++s) {
        const Run &run = runs[s];
        if (!(run.rows & (1 << r)))
          continue;
        const float *row = input + run.origin + r * inH;
        const __m512 a = _mm512_maskz_loadu_ps(run.load[0], row);
        const __m512 b = _mm512_maskz_loadu_ps(run.load[1], row + 16);
        const __m512 a2 = _mm512_maskz_loadu_ps(run.load[2], row + 2);
        const __m512 b2 = _mm512_maskz_loadu_ps(run.load[3], row + 18);
        d[r][0] = _mm512_mask_mov_ps(d[r][0], run.lanes, _mm512_permutex2var_ps(a, run.even, b));
        d[r][1] = _mm512_mask_mov_ps(d[r][1], run.lanes, _mm512_permutex2var_ps(a, run.odd, b));
        d[r][2] =
            _mm512_mask_mov_ps(d[r][2], run.lanes, _mm512_permutex2var_ps(a2, run.even, b2));
        d[r][3] =
            _mm512_mask_mov_ps(d[r][3], run.lanes, _mm512_permutex2var_ps(a2, run.odd, b2));
      }
    }
    __m512 t[4][4];
    for (int j = 0; j < 4; ++j) {
      t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
      t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
      t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
      t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
    }
    for (int i = 0; i < 4; ++i) {
      float *row = v + 4 * i * xiStride;
      _mm512_storeu_ps(row, _mm512_sub_ps(t[i][0], t[i][2]));
      _mm512_storeu_ps(row + xiStride, _mm512_add_ps(t[i][1], t[i][2]));
      _mm512_storeu_ps(row + 2 * xiStride, _mm512_sub_ps(t[i][2], t[i][1]));
      _mm512_storeu_ps(row + 3 * xiStride, _mm512_sub_ps(t[i][1], t[i][3]));
    }
  }
}

/// Winograd F(2×2, 3×3)'s output transform, Aᵀ·M·A with
/// Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]], for 16 tiles a lane each, then
/// the epilogue. A run of tiles along a tile row writes each of its two
/// output rows as up to 32 consecutive floats: the lanes' two columns
/// interleaved by a permutation, two masked stores (the residual read
/// the same way). (A masked scatter per output of 16 tiles was 11% of a
/// chain of 64-channel layers.)
void winogradOutput(const dlc::WinogradTiles &tiles, const float *m, int64_t ldm,
                    int64_t xiStride, int rows, float *output, int64_t outC, int64_t outH,
                    bool accumulate, const dlc::GemmEpilogue *epilogue, int64_t residualH) {
  // Per run: the permutations that interleave its lanes' first and second
  // columns (y0 in 0-15, y1 in 16-31) into the first and the next 16
  // floats of an output row, the stores' masks, and where it writes.
  struct Run {
    __m512i low, high;
    int64_t output, residual;
    __mmask16 store[2];
    bool row1;
  };
  Run runs[16];
  const int count = tiles.runCount;
  for (int s = 0; s < count; ++s) {
    const dlc::WinogradTiles::Run &from = tiles.runs[s];
    Run &run = runs[s];
    const int first = from.first, floats = from.outputFloats;
    alignas(64) int32_t order[32];
    for (int e = 0; e < 32; ++e)
      order[e] = std::min(first + e / 2, 15) + (e % 2 ? 16 : 0);
    run.low = _mm512_load_si512(order);
    run.high = _mm512_load_si512(order + 16);
    run.output = from.output;
    run.residual = from.residual;
    run.store[0] = __mmask16(dlc::laneSpan(0, floats));
    run.store[1] = __mmask16(dlc::laneSpan(0, floats - 16));
    run.row1 = from.outputRow1;
  }
  const dlc::GemmEpilogue none{};
  const dlc::GemmEpilogue &e = epilogue ? *epilogue : none;
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int r = 0; r < rows; ++r, m += ldm, output += outC) {
    __m512 s[2][4];
    for (int j = 0; j < 4; ++j) {
      const __m512 m0 = _mm512_loadu_ps(m + j * xiStride);
      const __m512 m1 = _mm512_loadu_ps(m + (4 + j) * xiStride);
      const __m512 m2 = _mm512_loadu_ps(m + (8 + j) * xiStride);
      const __m512 m3 = _mm512_loadu_ps(m + (12 + j) * xiStride);
      s[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
      s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    // y[dy][dx]: the tiles' output (dy, dx).
    __m512 y[2][2];
    for (int i = 0; i < 2; ++i) {
      y[i][0] = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]);
      y[i][1] = _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
    }
    const __m512 scale = _mm512_set1_ps(e.rowScale ? e.rowScale[r] : 1.0f);
    const __m512 shift = _mm512_set1_ps(e.rowShift ? e.rowShift[r] : 0.0f);
    for (int k = 0; k < count; ++k) {
      const Run &run = runs[k];
      for (int dy = 0; dy < (run.row1 ? 2 : 1); ++dy) {
        float *out = output + run.output + dy * outH;
        const float *res = e.residual ? e.residual + r * e.ldr + run.residual + dy * residualH
                                      : nullptr;
        for (int half = 0; half < 2; ++half) {
          const __mmask16 mask = run.store[half];
          if (!mask)
            continue;
          __m512 value =
              _mm512_permutex2var_ps(y[dy][0], half ? run.high : run.low, y[dy][1]);
          if (accumulate)
            value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, out + 16 * half));
          if (epilogue)
            value = dlc::withTerms(value, e, scale, shift, lo, hi, res ? res + 16 * half : nullptr,
                                   mask);
          _mm512_mask_storeu_ps(out + 16 * half, mask, value);
        }
      }
    }
  }
}

const dlc::GemmMicroKernel avx512 = {"avx512 8x32",
                                     MR,
                                     NR,
                                     kernel,
                                     dot4,
                                     copyRuns,
                                     kernelIndirect,
                                     transpose,
                                     copyRows,
                                     kernelWithEpilogue,
                                     winogradInput,
                                     winogradOutput,
                                     kShortRows,
                                     convTaps,
                                     kernelIndirectWide,
                                     {kWideTiles[0], kWideTiles[1]}};

} // namespace

const dlc::GemmMicroKernel *dlc::avx512GemmKernel() { return &avx512; }
