//===- EpilogueAvx512.h - the epilogue's terms on AVX-512 vectors -*- C++ -*-===//
//
// For the sources compiled with -mavx512f (GemmAvx512.cpp,
// DepthwiseAvx512.cpp), which run only on CPUs that have it.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H
#define DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H

#include "runtime/kernels/Gemm.h"

#include <immintrin.h>

namespace dlc {

/// The epilogue's terms for one row (`scale`, `shift`: broadcast; `r`:
/// the row's residual or null, its `lanes` read) applied to v, in
/// GemmEpilogue's order (e says which terms there are). max(lo, v) and
/// min(hi, v) return v where v is NaN, as the portable `v < lo ? lo : v`
/// does.
inline __m512 withTerms(__m512 v, const GemmEpilogue &e, __m512 scale, __m512 shift,
                        __m512 lo, __m512 hi, const float *r, __mmask16 lanes) {
  if (e.rowScale)
    v = _mm512_mul_ps(v, scale);
  if (e.rowShift)
    v = _mm512_add_ps(v, shift);
  if (r)
    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, r));
  if (e.clampMin)
    v = _mm512_max_ps(lo, v);
  if (e.clampMax)
    v = _mm512_min_ps(hi, v);
  return v;
}

/// withTerms with the residual's values already in a vector (`residual`;
/// null: no residual term), as a gather leaves them. (Kept apart from the
/// version above: defining that one through this one changed the code of
/// the depthwise kernels, which inline it in their hottest loops.)
inline __m512 withTerms(__m512 v, const GemmEpilogue &e, __m512 scale, __m512 shift,
                        __m512 lo, __m512 hi, const __m512 *residual) {
  if (e.rowScale)
    v = _mm512_mul_ps(v, scale);
  if (e.rowShift)
    v = _mm512_add_ps(v, shift);
  if (residual)
    v = _mm512_add_ps(v, *residual);
  if (e.clampMin)
    v = _mm512_max_ps(lo, v);
  if (e.clampMax)
    v = _mm512_min_ps(hi, v);
  return v;
}

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_EPILOGUEAVX512_H
