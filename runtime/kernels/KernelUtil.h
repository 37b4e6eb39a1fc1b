//===- KernelUtil.h - what the runtime's kernels share ----------*- C++ -*-===//
//
// Choosing a kernel's version for the host CPU, reading a float passed as
// its bits, running tasks on a pool or inline, and splitting the planes of
// an [N, C, H, W] tensor over the current ThreadPool. For the runtime's
// kernel sources only.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_KERNELUTIL_H
#define DLC_RUNTIME_KERNELS_KERNELUTIL_H

#include "runtime/ThreadPool.h"

#include <cstdint>
#include <cstring>

namespace dlc {

/// `avx512` on CPUs with AVX-512F, `portable` elsewhere.
template <typename Function>
Function hostVersion(Function avx512, Function portable) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? avx512 : portable;
}

/// The float whose bits an index argument carries (a clamp bound: generated
/// code passes every argument as an index).
inline float floatFromBits(int64_t bits) {
  const uint32_t word = uint32_t(bits);
  float value;
  std::memcpy(&value, &word, sizeof value);
  return value;
}

/// Runs `body(i)` for i in [0, count) on `pool`, or inline without one (or
/// with a single task).
template <typename Body> void forEachTask(ThreadPool *pool, int64_t count, Body body) {
  if (!pool || count == 1) {
    for (int64_t i = 0; i < count; ++i)
      body(i);
    return;
  }
  pool->parallelFor(count, body);
}

/// Runs `plane(b, channel)` for every image b < n and channel < c, split
/// over the current ThreadPool when the work, `perPlane` elements a plane,
/// is worth waking it.
template <typename Plane>
void forEachPlane(int64_t n, int64_t c, int64_t perPlane, Plane &&plane) {
  auto planes = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      plane(i / c, i % c);
  };
  ThreadPool *pool = ThreadPool::current();
  if (pool && n * c * perPlane >= (1 << 14))
    pool->parallelRanges(0, n * c, planes);
  else
    planes(0, n * c);
}

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_KERNELUTIL_H
