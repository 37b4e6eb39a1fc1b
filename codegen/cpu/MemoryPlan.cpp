//===- MemoryPlan.cpp - placing buffers in one arena ------------*- C++ -*-===//

#include "codegen/cpu/MemoryPlan.h"

#include "llvm/Support/MathExtras.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <limits>
#include <numeric>

using namespace dlc;

namespace {

int64_t roundUp(int64_t bytes, int64_t alignment) {
  return llvm::alignTo(std::max<int64_t>(bytes, 1), alignment);
}

/// Places the buffers in `order`, each at the smallest gap that holds it
/// among the buffers already placed that are alive at the same time (or
/// after the last of them).
ArenaPlan placeInOrder(llvm::ArrayRef<LiveRange> buffers, llvm::ArrayRef<size_t> order,
                       int64_t alignment) {
  ArenaPlan plan;
  plan.offsets.assign(buffers.size(), -1);
  std::vector<size_t> placed;
  for (size_t index : order) {
    const LiveRange &buffer = buffers[index];
    int64_t size = roundUp(buffer.bytes, alignment);
    std::vector<std::pair<int64_t, int64_t>> taken; // [begin, end) in bytes
    for (size_t other : placed) {
      const LiveRange &o = buffers[other];
      if (o.first <= buffer.last && buffer.first <= o.last)
        taken.push_back({plan.offsets[other],
                         plan.offsets[other] + roundUp(o.bytes, alignment)});
    }
    llvm::sort(taken);
    int64_t best = -1, bestGap = std::numeric_limits<int64_t>::max(), cursor = 0;
    for (auto [begin, end] : taken) {
      if (begin - cursor >= size && begin - cursor < bestGap) {
        best = cursor;
        bestGap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    plan.offsets[index] = best >= 0 ? best : cursor;
    plan.size = std::max(plan.size, plan.offsets[index] + size);
    placed.push_back(index);
  }
  return plan;
}

} // namespace

ArenaPlan dlc::planArena(llvm::ArrayRef<LiveRange> buffers, int64_t alignment) {
  std::vector<size_t> bySize(buffers.size()), byStart(buffers.size());
  std::iota(bySize.begin(), bySize.end(), 0);
  std::iota(byStart.begin(), byStart.end(), 0);
  std::stable_sort(bySize.begin(), bySize.end(), [&](size_t a, size_t b) {
    return buffers[a].bytes > buffers[b].bytes;
  });
  std::stable_sort(byStart.begin(), byStart.end(), [&](size_t a, size_t b) {
    return buffers[a].first < buffers[b].first;
  });
  ArenaPlan largestFirst = placeInOrder(buffers, bySize, alignment);
  ArenaPlan earliestFirst = placeInOrder(buffers, byStart, alignment);
  return earliestFirst.size < largestFirst.size ? earliestFirst : largestFirst;
}
