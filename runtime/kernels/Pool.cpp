//===- Pool.cpp - 2×2 max pooling for the CPU -------------------*- C++ -*-===//

#include "runtime/kernels/Pool.h"

#include "runtime/ThreadPool.h"

#include <algorithm>
#include <cmath>

namespace {

/// arith.maximumf: NaN if either is NaN; +0 above -0.
inline float maximumf(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b) // equal, or zeros of either sign: +0 wins
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

} // namespace

void dlc::maxPool2x2RowsPortable(const float *in, int64_t inRow, int64_t inNext, float *out,
                                 int64_t outRow, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r, in += inRow, out += outRow) {
    const float *top = in, *bottom = in + inNext;
    for (int64_t x = 0; x < width; ++x)
      out[x] = maximumf(maximumf(top[2 * x], top[2 * x + 1]),
                        maximumf(bottom[2 * x], bottom[2 * x + 1]));
  }
}

dlc::MaxPool2x2Rows dlc::hostMaxPool2x2Rows() {
  static const MaxPool2x2Rows best = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? &maxPool2x2RowsAvx512
                                             : &maxPool2x2RowsPortable;
  }();
  return best;
}

void dlc::maxPool2x2F32(MaxPool2x2Rows rowsOf, int64_t n, int64_t c, int64_t ho, int64_t wo,
                        const float *in, int64_t inN, int64_t inC, int64_t inH, float *out,
                        int64_t outN, int64_t outC, int64_t outH) {
  if (n <= 0 || c <= 0 || ho <= 0 || wo <= 0)
    return;
  if (!rowsOf)
    rowsOf = hostMaxPool2x2Rows();
  // A task is a range of planes (an image's channel): a few per thread.
  const int64_t planes = n * c;
  ThreadPool *pool = planes * ho * wo < (1 << 14) ? nullptr : ThreadPool::current();
  const int64_t tasks = pool ? std::min<int64_t>(planes, 4 * int64_t(pool->size())) : 1;
  auto run = [&](int64_t task) {
    const int64_t first = planes * task / tasks, last = planes * (task + 1) / tasks;
    for (int64_t plane = first; plane < last; ++plane) {
      const int64_t b = plane / c, channel = plane % c;
      rowsOf(in + b * inN + channel * inC, 2 * inH, inH, out + b * outN + channel * outC, outH,
             ho, wo);
    }
  };
  if (!pool || tasks == 1) {
    for (int64_t task = 0; task < tasks; ++task)
      run(task);
    return;
  }
  pool->parallelFor(tasks, run);
}

extern "C" void dlc_max_pool2x2_f32(int64_t n, int64_t c, int64_t ho, int64_t wo,
                                    const float *in, int64_t inN, int64_t inC, int64_t inH,
                                    float *out, int64_t outN, int64_t outC, int64_t outH) {
  dlc::maxPool2x2F32(nullptr, n, c, ho, wo, in, inN, inC, inH, out, outN, outC, outH);
}
